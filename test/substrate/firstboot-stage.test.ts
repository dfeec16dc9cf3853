/**
 * Stage 2 in the Pulumi graph (components/firstboot/apply.ts) on the substrates that boot with
 * cloud-init: one readiness command per node, behind the Stage 1 barrier, connecting with the host
 * key derived from the master seed — the same key the machine's cloud-init installs. The seed is
 * set through KUBEDOS_MASTER_SEED, which the harness uses instead of its offline placeholder.
 */
import { strict as assert } from "node:assert";
import { parse } from "yaml";
import type { PlanResult } from "../../cli/commands/plan";
import { stageOf } from "../../cli/engine/graph";
import { OFFLINE_PLACEHOLDER_SEED, type RecordedResource } from "../../cli/engine/harness";
import { NODE_PATHS } from "../../components/firstboot";
import type { Plan } from "../../components/plan/plan";
import { nodeHostKey } from "../../components/secrets/derive";
import {
  COMMAND_TYPE,
  connectionOf,
  descendants,
  DEV,
  HETZNER,
  named,
  plan,
  requireTool,
  secretValue,
  shellcheck,
  SNIPPET_TYPE,
  specAndPlan,
  stageUrn,
  VM_TYPE,
  type Json,
} from "./helpers";

/** Public and fixed: the seed these tests derive host keys from. It protects nothing. */
const TEST_SEED = "kubedos-substrate-test-seed-0001";

interface Fixture {
  label: string;
  args: { stack?: string; spec?: string };
  text: string;
  machineType: string;
  /** The cloud-init user data a machine carries. */
  userData: (run: PlanResult["run"], cluster: string, node: string) => string;
}

const FIXTURES: Fixture[] = [
  {
    label: "dev (Proxmox)",
    args: { stack: "dev" },
    text: DEV,
    machineType: VM_TYPE,
    userData: (run, cluster, node) =>
      secretValue((named(run, `${cluster}-${node}-user-data`, SNIPPET_TYPE).inputs.sourceRaw as Json).data, `${node} snippet`),
  },
  {
    label: "hetzner",
    args: { spec: "test/fixtures/hetzner.yaml" },
    text: HETZNER,
    machineType: "hcloud:index/server:Server",
    userData: (run, cluster, node) =>
      secretValue(named(run, `${cluster}-${node}`, "hcloud:index/server:Server").inputs.userData, `${node} userData`),
  },
];

describe("components/firstboot/apply (Stage 2 in the graph)", function () {
  this.timeout(30_000);
  let savedSeed: string | undefined;
  before(() => {
    savedSeed = process.env.KUBEDOS_MASTER_SEED;
    process.env.KUBEDOS_MASTER_SEED = TEST_SEED;
  });
  after(() => {
    if (savedSeed === undefined) delete process.env.KUBEDOS_MASTER_SEED;
    else process.env.KUBEDOS_MASTER_SEED = savedSeed;
  });

  for (const fx of FIXTURES) {
    describe(`for ${fx.label}`, () => {
      let res: PlanResult;
      let p: Plan;
      const cmdOf = (node: string): RecordedResource => named(res.run, `${p.cluster.name}-${node}-firstboot`, COMMAND_TYPE);
      const machineOf = (node: string): RecordedResource => named(res.run, `${p.cluster.name}-${node}`, fx.machineType);
      /** Every resource `urn` waits for, directly or through others (stage gates included). */
      const transitiveDependencies = (urn: string): Set<string> => {
        const byUrn = new Map(res.run.resources.map((r) => [r.urn, r]));
        const seen = new Set<string>();
        const todo = [...(byUrn.get(urn)?.dependencies ?? [])];
        while (todo.length > 0) {
          const u = todo.pop()!;
          if (seen.has(u)) continue;
          seen.add(u);
          todo.push(...(byUrn.get(u)?.dependencies ?? []));
        }
        return seen;
      };

      before(async () => {
        res = await plan(fx.args);
        p = specAndPlan(fx.text).plan;
      });

      it("registers exactly one firstboot command per node under <cluster>-stage2-firstboot when the program runs", () => {
        const stage2 = stageUrn(res.run, `${p.cluster.name}-stage2-firstboot`);
        const children = descendants(res.run, stage2);
        assert.deepEqual(children.map((c) => c.name).sort(), p.nodes.map((n) => `${p.cluster.name}-${n.name}-firstboot`).sort());
        for (const c of children) {
          assert.equal(c.type, COMMAND_TYPE);
          assert.equal(c.parent, stage2);
        }
      });

      it("makes each command wait for its own machine and for every Stage 1 resource when the stage barrier holds", () => {
        const stage1 = descendants(res.run, stageUrn(res.run, `${p.cluster.name}-stage1-substrate`)).filter((r) => r.custom);
        assert.ok(stage1.length >= p.nodes.length);
        for (const n of p.nodes) {
          const cmd = cmdOf(n.name);
          const machine = machineOf(n.name);
          assert.ok(cmd.dependencies.includes(machine.urn), `${cmd.name} does not wait for ${machine.name}`);
          // The barrier is transitive: the command waits for Stage 1's gate, which waits for all of Stage 1.
          const waits = transitiveDependencies(cmd.urn);
          const missing = stage1.filter((r) => !waits.has(r.urn)).map((r) => r.name);
          assert.deepEqual(missing, [], `${cmd.name} can start before these Stage 1 resources exist`);
        }
      });

      it("pins nodeHostKey(KUBEDOS_MASTER_SEED, cluster, node) on every connection when the seed is set", () => {
        for (const n of p.nodes) {
          const conn = connectionOf(cmdOf(n.name));
          const key = nodeHostKey(TEST_SEED, p.cluster.name, n.name);
          assert.equal(conn.hostKey, key.publicKey, `${n.name} pins another key`);
          assert.notEqual(conn.hostKey, nodeHostKey(OFFLINE_PLACEHOLDER_SEED, p.cluster.name, n.name).publicKey, "placeholder seed used");
          assert.equal(conn.port, 22);
          assert.equal(conn.user, p.ssh.allowUsers[0]);
          assert.equal(typeof conn.privateKey, "string");
        }
      });

      it("pins the very key pair the machine's cloud-init installs when the machine boots", () => {
        for (const n of p.nodes) {
          const ud = parse(fx.userData(res.run, p.cluster.name, n.name)) as Json;
          const key = nodeHostKey(TEST_SEED, p.cluster.name, n.name);
          assert.equal(ud.ssh_keys.ed25519_public, connectionOf(cmdOf(n.name)).hostKey, `${n.name} public key`);
          assert.equal(ud.ssh_keys.ed25519_private, key.privateKey, `${n.name} private key is not the derived one`);
        }
      });

      it("connects to the address the substrate gives the node when Stage 2 reaches it", () => {
        for (const n of p.nodes) {
          const cmd = cmdOf(n.name);
          if (fx.machineType === VM_TYPE) assert.equal(connectionOf(cmd).host, n.uplink!.address, `${n.name} host`);
          // Hetzner: the server's public IPv4, known only after it exists (absent under the mocks).
          else assert.deepEqual(cmd.propertyDependencies.connection, [machineOf(n.name).urn], `${n.name} host comes from another resource`);
        }
      });

      it("waits for the readiness marker in a `shellcheck -s bash`-clean script when the command runs", async function () {
        const sc = requireTool(this, "shellcheck");
        const scripts = new Set<string>();
        for (const n of p.nodes) {
          const cmd = cmdOf(n.name);
          assert.equal(typeof cmd.inputs.create, "string");
          assert.equal(cmd.inputs.update, cmd.inputs.create, `${n.name} update differs from create`);
          assert.ok(String(cmd.inputs.create).includes(NODE_PATHS.ready), `${n.name} does not check ${NODE_PATHS.ready}`);
          scripts.add(String(cmd.inputs.create));
        }
        for (const s of scripts) assert.equal(await shellcheck(sc, s), "");
      });

      it("runs its critical path through Stage 1 into a firstboot command, at least 3 steps long, when the plan is computed", () => {
        // Later stages (3+) may extend the path; the part inside Stages 1–2 must end at firstboot.
        const byUrn = new Map(res.run.resources.map((r) => [r.urn, r]));
        // Stage gates (command:local) are barriers, not work: leave them out of the path's steps.
        const steps = res.criticalPath.map((u) => byUrn.get(u)!).filter((r) => !r.name.endsWith("-gate"));
        const upTo2 = steps.filter((r) => (stageOf(r, byUrn)?.index ?? 99) <= 2);
        assert.ok(upTo2.length >= 3, `critical path within Stages 1–2: ${upTo2.map((r) => r.name).join(" → ")}`);
        const last = upTo2[upTo2.length - 1];
        assert.equal(last.type, COMMAND_TYPE);
        assert.match(last.name, /-firstboot$/, `Stages 1–2 of the critical path end at ${last.name}`);
        assert.deepEqual(steps.slice(0, upTo2.length), upTo2, "the critical path leaves Stage 2 and comes back");
        assert.equal(stageOf(upTo2[0], byUrn)?.index, 1, `the critical path starts at ${upTo2[0].name}, not in Stage 1`);
        const node = last.name.slice(`${p.cluster.name}-`.length, -"-firstboot".length);
        if (fx.machineType === VM_TYPE) {
          assert.deepEqual(
            upTo2.slice(-3).map((r) => r.name),
            [`${p.cluster.name}-${node}-user-data`, `${p.cluster.name}-${node}`, `${p.cluster.name}-${node}-firstboot`],
            "the path does not run snippet → VM → firstboot",
          );
        }
      });
    });
  }
});
