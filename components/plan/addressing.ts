/**
 * Deterministic, stable node numbering.
 *
 * Every node has one **ordinal**. It fixes the node's host part on every plane
 * (`network + HOST_OFFSET + ordinal`, the same last octets on wg1/wg2/wg3 and the underlay)
 * and its Proxmox vmid (`vmidRange.start + ordinal`).
 *
 * Why a hash of the name and not the position in the inventory: positional numbering
 * renumbers every node after one that is removed, and a renumbered node is a replaced VM and
 * a re-keyed WireGuard peer. A node's derived ordinal depends on its own name and on the size
 * of the ordinal space only, so adding or removing another node never moves it. Two names can
 * land on the same ordinal; that is reported as an error (`address-collision`) with a free
 * ordinal to pin — never resolved silently, because silent probing would make one node's
 * number depend on the others again.
 *
 * The ordinal space is the smallest capacity among the planes, the underlay and the vmid
 * range. Changing a CIDR or the vmid range can therefore renumber derived ordinals; pin
 * `ordinal` on every node before such a change (the plan exports the current ordinals).
 */
import { createHash } from "node:crypto";
import type { ClusterSpec, InventoryNode } from "../spec/schema";
import { formatIp, parseCidr, type Cidr4 } from "./ipv4";

/**
 * Host indices 1..9 of every plane are reserved for infrastructure addresses
 * (1: control-plane virtual IP on the Kubernetes plane, 2–5: operator peers, 6–9: spare).
 * Nodes start at index 10.
 */
export const HOST_OFFSET = 10;
export const RESERVED = { controlPlaneVip: 1, operatorPeer: 2 } as const;

/** Version tag of the derivation; changing it would renumber every cluster, so it never changes. */
const ORDINAL_DOMAIN = "kubedos/ordinal/v1/";

/** A network nodes are numbered on: a plane, or the uplink underlay. */
export interface NumberedNetwork {
  /** Plane name, or "underlay". */
  name: string;
  cidr: Cidr4;
  /** Spec path of the CIDR, for diagnostics. */
  path: Array<string | number>;
}

/** Ordinals that fit in a block: host indices HOST_OFFSET .. size-2 (the last is broadcast). */
export function blockCapacity(c: Cidr4): number {
  return Math.max(0, c.size - 1 - HOST_OFFSET);
}

export function numberedNetworks(spec: ClusterSpec): NumberedNetwork[] {
  const nets: NumberedNetwork[] = Object.entries(spec.spec.networking.planes).map(([name, p]) => ({
    name,
    cidr: parseCidr(p.cidr),
    path: ["spec", "networking", "planes", name, "cidr"],
  }));
  const underlay = underlayCidr(spec);
  if (underlay) nets.push(underlay);
  return nets;
}

/** The uplink network whose addresses kubedos derives (Proxmox underlay or Hetzner private network). */
export function underlayCidr(spec: ClusterSpec): NumberedNetwork | undefined {
  const s = spec.spec.substrate;
  if (s.type === "hetzner") {
    return { name: "underlay", cidr: parseCidr(s.hetzner.network.cidr), path: ["spec", "substrate", "hetzner", "network", "cidr"] };
  }
  if (s.type === "proxmox" && spec.spec.networking.underlay) {
    return { name: "underlay", cidr: parseCidr(spec.spec.networking.underlay.cidr), path: ["spec", "networking", "underlay", "cidr"] };
  }
  return undefined;
}

export interface OrdinalSpace {
  size: number;
  /** What bounds the space (for messages). */
  limitedBy: string;
}

export function ordinalSpace(spec: ClusterSpec): OrdinalSpace {
  let best: OrdinalSpace = { size: Number.MAX_SAFE_INTEGER, limitedBy: "" };
  for (const n of numberedNetworks(spec)) {
    const cap = blockCapacity(n.cidr);
    if (cap < best.size) best = { size: cap, limitedBy: `${n.name} ${n.cidr.text} (${cap} node addresses)` };
  }
  const s = spec.spec.substrate;
  if (s.type === "proxmox") {
    const cap = s.proxmox.vmidRange.end - s.proxmox.vmidRange.start + 1;
    if (cap < best.size)
      best = { size: cap, limitedBy: `vmidRange ${s.proxmox.vmidRange.start}-${s.proxmox.vmidRange.end} (${cap} vmids)` };
  }
  return best;
}

/** The ordinal a node name derives to in a space of `size` (pure function of the name). */
export function deriveOrdinal(name: string, size: number): number {
  if (size <= 0) return 0;
  const h = createHash("sha256")
    .update(ORDINAL_DOMAIN + name)
    .digest();
  // 48 bits keep the modulo bias negligible for any realistic space.
  return h.readUIntBE(0, 6) % size;
}

export interface OrdinalAssignment {
  name: string;
  ordinal: number;
  source: "pinned" | "derived";
}

export function assignOrdinals(spec: ClusterSpec): OrdinalAssignment[] {
  const space = ordinalSpace(spec);
  return spec.spec.nodes.inventory.map((n: InventoryNode) =>
    n.ordinal !== undefined
      ? { name: n.name, ordinal: n.ordinal, source: "pinned" as const }
      : { name: n.name, ordinal: deriveOrdinal(n.name, space.size), source: "derived" as const },
  );
}

/** Address of ordinal `o` in a block. */
export function hostAddress(c: Cidr4, ordinal: number): string {
  return formatIp(c.network + HOST_OFFSET + ordinal);
}

/** Address of a reserved host index in a block. */
export function reservedAddress(c: Cidr4, index: number): string {
  return formatIp(c.network + index);
}
