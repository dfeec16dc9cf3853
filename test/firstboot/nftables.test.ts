/**
 * nftables.conf (components/firstboot/nftables.ts): default deny inbound on every non-plane
 * interface, nothing forwarded, SSH only from allowFrom, every plane port open to WireGuard from
 * the underlay (seed 001 §7.4, §10.3). Checked by parsing the rendered ruleset. The inter-plane
 * policy itself is tested in test/backplane/nftables.test.ts.
 */
import { strict as assert } from "node:assert";
import { renderNftables } from "../../components/firstboot";
import type { Plan } from "../../components/plan/plan";
import { artifact, devBare, nodeOf, PLANS, render, renderAll } from "./helpers";

/** Elements of a named set, as written. */
function setElements(text: string, name: string): string[] | undefined {
  const m = new RegExp(`\\n\\tset ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(text);
  if (!m) return undefined;
  const e = /elements = \{ ([^}]*) \}/.exec(m[1]);
  assert.ok(e, `set ${name} has no elements line`);
  return e[1].split(", ").map((s) => s.replace(/^"|"$/g, ""));
}

/** The rule lines of a chain (comments and blank lines dropped). */
function chain(text: string, name: string): string[] {
  const m = new RegExp(`\\n\\tchain ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(text);
  assert.ok(m, `no chain ${name}`);
  return m[1]
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

const withSsh = (plan: Plan, ssh: Partial<Plan["ssh"]>): Plan => ({ ...plan, ssh: { ...plan.ssh, ...ssh } });

describe("firstboot nftables", () => {
  const all = renderAll();

  for (const r of all) {
    it(`renders default-deny input and forward chains when the node is ${r.label}`, () => {
      const text = artifact(r, "nftables.nft");
      assert.match(text, /^#!\/usr\/sbin\/nft -f\n/);
      // table-scoped reload: declare, delete and redefine table inet kubedos; other tables are left alone
      assert.doesNotMatch(text, /flush ruleset/);
      assert.match(text, /\ntable inet kubedos\ndelete table inet kubedos\n\ntable inet kubedos \{\n/);
      assert.equal((text.match(/^table /gm) ?? []).length, 2, "one table, declared then defined");
      const input = chain(text, "input");
      assert.equal(input[0], "type filter hook input priority filter; policy drop;");
      assert.equal(chain(text, "forward")[0], "type filter hook forward priority filter; policy drop;");
      assert.equal(chain(text, "output")[0], "type filter hook output priority filter; policy accept;");
      // Forward accepts only pod traffic (Kubernetes enabled; inert until Stage 5 turns forwarding
      // on) — nothing when the plan has no pod network.
      const pods = r.plan.podNetwork?.podSubnet;
      for (const l of chain(text, "forward")
        .slice(1)
        .filter((x) => /\baccept\b/.test(x))) {
        assert.ok(pods && l.includes(`addr ${pods}`), `forward accepts non-pod traffic: ${l}`);
      }
      assert.ok(input.includes('ct state established,related accept comment "replies to traffic this node started"'));
      assert.ok(input.some((l) => /^ct state invalid .*drop/.test(l)));
      assert.match(input[input.length - 1], /^counter name "input_drop" drop/);
      assert.match(input[input.length - 2], /limit rate .* log prefix "kubedos input drop: "/);
    });

    it(`renders every plane's interface and WireGuard port when the node is ${r.label}`, () => {
      const text = artifact(r, "nftables.nft");
      assert.deepEqual(
        setElements(text, "plane_ifaces"),
        r.plan.planes.map((p) => p.name),
      );
      assert.deepEqual(
        setElements(text, "wireguard_ports"),
        r.plan.planes.map((p) => String(p.port)).sort((a, b) => Number(a) - Number(b)),
      );
      const input = chain(text, "input");
      assert.ok(input.includes('iifname @plane_ifaces jump planes comment "WireGuard planes"'));
      // the uplink is never named: the only interface names are lo, the planes and (forward
      // chain, pod traffic only) Cilium's interfaces
      const cilium = ["lxc*", "cilium_host", "cilium_net"];
      const named = [...text.matchAll(/\b[io]ifname (?:!= )?(?:"([^"]+)"|\{ ([^}]+) \})/g)].flatMap((m) =>
        m[1] !== undefined ? [m[1]] : m[2].split(",").map((x) => x.trim().replace(/"/g, "")),
      );
      assert.deepEqual(
        [...new Set(named)].filter(
          (n) => n !== "lo" && !r.plan.planes.some((p) => p.name === n) && !(r.plan.podNetwork && cilium.includes(n)),
        ),
        [],
      );
      // planes chain: this node's own address on each plane, on the interface of that plane only
      const planes = chain(text, "planes");
      for (const p of r.plan.planes) {
        assert.ok(
          planes.some((l) => l.startsWith(`iifname "${p.name}" ip daddr ${r.node.addresses[p.name]} accept`)),
          `planes chain accepts ${p.name} traffic for ${r.node.addresses[p.name]}`,
        );
      }
      // every destination the planes chain names is this node's own (or, on a control plane, the API VIP)
      const own = new Set(Object.values(r.node.addresses));
      const vip =
        r.plan.controlPlaneEndpoint?.kind === "vip" && r.node.role === "control-plane" ? r.plan.controlPlaneEndpoint.address : undefined;
      for (const l of planes) {
        const d = /\bip daddr ([\d.]+)/.exec(l);
        if (d) assert.ok(own.has(d[1]) || d[1] === vip, `planes rule for a foreign address: ${l}`);
        if (/ accept( comment |$)/.test(l) && d)
          assert.match(l, /^iifname "\w+" ip daddr /, "every accept names the interface it arrived on");
      }
      assert.deepEqual(
        setElements(text, "own_addresses"),
        r.plan.planes.map((p) => r.node.addresses[p.name]),
      );
    });

    it(`renders SSH only from allowFrom on the uplink when the node is ${r.label}`, () => {
      const text = artifact(r, "nftables.nft");
      const port = r.node.placement.sshPort ?? 22;
      const input = chain(text, "input");
      const sshRules = input.filter((l) => new RegExp(`\\btcp dport ${port}\\b`).test(l));
      const control = r.plan.planes.find((p) => p.purpose === "control")!;
      const planeSsh = chain(text, "planes").filter((l) => l.includes(` tcp dport ${port} `));
      assert.deepEqual(planeSsh, [
        `iifname "${control.name}" ip daddr ${r.node.addresses[control.name]} tcp dport ${port} accept comment "SSH over the control plane ${control.name}"`,
      ]);
      if (r.plan.ssh.allowFrom.length === 0) {
        assert.deepEqual(sshRules, [], "no SSH rule on the uplink without allowFrom");
        assert.equal(setElements(text, "ssh_sources"), undefined);
      } else {
        assert.deepEqual(sshRules, [`tcp dport ${port} ip saddr @ssh_sources accept comment "SSH from ssh.allowFrom"`]);
        assert.deepEqual(setElements(text, "ssh_sources")?.sort(), [...r.plan.ssh.allowFrom].sort());
      }
      assert.doesNotMatch(text, /0\.0\.0\.0\/0/);
    });
  }

  it("admits the Hetzner load balancer (and only it) on the API and health ports of control planes; workers and Proxmox nodes never", () => {
    for (const r of all) {
      const input = chain(artifact(r, "nftables.nft"), "input");
      const lb = input.filter((l) => /tcp dport \{ 6443, 6444 \}/.test(l));
      const ep = r.plan.controlPlaneEndpoint;
      if (ep?.kind === "load-balancer" && r.node.role === "control-plane") {
        assert.deepEqual(lb.length, 1, r.label);
        assert.ok(lb[0].startsWith(`tcp dport { 6443, 6444 } ip saddr ${ep.address} accept`), lb[0]);
      } else assert.deepEqual(lb, [], r.label);
    }
    assert.ok(
      all.some((r) => r.plan.controlPlaneEndpoint?.kind === "load-balancer" && r.node.role === "control-plane"),
      "a Hetzner control plane is rendered",
    );
  });

  it("renders both uplink SSH branches when the render set is built (with and without allowFrom)", () => {
    const labels = all.map((r) => r.plan.ssh.allowFrom.length > 0);
    assert.ok(labels.includes(true) && labels.includes(false));
  });

  it("renders WireGuard from the underlay CIDR when an underlay is declared (Proxmox, Hetzner)", () => {
    assert.deepEqual(setElements(artifact(render(PLANS.dev, "w-1"), "nftables.nft"), "wireguard_sources"), ["10.10.110.0/24"]);
    assert.deepEqual(setElements(artifact(render(PLANS.hetzner, "cp-2"), "nftables.nft"), "wireguard_sources"), ["10.0.0.0/16"]);
    assert.match(
      artifact(render(PLANS.dev, "w-1"), "nftables.nft"),
      /\n\t\tudp dport @wireguard_ports ip saddr @wireguard_sources accept /,
    );
  });

  it("renders WireGuard from every node's uplink address when bare metal declares no underlay", () => {
    const text = artifact(render(PLANS.baremetal, "w-2"), "nftables.nft");
    assert.deepEqual(setElements(text, "wireguard_sources"), [
      "192.168.10.11",
      "192.168.10.12",
      "192.168.10.13",
      "192.168.10.21",
      "192.168.10.22",
    ]);
  });

  it("renders WireGuard from anywhere when neither an underlay nor uplink addresses exist", () => {
    const plan: Plan = { ...PLANS.dev, underlay: undefined, nodes: PLANS.dev.nodes.map((n) => ({ ...n, uplink: undefined })) };
    const text = renderNftables(plan, nodeOf(plan, "cp-1"));
    assert.equal(setElements(text, "wireguard_sources"), undefined);
    assert.ok(chain(text, "input").some((l) => l.startsWith("udp dport @wireguard_ports accept ")));
  });

  it("renders allowFrom with host bits cleared and duplicates merged when the spec writes them loosely", () => {
    const plan = withSsh(PLANS.hetzner, { allowFrom: ["203.0.113.77/24", "203.0.113.0/24", "198.51.100.7/32"] });
    assert.deepEqual(setElements(renderNftables(plan, nodeOf(plan, "cp-1")), "ssh_sources"), ["198.51.100.7/32", "203.0.113.0/24"]);
  });

  it("rejects allowFrom when it contains 0.0.0.0/0", () => {
    const plan = withSsh(PLANS.hetzner, { allowFrom: ["0.0.0.0/0"] });
    assert.throws(() => renderNftables(plan, nodeOf(plan, "cp-1")), /whole internet/);
  });

  it("rejects the plan when two planes share a WireGuard port", () => {
    const plan: Plan = { ...PLANS.dev, planes: PLANS.dev.planes.map((p) => ({ ...p, port: 51820 })) };
    assert.throws(() => renderNftables(plan, nodeOf(plan, "cp-1")), /share a WireGuard port/);
  });

  it("rejects the plan when a plane has no WireGuard port", () => {
    const plan: Plan = { ...PLANS.dev, planes: PLANS.dev.planes.map((p, i) => (i === 1 ? { ...p, port: 0 } : p)) };
    assert.throws(() => renderNftables(plan, nodeOf(plan, "cp-1")), /plane wg2 has no WireGuard port/);
  });

  it("rejects the plan when SSH would be unreachable (no control plane and no allowFrom)", () => {
    const bare = devBare();
    const plan: Plan = { ...bare, planes: bare.planes.map((p) => (p.purpose === "control" ? { ...p, purpose: "storage" } : p)) };
    assert.throws(() => renderNftables(plan, nodeOf(plan, "cp-1")), /SSH would be unreachable/);
    const reachable = { ...plan, ssh: { ...plan.ssh, allowFrom: ["192.0.2.0/28"] } };
    assert.doesNotMatch(renderNftables(reachable, nodeOf(plan, "cp-1")), /SSH over the control plane/);
  });
});
