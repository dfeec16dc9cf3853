/**
 * policy/policies/supply-chain.ts: pinned-chart-versions, pinned-images, image-digests and
 * pinned-packages, on single resources (resource policies), with the exact messages.
 */
import { strict as assert } from "node:assert";
import { imageDigests, pinnedChartVersions, pinnedImages, pinnedPackages } from "../../../policy/policies/supply-chain";
import { runResourcePolicy, type TestResource } from "./harness";

const DIGEST = "sha256:0f2a1cbbd5f2c4c0e6f3b1d5a7e9c2b4d6f8a0c2e4b6d8f0a2c4e6b8d0f2a4c6";

// ---------------------------------------------------------------- pinned-chart-versions

const RELEASE = "kubernetes:helm.sh/v3:Release";
const HELM_RELEASE = "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease";
const OCI_REPO = "kubernetes:source.toolkit.fluxcd.io/v1beta2:OCIRepository";

const release = (version: unknown, type = RELEASE): TestResource => ({
  type,
  name: "cilium",
  props: { chart: "cilium", namespace: "kube-system", repositoryOpts: { repo: "https://helm.cilium.io/" }, version },
});

const fluxRelease = (version: unknown): TestResource => ({
  type: HELM_RELEASE,
  name: "loki",
  props: {
    apiVersion: "helm.toolkit.fluxcd.io/v2",
    kind: "HelmRelease",
    metadata: { name: "loki", namespace: "observability" },
    spec: { interval: "10m", chart: { spec: { chart: "loki", version, sourceRef: { kind: "HelmRepository", name: "grafana" } } } },
  },
});

const ociRepo = (ref: Record<string, unknown>, type = OCI_REPO): TestResource => ({
  type,
  name: "podinfo",
  props: {
    apiVersion: "source.toolkit.fluxcd.io/v1beta2",
    kind: "OCIRepository",
    metadata: { name: "podinfo", namespace: "flux-system" },
    spec: { interval: "10m", url: "oci://ghcr.io/stefanprodan/manifests/podinfo", ref },
  },
});

/** Version → why it is not a pin, as the message words it. */
const UNPINNED_VERSIONS: Array<[string, string]> = [
  ["", "has no version"],
  ["latest", "uses the floating version latest"],
  ["^1.2.0", "uses the version range ^1.2.0"],
  ["1.x", "uses the version range 1.x"],
  ["~1.2", "uses the version range ~1.2"],
  [">=1.0.0", "uses the version range >=1.0.0"],
  ["1.16", "uses 1.16, which is not a full version (major.minor.patch)"],
];

describe("pinned-chart-versions", () => {
  it("accepts a Helm Release when its version is 1.16.3", () => {
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, release("1.16.3")), []);
  });

  it("accepts a Helm Release when its version is v-prefixed or carries a pre-release suffix", () => {
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, release("v1.16.3")), []);
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, release("1.16.3-rc.1")), []);
  });

  it("rejects a Helm Release when its version is 'latest' (literal message)", () => {
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, release("latest")), [
      "cilium (kubernetes:helm.sh/v3:Release) must pin its chart to an exact version: version uses the floating version latest.",
    ]);
  });

  for (const [version, why] of UNPINNED_VERSIONS) {
    it(`rejects a Helm Release when its version is ${JSON.stringify(version)}`, () => {
      assert.deepEqual(runResourcePolicy(pinnedChartVersions, release(version)), [
        `cilium (kubernetes:helm.sh/v3:Release) must pin its chart to an exact version: version ${why}.`,
      ]);
    });
  }

  it("rejects a Helm Release when it has no version at all", () => {
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, release(undefined)), [
      "cilium (kubernetes:helm.sh/v3:Release) must pin its chart to an exact version: version has no version.",
    ]);
  });

  it("rejects a helm v4 Chart when its version is a range, and accepts it when pinned", () => {
    const t = "kubernetes:helm.sh/v4:Chart";
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, release("~1.16.0", t)), [
      "cilium (kubernetes:helm.sh/v4:Chart) must pin its chart to an exact version: version uses the version range ~1.16.0.",
    ]);
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, release("1.16.3", t)), []);
  });

  it("accepts a Flux HelmRelease when spec.chart.spec.version is 6.21.0", () => {
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, fluxRelease("6.21.0")), []);
  });

  for (const [version, why] of UNPINNED_VERSIONS) {
    it(`rejects a Flux HelmRelease when spec.chart.spec.version is ${JSON.stringify(version)}`, () => {
      assert.deepEqual(runResourcePolicy(pinnedChartVersions, fluxRelease(version)), [
        `loki (kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease) must pin its chart to an exact version: spec.chart.spec.version ${why}.`,
      ]);
    });
  }

  it("accepts a Flux HelmRelease when it uses chartRef instead of an inline chart (the OCIRepository is checked)", () => {
    const r = fluxRelease("1.0.0");
    r.props.spec = { interval: "10m", chartRef: { kind: "OCIRepository", name: "podinfo" } };
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, r), []);
  });

  it("accepts an OCIRepository when spec.ref.digest is set", () => {
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, ociRepo({ digest: DIGEST })), []);
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, ociRepo({ tag: "latest", digest: DIGEST })), []);
  });

  it("accepts an OCIRepository (v1) when spec.ref.tag is 6.7.1", () => {
    assert.deepEqual(
      runResourcePolicy(pinnedChartVersions, ociRepo({ tag: "6.7.1" }, "kubernetes:source.toolkit.fluxcd.io/v1:OCIRepository")),
      [],
    );
  });

  it("rejects an OCIRepository when spec.ref.tag is latest", () => {
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, ociRepo({ tag: "latest" })), [
      "podinfo (kubernetes:source.toolkit.fluxcd.io/v1beta2:OCIRepository) must pin its chart to an exact version: spec.ref.tag uses the floating version latest.",
    ]);
  });

  it("rejects an OCIRepository when it has no ref at all", () => {
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, ociRepo({})), [
      "podinfo (kubernetes:source.toolkit.fluxcd.io/v1beta2:OCIRepository) must pin its chart to an exact version: spec.ref.tag has no version.",
    ]);
  });

  it("accepts a resource that is not a chart when it has a floating version property", () => {
    assert.deepEqual(
      runResourcePolicy(pinnedChartVersions, { type: "kubernetes:core/v1:ConfigMap", name: "v", props: { version: "latest" } }),
      [],
    );
  });

  it("rejects an OCIRepository semver range naming spec.ref.semver, not spec.ref.tag", () => {
    // chartVersions() reads `spec.ref.semver ?? spec.ref.tag` but always labels it spec.ref.tag,
    // so the message points at a field the resource does not even set.
    assert.deepEqual(runResourcePolicy(pinnedChartVersions, ociRepo({ semver: ">=6.0.0" })), [
      "podinfo (kubernetes:source.toolkit.fluxcd.io/v1beta2:OCIRepository) must pin its chart to an exact version: spec.ref.semver uses the version range >=6.0.0.",
    ]);
  });
});

// ---------------------------------------------------------------- pinned-images

const DEPLOYMENT = "kubernetes:apps/v1:Deployment";
const deployment = (image: string): TestResource => ({
  type: DEPLOYMENT,
  name: "web",
  props: {
    metadata: { name: "web" },
    spec: { template: { spec: { containers: [{ name: "web", image, imagePullPolicy: "IfNotPresent" }] } } },
  },
});
const AT = "spec.template.spec.containers.0.image";

/** A Helm Release whose values carry image objects the way charts take them. */
const valuesRelease = (image: Record<string, unknown>): TestResource => ({
  type: RELEASE,
  name: "cilium",
  props: { chart: "cilium", version: "1.16.3", values: { operator: { replicas: 2 }, image } },
});

describe("pinned-images", () => {
  const cases: Array<[string, string]> = [
    ["nginx", "uses the floating tag latest"],
    ["nginx:latest", "uses the floating tag latest"],
    ["nginx:stable", "uses the floating tag stable"],
    ["alpine:3.19", "uses 3.19, which is not a full version (major.minor.patch)"],
  ];

  it("rejects `image: nginx` when it has no tag (literal message)", () => {
    assert.deepEqual(runResourcePolicy(pinnedImages, deployment("nginx")), [
      "web (kubernetes:apps/v1:Deployment) must pin image nginx at spec.template.spec.containers.0.image: it uses the floating tag latest.",
    ]);
  });

  for (const [image, why] of cases) {
    it(`rejects a container when its image is ${image}`, () => {
      assert.deepEqual(runResourcePolicy(pinnedImages, deployment(image)), [
        `web (${DEPLOYMENT}) must pin image ${image} at ${AT}: it ${why}.`,
      ]);
    });
  }

  for (const image of [
    "nginx:1.27.3",
    "ghcr.io/org/app:v1.2.3-r0",
    `nginx@${DIGEST}`,
    "registry.local:5000/x/y:1.2.3",
    `nginx:latest@${DIGEST}`,
  ]) {
    it(`accepts a container when its image is ${image}`, () => {
      assert.deepEqual(runResourcePolicy(pinnedImages, deployment(image)), []);
    });
  }

  it("rejects every unpinned container of a pod, each at its own path", () => {
    const r = deployment("nginx:1.27.3");
    (r.props.spec as { template: { spec: Record<string, unknown> } }).template.spec.initContainers = [
      { name: "init", image: "busybox:stable" },
      { name: "wait", image: "alpine:3.19.1" },
    ];
    (r.props.spec as { template: { spec: { containers: unknown[] } } }).template.spec.containers.push({
      name: "sidecar",
      image: "envoyproxy/envoy:v1.31",
    });
    assert.deepEqual(runResourcePolicy(pinnedImages, r), [
      `web (${DEPLOYMENT}) must pin image envoyproxy/envoy:v1.31 at spec.template.spec.containers.1.image: it uses v1.31, which is not a full version (major.minor.patch).`,
      `web (${DEPLOYMENT}) must pin image busybox:stable at spec.template.spec.initContainers.0.image: it uses the floating tag stable.`,
    ]);
  });

  it("accepts Helm values when the image is { repository, tag } with a full version", () => {
    assert.deepEqual(runResourcePolicy(pinnedImages, valuesRelease({ repository: "quay.io/cilium/cilium", tag: "v1.16.3" })), []);
  });

  it("accepts Helm values when the image is { registry, repository, tag, digest }", () => {
    const img = { registry: "quay.io", repository: "cilium/operator", tag: "v1.16.3", digest: DIGEST };
    assert.deepEqual(runResourcePolicy(pinnedImages, valuesRelease(img)), []);
  });

  it("rejects Helm values when the image is { repository, tag: latest }", () => {
    assert.deepEqual(runResourcePolicy(pinnedImages, valuesRelease({ repository: "quay.io/cilium/cilium", tag: "latest" })), [
      "cilium (kubernetes:helm.sh/v3:Release) must pin image quay.io/cilium/cilium:latest at values.image: it uses the floating tag latest.",
    ]);
  });

  it("rejects Helm values when the image is { registry, repository, tag } with a minor-only tag", () => {
    assert.deepEqual(runResourcePolicy(pinnedImages, valuesRelease({ registry: "docker.io", repository: "grafana/loki", tag: "3.1" })), [
      "cilium (kubernetes:helm.sh/v3:Release) must pin image docker.io/grafana/loki:3.1 at values.image: it uses 3.1, which is not a full version (major.minor.patch).",
    ]);
  });

  it("accepts a resource when it has no image at all", () => {
    assert.deepEqual(
      runResourcePolicy(pinnedImages, { type: "kubernetes:core/v1:Namespace", name: "ns", props: { metadata: { name: "x" } } }),
      [],
    );
  });

  it("accepts a Hetzner server when its `image` is an OS image name (ubuntu-24.04-kubedos-0.1.0), not a container image", () => {
    // findImages() treats every string under a key named `image` on any resource as a container
    // image. hcloud:index/server:Server's `image` is the OS image (spec.substrate.hetzner.image,
    // "ubuntu-24.04-kubedos-0.1.0" in test/fixtures/hetzner.yaml), so every Hetzner server is
    // rejected as "uses the floating tag latest", and by image-digests (mandatory in prod).
    const srv: TestResource = {
      type: "hcloud:index/server:Server",
      name: "cp-1",
      props: { name: "cp-1", image: "ubuntu-24.04-kubedos-0.1.0", serverType: "cx32", location: "fsn1" },
    };
    assert.deepEqual(
      { pinnedImages: runResourcePolicy(pinnedImages, srv), imageDigests: runResourcePolicy(imageDigests, srv) },
      { pinnedImages: [], imageDigests: [] },
    );
  });
});

// ---------------------------------------------------------------- image-digests

describe("image-digests", () => {
  it("is advisory by default (prod's policy config makes it mandatory)", () => {
    assert.equal(imageDigests.enforcementLevel, "advisory");
  });

  it("rejects a container when its image is pinned by tag only", () => {
    assert.deepEqual(runResourcePolicy(imageDigests, deployment("nginx:1.27.3")), [
      "web (kubernetes:apps/v1:Deployment) must pin image nginx:1.27.3 at spec.template.spec.containers.0.image by digest (…@sha256:<64 hex>).",
    ]);
  });

  it("rejects Helm values when the image is { repository, tag } without a digest", () => {
    assert.deepEqual(runResourcePolicy(imageDigests, valuesRelease({ repository: "quay.io/cilium/cilium", tag: "v1.16.3" })), [
      "cilium (kubernetes:helm.sh/v3:Release) must pin image quay.io/cilium/cilium:v1.16.3 at values.image by digest (…@sha256:<64 hex>).",
    ]);
  });

  it("accepts a container when its image carries a digest", () => {
    assert.deepEqual(runResourcePolicy(imageDigests, deployment(`nginx@${DIGEST}`)), []);
    assert.deepEqual(runResourcePolicy(imageDigests, deployment(`nginx:1.27.3@${DIGEST}`)), []);
  });

  it("accepts Helm values when the image object carries a digest", () => {
    assert.deepEqual(
      runResourcePolicy(imageDigests, valuesRelease({ repository: "quay.io/cilium/cilium", tag: "v1.16.3", digest: DIGEST })),
      [],
    );
  });
});

// ---------------------------------------------------------------- pinned-packages

const installer = (props: Record<string, unknown>, type = "command:remote:Command"): TestResource => ({
  type,
  name: "pkgs",
  props: { connection: { host: "10.111.0.10", user: "ops", hostKey: "ssh-ed25519 AAAAC3Nza" }, ...props },
});

describe("pinned-packages", () => {
  it("rejects a command when it runs `apt-get install -y curl`", () => {
    assert.deepEqual(runResourcePolicy(pinnedPackages, installer({ create: "apt-get install -y curl" })), [
      "pkgs (command:remote:Command) must pin every package it installs in create: curl (write name=version).",
    ]);
  });

  it("accepts a command when it runs `apt-get install -y curl=7.88.1-10`", () => {
    assert.deepEqual(runResourcePolicy(pinnedPackages, installer({ create: "apt-get install -y curl=7.88.1-10" })), []);
  });

  it("rejects a command listing every unpinned package of the install, in each phase that installs", () => {
    const r = installer({
      create: "apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends curl jq=1.6-2.1 gnupg",
      update: "apt install wireguard-tools",
    });
    assert.deepEqual(runResourcePolicy(pinnedPackages, r), [
      "pkgs (command:remote:Command) must pin every package it installs in create: curl, gnupg (write name=version).",
      "pkgs (command:remote:Command) must pin every package it installs in update: wireguard-tools (write name=version).",
    ]);
  });

  it("rejects a local command as well as a remote one", () => {
    assert.deepEqual(runResourcePolicy(pinnedPackages, installer({ create: "apt-get -y install curl" }, "command:local:Command")), [
      "pkgs (command:local:Command) must pin every package it installs in create: curl (write name=version).",
    ]);
  });

  it("accepts a command when it installs pinned packages, local .deb files and packages named by a variable", () => {
    const r = installer({
      create: "apt-get install -y kubelet=1.30.4-1.1 kubeadm=1.30.4-1.1 ./cri-o_1.30.4_amd64.deb $EXTRA && apt-mark hold kubelet",
    });
    assert.deepEqual(runResourcePolicy(pinnedPackages, r), []);
  });

  it("accepts a resource that is not a command when its properties mention an unpinned install", () => {
    const cm: TestResource = { type: "kubernetes:core/v1:ConfigMap", name: "pkgs", props: { data: { create: "apt-get install -y curl" } } };
    assert.deepEqual(runResourcePolicy(pinnedPackages, cm), []);
    const job: TestResource = { type: "kubernetes:batch/v1:Job", name: "pkgs", props: { create: "apt-get install -y curl" } };
    assert.deepEqual(runResourcePolicy(pinnedPackages, job), []);
  });

  it("rejects an unpinned install when apt-get takes an option with a separate argument (`-o Dpkg::Options::=…`)", () => {
    // unpinnedPackages() only skips options written as one word before `install`; `-o VALUE`
    // stops the match, so curl is installed unpinned without a violation.
    const r = installer({ create: "apt-get -o Dpkg::Options::=--force-confold install -y curl" });
    assert.deepEqual(runResourcePolicy(pinnedPackages, r), [
      "pkgs (command:remote:Command) must pin every package it installs in create: curl (write name=version).",
    ]);
  });

  it("rejects the package, not a backslash, when the install continues on the next line", () => {
    // The install's arguments are cut at the first newline: `\` is reported as a package and
    // curl, on the continuation line, is not checked.
    const r = installer({ create: "apt-get install -y \\\n  curl" });
    assert.deepEqual(runResourcePolicy(pinnedPackages, r), [
      "pkgs (command:remote:Command) must pin every package it installs in create: curl (write name=version).",
    ]);
  });
});
