/**
 * buildPlan (components/plan/plan.ts) as tables: the stage graph, boundaries, the control-plane
 * endpoint, placement on every substrate, and the spec digest.
 */
import { strict as assert } from "node:assert";
import fc from "fast-check";
import { buildPlan, type Plan } from "../../components/plan/plan";
import {
  BAREMETAL,
  check,
  clone,
  DEV,
  FC_SEED,
  fixHa,
  HETZNER,
  parseSpec,
  planOf,
  PROD,
  SEED,
  toText,
  toYaml,
  type SpecDoc,
} from "./helpers";

/** Plan of a document; fails the test with the diagnostics when the document is invalid. */
const planOfDoc = (doc: SpecDoc): Plan => planOf(toText(doc));

const STAGE_KEYS = ["spec", "substrate", "firstboot", "backplane", "enrollment", "converge", "kubernetes", "seal"];

describe("buildPlan stages", () => {
  for (const [name, text] of [
    ["dev", DEV],
    ["prod", PROD],
    ["seed", SEED],
    ["hetzner", HETZNER],
    ["baremetal", BAREMETAL],
  ] as const) {
    it(`chains 8 stages 0..7, each depending on the one before, when the spec is ${name}`, () => {
      const { stages } = planOf(text);
      assert.deepEqual(
        stages.map((s) => [s.index, s.key, s.dependsOn]),
        STAGE_KEYS.map((k, i) => [i, k, i === 0 ? [] : [STAGE_KEYS[i - 1]]]),
      );
    });
  }

  it("marks exactly stages 1, 5 and 6 destructive, each with its opt-in flags, when the plan is built", () => {
    const { stages } = planOf(DEV);
    assert.deepEqual(
      stages.filter((s) => s.destructive !== "no").map((s) => [s.index, s.destructive, s.optIn]),
      [
        [1, "maybe", ["allowDestroy"]],
        [5, "maybe", ["allowRepartition", "allowWipe"]],
        [6, "maybe", ["allowReset"]],
      ],
    );
    for (const s of stages.filter((x) => x.destructive === "no"))
      assert.deepEqual(s.optIn, [], `stage ${s.index} is not destructive but has opt-in flags`);
  });

  it("returns fresh stage arrays when two plans are built (no shared contract state)", () => {
    const a = planOf(DEV);
    a.stages[1].optIn.push("allowWipe");
    a.stages[1].dependsOn.push("seal");
    const b = planOf(DEV);
    assert.deepEqual(b.stages[1].optIn, ["allowDestroy"]);
    assert.deepEqual(b.stages[1].dependsOn, ["spec"]);
  });

  const toggles: Array<[salt: boolean, ansible: boolean, kubernetes: boolean]> = [];
  for (const salt of [true, false])
    for (const ansible of [true, false]) for (const kubernetes of [true, false]) toggles.push([salt, ansible, kubernetes]);
  for (const [salt, ansible, kubernetes] of toggles) {
    it(`enables stages 4/5/6 as ${salt}/${ansible}/${kubernetes} when salt/ansible/kubernetes.enabled are ${salt}/${ansible}/${kubernetes}`, () => {
      const doc = parseSpec(DEV);
      doc.spec.orchestration.salt.enabled = salt;
      doc.spec.orchestration.ansible.enabled = ansible;
      doc.spec.kubernetes.enabled = kubernetes;
      if (!kubernetes) {
        // Gates and drills that test Kubernetes can never pass without it (rule acceptance-gates).
        doc.spec.acceptance.required = ["backplane-matrix", "security-baseline"];
        doc.spec.acceptance.drills = [];
      }
      const plan = planOfDoc(doc);
      assert.deepEqual(
        plan.stages.map((s) => s.enabled),
        [true, true, true, true, salt, ansible, kubernetes, true],
      );
      assert.equal(plan.stages.length, 8, "a disabled stage still orders the graph");
      if (!kubernetes) assert.equal(plan.controlPlaneEndpoint, undefined, "no API endpoint without Kubernetes");
    });
  }
});

describe("buildPlan boundaries", () => {
  const flags = ["allowDestroy", "allowRepartition", "allowWipe", "allowReset"] as const;
  for (let bits = 0; bits < 16; bits++) {
    const on = Object.fromEntries(flags.map((f, i) => [f, (bits & (1 << i)) !== 0])) as Record<(typeof flags)[number], boolean>;
    const label = flags.filter((f) => on[f]).join("+") || "none";
    it(`reports boundaries and opted-in stages as the spec sets them when ${label} ${label.includes("+") ? "are" : "is"} true`, () => {
      const doc = parseSpec(DEV);
      doc.spec.substrate.allowDestroy = on.allowDestroy;
      doc.spec.orchestration.ansible.safety.allowRepartition = on.allowRepartition;
      doc.spec.orchestration.ansible.safety.allowWipe = on.allowWipe;
      doc.spec.kubernetes.allowReset = on.allowReset;
      const plan = planOfDoc(doc);
      assert.deepEqual(plan.boundaries, on);
      assert.deepEqual(
        plan.stages.map((s) => s.optedIn),
        plan.stages.map((s) => s.optIn.filter((f) => on[f])),
      );
      assert.deepEqual(plan.stages[1].optedIn, on.allowDestroy ? ["allowDestroy"] : []);
      assert.deepEqual(plan.stages[6].optedIn, on.allowReset ? ["allowReset"] : []);
    });
  }
});

describe("buildPlan controlPlaneEndpoint and reserved addresses", () => {
  const table: Array<[name: string, text: string, endpoint: Plan["controlPlaneEndpoint"], controlPlane: string, operatorPeer: string]> = [
    ["dev (proxmox)", DEV, { kind: "vip", plane: "wg3", address: "10.113.0.1", port: 6443 }, "wg1", "10.111.0.2"],
    ["seed (proxmox)", SEED, { kind: "vip", plane: "wg3", address: "10.103.0.1", port: 6443 }, "wg1", "10.101.0.2"],
    ["prod (proxmox)", PROD, { kind: "vip", plane: "wg3", address: "10.210.8.1", port: 6443 }, "wg1", "10.210.0.2"],
    ["baremetal", BAREMETAL, { kind: "vip", plane: "wg3", address: "10.103.0.1", port: 6443 }, "wg1", "10.101.0.2"],
    ["hetzner", HETZNER, { kind: "load-balancer", port: 6443, address: "10.0.0.3" }, "wg1", "10.101.0.2"],
  ];
  for (const [name, text, endpoint, controlPlane, peer] of table) {
    it(`puts the API endpoint at ${endpoint!.kind === "vip" ? endpoint!.address : "the load balancer"} and the operator peer at ${peer} when the spec is ${name}`, () => {
      const plan = planOf(text);
      assert.deepEqual(plan.controlPlaneEndpoint, endpoint);
      const byPurpose = (purpose: string) => plan.planes.filter((p) => p.purpose === purpose);
      assert.deepEqual(
        byPurpose("control").map((p) => [p.name, p.reserved.operatorPeer]),
        [[controlPlane, peer]],
      );
      const vips = plan.planes.filter((p) => p.reserved.controlPlaneVip).map((p) => [p.name, p.reserved.controlPlaneVip]);
      assert.deepEqual(
        vips,
        endpoint!.kind === "vip" ? [[endpoint!.plane, endpoint!.address]] : [],
        "VIP reserved exactly where the endpoint is",
      );
      assert.equal(byPurpose("kubernetes-backend").length, 1);
    });
  }
});

// ---------------------------------------------------------------- placement

interface PlacementCase {
  domains: number;
  /** Hosts per failure domain. */
  hosts: number[];
  /** Permutation of host declarations (interleaves domains). */
  hostOrder: number[];
  nodes: Array<{ role: "control-plane" | "worker"; fd: number }>;
  ordinals: number[];
  strategy: "spread" | "pack";
}

const placementCase: fc.Arbitrary<PlacementCase> = fc.integer({ min: 1, max: 3 }).chain((domains) =>
  fc
    .record({
      hosts: fc.array(fc.integer({ min: 1, max: 4 }), { minLength: domains, maxLength: domains }),
      cps: fc.array(fc.integer({ min: 0, max: domains - 1 }), { minLength: 1, maxLength: 7 }),
      workers: fc.array(fc.integer({ min: 0, max: domains - 1 }), { minLength: 0, maxLength: 10 }),
    })
    .chain(({ hosts, cps, workers }) => {
      const n = cps.length + workers.length;
      const total = hosts.reduce((a, b) => a + b, 0);
      return fc.record({
        domains: fc.constant(domains),
        hosts: fc.constant(hosts),
        hostOrder: fc.shuffledSubarray([...Array(total).keys()], { minLength: total, maxLength: total }),
        nodes: fc.shuffledSubarray(
          [...cps.map((fd) => ({ role: "control-plane" as const, fd })), ...workers.map((fd) => ({ role: "worker" as const, fd }))],
          { minLength: n, maxLength: n },
        ),
        ordinals: fc.uniqueArray(fc.integer({ min: 0, max: 199 }), { minLength: n, maxLength: n }),
        strategy: fc.constantFrom<PlacementCase["strategy"]>("spread", "spread", "spread", "pack"),
      });
    }),
);

function placementSpec(c: PlacementCase): SpecDoc {
  const doc = parseSpec(DEV);
  const s = doc.spec;
  const fdName = (i: number) => `fd-${i}`;
  s.nodes.failureDomains = [...Array(c.domains).keys()].map((i) => ({ name: fdName(i) }));
  const hosts = c.hosts.flatMap((k, fd) => [...Array(k).keys()].map((j) => ({ name: `pve-${fd}-${j}`, failureDomain: fdName(fd) })));
  s.substrate.proxmox.hosts = c.hostOrder.map((i) => hosts[i]);
  s.substrate.proxmox.placement = { strategy: c.strategy, by: ["node", "failureDomain"] };
  const template = s.nodes.inventory[0];
  s.nodes.inventory = c.nodes.map((n, i) => ({
    ...clone(template),
    name: `${n.role === "control-plane" ? "cp" : "w"}-${i}`,
    role: n.role,
    failureDomain: fdName(n.fd),
    ordinal: c.ordinals[i],
  }));
  return fixHa(doc);
}

describe("buildPlan placement", () => {
  it("spreads control planes over distinct Proxmox hosts of their failure domain when it has enough hosts", () => {
    fc.assert(
      fc.property(placementCase, (c) => {
        fc.pre(c.strategy === "spread");
        const doc = placementSpec(c);
        const r = check(toText(doc));
        fc.pre(r.valid);
        const plan = buildPlan(r.spec!);
        const hostFd = new Map<string, string>(
          doc.spec.substrate.proxmox.hosts.map((h: { name: string; failureDomain: string }) => [h.name, h.failureDomain]),
        );
        for (const n of plan.nodes) {
          assert.ok(n.placement.host, `node ${n.name} has no host`);
          assert.equal(hostFd.get(n.placement.host), n.failureDomain, `node ${n.name} of ${n.failureDomain} placed on ${n.placement.host}`);
        }
        for (let fd = 0; fd < c.domains; fd++) {
          const hosts = c.hosts[fd];
          for (const role of ["control-plane", "worker"] as const) {
            const mine = plan.nodes.filter((n) => n.failureDomain === `fd-${fd}` && n.role === role);
            const perHost = new Map<string, number>();
            for (const n of mine) perHost.set(n.placement.host!, (perHost.get(n.placement.host!) ?? 0) + 1);
            if (role === "control-plane" && mine.length <= hosts) {
              assert.equal(
                perHost.size,
                mine.length,
                `fd-${fd}: ${mine.length} control planes on ${hosts} hosts share a host: ${mine.map((n) => `${n.name}@${n.placement.host}`).join(" ")}`,
              );
            }
            // Spread keeps every role balanced over the domain's hosts (counts differ by at most one).
            const counts = [...Array(hosts).keys()].map((j) => perHost.get(`pve-${fd}-${j}`) ?? 0);
            assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `fd-${fd} ${role}s unbalanced: ${counts.join(",")}`);
          }
        }
      }),
      { seed: FC_SEED, numRuns: 200 },
    );
  });

  it("keeps every node on a host of its own failure domain when the strategy is pack", () => {
    fc.assert(
      fc.property(placementCase, (c) => {
        fc.pre(c.strategy === "pack");
        const doc = placementSpec(c);
        const r = check(toText(doc));
        fc.pre(r.valid);
        const plan = buildPlan(r.spec!);
        const first = new Map<string, string>();
        for (const h of doc.spec.substrate.proxmox.hosts) if (!first.has(h.failureDomain)) first.set(h.failureDomain, h.name);
        for (const n of plan.nodes)
          assert.equal(n.placement.host, first.get(n.failureDomain), `pack puts ${n.name} on its domain's first host`);
      }),
      { seed: FC_SEED, numRuns: 50 },
    );
  });

  it("places the dev stack's control planes on three different hosts when rack-a holds two of them", () => {
    const plan = planOf(DEV);
    assert.deepEqual(
      plan.nodes.map((n) => [n.name, n.placement.host]),
      [
        ["cp-1", "pve-a2"],
        ["cp-2", "pve-b1"],
        ["cp-3", "pve-a1"],
        ["w-1", "pve-a2"],
        ["w-2", "pve-b1"],
        ["w-3", "pve-a1"],
      ],
    );
  });

  it("gives no host when the seed declares no Proxmox hosts", () => {
    for (const n of planOf(SEED).nodes) assert.deepEqual(n.placement, {});
  });

  it("gives Hetzner nodes the location and placement group of their failure domain when the substrate is hetzner", () => {
    const plan = planOf(HETZNER);
    const loc: Record<string, string> = { fsn: "fsn1", nbg: "nbg1", hel: "hel1" };
    for (const n of plan.nodes) {
      assert.deepEqual(n.placement, { location: loc[n.failureDomain], placementGroup: `hz-01-${n.failureDomain}` }, n.name);
      assert.equal(n.vmid, undefined);
    }
    assert.deepEqual(
      plan.nodes.map((n) => n.placement.location),
      ["fsn1", "nbg1", "hel1", "fsn1", "nbg1", "hel1"],
    );
  });

  it("gives bare-metal nodes their declared address, port and host key when the substrate is baremetal", () => {
    const plan = planOf(BAREMETAL);
    const hosts = parseSpec(BAREMETAL).spec.substrate.baremetal.hosts as Array<{
      node: string;
      address: string;
      port?: number;
      hostKey: string;
    }>;
    assert.equal(plan.nodes.length, hosts.length);
    for (const n of plan.nodes) {
      const h = hosts.find((x) => x.node === n.name)!;
      assert.deepEqual(n.placement, { sshAddress: h.address, sshPort: h.port ?? 22, hostKey: h.hostKey }, n.name);
      assert.deepEqual(n.uplink, { address: h.address }, `${n.name} is reached on its declared address`);
      assert.equal(n.vmid, undefined);
    }
    assert.equal(plan.nodes.find((n) => n.name === "cp-3")!.placement.sshPort, 2222);
  });
});

// ---------------------------------------------------------------- digest

/** Rebuild every mapping with its keys in another order (lists keep their order: it is data). */
function reorderKeys(v: unknown, order: (keys: string[], path: string) => string[], path = ""): unknown {
  if (Array.isArray(v)) return v.map((x, i) => reorderKeys(x, order, `${path}[${i}]`));
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return Object.fromEntries(order(Object.keys(o), path).map((k) => [k, reorderKeys(o[k], order, `${path}.${k}`)]));
  }
  return v;
}

describe("buildPlan specDigest", () => {
  for (const [name, text] of [
    ["dev", DEV],
    ["prod", PROD],
    ["seed", SEED],
    ["hetzner", HETZNER],
    ["baremetal", BAREMETAL],
  ] as const) {
    it(`stays the same when the keys of the ${name} spec are written in reverse order`, () => {
      const reversed = toYaml(reorderKeys(parseSpec(text), (keys) => [...keys].reverse()) as SpecDoc);
      assert.notEqual(reversed, text);
      assert.equal(planOf(reversed).specDigest, planOf(text).specDigest);
    });
  }

  it("stays the same when keys are shuffled at every level", () => {
    const base = parseSpec(DEV);
    const expected = planOf(DEV).specDigest;
    fc.assert(
      fc.property(fc.integer(), (salt) => {
        // A deterministic per-mapping shuffle derived from the salt and the path.
        const shuffled = reorderKeys(base, (keys, path) => {
          let h = salt ^ path.length;
          for (const ch of path) h = (Math.imul(h, 31) + ch.charCodeAt(0)) | 0;
          return [...keys]
            .map((k, i) => [k, Math.imul(h ^ (i * 0x9e3779b9), 0x85ebca6b) >>> 0] as const)
            .sort((a, b) => a[1] - b[1])
            .map(([k]) => k);
        }) as SpecDoc;
        assert.equal(planOf(toYaml(shuffled)).specDigest, expected);
      }),
      { seed: FC_SEED, numRuns: 30 },
    );
  });

  it("stays the same when only comments, quoting and layout change", () => {
    // toYaml drops every comment and turns the flow mappings into block mappings.
    assert.equal(planOf(toYaml(parseSpec(DEV))).specDigest, planOf(DEV).specDigest);
    assert.equal(planOf(toText(parseSpec(DEV))).specDigest, planOf(DEV).specDigest);
  });

  const changes: Array<[what: string, edit: (d: SpecDoc) => void]> = [
    ["a label value", (d) => (d.metadata.labels.env = "lab2")],
    ["artifactVersion", (d) => (d.metadata.artifactVersion = "0.1.1")],
    ["joinWindowMinutes", (d) => (d.spec.security.enrollment.joinWindowMinutes = 31)],
    ["a plane CIDR", (d) => (d.spec.networking.planes.wg2.cidr = "10.112.1.0/24")],
    ["a node's cpu count", (d) => (d.spec.nodes.inventory[3].resources.cpu = 9)],
    ["a node's pinned ordinal", (d) => (d.spec.nodes.inventory[3].ordinal = 119)],
    ["allowDestroy", (d) => (d.spec.substrate.allowDestroy = true)],
    ["a host's failure domain", (d) => (d.spec.substrate.proxmox.hosts[1].failureDomain = "rack-b")],
  ];
  for (const [what, edit] of changes) {
    it(`changes when ${what} changes`, () => {
      const doc = parseSpec(DEV);
      edit(doc);
      assert.notEqual(planOfDoc(doc).specDigest, planOf(DEV).specDigest);
    });
  }

  it("is a sha256 of the spec when the plan is built", () => {
    assert.match(planOf(DEV).specDigest, /^sha256:[0-9a-f]{64}$/);
  });
});
