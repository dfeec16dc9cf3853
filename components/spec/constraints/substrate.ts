/** Substrate and inventory rules: references, names, VLAN trunks, VM shape, placement. */
import type { ClusterSpec } from "../schema";
import { error, warning, type ConstraintRule, type Finding } from "./types";

const inv = (i: number, ...rest: Array<string | number>) => ["spec", "nodes", "inventory", i, ...rest];

export const vlanTrunkConsistency: ConstraintRule = {
  id: "vlan-trunk-consistency",
  produces: ["error", "warning"],
  description: "Checks whether each NIC's bridge exists and each NIC VLAN sits on a VLAN-aware bridge that trunks it.",
  needs: ["substrate", "nodes"],
  check(spec) {
    const s = spec.spec.substrate;
    if (s.type !== "proxmox") return [];
    const bridges = new Map(s.proxmox.bridges.map((b) => [b.name, b]));
    const out: Finding[] = [];
    spec.spec.nodes.inventory.forEach((n, i) => {
      (n.nics ?? []).forEach((nic, j) => {
        const b = bridges.get(nic.bridge);
        if (!b) {
          out.push(
            error(
              "vlan-trunk-consistency",
              inv(i, "nics", j, "bridge"),
              `node ${n.name} NIC ${j} uses bridge ${nic.bridge}, which is not declared (bridges: ${[...bridges.keys()].join(", ")}); add it under substrate.proxmox.bridges`,
            ),
          );
          return;
        }
        if (nic.vlan === undefined) return;
        if (!b.vlanAware) {
          out.push(
            error(
              "vlan-trunk-consistency",
              inv(i, "nics", j, "vlan"),
              `node ${n.name} NIC ${j} is tagged VLAN ${nic.vlan} but bridge ${b.name} is not vlanAware; set vlanAware: true on ${b.name} or drop the tag`,
            ),
          );
        } else if (!(b.trunks ?? []).includes(nic.vlan)) {
          out.push(
            error(
              "vlan-trunk-consistency",
              inv(i, "nics", j, "vlan"),
              `node ${n.name} NIC ${j} is tagged VLAN ${nic.vlan} but bridge ${b.name} trunks [${(b.trunks ?? []).join(", ")}]; add ${nic.vlan} to its trunks`,
            ),
          );
        }
      });
    });
    s.proxmox.bridges.forEach((b, i) => {
      if (!b.vlanAware && b.trunks && b.trunks.length > 0) {
        out.push(
          warning(
            "vlan-trunk-consistency",
            ["spec", "substrate", "proxmox", "bridges", i, "trunks"],
            `bridge ${b.name} lists trunks but is not vlanAware; the trunks have no effect`,
          ),
        );
      }
    });
    return out;
  },
};

function duplicates(names: string[]): Array<[string, number]> {
  const seen = new Set<string>();
  const dups: Array<[string, number]> = [];
  names.forEach((n, i) => {
    if (seen.has(n)) dups.push([n, i]);
    seen.add(n);
  });
  return dups;
}

export const uniqueNames: ConstraintRule = {
  id: "unique-names",
  produces: ["error"],
  description: "Checks whether node, failure-domain, bridge, pool and host names are unique.",
  needs: ["substrate", "nodes"],
  check(spec) {
    const out: Finding[] = [];
    const lists: Array<[string, string[], Array<string | number>]> = [
      ["node", spec.spec.nodes.inventory.map((n) => n.name), ["spec", "nodes", "inventory"]],
      ["failure domain", spec.spec.nodes.failureDomains.map((f) => f.name), ["spec", "nodes", "failureDomains"]],
    ];
    const s = spec.spec.substrate;
    if (s.type === "proxmox") {
      lists.push(["bridge", s.proxmox.bridges.map((b) => b.name), ["spec", "substrate", "proxmox", "bridges"]]);
      lists.push(["storage pool", s.proxmox.storagePools.map((p) => p.name), ["spec", "substrate", "proxmox", "storagePools"]]);
      lists.push(["Proxmox host", (s.proxmox.hosts ?? []).map((h) => h.name), ["spec", "substrate", "proxmox", "hosts"]]);
    } else if (s.type === "hetzner") {
      lists.push(["Hetzner location", s.hetzner.locations.map((l) => l.name), ["spec", "substrate", "hetzner", "locations"]]);
    } else {
      lists.push(["bare-metal host", s.baremetal.hosts.map((h) => h.node), ["spec", "substrate", "baremetal", "hosts"]]);
    }
    for (const [what, names, path] of lists) {
      for (const [name, i] of duplicates(names)) {
        out.push(error("unique-names", [...path, i], `${what} name ${name} is used twice; names must be unique`));
      }
    }
    return out;
  },
};

function failureDomainRefs(spec: ClusterSpec): Array<[string, Array<string | number>, string]> {
  const refs: Array<[string, Array<string | number>, string]> = spec.spec.nodes.inventory.map((n, i) => [
    n.failureDomain,
    inv(i, "failureDomain"),
    `node ${n.name}`,
  ]);
  const s = spec.spec.substrate;
  if (s.type === "proxmox")
    (s.proxmox.hosts ?? []).forEach((h, i) =>
      refs.push([h.failureDomain, ["spec", "substrate", "proxmox", "hosts", i, "failureDomain"], `Proxmox host ${h.name}`]),
    );
  if (s.type === "hetzner")
    s.hetzner.locations.forEach((l, i) =>
      refs.push([l.failureDomain, ["spec", "substrate", "hetzner", "locations", i, "failureDomain"], `location ${l.name}`]),
    );
  (spec.spec.storage.ceph.failureDomains ?? []).forEach((fd, i) =>
    refs.push([fd, ["spec", "storage", "ceph", "failureDomains", i], "ceph"]),
  );
  return refs;
}

export const knownReferences: ConstraintRule = {
  id: "known-references",
  produces: ["error"],
  description: "Checks whether every failure domain, storage pool and host a field names is declared.",
  needs: ["substrate", "nodes", "storage", "security"],
  check(spec) {
    const out: Finding[] = [];
    const fds = new Set(spec.spec.nodes.failureDomains.map((f) => f.name));
    const fdList = [...fds].join(", ");
    for (const [fd, path, who] of failureDomainRefs(spec)) {
      if (!fds.has(fd))
        out.push(
          error(
            "known-references",
            path,
            `${who} names failure domain ${fd}, which is not declared (failure domains: ${fdList}); add it under nodes.failureDomains`,
          ),
        );
    }
    const s = spec.spec.substrate;
    if (s.type === "proxmox") {
      const pools = new Map(s.proxmox.storagePools.map((p) => [p.name, p]));
      spec.spec.nodes.inventory.forEach((n, i) =>
        (n.disks ?? []).forEach((d, j) => {
          if (!pools.has(d.pool))
            out.push(
              error(
                "known-references",
                inv(i, "disks", j, "pool"),
                `node ${n.name} disk ${j} uses pool ${d.pool}, which is not declared (pools: ${[...pools.keys()].join(", ")})`,
              ),
            );
        }),
      );
      const zfs = spec.spec.storage.zfs;
      if (zfs.enabled) {
        zfs.pools.forEach((p, i) => {
          const pool = pools.get(p);
          const path = ["spec", "storage", "zfs", "pools", i];
          if (!pool)
            out.push(
              error("known-references", path, `zfs pool ${p} is not a declared storage pool (pools: ${[...pools.keys()].join(", ")})`),
            );
          else if (pool.type !== "zfs" && pool.type !== "zfspool")
            out.push(error("known-references", path, `zfs pool ${p} is a ${pool.type} pool; list only zfs pools here`));
        });
      }
    }
    if (s.type === "baremetal") {
      const names = new Set(spec.spec.nodes.inventory.map((n) => n.name));
      s.baremetal.hosts.forEach((h, i) => {
        if (!names.has(h.node))
          out.push(
            error(
              "known-references",
              ["spec", "substrate", "baremetal", "hosts", i, "node"],
              `bare-metal host entry names node ${h.node}, which is not in the inventory`,
            ),
          );
      });
      if (!spec.spec.security.ssh.allowUsers.includes(s.baremetal.sshUser)) {
        out.push(
          error(
            "known-references",
            ["spec", "substrate", "baremetal", "sshUser"],
            `sshUser ${s.baremetal.sshUser} is not in security.ssh.allowUsers (${spec.spec.security.ssh.allowUsers.join(", ")}); kubedos could not log in after hardening`,
          ),
        );
      }
    }
    return out;
  },
};

export const substrateNodeShape: ConstraintRule = {
  id: "substrate-node-shape",
  produces: ["error", "warning"],
  description:
    "Checks whether every node carries what its substrate needs (VM resources, one OS disk and one uplink on Proxmox; a host entry on bare metal).",
  needs: ["substrate", "nodes"],
  check(spec) {
    const out: Finding[] = [];
    const s = spec.spec.substrate;
    spec.spec.nodes.inventory.forEach((n, i) => {
      if (s.type === "proxmox") {
        if (!n.resources)
          out.push(
            error("substrate-node-shape", inv(i), `node ${n.name} has no resources; Proxmox VMs need resources: { cpu, memoryMiB }`),
          );
        const os = (n.disks ?? []).filter((d) => d.purpose === "os").length;
        if (os !== 1)
          out.push(
            error(
              "substrate-node-shape",
              inv(i, "disks"),
              `node ${n.name} has ${os} disks with purpose os; a Proxmox VM needs exactly one`,
            ),
          );
        const up = (n.nics ?? []).filter((d) => d.purpose === "uplink").length;
        if (up !== 1)
          out.push(
            error(
              "substrate-node-shape",
              inv(i, "nics"),
              `node ${n.name} has ${up} NICs with purpose uplink; a Proxmox VM needs exactly one`,
            ),
          );
      } else {
        for (const field of ["disks", "nics"] as const) {
          if (n[field])
            out.push(
              warning(
                "substrate-node-shape",
                inv(i, field),
                `node ${n.name} declares ${field}, which only Proxmox uses; ${s.type} ignores them`,
              ),
            );
        }
      }
    });
    if (s.type === "baremetal") {
      const hosts = new Set(s.baremetal.hosts.map((h) => h.node));
      spec.spec.nodes.inventory.forEach((n, i) => {
        if (!hosts.has(n.name))
          out.push(
            error(
              "substrate-node-shape",
              inv(i),
              `node ${n.name} has no entry in substrate.baremetal.hosts; add { node: ${n.name}, address, hostKey }`,
            ),
          );
      });
    }
    return out;
  },
};

export const vmidRange: ConstraintRule = {
  id: "vmid-range",
  produces: ["error"],
  description: "Checks whether the Proxmox vmid range is well-formed and large enough for the inventory.",
  needs: ["substrate", "nodes"],
  check(spec) {
    const s = spec.spec.substrate;
    if (s.type !== "proxmox") return [];
    const { start, end } = s.proxmox.vmidRange;
    const path = ["spec", "substrate", "proxmox", "vmidRange"];
    if (end < start) return [error("vmid-range", path, `vmidRange end ${end} is before start ${start}; swap them`)];
    const n = spec.spec.nodes.inventory.length;
    if (end - start + 1 < n)
      return [
        error("vmid-range", path, `vmidRange ${start}-${end} holds ${end - start + 1} vmids but the inventory has ${n} nodes; widen it`),
      ];
    return [];
  },
};

export const placementHosts: ConstraintRule = {
  id: "placement-hosts",
  produces: ["error", "warning"],
  description: "Checks whether placement can be resolved: Proxmox hosts for spread by node, a location per failure domain on Hetzner.",
  needs: ["substrate", "nodes"],
  check(spec) {
    const s = spec.spec.substrate;
    const out: Finding[] = [];
    const usedFds = new Set(spec.spec.nodes.inventory.map((n) => n.failureDomain));
    if (s.type === "proxmox") {
      const hosts = s.proxmox.hosts;
      if (!hosts || hosts.length === 0) {
        out.push(
          warning(
            "placement-hosts",
            ["spec", "substrate", "proxmox"],
            `no Proxmox hosts are declared, so no VM can be placed on a host; add substrate.proxmox.hosts: [{ name, failureDomain }] (the substrate stage needs it)`,
          ),
        );
        return out;
      }
      for (const fd of usedFds) {
        if (!hosts.some((h) => h.failureDomain === fd)) {
          out.push(
            error(
              "placement-hosts",
              ["spec", "substrate", "proxmox", "hosts"],
              `failure domain ${fd} has nodes but no Proxmox host; add a host with failureDomain: ${fd}`,
            ),
          );
        }
      }
    }
    if (s.type === "hetzner") {
      for (const fd of usedFds) {
        const n = s.hetzner.locations.filter((l) => l.failureDomain === fd).length;
        if (n !== 1)
          out.push(
            error(
              "placement-hosts",
              ["spec", "substrate", "hetzner", "locations"],
              `failure domain ${fd} maps to ${n} Hetzner locations; map it to exactly one`,
            ),
          );
      }
    }
    return out;
  },
};

export const substrateSource: ConstraintRule = {
  id: "substrate-source",
  description:
    "Checks whether the substrate can build machines: a Proxmox template or image (not both) and an underlay to address the VMs.",
  produces: ["error", "warning"],
  needs: ["substrate", "networking"],
  check(spec) {
    const s = spec.spec.substrate;
    if (s.type !== "proxmox") return [];
    const base = ["spec", "substrate", "proxmox"];
    const out: Finding[] = [];
    if (s.proxmox.template && s.proxmox.image) {
      out.push(
        error(
          "substrate-source",
          base,
          "both template and image are declared; VMs are built from one source — keep template (a full clone) or image (an import), not both",
        ),
      );
    } else if (!s.proxmox.template && !s.proxmox.image) {
      out.push(
        warning(
          "substrate-source",
          base,
          "neither template nor image is declared, so Stage 1 cannot build VMs; add template: { vmid, node } or image: { url, sha256, datastore }",
        ),
      );
    }
    if (!spec.spec.networking.underlay) {
      out.push(
        warning(
          "substrate-source",
          ["spec", "networking"],
          "no networking.underlay is declared, so VMs get no uplink address and Stage 1 cannot build them; add underlay: { cidr, gateway, nameservers }",
        ),
      );
    }
    return out;
  },
};
