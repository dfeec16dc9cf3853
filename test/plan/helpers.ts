/**
 * Helpers for the Plan tests: spec texts, a ClusterSpec generator for property tests, and an
 * independent reference for the ordinal derivation and IPv4 arithmetic (so the tests do not
 * check the implementation against itself).
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import type { ClusterSpec } from "../../components/spec/schema";
import { validateSpecText, type ValidationResult } from "../../components/spec/validate";
import { buildPlan, type Plan } from "../../components/plan/plan";

/** Repository root: this file runs from dist/test/plan. */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const repoPath = (...p: string[]): string => path.join(REPO_ROOT, ...p);
export const readRepo = (...p: string[]): string => readFileSync(repoPath(...p), "utf8");

export const DEV = readRepo("stacks", "dev", "cluster.yaml");
export const PROD = readRepo("stacks", "prod", "cluster.yaml");
export const SEED = readRepo("test", "fixtures", "seed-15.2.yaml");
export const HETZNER = readRepo("test", "fixtures", "hetzner.yaml");
export const BAREMETAL = readRepo("test", "fixtures", "baremetal.yaml");

/** Fixed seed for every property test, so a failure is reproducible from the test alone. */
export const FC_SEED = 0x6b756265; // "kube"

/** Plain data of a spec text. */
export type SpecDoc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

export const parseSpec = (text: string): SpecDoc => parse(text) as SpecDoc;
export const clone = <T>(v: T): T => structuredClone(v);
/** YAML text of a document. */
export const toYaml = (doc: SpecDoc): string => stringify(doc, { lineWidth: 0 });
/** Spec text for generated documents: JSON is YAML 1.2 and five times faster to print than block YAML. */
export const toText = (doc: SpecDoc): string => JSON.stringify(doc);

/** validateSpecText with a fixed file name. */
export function check(text: string, file = "spec.yaml"): ValidationResult {
  return validateSpecText(text, file);
}

/** The validated spec, or undefined when validateSpecText rejects it. */
export function validSpec(doc: SpecDoc): ClusterSpec | undefined {
  const r = check(toText(doc));
  return r.valid ? r.spec : undefined;
}

/** Validate and build the plan; throws (with the diagnostics) when the text is invalid. */
export function planOf(text: string): Plan {
  const r = check(text);
  if (!r.valid || !r.spec) {
    throw new Error(
      `spec unexpectedly invalid:\n${[...r.syntaxErrors.map((s) => s.message), ...r.errors.map((e) => `[${e.rule}] ${e.message}`)].join("\n")}`,
    );
  }
  return buildPlan(r.spec);
}

// ---------------------------------------------------------------- reference arithmetic

/** IPv4 text → uint32 (independent of components/plan/ipv4.ts). */
export function ip2n(ip: string): number {
  const p = ip.split(".").map(Number);
  assertTrue(p.length === 4 && p.every((x) => Number.isInteger(x) && x >= 0 && x <= 255), `not an IPv4 address: ${ip}`);
  return ((p[0] * 256 + p[1]) * 256 + p[2]) * 256 + p[3];
}

export function n2ip(n: number): string {
  return [Math.floor(n / 2 ** 24) % 256, Math.floor(n / 2 ** 16) % 256, Math.floor(n / 256) % 256, n % 256].join(".");
}

export interface Block {
  network: number;
  size: number;
  text: string;
}

export function block(cidr: string): Block {
  const [ip, p] = cidr.split("/");
  const size = 2 ** (32 - Number(p));
  const raw = ip2n(ip);
  const network = raw - (raw % size);
  return { network, size, text: `${n2ip(network)}/${p}` };
}

/** Reference ordinal: sha256("kubedos/ordinal/v1/" + name), first 48 bits big-endian, mod size. */
export function refOrdinal(name: string, size: number): number {
  if (size <= 0) return 0;
  const h = createHash("sha256")
    .update("kubedos/ordinal/v1/" + name)
    .digest();
  let v = 0;
  for (let i = 0; i < 6; i++) v = v * 256 + h[i];
  return v % size;
}

function assertTrue(c: boolean, msg: string): asserts c {
  if (!c) throw new Error(msg);
}

// ---------------------------------------------------------------- spec generator

export const NODE_NAME = /^[a-z][a-z0-9-]{0,20}[a-z0-9]$/;

export type BaseName = "dev" | "hetzner";

export interface GenNode {
  name: string;
  role: "control-plane" | "worker";
  /** Index into the base's failure domains. */
  fd: number;
  /** When set, the node pins `ordinal: pin mod space`. */
  pin?: number;
  /** Chooses a free ordinal when the derived/pinned one is taken. */
  salt: number;
}

export interface GenSpec {
  base: BaseName;
  /** Plane CIDRs wg1, wg2, wg3 and the underlay (Proxmox underlay or Hetzner network), pairwise disjoint. */
  cidrs: { wg1: string; wg2: string; wg3: string; underlay: string };
  /** Proxmox vmid range (ignored on Hetzner). */
  vmid: { start: number; size: number };
  nodes: GenNode[];
}

const BASE_TEXT: Record<BaseName, string> = { dev: DEV, hetzner: HETZNER };
const BASE_DOC: Record<BaseName, SpecDoc> = { dev: parseSpec(DEV), hetzner: parseSpec(HETZNER) };
export const FAILURE_DOMAINS: Record<BaseName, string[]> = {
  dev: BASE_DOC.dev.spec.nodes.failureDomains.map((f: { name: string }) => f.name),
  hetzner: BASE_DOC.hetzner.spec.nodes.failureDomains.map((f: { name: string }) => f.name),
};
export const baseText = (b: BaseName): string => BASE_TEXT[b];

/** `count` disjoint CIDR blocks of prefix /16–/24 inside 10.0.0.0/8, packed with random gaps (so adjacency happens). */
export const disjointCidrs = (count: number): fc.Arbitrary<string[]> =>
  fc
    .tuple(
      fc.integer({ min: 0, max: 2 ** 22 }),
      fc.array(fc.record({ prefix: fc.integer({ min: 16, max: 24 }), gap: fc.integer({ min: 0, max: 2 }) }), {
        minLength: count,
        maxLength: count,
      }),
    )
    .map(([start, blocks]) => {
      let cursor = 10 * 2 ** 24 + start;
      return blocks.map(({ prefix, gap }) => {
        const size = 2 ** (32 - prefix);
        const network = Math.ceil(cursor / size) * size + gap * size;
        cursor = network + size;
        return `${n2ip(network)}/${prefix}`;
      });
    });

export const nodeName = fc.stringMatching(NODE_NAME);

const genNode = (name: string, fds: number): fc.Arbitrary<GenNode> =>
  fc.record({
    name: fc.constant(name),
    role: fc.constantFrom<GenNode["role"]>("control-plane", "worker"),
    fd: fc.integer({ min: 0, max: fds - 1 }),
    pin: fc.option(fc.integer({ min: 0, max: 1_000_000 }), { freq: 4, nil: undefined }),
    salt: fc.nat(),
  });

export const genNodes = (base: BaseName, min: number, max: number): fc.Arbitrary<GenNode[]> =>
  // Half small inventories (fast to validate), half anywhere up to max.
  fc
    .oneof(fc.integer({ min, max: Math.min(max, 12) }), fc.integer({ min, max }))
    .chain((n) => fc.uniqueArray(nodeName, { minLength: n, maxLength: n }))
    .chain((names) => fc.tuple(...names.map((n) => genNode(n, FAILURE_DOMAINS[base].length))))
    .map((ns) => [...ns]);

export const genSpec: fc.Arbitrary<GenSpec> = fc.constantFrom<BaseName>("dev", "hetzner").chain((base) =>
  fc.record({
    base: fc.constant(base),
    cidrs: fc
      .shuffledSubarray([0, 1, 2, 3], { minLength: 4, maxLength: 4 })
      .chain((order) => disjointCidrs(4).map((c) => ({ wg1: c[order[0]], wg2: c[order[1]], wg3: c[order[2]], underlay: c[order[3]] }))),
    vmid: fc.record({ start: fc.integer({ min: 100, max: 100_000 }), size: fc.integer({ min: 40, max: 3000 }) }),
    nodes: genNodes(base, 1, 40),
  }),
);

/** Capacity of the ordinal space, computed independently: min(block size − 11, vmid count). */
export function refSpace(g: GenSpec): number {
  const caps = [g.cidrs.wg1, g.cidrs.wg2, g.cidrs.wg3, g.cidrs.underlay].map((c) => block(c).size - 11);
  if (g.base === "dev") caps.push(g.vmid.size);
  return Math.min(...caps);
}

/**
 * The spec document of a generated spec. Ordinal collisions are resolved the way the validator
 * tells a user to: by pinning a free ordinal on the later node. At least one control plane;
 * `ha` follows the control-plane count (present when it is odd and ≥ 3).
 */
export function renderSpec(g: GenSpec): SpecDoc {
  const doc = clone(BASE_DOC[g.base]);
  const s = doc.spec;
  const fds = FAILURE_DOMAINS[g.base];
  const space = refSpace(g);
  const template = s.nodes.inventory[0];
  const used = new Set<number>();
  const nodes = g.nodes.map((n, i) => ({
    ...n,
    role: i === 0 && !g.nodes.some((x) => x.role === "control-plane") ? ("control-plane" as const) : n.role,
  }));
  s.nodes.inventory = nodes.map((n) => {
    let pin = n.pin === undefined ? undefined : n.pin % space;
    const o = pin ?? refOrdinal(n.name, space);
    if (used.has(o)) {
      let free = n.salt % space;
      while (used.has(free)) free = (free + 1) % space;
      pin = free;
    }
    used.add(pin ?? o);
    const node: SpecDoc = { name: n.name, role: n.role, failureDomain: fds[n.fd] };
    if (g.base === "dev")
      Object.assign(node, { resources: clone(template.resources), disks: clone(template.disks), nics: clone(template.nics) });
    if (pin !== undefined) node.ordinal = pin;
    return node;
  });
  fixHa(doc);
  s.networking.planes.wg1.cidr = g.cidrs.wg1;
  s.networking.planes.wg2.cidr = g.cidrs.wg2;
  s.networking.planes.wg3.cidr = g.cidrs.wg3;
  if (g.base === "dev") {
    s.networking.underlay = { cidr: g.cidrs.underlay, gateway: n2ip(block(g.cidrs.underlay).network + 1) };
    s.substrate.proxmox.vmidRange = { start: g.vmid.start, end: g.vmid.start + g.vmid.size - 1 };
  } else {
    s.substrate.hetzner.network.cidr = g.cidrs.underlay;
  }
  return doc;
}

/**
 * Make `kubernetes.ha` follow the inventory, as a user editing the inventory would: present with
 * controlPlaneReplicas = the control-plane count when that count is odd and 3–15 (the schema's
 * bound), absent otherwise
 * (and then without the delete-control-plane drill, which needs HA).
 */
export function fixHa(doc: SpecDoc): SpecDoc {
  const s = doc.spec;
  const cps = s.nodes.inventory.filter((n: { role: string }) => n.role === "control-plane").length;
  if (cps >= 3 && cps <= 15 && cps % 2 === 1) {
    s.kubernetes.ha = { controlPlaneReplicas: cps, etcd: "stacked" };
    s.acceptance.drills = clone(BASE_DOC.dev.spec.acceptance.drills);
  } else {
    delete s.kubernetes.ha;
    s.acceptance.drills = (s.acceptance.drills ?? []).filter((d: { name: string }) => d.name !== "delete-control-plane");
  }
  return doc;
}

/** A node to add to a rendered spec (derived ordinal, like a user adding a node). */
export function newNodeDoc(g: GenSpec, name: string, role: GenNode["role"], fd: number): SpecDoc {
  const n: SpecDoc = { name, role, failureDomain: FAILURE_DOMAINS[g.base][fd] };
  if (g.base === "dev") {
    const t = BASE_DOC.dev.spec.nodes.inventory[0];
    Object.assign(n, { resources: clone(t.resources), disks: clone(t.disks), nics: clone(t.nics) });
  }
  return n;
}

/** What must never move for an existing node: its numbering on every network and its vmid. */
export function numbering(plan: Plan): Map<string, { ordinal: number; vmid?: number; uplink?: string; addresses: Record<string, string> }> {
  return new Map(plan.nodes.map((n) => [n.name, { ordinal: n.ordinal, vmid: n.vmid, uplink: n.uplink?.address, addresses: n.addresses }]));
}
