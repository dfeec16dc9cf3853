/** Ceph replication (seed 001 §11.2, §15.3). */
import { error, warning, type ConstraintRule, type Finding } from "./types";

export const cephReplication: ConstraintRule = {
  id: "ceph-replication",
  produces: ["error", "warning"],
  description:
    "Checks whether an enabled Ceph declares size, minSize, failure domains, plane and recovery, and has enough OSD nodes and failure domains for its size.",
  needs: ["storage", "nodes"],
  check(spec) {
    const c = spec.spec.storage.ceph;
    if (!c.enabled) return [];
    const base = ["spec", "storage", "ceph"];
    const out: Finding[] = [];
    for (const f of ["size", "minSize", "failureDomains", "plane", "recovery"] as const) {
      if (c[f] === undefined)
        out.push(
          error(
            "ceph-replication",
            base,
            `ceph is enabled but ${f} is missing; an enabled Ceph must declare size, minSize, failureDomains, plane and recovery`,
          ),
        );
    }
    if (c.size === undefined || c.minSize === undefined || c.failureDomains === undefined) return out;
    if (c.minSize > c.size)
      out.push(error("ceph-replication", [...base, "minSize"], `minSize ${c.minSize} exceeds size ${c.size}; minSize must be ≤ size`));
    if (c.size >= 2 && c.minSize < 2)
      out.push(
        warning(
          "ceph-replication",
          [...base, "minSize"],
          `minSize ${c.minSize} lets Ceph accept writes with a single copy; use minSize ≥ 2`,
        ),
      );
    const fds = new Set(c.failureDomains);
    if (fds.size < c.failureDomains.length)
      out.push(
        error(
          "ceph-replication",
          [...base, "failureDomains"],
          `failureDomains lists a domain twice (${c.failureDomains.join(", ")}); list each once`,
        ),
      );
    if (fds.size < c.size) {
      out.push(
        error(
          "ceph-replication",
          [...base, "failureDomains"],
          `size ${c.size} needs ${c.size} failure domains to place each replica apart, but ${fds.size} are listed (${[...fds].join(", ")})`,
        ),
      );
    }
    const inv = spec.spec.nodes.inventory;
    const osd = inv.filter((n) => (n.disks ?? []).some((d) => d.purpose === "ceph-osd"));
    // On Proxmox disks are declared, so OSDs are exactly the ceph-osd disks; elsewhere every node is a candidate.
    const declaresDisks = spec.spec.substrate.type === "proxmox";
    if (declaresDisks && osd.length === 0) {
      out.push(
        error(
          "ceph-replication",
          base,
          "ceph is enabled but no node has a disk with purpose: ceph-osd; add OSD disks on nodes in each of the listed failure domains",
        ),
      );
      return out;
    }
    const hosts = (declaresDisks ? osd : inv).filter((n) => fds.has(n.failureDomain));
    const hostFds = new Set(hosts.map((n) => n.failureDomain));
    if (hosts.length < c.size || hostFds.size < c.size) {
      out.push(
        error(
          "ceph-replication",
          [...base, "size"],
          `size ${c.size} needs OSD nodes in ${c.size} distinct failure domains; found ${hosts.length} node(s) in ${hostFds.size} (${[...hostFds].join(", ") || "none"}) — add ceph-osd disks on nodes in more failure domains or lower size`,
        ),
      );
    }
    return out;
  },
};
