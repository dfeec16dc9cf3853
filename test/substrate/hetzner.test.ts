/**
 * Stage 1 on Hetzner Cloud (components/substrate/hetzner.ts) as the real program registers it under
 * the mock engine: the private network, spread placement groups, a default-deny firewall open only
 * to security.ssh.allowFrom, one server per node, and the private API load balancer. The mocks give
 * hcloud resources numeric ids, so id-typed inputs are checked as numbers and wired by dependency.
 */
import { strict as assert } from "node:assert";
import type { PlanResult } from "../../cli/commands/plan";
import type { RecordedResource } from "../../cli/engine/harness";
import type { Plan } from "../../components/plan/plan";
import type { ClusterSpec } from "../../components/spec/schema";
import { edited, HETZNER, named, ofType, plan, scratch, secretValue, specAndPlan, stageUrn, type Json } from "./helpers";

type HetznerSpec = Extract<ClusterSpec["spec"]["substrate"], { type: "hetzner" }>["hetzner"];

const T = {
  network: "hcloud:index/network:Network",
  subnet: "hcloud:index/networkSubnet:NetworkSubnet",
  group: "hcloud:index/placementGroup:PlacementGroup",
  firewall: "hcloud:index/firewall:Firewall",
  server: "hcloud:index/server:Server",
  lb: "hcloud:index/loadBalancer:LoadBalancer",
  lbNet: "hcloud:index/loadBalancerNetwork:LoadBalancerNetwork",
  lbTarget: "hcloud:index/loadBalancerTarget:LoadBalancerTarget",
  lbService: "hcloud:index/loadBalancerService:LoadBalancerService",
};

const OPEN_TO_ALL = ["0.0.0.0/0", "::/0"];

/** An IPv4 address inside a CIDR (independent arithmetic). */
function inCidr(ip: string, cidr: string): boolean {
  const n = (a: string) => a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
  const [net, bits] = cidr.split("/");
  const size = 2 ** (32 - Number(bits));
  return Math.floor(n(ip) / size) === Math.floor(n(net) / size);
}

describe("components/substrate/hetzner", function () {
  this.timeout(30_000);
  const tmp = scratch("substrate-hetzner");
  after(() => tmp.cleanup());

  let res: PlanResult;
  let spec: ClusterSpec;
  let hz: HetznerSpec;
  let p: Plan;
  const one = (type: string): RecordedResource => {
    const rs = ofType(res.run, type);
    assert.equal(rs.length, 1, `expected one ${type}, found ${rs.length}`);
    return rs[0];
  };
  const serverOf = (node: string) => named(res.run, `${p.cluster.name}-${node}`, T.server);
  const groupOf = (fd: string) => named(res.run, `${p.cluster.name}-${fd}`, T.group);

  before(async () => {
    res = await plan({ spec: "test/fixtures/hetzner.yaml" });
    ({ spec, plan: p } = specAndPlan(HETZNER));
    assert.equal(spec.spec.substrate.type, "hetzner");
    hz = (spec.spec.substrate as Extract<ClusterSpec["spec"]["substrate"], { type: "hetzner" }>).hetzner;
  });

  it("registers every hcloud resource under the substrate Stage, protected and retained, when allowDestroy is false", () => {
    const stage1 = stageUrn(res.run, `${p.cluster.name}-stage1-substrate`);
    const hcloud = res.run.resources.filter((r) => r.type.startsWith("hcloud:"));
    assert.ok(hcloud.length >= 6 + 3 + 6);
    for (const r of hcloud) {
      assert.equal(r.parent, stage1, `${r.name} is not parented to the Stage 1 component`);
      assert.equal(r.protect, true, `${r.name} is not protected`);
      assert.equal(r.retainOnDelete, true, `${r.name} is not retained on delete`);
    }
    assert.equal(res.run.resources.filter((r) => r.type.startsWith("proxmoxve:")).length, 0);
  });

  it("creates one delete-protected private network and a cloud subnet with a numeric networkId when the network is declared", () => {
    const net = one(T.network);
    const sub = one(T.subnet);
    assert.equal(net.inputs.ipRange, hz.network.cidr);
    assert.equal(net.inputs.deleteProtection, true);
    assert.equal(typeof sub.inputs.networkId, "number", `networkId is ${typeof sub.inputs.networkId}`);
    assert.deepEqual(sub.propertyDependencies.networkId, [net.urn]);
    assert.equal(sub.inputs.type, "cloud");
    assert.equal(sub.inputs.networkZone, hz.networkZone);
    assert.ok(inCidr(String(sub.inputs.ipRange).split("/")[0], hz.network.cidr), "the subnet lies outside the network");
  });

  it("creates one spread placement group per failure domain when nodes span failure domains", () => {
    const groups = ofType(res.run, T.group);
    const fds = [...new Set(p.nodes.map((n) => n.failureDomain))].sort();
    assert.deepEqual(groups.map((g) => g.name).sort(), fds.map((fd) => `${p.cluster.name}-${fd}`).sort());
    for (const g of groups) assert.equal(g.inputs.type, "spread", `${g.name} is not a spread group`);
  });

  it("opens only SSH 22/tcp and the control plane's WireGuard port, only from security.ssh.allowFrom, when the firewall is built", () => {
    const fw = one(T.firewall);
    const rules = fw.inputs.rules as Json[];
    const allowFrom = spec.spec.security.ssh.allowFrom ?? [];
    const wg = p.planes.find((pl) => pl.purpose === "control")!;
    assert.ok(allowFrom.length > 0);
    assert.deepEqual(rules.map((r) => `${r.port}/${r.protocol}`).sort(), ["22/tcp", `${wg.port}/udp`].sort());
    for (const r of rules) {
      assert.equal(r.direction, "in");
      assert.deepEqual(r.sourceIps, allowFrom, `rule ${r.port}/${r.protocol} sources`);
      for (const open of OPEN_TO_ALL)
        assert.ok(!(r.sourceIps as string[]).includes(open), `rule ${r.port}/${r.protocol} is open to ${open}`);
      assert.equal(r.destinationIps, undefined);
    }
    const json = JSON.stringify(fw.inputs);
    for (const open of OPEN_TO_ALL) assert.ok(!json.includes(open), `the firewall mentions ${open}`);
  });

  it("creates one server per node with its role's type, its failure domain's location and group, when servers are declared", () => {
    const servers = ofType(res.run, T.server);
    assert.deepEqual(servers.map((s) => s.name).sort(), p.nodes.map((n) => `${p.cluster.name}-${n.name}`).sort());
    const fw = one(T.firewall);
    const net = one(T.network);
    for (const n of p.nodes) {
      const s = serverOf(n.name);
      const want = n.role === "control-plane" ? hz.serverTypes.controlPlane : hz.serverTypes.worker;
      assert.equal(s.inputs.serverType, want, `${n.name} serverType`);
      const loc = hz.locations.find((l) => l.failureDomain === n.failureDomain)!;
      assert.equal(s.inputs.location, loc.name, `${n.name} location`);
      assert.equal(s.inputs.image, hz.image);
      assert.equal(typeof s.inputs.placementGroupId, "number", `${n.name} placementGroupId is not numeric`);
      assert.deepEqual(s.propertyDependencies.placementGroupId, [groupOf(n.failureDomain).urn], `${n.name} placement group`);
      assert.deepEqual(s.propertyDependencies.firewallIds, [fw.urn], `${n.name} firewall`);
      for (const id of s.inputs.firewallIds as unknown[]) assert.equal(typeof id, "number");
    }
    assert.ok(ofType(res.run, T.server).every((s) => s.dependencies.includes(net.urn)));
  });

  it("attaches every server to the private network at the plan's uplink address when the underlay is numbered", () => {
    const sub = one(T.subnet);
    for (const n of p.nodes) {
      const s = serverOf(n.name);
      const nets = s.inputs.networks as Json[];
      assert.equal(nets.length, 1);
      assert.equal(nets[0].ip, n.uplink!.address, `${n.name} private ip`);
      assert.equal(typeof nets[0].networkId, "number");
      assert.ok(inCidr(nets[0].ip, hz.network.cidr), `${n.name} ${nets[0].ip} is outside ${hz.network.cidr}`);
      assert.ok(s.dependencies.includes(sub.urn), `${n.name} may be created before the subnet exists`);
    }
  });

  it("passes cloud-init as secret userData and never replaces a server for new userData or image when a server exists", () => {
    for (const n of p.nodes) {
      const s = serverOf(n.name);
      const ud = secretValue(s.inputs.userData, `${s.name} userData`) as string;
      assert.match(ud, /^#cloud-config\n/);
      assert.match(ud, new RegExp(`^hostname: ${n.name}$`, "m"));
      for (const k of ["userData", "image"]) assert.ok(s.ignoreChanges.includes(k), `${s.name} ignoreChanges lacks ${k}`);
      assert.ok(s.additionalSecretOutputs.includes("userData"), `${s.name} does not keep userData secret`);
      assert.equal(s.inputs.deleteProtection, true, `${s.name} deleteProtection`);
      assert.equal(s.inputs.rebuildProtection, true, `${s.name} rebuildProtection`);
    }
  });

  it("balances the API privately over every control plane on tcp 6443 when the substrate provides the endpoint", () => {
    const lb = one(T.lb);
    const lbNet = one(T.lbNet);
    const svc = one(T.lbService);
    const sub = one(T.subnet);
    assert.equal(lb.inputs.loadBalancerType, hz.loadBalancer.type);
    assert.equal(lb.inputs.deleteProtection, true);
    assert.equal(lbNet.inputs.enablePublicInterface, false);
    assert.deepEqual(lbNet.propertyDependencies.loadBalancerId, [lb.urn]);
    assert.deepEqual(lbNet.propertyDependencies.subnetId, [sub.urn]);
    assert.ok(inCidr(String(lbNet.inputs.ip), hz.network.cidr));
    assert.ok(!p.nodes.some((n) => n.uplink!.address === lbNet.inputs.ip), "the load balancer takes a node's address");

    const targets = ofType(res.run, T.lbTarget);
    const cps = p.nodes.filter((n) => n.role === "control-plane");
    assert.deepEqual(targets.map((t) => t.name).sort(), cps.map((n) => `${p.cluster.name}-api-${n.name}`).sort());
    for (const n of cps) {
      const t = named(res.run, `${p.cluster.name}-api-${n.name}`, T.lbTarget);
      assert.equal(t.inputs.type, "server");
      assert.equal(t.inputs.usePrivateIp, true);
      assert.equal(typeof t.inputs.serverId, "number");
      assert.equal(typeof t.inputs.loadBalancerId, "number");
      assert.deepEqual(t.propertyDependencies.serverId, [serverOf(n.name).urn], `${t.name} targets another server`);
      assert.ok(t.dependencies.includes(lbNet.urn), `${t.name} may attach before the LB is on the network`);
    }

    assert.deepEqual(
      { protocol: svc.inputs.protocol, listenPort: svc.inputs.listenPort, destinationPort: svc.inputs.destinationPort },
      { protocol: "tcp", listenPort: 6443, destinationPort: 6443 },
    );
    assert.deepEqual(svc.propertyDependencies.loadBalancerId, [lb.urn]);
  });

  it("exports the load balancer's private IP as nodeAccess.apiEndpoint when the program completes", () => {
    const substrate = res.run.exports.nodeAccess as Json;
    assert.equal(substrate.apiEndpoint, one(T.lbNet).inputs.ip);
    assert.deepEqual(
      (substrate.nodes as Json[]).map((n) => [n.name, n.uplink]),
      p.nodes.map((n) => [n.name, n.uplink!.address]),
    );
  });

  describe("for a copy with allowDestroy: true", () => {
    let open: PlanResult;
    before(async () => {
      open = await plan({ spec: tmp.file("hetzner-allow-destroy.yaml", edited(HETZNER, [[["spec", "substrate", "allowDestroy"], true]])) });
    });

    it("drops protect, retainOnDelete and Hetzner's delete/rebuild protection when allowDestroy is true", () => {
      const hcloud = open.run.resources.filter((r) => r.type.startsWith("hcloud:"));
      assert.equal(hcloud.length, res.run.resources.filter((r) => r.type.startsWith("hcloud:")).length, "a different set of resources");
      for (const r of hcloud) {
        assert.equal(r.protect, false, `${r.name} protect`);
        assert.equal(r.retainOnDelete, false, `${r.name} retainOnDelete`);
        for (const k of ["deleteProtection", "rebuildProtection"]) if (k in r.inputs) assert.equal(r.inputs[k], false, `${r.name} ${k}`);
      }
      assert.ok(open.run.logs.some((l) => l.severity === "warn" && /substrate\.allowDestroy is TRUE/.test(l.message)));
    });
  });
});
