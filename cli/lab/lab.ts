/**
 * `kubedos lab up | down` — every node of a ClusterSpec as a network namespace on this machine.
 *
 * Topology (nothing is created in, or routed through, the host's own network namespace):
 *
 *   kdl-<id>-ul        the underlay: a Linux bridge `br0`, one veth end per node / operator
 *   kdl-<id>-<node>    one per node: `eth0` on the bridge with its lab uplink (198.18.0.0/16),
 *                      the node's rendered nftables, sshd, a TCP/UDP listener, and one WireGuard
 *                      interface per plane from the node's rendered wg-quick files
 *   kdl-<id>-op-in     lab SSH operators: inside / outside the (remapped) ssh.allowFrom
 *   kdl-<id>-op-out
 *
 * How WireGuard runs per node (no kernel module here): a long-lived holder process per node
 * (`ip netns exec <ns> unshare -m --propagation private sh -c 'mount tmpfs /run/wireguard …;
 * exec sleep'`) owns a private mount namespace, so each node has its own /run/wireguard (the
 * UAPI socket directory wireguard-go and wg share). Every later command for the node runs as
 * `nsenter -t <holder> -m -n …`. The node's rendered file is applied with the real
 * `wg-quick up <dir>/<plane>.conf`, exactly as `wg-quick@<plane>` does on a node; wg-quick finds
 * no kernel module and calls WG_QUICK_USERSPACE_IMPLEMENTATION, which the lab points at a small
 * launcher that starts `wireguard-go -f <plane>` in the background (so its pid is known and
 * recorded), with WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1, and waits (bounded) for the
 * UAPI socket. wg-quick then does the rest itself: `wg setconf` of the stripped file, the
 * Address, the MTU, link up (Table = off: no routes beyond the plane's subnet).
 *
 * The holder also mounts a tmpfs on /etc/ssh holding the node's rendered sshd_config and its
 * derived host key, so the real sshd runs with the rendered file at its real path (only
 * `-o PidFile=none` is added, so no pid file lands in the shared /run). Without sshd or /etc/ssh
 * the lab serves port 22 with its plain listener instead (state: `ssh: "listener"`).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { nodePlaneKey, rotationEpoch } from "../../components/backplane/keys";
import { sshPort } from "../../components/firstboot/common";
import { buildPlan, type Plan, type PlanNode } from "../../components/plan/plan";
import { validateSpecText } from "../../components/spec/validate";
import { LAB_LINK_PREFIX, LAB_PLACEHOLDER_SEED, LAB_UNDERLAY, labPlan, listenerPorts, renderNodeArtifacts, type LabPlan } from "./model";
import {
  checkId,
  checkSeed,
  labDir,
  labSeed,
  loadState,
  nsPrefix,
  reportPath,
  saveState,
  seedFingerprint,
  tryLoadState,
  type LabState,
  type NodeState,
  type ServedPort,
} from "./state";
import {
  alive,
  comm,
  netnsInode,
  netnsList,
  pidsInNetns,
  pool,
  procRef,
  run,
  runOk,
  spawnDetached,
  stop,
  procStart,
  waitFor,
  which,
  type ProcRef,
} from "./sys";

/** Everything a command needs about a running lab. */
export interface LabContext {
  state: LabState;
  lab: LabPlan;
  /** The spec's original plan (site addresses). */
  sitePlan: Plan;
  seed: string;
  dir: string;
  log: (line: string) => void;
}

export interface UpOptions {
  specFile: string;
  id: string;
  /** WireGuard epoch; default: the spec's rotation epoch now (keys.ts rotationEpoch). */
  epoch?: number;
  log?: (line: string) => void;
}

/**
 * Lifetime of everything a lab runs (holder, listener, and wireguard-go and sshd under timeout(1)):
 * bounded, so a forgotten lab cannot run forever (24 h).
 */
export const LIFETIME_SECONDS = 86_400;

const nodeDir = (ctx: { dir: string }, node: string) => path.join(ctx.dir, "nodes", node);

/** Validate the lab's spec copy and build the lab plan. */
export function planFromSpec(text: string, file: string): { sitePlan: Plan; lab: LabPlan; wireguardDays?: number } {
  const v = validateSpecText(text, file);
  if (!v.valid || !v.spec) {
    const problems = [...v.syntaxErrors.map((e) => e.message), ...v.errors.map((e) => `${e.path.join(".")} [${e.rule}] ${e.message}`)];
    throw new Error(`${file}: not a valid ClusterSpec:\n  ${problems.slice(0, 20).join("\n  ")}`);
  }
  const sitePlan = buildPlan(v.spec);
  return { sitePlan, lab: labPlan(sitePlan), wireguardDays: v.spec.spec.security.rotation?.wireguardDays };
}

/** Open a lab that is up: its state, plan and (checked) seed. */
export function openLab(id: string, log: (line: string) => void = () => undefined): LabContext {
  const state = loadState(id);
  const dir = labDir(id);
  const { sitePlan, lab } = planFromSpec(readFileSync(path.join(dir, "spec.yaml"), "utf8"), state.specFile);
  const { seed } = labSeed(LAB_PLACEHOLDER_SEED);
  checkSeed(state, seed);
  return { state, lab, sitePlan, seed, dir, log };
}

export function planNode(ctx: LabContext, name: string): PlanNode {
  const n = ctx.lab.plan.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`node ${name} is not in the spec of lab ${ctx.state.id} (nodes: ${ctx.state.order.join(", ")})`);
  return n;
}

export const liveNodes = (s: LabState) => s.order.filter((n) => s.nodes[n]?.status === "up");

/** `lab up`: every namespace, then every node. On any failure everything started is removed again. */
export async function labUp(opts: UpOptions): Promise<LabContext> {
  const log = opts.log ?? (() => undefined);
  checkId(opts.id);
  const dir = labDir(opts.id);
  const existing = tryLoadState(opts.id);
  if (existing || netnsList().some((n) => n.startsWith(nsPrefix(opts.id)))) {
    throw new Error(`lab ${opts.id} is already up (or left namespaces ${nsPrefix(opts.id)}*); run kubedos lab down --lab ${opts.id}`);
  }
  const text = readFileSync(opts.specFile, "utf8");
  const { sitePlan, lab, wireguardDays } = planFromSpec(text, opts.specFile);
  const { seed, source } = labSeed(LAB_PLACEHOLDER_SEED);
  const epoch = opts.epoch ?? (wireguardDays ? rotationEpoch(wireguardDays, new Date()) : 0);

  // Only what an earlier lab with this id left: its report (kept by down) goes; a new one starts.
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(path.join(dir, "nodes"), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(dir, "spec.yaml"), text, { mode: 0o600 });
  writeFileSync(path.join(dir, "wg-userspace.sh"), USERSPACE_LAUNCHER, { mode: 0o700 });
  const ul = `${nsPrefix(opts.id)}ul`;
  const state: LabState = {
    version: 1,
    id: opts.id,
    createdAt: new Date().toISOString(),
    specFile: path.resolve(opts.specFile),
    cluster: sitePlan.cluster.name,
    specDigest: sitePlan.specDigest,
    epoch,
    seed: { source, fingerprint: seedFingerprint(seed) },
    underlay: { ns: ul, bridge: "br0", cidr: LAB_UNDERLAY },
    operators: [],
    nodes: {},
    order: lab.plan.nodes.map((n) => n.name),
    namespaces: [],
  };
  saveState(state);
  const ctx: LabContext = { state, lab, sitePlan, seed, dir, log };
  if (source === "placeholder") log("KUBEDOS_MASTER_SEED is not set: lab keys derive from the fixed lab placeholder seed (lab only)");
  const t0 = Date.now();
  try {
    for (const d of ["/run/wireguard", "/run/sshd"]) if (!existsSync(d)) mkdirSync(d, { recursive: true, mode: 0o755 });
    await addNamespace(ctx, ul);
    state.underlay.nsInode = netnsInode(ul);
    await runOk("ip", ["-n", ul, "-batch", "-"], { input: "link add br0 type bridge\nlink set br0 up\nlink set lo up\n" });
    saveState(state);
    for (const op of lab.operators) {
      const ns = `${nsPrefix(opts.id)}op-${op.name}`;
      await addNamespace(ctx, ns);
      const veth = `op-${op.name}`;
      state.operators.push({ name: op.name, ns, nsInode: netnsInode(ns), address: op.address, veth });
      saveState(state);
      await plugIn(ctx, ns, veth, op.address);
    }
    await pool(state.order, 3, (name) => nodeBase(ctx, name));
    for (const name of state.order) await nodePlanes(ctx, name);
    const hs = await waitHandshakes(ctx, { timeoutMs: 30_000 });
    log(
      `lab ${opts.id}: ${state.order.length} nodes × ${lab.plan.planes.length} planes up in ${Date.now() - t0} ms; handshakes ${hs.ok ? "complete" : "INCOMPLETE"} after ${hs.ms} ms`,
    );
    if (!hs.ok) log(`missing handshakes: ${hs.missing.slice(0, 10).join("; ")}`);
  } catch (err) {
    log(`lab up failed: ${(err as Error).message}; removing everything it started`);
    await labDown(opts.id);
    throw err;
  }
  return ctx;
}

async function addNamespace(ctx: LabContext, ns: string): Promise<void> {
  ctx.state.namespaces.push(ns);
  saveState(ctx.state);
  await runOk("ip", ["netns", "add", ns]);
}

/** A veth from the underlay bridge to `eth0` in `ns`, addressed `address`/15. */
async function plugIn(ctx: LabContext, ns: string, veth: string, address: string): Promise<void> {
  const ul = ctx.state.underlay.ns;
  await runOk("ip", ["-n", ul, "-batch", "-"], {
    input: `link add ${veth} type veth peer name eth0 netns ${ns}\nlink set ${veth} master br0 up\n`,
  });
  await runOk("ip", ["-n", ns, "-batch", "-"], {
    input: `link set lo up\naddr add ${address}/${LAB_LINK_PREFIX} dev eth0\nlink set eth0 up\n`,
  });
}

/** `nsenter` into a node's mount + network namespaces (through its holder). */
export function nodeExec(ctx: LabContext, node: string, script: string, timeoutMs = 20_000, env?: NodeJS.ProcessEnv) {
  const h = ctx.state.nodes[node]?.holder;
  if (!h || !alive(h)) throw new Error(`node ${node} of lab ${ctx.state.id} is not running`);
  return run("nsenter", ["-t", String(h.pid), "-m", "-n", "sh", "-e", "-c", script], {
    timeoutMs,
    ...(env ? { env, detached: true } : {}),
  });
}

export async function nodeExecOk(ctx: LabContext, node: string, script: string, timeoutMs = 20_000): Promise<string> {
  const r = await nodeExec(ctx, node, script, timeoutMs);
  if (r.code !== 0)
    throw new Error(`node ${node}: ${script.split("\n")[0]}… failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 1500)}`);
  return r.stdout;
}

/** Render the node's artifacts for the lab's current epoch into nodes/<node>/. */
export function writeNodeArtifacts(ctx: LabContext, name: string): ReturnType<typeof renderNodeArtifacts> {
  const node = planNode(ctx, name);
  const a = renderNodeArtifacts(ctx.lab.plan, node, ctx.seed, ctx.state.epoch);
  const d = nodeDir(ctx, name);
  mkdirSync(path.join(d, "wireguard"), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(d, "nftables.nft"), a.nftables, { mode: 0o644 });
  writeFileSync(path.join(d, "sshd_config"), a.sshdConfig, { mode: 0o644 });
  writeFileSync(path.join(d, "ssh_host_ed25519_key"), a.hostKey, { mode: 0o600 });
  for (const w of a.wireguard) writeFileSync(path.join(d, "wireguard", `${w.plane}.conf`), w.content, { mode: 0o600 });
  return a;
}

/** A node without its planes: namespace, uplink, holder, firewall, sshd, listener. */
export async function nodeBase(ctx: LabContext, name: string): Promise<void> {
  const s = ctx.state;
  const node = planNode(ctx, name);
  const ns = `${nsPrefix(s.id)}${name}`;
  const useSshd = !!which("sshd") && existsSync("/etc/ssh");
  const ns0: NodeState = {
    name,
    ns,
    veth: `n${node.ordinal}`,
    uplink: node.uplink!.address,
    status: "starting",
    procs: [],
    ssh: useSshd ? "sshd" : "listener",
  };
  s.nodes[name] = ns0;
  if (!s.namespaces.includes(ns)) s.namespaces.push(ns);
  saveState(s);
  await runOk("ip", ["netns", "add", ns]);
  ns0.nsInode = netnsInode(ns);
  saveState(s);
  // A replaced node's old veth can outlive its deleted namespace: the kernel keeps a namespace
  // while sockets in it are still closing (etcd's connections when it was killed). The veth is
  // the lab's own (its name, in the lab's underlay); remove it, or the new one cannot be created.
  const ul = s.underlay.ns;
  if ((await run("ip", ["-n", ul, "link", "show", ns0.veth])).code === 0) await runOk("ip", ["-n", ul, "link", "del", ns0.veth]);
  await plugIn(ctx, ns, ns0.veth, ns0.uplink);

  writeNodeArtifacts(ctx, name);
  const d = nodeDir(ctx, name);
  const holderScript = [
    "set -e",
    "mount -t tmpfs -o mode=0700,size=1m kdl-wireguard /run/wireguard",
    ...(useSshd
      ? [
          "mount -t tmpfs -o mode=0755,size=1m kdl-ssh /etc/ssh",
          'cp "$1/sshd_config" /etc/ssh/sshd_config',
          'install -m 0600 "$1/ssh_host_ed25519_key" /etc/ssh/ssh_host_ed25519_key',
        ]
      : []),
    `exec sleep ${LIFETIME_SECONDS}`,
  ].join("\n");
  const hpid = spawnDetached(
    "ip",
    ["netns", "exec", ns, "unshare", "-m", "--propagation", "private", "sh", "-c", holderScript, "kdl-holder", d],
    path.join(d, "holder.log"),
  );
  ns0.holder = { pid: hpid, start: 0, what: "holder" };
  const ready = await waitFor(() => comm(hpid) === "sleep", 5000, 20);
  ns0.holder = procRef(hpid, "holder");
  saveState(s);
  if (!ready) throw new Error(`node ${name}: the namespace holder did not start (${readLog(path.join(d, "holder.log"))})`);

  // Firewall first, as firstboot does: WireGuard comes up behind it.
  await nodeExecOk(ctx, name, `nft -f ${d}/nftables.nft`);

  const ssh = sshPort(node);
  if (useSshd) {
    const t = await nodeExec(ctx, name, "/usr/sbin/sshd -t -f /etc/ssh/sshd_config -o PidFile=none");
    if (t.code === 0) {
      const pid = spawnDetached(
        "nsenter",
        [
          "-t",
          String(hpid),
          "-m",
          "-n",
          "timeout",
          String(LIFETIME_SECONDS),
          which("sshd")!,
          "-D",
          "-e",
          "-f",
          "/etc/ssh/sshd_config",
          "-o",
          "PidFile=none",
        ],
        path.join(d, "sshd.log"),
      );
      ns0.procs.push(procRef(pid, "sshd"));
      saveState(s);
      if (!(await waitFor(() => listening(pid, ssh), 5000, 20)))
        throw new Error(`node ${name}: sshd did not listen on ${ssh} (${readLog(path.join(d, "sshd.log"))})`);
    } else {
      ctx.log(
        `node ${name}: sshd -t rejected the rendered sshd_config here (${t.stderr.trim()}); port ${ssh} is served by the plain listener`,
      );
      ns0.ssh = "listener";
    }
  }
  await startListener(ctx, name);
  saveState(s);
}

/**
 * (Re)start the node's listener. `served`: address:port pairs a lab daemon answers instead (etcd
 * on the control planes' wg3 address). A wildcard bind would take such a port from the daemon, so
 * the listener binds it on the node's other addresses only: a probe there still meets a listener,
 * and `check` judges probes to a served pair by the TCP connect (check.ts). Addresses must exist,
 * so a non-empty `served` needs the node's planes up.
 */
export async function startListener(ctx: LabContext, name: string, served: ServedPort[] = []): Promise<void> {
  const s = ctx.state;
  const ns0 = s.nodes[name];
  const hpid = ns0.holder!.pid;
  const d = nodeDir(ctx, name);
  const node = planNode(ctx, name);
  const old = ns0.procs.filter((p) => p.what === "listener");
  await Promise.all(old.map((p) => stop(p)));
  ns0.procs = ns0.procs.filter((p) => !old.includes(p));
  const ssh = sshPort(node);
  const ports = listenerPorts(ctx.lab.plan);
  const tcp = [...new Set([...ports.tcp, ...(ns0.ssh === "listener" ? [ssh] : [])])].filter((p) => ns0.ssh === "listener" || p !== ssh);
  const addresses = [node.uplink!.address, ...ctx.lab.plan.planes.map((p) => node.addresses[p.name])];
  const tcpSpecs = tcp.flatMap((port) => {
    const taken = served.filter((x) => x.port === port).map((x) => x.address);
    return taken.length === 0 ? [String(port)] : addresses.filter((a) => !taken.includes(a)).map((a) => `${port}@${a}`);
  });
  const log = path.join(d, "listener.log");
  // The log is appended to across restarts: wait for a "ready" after what is there now.
  const from = fileSize(log);
  const lpid = spawnDetached(
    "nsenter",
    ["-t", String(hpid), "-n", "perl", "-e", LISTENER, name, tcpSpecs.join(","), ports.udp.join(","), String(LIFETIME_SECONDS)],
    log,
  );
  ns0.procs.push(procRef(lpid, "listener"));
  if (served.length > 0) ns0.served = served;
  else delete ns0.served;
  saveState(s);
  if (!(await waitFor(() => readLog(log, Infinity, from).includes("ready"), 5000, 20))) {
    throw new Error(`node ${name}: the listener did not start (${readLog(log)})`);
  }
}

/**
 * The node's planes: `wg-quick up` per plane (in parallel), then the lab's inter-plane transport.
 * labUp runs this for one node at a time, after every node's namespace exists: two nodes whose
 * planes come up at the same instant initiate handshakes to each other at once, the crossed
 * handshakes invalidate each other, and both sides then wait WireGuard's 5 s REKEY_TIMEOUT.
 */
export async function nodePlanes(ctx: LabContext, name: string): Promise<void> {
  const s = ctx.state;
  const ns0 = s.nodes[name];
  const d = nodeDir(ctx, name);
  const hpid = ns0.holder!.pid;
  const artifacts = ctx.lab.plan.planes.map((p) => ({
    plane: p.name,
    content: readFileSync(path.join(d, "wireguard", `${p.name}.conf`), "utf8"),
  }));
  // pool, not Promise.all: every plane settles before a failure is thrown (and cleaned up).
  await pool(artifacts, artifacts.length, async (w) => {
    const r = await run("nsenter", ["-t", String(hpid), "-m", "-n", "wg-quick", "up", path.join(d, "wireguard", `${w.plane}.conf`)], {
      timeoutMs: 20_000,
      detached: true,
      env: { ...process.env, WG_QUICK_USERSPACE_IMPLEMENTATION: path.join(ctx.dir, "wg-userspace.sh"), KDL_NODE_DIR: d },
    });
    const pidFile = path.join(d, `wireguard-go-${w.plane}.pid`);
    const pid = existsSync(pidFile) ? Number(readFileSync(pidFile, "utf8").trim()) : undefined;
    if (pid !== undefined && procStart(pid) !== undefined) {
      ns0.procs.push(procRef(pid, `wireguard-go ${w.plane}`));
      saveState(s);
    }
    writeFileSync(path.join(d, `wg-quick-${w.plane}.log`), r.stderr + r.stdout, { mode: 0o600 });
    if (r.code !== 0 || pid === undefined || procStart(pid) === undefined) {
      throw new Error(
        `node ${name}: wg-quick up ${w.plane} failed (exit ${r.code}): ${r.stderr.trim().slice(-800)}; wireguard-go: ${readLog(path.join(d, `wireguard-go-${w.plane}.log`)).slice(-600)}`,
      );
    }
  });
  ns0.status = "up";
  saveState(s);
}

/** A whole node: base, then planes (the replace drill). */
export async function nodeUp(ctx: LabContext, name: string): Promise<void> {
  await nodeBase(ctx, name);
  await nodePlanes(ctx, name);
}

/** Stop a node's processes and delete its namespace (the remove drill, and down). */
export async function nodeRemove(ctx: LabContext, name: string): Promise<void> {
  const n = ctx.state.nodes[name];
  if (!n) return;
  await removeNamespaces([n.ns], [...n.procs, ...(n.holder ? [n.holder] : [])], [n.nsInode]);
  n.status = "removed";
  n.procs = [];
  delete n.holder;
  delete n.served;
  saveState(ctx.state);
}

async function removeNamespaces(names: string[], recorded: ProcRef[], inodes: Array<number | undefined>): Promise<{ stopped: number }> {
  let stopped = 0;
  // Recorded processes first (children before holders), by pid and start time.
  await Promise.all(recorded.filter((p) => p.what !== "holder" && p.start > 0).map((p) => (alive(p) ? (stopped++, stop(p)) : undefined)));
  await Promise.all(recorded.filter((p) => p.what === "holder" && p.start > 0).map((p) => (alive(p) ? (stopped++, stop(p)) : undefined)));
  // Anything else still inside the lab's namespaces (an sshd session, a probe) is the lab's too.
  const ino = new Set<number>();
  for (const i of inodes) if (i !== undefined) ino.add(i);
  for (const n of names) {
    const i = netnsInode(n);
    if (i !== undefined) ino.add(i);
  }
  for (let round = 0; round < 3; round++) {
    const left = pidsInNetns(ino);
    if (left.length === 0) break;
    stopped += left.length;
    await Promise.all(left.map((p) => stop(p, 500)));
  }
  for (const n of names) if (netnsInode(n) !== undefined) await run("ip", ["netns", "del", n]);
  return { stopped };
}

export interface DownResult {
  namespaces: string[];
  stopped: number;
  report?: string;
}

/** `lab down`: every process and namespace of lab `id`, by the state file and by the lab's own namespace prefix. */
export async function labDown(id: string): Promise<DownResult> {
  checkId(id);
  const s = tryLoadState(id);
  const names = new Set<string>(s?.namespaces ?? []);
  for (const n of netnsList()) if (n.startsWith(nsPrefix(id))) names.add(n);
  const recorded: ProcRef[] = s ? Object.values(s.nodes).flatMap((n) => [...n.procs, ...(n.holder ? [n.holder] : [])]) : [];
  const inodes = s ? [s.underlay.nsInode, ...s.operators.map((o) => o.nsInode), ...Object.values(s.nodes).map((n) => n.nsInode)] : [];
  // Nodes first, then operators, then the underlay.
  const order = [...names].sort((a, b) => rank(a, id) - rank(b, id));
  const { stopped } = await removeNamespaces(order, recorded, inodes);
  const dir = labDir(id);
  let report: string | undefined;
  if (existsSync(dir)) {
    for (const e of readdirSync(dir)) {
      if (e === path.basename(reportPath(id))) report = reportPath(id);
      else rmSync(path.join(dir, e), { recursive: true, force: true });
    }
    if (!report) rmSync(dir, { recursive: true, force: true });
  }
  return { namespaces: order, stopped, ...(report ? { report } : {}) };
}

function rank(ns: string, id: string): number {
  if (ns === `${nsPrefix(id)}ul`) return 2;
  if (ns.startsWith(`${nsPrefix(id)}op-`)) return 1;
  return 0;
}

// ---------------------------------------------------------------------------- handshakes

export interface WgPeerDump {
  plane: string;
  publicKey: string;
  endpoint: string;
  allowedIps: string[];
  latestHandshake: number;
}

/** `wg show all dump` of a node: its own public key per plane and every peer. */
export async function wgDump(ctx: LabContext, node: string): Promise<{ own: Map<string, string>; peers: WgPeerDump[] }> {
  const out = await nodeExecOk(ctx, node, "wg show all dump");
  const own = new Map<string, string>();
  const peers: WgPeerDump[] = [];
  for (const line of out.split("\n")) {
    const f = line.split("\t");
    if (f.length === 5) own.set(f[0], f[2]);
    else if (f.length === 9)
      peers.push({ plane: f[0], publicKey: f[1], endpoint: f[3], allowedIps: f[4].split(","), latestHandshake: Number(f[5]) });
  }
  return { own, peers };
}

export const publicKey = (ctx: LabContext, plane: string, node: string, epoch = ctx.state.epoch) =>
  nodePlaneKey(ctx.seed, ctx.lab.plan.cluster.name, plane, node, epoch).publicKey;

export interface HandshakeResult {
  ok: boolean;
  ms: number;
  missing: string[];
  /** Per node and plane: live peers and how many have a handshake. */
  table: Array<{ node: string; plane: string; peers: number; handshaken: number }>;
}

/**
 * Poll every live node's `wg show all dump` until each has a handshake with every other live
 * node on every plane (newer than `sinceMs`, when given) — bounded by `timeoutMs`.
 */
export async function waitHandshakes(
  ctx: LabContext,
  opts: { timeoutMs: number; sinceMs?: number; nodes?: string[]; everyMs?: number },
): Promise<HandshakeResult> {
  const t0 = Date.now();
  const live = liveNodes(ctx.state);
  const subjects = opts.nodes ?? live;
  const since = opts.sinceMs ? Math.floor(opts.sinceMs / 1000) : 1;
  let last: HandshakeResult = { ok: false, ms: 0, missing: ["(not polled)"], table: [] };
  const everyMs = opts.everyMs ?? 150;
  const tries = Math.ceil(opts.timeoutMs / everyMs) + 1;
  for (let i = 0; i < tries; i++) {
    const missing: string[] = [];
    const table: HandshakeResult["table"] = [];
    const dumps = await pool(subjects, 4, (n) => wgDump(ctx, n));
    subjects.forEach((n, k) => {
      const byKey = new Map(dumps[k].peers.map((p) => [`${p.plane}/${p.publicKey}`, p]));
      for (const plane of ctx.lab.plan.planes) {
        let peers = 0;
        let handshaken = 0;
        for (const m of live) {
          if (m === n) continue;
          peers++;
          const p = byKey.get(`${plane.name}/${publicKey(ctx, plane.name, m)}`);
          if (p && p.latestHandshake >= since) handshaken++;
          else missing.push(`${n} ${plane.name} ↔ ${m}`);
        }
        table.push({ node: n, plane: plane.name, peers, handshaken });
      }
    });
    last = { ok: missing.length === 0, ms: Date.now() - t0, missing, table };
    if (last.ok || Date.now() - t0 >= opts.timeoutMs) break;
    await new Promise((r) => setTimeout(r, everyMs));
  }
  return last;
}

// ------------------------------------------------------------------------------- helpers

/** Is `pid`'s network namespace listening on TCP `port` (from /proc/PID/net/tcp, no spawn)? */
function listening(pid: number, port: number): boolean {
  try {
    const hex = port.toString(16).toUpperCase().padStart(4, "0");
    return readFileSync(`/proc/${pid}/net/tcp`, "utf8")
      .split("\n")
      .some((l) => {
        const f = l.trim().split(/\s+/);
        return f[1]?.endsWith(`:${hex}`) && f[3] === "0A";
      });
  } catch {
    return false;
  }
}

function readLog(file: string, tail = 1500, fromByte = 0): string {
  try {
    const text = readFileSync(file).subarray(fromByte).toString("utf8");
    return tail === Infinity ? text : text.trim().slice(-tail);
  } catch {
    return "no log";
  }
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * wg-quick's userspace implementation hook: wireguard-go in the foreground, in the background of
 * this script, so the lab knows (and records) its pid; waits — bounded, 5 s — for its UAPI socket.
 */
const USERSPACE_LAUNCHER = `#!/bin/sh
# kubedos lab: WG_QUICK_USERSPACE_IMPLEMENTATION for wg-quick (called as: <this> <interface>).
# KUBEDOS_LAB_WIREGUARD_GO names another wireguard-go binary (wg-quick puts /usr/bin first in PATH).
set -eu
iface="$1"
LOG_LEVEL="\${KUBEDOS_LAB_WG_LOG_LEVEL:-error}" WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 timeout ${LIFETIME_SECONDS} "\${KUBEDOS_LAB_WIREGUARD_GO:-wireguard-go}" -f "$iface" >>"$KDL_NODE_DIR/wireguard-go-$iface.log" 2>&1 </dev/null &
pid=$!
echo "$pid" >"$KDL_NODE_DIR/wireguard-go-$iface.pid"
i=0
while [ "$i" -lt 200 ]; do
  [ -S "/var/run/wireguard/$iface.sock" ] && exit 0
  kill -0 "$pid" 2>/dev/null || exit 1
  i=$((i + 1))
  sleep 0.025
done
exit 1
`;

/**
 * The lab's TCP/UDP listener, one per node, bound to 0.0.0.0 on every port a flow is tested on
 * (so a blocked flow is the firewall's doing, never a missing listener); a TCP entry PORT@ADDR
 * binds that address only (startListener). It answers
 * "kdl <node> <port>" so a probe proves which node it reached. Lifetime bounded by alarm().
 */
const LISTENER = String.raw`
use strict; use warnings; use IO::Socket::INET; use IO::Select; use Socket qw(SHUT_WR);
my ($name, $tcp, $udp, $ttl) = @ARGV;
$SIG{ALRM} = sub { exit 0 }; alarm($ttl);
my $sel = IO::Select->new; my %kind;
for my $spec (grep { length } split /,/, $tcp) {
  my ($p, $a) = split /@/, $spec; $a //= "0.0.0.0";
  my $s = IO::Socket::INET->new(LocalAddr => $a, LocalPort => $p, Proto => "tcp", Listen => 128, ReuseAddr => 1) or die "tcp $spec: $!\n";
  $sel->add($s); $kind{$s} = "tcp";
}
for my $p (grep { length } split /,/, $udp) {
  my $s = IO::Socket::INET->new(LocalAddr => "0.0.0.0", LocalPort => $p, Proto => "udp") or die "udp $p: $!\n";
  $sel->add($s); $kind{$s} = "udp";
}
$| = 1; print "ready\n";
my %drain;
while (1) {
  for my $s ($sel->can_read(60)) {
    my $k = $kind{$s} // "drain";
    if ($k eq "tcp") {
      my $c = $s->accept or next;
      syswrite($c, "kdl $name " . $s->sockport . "\n");
      shutdown($c, SHUT_WR);
      $c->blocking(0); $sel->add($c); $drain{$c} = time;
    } elsif ($k eq "udp") {
      my $from = $s->recv(my $buf, 512); next unless defined $from;
      $s->send("kdl $name " . $s->sockport . "\n", 0, $from);
    } else {
      my $n = sysread($s, my $buf, 4096);
      if (!defined $n || $n == 0) { $sel->remove($s); delete $drain{$s}; close $s; }
    }
  }
  my $now = time;
  for my $h ($sel->handles) { if (exists $drain{$h} && $now - $drain{$h} > 5) { $sel->remove($h); delete $drain{$h}; close $h; } }
}
`;
