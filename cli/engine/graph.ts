/**
 * Reading a recorded resource graph: which stage a resource belongs to, and the longest
 * dependency chain (the critical path of a `pulumi up`).
 */
import type { RecordedResource } from "./harness";

export const STAGE_TYPE = "kubedos:cluster:Stage";

export interface StageInfo {
  index: number;
  key: string;
  title: string;
}

/** The stage a resource belongs to: the nearest Stage ancestor (or itself; a stage's gate belongs to it). */
export function stageOf(r: RecordedResource, byUrn: ReadonlyMap<string, RecordedResource>): StageInfo | undefined {
  if (r.name.endsWith("-gate") && r.type === "command:local:Command") {
    const stage = [...byUrn.values()].find((s) => s.type === STAGE_TYPE && `${s.name}-gate` === r.name);
    if (stage) return stageOf(stage, byUrn);
  }
  for (let cur: RecordedResource | undefined = r; cur; cur = cur.parent ? byUrn.get(cur.parent) : undefined) {
    if (cur.type === STAGE_TYPE && cur.outputs && typeof cur.outputs.index === "number") {
      return { index: cur.outputs.index as number, key: String(cur.outputs.key), title: String(cur.outputs.title) };
    }
  }
  return undefined;
}

/**
 * Longest chain of dependency edges, in execution order (first to run first). The SDK has
 * already expanded a `dependsOn` on a component into its custom descendants, so the
 * recorded dependencies are the edges the engine really waits on.
 */
export function criticalPath(resources: readonly RecordedResource[]): string[] {
  const byUrn = new Map(resources.map((r) => [r.urn, r]));
  const waitsFor = (r: RecordedResource): string[] =>
    [...new Set([...r.dependencies, ...Object.values(r.propertyDependencies).flat()])].filter((u) => byUrn.has(u) && u !== r.urn);
  const memo = new Map<string, string[]>();
  const visiting = new Set<string>();
  const longest = (urn: string): string[] => {
    const hit = memo.get(urn);
    if (hit) return hit;
    if (visiting.has(urn)) return [urn]; // Pulumi cannot build a cycle; never loop anyway
    visiting.add(urn);
    let best: string[] = [];
    for (const d of waitsFor(byUrn.get(urn)!)) {
      const p = longest(d);
      if (p.length > best.length) best = p;
    }
    visiting.delete(urn);
    const path = [...best, urn];
    memo.set(urn, path);
    return path;
  };
  let best: string[] = [];
  for (const r of resources) {
    if (!r.custom) continue; // components are barriers, not steps
    const p = longest(r.urn).filter((u) => byUrn.get(u)!.custom);
    if (p.length > best.length) best = p;
  }
  return best;
}

/** Short display name of a URN: type::name → name (type). */
export function shortUrn(urn: string): string {
  const parts = urn.split("::");
  const type = parts[2]?.split("$").pop() ?? "";
  return `${parts[3] ?? urn} (${type})`;
}
