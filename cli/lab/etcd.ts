/**
 * `kubedos lab drill etcd-quorum [NODE]` — a real etcd cluster (Debian's etcd-server, 3.4) on the
 * control planes' namespaces, configured as kubeadm's stacked etcd is, over the Plan's
 * kubernetes-backend plane (wg3); then one control plane is deleted and replaced.
 *
 *   1. Every control plane runs etcd with kubeadm's flags: member name = node name, peer
 *      https://<wg3>:2380, client https://127.0.0.1:2379 + https://<wg3>:2379, metrics
 *      http://127.0.0.1:2381, TLS everywhere with client-cert-auth and peer-client-cert-auth, from a
 *      lab etcd CA and per-member server/peer certificates made with openssl (etcd/pki, keys 0600).
 *      Members reach each other only at their wg3 addresses, i.e. through WireGuard and the
 *      rendered nftables (intra-plane traffic on wg3 is accepted there).
 *      The lab listener gives up 2379-2380 on the wg3 address to etcd (lab.ts startListener) and
 *      keeps them on the node's other addresses, so `lab check` still passes with etcd running.
 *   2. A key is written; every member is healthy and a voter.
 *   3. NODE is deleted: its etcd is SIGKILLed (a deleted VM does not hand over leadership) and its
 *      namespace removed (lab.ts nodeRemove). From the kill on, a write through a survivor is
 *      tried every 100 ms; once the node is gone, another write and linearizable reads through
 *      every survivor must succeed, and the dead member is still listed (and unhealthy).
 *   4. NODE is replaced as kubeadm ≥ 1.31 does it: the node comes back from the spec (same
 *      addresses and WireGuard keys, lab.ts nodeUp), the dead member is removed, the new one is
 *      added as a learner with the same name and peer URL and started with a fresh data dir and
 *      fresh certificates (`--initial-cluster-state=existing`); once it has caught up it is promoted.
 *      Every member must be healthy and a voter again, and the replaced member must serve every
 *      key from its own store (serializable reads on its 127.0.0.1).
 *
 * Figures: quorumHeldAfterLossMs (the kill → the first write through a survivor committed),
 * rejoinMs (member add accepted → promoted), recoveryMs (the kill → every member healthy again).
 * etcd keeps running afterwards: its pids are in state.json like every lab process, so `lab down`
 * stops it; a second run starts a fresh cluster.
 */
import { randomBytes } from "node:crypto";
import { chmodSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { kubeAddress, kubernetesPlane } from "../../components/kubernetes/kubeadm";
import type { Plan } from "../../components/plan/plan";
import type { DrillRecord } from "./check";
import { LIFETIME_SECONDS, nodeRemove, nodeUp, startListener, waitHandshakes, type LabContext } from "./lab";
import { saveState, type ServedPort } from "./state";
import { alive, comm, pool, procRef, procStart, run, sleep, spawnDetached, stop, waitFor, which, type RunResult } from "./sys";

export const ETCD_CLIENT_PORT = 2379;
export const ETCD_PEER_PORT = 2380;
/** kubeadm's --listen-metrics-urls port (loopback only). */
export const ETCD_METRICS_PORT = 2381;
/** What the drill's ProcRefs are called: the member itself, and the timeout(1) that bounds its lifetime. */
export const ETCD_PROC = "etcd";
export const ETCD_WRAPPER_PROC = "timeout etcd";
/** Every member also serves clients here (kubeadm: the API server on the node talks to it). */
const LOOPBACK_CLIENT = `https://127.0.0.1:${ETCD_CLIENT_PORT}`;
/** The drill's keys. */
const KEY_PREFIX = "/kubedos/lab/etcd-quorum/";
/** Certificate lifetime: the lab lives at most 24 h (LIFETIME_SECONDS). */
const CERT_DAYS = 2;

const TOOLS = ["etcd", "etcdctl", "openssl"] as const;

/** Why the etcd drill cannot run here (a tool is missing), or undefined. */
export function etcdUnavailable(): string | undefined {
  const missing = TOOLS.filter((t) => !which(t));
  return missing.length > 0 ? `missing tools: ${missing.join(", ")} (Debian: etcd-server etcd-client openssl)` : undefined;
}

const byName = (a: string, b: string) => a.localeCompare(b, "en", { numeric: true });

/** The control planes of the plan, by name (kubeadm's order). */
export function controlPlanes(plan: Plan): string[] {
  return plan.nodes
    .filter((n) => n.role === "control-plane")
    .map((n) => n.name)
    .sort(byName);
}

/** The drill's default NODE: the last control plane by name (the first runs `kubeadm init`). */
export function defaultEtcdNode(plan: Plan): string {
  const cps = controlPlanes(plan);
  if (cps.length === 0) throw new Error("the plan has no control-plane node: there is no etcd to drill");
  return cps[cps.length - 1];
}

export interface EtcdMember {
  name: string;
  /** The node's address on the kubernetes-backend plane (wg3). */
  address: string;
  peerUrl: string;
  clientUrl: string;
}

export function etcdMember(plan: Plan, name: string): EtcdMember {
  const node = plan.nodes.find((n) => n.name === name);
  if (!node) throw new Error(`node ${name} is not in the plan`);
  const address = kubeAddress(plan, node);
  return { name, address, peerUrl: `https://${address}:${ETCD_PEER_PORT}`, clientUrl: `https://${address}:${ETCD_CLIENT_PORT}` };
}

/** Where the drill keeps its files, all inside the lab's state directory (removed by `lab down`). */
export function etcdPaths(labDirectory: string) {
  const root = path.join(labDirectory, "etcd");
  const pki = path.join(root, "pki");
  return {
    root,
    pki,
    ca: { cert: path.join(pki, "ca.crt"), key: path.join(pki, "ca.key") },
    client: { cert: path.join(pki, "etcdctl.crt"), key: path.join(pki, "etcdctl.key") },
    member: (name: string) => {
      const d = path.join(root, name);
      return {
        dir: d,
        data: path.join(d, "data"),
        log: path.join(d, "etcd.log"),
        server: { cert: path.join(d, "pki", "server.crt"), key: path.join(d, "pki", "server.key") },
        peer: { cert: path.join(d, "pki", "peer.crt"), key: path.join(d, "pki", "peer.key") },
      };
    },
  };
}

/**
 * The member's etcd flags: those kubeadm writes into the stacked-etcd static pod
 * (/etc/kubernetes/manifests/etcd.yaml), with the lab's file paths. `cluster` is the initial
 * cluster (every member for "new"; the current members plus this one for "existing").
 */
export function etcdFlags(m: EtcdMember, cluster: EtcdMember[], state: "new" | "existing", labDirectory: string): string[] {
  const p = etcdPaths(labDirectory);
  const f = p.member(m.name);
  return [
    `--name=${m.name}`,
    `--data-dir=${f.data}`,
    `--listen-peer-urls=${m.peerUrl}`,
    `--initial-advertise-peer-urls=${m.peerUrl}`,
    `--listen-client-urls=${LOOPBACK_CLIENT},${m.clientUrl}`,
    `--advertise-client-urls=${m.clientUrl}`,
    `--listen-metrics-urls=http://127.0.0.1:${ETCD_METRICS_PORT}`,
    `--initial-cluster=${cluster.map((c) => `${c.name}=${c.peerUrl}`).join(",")}`,
    `--initial-cluster-state=${state}`,
    `--cert-file=${f.server.cert}`,
    `--key-file=${f.server.key}`,
    `--client-cert-auth=true`,
    `--trusted-ca-file=${p.ca.cert}`,
    `--peer-cert-file=${f.peer.cert}`,
    `--peer-key-file=${f.peer.key}`,
    `--peer-client-cert-auth=true`,
    `--peer-trusted-ca-file=${p.ca.cert}`,
    `--snapshot-count=10000`,
    `--experimental-initial-corrupt-check=true`,
    `--experimental-watch-progress-notify-interval=5s`,
    // The structured logger (the 3.4 default, capnslog, prints a deprecation warning first).
    `--logger=zap`,
    `--log-outputs=stderr`,
  ];
}

/** The ports etcd takes on a member's wg3 address (the lab listener keeps them elsewhere). */
export const etcdServed = (m: EtcdMember): ServedPort[] =>
  [ETCD_CLIENT_PORT, ETCD_PEER_PORT].map((port) => ({ address: m.address, port, by: "etcd" }));

/**
 * The environment of etcd and etcdctl: the caller's, without ETCD_* / ETCDCTL_* variables (etcd
 * and etcdctl read those as flags, and etcdctl refuses a variable that shadows a given flag).
 */
function etcdEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith("ETCD")));
  // etcd 3.4 starts on amd64 and ppc64le only unless told the architecture is meant.
  if (process.arch === "arm64") env.ETCD_UNSUPPORTED_ARCH = "arm64";
  return env;
}

// ------------------------------------------------------------------------------------ PKI

async function openssl(args: string[]): Promise<void> {
  const r = await run("openssl", args, { timeoutMs: 20_000 });
  // openssl's stderr names files and subjects, never key material.
  if (r.code !== 0) throw new Error(`openssl ${args[0]} failed (exit ${r.code}): ${r.stderr.trim().slice(0, 600)}`);
}

const OPENSSL_CNF = `# kubedos lab: the etcd CA (req -x509 -extensions ca_ext); subjects come from -subj.
[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca_ext]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
`;

/** ECDSA P-256 (kubeadm's `encryptionAlgorithm: ECDSA-P256`): key generation in milliseconds. */
const NEW_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"];

/** The lab's etcd CA and the etcdctl client certificate (as kube-etcd-healthcheck-client is). */
async function makeCa(labDirectory: string): Promise<void> {
  const p = etcdPaths(labDirectory);
  mkdirSync(p.pki, { recursive: true, mode: 0o700 });
  const cnf = path.join(p.pki, "openssl.cnf");
  writeFileSync(cnf, OPENSSL_CNF, { mode: 0o644 });
  await openssl([
    "req",
    "-x509",
    ...NEW_KEY,
    "-keyout",
    p.ca.key,
    "-out",
    p.ca.cert,
    "-days",
    String(CERT_DAYS),
    "-subj",
    "/CN=kubedos-lab-etcd-ca",
    "-config",
    cnf,
    "-extensions",
    "ca_ext",
  ]);
  chmodSync(p.ca.key, 0o600);
  await makeLeaf(labDirectory, p.client, "/CN=kubedos-lab-etcdctl", ["clientAuth"], []);
}

/** A key and a certificate signed by the lab etcd CA. */
async function makeLeaf(
  labDirectory: string,
  out: { cert: string; key: string },
  subject: string,
  usages: string[],
  sans: string[],
): Promise<void> {
  const p = etcdPaths(labDirectory);
  mkdirSync(path.dirname(out.cert), { recursive: true, mode: 0o700 });
  const ext = `${out.cert}.ext`;
  const csr = `${out.cert}.csr`;
  writeFileSync(
    ext,
    [
      "[ext]",
      "basicConstraints = critical, CA:FALSE",
      "keyUsage = critical, digitalSignature",
      `extendedKeyUsage = ${usages.join(", ")}`,
      ...(sans.length > 0 ? [`subjectAltName = ${sans.join(", ")}`] : []),
      "subjectKeyIdentifier = hash",
      "authorityKeyIdentifier = keyid",
      "",
    ].join("\n"),
    { mode: 0o644 },
  );
  await openssl(["req", "-new", ...NEW_KEY, "-keyout", out.key, "-out", csr, "-subj", subject, "-config", path.join(p.pki, "openssl.cnf")]);
  chmodSync(out.key, 0o600);
  // A random positive 120-bit serial: every certificate of the lab (and of a replaced member) differs.
  const serial = `0x${randomBytes(15).toString("hex")}`;
  const days = String(CERT_DAYS);
  await openssl([
    "x509",
    "-req",
    "-in",
    csr,
    "-CA",
    p.ca.cert,
    "-CAkey",
    p.ca.key,
    "-set_serial",
    serial,
    "-days",
    days,
    "-extfile",
    ext,
    "-extensions",
    "ext",
    "-out",
    out.cert,
  ]);
  chmodSync(out.cert, 0o644);
  rmSync(csr, { force: true });
}

/**
 * A member's server and peer certificates, as kubeadm makes etcd/server and etcd/peer: CN = node
 * name, server + client auth (a peer is a client of the other peers), SANs localhost, the node
 * name, its wg3 address, 127.0.0.1 and ::1. New keys every time: a replaced member is a new machine.
 */
async function makeMemberCerts(labDirectory: string, m: EtcdMember): Promise<void> {
  const f = etcdPaths(labDirectory).member(m.name);
  const sans = [`DNS:localhost`, `DNS:${m.name}`, `IP:${m.address}`, "IP:127.0.0.1", "IP:::1"];
  for (const c of [f.server, f.peer]) rmSync(c.key, { force: true });
  await Promise.all([f.server, f.peer].map((c) => makeLeaf(labDirectory, c, `/CN=${m.name}`, ["serverAuth", "clientAuth"], sans)));
}

// ------------------------------------------------------------------------------ processes

/** Children of `pid` (from /proc; bounded by the number of processes). */
function childrenOf(pid: number): number[] {
  const out: number[] = [];
  for (const e of readdirSync("/proc")) {
    if (!/^\d+$/.test(e)) continue;
    try {
      const stat = readFileSync(`/proc/${e}/stat`, "utf8");
      if (Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]) === pid) out.push(Number(e));
    } catch {
      /* gone */
    }
  }
  return out;
}

/**
 * Start a member in its node's mount + network namespaces under timeout(1) (the lab's bound on
 * every daemon). Both pids are recorded: the wrapper, whose SIGTERM reaches etcd, and etcd
 * itself, which the drill SIGKILLs to delete the member abruptly.
 */
async function startMember(ctx: LabContext, m: EtcdMember, cluster: EtcdMember[], state: "new" | "existing"): Promise<void> {
  const n = ctx.state.nodes[m.name];
  if (!n?.holder || !alive(n.holder)) throw new Error(`node ${m.name} of lab ${ctx.state.id} is not running`);
  const f = etcdPaths(ctx.dir).member(m.name);
  mkdirSync(f.dir, { recursive: true, mode: 0o700 });
  // A fresh data dir: etcd creates it itself (it refuses one that is not 0700).
  rmSync(f.data, { recursive: true, force: true });
  const args = [
    "-t",
    String(n.holder.pid),
    "-m",
    "-n",
    "timeout",
    String(LIFETIME_SECONDS),
    which("etcd")!,
    ...etcdFlags(m, cluster, state, ctx.dir),
  ];
  const wrapper = spawnDetached("nsenter", args, f.log, etcdEnv());
  n.procs.push(procRef(wrapper, ETCD_WRAPPER_PROC));
  saveState(ctx.state);
  let pid: number | undefined;
  await waitFor(
    () => {
      pid = childrenOf(wrapper).find((c) => comm(c) === "etcd");
      return pid !== undefined || procStart(wrapper) === undefined;
    },
    5000,
    20,
  );
  if (pid === undefined) throw new Error(`node ${m.name}: etcd did not start (${tail(f.log)})`);
  n.procs.push(procRef(pid, ETCD_PROC));
  saveState(ctx.state);
}

/** Stop the etcd members recorded on `names` (a previous run's), and forget them. */
async function stopMembers(ctx: LabContext, names: string[]): Promise<void> {
  for (const name of names) {
    const n = ctx.state.nodes[name];
    if (!n) continue;
    const procs = n.procs.filter((p) => p.what === ETCD_PROC || p.what === ETCD_WRAPPER_PROC);
    // Its data is deleted next, so no graceful stop (a leadership hand-over among members that
    // are all stopping only takes time): SIGKILL etcd, then its wrapper exits by itself.
    for (const p of procs) if (p.what === ETCD_PROC && alive(p)) process.kill(p.pid, "SIGKILL");
    await Promise.all(procs.map((p) => stop(p, 3000)));
    n.procs = n.procs.filter((p) => !procs.includes(p));
  }
  saveState(ctx.state);
}

/** Does the network namespace of `pid` have TCP connections that are not yet closed? */
function closingSockets(pid: number): boolean {
  // /proc/net/tcp `st`: 0A LISTEN, 07 CLOSE, and 06 TIME_WAIT / 05 FIN_WAIT2 of a dead process
  // (the kernel turns those into timewait entries, which do not keep the namespace) are done.
  for (const f of ["tcp", "tcp6"]) {
    try {
      const rows = readFileSync(`/proc/${pid}/net/${f}`, "utf8").trim().split("\n").slice(1);
      if (rows.some((r) => !["0A", "05", "06", "07"].includes(r.trim().split(/\s+/)[3]))) return true;
    } catch {
      return false;
    }
  }
  return false;
}

function tail(file: string): string {
  try {
    return readFileSync(file, "utf8").trim().split("\n").slice(-5).join(" | ").slice(-1200);
  } catch {
    return "no log";
  }
}

// -------------------------------------------------------------------------------- etcdctl

/** etcdctl in node `on`'s namespaces, with the lab's client certificate; bounded. */
export async function etcdctl(
  ctx: LabContext,
  on: string,
  endpoints: string[],
  args: string[],
  commandTimeoutS = 3,
  dialTimeoutS = 2,
): Promise<RunResult> {
  const h = ctx.state.nodes[on]?.holder;
  if (!h || !alive(h)) throw new Error(`node ${on} of lab ${ctx.state.id} is not running`);
  const p = etcdPaths(ctx.dir);
  return run(
    "nsenter",
    [
      "-t",
      String(h.pid),
      "-m",
      "-n",
      which("etcdctl")!,
      `--endpoints=${endpoints.join(",")}`,
      `--cacert=${p.ca.cert}`,
      `--cert=${p.client.cert}`,
      `--key=${p.client.key}`,
      `--dial-timeout=${dialTimeoutS}s`,
      `--command-timeout=${commandTimeoutS}s`,
      ...args,
    ],
    { timeoutMs: (commandTimeoutS + dialTimeoutS + 5) * 1000, env: etcdEnv() },
  );
}

async function etcdctlOk(ctx: LabContext, on: string, endpoints: string[], args: string[]): Promise<string> {
  const r = await etcdctl(ctx, on, endpoints, args);
  if (r.code !== 0)
    throw new Error(`etcdctl ${args.join(" ")} (on ${on}) failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(0, 600)}`);
  return r.stdout;
}

/** JSON with etcd's uint64 ids quoted first (JSON.parse would round them). */
function parseBigJson<T>(text: string): T {
  return JSON.parse(text.replace(/([:[,]\s*)(\d{16,})(?=\s*[,}\]])/g, '$1"$2"')) as T;
}

const hex = (id: string | number | undefined) => (id === undefined ? "" : BigInt(id).toString(16));

export interface MemberInfo {
  id: string;
  name: string;
  peerUrls: string[];
  learner: boolean;
}

export async function memberList(ctx: LabContext, on: string, endpoint: string): Promise<MemberInfo[]> {
  const out = await etcdctlOk(ctx, on, [endpoint], ["member", "list", "-w", "json"]);
  const j = parseBigJson<{ members?: Array<{ ID: string; name?: string; peerURLs?: string[]; isLearner?: boolean }> }>(out);
  return (j.members ?? []).map((m) => ({ id: hex(m.ID), name: m.name ?? "", peerUrls: m.peerURLs ?? [], learner: !!m.isLearner }));
}

/** `endpoint health` per endpoint (each one on its own, so one dead member does not hide the others). */
export async function endpointHealth(
  ctx: LabContext,
  on: string,
  endpoints: string[],
  dialTimeoutS = 2,
  commandTimeoutS = 3,
): Promise<Array<{ endpoint: string; healthy: boolean; error?: string }>> {
  return pool(endpoints, endpoints.length, async (endpoint) => {
    const r = await etcdctl(ctx, on, [endpoint], ["endpoint", "health", "-w", "json"], commandTimeoutS, dialTimeoutS);
    let healthy = false;
    try {
      healthy = r.code === 0 && (JSON.parse(r.stdout) as Array<{ health?: boolean }>).every((h) => h.health === true);
    } catch {
      /* not JSON: an error message */
    }
    return { endpoint, healthy, ...(healthy ? {} : { error: (r.stderr || r.stdout).trim().split("\n")[0].slice(0, 300) }) };
  });
}

interface EndpointStatus {
  endpoint: string;
  memberId: string;
  leader: string;
  revision: number;
  learner: boolean;
}

async function endpointStatus(ctx: LabContext, on: string, endpoint: string): Promise<EndpointStatus | undefined> {
  const r = await etcdctl(ctx, on, [endpoint], ["endpoint", "status", "-w", "json"]);
  if (r.code !== 0) return undefined;
  const [s] = parseBigJson<
    Array<{ Endpoint: string; Status: { header: { member_id: string; revision: number | string }; leader: string; isLearner?: boolean } }>
  >(r.stdout);
  if (!s) return undefined;
  return {
    endpoint: s.Endpoint,
    memberId: hex(s.Status.header.member_id),
    leader: hex(s.Status.leader),
    revision: Number(s.Status.header.revision),
    learner: !!s.Status.isLearner,
  };
}

/** Retry `attempt` every `everyMs` until it returns a value, bounded by `timeoutMs` (and a count). */
async function retry<T>(attempt: () => Promise<T | undefined>, timeoutMs: number, everyMs = 100): Promise<T | undefined> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; i < Math.ceil(timeoutMs / everyMs) + 1; i++) {
    const v = await attempt();
    if (v !== undefined) return v;
    if (Date.now() >= deadline) break;
    await sleep(everyMs);
  }
  return undefined;
}

/**
 * Start `attempt` every `everyMs` (at most `maxInFlight` at once) until one succeeds; when the
 * first success returned (epoch ms) and how many were started. Overlapping attempts: a write
 * sent while there is no leader blocks until its own timeout, so one-at-a-time retries would
 * measure the timeout, not the moment the cluster commits again. Bounded by `timeoutMs`; returns
 * only after every started attempt has finished (each is bounded by its own timeout).
 */
async function firstSuccess(
  attempt: () => Promise<boolean>,
  opts: { everyMs: number; timeoutMs: number; maxInFlight: number },
): Promise<{ atMs?: number; attempts: number }> {
  const deadline = Date.now() + opts.timeoutMs;
  const running = new Set<Promise<void>>();
  let atMs: number | undefined;
  let attempts = 0;
  for (let i = 0; i < Math.ceil(opts.timeoutMs / opts.everyMs) + 1 && atMs === undefined && Date.now() < deadline; i++) {
    if (running.size < opts.maxInFlight) {
      attempts++;
      const p: Promise<void> = attempt()
        .then((ok) => {
          if (ok) atMs ??= Date.now();
        })
        .catch(() => undefined)
        .finally(() => running.delete(p));
      running.add(p);
    }
    await sleep(opts.everyMs);
  }
  await Promise.all([...running]);
  return { ...(atMs !== undefined ? { atMs } : {}), attempts };
}

// ---------------------------------------------------------------------------------- drill

/** A value for a drill key: random, so a stale store from an earlier run can never pass a read. */
const token = () => `v-${randomBytes(6).toString("hex")}`;

const sameValues = (got: Record<string, string>, want: Record<string, string>) => Object.keys(want).every((k) => got[k] === want[k]);

/** The spec's own recovery target for losing a control plane (spec.acceptance.drills), if any. */
function recoveryTarget(ctx: LabContext): { drill: string; expectRecoveryMinutes: number } | undefined {
  try {
    const doc = YAML.parse(readFileSync(path.join(ctx.dir, "spec.yaml"), "utf8")) as {
      spec?: { acceptance?: { drills?: Array<{ name?: string; expectRecoveryMinutes?: number }> } };
    };
    const d = doc.spec?.acceptance?.drills?.find((x) => x.name === "delete-control-plane");
    return d && typeof d.expectRecoveryMinutes === "number"
      ? { drill: "delete-control-plane", expectRecoveryMinutes: d.expectRecoveryMinutes }
      : undefined;
  } catch {
    return undefined;
  }
}

export async function drillEtcdQuorum(ctx: LabContext, node: string, log: (l: string) => void = () => undefined): Promise<DrillRecord> {
  const startedAt = new Date();
  const plan = ctx.lab.plan;
  const names = controlPlanes(plan);
  const members = names.map((n) => etcdMember(plan, n));
  const victim = members.find((m) => m.name === node);
  const survivors = members.filter((m) => m.name !== node);
  const N = members.length;
  const checks: Record<string, boolean> = {};
  const details: Record<string, unknown> = {
    node,
    members: N,
    plane: kubernetesPlane(plan),
    etcd: "",
    learner: true,
    lossSignal: "SIGKILL",
  };
  let error: string | undefined;
  try {
    if (!victim) throw new Error(`node ${node} is not a control plane (control planes: ${names.join(", ")})`);
    if (N < 3) throw new Error(`the etcd quorum drill needs at least 3 control planes to lose one (the plan has ${N})`);
    const down = names.filter((n) => ctx.state.nodes[n]?.status !== "up");
    if (down.length > 0)
      throw new Error(`control plane(s) ${down.join(", ")} not up in lab ${ctx.state.id}: run kubedos lab drill replace-node NODE first`);
    const version = await run(which("etcd")!, ["--version"], { timeoutMs: 10_000, env: etcdEnv() });
    details.etcd = /etcd Version: (\S+)/.exec(version.stdout)?.[1] ?? "unknown";
    // etcdctl runs on the first surviving control plane; the write goes through its member.
    const via = survivors[0];
    // Keys: one written before the loss, the first commit after it, one once the node is gone.
    const keys = { before: `${KEY_PREFIX}before-loss`, during: `${KEY_PREFIX}first-after-loss`, after: `${KEY_PREFIX}after-removal` };
    const values = { before: token(), during: token(), after: token() };

    // 1. A fresh cluster every run: a previous run's members, data and PKI go first.
    let t = Date.now();
    await stopMembers(ctx, names);
    const paths = etcdPaths(ctx.dir);
    rmSync(paths.root, { recursive: true, force: true });
    await makeCa(ctx.dir);
    await pool(members, N, (m) => makeMemberCerts(ctx.dir, m));
    await pool(members, N, (m) => startListener(ctx, m.name, etcdServed(m)));
    await pool(members, N, (m) => startMember(ctx, m, members, "new"));
    const endpoints = members.map((m) => m.clientUrl);
    const up = await retry(
      async () => {
        const h = await endpointHealth(ctx, via.name, endpoints);
        return h.every((x) => x.healthy) ? h : undefined;
      },
      30_000,
      200,
    );
    if (!up)
      throw new Error(
        `the etcd cluster did not become healthy in 30 s (${members.map((m) => `${m.name}: ${tail(paths.member(m.name).log)}`).join("; ")})`,
      );
    details.startMs = Date.now() - t;
    log(`etcd-quorum: ${N} members healthy over ${details.plane} in ${details.startMs} ms`);

    // 2. A key, and N healthy voters.
    await etcdctlOk(ctx, via.name, [via.clientUrl], ["put", keys.before, values.before]);
    const initial = await memberList(ctx, via.name, via.clientUrl);
    checks.startedWithAllVoters =
      initial.length === N && initial.every((m) => !m.learner) && names.every((n) => initial.some((m) => m.name === n));
    const victimId = initial.find((m) => m.name === node)?.id;
    if (!victimId) throw new Error(`member ${node} is not in the member list`);
    const leaderBefore = (await endpointStatus(ctx, via.name, via.clientUrl))?.leader;
    details.victimWasLeader = leaderBefore === victimId;

    // 3. Delete the control plane: its etcd killed as a vanished VM's would be (no leadership
    //    hand-over, no graceful raft stop), then its namespace. From that instant a write through a
    //    survivor is tried every 100 ms: the first commit (after an election, when the leader
    //    went) is quorumHeldAfterLossMs.
    const t0 = Date.now();
    const killed = ctx.state.nodes[node].procs.find((p) => p.what === ETCD_PROC);
    if (killed && alive(killed)) process.kill(killed.pid, "SIGKILL");
    const firstWrite = firstSuccess(
      async () => (await etcdctl(ctx, via.name, [via.clientUrl], ["put", keys.during, values.during], 1)).code === 0,
      { everyMs: 100, timeoutMs: 20_000, maxInFlight: 10 },
    );
    // The kernel still closes the dead process's connections (FINs to the peers over wg3); a
    // namespace deleted before that is kept alive by the orphaned sockets, with its veth, for a
    // minute or more. Bounded: 3 s.
    const h = ctx.state.nodes[node].holder;
    if (h) await waitFor(() => !closingSockets(h.pid), 3000, 20);
    details.socketsClosedMs = Date.now() - t0;
    await nodeRemove(ctx, node);
    details.removeMs = Date.now() - t0;
    const { atMs, attempts } = await firstWrite;
    const heldMs = atMs === undefined ? undefined : atMs - t0;
    details.writeAttempts = attempts;
    checks.quorumHeld = heldMs !== undefined;
    if (heldMs === undefined) throw new Error("no write through a surviving member committed within 20 s of the loss: quorum lost");
    details.quorumHeldAfterLossMs = heldMs;
    log(`etcd-quorum: ${node} deleted; a write through ${via.name} committed ${heldMs} ms after the loss`);
    // With the node gone: a write, and linearizable reads through every survivor (each needs the
    // quorum's read index); the dead member is still listed, and unhealthy.
    const wrote = await retry(async () => {
      const r = await etcdctl(ctx, via.name, [via.clientUrl], ["put", keys.after, values.after], 2);
      return r.code === 0 ? true : undefined;
    }, 10_000);
    checks.writeAfterRemoval = wrote === true;
    const [reads, during, deadHealth] = await Promise.all([
      pool(survivors, survivors.length, async (s) => {
        const got: Record<string, string> = {};
        for (const k of Object.keys(keys) as Array<keyof typeof keys>)
          got[k] = (await etcdctlOk(ctx, via.name, [s.clientUrl], ["get", keys[k], "--consistency=l", "--print-value-only"])).trim();
        return { member: s.name, got };
      }),
      memberList(ctx, via.name, via.clientUrl),
      // A gone member cannot answer: 1 s to dial it is plenty on a lab link.
      endpointHealth(ctx, via.name, [victim.clientUrl], 1, 1),
    ]);
    checks.linearizableReadsAfterLoss = reads.every((r) => sameValues(r.got, values));
    checks.deadMemberListed = during.length === N && during.some((m) => m.name === node && m.id === victimId);
    checks.deadMemberUnhealthy = !deadHealth[0].healthy;

    // 4. Replace it: same node from the spec, a new etcd member with the same name and peer URL.
    t = Date.now();
    details.replaceStartedAfterMs = t - t0;
    await nodeUp(ctx, node);
    const hs = await waitHandshakes(ctx, { nodes: [node], timeoutMs: 15_000, everyMs: 50 });
    if (!hs.ok) throw new Error(`the replaced ${node} has no WireGuard handshake with ${hs.missing.slice(0, 5).join("; ")}`);
    await startListener(ctx, node, etcdServed(victim));
    await makeMemberCerts(ctx.dir, victim);
    details.nodeUpMs = Date.now() - t;
    await etcdctlOk(ctx, via.name, [via.clientUrl], ["member", "remove", victimId]);
    // etcd's strict reconfiguration check refuses a new member ("unhealthy cluster") until every
    // voter has been connected to the serving member for 5 s — not yet when the cluster has just
    // started (as here) or just healed; kubeadm retries too. rejoinMs starts at the accepted add.
    const tAsk = Date.now();
    let addAttempts = 0;
    let lastAdd: RunResult | undefined;
    const added = await retry(
      async () => {
        addAttempts++;
        lastAdd = await etcdctl(ctx, via.name, [via.clientUrl], ["member", "add", node, "--learner", `--peer-urls=${victim.peerUrl}`]);
        return lastAdd.code === 0 ? lastAdd.stdout : undefined;
      },
      15_000,
      200,
    );
    if (added === undefined)
      throw new Error(`member add ${node} --learner was refused for 15 s: ${(lastAdd?.stderr ?? "").trim().split("\n").slice(-1)[0]}`);
    const tAdd = Date.now();
    details.addAttempts = addAttempts;
    details.addWaitMs = tAdd - tAsk;
    const newId = /Member\s+([0-9a-f]+)\s+added/.exec(added)?.[1];
    if (!newId) throw new Error(`member add printed no member id: ${added.trim().slice(0, 300)}`);
    const current = await memberList(ctx, via.name, via.clientUrl);
    checks.addedAsLearner = current.some((m) => m.id === newId && m.learner);
    await startMember(ctx, victim, [...survivors, victim], "existing");
    // In sync: the learner's store has the leader's revision (checked on the learner itself).
    const synced = await retry(
      async () => {
        const [l, s] = await Promise.all([endpointStatus(ctx, via.name, victim.clientUrl), endpointStatus(ctx, via.name, via.clientUrl)]);
        return l && s && l.revision >= s.revision ? true : undefined;
      },
      30_000,
      100,
    );
    if (!synced) throw new Error(`the learner ${node} did not catch up within 30 s (${tail(paths.member(node).log)})`);
    details.learnerSyncMs = Date.now() - tAdd;
    // etcd promotes only a learner whose log is close enough to the leader's; it says so until then.
    let promoteAttempts = 0;
    const promoted = await retry(
      async () => {
        promoteAttempts++;
        const r = await etcdctl(ctx, via.name, [via.clientUrl], ["member", "promote", newId]);
        return r.code === 0 ? true : undefined;
      },
      30_000,
      100,
    );
    if (!promoted) throw new Error(`member promote ${newId} (${node}) did not succeed within 30 s`);
    details.rejoinMs = Date.now() - tAdd;
    details.promoteAttempts = promoteAttempts;
    const healthy = await retry(
      async () => {
        const h = await endpointHealth(ctx, via.name, endpoints);
        return h.every((x) => x.healthy) ? h : undefined;
      },
      30_000,
      100,
    );
    checks.allHealthyAgain = healthy !== undefined;
    details.recoveryMs = Date.now() - t0;
    details.replaceMs = Date.now() - t;
    log(`etcd-quorum: ${node} rejoined (learner → voter) in ${details.rejoinMs} ms; all ${N} healthy after ${details.recoveryMs} ms`);

    const final = await memberList(ctx, via.name, via.clientUrl);
    checks.allVotersAgain = final.length === N && final.every((m) => !m.learner) && names.every((n) => final.some((m) => m.name === n));
    const health = healthy ?? (await endpointHealth(ctx, via.name, endpoints));
    details.finalMembers = final.map((m) => ({
      name: m.name,
      id: m.id,
      learner: m.learner,
      peerUrls: m.peerUrls,
      healthy: health.find((h) => h.endpoint === etcdMember(plan, m.name || node).clientUrl)?.healthy ?? false,
    }));
    details.memberIds = { removed: victimId, added: newId };
    // The replaced member's own store: serializable reads on its loopback client URL.
    const local = await retry(async () => {
      const got: Record<string, string> = {};
      for (const k of Object.keys(keys) as Array<keyof typeof keys>) {
        const r = await etcdctl(ctx, node, [LOOPBACK_CLIENT], ["get", keys[k], "--consistency=s", "--print-value-only"]);
        got[k] = r.stdout.trim();
      }
      return sameValues(got, values) ? true : undefined;
    }, 10_000);
    checks.replacedServesEveryKey = local === true;
    const target = recoveryTarget(ctx);
    if (target) {
      checks.withinRecoveryTarget = (details.recoveryMs as number) <= target.expectRecoveryMinutes * 60_000;
      details.target = target;
    }
    details.addresses = Object.fromEntries(members.map((m) => [m.name, m.address]));
    details.tls = { clientCertAuth: true, peerClientCertAuth: true, keys: "ECDSA P-256, openssl, 0600 in the lab state dir" };
  } catch (e) {
    error = (e as Error).message;
  }
  const passed = error === undefined && Object.values(checks).every(Boolean);
  return {
    name: "etcd-quorum",
    startedAt: startedAt.toISOString(),
    finishedAt: new Date().toISOString(),
    passed,
    details: { ...details, checks, ...(error ? { error } : {}), method: METHOD },
  };
}

const METHOD =
  "etcd (Debian etcd-server) on every control plane with kubeadm's stacked-etcd flags over the kubernetes-backend plane, TLS with client and peer client-cert-auth; " +
  "the node's etcd SIGKILLed and its namespace deleted; writes and linearizable reads through the survivors; " +
  "the node brought back from the spec, the dead member removed, the new one added as a learner (fresh data dir and certificates), promoted once in sync; " +
  "quorumHeldAfterLossMs = kill → first committed write (tried every 100 ms), rejoinMs = member add accepted → promoted, recoveryMs = kill → every member healthy";
