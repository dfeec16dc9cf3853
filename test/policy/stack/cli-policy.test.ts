/**
 * The policy section of `kubedos plan` as a user sees it: the real bin/kubedos.js in a child
 * process from the repository root, with the stacks, the boundary-breaking fixture programs
 * (test/fixtures/programs/*.js, via --program) and policy configs (--policy-config). Every
 * command runs once, in parallel, before the assertions.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CHART_LOCKS } from "../../../components/supplychain/locks";
import { ALL_POLICIES, PACK_NAME } from "../../../policy/policies";
import { runAll, type CliResult } from "../../support/cli";

/** Repository root: this file runs from dist/test/policy/stack. */
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..", "..");
const DEV_SPEC = "stacks/dev/cluster.yaml";
const program = (name: string): string => `test/fixtures/programs/${name}.js`;
const POLICY_NAMES = ALL_POLICIES.map((p) => p.name);
const PACK_VERSION = (JSON.parse(readFileSync(path.join(REPO_ROOT, "policy", "package.json"), "utf8")) as { version: string }).version;
const PACK = `${PACK_NAME}@${PACK_VERSION}`;
const STACK_TRACE = /^\s+at .+[:(]\d+:\d+\)?$/m;
/** The policy result lines: `  PASS  mandatory name`, `  WARN  advisory  name (n)`, `  OFF   disabled  name`. */
const VERDICT_LINE = /^ {2}(PASS|WARN|FAIL|OFF ) {2}(\S+) +(\S+)(?: \((\d+)\))?$/gm;

type Result = CliResult;

const show = (r: Result) =>
  `kubedos ${r.args.join(" ")} → exit ${r.code}\n--- stdout:\n${r.stdout.slice(-3000)}\n--- stderr:\n${r.stderr.slice(0, 2000)}`;

/** Verdict lines of the policy section. */
function verdicts(stdout: string): Array<{ verdict: string; level: string; name: string; count?: number }> {
  return [...stdout.matchAll(VERDICT_LINE)].map((m) => ({
    verdict: m[1].trim(),
    level: m[2],
    name: m[3],
    ...(m[4] ? { count: Number(m[4]) } : {}),
  }));
}

describe("kubedos plan: the policy section (CLI)", function () {
  this.timeout(60_000);
  let tmp: string;
  let disabled: string;
  let malformed: string;
  let unknown: string;
  let runs: Map<string, Result>;
  const get = (k: string): Result => {
    const r = runs.get(k);
    assert.ok(r, `command ${k} did not run`);
    return r;
  };

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "kubedos-cli-policy-"));
    disabled = path.join(tmp, "disable-substrate-protected.json");
    writeFileSync(disabled, JSON.stringify({ "substrate-protected": "disabled" }));
    malformed = path.join(tmp, "malformed.json");
    writeFileSync(malformed, "{ substrate-protected: disabled\n");
    unknown = path.join(tmp, "unknown-policy.json");
    writeFileSync(unknown, JSON.stringify({ "no-such-policy": "advisory" }));
    runs = await runAll({
      dev: ["plan", "--stack", "dev"],
      unprotected: ["plan", "--spec", DEV_SPEC, "--program", program("unprotected-vm")],
      protected: ["plan", "--spec", DEV_SPEC, "--program", program("protected-vm")],
      replaceable: ["plan", "--spec", DEV_SPEC, "--program", program("replaceable-vm")],
      reset: ["plan", "--spec", DEV_SPEC, "--program", program("kubeadm-reset")],
      latest: ["plan", "--spec", DEV_SPEC, "--program", program("latest-image")],
      unprotectedJson: ["plan", "--spec", DEV_SPEC, "--program", program("unprotected-vm"), "--json"],
      disabled: ["plan", "--spec", DEV_SPEC, "--program", program("unprotected-vm"), "--policy-config", disabled],
      malformed: ["plan", "--stack", "dev", "--policy-config", malformed],
      unknown: ["plan", "--stack", "dev", "--policy-config", unknown],
    });
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("accepts --program and --policy-config, as the usage line says", () => {
    for (const k of ["unprotected", "disabled"]) {
      const r = get(k);
      assert.doesNotMatch(r.stderr, /Unknown option/, show(r));
    }
  });

  describe("plan --stack dev", () => {
    it("exits 0 and prints the pack's summary line with the stack's config file and 0 mandatory violations", () => {
      const r = get("dev");
      assert.equal(r.code, 0, show(r));
      const m = new RegExp(
        `^policy pack ${PACK.replace(/\./g, "\\.")} \\(config policy/config/dev\\.json\\): (\\d+) policies, 0 mandatory violation\\(s\\)`,
        "m",
      ).exec(r.stdout);
      assert.ok(m, show(r));
      assert.equal(Number(m[1]), POLICY_NAMES.length);
    });

    it("prints one PASS/WARN/FAIL line per policy, as many as the summary counts, in the pack's order", () => {
      const r = get("dev");
      const n = Number(/^policy pack \S+ \(config [^)]+\): (\d+) policies/m.exec(r.stdout)?.[1]);
      const v = verdicts(r.stdout);
      assert.equal(v.length, n, show(r));
      assert.deepEqual(
        v.map((x) => x.name),
        POLICY_NAMES,
      );
      assert.ok(
        v.every((x) => ["PASS", "WARN"].includes(x.verdict)),
        show(r),
      );
      // Stage 6 installs Cilium and the observability stack, whose locked images carry no digest yet
      // (digests cannot be resolved offline): one advisory warning per image, each on its release.
      const undigested = Object.values(CHART_LOCKS)
        .flatMap((l) => Object.values(l.images as Record<string, { digest?: string }>))
        .filter((i) => !i.digest);
      assert.deepEqual(
        v.find((x) => x.name === "image-digests"),
        { verdict: "WARN", level: "advisory", name: "image-digests", count: undigested.length },
        "dev.json keeps image-digests advisory",
      );
      const digestLines = r.stdout.split("\n").filter((l) => l.startsWith("[advisory] image-digests  "));
      assert.equal(digestLines.length, undigested.length, show(r));
      for (const l of digestLines)
        assert.match(
          l,
          /^\[advisory\] image-digests {2}dev-lab-(cilium|kube-prometheus-stack|grafana|loki) \(kubernetes:helm\.sh\/v3:Release\) {2}.* must pin image \S+ at values\.\S+ by digest/,
          l,
        );
      assert.deepEqual(
        v.find((x) => x.name === "failure-domain-quorum"),
        {
          verdict: "WARN",
          level: "advisory",
          name: "failure-domain-quorum",
          count: 1,
        },
      );
      assert.doesNotMatch(r.stdout, /^\[mandatory\]/m, show(r));
    });
  });

  /**
   * Mandatory violations a fixture yields besides the one it is built for: latest-image.js adds a
   * bare Cilium release (chart defaults), which cilium-native-routing rejects on four counts.
   */
  const ALSO: Record<string, string[]> = {
    latest: ["cilium-native-routing", "cilium-native-routing", "cilium-native-routing", "cilium-native-routing"],
  };
  const breaking: Array<[key: string, policy: string, resource: string, type: RegExp, message: RegExp]> = [
    [
      "unprotected",
      "substrate-protected",
      "rogue-vm",
      /proxmoxve:\S*VmLegacy/,
      /Substrate resource rogue-vm \(proxmoxve:\S*VmLegacy\) must be protected while substrate\.allowDestroy is false.*allowDestroy: true/,
    ],
    [
      "replaceable",
      "substrate-no-replace",
      "rogue-vm",
      /proxmoxve:\S*VmLegacy/,
      /^Machine rogue-vm \(proxmoxve:\S*VmLegacy\) must list clone in ignoreChanges while substrate\.allowDestroy is false/,
    ],
    ["reset", "destructive-commands", "reset-cp-1", /command:remote:Command/, /kubeadm reset.*allowReset is false.*allowReset: true/],
    ["latest", "pinned-images", "cilium", /kubernetes:helm\.sh\/v3:Release/, /quay\.io\/cilium\/cilium:latest.*floating tag latest/],
  ];
  for (const [k, policy, resource, type, message] of breaking) {
    it(`exits 1 and prints one [mandatory] ${policy} line naming ${resource} for the ${k} fixture program`, function () {
      const r = get(k);
      assert.equal(r.code, 1, show(r));
      const also = ALSO[k] ?? [];
      const all = r.stdout.split("\n").filter((l) => l.startsWith("[mandatory] "));
      assert.deepEqual(
        all
          .filter((l) => !l.startsWith(`[mandatory] ${policy}  `))
          .map((l) => l.split(" ")[1])
          .sort(),
        [...also].sort(),
        show(r),
      );
      const lines = all.filter((l) => l.startsWith(`[mandatory] ${policy}  `));
      assert.equal(lines.length, 1, show(r));
      const m = /^\[mandatory\] (\S+) {2}(\S+) \(([^)]+)\) {2}(.+)$/.exec(lines[0]);
      assert.ok(m, `not a violation line: ${lines[0]}`);
      assert.equal(m[1], policy);
      assert.equal(m[2], resource);
      assert.match(m[3], type);
      assert.match(m[4], message);
      assert.match(
        r.stdout,
        new RegExp(`^policy pack ${PACK.replace(/\./g, "\\.")}: \\d+ policies, ${1 + also.length} mandatory violation\\(s\\)`, "m"),
        show(r),
      );
      assert.ok(
        verdicts(r.stdout).some((x) => x.verdict === "FAIL" && x.name === policy && x.count === 1),
        show(r),
      );
      assert.doesNotMatch(r.stdout + r.stderr, STACK_TRACE, show(r));
    });
  }

  it("exits 0 with no mandatory line for protected-vm.js, the passing twin", function () {
    const r = get("protected");
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.stdout, /^\[mandatory\]/m, show(r));
    assert.ok(
      verdicts(r.stdout).some((x) => x.verdict === "PASS" && x.name === "substrate-protected"),
      show(r),
    );
  });

  it("writes the policy result into --json (policies by name, violations with policy, level, urn, message) and exits 1", function () {
    const r = get("unprotectedJson");
    assert.equal(r.code, 1, show(r));
    const doc = JSON.parse(r.stdout) as {
      resources: Array<{ urn: string; name: string; type: string; protect: boolean }>;
      policy: { pack: { name: string; version: string }; policies: string[]; violations: Array<Record<string, unknown>> };
    };
    assert.deepEqual(doc.policy.pack, { name: PACK_NAME, version: PACK_VERSION });
    assert.deepEqual(doc.policy.policies, POLICY_NAMES);
    for (const v of doc.policy.violations) assert.deepEqual(Object.keys(v).sort(), ["level", "message", "policy", "urn"]);
    const mandatory = doc.policy.violations.filter((v) => v.level === "mandatory");
    assert.equal(mandatory.length, 1, JSON.stringify(doc.policy.violations, null, 2));
    const vm = doc.resources.find((x) => x.name === "rogue-vm");
    assert.ok(vm && /VmLegacy$/.test(vm.type) && vm.protect === false, "the VM is not in the JSON graph");
    assert.equal(mandatory[0].policy, "substrate-protected");
    assert.equal(mandatory[0].urn, vm.urn);
    assert.match(String(mandatory[0].message), /must be protected while substrate\.allowDestroy is false/);
    assert.match(r.stderr, /^kubedos plan: 1 mandatory policy violation\(s\)$/m, show(r));
  });

  it("exits 0 for unprotected-vm.js when --policy-config disables substrate-protected, and shows it OFF", function () {
    const r = get("disabled");
    assert.equal(r.code, 0, show(r));
    assert.doesNotMatch(r.stdout, /^\[mandatory\]/m, show(r));
    assert.ok(
      verdicts(r.stdout).some((x) => x.verdict === "OFF" && x.level === "disabled" && x.name === "substrate-protected"),
      show(r),
    );
    assert.match(
      r.stdout,
      /^policy pack \S+ \(config [^)]*disable-substrate-protected\.json\): \d+ policies, 0 mandatory violation\(s\)/m,
      show(r),
    );
  });

  it("exits 2 naming the file, without a stack trace, when --policy-config is not JSON", function () {
    const r = get("malformed");
    assert.equal(r.code, 2, show(r));
    assert.ok(r.stderr.includes(malformed), show(r));
    assert.match(r.stderr, /^kubedos: /, show(r));
    assert.doesNotMatch(r.stdout + r.stderr, STACK_TRACE, show(r));
    assert.doesNotMatch(r.stderr, /internal error/, show(r));
  });

  it("exits 2 naming the unknown policy when --policy-config names a policy the pack does not have", function () {
    const r = get("unknown");
    assert.equal(r.code, 2, show(r));
    assert.match(r.stderr, /no-such-policy/, show(r));
    assert.ok(r.stderr.includes(unknown), show(r));
    assert.doesNotMatch(r.stdout + r.stderr, STACK_TRACE, show(r));
  });
});
