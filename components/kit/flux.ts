/**
 * The bootstrap kit as Flux objects (seed 000 §3–4, seed 003): per blueprint, the files that would sit
 * in the GitOps repository under `clusters/<cluster>/bootstrap-kit/` — `NN-bp-<name>.yaml` (NN = two-digit
 * slot) and the `kustomization.yaml` listing them in numeric slot order. Pure: no Pulumi, no I/O; the
 * CLI writes them (`kubedos render` → kit/) and the Pulumi layer applies them.
 *
 * How each rule of the integration contract (seed 003 §P1) lands in a blueprint's file:
 *
 *  a  one ordered release: one HelmRelease `bp-<name>` whose `spec.dependsOn` is exactly the catalog's
 *     DAG edges (Flux installs it only once every dependency is Ready; the slot orders the files, not
 *     the install — seed 000 §4.4). check-bootstrap-deps (policy/policies/kit.ts) holds the stack to it.
 *  b  its own namespace: a Namespace labelled with the blueprint, a `default-deny` NetworkPolicy and
 *     explicit allows (`namespacePolicies` below says which and why).
 *  c  versions pinned in one place: chart and version come from the catalog (one lock, bumped together);
 *     a version range is refused here, so no release ever floats.
 *  d  overlay, never fork: upstream values are untouched (no `spec.values` at all); the kubedos overlay
 *     (overlay.ts) is the only `valuesFrom` entry, so it is applied last, over the chart's defaults.
 *  e  credentials from the seed: `blueprintCredentials` derives them; the HelmRelease only names the
 *     Secret holding them (annotation kubedos.ca/credentials-secret). The Secret is never rendered into
 *     kit/ — a GitOps repo must not hold a credential — the Pulumi layer creates it from the master seed
 *     in the blueprint's namespace (`credentialsSecretManifest`).
 *  f  side effects as idempotent hooks: see `releaseActions`.
 *  g  schema contract: the HelmRelease carries the declared minimum (annotation
 *     kubedos.ca/min-schema-version); `checkSchemaVersion` is the check, run by the Pulumi layer before
 *     it lets a release apply. Flux has no hook that could refuse a release on such a version, and a
 *     post-renderer or Helm test would run only after the upgrade had already begun.
 */
import { stringify } from "yaml";
import type { ChartRelease } from "../cni/release";
import { OBSERVABILITY_NAMESPACE } from "../observability/stack";
import { formatIp, parseCidr, parseIp } from "../plan/ipv4";
import { DEFAULT_SERVICE_SUBNET, type Plan } from "../plan/plan";
import { deriveBytes } from "../secrets/derive";
import { releaseName as catalogReleaseName } from "./catalog";
import { OVERLAY_VALUES_KEY, overlayConfigMapName, overlayValues } from "./overlay";
import type { Blueprint, Kit } from "./types";

export type KitBlueprint = Kit["blueprints"][number];

/** What the kit's objects are rendered for. */
export interface KitRenderContext {
  plan: Plan;
  /** The cluster's name: the GitOps path `clusters/<cluster>/…` and a label on every object. */
  cluster: string;
  /** The air-gap mirrors (the plan's): charts come from `charts`, images from `registry`, when declared. */
  mirrors: Plan["mirrors"];
  /**
   * The releases Stage 6 installed before Flux (components/kubernetes/apply.ts: Cilium, the
   * observability baseline), by release name. A blueprint adopting one carries its values in its
   * overlay (overlay.ts says why). Absent: the release is not installed by Stage 6 on this cluster
   * (observability disabled), and the blueprint installs it fresh.
   */
  adopted?: Readonly<Record<string, Pick<ChartRelease, "chart" | "version" | "values">>>;
}

/** The context of a plan: its cluster name and mirrors, and the releases Stage 6 installs with their values. */
export function kitContext(plan: Plan, stage6: readonly ChartRelease[] = []): KitRenderContext {
  return {
    plan,
    cluster: plan.cluster.name,
    mirrors: plan.mirrors,
    ...(stage6.length > 0 ? { adopted: Object.fromEntries(stage6.map((r) => [r.name, r])) } : {}),
  };
}

/** A rendered Kubernetes object. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export const FLUX_NAMESPACE = "flux-system";
/**
 * Namespaces that exist before the kit (kubeadm's, and the bootstrap Flux's): the kit neither creates
 * nor labels nor fences them. A default-deny there would cut CoreDNS and the Flux controllers off, and
 * any NetworkPolicy selecting every pod of a namespace is a default-deny for the rest of its traffic.
 */
export const SYSTEM_NAMESPACES: readonly string[] = ["kube-system", FLUX_NAMESPACE];
/** Where Prometheus runs (Stage 6's observability baseline). */
export const METRICS_NAMESPACE = OBSERVABILITY_NAMESPACE;

export const LABEL_BLUEPRINT = "kubedos.ca/blueprint";
export const LABEL_CLUSTER = "kubedos.ca/cluster";
export const ANNOTATION_SLOT = "kubedos.ca/slot";
export const ANNOTATION_MIN_SCHEMA = "kubedos.ca/min-schema-version";
export const ANNOTATION_CREDENTIALS = "kubedos.ca/credentials-secret";

export const HELM_RELEASE_API = "helm.toolkit.fluxcd.io/v2";
export const HELM_REPOSITORY_API = "source.toolkit.fluxcd.io/v1";
export const OCI_REPOSITORY_API = "source.toolkit.fluxcd.io/v1beta2";

/** The Flux object name of a blueprint: HelmRelease, source and (with a suffix) its ConfigMap. */
const releaseName = (bp: Pick<Blueprint, "name">): string => catalogReleaseName(bp.name);
/** Name of the Secret (in the blueprint's namespace) holding its seed-derived credentials. */
export const credentialsSecretName = (bp: Pick<Blueprint, "name">): string => `bp-${bp.name}-credentials`;
/** `NN`: the slot, two digits. */
export const slotText = (slot: number): string => String(slot).padStart(2, "0");
/** `NN-bp-<name>.yaml` (seed 000 §4.3). */
export const kitFileName = (bp: Pick<KitBlueprint, "name" | "slot">): string => `${slotText(bp.slot)}-bp-${bp.name}.yaml`;
/** Where the kit sits in the GitOps repository. */
export const kitDirectory = (cluster: string): string => `clusters/${cluster}/bootstrap-kit`;

/** The HelmRelease names a blueprint's `spec.dependsOn` lists: its catalog edges, sorted. */
export const dependsOnNames = (bp: Pick<Blueprint, "dependsOn">): string[] => [...new Set(bp.dependsOn.map((e) => `bp-${e.on}`))].sort();

// ---------------------------------------------------------------- credentials (rule e)

/** What each blueprint gets from the seed. One password for now; the overlay decides which chart key reads it. */
export const CREDENTIAL_PURPOSES: readonly string[] = ["admin-password"];

/**
 * The blueprint's credentials, derived from the master seed (components/secrets/derive.ts, component
 * `kit/bp-<name>`): the same seed and cluster always give the same values, so a rebuild needs no stored
 * state. Never written to kit/.
 */
export function blueprintCredentials(seed: string, cluster: string, bp: Pick<Blueprint, "name">): Record<string, string> {
  const out: Record<string, string> = {};
  for (const purpose of CREDENTIAL_PURPOSES) {
    // 24 bytes = 192 bits, 32 base64url characters: no character a config file or a URL would need escaped.
    out[purpose] = deriveBytes(seed, { cluster, component: `kit/bp-${bp.name}`, purpose }, 24).toString("base64url");
  }
  return out;
}

/**
 * The credentials Secret as the Pulumi layer creates it, in the namespace that uses it (seed 003 rule e:
 * never copied between namespaces). Secret data: make it a Pulumi secret and never write it to a file.
 */
export function credentialsSecretManifest(seed: string, cluster: string, bp: Pick<Blueprint, "name" | "namespace">): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: credentialsSecretName(bp), namespace: bp.namespace, labels: labelsOf(bp, cluster) },
    type: "Opaque",
    stringData: blueprintCredentials(seed, cluster, bp),
  };
}

// ---------------------------------------------------------------- the schema contract (rule g)

export interface SchemaCheck {
  ok: boolean;
  /** Why the release may or may not apply, naming both versions. */
  message: string;
}

interface Version {
  core: [number, number, number];
  pre: string[];
}

/** `v1.2.3-rc.1+build` → core and pre-release identifiers (build metadata does not order, SemVer §10). */
function parseVersion(text: string): Version | undefined {
  const m = /^v?(\d+)(?:\.(\d+))?(?:\.(\d+))?(?:-([0-9A-Za-z.-]+))?(?:\+[0-9A-Za-z.-]+)?$/.exec(text.trim());
  if (!m) return undefined;
  return { core: [Number(m[1]), Number(m[2] ?? 0), Number(m[3] ?? 0)], pre: m[4] ? m[4].split(".") : [] };
}

/** SemVer precedence (§11): negative when a < b. */
export function compareVersions(a: string, b: string): number {
  const x = parseVersion(a);
  const y = parseVersion(b);
  if (!x || !y) throw new Error(`not a version: ${JSON.stringify(x ? b : a)}`);
  for (let i = 0; i < 3; i++) if (x.core[i] !== y.core[i]) return x.core[i] - y.core[i];
  // A pre-release orders before its release.
  if (x.pre.length === 0 || y.pre.length === 0) return y.pre.length - x.pre.length;
  for (let i = 0; i < Math.min(x.pre.length, y.pre.length); i++) {
    const [p, q] = [x.pre[i], y.pre[i]];
    if (p === q) continue;
    const [pn, qn] = [/^\d+$/.test(p), /^\d+$/.test(q)];
    if (pn && qn) return Number(p) - Number(q);
    if (pn !== qn) return pn ? -1 : 1;
    return p < q ? -1 : 1;
  }
  return x.pre.length - y.pre.length;
}

/**
 * Rule g: whether the schema version the chart (or the image it runs) declares satisfies the
 * blueprint's declared minimum. The Pulumi layer runs this before a release applies and fails the
 * deployment loudly when it does not hold; an unreadable version never passes.
 */
export function checkSchemaVersion(bp: Pick<Blueprint, "name" | "minSchemaVersion">, chartSchemaVersion: string): SchemaCheck {
  const who = `bp-${bp.name}`;
  if (!parseVersion(bp.minSchemaVersion))
    return { ok: false, message: `${who} declares minimum schema version ${JSON.stringify(bp.minSchemaVersion)}, which is not a version` };
  if (!parseVersion(chartSchemaVersion))
    return { ok: false, message: `${who}: the chart's schema version ${JSON.stringify(chartSchemaVersion)} is not a version` };
  return compareVersions(chartSchemaVersion, bp.minSchemaVersion) >= 0
    ? { ok: true, message: `${who}: chart schema ${chartSchemaVersion} satisfies the declared minimum ${bp.minSchemaVersion}` }
    : {
        ok: false,
        message: `${who} needs schema version ${bp.minSchemaVersion} or later (declared in the catalog), but the chart provides ${chartSchemaVersion}: refusing to apply the release`,
      };
}

// ---------------------------------------------------------------- sources

/** A chart version Helm accepts as exact: SemVer, never a range (`^1`, `~1.2`, `1.x`, `>=1`). */
const EXACT_VERSION = /^v?\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$/;

export type ChartSourceKind = "HelmRepository" | "OCIRepository";

/** Where a blueprint's chart comes from on this cluster. */
export interface BlueprintSource {
  kind: ChartSourceKind;
  /** HelmRepository: the repository URL; OCIRepository: the chart's own artifact URL. */
  url: string;
  /** Whether `url` is the declared chart mirror (else upstream, allowed only when no mirror is declared). */
  mirrored: boolean;
}

const trimSlash = (u: string): string => u.replace(/\/+$/, "");

/** `oci://host/path` + chart → the chart's artifact URL (the repository may already end with the chart, as Helm's `oci://…/chart` does). */
function ociChartUrl(repository: string, chart: string): string {
  const base = trimSlash(repository);
  return base.endsWith(`/${chart}`) ? base : `${base}/${chart}`;
}

/**
 * The chart source: the declared chart mirror (`mirrors.charts`), never upstream, when there is one —
 * `oci://mirror/<chart>` as an OCIRepository (the path Stage 6 pulls its charts from, see
 * components/cni/release.ts), an http(s) mirror as a HelmRepository; else the catalog's upstream.
 */
export function blueprintSource(bp: Pick<Blueprint, "chart">, mirrors: Plan["mirrors"]): BlueprintSource {
  const mirrored = mirrors.charts !== undefined;
  const repository = mirrors.charts ?? bp.chart.repository;
  return repository.startsWith("oci://")
    ? { kind: "OCIRepository", url: ociChartUrl(repository, bp.chart.chart), mirrored }
    : { kind: "HelmRepository", url: trimSlash(repository), mirrored };
}

/** An OCI tag cannot hold `+`; Helm pushes `1.2.3+meta` as `1.2.3_meta`. */
const ociTag = (version: string): string => version.replace(/\+/g, "_");

// ---------------------------------------------------------------- network policy (rule b)

const nsSelector = (ns: string) => ({ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": ns } } });

function labelsOf(bp: Pick<Blueprint, "name">, cluster: string): Record<string, string> {
  return { "app.kubernetes.io/managed-by": "kubedos", [LABEL_BLUEPRINT]: releaseName(bp), [LABEL_CLUSTER]: cluster };
}

function networkPolicy(name: string, namespace: string, labels: Record<string, string>, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", metadata: { name, namespace, labels }, spec };
}

/** The control planes' API server addresses: each one's address on the kubernetes-backend plane (its advertiseAddress). */
function apiServerAddresses(plan: Plan): string[] {
  const plane = plan.planes.find((p) => p.purpose === "kubernetes-backend")?.name;
  if (!plane) return [];
  return plan.nodes
    .filter((n) => n.role === "control-plane" && n.addresses[plane])
    .map((n) => n.addresses[plane])
    .sort((a, b) => parseIp(a) - parseIp(b));
}

/** The in-cluster `kubernetes` Service: the first address of the service subnet (kube-apiserver assigns it). */
function kubernetesServiceIp(plan: Plan): string {
  const sub = parseCidr(plan.podNetwork?.serviceSubnet ?? DEFAULT_SERVICE_SUBNET);
  return formatIp(sub.network + 1);
}

/**
 * The first blueprint of the kit (by slot) that installs into a namespace owns it: its file carries the
 * Namespace and the namespace-wide policies, once, so two blueprints sharing a namespace (Stage 6's
 * observability releases) never render the same object twice — kustomize refuses duplicates.
 */
function ownsNamespace(kit: Kit, bp: KitBlueprint): boolean {
  const first = [...kit.blueprints].sort((a, b) => a.slot - b.slot).find((b) => b.namespace === bp.namespace);
  return first?.name === bp.name;
}

/**
 * The namespaces a blueprint exchanges traffic with: those of its dependencies and of its dependents in
 * the kit. The rule: the DAG says who talks to whom — an edge X → D (X depends on D) is the one licence
 * for traffic between X's namespace and D's, both ways (X calls D's API; D's operator or webhook reaches
 * back into X's namespace, as CNPG does into the clusters it runs). Each side renders its own half, so
 * every namespace's policies sit in its own blueprint's file. The namespace is the unit (seed 003 §P4:
 * "the NetworkPolicy and RBAC boundary"): pods carry chart-chosen labels, so the policies select every
 * pod of the namespace, and two blueprints sharing one (Loki and Grafana) share their allows.
 */
function peerNamespaces(kit: Kit, bp: KitBlueprint): string[] {
  const names = new Set(bp.dependsOn.map((e) => e.on));
  for (const other of kit.blueprints) if (other.dependsOn.some((e) => e.on === bp.name)) names.add(other.name);
  const ns = kit.blueprints.filter((b) => names.has(b.name)).map((b) => b.namespace);
  return [...new Set(ns)].filter((n) => n !== bp.namespace).sort();
}

/**
 * The blueprint's NetworkPolicies. In a namespace it owns: `default-deny` (every pod, both directions),
 * then the allows every blueprint needs — its own pods among themselves (seed 003 §P5), DNS to CoreDNS,
 * the API server both ways (clients out; admission/conversion webhooks and aggregated APIs in, from the
 * control planes), and Prometheus in for metrics. Per blueprint: the DAG allow of `peerNamespaces`.
 * System namespaces get none (see SYSTEM_NAMESPACES).
 *
 * The API server is matched by address: the `kubernetes` Service on 443, and the control-plane endpoint
 * and each control plane on 6443 — Cilium's kube-proxy replacement translates the Service before policy
 * applies, so the backends must be allowed too. Cilium matches node addresses with ipBlock only under
 * `policyCIDRMatchMode: nodes` (Cilium ≥ 1.15).
 */
export function namespacePolicies(kit: Kit, bp: KitBlueprint, ctx: KitRenderContext): KubeObject[] {
  const ns = bp.namespace;
  if (SYSTEM_NAMESPACES.includes(ns)) return [];
  const labels = labelsOf(bp, ctx.cluster);
  const out: KubeObject[] = [];
  if (ownsNamespace(kit, bp)) {
    const everyPod = {};
    out.push(networkPolicy("default-deny", ns, labels, { podSelector: everyPod, policyTypes: ["Ingress", "Egress"] }));
    out.push(
      networkPolicy("allow-same-namespace", ns, labels, {
        podSelector: everyPod,
        policyTypes: ["Ingress", "Egress"],
        ingress: [{ from: [{ podSelector: {} }] }],
        egress: [{ to: [{ podSelector: {} }] }],
      }),
    );
    out.push(
      networkPolicy("allow-dns", ns, labels, {
        podSelector: everyPod,
        policyTypes: ["Egress"],
        egress: [
          {
            to: [{ ...nsSelector("kube-system"), podSelector: { matchLabels: { "k8s-app": "kube-dns" } } }],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ],
      }),
    );
    const endpoint = ctx.plan.controlPlaneEndpoint?.address;
    const servers = [...new Set([...(endpoint ? [endpoint] : []), ...apiServerAddresses(ctx.plan)])];
    const port = ctx.plan.controlPlaneEndpoint?.port ?? 6443;
    out.push(
      networkPolicy("allow-apiserver", ns, labels, {
        podSelector: everyPod,
        policyTypes: ["Ingress", "Egress"],
        ...(servers.length > 0 ? { ingress: [{ from: servers.map((a) => ({ ipBlock: { cidr: `${a}/32` } })) }] } : {}),
        egress: [
          { to: [{ ipBlock: { cidr: `${kubernetesServiceIp(ctx.plan)}/32` } }], ports: [{ protocol: "TCP", port: 443 }] },
          ...(servers.length > 0
            ? [{ to: servers.map((a) => ({ ipBlock: { cidr: `${a}/32` } })), ports: [{ protocol: "TCP", port }] }]
            : []),
        ],
      }),
    );
    if (ns !== METRICS_NAMESPACE) {
      out.push(
        networkPolicy("allow-metrics-scrape", ns, labels, {
          podSelector: everyPod,
          policyTypes: ["Ingress"],
          // Any port: each chart names its own metrics port; only Prometheus' pods may use them.
          ingress: [
            { from: [{ ...nsSelector(METRICS_NAMESPACE), podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } } }] },
          ],
        }),
      );
    }
  }
  const peers = peerNamespaces(kit, bp);
  if (peers.length > 0) {
    out.push(
      networkPolicy(`${releaseName(bp)}-dag`, ns, labels, {
        podSelector: {},
        policyTypes: ["Ingress", "Egress"],
        ingress: [{ from: peers.map(nsSelector) }],
        egress: [{ to: peers.map(nsSelector) }],
      }),
    );
  }
  return out;
}

// ---------------------------------------------------------------- the release

/**
 * Rule f for Flux: every side effect a blueprint needs (a database role, a bucket, an OIDC client, a
 * schema seed) is a Helm hook the chart carries — a pre/post install or upgrade Job — never a step run
 * by hand or by kubedos. helm-controller runs the hooks on every install and upgrade (`disableHooks`
 * false), waits for them and for the release's resources (`disableWait` false) before the release is
 * Ready, so a dependent starts only after its dependencies' side effects are done. A failed release is
 * retried and a failed upgrade rolled back (`remediateLastFailure`), which re-runs the hooks: that is
 * why they must be idempotent, and why kubedos adds no hooks of its own.
 */
function releaseActions(): Record<string, unknown> {
  return {
    install: { crds: "CreateReplace", createNamespace: false, disableHooks: false, disableWait: false, remediation: { retries: 3 } },
    upgrade: {
      crds: "CreateReplace",
      disableHooks: false,
      disableWait: false,
      cleanupOnFail: true,
      remediation: { retries: 3, remediateLastFailure: true },
    },
  };
}

/** The values Stage 6 installed the adopted release with, if it did. */
function adoptedValues(bp: KitBlueprint, ctx: KitRenderContext): Record<string, unknown> | undefined {
  const r = bp.adopts && ctx.adopted?.[bp.adopts.releaseName];
  if (!r) return undefined;
  // Another chart under the same release name is not an adoption: Helm would replace one chart by another.
  if (r.chart !== bp.chart.chart)
    throw new Error(
      `bp-${bp.name} adopts release ${bp.adopts!.releaseName}, which Stage 6 installs from chart ${r.chart}, not ${bp.chart.chart}`,
    );
  // Adoption must not move the version: Flux's first reconcile would silently up- or downgrade what
  // Stage 6 installed (Cilium under a running cluster). One pin, bumped together (rule c).
  if (r.version !== bp.chart.version)
    throw new Error(
      `bp-${bp.name} adopts release ${bp.adopts!.releaseName}, which Stage 6 installs at chart version ${r.version} (components/supplychain/locks.ts), but the catalog pins ${bp.chart.version}: bump both together`,
    );
  return r.values;
}

function refuseUnrenderable(kit: Kit, bp: KitBlueprint): void {
  if (!kit.blueprints.some((b) => b.name === bp.name)) throw new Error(`bp-${bp.name} is not in the kit of profile ${kit.profile}`);
  if (!EXACT_VERSION.test(bp.chart.version))
    throw new Error(
      `bp-${bp.name}: chart version ${JSON.stringify(bp.chart.version)} is not an exact version (seed 003 rule c pins every release)`,
    );
  const names = new Set(kit.blueprints.map((b) => b.name));
  const outside = bp.dependsOn.filter((e) => !names.has(e.on)).map((e) => `bp-${e.on}`);
  if (outside.length > 0)
    throw new Error(
      `bp-${bp.name} depends on ${outside.join(", ")}, not in the kit: Flux would wait for ${outside.length > 1 ? "them" : "it"} forever`,
    );
  if (bp.adopts && bp.adopts.namespace !== bp.namespace)
    throw new Error(
      `bp-${bp.name} adopts release ${bp.adopts.releaseName} in ${bp.adopts.namespace} but installs into ${bp.namespace}: Helm finds a release only in its own namespace`,
    );
}

/**
 * Every object of one blueprint, in apply order: its Namespace (unless a system namespace, or another
 * blueprint of the kit owns it), NetworkPolicies, chart source, overlay ConfigMap, HelmRelease.
 */
export function renderBlueprintDocuments(kit: Kit, bp: KitBlueprint, ctx: KitRenderContext): KubeObject[] {
  refuseUnrenderable(kit, bp);
  const name = releaseName(bp);
  const labels = labelsOf(bp, ctx.cluster);
  const docs: KubeObject[] = [];
  if (!SYSTEM_NAMESPACES.includes(bp.namespace) && ownsNamespace(kit, bp))
    docs.push({ apiVersion: "v1", kind: "Namespace", metadata: { name: bp.namespace, labels } });
  docs.push(...namespacePolicies(kit, bp, ctx));

  const source = blueprintSource(bp, ctx.mirrors);
  const sourceRef = { kind: source.kind, name, namespace: FLUX_NAMESPACE };
  if (source.kind === "OCIRepository") {
    docs.push({
      apiVersion: OCI_REPOSITORY_API,
      kind: "OCIRepository",
      metadata: { name, namespace: FLUX_NAMESPACE, labels },
      spec: {
        interval: "1h",
        url: source.url,
        ref: { tag: ociTag(bp.chart.version) },
        // The chart's tarball layer, as helm-controller expects from an OCIRepository chartRef.
        layerSelector: { mediaType: "application/vnd.cncf.helm.chart.content.v1.tar+gzip", operation: "copy" },
      },
    });
  } else {
    docs.push({
      apiVersion: HELM_REPOSITORY_API,
      kind: "HelmRepository",
      metadata: { name, namespace: FLUX_NAMESPACE, labels },
      spec: { interval: "1h", url: source.url },
    });
  }

  docs.push({
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: overlayConfigMapName(bp), namespace: FLUX_NAMESPACE, labels },
    data: { [OVERLAY_VALUES_KEY]: stringify(overlayValues(bp, ctx.mirrors, adoptedValues(bp, ctx)), { lineWidth: 0 }) },
  });

  const deps = dependsOnNames(bp);
  docs.push({
    apiVersion: HELM_RELEASE_API,
    kind: "HelmRelease",
    metadata: {
      name,
      namespace: FLUX_NAMESPACE,
      labels,
      annotations: {
        [ANNOTATION_CREDENTIALS]: credentialsSecretName(bp),
        [ANNOTATION_MIN_SCHEMA]: bp.minSchemaVersion,
        [ANNOTATION_SLOT]: slotText(bp.slot),
      },
    },
    spec: {
      // An adopted release keeps the name Stage 6 installed it under, or Helm would install a second copy.
      releaseName: bp.adopts?.releaseName ?? name,
      targetNamespace: bp.namespace,
      // Helm's release records live beside the release (not in flux-system), where Stage 6 left those it adopts.
      storageNamespace: bp.namespace,
      interval: "10m",
      ...(source.kind === "OCIRepository"
        ? { chartRef: sourceRef }
        : { chart: { spec: { chart: bp.chart.chart, version: bp.chart.version, sourceRef, interval: "1h" } } }),
      ...(deps.length > 0 ? { dependsOn: deps.map((d) => ({ name: d })) } : {}),
      // The overlay is the last (and only) values layer: no spec.values, which Flux would merge over it.
      valuesFrom: [{ kind: "ConfigMap", name: overlayConfigMapName(bp), valuesKey: OVERLAY_VALUES_KEY }],
      ...releaseActions(),
    },
  });
  return docs;
}

/** One YAML text of several documents (the yaml package keeps each object's key order: deterministic). */
function yamlDocuments(docs: object[]): string {
  return docs.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
}

export interface KitFile {
  /** Path in the GitOps repository, e.g. `clusters/dev-lab/bootstrap-kit/01-bp-cilium.yaml`. */
  path: string;
  content: string;
}

/**
 * The kit's files as they sit in the GitOps repository: one `NN-bp-<name>.yaml` per blueprint, then
 * the `kustomization.yaml` listing them in numeric slot order (seed 000 §4.2–4.3). Deterministic: the
 * same kit and context give the same bytes.
 */
export function renderKitFiles(kit: Kit, ctx: KitRenderContext): KitFile[] {
  const dir = kitDirectory(ctx.cluster);
  const ordered = [...kit.blueprints].sort((a, b) => a.slot - b.slot);
  const slots = ordered.map((b) => b.slot);
  const clash = slots.find((s, i) => slots.indexOf(s) !== i);
  if (clash !== undefined) throw new Error(`two blueprints of the kit hold slot ${clash}`);
  const files = ordered.map((bp) => ({
    path: `${dir}/${kitFileName(bp)}`,
    content:
      `# bp-${bp.name}: slot ${slotText(bp.slot)}, tier ${bp.tier}, kit profile ${kit.profile}. Rendered by kubedos from the\n` +
      `# ClusterSpec of ${ctx.cluster}; edit the spec (or the catalog), not this file.\n` +
      yamlDocuments(renderBlueprintDocuments(kit, bp, ctx)),
  }));
  const kustomization = {
    apiVersion: "kustomize.config.k8s.io/v1beta1",
    kind: "Kustomization",
    resources: ordered.map(kitFileName),
  };
  files.push({ path: `${dir}/kustomization.yaml`, content: stringify(kustomization, { lineWidth: 0 }) });
  return files;
}
