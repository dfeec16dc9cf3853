/**
 * Stage 7 of the dev stack under the in-process mock engine: the acceptance gate commands run after
 * every earlier stage, the seal depends on every gate command and readiness probe, and the stack's
 * `anchors` export carries the same locks and signing key `kubedos render` writes — and no secret.
 */
import { strict as assert } from "node:assert";
import { planStack, type PlanResult } from "../../cli/commands/plan";
import { OFFLINE_PLACEHOLDER_SEED, type RecordedResource } from "../../cli/engine/harness";
import { buildLocks } from "../../components/anchors/locks";
import { publicKeyPem, seedSigningKey } from "../../components/anchors/signing";
import { canonicalJson } from "../../components/anchors/canonical";
import { renderArtifacts } from "../../components/artifacts";
import { clusterCaKeyPem } from "../../components/kubernetes/pki";
import { DEV, specAndPlan } from "../substrate/helpers";

const SEED = process.env.KUBEDOS_MASTER_SEED || OFFLINE_PLACEHOLDER_SEED;
const COMMAND = "command:remote:Command";

describe("engine: Stage 7 (acceptance gates, seal, anchors export) of the dev stack", function () {
  this.timeout(120_000);
  let dev: PlanResult;
  let byUrn: Map<string, RecordedResource>;
  const named = (name: string) => {
    const r = dev.run.resources.find((x) => x.name === name);
    assert.ok(r, `no resource ${name}`);
    return r;
  };
  const { spec, plan } = specAndPlan(DEV);

  before(async () => {
    dev = await planStack({ stack: "dev" });
    assert.equal(dev.run.error, undefined, String(dev.run.error?.message));
    byUrn = new Map(dev.run.resources.map((r) => [r.urn, r]));
  });

  it("runs one security gate per node and the cluster gates on cp-1, all under Stage 7 after Stage 6's gate", () => {
    const gates = dev.run.resources.filter((r) => r.type === COMMAND && r.name.startsWith("dev-lab-gate-"));
    assert.deepEqual(
      gates.map((g) => g.name).sort(),
      [
        "dev-lab-gate-backplane",
        "dev-lab-gate-cilium",
        "dev-lab-gate-kubernetes",
        "dev-lab-gate-observability",
        ...plan.nodes.map((n) => `dev-lab-gate-security-${n.name}`),
      ].sort(),
    );
    const stage7 = named("dev-lab-stage7-seal");
    const stage6Gate = named("dev-lab-stage6-kubernetes-gate");
    for (const g of gates) {
      assert.equal(g.parent, stage7.urn, `${g.name} is not under Stage 7`);
      assert.ok(g.dependencies.includes(stage6Gate.urn), `${g.name} does not wait for Stage 6`);
      assert.deepEqual(g.inputs.triggers, [plan.specDigest], `${g.name} does not re-run on a spec change`);
      assert.match(String(g.inputs.create), /^# kubedos: acceptance gate /);
      assert.match(String(g.inputs.stdin), /KUBEDOS-CHECK/);
    }
  });

  it("makes the seal depend on every gate command and every bootstrap-kit readiness probe", () => {
    const seal = named("dev-lab-seal");
    assert.equal(seal.type, "pulumi-nodejs:dynamic:Resource");
    assert.equal(seal.inputs.kind, "kubedos-seal");
    const deps = new Set(seal.dependencies.map((u) => byUrn.get(u)!.name));
    const gates = dev.run.resources.filter((r) => r.type === COMMAND && r.name.startsWith("dev-lab-gate-"));
    const probes = dev.run.resources.filter((r) => r.type === COMMAND && r.name.startsWith("dev-lab-probe-bp-"));
    assert.equal(probes.length, 48);
    const reconcilers = dev.run.resources.filter((r) => r.name.startsWith("dev-lab-environment-"));
    assert.equal(reconcilers.length, 3, "storage, broker and vector reconcilers");
    for (const r of [...gates, ...probes, ...reconcilers]) assert.ok(deps.has(r.name), `the seal does not wait for ${r.name}`);
    assert.ok(
      dev.policy!.policies.some((p) => p.name === "seal-after-acceptance"),
      "seal-after-acceptance is not in the pack",
    );
    assert.deepEqual(
      dev.policy!.violations.filter((v) => v.policy === "seal-after-acceptance"),
      [],
    );
  });

  it("exports the anchors: the render's locks and seed-derived signing key, an incomplete report (nothing ran under mocks), no secret", async () => {
    const anchors = (dev.run.exports as Record<string, Record<string, unknown>>).anchors;
    assert.ok(anchors, "no anchors export");
    assert.equal(canonicalJson(anchors.locks), canonicalJson(buildLocks(plan, spec)));
    const sigs = anchors.signatures as Record<string, string>;
    assert.equal(sigs.signingKey, publicKeyPem(seedSigningKey(SEED, "dev-lab").publicKey));
    const report = anchors.acceptanceReport as {
      status: string;
      gates: Array<{ name: string; checks: Array<{ id: string; status: string }> }>;
    };
    assert.equal(report.status, "incomplete");
    // The environment reconcilers' status is a gate of the report (pending under the mock engine: not run).
    const env = report.gates.find((g) => g.name === "environment");
    assert.deepEqual(
      env?.checks.map((c) => `${c.id}:${c.status}`),
      ["environment-storage:not-run", "environment-broker:not-run", "environment-vector:not-run"],
    );
    const manifest = anchors.artifactManifest as { files: Array<{ path: string }> };
    const { files } = await renderArtifacts(plan, spec, SEED, 0);
    for (const f of files)
      assert.ok(
        manifest.files.some((m) => m.path === f.path),
        `${f.path} is not in the exported manifest`,
      );
    // No secret in the export: the seed, the signing and CA private keys, every secret file's key material.
    const text = JSON.stringify(anchors);
    const secrets = [
      SEED,
      clusterCaKeyPem(SEED, "dev-lab").split("\n")[1],
      seedSigningKey(SEED, "dev-lab").privateKey.export({ format: "der", type: "pkcs8" }).subarray(16).toString("base64"),
    ];
    for (const f of files.filter((x) => x.secret)) for (const m of f.content.matchAll(/PrivateKey\s*=\s*(\S+)/g)) secrets.push(m[1]);
    assert.ok(secrets.length > 10);
    for (const s of secrets) assert.ok(!text.includes(s), `the anchors export contains a secret (${s.slice(0, 6)}…)`);
  });
});
