/** Kubernetes version and pod network rules (seed 001 §6.2 version locks, §13). */
import { parseCidr, overlaps } from "../../plan/ipv4";
import { DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET } from "../../plan/kubernetes-networks";
import { KUBERNETES_LOCKS, resolveKubernetes } from "../../supplychain/locks";
import { error, warning, type ConstraintRule, type Finding } from "./types";

/**
 * The version must resolve through the locks. A minor line without a lock (an end-of-life
 * v1.30.x, say) is a warning, not an error: the spec is still valid for every stage before
 * Kubernetes, and Stage 6 refuses with the same message. An exact patch that is not the locked
 * one is an error: kubedos would silently install something else.
 */
export const kubernetesVersion: ConstraintRule = {
  id: "kubernetes-version",
  produces: ["error", "warning"],
  description: "Checks whether kubernetes.version resolves to a locked Kubernetes release.",
  needs: ["kubernetes"],
  check(spec) {
    const k = spec.spec.kubernetes;
    if (!k.enabled) return [];
    const path = ["spec", "kubernetes", "version"];
    const m = /^v?(\d+)\.(\d+)\.(\d+|x)$/.exec(k.version);
    if (!m) return []; // the schema reports the format
    if (!KUBERNETES_LOCKS[`${m[1]}.${m[2]}`]) {
      const lines = Object.keys(KUBERNETES_LOCKS).map((l) => `v${l}.x`);
      return [
        warning(
          "kubernetes-version",
          path,
          `${k.version} has no version lock (kubedos builds ${lines.join(", ")}); Stage 6 will refuse to build Kubernetes until kubernetes.version names one of them`,
        ),
      ];
    }
    try {
      resolveKubernetes(k.version);
      return [];
    } catch (err) {
      return [error("kubernetes-version", path, (err as Error).message)];
    }
  },
};

/** The pod and service networks must not overlap any plane or the underlay: a route would shadow the other. */
export const podNetworkOverlap: ConstraintRule = {
  id: "pod-network-overlap",
  produces: ["error"],
  description: "Checks whether the pod and service networks are disjoint from every plane and the underlay.",
  needs: ["kubernetes", "networking"],
  check(spec) {
    if (!spec.spec.kubernetes.enabled) return [];
    const out: Finding[] = [];
    const nets = [
      { what: "pod network", cidr: DEFAULT_POD_SUBNET },
      { what: "service network", cidr: DEFAULT_SERVICE_SUBNET },
    ];
    const n = spec.spec.networking;
    const others: Array<{ path: string[]; cidr: string; name: string }> = [
      ...Object.entries(n.planes).map(([name, p]) => ({
        path: ["spec", "networking", "planes", name, "cidr"],
        cidr: p.cidr,
        name: `plane ${name}`,
      })),
      ...(n.underlay ? [{ path: ["spec", "networking", "underlay", "cidr"], cidr: n.underlay.cidr, name: "the underlay" }] : []),
    ];
    for (const o of others) {
      for (const net of nets) {
        if (overlaps(parseCidr(o.cidr), parseCidr(net.cidr))) {
          out.push(
            error(
              "pod-network-overlap",
              o.path,
              `${o.name} ${o.cidr} overlaps the Kubernetes ${net.what} ${net.cidr}; renumber the ${o.name.startsWith("plane") ? "plane" : "underlay"} outside ${net.cidr}`,
            ),
          );
        }
      }
    }
    return out;
  },
};
