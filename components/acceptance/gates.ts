/**
 * The acceptance gates as commands on the nodes (what a real `pulumi up` runs in Stage 7). Each
 * script prints one line per check — `KUBEDOS-CHECK {"gate","check","status","evidence",…}` — and
 * exits 1 when any check failed: `pulumi up` then stops at that gate with the check lines in its
 * log, the seal (which depends on every gate) never runs, and the next `pulumi up` retries the gate
 * (a failed create is not recorded). A gate that ran clean is re-run when the spec changes.
 */
import { observabilityBinding } from "../observability/binding";
import type { Plan, PlanNode } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import type { Observation } from "./report";

/** First words of every gate command's create text: how the plan and the policy pack recognise one. */
export const GATE_MARKER = "# kubedos: acceptance gate";

export interface GateCommand {
  /** Resource-name suffix: `gate-security-<node>`, `gate-backplane` … */
  name: string;
  /** The node it runs on. */
  node: string;
  /** §17.1 gates it produces evidence for. */
  gates: string[];
  /** Root shell script (run with `sudo env KUBECONFIG=/etc/kubernetes/admin.conf bash -s`). */
  script: string;
}

const HEAD = String.raw`set -u
ts() { date -u +%Y-%m-%dT%H:%M:%SZ; }
started=$(ts)
# check GATE CHECK pass|fail EVIDENCE — one JSON line; the evidence loses quotes, backslashes and newlines.
failed=0
check() {
  [ "$3" = pass ] || failed=$((failed + 1))
  e=$(printf '%s' "$4" | tr -d "\"\\\\" | tr '\n\t' '  ' | cut -c1-600)
  printf 'KUBEDOS-CHECK {"gate":"%s","check":"%s","status":"%s","evidence":"%s","startedAt":"%s","finishedAt":"%s"}\n' "$1" "$2" "$3" "$e" "$started" "$(ts)"
}
verdict() { if [ "$1" -eq 0 ]; then echo pass; else echo fail; fi; }
`;

const byName = (a: PlanNode, b: PlanNode) => a.name.localeCompare(b.name, "en", { numeric: true });
const planeOf = (plan: Plan, purpose: string) => plan.planes.find((p) => p.purpose === purpose)?.name;

/** Every gate command for this plan, in a stable order. */
export function gateCommands(plan: Plan, spec: ClusterSpec): GateCommand[] {
  const out: GateCommand[] = [];
  const nodes = [...plan.nodes].sort(byName);
  const cps = nodes.filter((n) => n.role === "control-plane");
  const first = cps[0];
  for (const n of nodes) out.push(securityGate(plan, n));
  if (first) out.push({ name: "gate-backplane", node: first.name, gates: ["backplane-matrix"], script: backplaneScript(plan, spec) });
  if (first && spec.spec.kubernetes.enabled) {
    out.push({
      name: "gate-kubernetes",
      node: first.name,
      gates: ["k8s-health", "security-baseline"],
      script: kubernetesScript(plan, first),
    });
    out.push({ name: "gate-cilium", node: first.name, gates: ["cilium-health", "hubble-flows"], script: ciliumScript(plan, spec) });
    if (observabilityBinding(plan, spec))
      out.push({ name: "gate-observability", node: first.name, gates: ["observability-stack"], script: observabilityScript(plan, spec) });
  }
  return out;
}

/** The Security Baseline gate of one node: the same script on a real node and in a lab namespace. */
export function securityGate(plan: Plan, node: PlanNode): GateCommand {
  return { name: `gate-security-${node.name}`, node: node.name, gates: ["security-baseline"], script: securityScript(plan) };
}

function securityScript(plan: Plan): string {
  const users = [...plan.ssh.allowUsers].sort().join(" ");
  return `${HEAD}
# sshd's effective configuration, as it would run now (sshd -T), not the file.
eff=$(sshd -T 2>/dev/null)
pa=$(printf '%s\\n' "$eff" | awk '$1 == "passwordauthentication" { print $2 }')
kb=$(printf '%s\\n' "$eff" | awk '$1 == "kbdinteractiveauthentication" { print $2 }')
[ "$pa" = no ] && [ "$kb" = no ]; r=$?
check security-baseline ssh-password-auth-disabled "$(verdict $r)" "sshd -T passwordauthentication=$pa kbdinteractiveauthentication=$kb"
au=$(printf '%s\\n' "$eff" | awk '$1 == "allowusers" { print $2 }' | sort | tr '\\n' ' ' | sed 's/ $//')
[ "$au" = "${users}" ]; r=$?
check security-baseline ssh-allowed-users "$(verdict $r)" "sshd -T allowusers=[$au], spec allowUsers=[${users}]"
pol=$(nft list chain inet kubedos input 2>/dev/null | grep -c 'policy drop;')
fwd=$(nft list chain inet kubedos forward 2>/dev/null | grep -c 'policy drop;')
[ "$pol" -ge 1 ] && [ "$fwd" -ge 1 ]; r=$?
check security-baseline firewall-default-deny "$(verdict $r)" "nft inet kubedos input policy drop=$pol forward policy drop=$fwd"
# Exit 1 when a check failed: pulumi up stops at this gate with the evidence in its log, and
# the next pulumi up runs the gate again (a failed create is retried).
[ "$failed" -eq 0 ]
`;
}

function backplaneScript(plan: Plan, spec: ClusterSpec): string {
  const lines: string[] = [HEAD];
  const ping = (check: string, plane: string | undefined) => {
    if (!plane) return;
    const targets = plan.nodes
      .slice()
      .sort(byName)
      .map((n) => `${n.name}=${n.addresses[plane]}`)
      .join(" ");
    lines.push(
      `ok=0; total=0; bad=""`,
      `for t in ${targets}; do total=$((total + 1)); if ping -n -c 1 -W 2 "\${t#*=}" >/dev/null 2>&1 || ping -n -c 1 -W 3 "\${t#*=}" >/dev/null 2>&1; then ok=$((ok + 1)); else bad="$bad \${t%%=*}"; fi; done`,
      `[ "$ok" -eq "$total" ]; r=$?`,
      `check backplane-matrix ${check} "$(verdict $r)" "${plane}: $ok/$total nodes answered ping from $(hostname)\${bad:+; no answer from$bad}"`,
    );
  };
  ping("wg1-every-node", planeOf(plan, "control"));
  const binding = observabilityBinding(plan, spec);
  if (binding && binding.ports.prometheus) {
    const urls = binding.addresses.map((a) => `http://${a}:${binding.ports.prometheus}/-/ready`).join(" ");
    lines.push(
      `ok=0; total=0; bad=""`,
      `for u in ${urls}; do total=$((total + 1)); if curl -fsS -m 5 "$u" >/dev/null 2>&1; then ok=$((ok + 1)); else bad="$bad $u"; fi; done`,
      `[ "$ok" -eq "$total" ]; r=$?`,
      `check backplane-matrix wg2-observability "$(verdict $r)" "${binding.plane}: Prometheus ready on $ok/$total control-plane ${binding.plane} addresses\${bad:+; failed:$bad}"`,
    );
  } else {
    ping("wg2-observability", planeOf(plan, "observability"));
  }
  ping("wg3-kubernetes", planeOf(plan, "kubernetes-backend"));
  lines.push('[ "$failed" -eq 0 ]', "");
  return lines.join("\n");
}

function kubernetesScript(plan: Plan, first: PlanNode): string {
  const kubePlane = planeOf(plan, "kubernetes-backend")!;
  const wg3 = first.addresses[kubePlane];
  const cps = plan.nodes.filter((n) => n.role === "control-plane").sort(byName);
  const endpoints = cps.map((n) => `https://${n.addresses[kubePlane]}:2379`).join(",");
  const workers = plan.nodes
    .filter((n) => n.role === "worker")
    .map((n) => n.name)
    .sort();
  return `${HEAD}
k() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
rz=$(k --server "https://${wg3}:6443" get --raw /readyz 2>&1 | tail -n 1)
[ "$rz" = ok ]; r=$?
check k8s-health apiserver-on-plane "$(verdict $r)" "GET https://${wg3}:6443/readyz (${kubePlane}) -> $rz"
pod=$(k -n kube-system get pods -l component=etcd -o jsonpath='{.items[0].metadata.name}' 2>/dev/null)
eh=$(k -n kube-system exec "$pod" -- etcdctl --endpoints=${endpoints} --cacert /etc/kubernetes/pki/etcd/ca.crt --cert /etc/kubernetes/pki/etcd/healthcheck-client.crt --key /etc/kubernetes/pki/etcd/healthcheck-client.key endpoint health 2>&1)
healthy=$(printf '%s\\n' "$eh" | grep -c 'is healthy')
[ "$healthy" -eq ${cps.length} ]; r=$?
check k8s-health etcd-quorum "$(verdict $r)" "etcdctl endpoint health via $pod: $healthy/${cps.length} members healthy"
ready=$(k get nodes -o jsonpath='{range .items[*]}{.metadata.name}={.status.conditions[?(@.type=="Ready")].status}{" "}{end}' 2>&1)
bad=""
for w in ${workers.join(" ") || '""'}; do [ -z "$w" ] && continue; case " $ready" in *" $w=True "*) ;; *) bad="$bad $w";; esac; done
[ -z "$bad" ]; r=$?
check k8s-health workers-ready "$(verdict $r)" "nodes: $ready\${bad:+; not Ready:$bad}"
anon=$(grep -c -- '--anonymous-auth=false' /etc/kubernetes/manifests/kube-apiserver.yaml 2>/dev/null)
forever=$(kubeadm token list 2>/dev/null | awk 'NR > 1 && $2 == "<forever>"' | wc -l)
[ "$anon" -ge 1 ] && [ "$forever" -eq 0 ]; r=$?
check security-baseline enrollment-gated "$(verdict $r)" "kube-apiserver --anonymous-auth=false: $anon; bootstrap tokens without expiry: $forever"
# Exit 1 when a check failed: pulumi up stops at this gate with the evidence in its log, and
# the next pulumi up runs the gate again (a failed create is retried).
[ "$failed" -eq 0 ]
`;
}

function ciliumScript(plan: Plan, spec: ClusterSpec): string {
  const hubble = spec.spec.kubernetes.cni.hubble;
  return `${HEAD}
k() { kubectl --kubeconfig /etc/kubernetes/admin.conf "$@"; }
ds=$(k -n kube-system get ds cilium -o jsonpath='{.status.numberReady}/{.status.desiredNumberScheduled}' 2>&1)
[ "$ds" = "${plan.nodes.length}/${plan.nodes.length}" ]; r=$?
check cilium-health cilium-every-node "$(verdict $r)" "cilium DaemonSet ready/scheduled $ds, nodes ${plan.nodes.length}"
${
  hubble
    ? `rel=$(k -n kube-system get deploy hubble-relay -o jsonpath='{.status.readyReplicas}' 2>&1)
[ "\${rel:-0}" -ge 1 ] 2>/dev/null; r=$?
check cilium-health hubble-healthy "$(verdict $r)" "hubble-relay ready replicas: \${rel:-0}"
k get --raw /readyz >/dev/null 2>&1
flows=$(k -n kube-system exec ds/cilium -c cilium-agent -- hubble observe --last 50 -o compact 2>&1)
n=$(printf '%s\\n' "$flows" | grep -c -- '->')
[ "$n" -ge 1 ]; r=$?
check hubble-flows test-flow-observed "$(verdict $r)" "hubble observe --last 50: $n flows; first: $(printf '%s\\n' "$flows" | grep -m 1 -- '->')"`
    : `check cilium-health hubble-healthy fail "kubernetes.cni.hubble is false: Hubble is not deployed"
check hubble-flows test-flow-observed fail "kubernetes.cni.hubble is false: no flow can be observed"`
}
# Exit 1 when a check failed: pulumi up stops at this gate with the evidence in its log, and
# the next pulumi up runs the gate again (a failed create is retried).
[ "$failed" -eq 0 ]
`;
}

function observabilityScript(plan: Plan, spec: ClusterSpec): string {
  const b = observabilityBinding(plan, spec)!;
  const at = b.addresses[0];
  const lines = [HEAD];
  if (b.ports.prometheus) {
    lines.push(
      `t=$(curl -fsS -m 10 "http://${at}:${b.ports.prometheus}/api/v1/targets?state=active" 2>&1)`,
      `up=$(printf '%s' "$t" | grep -o '"health":"up"' | wc -l)`,
      `jobs=$(printf '%s' "$t" | grep -o '"job":"[^"]*"' | sort -u | tr '\\n' ' ')`,
      `miss=""; for j in apiserver kubelet node-exporter; do case "$jobs" in *"\\"job\\":\\"$j\\""*) ;; *) miss="$miss $j";; esac; done`,
      `[ "$up" -ge 1 ] && [ -z "$miss" ]; r=$?`,
      `check observability-stack prometheus-targets "$(verdict $r)" "http://${at}:${b.ports.prometheus} active targets up: $up; missing jobs:\${miss:- none}"`,
    );
  }
  if (b.ports.grafana) {
    lines.push(
      `g=$(curl -fsS -m 10 "http://${at}:${b.ports.grafana}/api/health" 2>&1)`,
      `printf '%s' "$g" | grep -q '"database": *"ok"'; r=$?`,
      `check observability-stack grafana-on-plane "$(verdict $r)" "GET http://${at}:${b.ports.grafana}/api/health on ${b.plane} -> $g"`,
    );
  }
  if (b.ports.loki) {
    lines.push(
      `marker="kubedos-acceptance-$(date +%s)-$$"`,
      `now_ns="$(date +%s)000000000"`,
      `push=$(curl -sS -m 10 -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -X POST "http://${at}:${b.ports.loki}/loki/api/v1/push" --data "{\\"streams\\":[{\\"stream\\":{\\"job\\":\\"kubedos-acceptance\\"},\\"values\\":[[\\"$now_ns\\",\\"$marker\\"]]}]}" 2>&1)`,
      `found=0; i=0`,
      `while [ "$i" -lt 10 ] && [ "$found" -eq 0 ]; do i=$((i + 1)); sleep 2; q=$(curl -fsS -m 10 -G "http://${at}:${b.ports.loki}/loki/api/v1/query_range" --data-urlencode 'query={job="kubedos-acceptance"}' --data-urlencode 'limit=100' 2>&1); case "$q" in *"$marker"*) found=1;; esac; done`,
      `[ "$push" = 204 ] && [ "$found" -eq 1 ]; r=$?`,
      `check observability-stack loki-ingest-query "$(verdict $r)" "push $marker -> HTTP $push; found by query_range after $i tries: $found"`,
    );
  }
  lines.push('[ "$failed" -eq 0 ]', "");
  return lines.join("\n");
}

const CHECK_LINE = /^KUBEDOS-CHECK (.*?)\s*$/;

/**
 * Observations from one gate command's output. Lines that are not check lines are ignored; a
 * malformed check line, or none for a gate the command owns, is a failed observation naming it.
 */
export function parseGateOutput(stdout: string, cmd: Pick<GateCommand, "node" | "gates" | "name">): Observation[] {
  const out: Observation[] = [];
  for (const line of stdout.split("\n")) {
    const m = CHECK_LINE.exec(line);
    if (!m) continue;
    try {
      const o = JSON.parse(m[1]) as Record<string, unknown>;
      const status = o.status === "pass" ? "pass" : "fail";
      out.push({
        gate: String(o.gate),
        check: String(o.check),
        status,
        evidence: String(o.evidence ?? ""),
        source: "pulumi",
        node: cmd.node,
        ...(typeof o.startedAt === "string" ? { startedAt: o.startedAt } : {}),
        ...(typeof o.finishedAt === "string" ? { finishedAt: o.finishedAt } : {}),
      });
    } catch {
      out.push({
        gate: cmd.gates[0],
        check: "output",
        status: "fail",
        evidence: `${cmd.name}: unparseable check line: ${line.slice(0, 200)}`,
        source: "pulumi",
        node: cmd.node,
      });
    }
  }
  return out;
}
