/**
 * Stage 7, seal + emit (seed 001 §8.4, §14.1, §16): from the rendered artifacts, the locks and the
 * acceptance evidence, the rebuild anchors in the layout of §16.2 —
 *
 *   manifests/artifact-manifest.json  versions, content hashes of every file, target matrix, payloads
 *   manifests/locks.json              every image, chart and package pin
 *   manifests/SHA256SUMS              `sha256sum -c`-able list of every file (signed)
 *   sbom/{os,images,binaries}.cdx.json
 *   provenance/build.json             in-toto Statement, SLSA provenance v1 predicate
 *   provenance/inputs.json            every input with its checksum
 *   recovery-bundle/clusterspec.rendered.yaml, runbooks.md, acceptance-report.json
 *   signatures/manifests.sig          Ed25519 over manifests/artifact-manifest.json
 *   signatures/artifacts.sig          Ed25519 over manifests/SHA256SUMS (the artifact hashes)
 *   signatures/signing-key.pub        the public key (PEM)
 *
 * Pure: the same inputs give the same bytes, apart from the fields time.ts lists. Nothing secret
 * goes into these files — secret artifacts (0600) appear only as hashes.
 */
import { createHash } from "node:crypto";
import { stringify } from "yaml";
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import { buildReport, type AcceptanceReport, type DrillReport, type ExtraGate, type Observation } from "../acceptance/report";
import { canonicalJson } from "./canonical";
import type { BuildFacts } from "./facts";
import { buildLocks, type Locks } from "./locks";
import { renderRunbooks } from "./runbooks";
import { renderSboms } from "./sbom";
import { keyFingerprint, publicKeyPem, signBytes, type SigningKey } from "./signing";
import type { BuildClock } from "./time";

export interface BundleFile {
  path: string;
  content: string | Buffer;
  mode: number;
  secret: boolean;
}

export interface SealInputs {
  plan: Plan;
  spec: ClusterSpec;
  /** The spec file as given (display) and its bytes. */
  specFile: string;
  specText: string;
  stack?: string;
  /** Everything rendered before the seal (nodes/…, helm/, kit/, pki/, operator/, plan.json). */
  artifacts: readonly BundleFile[];
  signer: SigningKey;
  clock: BuildClock;
  facts: BuildFacts;
  /** WireGuard key epoch the artifacts were rendered with. */
  wireguardEpoch: number;
  /** Whether the master seed was supplied (env / config) or the offline placeholder. */
  seedSource: "supplied" | "placeholder";
  /** HKDF-derived, non-secret identifier of the seed: tells which seed made the bundle. */
  seedId: string;
  observations: readonly Observation[];
  drills: readonly DrillReport[];
  extraGates: readonly ExtraGate[];
  evidenceSources: AcceptanceReport["sources"];
  /** Base-image packages the SBOM lists as not pinned by kubedos. */
  baseImagePackages?: readonly string[];
}

/** Packages the node image must ship for firstboot (cloud-init.ts) — listed, not pinned, by kubedos. */
export const BASE_IMAGE_PACKAGES = ["openssh-server", "nftables", "auditd", "wireguard-tools", "curl", "iproute2", "iputils-ping"] as const;

const sha256 = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");
const byPath = (a: { path: string }, b: { path: string }) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0);

export interface SealResult {
  files: BundleFile[];
  report: AcceptanceReport;
  locks: Locks;
  /** sha256 over the time-independent content (artifacts, locks, rendered spec). */
  contentSha256: string;
  artifactName: string;
  signingKey: { fingerprint: string; pem: string; source: SigningKey["source"] };
}

export function sealBundle(i: SealInputs): SealResult {
  const { plan, spec } = i;
  const at = i.clock.at.toISOString();
  const files: BundleFile[] = [];
  const pub = (path: string, content: string | Buffer) => files.push({ path, content, mode: 0o644, secret: false });

  const locks = buildLocks(plan, spec);
  const locksJson = canonicalJson(locks);
  pub("manifests/locks.json", locksJson);

  const specYaml =
    `# The validated ClusterSpec of ${plan.cluster.name} as Stage 0 read it from ${i.specFile}\n` +
    `# (spec digest ${plan.specDigest}; the source file's sha256 is in provenance/inputs.json).\n` +
    stringify(spec, { lineWidth: 0, sortMapEntries: false });
  pub("recovery-bundle/clusterspec.rendered.yaml", specYaml);

  // The content hash: every rendered artifact, the locks and the rendered spec — nothing that
  // carries a time — so it names what was built, and it is the artifact name's hash prefix.
  const content = [
    ...i.artifacts.map((a) => ({ path: a.path, h: sha256(a.content) })),
    { path: "manifests/locks.json", h: sha256(locksJson) },
    { path: "recovery-bundle/clusterspec.rendered.yaml", h: sha256(specYaml) },
  ]
    .sort(byPath)
    .map((x) => `${x.h}  ${x.path}\n`)
    .join("");
  const contentSha256 = sha256(content);
  const date = at.slice(0, 10).replace(/-/g, "");
  const artifactName = `kubedos-${i.facts.kubedosVersion}-${plan.substrate}-${date}-${contentSha256.slice(0, 12)}`;

  const report = buildReport({
    cluster: plan.cluster.name,
    specDigest: plan.specDigest,
    required: spec.spec.acceptance.required,
    observations: i.observations,
    drills: i.drills,
    extra: i.extraGates,
    sources: i.evidenceSources,
    at: i.clock.at,
  });
  pub("recovery-bundle/acceptance-report.json", canonicalJson(report));

  const fingerprint = keyFingerprint(i.signer.publicKey);
  pub(
    "recovery-bundle/runbooks.md",
    renderRunbooks(plan, spec, {
      ...(i.stack ? { stack: i.stack } : {}),
      specFile: i.specFile,
      locks,
      signingKeyFingerprint: fingerprint,
      commit: i.facts.commit,
    }),
  );

  for (const [p, text] of Object.entries(
    renderSboms({
      cluster: plan.cluster.name,
      kubedosVersion: i.facts.kubedosVersion,
      locks,
      baseImagePackages: i.baseImagePackages ?? BASE_IMAGE_PACKAGES,
      shipped: i.facts.shipped,
      at: i.clock.at,
    }),
  )) {
    pub(p, text);
  }

  const inputs = {
    apiVersion: "kubedos.ca/v1alpha1",
    kind: "BuildInputs",
    spec: { file: i.specFile, sha256: sha256(i.specText), digest: plan.specDigest, ...(i.stack ? { stack: i.stack } : {}) },
    locks: { file: "manifests/locks.json", sha256: sha256(locksJson) },
    lockfile: { file: "package-lock.json", sha256: i.facts.lockfileSha256 },
    source: { commit: i.facts.commit, dirty: i.facts.dirty },
    masterSeed: { source: i.seedSource, id: i.seedId },
    wireguardEpoch: i.wireguardEpoch,
    acceptanceEvidence: i.evidenceSources,
    signingKey: { source: i.signer.source, fingerprint },
  };
  const inputsJson = canonicalJson(inputs);
  pub("provenance/inputs.json", inputsJson);

  pub(
    "provenance/build.json",
    canonicalJson({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ name: artifactName, digest: { sha256: contentSha256 } }],
      predicateType: "https://slsa.dev/provenance/v1",
      predicate: {
        buildDefinition: {
          buildType: "https://kubedos.ca/render/v1",
          externalParameters: { spec: inputs.spec, ...(i.stack ? { stack: i.stack } : {}) },
          internalParameters: { wireguardEpoch: i.wireguardEpoch, masterSeed: inputs.masterSeed, clock: i.clock.source },
          resolvedDependencies: [
            ...(i.facts.commit
              ? [{ uri: "git+kubedos", digest: { gitCommit: i.facts.commit }, annotations: { dirty: i.facts.dirty } }]
              : []),
            ...(i.facts.lockfileSha256 ? [{ uri: "kubedos/package-lock.json", digest: { sha256: i.facts.lockfileSha256 } }] : []),
            { uri: "kubedos/manifests/locks.json", digest: { sha256: sha256(locksJson) } },
            { uri: `kubedos/${i.specFile}`, digest: { sha256: sha256(i.specText) } },
          ],
        },
        runDetails: {
          builder: { id: "https://kubedos.ca/builder/kubedos-cli", version: i.facts.tools },
          metadata: { invocationId: `${plan.cluster.name}/${contentSha256.slice(0, 16)}`, startedOn: at, finishedOn: at },
          // §6.3 "build host identity policy": no host name, user or address is recorded — a
          // bundle is defined by its inputs, and two hosts rendering them must agree byte for byte.
          byproducts: [{ name: "build-host-identity-policy", content: "not-recorded" }],
        },
      },
    }),
  );

  // The artifact manifest: every file so far plus the artifacts, by hash.
  const listed = [...i.artifacts, ...files].sort(byPath);
  const manifest = {
    apiVersion: "kubedos.ca/v1alpha1",
    kind: "ArtifactManifest",
    artifactName,
    createdAt: at,
    kubedos: { version: i.facts.kubedosVersion, commit: i.facts.commit },
    cluster: {
      name: plan.cluster.name,
      artifactVersion: plan.cluster.artifactVersion,
      substrate: plan.substrate,
      specDigest: plan.specDigest,
    },
    contentSha256,
    targets: targetMatrix(plan, spec, i.artifacts),
    payloads: {
      kubernetes: locks.kubernetes?.version ?? null,
      nodePackages: locks.nodePackages,
      charts: Object.fromEntries(locks.charts.map((c) => [c.release, `${c.chart}@${c.version}`])),
      images: locks.images.length,
      imagesPinnedByDigest: locks.images.filter((x) => x.digest).length,
    },
    acceptance: { status: report.status, passed: report.summary.passed, failed: report.summary.failed, notRun: report.summary.notRun },
    signing: { algorithm: "ed25519", publicKeySha256: fingerprint, source: i.signer.source },
    files: listed.map((f) => ({
      path: f.path,
      sha256: sha256(f.content),
      size: Buffer.byteLength(f.content),
      mode: `0${f.mode.toString(8)}`,
      secret: f.secret,
    })),
  };
  const manifestJson = canonicalJson(manifest);
  pub("manifests/artifact-manifest.json", manifestJson);

  const sums = [...i.artifacts, ...files]
    .sort(byPath)
    .map((f) => `${sha256(f.content)}  ${f.path}\n`)
    .join("");
  pub("manifests/SHA256SUMS", sums);

  pub("signatures/manifests.sig", signBytes(i.signer, manifestJson));
  pub("signatures/artifacts.sig", signBytes(i.signer, sums));
  const pem = publicKeyPem(i.signer.publicKey);
  pub("signatures/signing-key.pub", pem);

  return { files, report, locks, contentSha256, artifactName, signingKey: { fingerprint, pem, source: i.signer.source } };
}

/** Per node: the target it is built as and the artifacts rendered for it (§16.1 "target matrix"). */
function targetMatrix(plan: Plan, spec: ClusterSpec, artifacts: readonly BundleFile[]) {
  const sub = spec.spec.substrate;
  const target =
    sub.type === "proxmox"
      ? sub.proxmox.template
        ? `proxmox-vm full clone of template ${sub.proxmox.template.vmid}`
        : sub.proxmox.image
          ? `proxmox-vm from image sha256:${sub.proxmox.image.sha256}`
          : "proxmox-vm (no template or image declared)"
      : sub.type === "hetzner"
        ? `hcloud-server image ${sub.hetzner.image}`
        : "existing host over SSH";
  return plan.nodes.map((n) => ({
    node: n.name,
    role: n.role,
    failureDomain: n.failureDomain,
    substrate: plan.substrate,
    target,
    arch: "amd64",
    artifacts: artifacts.filter((a) => a.path.startsWith(`nodes/${n.name}/`)).length,
  }));
}
