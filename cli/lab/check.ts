/**
 * `kubedos lab check` — the Backplane Matrix gate (seed 001 §17.1) on a running lab, and the
 * acceptance report it (and the drills) write.
 *
 * The probes are model.ts buildProbes: every ordered pair of live nodes on every plane, every
 * allowed inter-plane flow, a sample of denied ones, and the underlay. Each source namespace runs
 * its probes in one generated shell script (bounded batches of concurrent `ping` / `nc`, each with
 * its own timeout), so a 10-node matrix of ~1,600 probes takes seconds.
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parseGateOutput, securityGate } from "../../components/acceptance/gates";
import type { Observation } from "../../components/acceptance/report";
import { buildProbes, type Probe } from "./model";
import { liveNodes, nodeExec, waitHandshakes, type HandshakeResult, type LabContext } from "./lab";
import { reportPath } from "./state";
import { alive, pool, run } from "./sys";

export type Outcome = "reached" | "wrong-answer" | "refused" | "timeout" | "unreachable";

export interface ProbeResult {
  probe: Probe;
  ok: boolean;
  outcome: Outcome;
  attempts: number;
  rttMs?: number;
  detail: string;
}

/** Probes per background batch inside one namespace, and the timeouts (seconds). */
const BATCH = 24;
const REACH_TRIES = 2;
const REACH_WAIT_S = 3;
const BLOCK_WAIT_S = 2;

const SCRIPT_HEAD = String.raw`
pg() {
  a=0
  while [ "$a" -lt 3 ]; do
    a=$((a + 1))
    if o=$(ping -n -c 1 -W "$a" "$2" 2>&1); then printf 'R %s %s 0 <<%s>>\n' "$1" "$a" "$o"; return; fi
  done
  printf 'R %s %s 1 <<%s>>\n' "$1" "$a" "$o"
}
tc() {
  a=0
  while [ "$a" -lt "$6" ]; do
    a=$((a + 1))
    if [ "$2" = udp ]; then o=$(echo probe | nc -n -u -v -w "$7" -s "$3" "$4" "$5" 2>&1); else o=$(echo | nc -n -v -w "$7" -s "$3" "$4" "$5" 2>&1); fi
    case "$o" in *"kdl "*|*SSH-2.0-*) break;; esac
  done
  printf 'R %s %s 0 <<%s>>\n' "$1" "$a" "$o"
}
tz() {
  a=0
  while [ "$a" -lt "$5" ]; do
    a=$((a + 1))
    o=$(nc -z -n -v -w "$6" -s "$2" "$3" "$4" 2>&1) && break
  done
  printf 'R %s %s 0 <<%s>>\n' "$1" "$a" "$o"
}
`;

/** `dst:port` pairs a lab daemon serves instead of the listener (NodeState.served), and by what. */
export type Served = ReadonlyMap<string, string>;
const servedKey = (dst: string, port: number | undefined) => `${dst}:${port}`;

export function servedPorts(ctx: LabContext, live: string[] = liveNodes(ctx.state)): Map<string, string> {
  const m = new Map<string, string>();
  for (const n of live) for (const x of ctx.state.nodes[n]?.served ?? []) m.set(servedKey(x.address, x.port), x.by);
  return m;
}

function probeLine(p: Probe, served: Served): string {
  if (p.proto === "icmp") return `pg ${p.id} ${p.dst}`;
  const reach = p.expect === "reach";
  // A daemon's port (etcd speaks TLS, no banner): the TCP connect alone is the answer.
  if (p.proto === "tcp" && served.has(servedKey(p.dst, p.port)))
    return `tz ${p.id} ${p.src} ${p.dst} ${p.port} ${reach ? REACH_TRIES : 1} ${reach ? REACH_WAIT_S : BLOCK_WAIT_S}`;
  return `tc ${p.id} ${p.proto} ${p.src} ${p.dst} ${p.port} ${reach ? REACH_TRIES : 1} ${reach ? REACH_WAIT_S : BLOCK_WAIT_S}`;
}

/**
 * The shell script one namespace runs. The probes expected to be blocked mostly wait out their
 * timeout, so they start first, all in the background (bounded: 64 at a time); the quick ones then
 * run in batches of BATCH concurrent probes.
 */
export function probeScript(probes: Probe[], served: Served = new Map()): string {
  const blocked = probes.filter((p) => p.expect === "blocked");
  const reach = probes.filter((p) => p.expect === "reach");
  const lines = [SCRIPT_HEAD];
  for (let i = 0; i < blocked.length; i += 64) {
    const chunk = blocked.slice(i, i + 64).map((p) => `${probeLine(p, served)} &`);
    // Every chunk but the last is awaited; the last one overlaps the quick probes.
    lines.push(...chunk, ...(i + 64 < blocked.length ? ["wait"] : []));
  }
  for (let i = 0; i < reach.length; i += BATCH) {
    // `wait $q` waits for this batch only, not for the blocked probes still running.
    lines.push("q=", ...reach.slice(i, i + BATCH).map((p) => `${probeLine(p, served)} & q="$q $!"`), "wait $q");
  }
  lines.push("wait");
  return lines.join("\n") + "\n";
}

/** Run every probe from its source namespace; results in probe order. */
export async function runProbes(ctx: LabContext, probes: Probe[], served: Served = new Map()): Promise<ProbeResult[]> {
  const bySource = new Map<string, Probe[]>();
  for (const p of probes) bySource.set(p.from, [...(bySource.get(p.from) ?? []), p]);
  const raw = new Map<number, { attempts: number; rc: number; out: string }>();
  await pool([...bySource.keys()], 12, async (source) => {
    const ns = namespaceOf(ctx, source);
    const r = await run("nsenter", [`--net=/run/netns/${ns}`, "sh", "-c", probeScript(bySource.get(source)!, served)], {
      timeoutMs: 180_000,
    });
    for (const m of r.stdout.matchAll(/^R (\d+) (\d+) (\d+) <<([\s\S]*?)>>$/gm)) {
      raw.set(Number(m[1]), { attempts: Number(m[2]), rc: Number(m[3]), out: m[4] });
    }
  });
  return probes.map((p) => judge(p, raw.get(p.id), p.proto === "tcp" ? served.get(servedKey(p.dst, p.port)) : undefined));
}

function namespaceOf(ctx: LabContext, source: string): string {
  const op = ctx.state.operators.find((o) => `operator-${o.name}` === source);
  if (op) return op.ns;
  const n = ctx.state.nodes[source];
  if (!n) throw new Error(`no namespace for probe source ${source}`);
  return n.ns;
}

function judge(p: Probe, r: { attempts: number; rc: number; out: string } | undefined, servedBy?: string): ProbeResult {
  if (!r) return { probe: p, ok: false, outcome: "unreachable", attempts: 0, detail: "the probe did not report (script timed out?)" };
  const detail = r.out.replace(/\s+/g, " ").trim().slice(0, 240);
  let outcome: Outcome;
  let rttMs: number | undefined;
  if (p.proto === "icmp") {
    const t = / time=([\d.]+) ms/.exec(r.out);
    outcome = r.rc === 0 ? "reached" : "timeout";
    if (t) rttMs = Number(t[1]);
  } else if (servedBy && / succeeded!/.test(r.out)) {
    outcome = "reached";
  } else if (r.out.includes("kdl ") || r.out.includes("SSH-2.0-")) {
    outcome = p.banner && !r.out.includes(p.banner) ? "wrong-answer" : "reached";
  } else if (/refused/i.test(r.out)) outcome = "refused";
  else if (/unreachable|no route/i.test(r.out)) outcome = "unreachable";
  else outcome = "timeout";
  // A blocked probe passes unless the listener answered: the firewall drops, and the listener
  // listens on every probed port, so anything but an answer is the firewall's doing.
  const ok = p.expect === "reach" ? outcome === "reached" : outcome !== "reached" && outcome !== "wrong-answer";
  return { probe: p, ok, outcome, attempts: r.attempts, ...(rttMs !== undefined ? { rttMs } : {}), detail };
}

// ------------------------------------------------------------------------------- the gate

export interface GateResult {
  name: "backplane-matrix";
  status: "pass" | "fail";
  startedAt: string;
  finishedAt: string;
  durationMs: number;
  nodes: string[];
  epoch: number;
  summary: Record<string, { total: number; ok: number }>;
  failures: string[];
  evidence: {
    pairs: Array<{ plane: string; from: string; to: string; ok: boolean; rttMs: number | null; attempts: number }>;
    allowedFlows: FlowEvidence[];
    deniedFlows: FlowEvidence[];
    underlay: FlowEvidence[];
    handshakes: { ok: boolean; waitedMs: number; missing: string[]; table: HandshakeResult["table"] };
    processes: Array<{ node: string; what: string; pid: number; alive: boolean }>;
    method: Record<string, string>;
  };
}

interface FlowEvidence {
  from: string;
  to: string;
  fromPlane?: string;
  toPlane?: string;
  src?: string;
  dst: string;
  proto: string;
  port?: number;
  expect: "reach" | "blocked";
  ok: boolean;
  outcome: Outcome;
  attempts: number;
  why: string;
  /** A lab daemon (etcd), not the listener, serves this address:port: judged by the TCP connect. */
  servedBy?: string;
  detail?: string;
}

export interface CheckOptions {
  /** Nodes to check (default: every live node). */
  nodes?: string[];
  handshakeTimeoutMs?: number;
  handshakeSinceMs?: number;
}

/** The Backplane Matrix gate over the live nodes. */
export async function backplaneMatrix(ctx: LabContext, opts: CheckOptions = {}): Promise<GateResult> {
  const started = new Date();
  const live = opts.nodes ?? liveNodes(ctx.state);
  const processes = live.flatMap((n) =>
    [...ctx.state.nodes[n].procs, ...(ctx.state.nodes[n].holder ? [ctx.state.nodes[n].holder!] : [])].map((p) => ({
      node: n,
      what: p.what,
      pid: p.pid,
      alive: alive(p),
    })),
  );
  const hs = await waitHandshakes(ctx, {
    timeoutMs: opts.handshakeTimeoutMs ?? 15_000,
    ...(opts.handshakeSinceMs ? { sinceMs: opts.handshakeSinceMs } : {}),
  });
  const ssh = live.every((n) => ctx.state.nodes[n].ssh === "sshd") ? "sshd" : "listener";
  const probes = buildProbes(ctx.lab, { live, ssh });
  const served = servedPorts(ctx, live);
  const results = await runProbes(ctx, probes, served);
  const finished = new Date();

  const flow = (r: ProbeResult): FlowEvidence => ({
    from: r.probe.from,
    to: r.probe.to,
    ...(r.probe.fromPlane ? { fromPlane: r.probe.fromPlane, toPlane: r.probe.toPlane } : {}),
    ...(r.probe.src ? { src: r.probe.src } : {}),
    dst: r.probe.dst,
    proto: r.probe.proto,
    ...(r.probe.port !== undefined ? { port: r.probe.port } : {}),
    expect: r.probe.expect,
    ok: r.ok,
    outcome: r.outcome,
    attempts: r.attempts,
    why: r.probe.why,
    ...(r.probe.proto === "tcp" && served.has(servedKey(r.probe.dst, r.probe.port))
      ? { servedBy: served.get(servedKey(r.probe.dst, r.probe.port)) }
      : {}),
    ...(r.ok ? {} : { detail: r.detail }),
  });
  const of = (k: Probe["kind"]) => results.filter((r) => r.probe.kind === k);
  const failures = [
    ...processes.filter((p) => !p.alive).map((p) => `process ${p.what} (pid ${p.pid}) of ${p.node} is not running`),
    ...hs.missing.map((m) => `no WireGuard handshake ${m}`),
    ...results
      .filter((r) => !r.ok)
      .map((r) => {
        const p = r.probe;
        const what =
          p.kind === "pair"
            ? `${p.plane} ${p.from} → ${p.to} (${p.dst})`
            : `${p.from}${p.fromPlane ? `/${p.fromPlane}` : ""} → ${p.to}${p.toPlane ? `/${p.toPlane}` : ""} ${p.dst}:${p.port}/${p.proto}`;
        return `${p.kind}: ${what} expected ${p.expect}, got ${r.outcome} (${p.why})`;
      }),
  ];
  const summary: GateResult["summary"] = {};
  for (const k of ["pair", "allowed", "denied", "underlay"] as const)
    summary[k] = { total: of(k).length, ok: of(k).filter((r) => r.ok).length };
  summary.handshakes = { total: hs.table.reduce((a, t) => a + t.peers, 0), ok: hs.table.reduce((a, t) => a + t.handshaken, 0) };
  return {
    name: "backplane-matrix",
    status: failures.length === 0 ? "pass" : "fail",
    startedAt: started.toISOString(),
    finishedAt: finished.toISOString(),
    durationMs: finished.getTime() - started.getTime(),
    nodes: live,
    epoch: ctx.state.epoch,
    summary,
    failures: failures.slice(0, 200),
    evidence: {
      pairs: of("pair").map((r) => ({
        plane: r.probe.plane!,
        from: r.probe.from,
        to: r.probe.to,
        ok: r.ok,
        rttMs: r.rttMs ?? null,
        attempts: r.attempts,
      })),
      allowedFlows: of("allowed").map(flow),
      deniedFlows: of("denied").map(flow),
      underlay: of("underlay").map(flow),
      handshakes: { ok: hs.ok, waitedMs: hs.ms, missing: hs.missing, table: hs.table },
      processes,
      method: {
        pairs:
          "ordered pairs: ping -c 1 from every live node to every other live node's address, on every plane (up to 3 tries, 1–3 s each)",
        allowedFlows:
          "every ordered pair of distinct live nodes × every allowed (from, to) plane pair × every allowed port (ranges over 3 ports sampled at ends and middle): nc from the source's from-plane address to the destination's to-plane address; must get the destination's own answer",
        deniedFlows:
          "sample: per source node and ordered plane pair, the decoy port and one listening port the pair does not allow, to a rotating destination; must not be answered (every probed port has a listener on 0.0.0.0)",
        underlay:
          "node → next node's uplink on SSH and non-WireGuard ports; lab operators inside / outside ssh.allowFrom → every node's SSH (and the decoy port)",
        ssh,
        interPlaneTransport:
          "lab addition: each node routes its plane-F-sourced traffic for other planes through F and lets F's peers carry their other-plane /32s, so inter-plane flows reach the destination's firewall (the rendered AllowedIPs alone drop them in WireGuard)",
        addresses: "uplinks remapped into 198.18.0.0/16, ssh.allowFrom into 198.19.0.0/16 (model.ts labPlan) before rendering",
        servedPorts:
          "an address:port a lab daemon serves (etcd on a control plane's wg3 address, after the etcd-quorum drill) is probed with nc -z: the TCP connect is the answer (servedBy); the listener keeps that port on the node's other addresses",
      },
    },
  };
}

// ----------------------------------------------------------------------------- the report

export interface DrillRecord {
  name: string;
  startedAt: string;
  finishedAt: string;
  passed: boolean;
  details: Record<string, unknown>;
}

export interface AcceptanceReport {
  kind: "kubedos-acceptance-report";
  version: 1;
  /**
   * Per-node checks run inside the nodes (the Security Baseline gate's script, the same one a real
   * `pulumi up` runs), latest run per node and check.
   */
  nodeChecks?: Observation[];
  lab: string;
  cluster: string;
  specFile: string;
  specDigest: string;
  seed: "env" | "placeholder";
  updatedAt: string;
  gates: GateResult[];
  drills: DrillRecord[];
}

/** Update the lab's report (and a copy at `extra`): a gate replaces the gate of the same name, a drill is appended. */
export function recordReport(
  ctx: LabContext,
  entry: { gate?: GateResult; drill?: DrillRecord; nodeChecks?: Observation[] },
  extra?: string,
): string {
  const file = reportPath(ctx.state.id);
  let report: AcceptanceReport;
  try {
    report = JSON.parse(readFileSync(file, "utf8")) as AcceptanceReport;
  } catch {
    report = {
      kind: "kubedos-acceptance-report",
      version: 1,
      lab: ctx.state.id,
      cluster: ctx.state.cluster,
      specFile: ctx.state.specFile,
      specDigest: ctx.state.specDigest,
      seed: ctx.state.seed.source,
      updatedAt: "",
      gates: [],
      drills: [],
    };
  }
  report.updatedAt = new Date().toISOString();
  if (entry.gate) report.gates = [...report.gates.filter((g) => g.name !== entry.gate!.name), entry.gate];
  if (entry.drill) report.drills.push(entry.drill);
  if (entry.nodeChecks) {
    const key = (o: Observation) => `${o.node}/${o.gate}/${o.check}`;
    const fresh = new Set(entry.nodeChecks.map(key));
    report.nodeChecks = [...(report.nodeChecks ?? []).filter((o) => !fresh.has(key(o))), ...entry.nodeChecks];
  }
  const text = JSON.stringify(report, null, 2) + "\n";
  for (const f of [file, ...(extra ? [path.resolve(extra)] : [])]) {
    if (!existsSync(path.dirname(f))) mkdirSync(path.dirname(f), { recursive: true });
    writeFileSync(`${f}.tmp`, text, { mode: 0o644 });
    renameSync(`${f}.tmp`, f);
  }
  return file;
}

/** One line per figure, for the terminal. */
export function gateSummary(g: GateResult): string {
  const s = g.summary;
  const rtts = g.evidence.pairs.map((p) => p.rttMs).filter((x): x is number => x !== null);
  const avg = rtts.length ? (rtts.reduce((a, b) => a + b, 0) / rtts.length).toFixed(2) : "-";
  return [
    `backplane-matrix: ${g.status.toUpperCase()} in ${g.durationMs} ms — ${g.nodes.length} nodes, epoch ${g.epoch}`,
    `  pairs ${s.pair.ok}/${s.pair.total} (avg rtt ${avg} ms) · allowed flows ${s.allowed.ok}/${s.allowed.total} · denied flows ${s.denied.ok}/${s.denied.total} blocked · underlay ${s.underlay.ok}/${s.underlay.total} · handshakes ${s.handshakes.ok}/${s.handshakes.total}`,
    ...g.failures.slice(0, 15).map((f) => `  FAIL ${f}`),
    ...(g.failures.length > 15 ? [`  … and ${g.failures.length - 15} more (see the report)`] : []),
  ].join("\n");
}

// ------------------------------------------------------------------ the security baseline

/**
 * The Security Baseline gate (seed 001 §17.1) inside every live node: the gate script a real
 * `pulumi up` runs (components/acceptance/gates.ts), here against the node's rendered sshd_config
 * (sshd -T in the node's own /etc/ssh) and its rendered nftables ruleset (in its own network
 * namespace). Only with the real sshd: the plain listener has no configuration to check.
 */
export async function securityBaseline(ctx: LabContext, nodes: string[] = liveNodes(ctx.state)): Promise<Observation[]> {
  const dir = path.join(ctx.dir, "gates");
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const out: Observation[] = [];
  for (const name of nodes) {
    if (ctx.state.nodes[name]?.ssh !== "sshd") continue;
    const gate = securityGate(
      ctx.lab.plan,
      ctx.lab.plan.nodes.find((n) => n.name === name)!,
    );
    const file = path.join(dir, `${gate.name}.sh`);
    writeFileSync(file, gate.script, { mode: 0o700 });
    const r = await nodeExec(ctx, name, `bash ${file}`, 20_000);
    const obs = parseGateOutput(r.stdout, gate).map((o) => ({ ...o, source: "lab" as const }));
    if (obs.length === 0)
      obs.push({
        gate: "security-baseline",
        check: "output",
        status: "fail",
        evidence: `${name}: the gate printed no check (exit ${r.code}): ${r.stderr.trim().slice(0, 200)}`,
        source: "lab",
        node: name,
      });
    out.push(...obs);
  }
  return out;
}

export function securitySummary(obs: Observation[]): string {
  const failed = obs.filter((o) => o.status === "fail");
  return [
    `security-baseline: ${failed.length === 0 ? "PASS" : "FAIL"} — ${obs.length - failed.length}/${obs.length} node checks (sshd -T and nft inside each node)`,
    ...failed.slice(0, 15).map((o) => `  FAIL ${o.node} ${o.check}: ${o.evidence}`),
  ].join("\n");
}
