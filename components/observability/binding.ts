/**
 * Where the observability stack is reachable: its `bindPlane` (wg2 by convention), and nowhere else.
 *
 * Mechanism — a ClusterIP Service with `externalIPs` set to the bind-plane addresses of the
 * control-plane nodes. Cilium (kube-proxy replacement) answers a Service's externalIPs on the
 * devices it is attached to, so the Cilium release attaches to the bind plane as well as the
 * kubernetes plane (components/cni/cilium.ts `ciliumDevices`); connections from a node's own
 * processes (an operator's SSH tunnel over wg1) are translated by Cilium's socket load balancer.
 *
 * Why this and not something else:
 *   - hostNetwork would bind the pods to every interface of whichever node they land on, uplink
 *     included, and pin ports on the host;
 *   - NodePort opens the port on every node address (Cilium's `nodePort.addresses` is kept on
 *     the kubernetes plane for that reason);
 *   - LoadBalancer needs an address allocator that can announce on the plane: Cilium's L2
 *     announcements need ARP/NDP, and the planes are WireGuard, pure L3 — nothing to announce on;
 *   - a reserved VIP on wg2 would need WireGuard AllowedIPs to move with a failover, which the
 *     backplane does not do. A node's own plane address is already routed to it by WireGuard.
 * The control-plane nodes are the chosen set because it is small and stable (workers come and
 * go; every change of the set is a change of the Services), and there is more than one of them
 * in an HA cluster, so losing a node does not lose the UIs.
 */
import type { Plan, PlanNode } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";

export type ObservabilityComponent = "prometheus" | "grafana" | "loki";

/** The port each component answers on, in the cluster and on the bind plane. */
export const OBSERVABILITY_PORTS: Readonly<Record<ObservabilityComponent, number>> = {
  prometheus: 9090,
  grafana: 3000,
  loki: 3100,
};

export interface ObservabilityBinding {
  /** Plane name, which is also its WireGuard interface name (e.g. wg2). */
  plane: string;
  cidr: string;
  /** Addresses the components answer on: the plane address of every control-plane node, by node name. */
  addresses: string[];
  /** The enabled components and their ports. */
  ports: Partial<Record<ObservabilityComponent, number>>;
}

/** The enabled components of the stack, in install order. */
export function enabledComponents(spec: ClusterSpec): ObservabilityComponent[] {
  const k = spec.spec.kubernetes;
  if (!k.enabled || !k.observability.enabled) return [];
  const order: ObservabilityComponent[] = ["prometheus", "grafana", "loki"];
  return order.filter((c) => k.observability.stack[c]);
}

const byName = (a: PlanNode, b: PlanNode): number => a.name.localeCompare(b.name, "en", { numeric: true });

/** The stack's binding, or undefined when nothing of it is deployed. */
export function observabilityBinding(plan: Plan, spec: ClusterSpec): ObservabilityBinding | undefined {
  const components = enabledComponents(spec);
  if (components.length === 0) return undefined;
  const name = spec.spec.kubernetes.observability.bindPlane;
  const plane = plan.planes.find((p) => p.name === name);
  if (!plane) throw new Error(`observability.bindPlane ${name} is not a plane of the plan`);
  // The validator enforces this too; repeated here because binding to another plane's addresses
  // would publish Grafana and Prometheus on, say, the kubernetes backend.
  if (plane.purpose !== "observability") {
    throw new Error(`observability.bindPlane ${name} has purpose ${plane.purpose}, not observability`);
  }
  const nodes = plan.nodes.filter((n) => n.role === "control-plane").sort(byName);
  if (nodes.length === 0) throw new Error("the plan has no control-plane node to expose the observability stack on");
  const addresses = nodes.map((n) => {
    const a = n.addresses[name];
    if (!a) throw new Error(`node ${n.name} has no address on the ${name} plane`);
    return a;
  });
  return {
    plane: name,
    cidr: plane.cidr,
    addresses,
    ports: Object.fromEntries(components.map((c) => [c, OBSERVABILITY_PORTS[c]])),
  };
}
