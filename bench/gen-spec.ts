/**
 * Scaled ClusterSpecs for the plan benchmark: the dev spec (stacks/dev/cluster.yaml) grown to
 * N nodes, with everything that has to grow with it (failure domains, Proxmox hosts, plane and
 * underlay CIDRs, the vmid range, control-plane replicas) sized to fit. Every generated spec is
 * checked with Stage 0 (validateSpecText) before it is used; an invalid one aborts the bench.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import { parse, stringify } from "yaml";
import { deriveOrdinal } from "../components/plan/addressing";
import { validateSpecText, type ValidationResult } from "../components/spec/validate";

/** Project root: dist/bench/ → two levels up. */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");
export const DEV_SPEC = path.join(PROJECT_ROOT, "stacks", "dev", "cluster.yaml");

export const FAILURE_DOMAINS = ["zone-a", "zone-b", "zone-c"] as const;
/** One Proxmox host per this many nodes (at least one per failure domain). */
export const NODES_PER_HOST = 20;
export const VMID_RANGE = { start: 10000, end: 19999 } as const;

export interface GeneratedSpec {
  nodes: number;
  controlPlanes: number;
  workers: number;
  hosts: number;
  file: string;
  text: string;
  /** Collisions the nodes would have had with hash-derived ordinals (why they are pinned). */
  derivedCollisions: number;
  validation: ValidationResult;
}

type Json = Record<string, unknown>;

/** The YAML text of the dev spec scaled to `nodes` nodes. Pure (reads only the dev spec text given). */
export function scaleSpec(
  devText: string,
  nodes: number,
): { text: string; controlPlanes: number; hosts: number; derivedCollisions: number } {
  if (!Number.isInteger(nodes) || nodes < 6) throw new Error(`scaleSpec: need an integer ≥ 6 nodes, got ${nodes}`);
  const doc = parse(devText) as Json;
  const spec = doc.spec as Json;
  const meta = doc.metadata as Json;
  meta.name = `bench-${nodes}`;
  meta.labels = { ...(meta.labels as Json), env: "bench", purpose: "benchmark" };

  // Quorum: 3 control planes, 5 from 200 nodes up; 3 domains keep quorum when any one is lost.
  const controlPlanes = nodes >= 200 ? 5 : 3;
  const hostCount = Math.max(FAILURE_DOMAINS.length, Math.ceil(nodes / NODES_PER_HOST));

  const substrate = spec.substrate as Json;
  const proxmox = substrate.proxmox as Json;
  proxmox.vmidRange = { ...VMID_RANGE };
  proxmox.hosts = Array.from({ length: hostCount }, (_, h) => {
    const fd = FAILURE_DOMAINS[h % FAILURE_DOMAINS.length];
    return { name: `pve-${fd.slice(-1)}${Math.floor(h / FAILURE_DOMAINS.length) + 1}`, failureDomain: fd };
  });

  // Node shapes from the dev spec's first control plane and first worker.
  const devInventory = (spec.nodes as Json).inventory as Json[];
  const cpShape = devInventory.find((n) => n.role === "control-plane");
  const wShape = devInventory.find((n) => n.role === "worker");
  if (!cpShape || !wShape) throw new Error(`${DEV_SPEC}: expected at least one control-plane and one worker node to copy the shape from`);
  // Deep copies: shared objects would be written as YAML anchors/aliases, and the spec parser caps
  // alias expansion (yaml's maxAliasCount, a resource-exhaustion guard) — a 500-node spec built
  // from aliases is rejected as a syntax error. Spec authors write each node out, so does this.
  const shape = (n: Json) => structuredClone({ resources: n.resources, disks: n.disks, nics: n.nics });

  // Ordinals are pinned (ordinal: i) on every node. With the default hash-derived ordinals
  // (sha256(name) mod space) a 500-node inventory in a 10,000-ordinal space would collide
  // almost surely: birthday bound 1 - exp(-n(n-1)/2S) = 1 - exp(-12.5) ≈ 99.9996 % (still ≈ 39 %
  // at 100 nodes), and a collision is a Stage 0 error (`address-collision`), not a plan. A
  // spec author at this scale pins ordinals — exactly what the error message tells them to do.
  const inventory: Json[] = [];
  for (let i = 0; i < nodes; i++) {
    const isCp = i < controlPlanes;
    const name = isCp ? `cp-${i + 1}` : `w-${i - controlPlanes + 1}`;
    inventory.push({
      name,
      role: isCp ? "control-plane" : "worker",
      failureDomain: FAILURE_DOMAINS[i % FAILURE_DOMAINS.length],
      ordinal: i,
      ...shape(isCp ? cpShape : wShape),
    });
  }
  spec.nodes = { failureDomains: FAILURE_DOMAINS.map((name) => ({ name })), inventory };

  // /16 planes and underlay: 65,525 node addresses each, so the vmid range bounds the space.
  const networking = spec.networking as Json;
  networking.underlay = {
    ...(networking.underlay as Json),
    cidr: "10.20.0.0/16",
    gateway: "10.20.0.1",
    nameservers: ["10.10.0.53", "10.10.1.53"],
  };
  const planes = networking.planes as Record<string, Json>;
  const planeCidrs: Record<string, string> = { wg1: "10.111.0.0/16", wg2: "10.112.0.0/16", wg3: "10.113.0.0/16" };
  for (const [name, cidr] of Object.entries(planeCidrs)) {
    if (!planes[name]) throw new Error(`${DEV_SPEC}: expected plane ${name}`);
    planes[name] = { ...planes[name], cidr };
  }

  const k8s = spec.kubernetes as Json;
  k8s.ha = { ...(k8s.ha as Json), controlPlaneReplicas: controlPlanes };

  const space = VMID_RANGE.end - VMID_RANGE.start + 1;
  const seen = new Set<number>();
  let derivedCollisions = 0;
  for (const n of inventory) {
    const o = deriveOrdinal(String(n.name), space);
    if (seen.has(o)) derivedCollisions++;
    seen.add(o);
  }

  const header = `# Generated by bench/gen-spec.ts: stacks/dev/cluster.yaml scaled to ${nodes} nodes (${controlPlanes} control planes, ${hostCount} Proxmox hosts, ${FAILURE_DOMAINS.length} failure domains). Do not edit.\n`;
  return {
    text: header + stringify(doc, { lineWidth: 0, aliasDuplicateObjects: false }),
    controlPlanes,
    hosts: hostCount,
    derivedCollisions,
  };
}

/** Write `bench-<n>.yaml` into `dir` and validate it with Stage 0; throws (loudly) when it is invalid. */
export function generateSpec(dir: string, nodes: number): GeneratedSpec {
  const devText = fs.readFileSync(DEV_SPEC, "utf8");
  const s = scaleSpec(devText, nodes);
  const file = path.join(dir, `bench-${nodes}.yaml`);
  fs.writeFileSync(file, s.text);
  const validation = validateSpecText(s.text, file);
  if (!validation.valid || validation.syntaxErrors.length > 0) {
    const lines = [
      ...validation.syntaxErrors.map((e) => `  ${file}:${e.line}:${e.column} [yaml-syntax] ${e.message}`),
      ...validation.errors.map((e) => `  ${file}:${e.line}:${e.column} [${e.rule}] ${e.message}`),
    ];
    throw new Error(
      `generated ${nodes}-node spec is INVALID (${validation.errors.length} error(s), ${validation.syntaxErrors.length} syntax error(s)); the benchmark would measure a rejected spec:\n${lines.slice(0, 20).join("\n")}${lines.length > 20 ? `\n  … ${lines.length - 20} more` : ""}`,
    );
  }
  return {
    nodes,
    controlPlanes: s.controlPlanes,
    workers: nodes - s.controlPlanes,
    hosts: s.hosts,
    file,
    text: s.text,
    derivedCollisions: s.derivedCollisions,
    validation,
  };
}
