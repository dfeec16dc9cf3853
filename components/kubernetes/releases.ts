/**
 * The Helm releases Stage 6 installs before Flux exists — Cilium, then the observability
 * baseline — with the values it installs them with. One definition for the Pulumi layer (which
 * installs them) and for `kubedos render` (whose kit/ blueprints adopt them with these values).
 */
import { ciliumRelease } from "../cni/cilium";
import type { ChartRelease } from "../cni/release";
import { observabilityReleases } from "../observability/stack";
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";

export function stage6Releases(plan: Plan, spec: ClusterSpec): { cilium: ChartRelease; observability: ChartRelease[] } {
  return {
    // No ServiceMonitors from Cilium: their CRDs arrive with kube-prometheus-stack, which installs
    // after Cilium (nothing schedules without a CNI); PodMonitors cover Cilium afterwards.
    cilium: ciliumRelease(plan, spec, { serviceMonitors: false }),
    observability: spec.spec.kubernetes.observability.enabled ? observabilityReleases(plan, spec) : [],
  };
}
