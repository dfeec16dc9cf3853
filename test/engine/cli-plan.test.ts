/**
 * `kubedos plan` as a user runs it: the real bin/kubedos.js in a child process, from the
 * repository root. Every command runs once, in parallel, before the assertions.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { DEV } from "../plan/helpers";
import { runAll, type CliResult } from "../support/cli";

type Result = CliResult;

const STACK_TRACE = /^\s+at .+[:(]\d+:\d+\)?$/m;

/** One line for assertion messages. */
const show = (r: Result) =>
  `kubedos ${r.args.join(" ")} → exit ${r.code}\n--- stdout:\n${r.stdout.slice(0, 2000)}\n--- stderr:\n${r.stderr.slice(0, 2000)}`;

describe("kubedos plan (CLI)", function () {
  this.timeout(60_000);
  let tmp: string;
  let invalid: string;
  let runs: Map<string, Result>;
  const get = (k: string): Result => {
    const r = runs.get(k);
    assert.ok(r, `command ${k} did not run`);
    return r;
  };

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "kubedos-cli-test-"));
    const doc = parseDocument(DEV);
    doc.setIn(["spec", "kubernetes", "ha", "controlPlaneReplicas"], 4);
    invalid = path.join(tmp, "ha4.yaml");
    writeFileSync(invalid, doc.toString());
    runs = await runAll({
      dev: ["plan", "--stack", "dev"],
      prod: ["plan", "--stack", "prod"],
      devJson: ["plan", "--stack", "dev", "--json"],
      prodJson: ["plan", "--stack", "prod", "--json"],
      hetzner: ["plan", "--spec", "test/fixtures/hetzner.yaml"],
      baremetal: ["plan", "--spec", "test/fixtures/baremetal.yaml"],
      seed: ["plan", "--spec", "test/fixtures/seed-15.2.yaml"],
      seedJson: ["plan", "--spec", "test/fixtures/seed-15.2.yaml", "--json"],
      validateSeed: ["validate", "test/fixtures/seed-15.2.yaml"],
      nope: ["plan", "--stack", "nope"],
      invalid: ["plan", "--spec", invalid],
      invalidJson: ["plan", "--spec", invalid, "--json"],
      validateInvalid: ["validate", invalid],
      neither: ["plan"],
      missing: ["plan", "--spec", "test/fixtures/does-not-exist.yaml"],
    });
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  // prod makes image-digests mandatory (policy/config/prod.json) and the locks hold no digests
  // (they cannot be resolved offline), so prod's plan exits 1 — on those violations only.
  const human: Array<[key: string, label: string, cluster: string, exit: number]> = [
    ["dev", "--stack dev", "dev-lab", 0],
    ["prod", "--stack prod", "prod-01", 1],
    ["hetzner", "--spec test/fixtures/hetzner.yaml", "hz-01", 0],
    ["baremetal", "--spec test/fixtures/baremetal.yaml", "metal-01", 0],
  ];
  for (const [key, label, cluster, exit] of human) {
    it(`prints the graph by stage and the longest chain with exit ${exit} when run as plan ${label}`, () => {
      const r = get(key);
      assert.equal(r.code, exit, show(r));
      if (exit === 1) {
        const mandatory = r.stdout.split("\n").filter((l) => l.startsWith("[mandatory] "));
        assert.ok(mandatory.length > 0, show(r));
        for (const l of mandatory)
          assert.match(l, /^\[mandatory\] image-digests {2}\S+ \(kubernetes:helm\.sh\/v3:Release\) .* must pin image \S+:\S+ at /, l);
      }
      assert.match(r.stdout, /^resources by stage:$/m, show(r));
      assert.ok(r.stdout.includes("Stage 0 — Spec Validation"), show(r));
      assert.ok(r.stdout.includes("Stage 7 — Seal + Emit"), show(r));
      assert.match(r.stdout, /^longest dependency chain \(\d+\)/m, show(r));
      assert.match(r.stdout, new RegExp(`^cluster ${cluster}  sha256:[0-9a-f]{64}$`, "m"), show(r));
      assert.doesNotMatch(r.stdout + r.stderr, STACK_TRACE, show(r));
    });
  }

  it("prints the dev stack's warning and node addresses when run as plan --stack dev", () => {
    const r = get("dev");
    assert.match(
      r.stdout,
      /^warning: stacks\/dev\/cluster\.yaml:\d+:\d+  spec\.nodes\.failureDomains  \[failure-domain-quorum\]/m,
      show(r),
    );
    assert.match(
      r.stdout,
      /^ {2}cp-1 +control-plane +rack-a +on pve-a2 +vmid 3079 {2}uplink 10\.10\.110\.89 {2}wg1=10\.111\.0\.89 wg2=10\.112\.0\.89 wg3=10\.113\.0\.89$/m,
      show(r),
    );
  });

  const json: Array<[key: string, stack: string, nodes: number, exit: number]> = [
    ["devJson", "dev", 6, 0],
    ["prodJson", "prod", 9, 1],
  ];
  for (const [key, stack, nodes, exit] of json) {
    it(`writes exactly one JSON document with stack, resources, criticalPath and exports when run with --json for ${stack}`, () => {
      const r = get(key);
      assert.equal(r.code, exit, show(r));
      let doc: Record<string, unknown>;
      try {
        doc = JSON.parse(r.stdout) as Record<string, unknown>;
      } catch (err) {
        assert.fail(`stdout is not one JSON document: ${(err as Error).message}\n${show(r)}`);
      }
      assert.equal(doc.stack, stack);
      assert.ok(Array.isArray(doc.resources) && doc.resources.length >= 10);
      for (const res of doc.resources as Array<Record<string, unknown>>) {
        for (const k of ["urn", "type", "name", "parent", "dependencies", "protect", "retainOnDelete"])
          assert.ok(k in res, `resource ${String(res.urn)} lacks ${k}`);
        assert.equal(typeof res.urn, "string");
        assert.ok(res.parent === null || typeof res.parent === "string");
        assert.ok(Array.isArray(res.dependencies));
        assert.equal(typeof res.protect, "boolean");
        assert.equal(typeof res.retainOnDelete, "boolean");
      }
      assert.ok(Array.isArray(doc.criticalPath));
      const ex = doc.exports as { clusterName: string; nodes: unknown[]; stages: unknown[]; specDigest: string };
      assert.equal(ex.nodes.length, nodes);
      assert.equal(ex.stages.length, 8);
      assert.match(ex.specDigest, /^sha256:[0-9a-f]{64}$/);
      // The only stderr line a failing plan prints is the count of mandatory violations.
      if (exit === 0) assert.equal(r.stderr, "", show(r));
      else assert.match(r.stderr, /^kubedos plan: \d+ mandatory policy violation\(s\)\n$/, show(r));
    });
  }

  it("exits 2 naming the missing Pulumi.nope.yaml when the stack does not exist", () => {
    const r = get("nope");
    assert.equal(r.code, 2, show(r));
    assert.ok(r.stderr.includes("Pulumi.nope.yaml"), show(r));
    assert.equal(r.stdout, "");
    assert.doesNotMatch(r.stderr, STACK_TRACE, show(r));
  });

  it("exits 1 with the same lines as kubedos validate when the spec is invalid", () => {
    const r = get("invalid");
    const v = get("validateInvalid");
    assert.equal(r.code, 1, show(r));
    assert.equal(v.code, 1, show(v));
    assert.equal(r.stdout, "", show(r));
    assert.equal(r.stderr, v.stderr, "plan's report differs from validate's");
    assert.match(r.stderr, /^\S+ha4\.yaml:\d+:\d+ {2}spec\.kubernetes\.ha\.controlPlaneReplicas {2}\[ha-quorum\] {2}\S/m, show(r));
    assert.doesNotMatch(r.stderr, STACK_TRACE, show(r));
  });

  it("exits 1 with a valid:false JSON document when the spec is invalid and --json is given", () => {
    const r = get("invalidJson");
    assert.equal(r.code, 1, show(r));
    const doc = JSON.parse(r.stdout) as { valid: boolean; errors: Array<{ rule: string }> };
    assert.equal(doc.valid, false);
    assert.ok(
      doc.errors.some((e) => e.rule === "ha-quorum"),
      show(r),
    );
  });

  it("exits 1 naming what Stage 1 lacks when run as plan --spec on the seed §15.2 example, which validate accepts", () => {
    const v = get("validateSeed");
    assert.equal(v.code, 0, show(v));
    assert.match(v.stdout, /seed-15\.2\.yaml: valid \(0 error\(s\), 9 warning\(s\)\)$/m, show(v));
    const r = get("seed");
    assert.equal(r.code, 1, show(r));
    assert.equal(r.stdout, "", show(r));
    // Stage 0's warnings come first (they explain the failure), then the failure itself.
    const all = r.stderr.split("\n");
    assert.ok(all.filter((l) => l.startsWith("warning: ")).length >= 3, show(r));
    const lines = all.slice(all.indexOf("kubedos plan: the program failed:"));
    assert.deepEqual(lines.slice(0, 3), [
      "kubedos plan: the program failed:",
      "Stage 1 (Proxmox substrate) cannot place the VMs; the spec lacks:",
      "  - substrate.proxmox.template or substrate.proxmox.image (what to clone or import)",
    ]);
    for (const n of ["cp-1", "cp-2", "cp-3", "w-1"]) {
      assert.ok(
        lines.some((l) => l.startsWith(`  - a Proxmox host for ${n} (substrate.proxmox.hosts`)),
        show(r),
      );
      assert.ok(lines.includes(`  - an uplink address for ${n} (networking.underlay)`), show(r));
    }
    assert.doesNotMatch(r.stderr, STACK_TRACE, show(r));
  });

  it("exits 1 with valid:true and the program's error in the JSON document when the seed example fails at Stage 1", () => {
    const r = get("seedJson");
    assert.equal(r.code, 1, show(r));
    const doc = JSON.parse(r.stdout) as { valid: boolean; error: string | null; policy: unknown };
    assert.equal(doc.valid, true);
    assert.match(String(doc.error), /^Stage 1 \(Proxmox substrate\) cannot place the VMs; the spec lacks:\n/);
    assert.equal(doc.policy, null);
  });

  for (const [key, what] of [
    ["neither", "neither --stack nor --spec is given"],
    ["missing", "the --spec file does not exist"],
  ] as const) {
    it(`exits 2 with a usage message when ${what}`, () => {
      const r = get(key);
      assert.equal(r.code, 2, show(r));
      assert.match(r.stderr, /^kubedos: /, show(r));
      assert.equal(r.stdout, "");
      assert.doesNotMatch(r.stderr, STACK_TRACE, show(r));
    });
  }

  it("prints no stack trace when any of the commands runs", () => {
    for (const r of runs.values()) {
      assert.doesNotMatch(r.stdout, STACK_TRACE, show(r));
      assert.doesNotMatch(r.stderr, STACK_TRACE, show(r));
      assert.ok(!/internal error/.test(r.stderr), show(r));
    }
  });
});
