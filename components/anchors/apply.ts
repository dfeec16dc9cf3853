/**
 * Stage 7 in the Pulumi program: the rebuild anchors of the stack, sealed after the acceptance
 * gates. The bundle is the same pure sealBundle() `kubedos render` writes, over the same rendered
 * artifacts; only its evidence differs — here it is what the gate commands printed on the nodes.
 * Its clock is the last gate's finish time, so a `pulumi up` that re-runs nothing re-seals
 * nothing (the seal's inputs are unchanged).
 */
import type * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import type { Observation } from "../acceptance/report";
import { blockingGates } from "../acceptance/report";
import { environmentGate, kitGate, renderArtifacts, seedId } from "../artifacts";
import type { EnvironmentStatus } from "../environment/status";
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import type { Stage } from "../stage";
import { sealBundle } from "./bundle";
import { buildFacts } from "./facts";
import { Seal } from "./seal";
import { seedSigningKey, suppliedSigningKey } from "./signing";

export interface AnchorsInput {
  stage: Stage;
  plan: Plan;
  spec: ClusterSpec;
  specFile: string;
  specText: string;
  stack: string;
  seed: pulumi.Output<string>;
  wireguardEpoch: number;
  gates: { commands: Map<string, command.remote.Command>; observations: pulumi.Output<Observation[]> };
  /** The environment reconcilers (seed 004) and their status: gates of the report, and waited for. */
  environment?: { reconcilers: pulumi.Resource[]; status: pulumi.Output<EnvironmentStatus> };
  /** kubedos:signingKey: a supplied Ed25519 key (PEM) instead of the seed-derived one. */
  signingKeyPem?: pulumi.Output<string>;
  /** The bootstrap kit's readiness probes by blueprint (their success is evidence). */
  kitProbes?: Map<string, command.remote.Command>;
}

export interface AnchorsResult {
  seal: Seal;
  /** The stack export: every anchor, none secret. */
  exports: pulumi.Output<Record<string, unknown>>;
}

const sha256 = (s: string | Buffer) => createHash("sha256").update(s).digest("hex");
const json = (b: string | Buffer) => JSON.parse(b.toString()) as unknown;

export function createAnchors(i: AnchorsInput): AnchorsResult {
  const { plan, spec } = i;
  const probeObservations = pulumi
    .all([...(i.kitProbes ?? new Map<string, command.remote.Command>())].map(([bp, c]) => c.stdout.apply((out) => ({ bp, out }))))
    .apply((rs) =>
      rs
        .filter((r) => r.out !== undefined && r.out !== null)
        .map((r): Observation => ({
          gate: "bootstrap-kit",
          check: `bp-${r.bp}`,
          status: "pass",
          evidence: `probe exited 0: ${String(r.out).trim().slice(0, 200)}`,
          source: "pulumi",
        })),
    );
  const envStatus: pulumi.Input<EnvironmentStatus | null> = i.environment?.status ?? null;
  const sealed = pulumi
    .all([i.seed, i.gates.observations, probeObservations, i.signingKeyPem ?? "", envStatus])
    .apply(async ([seed, gateObs, probeObs, keyPem, env]) => {
      const observations = [...gateObs, ...probeObs];
      const finished = observations
        .map((o) => o.finishedAt)
        .filter((t): t is string => !!t)
        .sort();
      const { files } = await renderArtifacts(plan, spec, seed, i.wireguardEpoch);
      const s = sealBundle({
        plan,
        spec,
        specFile: i.specFile,
        specText: i.specText,
        stack: i.stack,
        artifacts: files,
        signer: keyPem ? suppliedSigningKey(keyPem, "kubedos:signingKey") : seedSigningKey(seed, plan.cluster.name),
        clock: { at: new Date(finished.length ? finished[finished.length - 1] : 0), source: "evidence" },
        facts: buildFacts(),
        wireguardEpoch: i.wireguardEpoch,
        seedSource: "supplied",
        seedId: seedId(seed, plan.cluster.name),
        observations,
        drills: [],
        extraGates: [...kitGate(spec), ...(env ? [environmentGate(env)] : [])],
        evidenceSources: observations.length ? [{ kind: "pulumi", ref: `pulumi up of stack ${i.stack}` }] : [],
      });
      // Only the anchor files leave this function: the rendered artifacts (secrets among them)
      // are represented by their hashes in the manifest.
      const file = (p: string) => s.files.find((f) => f.path === p)!.content;
      return {
        artifactName: s.artifactName,
        contentSha256: s.contentSha256,
        manifestSha256: sha256(file("manifests/artifact-manifest.json")),
        sumsSha256: sha256(file("manifests/SHA256SUMS")),
        acceptance: s.report.status,
        blocking: blockingGates(s.report),
        anchors: {
          artifactName: s.artifactName,
          contentSha256: s.contentSha256,
          artifactManifest: json(file("manifests/artifact-manifest.json")),
          locks: json(file("manifests/locks.json")),
          sha256sums: file("manifests/SHA256SUMS").toString(),
          sbom: {
            os: json(file("sbom/os.cdx.json")),
            images: json(file("sbom/images.cdx.json")),
            binaries: json(file("sbom/binaries.cdx.json")),
          },
          provenance: { build: json(file("provenance/build.json")), inputs: json(file("provenance/inputs.json")) },
          signatures: {
            algorithm: "ed25519",
            manifests: Buffer.from(file("signatures/manifests.sig")).toString("base64"),
            artifacts: Buffer.from(file("signatures/artifacts.sig")).toString("base64"),
            signingKey: s.signingKey.pem,
            signingKeyFingerprint: s.signingKey.fingerprint,
          },
          clusterSpec: file("recovery-bundle/clusterspec.rendered.yaml").toString(),
          runbooks: file("recovery-bundle/runbooks.md").toString(),
          acceptanceReport: s.report,
        },
      };
    });
  // Nothing in the anchors is secret (the test suite searches them for every derived secret); the
  // seed taints every value computed from it, so the taint is lifted here, once, on purpose.
  const open = pulumi.unsecret(sealed);
  const seal = new Seal(
    `${plan.cluster.name}-seal`,
    {
      artifactName: open.artifactName,
      manifestSha256: open.manifestSha256,
      sumsSha256: open.sumsSha256,
      signingKeyFingerprint: open.anchors.signatures.signingKeyFingerprint,
      acceptance: open.acceptance,
      blocking: open.blocking,
    },
    i.stage.childOpts({
      dependsOn: [...i.gates.commands.values(), ...(i.kitProbes?.values() ?? []), ...(i.environment?.reconcilers ?? [])],
    }),
  );
  return { seal, exports: pulumi.all([open.anchors, seal.id]).apply(([a]) => a as Record<string, unknown>) };
}
