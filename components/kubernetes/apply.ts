/**
 * Stages 4–6 in the Pulumi graph: gated enrollment, platform converge, and Kubernetes HA with
 * Cilium and the observability baseline (seed 001 §7.3, §13, §14.1).
 *
 * The join order is structural: `kubeadm init` runs once on the first control plane; the other
 * control planes join one at a time (each join depends on the one before: etcd admits one learner
 * at a time); workers join in parallel once the control-plane chain is complete. Every command's
 * text is constant or a digest, and the secret files travel on stdin, so a changed configuration
 * re-applies as an update of the files command — never as a replacement of init or a join.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import type { ChartRelease } from "../cni/release";
import { createKit, type KitStageResult } from "../kit/apply";
import { OBSERVABILITY_NAMESPACE } from "../observability/stack";
import { stage6Releases } from "./releases";
import type { Plan, PlanNode } from "../plan/plan";
import { deriveBytes } from "../secrets/derive";
import type { ClusterSpec } from "../spec/schema";
import type { Stage } from "../stage";
import { sshConnection } from "../substrate/connection";
import type { SubstrateNode } from "../substrate/types";
import { resolveKubernetes, type KubernetesLock } from "../supplychain/locks";
import { renderConvergeScript } from "./converge";
import { API_SERVER_PORT, initNode, kubeAddress } from "./kubeadm";
import { clusterCaKeyPem, clusterCaPin, verifyCaBundle } from "./pki";
import { renderNodeKubernetes } from "./render-node";

export interface KubernetesStagesInput {
  plan: Plan;
  spec: ClusterSpec;
  nodes: SubstrateNode[];
  seed: pulumi.Output<string>;
  sshKey: pulumi.Input<string>;
  /** PEM bundle of the cluster CA certificate (offline-ca: intermediate then root; pinned-ca: the CA). */
  caBundlePem?: string;
  stages: { enrollment: Stage; converge: Stage; kubernetes: Stage };
}

export interface KubernetesStagesResult {
  enrollment: Map<string, command.remote.Command>;
  converge: Map<string, command.remote.Command>;
  init: command.remote.Command;
  /** Joins by node, in join order (control planes first). */
  joins: Map<string, command.remote.Command>;
  /** Admin kubeconfig (secret), server = the first control plane's address on the Kubernetes plane. */
  kubeconfig: pulumi.Output<string>;
  provider: k8s.Provider;
  releases: k8s.helm.v3.Release[];
  /** The CA pin every join carries. */
  caPin: pulumi.Output<string>;
  /** The bootstrap kit (Flux HelmReleases, readiness probes). */
  kit: KitStageResult;
}

const byName = (a: string, b: string): number => a.localeCompare(b, "en", { numeric: true });
const sha = (s: string): string => createHash("sha256").update(s).digest("hex");
const EOF = "KUBEDOS_FILE_EOF";

/** A root shell script that writes files (content on its heredocs) with their modes. */
export function filesScript(files: Array<{ path: string; content: string; mode: number }>): string {
  const out = ["set -eu", "umask 077"];
  for (const f of files) {
    if (f.content.split("\n").includes(EOF)) throw new Error(`${f.path} contains the heredoc delimiter`);
    const mode = f.mode.toString(8).padStart(4, "0");
    out.push(
      `install -d -m 0755 '${path.posix.dirname(f.path)}'`,
      `cat > '${f.path}.kubedos-new' <<'${EOF}'`,
      f.content.replace(/\n$/, ""),
      EOF,
      `chmod ${mode} '${f.path}.kubedos-new'`,
      `mv -f '${f.path}.kubedos-new' '${f.path}'`,
    );
  }
  return out.join("\n") + "\n";
}

/** The command text of a stdin-fed step: constant but for the digest, so a change is an update. */
const stdinCommand = (what: string, digest: string): string => `# kubedos ${what}; content sha256 ${digest}\nsudo bash -s`;

/** Where each per-node kubeadm artifact lives on the node. */
const NODE_FILE: Record<string, string> = {
  "kubeadm.yaml": "/etc/kubernetes/kubeadm.yaml",
  "audit-policy.yaml": "/etc/kubernetes/audit-policy.yaml",
  "encryption-config.yaml": "/etc/kubernetes/encryption-config.yaml",
};
const nodePath = (rel: string): string =>
  NODE_FILE[rel] ?? (rel.startsWith("kubeadm-patches/") ? `/etc/kubernetes/kubeadm-patches/${rel.slice(16)}` : `/etc/kubedos/${rel}`);

export function createKubernetesStages(input: KubernetesStagesInput): KubernetesStagesResult {
  const { plan, spec, seed, sshKey } = input;
  const cluster = plan.cluster.name;
  const lock: KubernetesLock = resolveKubernetes(spec.spec.kubernetes.version);
  const model = spec.spec.security.bootstrap.model;
  const conn = new Map(input.nodes.map((n) => [n.name, sshConnection(n.ssh, sshKey)]));
  const planNode = (name: string): PlanNode => plan.nodes.find((n) => n.name === name)!;
  const first = initNode(plan);
  const caPin = pulumi.unsecret(seed.apply((s) => clusterCaPin(s, cluster)));

  // ---- Stage 4: gated enrollment. Each node records what it may join and proves the Kubernetes
  // plane reaches every control plane (a WireGuard handshake with each) before anything joins.
  const enrollment = new Map<string, command.remote.Command>();
  const kubePlane = plan.planes.find((p) => p.purpose === "kubernetes-backend")!.name;
  const cps = plan.nodes.filter((n) => n.role === "control-plane").sort((a, b) => byName(a.name, b.name));
  for (const sn of input.nodes) {
    const node = planNode(sn.name);
    const record = caPin.apply((pin) =>
      JSON.stringify({
        cluster,
        node: node.name,
        role: node.role,
        caPin: pin,
        joinWindowMinutes: spec.spec.security.enrollment.joinWindowMinutes,
        endpoint: plan.controlPlaneEndpoint ?? null,
      }),
    );
    const script = record.apply((r) =>
      [
        `# kubedos enrollment of ${node.name}; record sha256 ${sha(r)}`,
        "set -eu",
        "sudo install -d -m 0755 /etc/kubedos",
        `printf '%s\\n' '${r.replace(/'/g, `'\\''`)}' | sudo tee /etc/kubedos/enrollment.json >/dev/null`,
        // Reachable matrix: every control plane's peer on the Kubernetes plane has a handshake.
        `missing=0`,
        // Exact match of the peer's /32 among its allowed IPs (a comma list), not a regex.
        ...cps
          .filter((c) => c.name !== node.name)
          .map(
            (c) =>
              `sudo wg show ${kubePlane} dump | awk -v ip='${kubeAddress(plan, c)}/32' 'index("," $4 ",", "," ip ",") && $5 > 0 {f=1} END {exit !f}' || { echo "no ${kubePlane} handshake with ${c.name}" >&2; missing=1; }`,
          ),
        `[ "$missing" = 0 ]`,
      ].join("\n"),
    );
    enrollment.set(
      node.name,
      new command.remote.Command(
        `${cluster}-${node.name}-enroll`,
        { connection: conn.get(node.name)!, create: script, update: script, logging: "stdoutAndStderr" },
        input.stages.enrollment.childOpts(),
      ),
    );
  }

  // ---- Stage 5: platform converge (runtime, packages, modules, sysctls, the API load balancer).
  const converge = new Map<string, command.remote.Command>();
  for (const sn of input.nodes) {
    const script = renderConvergeScript({ plan, node: sn.name, kubernetes: lock });
    converge.set(
      sn.name,
      new command.remote.Command(
        `${cluster}-${sn.name}-converge`,
        {
          connection: conn.get(sn.name)!,
          create: stdinCommand("converge", sha(script)),
          update: stdinCommand("converge", sha(script)),
          stdin: script,
          logging: "stdoutAndStderr",
        },
        input.stages.converge.childOpts(),
      ),
    );
  }

  // ---- Stage 6: kubeadm. Files first (the only thing a config change updates).
  const stage = input.stages.kubernetes;
  const caFiles = caBundleFiles(input, caPin);
  if (!input.caBundlePem && model !== "to-fu") {
    pulumi.log.warn(
      `security.bootstrap.model is ${model} but kubedos:clusterCaBundle is not set: kubeadm init will refuse to run until the cluster CA ` +
        "certificate (signed from pki/cluster-ca.csr of `kubedos render`) is supplied — the joins pin the seed-derived key",
      stage,
    );
  }
  const files = new Map<string, command.remote.Command>();
  // The init node first: the other control planes' files commands wait for its update.
  const initFirst = [...input.nodes].sort((a, b) => Number(b.name === first.name) - Number(a.name === first.name));
  for (const sn of initFirst) {
    const node = planNode(sn.name);
    const content = pulumi.secret(
      pulumi.all([seed, caFiles]).apply(([s, ca]) => {
        const rendered = renderNodeKubernetes({ plan, spec, node, seed: s });
        const list = rendered.map((f) => ({ path: nodePath(f.path), content: f.content, mode: f.mode }));
        if (node.name === first.name && ca) list.push(...ca);
        return filesScript(list);
      }),
    );
    const digest = pulumi.unsecret(content.apply(sha));
    // On update, a control plane that is already part of the cluster regenerates its static pods
    // from the new configuration — the idempotent update path; init and joins never re-run.
    const update = digest.apply((d) =>
      [
        "set -eu",
        stdinCommand("kubeadm files", d),
        ...(node.role === "control-plane"
          ? [
              "if [ -f /etc/kubernetes/kubelet.conf ]; then",
              ...(node.name === first.name
                ? [
                    // The cluster-wide copies every node reads: kubeadm-config and kubelet-config.
                    "  sudo kubeadm init phase upload-config kubeadm --config /etc/kubernetes/kubeadm.yaml",
                    "  sudo kubeadm init phase upload-config kubelet --config /etc/kubernetes/kubeadm.yaml",
                  ]
                : []),
              "  sudo kubeadm upgrade node phase control-plane --patches /etc/kubernetes/kubeadm-patches",
              "fi",
            ]
          : []),
      ].join("\n"),
    );
    files.set(
      node.name,
      new command.remote.Command(
        `${cluster}-${node.name}-kubeadm-files`,
        {
          connection: conn.get(node.name)!,
          create: digest.apply((d) => stdinCommand("kubeadm files", d)),
          update,
          stdin: content,
          logging: "none",
        },
        // Other control planes update after the first has uploaded the new configuration, so they
        // regenerate their static pods from it rather than from the old one.
        stage.childOpts({
          additionalSecretOutputs: ["stdin", "stdout", "stderr"],
          ...(node.role === "control-plane" && node.name !== first.name ? { dependsOn: [files.get(first.name)!] } : {}),
        }),
      ),
    );
  }

  // init: once. The text never changes, so no spec change can re-run or replace it.
  const init = new command.remote.Command(
    `${cluster}-${first.name}-kubeadm-init`,
    {
      connection: conn.get(first.name)!,
      create: [
        `# kubedos: kubeadm init on ${first.name} (once; a re-run finds admin.conf and does nothing)`,
        "set -eu",
        "if [ -f /etc/kubernetes/admin.conf ]; then echo 'kubeadm init: already initialised'; exit 0; fi",
        ...(model === "to-fu"
          ? []
          : [
              "[ -s /etc/kubernetes/pki/ca.crt ] && [ -s /etc/kubernetes/pki/ca.key ] || " +
                "{ echo 'kubeadm init refused: no cluster CA certificate (set kubedos:clusterCaBundle)' >&2; exit 1; }",
            ]),
        "sudo kubeadm init --config /etc/kubernetes/kubeadm.yaml --upload-certs --skip-token-print",
      ].join("\n"),
      logging: "stdoutAndStderr",
    },
    stage.childOpts({ dependsOn: [files.get(first.name)!], ignoreChanges: ["create"] }),
  );

  // The join window: the bootstrap token (TTL joinWindowMinutes) and the uploaded control-plane
  // certificates are re-issued whenever the set of joining nodes changes, so a node added months
  // later joins within a fresh window instead of a long-lived token.
  const joiners = plan.nodes.filter((n) => n.name !== first.name).sort((a, b) => byName(a.name, b.name));
  const window = new command.remote.Command(
    `${cluster}-join-window`,
    {
      connection: conn.get(first.name)!,
      create: joinWindowScript(),
      update: joinWindowScript(),
      triggers: joiners.map((n) => n.name),
      logging: "none",
    },
    stage.childOpts({ dependsOn: [init] }),
  );

  // Control planes one at a time, then workers in parallel.
  const joins = new Map<string, command.remote.Command>();
  let previous: pulumi.Resource = window;
  for (const cp of joiners.filter((n) => n.role === "control-plane")) {
    const j = joinCommand(cluster, cp, conn.get(cp.name)!, stage, [previous, files.get(cp.name)!], plan.boundaries.allowReset);
    joins.set(cp.name, j);
    previous = j;
  }
  const cpChainEnd = previous;
  for (const w of joiners.filter((n) => n.role === "worker")) {
    joins.set(w.name, joinCommand(cluster, w, conn.get(w.name)!, stage, [cpChainEnd, files.get(w.name)!], plan.boundaries.allowReset));
  }

  // Membership: removing a node from the spec drains it and removes it from the cluster (and
  // from etcd for a control plane) without touching its disks — reset needs allowReset.
  const membership: command.remote.Command[] = [];
  for (const n of joiners) {
    membership.push(
      new command.remote.Command(
        `${cluster}-${n.name}-membership`,
        {
          connection: conn.get(first.name)!,
          create: `echo 'kubedos: ${n.name} is a member of ${cluster}'`,
          delete: removeMemberScript(n),
          logging: "stdoutAndStderr",
        },
        stage.childOpts({ dependsOn: [joins.get(n.name)!] }),
      ),
    );
  }

  // Pod CIDRs from the plan (kube-controller-manager allocates none: allocate-node-cidrs=false),
  // so the Kubernetes plane's WireGuard peers and Cilium agree on where each node's pods live.
  const podCidrs = new command.remote.Command(
    `${cluster}-pod-cidrs`,
    {
      connection: conn.get(first.name)!,
      create: podCidrScript(plan),
      update: podCidrScript(plan),
      logging: "stdoutAndStderr",
    },
    stage.childOpts({ dependsOn: [...joins.values(), init] }),
  );

  // Kubelet serving certificates: the kubelets request them from the cluster CA
  // (serverTLSBootstrap) so the API server can verify them (kubelet-certificate-authority), and
  // nothing approves such requests by itself. Approved here only for the plan's nodes and only for
  // names and addresses the plan gives them.
  const servingCerts = new command.remote.Command(
    `${cluster}-kubelet-serving-certs`,
    {
      connection: conn.get(first.name)!,
      create: approveServingCertsScript(plan),
      update: approveServingCertsScript(plan),
      triggers: plan.nodes.map((n) => n.name),
      logging: "stdoutAndStderr",
    },
    stage.childOpts({ dependsOn: [...joins.values(), init] }),
  );

  // The admin kubeconfig, pointed at the first control plane's address on the Kubernetes plane:
  // the operator reaches it through its control-plane (wg1) peer, where the inter-plane policy
  // admits 6443 (an address in the API server's certSANs).
  const adminConf = new command.remote.Command(
    `${cluster}-admin-kubeconfig`,
    { connection: conn.get(first.name)!, create: "sudo cat /etc/kubernetes/admin.conf", logging: "none" },
    stage.childOpts({ dependsOn: [init], additionalSecretOutputs: ["stdout", "stderr"] }),
  );
  const server = `https://${kubeAddress(plan, first)}:${API_SERVER_PORT}`;
  const kubeconfig = pulumi.secret(adminConf.stdout.apply((c) => (c ?? "").replace(/server: https:\/\/\S+/g, `server: ${server}`)));
  const provider = new k8s.Provider(
    `${cluster}-kubernetes`,
    { kubeconfig, enableServerSideApply: true, deleteUnreachable: false },
    stage.childOpts({ dependsOn: [podCidrs, servingCerts] }),
  );

  // Cilium first (nodes are NotReady without a CNI), then the observability baseline.
  const releases: k8s.helm.v3.Release[] = [];
  const stage6 = stage6Releases(plan, spec);
  const cilium = helmRelease(cluster, stage6.cilium, provider, stage, [podCidrs]);
  releases.push(cilium);
  if (spec.spec.kubernetes.observability.enabled) {
    const obs = stage6.observability;
    const ns = obs[0]?.namespace;
    const deps: pulumi.Resource[] = [cilium];
    if (ns) {
      const namespace = new k8s.core.v1.Namespace(
        `${cluster}-${ns}`,
        { metadata: { name: ns, labels: { "app.kubernetes.io/managed-by": "kubedos" } } },
        stage.childOpts({ provider, dependsOn: [cilium] }),
      );
      // Grafana's admin password derives from the seed and lives only in this Secret.
      const grafanaAdmin = new k8s.core.v1.Secret(
        `${cluster}-grafana-admin`,
        {
          metadata: { name: "grafana-admin", namespace: ns },
          type: "Opaque",
          stringData: {
            "admin-user": "admin",
            "admin-password": pulumi.secret(
              seed.apply((s) => deriveBytes(s, { cluster, component: "grafana", purpose: "admin-password" }, 24).toString("base64url")),
            ),
          },
        },
        stage.childOpts({ provider, dependsOn: [namespace] }),
      );
      deps.push(namespace, grafanaAdmin);
    }
    let prometheus: k8s.helm.v3.Release | undefined;
    for (const r of obs) {
      const release = helmRelease(cluster, r, provider, stage, deps);
      releases.push(release);
      if (r.chart === "kube-prometheus-stack") prometheus = release;
    }
    if (prometheus) ciliumPodMonitors(cluster, spec, provider, stage, [prometheus, cilium]);
  }

  // The bootstrap kit through Flux, after Cilium and the observability baseline it adopts.
  const kit = createKit({
    plan,
    spec,
    seed,
    provider,
    stage,
    stage6: [stage6.cilium, ...stage6.observability],
    existingNamespaces: spec.spec.kubernetes.observability.enabled ? [OBSERVABILITY_NAMESPACE] : [],
    after: [...releases],
    probeConnection: conn.get(first.name)!,
  });

  return { enrollment, converge, init, joins, kubeconfig, provider, releases, caPin, kit };
}

/**
 * Prometheus scrapes Cilium through PodMonitors declared here, after kube-prometheus-stack has
 * brought the CRDs — Cilium itself installs first (nothing schedules without a CNI) and so cannot
 * ship ServiceMonitors. Port names are those of the Cilium chart's agent and operator pods.
 */
function ciliumPodMonitors(cluster: string, spec: ClusterSpec, provider: k8s.Provider, stage: Stage, deps: pulumi.Resource[]): void {
  const monitor = (name: string, selector: Record<string, string>, ports: string[]) =>
    new k8s.apiextensions.CustomResource(
      `${cluster}-${name}-podmonitor`,
      {
        apiVersion: "monitoring.coreos.com/v1",
        kind: "PodMonitor",
        metadata: { name, namespace: "kube-system" },
        spec: {
          selector: { matchLabels: selector },
          namespaceSelector: { matchNames: ["kube-system"] },
          podMetricsEndpoints: ports.map((port) => ({ port, interval: "30s" })),
        },
      },
      stage.childOpts({ provider, dependsOn: deps }),
    );
  monitor("cilium-agent", { "k8s-app": "cilium" }, spec.spec.kubernetes.cni.hubble ? ["prometheus", "hubble-metrics"] : ["prometheus"]);
  monitor("cilium-operator", { "io.cilium/app": "operator" }, ["prometheus"]);
}

/** Stage 6 releases a kit blueprint adopts: Pulumi installs them once, then Flux owns their upgrades. */
const ADOPTED_BY_KIT = new Set(["cilium", "grafana", "loki"]);

function helmRelease(cluster: string, r: ChartRelease, provider: k8s.Provider, stage: Stage, deps: pulumi.Resource[]): k8s.helm.v3.Release {
  const oci = r.repository.startsWith("oci://");
  return new k8s.helm.v3.Release(
    `${cluster}-${r.name}`,
    {
      name: r.name,
      namespace: r.namespace,
      chart: oci ? `${r.repository.replace(/\/$/, "")}/${r.chart}` : r.chart,
      version: r.version,
      ...(oci ? {} : { repositoryOpts: { repo: r.repository } }),
      values: r.values,
      createNamespace: false,
      atomic: true,
      waitForJobs: true,
      timeout: 900,
    },
    // Handover: once bp-<name> adopts the release, its chart, version and values change through
    // Flux (the kit's HelmRelease and overlay); Pulumi must not fight it on the next `up`.
    stage.childOpts({
      provider,
      dependsOn: deps,
      ...(ADOPTED_BY_KIT.has(r.name) ? { ignoreChanges: ["chart", "version", "values"] } : {}),
    }),
  );
}

/** kubeadm join, once; with allowReset its deletion resets the node, without it deletion does nothing here. */
function joinCommand(
  cluster: string,
  node: PlanNode,
  connection: command.types.input.remote.ConnectionArgs,
  stage: Stage,
  deps: pulumi.Resource[],
  allowReset: boolean,
): command.remote.Command {
  return new command.remote.Command(
    `${cluster}-${node.name}-kubeadm-join`,
    {
      connection,
      create: [
        `# kubedos: kubeadm join of ${node.name} (${node.role}); once — a joined node is left alone`,
        "set -eu",
        "if [ -f /etc/kubernetes/kubelet.conf ]; then echo 'kubeadm join: already joined'; exit 0; fi",
        "sudo kubeadm join --config /etc/kubernetes/kubeadm.yaml",
      ].join("\n"),
      ...(allowReset ? { delete: "sudo kubeadm reset --force" } : {}),
      logging: "stdoutAndStderr",
    },
    stage.childOpts({ dependsOn: deps, ignoreChanges: ["create"] }),
  );
}

function joinWindowScript(): string {
  return [
    "# kubedos: open the join window (bootstrap token + uploaded control-plane certificates)",
    "set -eu",
    "cfg=/etc/kubernetes/kubeadm.yaml",
    "token=$(sudo awk '/^ *- token:|^ *token:/ {print $NF; exit}' \"$cfg\")",
    "ttl=$(sudo awk '/ttl:/ {print $2; exit}' \"$cfg\")",
    'if ! sudo kubeadm token list -o jsonpath=\'{.token}{"\\n"}\' 2>/dev/null | grep -q "^${token%%.*}"; then',
    '  sudo kubeadm token create "$token" --ttl "$ttl" --description "kubedos join window" >/dev/null',
    "fi",
    'sudo kubeadm init phase upload-certs --upload-certs --config "$cfg" >/dev/null',
    "echo 'kubedos: join window open'",
  ].join("\n");
}

function removeMemberScript(n: PlanNode): string {
  const kc = "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf";
  return [
    `# kubedos: ${n.name} left the spec — drain and remove it from the cluster${n.role === "control-plane" ? " and etcd" : ""}; its disks are untouched`,
    "set -eu",
    `${kc} drain ${n.name} --ignore-daemonsets --delete-emptydir-data --timeout=300s || true`,
    ...(n.role === "control-plane"
      ? [
          // etcdctl inside the first control plane's etcd container, with kubeadm's etcd certificates.
          "etcd_ctr=$(sudo crictl ps -q --name etcd | head -n1)",
          "certs=(--cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/server.crt --key /etc/kubernetes/pki/etcd/server.key)",
          `id=$(sudo crictl exec "$etcd_ctr" etcdctl --endpoints https://127.0.0.1:2379 "\${certs[@]}" member list | awk -F', ' '$3 == "${n.name}" {print $1}')`,
          'if [ -n "$id" ]; then sudo crictl exec "$etcd_ctr" etcdctl --endpoints https://127.0.0.1:2379 "${certs[@]}" member remove "$id"; fi',
        ]
      : []),
    `${kc} delete node ${n.name} --ignore-not-found`,
  ].join("\n");
}

/**
 * Approve pending kubelet-serving CSRs whose requester is `system:node:<a plan node>` and whose
 * every DNS name and IP belongs to that node (its name, its plane and uplink addresses). Anything
 * else stays pending for a human. Waits (bounded) until every node has an approved certificate.
 */
export function approveServingCertsScript(plan: Plan): string {
  const kc = "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf";
  const allowed = [...plan.nodes]
    .sort((a, b) => byName(a.name, b.name))
    .map((n) => `${n.name}=${[n.name, ...Object.values(n.addresses), ...(n.uplink ? [n.uplink.address] : [])].join(",")}`);
  return [
    "# kubedos: approve kubelet serving certificates for the plan's nodes only",
    "set -eu",
    `allowed='${allowed.join(" ")}'`,
    'names_of() { for e in $allowed; do [ "${e%%=*}" = "$1" ] && echo "${e#*=}"; done; }',
    "for _ in $(seq 1 60); do",
    "  pending=0",
    `  for csr in $(${kc} get csr -o jsonpath='{range .items[?(@.spec.signerName=="kubernetes.io/kubelet-serving")]}{.metadata.name}{" "}{end}'); do`,
    `    cond=$(${kc} get csr "$csr" -o jsonpath='{.status.conditions[*].type}')`,
    '    [ -z "$cond" ] || continue',
    `    user=$(${kc} get csr "$csr" -o jsonpath='{.spec.username}')`,
    "    node=${user#system:node:}",
    '    ok=$(names_of "$node")',
    '    if [ "$user" = "$node" ] || [ -z "$ok" ]; then echo "kubedos: leaving $csr ($user) for a human: not a plan node" >&2; continue; fi',
    `    sans=$(${kc} get csr "$csr" -o jsonpath='{.spec.request}' | base64 -d | openssl req -noout -text | grep -A1 'Subject Alternative Name' | tail -n1 | tr ',' '\\n' | sed -n 's/^ *\\(DNS\\|IP Address\\):\\(.*\\)$/\\2/p')`,
    "    bad=0",
    '    for san in $sans; do case ",$ok," in *",$san,"*) ;; *) bad=1 ;; esac; done',
    '    if [ "$bad" = 1 ]; then echo "kubedos: leaving $csr for a human: it asks for a name $node does not have" >&2; continue; fi',
    `    ${kc} certificate approve "$csr" >/dev/null`,
    "  done",
    `  for e in $allowed; do`,
    "    n=${e%%=*}",
    `    ${kc} get csr -o jsonpath='{range .items[?(@.spec.signerName=="kubernetes.io/kubelet-serving")]}{.spec.username}{" "}{.status.conditions[*].type}{"\\n"}{end}' | grep -q "^system:node:$n Approved" || pending=1`,
    "  done",
    '  [ "$pending" = 0 ] && { echo "kubedos: every kubelet has an approved serving certificate"; exit 0; }',
    "  sleep 5",
    "done",
    'echo "kubedos: some kubelets have no approved serving certificate after 5 minutes" >&2',
    "exit 1",
  ].join("\n");
}

function podCidrScript(plan: Plan): string {
  const kc = "sudo kubectl --kubeconfig /etc/kubernetes/admin.conf";
  const lines = ["# kubedos: each node's pod CIDR from the plan (immutable once set)", "set -eu"];
  for (const n of [...plan.nodes].sort((a, b) => byName(a.name, b.name))) {
    if (!n.podCidr) continue;
    lines.push(
      `have=$(${kc} get node ${n.name} -o jsonpath='{.spec.podCIDR}')`,
      `if [ -z "$have" ]; then ${kc} patch node ${n.name} --type merge -p '{"spec":{"podCIDR":"${n.podCidr}","podCIDRs":["${n.podCidr}"]}}' >/dev/null;`,
      `elif [ "$have" != "${n.podCidr}" ]; then echo "node ${n.name} has pod CIDR $have, the plan says ${n.podCidr}" >&2; exit 1; fi`,
    );
  }
  lines.push("echo 'kubedos: pod CIDRs assigned'");
  return lines.join("\n");
}

/** The CA files for the init node (ca.crt from the verified bundle, ca.key from the seed), or undefined. */
function caBundleFiles(
  input: KubernetesStagesInput,
  caPin: pulumi.Output<string>,
): pulumi.Output<Array<{ path: string; content: string; mode: number }> | undefined> {
  const b = input.spec.spec.security.bootstrap;
  if (b.model === "to-fu" || !input.caBundlePem) return pulumi.output(undefined);
  const pem = input.caBundlePem;
  return pulumi.all([input.seed, caPin]).apply(async ([s, pin]) => {
    const v = await verifyCaBundle({
      bundlePem: pem,
      model: b.model as "offline-ca" | "pinned-ca",
      caFingerprint: b.caFingerprint,
      expectedPin: pin,
    });
    return [
      { path: "/etc/kubernetes/pki/ca.crt", content: v.clusterCaPem, mode: 0o644 },
      { path: "/etc/kubernetes/pki/ca.key", content: clusterCaKeyPem(s, input.plan.cluster.name), mode: 0o600 },
    ];
  });
}

/** Read the CA bundle named by kubedos:clusterCaBundle (a path relative to the project). */
export function readCaBundle(file: string | undefined): string | undefined {
  if (!file) return undefined;
  const p = path.isAbsolute(file) ? file : path.resolve(process.cwd(), file);
  try {
    return readFileSync(p, "utf8");
  } catch (err) {
    throw new pulumi.RunError(`kubedos:clusterCaBundle ${file}: cannot read it (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
}
