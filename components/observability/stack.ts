/**
 * The observability baseline (seed 001 §13.3): Prometheus (kube-prometheus-stack), Grafana and
 * Loki as Helm releases in namespace `observability`, rendered as pure data from the Plan, the
 * spec and the version locks. No Pulumi, no I/O.
 *
 * Every release is bound to the spec's `bindPlane` (wg2): its UI/API Service is a ClusterIP with
 * `externalIPs` on that plane only (see binding.ts for the mechanism and why). Every image is
 * written out from CHART_LOCKS through the registry mirror, and every image a chart would pull
 * that the locks do not pin is switched off — an air-gapped node cannot pull it anyway, and the
 * supply-chain policies could not vouch for it.
 */
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import { CHART_LOCKS, mirroredRepository, type ChartLock, type ImageLock } from "../supplychain/locks";
import { chartRepository, type ChartRelease } from "../cni/release";
import { enabledComponents, observabilityBinding, OBSERVABILITY_PORTS, type ObservabilityBinding } from "./binding";

export const OBSERVABILITY_NAMESPACE = "observability";
/** Default name of the Secret holding Grafana's admin credentials (keys admin-user, admin-password). */
export const GRAFANA_ADMIN_SECRET = "grafana-admin";
/** How long metrics are kept, and the size cap that keeps the TSDB inside its volume. */
export const PROMETHEUS_RETENTION = { time: "15d", size: "18GiB", volume: "20Gi" } as const;
/** How long logs are kept (Loki's compactor deletes older chunks). */
export const LOKI_RETENTION = { period: "744h", volume: "20Gi" } as const;

/** Release names; they are also the charts' fullnames, so the in-cluster service names below hold. */
export const RELEASES = { prometheus: "kube-prometheus-stack", grafana: "grafana", loki: "loki" } as const;

export interface ObservabilityOptions {
  /**
   * Name of the Secret in `observability` with Grafana's admin credentials (keys admin-user and
   * admin-password). It is created from the derived secrets elsewhere; no credential is ever
   * part of the values. Default GRAFANA_ADMIN_SECRET.
   */
  grafanaAdminSecret?: string;
  /**
   * StorageClass for Prometheus', Loki's and Grafana's volumes. Without one they run on emptyDir
   * (size-limited, retention-capped), and their data does not survive a pod moving to another node.
   */
  storageClass?: string;
}

/**
 * How a chart spells an image digest. kube-prometheus-stack and grafana print
 * `@sha256:<sha>` (bare hex); kube-state-metrics prints `@<sha>` (the whole `sha256:…`);
 * loki and prometheus-node-exporter take `digest: sha256:…`.
 */
export type DigestSpelling = "sha-hex" | "sha" | "digest";

/** `quay.io/prometheus/prometheus` → [`quay.io`, `prometheus/prometheus`]; Docker Hub when no host is named. */
function splitRegistry(repository: string): [string, string] {
  const [first, ...rest] = repository.split("/");
  const isHost = rest.length > 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  return isHost ? [first, rest.join("/")] : ["docker.io", repository];
}

/**
 * An image as these charts take it (`registry` + `repository` + `tag`), from the lock, through the
 * mirror. When the lock has a digest it is written in the chart's own spelling, and also as
 * `digest` (what the policy pack reads) for the charts that spell it `sha` — the same value, so
 * what the policies see is what the chart deploys.
 */
export function chartImage(lock: ImageLock, mirror: string | undefined, spelling: DigestSpelling): Record<string, unknown> {
  const [registry, repository] = splitRegistry(mirroredRepository(lock.repository, mirror));
  const d = lock.digest;
  const digest = !d
    ? {}
    : spelling === "digest"
      ? { digest: d }
      : spelling === "sha"
        ? { sha: d, digest: d }
        : { sha: d.replace(/^sha256:/, ""), digest: d };
  return { registry, repository, tag: lock.tag, ...digest, pullPolicy: "IfNotPresent" };
}

/** The plane-facing part of a Service: ClusterIP (never NodePort/LoadBalancer) plus the plane's addresses. */
function planeService(binding: ObservabilityBinding, port: number): Record<string, unknown> {
  return { type: "ClusterIP", port, externalIPs: [...binding.addresses] };
}

const clusterUrl = (service: string, port: number): string => `http://${service}.${OBSERVABILITY_NAMESPACE}.svc:${port}`;

function release(plan: Plan, name: string, lock: ChartLock, values: Record<string, unknown>): ChartRelease {
  return {
    name,
    namespace: OBSERVABILITY_NAMESPACE,
    chart: lock.chart,
    version: lock.version,
    repository: chartRepository(plan, lock),
    values,
  };
}

function prometheusValues(plan: Plan, binding: ObservabilityBinding, opts: ObservabilityOptions): Record<string, unknown> {
  const images = CHART_LOCKS["kube-prometheus-stack"].images;
  const mirror = plan.mirrors.registry;
  const storageSpec = opts.storageClass
    ? {
        volumeClaimTemplate: {
          spec: {
            storageClassName: opts.storageClass,
            accessModes: ["ReadWriteOnce"],
            resources: { requests: { storage: PROMETHEUS_RETENTION.volume } },
          },
        },
      }
    : { emptyDir: { sizeLimit: PROMETHEUS_RETENTION.volume } };
  return {
    fullnameOverride: RELEASES.prometheus,
    crds: { enabled: true },
    // No Alertmanager image is locked and the spec declares no receiver to send to.
    alertmanager: { enabled: false },
    // Grafana is its own release (below), bound to the plane like the others.
    grafana: { enabled: false },
    // kubeadm binds kube-controller-manager, kube-scheduler and etcd's metrics to loopback (CIS
    // flags in components/kubernetes/kubeadm.ts), so Prometheus cannot reach them: scraping would
    // only raise TargetDown. kube-proxy does not exist (Cilium replaces it).
    kubeControllerManager: { enabled: false },
    kubeScheduler: { enabled: false },
    kubeEtcd: { enabled: false },
    kubeProxy: { enabled: false },
    defaultRules: {
      rules: {
        alertmanager: false,
        etcd: false,
        kubeControllerManager: false,
        kubeProxy: false,
        kubeSchedulerAlerting: false,
        kubeSchedulerRecording: false,
      },
    },
    prometheusOperator: {
      image: chartImage(images.operator, mirror, "sha-hex"),
      prometheusConfigReloader: { image: chartImage(images.configReloader, mirror, "sha-hex") },
      // The admission webhook's certificate is made by a kube-webhook-certgen Job whose image the
      // locks do not pin. Without the webhook the operator needs no certificate, hence no TLS.
      admissionWebhooks: { enabled: false },
      tls: { enabled: false },
    },
    prometheus: {
      service: planeService(binding, OBSERVABILITY_PORTS.prometheus),
      prometheusSpec: {
        image: chartImage(images.prometheus, mirror, "sha-hex"),
        retention: PROMETHEUS_RETENTION.time,
        retentionSize: PROMETHEUS_RETENTION.size,
        storageSpec,
        externalLabels: { cluster: plan.cluster.name },
        // Select every ServiceMonitor/PodMonitor/rule in the cluster, not only this release's:
        // Cilium's agent, operator and Hubble monitors live in kube-system under another release.
        serviceMonitorSelectorNilUsesHelmValues: false,
        podMonitorSelectorNilUsesHelmValues: false,
        ruleSelectorNilUsesHelmValues: false,
        probeSelectorNilUsesHelmValues: false,
        scrapeConfigSelectorNilUsesHelmValues: false,
      },
    },
    "kube-state-metrics": { image: chartImage(images.kubeStateMetrics, mirror, "sha") },
    "prometheus-node-exporter": {
      image: chartImage(images.nodeExporter, mirror, "digest"),
      // node-exporter runs in the host network; bind it to the node's InternalIP (its kubernetes
      // plane address) rather than to every interface, uplink included.
      service: { listenOnAllInterfaces: false },
    },
  };
}

function grafanaValues(plan: Plan, spec: ClusterSpec, binding: ObservabilityBinding, opts: ObservabilityOptions): Record<string, unknown> {
  const stack = spec.spec.kubernetes.observability.stack;
  const datasources: Array<Record<string, unknown>> = [];
  if (stack.prometheus) {
    datasources.push({
      name: "Prometheus",
      type: "prometheus",
      uid: "prometheus",
      access: "proxy",
      url: clusterUrl(`${RELEASES.prometheus}-prometheus`, OBSERVABILITY_PORTS.prometheus),
      isDefault: true,
    });
  }
  if (stack.loki) {
    datasources.push({
      name: "Loki",
      type: "loki",
      uid: "loki",
      access: "proxy",
      url: clusterUrl(RELEASES.loki, OBSERVABILITY_PORTS.loki),
      isDefault: !stack.prometheus,
    });
  }
  return {
    fullnameOverride: RELEASES.grafana,
    image: chartImage(CHART_LOCKS.grafana.images.grafana, plan.mirrors.registry, "sha-hex"),
    // Credentials come from a Secret made elsewhere; the chart must neither generate one nor carry one.
    admin: { existingSecret: opts.grafanaAdminSecret ?? GRAFANA_ADMIN_SECRET, userKey: "admin-user", passwordKey: "admin-password" },
    service: { enabled: true, ...planeService(binding, OBSERVABILITY_PORTS.grafana), targetPort: OBSERVABILITY_PORTS.grafana },
    persistence: opts.storageClass ? { enabled: true, storageClassName: opts.storageClass, size: "5Gi" } : { enabled: false },
    // Each of these runs an image the locks do not pin (busybox, bats, k8s-sidecar).
    initChownData: { enabled: false },
    testFramework: { enabled: false },
    sidecar: { dashboards: { enabled: false }, datasources: { enabled: false } },
    // Air-gapped: no phoning home, no update checks, no self sign-up.
    "grafana.ini": {
      analytics: { reporting_enabled: false, check_for_updates: false, check_for_plugin_updates: false },
      news: { news_feed_enabled: false },
      users: { allow_sign_up: false },
      "auth.anonymous": { enabled: false },
    },
    ...(datasources.length > 0 ? { datasources: { "datasources.yaml": { apiVersion: 1, datasources } } } : {}),
  };
}

function lokiValues(plan: Plan, binding: ObservabilityBinding, opts: ObservabilityOptions): Record<string, unknown> {
  const name = RELEASES.loki;
  return {
    fullnameOverride: name,
    deploymentMode: "SingleBinary",
    loki: {
      image: chartImage(CHART_LOCKS.loki.images.loki, plan.mirrors.registry, "digest"),
      // One tenant: the cluster's own logs.
      auth_enabled: false,
      commonConfig: { replication_factor: 1 },
      storage: { type: "filesystem" },
      schemaConfig: {
        configs: [
          { from: "2024-04-01", store: "tsdb", object_store: "filesystem", schema: "v13", index: { prefix: "loki_index_", period: "24h" } },
        ],
      },
      limits_config: { retention_period: LOKI_RETENTION.period },
      compactor: { retention_enabled: true, delete_request_store: "filesystem" },
    },
    singleBinary: {
      // Filesystem storage cannot be shared: exactly one replica.
      replicas: 1,
      persistence: opts.storageClass ? { enabled: true, storageClass: opts.storageClass, size: LOKI_RETENTION.volume } : { enabled: false },
      service: { type: "ClusterIP" },
    },
    // The simple-scalable targets the chart defaults to.
    read: { replicas: 0 },
    write: { replicas: 0 },
    backend: { replicas: 0 },
    // Each of these runs an image the locks do not pin (nginx, memcached, loki-canary, the helm
    // test image, k8s-sidecar); single-binary Loki needs none of them.
    gateway: { enabled: false },
    chunksCache: { enabled: false },
    resultsCache: { enabled: false },
    memcachedExporter: { enabled: false },
    lokiCanary: { enabled: false },
    test: { enabled: false },
    sidecar: { rules: { enabled: false } },
    // The single-binary Service has no externalIPs value, so the plane-facing Service is an extra
    // object selecting the same pods (the chart's single-binary selector labels).
    extraObjects: [
      {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: `${name}-${binding.plane}`, namespace: OBSERVABILITY_NAMESPACE },
        spec: {
          type: "ClusterIP",
          externalIPs: [...binding.addresses],
          ports: [{ name: "http-metrics", port: OBSERVABILITY_PORTS.loki, targetPort: "http-metrics", protocol: "TCP" }],
          selector: {
            "app.kubernetes.io/name": "loki",
            "app.kubernetes.io/instance": name,
            "app.kubernetes.io/component": "single-binary",
          },
        },
      },
    ],
  };
}

/** The enabled releases of the stack, in install order (Prometheus first: it brings the CRDs). Empty when observability is off. */
export function observabilityReleases(plan: Plan, spec: ClusterSpec, opts: ObservabilityOptions = {}): ChartRelease[] {
  const binding = observabilityBinding(plan, spec);
  if (!binding) return [];
  return enabledComponents(spec).map((c) => {
    switch (c) {
      case "prometheus":
        return release(plan, RELEASES.prometheus, CHART_LOCKS["kube-prometheus-stack"], prometheusValues(plan, binding, opts));
      case "grafana":
        return release(plan, RELEASES.grafana, CHART_LOCKS.grafana, grafanaValues(plan, spec, binding, opts));
      case "loki":
        return release(plan, RELEASES.loki, CHART_LOCKS.loki, lokiValues(plan, binding, opts));
    }
  });
}
