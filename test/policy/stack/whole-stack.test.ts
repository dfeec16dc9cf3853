/**
 * The policy pack against whole stacks, in-process (planStack: the real program under the mock
 * engine, then the real pack): the dev and prod stacks and the Hetzner and bare-metal fixtures
 * pass every mandatory policy (the seed fixture does not get that far: Stage 1 refuses it for the
 * facts it lacks); each boundary-breaking fixture program (test/fixtures/programs/*.js — the real
 * kubedos program plus one offending resource under the right stage) yields exactly the violation
 * it is built for, and nothing else; opening the governing flag in the spec silences it.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { planStack, type PlanResult } from "../../../cli/commands/plan";
import { stageOf } from "../../../cli/engine/graph";
import { mandatoryViolations, type Violation } from "../../../cli/engine/policy";
import type { RecordedResource } from "../../../cli/engine/harness";
import { UsageError } from "../../../cli/io";
import { ALL_POLICIES, PACK_NAME } from "../../../policy/policies";
import { CHART_LOCKS, mirroredRepository } from "../../../components/supplychain/locks";
import { sharedPlan } from "../../support/shared-plans";

/** Repository root: this file runs from dist/test/policy/stack. */
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..", "..");
const repoPath = (...p: string[]): string => path.join(REPO_ROOT, ...p);
const DEV_SPEC = repoPath("stacks", "dev", "cluster.yaml");
const SEED_SPEC = repoPath("test", "fixtures", "seed-15.2.yaml");
const HETZNER_SPEC = repoPath("test", "fixtures", "hetzner.yaml");
const BAREMETAL_SPEC = repoPath("test", "fixtures", "baremetal.yaml");
/** The fixture programs are plain JS, read from the checkout (never compiled). */
const program = (name: string): string => repoPath("test", "fixtures", "programs", `${name}.js`);

const STAGE_TYPE = "kubedos:cluster:Stage";
const VM_TYPE = "proxmoxve:index/vmLegacy:VmLegacy";
const SNIPPET_TYPE = "proxmoxve:index/fileLegacy:FileLegacy";
const SERVER_TYPE = "hcloud:index/server:Server";
const FIREWALL_TYPE = "hcloud:index/firewall:Firewall";
const COMMAND_TYPE = "command:remote:Command";
const RELEASE_TYPE = "kubernetes:helm.sh/v3:Release";
/** A stage's gate (components/stage.ts): a local command named <stage>-gate. */
const GATE_TYPE = "command:local:Command";

const POLICY_NAMES = ALL_POLICIES.map((p) => p.name);
const DEFAULT_LEVEL = new Map(ALL_POLICIES.map((p) => [p.name, p.enforcementLevel ?? "mandatory"]));
const PACK_VERSION = (JSON.parse(readFileSync(repoPath("policy", "package.json"), "utf8")) as { version: string }).version;
const policyConfig = (stack: string): Record<string, string> =>
  JSON.parse(readFileSync(repoPath("policy", "config", `${stack}.json`), "utf8")) as Record<string, string>;

/** A violation as a comparable key. */
const key = (v: Violation): string => `${v.level} ${v.policy} ${v.urn} ${v.message}`;
const show = (vs: Violation[]): string =>
  vs.length ? vs.map((v) => `  [${v.level}] ${v.policy} ${v.urn}\n    ${v.message}`).join("\n") : "  (none)";

function policyOf(res: PlanResult) {
  assert.equal(res.run.error, undefined, `the program failed: ${res.run.error?.message}`);
  assert.ok(res.policy, "no policy result");
  return res.policy;
}

/** Violations of `res` that the baseline run (same spec, the real program) does not have. */
function added(res: PlanResult, baseline: PlanResult): Violation[] {
  const base = new Set(policyOf(baseline).violations.map(key));
  return policyOf(res).violations.filter((v) => !base.has(key(v)));
}

function resource(res: PlanResult, type: string, name: string): RecordedResource {
  const found = res.run.resources.filter((r) => r.type === type && r.name === name);
  assert.equal(found.length, 1, `expected one ${type} named ${name}, found ${found.length}`);
  return found[0];
}

function stageResource(res: PlanResult, stageKey: string): RecordedResource {
  const s = res.run.resources.find((r) => r.type === STAGE_TYPE && r.outputs?.key === stageKey);
  assert.ok(s, `no stage ${stageKey} in the graph`);
  return s;
}

describe("policy pack on whole stacks (in-process, mock engine)", function () {
  this.timeout(60_000);
  let tmp: string;
  const runs: Record<string, PlanResult> = {};
  const get = (k: string): PlanResult => {
    const r = runs[k];
    assert.ok(r, `run ${k} did not happen`);
    return r;
  };

  /** The dev spec with one YAML edit, written to the temp dir. */
  function devWith(file: string, at: string[], value: unknown): string {
    const doc = parseDocument(readFileSync(DEV_SPEC, "utf8"));
    doc.setIn(at, value);
    const f = path.join(tmp, file);
    writeFileSync(f, doc.toString());
    return f;
  }

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "kubedos-policy-stack-"));
    const allowDestroy = devWith("dev-allow-destroy.yaml", ["spec", "substrate", "allowDestroy"], true);
    const allowReset = devWith("dev-allow-reset.yaml", ["spec", "kubernetes", "allowReset"], true);
    const disabled = path.join(tmp, "disable-substrate-protected.json");
    writeFileSync(disabled, JSON.stringify({ "substrate-protected": "disabled" }));
    // The harness drives one global Pulumi runtime: the runs go one after another. Other files
    // plan the same stacks and fixtures, so those run once per process (sharedPlan); the rest,
    // this file's own variants, run here, in this order (disabledVm last: see "restores every level").
    const shared = new Set(["dev", "prod", "hetzner", "baremetal", "seed"]);
    const plans: Record<string, Parameters<typeof planStack>[0]> = {
      dev: { stack: "dev" },
      prod: { stack: "prod" },
      hetzner: { spec: HETZNER_SPEC },
      baremetal: { spec: BAREMETAL_SPEC },
      seed: { spec: SEED_SPEC },
      baseline: { spec: DEV_SPEC },
      unprotectedVm: { spec: DEV_SPEC, program: program("unprotected-vm") },
      protectedVm: { spec: DEV_SPEC, program: program("protected-vm") },
      kubeadmReset: { spec: DEV_SPEC, program: program("kubeadm-reset") },
      latestImage: { spec: DEV_SPEC, program: program("latest-image") },
      replaceableVm: { spec: DEV_SPEC, program: program("replaceable-vm") },
      destroyBaseline: { spec: allowDestroy },
      destroyVm: { spec: allowDestroy, program: program("unprotected-vm") },
      destroyReplaceable: { spec: allowDestroy, program: program("replaceable-vm") },
      destroyReset: { spec: allowDestroy, program: program("kubeadm-reset") },
      resetBaseline: { spec: allowReset },
      resetReset: { spec: allowReset, program: program("kubeadm-reset") },
      resetVm: { spec: allowReset, program: program("unprotected-vm") },
      prodLatestImage: { stack: "prod", program: program("latest-image") },
      disabledVm: { spec: DEV_SPEC, program: program("unprotected-vm"), policyConfig: disabled },
    };
    for (const [k, args] of Object.entries(plans)) runs[k] = await (shared.has(k) ? sharedPlan : planStack)(args);
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  describe("the real stacks", () => {
    for (const [k, label] of [
      ["dev", "the dev stack"],
      ["hetzner", "the Hetzner fixture (test/fixtures/hetzner.yaml)"],
      ["baremetal", "the bare-metal fixture (test/fixtures/baremetal.yaml)"],
    ] as const) {
      it(`runs every policy of the pack with zero mandatory violations for ${label}`, () => {
        const p = policyOf(get(k));
        assert.deepEqual(
          p.policies.map((x) => x.name),
          POLICY_NAMES,
          "the result lists a different set of policies than policy/policies ALL_POLICIES",
        );
        assert.equal(new Set(POLICY_NAMES).size, POLICY_NAMES.length, "two policies share a name");
        assert.deepEqual(p.pack, { name: PACK_NAME, version: PACK_VERSION });
        assert.deepEqual(mandatoryViolations(p), [], `mandatory violations:\n${show(mandatoryViolations(p))}`);
        for (const v of p.violations) assert.ok(POLICY_NAMES.includes(v.policy), `violation of an unknown policy ${v.policy}`);
      });
    }

    it("runs every policy of the pack for the prod stack, whose only mandatory violations are image-digests, one per image of the Cilium and observability releases", () => {
      // prod makes image-digests mandatory (policy/config/prod.json) and the locks carry no digest
      // yet: digests cannot be resolved offline. Everything else must pass.
      const r = get("prod");
      const p = policyOf(r);
      assert.deepEqual(
        p.policies.map((x) => x.name),
        POLICY_NAMES,
      );
      assert.deepEqual(p.pack, { name: PACK_NAME, version: PACK_VERSION });
      const spec = stageResource(r, "spec").outputs?.clusterSpec as {
        metadata: { name: string };
        spec: { mirrors?: { registry?: string }; kubernetes: { cni: { hubble: boolean }; observability: { enabled: boolean } } };
      };
      assert.equal(spec.spec.kubernetes.cni.hubble, true, "prod runs Hubble: the Cilium release carries all five Cilium images");
      assert.equal(spec.spec.kubernetes.observability.enabled, true);
      const mirror = spec.spec.mirrors?.registry;
      // Each image of each locked chart, as the release pulls it (through the mirror), unless its lock has a digest.
      const expected = Object.entries(CHART_LOCKS).flatMap(([chart, lock]) => {
        const rel = resource(r, RELEASE_TYPE, `${spec.metadata.name}-${chart}`);
        return Object.values(lock.images as Record<string, { repository: string; tag: string; digest?: string }>)
          .filter((img) => !img.digest)
          .map((img) => ({ urn: rel.urn, name: rel.name, ref: `${mirroredRepository(img.repository, mirror)}:${img.tag}` }));
      });
      assert.equal(expected.length, 12, "5 Cilium images, 5 of kube-prometheus-stack, Grafana and Loki");
      const m = mandatoryViolations(p);
      assert.deepEqual(
        m.filter((v) => v.policy !== "image-digests"),
        [],
        `mandatory violations other than image-digests:\n${show(m.filter((v) => v.policy !== "image-digests"))}`,
      );
      assert.equal(m.length, expected.length, show(m));
      for (const e of expected) {
        const hits = m.filter(
          (v) =>
            v.urn === e.urn &&
            v.message.startsWith(`${e.name} (${RELEASE_TYPE}) must pin image ${e.ref} at values.`) &&
            v.message.endsWith(" by digest (…@sha256:<64 hex>)."),
        );
        assert.equal(hits.length, 1, `${e.name}: expected one image-digests violation naming ${e.ref}\n${show(m)}`);
      }
      for (const v of p.violations) assert.ok(POLICY_NAMES.includes(v.policy), `violation of an unknown policy ${v.policy}`);
    });

    it("fails the seed fixture at Stage 1 with a RunError naming the facts it lacks, before any policy runs", () => {
      const r = get("seed");
      const err = r.run.error;
      assert.ok(err, "the seed fixture's program did not fail");
      assert.equal(err.isRunError, true);
      const lines = err.message.split("\n");
      assert.equal(lines[0], "Stage 1 (Proxmox substrate) cannot place the VMs; the spec lacks:");
      assert.ok(lines.includes("  - substrate.proxmox.template or substrate.proxmox.image (what to clone or import)"), err.message);
      for (const [node, fd] of [
        ["cp-1", "rack-a"],
        ["cp-2", "rack-b"],
        ["cp-3", "rack-a"],
        ["w-1", "rack-a"],
      ]) {
        assert.ok(lines.includes(`  - a Proxmox host for ${node} (substrate.proxmox.hosts with failureDomain ${fd})`), err.message);
        assert.ok(lines.includes(`  - an uplink address for ${node} (networking.underlay)`), err.message);
      }
      assert.equal(r.policy, undefined, "the pack ran on a failed program");
      assert.deepEqual(
        r.run.resources.filter((x) => x.custom).map((x) => x.urn),
        [],
        "a substrate resource was registered although Stage 1 failed",
      );
    });

    it("checks real machines: the substrate policies pass on the VMs, servers, firewall and cloud-init the program builds", () => {
      const count = (k: string, type: string) => get(k).run.resources.filter((x) => x.type === type).length;
      for (const k of ["dev", "prod"]) {
        const nodes = (get(k).run.exports.nodes as unknown[]).length;
        assert.equal(count(k, VM_TYPE), nodes, `${k}: one VM per node`);
        assert.equal(count(k, SNIPPET_TYPE), nodes, `${k}: one cloud-init snippet per node`);
      }
      assert.equal(count("hetzner", SERVER_TYPE), (get("hetzner").run.exports.nodes as unknown[]).length);
      assert.equal(count("hetzner", FIREWALL_TYPE), 1);
      for (const k of ["dev", "prod", "hetzner", "baremetal"]) {
        const p = policyOf(get(k));
        for (const name of ["firewall-not-open", "no-password-ssh", "substrate-no-replace", "substrate-protected"]) {
          assert.ok(
            p.policies.some((x) => x.name === name),
            `${k}: ${name} did not run`,
          );
          assert.deepEqual(
            p.violations.filter((v) => v.policy === name),
            [],
            `${k}: ${name}`,
          );
        }
      }
    });

    it("reports only advisory violations for dev, among them the accepted failure-domain-quorum warning", () => {
      const p = policyOf(get("dev"));
      assert.ok(
        p.violations.every((v) => v.level === "advisory"),
        show(p.violations),
      );
      assert.ok(
        p.violations.some((v) => v.policy === "failure-domain-quorum"),
        `the dev spec's documented warning is missing:\n${show(p.violations)}`,
      );
    });

    for (const stack of ["dev", "prod"] as const) {
      it(`applies policy/config/${stack}.json to the ${stack} stack (each level from the file, or the policy's default)`, () => {
        const p = policyOf(get(stack));
        assert.equal(p.configFile, repoPath("policy", "config", `${stack}.json`));
        const cfg = policyConfig(stack);
        for (const pol of p.policies) assert.equal(pol.enforcementLevel, cfg[pol.name] ?? DEFAULT_LEVEL.get(pol.name), pol.name);
      });
    }

    it("makes image-digests advisory in dev and mandatory in prod", () => {
      const level = (k: string) => policyOf(get(k)).policies.find((x) => x.name === "image-digests")?.enforcementLevel;
      assert.equal(level("dev"), "advisory");
      assert.equal(level("prod"), "mandatory");
    });

    it("applies no config file to a --spec run (the Hetzner fixture): every policy at its default level", () => {
      const p = policyOf(get("hetzner"));
      assert.equal(p.configFile, undefined);
      for (const pol of p.policies) assert.equal(pol.enforcementLevel, DEFAULT_LEVEL.get(pol.name), pol.name);
    });
  });

  describe("boundary-breaking fixture programs (dev spec)", () => {
    /** Each fixture program: the one resource it adds, and the stage it hangs it under. */
    const FIXTURE_PROGRAMS = [
      ["unprotectedVm", VM_TYPE, "rogue-vm", "substrate"],
      ["protectedVm", VM_TYPE, "rogue-vm", "substrate"],
      ["replaceableVm", VM_TYPE, "rogue-vm", "substrate"],
      ["kubeadmReset", COMMAND_TYPE, "reset-cp-1", "kubernetes"],
      ["latestImage", RELEASE_TYPE, "cilium", "kubernetes"],
    ] as const;

    it("builds the real graph under each fixture program: the 8 stages, the spec carried by Stage 0, the same exports", () => {
      const base = get("baseline");
      const stageNames = base.run.resources.filter((x) => x.type === STAGE_TYPE).map((x) => x.name);
      for (const [k, type, name, stageKey] of FIXTURE_PROGRAMS) {
        const r = get(k);
        assert.equal(r.run.error, undefined, `${k}: ${r.run.error?.message}`);
        const stages = r.run.resources.filter((x) => x.type === STAGE_TYPE);
        assert.equal(stages.length, 8, k);
        assert.deepEqual(stageResource(r, "spec").outputs?.clusterSpec, stageResource(base, "spec").outputs?.clusterSpec, k);
        // The same graph as the real program, plus the one resource, its default provider, and the
        // gates of the stages before it that the real program never needed (a gate is created on
        // first use: the first resource of the next stage).
        const idx = stageResource(r, stageKey).outputs?.index as number;
        const earlierGates = stageNames.filter((_, i) => i < idx).map((n) => `${n}-gate`);
        const extra = r.run.resources.filter((x) => !base.run.resources.some((b) => b.urn === x.urn));
        const unexpected = extra.filter(
          (x) =>
            !x.type.startsWith("pulumi:providers:") &&
            !(x.type === type && x.name === name) &&
            !(x.type === GATE_TYPE && earlierGates.includes(x.name)),
        );
        assert.deepEqual(
          unexpected.map((x) => x.urn),
          [],
          `${k} added more than its resource`,
        );
        assert.equal(extra.filter((x) => x.type === type && x.name === name).length, 1, `${k} did not add ${name}`);
        for (const b of base.run.resources)
          assert.ok(
            r.run.resources.some((x) => x.urn === b.urn),
            `${k} lacks ${b.urn} of the real program`,
          );
        assert.deepEqual(r.run.exports, base.run.exports, `${k}: exports differ from the real program's`);
      }
    });

    for (const [k, type, name, stageKey] of FIXTURE_PROGRAMS) {
      it(`hangs ${name} (${type}) of ${k} under the ${stageKey} stage, waiting for the previous stage's gate and nothing of a later stage`, () => {
        const r = get(k);
        const res = resource(r, type, name);
        const stage = stageResource(r, stageKey);
        assert.equal(res.parent, stage.urn);
        // childOpts makes it wait for the previous stage's gate, which waits for everything before.
        const idx = stage.outputs?.index as number;
        const byUrn = new Map(r.run.resources.map((x) => [x.urn, x]));
        const previous = r.run.resources.find((x) => x.type === STAGE_TYPE && x.outputs?.index === idx - 1)!;
        const gate = r.run.resources.find((x) => x.type === GATE_TYPE && x.name === `${previous.name}-gate`);
        assert.ok(gate, `no gate for ${previous.name}`);
        assert.ok(res.dependencies.includes(gate.urn), `${name} does not wait for ${gate.name}`);
        for (const d of res.dependencies) {
          const i = stageOf(byUrn.get(d)!, byUrn)?.index;
          assert.ok(i !== undefined && i < idx, `${name} depends on ${d}, which is not of a stage before ${stageKey}`);
        }
      });
    }

    it("reports substrate-protected, mandatory, naming the unprotected VM's urn — and nothing else — for unprotected-vm.js", () => {
      const r = get("unprotectedVm");
      const vm = resource(r, VM_TYPE, "rogue-vm");
      assert.equal(vm.protect, false);
      const a = added(r, get("baseline"));
      assert.equal(a.length, 1, show(a));
      assert.equal(a[0].policy, "substrate-protected");
      assert.equal(a[0].level, "mandatory");
      assert.equal(a[0].urn, vm.urn);
      assert.match(
        a[0].message,
        /^Substrate resource rogue-vm \(proxmoxve:index\/vmLegacy:VmLegacy\) must be protected while substrate\.allowDestroy is false/,
      );
      assert.deepEqual(mandatoryViolations(policyOf(r)), a);
    });

    it("reports nothing new for protected-vm.js, the passing twin (protect: true)", () => {
      const r = get("protectedVm");
      assert.equal(resource(r, VM_TYPE, "rogue-vm").protect, true);
      assert.deepEqual(added(r, get("baseline")), []);
      assert.deepEqual(mandatoryViolations(policyOf(r)), []);
    });

    it("reports substrate-no-replace, mandatory, naming the VM's urn — and nothing else — for replaceable-vm.js", () => {
      const r = get("replaceableVm");
      const vm = resource(r, VM_TYPE, "rogue-vm");
      assert.equal(vm.protect, true);
      assert.deepEqual(vm.ignoreChanges, []);
      const a = added(r, get("baseline"));
      assert.equal(a.length, 1, show(a));
      assert.deepEqual(a[0], {
        policy: "substrate-no-replace",
        level: "mandatory",
        urn: vm.urn,
        message:
          "Machine rogue-vm (proxmoxve:index/vmLegacy:VmLegacy) must list clone in ignoreChanges while substrate.allowDestroy is false: a change there would replace the machine.",
      });
      assert.deepEqual(mandatoryViolations(policyOf(r)), a);
    });

    it("reports destructive-commands, mandatory, naming the command's urn — and nothing else — for kubeadm-reset.js", () => {
      const r = get("kubeadmReset");
      const cmd = resource(r, COMMAND_TYPE, "reset-cp-1");
      const a = added(r, get("baseline"));
      assert.equal(a.length, 1, show(a));
      assert.equal(a[0].policy, "destructive-commands");
      assert.equal(a[0].level, "mandatory");
      assert.equal(a[0].urn, cmd.urn);
      assert.match(a[0].message, /^Command reset-cp-1 \(command:remote:Command\) must not run kubeadm reset in create/);
      assert.match(a[0].message, /allowReset/);
      assert.deepEqual(mandatoryViolations(policyOf(r)), a);
    });

    it("reports pinned-images, mandatory, naming the release's urn (plus the advisory image-digests) for latest-image.js", () => {
      const r = get("latestImage");
      const rel = resource(r, RELEASE_TYPE, "cilium");
      const a = added(r, get("baseline"));
      // The rogue release is a bare Cilium release (chart defaults: kube-proxy kept, tunnel routing,
      // no API host), which cilium-native-routing rightly rejects too: four mandatory violations of
      // its own, set aside here so the fixture still yields exactly what it is built for.
      const cilium = a.filter((v) => v.policy === "cilium-native-routing");
      assert.deepEqual(
        cilium.map((v) => v.message),
        [
          "cilium (kubernetes:helm.sh/v3:Release) must set values.kubeProxyReplacement to true (kubeadm installs no kube-proxy); found nothing.",
          'cilium (kubernetes:helm.sh/v3:Release) must set values.routingMode to "native" (the spec declares no tunnel: pods route over wg3); found nothing.',
          "cilium (kubernetes:helm.sh/v3:Release) must set values.ipv4NativeRoutingCIDR to the pod subnet 10.244.0.0/16; found nothing.",
          "cilium (kubernetes:helm.sh/v3:Release) must set values.k8sServiceHost to an address inside the wg3 plane (10.113.0.0/24); found nothing.",
        ],
        show(cilium),
      );
      assert.ok(
        cilium.every((v) => v.level === "mandatory" && v.urn === rel.urn),
        show(cilium),
      );
      const own = a.filter((v) => v.policy !== "cilium-native-routing");
      assert.deepEqual(own.map((v) => `${v.level} ${v.policy}`).sort(), ["advisory image-digests", "mandatory pinned-images"], show(a));
      assert.ok(
        a.every((v) => v.urn === rel.urn),
        show(a),
      );
      const pinned = a.find((v) => v.policy === "pinned-images")!;
      assert.match(pinned.message, /quay\.io\/cilium\/cilium:latest/);
      assert.match(pinned.message, /latest/);
      assert.deepEqual(mandatoryViolations(policyOf(r)), [pinned, ...cilium]);
    });

    it("makes the latest image a second mandatory violation (image-digests) under the prod stack's config", () => {
      const r = get("prodLatestImage");
      const rel = resource(r, RELEASE_TYPE, "cilium");
      // Against the prod stack itself, whose own release images already fail image-digests there.
      const m = mandatoryViolations({ ...policyOf(r), violations: added(r, get("prod")) }).filter(
        (v) => v.policy !== "cilium-native-routing",
      );
      assert.deepEqual(m.map((v) => v.policy).sort(), ["image-digests", "pinned-images"], show(m));
      assert.ok(m.every((v) => v.urn === rel.urn));
    });
  });

  describe("opening a boundary in the spec", () => {
    it("reports no substrate-protected violation for unprotected-vm.js when the spec sets allowDestroy: true", () => {
      const r = get("destroyVm");
      const p = policyOf(r);
      assert.deepEqual(
        p.violations.filter((v) => v.policy === "substrate-protected"),
        [],
      );
      assert.deepEqual(mandatoryViolations(p), [], show(mandatoryViolations(p)));
      assert.deepEqual(added(r, get("destroyBaseline")), []);
    });

    it("reports no substrate-no-replace violation for replaceable-vm.js when the spec sets allowDestroy: true", () => {
      const r = get("destroyReplaceable");
      const p = policyOf(r);
      assert.deepEqual(
        p.violations.filter((v) => v.policy === "substrate-no-replace"),
        [],
      );
      assert.deepEqual(mandatoryViolations(p), [], show(mandatoryViolations(p)));
      assert.deepEqual(added(r, get("destroyBaseline")), []);
    });

    it("warns loudly in the program's log when allowDestroy is true, and not otherwise", () => {
      for (const k of ["destroyVm", "destroyBaseline"]) {
        const warns = get(k).run.logs.filter((l) => l.severity === "warn" && /allowDestroy/.test(l.message));
        assert.equal(warns.length, 1, `${k}: ${JSON.stringify(get(k).run.logs)}`);
        assert.match(warns[0].message, /substrate\.allowDestroy is TRUE for dev-lab/);
        assert.match(warns[0].message, /NOT protected/);
        assert.match(warns[0].message, /destroy or replace/);
      }
      for (const k of ["baseline", "unprotectedVm", "dev"])
        assert.ok(!get(k).run.logs.some((l) => /allowDestroy/.test(l.message)), `${k} warns about allowDestroy although it is false`);
    });

    it("reports no destructive-commands violation for kubeadm-reset.js when the spec sets allowReset: true", () => {
      const r = get("resetReset");
      const p = policyOf(r);
      assert.deepEqual(
        p.violations.filter((v) => v.policy === "destructive-commands"),
        [],
      );
      assert.deepEqual(mandatoryViolations(p), [], show(mandatoryViolations(p)));
      assert.deepEqual(added(r, get("resetBaseline")), []);
    });

    it("keeps each flag to its own boundary: allowDestroy does not permit kubeadm reset, allowReset does not unprotect VMs", () => {
      const d = mandatoryViolations(policyOf(get("destroyReset")));
      assert.deepEqual(
        d.map((v) => v.policy),
        ["destructive-commands"],
        show(d),
      );
      const r = mandatoryViolations(policyOf(get("resetVm")));
      assert.deepEqual(
        r.map((v) => v.policy),
        ["substrate-protected"],
        show(r),
      );
    });
  });

  describe("policy config (as --policy-config)", () => {
    it("silences substrate-protected for unprotected-vm.js when a config disables it", () => {
      const p = policyOf(get("disabledVm"));
      assert.equal(p.policies.find((x) => x.name === "substrate-protected")?.enforcementLevel, "disabled");
      assert.deepEqual(
        p.violations.filter((v) => v.policy === "substrate-protected"),
        [],
      );
      assert.deepEqual(mandatoryViolations(p), []);
    });

    it("restores every level on the next run without a config (the pack is configured per run)", () => {
      // disabledVm ran last in before(); run the plain fixture again after it.
      return planStack({ spec: DEV_SPEC, program: program("unprotected-vm") }).then((r) => {
        assert.deepEqual(
          mandatoryViolations(policyOf(r)).map((v) => v.policy),
          ["substrate-protected"],
        );
      });
    });

    for (const [label, text, expect] of [
      ["is not JSON", "{ substrate-protected: disabled", /not-json\.json: /],
      ["names an unknown policy", JSON.stringify({ "no-such-policy": "advisory" }), /no-such-policy/],
      ["gives an unknown enforcement level", JSON.stringify({ "substrate-protected": "sometimes" }), /sometimes/],
    ] as const) {
      it(`rejects a policy config that ${label} with a usage error (exit 2) naming the file`, async () => {
        const f = path.join(tmp, label.startsWith("is not") ? "not-json.json" : `${label.replace(/\W+/g, "-")}.json`);
        writeFileSync(f, text);
        await assert.rejects(planStack({ stack: "dev", policyConfig: f }), (err: unknown) => {
          assert.ok(err instanceof UsageError, `not a UsageError: ${String((err as Error)?.stack ?? err)}`);
          assert.equal(err.exitCode, 2);
          assert.ok(err.message.includes(f), err.message);
          assert.match(err.message, expect);
          return true;
        });
      });
    }
  });
});
