/**
 * The lab's pure part (cli/lab/model.ts), no root needed: the lab plan's address remapping, what
 * the nodes render from it, the inter-plane transport, and the gate's probe set.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { HOST_OFFSET } from "../../components/plan/addressing";
import { contains, parseCidr, parseIp } from "../../components/plan/ipv4";
import type { Plan } from "../../components/plan/plan";
import {
  allowedPairs,
  buildProbes,
  decoyPort,
  expandPortSpec,
  interPlaneAllowed,
  LAB_PLACEHOLDER_SEED,
  LAB_UNDERLAY,
  labPlan,
  listenerPorts,
  OPERATOR_OUT,
  parseWgQuick,
  renderNodeArtifacts,
  transportPlan,
  transportScript,
} from "../../cli/lab/model";
import { devPlan, planOf, ROOT, tenNodeSpecText } from "./helpers";

const SEED = LAB_PLACEHOLDER_SEED;
const fixture = (name: string) => {
  const file = path.join(ROOT, "test", "fixtures", `${name}.yaml`);
  return planOf(readFileSync(file, "utf8"), file);
};

/** Every IPv4 address (with optional prefix) in a text. */
const addressesIn = (text: string) => [...text.matchAll(/\b(\d{1,3}(?:\.\d{1,3}){3})(?:\/\d+)?\b/g)].map((m) => m[1]);

describe("lab model: the lab plan", () => {
  it("moves every uplink into 198.18.0.0/16 at HOST_OFFSET + ordinal, and the underlay with it", () => {
    const site = devPlan();
    const { plan } = labPlan(site);
    const base = parseCidr(LAB_UNDERLAY);
    for (const n of plan.nodes) {
      assert.equal(parseIp(n.uplink!.address), base.network + HOST_OFFSET + n.ordinal, n.name);
      assert.equal(n.uplink!.cidr, LAB_UNDERLAY);
      assert.equal(n.uplink!.gateway, undefined, "no gateway: nothing is routed out of the lab");
    }
    assert.deepEqual(plan.underlay, { cidr: LAB_UNDERLAY, nameservers: [] });
    // Planes are kept (they only exist on WireGuard interfaces inside lab namespaces).
    assert.deepEqual(
      plan.nodes.map((n) => n.addresses),
      site.nodes.map((n) => n.addresses),
    );
    // The site plan is untouched.
    assert.equal(site.underlay!.cidr, "10.10.110.0/24");
    assert.ok(site.nodes.every((n) => n.uplink!.address.startsWith("10.10.110.")));
  });

  it("remaps ssh.allowFrom into 198.19.0.0/16 and places one operator inside it and one outside", () => {
    const lab = labPlan(devPlan());
    assert.deepEqual(lab.allowFrom, [{ spec: "10.10.100.0/24", lab: "198.19.1.0/24" }]);
    assert.deepEqual(lab.plan.ssh.allowFrom, ["198.19.1.0/24"]);
    assert.deepEqual(lab.operators, [
      { name: "in", address: "198.19.1.10" },
      { name: "out", address: OPERATOR_OUT },
    ]);
    assert.ok(!lab.plan.ssh.allowFrom.some((c) => contains(parseCidr(c), parseIp(OPERATOR_OUT))));
  });

  for (const name of ["hetzner", "baremetal"]) {
    it(`${name} fixture: no site uplink or allowFrom address survives into any rendered artifact`, () => {
      const site = fixture(name);
      const lab = labPlan(site);
      const siteAddresses = new Set([
        ...site.nodes.map((n) => n.uplink?.address ?? n.placement.sshAddress),
        ...site.ssh.allowFrom.map((c) => c.split("/")[0]),
      ]);
      for (const n of lab.plan.nodes) {
        const a = renderNodeArtifacts(lab.plan, n, SEED, 1);
        for (const text of [a.nftables, ...a.wireguard.map((w) => w.content)]) {
          for (const ip of addressesIn(text)) assert.ok(!siteAddresses.has(ip), `${n.name}: site address ${ip} in a lab artifact`);
        }
      }
    });
  }
});

describe("lab model: rendered artifacts", () => {
  const lab = labPlan(devPlan());
  const node = lab.plan.nodes[0];
  const a = renderNodeArtifacts(lab.plan, node, SEED, 7);

  it("wg-quick files: one per plane, every peer's Endpoint on its lab uplink", () => {
    assert.deepEqual(
      a.wireguard.map((w) => w.plane),
      lab.plan.planes.map((p) => p.name),
    );
    for (const w of a.wireguard) {
      const conf = parseWgQuick(w.content);
      const plane = lab.plan.planes.find((p) => p.name === w.plane)!;
      assert.equal(conf.listenPort, plane.port);
      assert.deepEqual(conf.addresses, [`${node.addresses[plane.name]}/${plane.cidr.split("/")[1]}`]);
      const withEndpoint = conf.peers.filter((p) => p.endpoint);
      assert.equal(withEndpoint.length, lab.plan.nodes.length - 1);
      for (const p of withEndpoint) assert.ok(contains(parseCidr(LAB_UNDERLAY), parseIp(p.endpoint!.split(":")[0])), p.endpoint);
    }
  });

  it("nftables: WireGuard admitted from the lab underlay, SSH from the remapped allowFrom", () => {
    assert.match(a.nftables, /set wireguard_sources \{[^}]*elements = \{ 198\.18\.0\.0\/16 \}/);
    assert.match(a.nftables, /set ssh_sources \{[^}]*elements = \{ 198\.19\.1\.0\/24 \}/);
    assert.doesNotMatch(a.nftables, /10\.10\.11?0\./);
  });

  it("reads the transport from the rendered files: each peer on F carries its /32s on the planes F may cross into (and its pod CIDR on the Kubernetes plane), and the lab adds no route of its own", () => {
    const t = transportPlan(lab.plan, node, a.wireguard);
    for (const plane of lab.plan.planes) {
      const peers = t.allowedIps.get(plane.name)!;
      assert.equal(peers.length, lab.plan.nodes.length - 1, "node peers only, not the operator peer");
      const cross = lab.plan.planes.filter(
        (q) =>
          q.name !== plane.name &&
          (lab.plan.policy.defaultInterPlane === "allow" || lab.plan.policy.allow.some((r) => r.from === plane.name && r.to === q.name)),
      );
      for (const p of peers) {
        const owner = lab.plan.nodes.find((n) => p.allowedIps.includes(`${n.addresses[plane.name]}/32`))!;
        // On the Kubernetes plane a peer also carries its pod CIDR (Cilium routes natively over it).
        const pods = plane.purpose === "kubernetes-backend" && owner.podCidr ? [owner.podCidr] : [];
        assert.deepEqual([...p.allowedIps].sort(), [...[plane, ...cross].map((q) => `${owner.addresses[q.name]}/32`), ...pods].sort());
      }
      // The routing comes from the rendered PostUp hooks, not from the lab.
      const conf = a.wireguard.find((w) => w.plane === plane.name)!.content;
      if (cross.length > 0)
        assert.match(
          conf,
          new RegExp(`^PostUp = ip rule add from ${node.addresses[plane.name].replace(/\./g, "\\.")}/32 lookup \\d+`, "m"),
        );
    }
    assert.deepEqual(t.routes, []);
    assert.deepEqual(
      transportScript(t).filter((l) => l.startsWith("ip ")),
      [],
    );
  });

  it("keys differ per epoch and are deterministic per seed", () => {
    const again = renderNodeArtifacts(lab.plan, node, SEED, 7);
    const next = renderNodeArtifacts(lab.plan, node, SEED, 8);
    assert.equal(again.wireguard[0].content, a.wireguard[0].content);
    assert.notEqual(next.wireguard[0].content, a.wireguard[0].content);
  });
});

describe("lab model: the gate's probes", () => {
  it("expands port specs, sampling ranges of more than three ports at both ends and the middle", () => {
    assert.deepEqual(expandPortSpec("6443/tcp"), [{ proto: "tcp", port: 6443 }]);
    assert.deepEqual(
      expandPortSpec("2379-2380/tcp").map((p) => p.port),
      [2379, 2380],
    );
    assert.deepEqual(
      expandPortSpec("9962-9965/tcp").map((p) => p.port),
      [9962, 9963, 9965],
    );
    assert.deepEqual(
      expandPortSpec("30000-32767/udp").map((p) => p.port),
      [30000, 31383, 32767],
    );
  });

  it("decides inter-plane permission from the spec's allow rules (full ranges)", () => {
    const plan = devPlan();
    assert.ok(interPlaneAllowed(plan, "wg1", "wg3", { proto: "tcp", port: 2380 }));
    assert.ok(interPlaneAllowed(plan, "wg2", "wg3", { proto: "tcp", port: 9964 }), "inside a sampled range");
    assert.ok(!interPlaneAllowed(plan, "wg3", "wg1", { proto: "tcp", port: 6443 }), "direction matters");
    assert.ok(!interPlaneAllowed(plan, "wg1", "wg3", { proto: "udp", port: 6443 }), "protocol matters");
    assert.ok(!interPlaneAllowed(plan, "wg1", "wg3", { proto: "tcp", port: decoyPort(plan) }));
    const open: Plan = { ...plan, policy: { defaultInterPlane: "allow", allow: [] } };
    assert.ok(interPlaneAllowed(open, "wg3", "wg1", { proto: "tcp", port: 1 }));
  });

  for (const [label, text] of [
    ["dev (6 nodes)", readFileSync(path.join(ROOT, "stacks", "dev", "cluster.yaml"), "utf8")],
    ["10 nodes", tenNodeSpecText()],
  ] as const) {
    it(`${label}: every ordered pair on every plane, every allowed flow, a denied sample reaching every node`, () => {
      const lab = labPlan(planOf(text));
      const names = lab.plan.nodes.map((n) => n.name);
      const N = names.length;
      const probes = buildProbes(lab, { live: names, ssh: "sshd" });
      const pairs = probes.filter((p) => p.kind === "pair");
      assert.equal(pairs.length, N * (N - 1) * lab.plan.planes.length);
      assert.equal(new Set(pairs.map((p) => `${p.plane} ${p.from} ${p.to}`)).size, pairs.length);

      const ports = allowedPairs(lab.plan).reduce((a, r) => a + r.probes.length, 0);
      const allowed = probes.filter((p) => p.kind === "allowed");
      assert.equal(allowed.length, N * (N - 1) * ports);
      for (const p of allowed) assert.ok(interPlaneAllowed(lab.plan, p.fromPlane!, p.toPlane!, { proto: p.proto as "tcp", port: p.port! }));

      const listening = listenerPorts(lab.plan);
      const denied = probes.filter((p) => p.kind === "denied");
      assert.ok(denied.length > 0);
      for (const p of denied) {
        assert.ok(
          !interPlaneAllowed(lab.plan, p.fromPlane!, p.toPlane!, { proto: p.proto as "tcp", port: p.port! }),
          `${p.fromPlane}→${p.toPlane}:${p.port}`,
        );
        assert.ok(listening.tcp.includes(p.port!), `denied port ${p.port} has a listener, so only the firewall can block it`);
        assert.notEqual(p.from, p.to);
      }
      assert.deepEqual(new Set(denied.map((p) => p.to)), new Set(names), "every node is the destination of some denied flow");
      const planePairs = new Set(denied.map((p) => `${p.fromPlane}>${p.toPlane}`));
      assert.equal(planePairs.size, lab.plan.planes.length * (lab.plan.planes.length - 1), "every ordered plane pair is sampled");

      const underlay = probes.filter((p) => p.kind === "underlay");
      assert.ok(underlay.some((p) => p.from === "operator-in" && p.port === 22 && p.expect === "reach"));
      assert.ok(underlay.some((p) => p.from === "operator-out" && p.port === 22 && p.expect === "blocked"));
      assert.ok(underlay.filter((p) => !p.from.startsWith("operator")).every((p) => p.expect === "blocked"));
      assert.deepEqual(new Set(underlay.map((p) => p.to)), new Set(names));
    });
  }
});
