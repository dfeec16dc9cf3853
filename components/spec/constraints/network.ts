/** Plane, policy and addressing rules (seed 001 §10, §15.3). */
import { assignOrdinals, numberedNetworks, ordinalSpace, HOST_OFFSET } from "../../plan/addressing";
import { defaultPlanePort } from "../../plan/ports";
import { contains, formatIp, isNetworkOrBroadcast, overlaps, parseCidr, parseIp } from "../../plan/ipv4";
import { error, warning, type ConstraintRule, type Finding } from "./types";

export const planeCidrOverlap: ConstraintRule = {
  id: "plane-cidr-overlap",
  produces: ["error"],
  description: "Checks whether plane CIDRs (and the underlay) are pairwise disjoint.",
  needs: ["networking", "substrate"],
  check(spec) {
    const nets = numberedNetworks(spec);
    const out: Finding[] = [];
    for (let i = 0; i < nets.length; i++) {
      for (let j = i + 1; j < nets.length; j++) {
        const [a, b] = [nets[i], nets[j]];
        if (overlaps(a.cidr, b.cidr)) {
          out.push(
            error(
              "plane-cidr-overlap",
              b.path,
              `${b.name} ${b.cidr.text} overlaps ${a.name} ${a.cidr.text}; planes must not overlap — give ${b.name} a disjoint CIDR`,
            ),
          );
        }
      }
    }
    return out;
  },
};

export const interPlaneDefault: ConstraintRule = {
  id: "inter-plane-default",
  produces: ["error", "warning"],
  description: "Checks whether the default inter-plane policy is declared (deny recommended).",
  needs: ["networking"],
  check(spec) {
    const p = spec.spec.networking.policy;
    const path = ["spec", "networking", "policy", "defaultInterPlane"];
    if (p.defaultInterPlane === undefined) {
      return [
        error(
          "inter-plane-default",
          ["spec", "networking", "policy"],
          "defaultInterPlane must be declared; add `defaultInterPlane: deny` (recommended) and list exceptions under `allow`",
        ),
      ];
    }
    if (p.defaultInterPlane === "allow") {
      return [
        warning(
          "inter-plane-default",
          path,
          "defaultInterPlane is allow: every plane can reach every other; set it to deny and list the flows you need under `allow`",
        ),
      ];
    }
    return [];
  },
};

export const knownPlanes: ConstraintRule = {
  id: "known-planes",
  produces: ["error", "warning"],
  description: "Checks whether every plane named by allow rules, the observability binding and Ceph is declared.",
  needs: ["networking", "kubernetes", "storage"],
  check(spec) {
    const planes = spec.spec.networking.planes;
    const names = Object.keys(planes);
    const list = names.join(", ") || "none";
    const out: Finding[] = [];
    (spec.spec.networking.policy.allow ?? []).forEach((r, i) => {
      for (const end of ["from", "to"] as const) {
        if (!(r[end] in planes)) {
          out.push(
            error(
              "known-planes",
              ["spec", "networking", "policy", "allow", i, end],
              `allow rule names plane ${r[end]}, which is not declared (planes: ${list}); use a declared plane or add it under networking.planes`,
            ),
          );
        }
      }
      if (r.from === r.to) {
        out.push(
          error(
            "known-planes",
            ["spec", "networking", "policy", "allow", i],
            `allow rule goes from ${r.from} to itself; intra-plane traffic is always allowed — remove the rule or name two planes`,
          ),
        );
      }
    });
    const k = spec.spec.kubernetes;
    if (k.observability.enabled && !(k.observability.bindPlane in planes)) {
      out.push(
        error(
          "known-planes",
          ["spec", "kubernetes", "observability", "bindPlane"],
          `bindPlane ${k.observability.bindPlane} is not a declared plane (planes: ${list})`,
        ),
      );
    } else if (k.observability.enabled && planes[k.observability.bindPlane].purpose !== "observability") {
      out.push(
        warning(
          "known-planes",
          ["spec", "kubernetes", "observability", "bindPlane"],
          `bindPlane ${k.observability.bindPlane} has purpose ${planes[k.observability.bindPlane].purpose}; observability traffic belongs on a plane with purpose: observability (conventionally wg2)`,
        ),
      );
    }
    const ceph = spec.spec.storage.ceph;
    if (ceph.enabled && ceph.plane !== undefined && !(ceph.plane in planes)) {
      out.push(
        error("known-planes", ["spec", "storage", "ceph", "plane"], `ceph plane ${ceph.plane} is not a declared plane (planes: ${list})`),
      );
    } else if (ceph.enabled && ceph.plane !== undefined && planes[ceph.plane].purpose !== "storage") {
      out.push(
        warning(
          "known-planes",
          ["spec", "storage", "ceph", "plane"],
          `ceph plane ${ceph.plane} has purpose ${planes[ceph.plane].purpose}; replication traffic belongs on a plane with purpose: storage`,
        ),
      );
    }
    const purposes = new Set(Object.values(planes).map((p) => p.purpose));
    if (!purposes.has("control")) {
      out.push(
        error(
          "known-planes",
          ["spec", "networking", "planes"],
          "no plane has purpose: control; SSH, enrollment and operator access need one (conventionally wg1)",
        ),
      );
    }
    if (k.enabled && !purposes.has("kubernetes-backend")) {
      out.push(
        error(
          "known-planes",
          ["spec", "networking", "planes"],
          "kubernetes is enabled but no plane has purpose: kubernetes-backend (conventionally wg3); the API server and etcd bind to it",
        ),
      );
    }
    return out;
  },
};

export const addressingMode: ConstraintRule = {
  id: "addressing-mode",
  produces: ["error"],
  description: "Checks whether node plane addresses follow the declared addressing mode.",
  needs: ["networking", "nodes"],
  check(spec) {
    const mode = spec.spec.networking.addressing.mode;
    const planes = spec.spec.networking.planes;
    const out: Finding[] = [];
    const modePath = ["spec", "networking", "addressing", "mode"];
    if (mode === "dhcp-resolved") {
      return [
        error(
          "addressing-mode",
          modePath,
          "dhcp-resolved cannot address WireGuard planes (WireGuard has no DHCP and peers need each other's addresses ahead of time); use deterministic or static",
        ),
      ];
    }
    const inv = spec.spec.nodes.inventory;
    if (mode === "deterministic") {
      inv.forEach((n, i) => {
        if (n.addresses)
          out.push(
            error(
              "addressing-mode",
              ["spec", "nodes", "inventory", i, "addresses"],
              `node ${n.name} declares addresses but addressing.mode is deterministic; remove them (pin \`ordinal\` instead) or switch to static`,
            ),
          );
      });
      return out;
    }
    // static: every node declares a valid, unique address on every plane.
    const seen = new Map<string, string>();
    inv.forEach((n, i) => {
      const base = ["spec", "nodes", "inventory", i, "addresses"];
      for (const [plane, p] of Object.entries(planes)) {
        const ip = n.addresses?.[plane];
        if (ip === undefined) {
          out.push(
            error(
              "addressing-mode",
              base,
              `node ${n.name} has no address on plane ${plane}; addressing.mode static needs one per plane (e.g. ${plane}: ${formatIp(parseCidr(p.cidr).network + HOST_OFFSET)})`,
            ),
          );
          continue;
        }
        const c = parseCidr(p.cidr);
        const v = parseIp(ip);
        if (!contains(c, v) || isNetworkOrBroadcast(c, v)) {
          out.push(
            error("addressing-mode", [...base, plane], `node ${n.name} address ${ip} is not a host address of plane ${plane} ${c.text}`),
          );
        }
        const key = `${plane}/${ip}`;
        const other = seen.get(key);
        if (other)
          out.push(
            error(
              "addressing-mode",
              [...base, plane],
              `node ${n.name} address ${ip} on ${plane} is already used by ${other}; addresses must be unique`,
            ),
          );
        else seen.set(key, n.name);
      }
      for (const plane of Object.keys(n.addresses ?? {})) {
        if (!(plane in planes))
          out.push(
            error("addressing-mode", [...base, plane], `node ${n.name} declares an address on ${plane}, which is not a declared plane`),
          );
      }
    });
    return out;
  },
};

/** Ordinals not yet taken, lowest first (for fix suggestions). */
function freeOrdinals(used: Set<number>, size: number): () => number {
  return () => {
    for (let o = 0; o < size; o++) {
      if (!used.has(o)) {
        used.add(o);
        return o;
      }
    }
    return -1;
  };
}

export const planeCapacity: ConstraintRule = {
  id: "plane-capacity",
  produces: ["error"],
  description: "Checks whether every node fits the ordinal space (plane, underlay and vmid capacity).",
  needs: ["networking", "nodes", "substrate"],
  check(spec) {
    const space = ordinalSpace(spec);
    const inv = spec.spec.nodes.inventory;
    if (inv.length > space.size) {
      return [
        error(
          "plane-capacity",
          ["spec", "nodes", "inventory"],
          `${inv.length} nodes do not fit: the ordinal space holds ${space.size}, limited by ${space.limitedBy}; widen it`,
        ),
      ];
    }
    const assigned = assignOrdinals(spec);
    const next = freeOrdinals(new Set(assigned.map((a) => a.ordinal)), space.size);
    const out: Finding[] = [];
    assigned.forEach((a, i) => {
      if (a.ordinal >= space.size) {
        out.push(
          error(
            "plane-capacity",
            ["spec", "nodes", "inventory", i, "ordinal"],
            `node ${a.name} pins ordinal ${a.ordinal}, outside the ordinal space 0..${space.size - 1} (limited by ${space.limitedBy}); pin ${next()} or widen the space`,
          ),
        );
      }
    });
    return out;
  },
};

export const addressCollision: ConstraintRule = {
  id: "address-collision",
  produces: ["error"],
  description: "Checks whether node ordinals (host part on every plane, vmid offset) are unique.",
  needs: ["networking", "nodes", "substrate"],
  check(spec) {
    const space = ordinalSpace(spec);
    const assigned = assignOrdinals(spec);
    const next = freeOrdinals(new Set(assigned.map((a) => a.ordinal)), space.size);
    const out: Finding[] = [];
    const byOrdinal = new Map<number, number>();
    assigned.forEach((a, i) => {
      const prev = byOrdinal.get(a.ordinal);
      if (prev === undefined) {
        byOrdinal.set(a.ordinal, i);
        return;
      }
      out.push(
        error(
          "address-collision",
          ["spec", "nodes", "inventory", i],
          `node ${a.name} and node ${assigned[prev].name} both ${a.source === "pinned" ? "use" : "derive"} ordinal ${a.ordinal} (the same address on every plane and the same vmid); pin \`ordinal: ${next()}\` (free) on ${a.name}`,
        ),
      );
    });
    return out;
  },
};

export const underlayAddresses: ConstraintRule = {
  id: "underlay-addresses",
  produces: ["error", "warning"],
  description: "Checks whether the underlay gateway and nameservers sit where node uplink addresses cannot collide with them.",
  needs: ["networking", "nodes", "substrate"],
  check(spec) {
    const u = spec.spec.networking.underlay;
    if (spec.spec.substrate.type !== "proxmox" || !u) return [];
    const c = parseCidr(u.cidr);
    const out: Finding[] = [];
    const space = ordinalSpace(spec);
    const nodeAt = new Map(assignOrdinals(spec).map((a) => [c.network + HOST_OFFSET + a.ordinal, a.name]));
    const base = ["spec", "networking", "underlay"];
    if (u.gateway !== undefined) {
      const g = parseIp(u.gateway);
      if (!contains(c, g) || isNetworkOrBroadcast(c, g)) {
        out.push(
          error(
            "underlay-addresses",
            [...base, "gateway"],
            `gateway ${u.gateway} is not a host address of the underlay ${c.text}; nodes could not reach it`,
          ),
        );
      } else if (nodeAt.has(g)) {
        out.push(
          error(
            "underlay-addresses",
            [...base, "gateway"],
            `gateway ${u.gateway} is node ${nodeAt.get(g)}'s uplink address; put the gateway at host index 1–9 (reserved) or pin the node's ordinal elsewhere`,
          ),
        );
      } else if (g - c.network >= HOST_OFFSET && g - c.network < HOST_OFFSET + space.size) {
        out.push(
          warning(
            "underlay-addresses",
            [...base, "gateway"],
            `gateway ${u.gateway} lies in the node range (host index ${HOST_OFFSET}+); a node added later may derive this address — use host index 1–9`,
          ),
        );
      }
    }
    (u.nameservers ?? []).forEach((ns, i) => {
      const v = parseIp(ns);
      if (nodeAt.has(v))
        out.push(
          error(
            "underlay-addresses",
            [...base, "nameservers", i],
            `nameserver ${ns} is node ${nodeAt.get(v)}'s uplink address; point at a resolver outside the node range`,
          ),
        );
    });
    return out;
  },
};

export const planePorts: ConstraintRule = {
  id: "plane-ports",
  description:
    "Checks whether every plane has a WireGuard port (explicit, or 51820 + N for a plane named wgN) and no two planes share one.",
  produces: ["error"],
  needs: ["networking"],
  check(spec) {
    const out: Finding[] = [];
    const byPort = new Map<number, string>();
    for (const [name, p] of Object.entries(spec.spec.networking.planes)) {
      const path = ["spec", "networking", "planes", name];
      const port = p.port ?? defaultPlanePort(name);
      if (port === undefined) {
        out.push(
          error("plane-ports", path, `plane ${name} has no port and its name is not wgN, so no default applies; set port: (e.g. 51830)`),
        );
        continue;
      }
      const other = byPort.get(port);
      if (other)
        out.push(
          error(
            "plane-ports",
            [...path, "port"],
            `plane ${name} uses UDP port ${port}, already used by plane ${other}; every plane needs its own port`,
          ),
        );
      else byPort.set(port, name);
    }
    return out;
  },
};
