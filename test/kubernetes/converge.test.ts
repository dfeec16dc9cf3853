/**
 * The Stage 5 converge script (components/kubernetes/converge.ts) for the dev, prod and Hetzner
 * plans: it passes `bash -n` and shellcheck, installs exactly the locked packages (and nothing
 * the pinned-packages check would call loose), sets the sysctls the kubelet's
 * protectKernelDefaults demands, serves the control-plane VIP on every node from HAProxy with
 * every API server as a backend, and routes image pulls to the declared mirror.
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  convergePackages,
  KUBERNETES_SYSCTLS,
  renderApiLoadBalancer,
  renderContainerdConfig,
  renderConvergeScript,
} from "../../components/kubernetes/converge";
import { KUBELET_REQUIRED_SYSCTLS } from "../../components/kubernetes/kubeadm";
import { buildPlan, type Plan } from "../../components/plan/plan";
import { validateSpecText } from "../../components/spec/validate";
import { unpinnedPackages } from "../../components/supplychain/pins";
import { NODE_PACKAGES, resolveKubernetes } from "../../components/supplychain/locks";
import { requireTool, run } from "../support/tools";
import { DEV, PROD, HETZNER } from "../plan/helpers";

function planOf(text: string): { plan: Plan; version: string } {
  const r = validateSpecText(text, "spec.yaml");
  assert.ok(r.valid && r.spec, r.errors.map((e) => e.message).join("\n"));
  return { plan: buildPlan(r.spec), version: r.spec.spec.kubernetes.version };
}

const CASES = { dev: planOf(DEV), prod: planOf(PROD), hetzner: planOf(HETZNER) };

describe("kubernetes: converge script (Stage 5)", () => {
  for (const [label, { plan, version }] of Object.entries(CASES)) {
    const lock = resolveKubernetes(version);
    const node = plan.nodes[0];
    const script = renderConvergeScript({ plan, node, kubernetes: lock });

    describe(label, () => {
      it("passes bash -n and shellcheck without a finding", async function () {
        const bash = requireTool(this, "bash");
        const sc = requireTool(this, "shellcheck");
        const dir = mkdtempSync(path.join(os.tmpdir(), "kubedos-converge-"));
        const file = path.join(dir, "converge.sh");
        writeFileSync(file, script);
        const syntax = await run(bash, ["-n", file]);
        assert.equal(syntax.code, 0, syntax.stderr);
        const res = await run(sc, ["--shell=bash", "--severity=style", "--format=gcc", file]);
        assert.equal(res.code, 0, res.stdout + res.stderr);
      });

      it(`installs exactly the locked packages of Kubernetes ${lock.version}, every one pinned and held`, () => {
        assert.deepEqual(unpinnedPackages(script), []);
        const install = script.split("\n").find((l) => l.includes("apt-get install"))!;
        const pins = [...install.matchAll(/(\S+)=(\S+)/g)].map((m) => [m[1], m[2]]);
        assert.deepEqual(pins, convergePackages(plan, lock, node));
        assert.ok(pins.some(([n, v]) => n === "kubeadm" && v === lock.packages.kubeadm));
        assert.ok(pins.some(([n, v]) => n === "containerd.io" && v === NODE_PACKAGES["containerd.io"]));
        assert.match(script, new RegExp(`apt-mark hold ${pins.map(([n]) => n.replace(/\./g, "\\.")).join(" ")}`));
        // A version mismatch after install is a failure, not a warning.
        for (const [n, v] of pins) assert.ok(script.includes(`pkg_ok '${n}' '${v}' || fail 12`), `${n} is verified after install`);
      });

      it("sets forwarding and every sysctl the kubelet's protectKernelDefaults requires, then verifies them", () => {
        for (const [k, v] of [...KUBELET_REQUIRED_SYSCTLS, ["net.ipv4.ip_forward", "1"] as const]) {
          assert.ok(script.includes(`${k} = ${v}\n`), `${k} = ${v}`);
        }
        assert.match(script, /sysctl -n "\$key"/);
      });

      it("never resets, wipes or repartitions anything", () => {
        assert.doesNotMatch(script, /kubeadm reset|wipefs|sgdisk|mkfs|parted|dd if=/);
      });
    });
  }

  it("every converge sysctl exists in this kernel (after loading br_netfilter where the kernel has it)", function () {
    for (const [key] of KUBERNETES_SYSCTLS) {
      const file = path.join("/proc/sys", ...key.split("."));
      if (key.startsWith("net.bridge.") && !existsSync("/proc/sys/net/bridge")) continue; // module not loaded here
      assert.ok(existsSync(file), `${key} does not exist under /proc/sys`);
    }
  });

  it("dev (VIP on wg3): every node serves the VIP from HAProxy with each API server on wg3 as a backend", () => {
    const { plan } = CASES.dev;
    const ep = plan.controlPlaneEndpoint!;
    assert.equal(ep.kind, "vip");
    const cfg = renderApiLoadBalancer(plan)!;
    const wg3 = plan.planes.find((p) => p.purpose === "kubernetes-backend")!.name;
    assert.match(cfg, new RegExp(`bind ${ep.kind === "vip" ? ep.address.replace(/\./g, "\\.") : ""}:6443`));
    const backends = [...cfg.matchAll(/server (\S+) (\S+):6443 check/g)].map((m) => [m[1], m[2]]);
    const cps = plan.nodes.filter((n) => n.role === "control-plane");
    assert.equal(backends.length, cps.length);
    for (const cp of cps)
      assert.ok(
        backends.some(([n, a]) => n === cp.name && a === cp.addresses[wg3]),
        cp.name,
      );
    for (const n of plan.nodes) {
      const s = renderConvergeScript({ plan, node: n, kubernetes: resolveKubernetes("v1.32.x") });
      assert.ok(s.includes(`ip address replace ${ep.kind === "vip" ? ep.address : ""}/32 dev lo`), `${n.name} holds the VIP`);
    }
  });

  it("hetzner (load balancer): control planes bridge the uplink to their own wg3 API server and report its health; workers run no HAProxy", () => {
    const { plan, version } = CASES.hetzner;
    const lock = resolveKubernetes(version);
    const wg3 = plan.planes.find((p) => p.purpose === "kubernetes-backend")!.name;
    for (const n of plan.nodes) {
      const cfg = renderApiLoadBalancer(plan, n);
      const hasHaproxy = convergePackages(plan, lock, n).some(([p]) => p === "haproxy");
      if (n.role === "worker") {
        assert.equal(cfg, undefined, n.name);
        assert.equal(hasHaproxy, false, n.name);
        continue;
      }
      assert.ok(hasHaproxy, n.name);
      assert.ok(cfg!.includes(`bind ${n.uplink!.address}:6443`), `${n.name} listens on its uplink`);
      assert.ok(cfg!.includes(`bind ${n.uplink!.address}:6444`), `${n.name} answers the health check`);
      const servers = [...cfg!.matchAll(/server (\S+) (\S+):6443 check/g)].map((m) => [m[1], m[2]]);
      assert.deepEqual(servers, [[n.name, n.addresses[wg3]]], "only this node's own API server, on wg3");
    }
  });

  it("every HAProxy configuration (dev VIP, Hetzner target) passes `haproxy -c`", async function () {
    const haproxy = requireTool(this, "haproxy");
    const dir = mkdtempSync(path.join(os.tmpdir(), "kubedos-haproxy-"));
    for (const [label, { plan }] of Object.entries(CASES)) {
      for (const n of plan.nodes) {
        const cfg = renderApiLoadBalancer(plan, n);
        if (!cfg) continue;
        const file = path.join(dir, `${label}-${n.name}.cfg`);
        writeFileSync(file, cfg);
        const res = await run(haproxy, ["-c", "-f", file]);
        assert.equal(res.code, 0, `${label}/${n.name}: ${res.stdout}${res.stderr}`);
      }
    }
  });

  it("containerd pulls the pause image and every registry through the declared mirror", () => {
    const { plan, version } = CASES.dev;
    const lock = resolveKubernetes(version);
    const mirror = plan.mirrors.registry!;
    assert.ok(renderContainerdConfig(plan, lock).includes(`sandbox_image = "${mirror}/pause:${lock.images.pause.tag}"`));
    assert.ok(renderContainerdConfig(plan, lock).includes("SystemdCgroup = true"));
    const script = renderConvergeScript({ plan, node: plan.nodes[0], kubernetes: lock });
    for (const reg of ["registry.k8s.io", "quay.io", "docker.io"]) {
      assert.ok(script.includes(`/etc/containerd/certs.d/${reg}/hosts.toml`), reg);
    }
    assert.ok(script.includes(`[host."https://${mirror}"]`));
  });
});
