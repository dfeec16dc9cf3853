/**
 * The environment reconcilers in the whole program, under the in-process mock engine: the dev and
 * prod stacks hold one reconciler resource per component, in the seed's order, prod's each after
 * the kit HelmRelease of the blueprint that serves its endpoint; the credential travels as a
 * secret and never reaches the exports; and the serialized dynamic provider, loaded the way
 * Pulumi's dynamic-provider host loads it, really reconciles (create, no-change diff, update).
 */
import { strict as assert } from "node:assert";
import { existsSync, rmSync } from "node:fs";
import * as path from "node:path";
import { stackSpecPath } from "../../cli/io";
import { isSecretMarker, OFFLINE_PLACEHOLDER_SEED, runStack, type RecordedResource, type StackRun } from "../../cli/engine/harness";
import { redact } from "../../cli/commands/plan";
import { environmentCredential } from "../../components/environment/apply";
import { environmentProfile, type ComponentProfile } from "../../components/environment/profile";
import type { ReconcilerInputs, ReconcilerOutputs } from "../../components/environment/provider";
import { DEV, PROD, parseSpec, validSpec } from "../plan/helpers";
import { tmpDir } from "./servers";

const TYPE = "pulumi-nodejs:dynamic/kubedos-environment:Reconciler";
const SEED = process.env.KUBEDOS_MASTER_SEED || OFFLINE_PLACEHOLDER_SEED;
const runs = new Map<string, StackRun>();

const reconcilers = (run: StackRun): RecordedResource[] => run.resources.filter((r) => r.type === TYPE);
const byUrn = (run: StackRun) => new Map(run.resources.map((r) => [r.urn, r]));

describe("environment reconcilers in the stacks (mock engine)", function () {
  this.timeout(120000);
  before(async () => {
    for (const stack of ["dev", "prod"])
      runs.set(stack, await runStack({ stack, config: { "kubedos:clusterSpec": stackSpecPath(stack) } }));
  });

  for (const [stack, cluster] of [
    ["dev", "dev-lab"],
    ["prod", "prod-01"],
  ]) {
    it(`${stack}: one reconciler per component under Stage 6, storage → broker → vector`, () => {
      const run = runs.get(stack)!;
      assert.equal(run.error, undefined, run.error?.message);
      const rs = reconcilers(run);
      assert.deepEqual(
        rs.map((r) => r.name),
        ["storage", "broker", "vector"].map((c) => `${cluster}-environment-${c}`),
      );
      const urns = byUrn(run);
      for (const [i, r] of rs.entries()) {
        assert.equal(urns.get(r.parent!)?.type, "kubedos:cluster:Stage");
        assert.equal(urns.get(r.parent!)?.name, `${cluster}-stage6-kubernetes`);
        if (i > 0) assert.ok(r.dependencies.includes(rs[i - 1].urn), `${r.name} waits for ${rs[i - 1].name}`);
        assert.ok(isSecretMarker(r.inputs.credential), `${r.name}: the credential is a secret input`);
        assert.deepEqual(r.additionalSecretOutputs, ["credential"]);
        assert.equal(typeof r.inputs.__provider, "string");
        assert.ok((r.inputs.__provider as string).length < 5000, "the serialized provider is the small shim");
      }
    });
  }

  it("dev (local adapters) waits for no kit release; prod waits for SeaweedFS, NATS JetStream and CNPG", () => {
    const kitDeps = (run: StackRun) =>
      reconcilers(run).map((r) =>
        r.dependencies
          .map((u) => byUrn(run).get(u)!)
          .filter((d) => d.type === "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease")
          .map((d) => d.name),
      );
    assert.deepEqual(kitDeps(runs.get("dev")!), [[], [], []]);
    assert.deepEqual(kitDeps(runs.get("prod")!), [["prod-01-bp-seaweedfs"], ["prod-01-bp-nats-jetstream"], ["prod-01-bp-cnpg"]]);
  });

  it("exports per component the status, generation, desired hash and key — and no secret", () => {
    for (const [stack, text, cluster] of [
      ["dev", DEV, "dev-lab"],
      ["prod", PROD, "prod-01"],
    ]) {
      const run = runs.get(stack)!;
      const env = run.exports.environment as Record<string, Record<string, unknown>>;
      const profile = environmentProfile(validSpec(parseSpec(text))!)!;
      for (const c of ["storage", "broker", "vector"] as const) {
        assert.deepEqual(
          { ...env[c], adapter: undefined },
          {
            status: "pending",
            adapter: undefined,
            generation: null,
            desiredHash: profile[c].desiredHash,
            idempotencyKey: null,
            lastApply: null,
          },
        );
        const secret = environmentCredential(SEED, cluster, profile[c] as ComponentProfile);
        if (secret) {
          assert.ok(!JSON.stringify(run.exports).includes(secret), `${stack}: the ${c} credential is not exported`);
          assert.ok(!JSON.stringify(redact(run.resources.map((r) => r.inputs))).includes(secret), `${stack}: nor shown by plan --json`);
        }
      }
      assert.ok(!JSON.stringify(env).includes("__kubedosSecret"));
    }
  });

  it("serializes a provider that Pulumi's dynamic-provider host can load and run: create, no-change diff, update", async () => {
    const r = reconcilers(runs.get("dev")!)[0];
    // As @pulumi/pulumi/cmd/dynamic-provider does: requireFromString(props.__provider).handler().
    const provider = (
      require("require-from-string") as (code: string) => { handler(): Record<string, (...args: unknown[]) => Promise<unknown>> }
    )(r.inputs.__provider as string).handler();
    const dir = tmpDir("provider");
    try {
      const profile = structuredClone(r.inputs.profile) as ComponentProfile<"storage">;
      profile.adapter = { kind: "filesystem", root: path.join(dir, "object-storage") };
      const inputs: ReconcilerInputs = { component: "storage", node: r.inputs.node as string, profile, credential: "" };
      const created = (await provider.create(inputs)) as { id: string; outs: ReconcilerOutputs };
      assert.equal(created.id, "cp-1/storage");
      assert.equal(created.outs.status, "applied");
      assert.equal(created.outs.generation, 1);
      assert.ok(existsSync(path.join(dir, "object-storage", "dev-artifacts")));
      assert.ok(!("credential" in created.outs));
      assert.deepEqual(await provider.diff(created.id, created.outs, inputs), { changes: false, replaces: [], deleteBeforeReplace: false });
      const changed = { ...inputs, profile: { ...profile, desiredHash: "0".repeat(64) } };
      assert.equal(((await provider.diff(created.id, created.outs, changed)) as { changes: boolean }).changes, true);
      const updated = (await provider.update(created.id, created.outs, changed)) as { outs: ReconcilerOutputs };
      assert.equal(updated.outs.generation, 2);
      assert.equal(updated.outs.status, "in-sync");
      assert.notEqual(updated.outs.idempotencyKey, created.outs.idempotencyKey);
      await provider.delete(created.id, updated.outs);
      assert.ok(existsSync(path.join(dir, "object-storage", "dev-artifacts")), "delete never deletes");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
