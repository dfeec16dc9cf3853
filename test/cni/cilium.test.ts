/**
 * The Cilium release (components/cni/cilium.ts) for the dev (Proxmox) and Hetzner reference
 * specs: the API endpoint it is pointed at, native routing over the kubernetes plane, the policy
 * posture and Hubble following the spec, and every image pinned to the locks and pulled through
 * the mirror — as the supply-chain policy pack (findImages) sees them.
 */
import { strict as assert } from "node:assert";
import { ciliumImage, ciliumOperatorImage, ciliumRelease, ciliumRouting } from "../../components/cni/cilium";
import { CHART_LOCKS } from "../../components/supplychain/locks";
import { findImages, imageUnpinnedReason } from "../../components/supplychain/pins";
import { fixHa } from "../plan/helpers";
import { DEV, dropGates, edited, HETZNER, inCidr, planeOf, throughMirror } from "./helpers";

type Values = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const dev = edited(DEV);
const hetzner = edited(HETZNER);
const devValues = (): Values => ciliumRelease(dev.plan, dev.spec).values as Values;
const kubePlane = planeOf(dev.doc, "kubernetes-backend");
const obsPlane = planeOf(dev.doc, "observability");
const lock = CHART_LOCKS.cilium;

/** Host index 1 of a CIDR, computed here (the plan reserves it for the control-plane VIP). */
function firstHost(cidr: string): string {
  const [ip] = cidr.split("/");
  const o = ip.split(".").map(Number);
  return `${o[0]}.${o[1]}.${o[2]}.${o[3] + 1}`;
}

describe("cni/cilium: release", () => {
  it("installs the locked chart into kube-system from the declared chart mirror", () => {
    const r = ciliumRelease(dev.plan, dev.spec);
    assert.equal(r.name, "cilium");
    assert.equal(r.namespace, "kube-system");
    assert.equal(r.chart, lock.chart);
    assert.equal(r.version, lock.version);
    assert.match(r.version, /^1\.17\.\d+$/, "the values below are written for the 1.17 chart");
    assert.equal(r.repository, dev.doc.spec.mirrors.charts);
  });

  it("falls back to the lock's upstream repository when no chart mirror is declared", () => {
    const b = edited(DEV, (d) => delete d.spec.mirrors.charts);
    assert.equal(ciliumRelease(b.plan, b.spec).repository, lock.repository);
  });

  it("uses only value keys of the Cilium 1.17 chart", () => {
    // Top-level keys checked against the chart's values.yaml / cilium-configmap.yaml: a typo here
    // would be silently ignored by Helm and leave the default in place.
    const known = new Set([
      "kubeProxyReplacement",
      "k8sServiceHost",
      "k8sServicePort",
      "routingMode",
      "tunnelProtocol",
      "ipv4NativeRoutingCIDR",
      "autoDirectNodeRoutes",
      "ipam",
      "k8s",
      "devices",
      "nodePort",
      "externalIPs",
      "hostFirewall",
      "bpf",
      "enableIPv4Masquerade",
      "policyEnforcementMode",
      "envoy",
      "image",
      "operator",
      "prometheus",
      "hubble",
    ]);
    for (const k of Object.keys(devValues())) assert.ok(known.has(k), `unknown Cilium value ${k}`);
  });

  it("refuses a cluster without Kubernetes", () => {
    const b = edited(DEV, (d) => {
      d.spec.kubernetes.enabled = false;
      dropGates(d, "k8s-health", "cilium-health", "hubble-flows", "observability-stack");
      d.spec.acceptance.drills = [];
    });
    assert.throws(() => ciliumRelease(b.plan, b.spec), /kubernetes\.enabled is false/);
  });
});

describe("cni/cilium: API server endpoint and kube-proxy replacement", () => {
  it("replaces kube-proxy", () => {
    assert.equal(devValues().kubeProxyReplacement, true);
  });

  it("points the agents at the control-plane VIP on the kubernetes plane (Proxmox)", () => {
    const v = devValues();
    assert.equal(v.k8sServiceHost, firstHost(kubePlane.cidr));
    assert.ok(inCidr(v.k8sServiceHost, kubePlane.cidr), `${v.k8sServiceHost} is inside ${kubePlane.name} ${kubePlane.cidr}`);
    assert.equal(v.k8sServicePort, 6443);
  });

  it("points the agents at the Hetzner load balancer: the plan's address by default, or one passed in", () => {
    const ep = hetzner.plan.controlPlaneEndpoint;
    assert.ok(ep?.kind === "load-balancer" && ep.address);
    assert.equal((ciliumRelease(hetzner.plan, hetzner.spec).values as Values).k8sServiceHost, ep.address);
    // A plan without the address (no private network) must be given one.
    const bare = { ...hetzner.plan, controlPlaneEndpoint: { kind: "load-balancer" as const, port: 6443 } };
    assert.throws(() => ciliumRelease(bare, hetzner.spec), /loadBalancerAddress/);
    const lb = "10.0.0.5";
    const v = ciliumRelease(hetzner.plan, hetzner.spec, { loadBalancerAddress: lb }).values as Values;
    assert.equal(v.k8sServiceHost, lb);
    assert.equal(v.k8sServicePort, 6443);
  });
});

describe("cni/cilium: routing over the kubernetes plane", () => {
  it("routes natively (no tunnel) with the pod subnet as the native routing CIDR", () => {
    const v = devValues();
    assert.equal(v.routingMode, "native");
    assert.equal(v.tunnelProtocol, undefined);
    assert.equal(v.autoDirectNodeRoutes, false, "wg3 is L3: no direct node routes");
    assert.deepEqual(v.ipam, { mode: "kubernetes" });
    assert.equal(v.k8s.requireIPv4PodCIDR, true);
    // Every node's plan-assigned pod CIDR lies inside the native routing CIDR, so pod-to-pod
    // traffic is never masqueraded.
    const cidr: string = v.ipv4NativeRoutingCIDR;
    assert.match(cidr, /^\d+\.\d+\.\d+\.\d+\/\d+$/);
    for (const n of dev.plan.nodes) {
      if (n.podCidr) assert.ok(inCidr(n.podCidr.split("/")[0], cidr), `${n.name} pod CIDR ${n.podCidr} is inside ${cidr}`);
    }
  });

  it("honours an explicit pod subnet and refuses one that overlaps a plane or the underlay", () => {
    const v = ciliumRelease(dev.plan, dev.spec, { podSubnet: "10.250.0.0/16" }).values as Values;
    assert.equal(v.ipv4NativeRoutingCIDR, "10.250.0.0/16");
    assert.throws(() => ciliumRelease(dev.plan, dev.spec, { podSubnet: kubePlane.cidr }), /overlaps plane/);
    assert.throws(() => ciliumRelease(dev.plan, dev.spec, { podSubnet: dev.doc.spec.networking.underlay.cidr }), /overlaps the underlay/);
    assert.throws(() => ciliumRelease(dev.plan, dev.spec, { podSubnet: "10.250.1.0/16" }), /not a network address/);
  });

  it("maps a tunnel to routingMode tunnel with its protocol", () => {
    assert.deepEqual(ciliumRouting("10.244.0.0/16", "geneve"), { routingMode: "tunnel", tunnelProtocol: "geneve" });
    assert.equal(ciliumRouting("10.244.0.0/16").routingMode, "native");
  });

  it("attaches to the kubernetes plane, plus the observability plane only while the stack exposes something there", () => {
    const v = devValues();
    assert.deepEqual(v.devices, [kubePlane.name, obsPlane.name]);
    assert.deepEqual(v.nodePort.addresses, [kubePlane.cidr], "NodePorts stay on the kubernetes plane");
    const off = edited(DEV, (d) => {
      d.spec.kubernetes.observability.enabled = false;
      dropGates(d, "observability-stack");
    });
    assert.deepEqual((ciliumRelease(off.plan, off.spec).values as Values).devices, [kubePlane.name]);
    // The control plane (SSH, operator access) is never a Cilium device.
    const control = planeOf(dev.doc, "control").name;
    assert.ok(!v.devices.includes(control));
  });

  it("masquerades in BPF and leaves host filtering to the nftables baseline", () => {
    const v = devValues();
    assert.equal(v.bpf.masquerade, true);
    assert.equal(v.enableIPv4Masquerade, true);
    assert.equal(v.hostFirewall.enabled, false);
  });
});

describe("cni/cilium: policy posture, Hubble and metrics follow the spec", () => {
  it("enforces policy always under policyDefault deny, and by default under allow", () => {
    assert.equal(dev.doc.spec.kubernetes.cni.policyDefault, "deny");
    assert.equal(devValues().policyEnforcementMode, "always");
    const allow = edited(DEV, (d) => (d.spec.kubernetes.cni.policyDefault = "allow"));
    assert.equal((ciliumRelease(allow.plan, allow.spec).values as Values).policyEnforcementMode, "default");
  });

  it("runs Hubble relay and UI with chart-generated TLS when hubble is on, and none of it when off", () => {
    const on = devValues().hubble;
    assert.equal(on.enabled, true);
    assert.equal(on.relay.enabled, true);
    assert.equal(on.ui.enabled, true);
    assert.deepEqual(on.tls, { enabled: true, auto: { enabled: true, method: "helm" } });
    const b = edited(DEV, (d) => {
      d.spec.kubernetes.cni.hubble = false;
      dropGates(d, "hubble-flows");
    });
    const off = (ciliumRelease(b.plan, b.spec).values as Values).hubble;
    assert.equal(off.enabled, false);
    assert.equal(off.relay.enabled, false);
    assert.equal(off.ui.enabled, false);
    assert.equal(off.relay.image, undefined);
    assert.equal(off.metrics, undefined);
  });

  it("exports agent, operator and Hubble metrics with ServiceMonitors when the stack has Prometheus", () => {
    const v = devValues();
    assert.equal(v.prometheus.enabled, true);
    assert.equal(v.prometheus.serviceMonitor.enabled, true);
    assert.equal(v.prometheus.serviceMonitor.trustCRDsExist, true);
    assert.equal(v.operator.prometheus.enabled, true);
    assert.equal(v.operator.prometheus.serviceMonitor.enabled, true);
    assert.ok(Array.isArray(v.hubble.metrics.enabled) && v.hubble.metrics.enabled.length > 0);
    assert.ok(v.hubble.metrics.enabled.includes("flow") && v.hubble.metrics.enabled.includes("drop"));
    assert.equal(v.hubble.metrics.serviceMonitor.enabled, true);

    const early = ciliumRelease(dev.plan, dev.spec, { serviceMonitors: false }).values as Values;
    assert.equal(early.prometheus.enabled, true, "metrics stay on");
    assert.equal(early.prometheus.serviceMonitor.enabled, false);
    assert.equal(early.hubble.metrics.serviceMonitor.enabled, false);

    const noProm = edited(DEV, (d) => (d.spec.kubernetes.observability.stack.prometheus = false));
    const n = ciliumRelease(noProm.plan, noProm.spec).values as Values;
    assert.equal(n.prometheus.enabled, false);
    assert.equal(n.operator.prometheus.enabled, false);
    assert.equal(n.hubble.metrics, undefined);
  });

  it("runs two operators, or one when there is a single node", () => {
    assert.ok(dev.plan.nodes.length >= 2);
    assert.equal(devValues().operator.replicas, 2);
    const single = edited(DEV, (d) => {
      d.spec.nodes.inventory = d.spec.nodes.inventory.filter((n: { role: string }) => n.role === "control-plane").slice(0, 1);
      fixHa(d);
    });
    assert.equal(single.plan.nodes.length, 1);
    assert.equal((ciliumRelease(single.plan, single.spec).values as Values).operator.replicas, 1);
  });
});

describe("cni/cilium: images", () => {
  const mirror: string = dev.doc.spec.mirrors.registry;
  const expected = (m: string | undefined) =>
    Object.values(lock.images).map((img) => ({ repository: throughMirror(img.repository, m), tag: img.tag }));

  it("writes every locked image where the policy pack finds it, pinned and through the mirror", () => {
    const found = findImages(devValues());
    assert.equal(found.length, Object.keys(lock.images).length, found.map((f) => f.path).join(", "));
    for (const { path, image } of found) {
      assert.ok(image.repository.startsWith(`${mirror}/`), `${path}: ${image.ref} is pulled through ${mirror}`);
      assert.equal(imageUnpinnedReason(image), undefined, `${path}: ${image.ref} is pinned`);
      const want = expected(mirror).find((e) => e.repository === image.repository);
      assert.ok(want, `${path}: ${image.repository} is a locked image`);
      assert.equal(image.tag, want.tag, `${path}: exact locked tag`);
    }
    for (const e of expected(mirror)) {
      assert.ok(
        found.some((f) => f.image.repository === e.repository),
        `${e.repository} appears in the values`,
      );
    }
  });

  it("names the exact operator image despite the chart's -<cloud> suffix", () => {
    const op = devValues().operator.image;
    const want = throughMirror(lock.images.operator.repository, mirror);
    assert.equal(op.override, `${want}:${lock.images.operator.tag}`);
    assert.doesNotMatch(op.override, /generic-generic/);
  });

  it("pulls from the upstream registries when no registry mirror is declared", () => {
    const b = edited(DEV, (d) => delete d.spec.mirrors.registry);
    const found = findImages(ciliumRelease(b.plan, b.spec).values);
    const upstream = expected(undefined);
    for (const { image } of found) {
      assert.ok(
        upstream.some((e) => e.repository === image.repository && e.tag === image.tag),
        `${image.ref} is a lock's upstream reference`,
      );
    }
  });

  it("pins by digest once the lock has one", () => {
    const digest = `sha256:${"ab".repeat(32)}`;
    const agent = ciliumImage({ repository: "quay.io/cilium/cilium", tag: "v1.17.6", digest }, "mirror.example:5000");
    assert.deepEqual(
      { repository: agent.repository, tag: agent.tag, digest: agent.digest, useDigest: agent.useDigest },
      { repository: "mirror.example:5000/cilium/cilium", tag: "v1.17.6", digest, useDigest: true },
    );
    const [seen] = findImages({ image: agent });
    assert.equal(seen.image.digest, digest);
    const op = ciliumOperatorImage({ repository: "quay.io/cilium/operator-generic", tag: "v1.17.6", digest }, "mirror.example:5000");
    assert.equal(op.override, `mirror.example:5000/cilium/operator-generic:v1.17.6@${digest}`);
    assert.equal(findImages({ operator: { image: op } })[0].image.digest, digest);
    assert.equal(ciliumImage({ repository: "quay.io/cilium/cilium", tag: "v1.17.6" }).useDigest, false);
  });
});
