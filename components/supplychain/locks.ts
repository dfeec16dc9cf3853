/**
 * The version locks: every package, chart and image version kubedos installs, in one place,
 * bumped together (seed 001 §6.2). A spec names a Kubernetes minor line (`v1.32.x`); the locks
 * resolve it to an exact patch and to the matching package revisions. Nothing here floats.
 *
 * Image digests: a lock records `digest` when it has been resolved from the declared registry
 * mirror. Digests cannot be invented offline, so images without one are pinned by exact tag
 * only — the `image-digests` policy (mandatory in prod) refuses them until the digest is locked.
 */

export interface ImageLock {
  /** Upstream repository, e.g. `quay.io/cilium/cilium`; the mirror rewrites only the registry host. */
  repository: string;
  /** Exact tag. */
  tag: string;
  /** `sha256:<64 hex>` once resolved from the mirror. */
  digest?: string;
}

export interface ChartLock {
  /** Chart name in its repository. */
  chart: string;
  /** Upstream repository URL (the mirror's `mirrors.charts` replaces it when declared). */
  repository: string;
  /** Exact chart version. */
  version: string;
  /** Images the chart is configured with, by role. */
  images: Record<string, ImageLock>;
}

export interface KubernetesLock {
  /** Exact Kubernetes version, `vMAJOR.MINOR.PATCH`. */
  version: string;
  /** Debian package versions from pkgs.k8s.io (as mirrored). */
  packages: { kubelet: string; kubeadm: string; kubectl: string; "cri-tools": string; "kubernetes-cni": string };
  /** Image tags kubeadm pulls for this version (control plane + etcd + CoreDNS + pause). */
  images: Record<"kube-apiserver" | "kube-controller-manager" | "kube-scheduler" | "etcd" | "coredns" | "pause", ImageLock>;
}

const k8s = (minor: number, patch: number, etcd: string, coredns: string, pause: string, criTools: string): KubernetesLock => {
  const v = `1.${minor}.${patch}`;
  const image = (name: string, tag: string): ImageLock => ({ repository: `registry.k8s.io/${name}`, tag });
  return {
    version: `v${v}`,
    packages: {
      kubelet: `${v}-1.1`,
      kubeadm: `${v}-1.1`,
      kubectl: `${v}-1.1`,
      "cri-tools": `${criTools}-1.1`,
      "kubernetes-cni": "1.5.1-1.1",
    },
    images: {
      "kube-apiserver": image("kube-apiserver", `v${v}`),
      "kube-controller-manager": image("kube-controller-manager", `v${v}`),
      "kube-scheduler": image("kube-scheduler", `v${v}`),
      etcd: image("etcd", etcd),
      coredns: image("coredns/coredns", coredns),
      pause: image("pause", pause),
    },
  };
};

/** Kubernetes minor lines kubedos builds (kubeadm.k8s.io/v1beta4 needs v1.31 or later). */
export const KUBERNETES_LOCKS: Readonly<Record<string, KubernetesLock>> = {
  "1.31": k8s(31, 13, "3.5.15-0", "v1.11.3", "3.10", "1.31.1"),
  "1.32": k8s(32, 9, "3.5.16-0", "v1.11.3", "3.10", "1.32.0"),
  "1.33": k8s(33, 5, "3.5.21-0", "v1.12.0", "3.10", "1.33.0"),
};

/** The container runtime and node packages, from the declared apt mirror (Debian 12). */
export const NODE_PACKAGES: Readonly<Record<string, string>> = {
  "containerd.io": "1.7.28-1~debian.12~bookworm",
  conntrack: "1:1.4.7-1+b2",
  socat: "1.7.4.4-2",
  ethtool: "1:6.1-1",
};

const cilium = "1.17.6";
const hubbleUi = "v0.13.2";

export const CHART_LOCKS = {
  cilium: {
    chart: "cilium",
    repository: "https://helm.cilium.io",
    version: cilium,
    images: {
      agent: { repository: "quay.io/cilium/cilium", tag: `v${cilium}` },
      operator: { repository: "quay.io/cilium/operator-generic", tag: `v${cilium}` },
      hubbleRelay: { repository: "quay.io/cilium/hubble-relay", tag: `v${cilium}` },
      hubbleUi: { repository: "quay.io/cilium/hubble-ui", tag: hubbleUi },
      hubbleUiBackend: { repository: "quay.io/cilium/hubble-ui-backend", tag: hubbleUi },
    },
  },
  "kube-prometheus-stack": {
    chart: "kube-prometheus-stack",
    repository: "https://prometheus-community.github.io/helm-charts",
    version: "75.15.1",
    images: {
      prometheus: { repository: "quay.io/prometheus/prometheus", tag: "v3.5.0" },
      operator: { repository: "quay.io/prometheus-operator/prometheus-operator", tag: "v0.84.0" },
      configReloader: { repository: "quay.io/prometheus-operator/prometheus-config-reloader", tag: "v0.84.0" },
      nodeExporter: { repository: "quay.io/prometheus/node-exporter", tag: "v1.9.1" },
      kubeStateMetrics: { repository: "registry.k8s.io/kube-state-metrics/kube-state-metrics", tag: "v2.16.0" },
    },
  },
  grafana: {
    chart: "grafana",
    repository: "https://grafana.github.io/helm-charts",
    version: "9.3.0",
    images: { grafana: { repository: "docker.io/grafana/grafana", tag: "12.1.0" } },
  },
  loki: {
    chart: "loki",
    repository: "https://grafana.github.io/helm-charts",
    version: "6.33.0",
    images: { loki: { repository: "docker.io/grafana/loki", tag: "3.5.3" } },
  },
} as const satisfies Record<string, ChartLock>;

export type ChartName = keyof typeof CHART_LOCKS;

/** The exact lock for a spec version (`v1.32.x` or `v1.32.9`); throws naming the supported lines. */
export function resolveKubernetes(specVersion: string): KubernetesLock {
  const m = /^v?(\d+)\.(\d+)\.(\d+|x)$/.exec(specVersion);
  const supported = Object.keys(KUBERNETES_LOCKS)
    .map((k) => `v${k}.x`)
    .join(", ");
  if (!m) throw new Error(`kubernetes.version ${JSON.stringify(specVersion)} is not vMAJOR.MINOR.PATCH or vMAJOR.MINOR.x`);
  const lock = KUBERNETES_LOCKS[`${m[1]}.${m[2]}`];
  if (!lock) {
    throw new Error(`kubernetes.version ${specVersion} has no version lock; kubedos builds ${supported} (set one of those)`);
  }
  if (m[3] !== "x" && lock.version !== `v${m[1]}.${m[2]}.${m[3]}`) {
    throw new Error(
      `kubernetes.version ${specVersion} is not the locked patch of its minor line (${lock.version}); write v${m[1]}.${m[2]}.x`,
    );
  }
  return lock;
}

/** `repository:tag[@digest]`, with the registry host replaced by the mirror when one is declared. */
export function imageRef(img: ImageLock, mirror?: string): string {
  return `${mirroredRepository(img.repository, mirror)}:${img.tag}${img.digest ? `@${img.digest}` : ""}`;
}

/** The repository as pulled through the mirror: `quay.io/cilium/cilium` → `<mirror>/cilium/cilium`. */
export function mirroredRepository(repository: string, mirror?: string): string {
  if (!mirror) return repository;
  const [first, ...rest] = repository.split("/");
  const hasRegistry = rest.length > 0 && (first.includes(".") || first.includes(":") || first === "localhost");
  return `${mirror}/${hasRegistry ? rest.join("/") : repository}`;
}

/** Every pin, flat, for the locks manifest and the SBOM. */
export function allLocks(): {
  kubernetes: Record<string, KubernetesLock>;
  packages: Record<string, string>;
  charts: Record<string, ChartLock>;
} {
  return { kubernetes: { ...KUBERNETES_LOCKS }, packages: { ...NODE_PACKAGES }, charts: { ...CHART_LOCKS } };
}
