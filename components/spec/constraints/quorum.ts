/** Control-plane quorum rules (seed 001 §13.1, §15.3). */
import { error, warning, type ConstraintRule, type Finding } from "./types";

export const haQuorum: ConstraintRule = {
  id: "ha-quorum",
  produces: ["error"],
  description: "Checks whether HA control-plane replicas are odd, at least 3, and match the control-plane nodes in the inventory.",
  needs: ["kubernetes", "nodes"],
  check(spec) {
    const out: Finding[] = [];
    const k = spec.spec.kubernetes;
    const cps = spec.spec.nodes.inventory.filter((n) => n.role === "control-plane");
    if (cps.length === 0) {
      out.push(
        error(
          "ha-quorum",
          ["spec", "nodes", "inventory"],
          "the inventory must hold at least one control-plane node (found 0); add a node with role: control-plane",
        ),
      );
    }
    if (!k.ha) return out;
    const path = ["spec", "kubernetes", "ha", "controlPlaneReplicas"];
    const r = k.ha.controlPlaneReplicas;
    if (r < 3 || r % 2 === 0) {
      const fix = r < 3 ? 3 : r + 1;
      out.push(
        error(
          "ha-quorum",
          path,
          `controlPlaneReplicas must be odd and ≥ 3 for etcd quorum (got ${r}); set it to ${fix} and add control-plane nodes to match`,
        ),
      );
    }
    if (cps.length !== r) {
      out.push(
        error(
          "ha-quorum",
          path,
          `controlPlaneReplicas is ${r} but the inventory has ${cps.length} control-plane node(s) (${cps.map((n) => n.name).join(", ") || "none"}); make them equal`,
        ),
      );
    }
    return out;
  },
};

export const failureDomainQuorum: ConstraintRule = {
  id: "failure-domain-quorum",
  produces: ["warning"],
  description: "Checks whether losing any one failure domain leaves the control plane with etcd quorum.",
  needs: ["kubernetes", "nodes"],
  check(spec) {
    const cps = spec.spec.nodes.inventory.filter((n) => n.role === "control-plane");
    if (!spec.spec.kubernetes.ha || cps.length < 3) return [];
    const byFd = new Map<string, string[]>();
    for (const n of cps) byFd.set(n.failureDomain, [...(byFd.get(n.failureDomain) ?? []), n.name]);
    const majority = Math.floor(cps.length / 2) + 1;
    const out: Finding[] = [];
    for (const [fd, names] of byFd) {
      if (cps.length - names.length < majority) {
        out.push(
          warning(
            "failure-domain-quorum",
            ["spec", "nodes", "failureDomains"],
            `failure domain ${fd} holds ${names.length} of ${cps.length} control planes (${names.join(", ")}); losing it loses etcd quorum — spread control planes over at least 3 failure domains`,
          ),
        );
      }
    }
    return out;
  },
};
