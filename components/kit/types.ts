/**
 * The bootstrap kit's data model (seed 000): every blueprint as typed data, and what a stack's
 * kit is. Pure: no Pulumi, no I/O. catalog.ts holds the data, dag.ts the graph checks,
 * flux.ts the Flux objects rendered from it.
 */

/** Where an edge comes from: the seed's §2 DAG text, or inferred (with the reason) where the text is silent or damaged. */
export type EdgeSource = "seed" | "inferred";

export interface Edge {
  /** The blueprint depended on (catalog name, without `bp-`). */
  on: string;
  source: EdgeSource;
  /** Required when inferred: which note of seed 000 §1.2 (or which CRD/Service) implies it. */
  reason?: string;
}

export type Layer = "host" | "mgt" | "app" | "bootstrap-only";

export type Disposition =
  | {
      kind: "kit";
      /** seed 000 §1.2: `present` or the Wave-2 batch that adds it */ batch: "present" | "W2.K1" | "W2.K2" | "W2.K3" | "W2.K4";
    }
  | { kind: "excluded"; reason: string };

export interface ChartSource {
  /** Chart name in its repository. */
  chart: string;
  /** Upstream repository: `https://…` (Helm repository) or `oci://…` (OCI registry). */
  repository: string;
  /** Exact chart version (pinned; bumped together in catalog.ts). */
  version: string;
}

export interface Blueprint {
  /** Catalog name, e.g. `cilium`; the Flux HelmRelease is `bp-<name>`. */
  name: string;
  /** Row of seed 000 §1.2 (1–63). */
  row: number;
  /** Tier as the seed writes it (`0`, `0/3`, `3.5`, `5 (registry)`, `9 (relay)` …). */
  tier: string;
  layer: Layer;
  /** Slot (1–48) in the omantel-1 kit; undefined for excluded blueprints. */
  slot?: number;
  disposition: Disposition;
  /** Flux `spec.dependsOn` of this blueprint's HelmRelease: the blueprints that must be Ready first. */
  dependsOn: Edge[];
  /** One-line readiness probe (seed 000 §5); `<domain>` is substituted from the spec. */
  readiness: string;
  chart: ChartSource;
  /** Namespace the blueprint installs into (its own, seed 003 rule 2). */
  namespace: string;
  /**
   * Minimum schema (chart values contract) version the overlay is written against; checked before
   * the release applies (seed 003 rule 7).
   */
  minSchemaVersion: string;
  /**
   * False for blueprints the rest of the kit cannot do without (Tier 0–1 foundation); true for
   * those a stack may drop when nothing it keeps depends on them.
   */
  optional: boolean;
  /** Release adopted from an earlier stage (Stage 6 installs Cilium, Grafana, Loki before Flux exists). */
  adopts?: { releaseName: string; namespace: string };
}

/** The kit a stack gets: the chosen blueprints in slot order, with their slots. */
export interface Kit {
  profile: string;
  /** In slot order. Blueprints added from the excluded set get slots after 48, in catalog row order. */
  blueprints: Array<Blueprint & { slot: number }>;
  /** The domain readiness probes substitute for `<domain>`. */
  domain: string;
}
