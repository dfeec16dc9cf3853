/**
 * The kit's DAG picture (components/kit/graph.ts, `kubedos plan --graph FILE`): the DOT that
 * Graphviz renders, the Mermaid variant, the longest chain it highlights, and the CLI flag.
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { longestChain } from "../../components/kit/dag";
import { kitDot, kitMermaid } from "../../components/kit/graph";
import { selectKit } from "../../components/kit/select";
import { validateSpecText } from "../../components/spec/validate";
import { DEV } from "../plan/helpers";
import { kubedos } from "../support/cli";
import { requireTool, run } from "../support/tools";

const r = validateSpecText(DEV, "stacks/dev/cluster.yaml");
const kit = selectKit(r.spec!);
const tmp = mkdtempSync(path.join(os.tmpdir(), "kubedos-kit-graph-"));

describe("kit: the DAG picture", () => {
  it("highlights the longest chain the DAG check reports (7 blueprints, cilium → … → catalyst-platform)", () => {
    const chain = longestChain(kit.blueprints);
    assert.equal(chain.length, 7);
    assert.equal(chain[0], "cilium");
    const dot = kitDot(kit.blueprints, "dev");
    for (let i = 1; i < chain.length; i++) {
      assert.match(dot, new RegExp(`bp_${chain[i - 1].replace(/-/g, "_")} -> bp_${chain[i].replace(/-/g, "_")} \\[color="#c0392b"`));
    }
  });

  it("draws every blueprint once and every catalog edge inside the kit (dashed when inferred)", () => {
    const dot = kitDot(kit.blueprints, "dev");
    const names = new Set(kit.blueprints.map((b) => b.name));
    for (const b of kit.blueprints) {
      const id = `bp_${b.name.replace(/-/g, "_")}`;
      assert.equal((dot.match(new RegExp(`^    ${id} \\[label=`, "gm")) ?? []).length, 1, b.name);
      for (const e of b.dependsOn.filter((x) => names.has(x.on))) {
        const line = dot.split("\n").find((l) => l.startsWith(`  bp_${e.on.replace(/-/g, "_")} -> ${id}`));
        assert.ok(line, `edge bp-${e.on} → bp-${b.name}`);
        assert.equal(line.includes("style=dashed"), e.source === "inferred", line);
      }
    }
    const edges = kit.blueprints.reduce((n, b) => n + b.dependsOn.filter((e) => names.has(e.on)).length, 0);
    assert.equal((dot.match(/ -> /g) ?? []).length, edges);
    const mermaid = kitMermaid(kit.blueprints, "dev");
    assert.equal((mermaid.match(/ -(->|\.->) /g) ?? []).length, edges);
    assert.equal((mermaid.match(/\["\d\d bp-/g) ?? []).length, kit.blueprints.length);
  });

  it("is DOT that Graphviz renders to SVG, one node per blueprint", async function () {
    const dot = requireTool(this, "dot");
    const file = path.join(tmp, "kit.dot");
    writeFileSync(file, kitDot(kit.blueprints, "dev"));
    const res = await run(dot, ["-Tsvg", file]);
    assert.equal(res.code, 0, res.stderr);
    assert.equal((res.stdout.match(/<g id="node\d+" class="node">/g) ?? []).length, kit.blueprints.length);
  });

  it("kubedos plan --stack dev --graph FILE writes the DOT and its SVG; .mmd writes Mermaid", async function () {
    this.timeout(120_000);
    requireTool(this, "dot");
    const dotFile = path.join(tmp, "cli", "kit.dot");
    const mmd = path.join(tmp, "cli", "kit.mmd");
    // Two independent runs (different files): side by side.
    const [a, b] = await Promise.all([
      kubedos(["plan", "--stack", "dev", "--graph", dotFile]),
      kubedos(["plan", "--stack", "dev", "--graph", mmd]),
    ]);
    assert.equal(a.code, 0, a.stderr);
    assert.ok(readFileSync(dotFile, "utf8").startsWith("digraph kit {"));
    assert.ok(readFileSync(`${dotFile}.svg`, "utf8").includes("<svg"));
    assert.match(a.stdout, /^bootstrap kit: 48 HelmReleases through Flux; longest blueprint chain \(7\): bp-cilium → /m);
    assert.equal(b.code, 0, b.stderr);
    assert.ok(readFileSync(mmd, "utf8").includes("flowchart LR"));
    assert.ok(!existsSync(`${mmd}.svg`));
  });
});
