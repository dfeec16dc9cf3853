/**
 * Placement: which Proxmox host, Hetzner location or bare-metal host each node lands on.
 *
 * Proxmox `spread`: a VM always stays inside its failure domain; among that domain's hosts it
 * goes to the one holding the fewest nodes of its role, then the fewest nodes, then the first
 * declared. Control planes are placed first so they get the widest spread; within a role,
 * nodes go in ordinal order, which depends only on their names.
 */
import type { ClusterSpec, InventoryNode } from "../spec/schema";

export interface Placement {
  /** Proxmox node name (Proxmox). */
  host?: string;
  /** Hetzner location (Hetzner). */
  location?: string;
  /** Hetzner spread placement group, one per failure domain (Hetzner). */
  placementGroup?: string;
  /** Bare-metal SSH endpoint (bare metal). */
  sshAddress?: string;
  sshPort?: number;
  /** Pinned SSH host key (bare metal; Proxmox and Hetzner learn it at firstboot). */
  hostKey?: string;
}

export function placeNodes(spec: ClusterSpec, ordinals: ReadonlyMap<string, number>): Map<string, Placement> {
  const s = spec.spec.substrate;
  const inv = spec.spec.nodes.inventory;
  const out = new Map<string, Placement>();
  switch (s.type) {
    case "proxmox": {
      const hosts = s.proxmox.hosts ?? [];
      const load = new Map<string, { total: number; byRole: Map<string, number> }>(
        hosts.map((h) => [h.name, { total: 0, byRole: new Map() }]),
      );
      const order = [...inv].sort(
        (a, b) => roleRank(a) - roleRank(b) || (ordinals.get(a.name) ?? 0) - (ordinals.get(b.name) ?? 0) || a.name.localeCompare(b.name),
      );
      const spread = s.proxmox.placement.strategy === "spread" && s.proxmox.placement.by.includes("node");
      for (const n of order) {
        const candidates = hosts.filter((h) => h.failureDomain === n.failureDomain);
        if (candidates.length === 0) {
          out.set(n.name, {});
          continue;
        }
        let best = candidates[0];
        if (spread) {
          for (const h of candidates) {
            const l = load.get(h.name)!;
            const b = load.get(best.name)!;
            const lr = l.byRole.get(n.role) ?? 0;
            const br = b.byRole.get(n.role) ?? 0;
            if (lr < br || (lr === br && l.total < b.total)) best = h;
          }
        }
        const l = load.get(best.name)!;
        l.total++;
        l.byRole.set(n.role, (l.byRole.get(n.role) ?? 0) + 1);
        out.set(n.name, { host: best.name });
      }
      return out;
    }
    case "hetzner":
      for (const n of inv) {
        const loc = s.hetzner.locations.find((l) => l.failureDomain === n.failureDomain);
        out.set(n.name, { location: loc?.name, placementGroup: `${spec.metadata.name}-${n.failureDomain}` });
      }
      return out;
    case "baremetal":
      for (const n of inv) {
        const h = s.baremetal.hosts.find((x) => x.node === n.name);
        out.set(n.name, h ? { sshAddress: h.address, sshPort: h.port ?? 22, hostKey: h.hostKey } : {});
      }
      return out;
    default: {
      const never: never = s;
      throw new Error(`unknown substrate ${(never as { type: string }).type}`);
    }
  }
}

const roleRank = (n: InventoryNode): number => (n.role === "control-plane" ? 0 : 1);
