/**
 * The Plan: Stage 0's normalized output (seed 001 §14.1), pure data.
 *
 * Everything that decides the shape of the Pulumi graph — node count, roles, placement,
 * addresses, vmids, which stages run, which boundaries are open — is decided here from the
 * validated spec, never from a `pulumi.Output`. Components only turn the Plan into resources.
 */
import { createHash } from "node:crypto";
import { DESTRUCTIVE_FLAGS, readFlag, type DestructiveFlag } from "../spec/constraints";
import type { ClusterSpec, SubstrateType } from "../spec/schema";
import { assignOrdinals, hostAddress, ordinalSpace, RESERVED, reservedAddress, underlayCidr, type OrdinalSpace } from "./addressing";
import { formatIp, parseCidr } from "./ipv4";
import { DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET, LOAD_BALANCER_HOST_INDEX } from "./kubernetes-networks";
import { placeNodes, type Placement } from "./placement";
import { defaultPlanePort } from "./ports";
import { planStages, type PlannedStage } from "./stages";

export interface PlanNode {
  name: string;
  role: "control-plane" | "worker";
  failureDomain: string;
  /** Host index on every plane and vmid offset (see addressing.ts). */
  ordinal: number;
  ordinalSource: "pinned" | "derived";
  /** Proxmox VM id (`vmidRange.start + ordinal`). */
  vmid?: number;
  placement: Placement;
  /** Address the node is reached on before the planes exist (SSH, WireGuard endpoints). */
  uplink?: { address: string; cidr?: string; gateway?: string };
  /** Address on each plane, by plane name. */
  addresses: Record<string, string>;
  /**
   * The node's pod CIDR (Kubernetes enabled): block `ordinal` of the pod subnet. kubedos assigns
   * it (not kube-controller-manager) so the Kubernetes plane's WireGuard peers can carry it and
   * Cilium can route natively over that plane.
   */
  podCidr?: string;
}

export interface PlanPlane {
  name: string;
  cidr: string;
  purpose: string;
  /** UDP port WireGuard listens on for this plane. */
  port: number;
  /** Reserved infrastructure addresses on this plane. */
  reserved: { controlPlaneVip?: string; operatorPeer?: string };
}

export interface PodNetwork {
  podSubnet: string;
  serviceSubnet: string;
  /** Prefix length of each node's pod CIDR. */
  nodePrefix: number;
}

export { DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET };

/**
 * Each node's pod CIDR is the `ordinal`-th block of the pod subnet. A /24 per node (254 pods,
 * well above the kubelet's default 110) while the ordinal space fits; a larger space gets
 * smaller blocks, never below /26.
 */
export function podNetwork(space: OrdinalSpace): PodNetwork {
  const sub = parseCidr(DEFAULT_POD_SUBNET);
  const bits = Math.ceil(Math.log2(Math.max(2, space.size)));
  const nodePrefix = Math.min(26, Math.max(24, sub.prefix + bits));
  return { podSubnet: sub.text, serviceSubnet: DEFAULT_SERVICE_SUBNET, nodePrefix };
}

/** The pod CIDR of the node with `ordinal`, or undefined when the pod subnet has no such block. */
export function nodePodCidr(net: PodNetwork, ordinal: number): string | undefined {
  const sub = parseCidr(net.podSubnet);
  const size = 2 ** (32 - net.nodePrefix);
  if ((ordinal + 1) * size > sub.size) return undefined;
  return `${formatIp(sub.network + ordinal * size)}/${net.nodePrefix}`;
}

export interface Plan {
  cluster: { name: string; artifactVersion: string; labels: Record<string, string> };
  substrate: SubstrateType;
  /** Destruction boundaries, all explicit after validation. */
  boundaries: Record<DestructiveFlag, boolean>;
  ordinalSpace: OrdinalSpace;
  planes: PlanPlane[];
  policy: { defaultInterPlane: "deny" | "allow"; allow: Array<{ from: string; to: string; ports: string[] }> };
  /** Where the Kubernetes API is reached: a VIP on the Kubernetes plane, or the Hetzner load balancer. */
  controlPlaneEndpoint?:
    { kind: "vip"; plane: string; address: string; port: number } | { kind: "load-balancer"; port: number; address?: string };
  /** Pod and service networks (Kubernetes enabled); each node's pod CIDR is in PlanNode.podCidr. */
  podNetwork?: PodNetwork;
  nodes: PlanNode[];
  stages: PlannedStage[];
  /** SSH policy every node enforces (seed 001 §7.4). */
  ssh: { allowUsers: string[]; authorizedKeys: string[]; allowFrom: string[] };
  /** Air-gap mirrors: the only sources nodes are configured with. */
  mirrors: {
    apt?: { url: string; suite: string; components: string[]; signingKey?: string };
    registry?: string;
    charts?: string;
  };
  /** The uplink network kubedos numbers (Proxmox underlay, Hetzner private network), if any. */
  underlay?: { cidr: string; gateway?: string; nameservers: string[] };
  /** sha256 of the canonical JSON of the validated spec: the plan's input identity. */
  specDigest: string;
}

/** Build the Plan from a spec that passed `validateSpecText` (behaviour on invalid specs is undefined). */
export function buildPlan(spec: ClusterSpec): Plan {
  const s = spec.spec;
  const boundaries = Object.fromEntries(DESTRUCTIVE_FLAGS.map((f) => [f.flag, readFlag(spec, f.flag) === true])) as Record<
    DestructiveFlag,
    boolean
  >;
  const assignments = assignOrdinals(spec);
  const ordinals = new Map(assignments.map((a) => [a.name, a.ordinal]));
  const placement = placeNodes(spec, ordinals);
  const kubePlane = Object.entries(s.networking.planes).find(([, p]) => p.purpose === "kubernetes-backend")?.[0];
  const controlPlane = Object.entries(s.networking.planes).find(([, p]) => p.purpose === "control")?.[0];

  const planes: PlanPlane[] = Object.entries(s.networking.planes)
    .sort(([a], [b]) => a.localeCompare(b, "en", { numeric: true }))
    .map(([name, p]) => {
      const c = parseCidr(p.cidr);
      return {
        name,
        cidr: c.text,
        purpose: p.purpose,
        port: p.port ?? defaultPlanePort(name) ?? 0,
        reserved: {
          ...(name === kubePlane && s.substrate.type !== "hetzner"
            ? { controlPlaneVip: reservedAddress(c, RESERVED.controlPlaneVip) }
            : {}),
          ...(name === controlPlane ? { operatorPeer: reservedAddress(c, RESERVED.operatorPeer) } : {}),
        },
      };
    });

  const underlay = underlayCidr(spec);
  const space = ordinalSpace(spec);
  const pods = s.kubernetes.enabled ? podNetwork(space) : undefined;
  const nodes: PlanNode[] = s.nodes.inventory.map((n, i) => {
    const a = assignments[i];
    const addresses: Record<string, string> = {};
    for (const p of planes) {
      addresses[p.name] = s.networking.addressing.mode === "static" ? n.addresses![p.name] : hostAddress(parseCidr(p.cidr), a.ordinal);
    }
    const pl = placement.get(n.name) ?? {};
    let uplink: PlanNode["uplink"];
    if (s.substrate.type === "baremetal") uplink = pl.sshAddress ? { address: pl.sshAddress } : undefined;
    else if (underlay) {
      const gateway = s.substrate.type === "proxmox" ? s.networking.underlay?.gateway : undefined;
      uplink = { address: hostAddress(underlay.cidr, a.ordinal), cidr: underlay.cidr.text, ...(gateway ? { gateway } : {}) };
    }
    return {
      name: n.name,
      role: n.role,
      failureDomain: n.failureDomain,
      ordinal: a.ordinal,
      ordinalSource: a.source,
      ...(s.substrate.type === "proxmox" ? { vmid: s.substrate.proxmox.vmidRange.start + a.ordinal } : {}),
      placement: pl,
      ...(uplink ? { uplink } : {}),
      addresses,
      ...(pods && nodePodCidr(pods, a.ordinal) ? { podCidr: nodePodCidr(pods, a.ordinal) } : {}),
    };
  });

  const vip = planes.find((p) => p.reserved.controlPlaneVip);
  return {
    cluster: { name: spec.metadata.name, artifactVersion: spec.metadata.artifactVersion, labels: { ...(spec.metadata.labels ?? {}) } },
    substrate: s.substrate.type,
    boundaries,
    ordinalSpace: space,
    planes,
    policy: {
      defaultInterPlane: s.networking.policy.defaultInterPlane ?? "deny",
      allow: (s.networking.policy.allow ?? []).map((r) => ({ ...r, ports: [...r.ports] })),
    },
    ...(s.kubernetes.enabled
      ? {
          controlPlaneEndpoint:
            s.substrate.type === "hetzner"
              ? {
                  kind: "load-balancer" as const,
                  port: 6443,
                  // The substrate attaches the load balancer at this fixed address of the private network.
                  ...(underlay ? { address: reservedAddress(underlay.cidr, LOAD_BALANCER_HOST_INDEX) } : {}),
                }
              : vip
                ? { kind: "vip" as const, plane: vip.name, address: vip.reserved.controlPlaneVip!, port: 6443 }
                : undefined,
        }
      : {}),
    ...(pods ? { podNetwork: pods } : {}),
    nodes,
    stages: planStages(spec, boundaries),
    ssh: {
      allowUsers: [...s.security.ssh.allowUsers],
      authorizedKeys: [...(s.security.ssh.authorizedKeys ?? [])],
      allowFrom: [...(s.security.ssh.allowFrom ?? [])],
    },
    mirrors: {
      ...(s.mirrors?.apt ? { apt: { ...s.mirrors.apt, components: [...s.mirrors.apt.components] } } : {}),
      ...(s.mirrors?.registry ? { registry: s.mirrors.registry } : {}),
      ...(s.mirrors?.charts ? { charts: s.mirrors.charts } : {}),
    },
    ...(underlay
      ? {
          underlay: {
            cidr: underlay.cidr.text,
            ...(s.substrate.type === "proxmox" && s.networking.underlay?.gateway ? { gateway: s.networking.underlay.gateway } : {}),
            nameservers: s.substrate.type === "proxmox" ? [...(s.networking.underlay?.nameservers ?? [])] : [],
          },
        }
      : {}),
    specDigest: digest(spec),
  };
}

/** sha256 over canonical JSON (sorted keys), so key order in the YAML does not change it. */
export function digest(value: unknown): string {
  return "sha256:" + createHash("sha256").update(canonicalJson(value)).digest("hex");
}

export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    return `{${Object.keys(v)
      .sort()
      .filter((k) => (v as Record<string, unknown>)[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((v as Record<string, unknown>)[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}
