/**
 * The blueprint catalog (seed 000 §1.2): all 63 blueprints as typed data — tier, slot, layer,
 * disposition, `dependsOn` edges (§2), readiness probe (§5), chart source and pinned version.
 * Pure data; dag.ts checks the graph and select.ts chooses a stack's kit from it.
 *
 * Edges. Every edge the seed's §2 text gives is `source: "seed"`: the `──►` lines of §2.2–§2.7,
 * the §2.2 ASCII tree (whitespace-collapsed in the copy we have, read against §2.8) and §2.8's
 * stated maximum chain (which alone gives openbao → keycloak). In this copy §2.5–§2.7 are intact,
 * so velero, the edge pair and the AI runtime carry their seed edges. An edge the text does not
 * give but a §1.2 note (or a CRD the blueprint consumes) makes hard is `source: "inferred"` with
 * the note quoted as its reason. Soft runtime dependencies (§2.1: "an app reads a Service that
 * another HR creates … documented but not encoded") stay out, e.g. valkey's "Used by Catalyst
 * control-plane services" and opentelemetry's "Pipeline source for Mimir/Loki/Tempo".
 *
 * Two §2.8 chain illustrations contradict the §2.4/§2.7 listings and are NOT encoded:
 * "bp-cnpg → bp-loki" (§2.4 and §1.2 give Loki only SeaweedFS) and "bp-llm-gateway → bp-bge"
 * (§2.7 gives bge only CNPG; with it, nemo-guardrails and librechat would sit at depth 8,
 * breaking the "Max chain length = 7" that §2.8 itself states).
 *
 * Readiness. Slots 15–48 carry seed §5's one-liner verbatim, except that the seed's stripped
 * hosts (`https://harbor./`, `https:///`) read `<domain>`, which select.ts substitutes from the
 * spec, and bp-loki's Service namespace (it adopts Stage 6's release in `observability`). Probes
 * name workloads by the component's upstream default name (`deploy/reloader`, `ds/alloy`):
 * each blueprint's overlay sets `fullnameOverride` so the `bp-` release prefix does not leak.
 */
import { CILIUM_NAMESPACE } from "../cni/cilium";
import { OBSERVABILITY_NAMESPACE, RELEASES } from "../observability/stack";
import { CHART_LOCKS } from "../supplychain/locks";
import type { Blueprint, ChartSource, Disposition, Edge, Layer } from "./types";

/** The kit profile of seed 000: the 48 blueprints of the first franchised Sovereign (omantel-1). */
export const OMANTEL_1 = "omantel-1";

/** The Flux HelmRelease (and OCI artifact) name of a catalog blueprint. */
export const releaseName = (name: string): string => `bp-${name}`;

/**
 * Where the OpenOva-built blueprints are published: seed 002 ("published from CI as a signed
 * OCI artifact at ghcr.io/openova-io/bp-<name>:<semver>"). Used only where no upstream chart
 * exists (the Catalyst umbrella and claims, the AI adapters, and the components OpenOva wires
 * from bare images because upstream publishes no chart).
 */
export const OPENOVA_OCI = "oci://ghcr.io/openova-io";

/**
 * The minimum schema version each blueprint's overlay (its values and seed: realm imports, DB
 * roles, buckets …) is written against — seed 003 rule g, "the chart's seed declares the minimum
 * component schema version it needs; a check fails loudly when the running image does not
 * satisfy it". Every blueprint starts at its first contract, 1.0.0; an overlay that starts to
 * rely on a newer schema bumps its own entry.
 */
const FIRST_SCHEMA = "1.0.0";

const upstream = (repository: string, chart: string, version: string): ChartSource => ({ chart, repository, version });
const openova = (name: string, version: string): ChartSource => ({ chart: releaseName(name), repository: OPENOVA_OCI, version });

/**
 * Every chart and its pinned version, in one place, bumped together (seed 003 rule c). Cilium,
 * Grafana and Loki come from the Stage 6 locks: their HelmReleases adopt the releases Stage 6
 * installed, and adopting at another version would be an upgrade nobody asked for.
 */
export const CHARTS: Readonly<Record<string, ChartSource>> = {
  cilium: upstream(CHART_LOCKS.cilium.repository, CHART_LOCKS.cilium.chart, CHART_LOCKS.cilium.version),
  "cert-manager": upstream("https://charts.jetstack.io", "cert-manager", "v1.18.2"),
  flux: upstream("https://fluxcd-community.github.io/helm-charts", "flux2", "2.14.1"),
  crossplane: upstream("https://charts.crossplane.io/stable", "crossplane", "1.18.0"),
  "sealed-secrets": upstream("https://bitnami-labs.github.io/sealed-secrets", "sealed-secrets", "2.16.1"),
  spire: upstream("https://spiffe.github.io/helm-charts-hardened", "spire", "0.21.0"),
  "nats-jetstream": upstream("https://nats-io.github.io/k8s/helm/charts", "nats", "1.2.0"),
  openbao: upstream("https://openbao.github.io/openbao-helm", "openbao", "0.16.0"),
  keycloak: upstream("https://codecentric.github.io/helm-charts", "keycloakx", "7.1.5"),
  gitea: upstream("https://dl.gitea.com/charts", "gitea", "10.5.0"),
  powerdns: upstream("https://schich.tel/helm-charts", "powerdns", "0.10.0"),
  "external-dns": upstream("https://kubernetes-sigs.github.io/external-dns", "external-dns", "1.15.2"),
  "catalyst-platform": openova("catalyst-platform", "1.0.0"),
  "crossplane-claims": openova("crossplane-claims", "1.1.5"),
  "external-secrets": upstream("https://charts.external-secrets.io", "external-secrets", "0.10.7"),
  cnpg: upstream("https://cloudnative-pg.github.io/charts", "cloudnative-pg", "0.28.0"),
  valkey: upstream("https://charts.bitnami.com/bitnami", "valkey", "5.5.1"),
  seaweedfs: upstream("https://seaweedfs.github.io/seaweedfs/helm", "seaweedfs", "4.22.0"),
  harbor: upstream("https://helm.goharbor.io", "harbor", "1.18.3"),
  // The §5 probe lists OpenTelemetryCollector resources (`otelcol`): the operator owns them.
  opentelemetry: upstream("https://open-telemetry.github.io/opentelemetry-helm-charts", "opentelemetry-operator", "0.106.0"),
  alloy: upstream("https://grafana.github.io/helm-charts", "alloy", "1.8.0"),
  loki: upstream(CHART_LOCKS.loki.repository, CHART_LOCKS.loki.chart, CHART_LOCKS.loki.version),
  mimir: upstream("https://grafana.github.io/helm-charts", "mimir-distributed", "6.0.6"),
  tempo: upstream("https://grafana.github.io/helm-charts", "tempo", "1.24.4"),
  grafana: upstream(CHART_LOCKS.grafana.repository, CHART_LOCKS.grafana.chart, CHART_LOCKS.grafana.version),
  langfuse: upstream("https://langfuse.github.io/langfuse-k8s", "langfuse", "1.5.28"),
  kyverno: upstream("https://kyverno.github.io/kyverno", "kyverno", "3.8.0"),
  reloader: upstream("https://stakater.github.io/stakater-charts", "reloader", "2.2.11"),
  vpa: upstream("https://cowboysysop.github.io/charts", "vertical-pod-autoscaler", "11.1.1"),
  trivy: upstream("https://aquasecurity.github.io/helm-charts", "trivy-operator", "0.32.1"),
  falco: upstream("https://falcosecurity.github.io/charts", "falco", "8.0.2"),
  sigstore: upstream("https://sigstore.github.io/helm-charts", "policy-controller", "0.10.6"),
  // Anchore publishes no chart for the syft/grype CLIs; the blueprint is a CronJob OpenOva wires.
  "syft-grype": openova("syft-grype", "1.0.0"),
  velero: upstream("https://vmware-tanzu.github.io/helm-charts", "velero", "12.0.1"),
  // coraza-spoa has no published chart; the blueprint wires the upstream image.
  coraza: openova("coraza", "1.0.0"),
  stunner: upstream("https://l7mp.io/stunner", "stunner-gateway-operator", "1.1.0"),
  knative: upstream("https://knative.github.io/operator", "knative-operator", "v1.21.1"),
  kserve: upstream("oci://ghcr.io/kserve/charts", "kserve", "v0.16.0"),
  // vLLM runs as a KServe InferenceService in `cortex` (the §5 probe); the blueprint carries it.
  vllm: openova("vllm", "1.0.1"),
  "llm-gateway": openova("llm-gateway", "1.0.0"),
  "anthropic-adapter": openova("anthropic-adapter", "1.0.0"),
  // BAAI publishes no chart; the blueprint runs text-embeddings-inference with a bge model.
  bge: openova("bge", "1.0.0"),
  "nemo-guardrails": openova("nemo-guardrails", "1.0.0"),
  temporal: upstream("https://go.temporal.io/helm-charts", "temporal", "1.2.0"),
  openmeter: upstream("oci://ghcr.io/openmeterio/helm-charts", "openmeter", "1.0.0-beta.213"),
  livekit: upstream("https://helm.livekit.io", "livekit-server", "1.9.0"),
  matrix: upstream("https://ananace.gitlab.io/charts", "matrix-synapse", "3.12.25"),
  librechat: openova("librechat", "1.1.0"),
  "failover-controller": openova("failover-controller", "1.0.0"),
  keda: upstream("https://kedacore.github.io/charts", "keda", "2.16.0"),
  clickhouse: upstream("https://docs.altinity.com/clickhouse-operator", "altinity-clickhouse-operator", "0.24.0"),
  strimzi: upstream("https://strimzi.io/charts", "strimzi-kafka-operator", "0.45.0"),
  // Apache publishes the operator chart per release directory.
  flink: upstream("https://archive.apache.org/dist/flink/flink-kubernetes-operator-1.10.0", "flink-kubernetes-operator", "1.10.0"),
  // Debezium runs as a Strimzi KafkaConnect with the Debezium connectors; OpenOva packages it.
  debezium: openova("debezium", "1.0.0"),
  // An Iceberg REST catalog; no upstream chart.
  iceberg: openova("iceberg", "1.0.0"),
  opensearch: upstream("https://opensearch-project.github.io/helm-charts", "opensearch", "2.23.1"),
  ferretdb: openova("ferretdb", "1.0.0"),
  milvus: upstream("https://zilliztech.github.io/milvus-helm", "milvus", "4.2.19"),
  neo4j: upstream("https://helm.neo4j.com/neo4j", "neo4j", "5.26.0"),
  stalwart: openova("stalwart", "1.0.0"),
  guacamole: openova("guacamole", "1.0.0"),
  litmus: upstream("https://litmuschaos.github.io/litmus-helm", "litmus", "3.7.0"),
  // Phase-0 only (it runs in the catalyst-provisioner); catalogued so a stack can see why it is never in a kit.
  opentofu: openova("opentofu", "1.0.0"),
};

// ---------------------------------------------------------------- edge helpers

/** Edges the seed's §2 text gives. */
const seed = (...on: string[]): Edge[] => on.map((o) => ({ on: o, source: "seed" }));
/** An edge §2 does not give, with the §1.2 note (or the CRD) that makes it hard. */
const inferred = (on: string, reason: string): Edge => ({ on, source: "inferred", reason });

/** Seed 000 §1.2 row 16 (bp-cnpg): the note three §2.2 blueprints need CNPG by. */
const CNPG_NOTE =
  '§1.2 row 16 (bp-cnpg): "PG operator. Required by PowerDNS (`pdns-pg`), Keycloak HA, Gitea metadata, Langfuse, Grafana, PDM."';

// ---------------------------------------------------------------- the rows

type Batch = Extract<Disposition, { kind: "kit" }>["batch"];

interface Row {
  row: number;
  name: string;
  tier: string;
  layer: Layer;
  /** Kit batch, or the excluded reason. */
  in: Batch | { excluded: string };
  dependsOn: Edge[];
  readiness: string;
  namespace: string;
  adopts?: Blueprint["adopts"];
}

/** Tier 0–1 foundation: the rest of the kit cannot do without them, so a stack may not drop them. */
const FOUNDATION = new Set(["cilium", "cert-manager", "flux", "crossplane", "sealed-secrets", "spire", "openbao", "keycloak"]);

const rolloutProbe = (ns: string, kind: "deploy" | "ds" | "statefulset", name: string): string =>
  `kubectl -n ${ns} rollout status ${kind}/${name} --timeout=60s`;

const ROWS: Row[] = [
  // ---- present (slots 01–14), seed 000 §1.1 / §2.2
  {
    row: 1,
    name: "cilium",
    tier: "0",
    layer: "host",
    in: "present",
    dependsOn: [],
    readiness: rolloutProbe(CILIUM_NAMESPACE, "ds", "cilium"),
    namespace: CILIUM_NAMESPACE,
    // Stage 6 installs Cilium before anything else runs (nodes are NotReady without a CNI).
    adopts: { releaseName: "cilium", namespace: CILIUM_NAMESPACE },
  },
  {
    row: 2,
    name: "cert-manager",
    tier: "0",
    layer: "host",
    in: "present",
    dependsOn: seed("cilium"),
    // The webhook is what every Certificate/Issuer apply goes through.
    readiness: rolloutProbe("cert-manager", "deploy", "cert-manager-webhook"),
    namespace: "cert-manager",
  },
  {
    row: 3,
    name: "flux",
    tier: "0",
    layer: "host",
    in: "present",
    dependsOn: seed("cert-manager"),
    readiness: rolloutProbe("flux-system", "deploy", "helm-controller"),
    namespace: "flux-system",
  },
  {
    row: 4,
    name: "crossplane",
    tier: "0",
    layer: "mgt",
    in: "present",
    dependsOn: seed("flux"),
    readiness: rolloutProbe("crossplane-system", "deploy", "crossplane"),
    namespace: "crossplane-system",
  },
  {
    row: 5,
    name: "sealed-secrets",
    tier: "0",
    layer: "host", // "host (transient)": decommissioned after Phase 1
    in: "present",
    dependsOn: seed("cert-manager"),
    // The controller's public sealing certificate, through the API server's service proxy.
    readiness:
      "kubectl get --raw /api/v1/namespaces/sealed-secrets/services/http:sealed-secrets-controller:8080/proxy/v1/cert.pem | grep -q 'BEGIN CERTIFICATE'",
    namespace: "sealed-secrets",
  },
  {
    row: 6,
    name: "spire",
    tier: "1",
    layer: "host",
    in: "present",
    dependsOn: seed("cert-manager"),
    readiness:
      "kubectl -n spire exec statefulset/spire-server -c spire-server -- /opt/spire/bin/spire-server healthcheck | grep -q healthy",
    namespace: "spire",
  },
  {
    row: 7,
    name: "nats-jetstream",
    tier: "2",
    layer: "mgt",
    in: "present",
    dependsOn: seed("spire"),
    readiness:
      "kubectl -n nats exec statefulset/nats -c nats -- wget -qO- 'http://localhost:8222/healthz?js-enabled-only=true' | grep -q ok",
    namespace: "nats",
  },
  {
    row: 8,
    name: "openbao",
    tier: "1",
    layer: "mgt",
    in: "present",
    dependsOn: seed("spire"),
    readiness: "kubectl -n openbao exec statefulset/openbao -- bao status -format=json | jq -e '.sealed==false'",
    namespace: "openbao",
  },
  {
    row: 9,
    name: "keycloak",
    tier: "1",
    layer: "mgt",
    in: "present",
    // cert-manager: the §2.2 fan-out; openbao: §2.8's maximum chain (spire → openbao → keycloak).
    dependsOn: [...seed("cert-manager", "openbao"), inferred("cnpg", CNPG_NOTE)],
    readiness: "curl -fsS https://keycloak.<domain>/realms/master/.well-known/openid-configuration | jq -e '.issuer'",
    namespace: "keycloak",
  },
  {
    row: 10,
    name: "gitea",
    tier: "2",
    layer: "mgt",
    in: "present",
    dependsOn: [...seed("keycloak"), inferred("cnpg", CNPG_NOTE)],
    readiness: "curl -fsS https://gitea.<domain>/api/healthz | jq -e '.status==\"pass\"'",
    namespace: "gitea",
  },
  {
    row: 11,
    name: "powerdns",
    tier: "3",
    layer: "host",
    in: "present",
    dependsOn: [...seed("cert-manager"), inferred("cnpg", `${CNPG_NOTE} [CRD] pdns-pg is a postgresql.cnpg.io Cluster`)],
    readiness: "kubectl -n powerdns exec deploy/powerdns -- pdns_control rping | grep -q PONG",
    namespace: "powerdns",
  },
  {
    row: 12,
    name: "external-dns",
    tier: "3",
    layer: "host",
    in: "present",
    dependsOn: seed("powerdns"),
    readiness: rolloutProbe("external-dns", "deploy", "external-dns"),
    namespace: "external-dns",
  },
  {
    row: 13,
    name: "catalyst-platform",
    tier: "4",
    layer: "mgt",
    in: "present",
    dependsOn: seed("gitea"),
    readiness: "curl -fsS -o /dev/null -w '%{http_code}' https://console.<domain>/ | grep -q 200",
    namespace: "catalyst-system",
  },
  {
    row: 14,
    name: "crossplane-claims",
    tier: "0",
    layer: "mgt",
    in: "present",
    dependsOn: seed("crossplane"),
    readiness: "kubectl get xrd -o jsonpath='{.items[*].status.conditions[?(@.type==\"Established\")].status}' | grep -q True",
    namespace: "crossplane-claims",
  },

  // ---- W2.K1 (slots 15–19): storage + DB, §2.3
  {
    row: 15,
    name: "external-secrets",
    tier: "0/3",
    layer: "host",
    in: "W2.K1",
    dependsOn: seed("openbao", "cert-manager"),
    readiness: "kubectl wait --for=condition=Ready externalsecret -A --all --timeout=60s",
    namespace: "external-secrets",
  },
  {
    row: 16,
    name: "cnpg",
    tier: "5",
    layer: "mgt",
    in: "W2.K1",
    dependsOn: seed("flux"),
    readiness:
      "kubectl get cluster.postgresql.cnpg.io -A -o jsonpath='{.items[?(@.status.phase==\"Cluster in healthy state\")].metadata.name}' | grep .",
    namespace: "cnpg-system",
  },
  {
    row: 17,
    name: "valkey",
    tier: "5",
    layer: "mgt",
    in: "W2.K1",
    dependsOn: seed("flux"),
    readiness: "kubectl exec -n valkey deploy/valkey -- valkey-cli ping | grep -q PONG",
    namespace: "valkey",
  },
  {
    row: 18,
    name: "seaweedfs",
    tier: "5",
    layer: "host",
    in: "W2.K1",
    dependsOn: seed("flux", "cert-manager"),
    readiness: "curl -fsS http://seaweedfs.seaweedfs.svc.cluster.local:8333/status | jq -e '.status==\"OK\"'",
    namespace: "seaweedfs",
  },
  {
    row: 19,
    name: "harbor",
    tier: "5 (registry)",
    layer: "host",
    in: "W2.K1",
    dependsOn: seed("cnpg", "seaweedfs", "cert-manager"),
    readiness: "curl -fsS https://harbor.<domain>/api/v2.0/health | jq -e '.status==\"healthy\"'",
    namespace: "harbor",
  },

  // ---- W2.K2 (slots 20–26): observability, §2.4
  {
    row: 20,
    name: "opentelemetry",
    tier: "6",
    layer: "host",
    in: "W2.K2",
    dependsOn: seed("cert-manager"),
    readiness: "kubectl get otelcol -A -o jsonpath='{.items[*].status.phase}' | grep -qv Failed",
    namespace: "opentelemetry",
  },
  {
    row: 21,
    name: "alloy",
    tier: "6",
    layer: "host",
    in: "W2.K2",
    dependsOn: seed("opentelemetry"),
    readiness: "kubectl rollout status -n alloy ds/alloy --timeout=60s",
    namespace: "alloy",
  },
  {
    row: 22,
    name: "loki",
    tier: "6",
    layer: "mgt",
    in: "W2.K2",
    dependsOn: seed("seaweedfs"),
    // Seed §5 addresses loki.loki.svc; the release kubedos adopts lives in `observability`.
    readiness: `curl -fsS http://loki.${OBSERVABILITY_NAMESPACE}.svc.cluster.local:3100/ready | grep -q ready`,
    namespace: OBSERVABILITY_NAMESPACE,
    adopts: { releaseName: RELEASES.loki, namespace: OBSERVABILITY_NAMESPACE },
  },
  {
    row: 23,
    name: "mimir",
    tier: "6",
    layer: "mgt",
    in: "W2.K2",
    dependsOn: seed("seaweedfs"),
    // §5 probes `mimir.mimir.svc`, which mimir-distributed does not create: every component serves
    // /ready on 8080, and the distributor (the write path) is the one that must be up.
    readiness: "curl -fsS http://mimir-distributed-distributor.mimir.svc.cluster.local:8080/ready | grep -q ready",
    namespace: "mimir",
  },
  {
    row: 24,
    name: "tempo",
    tier: "6",
    layer: "mgt",
    in: "W2.K2",
    dependsOn: seed("seaweedfs"),
    readiness: "curl -fsS http://tempo.tempo.svc.cluster.local:3200/ready | grep -q ready",
    namespace: "tempo",
  },
  {
    row: 25,
    name: "grafana",
    tier: "6",
    layer: "mgt",
    in: "W2.K2",
    dependsOn: seed("cnpg", "loki", "mimir", "tempo", "keycloak"),
    readiness: "curl -fsS https://grafana.<domain>/api/health | jq -e '.database==\"ok\"'",
    namespace: OBSERVABILITY_NAMESPACE,
    adopts: { releaseName: RELEASES.grafana, namespace: OBSERVABILITY_NAMESPACE },
  },
  {
    row: 26,
    name: "langfuse",
    tier: "6 (LLM obs)",
    layer: "mgt",
    in: "W2.K2",
    dependsOn: seed("cnpg", "keycloak", "cert-manager"),
    readiness: "curl -fsS https://langfuse.<domain>/api/public/health | jq -e '.status==\"OK\"'",
    namespace: "langfuse",
  },

  // ---- W2.K3 (slots 27–34): security + policy, §2.5
  {
    row: 27,
    name: "kyverno",
    tier: "7",
    layer: "host",
    in: "W2.K3",
    dependsOn: seed("cilium"),
    readiness: "kubectl get clusterpolicies.kyverno.io -o jsonpath='{.items[*].status.ready}' | grep -q true",
    namespace: "kyverno",
  },
  {
    row: 28,
    name: "reloader",
    tier: "7",
    layer: "host",
    in: "W2.K3",
    dependsOn: [], // §2.5: "(none) ──► bp-reloader(28)"
    readiness: "kubectl rollout status -n reloader deploy/reloader --timeout=60s",
    namespace: "reloader",
  },
  {
    row: 29,
    name: "vpa",
    tier: "7",
    layer: "host",
    in: "W2.K3",
    dependsOn: [], // §2.5: "(none) ──► bp-vpa(29)"
    readiness: 'kubectl get verticalpodautoscalercheckpoints -A 2>&1 | grep -qv "the server doesn\'t have a resource"',
    namespace: "vpa",
  },
  {
    row: 30,
    name: "trivy",
    tier: "7",
    layer: "host",
    in: "W2.K3",
    dependsOn: seed("cert-manager"),
    readiness: "kubectl rollout status -n trivy-system deploy/trivy-operator --timeout=60s",
    namespace: "trivy-system",
  },
  {
    row: 31,
    name: "falco",
    tier: "7",
    layer: "host",
    in: "W2.K3",
    dependsOn: seed("cilium"),
    readiness: "kubectl rollout status -n falco ds/falco --timeout=60s",
    namespace: "falco",
  },
  {
    row: 32,
    name: "sigstore",
    tier: "7",
    layer: "host",
    in: "W2.K3",
    dependsOn: seed("cert-manager"),
    readiness: "kubectl get policy.policy.sigstore.dev -A -o name | grep .",
    namespace: "cosign-system",
  },
  {
    row: 33,
    name: "syft-grype",
    tier: "7",
    layer: "host",
    in: "W2.K3",
    dependsOn: seed("cert-manager"),
    readiness: "kubectl rollout status -n syft-grype deploy/syft-grype --timeout=60s",
    namespace: "syft-grype",
  },
  {
    row: 34,
    name: "velero",
    tier: "7",
    layer: "host",
    in: "W2.K3",
    dependsOn: seed("seaweedfs"),
    readiness: "kubectl get backuplocation -A -o jsonpath='{.items[*].status.phase}' | grep -q Available",
    namespace: "velero",
  },

  // ---- W2.K4 prefix (slots 35–36): edge, §2.6
  {
    row: 35,
    name: "coraza",
    tier: "8 (edge)",
    layer: "host",
    in: "W2.K4",
    dependsOn: seed("cilium", "cert-manager"),
    readiness: "curl -fsS -H \"X-Test-WAF: 1' OR 1=1 --\" https://<domain>/ -o /dev/null -w '%{http_code}' | grep -q 403",
    namespace: "coraza",
  },
  {
    row: 36,
    name: "stunner",
    tier: "8 (edge)",
    layer: "host",
    in: "W2.K4",
    dependsOn: seed("cilium", "cert-manager"),
    readiness:
      "kubectl get gateway -n stunner -o jsonpath='{.items[*].status.conditions[?(@.type==\"Programmed\")].status}' | grep -q True",
    namespace: "stunner",
  },

  // ---- W2.K4 (slots 37–48): apps + AI runtime, §2.7
  {
    row: 37,
    name: "knative",
    tier: "9",
    layer: "host",
    in: "W2.K4",
    dependsOn: seed("cert-manager"),
    readiness: "kubectl get knativeserving -A -o jsonpath='{.items[*].status.conditions[?(@.type==\"Ready\")].status}' | grep -q True",
    namespace: "knative-operator",
  },
  {
    row: 38,
    name: "kserve",
    tier: "9",
    layer: "host",
    in: "W2.K4",
    dependsOn: seed("knative"),
    readiness: 'kubectl get inferenceservice -A 2>&1 | grep -qv "the server doesn\'t have a resource"',
    namespace: "kserve",
  },
  {
    row: 39,
    name: "vllm",
    tier: "9",
    layer: "app", // "app→bootstrapped": an App Blueprint, pinned at bootstrap for the Cortex demo
    in: "W2.K4",
    dependsOn: seed("kserve"),
    readiness:
      "kubectl get inferenceservice -n cortex -o jsonpath='{.items[*].status.conditions[?(@.type==\"Ready\")].status}' | grep -q True",
    namespace: "cortex",
  },
  {
    row: 40,
    name: "llm-gateway",
    tier: "9",
    layer: "mgt",
    in: "W2.K4",
    dependsOn: seed("cnpg", "keycloak"),
    readiness: "curl -fsS https://llm-gateway.<domain>/health | jq -e '.status==\"ok\"'",
    namespace: "llm-gateway",
  },
  {
    row: 41,
    name: "anthropic-adapter",
    tier: "9",
    layer: "mgt",
    in: "W2.K4",
    dependsOn: seed("llm-gateway"),
    readiness: "curl -fsS https://anthropic-adapter.<domain>/v1/models | jq -e '.data[0].id'",
    namespace: "anthropic-adapter",
  },
  {
    row: 42,
    name: "bge",
    tier: "9",
    layer: "host",
    in: "W2.K4",
    dependsOn: seed("cnpg"),
    readiness: "curl -fsS -X POST https://bge.<domain>/embed -d '{\"texts\":[\"hello\"]}' | jq -e '.embeddings | length > 0'",
    namespace: "bge",
  },
  {
    row: 43,
    name: "nemo-guardrails",
    tier: "9",
    layer: "mgt",
    in: "W2.K4",
    dependsOn: seed("llm-gateway", "bge", "cnpg"),
    readiness: "curl -fsS https://guardrails.<domain>/v1/health | jq -e '.status==\"ok\"'",
    namespace: "nemo-guardrails",
  },
  {
    row: 44,
    name: "temporal",
    tier: "9",
    layer: "mgt",
    in: "W2.K4",
    dependsOn: seed("cnpg", "cert-manager"),
    readiness:
      "kubectl exec -n temporal deploy/temporal-frontend -- tctl --address localhost:7233 cluster get-search-attributes 2>&1 | grep -qv error",
    namespace: "temporal",
  },
  {
    row: 45,
    name: "openmeter",
    tier: "9",
    layer: "mgt",
    in: "W2.K4",
    dependsOn: seed("cnpg", "nats-jetstream"), // the ClickHouse-less profile (§6.4)
    readiness: "curl -fsS https://openmeter.<domain>/api/v1/health | jq -e '.status==\"ok\"'",
    namespace: "openmeter",
  },
  {
    row: 46,
    name: "livekit",
    tier: "9 (relay)",
    layer: "host",
    in: "W2.K4",
    dependsOn: seed("stunner", "cert-manager"),
    readiness: 'curl -fsS https://livekit.<domain>/ | grep -q "LiveKit"',
    namespace: "livekit",
  },
  {
    row: 47,
    name: "matrix",
    tier: "9 (relay)",
    layer: "mgt",
    in: "W2.K4",
    dependsOn: seed("cnpg", "keycloak", "cert-manager"),
    readiness: "curl -fsS https://matrix.<domain>/_matrix/client/versions | jq -e '.versions | length > 0'",
    namespace: "matrix",
  },
  {
    row: 48,
    name: "librechat",
    tier: "9",
    layer: "mgt",
    in: "W2.K4",
    dependsOn: seed("llm-gateway", "vllm", "bge", "keycloak"),
    readiness: "curl -fsS https://librechat.<domain>/api/health | grep -q OK",
    namespace: "librechat",
  },

  // ---- excluded from omantel-1 (rows 49–63): §1.2 disposition — §6 rationale. §2 gives them no
  // edges; the ones below are what their notes or CRDs make hard, so `include` pulls them in order.
  {
    row: 49,
    name: "failover-controller",
    tier: "3.5",
    layer: "host",
    in: {
      excluded:
        "omantel-1 single-region — Implements lease-based multi-region failover. omantel-1 is single-region (mgt only); failover is a no-op. Re-add when omantel adds a workload region.",
    },
    dependsOn: [],
    readiness: rolloutProbe("failover-controller", "deploy", "failover-controller"),
    namespace: "failover-controller",
  },
  {
    row: 50,
    name: "keda",
    tier: "7",
    layer: "host",
    in: {
      excluded:
        "omantel-1 ScaleToZero deferred — Event-driven autoscale + scale-to-zero. omantel-1 demo path uses HPA + KServe-native autoscale; KEDA value lands when Apps run mostly-idle. Re-add in W3.",
    },
    dependsOn: [],
    // KEDA's surface is the external metrics API it registers.
    readiness:
      "kubectl get apiservice v1beta1.external.metrics.k8s.io -o jsonpath='{.status.conditions[?(@.type==\"Available\")].status}' | grep -q True",
    namespace: "keda",
  },
  {
    row: 51,
    name: "clickhouse",
    tier: "5",
    layer: "app",
    in: {
      excluded:
        "heavy, OLAP-only — OLAP. omantel-1 uses the OpenMeter-without-ClickHouse profile (CNPG + JetStream stream). Add when an analytics-heavy Org onboards.",
    },
    dependsOn: [],
    readiness: "kubectl get clickhouseinstallations.clickhouse.altinity.com -A -o jsonpath='{.items[*].status.status}' | grep -q Completed",
    namespace: "clickhouse",
  },
  {
    row: 52,
    name: "strimzi",
    tier: "5",
    layer: "app",
    in: {
      excluded:
        "kafka duplicates NATS — Kafka. NATS JetStream is the control-plane bus per `PLATFORM-TECH-STACK.md` §4.1; Strimzi is opt-in. Defer until a customer App requires Kafka semantics.",
    },
    dependsOn: [],
    readiness: rolloutProbe("strimzi", "deploy", "strimzi-cluster-operator"),
    namespace: "strimzi",
  },
  {
    row: 53,
    name: "flink",
    tier: "5",
    layer: "app",
    in: { excluded: "no streaming workload at omantel-1 — Stream processing. Pairs with Kafka/Iceberg; not needed at omantel-1." },
    dependsOn: [
      inferred(
        "cert-manager",
        "[CRD] the Flink Kubernetes Operator chart issues its admission webhook certificate as a cert-manager Certificate (webhook.create defaults to true)",
      ),
    ],
    readiness: rolloutProbe("flink", "deploy", "flink-kubernetes-operator"),
    namespace: "flink",
  },
  {
    row: 54,
    name: "debezium",
    tier: "5",
    layer: "app",
    in: { excluded: "no CDC workload at omantel-1 — CDC source-of-record into Kafka. Pairs with Strimzi; deferred together." },
    dependsOn: [
      inferred(
        "strimzi",
        '§1.2 row 54: "Pairs with strimzi; deferred together." [CRD] Debezium runs as a Strimzi KafkaConnect/KafkaConnector, CRDs bp-strimzi installs',
      ),
    ],
    readiness:
      "kubectl get kafkaconnector -n debezium -o jsonpath='{.items[*].status.conditions[?(@.type==\"Ready\")].status}' | grep -q True",
    namespace: "debezium",
  },
  {
    row: 55,
    name: "iceberg",
    tier: "5",
    layer: "app",
    in: { excluded: "no lakehouse at omantel-1 — Lakehouse table format. Pairs with Flink/ClickHouse; deferred together." },
    dependsOn: [],
    readiness: "curl -fsS http://iceberg-rest.iceberg.svc.cluster.local:8181/v1/config | jq -e '.defaults'",
    namespace: "iceberg",
  },
  {
    row: 56,
    name: "opensearch",
    tier: "5",
    layer: "app",
    in: { excluded: "heavy, app-tier only — Heavy SIEM/search backend. Logs go to Loki at omantel-1; SIEM is a W3 add." },
    dependsOn: [],
    readiness: rolloutProbe("opensearch", "statefulset", "opensearch-cluster-master"),
    namespace: "opensearch",
  },
  {
    row: 57,
    name: "ferretdb",
    tier: "5",
    layer: "app",
    in: { excluded: "no MongoDB consumer at omantel-1 — MongoDB wire protocol. No MongoDB consumer at omantel-1. Add on demand." },
    dependsOn: [
      inferred(
        "cnpg",
        '§6.2 (bp-ferretdb): "MongoDB wire protocol." FerretDB serves it from PostgreSQL; [CRD] its database is a postgresql.cnpg.io Cluster',
      ),
    ],
    readiness: rolloutProbe("ferretdb", "deploy", "ferretdb"),
    namespace: "ferretdb",
  },
  {
    row: 58,
    name: "milvus",
    tier: "5",
    layer: "app",
    in: {
      excluded:
        "no vector workload at omantel-1 — Vector DB. The Cortex demo uses bge + pgvector via CNPG (small corpus). Add when corpus ≥ 1M docs.",
    },
    dependsOn: [],
    readiness: "curl -fsS http://milvus.milvus.svc.cluster.local:9091/healthz | grep -q OK",
    namespace: "milvus",
  },
  {
    row: 59,
    name: "neo4j",
    tier: "5",
    layer: "app",
    in: { excluded: "no graph workload at omantel-1 — Graph DB. Specter (AIOps) uses it; Specter isn't part of omantel-1." },
    dependsOn: [],
    readiness: "curl -fsS http://neo4j.neo4j.svc.cluster.local:7474/ | jq -e '.neo4j_version'",
    namespace: "neo4j",
  },
  {
    row: 60,
    name: "stalwart",
    tier: "9 (relay)",
    layer: "app",
    in: {
      excluded:
        "mail server is per-Sovereign post-Phase-2 — Mail server. Per-Org vcluster (Relay product), not host-cluster. The contabo-mkt Stalwart is a separate provisioner-tier deployment.",
    },
    dependsOn: [],
    readiness: "curl -fsS http://stalwart.stalwart.svc.cluster.local:8080/healthz/ready",
    namespace: "stalwart",
  },
  {
    row: 61,
    name: "guacamole",
    tier: "9 (relay)",
    layer: "app",
    in: { excluded: "admin-tooling, deferred — Browser remote-desktop gateway. Admin-tooling; deferred to post-handoff if SRE asks." },
    dependsOn: [],
    readiness: "curl -fsS https://guacamole.<domain>/guacamole/api/languages | jq -e 'length > 0'",
    namespace: "guacamole",
  },
  {
    row: 62,
    name: "litmus",
    tier: "9",
    layer: "app",
    in: { excluded: "chaos engineering, post-GA — Chaos engineering. Production-readiness add-on; post-GA." },
    dependsOn: [],
    readiness: rolloutProbe("litmus", "deploy", "litmus-server"),
    namespace: "litmus",
  },
  {
    row: 63,
    name: "opentofu",
    tier: "0",
    layer: "bootstrap-only",
    in: {
      excluded:
        "Phase-0-only — Runs once in the catalyst-provisioner during Phase 0; never deployed on a host cluster. Not a bootstrap-kit candidate.",
    },
    dependsOn: [],
    // Nothing of its own answers on a cluster: it is a one-shot Phase-0 tool.
    readiness: "kubectl wait --for=condition=Ready helmrelease/bp-opentofu -n flux-system --timeout=60s",
    namespace: "opentofu",
  },
];

function toBlueprint(r: Row): Blueprint {
  const chart = CHARTS[r.name];
  if (!chart) throw new Error(`catalog: no chart for ${releaseName(r.name)}`);
  const kit = typeof r.in === "string";
  return {
    name: r.name,
    row: r.row,
    tier: r.tier,
    layer: r.layer,
    // In the kit, the slot is the §1.2 row (rows 1–48 are slots 01–48).
    ...(kit ? { slot: r.row } : {}),
    disposition: typeof r.in === "string" ? { kind: "kit", batch: r.in } : { kind: "excluded", reason: r.in.excluded },
    dependsOn: r.dependsOn,
    readiness: r.readiness,
    chart,
    namespace: r.namespace,
    minSchemaVersion: FIRST_SCHEMA,
    optional: !FOUNDATION.has(r.name),
    ...(r.adopts ? { adopts: r.adopts } : {}),
  };
}

/** Every blueprint of seed 000 §1.2, in row order (rows 1–48 are the omantel-1 kit in slot order). */
export const CATALOG: readonly Blueprint[] = Object.freeze(ROWS.map(toBlueprint));

const BY_NAME = new Map(CATALOG.map((b) => [b.name, b]));

/** The catalog entry named `name` (without `bp-`); throws naming it when there is none. */
export function blueprint(name: string): Blueprint {
  const b = BY_NAME.get(name);
  if (!b) throw new Error(`unknown blueprint ${JSON.stringify(name)}: the catalog has no ${releaseName(name)}`);
  return b;
}

/** Whether `name` is a catalog blueprint. */
export const isBlueprint = (name: string): boolean => BY_NAME.has(name);

/** The blueprints of a kit profile, in slot order. */
export const PROFILES: Readonly<Record<typeof OMANTEL_1, readonly Blueprint[]>> = {
  [OMANTEL_1]: CATALOG.filter((b) => b.disposition.kind === "kit"),
};
