/**
 * The blueprint catalog (components/kit/catalog.ts) against seed 000 itself: the test parses the
 * seed's text — §1.2's 63-row table, §2's edges, §2.8's stated maximum chain, §5's probes and §6's
 * reasons — and compares it with CATALOG, so a transcription slip fails here, not on a cluster.
 *
 * The seed is one long line (its Markdown lost its newlines), so ASCII art and code blocks are
 * whitespace-collapsed: §2.2's tree is read by hand (DIAGRAM_EDGES, below), everything with an
 * arrow or a table row is parsed.
 */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { blueprint, CATALOG, CHARTS, OMANTEL_1, OPENOVA_OCI, PROFILES, releaseName } from "../../components/kit/catalog";
import { longestChain } from "../../components/kit/dag";
import { CHART_LOCKS } from "../../components/supplychain/locks";

/** Repository root: this file runs from dist/test/kit. */
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");
/**
 * Seed 000, verbatim, as a fixture (test/fixtures/seeds/, its sha256 pinned below) so a clean
 * checkout can check the catalog against it; KUBEDOS_SEEDS points at another copy.
 */
const SEED_FILE = path.join(process.env.KUBEDOS_SEEDS ?? path.resolve(REPO_ROOT, "test", "fixtures", "seeds"), "000_e131c4a2af35c22f.txt");

function readSeed(): string {
  if (!existsSync(SEED_FILE)) throw new Error(`seed 000 not found at ${SEED_FILE}; set KUBEDOS_SEEDS to the seeds directory`);
  return readFileSync(SEED_FILE, "utf8");
}
const SEED = readSeed();

/** The text between two markers of the seed (the first occurrence of each, `to` after `from`). */
function section(from: string, to: string): string {
  const a = SEED.indexOf(from);
  const b = SEED.indexOf(to, a + from.length);
  assert.ok(a >= 0 && b > a, `seed 000: cannot find the section ${from} … ${to}`);
  return SEED.slice(a, b);
}

// ---------------------------------------------------------------- §1.2

interface SeedRow {
  row: number;
  name: string;
  tier: string;
  layer: string;
  disposition: string;
  notes: string;
}

const TABLE: SeedRow[] = [
  ...section("### 1.2", "> **Count check.**").matchAll(
    /\| (\d+) \| bp-([a-z0-9-]+)(?: \(umbrella\))? \| ([^|]+?) \| ([^|]+?) \| ([^|]+?) \| ([^|]+?) \|/g,
  ),
].map((m) => ({ row: Number(m[1]), name: m[2], tier: m[3], layer: m[4], disposition: m[5].replace(/\*\*/g, ""), notes: m[6] }));

// ---------------------------------------------------------------- §2

type EdgeKey = `${string} -> ${string}`;
const key = (from: string, to: string): EdgeKey => `${from} -> ${to}`;

/**
 * The `──►` statements of §2.2–§2.7's code blocks: "A(01), B(02) ──► C(03)" (C depends on A and
 * B), chains "A ──► B ──► C", and "(none) ──► D". Prose between the blocks is skipped: it names
 * blueprints too (`[bp-openbao, bp-cert-manager]`) without stating new edges.
 */
function arrowEdges(): Set<EdgeKey> {
  const edges = new Set<EdgeKey>();
  const blocks = section("### 2.2", "### 2.8")
    .split("```")
    .filter((_, i) => i % 2 === 1);
  for (const block of blocks) {
    let sources: string[] = [];
    let prev = "";
    for (const [tok] of block.matchAll(/bp-[a-z0-9-]+(?:\s*\(\d+\))?|──►|,|\(none\)/g)) {
      if (tok.startsWith("bp-")) {
        const name = tok.replace(/\s*\(\d+\)$/, "").slice(3);
        if (prev === "──►") {
          for (const s of sources) edges.add(key(name, s));
          sources = [name]; // "A ──► B ──► C": B is the source of the next arrow
        } else if (prev === ",") sources.push(name);
        else sources = [name];
      } else if (tok === "(none)") sources = [];
      prev = tok;
    }
  }
  return edges;
}

/**
 * §2.2's ASCII tree, read by hand (whitespace-collapsed in this copy, it cannot be parsed). The
 * published original draws cert-manager fanning out to flux, sealed-secrets, spire and keycloak
 * (five arrowheads for four boxes), flux → crossplane → crossplane-claims, and spire splitting
 * into openbao and nats-jetstream. As `dependent -> dependency`.
 */
const DIAGRAM_EDGES: EdgeKey[] = [
  key("cert-manager", "cilium"),
  key("flux", "cert-manager"),
  key("sealed-secrets", "cert-manager"),
  key("spire", "cert-manager"),
  key("keycloak", "cert-manager"),
  key("crossplane", "flux"),
  key("crossplane-claims", "crossplane"),
  key("openbao", "spire"),
  key("nats-jetstream", "spire"),
];

/** §2.8: "**Max chain length = 7** (cilium → … → catalyst-platform)". */
function statedMaxChain(): { length: number; chain: string[] } {
  const m = /\*\*Max chain length = (\d+)\*\* \(([^)]*)\)/.exec(section("### 2.8", "## 3."));
  assert.ok(m, "seed 000 §2.8 states no maximum chain");
  return { length: Number(m[1]), chain: m[2].split(" → ").map((s) => s.trim()) };
}

function seedEdges(): Set<EdgeKey> {
  const { chain } = statedMaxChain();
  const fromChain = chain.slice(1).map((n, i) => key(n, chain[i]));
  return new Set([...arrowEdges(), ...DIAGRAM_EDGES, ...fromChain]);
}

const catalogEdges = (source: "seed" | "inferred"): Set<EdgeKey> =>
  new Set(CATALOG.flatMap((b) => b.dependsOn.filter((e) => e.source === source).map((e) => key(b.name, e.on))));

// ---------------------------------------------------------------- §5 and §6

/** §5's probes by slot: unescaped (`\|` is a Markdown-escaped pipe), the stripped host kept empty. */
const PROBES = new Map(
  [...section("## 5. Smoke test", "The harness substitutes").matchAll(/\| (\d+) \| bp-([a-z0-9-]+) \| `(.*?)` \|/g)].map((m) => [
    m[2],
    { slot: Number(m[1]), probe: m[3].replace(/\\\|/g, "|") },
  ]),
);

/** §6's reasons by blueprint. */
const REASONS = new Map(
  [...section("## 6. Excluded", "## 7. End-state").matchAll(/\| \*\*bp-([a-z0-9-]+)\*\* \| ([^|]+?) \|/g)].map((m) => [m[1], m[2]]),
);

const inKit = CATALOG.filter((b) => b.disposition.kind === "kit");
const excluded = CATALOG.filter((b) => b.disposition.kind === "excluded");

describe("kit catalog (seed 000)", () => {
  it("reads the seed it was transcribed from (sha256 pinned: a changed seed must be re-read)", () => {
    assert.equal(createHash("sha256").update(SEED).digest("hex"), "48f21447fcf005dbb90828591b718545c3c867e7722021506101f09a4b7f396d");
  });

  describe("§1.2 table", () => {
    it("has 63 rows in the seed and in the catalog, in the same order", () => {
      assert.equal(TABLE.length, 63);
      assert.deepEqual(
        CATALOG.map((b) => [b.row, b.name]),
        TABLE.map((r) => [r.row, r.name]),
      );
    });

    it("keeps 48 blueprints in the kit with slots 1–48, unique and equal to their row", () => {
      assert.equal(inKit.length, 48);
      assert.deepEqual(
        inKit.map((b) => b.slot),
        Array.from({ length: 48 }, (_, i) => i + 1),
      );
      for (const r of TABLE.filter((x) => !x.disposition.startsWith("excluded"))) {
        const slot = /slot (\d+)/.exec(r.disposition);
        assert.ok(slot, `row ${r.row} has no slot: ${r.disposition}`);
        assert.equal(blueprint(r.name).slot, Number(slot[1]), r.name);
      }
      assert.deepEqual(PROFILES[OMANTEL_1], inKit);
    });

    it("puts each kit blueprint in the batch §1.2 names (present 14, W2.K1 5, W2.K2 7, W2.K3 8, W2.K4 14)", () => {
      const counts: Record<string, number> = {};
      for (const r of TABLE.filter((x) => !x.disposition.startsWith("excluded"))) {
        const batch = r.disposition.startsWith("present") ? "present" : /^(W2\.K\d)/.exec(r.disposition)![1];
        const d = blueprint(r.name).disposition;
        assert.deepEqual(d, { kind: "kit", batch }, r.name);
        counts[batch] = (counts[batch] ?? 0) + 1;
      }
      assert.deepEqual(counts, { present: 14, "W2.K1": 5, "W2.K2": 7, "W2.K3": 8, "W2.K4": 14 });
    });

    it("excludes 15 blueprints, without a slot, each with §1.2's reason followed by §6's rationale", () => {
      assert.equal(excluded.length, 15);
      assert.equal(REASONS.size, 15);
      for (const b of excluded) {
        const r = TABLE.find((x) => x.name === b.name)!;
        const short = /^excluded \((.*)\)$/.exec(r.disposition);
        assert.ok(short, `row ${r.row}: ${r.disposition}`);
        assert.equal(b.slot, undefined, b.name);
        assert.deepEqual(b.disposition, { kind: "excluded", reason: `${short[1]} — ${REASONS.get(b.name)}` }, b.name);
      }
    });

    it("copies the tier as written and the layer (its first word: `host (transient)` is host, `app→bootstrapped` app)", () => {
      for (const r of TABLE) {
        const b = blueprint(r.name);
        assert.equal(b.tier, r.tier, `${r.name} tier`);
        assert.equal(b.layer, r.layer.split(/[ →]/)[0], `${r.name} layer`);
      }
    });

    it("makes exactly the Tier 0–1 foundation non-optional", () => {
      assert.deepEqual(
        CATALOG.filter((b) => !b.optional).map((b) => b.name),
        ["cilium", "cert-manager", "flux", "crossplane", "sealed-secrets", "spire", "openbao", "keycloak"],
      );
    });
  });

  describe("§2 edges", () => {
    it("parses 59 arrow edges from §2.2–§2.7 and 69 seed edges in all", () => {
      assert.equal(arrowEdges().size, 59);
      assert.equal(seedEdges().size, 69);
    });

    it("has every §2 edge in the catalog as a seed edge, and no seed edge §2 does not state", () => {
      const want = [...seedEdges()].sort();
      const got = [...catalogEdges("seed")].sort();
      assert.deepEqual(
        want.filter((e) => !got.includes(e)),
        [],
        "edges of §2 missing from the catalog",
      );
      assert.deepEqual(
        got.filter((e) => !want.includes(e)),
        [],
        "catalog edges marked seed that §2 does not state",
      );
    });

    it("gives §2.5's (none) blueprints, reloader and vpa, no dependency at all", () => {
      assert.deepEqual(blueprint("reloader").dependsOn, []);
      assert.deepEqual(blueprint("vpa").dependsOn, []);
    });

    it("records each inferred edge with the note or CRD that makes it hard, and never for an edge §2 states", () => {
      const inferred = CATALOG.flatMap((b) => b.dependsOn.filter((e) => e.source === "inferred").map((e) => ({ b, e })));
      assert.deepEqual(inferred.map(({ b, e }) => key(b.name, e.on)).sort(), [
        key("debezium", "strimzi"),
        key("ferretdb", "cnpg"),
        key("flink", "cert-manager"),
        key("gitea", "cnpg"),
        key("keycloak", "cnpg"),
        key("powerdns", "cnpg"),
      ]);
      const stated = seedEdges();
      for (const { b, e } of inferred) {
        assert.ok(e.reason && e.reason.length > 20, `${b.name} -> ${e.on} has no reason`);
        assert.ok(!stated.has(key(b.name, e.on)), `${b.name} -> ${e.on} is stated by §2: it is a seed edge`);
      }
      // The CNPG edges quote §1.2 row 16's note verbatim.
      const cnpgNote = TABLE.find((r) => r.name === "cnpg")!.notes;
      for (const n of ["powerdns", "keycloak", "gitea"]) {
        assert.ok(
          blueprint(n)
            .dependsOn.find((e) => e.on === "cnpg")!
            .reason!.includes(cnpgNote),
          n,
        );
      }
    });

    it("names only catalog blueprints, never the same dependency twice, and never itself", () => {
      for (const b of CATALOG) {
        const on = b.dependsOn.map((e) => e.on);
        assert.equal(new Set(on).size, on.length, `${b.name} repeats a dependency`);
        assert.ok(!on.includes(b.name), `${b.name} depends on itself`);
        for (const o of on) assert.doesNotThrow(() => blueprint(o), `${b.name} -> ${o}`);
      }
    });

    it("has the longest chain §2.8 states (7: cilium → … → catalyst-platform)", () => {
      const { length, chain } = statedMaxChain();
      assert.equal(length, 7);
      assert.deepEqual(longestChain(inKit), chain);
    });
  });

  describe("§5 readiness probes", () => {
    it("has one probe per slot 15–48, and each is §5's with `<domain>` where the seed's host is empty", () => {
      assert.equal(PROBES.size, 34);
      for (const [name, { slot, probe }] of PROBES) {
        const b = blueprint(name);
        assert.equal(b.slot, slot, name);
        // Two Services are named differently from §5's: bp-loki adopts Stage 6's release, whose
        // Service lives in `observability` (seed: loki.loki.svc); mimir-distributed has no `mimir`
        // Service — each component answers /ready on 8080, the distributor (write path) is probed.
        const renamed: Record<string, [string, string]> = {
          loki: ["loki.loki.svc", "loki.observability.svc"],
          mimir: ["mimir.mimir.svc", "mimir-distributed-distributor.mimir.svc"],
        };
        const seedText = renamed[name] ? probe.replace(...renamed[name]) : probe;
        assert.equal(b.readiness.replaceAll("<domain>", ""), seedText, name);
      }
    });

    it("writes a probe for every other blueprint too, one line, on the component's own surface where it has one", () => {
      for (const b of CATALOG) {
        assert.ok(b.readiness.length > 0 && !b.readiness.includes("\n"), b.name);
        assert.ok(!/https?:\/\/[a-z0-9-]*\.\//.test(b.readiness), `${b.name}: a host with an empty domain`);
      }
      // The HelmRelease itself is the fallback only where nothing of the component answers.
      assert.deepEqual(
        CATALOG.filter((b) => b.readiness.includes("helmrelease/")).map((b) => b.name),
        ["opentofu"],
      );
    });
  });

  describe("charts", () => {
    it("pins every blueprint's chart to an exact version, from one table", () => {
      for (const b of CATALOG) {
        assert.equal(b.chart, CHARTS[b.name], b.name);
        assert.match(b.chart.version, /^v?\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/, b.name);
        assert.match(b.chart.repository, /^(https|oci):\/\/\S+[^/]$/, b.name);
      }
      assert.equal(Object.keys(CHARTS).length, 63);
    });

    it("publishes the OpenOva-built blueprints as bp-<name> under ghcr.io/openova-io (seed 002)", () => {
      for (const b of CATALOG.filter((x) => x.chart.repository === OPENOVA_OCI)) assert.equal(b.chart.chart, releaseName(b.name));
      for (const n of ["catalyst-platform", "crossplane-claims", "llm-gateway", "anthropic-adapter", "failover-controller", "bge"]) {
        assert.equal(blueprint(n).chart.repository, "oci://ghcr.io/openova-io", n);
      }
    });

    it("adopts Stage 6's cilium, grafana and loki releases at the versions Stage 6 locks", () => {
      const adopted = CATALOG.filter((b) => b.adopts).map((b) => [b.name, b.adopts, b.namespace]);
      assert.deepEqual(adopted, [
        ["cilium", { releaseName: "cilium", namespace: "kube-system" }, "kube-system"],
        ["loki", { releaseName: "loki", namespace: "observability" }, "observability"],
        ["grafana", { releaseName: "grafana", namespace: "observability" }, "observability"],
      ]);
      for (const n of ["cilium", "grafana", "loki"] as const) {
        const { chart, repository, version } = CHART_LOCKS[n];
        assert.deepEqual(blueprint(n).chart, { chart, repository, version }, n);
      }
      assert.equal(blueprint("cert-manager").chart.version, "v1.18.2");
    });

    it("gives every blueprint a namespace and a semver minimum schema version", () => {
      for (const b of CATALOG) {
        assert.match(b.namespace, /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, b.name);
        assert.match(b.minSchemaVersion, /^\d+\.\d+\.\d+$/, b.name);
      }
    });
  });

  describe("blueprint()", () => {
    it("returns the entry by catalog name", () => {
      assert.equal(blueprint("velero").row, 34);
    });

    it("rejects an unknown name, naming it", () => {
      assert.throws(() => blueprint("nope"), /unknown blueprint "nope": the catalog has no bp-nope/);
      assert.throws(() => blueprint("bp-velero"), /bp-bp-velero/);
    });
  });
});
