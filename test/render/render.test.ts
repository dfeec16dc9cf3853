/**
 * `kubedos render` end to end: the real CLI (bin/kubedos.js) writes every node's artifacts, and
 * each artifact is checked by the tool that reads it on the node:
 *
 *   cloud-init.yaml  cloud-init schema --config-file FILE                 (cloud-init)
 *   sshd_config      sshd -t -f FILE -h HOSTKEY (key from cloud-init.yaml) (openssh-server)
 *   nftables.nft     nft -c -f FILE (root / CAP_NET_ADMIN)                (nftables)
 *   firstboot.sh     shellcheck -s bash FILE                              (shellcheck)
 *   pki/cluster-ca.csr  openssl req -verify, and its public key hashed as kubeadm documents
 *                    it (openssl … | openssl pkey -pubin -outform der | sha256sum) equals
 *                    pki/cluster-ca.pin and every join's caCertHashes      (openssl)
 *
 * kubeadm.yaml's schema and CIS content are checked in test/kubernetes; here, that every node gets
 * its Stage 6 files with their modes (init on the first control plane, joins elsewhere).
 * The bootstrap kit's Flux files (kit/…) are checked against their models in test/kit; here, that
 * they are written where the GitOps repository holds them, with the catalog's edges and the mirror.
 * Plus the CLI contract: exit codes, determinism, foreign files left alone, the placeholder-seed
 * warning, and every credential only in the files that need it, never on stdout. A missing tool
 * skips naming its Debian package, or fails when CI=true.
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, utimesSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { renderArtifacts } from "../../cli/commands/render";
import { OFFLINE_PLACEHOLDER_SEED } from "../../cli/engine/harness";
import { initNode } from "../../components/kubernetes/kubeadm";
import { clusterCaPin } from "../../components/kubernetes/pki";
import { JOIN_EPOCH } from "../../components/kubernetes/render-node";
import { bootstrapToken, certificateKey, encryptionKey } from "../../components/kubernetes/tokens";
import { blueprintCredentials, kitFileName } from "../../components/kit/flux";
import { selectKit } from "../../components/kit/select";
import { buildPlan, type Plan } from "../../components/plan/plan";
import { nodeHostKey, type SshKeyPair } from "../../components/secrets/derive";
import type { ClusterSpec } from "../../components/spec/schema";
import { findTool } from "../support/tools";
import {
  BAREMETAL,
  DEV,
  edited,
  HETZNER,
  REPO_ROOT,
  repoPath,
  requireRoot,
  requireTool,
  run,
  scratch,
  skipOrFail,
  specAndPlan,
  type Json,
  type RunResult,
} from "../substrate/helpers";

/** Public and fixed: the master seed these renders derive keys from. It protects nothing. */
const SEED = "kubedos-render-test-seed-0001-public";
/** Pins the WireGuard rotation epoch so renders do not depend on today's date. */
const WG_EPOCH = "700";
const BIN = repoPath("bin", "kubedos.js");

/** Stage 2 artifact name → mode, per node (cloud-init.yaml only where cloud-init boots the node). Later stages may add more. */
const ARTIFACT_MODES: Record<string, number> = {
  "cloud-init.yaml": 0o600,
  sshd_config: 0o600,
  "nftables.nft": 0o600,
  "sysctl.conf": 0o644,
  "journald.conf": 0o644,
  "audit.rules": 0o640,
  "firstboot.sh": 0o755,
};

/** Stage 6 artifacts per node → mode: every node, and control planes only. */
const KUBE_MODES: Record<string, number> = {
  "kubeadm.yaml": 0o600,
  "kubeadm-patches/kubeletconfiguration+merge.yaml": 0o644,
};
const KUBE_CP_MODES: Record<string, number> = {
  "kubeadm-patches/kube-apiserver+json.yaml": 0o644,
  "audit-policy.yaml": 0o644,
  "encryption-config.yaml": 0o600,
};

/** The sealed rebuild anchors every render adds (seed 001 §16.2; test/anchors/ checks their content). */
const ANCHOR_FILES = [
  "manifests/artifact-manifest.json",
  "manifests/locks.json",
  "manifests/SHA256SUMS",
  "provenance/build.json",
  "provenance/inputs.json",
  "recovery-bundle/acceptance-report.json",
  "recovery-bundle/clusterspec.rendered.yaml",
  "recovery-bundle/runbooks.md",
  "sbom/binaries.cdx.json",
  "sbom/images.cdx.json",
  "sbom/os.cdx.json",
  "signatures/artifacts.sig",
  "signatures/manifests.sig",
  "signatures/signing-key.pub",
];

/** `kubedos render ARGS` from the repository root, with KUBEDOS_MASTER_SEED set to `seed` (or unset). */
function render(args: string[], seed: string | undefined): Promise<RunResult> {
  // SOURCE_DATE_EPOCH pins the sealed bundle's time fields, so two renders are byte-identical.
  const env: NodeJS.ProcessEnv = { ...process.env, KUBEDOS_WG_EPOCH: WG_EPOCH, SOURCE_DATE_EPOCH: "1790000000" };
  if (seed === undefined) delete env.KUBEDOS_MASTER_SEED;
  else env.KUBEDOS_MASTER_SEED = seed;
  return run(process.execPath, [BIN, "render", ...args], { cwd: REPO_ROOT, env });
}

/** Every file below `dir`, as sorted relative paths. */
function walk(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = path.join(rel, e.name);
    if (e.isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out.sort();
}

/** A tree as { relative path: content + mode }, for byte-for-byte comparison. */
function snapshot(dir: string, skip: (rel: string) => boolean = () => false): Record<string, string> {
  const out: Record<string, string> = {};
  for (const f of walk(dir).filter((r) => !skip(r))) {
    const abs = path.join(dir, f);
    out[f] = `${(statSync(abs).mode & 0o7777).toString(8)}:${readFileSync(abs).toString("base64")}`;
  }
  return out;
}

interface Fixture {
  label: string;
  args: string[];
  text: string;
  cloudInit: boolean;
}

const FIXTURES: Fixture[] = [
  { label: "dev", args: ["--stack", "dev"], text: DEV, cloudInit: true },
  { label: "hetzner", args: ["--spec", "test/fixtures/hetzner.yaml"], text: HETZNER, cloudInit: true },
  { label: "baremetal", args: ["--spec", "test/fixtures/baremetal.yaml"], text: BAREMETAL, cloudInit: false },
];

describe("kubedos render", function () {
  this.timeout(40_000);
  const tmp = scratch("render");
  const outOf = (label: string) => path.join(tmp.dir, label);
  const results = new Map<string, RunResult>();
  after(() => tmp.cleanup());

  before(async () => {
    const runs = await Promise.all(FIXTURES.map((fx) => render([...fx.args, "--out", outOf(fx.label)], SEED)));
    FIXTURES.forEach((fx, i) => results.set(fx.label, runs[i]));
  });

  for (const fx of FIXTURES) {
    describe(`for ${fx.label}`, () => {
      let p: Plan;
      let spec: ClusterSpec;
      const out = () => outOf(fx.label);
      const nodeFile = (node: string, f: string) => path.join(out(), "nodes", node, f);
      /** The node's host key: from its cloud-init.yaml, or (bare metal, no cloud-init) a derived test key. */
      const hostKeyOf = (node: string): string =>
        fx.cloudInit
          ? ((parse(readFileSync(nodeFile(node, "cloud-init.yaml"), "utf8")) as Json).ssh_keys.ed25519_private as string)
          : nodeHostKey(SEED, "sshd-test", node).privateKey;

      before(() => {
        ({ plan: p, spec } = specAndPlan(fx.text));
      });

      it("exits 0 and writes every node's artifacts with their modes, cloud-init.yaml 0600, when the spec is valid", () => {
        const res = results.get(fx.label)!;
        assert.equal(res.code, 0, res.stderr);
        assert.equal(res.stderr, "", "a warning although KUBEDOS_MASTER_SEED is set");
        assert.match(res.stdout, new RegExp(`^rendered \\d+ files for ${p.nodes.length} nodes of ${p.cluster.name} into `));
        assert.deepEqual(readdirSync(path.join(out(), "nodes")).sort(), p.nodes.map((n) => n.name).sort());
        const want = Object.keys(ARTIFACT_MODES)
          .filter((f) => fx.cloudInit || f !== "cloud-init.yaml")
          .sort();
        for (const n of p.nodes) {
          const have = readdirSync(path.join(out(), "nodes", n.name));
          assert.deepEqual(
            want.filter((f) => !have.includes(f)),
            [],
            `${n.name} lacks artifacts`,
          );
          if (!fx.cloudInit) assert.ok(!have.includes("cloud-init.yaml"));
          for (const f of want)
            assert.equal((statSync(nodeFile(n.name, f)).mode & 0o7777).toString(8), ARTIFACT_MODES[f].toString(8), `${n.name}/${f} mode`);
        }
        const planJson = JSON.parse(readFileSync(path.join(out(), "plan.json"), "utf8"));
        assert.deepEqual(planJson, JSON.parse(JSON.stringify(p)), "plan.json is not the spec's plan");
      });

      it("writes every node's kubeadm files with their modes — kubeadm.yaml 0600, InitConfiguration on the first control plane, JoinConfiguration elsewhere", () => {
        const first = initNode(p);
        const kinds = (node: string) =>
          parseAllDocuments(readFileSync(nodeFile(node, "kubeadm.yaml"), "utf8")).map((d) => (d.toJS() as Json).kind);
        for (const n of p.nodes) {
          const want = { ...KUBE_MODES, ...(n.role === "control-plane" ? KUBE_CP_MODES : {}) };
          for (const [f, mode] of Object.entries(want))
            assert.equal((statSync(nodeFile(n.name, f)).mode & 0o7777).toString(8), mode.toString(8), `${n.name}/${f} mode`);
          if (n.role !== "control-plane")
            for (const f of Object.keys(KUBE_CP_MODES)) assert.ok(!existsSync(nodeFile(n.name, f)), `${n.name} has ${f}`);
          const k = kinds(n.name);
          if (n.name === first.name) assert.deepEqual(k, ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"], n.name);
          else assert.deepEqual(k, ["JoinConfiguration", "KubeletConfiguration"], n.name);
        }
      });

      it("writes exactly what renderArtifacts renders plus the sealed anchors, and counts its secret files in the summary", async () => {
        const { files, notes } = await renderArtifacts(p, spec, SEED, Number(WG_EPOCH));
        assert.deepEqual(notes, []);
        assert.deepEqual(walk(out()), [...files.map((f) => f.path), ...ANCHOR_FILES].sort());
        const secrets = files.filter((f) => f.secret);
        for (const f of secrets) assert.equal(statSync(path.join(out(), f.path)).mode & 0o777, 0o600, `${f.path} is secret but not 0600`);
        const res = results.get(fx.label)!;
        assert.match(
          res.stdout,
          new RegExp(`^rendered ${files.length + ANCHOR_FILES.length} files for .* \\(${secrets.length} secret, mode 0600\\)$`, "m"),
        );
        assert.ok(secrets.some((f) => f.path.endsWith("kubeadm.yaml")) && secrets.some((f) => f.path.endsWith("encryption-config.yaml")));
      });

      it("writes pki/cluster-ca.csr that `openssl req -verify` accepts, whose public-key hash is pki/cluster-ca.pin and every join's pin", async function () {
        const openssl = findTool("openssl") ?? skipOrFail(this, "openssl is not installed (Debian package openssl)");
        const csr = path.join(out(), "pki", "cluster-ca.csr");
        const pinFile = readFileSync(path.join(out(), "pki", "cluster-ca.pin"), "utf8");
        assert.equal(pinFile, clusterCaPin(SEED, p.cluster.name) + "\n");
        for (const f of ["cluster-ca.csr", "cluster-ca.pin"]) assert.equal(statSync(path.join(out(), "pki", f)).mode & 0o777, 0o644);
        const v = await run(openssl, ["req", "-verify", "-noout", "-in", csr]);
        assert.equal(v.code, 0, v.stdout + v.stderr);
        assert.match(v.stdout + v.stderr, /verify OK/);
        // kubeadm's documented way to compute a CA pin, applied to the request's public key.
        const h = await run("bash", [
          "-c",
          'set -o pipefail; "$1" req -in "$2" -pubkey -noout | "$1" pkey -pubin -outform der | sha256sum',
          "pin",
          openssl,
          csr,
        ]);
        assert.equal(h.code, 0, h.stderr);
        assert.equal(`sha256:${h.stdout.split(/\s+/)[0]}\n`, pinFile);
        for (const n of p.nodes.filter((x) => x.name !== initNode(p).name)) {
          const join = parseAllDocuments(readFileSync(nodeFile(n.name, "kubeadm.yaml"), "utf8"))[0].toJS() as Json;
          assert.deepEqual(join.discovery.bootstrapToken.caCertHashes, [pinFile.trim()], n.name);
        }
      });

      it("keeps the bootstrap token, certificate key and encryption key in the files that need them only, and off stdout and stderr", () => {
        const token = bootstrapToken(SEED, p.cluster.name, JOIN_EPOCH);
        const certKey = certificateKey(SEED, p.cluster.name, JOIN_EPOCH);
        const encKey = encryptionKey(SEED, p.cluster.name);
        const holders = (secret: string) => walk(out()).filter((f) => readFileSync(path.join(out(), f), "utf8").includes(secret));
        const cps = p.nodes.filter((n) => n.role === "control-plane").map((n) => n.name);
        assert.deepEqual(holders(token), p.nodes.map((n) => path.join("nodes", n.name, "kubeadm.yaml")).sort());
        assert.deepEqual(holders(certKey), cps.map((n) => path.join("nodes", n, "kubeadm.yaml")).sort());
        assert.deepEqual(holders(encKey), cps.map((n) => path.join("nodes", n, "encryption-config.yaml")).sort());
        const res = results.get(fx.label)!;
        for (const [what, s] of Object.entries({ token, certKey, encKey, tokenSecret: token.split(".")[1] })) {
          assert.ok(!res.stdout.includes(s) && !res.stderr.includes(s), `render prints the ${what}`);
        }
      });

      if (fx.cloudInit) {
        it("embeds nodeHostKey(KUBEDOS_MASTER_SEED, cluster, node) in every cloud-init.yaml when the seed is set", () => {
          for (const n of p.nodes) {
            const ci = parse(readFileSync(nodeFile(n.name, "cloud-init.yaml"), "utf8")) as Json;
            const key = nodeHostKey(SEED, p.cluster.name, n.name);
            assert.equal(ci.ssh_keys.ed25519_public, key.publicKey);
            assert.equal(ci.ssh_keys.ed25519_private, key.privateKey);
          }
        });

        it("writes cloud-init.yaml that `cloud-init schema --config-file` accepts when cloud-init boots the node", async function () {
          const tool = requireTool(this, "cloud-init");
          const problems = await Promise.all(
            p.nodes.map(async (n) => {
              const r = await run(tool, ["schema", "--config-file", nodeFile(n.name, "cloud-init.yaml")]);
              const text = r.stdout + r.stderr;
              return r.code === 0 && /Valid cloud-config/.test(text) ? "" : `${n.name}: exit ${r.code}\n${text}`;
            }),
          );
          assert.deepEqual(problems.filter(Boolean), []);
        });
      } else {
        it("writes no cloud-init.yaml when the hosts are bare metal", () => {
          assert.ok(!walk(out()).some((f) => f.endsWith("cloud-init.yaml")));
        });
      }

      it("writes sshd_config that `sshd -t` accepts with the node's host key when sshd starts", async function () {
        const sshd = requireTool(this, "sshd");
        if (!existsSync("/run/sshd")) {
          if (process.getuid?.() !== 0) skipOrFail(this, "sshd -t needs /run/sshd, which only root can create (mkdir -p /run/sshd)");
          mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
        }
        const keys = path.join(tmp.dir, `keys-${fx.label}`);
        mkdirSync(keys, { recursive: true, mode: 0o700 });
        // sshd -t also tries the configured /etc/ssh/ssh_host_ed25519_key; a test machine may lack it.
        const noise = /^Unable to load host key: \/etc\/ssh\/ssh_host_ed25519_key$/;
        const problems = await Promise.all(
          p.nodes.map(async (n) => {
            const keyFile = path.join(keys, n.name);
            writeFileSync(keyFile, hostKeyOf(n.name), { mode: 0o600 });
            const r = await run(sshd, ["-t", "-f", nodeFile(n.name, "sshd_config"), "-h", keyFile]);
            const warnings = r.stderr.split("\n").filter((l) => l.trim() !== "" && !noise.test(l.trim()));
            return r.code === 0 && warnings.length === 0 ? "" : `${n.name}: sshd -t exit ${r.code}\n${r.stderr}`;
          }),
        );
        assert.deepEqual(problems.filter(Boolean), []);
      });

      it("writes nftables.nft that `nft -c -f` accepts when loaded with CAP_NET_ADMIN", async function () {
        const nft = requireTool(this, "nft");
        requireRoot(this, "nft -c");
        const problems = await Promise.all(
          p.nodes.map(async (n) => {
            const r = await run(nft, ["-c", "-f", nodeFile(n.name, "nftables.nft")]);
            return r.code === 0 && r.stderr.trim() === "" ? "" : `${n.name}: nft -c exit ${r.code}\n${r.stderr}`;
          }),
        );
        assert.deepEqual(problems.filter(Boolean), []);
      });

      it("writes firstboot.sh that `shellcheck -s bash` accepts without a finding when the node runs it", async function () {
        const sc = requireTool(this, "shellcheck");
        const problems = await Promise.all(
          p.nodes.map(async (n) => {
            const r = await run(sc, ["-s", "bash", "--severity=style", "--format=gcc", nodeFile(n.name, "firstboot.sh")]);
            return r.code === 0 ? "" : `${n.name}: shellcheck exit ${r.code}\n${r.stdout}${r.stderr}`;
          }),
        );
        assert.deepEqual(problems.filter(Boolean), []);
      });

      it("writes the bootstrap kit as the GitOps repository holds it: kit/clusters/<cluster>/bootstrap-kit/NN-bp-<name>.yaml, 0644, and the kustomization in slot order", () => {
        const kit = selectKit(spec);
        const dir = path.join(out(), "kit", "clusters", p.cluster.name, "bootstrap-kit");
        const names = kit.blueprints.map(kitFileName);
        assert.deepEqual(readdirSync(dir).sort(), [...names, "kustomization.yaml"].sort());
        assert.deepEqual(
          walk(path.join(out(), "kit")).map((f) => path.join("kit", f)),
          walk(out()).filter((f) => f.startsWith(`kit${path.sep}`)),
          "kit/ holds only the bootstrap-kit directory",
        );
        for (const f of readdirSync(dir)) assert.equal((statSync(path.join(dir, f)).mode & 0o7777).toString(8), "644", f);
        const k = parse(readFileSync(path.join(dir, "kustomization.yaml"), "utf8")) as Json;
        assert.deepEqual(k, { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: names });
        for (const b of kit.blueprints) {
          const docs = parseAllDocuments(readFileSync(path.join(dir, kitFileName(b)), "utf8")).map((d) => d.toJS() as Json);
          const hr = docs.find((d) => d.kind === "HelmRelease");
          assert.equal(hr.metadata.name, `bp-${b.name}`);
          assert.deepEqual(
            (hr.spec.dependsOn ?? []).map((d: Json) => d.name),
            b.dependsOn.map((e) => `bp-${e.on}`).sort(),
            `${b.name}: dependsOn is not the catalog's edges`,
          );
          const source = docs.find((d) => d.kind === "OCIRepository" || d.kind === "HelmRepository");
          assert.equal(source.spec.url, `${p.mirrors.charts}/${b.chart.chart}`, `${b.name} is not pulled from the chart mirror`);
        }
      });

      it("keeps every blueprint credential derived from KUBEDOS_MASTER_SEED out of kit/, every other file and the output", () => {
        const texts = walk(out()).map((f) => readFileSync(path.join(out(), f), "utf8"));
        const res = results.get(fx.label)!;
        for (const b of selectKit(spec).blueprints)
          for (const [purpose, value] of Object.entries(blueprintCredentials(SEED, p.cluster.name, b))) {
            assert.ok(!texts.some((t) => t.includes(value)), `bp-${b.name} ${purpose} is in a rendered file`);
            assert.ok(!(res.stdout + res.stderr).includes(value), `bp-${b.name} ${purpose} is printed`);
          }
      });

      it("keeps the seed out of every file, SSH host keys inside cloud-init.yaml only, each WireGuard key in one 0600 file, when rendering", () => {
        // The brief's rule was "no secret outside cloud-init.yaml"; since Stage 3, render also writes
        // WireGuard configs, which must carry their private key: each may hold its own key, nothing else may.
        const hostKeys: SshKeyPair[] = p.nodes.map((n) => nodeHostKey(SEED, p.cluster.name, n.name));
        // Every base64 line of every SSH private key body (long enough not to match by chance).
        const sshBodies = hostKeys.flatMap((k) => k.privateKey.split("\n").filter((l) => l.length >= 20 && !l.startsWith("-----")));
        const files = walk(out());
        const texts = new Map(files.map((f) => [f, readFileSync(path.join(out(), f), "utf8")]));
        const wgKeys = new Set([...texts.values()].flatMap((t) => [...t.matchAll(/^\s*PrivateKey\s*=\s*(\S+)\s*$/gm)].map((m) => m[1])));
        assert.ok(files.length > p.nodes.length * 6);
        for (const [f, text] of texts) {
          const mode = statSync(path.join(out(), f)).mode & 0o777;
          assert.ok(!text.includes(SEED), `${f} contains the master seed`);
          if (path.basename(f) !== "cloud-init.yaml") {
            assert.doesNotMatch(text, /PRIVATE KEY/, `${f} holds a PEM private key`);
            assert.ok(!sshBodies.some((b) => text.includes(b)), `${f} holds an SSH host private key`);
          }
          if (/PRIVATE KEY|^\s*PrivateKey\s*=/m.test(text))
            assert.equal(mode.toString(8), "600", `${f} holds a private key but is mode ${mode.toString(8)}`);
        }
        for (const k of wgKeys) {
          const holders = files.filter((f) => texts.get(f)!.includes(k));
          assert.equal(holders.length, 1, `a WireGuard private key appears in ${holders.join(", ")}`);
        }
        const res = results.get(fx.label)!;
        const output = res.stdout + res.stderr;
        assert.ok(!output.includes(SEED), "the CLI prints the master seed");
        assert.doesNotMatch(output, /PRIVATE KEY/);
        assert.ok(![...wgKeys, ...sshBodies].some((k) => output.includes(k)), "the CLI prints a private key");
      });
    });
  }

  describe("as a command", () => {
    it("renders byte-identical trees, and leaves an unrelated file untouched, when run twice (fresh and over its own output)", async () => {
      const fresh = outOf("dev");
      const shared = outOf("dev-shared");
      mkdirSync(path.join(shared, "nodes", "cp-1"), { recursive: true });
      const foreign = [path.join(shared, "operator-notes.txt"), path.join(shared, "nodes", "cp-1", "local.conf")];
      const old = new Date("2020-01-02T03:04:05Z");
      for (const f of foreign) {
        writeFileSync(f, `kept by the operator: ${f}\n`, { mode: 0o640 });
        utimesSync(f, old, old);
      }
      const before = snapshot(shared);
      const isForeign = (rel: string) => foreign.includes(path.join(shared, rel));
      for (let i = 0; i < 2; i++) {
        const r = await render(["--stack", "dev", "--out", shared], SEED);
        assert.equal(r.code, 0, r.stderr);
        assert.deepEqual(
          snapshot(shared, (rel) => isForeign(rel)),
          snapshot(fresh),
          `render ${i + 1} into the shared dir differs from a fresh render`,
        );
        for (const f of foreign) {
          const rel = path.relative(shared, f);
          assert.equal(snapshot(shared)[rel], before[rel], `${rel} changed`);
          assert.equal(statSync(f).mtime.getTime(), old.getTime(), `${rel} was rewritten`);
        }
      }
    });

    it("exits 1 with the validate-format lines and writes nothing when the spec is invalid", async () => {
      const file = tmp.file("invalid-ha4.yaml", edited(DEV, [[["spec", "kubernetes", "ha", "controlPlaneReplicas"], 4]]));
      const outDir = path.join(tmp.dir, "never-written");
      const [r, v] = await Promise.all([render(["--spec", file, "--out", outDir], SEED), validate(file)]);
      assert.equal(r.code, 1, r.stderr);
      assert.equal(r.stdout, "");
      assert.equal(r.stderr, v.stderr, "render's report differs from `kubedos validate`");
      const esc = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      assert.match(r.stderr, new RegExp(`^${esc}:\\d+:\\d+  spec\\.kubernetes\\.ha\\.controlPlaneReplicas  \\[ha-quorum\\]  \\S`, "m"));
      assert.match(r.stderr, new RegExp(`^${esc}: invalid \\(\\d+ error\\(s\\), \\d+ warning\\(s\\)\\)$`, "m"));
      assert.ok(!existsSync(outDir), "render wrote output for an invalid spec");
    });

    it("renders every earlier stage and notes, on stdout, the kubeadm files it cannot write when the version has no lock or a to-fu join has no pin", async () => {
      const old = tmp.file("old-version.yaml", edited(DEV, [[["spec", "kubernetes", "version"], "v1.30.x"]]));
      const tofu = tmp.file(
        "to-fu.yaml",
        edited(DEV, [
          [["spec", "security", "bootstrap", "model"], "to-fu"],
          [["spec", "security", "bootstrap", "caFingerprint"], undefined],
        ]),
      );
      const [a, b] = await Promise.all([
        render(["--spec", old, "--out", outOf("old-version")], SEED),
        render(["--spec", tofu, "--out", outOf("to-fu")], SEED),
      ]);
      assert.equal(a.code, 0, a.stderr);
      assert.match(a.stdout, /^note: no kubeadm files: kubernetes\.version v1\.30\.x has no version lock; kubedos builds v1\.31\.x/m);
      const oldFiles = walk(outOf("old-version"));
      assert.ok(oldFiles.includes(path.join("nodes", "cp-1", "firstboot.sh")));
      assert.deepEqual(
        oldFiles.filter((f) => /kubeadm|encryption-config|audit-policy|^pki\//.test(f)),
        [],
      );
      assert.equal(b.code, 0, b.stderr);
      assert.match(b.stdout, /^note: no kubeadm files for cp-2, cp-3, w-1, w-2, w-3: security\.bootstrap\.model is to-fu/m);
      assert.match(b.stdout, /^note: no pki\/cluster-ca\.csr: under security\.bootstrap\.model to-fu/m);
      const tofuFiles = walk(outOf("to-fu"));
      assert.deepEqual(
        tofuFiles.filter((f) => f.endsWith("kubeadm.yaml")),
        [path.join("nodes", "cp-1", "kubeadm.yaml")],
      );
      assert.ok(!tofuFiles.some((f) => f.startsWith("pki")));
    });

    it("renders no kit/ without Kubernetes, and notes why when the spec's kit cannot be selected", async () => {
      const { spec, plan: pl } = specAndPlan(DEV);
      const off = structuredClone(spec);
      off.spec.kubernetes.enabled = false;
      const none = await renderArtifacts(buildPlan(off), off, SEED, Number(WG_EPOCH));
      assert.deepEqual(
        none.files.filter((f) => f.path.startsWith(`kit${path.sep}`)),
        [],
      );
      assert.ok(!none.notes.some((n) => n.includes("kit/")));
      // `validate` refuses such a spec (kit-dependencies); renderArtifacts, called directly, notes it.
      const bad = structuredClone(spec);
      bad.spec.kit = { ...bad.spec.kit!, include: ["no-such-blueprint"] };
      const r = await renderArtifacts(pl, bad, SEED, Number(WG_EPOCH));
      assert.deepEqual(
        r.files.filter((f) => f.path.startsWith(`kit${path.sep}`)),
        [],
      );
      assert.deepEqual(
        r.notes.filter((n) => n.includes("kit/")),
        ['no kit/ files: invalid kit: spec.kit.include[0]: unknown blueprint "no-such-blueprint": the catalog has no bp-no-such-blueprint'],
      );
    });

    it("exits 2 with a usage message and writes nothing when --out is missing", async () => {
      const r = await render(["--stack", "dev"], SEED);
      assert.equal(r.code, 2);
      assert.match(r.stderr, /render needs --out DIR/);
      assert.equal(r.stdout, "");
    });

    it("warns on stderr about the placeholder seed, and derives from it, when KUBEDOS_MASTER_SEED is unset", async () => {
      const outDir = outOf("placeholder");
      const r = await render(["--stack", "dev", "--out", outDir], undefined);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stderr, /KUBEDOS_MASTER_SEED is not set/);
      assert.match(r.stderr, /placeholder seed/);
      const ci = parse(readFileSync(path.join(outDir, "nodes", "cp-1", "cloud-init.yaml"), "utf8")) as Json;
      assert.equal(ci.ssh_keys.ed25519_public, nodeHostKey(OFFLINE_PLACEHOLDER_SEED, "dev-lab", "cp-1").publicKey);
    });
  });
});

/** `kubedos validate FILE` (what render's report must equal for an invalid spec). */
function validate(file: string): Promise<RunResult> {
  return run(process.execPath, [BIN, "validate", file], { cwd: REPO_ROOT });
}
