/**
 * manifests/locks.json: every pin this cluster installs (seed 001 §6.2) — the Kubernetes line's
 * packages and images, the node packages, Stage 6's charts and their images, the bootstrap kit's
 * charts — each as upstream and as pulled through the spec's mirrors. Built from the locks in
 * components/supplychain/locks.ts and the kit catalog, nothing else: the same commit and spec give
 * the same file.
 */
import { CHART_LOCKS, imageRef, NODE_PACKAGES, resolveKubernetes, type ImageLock } from "../supplychain/locks";
import { KitError, selectKit } from "../kit/select";
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";

export interface LockedImage {
  /** Who pulls it: `kubernetes/etcd`, `chart/cilium/agent` … */
  role: string;
  repository: string;
  tag: string;
  /** `sha256:…` once resolved from the mirror; null while pinned by exact tag only. */
  digest: string | null;
  /** The reference as nodes pull it (through `mirrors.registry` when declared). */
  ref: string;
}

export interface LockedChart {
  /** Helm release (Stage 6) or `bp-<name>` (kit). */
  release: string;
  chart: string;
  version: string;
  /** Upstream repository. */
  repository: string;
  /** Where nodes pull it from (mirrors.charts when declared). */
  source: string;
}

export interface Locks {
  apiVersion: "kubedos.ca/v1alpha1";
  kind: "Locks";
  cluster: string;
  kubernetes: { spec: string; version: string; packages: Record<string, string> } | null;
  nodePackages: Record<string, string>;
  charts: LockedChart[];
  images: LockedImage[];
}

export function buildLocks(plan: Plan, spec: ClusterSpec): Locks {
  const mirror = plan.mirrors.registry;
  const image = (role: string, img: ImageLock): LockedImage => ({
    role,
    repository: img.repository,
    tag: img.tag,
    digest: img.digest ?? null,
    ref: imageRef(img, mirror),
  });
  const k = spec.spec.kubernetes;
  let kubernetes: Locks["kubernetes"] = null;
  const images: LockedImage[] = [];
  const charts: LockedChart[] = [];
  if (k.enabled) {
    try {
      const lock = resolveKubernetes(k.version);
      kubernetes = { spec: k.version, version: lock.version, packages: { ...lock.packages } };
      for (const [name, img] of Object.entries(lock.images)) images.push(image(`kubernetes/${name}`, img));
    } catch {
      // An unlocked version: validate warns and Stage 6 refuses; nothing of it is pinned here.
    }
    const stage6 = k.observability.enabled ? Object.keys(CHART_LOCKS) : ["cilium"];
    for (const name of stage6) {
      const lock = CHART_LOCKS[name as keyof typeof CHART_LOCKS];
      charts.push({
        release: name,
        chart: lock.chart,
        version: lock.version,
        repository: lock.repository,
        source: plan.mirrors.charts ?? lock.repository,
      });
      for (const [role, img] of Object.entries(lock.images)) images.push(image(`chart/${name}/${role}`, img));
    }
    try {
      for (const bp of selectKit(spec).blueprints) {
        charts.push({
          release: `bp-${bp.name}`,
          chart: bp.chart.chart,
          version: bp.chart.version,
          repository: bp.chart.repository,
          source: plan.mirrors.charts ?? bp.chart.repository,
        });
      }
    } catch (err) {
      if (!(err instanceof KitError)) throw err; // validate's kit-dependencies rule reports it
    }
  }
  return {
    apiVersion: "kubedos.ca/v1alpha1",
    kind: "Locks",
    cluster: plan.cluster.name,
    kubernetes,
    nodePackages: { ...NODE_PACKAGES },
    charts,
    images,
  };
}
