/**
 * The acceptance gates of seed 001 §17.1 as data: each gate's checks, what passing means, and
 * which runs can produce evidence for it (the lab, or a real `pulumi up` through commands on the
 * nodes). Gate names are the spec's `acceptance.required` names.
 */
import type { GateName } from "../spec/schema";

export type EvidenceSource = "lab" | "pulumi";

export interface CheckDefinition {
  id: string;
  /** §17.1's words. */
  title: string;
  /** Runs that can produce this check's evidence. */
  sources: readonly EvidenceSource[];
}

export interface GateDefinition {
  name: GateName;
  title: string;
  checks: readonly CheckDefinition[];
}

export const GATES: readonly GateDefinition[] = [
  {
    name: "backplane-matrix",
    title: "Backplane Matrix",
    checks: [
      { id: "wg1-every-node", title: "every node is reachable over wg1", sources: ["lab", "pulumi"] },
      { id: "wg2-observability", title: "observability endpoints are reachable over wg2", sources: ["lab", "pulumi"] },
      { id: "wg3-kubernetes", title: "wg3 provides the Kubernetes backend connectivity", sources: ["lab", "pulumi"] },
    ],
  },
  {
    name: "security-baseline",
    title: "Security Baseline",
    checks: [
      { id: "ssh-password-auth-disabled", title: "SSH password authentication disabled", sources: ["lab", "pulumi"] },
      { id: "ssh-allowed-users", title: "allowed users enforced", sources: ["lab", "pulumi"] },
      {
        id: "firewall-default-deny",
        title: "firewall default deny on non-plane interfaces and between planes",
        sources: ["lab", "pulumi"],
      },
      { id: "enrollment-gated", title: "enrollment gating enforced (no anonymous joins)", sources: ["pulumi"] },
    ],
  },
  {
    name: "k8s-health",
    title: "Kubernetes Health",
    checks: [
      { id: "apiserver-on-plane", title: "kube-apiserver reachable via the intended plane (wg3)", sources: ["pulumi"] },
      { id: "etcd-quorum", title: "etcd quorum healthy", sources: ["lab", "pulumi"] },
      { id: "workers-ready", title: "workers Ready", sources: ["pulumi"] },
    ],
  },
  {
    name: "cilium-health",
    title: "Cilium",
    checks: [
      { id: "cilium-every-node", title: "cilium healthy on all nodes", sources: ["pulumi"] },
      { id: "hubble-healthy", title: "hubble healthy", sources: ["pulumi"] },
    ],
  },
  {
    name: "hubble-flows",
    title: "Hubble flows",
    checks: [{ id: "test-flow-observed", title: "a test flow is observed and recorded", sources: ["pulumi"] }],
  },
  {
    name: "observability-stack",
    title: "Observability Stack",
    checks: [
      { id: "prometheus-targets", title: "Prometheus targets present (platform + Kubernetes core)", sources: ["pulumi"] },
      { id: "grafana-on-plane", title: "Grafana reachable on the declared plane", sources: ["pulumi"] },
      { id: "loki-ingest-query", title: "Loki ingest + query", sources: ["pulumi"] },
    ],
  },
];

export function gateDefinition(name: string): GateDefinition | undefined {
  return GATES.find((g) => g.name === name);
}
