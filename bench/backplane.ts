/**
 * `node dist/bench/backplane.js` — wall time of rendering the WireGuard full mesh
 * (components/backplane/render-node.ts renderNodeBackplane) for every node of a cluster.
 *
 * Sizes: the dev spec scaled to 50, 200 and 500 nodes × 3 planes by bench/gen-spec.ts (ordinals
 * pinned, every spec validated by Stage 0 first). A full mesh is O(N²): every node's file on a plane
 * lists every other node, plus the operator peer on the control plane — 500 × 499 × 3 + 500 =
 * 749,000 [Peer] entries at 500 nodes.
 *
 * Each timed run renders from a fresh copy of the plan with its own rotation epoch, so nothing is
 * reused between runs (the per-plane key and peer-block cache lives as long as its Plan object, and
 * keys.ts's own memo is keyed by epoch); every run includes all of its key derivations. The rendered text is counted and dropped node by node, as `kubedos render` writes it.
 * The reference path (wg-quick.ts renderWgQuick per node and plane, public keys derived once per
 * plane) is timed once per size for comparison.
 *
 * Without the per-plane cache every node's file would derive every peer's key again: N² × planes
 * derivations; the bench prints that estimate from the measured cost of one derivation.
 *
 * Env: BENCH_RUNS (default 3) timed runs per size, the median is reported. Prints figures and
 * PASS/MISS for the target (it does not assert); figures also go to bench/results/backplane.json
 * (gitignored). Exit 0 unless a render crashed.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { nodePlaneKey, operatorKey } from "../components/backplane/keys";
import { renderNodeBackplane } from "../components/backplane/render-node";
import { renderWgQuick } from "../components/backplane/wg-quick";
import { buildPlan, type Plan } from "../components/plan/plan";
import { generateSpec, PROJECT_ROOT } from "./gen-spec";

const SIZES = [50, 200, 500] as const;
const TARGET = { nodes: 500, planes: 3, wallS: 10 } as const;
const SEED = "kubedos-bench-seed-0001-public-not-secret";
/**
 * Every run renders a fresh epoch: keys.ts may memoize derivations for the life of the process, and
 * a run must pay for all of its own key derivations to be comparable.
 */
let nextEpoch = 1;
const RESULTS = path.join(PROJECT_ROOT, "bench", "results", "backplane.json");

interface Figure {
  nodes: number;
  planes: number;
  runs: number;
  wallS: number[];
  medianS: number;
  peerEntries: number;
  expectedPeerEntries: number;
  entriesPerS: number;
  bytes: number;
  referenceS: number;
  /** What deriving every peer's key in every node's file (no per-plane cache) would cost: N² × planes derivations. */
  uncachedKeysEstimateS: number;
}

const countPeers = (text: string): number => text.split("\n[Peer]\n").length - 1;

/** One full render of every node's files; returns [seconds, peer entries, bytes]. */
function renderMesh(plan: Plan): [number, number, number] {
  const fresh = structuredClone(plan);
  const epoch = nextEpoch++;
  let peers = 0;
  let bytes = 0;
  let ns = 0n;
  for (const node of fresh.nodes) {
    const t0 = process.hrtime.bigint();
    const files = renderNodeBackplane({ plan: fresh, node, seed: SEED, epoch });
    ns += process.hrtime.bigint() - t0; // counting below is not part of the render
    for (const f of files) {
      peers += countPeers(f.content);
      bytes += f.content.length;
    }
  }
  return [Number(ns) / 1e9, peers, bytes];
}

/** The reference: renderWgQuick for every node and plane, keys derived once per plane. */
function renderReference(plan: Plan): number {
  const epoch = nextEpoch++;
  const t0 = process.hrtime.bigint();
  for (const plane of plan.planes) {
    const keys = new Map(plan.nodes.map((n) => [n.name, nodePlaneKey(SEED, plan.cluster.name, plane.name, n.name, epoch)]));
    const publicKeys = new Map([...keys].map(([n, k]) => [n, k.publicKey]));
    const operatorPublicKey = plane.reserved.operatorPeer ? operatorKey(SEED, plan.cluster.name, plane.name, epoch).publicKey : undefined;
    for (const node of plan.nodes) {
      renderWgQuick(plan, node, plane, {
        publicKeys,
        privateKey: keys.get(node.name)!.privateKey,
        ...(operatorPublicKey ? { operatorPublicKey } : {}),
      });
    }
  }
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

/** Seconds per node key derivation (HKDF-SHA256 + X25519), measured over `n` derivations. */
function deriveCost(n: number): number {
  const t0 = process.hrtime.bigint();
  const epoch = nextEpoch++;
  for (let i = 0; i < n; i++) nodePlaneKey(SEED, "bench", "wg1", `n-${i}`, epoch);
  return Number(process.hrtime.bigint() - t0) / 1e9 / n;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function main(): number {
  const runs = Math.max(1, Number(process.env.BENCH_RUNS ?? 3) || 3);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubedos-bench-backplane-"));
  const figures: Figure[] = [];
  try {
    console.log(
      `backplane mesh render — node ${process.version}, ${os.cpus()[0]?.model ?? "?"} (${os.cpus().length} CPUs), ${runs} run(s) per size`,
    );
    const perKey = deriveCost(2000);
    console.log(`  one node key derivation (HKDF-SHA256 + X25519): ${(perKey * 1e6).toFixed(1)} µs`);
    for (const size of SIZES) {
      const g = generateSpec(dir, size);
      const plan = buildPlan(g.validation.spec!);
      const planes = plan.planes.length;
      const withOperator = plan.planes.filter((p) => p.reserved.operatorPeer).length;
      const expected = size * (size - 1) * planes + size * withOperator;
      renderMesh(plan); // warm-up: JIT, not caches (every run starts from a fresh plan copy)
      const wall: number[] = [];
      let peers = 0;
      let bytes = 0;
      for (let r = 0; r < runs; r++) {
        const [s, p, b] = renderMesh(plan);
        wall.push(s);
        peers = p;
        bytes = b;
      }
      if (peers !== expected) throw new Error(`${size} nodes: rendered ${peers} peer entries, expected ${expected}`);
      const referenceS = renderReference(plan);
      const uncachedKeysEstimateS = size * size * planes * perKey;
      const m = median(wall);
      figures.push({
        nodes: size,
        planes,
        runs,
        wallS: wall,
        medianS: m,
        peerEntries: peers,
        expectedPeerEntries: expected,
        entriesPerS: peers / m,
        bytes,
        referenceS,
        uncachedKeysEstimateS,
      });
      console.log(
        `  ${String(size).padStart(4)} nodes × ${planes} planes: ${m.toFixed(3)} s (median; runs ${wall.map((w) => w.toFixed(3)).join(", ")}), ` +
          `${peers.toLocaleString("en")} peer entries, ${Math.round(peers / m).toLocaleString("en")} entries/s, ` +
          `${(bytes / 2 ** 20).toFixed(1)} MiB of config; reference renderWgQuick path ${referenceS.toFixed(3)} s; ` +
          `deriving every peer key per file, uncached, would take ≈ ${uncachedKeysEstimateS.toFixed(1)} s of key derivation alone`,
      );
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  const big = figures.find((f) => f.nodes === TARGET.nodes && f.planes === TARGET.planes);
  const pass = big !== undefined && big.medianS < TARGET.wallS;
  console.log(
    `target: ${TARGET.nodes} nodes × ${TARGET.planes} planes in under ${TARGET.wallS} s — ${pass ? "PASS" : "MISS"}` +
      (big ? ` (${big.medianS.toFixed(3)} s)` : " (not measured)"),
  );
  fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
  fs.writeFileSync(
    RESULTS,
    JSON.stringify({ date: new Date().toISOString(), node: process.version, target: TARGET, pass, figures }, null, 2) + "\n",
  );
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(`bench/backplane: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
}
