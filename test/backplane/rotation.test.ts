/**
 * Staged rotation in the graph (components/backplane/rotation.ts): one chain of steps per plane,
 * in name order, each waiting for the one before; the plane commands wait for the chain.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nodePlaneKey } from "../../components/backplane/keys";
import { rotationOrder } from "../../components/backplane/rotation";
import { buildPlan } from "../../components/plan/plan";
import { nodeHostKey } from "../../components/secrets/derive";
import { validateSpecText } from "../../components/spec/validate";
import { planStack, type PlanResult } from "../../cli/commands/plan";
import { isSecretMarker, type RecordedResource } from "../../cli/engine/harness";
import { readFileSync } from "node:fs";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const SEED = "kubedos-rotation-test-seed-0001";
const EPOCH = 4242;

function withEnv<T>(env: Record<string, string>, fn: () => Promise<T>): Promise<T> {
  const saved = Object.fromEntries(Object.keys(env).map((k) => [k, process.env[k]]));
  Object.assign(process.env, env);
  return fn().finally(() => {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  });
}

const unwrap = (v: unknown): unknown => (isSecretMarker(v) ? v.value : v);

describe("components/backplane/rotation (staged key rotation in the graph)", function () {
  this.timeout(60_000);
  let res: PlanResult;
  const plan = buildPlan(validateSpecText(readFileSync(path.join(ROOT, "stacks/dev/cluster.yaml"), "utf8"), "dev").spec!);
  const byName = () => new Map(res.run.resources.map((r) => [r.name, r]));
  const step = (plane: string, node: string): RecordedResource => byName().get(`${plan.cluster.name}-${plane}-rotate-${node}`)!;

  before(async () => {
    res = await withEnv({ KUBEDOS_MASTER_SEED: SEED, KUBEDOS_WG_EPOCH: String(EPOCH) }, () => planStack({ stack: "dev" }));
    assert.equal(res.run.error, undefined, res.run.error?.message);
  });

  it("chains one step per node and plane in name order, each waiting for the one before", () => {
    const order = rotationOrder(plan);
    assert.deepEqual(order, [...plan.nodes.map((n) => n.name)].sort());
    for (const p of plan.planes) {
      order.forEach((node, i) => {
        const s = step(p.name, node);
        assert.ok(s, `no rotation step for ${node} on ${p.name}`);
        assert.equal(s.type, "command:local:Command");
        if (i > 0) assert.ok(s.dependencies.includes(step(p.name, order[i - 1]).urn), `${s.name} does not wait for ${order[i - 1]}`);
        assert.deepEqual(s.inputs.triggers, [EPOCH]);
      });
    }
  });

  it("makes every plane command wait for the last step of its plane's chain", () => {
    const last = rotationOrder(plan).slice(-1)[0];
    for (const n of plan.nodes) {
      for (const p of plan.planes) {
        const cmd = byName().get(`${plan.cluster.name}-${n.name}-${p.name}`)!;
        assert.ok(cmd.dependencies.includes(step(p.name, last).urn), `${cmd.name} does not wait for the rotation of ${p.name}`);
      }
    }
  });

  it("keeps the new private key and the SSH key out of the script, and hides the step's output", () => {
    const s = step("wg1", "cp-1");
    const script = String(unwrap(s.inputs.create));
    const key = nodePlaneKey(SEED, plan.cluster.name, "wg1", "cp-1", EPOCH);
    assert.ok(!script.includes(key.privateKey), "private key in the command text");
    assert.ok(script.includes(key.publicKey), "the new public key is not announced to the peers");
    assert.equal(unwrap(s.inputs.stdin), key.privateKey);
    assert.ok(isSecretMarker(s.inputs.stdin), "the new private key is not a secret input");
    assert.equal(s.inputs.logging, "none");
    for (const out of ["stdout", "stderr", "stdin", "environment"]) assert.ok(s.additionalSecretOutputs.includes(out), out);
  });

  it("pins every node's host key and orders the step: peers learn, node switches, peers drop the old key", () => {
    const script = String(unwrap(step("wg2", "w-2").inputs.create));
    for (const n of plan.nodes)
      assert.ok(script.includes(nodeHostKey(SEED, plan.cluster.name, n.name).publicKey.split(" ").slice(0, 2).join(" ")), n.name);
    const learn = script.indexOf("# 1.");
    const sw = script.indexOf("# 2.");
    const drop = script.indexOf("# 3.");
    assert.ok(learn > 0 && learn < sw && sw < drop, "steps out of order");
    assert.match(script, /StrictHostKeyChecking=yes/);
    // Every peer is listed once, and the learn/drop loops run over that list.
    const peers = script.split("<<'KUBEDOS_PEERS_EOF'\n")[1].split("\nKUBEDOS_PEERS_EOF")[0].split("\n");
    assert.equal(peers.length, plan.nodes.length - 1, "every peer learns the key");
    assert.match(script, /while read -r target port; do ssh_ "\$target" "\$port" sudo wg set wg2 peer \S+ endpoint /);
  });

  it("passes shellcheck when the step's script is checked", function () {
    if (spawnSync("shellcheck", ["--version"]).error) {
      if (process.env.CI === "true") assert.fail("shellcheck is missing (Debian package shellcheck)");
      this.skip();
    }
    const dir = mkdtempSync(path.join(os.tmpdir(), "kubedos-rotation-"));
    try {
      const f = path.join(dir, "step.sh");
      writeFileSync(f, `#!/bin/bash\n${String(unwrap(step("wg3", "cp-2").inputs.create))}\n`);
      const r = spawnSync("shellcheck", ["-s", "bash", f], { encoding: "utf8" });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
