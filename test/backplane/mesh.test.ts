/**
 * The full mesh (components/backplane/render-node.ts): on every plane, every node's wg-quick file
 * lists every other node exactly once — AllowedIPs its plane address /32 (plus its addresses on the planes
 * an allow rule lets this plane cross into), Endpoint its uplink and
 * the plane's port — plus the operator peer on the control plane only; the operator's file lists
 * every node. Renders are byte-identical, equal to the reference renderer (wg-quick.ts), and
 * every file is a 0600 secret. Parsed from the rendered text for every fixture.
 */
import { strict as assert } from "node:assert";
import { nodePlaneKey, operatorKey } from "../../components/backplane/keys";
import { operatorPlane, planePublicKeys, renderNodeBackplane, renderOperator } from "../../components/backplane/render-node";
import { KEEPALIVE_SECONDS, renderWgQuick } from "../../components/backplane/wg-quick";
import type { Plan } from "../../components/plan/plan";
import { field, nodeOf, optionalField, parseWgConfig, PLANS, renderMesh, TEST_EPOCH, TEST_SEED, type FixtureName } from "./helpers";

const FIXTURES = Object.keys(PLANS) as FixtureName[];

const endpointOf = (plan: Plan, name: string): string => {
  const n = nodeOf(plan, name);
  return (n.uplink?.address ?? n.placement.sshAddress)!;
};

describe("backplane full mesh", () => {
  for (const fx of FIXTURES) {
    const plan = PLANS[fx];
    const mesh = renderMesh(plan, TEST_SEED);
    const control = operatorPlane(plan);

    it(`lists every other node exactly once, at its plane /32 and uplink endpoint, on every plane of ${fx}`, () => {
      assert.ok(plan.nodes.length >= 3 && plan.planes.length >= 3, "fixture too small to mean anything");
      for (const n of plan.nodes) {
        for (const p of plan.planes) {
          const conf = parseWgConfig(mesh.files.get(n.name)!.get(p.name)!.content);
          assert.equal(field(conf.iface, "Address"), `${n.addresses[p.name]}/${p.cidr.split("/")[1]}`);
          assert.equal(field(conf.iface, "ListenPort"), String(p.port));
          const nodePeers = conf.peers.filter((s) => !s.comments.some((c) => c.startsWith("operator peer")));
          const names = nodePeers.map((s) => s.comments[0].split(" ")[0]);
          assert.deepEqual(
            [...names].sort(),
            plan.nodes
              .map((m) => m.name)
              .filter((m) => m !== n.name)
              .sort(),
            `${n.name}/${p.name} peers`,
          );
          assert.equal(new Set(nodePeers.map((s) => field(s, "PublicKey"))).size, nodePeers.length, "a peer appears twice");
          for (const s of nodePeers) {
            const peer = s.comments[0].split(" ")[0];
            assert.equal(field(s, "PublicKey"), nodePlaneKey(TEST_SEED, plan.cluster.name, p.name, peer, TEST_EPOCH).publicKey);
            // Its own plane address, then its addresses on the planes this plane may cross into
            // (the spec's allow rules from this plane; every other plane when the default is allow).
            const cross = plan.planes.filter(
              (q) =>
                q.name !== p.name &&
                (plan.policy.defaultInterPlane === "allow" || plan.policy.allow.some((r) => r.from === p.name && r.to === q.name)),
            );
            // On the Kubernetes plane the peer's pod CIDR follows (Cilium routes natively over it).
            const pods = p.purpose === "kubernetes-backend" && nodeOf(plan, peer).podCidr ? [nodeOf(plan, peer).podCidr!] : [];
            assert.equal(
              field(s, "AllowedIPs"),
              [...[p, ...cross].map((q) => `${nodeOf(plan, peer).addresses[q.name]}/32`), ...pods].join(", "),
              `${n.name}/${p.name} → ${peer}`,
            );
            assert.equal(field(s, "Endpoint"), `${endpointOf(plan, peer)}:${p.port}`);
            assert.equal(field(s, "PersistentKeepalive"), String(KEEPALIVE_SECONDS));
          }
        }
      }
    });

    it(`adds the operator peer on the control plane only when rendering ${fx}`, () => {
      assert.ok(control, "the fixture has a control plane");
      for (const n of plan.nodes) {
        for (const p of plan.planes) {
          const conf = parseWgConfig(mesh.files.get(n.name)!.get(p.name)!.content);
          const op = conf.peers.filter((s) => s.comments.some((c) => c.startsWith("operator peer")));
          if (p.name !== control!.name) {
            assert.equal(op.length, 0, `operator peer on ${p.name} of ${n.name}`);
            assert.equal(conf.peers.length, plan.nodes.length - 1);
            continue;
          }
          assert.equal(op.length, 1, `${n.name}: one operator peer on ${p.name}`);
          assert.equal(field(op[0], "PublicKey"), operatorKey(TEST_SEED, plan.cluster.name, p.name, TEST_EPOCH).publicKey);
          assert.equal(field(op[0], "AllowedIPs"), `${p.reserved.operatorPeer}/32`);
          assert.equal(optionalField(op[0], "Endpoint"), undefined, "the operator roams: no endpoint");
        }
      }
    });

    it(`renders the operator's control-plane file with every node as a peer for ${fx}`, () => {
      const op = mesh.operator!;
      assert.equal(op.path, `${control!.name}.conf`);
      assert.equal(op.mode, 0o600);
      assert.equal(op.secret, true);
      const conf = parseWgConfig(op.content);
      assert.equal(field(conf.iface, "Address"), `${control!.reserved.operatorPeer}/32`);
      assert.equal(field(conf.iface, "PrivateKey"), operatorKey(TEST_SEED, plan.cluster.name, control!.name, TEST_EPOCH).privateKey);
      const byKey = new Map(conf.peers.map((s) => [field(s, "PublicKey"), s]));
      assert.equal(byKey.size, plan.nodes.length);
      for (const n of plan.nodes) {
        const s = byKey.get(nodePlaneKey(TEST_SEED, plan.cluster.name, control!.name, n.name, TEST_EPOCH).publicKey);
        assert.ok(s, `operator file lacks ${n.name}`);
        // Its addresses on the control plane and on the planes the control plane may cross into
        // (the API server on wg3, the UIs on wg2): the node's firewall decides the ports.
        const cross = plan.planes.filter(
          (q) =>
            q.name !== control!.name &&
            (plan.policy.defaultInterPlane === "allow" || plan.policy.allow.some((r) => r.from === control!.name && r.to === q.name)),
        );
        assert.equal(field(s, "AllowedIPs"), [control!, ...cross].map((q) => `${n.addresses[q.name]}/32`).join(", "));
        assert.ok(!field(s, "AllowedIPs").includes(n.podCidr ?? "-"), "the operator never routes to pods");
        assert.equal(field(s, "Endpoint"), `${endpointOf(plan, n.name)}:${control!.port}`);
      }
    });

    it(`renders byte-identical files, equal to renderWgQuick's, when ${fx} is rendered twice from separate plans`, () => {
      const again = renderMesh(structuredClone(plan), TEST_SEED);
      for (const n of plan.nodes) {
        for (const p of plan.planes) {
          const a = mesh.files.get(n.name)!.get(p.name)!;
          assert.equal(again.files.get(n.name)!.get(p.name)!.content, a.content, `${n.name}/${p.name} differs between renders`);
          const keys = {
            publicKeys: new Map(
              plan.nodes.map((m) => [m.name, nodePlaneKey(TEST_SEED, plan.cluster.name, p.name, m.name, TEST_EPOCH).publicKey]),
            ),
            privateKey: nodePlaneKey(TEST_SEED, plan.cluster.name, p.name, n.name, TEST_EPOCH).privateKey,
            ...(p.reserved.operatorPeer
              ? { operatorPublicKey: operatorKey(TEST_SEED, plan.cluster.name, p.name, TEST_EPOCH).publicKey }
              : {}),
          };
          assert.equal(a.content, renderWgQuick(plan, n, p, keys), `${n.name}/${p.name} differs from renderWgQuick`);
        }
      }
      assert.equal(again.operator!.content, mesh.operator!.content);
    });
  }

  it("writes every plane as wireguard/<plane>.conf, mode 0600, secret, in plane order", () => {
    const plan = PLANS.prod;
    const files = renderNodeBackplane({ plan, node: plan.nodes[0], seed: TEST_SEED, epoch: 0 });
    assert.deepEqual(
      files.map((f) => [f.path, f.plane, f.mode, f.secret, f.nodePath]),
      plan.planes.map((p) => [`wireguard/${p.name}.conf`, p.name, 0o600, true, `/etc/wireguard/${p.name}.conf`]),
    );
    for (const f of files) assert.match(f.content, /^# SECRET: contains this node's WireGuard private key \(mode 0600\)\.$/m);
  });

  it("renders different keys, and nothing else different, when only the epoch changes", () => {
    const plan = PLANS.dev;
    const node = nodeOf(plan, "w-2");
    const e1 = renderNodeBackplane({ plan, node, seed: TEST_SEED, epoch: 1 });
    const e2 = renderNodeBackplane({ plan, node, seed: TEST_SEED, epoch: 2 });
    for (let i = 0; i < e1.length; i++) {
      assert.notEqual(e1[i].content, e2[i].content);
      const strip = (t: string) => t.replace(/^(PrivateKey|PublicKey) = .*$/gm, "$1 = …");
      assert.equal(strip(e1[i].content), strip(e2[i].content));
    }
  });

  it("does not reuse keys across seeds or epochs when one plan object is rendered with several (the cache key)", () => {
    const plan = structuredClone(PLANS.dev);
    const a = planePublicKeys({ plan, seed: TEST_SEED, epoch: 1, plane: "wg1" });
    const b = planePublicKeys({ plan, seed: `${TEST_SEED}-2`, epoch: 1, plane: "wg1" });
    const c = planePublicKeys({ plan, seed: TEST_SEED, epoch: 2, plane: "wg1" });
    const d = planePublicKeys({ plan, seed: TEST_SEED, epoch: 1, plane: "wg2" });
    for (const other of [b, c, d]) assert.notEqual(other.get("cp-1"), a.get("cp-1"));
    assert.equal(planePublicKeys({ plan, seed: TEST_SEED, epoch: 1, plane: "wg1" }), a, "derived once per plane");
  });

  it("rejects a node outside the plan, a short seed and a bad epoch", () => {
    const plan = PLANS.dev;
    const stranger = { ...plan.nodes[0], name: "stranger" };
    assert.throws(() => renderNodeBackplane({ plan, node: stranger, seed: TEST_SEED, epoch: 0 }), /not in the plan/);
    assert.throws(() => renderNodeBackplane({ plan, node: plan.nodes[0], seed: "short", epoch: 0 }), /at least 16/);
    for (const epoch of [-1, 1.5, NaN]) {
      assert.throws(() => renderNodeBackplane({ plan, node: plan.nodes[0], seed: TEST_SEED, epoch }), /epoch/);
    }
  });

  it("renders no operator file when the plan has no control plane", () => {
    const plan: Plan = {
      ...PLANS.dev,
      planes: PLANS.dev.planes.map((p) => ({ ...p, reserved: { ...p.reserved, operatorPeer: undefined } })),
    };
    assert.equal(renderOperator({ plan, seed: TEST_SEED, epoch: 0 }), undefined);
    for (const f of renderNodeBackplane({ plan, node: plan.nodes[0], seed: TEST_SEED, epoch: 0 })) {
      assert.doesNotMatch(f.content, /operator peer/);
    }
  });

  it("renders a 200-node × 3-plane mesh with every peer when the cluster is large", function () {
    this.timeout(30_000);
    const base = PLANS.dev;
    const nodes = Array.from({ length: 200 }, (_, i) => ({
      ...base.nodes[i % base.nodes.length],
      name: `n-${String(i).padStart(3, "0")}`,
      uplink: { address: `10.20.${Math.floor(i / 250)}.${(i % 250) + 2}` },
      addresses: Object.fromEntries(base.planes.map((p, k) => [p.name, `10.${111 + k}.${Math.floor(i / 250)}.${(i % 250) + 2}`])),
    }));
    const plan: Plan = { ...base, nodes };
    let peers = 0;
    const t0 = Date.now();
    for (const node of nodes) {
      for (const f of renderNodeBackplane({ plan, node, seed: TEST_SEED, epoch: 0 })) peers += f.content.split("\n[Peer]\n").length - 1;
    }
    const ms = Date.now() - t0;
    assert.equal(peers, 200 * 199 * 3 + 200);
    assert.ok(ms < 20_000, `200 nodes took ${ms} ms (the bench target is 500 nodes in 10 s)`);
  });
});
