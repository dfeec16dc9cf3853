/** Acceptance gates and drills (seed 001 §17): a required gate must be able to pass. */
import { error, type ConstraintRule, type Finding } from "./types";

export const acceptanceGates: ConstraintRule = {
  id: "acceptance-gates",
  produces: ["error"],
  description: "Checks whether every required gate and drill tests something the spec deploys.",
  needs: ["acceptance", "kubernetes"],
  check(spec) {
    const k = spec.spec.kubernetes;
    const a = spec.spec.acceptance;
    const out: Finding[] = [];
    const why: Record<string, string | undefined> = {
      "k8s-health": k.enabled ? undefined : "kubernetes.enabled is false",
      "cilium-health": k.enabled ? undefined : "kubernetes.enabled is false",
      "hubble-flows": !k.enabled ? "kubernetes.enabled is false" : !k.cni.hubble ? "kubernetes.cni.hubble is false" : undefined,
      "observability-stack": !k.enabled || !k.observability.enabled ? "observability is not enabled" : undefined,
    };
    a.required.forEach((g, i) => {
      if (why[g])
        out.push(
          error(
            "acceptance-gates",
            ["spec", "acceptance", "required", i],
            `gate ${g} is required but can never pass: ${why[g]}; remove the gate or enable what it tests`,
          ),
        );
    });
    (a.drills ?? []).forEach((d, i) => {
      if (d.name === "delete-control-plane" && (!k.enabled || !k.ha)) {
        out.push(
          error(
            "acceptance-gates",
            ["spec", "acceptance", "drills", i, "name"],
            "drill delete-control-plane needs an HA control plane (kubernetes.ha); without it the drill loses the cluster",
          ),
        );
      }
    });
    return out;
  },
};
