/**
 * A small hand-built bootstrap kit for the Flux renderer and the check-bootstrap-deps tests, shaped
 * like the real catalog (components/kit/catalog.ts) where it matters to them:
 *
 *  - the adopted Stage 6 releases: cilium in kube-system, loki and grafana sharing `observability`
 *    (a namespace two blueprints live in: its Namespace and default-deny must be rendered once);
 *  - a blueprint in flux-system (a system namespace the kit must neither create nor fence);
 *  - https:// and oci:// upstream charts (one whose URL already names the chart), a chart version
 *    with build metadata (an OCI tag cannot hold `+`), seed and inferred edges, a blueprint with none.
 *
 * The edges are seed 000 §2's where it has them; the rest are plausible, not the catalog's.
 */
import type { Blueprint, Edge, Kit } from "../../components/kit/types";
import { CHART_LOCKS } from "../../components/supplychain/locks";

type Slotted = Blueprint & { slot: number };

/** The adopted Stage 6 releases are pinned where Stage 6 pins them (one lock, seed 003 rule c). */
const lock = (name: "cilium" | "grafana" | "loki"): Blueprint["chart"] => {
  const l = CHART_LOCKS[name];
  return { chart: l.chart, repository: l.repository, version: l.version };
};

const seed = (...on: string[]): Edge[] => on.map((o) => ({ on: o, source: "seed" as const }));

function bp(
  name: string,
  row: number,
  slot: number,
  namespace: string,
  chart: Blueprint["chart"],
  dependsOn: Edge[],
  extra: Partial<Blueprint> = {},
): Slotted {
  return {
    name,
    row,
    tier: "0",
    layer: "host",
    slot,
    disposition: { kind: "kit", batch: slot <= 14 ? "present" : "W2.K1" },
    dependsOn,
    readiness: `kubectl -n ${namespace} get pods`,
    chart,
    namespace,
    minSchemaVersion: "1.0.0",
    optional: slot > 3,
    ...extra,
  };
}

export const FIXTURE_BLUEPRINTS: readonly Slotted[] = [
  bp("cilium", 1, 1, "kube-system", lock("cilium"), [], {
    adopts: { releaseName: "cilium", namespace: "kube-system" },
    optional: false,
  }),
  bp(
    "cert-manager",
    2,
    2,
    "cert-manager",
    { chart: "cert-manager", repository: "oci://quay.io/jetstack/charts", version: "v1.16.2" },
    seed("cilium"),
    { minSchemaVersion: "1.12.0" },
  ),
  bp(
    "flux",
    3,
    3,
    "flux-system",
    { chart: "flux2", repository: "oci://ghcr.io/fluxcd-community/charts/flux2", version: "2.14.1" },
    seed("cert-manager"),
  ),
  bp(
    "openbao",
    8,
    8,
    "openbao",
    { chart: "openbao", repository: "https://openbao.github.io/openbao-helm", version: "0.8.1" },
    seed("cert-manager"),
  ),
  bp(
    "external-secrets",
    15,
    15,
    "external-secrets",
    { chart: "external-secrets", repository: "https://charts.external-secrets.io", version: "0.10.7" },
    seed("openbao", "cert-manager"),
  ),
  bp(
    "cnpg",
    16,
    16,
    "cnpg-system",
    { chart: "cloudnative-pg", repository: "https://cloudnative-pg.github.io/charts", version: "0.22.1" },
    seed("flux"),
  ),
  bp(
    "seaweedfs",
    18,
    18,
    "seaweedfs",
    { chart: "seaweedfs", repository: "https://seaweedfs.github.io/seaweedfs/helm", version: "4.0.379" },
    seed("flux", "cert-manager"),
  ),
  bp("loki", 22, 22, "observability", lock("loki"), seed("seaweedfs"), {
    adopts: { releaseName: "loki", namespace: "observability" },
  }),
  bp(
    "grafana",
    25,
    25,
    "observability",
    lock("grafana"),
    [...seed("cnpg", "loki"), { on: "cert-manager", source: "inferred", reason: "Certificate CRD for its ingress (seed 000 §1.2 note)" }],
    { adopts: { releaseName: "grafana", namespace: "observability" } },
  ),
  bp(
    "reloader",
    28,
    28,
    "reloader",
    { chart: "reloader", repository: "https://stakater.github.io/stakater-charts", version: "1.2.0+build.1" },
    [],
  ),
  bp(
    "velero",
    34,
    34,
    "velero",
    { chart: "velero", repository: "https://vmware-tanzu.github.io/helm-charts", version: "8.1.0" },
    seed("seaweedfs"),
  ),
];

/** The fixture kit: every fixture blueprint, in slot order. */
export function fixtureKit(blueprints: readonly Slotted[] = FIXTURE_BLUEPRINTS): Kit {
  return {
    profile: "fixture",
    domain: "lab.example",
    blueprints: [...blueprints].sort((a, b) => a.slot - b.slot).map((b) => structuredClone(b)),
  };
}

/** A copy of `kit` with one blueprint changed (edit freely: the original is never touched). */
export function editedKit(kit: Kit, name: string, edit: (b: Slotted) => void): Kit {
  const copy = structuredClone(kit);
  const b = copy.blueprints.find((x) => x.name === name);
  if (!b) throw new Error(`no blueprint ${name} in the kit`);
  edit(b);
  return copy;
}
