/**
 * The kit's dependency graph (components/kit/dag.ts) on the real catalog: acyclic, closed (every
 * dependency inside the kit), depth as seed 000 §2.8 counts it (max chain 7), a deterministic
 * install order, and mutations — a cycle, a blueprint taken out — reported with names and path.
 */
import { strict as assert } from "node:assert";
import { blueprint, CATALOG, OMANTEL_1, PROFILES } from "../../components/kit/catalog";
import { checkDag, depths, longestChain, topoOrder } from "../../components/kit/dag";
import type { Blueprint } from "../../components/kit/types";

const KIT = PROFILES[OMANTEL_1];

/** A copy of `bps` where `name` also depends on `on` (a seed edge, as a careless edit would add it). */
function withEdge(bps: readonly Blueprint[], name: string, on: string): Blueprint[] {
  return bps.map((b) => (b.name === name ? { ...b, dependsOn: [...b.dependsOn, { on, source: "seed" as const }] } : b));
}

describe("kit DAG", () => {
  describe("checkDag", () => {
    it("accepts the whole catalog: acyclic, every edge to a catalog blueprint", () => {
      assert.deepEqual(checkDag(CATALOG), []);
    });

    it("accepts the omantel-1 kit: every dependency of the 48 is inside the 48", () => {
      assert.equal(KIT.length, 48);
      assert.deepEqual(checkDag(KIT), []);
    });

    it("rejects a cycle, giving its path (seaweedfs ⇄ velero)", () => {
      const problems = checkDag(withEdge(KIT, "seaweedfs", "velero"));
      assert.deepEqual(problems, [
        {
          kind: "cycle",
          path: ["seaweedfs", "velero", "seaweedfs"],
          message: "dependency cycle bp-seaweedfs → bp-velero → bp-seaweedfs: Flux would wait on these HelmReleases forever",
        },
      ]);
    });

    it("rejects a long cycle through the root once, with every blueprint on it", () => {
      const cycles = checkDag(withEdge(KIT, "cilium", "catalyst-platform")).filter((p) => p.kind === "cycle");
      assert.equal(cycles.length, 1);
      assert.deepEqual(cycles[0].path, ["cilium", "catalyst-platform", "gitea", "keycloak", "cert-manager", "cilium"]);
      assert.match(cycles[0].message, /bp-cilium → bp-catalyst-platform → bp-gitea → bp-keycloak → bp-cert-manager → bp-cilium/);
    });

    it("rejects an edge leaving the set, naming both blueprints", () => {
      const problems = checkDag(KIT.filter((b) => b.name !== "seaweedfs"));
      assert.deepEqual(
        problems.map((p) => (p.kind === "missing" ? `${p.from} -> ${p.on}` : p.kind)),
        ["harbor -> seaweedfs", "loki -> seaweedfs", "mimir -> seaweedfs", "tempo -> seaweedfs", "velero -> seaweedfs"],
      );
      assert.equal(problems[4].message, "bp-velero depends on bp-seaweedfs, which is not in the kit; Flux would never install bp-velero");
    });
  });

  describe("depths", () => {
    const d = depths(KIT);

    it("counts as §2.8 does: roots 1, cert-manager 2, keycloak 5 (via spire → openbao), catalyst-platform 7", () => {
      assert.equal(d.get("cilium"), 1);
      assert.equal(d.get("reloader"), 1);
      assert.equal(d.get("vpa"), 1);
      assert.equal(d.get("cert-manager"), 2);
      assert.equal(d.get("openbao"), 4);
      assert.equal(d.get("keycloak"), 5);
      assert.equal(d.get("gitea"), 6);
      assert.equal(d.get("catalyst-platform"), 7);
    });

    it("stays within seed 000's maximum of 7, reached only by the umbrella and the AI runtime leaves", () => {
      assert.equal(Math.max(...d.values()), 7);
      assert.deepEqual(
        KIT.filter((b) => d.get(b.name) === 7).map((b) => b.name),
        ["catalyst-platform", "anthropic-adapter", "nemo-guardrails", "librechat"],
      );
    });

    it("is one more than the deepest dependency for every blueprint", () => {
      for (const b of KIT) assert.equal(d.get(b.name), 1 + Math.max(0, ...b.dependsOn.map((e) => d.get(e.on)!)), b.name);
    });

    it("throws on a cycle, naming it", () => {
      assert.throws(() => depths(withEdge(KIT, "seaweedfs", "velero")), /dependency cycle bp-seaweedfs → bp-velero → bp-seaweedfs/);
    });
  });

  describe("longestChain", () => {
    it("is seed 000 §2.8's chain of 7 for the omantel-1 kit, root first", () => {
      const chain = longestChain(KIT);
      assert.equal(chain.length, 7);
      assert.deepEqual(chain, ["cilium", "cert-manager", "spire", "openbao", "keycloak", "gitea", "catalyst-platform"]);
    });

    it("is a real path: each blueprint depends on the one before it", () => {
      const chain = longestChain(KIT);
      for (let i = 1; i < chain.length; i++) {
        assert.ok(
          blueprint(chain[i]).dependsOn.some((e) => e.on === chain[i - 1]),
          `${chain[i]} does not depend on ${chain[i - 1]}`,
        );
      }
    });

    it("follows the kit: without the umbrella the deepest chain ends in the AI runtime", () => {
      const chain = longestChain(KIT.filter((b) => b.name !== "catalyst-platform"));
      assert.deepEqual(chain, ["cilium", "cert-manager", "spire", "openbao", "keycloak", "llm-gateway", "anthropic-adapter"]);
    });

    it("is empty for an empty set and throws on a cycle", () => {
      assert.deepEqual(longestChain([]), []);
      assert.throws(() => longestChain(withEdge(KIT, "cilium", "catalyst-platform")), /dependency cycle/);
    });
  });

  describe("topoOrder", () => {
    const order = topoOrder(KIT);

    it("lists every blueprint once, after all of its dependencies", () => {
      assert.deepEqual([...order].sort(), KIT.map((b) => b.name).sort());
      const at = new Map(order.map((n, i) => [n, i]));
      for (const b of KIT) for (const e of b.dependsOn) assert.ok(at.get(e.on)! < at.get(b.name)!, `${e.on} before ${b.name}`);
    });

    it("orders by depth, then slot", () => {
      assert.deepEqual(order.slice(0, 4), ["cilium", "reloader", "vpa", "cert-manager"]);
      assert.deepEqual(order.slice(-4), ["catalyst-platform", "anthropic-adapter", "nemo-guardrails", "librechat"]);
      const d = depths(KIT);
      for (let i = 1; i < order.length; i++) {
        const [a, b] = [blueprint(order[i - 1]), blueprint(order[i])];
        assert.ok(d.get(a.name)! < d.get(b.name)! || (d.get(a.name) === d.get(b.name) && a.slot! < b.slot!), `${a.name} then ${b.name}`);
      }
    });

    it("does not depend on the input order", () => {
      assert.deepEqual(topoOrder([...KIT].reverse()), order);
    });

    it("places excluded blueprints (no slot) after the slotted ones of their depth, in row order", () => {
      const all = topoOrder(CATALOG);
      assert.equal(all.length, 63);
      const depth1 = all.slice(0, all.indexOf("cert-manager"));
      assert.deepEqual(depth1, [
        "cilium",
        "reloader",
        "vpa",
        "failover-controller",
        "keda",
        "clickhouse",
        "strimzi",
        "iceberg",
        "opensearch",
        "milvus",
        "neo4j",
        "stalwart",
        "guacamole",
        "litmus",
        "opentofu",
      ]);
    });
  });
});
