/**
 * Stages 4–6 of the dev stack under the in-process mock engine (planStack: the real program, then
 * the real pack): the join order the dependency graph enforces (one kubeadm init, control planes
 * one after another, workers in parallel after them, Cilium after every join, observability after
 * Cilium), that the bootstrap credentials and the admin kubeconfig never reach `plan --json`, that
 * every Stage 6 resource is a child of the Stage 6 component, and that kubeadm reset on a join's
 * deletion follows kubernetes.allowReset.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { planJson, planStack, type PlanResult } from "../../cli/commands/plan";
import { isSecretMarker, OFFLINE_PLACEHOLDER_SEED, type RecordedResource } from "../../cli/engine/harness";
import { mandatoryViolations } from "../../cli/engine/policy";
import { JOIN_EPOCH } from "../../components/kubernetes/render-node";
import { bootstrapToken, certificateKey, encryptionKey } from "../../components/kubernetes/tokens";
import { deriveBytes } from "../../components/secrets/derive";
import { DEV } from "../plan/helpers";
import { sharedPlan } from "../support/shared-plans";

const CLUSTER = "dev-lab";
const STAGE_TYPE = "kubedos:cluster:Stage";
const COMMAND = "command:remote:Command";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const CONTROL_PLANES = ["cp-1", "cp-2", "cp-3"];
const WORKERS = ["w-1", "w-2", "w-3"];
const NODES = [...CONTROL_PLANES, ...WORKERS];
const OBSERVABILITY = ["kube-prometheus-stack", "grafana", "loki"];
/** The seed an offline plan runs with (cli/engine/harness.ts withOfflineSecrets). */
const SEED = process.env.KUBEDOS_MASTER_SEED || OFFLINE_PLACEHOLDER_SEED;

/** The Stage 6 resources of the dev stack the brief names (Stage 6 may hold more: PodMonitors, the CSR approver…). */
const STAGE6_NAMES = [
  ...NODES.map((n) => `${CLUSTER}-${n}-kubeadm-files`),
  `${CLUSTER}-cp-1-kubeadm-init`,
  `${CLUSTER}-join-window`,
  ...NODES.filter((n) => n !== "cp-1").flatMap((n) => [`${CLUSTER}-${n}-kubeadm-join`, `${CLUSTER}-${n}-membership`]),
  `${CLUSTER}-pod-cidrs`,
  `${CLUSTER}-admin-kubeconfig`,
  `${CLUSTER}-kubernetes`,
  `${CLUSTER}-cilium`,
  `${CLUSTER}-observability`,
  `${CLUSTER}-grafana-admin`,
  ...OBSERVABILITY.map((r) => `${CLUSTER}-${r}`),
].sort();

/** Commands of Stage 6, by their name's ending. */
const STAGE6_COMMAND =
  /-(kubeadm-files|kubeadm-init|kubeadm-join|join-window|membership|pod-cidrs|admin-kubeconfig|kubelet-serving-certs)$/;

/** Walks a recorded graph: resources by name and what each waits for. */
class Graph {
  readonly byUrn: Map<string, RecordedResource>;
  constructor(readonly resources: RecordedResource[]) {
    this.byUrn = new Map(resources.map((r) => [r.urn, r]));
  }

  get(name: string, type?: string): RecordedResource {
    const found = this.resources.filter((r) => r.name === name && (type === undefined || r.type === type));
    assert.equal(found.length, 1, `expected one resource named ${name}${type ? ` (${type})` : ""}, found ${found.length}`);
    return found[0];
  }

  /** What `r` waits for directly: its dependencies and property dependencies. */
  direct(r: RecordedResource): Set<string> {
    return new Set([...r.dependencies, ...Object.values(r.propertyDependencies).flat()]);
  }

  /** Everything `r` waits for, directly or through others. */
  closure(r: RecordedResource): Set<string> {
    const seen = new Set<string>();
    const stack = [...this.direct(r)];
    while (stack.length > 0) {
      const u = stack.pop()!;
      if (seen.has(u)) continue;
      seen.add(u);
      const d = this.byUrn.get(u);
      if (d) stack.push(...this.direct(d));
    }
    return seen;
  }

  dependsDirectly(a: string, b: string): boolean {
    return this.direct(this.get(a)).has(this.get(b).urn);
  }

  dependsAtAll(a: string, b: string): boolean {
    return this.closure(this.get(a)).has(this.get(b).urn);
  }
}

const join = (n: string) => `${CLUSTER}-${n}-kubeadm-join`;

describe("Stages 4–6 of the dev stack (mock engine)", function () {
  this.timeout(120_000);
  let tmp: string;
  let dev: PlanResult;
  let reset: PlanResult;
  let g: Graph;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "kubedos-kubernetes-graph-"));
    const doc = parseDocument(DEV);
    doc.setIn(["spec", "kubernetes", "allowReset"], true);
    const allowReset = path.join(tmp, "dev-allow-reset.yaml");
    writeFileSync(allowReset, doc.toString());
    // The harness drives one global Pulumi runtime: one run after the other. The dev plan is
    // shared with the other files that plan it (sharedPlan).
    dev = await sharedPlan({ stack: "dev" });
    reset = await planStack({ spec: allowReset });
    for (const r of [dev, reset]) assert.equal(r.run.error, undefined, r.run.error?.message);
    g = new Graph(dev.run.resources);
  });

  after(() => rmSync(tmp, { recursive: true, force: true }));

  describe("join order", () => {
    it("runs exactly one kubeadm init, on the first control plane (cp-1)", () => {
      const inits = dev.run.resources.filter((r) => r.type === COMMAND && r.name.endsWith("-kubeadm-init"));
      assert.deepEqual(
        inits.map((r) => r.name),
        [`${CLUSTER}-cp-1-kubeadm-init`],
      );
      assert.deepEqual(inits[0].ignoreChanges, ["create"]);
      assert.equal(dev.run.resources.filter((r) => r.name === join("cp-1")).length, 0, "the init node also joins");
    });

    it("chains the control-plane joins: the join window after init, cp-2 after the window, cp-3 after cp-2", () => {
      assert.ok(g.dependsDirectly(`${CLUSTER}-join-window`, `${CLUSTER}-cp-1-kubeadm-init`));
      assert.ok(g.dependsDirectly(join("cp-2"), `${CLUSTER}-join-window`));
      assert.ok(g.dependsDirectly(join("cp-3"), join("cp-2")));
      assert.ok(!g.dependsAtAll(join("cp-2"), join("cp-3")), "cp-2 waits for cp-3");
    });

    it("joins every worker after the last control-plane join, and no worker after another worker", () => {
      for (const w of WORKERS) {
        assert.ok(g.dependsDirectly(join(w), join("cp-3")), `${w} does not wait for cp-3`);
        for (const other of WORKERS.filter((x) => x !== w)) assert.ok(!g.dependsAtAll(join(w), join(other)), `${w} waits for ${other}`);
      }
    });

    it("makes every join wait for kubeadm init", () => {
      for (const n of NODES.filter((x) => x !== "cp-1")) assert.ok(g.dependsAtAll(join(n), `${CLUSTER}-cp-1-kubeadm-init`), n);
    });

    it("installs Cilium after the pod CIDRs, which wait for every join and for init", () => {
      assert.ok(g.dependsDirectly(`${CLUSTER}-cilium`, `${CLUSTER}-pod-cidrs`));
      for (const n of NODES.filter((x) => x !== "cp-1")) assert.ok(g.dependsDirectly(`${CLUSTER}-pod-cidrs`, join(n)), n);
      assert.ok(g.dependsDirectly(`${CLUSTER}-pod-cidrs`, `${CLUSTER}-cp-1-kubeadm-init`));
    });

    it("installs the observability releases after Cilium, through the Kubernetes provider", () => {
      const provider = g.get(`${CLUSTER}-kubernetes`);
      for (const r of OBSERVABILITY) {
        const rel = g.get(`${CLUSTER}-${r}`, RELEASE);
        assert.ok(g.dependsDirectly(rel.name, `${CLUSTER}-cilium`), r);
        assert.ok(rel.provider?.startsWith(`${provider.urn}::`), `${r} uses ${rel.provider}`);
      }
      assert.ok(g.get(`${CLUSTER}-cilium`, RELEASE).provider?.startsWith(`${provider.urn}::`));
    });

    it("passes the Kubernetes policies of the pack on this graph (and no mandatory policy at all)", () => {
      const p = dev.policy!;
      for (const name of [
        "kubeadm-join-pinned",
        "control-plane-joins-serial",
        "kubeadm-init-once",
        "apiserver-hardening",
        "cilium-native-routing",
        "observability-plane-bound",
      ]) {
        assert.ok(
          p.policies.some((x) => x.name === name && x.enforcementLevel === "mandatory"),
          `${name} did not run as mandatory`,
        );
      }
      assert.deepEqual(mandatoryViolations(p), []);
    });
  });

  describe("secrets", () => {
    const token = bootstrapToken(SEED, CLUSTER, JOIN_EPOCH);
    const certKey = certificateKey(SEED, CLUSTER, JOIN_EPOCH);
    const encKey = encryptionKey(SEED, CLUSTER);
    const grafanaPassword = deriveBytes(SEED, { cluster: CLUSTER, component: "grafana", purpose: "admin-password" }, 24).toString(
      "base64url",
    );

    it("carries the bootstrap token and the certificate key in the kubeadm-files stdin, as a secret (the check below is not vacuous)", () => {
      const stdin = g.get(`${CLUSTER}-cp-2-kubeadm-files`).inputs.stdin;
      assert.ok(isSecretMarker(stdin), "stdin is not a secret");
      const text = String(stdin.value);
      assert.ok(text.includes(token), "the derived bootstrap token is not in cp-2's kubeadm.yaml");
      assert.ok(text.includes(certKey), "the derived certificate key is not in cp-2's kubeadm.yaml");
      assert.ok(String((g.get(`${CLUSTER}-cp-1-kubeadm-files`).inputs.stdin as { value: unknown }).value).includes(encKey));
    });

    it("exports the kubeconfig as a secret", () => {
      assert.ok(isSecretMarker(dev.run.exports.kubeconfig), `kubeconfig export: ${JSON.stringify(dev.run.exports.kubeconfig)}`);
      const adminConf = g.get(`${CLUSTER}-admin-kubeconfig`);
      assert.equal(adminConf.inputs.logging, "none");
      assert.deepEqual([...adminConf.additionalSecretOutputs].sort(), ["connection", "stderr", "stdout"]);
    });

    it("writes neither the bootstrap token, the certificate key, the encryption key, Grafana's password nor the kubeconfig to plan --json", () => {
      const json = JSON.stringify(planJson(dev, "dev"), null, 2);
      for (const [what, value] of [
        ["bootstrap token", token],
        ["token secret (after the dot)", token.split(".")[1]],
        ["certificate key", certKey],
        ["encryption key", encKey],
        ["Grafana admin password", grafanaPassword],
      ])
        assert.ok(!json.includes(value), `plan --json contains the ${what}`);
      const doc = JSON.parse(json) as { exports: Record<string, unknown> };
      assert.equal(doc.exports.kubeconfig, "[secret]");
      assert.doesNotMatch(json, /client-key-data|client-certificate-data|kind: Config/);
    });
  });

  describe("ownership", () => {
    const stage = (res: PlanResult, key: string): RecordedResource => {
      const s = res.run.resources.find((r) => r.type === STAGE_TYPE && r.outputs?.key === key);
      assert.ok(s, `no stage ${key}`);
      return s;
    };

    it("makes every Stage 6 resource a child of the Stage 6 component", () => {
      const s6 = stage(dev, "kubernetes");
      assert.equal(s6.outputs?.index, 6);
      for (const name of STAGE6_NAMES) assert.equal(g.get(name).parent, s6.urn, name);
      // Whatever else Stage 6 grows: every Kubernetes object and provider, and every command named
      // like a Stage 6 step, is its child.
      for (const r of dev.run.resources) {
        if (r.type.startsWith("kubernetes:") || r.type === "pulumi:providers:kubernetes" || STAGE6_COMMAND.test(r.name))
          assert.equal(r.parent, s6.urn, `${r.name} (${r.type}) is not a child of Stage 6`);
      }
    });

    it("leaves no custom resource outside a stage (only the stage gates hang off the Cluster)", () => {
      const stages = new Set(dev.run.resources.filter((r) => r.type === STAGE_TYPE).map((r) => r.urn));
      const loose = dev.run.resources.filter(
        (r) => r.custom && !r.type.startsWith("pulumi:providers:") && !(r.parent && stages.has(r.parent)) && !r.name.endsWith("-gate"),
      );
      assert.deepEqual(
        loose.map((r) => r.urn),
        [],
      );
    });

    it("makes the enrollment and converge commands children of Stages 4 and 5", () => {
      const s4 = stage(dev, "enrollment");
      const s5 = stage(dev, "converge");
      assert.deepEqual(
        dev.run.resources
          .filter((r) => r.parent === s4.urn)
          .map((r) => r.name)
          .sort(),
        NODES.map((n) => `${CLUSTER}-${n}-enroll`).sort(),
      );
      assert.deepEqual(
        dev.run.resources
          .filter((r) => r.parent === s5.urn)
          .map((r) => r.name)
          .sort(),
        NODES.map((n) => `${CLUSTER}-${n}-converge`).sort(),
      );
    });
  });

  describe("kubernetes.allowReset", () => {
    const joins = (res: PlanResult) => res.run.resources.filter((r) => r.type === COMMAND && r.name.endsWith("-kubeadm-join"));

    it("gives every join a delete that runs kubeadm reset when allowReset is true", () => {
      const js = joins(reset);
      assert.equal(js.length, NODES.length - 1);
      for (const j of js) assert.match(String(j.inputs.delete), /\bkubeadm reset\b/, j.name);
      assert.deepEqual(mandatoryViolations(reset.policy!), []);
    });

    it("gives no join a delete when allowReset is false", () => {
      const js = joins(dev);
      assert.equal(js.length, NODES.length - 1);
      for (const j of js) assert.equal(j.inputs.delete, undefined, j.name);
    });

    it("never resets from a membership command, whatever allowReset says", () => {
      for (const res of [dev, reset]) {
        for (const r of res.run.resources.filter((x) => x.name.endsWith("-membership")))
          assert.doesNotMatch(String(r.inputs.delete), /\bkubeadm reset\b/, r.name);
      }
    });
  });
});
