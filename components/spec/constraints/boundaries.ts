/** Destruction boundaries (seed 001 §14.2): every destructive flag is an explicit boolean. */
import type { ClusterSpec } from "../schema";
import { error, type ConstraintRule, type Finding } from "./types";

/** The four flags, where they live, and what they govern. */
export const DESTRUCTIVE_FLAGS = [
  { flag: "allowDestroy", path: ["spec", "substrate", "allowDestroy"], governs: "destroying or replacing VMs, servers and disks" },
  { flag: "allowRepartition", path: ["spec", "orchestration", "ansible", "safety", "allowRepartition"], governs: "repartitioning disks" },
  {
    flag: "allowWipe",
    path: ["spec", "orchestration", "ansible", "safety", "allowWipe"],
    governs: "wiping disks (wipefs, zap, mkfs on used disks)",
  },
  { flag: "allowReset", path: ["spec", "kubernetes", "allowReset"], governs: "kubeadm reset of a node" },
] as const;

export type DestructiveFlag = (typeof DESTRUCTIVE_FLAGS)[number]["flag"];

export function readFlag(spec: ClusterSpec, flag: DestructiveFlag): boolean | undefined {
  switch (flag) {
    case "allowDestroy":
      return spec.spec.substrate.allowDestroy;
    case "allowRepartition":
      return spec.spec.orchestration.ansible.safety.allowRepartition;
    case "allowWipe":
      return spec.spec.orchestration.ansible.safety.allowWipe;
    case "allowReset":
      return spec.spec.kubernetes.allowReset;
  }
}

export const destructiveFlagsExplicit: ConstraintRule = {
  id: "destructive-flags-explicit",
  produces: ["error"],
  description: "Checks whether allowDestroy, allowRepartition, allowWipe and allowReset are each set explicitly to true or false.",
  needs: ["substrate", "orchestration", "kubernetes"],
  check(spec) {
    const out: Finding[] = [];
    for (const f of DESTRUCTIVE_FLAGS) {
      if (readFlag(spec, f.flag) === undefined) {
        out.push(
          error(
            "destructive-flags-explicit",
            f.path,
            `${f.flag} is missing; it governs ${f.governs} and must be set explicitly — add \`${f.flag}: false\` (or true to opt in)`,
          ),
        );
      }
    }
    return out;
  },
};
