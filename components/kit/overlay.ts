/**
 * The kubedos overlay of a blueprint (seed 003 rule d): the cluster-specific values kubedos lays over
 * a chart's own, in a ConfigMap the HelmRelease reads through `valuesFrom`. Upstream values are never
 * edited: the chart's values.yaml is what its pinned version ships, and this overlay is the only
 * layer above it (flux.ts explains why it is applied last). Pure: no Pulumi, no I/O.
 *
 * What is in it is what every chart of the kit needs from this cluster and nothing chart-specific:
 *
 *  - `global.imageRegistry`: the registry mirror (`mirrors.registry`), the key most charts (Bitnami,
 *    Grafana, the CNCF operators) use to rewrite every image's registry. An air-gapped cluster cannot
 *    pull from upstream registries, so a chart that ignores the key fails at pull time, loudly.
 *  - `namespaceOverride`: the blueprint's own namespace (seed 003 rule b). Helm installs into
 *    `targetNamespace` already; charts that template a namespace of their own take it from here.
 *  - `fullnameOverride`: the chart's own name (an OpenOva chart `bp-<name>`: `<name>`). The release
 *    is called `bp-<name>`, and Helm's fullname convention would carry that prefix into every object
 *    name (`bp-reloader`); the catalog's readiness probes (seed 000 §5) and the in-cluster service
 *    names other blueprints reach use the upstream names (`deploy/reloader`, `seaweedfs.seaweedfs.svc`).
 *
 * A blueprint that adopts a Stage 6 release (Cilium, Grafana, Loki: installed by kubedos before Flux
 * exists) starts from the values Stage 6 installed it with: Flux's first reconcile is a Helm upgrade,
 * and an upgrade without them would reset the release to the chart's defaults (for Cilium: tunnel
 * mode, kube-proxy, upstream images — the cluster's network gone).
 *
 * Chart-specific keys (an `existingSecret` naming the credentials Secret, a storage endpoint) belong
 * to the blueprint's overlay in the catalog once it has one; they go into this same ConfigMap, never
 * into the chart's values.
 */
import type { Plan } from "../plan/plan";
import type { Blueprint } from "./types";

/** The key of the overlay ConfigMap Flux reads (its `valuesFrom` default). */
export const OVERLAY_VALUES_KEY = "values.yaml";

/** Name of the blueprint's overlay ConfigMap (in flux-system, beside its HelmRelease, as `valuesFrom` requires). */
export const overlayConfigMapName = (bp: Pick<Blueprint, "name">): string => `bp-${bp.name}-overlay`;

/** The name the chart's objects take: the chart's own name, without the `bp-` of an OpenOva chart. */
export const upstreamFullname = (bp: Pick<Blueprint, "chart">): string => bp.chart.chart.replace(/^bp-/, "");

/**
 * The kubedos overlay values of one blueprint on this cluster: the adopted release's Stage 6 values
 * when it adopts one, then the mirror registry and the namespace.
 */
export function overlayValues(
  bp: Pick<Blueprint, "namespace" | "chart">,
  mirrors: Plan["mirrors"],
  adoptedValues: Record<string, unknown> = {},
): Record<string, unknown> {
  const global = adoptedValues.global && typeof adoptedValues.global === "object" ? (adoptedValues.global as Record<string, unknown>) : {};
  return {
    fullnameOverride: upstreamFullname(bp),
    // An adopted release keeps every value Stage 6 gave it, its own fullnameOverride included.
    ...adoptedValues,
    ...(mirrors.registry ? { global: { ...global, imageRegistry: mirrors.registry } } : {}),
    namespaceOverride: bp.namespace,
  };
}
