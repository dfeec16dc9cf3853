/**
 * Lab drills (seed 001 §17.2, §18.2–18.3), each recorded in the acceptance report:
 *
 *   remove-node NODE   the node's processes stopped and its namespace deleted; the matrix of the
 *                      remaining nodes must still pass.
 *   replace-node NODE  the node brought up again from the same spec — same addresses, same keys
 *                      for the lab's epoch — must rejoin (handshakes with every live peer) and the
 *                      full matrix must pass; rejoin and recovery times are recorded.
 *   rotate --epoch N   staged key rotation, node by node in a fixed order (by name), with `wg set`
 *                      only — no interface is torn down — while a ping every 100 ms between two
 *                      fixed nodes on the control plane measures the loss window. Per node:
 *                        1. every peer learns the node's new public key with its endpoint only —
 *                           no AllowedIPs (traffic keeps flowing over the old session) and no
 *                           keepalive yet: wireguard-go sends a handshake at once when a keepalive
 *                           is switched on, the node would reject it (it still has its old key),
 *                           and the peer would then wait the 5 s REKEY_TIMEOUT before retrying;
 *                        2. the node switches to its new private key (its old sessions can still
 *                           receive; new sends handshake with the new key, which peers now know);
 *                        3. every peer moves the node's AllowedIPs to the new key, switches its
 *                           keepalive on (an immediate handshake, now answered) and drops the old key.
 *                      Steps 2 and 3 run through shells already open in each namespace, so the
 *                      window in which a peer would drop the node's new-session packets is a few
 *                      milliseconds. Afterwards every node's and every peer's public keys must
 *                      equal nodePlaneKey(…, N) and the full matrix must pass.
 */
import { spawn, type ChildProcess, type ChildProcessWithoutNullStreams } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { nodePlaneKey, operatorKey } from "../../components/backplane/keys";
import { KEEPALIVE_SECONDS } from "../../components/backplane/wg-quick";
import { backplaneMatrix, type DrillRecord, type GateResult } from "./check";
import { liveNodes, nodeRemove, nodeUp, planNode, publicKey, waitHandshakes, wgDump, writeNodeArtifacts, type LabContext } from "./lab";
import { renderNodeArtifacts, transportPlan } from "./model";
import { saveState } from "./state";
import { alive, netnsInode, pool } from "./sys";

function matrixSummary(g: GateResult) {
  return { status: g.status, durationMs: g.durationMs, nodes: g.nodes.length, summary: g.summary, failures: g.failures.slice(0, 20) };
}

export async function drillRemoveNode(ctx: LabContext, node: string): Promise<DrillRecord> {
  const startedAt = new Date();
  const n = ctx.state.nodes[node];
  if (!n || n.status !== "up") {
    return {
      name: "remove-node",
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      passed: false,
      details: { node, error: `node ${node} is not up` },
    };
  }
  const procs = [...n.procs, ...(n.holder ? [n.holder] : [])];
  const t0 = Date.now();
  await nodeRemove(ctx, node);
  const removedMs = Date.now() - t0;
  const namespaceGone = netnsInode(n.ns) === undefined;
  const processesGone = procs.every((p) => !alive(p));
  const gate = await backplaneMatrix(ctx);
  return {
    name: "remove-node",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    passed: gate.status === "pass" && namespaceGone && processesGone,
    details: {
      node,
      removedMs,
      namespaceGone,
      processesGone,
      stoppedProcesses: procs.map((p) => p.what),
      remaining: liveNodes(ctx.state),
      matrix: matrixSummary(gate),
    },
  };
}

export async function drillReplaceNode(ctx: LabContext, node: string): Promise<DrillRecord> {
  const startedAt = new Date();
  const wasUp = ctx.state.nodes[node]?.status === "up";
  if (wasUp) await nodeRemove(ctx, node);
  const t0 = Date.now();
  let error: string | undefined;
  try {
    await nodeUp(ctx, node);
  } catch (e) {
    error = (e as Error).message;
  }
  const upMs = Date.now() - t0;
  if (error) {
    return {
      name: "replace-node",
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      passed: false,
      details: { node, error, upMs },
    };
  }
  // The new instance's own view: every handshake it has is new.
  const hs = await waitHandshakes(ctx, { nodes: [node], timeoutMs: 30_000, everyMs: 50 });
  const rejoinMs = Date.now() - t0;
  const dump = await wgDump(ctx, node);
  const keys = ctx.lab.plan.planes.map((p) => ({
    plane: p.name,
    expected: publicKey(ctx, p.name, node),
    actual: dump.own.get(p.name) ?? null,
  }));
  const keysMatch = keys.every((k) => k.expected === k.actual);
  const gate = await backplaneMatrix(ctx);
  const recoveryMs = Date.now() - t0;
  const pn = planNode(ctx, node);
  return {
    name: "replace-node",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    passed: hs.ok && keysMatch && gate.status === "pass",
    details: {
      node,
      removedFirst: wasUp,
      epoch: ctx.state.epoch,
      upMs,
      rejoinMs,
      recoveryMs,
      handshakes: { ok: hs.ok, missing: hs.missing },
      addresses: { uplink: pn.uplink?.address, ...pn.addresses },
      keysMatch,
      publicKeys: keys,
      manualIntervention: 0,
      matrix: matrixSummary(gate),
    },
  };
}

/** A shell kept open inside a node's namespaces: each command costs a fork, not an nsenter. */
class NodeShell {
  private buf = "";
  private seq = 0;
  private waiters = new Map<number, (r: { code: number; out: string }) => void>();
  private readonly child: ChildProcessWithoutNullStreams;
  constructor(holderPid: number) {
    this.child = spawn("nsenter", ["-t", String(holderPid), "-m", "-n", "sh"], { stdio: ["pipe", "pipe", "pipe"] });
    this.child.stdout.on("data", (d: Buffer) => {
      this.buf += d.toString();
      let m: RegExpExecArray | null;
      const re = /__KDL__ (\d+) (\d+)\n/;
      while ((m = re.exec(this.buf))) {
        const out = this.buf.slice(0, m.index);
        this.buf = this.buf.slice(m.index + m[0].length);
        this.waiters.get(Number(m[1]))?.({ code: Number(m[2]), out });
        this.waiters.delete(Number(m[1]));
      }
    });
    this.child.stdin.on("error", () => undefined);
  }
  exec(script: string, timeoutMs = 10_000): Promise<{ code: number; out: string }> {
    const n = ++this.seq;
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.waiters.delete(n);
        resolve({ code: 124, out: "timed out" });
      }, timeoutMs);
      this.waiters.set(n, (r) => {
        clearTimeout(timer);
        resolve(r);
      });
      // One command per line, chained with && (no subshell: one fork per command).
      const chained = script
        .split("\n")
        .filter((l) => l.trim() !== "")
        .join(" && ");
      this.child.stdin.write(`{ ${chained}; } 2>&1; echo "__KDL__ ${n} $?"\n`);
    });
  }
  close(): void {
    this.child.stdin.end();
    if (this.child.exitCode === null) this.child.kill("SIGKILL");
  }
}

/** ping every `intervalMs` from one node to another, bounded by `maxSeconds`. */
class Probe {
  private out = "";
  private readonly child: ChildProcess;
  readonly startedAt = Date.now();
  constructor(
    ns: string,
    dst: string,
    readonly intervalMs: number,
    maxSeconds: number,
  ) {
    this.child = spawn(
      "nsenter",
      [`--net=/run/netns/${ns}`, "ping", "-n", "-D", "-i", String(intervalMs / 1000), "-W", "1", "-w", String(maxSeconds), dst],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    this.child.stdout?.on("data", (d: Buffer) => (this.out += d.toString()));
  }
  replies(): Array<{ seq: number; at: number }> {
    return [...this.out.matchAll(/^\[(\d+\.\d+)\] \d+ bytes from .*icmp_seq=(\d+)/gm)].map((m) => ({
      seq: Number(m[2]),
      at: Math.round(Number(m[1]) * 1000),
    }));
  }
  stoppedAt = 0;
  async stop(): Promise<{ transmitted: number; text: string }> {
    this.stoppedAt = Date.now();
    if (this.child.exitCode === null) {
      const done = new Promise<void>((r) => this.child.once("close", () => r()));
      this.child.kill("SIGINT");
      await Promise.race([done, new Promise((r) => setTimeout(r, 2000))]);
      if (this.child.exitCode === null) this.child.kill("SIGKILL");
    }
    const t = /(\d+) packets transmitted/.exec(this.out);
    return { transmitted: t ? Number(t[1]) : Math.max(0, ...this.replies().map((r) => r.seq)), text: this.out };
  }
}

export interface RotateOptions {
  /** The probe's interval (default 100 ms). */
  intervalMs?: number;
}

export async function drillRotate(
  ctx: LabContext,
  toEpoch: number,
  log: (l: string) => void = () => undefined,
  opts: RotateOptions = {},
): Promise<DrillRecord> {
  const startedAt = new Date();
  const s = ctx.state;
  const plan = ctx.lab.plan;
  const fromEpoch = s.epoch;
  const live = liveNodes(s);
  const order = [...plan.nodes.map((n) => n.name)].sort();
  const control = plan.planes.find((p) => p.purpose === "control") ?? plan.planes[0];
  const [probeFrom, probeTo] = live;
  const intervalMs = opts.intervalMs ?? 100;
  const shells = new Map(live.map((n) => [n, new NodeShell(s.nodes[n].holder!.pid)]));
  let probe: Probe | undefined;
  const perNode: Array<Record<string, unknown>> = [];
  const errors: string[] = [];
  try {
    if (!probeFrom || !probeTo) throw new Error("the rotation probe needs two live nodes");
    // The target epoch's rendered files (the renderer's own peers and keys), and the lab transport on top.
    const confs = new Map(plan.nodes.map((n) => [n.name, renderNodeArtifacts(plan, n, ctx.seed, toEpoch).wireguard]));
    const peerEntry = (m: string, plane: string, of: string) => {
      const newPub = nodePlaneKey(ctx.seed, plan.cluster.name, plane, of, toEpoch).publicKey;
      const t = transportPlan(plan, planNode(ctx, m), confs.get(m)!).allowedIps.get(plane);
      const entry = t?.find((e) => e.publicKey === newPub);
      return { newPub, allowedIps: entry?.allowedIps ?? [`${planNode(ctx, of).addresses[plane]}/32`] };
    };

    probe = new Probe(s.nodes[probeFrom].ns, planNode(ctx, probeTo).addresses[control.name], intervalMs, 60 + 5 * order.length);
    const p0 = probe;
    const baseline = await waitUntil(() => p0.replies().length >= 3, 5000);
    if (!baseline) throw new Error(`the probe ${probeFrom} → ${probeTo} on ${control.name} gets no replies before the rotation`);

    for (const name of order) {
      const t0 = Date.now();
      const target = planNode(ctx, name);
      const peers = live.filter((m) => m !== name);
      const keyDir = path.join(ctx.dir, "nodes", name, "keys");
      mkdirSync(keyDir, { recursive: true, mode: 0o700 });
      const files = plan.planes.map((p) => {
        const f = path.join(keyDir, `${p.name}.${toEpoch}.key`);
        writeFileSync(f, nodePlaneKey(ctx.seed, plan.cluster.name, p.name, name, toEpoch).privateKey + "\n", { mode: 0o600 });
        return { plane: p.name, file: f };
      });
      // 1. peers learn the new key (no AllowedIPs yet).
      const step1 = await Promise.all(
        peers.map((m) =>
          shells
            .get(m)!
            .exec(
              plan.planes
                .map((p) => `wg set ${p.name} peer ${peerEntry(m, p.name, name).newPub} endpoint ${target.uplink!.address}:${p.port}`)
                .join("\n"),
            ),
        ),
      );
      // 2 and 3, plane by plane: the switch of one plane and its peers' move follow each other
      // directly (the gap is one `wg` exec), and the other planes are untouched meanwhile.
      const step2: Array<{ code: number; out: string }> = [];
      const step3: Array<{ code: number; out: string }> = [];
      let worstGapMs = 0;
      for (const f of files) {
        const p = plan.planes.find((x) => x.name === f.plane)!;
        const tSwitch = Date.now();
        if (live.includes(name)) step2.push(await shells.get(name)!.exec(`wg set ${p.name} private-key ${f.file}`));
        const e = (m: string) => peerEntry(m, p.name, name);
        const oldPub = nodePlaneKey(ctx.seed, plan.cluster.name, p.name, name, fromEpoch).publicKey;
        step3.push(
          ...(await Promise.all(
            peers.map((m) =>
              shells
                .get(m)!
                .exec(
                  `wg set ${p.name} peer ${e(m).newPub} allowed-ips ${e(m).allowedIps.join(",")} persistent-keepalive ${KEEPALIVE_SECONDS} peer ${oldPub} remove`,
                ),
            ),
          )),
        );
        worstGapMs = Math.max(worstGapMs, Date.now() - tSwitch);
      }
      const failed = [...step1, ...step2, ...step3].filter((r) => r.code !== 0);
      for (const f of failed) errors.push(`${name}: ${f.out.trim().slice(0, 300)}`);
      perNode.push({
        node: name,
        up: live.includes(name),
        ms: Date.now() - t0,
        switchToPeersMs: worstGapMs,
        peers: peers.length,
        failedCommands: failed.length,
      });
      log(`rotate: ${name} → epoch ${toEpoch} in ${Date.now() - t0} ms`);
    }
    // The operator peer's key is per epoch too: every node swaps it.
    if (control.reserved.operatorPeer) {
      const oldOp = operatorKey(ctx.seed, plan.cluster.name, control.name, fromEpoch).publicKey;
      const newOp = operatorKey(ctx.seed, plan.cluster.name, control.name, toEpoch).publicKey;
      const r = await Promise.all(
        live.map((m) =>
          shells.get(m)!.exec(`wg set ${control.name} peer ${newOp} allowed-ips ${control.reserved.operatorPeer}/32 peer ${oldOp} remove`),
        ),
      );
      for (const f of r.filter((x) => x.code !== 0)) errors.push(`operator peer: ${f.out.trim()}`);
    }
    // Let the probe see the settled mesh for a moment (bounded: 10 more replies or 2 s).
    const settledFrom = p0.replies().length;
    await waitUntil(() => p0.replies().length >= settledFrom + 10, 2000);
  } catch (e) {
    errors.push((e as Error).message);
  } finally {
    for (const sh of shells.values()) sh.close();
  }
  const stopped = probe ? await probe.stop() : { transmitted: 0, text: "" };
  const replies = probe ? probe.replies() : [];

  // The lab now runs the new epoch: state, and the files a replacement would be rendered from.
  s.epoch = toEpoch;
  saveState(s);
  for (const n of s.order) writeNodeArtifacts(ctx, n);

  // Loss: sequence numbers sent and never answered, excluding the last 3 (possibly in flight).
  const got = new Set(replies.map((r) => r.seq));
  const lastCounted = Math.max(0, stopped.transmitted - 3);
  const lostSeqs: number[] = [];
  for (let q = 1; q <= lastCounted; q++) if (!got.has(q)) lostSeqs.push(q);
  const ats = replies.map((r) => r.at).sort((a, b) => a - b);
  let maxGapMs = 0;
  for (let i = 1; i < ats.length; i++) maxGapMs = Math.max(maxGapMs, ats[i] - ats[i - 1]);

  const hs = await waitHandshakes(ctx, { timeoutMs: 20_000 });
  const mismatches: string[] = [];
  await pool(live, 4, async (n) => {
    const d = await wgDump(ctx, n);
    for (const p of plan.planes) {
      const want = publicKey(ctx, p.name, n, toEpoch);
      if (d.own.get(p.name) !== want) mismatches.push(`${n} ${p.name}: own key ${d.own.get(p.name)} ≠ epoch ${toEpoch} key ${want}`);
      const peers = new Set(d.peers.filter((x) => x.plane === p.name).map((x) => x.publicKey));
      const expected = new Set(plan.nodes.filter((m) => m.name !== n).map((m) => publicKey(ctx, p.name, m.name, toEpoch)));
      if (p.reserved.operatorPeer) expected.add(operatorKey(ctx.seed, plan.cluster.name, p.name, toEpoch).publicKey);
      for (const k of expected) if (!peers.has(k)) mismatches.push(`${n} ${p.name}: peer key ${k} (epoch ${toEpoch}) missing`);
      for (const k of peers) if (!expected.has(k)) mismatches.push(`${n} ${p.name}: stale peer key ${k}`);
    }
  });
  const gate = await backplaneMatrix(ctx);
  const lossWindowMs = lostSeqs.length * intervalMs;
  return {
    name: "rotate",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    passed: errors.length === 0 && mismatches.length === 0 && hs.ok && gate.status === "pass" && replies.length > 0,
    details: {
      fromEpoch,
      toEpoch,
      order,
      method:
        "per node: peers add the new public key; the node sets its new private key; peers move AllowedIPs and remove the old key (wg set only, no interface tear-down)",
      lossWindowMs,
      lostProbes: lostSeqs.length,
      probe: {
        from: probeFrom,
        to: probeTo,
        plane: control.name,
        intervalMs,
        transmitted: stopped.transmitted,
        received: replies.length,
        lostSeqs,
        maxGapMs,
        durationMs: probe ? probe.stoppedAt - probe.startedAt : 0,
      },
      perNode,
      keysVerified: mismatches.length === 0,
      keyMismatches: mismatches.slice(0, 20),
      handshakes: { ok: hs.ok, ms: hs.ms, missing: hs.missing.slice(0, 20) },
      errors,
      matrix: matrixSummary(gate),
    },
  };
}

async function waitUntil(test: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < Math.ceil(timeoutMs / 20) + 1; i++) {
    if (test()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}
