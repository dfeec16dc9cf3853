/**
 * Whole-stack tests under the in-process mock engine (cli/engine/harness.ts): the real compiled
 * program (dist/stacks/index.js) for the dev and prod stacks and the Hetzner and bare-metal
 * fixtures, the seed example (which Stage 1 refuses: it lacks the facts VMs need), plus tiny
 * throwaway programs that pin down what the harness records (options, dependencies, secrets).
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { planJson, planStack, type PlanResult } from "../../cli/commands/plan";
import { validateFile, validationReport } from "../../cli/commands/validate";
import { criticalPath, stageOf } from "../../cli/engine/graph";
import { runStack, type RecordedResource, type StackRun } from "../../cli/engine/harness";
import { buildPlan } from "../../components/plan/plan";
import { formatDiagnostic } from "../../components/spec/diagnostics";
import { check, DEV, readRepo, repoPath } from "../plan/helpers";

const STACK_TYPE = "pulumi:pulumi:Stack";
const CLUSTER_TYPE = "kubedos:cluster:Cluster";
const STAGE_TYPE = "kubedos:cluster:Stage";
const STAGE_KEYS = ["spec", "substrate", "firstboot", "backplane", "enrollment", "converge", "kubernetes", "seal"];
const COMMAND_TYPE = "command:remote:Command";
/** The machine (and per-node companion) resource types Stage 1 builds, per substrate. */
const SUBSTRATE_NODE_TYPES: Record<string, string[]> = {
  proxmox: ["proxmoxve:index/vmLegacy:VmLegacy", "proxmoxve:index/fileLegacy:FileLegacy"],
  hetzner: ["hcloud:index/server:Server"],
  baremetal: [],
};
const STACK_TRACE = /\n\s+at .+[:(]\d+:\d+\)?/;

let tmp: string | undefined;
const tmpDir = (): string => (tmp ??= mkdtempSync(path.join(os.tmpdir(), "kubedos-harness-test-")));

/** Write a file into the test's temp dir and return its absolute path. */
function tmpFile(name: string, text: string): string {
  const f = path.join(tmpDir(), name);
  writeFileSync(f, text);
  return f;
}

/** The dev spec with one YAML edit (comments and layout kept, so positions stay real). */
function devWith(pathInDoc: Array<string | number>, value: unknown): string {
  const doc = parseDocument(DEV);
  doc.setIn(pathInDoc, value);
  return doc.toString();
}

/** JSON snapshot of the recorded graph (to compare runs). */
const graphOf = (run: StackRun) => JSON.parse(JSON.stringify({ resources: run.resources, exports: run.exports }));

const STACKS: Array<{ label: string; args: { stack?: string; spec?: string }; specFile: string; stackName: string }> = [
  { label: "dev", args: { stack: "dev" }, specFile: "stacks/dev/cluster.yaml", stackName: "dev" },
  { label: "prod", args: { stack: "prod" }, specFile: "stacks/prod/cluster.yaml", stackName: "prod" },
  {
    label: "the Hetzner fixture",
    args: { spec: repoPath("test", "fixtures", "hetzner.yaml") },
    specFile: "test/fixtures/hetzner.yaml",
    stackName: "hetzner",
  },
  {
    label: "the bare-metal fixture",
    args: { spec: repoPath("test", "fixtures", "baremetal.yaml") },
    specFile: "test/fixtures/baremetal.yaml",
    stackName: "baremetal",
  },
];

/** The seed §15.2 example: valid (warnings only), but without the template, hosts and underlay Stage 1 needs. */
const SEED = {
  args: { spec: repoPath("test", "fixtures", "seed-15.2.yaml") },
  specFile: "test/fixtures/seed-15.2.yaml",
  stackName: "seed-15.2",
};
const SEED_NODES: Array<[node: string, failureDomain: string]> = [
  ["cp-1", "rack-a"],
  ["cp-2", "rack-b"],
  ["cp-3", "rack-a"],
  ["w-1", "rack-a"],
];

/** The index of the Stage a resource belongs to (cli/engine/graph.ts stageOf: its Stage ancestor, or the Stage a gate closes). */
function stageIndexOf(resources: RecordedResource[], urn: string | undefined): number | undefined {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const r = urn === undefined ? undefined : byUrn.get(urn);
  return r ? stageOf(r, byUrn)?.index : undefined;
}

/** Every URN `urn` waits for, directly or through other resources. */
function waitsFor(resources: RecordedResource[], urn: string): Set<string> {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const seen = new Set<string>();
  const stack = [...(byUrn.get(urn)?.dependencies ?? [])];
  while (stack.length > 0) {
    const d = stack.pop()!;
    if (seen.has(d)) continue;
    seen.add(d);
    stack.push(...(byUrn.get(d)?.dependencies ?? []));
  }
  return seen;
}

describe("cli/engine/harness", () => {
  after(() => {
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  describe("runStack (the real program under the mock engine)", () => {
    const results = new Map<string, PlanResult>();
    const snapshots = new Map<string, unknown>();

    before(async () => {
      // One after the other in one process, as `npx mocha` runs them.
      for (const s of [...STACKS, { ...SEED, label: "seed" }]) {
        const res = await planStack(s.args);
        results.set(s.label, res);
        snapshots.set(s.label, graphOf(res.run));
      }
    });

    for (const s of STACKS) {
      describe(`for ${s.label}`, () => {
        const res = () => results.get(s.label)!;
        const expectedPlan = () => {
          const r = check(readRepo(s.specFile));
          assert.ok(r.valid && r.spec);
          return buildPlan(r.spec);
        };

        it("runs without error when the spec is valid", () => {
          assert.equal(res().run.error, undefined, res().run.error?.message);
          assert.equal(res().run.stack, s.stackName);
        });

        it("registers exactly one Cluster, parented to the Stack, when the program runs", () => {
          const { resources } = res().run;
          const stacks = resources.filter((r) => r.type === STACK_TYPE);
          const clusters = resources.filter((r) => r.type === CLUSTER_TYPE);
          assert.equal(stacks.length, 1);
          assert.equal(stacks[0].parent, undefined);
          assert.equal(clusters.length, 1);
          assert.equal(clusters[0].parent, stacks[0].urn);
          assert.equal(clusters[0].name, expectedPlan().cluster.name);
          for (const r of resources) assert.ok(r.urn.startsWith(`urn:pulumi:${s.stackName}::kubedos::`), `foreign URN ${r.urn}`);
        });

        // Registration completes in dependency order, not construction order: a Stage that
        // depends on a Stage with resources is recorded after them. Stages are compared by index.
        const stagesByIndex = () =>
          res()
            .run.resources.filter((r) => r.type === STAGE_TYPE)
            .sort((a, b) => (a.outputs?.index as number) - (b.outputs?.index as number));

        it("registers 8 Stage children of the Cluster named <cluster>-stage<N>-<key> when the program runs", () => {
          const { resources } = res().run;
          const cluster = resources.find((r) => r.type === CLUSTER_TYPE)!;
          const stages = stagesByIndex();
          const name = expectedPlan().cluster.name;
          assert.deepEqual(
            stages.map((r) => r.name),
            STAGE_KEYS.map((k, i) => `${name}-stage${i}-${k}`),
          );
          for (const st of stages) assert.equal(st.parent, cluster.urn, `${st.name} is not a child of the Cluster`);
        });

        it("records index, key and title as the outputs of every Stage when the program runs", () => {
          const plan = expectedPlan();
          assert.deepEqual(
            stagesByIndex().map((r) => [r.outputs?.index, r.outputs?.key, r.outputs?.title]),
            plan.stages.map((p) => [p.index, p.key, p.title]),
          );
        });

        it("hangs the substrate's per-node resources under Stage 1 and one firstboot command per node under Stage 2", () => {
          const { resources } = res().run;
          const plan = expectedPlan();
          const custom = resources.filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"));
          for (const type of SUBSTRATE_NODE_TYPES[plan.substrate]) {
            const ofType = custom.filter((r) => r.type === type);
            assert.equal(ofType.length, plan.nodes.length, `one ${type} per node`);
            for (const r of ofType) assert.equal(stageIndexOf(resources, r.urn), 1, `${r.name} is not under Stage 1`);
          }
          const firstboot = custom.filter((r) => r.type === COMMAND_TYPE && stageIndexOf(resources, r.urn) === 2);
          assert.deepEqual(firstboot.map((r) => r.name).sort(), plan.nodes.map((n) => `${plan.cluster.name}-${n.name}-firstboot`).sort());
          // Every resource of the program belongs to a stage (a stage's gate to the stage it closes).
          assert.deepEqual(
            custom.filter((r) => stageIndexOf(resources, r.urn) === undefined).map((r) => `${r.type} ${r.name}`),
            [],
          );
        });

        it("keeps the Stage chain: a resource depends only on its own or earlier stages, and waits for everything of the earlier stages", () => {
          const { resources } = res().run;
          for (const r of resources) {
            const own = stageIndexOf(resources, r.urn);
            if (own === undefined) continue;
            for (const d of r.dependencies) {
              const dep = stageIndexOf(resources, d);
              assert.ok(dep !== undefined && dep <= own, `${r.name} (stage ${own}) depends on ${d} (stage ${dep})`);
            }
          }
          // The ordering guarantee itself (seed 001 §14.3): nothing of stage N starts before every
          // resource of the stages before it is done — through the gates or directly.
          const staged = resources
            .filter((r) => r.custom && !r.type.startsWith("pulumi:providers:"))
            .map((r) => ({ r, stage: stageIndexOf(resources, r.urn)! }));
          const gates = new Set(
            staged.filter(({ r }) => r.type === "command:local:Command" && r.name.endsWith("-gate")).map(({ r }) => r.urn),
          );
          for (const { r, stage } of staged) {
            if (gates.has(r.urn) || stage === 0) continue;
            const before = waitsFor(resources, r.urn);
            const missing = staged.filter((x) => x.stage < stage && !before.has(x.r.urn)).map((x) => x.r.name);
            assert.deepEqual(missing, [], `${r.name} (stage ${stage}) does not wait for these resources of earlier stages`);
          }
          // Stage 2 (firstboot) exists on every substrate, so the chain above is never vacuous.
          assert.ok(staged.some(({ r, stage }) => stage === 2 && !gates.has(r.urn)));
        });

        it("exports clusterName, nodes, stages, boundaries and specDigest equal to buildPlan's when the program runs", () => {
          const ex = res().run.exports as Record<string, unknown>;
          const plan = expectedPlan();
          assert.equal(ex.clusterName, plan.cluster.name);
          assert.equal(ex.specDigest, plan.specDigest);
          assert.deepEqual(ex.boundaries, plan.boundaries);
          assert.deepEqual(
            ex.nodes,
            plan.nodes.map((n) => ({
              name: n.name,
              role: n.role,
              failureDomain: n.failureDomain,
              ordinal: n.ordinal,
              vmid: n.vmid ?? null,
              placement: n.placement,
              uplink: n.uplink ?? null,
              addresses: n.addresses,
            })),
          );
          assert.deepEqual(
            (ex.stages as Array<{ index: number; key: string; title: string; enabled: boolean }>).map((x) => [
              x.index,
              x.key,
              x.title,
              x.enabled,
            ]),
            plan.stages.map((p) => [p.index, p.key, p.title, p.enabled]),
          );
          assert.deepEqual(
            ex.firstboot,
            plan.nodes.map((n) => n.name),
          );
          assert.equal(ex.substrate, plan.substrate);
          assert.deepEqual(
            (ex.nodeAccess as { nodes: Array<{ name: string }> }).nodes.map((n) => n.name),
            plan.nodes.map((n) => n.name),
          );
        });
      });
    }

    describe("for the seed fixture", () => {
      const res = () => results.get("seed")!;

      it("fails at Stage 1 with a RunError, without a stack trace, when the spec lacks a template, hosts and an underlay", () => {
        const err = res().run.error;
        assert.ok(err, "the seed fixture's program did not fail");
        assert.equal(err.isRunError, true);
        assert.equal(res().run.stack, SEED.stackName);
        assert.doesNotMatch(err.message, STACK_TRACE);
        assert.equal(err.message.split("\n")[0], "Stage 1 (Proxmox substrate) cannot place the VMs; the spec lacks:");
        assert.deepEqual(res().criticalPath, []);
        assert.equal(res().policy, undefined, "the policy pack ran on a failed program");
      });

      it("names substrate.proxmox.template, a Proxmox host and an underlay address for every node in the error", () => {
        const lines = res().run.error!.message.split("\n");
        const expected = [
          "  - substrate.proxmox.template or substrate.proxmox.image (what to clone or import)",
          ...SEED_NODES.map(([n, fd]) => `  - a Proxmox host for ${n} (substrate.proxmox.hosts with failureDomain ${fd})`),
          ...SEED_NODES.map(([n]) => `  - an uplink address for ${n} (networking.underlay)`),
        ];
        assert.deepEqual(lines.slice(1), expected);
      });

      it("passes Stage 0 first: logs validate's nine warnings and registers the Cluster and its 8 Stages, but no substrate resource", () => {
        const run = res().run;
        const v = check(readRepo(SEED.specFile), SEED.specFile);
        assert.deepEqual(v.errors, []);
        // Eight about what Stage 1 lacks and the seed's placeholders, and kubernetes-version: its
        // v1.30.x is end of life, with no version lock.
        assert.equal(v.warnings.length, 9);
        assert.ok(v.warnings.some((w) => w.rule === "kubernetes-version"));
        // As the program logs them: `kubedos validate`'s lines, with the path plan passes it.
        for (const w of v.warnings.map((d) => formatDiagnostic(SEED.specFile, d)))
          assert.ok(
            run.logs.some((l) => l.severity === "warn" && l.message === w),
            `warning not logged: ${w}`,
          );
        assert.equal(run.resources.filter((r) => r.type === CLUSTER_TYPE).length, 1);
        assert.equal(run.resources.filter((r) => r.type === STAGE_TYPE).length, 8);
        assert.deepEqual(
          run.resources.filter((r) => r.custom).map((r) => r.urn),
          [],
        );
      });
    });

    it("gives independent results when stacks run one after the other in one process", async () => {
      // dev ran first, then prod, the Hetzner and bare-metal fixtures and the seed; run dev again and compare.
      const again = await planStack({ stack: "dev" });
      assert.equal(again.run.error, undefined);
      assert.deepEqual(graphOf(again.run), snapshots.get("dev"), "a second dev run differs from the first");
      for (const label of [...STACKS.map((s) => s.label), "seed"])
        assert.deepEqual(graphOf(results.get(label)!.run), snapshots.get(label), `the ${label} result changed after later runs`);
      const prod = results.get("prod")!.run;
      assert.equal(new Set(prod.resources.map((r) => r.urn)).size, prod.resources.length, "a URN is recorded twice");
      assert.equal(prod.resources.filter((r) => r.type === STACK_TYPE).length, 1);
      assert.ok(!prod.logs.some((l) => l.message.includes("stacks/dev/")), "prod run carries dev's log lines");
      assert.ok(!prod.resources.some((r) => r.urn.includes("dev-lab")), "prod run carries dev's resources");
    });
  });

  describe("runStack with a failing or warning program", () => {
    it("returns a RunError with the validate lines when controlPlaneReplicas is 4", async () => {
      const text = devWith(["spec", "kubernetes", "ha", "controlPlaneReplicas"], 4);
      const file = tmpFile("ha4.yaml", text);
      const lines = text.split("\n");
      const line = lines.findIndex((l) => /controlPlaneReplicas: 4\b/.test(l)) + 1;
      const column = lines[line - 1].indexOf("4") + 1;
      assert.ok(line > 0);
      const res = await planStack({ spec: file });
      const err = res.run.error;
      assert.ok(err, "the run did not fail");
      assert.equal(err.isRunError, true);
      assert.doesNotMatch(err.message, STACK_TRACE);
      assert.deepEqual(res.criticalPath, []);
      // Exactly the error lines `kubedos validate FILE` prints for the same file.
      const v = validateFile(file);
      assert.equal(v.syntaxErrors.length, 0);
      const report = validationReport(v);
      const errorLines = report.slice(0, v.errors.length);
      assert.ok(errorLines.length >= 1);
      assert.deepEqual(err.message.split("\n").slice(1), errorLines, "the run error lists exactly validate's error lines");
      // Warnings reach the engine log in the same format.
      const warnLines = report.slice(v.errors.length + 2, v.errors.length + 2 + v.warnings.length);
      for (const w of warnLines)
        assert.ok(
          res.run.logs.some((l) => l.severity === "warn" && l.message === w),
          `warning not logged: ${w}`,
        );
      const esc = file.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      assert.match(
        err.message,
        new RegExp(`^${esc}:${line}:${column}  spec\\.kubernetes\\.ha\\.controlPlaneReplicas  \\[ha-quorum\\]  `, "m"),
      );
      // Nothing below the Stack is registered when Stage 0 fails.
      assert.deepEqual(
        res.run.resources.map((r) => r.type),
        [STACK_TYPE],
      );
    });

    it("runs the next stack normally when the previous run failed", async () => {
      const res = await planStack({ stack: "dev" });
      assert.equal(res.run.error, undefined);
      assert.equal(res.run.resources.filter((r) => r.type === STAGE_TYPE).length, 8);
    });

    it("returns a RunError naming the file when the spec cannot be read", async () => {
      const run = await runStack({ stack: "gone", config: { "kubedos:clusterSpec": path.join(tmpDir(), "missing.yaml") } });
      assert.equal(run.error?.isRunError, true);
      assert.match(run.error!.message, /missing\.yaml: cannot read the spec \(ENOENT\)/);
    });

    it("logs a warning that says allowDestroy is TRUE when allowDestroy is true", async () => {
      const file = tmpFile("destroy.yaml", devWith(["spec", "substrate", "allowDestroy"], true));
      const res = await planStack({ spec: file });
      assert.equal(res.run.error, undefined);
      const warns = res.run.logs.filter((l) => l.severity === "warn" && l.message.includes("allowDestroy is TRUE"));
      assert.equal(warns.length, 1, JSON.stringify(res.run.logs.filter((l) => l.severity === "warn")));
      assert.match(warns[0].message, /dev-lab/);
      assert.deepEqual((res.run.exports.boundaries as Record<string, boolean>).allowDestroy, true);
    });

    it("logs no allowDestroy warning when allowDestroy is false", async () => {
      const res = await planStack({ stack: "dev" });
      assert.ok(!res.run.logs.some((l) => l.message.includes("allowDestroy is TRUE")));
    });

    it("keeps a secret config value out of planJson when kubedos:masterSeed is a secret", async () => {
      const secret = "s3cr3t-master-seed-0d1f9a77c4";
      const run = await runStack({
        stack: "dev",
        config: { "kubedos:clusterSpec": "stacks/dev/cluster.yaml", "kubedos:masterSeed": secret },
        secretKeys: ["kubedos:masterSeed"],
      });
      assert.equal(run.error, undefined);
      const json = JSON.stringify(
        planJson({ run, specFile: repoPath("stacks", "dev", "cluster.yaml"), criticalPath: criticalPath(run.resources) }, "dev"),
      );
      assert.ok(!json.includes(secret), "planJson contains the secret");
      assert.ok(!json.includes("s3cr3t"), "planJson contains part of the secret");
    });
  });

  // ---------------------------------------------------------------- throwaway programs

  const PULUMI = require.resolve("@pulumi/pulumi");
  let programCount = 0;

  /** Write a CommonJS Pulumi program (the body sees `pulumi`) to a fresh file. */
  function program(body: string): string {
    return tmpFile(`program-${++programCount}.js`, `"use strict";\nconst pulumi = require(${JSON.stringify(PULUMI)});\n${body}\n`);
  }

  const byName = (run: StackRun, name: string): RecordedResource => {
    const r = run.resources.find((x) => x.name === name);
    assert.ok(r, `no resource ${name} recorded (have ${run.resources.map((x) => x.name).join(", ")})`);
    return r;
  };

  describe("runStack recording resource options", () => {
    it("records protect, retainOnDelete, ignoreChanges, additionalSecretOutputs and dependsOn when a program sets them", async () => {
      const file = program(`
module.exports = async () => {
  const a = new pulumi.CustomResource("test:index:Thing", "a", { x: 1 }, { protect: true, retainOnDelete: true, ignoreChanges: ["x"], additionalSecretOutputs: ["y"] });
  new pulumi.CustomResource("test:index:Thing", "b", { x: 2 }, { dependsOn: [a] });
  return {};
};`);
      const run = await runStack({ stack: "opts", config: {}, program: file });
      assert.equal(run.error, undefined, run.error?.message);
      const a = byName(run, "a");
      const b = byName(run, "b");
      assert.deepEqual(
        {
          custom: a.custom,
          type: a.type,
          protect: a.protect,
          retainOnDelete: a.retainOnDelete,
          ignoreChanges: a.ignoreChanges,
          additionalSecretOutputs: a.additionalSecretOutputs,
          dependencies: a.dependencies,
          inputs: a.inputs,
        },
        {
          custom: true,
          type: "test:index:Thing",
          protect: true,
          retainOnDelete: true,
          ignoreChanges: ["x"],
          additionalSecretOutputs: ["y"],
          dependencies: [],
          inputs: { x: 1 },
        },
      );
      assert.deepEqual(
        { protect: b.protect, retainOnDelete: b.retainOnDelete, ignoreChanges: b.ignoreChanges, dependencies: b.dependencies },
        { protect: false, retainOnDelete: false, ignoreChanges: [], dependencies: [a.urn] },
      );
      assert.equal(b.parent, run.resources.find((r) => r.type === STACK_TYPE)!.urn);
      assert.deepEqual(criticalPath(run.resources), [a.urn, b.urn], "critical path is the a → b chain, first to run first");
    });

    it("records the component's custom children as the dependencies when a resource dependsOn a component", async () => {
      // The SDK expands a dependsOn on a component into its custom descendants; the Stage barrier
      // (components/stage.ts childOpts) relies on exactly this expansion.
      const file = program(`
module.exports = async () => {
  const comp = new pulumi.ComponentResource("test:index:Group", "g", {}, {});
  new pulumi.CustomResource("test:index:Thing", "c1", { x: 1 }, { parent: comp });
  new pulumi.CustomResource("test:index:Thing", "c2", { x: 2 }, { parent: comp });
  comp.registerOutputs({});
  new pulumi.CustomResource("test:index:Thing", "d", { x: 3 }, { dependsOn: [comp] });
  return {};
};`);
      const run = await runStack({ stack: "comp", config: {}, program: file });
      assert.equal(run.error, undefined, run.error?.message);
      const g = byName(run, "g");
      const c1 = byName(run, "c1");
      const c2 = byName(run, "c2");
      const d = byName(run, "d");
      assert.equal(g.custom, false);
      assert.equal(c1.parent, g.urn);
      assert.equal(c2.parent, g.urn);
      assert.deepEqual([...d.dependencies].sort(), [c1.urn, c2.urn].sort());
      assert.ok(!d.dependencies.includes(g.urn), "the component itself is not a dependency");
      assert.equal(criticalPath(run.resources).length, 2);
      assert.equal(criticalPath(run.resources)[1], d.urn);
    });

    describe("with secrets (config, inputs, exports)", () => {
      const seed = "s3cr3t-seed-value-7f41";
      const literal = "hunter2-literal-9c3e";
      type Out = {
        resources: Array<{ name: string; inputs: Record<string, unknown> }>;
        exports: Record<string, unknown>;
        logs: Array<{ severity: string; message: string }>;
      };
      let out: Out;
      before(async () => {
        const file = program(`
module.exports = async () => {
  const cfg = new pulumi.Config("kubedos");
  new pulumi.CustomResource("test:index:Key", "k", { seed: cfg.requireSecret("masterSeed"), other: pulumi.secret(${JSON.stringify(literal)}), plain: "visible" });
  return { seed: cfg.requireSecret("masterSeed"), plain: "p" };
};`);
        const run = await runStack({
          stack: "sec",
          config: { "kubedos:masterSeed": seed },
          secretKeys: ["kubedos:masterSeed"],
          program: file,
        });
        assert.equal(run.error, undefined, run.error?.message);
        out = planJson({ run, specFile: file, criticalPath: criticalPath(run.resources) }) as Out;
      });

      it("redacts secret resource inputs in planJson when a resource takes a secret", () => {
        assert.deepEqual(out.resources.find((r) => r.name === "k")!.inputs, { seed: "[secret]", other: "[secret]", plain: "visible" });
      });

      it("redacts a secret stack export in planJson when the program exports a secret", () => {
        assert.deepEqual(out.exports, { seed: "[secret]", plain: "p" });
      });

      it("keeps secret values out of planJson.logs when a resource takes a secret", () => {
        const leaks = out.logs
          .filter((l) => l.message.includes(seed) || l.message.includes(literal))
          .map((l) => `${l.severity}: ${l.message}`);
        assert.deepEqual(leaks, [], "planJson.logs carries secret values");
      });

      it("has no secret value anywhere in the planJson document when secrets are used", () => {
        const json = JSON.stringify(out);
        assert.ok(!json.includes(seed) && !json.includes(literal), "planJson contains a secret value");
      });
    });

    it("re-runs a custom program when the same file is run twice", async () => {
      const file = program(`
new pulumi.CustomResource("test:index:Thing", "only", { x: 1 });
module.exports = async () => ({});`);
      const first = await runStack({ stack: "twice", config: {}, program: file });
      const second = await runStack({ stack: "twice", config: {}, program: file });
      assert.deepEqual(
        first.resources.map((r) => r.name),
        ["kubedos-twice", "only"],
      );
      assert.deepEqual(
        second.resources.map((r) => r.name),
        first.resources.map((r) => r.name),
        "the second run of the same program registered a different graph (module cached between runs)",
      );
    });

    it("records the exports when the program exports an object instead of a function", async () => {
      // Pulumi's nodejs host uses a CommonJS program's exports as the stack outputs.
      const file = program(`
new pulumi.CustomResource("test:index:Thing", "t", { x: 1 });
exports.answer = 42;
exports.name = pulumi.output("thing");`);
      const run = await runStack({ stack: "named", config: {}, program: file });
      assert.equal(run.error, undefined, run.error?.message);
      assert.deepEqual(run.exports, { answer: 42, name: "thing" });
    });
  });
});
