/**
 * Resource options of the destruction boundary (seed 001 §14.2): while allowDestroy is false,
 * every substrate resource is protected (the engine refuses to delete or replace it) and kept
 * in the provider when removed from the program.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../plan/plan";

export function boundaryOpts(plan: Plan, extra: pulumi.CustomResourceOptions = {}): pulumi.CustomResourceOptions {
  const closed = !plan.boundaries.allowDestroy;
  return { ...extra, protect: closed, retainOnDelete: closed };
}

/** Labels/tags every substrate resource carries, so a machine names its cluster and artifact. */
export function identityLabels(plan: Plan, extra: Record<string, string> = {}): Record<string, string> {
  return { "kubedos-cluster": plan.cluster.name, "kubedos-artifact": plan.cluster.artifactVersion, ...extra };
}
