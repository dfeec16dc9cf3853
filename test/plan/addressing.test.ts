/**
 * Deterministic addressing (components/plan/addressing.ts) as properties of buildPlan over
 * generated valid specs, plus golden values that pin the derivation for the real stacks.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { assignOrdinals, deriveOrdinal, ordinalSpace } from "../../components/plan/addressing";
import { buildPlan, type Plan } from "../../components/plan/plan";
import type { ClusterSpec } from "../../components/spec/schema";
import {
  block,
  check,
  clone,
  DEV,
  FAILURE_DOMAINS,
  FC_SEED,
  fixHa,
  genSpec,
  HETZNER,
  ip2n,
  n2ip,
  newNodeDoc,
  nodeName,
  numbering,
  parseSpec,
  planOf,
  PROD,
  refOrdinal,
  refSpace,
  renderSpec,
  SEED,
  validSpec,
  type GenSpec,
} from "./helpers";

const RUNS = { seed: FC_SEED, numRuns: 200 } as const;

/** A generated spec that validateSpecText accepts, with its plan. */
function validPlan(g: GenSpec): { doc: ReturnType<typeof renderSpec>; spec: ClusterSpec; plan: Plan } {
  const doc = renderSpec(g);
  const spec = validSpec(doc);
  fc.pre(spec !== undefined);
  return { doc, spec: spec!, plan: buildPlan(spec!) };
}

function assertHostAddress(cidr: string, address: string, what: string): number {
  const b = block(cidr);
  const a = ip2n(address);
  assert.ok(a >= b.network && a < b.network + b.size, `${what} ${address} is outside ${cidr}`);
  assert.notEqual(a, b.network, `${what} ${address} is the network address of ${cidr}`);
  assert.notEqual(a, b.network + b.size - 1, `${what} ${address} is the broadcast address of ${cidr}`);
  return a - b.network;
}

describe("addressing (buildPlan over generated specs)", () => {
  it("gives unique host addresses inside every plane and the underlay, and unique vmids inside vmidRange, when the spec is valid", () => {
    fc.assert(
      fc.property(genSpec, (g) => {
        const { plan } = validPlan(g);
        assert.equal(plan.nodes.length, g.nodes.length);
        assert.equal(plan.ordinalSpace.size, refSpace(g), "ordinal space is not min(block capacity, vmid count)");
        for (const n of plan.nodes)
          assert.ok(n.ordinal >= 0 && n.ordinal < plan.ordinalSpace.size, `ordinal ${n.ordinal} of ${n.name} outside the space`);
        // Plane addresses: unique per plane, host addresses of the plane, host index 10 + ordinal.
        for (const p of plan.planes) {
          const seen = new Map<string, string>();
          for (const n of plan.nodes) {
            const a = n.addresses[p.name];
            assert.ok(a, `node ${n.name} has no address on ${p.name}`);
            const index = assertHostAddress(p.cidr, a, `node ${n.name} on ${p.name}`);
            assert.equal(index, 10 + n.ordinal, `node ${n.name} on ${p.name}: host index is not 10 + ordinal`);
            assert.ok(!seen.has(a), `${p.name}: ${a} is used by ${seen.get(a)} and ${n.name}`);
            seen.set(a, n.name);
          }
        }
        // Reserved infrastructure addresses: VIP at host index 1 of the Kubernetes plane (not on
        // Hetzner, whose load balancer fronts the API), operator peer at index 2 of the control plane.
        const nodeAddrs = new Set(plan.nodes.flatMap((n) => Object.values(n.addresses)));
        for (const p of plan.planes) {
          const net = block(p.cidr).network;
          const vip = p.purpose === "kubernetes-backend" && g.base !== "hetzner" ? n2ip(net + 1) : undefined;
          const peer = p.purpose === "control" ? n2ip(net + 2) : undefined;
          assert.deepEqual(
            p.reserved,
            { ...(vip ? { controlPlaneVip: vip } : {}), ...(peer ? { operatorPeer: peer } : {}) },
            `reserved addresses of ${p.name}`,
          );
          for (const r of [vip, peer]) if (r) assert.ok(!nodeAddrs.has(r), `reserved ${r} is a node address`);
        }
        // Uplinks: derived on the Proxmox underlay and the Hetzner network alike.
        const uplinks = new Set<string>();
        for (const n of plan.nodes) {
          assert.ok(n.uplink, `node ${n.name} has no uplink`);
          assert.equal(n.uplink.cidr, block(g.cidrs.underlay).text);
          const index = assertHostAddress(g.cidrs.underlay, n.uplink.address, `node ${n.name} uplink`);
          assert.equal(index, 10 + n.ordinal, `node ${n.name} uplink: host index is not 10 + ordinal`);
          assert.ok(!uplinks.has(n.uplink.address), `uplink ${n.uplink.address} used twice`);
          uplinks.add(n.uplink.address);
        }
        // vmids (Proxmox only).
        const vmids = new Set<number>();
        const end = g.vmid.start + g.vmid.size - 1;
        for (const n of plan.nodes) {
          if (g.base !== "dev") {
            assert.equal(n.vmid, undefined, `node ${n.name} has a vmid on ${g.base}`);
            continue;
          }
          assert.equal(typeof n.vmid, "number", `node ${n.name} has no vmid`);
          assert.ok(n.vmid! >= g.vmid.start && n.vmid! <= end, `vmid ${n.vmid} of ${n.name} outside ${g.vmid.start}-${end}`);
          assert.equal(n.vmid, g.vmid.start + n.ordinal);
          assert.ok(!vmids.has(n.vmid!), `vmid ${n.vmid} used twice`);
          vmids.add(n.vmid!);
        }
      }),
      RUNS,
    );
  });

  it("moves no existing node when a node with a fresh name is added", () => {
    fc.assert(
      fc.property(genSpec, nodeName, fc.constantFrom("control-plane" as const, "worker" as const), fc.nat(), (g, name, role, k) => {
        fc.pre(!g.nodes.some((n) => n.name === name));
        const { doc, plan: before } = validPlan(g);
        const grown = clone(doc);
        const inv = grown.spec.nodes.inventory;
        inv.splice(k % (inv.length + 1), 0, newNodeDoc(g, name, role, k % FAILURE_DOMAINS[g.base].length));
        const spec = validSpec(fixHa(grown));
        fc.pre(spec !== undefined); // the fresh name may derive a taken ordinal (address-collision)
        const after = numbering(buildPlan(spec!));
        assert.equal(after.size, before.nodes.length + 1);
        for (const [n, num] of numbering(before)) assert.deepEqual(after.get(n), num, `adding ${name} renumbered ${n}`);
      }),
      RUNS,
    );
  });

  it("moves no other node when a node is removed", () => {
    fc.assert(
      fc.property(genSpec, fc.nat(), (g, k) => {
        fc.pre(g.nodes.length >= 2);
        const { doc, plan: before } = validPlan(g);
        const shrunk = clone(doc);
        const inv = shrunk.spec.nodes.inventory;
        const [removed] = inv.splice(k % inv.length, 1);
        fc.pre(inv.some((n: { role: string }) => n.role === "control-plane"));
        const spec = validSpec(fixHa(shrunk));
        fc.pre(spec !== undefined);
        const after = numbering(buildPlan(spec!));
        const expected = numbering(before);
        expected.delete(removed.name);
        assert.deepEqual(after, expected, `removing ${removed.name} renumbered another node`);
      }),
      RUNS,
    );
  });

  it("honours pinned ordinals and derives every other ordinal from its name and the space size alone", () => {
    fc.assert(
      fc.property(genSpec, (g) => {
        const { doc, spec, plan } = validPlan(g);
        const size = ordinalSpace(spec).size;
        const assigned = assignOrdinals(spec);
        doc.spec.nodes.inventory.forEach((n: { name: string; ordinal?: number }, i: number) => {
          const p = plan.nodes[i];
          assert.equal(p.name, n.name);
          if (n.ordinal !== undefined) {
            assert.equal(p.ordinal, n.ordinal, `pinned ordinal of ${n.name} not honoured`);
            assert.equal(p.ordinalSource, "pinned");
          } else {
            assert.equal(p.ordinal, deriveOrdinal(n.name, size), `derived ordinal of ${n.name}`);
            assert.equal(p.ordinal, refOrdinal(n.name, size), `derived ordinal of ${n.name} (reference)`);
            assert.equal(p.ordinalSource, "derived");
          }
          // The same node alone in an otherwise identical inventory gets the same ordinal.
          const alone = clone(spec);
          alone.spec.nodes.inventory = [spec.spec.nodes.inventory[i]];
          assert.deepEqual(assignOrdinals(alone), [assigned[i]], `ordinal of ${n.name} depends on the other nodes`);
        });
      }),
      RUNS,
    );
  });
});

describe("deriveOrdinal", () => {
  it("is a pure function of the name and the space size when called repeatedly", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), fc.integer({ min: 1, max: 2 ** 31 }), (name, size) => {
        const o = deriveOrdinal(name, size);
        assert.equal(deriveOrdinal(name, size), o);
        assert.ok(Number.isInteger(o) && o >= 0 && o < size);
        assert.equal(o, refOrdinal(name, size), "derivation differs from sha256('kubedos/ordinal/v1/'+name)[0..6] mod size");
      }),
      RUNS,
    );
  });

  it("returns 0 when the space is empty or has one slot", () => {
    assert.equal(deriveOrdinal("cp-1", 0), 0);
    assert.equal(deriveOrdinal("cp-1", -5), 0);
    assert.equal(deriveOrdinal("cp-1", 1), 0);
  });
});

/*
 * Golden values. These are real cluster layouts: an ordinal is a node's address on every plane,
 * its uplink address and its Proxmox vmid. If a change to kubedos makes one of these tests fail,
 * that change renumbers every existing cluster — new VMs, new WireGuard peers, new etcd members.
 * Never update the expected values to make the test pass; a renumbering must be a deliberate,
 * versioned migration (see ORDINAL_DOMAIN in components/plan/addressing.ts).
 * Values taken from `node bin/kubedos.js plan --stack dev` (and --stack prod, --spec seed/hetzner).
 */
type Golden = Array<[name: string, ordinal: number, vmid: number | undefined, uplink: string | undefined, wg: string[]]>;

function assertGolden(plan: Plan, golden: Golden, planes: string[]): void {
  const actual = plan.nodes.map((n) => [n.name, n.ordinal, n.vmid, n.uplink?.address, planes.map((p) => n.addresses[p])]);
  assert.deepEqual(actual, golden);
}

describe("addressing golden layouts", () => {
  it("keeps the dev stack's ordinals, vmids and addresses when the plan is rebuilt", () => {
    const plan = planOf(DEV);
    assert.equal(plan.ordinalSpace.size, 200); // vmidRange 3000–3199 bounds it (the /24s hold 245)
    assertGolden(
      plan,
      [
        ["cp-1", 79, 3079, "10.10.110.89", ["10.111.0.89", "10.112.0.89", "10.113.0.89"]],
        ["cp-2", 135, 3135, "10.10.110.145", ["10.111.0.145", "10.112.0.145", "10.113.0.145"]],
        ["cp-3", 15, 3015, "10.10.110.25", ["10.111.0.25", "10.112.0.25", "10.113.0.25"]],
        ["w-1", 119, 3119, "10.10.110.129", ["10.111.0.129", "10.112.0.129", "10.113.0.129"]],
        ["w-2", 59, 3059, "10.10.110.69", ["10.111.0.69", "10.112.0.69", "10.113.0.69"]],
        ["w-3", 33, 3033, "10.10.110.43", ["10.111.0.43", "10.112.0.43", "10.113.0.43"]],
      ],
      ["wg1", "wg2", "wg3"],
    );
  });

  it("keeps the seed example's ordinals, vmids and addresses when the plan is rebuilt", () => {
    const plan = planOf(SEED);
    assert.equal(plan.ordinalSpace.size, 100); // vmidRange 2000–2099
    assertGolden(
      plan,
      [
        ["cp-1", 79, 2079, undefined, ["10.101.0.89", "10.102.0.89", "10.103.0.89"]],
        ["cp-2", 35, 2035, undefined, ["10.101.0.45", "10.102.0.45", "10.103.0.45"]],
        ["cp-3", 15, 2015, undefined, ["10.101.0.25", "10.102.0.25", "10.103.0.25"]],
        ["w-1", 19, 2019, undefined, ["10.101.0.29", "10.102.0.29", "10.103.0.29"]],
      ],
      ["wg1", "wg2", "wg3"],
    );
  });

  it("keeps the prod stack's ordinals, vmids and addresses when the plan is rebuilt", () => {
    const plan = planOf(PROD);
    assert.equal(plan.ordinalSpace.size, 1000); // vmidRange 4000–4999 (the /22s hold 1013)
    assertGolden(
      plan,
      [
        ["cp-1", 479, 4479, "10.20.1.233", ["10.210.1.233", "10.210.5.233", "10.210.9.233", "10.210.13.233"]],
        ["cp-2", 535, 4535, "10.20.2.33", ["10.210.2.33", "10.210.6.33", "10.210.10.33", "10.210.14.33"]],
        ["cp-3", 15, 4015, "10.20.0.25", ["10.210.0.25", "10.210.4.25", "10.210.8.25", "10.210.12.25"]],
        ["w-1", 119, 4119, "10.20.0.129", ["10.210.0.129", "10.210.4.129", "10.210.8.129", "10.210.12.129"]],
        ["w-2", 659, 4659, "10.20.2.157", ["10.210.2.157", "10.210.6.157", "10.210.10.157", "10.210.14.157"]],
        ["w-3", 33, 4033, "10.20.0.43", ["10.210.0.43", "10.210.4.43", "10.210.8.43", "10.210.12.43"]],
        ["w-4", 781, 4781, "10.20.3.23", ["10.210.3.23", "10.210.7.23", "10.210.11.23", "10.210.15.23"]],
        ["w-5", 376, 4376, "10.20.1.130", ["10.210.1.130", "10.210.5.130", "10.210.9.130", "10.210.13.130"]],
        ["w-6", 80, 4080, "10.20.0.90", ["10.210.0.90", "10.210.4.90", "10.210.8.90", "10.210.12.90"]],
      ],
      ["wg1", "wg2", "wg3", "wg4"],
    );
  });

  it("keeps the hetzner example's ordinals and addresses when the plan is rebuilt", () => {
    const plan = planOf(HETZNER);
    assert.equal(plan.ordinalSpace.size, 245); // the /24 planes (the /16 network holds more)
    assertGolden(
      plan,
      [
        ["cp-1", 64, undefined, "10.0.0.74", ["10.101.0.74", "10.102.0.74", "10.103.0.74"]],
        ["cp-2", 170, undefined, "10.0.0.180", ["10.101.0.180", "10.102.0.180", "10.103.0.180"]],
        ["cp-3", 50, undefined, "10.0.0.60", ["10.101.0.60", "10.102.0.60", "10.103.0.60"]],
        ["w-1", 164, undefined, "10.0.0.174", ["10.101.0.174", "10.102.0.174", "10.103.0.174"]],
        ["w-2", 144, undefined, "10.0.0.154", ["10.101.0.154", "10.102.0.154", "10.103.0.154"]],
        ["w-3", 3, undefined, "10.0.0.13", ["10.101.0.13", "10.102.0.13", "10.103.0.13"]],
      ],
      ["wg1", "wg2", "wg3"],
    );
  });

  it("keeps a pinned ordinal when the space around it changes", () => {
    // Pinning is the documented way to survive a CIDR or vmidRange change.
    const doc = parseSpec(DEV);
    doc.spec.nodes.inventory[0].ordinal = 79;
    doc.spec.substrate.proxmox.vmidRange = { start: 3000, end: 3099 }; // space 200 → 100
    const text = JSON.stringify(doc);
    const r = check(text);
    assert.ok(r.valid, r.errors.map((e) => e.message).join("\n"));
    const cp1 = buildPlan(r.spec!).nodes.find((n) => n.name === "cp-1")!;
    assert.deepEqual([cp1.ordinal, cp1.vmid, cp1.addresses.wg1, cp1.uplink?.address], [79, 3079, "10.111.0.89", "10.10.110.89"]);
  });
});
