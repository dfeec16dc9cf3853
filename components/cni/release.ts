/**
 * A Helm release as kubedos installs it: pure data rendered from the Plan, the spec and the
 * version locks. The Kubernetes stage turns it into a Pulumi resource; nothing here talks to a
 * cluster or a registry, so the whole shape is testable offline.
 */
import type { ChartLock } from "../supplychain/locks";
import type { Plan } from "../plan/plan";

export interface ChartRelease {
  /** Helm release name. */
  name: string;
  namespace: string;
  /** Chart name in `repository`. */
  chart: string;
  /** Exact chart version from the locks (never a range). */
  version: string;
  /** Where the chart is pulled from: the declared chart mirror, else the lock's upstream repository. */
  repository: string;
  /** Helm values. Every image is written out explicitly so the supply-chain policies can see it. */
  values: Record<string, unknown>;
}

/**
 * The chart source: `mirrors.charts` when the spec declares one (an air-gapped cluster must not
 * reach the upstream repository), else the lock's upstream repository.
 */
export function chartRepository(plan: Plan, lock: ChartLock): string {
  return plan.mirrors.charts ?? lock.repository;
}
