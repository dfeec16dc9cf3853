/**
 * `npm run bench` (node dist/bench/plan.js) — wall time and peak memory of `kubedos plan`.
 *
 * Cases, each run as its own child process (a fresh Node, so peak RSS is per run):
 *   floor     node -e "require('@pulumi/pulumi')"           what any plan pays before doing anything
 *   dev       node bin/kubedos.js plan --stack dev           stacks/dev/cluster.yaml (6 nodes)
 *   nodes-100 node bin/kubedos.js plan --spec bench-100.yaml generated (bench/gen-spec.ts)
 *   nodes-500 node bin/kubedos.js plan --spec bench-500.yaml generated
 * Plan output goes to /dev/null. Resources are counted once per case from `plan --json`
 * (never assumed: the count grows as per-node resources land). Runs are interleaved
 * round-robin across cases so drift in machine load hits every case alike.
 *
 * Peak memory: GNU `/usr/bin/time -f %M -o FILE` around the child when it is installed and
 * agrees with the in-process figure on a calibration run (GNU time 1.7 reported 4× too much);
 * otherwise the `-r dist/bench/rss-hook.js` preload, which writes the child's own
 * process.resourceUsage().maxRSS at exit. Force one with BENCH_RSS=time|hook.
 *
 * Env: BENCH_RUNS (default 5) timed runs per case; BENCH_KEEP_SPECS=1 keeps the generated specs.
 * Prints figures and PASS/MISS per target; exits 0 unless a run itself crashed (then 1).
 * Figures are also written to bench/results/plan.json (gitignored).
 */
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { generateSpec, PROJECT_ROOT, type GeneratedSpec } from "./gen-spec";

const KUBEDOS = path.join(PROJECT_ROOT, "bin", "kubedos.js");
const HOOK = path.join(__dirname, "rss-hook.js");
const GNU_TIME = "/usr/bin/time";
const RESULTS = path.join(PROJECT_ROOT, "bench", "results", "plan.json");
const SIZES = [100, 500] as const;
const MiB = 1024; // KiB per MiB (rusage maxRSS and %M are in KiB)

const TARGETS = {
  devAboveFloorS: 1.5,
  large: { nodes: 500, wallS: 20, rssMiB: 1.5 * 1024 },
  /** "Roughly linear": the 500-node per-resource cost may be at most this multiple of the 100-node one. */
  linearRatioMax: 1.5,
} as const;

type RssMethod = "time" | "hook";

interface Case {
  id: string;
  command: string;
  nodes: number | null;
  /** Node arguments of the measured run (after the node binary). */
  args: string[];
  /** Arguments of the `plan --json` run that counts resources; none for the floor. */
  jsonArgs?: string[];
}

interface Sample {
  wallS: number;
  rssKiB: number | null;
}

interface Failure {
  caseId: string;
  what: string;
  status: number | null;
  signal: string | null;
  stderr: string;
}

interface Stats {
  median: number;
  min: number;
  max: number;
}

function stats(xs: number[]): Stats | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return { median: s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2, min: s[0], max: s[s.length - 1] };
}

const tail = (s: string, n = 15) => s.trimEnd().split("\n").slice(-n).join("\n");

function readKiB(file: string): number | null {
  try {
    // GNU time prefixes "Command exited with non-zero status N" when the child fails: take the last line.
    const last = fs.readFileSync(file, "utf8").trim().split("\n").pop() ?? "";
    return /^\d+$/.test(last) ? Number(last) : null;
  } catch {
    return null;
  }
}

/** One measured run: wall time around spawnSync, peak RSS by the chosen method. */
function runOnce(c: Case, method: RssMethod, scratch: string): { sample?: Sample; failure?: Failure } {
  const rssFile = path.join(scratch, "rss.txt");
  fs.rmSync(rssFile, { force: true });
  const devNull = fs.openSync("/dev/null", "w");
  const [cmd, argv, env] =
    method === "time"
      ? [GNU_TIME, ["-f", "%M", "-o", rssFile, process.execPath, ...c.args], process.env]
      : [process.execPath, ["-r", HOOK, ...c.args], { ...process.env, BENCH_RSS_OUT: rssFile }];
  try {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(cmd, argv, { cwd: PROJECT_ROOT, env, stdio: ["ignore", devNull, "pipe"], maxBuffer: 64 << 20 });
    const wallS = Number(process.hrtime.bigint() - t0) / 1e9;
    if (r.error || r.status !== 0) {
      return {
        failure: {
          caseId: c.id,
          what: "timed run",
          status: r.status,
          signal: r.signal,
          stderr: r.error ? String(r.error) : tail(r.stderr?.toString() ?? ""),
        },
      };
    }
    return { sample: { wallS, rssKiB: readKiB(rssFile) } };
  } finally {
    fs.closeSync(devNull);
  }
}

/** `plan --json` once: the resource count (and a warm-up for the timed runs). */
function countResources(c: Case, scratch: string): { resources?: number; failure?: Failure } {
  const outFile = path.join(scratch, `${c.id}.plan.json`);
  const fd = fs.openSync(outFile, "w"); // a file, not a pipe: no maxBuffer ceiling as the plan grows
  try {
    const r = spawnSync(process.execPath, c.jsonArgs!, { cwd: PROJECT_ROOT, stdio: ["ignore", fd, "pipe"], maxBuffer: 64 << 20 });
    const fail = (why: string): { failure: Failure } => ({
      failure: {
        caseId: c.id,
        what: `plan --json (${why})`,
        status: r.status,
        signal: r.signal,
        stderr: r.error ? String(r.error) : tail(r.stderr?.toString() ?? ""),
      },
    });
    if (r.error || r.status !== 0) return fail("exit status");
    let plan: { valid?: boolean; error?: string | null; resources?: unknown[] };
    try {
      plan = JSON.parse(fs.readFileSync(outFile, "utf8"));
    } catch (err) {
      return fail(`unparseable output: ${(err as Error).message}`);
    }
    if (plan.valid !== true || plan.error || !Array.isArray(plan.resources)) return fail(`valid=${plan.valid} error=${plan.error ?? null}`);
    return { resources: plan.resources.length };
  } finally {
    fs.closeSync(fd);
    fs.rmSync(outFile, { force: true });
  }
}

/** GNU time when installed and it agrees with the child's own maxRSS; else the preload hook. */
function chooseRssMethod(scratch: string): { method: RssMethod; why: string } {
  const forced = process.env.BENCH_RSS;
  if (forced === "time" || forced === "hook") return { method: forced, why: "forced by BENCH_RSS" };
  if (forced) throw new Error(`BENCH_RSS=${forced}: expected time or hook`);
  if (!fs.existsSync(GNU_TIME)) return { method: "hook", why: `${GNU_TIME} not installed (Debian package \`time\`)` };
  const a = path.join(scratch, "cal-time.txt");
  const b = path.join(scratch, "cal-hook.txt");
  // Touch 64 MiB so both figures are well above noise.
  const r = spawnSync(GNU_TIME, ["-f", "%M", "-o", a, process.execPath, "-r", HOOK, "-e", "Buffer.alloc(64 << 20, 1)"], {
    env: { ...process.env, BENCH_RSS_OUT: b },
    stdio: "ignore",
  });
  const viaTime = readKiB(a);
  const viaHook = readKiB(b);
  if (r.status !== 0 || viaTime === null || viaHook === null)
    return { method: "hook", why: `${GNU_TIME} -f %M -o did not work here (status ${r.status})` };
  const ratio = viaTime / viaHook;
  if (ratio < 0.8 || ratio > 1.25)
    return {
      method: "hook",
      why: `${GNU_TIME} reports ${viaTime} KiB vs the child's own ${viaHook} KiB (×${ratio.toFixed(2)}; GNU time 1.7's %M bug?)`,
    };
  return {
    method: "time",
    why: `GNU ${GNU_TIME} -f %M (agrees with the child's own maxRSS within ${Math.abs((ratio - 1) * 100).toFixed(0)} % on calibration)`,
  };
}

function runsFromEnv(): number {
  const v = process.env.BENCH_RUNS;
  if (v === undefined || v === "") return 5;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new Error(`BENCH_RUNS=${v}: expected a positive integer`);
  return n;
}

const f = (x: number | null | undefined, digits: number) =>
  x === null || x === undefined || !Number.isFinite(x) ? "—" : x.toFixed(digits);

function table(rows: string[][], rightAlignFrom = 1): string[] {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => (i >= rightAlignFrom ? c.padStart(widths[i]) : c.padEnd(widths[i]))).join("  ");
  return [line(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(line)];
}

async function main(): Promise<number> {
  const runs = runsFromEnv();
  const specDir = fs.mkdtempSync(path.join(os.tmpdir(), "kubedos-bench-"));
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "kubedos-bench-scratch-"));
  const started = Date.now();
  try {
    // 1. Specs: generated and validated by Stage 0 before anything is measured (throws if invalid).
    const specs = new Map<number, GeneratedSpec>();
    for (const n of SIZES) specs.set(n, generateSpec(specDir, n));
    const { method, why } = chooseRssMethod(scratch);

    const plan = (target: string[]) => [KUBEDOS, "plan", ...target];
    const cases: Case[] = [
      { id: "floor", command: `node -e "require('@pulumi/pulumi')"`, nodes: null, args: ["-e", "require('@pulumi/pulumi')"] },
      { id: "dev", command: "plan --stack dev", nodes: 6, args: plan(["--stack", "dev"]), jsonArgs: plan(["--stack", "dev", "--json"]) },
      ...SIZES.map((n) => {
        const file = specs.get(n)!.file;
        return {
          id: `nodes-${n}`,
          command: `plan --spec bench-${n}.yaml`,
          nodes: n,
          args: plan(["--spec", file]),
          jsonArgs: plan(["--spec", file, "--json"]),
        };
      }),
    ];

    console.log(
      `kubedos plan benchmark — node ${process.version}, ${os.cpus()[0]?.model ?? "?"} ×${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB`,
    );
    console.log(
      `runs per case: ${runs} (BENCH_RUNS), interleaved; peak RSS via ${method === "time" ? "/usr/bin/time" : "rss-hook preload"}: ${why}`,
    );
    console.log(`specs in ${specDir}:`);
    for (const s of specs.values()) {
      console.log(
        `  bench-${s.nodes}.yaml  ${s.controlPlanes} control planes + ${s.workers} workers on ${s.hosts} hosts in 3 failure domains; ordinals pinned` +
          ` (hash-derived would collide ${s.derivedCollisions}×); Stage 0: valid, ${s.validation.warnings.length} warning(s)`,
      );
      for (const w of s.validation.warnings) console.log(`    warning [${w.rule}] ${w.message}`);
    }

    // 2. Resource counts (doubles as one warm-up per plan case), then a warm-up of the floor.
    const failures: Failure[] = [];
    const resources = new Map<string, number | null>();
    for (const c of cases) {
      if (!c.jsonArgs) {
        runOnce(c, method, scratch);
        resources.set(c.id, null);
        continue;
      }
      const r = countResources(c, scratch);
      if (r.failure) failures.push(r.failure);
      resources.set(c.id, r.resources ?? null);
    }

    // 3. Timed runs, round-robin; a case that crashed is not run again.
    const samples = new Map<string, Sample[]>(cases.map((c) => [c.id, []]));
    const dead = new Set<string>(failures.map((x) => x.caseId));
    for (let i = 0; i < runs; i++) {
      for (const c of cases) {
        if (dead.has(c.id)) continue;
        const r = runOnce(c, method, scratch);
        if (r.failure) {
          failures.push(r.failure);
          dead.add(c.id);
        } else samples.get(c.id)!.push(r.sample!);
      }
      process.stderr.write(`  run ${i + 1}/${runs} done (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
    }

    // 4. Figures.
    const figures = cases.map((c) => {
      const ss = samples.get(c.id)!;
      const rss = ss.map((s) => s.rssKiB).filter((x): x is number => x !== null);
      return { c, wall: stats(ss.map((s) => s.wallS)), rssKiB: stats(rss), resources: resources.get(c.id) ?? null, samples: ss };
    });
    const floor = figures[0];
    const derived = figures.map((x) => {
      const aboveS = x.wall && floor.wall ? x.wall.median - floor.wall.median : null;
      return {
        ...x,
        aboveFloorS: x.c.id === "floor" ? null : aboveS,
        timeRatio: x.wall && floor.wall ? x.wall.median / floor.wall.median : null,
        memRatio: x.rssKiB && floor.rssKiB ? x.rssKiB.median / floor.rssKiB.median : null,
        msPerResource: aboveS !== null && x.resources ? (aboveS * 1000) / x.resources : null,
        msPerNode: aboveS !== null && x.c.nodes ? (aboveS * 1000) / x.c.nodes : null,
      };
    });

    const rows = [
      [
        "case",
        "command",
        "nodes",
        "resources",
        "wall s med",
        "wall s min",
        "RSS MiB med",
        "RSS MiB min",
        "RSS MiB max",
        "×floor time",
        "×floor mem",
        "ms/res >floor",
      ],
    ];
    for (const d of derived) {
      rows.push([
        d.c.id,
        d.c.command,
        d.c.nodes === null ? "—" : String(d.c.nodes),
        d.resources === null ? "—" : String(d.resources),
        f(d.wall?.median, 3),
        f(d.wall?.min, 3),
        f(d.rssKiB && d.rssKiB.median / MiB, 1),
        f(d.rssKiB && d.rssKiB.min / MiB, 1),
        f(d.rssKiB && d.rssKiB.max / MiB, 1),
        d.c.id === "floor" ? "1.00" : f(d.timeRatio, 2),
        d.c.id === "floor" ? "1.00" : f(d.memRatio, 2),
        f(d.msPerResource, 1),
      ]);
    }
    console.log("");
    for (const l of table(rows, 2)) console.log(l);

    // 5. Targets (reported, never failing the process).
    const byId = new Map(derived.map((d) => [d.c.id, d]));
    const dev = byId.get("dev")!;
    const small = byId.get(`nodes-${SIZES[0]}`)!;
    const large = byId.get(`nodes-${TARGETS.large.nodes}`)!;
    const linearRatio = small.msPerResource && large.msPerResource ? large.msPerResource / small.msPerResource : null;
    const verdict = (ok: boolean | null) => (ok === null ? "N/A " : ok ? "PASS" : "MISS");
    const targets = [
      {
        id: "dev-near-floor",
        target: `dev plan within ${TARGETS.devAboveFloorS} s of the floor (median)`,
        value: dev.aboveFloorS,
        shown: `${f(dev.aboveFloorS, 3)} s above the floor`,
        pass: dev.aboveFloorS === null ? null : dev.aboveFloorS <= TARGETS.devAboveFloorS,
      },
      {
        id: "large-wall",
        target: `${TARGETS.large.nodes}-node plan under ${TARGETS.large.wallS} s (median)`,
        value: large.wall?.median ?? null,
        shown: `${f(large.wall?.median, 3)} s`,
        pass: large.wall ? large.wall.median < TARGETS.large.wallS : null,
      },
      {
        id: "large-rss",
        target: `${TARGETS.large.nodes}-node plan under ${(TARGETS.large.rssMiB / 1024).toFixed(1)} GiB peak RSS (max of runs)`,
        value: large.rssKiB ? large.rssKiB.max / MiB : null,
        shown: `${f(large.rssKiB && large.rssKiB.max / MiB, 1)} MiB`,
        pass: large.rssKiB ? large.rssKiB.max / MiB < TARGETS.large.rssMiB : null,
      },
      {
        id: "linear-growth",
        target: `cost roughly linear in resources, ${SIZES[0]}→${SIZES[1]} nodes (per-resource cost above the floor grows ≤ ×${TARGETS.linearRatioMax})`,
        value: linearRatio,
        shown: `${f(small.msPerResource, 1)} → ${f(large.msPerResource, 1)} ms/resource = ×${f(linearRatio, 2)}`,
        pass: linearRatio === null ? null : linearRatio <= TARGETS.linearRatioMax,
      },
    ];
    console.log("\ntargets:");
    for (const t of targets) console.log(`  ${verdict(t.pass)}  ${t.target}: ${t.shown}`);
    if (small.resources !== null && large.resources !== null) {
      const resGrowth = large.resources / small.resources;
      const nodeGrowth = (large.c.nodes ?? 0) / (small.c.nodes ?? 1);
      console.log(
        `  note: resources grew ×${resGrowth.toFixed(2)} (${small.resources} → ${large.resources}) for ×${nodeGrowth.toFixed(0)} nodes; cost above the floor per node: ${f(small.msPerNode, 2)} → ${f(large.msPerNode, 2)} ms.` +
          (resGrowth < 1.5
            ? " The resource count does not yet scale with nodes, so per-resource cost mostly reflects per-node work outside the graph (Stage 0, the Plan)."
            : ""),
      );
    }

    if (failures.length > 0) {
      console.log("\nCRASHED runs:");
      for (const x of failures)
        console.log(`  ${x.caseId} ${x.what}: status ${x.status} signal ${x.signal}\n${x.stderr.replace(/^/gm, "    ")}`);
    }

    // 6. JSON.
    const json = {
      generatedAt: new Date().toISOString(),
      node: process.version,
      platform: `${os.platform()} ${os.release()} ${os.arch()}`,
      cpu: { model: os.cpus()[0]?.model ?? null, count: os.cpus().length },
      totalMemMiB: Math.round(os.totalmem() / 2 ** 20),
      runs,
      rssMethod: { method, why },
      specs: [...specs.values()].map((s) => ({
        nodes: s.nodes,
        controlPlanes: s.controlPlanes,
        workers: s.workers,
        hosts: s.hosts,
        failureDomains: 3,
        ordinalsPinned: true,
        derivedCollisionsAvoided: s.derivedCollisions,
        warnings: s.validation.warnings.length,
      })),
      cases: derived.map((d) => ({
        id: d.c.id,
        command: d.c.command,
        nodes: d.c.nodes,
        resources: d.resources,
        wallS: d.wall,
        peakRssMiB: d.rssKiB && { median: d.rssKiB.median / MiB, min: d.rssKiB.min / MiB, max: d.rssKiB.max / MiB },
        ratioToFloor: d.c.id === "floor" ? { time: 1, memory: 1 } : { time: d.timeRatio, memory: d.memRatio },
        aboveFloorS: d.aboveFloorS,
        msPerResourceAboveFloor: d.msPerResource,
        msPerNodeAboveFloor: d.msPerNode,
        samples: d.samples.map((s) => ({ wallS: s.wallS, peakRssMiB: s.rssKiB === null ? null : s.rssKiB / MiB })),
      })),
      targets: targets.map((t) => ({
        id: t.id,
        target: t.target,
        value: t.value,
        result: t.pass === null ? "n/a" : t.pass ? "pass" : "miss",
      })),
      failures,
      durationS: (Date.now() - started) / 1000,
    };
    fs.mkdirSync(path.dirname(RESULTS), { recursive: true });
    fs.writeFileSync(RESULTS, JSON.stringify(json, null, 2) + "\n");
    console.log(`\nwrote ${path.relative(process.cwd(), RESULTS) || RESULTS} (${json.durationS.toFixed(0)} s total)`);
    return failures.length > 0 ? 1 : 0;
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
    if (process.env.BENCH_KEEP_SPECS === "1") console.log(`kept specs in ${specDir}`);
    else fs.rmSync(specDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`\nkubedos bench: ABORTED: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  },
);
