/**
 * policy/policies/kubernetes.ts: kubeadm-join-pinned, control-plane-joins-serial, kubeadm-init-once,
 * apiserver-hardening, cilium-native-routing and observability-plane-bound, with the exact
 * messages — on what the program renders (the files script of components/kubernetes/apply.ts,
 * the Cilium and observability values) and on hand-broken variants of it. node-reset-gated is
 * destructive-commands (boundaries.ts) applied to a join's delete.
 */
import { strict as assert } from "node:assert";
import { parseAllDocuments, stringify } from "yaml";
import { ciliumRelease } from "../../../components/cni/cilium";
import { filesScript } from "../../../components/kubernetes/apply";
import { hetznerLoadBalancerAddress, renderNodeKubernetes } from "../../../components/kubernetes/render-node";
import { observabilityReleases } from "../../../components/observability/stack";
import { buildPlan, type Plan } from "../../../components/plan/plan";
import type { ClusterSpec } from "../../../components/spec/schema";
import { destructiveCommands } from "../../../policy/policies/boundaries";
import {
  apiserverHardening,
  ciliumNativeRouting,
  controlPlaneJoinsSerial,
  heredocFiles,
  kubeadmInitOnce,
  kubeadmJoinPinned,
  observabilityPlaneBound,
  shippedDocuments,
} from "../../../policy/policies/kubernetes";
import {
  clusterComponent,
  runResourcePolicy,
  runStackPolicy,
  runStackPolicyDetailed,
  specStage,
  urnOf,
  type TestStackResource,
} from "./harness";
import { DEV_SPEC, edited, readRepo, typedSpec } from "./specs";

const CMD = "command:remote:Command";
const RELEASE = "kubernetes:helm.sh/v3:Release";
const SEED = "kubedos-unit-test-seed";
const PLAN = buildPlan(DEV_SPEC);
const HETZNER_SPEC = typedSpec(readRepo("test", "fixtures", "hetzner.yaml"), "test/fixtures/hetzner.yaml");
const HETZNER_PLAN = buildPlan(HETZNER_SPEC);
const HASH = "sha256:41c25a0cc0e0998b559763cd031d0bde7a93273d65c660ab3de55dd2f0b5e0b9";
const KUBEADM_YAML = "/etc/kubernetes/kubeadm.yaml";

/** A parsed YAML document or values object, to break freely. */
type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** The node's Stage 6 files as the program renders them (path on the node → content). */
function renderedFiles(
  node: string,
  spec: ClusterSpec = DEV_SPEC,
  plan: Plan = PLAN,
): Array<{ path: string; content: string; mode: number }> {
  return renderNodeKubernetes({ plan, spec, node, seed: SEED }).map((f) => ({
    path: `/etc/kubernetes/${f.path}`,
    content: f.content,
    mode: f.mode,
  }));
}

/** The stdin of the node's kubeadm-files command, as components/kubernetes/apply.ts builds it. */
const filesStdin = (node: string): string => filesScript(renderedFiles(node));

/** The documents of the node's rendered kubeadm.yaml, as plain objects to break. */
function kubeadmDocs(node: string): Doc[] {
  const f = renderedFiles(node).find((x) => x.path === KUBEADM_YAML)!;
  return parseAllDocuments(f.content).map((d) => d.toJS());
}

/** A files script writing kubeadm.yaml from documents (and any extra files). */
function stdinOf(docs: object[], extra: Array<{ path: string; content: string }> = []): string {
  return filesScript([
    { path: KUBEADM_YAML, content: docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n"), mode: 0o600 },
    ...extra.map((f) => ({ ...f, mode: 0o644 })),
  ]);
}

const filesCommand = (node: string, stdin: string) => ({
  type: CMD,
  name: `dev-lab-${node}-kubeadm-files`,
  props: { create: "# kubedos kubeadm files; content sha256 0\nsudo bash -s", stdin, logging: "none" },
});

const byKind = (docs: Doc[], kind: string): Doc => docs.find((d) => d.kind === kind)!;

// ---------------------------------------------------------------- reading the files script

describe("reading a command's files script (kubernetes.ts)", () => {
  it("finds every file the program's files script writes, under its final path", () => {
    const { files } = heredocFiles(filesStdin("cp-1"));
    assert.deepEqual(
      files.map((f) => f.path),
      renderedFiles("cp-1").map((f) => f.path),
    );
    assert.deepEqual(
      files.map((f) => f.content),
      renderedFiles("cp-1").map((f) => f.content.replace(/\n$/, "")),
    );
  });

  it("reads the kubeadm documents the program ships to the init node and to a joining node", () => {
    const kinds = (node: string) =>
      shippedDocuments({ stdin: filesStdin(node) })
        .docs.filter((d) => d.file === KUBEADM_YAML)
        .map((d) => d.kind);
    assert.deepEqual(kinds("cp-1"), ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"]);
    assert.deepEqual(kinds("cp-2"), ["JoinConfiguration", "KubeletConfiguration"]);
    assert.deepEqual(kinds("w-1"), ["JoinConfiguration", "KubeletConfiguration"]);
  });

  it("reads `cat <<'EOF' > path` and `tee path <<EOF` heredocs as well as `cat > path <<'EOF'`", () => {
    const script = [
      "cat <<'A' > /etc/a.yaml",
      "kind: A",
      "A",
      "sudo tee /etc/b.yaml >/dev/null <<B",
      "kind: B",
      "B",
      "bash -s <<'C'",
      "echo c",
      "C",
    ].join("\n");
    assert.deepEqual(heredocFiles(script).files, [
      { path: "/etc/a.yaml", content: "kind: A" },
      { path: "/etc/b.yaml", content: "kind: B" },
    ]);
  });
});

// ---------------------------------------------------------------- kubeadm-join-pinned

describe("kubeadm-join-pinned", () => {
  for (const node of ["cp-1", "cp-2", "w-1"]) {
    it(`accepts the kubeadm-files command of ${node} as the program renders it`, () => {
      assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, filesCommand(node, filesStdin(node))), []);
    });
  }

  it("accepts the program's join command (kubeadm join --config) and an explicit =false skip flag", () => {
    const create =
      "set -eu\nif [ -f /etc/kubernetes/kubelet.conf ]; then exit 0; fi\nsudo kubeadm join --config /etc/kubernetes/kubeadm.yaml";
    assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, { type: CMD, name: "dev-lab-w-1-kubeadm-join", props: { create } }), []);
    const explicit = "kubeadm join 10.113.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-unsafe-skip-ca-verification=false";
    assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, { type: CMD, name: "j", props: { create: explicit } }), []);
  });

  it("rejects a command that joins with --discovery-token-unsafe-skip-ca-verification", () => {
    const create = "kubeadm join 10.113.0.1:6443 --token abcdef.0123456789abcdef --discovery-token-unsafe-skip-ca-verification";
    assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, { type: CMD, name: "dev-lab-w-1-kubeadm-join", props: { create } }), [
      "dev-lab-w-1-kubeadm-join (command:remote:Command) must not skip CA verification: its create passes --discovery-token-unsafe-skip-ca-verification; pin the cluster CA with caCertHashes.",
    ]);
  });

  it("rejects a JoinConfiguration with unsafeSkipCAVerification: true, even next to a pin", () => {
    const docs = kubeadmDocs("w-1");
    byKind(docs, "JoinConfiguration").discovery.bootstrapToken.unsafeSkipCAVerification = true;
    assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, filesCommand("w-1", stdinOf(docs))), [
      "dev-lab-w-1-kubeadm-files (command:remote:Command) must not skip CA verification: its stdin sets unsafeSkipCAVerification: true; pin the cluster CA with caCertHashes.",
    ]);
  });

  it("rejects a JoinConfiguration without caCertHashes", () => {
    const docs = kubeadmDocs("cp-2");
    delete byKind(docs, "JoinConfiguration").discovery.bootstrapToken.caCertHashes;
    assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, filesCommand("cp-2", stdinOf(docs))), [
      "dev-lab-cp-2-kubeadm-files (command:remote:Command) must pin the cluster CA in the JoinConfiguration of /etc/kubernetes/kubeadm.yaml (stdin): discovery.bootstrapToken.caCertHashes needs a sha256:<64 hex> entry; found none.",
    ]);
  });

  it("rejects a JoinConfiguration whose only caCertHashes entry is a placeholder", () => {
    const docs = kubeadmDocs("w-1");
    byKind(docs, "JoinConfiguration").discovery.bootstrapToken.caCertHashes = ["sha256:REDACTED"];
    assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, filesCommand("w-1", stdinOf(docs))), [
      'dev-lab-w-1-kubeadm-files (command:remote:Command) must pin the cluster CA in the JoinConfiguration of /etc/kubernetes/kubeadm.yaml (stdin): discovery.bootstrapToken.caCertHashes needs a sha256:<64 hex> entry; found ["sha256:REDACTED"].',
    ]);
  });

  it("rejects a JoinConfiguration fed directly on stdin (kubeadm join --config /dev/stdin) without a pin", () => {
    const stdin = stringify({
      apiVersion: "kubeadm.k8s.io/v1beta4",
      kind: "JoinConfiguration",
      discovery: { bootstrapToken: { token: "x" } },
    });
    const r = { type: CMD, name: "j", props: { create: "sudo kubeadm join --config /dev/stdin", stdin } };
    assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, r), [
      "j (command:remote:Command) must pin the cluster CA in the JoinConfiguration of the stdin text (stdin): discovery.bootstrapToken.caCertHashes needs a sha256:<64 hex> entry; found none.",
    ]);
    const pinned = stringify({ kind: "JoinConfiguration", discovery: { bootstrapToken: { token: "x", caCertHashes: [HASH] } } });
    assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, { ...r, props: { ...r.props, stdin: pinned } }), []);
  });

  it("rejects a JoinConfiguration it cannot parse (it cannot vouch for the pin)", () => {
    const content = "kind: JoinConfiguration\ndiscovery: [unclosed";
    const error = parseAllDocuments(content)[0].errors[0].message.split("\n")[0];
    const stdin = filesScript([{ path: KUBEADM_YAML, content, mode: 0o600 }]);
    assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, filesCommand("w-1", stdin)), [
      `dev-lab-w-1-kubeadm-files (command:remote:Command) must ship a parseable JoinConfiguration in /etc/kubernetes/kubeadm.yaml (stdin): ${error}`,
    ]);
  });

  it("accepts a resource that is not a command when it carries the skip flag", () => {
    const r = {
      type: "kubernetes:core/v1:ConfigMap",
      name: "notes",
      props: { data: { x: "--discovery-token-unsafe-skip-ca-verification" } },
    };
    assert.deepEqual(runResourcePolicy(kubeadmJoinPinned, r), []);
  });
});

// ---------------------------------------------------------------- control-plane-joins-serial

const cmd = (name: string, deps: string[] = []): TestStackResource => ({
  type: CMD,
  name,
  urn: urnOf(CMD, name, "kubedos:cluster:Stage"),
  props: { create: `# ${name}` },
  dependencies: deps.map((d) => urnOf(CMD, d, "kubedos:cluster:Stage")),
});

/** The program's Stage 6 join graph for the dev spec, with `edit` applied to the command list. */
function joinGraph(spec: ClusterSpec = DEV_SPEC, commands?: TestStackResource[]): TestStackResource[] {
  return [
    clusterComponent(),
    specStage(spec),
    ...(commands ?? [
      cmd("dev-lab-cp-1-kubeadm-files"),
      cmd("dev-lab-cp-1-kubeadm-init", ["dev-lab-cp-1-kubeadm-files"]),
      cmd("dev-lab-join-window", ["dev-lab-cp-1-kubeadm-init"]),
      cmd("dev-lab-cp-2-kubeadm-join", ["dev-lab-join-window"]),
      cmd("dev-lab-cp-3-kubeadm-join", ["dev-lab-cp-2-kubeadm-join"]),
      cmd("dev-lab-w-1-kubeadm-join", ["dev-lab-cp-3-kubeadm-join"]),
      cmd("dev-lab-w-2-kubeadm-join", ["dev-lab-cp-3-kubeadm-join"]),
      cmd("dev-lab-w-3-kubeadm-join", ["dev-lab-cp-3-kubeadm-join"]),
    ]),
  ];
}

describe("control-plane-joins-serial", () => {
  it("accepts the program's shape: init, the join window, cp-2 then cp-3, the workers in parallel after cp-3", () => {
    assert.deepEqual(runStackPolicy(controlPlaneJoinsSerial, joinGraph()), []);
  });

  it("accepts control-plane joins ordered through another resource (a transitive dependency)", () => {
    const g = joinGraph(DEV_SPEC, [
      cmd("dev-lab-cp-1-kubeadm-init"),
      cmd("dev-lab-cp-2-kubeadm-join", ["dev-lab-cp-1-kubeadm-init"]),
      cmd("dev-lab-cp-2-membership", ["dev-lab-cp-2-kubeadm-join"]),
      cmd("dev-lab-cp-3-kubeadm-join", ["dev-lab-cp-2-membership"]),
      ...["w-1", "w-2", "w-3"].map((w) => cmd(`dev-lab-${w}-kubeadm-join`, ["dev-lab-cp-1-kubeadm-init"])),
    ]);
    assert.deepEqual(runStackPolicy(controlPlaneJoinsSerial, g), []);
  });

  it("rejects two control-plane joins that both wait only for the join window (naming the later one's urn)", () => {
    const g = joinGraph();
    const cp3 = g.find((r) => r.name === "dev-lab-cp-3-kubeadm-join")!;
    cp3.dependencies = [urnOf(CMD, "dev-lab-join-window", "kubedos:cluster:Stage")];
    assert.deepEqual(runStackPolicyDetailed(controlPlaneJoinsSerial, g), [
      {
        message:
          "Control-plane joins dev-lab-cp-2-kubeadm-join and dev-lab-cp-3-kubeadm-join must be ordered: neither depends on the other, so two etcd members could join at once; chain each control-plane join on the one before.",
        urn: cp3.urn,
      },
    ]);
  });

  it("rejects a worker join that does not wait for kubeadm init", () => {
    const g = joinGraph();
    g.find((r) => r.name === "dev-lab-w-3-kubeadm-join")!.dependencies = [];
    assert.deepEqual(runStackPolicy(controlPlaneJoinsSerial, g), [
      "Join dev-lab-w-3-kubeadm-join (command:remote:Command) must wait for kubeadm init: it does not depend, directly or through other resources, on dev-lab-cp-1-kubeadm-init.",
    ]);
  });

  it("rejects a graph with joins but no kubeadm init (once, not once per join)", () => {
    const g = joinGraph().filter((r) => r.name !== "dev-lab-cp-1-kubeadm-init");
    assert.deepEqual(runStackPolicy(controlPlaneJoinsSerial, g), [
      "The stack must run kubeadm init on cp-1, the first control plane: the graph has joins but no command dev-lab-cp-1-kubeadm-init.",
    ]);
  });

  it("rejects a graph in which a node of the spec has no join", () => {
    const g = joinGraph().filter((r) => r.name !== "dev-lab-w-2-kubeadm-join");
    assert.deepEqual(runStackPolicy(controlPlaneJoinsSerial, g), [
      "Node w-2 must join the cluster: the graph has no command dev-lab-w-2-kubeadm-join.",
    ]);
  });

  it("picks the init node with numeric collation (cp-2 before cp-10)", () => {
    const spec = edited(DEV_SPEC, (s) => {
      s.spec.nodes.inventory[0].name = "cp-10";
    });
    const ok = joinGraph(spec, [
      cmd("dev-lab-cp-2-kubeadm-init"),
      cmd("dev-lab-cp-3-kubeadm-join", ["dev-lab-cp-2-kubeadm-init"]),
      cmd("dev-lab-cp-10-kubeadm-join", ["dev-lab-cp-3-kubeadm-join"]),
      ...["w-1", "w-2", "w-3"].map((w) => cmd(`dev-lab-${w}-kubeadm-join`, ["dev-lab-cp-10-kubeadm-join"])),
    ]);
    assert.deepEqual(runStackPolicy(controlPlaneJoinsSerial, ok), []);
    // Sorting by plain string order would make cp-10 the init node.
    const lexical = joinGraph(spec, [
      cmd("dev-lab-cp-10-kubeadm-init"),
      cmd("dev-lab-cp-2-kubeadm-join", ["dev-lab-cp-10-kubeadm-init"]),
      cmd("dev-lab-cp-3-kubeadm-join", ["dev-lab-cp-2-kubeadm-join"]),
      ...["w-1", "w-2", "w-3"].map((w) => cmd(`dev-lab-${w}-kubeadm-join`, ["dev-lab-cp-3-kubeadm-join"])),
    ]);
    assert.deepEqual(runStackPolicy(controlPlaneJoinsSerial, lexical), [
      "Node cp-10 must join the cluster: the graph has no command dev-lab-cp-10-kubeadm-join.",
      "The stack must run kubeadm init on cp-2, the first control plane: the graph has joins but no command dev-lab-cp-2-kubeadm-init.",
    ]);
  });

  it("accepts a graph that has not reached Stage 6, and any graph when kubernetes.enabled is false", () => {
    assert.deepEqual(runStackPolicy(controlPlaneJoinsSerial, joinGraph(DEV_SPEC, [cmd("dev-lab-cp-1-firstboot")])), []);
    const off = edited(DEV_SPEC, (s) => {
      s.spec.kubernetes.enabled = false;
    });
    const unordered = [cmd("dev-lab-cp-2-kubeadm-join"), cmd("dev-lab-cp-3-kubeadm-join")];
    assert.deepEqual(runStackPolicy(controlPlaneJoinsSerial, joinGraph(off, unordered)), []);
  });
});

// ---------------------------------------------------------------- kubeadm-init-once

/** The init command as components/kubernetes/apply.ts builds it. */
const INIT_CREATE = [
  "# kubedos: kubeadm init on cp-1 (once; a re-run finds admin.conf and does nothing)",
  "set -eu",
  "if [ -f /etc/kubernetes/admin.conf ]; then echo 'kubeadm init: already initialised'; exit 0; fi",
  "sudo kubeadm init --config /etc/kubernetes/kubeadm.yaml --upload-certs --skip-token-print",
].join("\n");

const initCommand = (create: string, ignoreChanges: string[] = ["create"]) => ({
  type: CMD,
  name: "dev-lab-cp-1-kubeadm-init",
  props: { create, logging: "stdoutAndStderr" },
  opts: { ignoreChanges },
});

describe("kubeadm-init-once", () => {
  it("accepts the program's init command: ignoreChanges create, init behind an admin.conf test", () => {
    assert.deepEqual(runResourcePolicy(kubeadmInitOnce, initCommand(INIT_CREATE)), []);
  });

  it("rejects the init command when it does not ignore changes to create", () => {
    assert.deepEqual(runResourcePolicy(kubeadmInitOnce, initCommand(INIT_CREATE, [])), [
      "dev-lab-cp-1-kubeadm-init (command:remote:Command) must list create in ignoreChanges: a changed kubeadm init text would otherwise re-run init on a live control plane.",
    ]);
  });

  it("rejects an init without the admin.conf guard (a guard after init does not count)", () => {
    const unguarded = "set -eu\nsudo kubeadm init --config /etc/kubernetes/kubeadm.yaml\n[ -f /etc/kubernetes/admin.conf ]";
    assert.deepEqual(runResourcePolicy(kubeadmInitOnce, initCommand(unguarded)), [
      "dev-lab-cp-1-kubeadm-init (command:remote:Command) must guard kubeadm init in its create with a test for /etc/kubernetes/admin.conf, so a re-run on an initialised node does nothing.",
    ]);
  });

  it("rejects any other command that runs kubeadm init in its update, unguarded and without ignoreChanges", () => {
    const r = {
      type: CMD,
      name: "bootstrap",
      props: { create: "true", update: "sudo kubeadm init --config /etc/kubernetes/kubeadm.yaml" },
    };
    assert.deepEqual(runResourcePolicy(kubeadmInitOnce, r), [
      "bootstrap (command:remote:Command) must list create in ignoreChanges: a changed kubeadm init text would otherwise re-run init on a live control plane.",
      "bootstrap (command:remote:Command) must guard kubeadm init in its update with a test for /etc/kubernetes/admin.conf, so a re-run on an initialised node does nothing.",
    ]);
  });

  it("accepts the files command of the init node (kubeadm init phase upload-config; 'kubeadm init' only in comments and files)", () => {
    const update = [
      "# kubedos kubeadm files; content sha256 0",
      "sudo bash -s",
      "if [ -f /etc/kubernetes/kubelet.conf ]; then",
      "  sudo kubeadm init phase upload-config kubeadm --config /etc/kubernetes/kubeadm.yaml",
      "fi",
    ].join("\n");
    const r = filesCommand("cp-1", filesStdin("cp-1"));
    assert.match(r.props.stdin, /# kubeadm init on the first control plane/);
    assert.deepEqual(runResourcePolicy(kubeadmInitOnce, { ...r, props: { ...r.props, update } }), []);
  });

  it("accepts the join window (kubeadm init phase upload-certs)", () => {
    const create = 'sudo kubeadm init phase upload-certs --upload-certs --config "$cfg" >/dev/null';
    assert.deepEqual(runResourcePolicy(kubeadmInitOnce, { type: CMD, name: "dev-lab-join-window", props: { create } }), []);
  });
});

// ---------------------------------------------------------------- apiserver-hardening

const FILES_CP1 = "dev-lab-cp-1-kubeadm-files (command:remote:Command)";
const IN_CLUSTER_CONFIG = "in the ClusterConfiguration of /etc/kubernetes/kubeadm.yaml (stdin)";
const IN_KUBELET_CONFIG = "in the KubeletConfiguration of /etc/kubernetes/kubeadm.yaml (stdin)";

/** cp-1's kubeadm.yaml with the ClusterConfiguration edited. */
function clusterConfigWith(edit: (c: Doc) => void) {
  const docs = kubeadmDocs("cp-1");
  edit(byKind(docs, "ClusterConfiguration"));
  return filesCommand("cp-1", stdinOf(docs));
}

/** Set (or, with undefined, drop) one v1beta4 extraArg. */
function setArg(component: Doc, name: string, value: string | undefined): void {
  const args = component.extraArgs as Array<{ name: string; value: string }>;
  const kept = args.filter((a) => a.name !== name);
  component.extraArgs = value === undefined ? kept : [...kept, { name, value }];
}

describe("apiserver-hardening", () => {
  for (const node of ["cp-1", "cp-2", "w-1"]) {
    it(`accepts the kubeadm-files command of ${node} as the program renders it (configuration and patches)`, () => {
      assert.deepEqual(runResourcePolicy(apiserverHardening, filesCommand(node, filesStdin(node))), []);
    });
  }

  const FLAG_CASES: Array<[what: string, component: string, flag: string, value: string | undefined, want: string, found: string]> = [
    ["anonymous auth on", "apiServer", "anonymous-auth", "true", "anonymous-auth=false", "anonymous-auth=true"],
    ["no anonymous-auth", "apiServer", "anonymous-auth", undefined, "anonymous-auth=false", "no anonymous-auth"],
    [
      "authorization without Node",
      "apiServer",
      "authorization-mode",
      "RBAC",
      "authorization-mode with Node and RBAC",
      "authorization-mode=RBAC",
    ],
    [
      "AlwaysAllow",
      "apiServer",
      "authorization-mode",
      "AlwaysAllow",
      "authorization-mode with Node and RBAC",
      "authorization-mode=AlwaysAllow",
    ],
    [
      "no NodeRestriction",
      "apiServer",
      "enable-admission-plugins",
      "PodSecurity",
      "enable-admission-plugins with NodeRestriction",
      "enable-admission-plugins=PodSecurity",
    ],
    [
      "NodeRestriction disabled",
      "apiServer",
      "disable-admission-plugins",
      "NodeRestriction",
      "disable-admission-plugins without NodeRestriction",
      "disable-admission-plugins=NodeRestriction",
    ],
    ["profiling on", "apiServer", "profiling", "true", "profiling=false", "profiling=true"],
    ["no audit log", "apiServer", "audit-log-path", undefined, "audit-log-path", "no audit-log-path"],
    [
      "no encryption at rest",
      "apiServer",
      "encryption-provider-config",
      undefined,
      "encryption-provider-config",
      "no encryption-provider-config",
    ],
    ["controller-manager profiling", "controllerManager", "profiling", undefined, "profiling=false", "no profiling"],
    ["scheduler profiling", "scheduler", "profiling", "true", "profiling=false", "profiling=true"],
  ];
  for (const [what, component, flag, value, want, found] of FLAG_CASES) {
    it(`rejects a ClusterConfiguration with ${what} (${component}.extraArgs ${flag})`, () => {
      const r = clusterConfigWith((c) => setArg(c[component], flag, value));
      assert.deepEqual(runResourcePolicy(apiserverHardening, r), [
        `${FILES_CP1} must set ${component}.extraArgs ${want} ${IN_CLUSTER_CONFIG}; found ${found}.`,
      ]);
    });
  }

  it("reads v1beta3 extraArgs (a map): accepts the hardened set, rejects anonymous-auth true", () => {
    const v1beta3 = (anonymous: string) =>
      clusterConfigWith((c) => {
        c.apiVersion = "kubeadm.k8s.io/v1beta3";
        for (const k of ["apiServer", "controllerManager", "scheduler"])
          c[k].extraArgs = Object.fromEntries((c[k].extraArgs as Array<{ name: string; value: string }>).map((a) => [a.name, a.value]));
        c.apiServer.extraArgs["anonymous-auth"] = anonymous;
      });
    assert.deepEqual(runResourcePolicy(apiserverHardening, v1beta3("false")), []);
    assert.deepEqual(runResourcePolicy(apiserverHardening, v1beta3("true")), [
      `${FILES_CP1} must set apiServer.extraArgs anonymous-auth=false ${IN_CLUSTER_CONFIG}; found anonymous-auth=true.`,
    ]);
  });

  it("takes the last of repeated v1beta4 extraArgs, as the API server does", () => {
    const r = clusterConfigWith((c) => c.apiServer.extraArgs.push({ name: "anonymous-auth", value: "true" }));
    assert.deepEqual(runResourcePolicy(apiserverHardening, r), [
      `${FILES_CP1} must set apiServer.extraArgs anonymous-auth=false ${IN_CLUSTER_CONFIG}; found anonymous-auth=true.`,
    ]);
  });

  it("rejects a KubeletConfiguration with the read-only port open, anonymous auth on and AlwaysAllow authorization", () => {
    const docs = kubeadmDocs("w-1");
    const k = byKind(docs, "KubeletConfiguration");
    k.readOnlyPort = 10255;
    k.authentication.anonymous.enabled = true;
    k.authorization.mode = "AlwaysAllow";
    const r = filesCommand("w-1", stdinOf(docs));
    const who = "dev-lab-w-1-kubeadm-files (command:remote:Command)";
    assert.deepEqual(runResourcePolicy(apiserverHardening, r), [
      `${who} must set readOnlyPort: 0 ${IN_KUBELET_CONFIG}; found readOnlyPort: 10255.`,
      `${who} must set authentication.anonymous.enabled: false ${IN_KUBELET_CONFIG}; found authentication.anonymous.enabled: true.`,
      `${who} must set authorization.mode: Webhook ${IN_KUBELET_CONFIG}; found authorization.mode: "AlwaysAllow".`,
    ]);
  });

  it("rejects a KubeletConfiguration that leaves the hardened fields to defaults", () => {
    const docs = kubeadmDocs("cp-2");
    const k = byKind(docs, "KubeletConfiguration");
    delete k.readOnlyPort;
    delete k.authentication;
    delete k.authorization;
    const who = "dev-lab-cp-2-kubeadm-files (command:remote:Command)";
    assert.deepEqual(runResourcePolicy(apiserverHardening, filesCommand("cp-2", stdinOf(docs))), [
      `${who} must set readOnlyPort: 0 ${IN_KUBELET_CONFIG}; found no readOnlyPort.`,
      `${who} must set authentication.anonymous.enabled: false ${IN_KUBELET_CONFIG}; found no authentication.anonymous.enabled.`,
      `${who} must set authorization.mode: Webhook ${IN_KUBELET_CONFIG}; found no authorization.mode.`,
    ]);
  });

  it("rejects kubeadm patches that undo the configuration (kubelet merge and JSON patches, an API server flag)", () => {
    const dir = "/etc/kubernetes/kubeadm-patches";
    const r = filesCommand(
      "cp-2",
      stdinOf(kubeadmDocs("cp-2"), [
        { path: `${dir}/kubeletconfiguration+merge.yaml`, content: "address: 10.113.0.145\nreadOnlyPort: 10255\n" },
        {
          path: `${dir}/kubeletconfiguration1+json.yaml`,
          content: stringify([{ op: "add", path: "/authorization", value: { mode: "AlwaysAllow" } }]),
        },
        {
          path: `${dir}/kube-apiserver+json.yaml`,
          content: stringify([{ op: "add", path: "/spec/containers/0/command/-", value: "--anonymous-auth=true" }]),
        },
      ]),
    );
    const who = "dev-lab-cp-2-kubeadm-files (command:remote:Command)";
    assert.deepEqual(runResourcePolicy(apiserverHardening, r), [
      `${who} must not weaken the kubelet through the kubeadm patch ${dir}/kubeletconfiguration+merge.yaml (stdin): it sets readOnlyPort: 10255, where 0 is required.`,
      `${who} must not weaken the kubelet through the kubeadm patch ${dir}/kubeletconfiguration1+json.yaml (stdin): it sets authorization.mode: "AlwaysAllow", where Webhook is required.`,
      `${who} must not weaken kube-apiserver through the kubeadm patch ${dir}/kube-apiserver+json.yaml (stdin): it sets --anonymous-auth=true, where anonymous-auth=false is required.`,
    ]);
  });

  it("rejects a ClusterConfiguration or a patch it cannot parse", () => {
    const content = "kind: ClusterConfiguration\napiServer: {extraArgs: [";
    const error = parseAllDocuments(content)[0].errors[0].message.split("\n")[0];
    const r = filesCommand(
      "cp-1",
      filesScript([
        { path: KUBEADM_YAML, content, mode: 0o600 },
        { path: "/etc/kubernetes/kubeadm-patches/kube-apiserver+json.yaml", content: "- op: [add\n", mode: 0o644 },
      ]),
    );
    assert.deepEqual(runResourcePolicy(apiserverHardening, r), [
      `${FILES_CP1} must ship a parseable ClusterConfiguration in /etc/kubernetes/kubeadm.yaml (stdin): ${error}`,
      `${FILES_CP1} must ship a parseable kubeadm patch in /etc/kubernetes/kubeadm-patches/kube-apiserver+json.yaml (stdin).`,
    ]);
  });
});

// ---------------------------------------------------------------- cilium-native-routing

const release = (name: string, chart: string, values: Record<string, unknown>, extra: Record<string, unknown> = {}): TestStackResource => ({
  type: RELEASE,
  name,
  props: { name: name.replace(/^(dev-lab|hz-01)-/, ""), chart, version: "1.17.6", values, ...extra },
});

const ciliumValues = (plan: Plan = PLAN, spec: ClusterSpec = DEV_SPEC, lb?: string) =>
  structuredClone(ciliumRelease(plan, spec, { serviceMonitors: false, ...(lb ? { loadBalancerAddress: lb } : {}) }).values);

const withSpec = (spec: ClusterSpec, ...rs: TestStackResource[]): TestStackResource[] => [clusterComponent(), specStage(spec), ...rs];

describe("cilium-native-routing", () => {
  it("accepts the program's Cilium release for the dev stack (VIP on wg3, native routing over the pod subnet)", () => {
    assert.deepEqual(runStackPolicy(ciliumNativeRouting, withSpec(DEV_SPEC, release("dev-lab-cilium", "cilium", ciliumValues()))), []);
  });

  it("accepts the program's Cilium release for the Hetzner fixture (the load balancer at underlay host index 3), and an OCI chart reference", () => {
    const lb = hetznerLoadBalancerAddress(HETZNER_PLAN)!;
    const values = ciliumValues(HETZNER_PLAN, HETZNER_SPEC, lb);
    assert.deepEqual(runStackPolicy(ciliumNativeRouting, withSpec(HETZNER_SPEC, release("hz-01-cilium", "cilium", values))), []);
    const oci = release("hz-01-cilium", "oci://charts.example/cilium/cilium", values);
    assert.deepEqual(runStackPolicy(ciliumNativeRouting, withSpec(HETZNER_SPEC, oci)), []);
  });

  it("rejects a Cilium release with kube-proxy kept, tunnel routing, another routing CIDR and the API host on the uplink", () => {
    const v = ciliumValues();
    v.kubeProxyReplacement = false;
    v.routingMode = "tunnel";
    v.ipv4NativeRoutingCIDR = "10.0.0.0/8";
    v.k8sServiceHost = "10.10.110.89";
    const r = release("dev-lab-cilium", "cilium", v);
    const who = "dev-lab-cilium (kubernetes:helm.sh/v3:Release)";
    assert.deepEqual(runStackPolicyDetailed(ciliumNativeRouting, withSpec(DEV_SPEC, r)), [
      {
        message: `${who} must set values.kubeProxyReplacement to true (kubeadm installs no kube-proxy); found false.`,
        urn: urnOf(RELEASE, "dev-lab-cilium"),
      },
      {
        message: `${who} must set values.routingMode to "native" (the spec declares no tunnel: pods route over wg3); found "tunnel".`,
        urn: urnOf(RELEASE, "dev-lab-cilium"),
      },
      {
        message: `${who} must set values.ipv4NativeRoutingCIDR to the pod subnet 10.244.0.0/16; found "10.0.0.0/8".`,
        urn: urnOf(RELEASE, "dev-lab-cilium"),
      },
      {
        message: `${who} must set values.k8sServiceHost to an address inside the wg3 plane (10.113.0.0/24); found "10.10.110.89".`,
        urn: urnOf(RELEASE, "dev-lab-cilium"),
      },
    ]);
  });

  it("rejects a Cilium release that leaves the settings to the chart's defaults", () => {
    const who = "dev-lab-cilium (kubernetes:helm.sh/v3:Release)";
    assert.deepEqual(runStackPolicy(ciliumNativeRouting, withSpec(DEV_SPEC, release("dev-lab-cilium", "cilium", {}))), [
      `${who} must set values.kubeProxyReplacement to true (kubeadm installs no kube-proxy); found nothing.`,
      `${who} must set values.routingMode to "native" (the spec declares no tunnel: pods route over wg3); found nothing.`,
      `${who} must set values.ipv4NativeRoutingCIDR to the pod subnet 10.244.0.0/16; found nothing.`,
      `${who} must set values.k8sServiceHost to an address inside the wg3 plane (10.113.0.0/24); found nothing.`,
    ]);
  });

  it("rejects a Hetzner Cilium release that points at a control plane's own address instead of the load balancer", () => {
    const lb = hetznerLoadBalancerAddress(HETZNER_PLAN)!;
    const v = ciliumValues(HETZNER_PLAN, HETZNER_SPEC, lb);
    v.k8sServiceHost = "10.103.0.20";
    assert.deepEqual(runStackPolicy(ciliumNativeRouting, withSpec(HETZNER_SPEC, release("hz-01-cilium", "cilium", v))), [
      `hz-01-cilium (kubernetes:helm.sh/v3:Release) must set values.k8sServiceHost to the Hetzner load balancer ${lb}; found "10.103.0.20".`,
    ]);
  });

  it("accepts releases of other charts, and a stack without the rendered spec", () => {
    assert.deepEqual(
      runStackPolicy(ciliumNativeRouting, withSpec(DEV_SPEC, release("dev-lab-loki", "loki", { routingMode: "tunnel" }))),
      [],
    );
    assert.deepEqual(runStackPolicy(ciliumNativeRouting, [clusterComponent(), release("dev-lab-cilium", "cilium", {})]), []);
  });
});

// ---------------------------------------------------------------- observability-plane-bound

/** The program's observability releases for the dev stack, as release resources (values deep-copied to break). */
function obsReleases(): Record<string, TestStackResource> {
  return Object.fromEntries(
    observabilityReleases(PLAN, DEV_SPEC).map((r) => [
      r.name,
      release(`dev-lab-${r.name}`, r.chart, structuredClone(r.values), { namespace: r.namespace }),
    ]),
  );
}

describe("observability-plane-bound", () => {
  it("accepts the program's kube-prometheus-stack, Grafana and Loki releases (ClusterIP + externalIPs on wg2, admin.existingSecret)", () => {
    const rs = Object.values(obsReleases());
    assert.equal(rs.length, 3);
    assert.deepEqual(runStackPolicy(observabilityPlaneBound, withSpec(DEV_SPEC, ...rs)), []);
  });

  it("rejects a LoadBalancer Service in Grafana's values and a NodePort Service among Loki's extra objects", () => {
    const rs = obsReleases();
    (rs.grafana.props.values as Doc).service.type = "LoadBalancer";
    (rs.loki.props.values as Doc).extraObjects[0].spec.type = "NodePort";
    assert.deepEqual(runStackPolicy(observabilityPlaneBound, withSpec(DEV_SPEC, rs.grafana, rs.loki)), [
      "dev-lab-grafana (kubernetes:helm.sh/v3:Release) must not create a Service of type LoadBalancer (values.service.type); the observability stack is reachable only on wg2, through ClusterIP externalIPs.",
      "dev-lab-loki (kubernetes:helm.sh/v3:Release) must not create a Service of type NodePort (values.extraObjects.0.spec.type); the observability stack is reachable only on wg2, through ClusterIP externalIPs.",
    ]);
  });

  it("rejects externalIPs and a loadBalancerIP outside the bind plane", () => {
    const rs = obsReleases();
    const prom = rs["kube-prometheus-stack"].props.values as Doc;
    prom.prometheus.service.externalIPs = ["10.112.0.89", "10.113.0.89"];
    prom.prometheus.service.loadBalancerIP = "10.10.110.200";
    const who = "dev-lab-kube-prometheus-stack (kubernetes:helm.sh/v3:Release)";
    assert.deepEqual(runStackPolicyDetailed(observabilityPlaneBound, withSpec(DEV_SPEC, rs["kube-prometheus-stack"])), [
      {
        message: `${who} must keep "10.113.0.89" at values.prometheus.service.externalIPs.1 inside the bind plane wg2 (10.112.0.0/24).`,
        urn: urnOf(RELEASE, "dev-lab-kube-prometheus-stack"),
      },
      {
        message: `${who} must keep "10.10.110.200" at values.prometheus.service.loadBalancerIP inside the bind plane wg2 (10.112.0.0/24).`,
        urn: urnOf(RELEASE, "dev-lab-kube-prometheus-stack"),
      },
    ]);
  });

  it("rejects a Grafana admin password literal in place of admin.existingSecret", () => {
    const rs = obsReleases();
    const v = rs.grafana.props.values as Record<string, unknown>;
    delete v.admin;
    v.adminPassword = "hunter2";
    assert.deepEqual(runStackPolicy(observabilityPlaneBound, withSpec(DEV_SPEC, rs.grafana)), [
      "dev-lab-grafana (kubernetes:helm.sh/v3:Release) must not carry an admin password in values.adminPassword; take Grafana's credentials from a Secret (admin.existingSecret).",
      "dev-lab-grafana (kubernetes:helm.sh/v3:Release) must take Grafana's admin credentials from a Secret: set values.admin.existingSecret.",
    ]);
  });

  it("rejects kube-prometheus-stack when it turns its bundled Grafana on without a Secret", () => {
    const rs = obsReleases();
    (rs["kube-prometheus-stack"].props.values as Doc).grafana = { enabled: true };
    assert.deepEqual(runStackPolicy(observabilityPlaneBound, withSpec(DEV_SPEC, rs["kube-prometheus-stack"])), [
      "dev-lab-kube-prometheus-stack (kubernetes:helm.sh/v3:Release) must take Grafana's admin credentials from a Secret: set values.grafana.admin.existingSecret.",
    ]);
  });

  it("accepts a release of another chart that publishes a LoadBalancer", () => {
    const r = release("dev-lab-ingress", "ingress-nginx", { controller: { service: { type: "LoadBalancer" } } });
    assert.deepEqual(runStackPolicy(observabilityPlaneBound, withSpec(DEV_SPEC, r)), []);
  });
});

// ---------------------------------------------------------------- node-reset-gated (destructive-commands)

describe("node-reset-gated (destructive-commands on a join's delete)", () => {
  const join = (): TestStackResource => ({
    type: CMD,
    name: "dev-lab-w-1-kubeadm-join",
    props: { create: "sudo kubeadm join --config /etc/kubernetes/kubeadm.yaml", delete: "sudo kubeadm reset --force" },
  });
  const allowReset = (v: boolean) =>
    edited(DEV_SPEC, (s) => {
      s.spec.kubernetes.allowReset = v;
    });

  it("rejects a join whose delete runs kubeadm reset while allowReset is false", () => {
    assert.deepEqual(runStackPolicy(destructiveCommands, withSpec(allowReset(false), join())), [
      "Command dev-lab-w-1-kubeadm-join (command:remote:Command) must not run kubeadm reset in delete (`kubeadm reset`: wipes the node's Kubernetes state and certificates) while allowReset is false; remove it or opt in with allowReset: true.",
    ]);
  });

  it("accepts the same join when allowReset is true", () => {
    assert.deepEqual(runStackPolicy(destructiveCommands, withSpec(allowReset(true), join())), []);
  });
});
