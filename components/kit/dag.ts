/**
 * The kit's dependency graph (seed 000 §2): Flux installs a HelmRelease only when every
 * `dependsOn` is Ready, so the kit converges only if the graph is acyclic and closed (every
 * dependency inside the kit). A cycle or a dangling edge would leave HelmReleases waiting forever
 * with nothing to say why; these checks say it before anything is rendered.
 *
 * Depth follows §2.8: a blueprint with no dependency has depth 1, every other one 1 + the
 * deepest of its dependencies; the longest chain has as many nodes as the deepest depth.
 */
import { releaseName } from "./catalog";
import type { Blueprint } from "./types";

export type DagProblem =
  | {
      kind: "cycle";
      /** The cycle as names, first name repeated at the end: [a, b, a] means a depends on b depends on a. */
      path: string[];
      message: string;
    }
  | {
      kind: "missing";
      /** The blueprint whose `dependsOn` names a blueprint outside the set. */
      from: string;
      /** The blueprint it names. */
      on: string;
      message: string;
    };

/** Slot when the blueprint has one; excluded blueprints sort after every slot, in row order. */
const order = (b: Blueprint): number => b.slot ?? 1000 + b.row;
const byOrder = (a: Blueprint, b: Blueprint): number => order(a) - order(b) || a.name.localeCompare(b.name);

/**
 * Every problem of the graph `bps` spans: edges to blueprints not in the set (naming both) and
 * cycles (with the path). Each cycle is reported once, from its first member in slot order.
 */
export function checkDag(bps: readonly Blueprint[]): DagProblem[] {
  const problems: DagProblem[] = [];
  const byName = new Map(bps.map((b) => [b.name, b]));
  const sorted = [...bps].sort(byOrder);
  for (const b of sorted) {
    for (const e of b.dependsOn) {
      if (!byName.has(e.on)) {
        problems.push({
          kind: "missing",
          from: b.name,
          on: e.on,
          message: `${releaseName(b.name)} depends on ${releaseName(e.on)}, which is not in the kit; Flux would never install ${releaseName(b.name)}`,
        });
      }
    }
  }
  // Depth-first search with an explicit path: a back edge to a node on the path closes a cycle.
  const state = new Map<string, "open" | "done">();
  const seen = new Set<string>();
  const visit = (name: string, path: string[]): void => {
    state.set(name, "open");
    path.push(name);
    for (const e of byName.get(name)!.dependsOn) {
      if (!byName.has(e.on)) continue;
      const s = state.get(e.on);
      if (s === "open") {
        const cycle = [...path.slice(path.indexOf(e.on)), e.on];
        // The same cycle is found from whichever member the search reaches first; report it once.
        const key = [...cycle.slice(0, -1)].sort().join(" ");
        if (!seen.has(key)) {
          seen.add(key);
          problems.push({
            kind: "cycle",
            path: cycle,
            message: `dependency cycle ${cycle.map(releaseName).join(" → ")}: Flux would wait on these HelmReleases forever`,
          });
        }
      } else if (s === undefined) {
        visit(e.on, path);
      }
    }
    path.pop();
    state.set(name, "done");
  };
  for (const b of sorted) if (!state.has(b.name)) visit(b.name, []);
  return problems;
}

/** Throws with every problem when the graph is not a closed DAG (depth is meaningless otherwise). */
function assertDag(bps: readonly Blueprint[]): void {
  const problems = checkDag(bps);
  if (problems.length > 0) throw new Error(`the kit is not a closed DAG: ${problems.map((p) => p.message).join("; ")}`);
}

/** Depth of every blueprint (roots 1). Throws when the graph has a cycle or an edge leaving the set. */
export function depths(bps: readonly Blueprint[]): Map<string, number> {
  assertDag(bps);
  const byName = new Map(bps.map((b) => [b.name, b]));
  const memo = new Map<string, number>();
  const depth = (name: string): number => {
    const known = memo.get(name);
    if (known !== undefined) return known;
    const d = 1 + Math.max(0, ...byName.get(name)!.dependsOn.map((e) => depth(e.on)));
    memo.set(name, d);
    return d;
  };
  const out = new Map<string, number>();
  for (const b of [...bps].sort(byOrder)) out.set(b.name, depth(b.name));
  return out;
}

/**
 * The longest dependency chain, root → leaf, as names. Ties are broken towards the lowest slot
 * (the leaf first, then each dependency walking back), so the answer is stable and, for the
 * omantel-1 kit, is seed 000 §2.8's cilium → cert-manager → spire → openbao → keycloak → gitea →
 * catalyst-platform rather than one of the other 7-node chains that end in the AI runtime.
 */
export function longestChain(bps: readonly Blueprint[]): string[] {
  if (bps.length === 0) return [];
  const d = depths(bps);
  const byName = new Map(bps.map((b) => [b.name, b]));
  const sorted = [...bps].sort(byOrder);
  const max = Math.max(...d.values());
  let at: Blueprint | undefined = sorted.find((b) => d.get(b.name) === max);
  const chain: string[] = [];
  while (at) {
    chain.unshift(at.name);
    const want = d.get(at.name)! - 1;
    at = at.dependsOn
      .map((e) => byName.get(e.on)!)
      .filter((p) => d.get(p.name) === want)
      .sort(byOrder)[0];
  }
  return chain;
}

/**
 * An install order Flux's `dependsOn` allows: by depth, then slot (then row, for blueprints
 * without a slot). Deterministic, so rendered output and plans do not reorder between runs.
 */
export function topoOrder(bps: readonly Blueprint[]): string[] {
  const d = depths(bps);
  return [...bps].sort((a, b) => d.get(a.name)! - d.get(b.name)! || byOrder(a, b)).map((b) => b.name);
}
