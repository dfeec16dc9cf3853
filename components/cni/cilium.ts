/**
 * The Cilium release (seed 001 §13.2): pure rendering of the Helm values for the pinned chart
 * (CHART_LOCKS.cilium, 1.17 values schema) from the Plan and the spec. No Pulumi, no I/O.
 *
 * The datapath follows the backplane: pods talk over the kubernetes-backend plane (wg3), which
 * is WireGuard — an encrypted L3 mesh. So Cilium routes natively over it (no second
 * encapsulation inside the tunnel), replaces kube-proxy, and reaches the API server through the
 * control-plane endpoint rather than through a Service that does not exist before it runs.
 */
import { controlPlaneEndpoint, DEFAULT_POD_SUBNET, kubernetesPlane } from "../kubernetes/kubeadm";
import { overlaps, parseCidr } from "../plan/ipv4";
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import { CHART_LOCKS, mirroredRepository, type ImageLock } from "../supplychain/locks";
import { observabilityBinding } from "../observability/binding";
import { chartRepository, type ChartRelease } from "./release";

export const CILIUM_NAMESPACE = "kube-system";

/** Hubble flow metrics exported to Prometheus when the stack has one. */
export const HUBBLE_METRICS: readonly string[] = ["dns", "drop", "tcp", "flow", "port-distribution", "icmp", "httpV2"];

export interface CiliumOptions {
  /** Address of the Hetzner load balancer in front of the API server (required when the endpoint is a load balancer). */
  loadBalancerAddress?: string;
  /** Pod CIDR, as given to kubeadm (`networking.podSubnet`). Default: the plan's pod network, else DEFAULT_POD_SUBNET. */
  podSubnet?: string;
  /**
   * Create ServiceMonitors for the agent, the operator and Hubble. They need the Prometheus
   * Operator CRDs (installed by kube-prometheus-stack) to exist when Cilium is applied; the
   * default — on whenever the spec deploys Prometheus — assumes they do. A first bootstrap pass
   * that installs Cilium before any CRD can pass false and re-apply later.
   */
  serviceMonitors?: boolean;
}

/** Encapsulation protocols Cilium's tunnel mode offers. */
export type TunnelProtocol = "vxlan" | "geneve";

/**
 * How pod traffic crosses nodes. Native routing when there is no tunnel: the pod CIDR is routed
 * over the kubernetes plane, and only traffic leaving that CIDR is masqueraded.
 * `autoDirectNodeRoutes` stays off: it installs next-hop routes to peers on a shared L2 segment,
 * and wg3 is a WireGuard L3 interface — the per-node pod CIDR routes come from WireGuard's
 * AllowedIPs instead. A tunnel (for a future `kubernetes.cni.tunnel`) maps to routingMode tunnel.
 */
export function ciliumRouting(podSubnet: string, tunnel?: TunnelProtocol): Record<string, unknown> {
  if (tunnel) return { routingMode: "tunnel", tunnelProtocol: tunnel };
  return { routingMode: "native", ipv4NativeRoutingCIDR: podSubnet, autoDirectNodeRoutes: false };
}

/** Cilium's image value: the lock through the mirror, pinned by tag and, once locked, by digest. */
export function ciliumImage(lock: ImageLock, mirror?: string): Record<string, unknown> {
  return {
    repository: mirroredRepository(lock.repository, mirror),
    tag: lock.tag,
    ...(lock.digest ? { digest: lock.digest } : {}),
    useDigest: Boolean(lock.digest),
    pullPolicy: "IfNotPresent",
  };
}

/**
 * The operator image. The chart composes the operator's image as
 * `<repository>-<cloud><suffix>:<tag>@<genericDigest>`, so the lock's repository (which already
 * ends in `-generic`) would become `operator-generic-generic`. `override` is used verbatim by the
 * chart, so it carries the exact locked reference; `repository`/`tag`/`digest` repeat it for the
 * policy pack (findImages reads those keys, not `override`).
 */
export function ciliumOperatorImage(lock: ImageLock, mirror?: string): Record<string, unknown> {
  const repository = mirroredRepository(lock.repository, mirror);
  return {
    override: `${repository}:${lock.tag}${lock.digest ? `@${lock.digest}` : ""}`,
    repository,
    tag: lock.tag,
    ...(lock.digest ? { digest: lock.digest } : {}),
    useDigest: Boolean(lock.digest),
    pullPolicy: "IfNotPresent",
  };
}

/**
 * The interfaces Cilium attaches its datapath to. The kubernetes plane always — it carries pod
 * traffic and the node IP. The observability bind plane when the stack exposes something: Cilium
 * answers the Services' externalIPs only on its devices (components/observability/binding.ts).
 * Never the uplink, which stays the firewall baseline's alone.
 */
export function ciliumDevices(plan: Plan, spec: ClusterSpec): string[] {
  const kube = kubernetesPlane(plan);
  const bind = observabilityBinding(plan, spec)?.plane;
  return bind && bind !== kube ? [kube, bind] : [kube];
}

/** Refuse a pod CIDR that collides with a plane or the underlay: native routing would route one over the other. */
function checkPodSubnet(plan: Plan, podSubnet: string): void {
  const pods = parseCidr(podSubnet);
  if (pods.text !== podSubnet) throw new Error(`pod subnet ${podSubnet} is not a network address (did you mean ${pods.text}?)`);
  const networks = plan.planes.map((p) => ({ name: `plane ${p.name}`, cidr: p.cidr }));
  if (plan.underlay) networks.push({ name: "the underlay", cidr: plan.underlay.cidr });
  for (const n of networks) {
    if (overlaps(pods, parseCidr(n.cidr))) throw new Error(`pod subnet ${podSubnet} overlaps ${n.name} (${n.cidr})`);
  }
}

export function ciliumRelease(plan: Plan, spec: ClusterSpec, opts: CiliumOptions = {}): ChartRelease {
  const k = spec.spec.kubernetes;
  if (!k.enabled) throw new Error("kubernetes.enabled is false: there is no cluster to install Cilium into");
  const lock = CHART_LOCKS.cilium;
  const mirror = plan.mirrors.registry;
  const podSubnet = opts.podSubnet ?? plan.podNetwork?.podSubnet ?? DEFAULT_POD_SUBNET;
  checkPodSubnet(plan, podSubnet);
  // Before Cilium runs there is no kube-proxy and no working Service IP for the API server, so
  // the agent must be told the real endpoint: the VIP on the kubernetes plane, or the Hetzner LB.
  const api = controlPlaneEndpoint(plan, opts.loadBalancerAddress);
  const kubePlane = plan.planes.find((p) => p.name === kubernetesPlane(plan))!;

  const hubble = k.cni.hubble;
  const prometheus = k.observability.enabled && k.observability.stack.prometheus;
  const serviceMonitors = prometheus && (opts.serviceMonitors ?? true);
  const images = lock.images;

  const values: Record<string, unknown> = {
    kubeProxyReplacement: true,
    k8sServiceHost: api.host,
    k8sServicePort: api.port,
    // The spec has no tunnel field: kubedos always routes natively over the kubernetes plane.
    ...ciliumRouting(podSubnet),
    ipam: { mode: "kubernetes" },
    // Node podCIDRs are assigned per node by kubedos; an agent must not start without its own.
    k8s: { requireIPv4PodCIDR: true },
    devices: ciliumDevices(plan, spec),
    // NodePorts answer only on the kubernetes plane (not on the bind plane, which Cilium is
    // attached to for the observability externalIPs).
    nodePort: { addresses: [kubePlane.cidr] },
    externalIPs: { enabled: true },
    // Node-level filtering is the nftables baseline from first boot. Cilium's host firewall would
    // put the host endpoint under policyEnforcementMode "always" — default-deny for SSH and
    // WireGuard — before any host policy exists.
    hostFirewall: { enabled: false },
    bpf: { masquerade: true },
    enableIPv4Masquerade: true,
    // deny: every endpoint is default-deny until a policy allows its traffic; allow: Cilium's
    // default mode, where only endpoints selected by a policy are restricted.
    policyEnforcementMode: k.cni.policyDefault === "deny" ? "always" : "default",
    // Envoy as its own DaemonSet needs the cilium-envoy image, which the locks do not pin (it
    // would be pulled unlocked, past the mirror); the agent's embedded proxy serves L7 policy.
    envoy: { enabled: false },
    image: ciliumImage(images.agent, mirror),
    operator: {
      // Two for availability; the chart's required anti-affinity needs a node per replica.
      replicas: plan.nodes.length < 2 ? 1 : 2,
      image: ciliumOperatorImage(images.operator, mirror),
      prometheus: { enabled: prometheus, serviceMonitor: { enabled: serviceMonitors } },
    },
    // Metrics ports (9962 agent, 9963 operator, 9965 Hubble) are opened only when a Prometheus
    // of the stack scrapes them.
    prometheus: { enabled: prometheus, serviceMonitor: { enabled: serviceMonitors, trustCRDsExist: serviceMonitors } },
    hubble: {
      enabled: hubble,
      relay: { enabled: hubble, ...(hubble ? { image: ciliumImage(images.hubbleRelay, mirror) } : {}) },
      ui: {
        enabled: hubble,
        ...(hubble
          ? { frontend: { image: ciliumImage(images.hubbleUi, mirror) }, backend: { image: ciliumImage(images.hubbleUiBackend, mirror) } }
          : {}),
      },
      // Certificates for the agents' Hubble servers and the relay, generated by the chart itself:
      // no cert-manager and no certgen image (which the locks do not pin).
      tls: { enabled: true, auto: { enabled: true, method: "helm" } },
      // Left at the chart default (no metrics) when nothing scrapes them.
      ...(hubble && prometheus ? { metrics: { enabled: [...HUBBLE_METRICS], serviceMonitor: { enabled: serviceMonitors } } } : {}),
    },
  };

  return {
    name: "cilium",
    namespace: CILIUM_NAMESPACE,
    chart: lock.chart,
    version: lock.version,
    repository: chartRepository(plan, lock),
    values,
  };
}
