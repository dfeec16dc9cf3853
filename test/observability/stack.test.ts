/**
 * The observability releases (components/observability/stack.ts) for the dev (Proxmox) and
 * Hetzner reference specs: which releases exist follows the spec's stack booleans; everything
 * they expose is on the bind plane (wg2) and nowhere else; no credential is in the values; every
 * image is pinned to the locks and pulled through the mirror, as the policy pack sees it.
 */
import { strict as assert } from "node:assert";
import { ciliumRelease } from "../../components/cni/cilium";
import type { ChartRelease } from "../../components/cni/release";
import { chartImage, observabilityReleases } from "../../components/observability/stack";
import { CHART_LOCKS, type ChartLock } from "../../components/supplychain/locks";
import { findImages, imageUnpinnedReason } from "../../components/supplychain/pins";
import { DEV, dropGates, edited, HETZNER, inCidr, IPV4, leaves, objectsWith, planeOf, throughMirror, type Built } from "../cni/helpers";

type Values = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const dev = edited(DEV);
const hetzner = edited(HETZNER);
const LOCK_OF: Record<string, ChartLock> = {
  "kube-prometheus-stack": CHART_LOCKS["kube-prometheus-stack"],
  grafana: CHART_LOCKS.grafana,
  loki: CHART_LOCKS.loki,
};

const byName = (rs: ChartRelease[], name: string): Values => {
  const r = rs.find((x) => x.name === name);
  assert.ok(r, `release ${name} is rendered`);
  return r.values as Values;
};

/** The bind plane's address of every control-plane node, read from the plan (the renderer's input). */
function controlPlaneAddresses(b: Built): string[] {
  const plane = b.doc.spec.kubernetes.observability.bindPlane;
  return b.plan.nodes
    .filter((n) => n.role === "control-plane")
    .map((n) => n.addresses[plane])
    .sort();
}

describe("observability: releases follow the stack booleans", () => {
  it("renders kube-prometheus-stack, grafana and loki in `observability` from the locks and the chart mirror", () => {
    const rs = observabilityReleases(dev.plan, dev.spec);
    assert.deepEqual(
      rs.map((r) => r.name),
      ["kube-prometheus-stack", "grafana", "loki"],
    );
    for (const r of rs) {
      assert.equal(r.namespace, "observability");
      assert.equal(r.chart, LOCK_OF[r.name].chart);
      assert.equal(r.version, LOCK_OF[r.name].version);
      assert.equal(r.repository, dev.doc.spec.mirrors.charts);
    }
  });

  it("drops Loki (and its Grafana datasource) when loki is turned off", () => {
    const b = edited(DEV, (d) => (d.spec.kubernetes.observability.stack.loki = false));
    const rs = observabilityReleases(b.plan, b.spec);
    assert.deepEqual(
      rs.map((r) => r.name),
      ["kube-prometheus-stack", "grafana"],
    );
    const ds = byName(rs, "grafana").datasources["datasources.yaml"].datasources;
    assert.deepEqual(
      ds.map((d: { type: string }) => d.type),
      ["prometheus"],
    );
  });

  it("keeps Grafana on Loki alone when Prometheus is off", () => {
    const b = edited(DEV, (d) => (d.spec.kubernetes.observability.stack.prometheus = false));
    const rs = observabilityReleases(b.plan, b.spec);
    assert.deepEqual(
      rs.map((r) => r.name),
      ["grafana", "loki"],
    );
    const ds = byName(rs, "grafana").datasources["datasources.yaml"].datasources;
    assert.deepEqual(
      ds.map((d: { type: string; isDefault: boolean }) => [d.type, d.isDefault]),
      [["loki", true]],
    );
  });

  it("renders nothing when observability is disabled", () => {
    const b = edited(DEV, (d) => {
      d.spec.kubernetes.observability.enabled = false;
      dropGates(d, "observability-stack");
    });
    assert.deepEqual(observabilityReleases(b.plan, b.spec), []);
  });

  it("uses the lock's upstream chart repositories without a chart mirror", () => {
    const b = edited(DEV, (d) => delete d.spec.mirrors.charts);
    for (const r of observabilityReleases(b.plan, b.spec)) assert.equal(r.repository, LOCK_OF[r.name].repository);
  });
});

describe("observability: bound to the observability plane and nowhere else", () => {
  for (const [label, b] of [
    ["dev", dev],
    ["hetzner", hetzner],
  ] as const) {
    it(`${label}: every address in the values is a control-plane node's address on ${b.doc.spec.kubernetes.observability.bindPlane}`, () => {
      const plane = planeOf(b.doc, "observability");
      assert.equal(plane.name, b.doc.spec.kubernetes.observability.bindPlane);
      const want = controlPlaneAddresses(b);
      assert.ok(want.length >= 1);
      for (const r of observabilityReleases(b.plan, b.spec)) {
        const ips = leaves(r.values).filter((l) => typeof l.value === "string" && IPV4.test(l.value));
        assert.ok(ips.length > 0, `${r.name} exposes something`);
        for (const { path, value } of ips) {
          assert.ok(inCidr(value as string, plane.cidr), `${r.name} ${path.join(".")} = ${value} is inside ${plane.name} ${plane.cidr}`);
        }
        const exposed = objectsWith(r.values, "externalIPs");
        assert.ok(exposed.length >= 1, `${r.name} has a plane-facing Service`);
        for (const { path, obj } of exposed) {
          assert.deepEqual([...(obj.externalIPs as string[])].sort(), want, `${r.name} ${path.join(".")}.externalIPs`);
        }
      }
    });
  }

  it("exposes Prometheus on 9090, Grafana on 3000 and Loki on 3100 — the ports the spec lets onto the plane", () => {
    const rs = observabilityReleases(dev.plan, dev.spec);
    const exposedPorts: Record<string, number[]> = {};
    for (const r of rs) {
      exposedPorts[r.name] = objectsWith(r.values, "externalIPs").flatMap(({ obj }) =>
        typeof obj.port === "number" ? [obj.port] : (obj.ports as Array<{ port: number }>).map((p) => p.port),
      );
    }
    assert.deepEqual(exposedPorts, { "kube-prometheus-stack": [9090], grafana: [3000], loki: [3100] });
    // The dev spec's inter-plane policy names exactly these ports into the bind plane.
    const bind = dev.doc.spec.kubernetes.observability.bindPlane;
    const allowed = new Set(
      dev.doc.spec.networking.policy.allow
        .filter((a: { to: string }) => a.to === bind)
        .flatMap((a: { ports: string[] }) => a.ports.map((p) => Number(p.split("/")[0]))),
    );
    for (const p of Object.values(exposedPorts).flat()) assert.ok(allowed.has(p), `port ${p} is allowed onto ${bind}`);
  });

  it("publishes no NodePort, LoadBalancer or host-network endpoint", () => {
    for (const r of observabilityReleases(dev.plan, dev.spec)) {
      for (const { path, value } of leaves(r.values)) {
        const key = path[path.length - 1];
        if (key === "type") assert.ok(value !== "NodePort" && value !== "LoadBalancer", `${r.name} ${path.join(".")} = ${value}`);
        if (key === "hostNetwork") assert.notEqual(value, true, `${r.name} ${path.join(".")}`);
        assert.ok(!["nodePort", "loadBalancerIP"].includes(key), `${r.name} sets ${path.join(".")}`);
      }
    }
  });

  it("has Cilium attached to the bind plane, so the externalIPs are answered there", () => {
    const devices = (ciliumRelease(dev.plan, dev.spec).values as Values).devices as string[];
    assert.ok(devices.includes(dev.doc.spec.kubernetes.observability.bindPlane));
  });

  it("binds node-exporter to the node address instead of every interface", () => {
    const kps = byName(observabilityReleases(dev.plan, dev.spec), "kube-prometheus-stack");
    assert.equal(kps["prometheus-node-exporter"].service.listenOnAllInterfaces, false);
  });
});

describe("observability: no secret material", () => {
  const SECRETISH = /(password|passwd|secret|token|apikey|api_key|credential|privatekey|private_key)/i;

  it("takes Grafana's admin credentials from an existing Secret, never from the values", () => {
    const grafana = byName(observabilityReleases(dev.plan, dev.spec), "grafana");
    assert.equal(grafana.admin.existingSecret, "grafana-admin");
    assert.equal(grafana.adminPassword, undefined);
    const custom = byName(observabilityReleases(dev.plan, dev.spec, { grafanaAdminSecret: "dev-lab-grafana" }), "grafana");
    assert.equal(custom.admin.existingSecret, "dev-lab-grafana");
  });

  it("carries no credential-like value anywhere (only the Secret's name and key names)", () => {
    const allowed = new Set(["admin.existingSecret", "admin.userKey", "admin.passwordKey"]);
    for (const r of observabilityReleases(dev.plan, dev.spec)) {
      for (const { path, value } of leaves(r.values)) {
        const p = path.join(".");
        if (path.some((k) => SECRETISH.test(k)) && typeof value === "string" && value !== "") {
          assert.ok(r.name === "grafana" && allowed.has(p), `${r.name} ${p} looks like secret material`);
        }
      }
      // Nothing from the spec's security section leaks into the values either.
      const text = JSON.stringify(r.values);
      assert.ok(!text.includes(dev.doc.spec.security.bootstrap.caFingerprint));
      for (const k of dev.doc.spec.security.ssh.authorizedKeys) assert.ok(!text.includes(k.split(" ")[1]));
    }
  });
});

describe("observability: what each component does", () => {
  const rs = observabilityReleases(dev.plan, dev.spec);

  it("Prometheus scrapes every ServiceMonitor in the cluster (Cilium's and Hubble's in kube-system), kubelets and node-exporter", () => {
    const kps = byName(rs, "kube-prometheus-stack");
    const spec = kps.prometheus.prometheusSpec;
    assert.equal(spec.serviceMonitorSelectorNilUsesHelmValues, false);
    assert.equal(spec.podMonitorSelectorNilUsesHelmValues, false);
    assert.notEqual(kps.kubelet?.enabled, false);
    assert.notEqual(kps.nodeExporter?.enabled, false);
    assert.match(spec.retention, /^\d+[dhwy]$/);
    assert.equal(spec.externalLabels.cluster, dev.doc.metadata.name);
    // ...and Cilium creates those monitors for the same spec.
    const cilium = ciliumRelease(dev.plan, dev.spec).values as Values;
    assert.equal(cilium.prometheus.serviceMonitor.enabled, true);
    assert.equal(cilium.hubble.metrics.serviceMonitor.enabled, true);
    // Components kubeadm binds to loopback are not scraped (they would only be TargetDown).
    for (const c of ["kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"]) assert.equal(kps[c].enabled, false, c);
  });

  it("Grafana has Prometheus and Loki pre-provisioned, at their in-cluster services", () => {
    const ds = byName(rs, "grafana").datasources["datasources.yaml"].datasources as Array<Values>;
    const url = (t: string) => new URL(ds.find((d) => d.type === t)!.url);
    assert.equal(url("prometheus").port, "9090");
    assert.match(url("prometheus").hostname, /\.observability\.svc$/);
    assert.equal(url("loki").port, "3100");
    assert.match(url("loki").hostname, /^loki\.observability\.svc$/);
    assert.equal(ds.filter((d) => d.isDefault).length, 1);
  });

  it("Loki runs as one binary on filesystem storage with retention", () => {
    const loki = byName(rs, "loki");
    assert.equal(loki.deploymentMode, "SingleBinary");
    assert.equal(loki.singleBinary.replicas, 1);
    for (const t of ["read", "write", "backend"]) assert.equal(loki[t].replicas, 0, t);
    assert.equal(loki.loki.storage.type, "filesystem");
    assert.ok(loki.loki.schemaConfig.configs.every((c: Values) => c.object_store === "filesystem"));
    assert.match(loki.loki.limits_config.retention_period, /^\d+h$/);
    assert.equal(loki.loki.compactor.retention_enabled, true);
    assert.equal(loki.loki.commonConfig.replication_factor, 1);
  });

  it("keeps data on a StorageClass when one is given, else on size-limited emptyDir", () => {
    const eph = observabilityReleases(dev.plan, dev.spec);
    assert.ok(byName(eph, "kube-prometheus-stack").prometheus.prometheusSpec.storageSpec.emptyDir.sizeLimit);
    assert.equal(byName(eph, "loki").singleBinary.persistence.enabled, false);
    const pv = observabilityReleases(dev.plan, dev.spec, { storageClass: "local-zfs" });
    assert.equal(
      byName(pv, "kube-prometheus-stack").prometheus.prometheusSpec.storageSpec.volumeClaimTemplate.spec.storageClassName,
      "local-zfs",
    );
    assert.deepEqual(
      [byName(pv, "loki").singleBinary.persistence.enabled, byName(pv, "loki").singleBinary.persistence.storageClass],
      [true, "local-zfs"],
    );
  });
});

describe("observability: images", () => {
  const mirror: string = dev.doc.spec.mirrors.registry;

  function checkImages(b: Built, m: string | undefined): void {
    for (const r of observabilityReleases(b.plan, b.spec)) {
      const want = Object.values(LOCK_OF[r.name].images).map((img) => ({ repository: throughMirror(img.repository, m), tag: img.tag }));
      const found = findImages(r.values);
      for (const { path, image } of found) {
        if (m) assert.ok(image.repository.startsWith(`${m}/`), `${r.name} ${path}: ${image.ref} is pulled through ${m}`);
        assert.equal(imageUnpinnedReason(image), undefined, `${r.name} ${path}: ${image.ref} is pinned`);
        const lock = want.find((w) => w.repository === image.repository);
        assert.ok(lock, `${r.name} ${path}: ${image.repository} is a locked image`);
        assert.equal(image.tag, lock.tag, `${r.name} ${path}: exact locked tag`);
      }
      for (const w of want)
        assert.ok(
          found.some((f) => f.image.repository === w.repository),
          `${r.name}: ${w.repository} is in the values`,
        );
    }
  }

  it("writes every locked image, pinned, through the registry mirror", () => checkImages(dev, mirror));
  it("and through Hetzner's mirror", () => checkImages(hetzner, hetzner.doc.spec.mirrors.registry));
  it("and from the upstream registries when no mirror is declared", () =>
    checkImages(
      edited(DEV, (d) => delete d.spec.mirrors.registry),
      undefined,
    ));

  it("spells a locked digest the way each chart reads it, and as `digest` for the policy pack", () => {
    const hex = "cd".repeat(32);
    const lock = { repository: "quay.io/prometheus/prometheus", tag: "v3.5.0", digest: `sha256:${hex}` };
    const kps = chartImage(lock, "mirror.example:5000", "sha-hex");
    assert.deepEqual(
      [kps.registry, kps.repository, kps.tag, kps.sha, kps.digest],
      ["mirror.example:5000", "prometheus/prometheus", "v3.5.0", hex, lock.digest],
    );
    assert.equal(chartImage(lock, undefined, "sha").sha, lock.digest);
    assert.equal(chartImage(lock, undefined, "digest").sha, undefined);
    const [seen] = findImages({ image: kps });
    assert.equal(seen.image.ref, `mirror.example:5000/prometheus/prometheus:v3.5.0@${lock.digest}`);
  });
});
