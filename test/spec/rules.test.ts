/**
 * Stage 0, rule by rule: for every rule id `validate` can report there is a valid spec with no
 * finding of that rule, and at least two mutations that make the rule fire. Each failing case
 * asserts the rule id, the severity, the formatted path, the line and column (located in the
 * mutated text, not hard-coded) and that the message names the offending value.
 */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { assignOrdinals, deriveOrdinal, HOST_OFFSET, ordinalSpace } from "../../components/plan/addressing";
import { RULE_IDS } from "../../components/spec/constraints";
import { formatPath, type Diagnostic, type Severity } from "../../components/spec/diagnostics";
import type { ClusterSpec } from "../../components/spec/schema";
import {
  after,
  BASES,
  mutate,
  pos,
  PROXMOX_IMAGE,
  readFixture,
  SEED,
  show,
  showAll,
  validate,
  type Base,
  type Edit,
  type Position,
} from "./helpers";

interface PassCase {
  /** Why the rule does not fire here. */
  name: string;
  base: Base;
  edits?: Edit[];
}

interface FailCase {
  /** Completes "rejects the spec when …" (errors) or "warns about the spec when …" (warnings). */
  when: string;
  base?: Base;
  edits: Edit[];
  severity?: Severity;
  /** Expected formatPath(d.path). */
  path: string;
  /** Expected position, located in the mutated text. */
  at: (text: string) => Position;
  /** Substrings the message must contain (the offending values). */
  contains: string[];
}

interface RuleCases {
  pass: PassCase[];
  fail: FailCase[];
}

// ---------------------------------------------------------------- address-collision helpers

function specOf(text: string): ClusterSpec {
  const r = validate(text);
  assert.ok(r.spec, `expected a valid spec:\n${showAll(r)}`);
  return r.spec;
}

const SEED_SPACE = ordinalSpace(specOf(SEED)).size;
const HETZNER_SPACE = ordinalSpace(specOf(BASES.hetzner)).size;

/** The first worker name `w-N` whose derived ordinal equals `target`'s (deterministic search). */
function collidingName(target: string, size: number, taken: string[]): string {
  const want = deriveOrdinal(target, size);
  for (let k = 2; k < 1_000_000; k++) {
    const name = `w-${k}`;
    if (!taken.includes(name) && deriveOrdinal(name, size) === want) return name;
  }
  throw new Error(`no name collides with ${target} in a space of ${size}`);
}

const SEED_NAMES = ["cp-1", "cp-2", "cp-3", "w-1"];
const COLLIDES_WITH_CP1 = collidingName("cp-1", SEED_SPACE, SEED_NAMES);
const CP1_ORDINAL = deriveOrdinal("cp-1", SEED_SPACE);
const CP2_ORDINAL = deriveOrdinal("cp-2", SEED_SPACE);
const HZ_CP1_ORDINAL = deriveOrdinal("cp-1", HETZNER_SPACE);

/** Uplink addresses the nodes of the clean Proxmox spec derive (10.0.10.0/24, host index 10 + ordinal). */
const UNDERLAY_SPEC = specOf(BASES.proxmox);
const UPLINK = new Map(assignOrdinals(UNDERLAY_SPEC).map((a) => [a.name, `10.0.10.${HOST_OFFSET + a.ordinal}`]));
/** A host index in the node range that no node uses. */
const FREE_NODE_RANGE_IP = (() => {
  const used = new Set(assignOrdinals(UNDERLAY_SPEC).map((a) => a.ordinal));
  const free = [...Array(ordinalSpace(UNDERLAY_SPEC).size).keys()].find((o) => !used.has(o));
  return `10.0.10.${HOST_OFFSET + (free as number)}`;
})();

// ---------------------------------------------------------------- environment profile

/** A clean environment profile with every kind of object (local adapters). */
const ENV_OK = {
  buckets: [
    {
      name: "artifacts",
      versioning: true,
      lifecycle: [{ id: "expire-tmp", prefix: "tmp/", expirationDays: 7 }],
      tags: { owner: "platform" },
    },
    { name: "scratch" },
  ],
  broker: {
    exchanges: [{ name: "events", type: "topic" }],
    queues: [{ name: "billing" }],
    bindings: [{ exchange: "events", queue: "billing", routingKey: "billing.*" }],
  },
  vector: { classes: [{ name: "Document", dimensions: 384, properties: [{ name: "title", dataType: "text" }] }] },
};
const ENV_SET: Edit[] = [{ set: "spec.environment", to: ENV_OK }];

// ---------------------------------------------------------------- the table

const inv = (i: number, rest = ""): string => `spec.nodes.inventory[${i}]${rest}`;

const RULES: Record<string, RuleCases> = {
  schema: {
    pass: [
      { name: "the seed spec", base: "seed" },
      { name: "the Hetzner fixture", base: "hetzner" },
      { name: "the bare-metal fixture", base: "baremetal" },
    ],
    fail: [
      {
        when: "a field name is misspelled",
        edits: [{ set: "spec.kubernetes.versoin", to: "v1.31.x" }],
        path: "spec.kubernetes.versoin",
        at: (t) => pos(t, "versoin:"),
        contains: ["unknown field versoin", "did you mean version?"],
      },
      {
        when: "a node role is not one of the allowed values",
        edits: [{ set: inv(1, ".role"), to: "master" }],
        path: inv(1, ".role"),
        at: (t) => after(t, "name: cp-2", "role: "),
        contains: ['"master"', '"control-plane"'],
      },
      {
        when: "joinWindowMinutes is below its minimum",
        edits: [{ set: "spec.security.enrollment.joinWindowMinutes", to: 0 }],
        path: "spec.security.enrollment.joinWindowMinutes",
        at: (t) => after(t, "joinWindowMinutes: "),
        contains: ["at least 1", "got 0"],
      },
      {
        when: "a plane CIDR is not an IPv4 CIDR",
        edits: [{ set: "spec.networking.planes.wg1.cidr", to: "10.101.0.0/33" }],
        path: "spec.networking.planes.wg1.cidr",
        at: (t) => pos(t, "10.101.0.0/33"),
        contains: ["10.101.0.0/33"],
      },
      {
        when: "controlPlaneReplicas is a string",
        edits: [{ set: "spec.kubernetes.ha.controlPlaneReplicas", to: "three" }],
        path: "spec.kubernetes.ha.controlPlaneReplicas",
        at: (t) => after(t, "controlPlaneReplicas: "),
        contains: ['"three"'],
      },
      {
        when: "a required field is missing (pointing at its parent)",
        edits: [{ delete: "metadata.artifactVersion" }],
        path: "metadata.artifactVersion",
        at: (t) => pos(t, "metadata:", "name: lab-01"),
        contains: ["artifactVersion is required"],
      },
      {
        when: "a Hetzner location code is malformed",
        base: "hetzner",
        edits: [{ set: "spec.substrate.hetzner.locations[1].name", to: "Nuremberg" }],
        path: "spec.substrate.hetzner.locations[1].name",
        at: (t) => pos(t, "Nuremberg"),
        contains: ['"Nuremberg"'],
      },
      {
        when: "a bare-metal host key is not an SSH public key",
        base: "baremetal",
        edits: [{ set: "spec.substrate.baremetal.hosts[3].hostKey", to: "ssh-ed25519 not!a!key" }],
        path: "spec.substrate.baremetal.hosts[3].hostKey",
        at: (t) => after(t, "node: w-1", "hostKey: "),
        contains: ["ssh-ed25519 not!a!key"],
      },
      {
        when: "a plane name is not an interface name (at the key, saying what a plane name is)",
        edits: [{ set: "spec.networking.planes.WG4", to: { cidr: "10.104.0.0/24", purpose: "storage" }, flow: true }],
        path: "spec.networking.planes.WG4",
        at: (t) => pos(t, "WG4:"),
        contains: ["WG4", "lower-case interface name"],
      },
      {
        when: "a plane is named __proto__",
        edits: [{ set: "spec.networking.planes.__proto__", to: {} }],
        path: "spec.networking.planes.__proto__",
        at: (t) => pos(t, "__proto__:"),
        contains: ["__proto__"],
      },
      {
        when: "the Hetzner block of a hetzner substrate is missing",
        base: "hetzner",
        edits: [{ delete: "spec.substrate.hetzner" }],
        path: "spec.substrate.hetzner",
        at: (t) => pos(t, "substrate:", "type: hetzner"),
        contains: ["hetzner is required"],
      },
    ],
  },

  "ha-quorum": {
    pass: [{ name: "the seed spec (3 replicas, 3 control planes)", base: "seed" }],
    fail: [
      {
        when: "controlPlaneReplicas is even",
        edits: [{ set: "spec.kubernetes.ha.controlPlaneReplicas", to: 4 }],
        path: "spec.kubernetes.ha.controlPlaneReplicas",
        at: (t) => after(t, "controlPlaneReplicas: "),
        contains: ["odd and ≥ 3", "got 4"],
      },
      {
        when: "controlPlaneReplicas is below 3",
        edits: [{ set: "spec.kubernetes.ha.controlPlaneReplicas", to: 1 }],
        path: "spec.kubernetes.ha.controlPlaneReplicas",
        at: (t) => after(t, "controlPlaneReplicas: "),
        contains: ["got 1"],
      },
      {
        when: "controlPlaneReplicas exceeds the control-plane nodes",
        edits: [{ set: "spec.kubernetes.ha.controlPlaneReplicas", to: 5 }],
        path: "spec.kubernetes.ha.controlPlaneReplicas",
        at: (t) => after(t, "controlPlaneReplicas: "),
        contains: ["controlPlaneReplicas is 5", "3 control-plane node(s) (cp-1, cp-2, cp-3)"],
      },
      {
        when: "a control plane is turned into a worker",
        edits: [{ set: inv(2, ".role"), to: "worker" }],
        path: "spec.kubernetes.ha.controlPlaneReplicas",
        at: (t) => after(t, "controlPlaneReplicas: "),
        contains: ["controlPlaneReplicas is 3", "2 control-plane node(s) (cp-1, cp-2)"],
      },
      {
        when: "the inventory has no control plane at all",
        edits: [0, 1, 2].map((i): Edit => ({ set: inv(i, ".role"), to: "worker" })).concat([{ delete: "spec.kubernetes.ha" }]),
        path: "spec.nodes.inventory",
        at: (t) => pos(t, "inventory:", "- name: cp-1"),
        contains: ["found 0"],
      },
    ],
  },

  "plane-cidr-overlap": {
    pass: [
      { name: "the seed spec (disjoint /24 planes)", base: "seed" },
      { name: "the Hetzner fixture (private network disjoint from the planes)", base: "hetzner" },
    ],
    fail: [
      {
        when: "a plane contains another plane",
        edits: [{ set: "spec.networking.planes.wg2.cidr", to: "10.101.0.0/16" }],
        path: "spec.networking.planes.wg2.cidr",
        at: (t) => pos(t, "wg2: ", "10.101.0.0/16"),
        contains: ["wg2 10.101.0.0/16 overlaps wg1 10.101.0.0/24"],
      },
      {
        when: "a plane sits inside the upper half of another",
        edits: [{ set: "spec.networking.planes.wg3.cidr", to: "10.101.0.128/25" }],
        path: "spec.networking.planes.wg3.cidr",
        at: (t) => pos(t, "wg3: ", "10.101.0.128/25"),
        contains: ["wg3 10.101.0.128/25 overlaps wg1 10.101.0.0/24"],
      },
      {
        when: "the Proxmox underlay overlaps a plane",
        edits: [{ set: "spec.networking.underlay", to: { cidr: "10.102.0.0/23", gateway: "10.102.0.1" } }],
        path: "spec.networking.underlay.cidr",
        at: (t) => after(t, "underlay:", "cidr: "),
        contains: ["underlay 10.102.0.0/23 overlaps wg2 10.102.0.0/24"],
      },
      {
        when: "the Hetzner private network overlaps a plane",
        base: "hetzner",
        edits: [{ set: "spec.substrate.hetzner.network.cidr", to: "10.96.0.0/11" }],
        path: "spec.substrate.hetzner.network.cidr",
        at: (t) => after(t, "network:", "cidr: "),
        contains: ["underlay 10.96.0.0/11 overlaps wg1 10.101.0.0/24"],
      },
    ],
  },

  "inter-plane-default": {
    pass: [{ name: "the seed spec (defaultInterPlane: deny)", base: "seed" }],
    fail: [
      {
        when: "defaultInterPlane is missing",
        edits: [{ delete: "spec.networking.policy.defaultInterPlane" }],
        path: "spec.networking.policy",
        at: (t) => pos(t, "policy:", "allow:"),
        contains: ["defaultInterPlane must be declared"],
      },
      {
        when: "the policy is empty",
        edits: [{ delete: "spec.networking.policy.defaultInterPlane" }, { delete: "spec.networking.policy.allow" }],
        path: "spec.networking.policy",
        at: (t) => pos(t, "policy: ", "{}"),
        contains: ["defaultInterPlane must be declared"],
      },
      {
        when: "defaultInterPlane is allow",
        edits: [{ set: "spec.networking.policy.defaultInterPlane", to: "allow" }],
        severity: "warning",
        path: "spec.networking.policy.defaultInterPlane",
        at: (t) => after(t, "defaultInterPlane: "),
        contains: ["defaultInterPlane is allow"],
      },
    ],
  },

  "destructive-flags-explicit": {
    pass: [{ name: "the seed spec (all four flags false)", base: "seed" }],
    fail: [
      {
        when: "allowDestroy is missing (pointing at the substrate)",
        edits: [{ delete: "spec.substrate.allowDestroy" }],
        path: "spec.substrate.allowDestroy",
        at: (t) => pos(t, "substrate:", "type: proxmox"),
        contains: ["allowDestroy is missing"],
      },
      {
        when: "allowWipe is a string",
        edits: [{ set: "spec.orchestration.ansible.safety.allowWipe", to: "no" }],
        path: "spec.orchestration.ansible.safety.allowWipe",
        at: (t) => after(t, "allowWipe: "),
        contains: ["allowWipe must be true or false", 'got "no"'],
      },
      {
        when: "allowRepartition is null",
        edits: [{ set: "spec.orchestration.ansible.safety.allowRepartition", to: null }],
        path: "spec.orchestration.ansible.safety.allowRepartition",
        at: (t) => after(t, "allowRepartition: "),
        contains: ["allowRepartition must be true or false", "got null"],
      },
      {
        when: "allowReset is missing (pointing at kubernetes)",
        edits: [{ delete: "spec.kubernetes.allowReset" }],
        path: "spec.kubernetes.allowReset",
        at: (t) => pos(t, "\n  kubernetes:", "enabled: true"),
        contains: ["allowReset is missing"],
      },
      {
        when: "allowDestroy is missing on Hetzner",
        base: "hetzner",
        edits: [{ delete: "spec.substrate.allowDestroy" }],
        path: "spec.substrate.allowDestroy",
        at: (t) => pos(t, "substrate:", "type: hetzner"),
        contains: ["allowDestroy is missing"],
      },
    ],
  },

  "vlan-trunk-consistency": {
    pass: [{ name: "the seed spec (VLAN 10 trunked on vmbr0)", base: "seed" }],
    fail: [
      {
        when: "a NIC VLAN is not trunked by its bridge",
        edits: [{ set: inv(1, ".nics[0].vlan"), to: 40 }],
        path: inv(1, ".nics[0].vlan"),
        at: (t) => pos(t, "name: cp-2", "vlan: ", "40"),
        contains: ["node cp-2 NIC 0 is tagged VLAN 40", "trunks [10, 20, 30]"],
      },
      {
        when: "a NIC names an undeclared bridge",
        edits: [{ set: inv(0, ".nics[0].bridge"), to: "vmbr9" }],
        path: inv(0, ".nics[0].bridge"),
        at: (t) => pos(t, "name: cp-1", "vmbr9"),
        contains: ["bridge vmbr9, which is not declared", "bridges: vmbr0"],
      },
      {
        when: "the bridge carrying tagged NICs is not VLAN-aware",
        edits: [{ set: "spec.substrate.proxmox.bridges[0].vlanAware", to: false }],
        path: inv(3, ".nics[0].vlan"),
        at: (t) => pos(t, "name: w-1", "vlan: ", "10"),
        contains: ["node w-1 NIC 0 is tagged VLAN 10", "vmbr0 is not vlanAware"],
      },
      {
        when: "a bridge that is not VLAN-aware lists trunks",
        edits: [
          { set: "spec.substrate.proxmox.bridges[0].vlanAware", to: false },
          ...[0, 1, 2, 3].map((i): Edit => ({ delete: inv(i, ".nics[0].vlan") })),
        ],
        severity: "warning",
        path: "spec.substrate.proxmox.bridges[0].trunks",
        at: (t) => pos(t, "trunks: ", "["),
        contains: ["bridge vmbr0 lists trunks"],
      },
    ],
  },

  "ceph-replication": {
    pass: [
      { name: "the seed spec (Ceph disabled)", base: "seed" },
      { name: "Ceph size 3 / minSize 2 over 3 racks with OSD disks", base: "ceph" },
    ],
    fail: [
      {
        when: "minSize exceeds size",
        base: "ceph",
        edits: [{ set: "spec.storage.ceph.minSize", to: 4 }],
        path: "spec.storage.ceph.minSize",
        at: (t) => after(t, "minSize: "),
        contains: ["minSize 4 exceeds size 3"],
      },
      {
        when: "size exceeds the listed failure domains",
        base: "ceph",
        edits: [{ set: "spec.storage.ceph.size", to: 4 }],
        path: "spec.storage.ceph.failureDomains",
        at: (t) => pos(t, "ceph:", "failureDomains:", "- rack-a"),
        contains: ["size 4 needs 4 failure domains", "3 are listed (rack-a, rack-b, rack-c)"],
      },
      {
        when: "an enabled Ceph has no recovery block (pointing at ceph)",
        base: "ceph",
        edits: [{ delete: "spec.storage.ceph.recovery" }],
        path: "spec.storage.ceph",
        at: (t) => pos(t, "ceph:", "enabled: true"),
        contains: ["recovery is missing"],
      },
      {
        when: "the OSD nodes sit in fewer failure domains than size",
        base: "ceph",
        edits: [{ set: inv(2, ".failureDomain"), to: "rack-a" }],
        path: "spec.storage.ceph.size",
        at: (t) => after(t, "ceph:", "size: "),
        contains: ["size 3 needs OSD nodes in 3 distinct failure domains", "found 3 node(s) in 2 (rack-a, rack-b)"],
      },
      {
        when: "failureDomains lists a domain twice",
        base: "ceph",
        edits: [{ set: "spec.storage.ceph.failureDomains[2]", to: "rack-a" }],
        path: "spec.storage.ceph.failureDomains",
        at: (t) => pos(t, "ceph:", "failureDomains:", "- rack-a"),
        contains: ["lists a domain twice (rack-a, rack-b, rack-a)"],
      },
      {
        when: "no Proxmox node has an OSD disk (pointing at ceph)",
        base: "ceph",
        edits: [0, 1, 2].map((i): Edit => ({ delete: inv(i, ".disks[1]") })),
        path: "spec.storage.ceph",
        at: (t) => pos(t, "ceph:", "enabled: true"),
        contains: ["no node has a disk with purpose: ceph-osd"],
      },
      {
        when: "minSize 1 accepts single-copy writes",
        base: "ceph",
        edits: [{ set: "spec.storage.ceph.minSize", to: 1 }],
        severity: "warning",
        path: "spec.storage.ceph.minSize",
        at: (t) => after(t, "minSize: "),
        contains: ["minSize 1"],
      },
    ],
  },

  "failure-domain-quorum": {
    pass: [
      { name: "control planes in 3 racks", base: "proxmox" },
      { name: "the Hetzner fixture (one control plane per location)", base: "hetzner" },
    ],
    fail: [
      {
        when: "two of three control planes share a rack",
        base: "proxmox",
        edits: [{ set: inv(2, ".failureDomain"), to: "rack-b" }],
        severity: "warning",
        path: "spec.nodes.failureDomains",
        at: (t) => pos(t, "failureDomains:", "- name: rack-a"),
        contains: ["failure domain rack-b holds 2 of 3 control planes (cp-2, cp-3)"],
      },
      {
        when: "every control plane is in one rack",
        base: "proxmox",
        edits: [
          { set: inv(1, ".failureDomain"), to: "rack-a" },
          { set: inv(2, ".failureDomain"), to: "rack-a" },
        ],
        severity: "warning",
        path: "spec.nodes.failureDomains",
        at: (t) => pos(t, "failureDomains:", "- name: rack-a"),
        contains: ["failure domain rack-a holds 3 of 3 control planes (cp-1, cp-2, cp-3)"],
      },
      {
        when: "the seed puts cp-1 and cp-3 in rack-a",
        base: "seed",
        edits: [],
        severity: "warning",
        path: "spec.nodes.failureDomains",
        at: (t) => pos(t, "failureDomains:", "- name: rack-a"),
        contains: ["failure domain rack-a holds 2 of 3 control planes (cp-1, cp-3)"],
      },
      {
        when: "two Hetzner control planes share a location",
        base: "hetzner",
        edits: [{ set: inv(1, ".failureDomain"), to: "fsn" }],
        severity: "warning",
        path: "spec.nodes.failureDomains",
        at: (t) => pos(t, "failureDomains:", "- name: fsn"),
        contains: ["failure domain fsn holds 2 of 3 control planes (cp-1, cp-2)"],
      },
    ],
  },

  "known-planes": {
    pass: [{ name: "the seed spec (every named plane declared)", base: "seed" }],
    fail: [
      {
        when: "an allow rule names an undeclared plane",
        edits: [{ set: "spec.networking.policy.allow[0].to", to: "wg9" }],
        path: "spec.networking.policy.allow[0].to",
        at: (t) => pos(t, "allow:", "to: ", "wg9"),
        contains: ["plane wg9, which is not declared", "planes: wg1, wg2, wg3"],
      },
      {
        when: "observability binds to an undeclared plane",
        edits: [{ set: "spec.kubernetes.observability.bindPlane", to: "wg7" }],
        path: "spec.kubernetes.observability.bindPlane",
        at: (t) => after(t, "bindPlane: "),
        contains: ["bindPlane wg7 is not a declared plane"],
      },
      {
        when: "an allow rule goes from a plane to itself",
        edits: [{ set: "spec.networking.policy.allow[1].from", to: "wg3" }],
        path: "spec.networking.policy.allow[1]",
        at: (t) => pos(t, "{ from: wg3"),
        contains: ["from wg3 to itself"],
      },
      {
        when: "Ceph binds to an undeclared plane",
        base: "ceph",
        edits: [{ set: "spec.storage.ceph.plane", to: "wg5" }],
        path: "spec.storage.ceph.plane",
        at: (t) => after(t, "ceph:", "plane: "),
        contains: ["ceph plane wg5 is not a declared plane"],
      },
      {
        when: "no plane carries the Kubernetes backend",
        edits: [{ set: "spec.networking.planes.wg3.purpose", to: "storage" }],
        path: "spec.networking.planes",
        at: (t) => pos(t, "planes:", "wg1:"),
        contains: ["no plane has purpose: kubernetes-backend"],
      },
      {
        when: "observability binds to a plane of another purpose",
        edits: [{ set: "spec.kubernetes.observability.bindPlane", to: "wg1" }],
        severity: "warning",
        path: "spec.kubernetes.observability.bindPlane",
        at: (t) => after(t, "bindPlane: "),
        contains: ["bindPlane wg1 has purpose control"],
      },
      {
        when: "Ceph binds to a plane that is not a storage plane",
        base: "ceph",
        edits: [{ set: "spec.storage.ceph.plane", to: "wg3" }],
        severity: "warning",
        path: "spec.storage.ceph.plane",
        at: (t) => after(t, "ceph:", "plane: "),
        contains: ["ceph plane wg3 has purpose kubernetes-backend"],
      },
    ],
  },

  "addressing-mode": {
    pass: [
      { name: "the seed spec (deterministic, no addresses)", base: "seed" },
      { name: "static mode with every node addressed on every plane", base: "static" },
    ],
    fail: [
      {
        when: "mode is dhcp-resolved",
        edits: [{ set: "spec.networking.addressing.mode", to: "dhcp-resolved" }],
        path: "spec.networking.addressing.mode",
        at: (t) => after(t, "addressing:", "mode: "),
        contains: ["dhcp-resolved cannot address WireGuard planes"],
      },
      {
        when: "a node declares addresses in deterministic mode",
        edits: [{ set: inv(2, ".addresses"), to: { wg1: "10.101.0.50" }, flow: true }],
        path: inv(2, ".addresses"),
        at: (t) => pos(t, "name: cp-3", "addresses: ", "{"),
        contains: ["node cp-3 declares addresses", "deterministic"],
      },
      {
        when: "a static address lies outside its plane",
        base: "static",
        edits: [{ set: inv(0, ".addresses.wg1"), to: "10.102.0.5" }],
        path: inv(0, ".addresses.wg1"),
        at: (t) => pos(t, "name: cp-1", "10.102.0.5"),
        contains: ["node cp-1 address 10.102.0.5 is not a host address of plane wg1 10.101.0.0/24"],
      },
      {
        when: "a static address is the plane's network address",
        base: "static",
        edits: [{ set: inv(1, ".addresses.wg3"), to: "10.103.0.0" }],
        path: inv(1, ".addresses.wg3"),
        at: (t) => pos(t, "name: cp-2", "wg3: ", "10.103.0.0"),
        contains: ["node cp-2 address 10.103.0.0 is not a host address of plane wg3"],
      },
      {
        when: "two nodes share a static address",
        base: "static",
        edits: [{ set: inv(3, ".addresses.wg2"), to: "10.102.0.10" }],
        path: inv(3, ".addresses.wg2"),
        at: (t) => pos(t, "name: w-1", "wg2: ", "10.102.0.10"),
        contains: ["node w-1 address 10.102.0.10 on wg2 is already used by cp-1"],
      },
      {
        when: "a static node misses a plane",
        base: "static",
        edits: [{ delete: inv(1, ".addresses.wg3") }],
        path: inv(1, ".addresses"),
        at: (t) => pos(t, "name: cp-2", "addresses: ", "{"),
        contains: ["node cp-2 has no address on plane wg3", "wg3: 10.103.0.10"],
      },
    ],
  },

  "plane-capacity": {
    pass: [{ name: "the seed spec (4 nodes in a space of 100)", base: "seed" }],
    fail: [
      {
        when: "a pinned ordinal lies outside the ordinal space",
        edits: [{ set: inv(0, ".ordinal"), to: 150 }],
        path: inv(0, ".ordinal"),
        at: (t) => after(t, "name: cp-1", "ordinal: "),
        contains: ["node cp-1 pins ordinal 150", "0..99", "vmidRange 2000-2099"],
      },
      {
        when: "a plane is too small for the inventory",
        edits: [{ set: "spec.networking.planes.wg1.cidr", to: "10.101.0.0/29" }],
        path: "spec.nodes.inventory",
        at: (t) => pos(t, "inventory:", "- name: cp-1"),
        contains: ["4 nodes do not fit", "holds 0", "wg1 10.101.0.0/29"],
      },
      {
        when: "the vmid range is too small for the inventory",
        edits: [{ set: "spec.substrate.proxmox.vmidRange.end", to: 2002 }],
        path: "spec.nodes.inventory",
        at: (t) => pos(t, "inventory:", "- name: cp-1"),
        contains: ["4 nodes do not fit", "holds 3", "vmidRange 2000-2002"],
      },
      {
        when: "the Hetzner private network is too small for the inventory",
        base: "hetzner",
        edits: [{ set: "spec.substrate.hetzner.network.cidr", to: "10.0.0.0/28" }],
        path: "spec.nodes.inventory",
        at: (t) => pos(t, "inventory:", "- name: cp-1"),
        contains: ["6 nodes do not fit", "underlay 10.0.0.0/28"],
      },
    ],
  },

  "address-collision": {
    pass: [
      { name: "the seed spec (derived ordinals are distinct)", base: "seed" },
      { name: "the Hetzner fixture", base: "hetzner" },
    ],
    fail: [
      {
        when: "two nodes pin the same ordinal",
        edits: [
          { set: inv(0, ".ordinal"), to: 7 },
          { set: inv(3, ".ordinal"), to: 7 },
        ],
        path: inv(3),
        at: (t) => pos(t, "name: w-1"),
        contains: ["node w-1 and node cp-1 both use ordinal 7"],
      },
      {
        when: "two node names derive the same ordinal",
        edits: [{ set: inv(3, ".name"), to: COLLIDES_WITH_CP1 }],
        path: inv(3),
        at: (t) => pos(t, `name: ${COLLIDES_WITH_CP1}`),
        contains: [`node ${COLLIDES_WITH_CP1} and node cp-1 both derive ordinal ${CP1_ORDINAL}`],
      },
      {
        when: "a pinned ordinal equals another node's derived one",
        edits: [{ set: inv(3, ".ordinal"), to: CP2_ORDINAL }],
        path: inv(3),
        at: (t) => pos(t, "name: w-1"),
        contains: [`node w-1 and node cp-2 both use ordinal ${CP2_ORDINAL}`],
      },
      {
        when: "a Hetzner worker pins a control plane's ordinal",
        base: "hetzner",
        edits: [{ set: inv(5, ".ordinal"), to: HZ_CP1_ORDINAL }],
        path: inv(5),
        at: (t) => pos(t, "name: w-3"),
        contains: [`node w-3 and node cp-1 both use ordinal ${HZ_CP1_ORDINAL}`],
      },
    ],
  },

  "unique-names": {
    pass: [
      { name: "the seed spec", base: "seed" },
      { name: "the bare-metal fixture", base: "baremetal" },
    ],
    fail: [
      {
        when: "two nodes share a name",
        edits: [{ set: inv(3, ".name"), to: "cp-1" }],
        path: inv(3),
        at: (t) => pos(t, "name: cp-1", "name: cp-1"),
        contains: ["node name cp-1 is used twice"],
      },
      {
        when: "two failure domains share a name",
        edits: [{ set: "spec.nodes.failureDomains[1].name", to: "rack-a" }],
        path: "spec.nodes.failureDomains[1]",
        at: (t) => pos(t, "failureDomains:", "name: rack-a", "name: rack-a"),
        contains: ["failure domain name rack-a is used twice"],
      },
      {
        when: "two storage pools share a name",
        edits: [{ append: "spec.substrate.proxmox.storagePools", item: { name: "fast-zfs", type: "lvmthin" } }],
        path: "spec.substrate.proxmox.storagePools[1]",
        at: (t) => pos(t, "storagePools:", "name: fast-zfs", "name: fast-zfs"),
        contains: ["storage pool name fast-zfs is used twice"],
      },
      {
        when: "two Hetzner locations share a name",
        base: "hetzner",
        edits: [{ append: "spec.substrate.hetzner.locations", item: { name: "fsn1", failureDomain: "fsn" }, flow: true }],
        path: "spec.substrate.hetzner.locations[3]",
        at: (t) => pos(t, "locations:", "{ name: fsn1", "{ name: fsn1"),
        contains: ["Hetzner location name fsn1 is used twice"],
      },
      {
        when: "two bare-metal host entries name the same node",
        base: "baremetal",
        edits: [{ set: "spec.substrate.baremetal.hosts[4].node", to: "w-1" }],
        path: "spec.substrate.baremetal.hosts[4]",
        at: (t) => pos(t, "node: w-1", "node: w-1"),
        contains: ["bare-metal host name w-1 is used twice"],
      },
    ],
  },

  "known-references": {
    pass: [
      { name: "the seed spec", base: "seed" },
      { name: "the bare-metal fixture (sshUser allowed)", base: "baremetal" },
    ],
    fail: [
      {
        when: "a node names an undeclared failure domain",
        edits: [{ set: inv(3, ".failureDomain"), to: "rack-z" }],
        path: inv(3, ".failureDomain"),
        at: (t) => pos(t, "name: w-1", "rack-z"),
        contains: ["node w-1 names failure domain rack-z", "failure domains: rack-a, rack-b"],
      },
      {
        when: "a disk names an undeclared storage pool",
        edits: [{ set: inv(0, ".disks[0].pool"), to: "slow-lvm" }],
        path: inv(0, ".disks[0].pool"),
        at: (t) => pos(t, "slow-lvm"),
        contains: ["node cp-1 disk 0 uses pool slow-lvm", "pools: fast-zfs"],
      },
      {
        when: "zfs lists an undeclared pool",
        edits: [{ append: "spec.storage.zfs.pools", item: "ghost" }],
        path: "spec.storage.zfs.pools[1]",
        at: (t) => pos(t, "pools: ", "ghost"),
        contains: ["zfs pool ghost is not a declared storage pool"],
      },
      {
        when: "zfs lists a pool that is not ZFS",
        edits: [
          { append: "spec.substrate.proxmox.storagePools", item: { name: "bulk", type: "lvmthin" } },
          { append: "spec.storage.zfs.pools", item: "bulk" },
        ],
        path: "spec.storage.zfs.pools[1]",
        at: (t) => pos(t, "pools: ", "bulk"),
        contains: ["zfs pool bulk is a lvmthin pool"],
      },
      {
        when: "the bare-metal sshUser is not an allowed SSH user",
        base: "baremetal",
        edits: [{ set: "spec.substrate.baremetal.sshUser", to: "root" }],
        path: "spec.substrate.baremetal.sshUser",
        at: (t) => after(t, "sshUser: "),
        contains: ["sshUser root is not in security.ssh.allowUsers (ops)"],
      },
      {
        when: "a bare-metal host entry names a node not in the inventory",
        base: "baremetal",
        edits: [{ set: "spec.substrate.baremetal.hosts[4].node", to: "w-9" }],
        path: "spec.substrate.baremetal.hosts[4].node",
        at: (t) => after(t, "node: w-1", "node: "),
        contains: ["names node w-9, which is not in the inventory"],
      },
      {
        when: "a Hetzner location names an undeclared failure domain",
        base: "hetzner",
        edits: [{ set: "spec.substrate.hetzner.locations[2].failureDomain", to: "helsinki" }],
        path: "spec.substrate.hetzner.locations[2].failureDomain",
        at: (t) => pos(t, "helsinki"),
        contains: ["location hel1 names failure domain helsinki"],
      },
    ],
  },

  "substrate-node-shape": {
    pass: [
      { name: "the seed spec (every VM has resources, one OS disk, one uplink)", base: "seed" },
      { name: "the bare-metal fixture (a host entry per node)", base: "baremetal" },
    ],
    fail: [
      {
        when: "a Proxmox node has no resources",
        edits: [{ delete: inv(3, ".resources") }],
        path: inv(3),
        at: (t) => pos(t, "name: w-1"),
        contains: ["node w-1 has no resources"],
      },
      {
        when: "a Proxmox node has two OS disks",
        edits: [{ append: inv(1, ".disks"), item: { pool: "fast-zfs", sizeGiB: 32, purpose: "os" }, flow: true }],
        path: inv(1, ".disks"),
        at: (t) => pos(t, "name: cp-2", "disks:", "- {"),
        contains: ["node cp-2 has 2 disks with purpose os"],
      },
      {
        when: "a Proxmox node has no uplink NIC",
        edits: [{ set: inv(2, ".nics[0].purpose"), to: "mgmt" }],
        path: inv(2, ".nics"),
        at: (t) => pos(t, "name: cp-3", "nics:", "- {"),
        contains: ["node cp-3 has 0 NICs with purpose uplink"],
      },
      {
        when: "a bare-metal node has no host entry",
        base: "baremetal",
        edits: [{ delete: "spec.substrate.baremetal.hosts[4]" }],
        path: inv(4),
        at: (t) => pos(t, "inventory:", "name: w-2"),
        contains: ["node w-2 has no entry in substrate.baremetal.hosts"],
      },
      {
        when: "a Hetzner node declares Proxmox disks",
        base: "hetzner",
        edits: [{ set: inv(3, ".disks"), to: [{ pool: "fast-zfs", sizeGiB: 64, purpose: "os" }] }],
        severity: "warning",
        path: inv(3, ".disks"),
        at: (t) => pos(t, "name: w-1", "disks:", "- "),
        contains: ["node w-1 declares disks", "hetzner ignores them"],
      },
    ],
  },

  "vmid-range": {
    pass: [{ name: "the seed spec (2000-2099 for 4 nodes)", base: "seed" }],
    fail: [
      {
        when: "the vmid range is reversed",
        edits: [
          { set: "spec.substrate.proxmox.vmidRange.start", to: 2099 },
          { set: "spec.substrate.proxmox.vmidRange.end", to: 2000 },
        ],
        path: "spec.substrate.proxmox.vmidRange",
        at: (t) => pos(t, "vmidRange: ", "{"),
        contains: ["vmidRange end 2000 is before start 2099"],
      },
      {
        when: "the vmid range holds fewer vmids than nodes",
        edits: [{ set: "spec.substrate.proxmox.vmidRange.end", to: 2002 }],
        path: "spec.substrate.proxmox.vmidRange",
        at: (t) => pos(t, "vmidRange: ", "{"),
        contains: ["vmidRange 2000-2002 holds 3 vmids", "4 nodes"],
      },
    ],
  },

  "placement-hosts": {
    pass: [
      { name: "a Proxmox host in every failure domain", base: "proxmox" },
      { name: "the Hetzner fixture (one location per failure domain)", base: "hetzner" },
    ],
    fail: [
      {
        when: "no Proxmox hosts are declared",
        base: "proxmox",
        edits: [{ delete: "spec.substrate.proxmox.hosts" }],
        severity: "warning",
        path: "spec.substrate.proxmox",
        at: (t) => pos(t, "proxmox:", "clusterName:"),
        contains: ["no Proxmox hosts are declared"],
      },
      {
        when: "a failure domain with nodes has no Proxmox host",
        base: "proxmox",
        edits: [{ delete: "spec.substrate.proxmox.hosts[2]" }],
        path: "spec.substrate.proxmox.hosts",
        at: (t) => pos(t, "hosts:", "- name: pve-a"),
        contains: ["failure domain rack-c has nodes but no Proxmox host"],
      },
      {
        when: "a failure domain maps to two Hetzner locations",
        base: "hetzner",
        edits: [{ set: "spec.substrate.hetzner.locations[1].failureDomain", to: "fsn" }],
        path: "spec.substrate.hetzner.locations",
        at: (t) => pos(t, "locations:", "- {"),
        contains: ["failure domain fsn maps to 2 Hetzner locations"],
      },
      {
        when: "a failure domain maps to no Hetzner location",
        base: "hetzner",
        edits: [{ set: "spec.substrate.hetzner.locations[1].failureDomain", to: "fsn" }],
        path: "spec.substrate.hetzner.locations",
        at: (t) => pos(t, "locations:", "- {"),
        contains: ["failure domain nbg maps to 0 Hetzner locations"],
      },
    ],
  },

  "underlay-addresses": {
    pass: [
      { name: "gateway and resolver at reserved host indices (the clean Proxmox spec)", base: "proxmox" },
      { name: "the seed spec (no underlay)", base: "seed" },
    ],
    fail: [
      {
        when: "the gateway lies outside the underlay",
        base: "proxmox",
        edits: [{ set: "spec.networking.underlay.gateway", to: "10.0.11.1" }],
        path: "spec.networking.underlay.gateway",
        at: (t) => after(t, "gateway: "),
        contains: ["gateway 10.0.11.1 is not a host address of the underlay 10.0.10.0/24"],
      },
      {
        when: "the gateway is the underlay's network address",
        base: "proxmox",
        edits: [{ set: "spec.networking.underlay.gateway", to: "10.0.10.0" }],
        path: "spec.networking.underlay.gateway",
        at: (t) => after(t, "gateway: "),
        contains: ["gateway 10.0.10.0 is not a host address"],
      },
      {
        when: "the gateway is a node's uplink address",
        base: "proxmox",
        edits: [{ set: "spec.networking.underlay.gateway", to: UPLINK.get("cp-1") }],
        path: "spec.networking.underlay.gateway",
        at: (t) => after(t, "gateway: "),
        contains: [`gateway ${UPLINK.get("cp-1")} is node cp-1's uplink address`],
      },
      {
        when: "the gateway lies in the node range",
        base: "proxmox",
        edits: [{ set: "spec.networking.underlay.gateway", to: FREE_NODE_RANGE_IP }],
        severity: "warning",
        path: "spec.networking.underlay.gateway",
        at: (t) => after(t, "gateway: "),
        contains: [`gateway ${FREE_NODE_RANGE_IP} lies in the node range`],
      },
      {
        when: "a nameserver is a node's uplink address",
        base: "proxmox",
        edits: [{ append: "spec.networking.underlay.nameservers", item: UPLINK.get("cp-2") }],
        path: "spec.networking.underlay.nameservers[1]",
        at: (t) => pos(t, "nameservers:", UPLINK.get("cp-2") as string),
        contains: [`nameserver ${UPLINK.get("cp-2")} is node cp-2's uplink address`],
      },
    ],
  },

  "acceptance-gates": {
    pass: [
      { name: "the seed spec (every gate tests something deployed)", base: "seed" },
      { name: "the Hetzner fixture (observability-stack with observability on)", base: "hetzner" },
    ],
    fail: [
      {
        when: "hubble-flows is required but Hubble is off",
        edits: [{ set: "spec.kubernetes.cni.hubble", to: false }],
        path: "spec.acceptance.required[4]",
        at: (t) => pos(t, "required:", "hubble-flows"),
        contains: ["gate hubble-flows is required but can never pass: kubernetes.cni.hubble is false"],
      },
      {
        when: "observability-stack is required but observability is off",
        base: "hetzner",
        edits: [{ set: "spec.kubernetes.observability.enabled", to: false }],
        path: "spec.acceptance.required[5]",
        at: (t) => pos(t, "required:", "observability-stack"),
        contains: ["gate observability-stack is required but can never pass: observability is not enabled"],
      },
      {
        when: "k8s-health is required but Kubernetes is off",
        edits: [{ set: "spec.kubernetes.enabled", to: false }],
        path: "spec.acceptance.required[2]",
        at: (t) => pos(t, "required:", "k8s-health"),
        contains: ["gate k8s-health is required but can never pass: kubernetes.enabled is false"],
      },
      {
        when: "the delete-control-plane drill has no HA control plane",
        edits: [{ delete: "spec.kubernetes.ha" }],
        path: "spec.acceptance.drills[1].name",
        at: (t) => pos(t, "drills:", "delete-control-plane"),
        contains: ["drill delete-control-plane needs an HA control plane"],
      },
    ],
  },

  "ssh-key-only": {
    pass: [
      { name: "passwordAuth false with an authorized key", base: "proxmox" },
      { name: "the bare-metal fixture", base: "baremetal" },
    ],
    fail: [
      {
        when: "passwordAuth is true",
        edits: [{ set: "spec.security.ssh.passwordAuth", to: true }],
        path: "spec.security.ssh.passwordAuth",
        at: (t) => after(t, "passwordAuth: "),
        // The value is a boolean: "must be false" names it; there is no other value to quote.
        contains: ["passwordAuth must be false"],
      },
      {
        when: "passwordAuth is true on bare metal",
        base: "baremetal",
        edits: [{ set: "spec.security.ssh.passwordAuth", to: true }],
        path: "spec.security.ssh.passwordAuth",
        at: (t) => after(t, "passwordAuth: "),
        contains: ["passwordAuth must be false"],
      },
      {
        when: "no authorizedKeys are declared",
        base: "seed",
        edits: [],
        severity: "warning",
        path: "spec.security.ssh",
        at: (t) => pos(t, "ssh:", "allowUsers:"),
        contains: ["no authorizedKeys are declared", "ops can only log in"],
      },
    ],
  },

  "trust-bootstrap": {
    pass: [
      { name: "offline-ca with a real fingerprint", base: "proxmox" },
      { name: "pinned-ca with a real fingerprint", base: "baremetal" },
    ],
    fail: [
      {
        when: "the model is to-fu",
        base: "proxmox",
        edits: [{ set: "spec.security.bootstrap.model", to: "to-fu" }],
        severity: "warning",
        path: "spec.security.bootstrap.model",
        at: (t) => after(t, "bootstrap:", "model: "),
        contains: ["to-fu trusts the first key"],
      },
      {
        when: "pinned-ca has no fingerprint",
        base: "baremetal",
        edits: [{ delete: "spec.security.bootstrap.caFingerprint" }],
        path: "spec.security.bootstrap",
        at: (t) => pos(t, "bootstrap:", "model:"),
        contains: ["model pinned-ca needs caFingerprint"],
      },
      {
        when: "the fingerprint is too short",
        base: "proxmox",
        edits: [{ set: "spec.security.bootstrap.caFingerprint", to: "sha256:abc123" }],
        severity: "warning",
        path: "spec.security.bootstrap.caFingerprint",
        at: (t) => after(t, "caFingerprint: "),
        contains: ["caFingerprint sha256:abc123 is not sha256:<64 hex>"],
      },
      {
        when: "the seed's fingerprint is the placeholder sha256:REDACTED",
        base: "seed",
        edits: [],
        severity: "warning",
        path: "spec.security.bootstrap.caFingerprint",
        at: (t) => after(t, "caFingerprint: "),
        contains: ["caFingerprint sha256:REDACTED"],
      },
    ],
  },

  "plane-ports": {
    pass: [
      { name: "the seed spec (wg1..wg3 default to 51821..51823)", base: "seed" },
      {
        name: "a plane not named wgN with its own port, beside explicit ports on wgN planes",
        base: "proxmox",
        edits: [
          { set: "spec.networking.planes.storage", to: { cidr: "10.104.0.0/24", purpose: "storage", port: 51830 }, flow: true },
          { set: "spec.networking.planes.wg1.port", to: 51900 },
        ],
      },
      { name: "the Hetzner fixture", base: "hetzner" },
    ],
    fail: [
      {
        when: "a plane's explicit port is another plane's default (wg2 on wg1's 51821)",
        base: "proxmox",
        edits: [{ set: "spec.networking.planes.wg2.port", to: 51821 }],
        path: "spec.networking.planes.wg2.port",
        at: (t) => after(t, "wg2: ", "port: "),
        contains: ["plane wg2 uses UDP port 51821, already used by plane wg1"],
      },
      {
        when: "two planes set the same explicit port",
        base: "proxmox",
        edits: [
          { set: "spec.networking.planes.wg1.port", to: 51900 },
          { set: "spec.networking.planes.wg3.port", to: 51900 },
        ],
        path: "spec.networking.planes.wg3.port",
        at: (t) => after(t, "wg3: ", "port: "),
        contains: ["plane wg3 uses UDP port 51900, already used by plane wg1"],
      },
      {
        when: "a plane not named wgN has no port (no default applies)",
        base: "proxmox",
        edits: [{ set: "spec.networking.planes.storage", to: { cidr: "10.104.0.0/24", purpose: "storage" }, flow: true }],
        path: "spec.networking.planes.storage",
        at: (t) => pos(t, "planes:", "storage: ", "{"),
        contains: ["plane storage has no port and its name is not wgN"],
      },
      {
        when: "a Hetzner plane takes another plane's default port",
        base: "hetzner",
        edits: [{ set: "spec.networking.planes.wg3.port", to: 51822 }],
        path: "spec.networking.planes.wg3.port",
        at: (t) => after(t, "wg3: ", "port: "),
        contains: ["plane wg3 uses UDP port 51822, already used by plane wg2"],
      },
    ],
  },

  "substrate-source": {
    pass: [
      { name: "a template and an underlay (the clean Proxmox spec)", base: "proxmox" },
      {
        name: "a checksum-pinned image instead of a template",
        base: "proxmox",
        edits: [{ delete: "spec.substrate.proxmox.template" }, { set: "spec.substrate.proxmox.image", to: PROXMOX_IMAGE }],
      },
      { name: "the Hetzner fixture (not a Proxmox substrate)", base: "hetzner" },
      { name: "the bare-metal fixture (no underlay needed)", base: "baremetal" },
    ],
    fail: [
      {
        when: "both a template and an image are declared",
        base: "proxmox",
        edits: [{ set: "spec.substrate.proxmox.image", to: PROXMOX_IMAGE }],
        path: "spec.substrate.proxmox",
        at: (t) => pos(t, "proxmox:", "clusterName:"),
        contains: ["both template and image are declared"],
      },
      {
        when: "neither a template nor an image is declared",
        base: "proxmox",
        edits: [{ delete: "spec.substrate.proxmox.template" }],
        severity: "warning",
        path: "spec.substrate.proxmox",
        at: (t) => pos(t, "proxmox:", "clusterName:"),
        contains: ["neither template nor image is declared", "Stage 1 cannot build VMs"],
      },
      {
        when: "no underlay is declared for the Proxmox VMs",
        base: "proxmox",
        edits: [{ delete: "spec.networking.underlay" }],
        severity: "warning",
        path: "spec.networking",
        at: (t) => pos(t, "\n  networking:", "planes:"),
        contains: ["no networking.underlay is declared"],
      },
      {
        when: "the seed declares neither a template nor an image",
        base: "seed",
        edits: [],
        severity: "warning",
        path: "spec.substrate.proxmox",
        at: (t) => pos(t, "proxmox:", "clusterName:"),
        contains: ["neither template nor image is declared"],
      },
      {
        when: "the seed declares no underlay",
        base: "seed",
        edits: [],
        severity: "warning",
        path: "spec.networking",
        at: (t) => pos(t, "\n  networking:", "planes:"),
        contains: ["no networking.underlay is declared"],
      },
    ],
  },

  "ssh-sources": {
    pass: [
      { name: "an allowFrom of operator and CI host CIDRs (the clean Proxmox spec)", base: "proxmox" },
      { name: "the Hetzner fixture (two sources)", base: "hetzner" },
      { name: "the bare-metal fixture", base: "baremetal" },
    ],
    fail: [
      {
        when: "allowFrom contains 0.0.0.0/0",
        base: "proxmox",
        edits: [{ append: "spec.security.ssh.allowFrom", item: "0.0.0.0/0" }],
        path: "spec.security.ssh.allowFrom[2]",
        at: (t) => pos(t, "allowFrom: ", "0.0.0.0/0"),
        contains: ["allowFrom 0.0.0.0/0 opens SSH to the whole internet"],
      },
      {
        when: "allowFrom contains a /0 written with a non-zero address",
        base: "hetzner",
        edits: [{ set: "spec.security.ssh.allowFrom[0]", to: "203.0.113.0/0" }],
        path: "spec.security.ssh.allowFrom[0]",
        at: (t) => pos(t, "allowFrom: ", "203.0.113.0/0"),
        contains: ["allowFrom 203.0.113.0/0 opens SSH to the whole internet"],
      },
      {
        when: "no allowFrom is declared (the seed)",
        base: "seed",
        edits: [],
        severity: "warning",
        path: "spec.security.ssh",
        at: (t) => pos(t, "ssh:", "allowUsers:"),
        contains: ["no allowFrom is declared", "SSH on the uplink is closed"],
      },
      {
        when: "allowFrom is an empty list",
        base: "proxmox",
        edits: [{ set: "spec.security.ssh.allowFrom", to: [], flow: true }],
        severity: "warning",
        path: "spec.security.ssh",
        at: (t) => pos(t, "ssh:", "allowUsers:"),
        contains: ["no allowFrom is declared"],
      },
    ],
  },

  "airgap-mirrors": {
    pass: [
      { name: "a declared apt mirror (the clean Proxmox spec)", base: "proxmox" },
      { name: "the Hetzner fixture", base: "hetzner" },
      { name: "the bare-metal fixture", base: "baremetal" },
    ],
    fail: [
      {
        when: "the seed declares no mirrors at all",
        base: "seed",
        edits: [],
        severity: "warning",
        path: "spec",
        at: (t) => pos(t, "\nspec:", "substrate:"),
        contains: ["no mirrors.apt is declared", "mirrors: { apt: { url, suite, components } }"],
      },
      {
        when: "mirrors name a registry but no apt mirror",
        base: "proxmox",
        edits: [{ delete: "spec.mirrors.apt" }, { set: "spec.mirrors.registry", to: "registry.lab.example:5000" }],
        severity: "warning",
        path: "spec",
        at: (t) => pos(t, "\nspec:", "substrate:"),
        contains: ["no mirrors.apt is declared"],
      },
      {
        when: "the Hetzner fixture loses its apt mirror",
        base: "hetzner",
        edits: [{ delete: "spec.mirrors.apt" }],
        severity: "warning",
        path: "spec",
        at: (t) => pos(t, "\nspec:", "substrate:"),
        contains: ["no mirrors.apt is declared"],
      },
    ],
  },

  "kubernetes-version": {
    pass: [
      { name: "a locked minor line (the clean Proxmox spec, v1.32.x)", base: "proxmox" },
      { name: "the exact locked patch", base: "proxmox", edits: [{ set: "spec.kubernetes.version", to: "v1.32.9" }] },
    ],
    fail: [
      {
        when: "the seed names the end-of-life v1.30.x",
        base: "seed",
        edits: [],
        severity: "warning",
        path: "spec.kubernetes.version",
        at: (t) => after(t, "kubernetes:", "version: "),
        contains: ["v1.30.x has no version lock", "v1.31.x, v1.32.x, v1.33.x"],
      },
      {
        when: "an exact patch that is not the locked one",
        base: "proxmox",
        edits: [{ set: "spec.kubernetes.version", to: "v1.32.3" }],
        path: "spec.kubernetes.version",
        at: (t) => after(t, "kubernetes:", "version: "),
        contains: ["v1.32.3 is not the locked patch", "(v1.32.9)", "write v1.32.x"],
      },
    ],
  },

  "pod-network-overlap": {
    pass: [
      { name: "planes in 10.111–10.113 (the clean Proxmox spec)", base: "proxmox" },
      { name: "planes in 10.101–10.103 (Hetzner), outside the /16 service network", base: "hetzner" },
    ],
    fail: [
      {
        when: "a plane inside the pod network",
        base: "proxmox",
        edits: [{ set: "spec.networking.planes.wg2.cidr", to: "10.244.7.0/24" }],
        path: "spec.networking.planes.wg2.cidr",
        at: (t) => after(t, "wg2:", "cidr: "),
        contains: ["plane wg2 10.244.7.0/24 overlaps the Kubernetes pod network 10.244.0.0/16"],
      },
      {
        when: "a plane inside the service network",
        base: "hetzner",
        edits: [{ set: "spec.networking.planes.wg3.cidr", to: "10.96.200.0/24" }],
        path: "spec.networking.planes.wg3.cidr",
        at: (t) => after(t, "wg3:", "cidr: "),
        contains: ["overlaps the Kubernetes service network 10.96.0.0/16"],
      },
    ],
  },

  "kit-dependencies": {
    pass: [
      { name: "no kit section (the omantel-1 default, closed by construction)", base: "proxmox" },
      {
        name: "an excluded blueprint included with its dependency, and optional leaves dropped",
        base: "proxmox",
        edits: [{ set: "spec.kit", to: { domain: "lab.example", include: ["strimzi", "debezium"], drop: ["velero", "librechat"] } }],
      },
    ],
    fail: [
      {
        when: "the kit drops seaweedfs, which five kept blueprints depend on",
        base: "proxmox",
        edits: [{ set: "spec.kit", to: { profile: "omantel-1", domain: "lab.example", drop: ["seaweedfs"] } }],
        path: "spec.kit.drop[0]",
        at: (t) => pos(t, "kit:", "drop:", "seaweedfs"),
        contains: ["cannot drop bp-seaweedfs", "bp-harbor, bp-loki, bp-mimir, bp-tempo and bp-velero depend on it"],
      },
      {
        when: "the kit drops cilium, which is Tier 0 foundation",
        base: "hetzner",
        edits: [{ set: "spec.kit", to: { domain: "lab.example", drop: ["velero", "cilium"] } }],
        path: "spec.kit.drop[1]",
        at: (t) => pos(t, "kit:", "drop:", "cilium"),
        contains: ["cannot drop bp-cilium", "Tier 0–1 foundation"],
      },
      {
        when: "the kit includes debezium without strimzi",
        base: "baremetal",
        edits: [{ set: "spec.kit", to: { domain: "lab.example", include: ["debezium"] } }],
        path: "spec.kit.include[0]",
        at: (t) => pos(t, "kit:", "include:", "debezium"),
        contains: ["cannot include bp-debezium", "depends on bp-strimzi, which is not in the kit"],
      },
      {
        when: "the kit includes a name the catalog does not have",
        base: "proxmox",
        edits: [{ set: "spec.kit", to: { domain: "lab.example", include: ["keda", "kedda"] } }],
        path: "spec.kit.include[1]",
        at: (t) => pos(t, "kit:", "include:", "kedda"),
        contains: ['unknown blueprint "kedda"', "did you mean keda?"],
      },
    ],
  },
  "environment-names": {
    pass: [
      { name: "no environment section", base: "proxmox" },
      { name: "the environment of the prod stack's shape", base: "proxmox", edits: [{ set: "spec.environment", to: ENV_OK }] },
    ],
    fail: [
      {
        when: "two buckets share a name",
        base: "proxmox",
        edits: [{ set: "spec.environment", to: { ...ENV_OK, buckets: [...ENV_OK.buckets, { name: "artifacts" }] } }],
        path: "spec.environment.buckets[2].name",
        at: (t) => after(t, "environment:", "name: scratch", "name: "),
        contains: ['bucket "artifacts" is declared twice', "buckets[0] and buckets[2]"],
      },
      {
        when: "a class declares a property twice",
        base: "hetzner",
        edits: [
          {
            set: "spec.environment",
            to: {
              vector: {
                classes: [
                  {
                    name: "Doc",
                    dimensions: 8,
                    properties: [
                      { name: "title", dataType: "text" },
                      { name: "title", dataType: "int" },
                    ],
                  },
                ],
              },
            },
          },
        ],
        path: "spec.environment.vector.classes[0].properties[1].name",
        at: (t) => after(t, "environment:", "name: title", "name: "),
        contains: ['property of class Doc: "title" is declared twice'],
      },
      {
        when: "a queue takes the name of an exchange (one stream namespace on NATS)",
        base: "proxmox",
        edits: [...ENV_SET, { set: "spec.environment.broker.queues[0].name", to: "events" }],
        path: "spec.environment.broker.queues[0].name",
        at: (t) => after(t, "queues:", "name: "),
        contains: ['queue "events" has the name of an exchange'],
      },
      {
        when: "a property uses the reserved name vector",
        base: "proxmox",
        edits: [
          {
            set: "spec.environment",
            to: { vector: { classes: [{ name: "Doc", dimensions: 8, properties: [{ name: "vector", dataType: "text" }] }] } },
          },
        ],
        path: "spec.environment.vector.classes[0].properties[0].name",
        at: (t) => after(t, "environment:", "properties:", "name: "),
        contains: ['property "vector" of class Doc is reserved'],
      },
    ],
  },
  "environment-references": {
    pass: [
      {
        name: "bindings naming declared objects and rules with actions",
        base: "proxmox",
        edits: [{ set: "spec.environment", to: ENV_OK }],
      },
    ],
    fail: [
      {
        when: "a binding names an exchange that is not declared",
        base: "proxmox",
        edits: [...ENV_SET, { set: "spec.environment.broker.bindings", to: [{ exchange: "event", queue: "billing" }] }],
        path: "spec.environment.broker.bindings[0].exchange",
        at: (t) => after(t, "bindings:", "exchange: "),
        contains: ['names exchange "event"', "declared: events"],
      },
      {
        when: "a binding names a queue that is not declared",
        base: "baremetal",
        edits: [...ENV_SET, { set: "spec.environment.broker.bindings[0].queue", to: "billings" }],
        path: "spec.environment.broker.bindings[0].queue",
        at: (t) => after(t, "bindings:", "queue: "),
        contains: ['names queue "billings"', "declared: billing"],
      },
      {
        when: "a lifecycle rule has no action",
        base: "proxmox",
        edits: [...ENV_SET, { set: "spec.environment.buckets[0].lifecycle[0]", to: { id: "idle", prefix: "tmp/" } }],
        path: "spec.environment.buckets[0].lifecycle[0].id",
        at: (t) => after(t, "lifecycle:", "id: "),
        contains: ["lifecycle rule idle of bucket artifacts has no action"],
      },
      {
        when: "a lifecycle rule expires noncurrent versions of an unversioned bucket",
        base: "proxmox",
        severity: "warning",
        edits: [...ENV_SET, { set: "spec.environment.buckets[1].lifecycle", to: [{ id: "old", noncurrentExpirationDays: 3 }] }],
        path: "spec.environment.buckets[1].lifecycle[0].noncurrentExpirationDays",
        at: (t) => after(t, "name: scratch", "noncurrentExpirationDays: "),
        contains: ["bucket scratch is not versioned (versioning: false)"],
      },
    ],
  },
  "environment-adapters": {
    pass: [
      { name: "the local adapters (no endpoint)", base: "proxmox", edits: [{ set: "spec.environment", to: ENV_OK }] },
      {
        name: "real adapters on the kit's services and on an external broker",
        base: "proxmox",
        edits: [
          ...ENV_SET,
          { set: "spec.environment.objectStorage", to: { adapter: "s3", endpoint: "http://seaweedfs.seaweedfs.svc.cluster.local:8333" } },
          { set: "spec.environment.eventBus", to: { adapter: "rabbitmq", url: "amqps://mq.lab.example:5671/", username: "app" } },
          { set: "spec.environment.vectorIndex", to: { adapter: "pgvector", url: "postgres://app@vector-rw.cnpg-system.svc:5432/vector" } },
        ],
      },
    ],
    fail: [
      {
        when: "the NATS adapter has no url",
        base: "proxmox",
        edits: [...ENV_SET, { set: "spec.environment.eventBus", to: { adapter: "nats" } }],
        path: "spec.environment.eventBus.adapter",
        at: (t) => after(t, "eventBus:", "adapter: "),
        contains: ["eventBus.adapter nats needs eventBus.url", "nats://"],
      },
      {
        when: "the pgvector url is not a postgres URL",
        base: "proxmox",
        edits: [...ENV_SET, { set: "spec.environment.vectorIndex", to: { adapter: "pgvector", url: "http://db.lab.example:5432" } }],
        path: "spec.environment.vectorIndex.url",
        at: (t) => after(t, "vectorIndex:", "url: "),
        contains: ['"http://db.lab.example:5432" is not a postgres:// or postgresql:// URL'],
      },
      {
        when: "the RabbitMQ url carries a password",
        base: "hetzner",
        edits: [...ENV_SET, { set: "spec.environment.eventBus", to: { adapter: "rabbitmq", url: "amqp://app:hunter2@mq.lab.example/" } }],
        path: "spec.environment.eventBus.url",
        at: (t) => after(t, "eventBus:", "url: "),
        contains: ["eventBus.url carries a password"],
      },
      {
        when: "the S3 endpoint is SeaweedFS's Service but Kubernetes (and so the kit) is off",
        base: "proxmox",
        edits: [
          ...ENV_SET,
          { set: "spec.kubernetes.enabled", to: false },
          { set: "spec.acceptance.required", to: ["backplane-matrix"] },
          { set: "spec.environment.objectStorage", to: { adapter: "s3", endpoint: "http://seaweedfs.seaweedfs.svc.cluster.local:8333" } },
        ],
        path: "spec.environment.objectStorage.endpoint",
        at: (t) => after(t, "objectStorage:", "endpoint: "),
        contains: ["the Service of bp-seaweedfs, but bp-seaweedfs is not in the kit", "kubernetes.enabled is false"],
      },
      {
        when: "the event bus is the kit's NATS but the kit drops bp-nats-jetstream",
        base: "proxmox",
        edits: [
          ...ENV_SET,
          { set: "spec.kit", to: { domain: "lab.example", drop: ["openmeter", "nats-jetstream"] } },
          { set: "spec.environment.eventBus", to: { adapter: "nats", url: "nats://nats.nats.svc.cluster.local:4222" } },
        ],
        path: "spec.environment.eventBus.url",
        at: (t) => after(t, "eventBus:", "url: "),
        contains: ["the Service of bp-nats-jetstream, but bp-nats-jetstream is not in the kit (kit.drop or the profile leaves it out)"],
      },
      {
        when: "a local adapter carries an endpoint",
        base: "proxmox",
        edits: [...ENV_SET, { set: "spec.environment.objectStorage", to: { adapter: "filesystem", endpoint: "http://minio:9000" } }],
        path: "spec.environment.objectStorage.endpoint",
        at: (t) => after(t, "objectStorage:", "endpoint: "),
        contains: ["objectStorage.endpoint is read only by the s3 adapter, not filesystem"],
      },
    ],
  },
};

// ---------------------------------------------------------------- the tests

function findingsOf(rule: string, r: ReturnType<typeof validate>): Diagnostic[] {
  return [...r.errors, ...r.warnings].filter((d) => d.rule === rule);
}

describe("Stage 0 rules (table)", () => {
  it("rejects an incomplete table when a rule id in RULE_IDS has no passing or fewer than two failing cases", () => {
    const missing = RULE_IDS.filter((id) => !RULES[id] || RULES[id].pass.length < 1 || RULES[id].fail.length < 2);
    assert.deepEqual(missing, [], `rule ids without a passing case and two failing cases: ${missing.join(", ")}`);
    const unknown = Object.keys(RULES).filter((id) => !RULE_IDS.includes(id));
    assert.deepEqual(unknown, [], `table entries for ids that are not in RULE_IDS: ${unknown.join(", ")}`);
  });

  it("keeps the seed fixture byte-identical to seed 001 §15.2", () => {
    const hash = createHash("sha256").update(readFixture("seed-15.2.yaml")).digest("hex");
    assert.equal(hash, "1a0fdc4f8c844948e72eaa04a7d4bc4d2a1f1a42f5f48794b1c8978f5ee12647");
  });

  it("accepts the seed with 0 errors, warning about its placeholders", () => {
    const r = validate(SEED);
    assert.deepEqual(r.syntaxErrors, []);
    assert.deepEqual(r.errors, [], showAll(r));
    assert.equal(r.valid, true);
    // The three warnings of seed 001 §15.2 (no Proxmox hosts, 2 of 3 control planes in rack-a,
    // the REDACTED fingerprint); later rules may add more, never fewer.
    const rules = new Set(r.warnings.map((w) => w.rule));
    for (const w of ["placement-hosts", "failure-domain-quorum", "trust-bootstrap"])
      assert.ok(rules.has(w), `missing ${w} warning:\n${showAll(r)}`);
  });

  for (const [name, text] of Object.entries(BASES)) {
    it(`accepts the ${name} base spec with 0 errors`, () => {
      const r = validate(text);
      assert.deepEqual(r.syntaxErrors, []);
      assert.deepEqual(r.errors, [], showAll(r));
      assert.equal(r.valid, true);
    });
  }

  for (const id of RULE_IDS) {
    const cases = RULES[id];
    if (!cases) continue; // reported by the guard test
    describe(id, () => {
      for (const p of cases.pass) {
        it(`accepts ${p.name} without any ${id} finding`, () => {
          const text = mutate(BASES[p.base], p.edits ?? []);
          const r = validate(text);
          assert.deepEqual(r.syntaxErrors, []);
          assert.deepEqual(r.errors, [], showAll(r));
          assert.deepEqual(findingsOf(id, r).map(show), []);
        });
      }
      for (const f of cases.fail) {
        const severity = f.severity ?? "error";
        const verb = severity === "error" ? "rejects the spec" : "warns about the spec";
        it(`${verb} when ${f.when}`, () => {
          const text = mutate(BASES[f.base ?? "seed"], f.edits);
          const r = validate(text);
          assert.deepEqual(r.syntaxErrors, [], "the mutation must stay valid YAML");
          const list = severity === "error" ? r.errors : r.warnings;
          const ofRule = list.filter((d) => d.rule === id);
          assert.ok(ofRule.length > 0, `expected a ${id} ${severity}; got:\n${showAll(r)}`);
          const atPath = ofRule.filter((d) => formatPath(d.path) === f.path);
          assert.ok(atPath.length > 0, `expected a ${id} ${severity} at ${f.path}; got:\n${ofRule.map(show).join("\n")}`);
          const d = atPath.find((x) => f.contains.every((s) => x.message.includes(s)));
          assert.ok(
            d,
            `expected a ${id} message at ${f.path} containing ${JSON.stringify(f.contains)}; got:\n${atPath.map(show).join("\n")}`,
          );
          assert.deepEqual({ line: d.line, column: d.column }, f.at(text), `position of ${show(d)}`);
          if (severity === "error") assert.equal(r.valid, false);
        });
      }
    });
  }
});
