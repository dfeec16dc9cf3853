/**
 * A picture of the bootstrap kit's DAG (`kubedos plan --graph FILE`): Graphviz DOT or Mermaid.
 * One column per tier, left to right, so the tiers read at a glance; each node shows its slot and
 * release name; the longest chain is drawn in bold red. Pure: the caller writes the file (and runs
 * Graphviz for SVG when it is installed).
 */
import { releaseName } from "./catalog";
import { longestChain } from "./dag";
import type { Blueprint } from "./types";

type Slotted = Blueprint & { slot: number };

/** The tier's column key: the leading number of the seed's tier text (`5 (registry)` → 5, `0/3` → 0, `3.5` → 3.5). */
function tierKey(tier: string): number {
  const m = /^\d+(\.\d+)?/.exec(tier.trim());
  return m ? Number(m[0]) : 99;
}

const id = (name: string): string => `bp_${name.replace(/[^a-z0-9]/gi, "_")}`;
const label = (b: Slotted): string => `${String(b.slot).padStart(2, "0")} ${releaseName(b.name)}`;

function chainEdges(chain: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (let i = 1; i < chain.length; i++) out.add(`${chain[i - 1]}>${chain[i]}`);
  return out;
}

function byTier(bps: readonly Slotted[]): Array<[number, Slotted[]]> {
  const tiers = new Map<number, Slotted[]>();
  for (const b of bps) {
    const k = tierKey(b.tier);
    tiers.set(k, [...(tiers.get(k) ?? []), b]);
  }
  return [...tiers.entries()].sort(([a], [b]) => a - b).map(([k, list]) => [k, list.sort((x, y) => x.slot - y.slot)]);
}

/** Graphviz DOT: a cluster per tier, edges dependency → dependent, the longest chain highlighted. */
export function kitDot(bps: readonly Slotted[], title: string): string {
  const chain = longestChain(bps);
  const onChain = new Set(chain);
  const hot = chainEdges(chain);
  const lines = [
    "digraph kit {",
    `  label=${JSON.stringify(`${title} — ${bps.length} blueprints; longest chain ${chain.length}: ${chain.map(releaseName).join(" → ")}`)};`,
    '  labelloc="t"; rankdir=LR; newrank=true; fontname="Helvetica";',
    '  node [shape=box, style="rounded,filled", fillcolor="#f5f7fa", fontname="Helvetica", fontsize=10];',
    '  edge [color="#8896a8", arrowsize=0.6];',
  ];
  for (const [tier, list] of byTier(bps)) {
    lines.push(
      `  subgraph cluster_tier_${String(tier).replace(".", "_")} {`,
      `    label="tier ${tier}"; style="rounded,dashed"; color="#b0bac8";`,
    );
    for (const b of list) {
      const extra = onChain.has(b.name) ? ', color="#c0392b", penwidth=2' : "";
      lines.push(`    ${id(b.name)} [label=${JSON.stringify(label(b))}${extra}];`);
    }
    lines.push("  }");
  }
  const names = new Set(bps.map((b) => b.name));
  for (const b of [...bps].sort((x, y) => x.slot - y.slot)) {
    for (const e of [...b.dependsOn].sort((x, y) => x.on.localeCompare(y.on))) {
      if (!names.has(e.on)) continue;
      const attrs = [
        ...(hot.has(`${e.on}>${b.name}`) ? ['color="#c0392b"', "penwidth=2.2"] : []),
        ...(e.source === "inferred" ? ["style=dashed"] : []),
      ];
      lines.push(`  ${id(e.on)} -> ${id(b.name)}${attrs.length ? ` [${attrs.join(", ")}]` : ""};`);
    }
  }
  lines.push("}", "");
  return lines.join("\n");
}

/** Mermaid flowchart: the same graph (tiers as subgraphs, the longest chain styled). */
export function kitMermaid(bps: readonly Slotted[], title: string): string {
  const chain = longestChain(bps);
  const hot = chainEdges(chain);
  const lines = ["---", `title: ${title} — ${bps.length} blueprints, longest chain ${chain.length}`, "---", "flowchart LR"];
  for (const [tier, list] of byTier(bps)) {
    lines.push(`  subgraph tier_${String(tier).replace(".", "_")}["tier ${tier}"]`);
    for (const b of list) lines.push(`    ${id(b.name)}["${label(b)}"]`);
    lines.push("  end");
  }
  const names = new Set(bps.map((b) => b.name));
  let index = 0;
  const hotIdx: number[] = [];
  for (const b of [...bps].sort((x, y) => x.slot - y.slot)) {
    for (const e of [...b.dependsOn].sort((x, y) => x.on.localeCompare(y.on))) {
      if (!names.has(e.on)) continue;
      lines.push(`  ${id(e.on)} ${e.source === "inferred" ? "-.->" : "-->"} ${id(b.name)}`);
      if (hot.has(`${e.on}>${b.name}`)) hotIdx.push(index);
      index++;
    }
  }
  lines.push("  classDef chain fill:#fdecea,stroke:#c0392b,stroke-width:2px;");
  lines.push(`  class ${chain.map(id).join(",")} chain;`);
  if (hotIdx.length) lines.push(`  linkStyle ${hotIdx.join(",")} stroke:#c0392b,stroke-width:2.5px;`);
  return lines.join("\n") + "\n";
}
