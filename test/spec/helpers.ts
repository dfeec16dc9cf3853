/**
 * Helpers for the Stage 0 (spec validation) tests.
 *
 * `mutate` edits a ClusterSpec through the `yaml` package's document model (parseDocument +
 * setIn / deleteIn) and prints it again, so a mutated spec is still real YAML and every line
 * and column a diagnostic reports is a real position in the text the validator saw.
 *
 * `pos` locates text independently of the validator: it walks a chain of literal needles
 * through the mutated text, so expected positions are found, not hard-coded.
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parseDocument } from "yaml";
import { validateSpecText, type ValidateOptions, type ValidationResult } from "../../components/spec/validate";
import { formatPath, type Diagnostic } from "../../components/spec/diagnostics";

/** Repository root: this file runs from dist/test/spec. */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
export const FIXTURES = path.join(REPO_ROOT, "test", "fixtures");

export const fixturePath = (name: string): string => path.join(FIXTURES, name);
export const readFixture = (name: string): string => readFileSync(fixturePath(name), "utf8");

/** The seed's illustrative ClusterSpec (seed 001 §15.2), verbatim. */
export const SEED = readFixture("seed-15.2.yaml");
export const HETZNER = readFixture("hetzner.yaml");
export const BAREMETAL = readFixture("baremetal.yaml");

/** A real-looking CA fingerprint (sha256:<64 hex>). */
export const CA_FINGERPRINT = "sha256:7b25469f7b65cc9c00f63767add5b44c66f900aca261d47359b6e01514503fb3";

export type PathLike = string | ReadonlyArray<string | number>;

/**
 * One edit of a spec document.
 *  - `{ set, to }`       replace (or create) the node at `set` with `to`
 *  - `{ delete }`        remove the key / list item at `delete`
 *  - `{ append, item }`  add `item` at the end of the list at `append`
 * `flow: true` prints a new collection in flow style (`{ a: 1 }`, `[1, 2]`).
 */
export type Edit =
  { set: PathLike; to: unknown; flow?: boolean } | { delete: PathLike } | { append: PathLike; item: unknown; flow?: boolean };

/**
 * "spec.nodes.inventory[2].role" → ["spec", "nodes", "inventory", 2, "role"]
 * (the inverse of formatPath for the paths a spec uses; ["quoted"] segments allowed).
 */
export function parsePath(p: PathLike): Array<string | number> {
  if (typeof p !== "string") return [...p];
  const out: Array<string | number> = [];
  const re = /\.?([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  let m: RegExpExecArray | null;
  while (re.lastIndex < p.length && (m = re.exec(p)) !== null) {
    if (m[1] !== undefined) out.push(m[1]);
    else if (m[2] !== undefined) out.push(Number(m[2]));
    else out.push(JSON.parse(m[3]) as string);
  }
  if (re.lastIndex !== p.length) throw new Error(`parsePath: cannot parse ${JSON.stringify(p)} at ${re.lastIndex}`);
  return out;
}

/** Apply `edits` to a YAML spec text and print it again (real YAML, real positions). */
export function mutate(yamlText: string, edits: readonly Edit[]): string {
  const doc = parseDocument(yamlText);
  if (doc.errors.length > 0) throw new Error(`mutate: the input is not valid YAML: ${doc.errors[0].message}`);
  for (const e of edits) {
    if ("delete" in e) {
      const p = parsePath(e.delete);
      if (!doc.hasIn(p)) throw new Error(`mutate: nothing to delete at ${formatPath(p)}`);
      doc.deleteIn(p);
    } else if ("append" in e) {
      const p = parsePath(e.append);
      const list = doc.getIn(p) as { items?: unknown[] } | undefined;
      if (!list || !Array.isArray(list.items)) throw new Error(`mutate: no list at ${formatPath(p)}`);
      doc.setIn([...p, list.items.length], doc.createNode(e.item, { flow: !!e.flow }));
    } else {
      doc.setIn(parsePath(e.set), doc.createNode(e.to, { flow: !!e.flow }));
    }
  }
  return doc.toString({ lineWidth: 0 });
}

/** validateSpecText on a test text. */
export function validate(text: string, opts: ValidateOptions = {}): ValidationResult {
  return validateSpecText(text, "spec.yaml", opts);
}

export interface Position {
  line: number;
  column: number;
}

/** Offset of the last needle, each needle searched for after the end of the previous one. */
export function offsetOf(text: string, ...needles: string[]): number {
  let from = 0;
  let at = -1;
  for (const n of needles) {
    at = text.indexOf(n, from);
    if (at < 0) throw new Error(`pos: ${JSON.stringify(n)} not found after offset ${from} (needles ${JSON.stringify(needles)})`);
    from = at + n.length;
  }
  return at;
}

/**
 * 1-based position of the last needle, where each needle is searched for after the end of the
 * previous one: pos(text, "name: cp-2", "vlan: ", "40") is the `40` of cp-2's NIC.
 */
export function pos(text: string, ...needles: string[]): Position {
  return offsetToPos(text, offsetOf(text, ...needles));
}

/** 1-based position just after the last needle (the value after a `key: ` needle). */
export function after(text: string, ...needles: string[]): Position {
  return offsetToPos(text, offsetOf(text, ...needles) + needles[needles.length - 1].length);
}

export function offsetToPos(text: string, offset: number): Position {
  const before = text.slice(0, offset);
  const line = before.split("\n").length;
  const column = offset - (before.lastIndexOf("\n") + 1) + 1;
  return { line, column };
}

/** One diagnostic as a readable line, for assertion messages. */
export function show(d: Diagnostic): string {
  return `${d.line}:${d.column}  ${formatPath(d.path)}  [${d.rule}] (${d.severity})  ${d.message}`;
}

export function showAll(r: ValidationResult): string {
  const lines = [
    ...r.syntaxErrors.map((s) => `${s.line}:${s.column}  [yaml-syntax]  ${s.message}`),
    ...r.errors.map(show),
    ...r.warnings.map(show),
  ];
  return lines.length ? lines.join("\n") : "(no diagnostics)";
}

// ---------------------------------------------------------------- the real CLI

export const BIN = path.join(REPO_ROOT, "bin", "kubedos.js");
/** A Node stack frame: "    at fn (file.js:12:34)". */
export const STACK_FRAME = /at .*\(.*:\d+:\d+\)/;

export interface CliRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** `node bin/kubedos.js ARGS` from the repository root, as a user runs it. */
export function runCli(...args: string[]): CliRun {
  const r = spawnSync(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, encoding: "utf8", timeout: 30_000 });
  if (r.error) throw r.error;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** runCli without blocking, so several runs can go in parallel. */
export function runCliAsync(...args: string[]): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (c: string) => (stdout += c));
    child.stderr.setEncoding("utf8").on("data", (c: string) => (stderr += c));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

// ---------------------------------------------------------------- spec variants

/** Proxmox hosts, one per failure domain of the clean Proxmox spec. */
const PROXMOX_HOSTS = [
  { name: "pve-a", failureDomain: "rack-a" },
  { name: "pve-b", failureDomain: "rack-b" },
  { name: "pve-c", failureDomain: "rack-c" },
];

/** An operator's SSH public key. */
export const OPS_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIP/pk3V4hxaE1aHspduTA8Re7PpmgmuMvVrvE21dj2ag ops@kubedos";

/** The Proxmox template every VM of the clean spec is cloned from (on a host of rack-a). */
export const PROXMOX_TEMPLATE = { vmid: 9000, node: "pve-a" };
/** A checksum-pinned cloud image (the alternative to a template). */
export const PROXMOX_IMAGE = {
  url: "http://mirror.lab.example/images/debian-12-genericcloud-amd64.qcow2",
  sha256: "5da2d1c1b0b1a0f0a3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c8b9a0f1e2d3c4b5a6",
  datastore: "local",
};
/** The operator and CI hosts that may reach SSH on the uplink. */
export const SSH_SOURCES = ["10.10.100.0/24", "192.0.2.7/32"];
/** The air-gap apt mirror. */
export const APT_MIRROR = { url: "http://mirror.lab.example/debian", suite: "bookworm", components: ["main"] };
/** The underlay: gateway and resolver at reserved host indices 1 and 2. */
export const UNDERLAY_BLOCK = { cidr: "10.0.10.0/24", gateway: "10.0.10.1", nameservers: ["10.0.10.2"] };

/**
 * The seed with its warnings fixed: Proxmox hosts declared, cp-3 moved to a third failure
 * domain, a real CA fingerprint, an authorized SSH key — and what Stage 1 needs to build VMs:
 * a template, an underlay, the SSH sources and an apt mirror. 0 errors, 0 warnings.
 */
export const PROXMOX_CLEAN_EDITS: Edit[] = [
  { append: "spec.nodes.failureDomains", item: { name: "rack-c" } },
  { set: "spec.nodes.inventory[2].failureDomain", to: "rack-c" },
  { set: "spec.substrate.proxmox.hosts", to: PROXMOX_HOSTS },
  { set: "spec.substrate.proxmox.template", to: PROXMOX_TEMPLATE, flow: true },
  { set: "spec.networking.underlay", to: UNDERLAY_BLOCK },
  { set: "spec.security.bootstrap.caFingerprint", to: CA_FINGERPRINT },
  { set: "spec.security.ssh.authorizedKeys", to: [OPS_KEY] },
  { set: "spec.security.ssh.allowFrom", to: SSH_SOURCES, flow: true },
  { set: "spec.mirrors", to: { apt: APT_MIRROR } },
  // The seed's v1.30.x is end of life and has no version lock (a kubernetes-version warning).
  { set: "spec.kubernetes.version", to: "v1.32.x" },
];
export const PROXMOX_CLEAN = mutate(SEED, PROXMOX_CLEAN_EDITS);

/**
 * The clean Proxmox spec with Ceph enabled: size 3 over 3 racks, one OSD disk per control plane,
 * replication on a storage plane wg4.
 */
export const CEPH_EDITS: Edit[] = [
  { set: "spec.networking.planes.wg4", to: { cidr: "10.104.0.0/24", purpose: "storage" }, flow: true },
  ...[0, 1, 2].map((i): Edit => ({
    append: `spec.nodes.inventory[${i}].disks`,
    item: { pool: "fast-zfs", sizeGiB: 256, purpose: "ceph-osd" },
    flow: true,
  })),
  {
    set: "spec.storage.ceph",
    to: {
      enabled: true,
      size: 3,
      minSize: 2,
      failureDomains: ["rack-a", "rack-b", "rack-c"],
      plane: "wg4",
      recovery: { maxBackfills: 1, maxActive: 3, downOutIntervalMinutes: 10 },
    },
  },
];
export const CEPH = mutate(PROXMOX_CLEAN, CEPH_EDITS);

/** Plane addresses of the seed's four nodes (host index 10 + i on every plane). */
export function staticAddresses(i: number): Record<string, string> {
  return { wg1: `10.101.0.${10 + i}`, wg2: `10.102.0.${10 + i}`, wg3: `10.103.0.${10 + i}` };
}

/** The clean Proxmox spec in addressing.mode static, every node addressed on every plane. */
export const STATIC_EDITS: Edit[] = [
  { set: "spec.networking.addressing.mode", to: "static" },
  ...[0, 1, 2, 3].map((i): Edit => ({ set: `spec.nodes.inventory[${i}].addresses`, to: staticAddresses(i), flow: true })),
];
export const STATIC = mutate(PROXMOX_CLEAN, STATIC_EDITS);

export const BASES = {
  seed: SEED,
  proxmox: PROXMOX_CLEAN,
  ceph: CEPH,
  static: STATIC,
  hetzner: HETZNER,
  baremetal: BAREMETAL,
} as const;
export type Base = keyof typeof BASES;
