/**
 * Process and namespace primitives of the lab. Every wait is bounded in time, every loop in count;
 * processes are only ever signalled by the pid (and start time) the lab recorded when it started
 * them, or because they live in a network namespace the lab created (matched by inode).
 */
import { spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readlinkSync, statSync } from "node:fs";
import * as path from "node:path";

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
  timedOut: boolean;
}

export interface RunOptions {
  input?: string;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  /**
   * Start it in its own session: what it leaves running (wireguard-go started by wg-quick) is
   * then not in the caller's process group and survives a Ctrl-C of the caller.
   */
  detached?: boolean;
}

/** Run a command to completion (killed after timeoutMs, default 30 s). Never throws for a non-zero exit. */
export function run(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const started = Date.now();
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", "pipe"], env: opts.env ?? process.env, detached: !!opts.detached });
    let stdout = "";
    let stderr = "";
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    child.on("error", (err) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: stderr + String(err), ms: Date.now() - started, timedOut });
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr, ms: Date.now() - started, timedOut });
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(opts.input ?? "");
  });
}

/** run(), throwing with the command's stderr on a non-zero exit. */
export async function runOk(cmd: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const r = await run(cmd, args, opts);
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(" ")} failed (exit ${r.code}${r.timedOut ? ", timed out" : ""}): ${(r.stderr || r.stdout).trim().slice(0, 2000)}`,
    );
  }
  return r;
}

/** A process the lab started: pid plus its start time (field 22 of /proc/PID/stat) to survive pid reuse. */
export interface ProcRef {
  pid: number;
  start: number;
  what: string;
}

/** Start a long-lived process in its own session, stdout+stderr to `logFile`; returns its pid. */
export function spawnDetached(cmd: string, args: string[], logFile: string, env?: NodeJS.ProcessEnv): number {
  const fd = openSync(logFile, "a", 0o600);
  try {
    const child = spawn(cmd, args, { detached: true, stdio: ["ignore", fd, fd], env: env ?? process.env });
    if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
    child.unref();
    return child.pid;
  } finally {
    closeSync(fd);
  }
}

/** Start time of `pid` in clock ticks since boot, or undefined when it does not exist. */
export function procStart(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // fields[0] is field 3 (state); starttime is field 22.
    if (fields[0] === "Z") return undefined;
    return Number(fields[19]);
  } catch {
    return undefined;
  }
}

export function procRef(pid: number, what: string): ProcRef {
  const start = procStart(pid);
  if (start === undefined) throw new Error(`${what} (pid ${pid}) exited right after it started`);
  return { pid, start, what };
}

export function alive(p: ProcRef): boolean {
  return procStart(p.pid) === p.start;
}

export function comm(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined;
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Poll `test` every `everyMs` until it holds or `timeoutMs` passes (bounded by count too). */
export async function waitFor(test: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  const maxTries = Math.ceil(timeoutMs / everyMs) + 1;
  for (let i = 0; i < maxTries; i++) {
    if (await test()) return true;
    if (Date.now() >= deadline) break;
    await sleep(everyMs);
  }
  return false;
}

/** SIGTERM a recorded process, then SIGKILL after `graceMs`. Only if pid and start time still match. */
export async function stop(p: ProcRef, graceMs = 1500): Promise<void> {
  if (!alive(p)) return;
  try {
    process.kill(p.pid, "SIGTERM");
  } catch {
    return;
  }
  if (await waitFor(() => !alive(p), graceMs, 25)) return;
  try {
    if (alive(p)) process.kill(p.pid, "SIGKILL");
  } catch {
    /* gone */
  }
  await waitFor(() => !alive(p), 2000, 25);
}

/** Inode of a named network namespace (/run/netns/NAME), or undefined. */
export function netnsInode(name: string): number | undefined {
  try {
    return statSync(path.join("/run/netns", name)).ino;
  } catch {
    return undefined;
  }
}

/** Processes whose network namespace is one of `inodes`. */
export function pidsInNetns(inodes: ReadonlySet<number>): ProcRef[] {
  const out: ProcRef[] = [];
  if (inodes.size === 0) return out;
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    let link: string;
    try {
      link = readlinkSync(`/proc/${pid}/ns/net`);
    } catch {
      continue;
    }
    const m = /^net:\[(\d+)\]$/.exec(link);
    if (!m || !inodes.has(Number(m[1]))) continue;
    const start = procStart(pid);
    if (start !== undefined) out.push({ pid, start, what: comm(pid) ?? "?" });
  }
  return out;
}

/** Names of the existing network namespaces. */
export function netnsList(): string[] {
  try {
    return readdirSync("/run/netns");
  } catch {
    return [];
  }
}

/** The tools the lab runs; a missing one is named. */
export const LAB_TOOLS = [
  "ip",
  "nsenter",
  "unshare",
  "wg",
  "wg-quick",
  "wireguard-go",
  "nft",
  "nc",
  "ping",
  "perl",
  "sh",
  "bash",
  "timeout",
] as const;

export function which(tool: string): string | undefined {
  for (const dir of (process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin").split(":").concat(["/usr/sbin", "/sbin"])) {
    const f = path.join(dir, tool);
    if (dir && existsSync(f)) return f;
  }
  return undefined;
}

/** Why the lab cannot run here, or undefined when it can. */
export function labUnavailable(): string | undefined {
  if (process.platform !== "linux") return `the lab needs Linux network namespaces (this is ${process.platform})`;
  if (typeof process.getuid === "function" && process.getuid() !== 0) return "the lab needs root (network namespaces, nftables, WireGuard)";
  const missing = LAB_TOOLS.filter((t) => !which(t));
  if (missing.length > 0)
    return `missing tools: ${missing.join(", ")} (Debian: iproute2 util-linux wireguard-tools wireguard-go nftables netcat-openbsd iputils-ping perl)`;
  return undefined;
}

/**
 * Run async jobs with at most `limit` in flight; results in input order. On a failure no new job
 * starts, and the first error is thrown only after every started job has settled (so a caller's
 * cleanup never races a job that is still creating something).
 */
export async function pool<T, R>(items: T[], limit: number, job: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  let failure: { error: unknown } | undefined;
  const workers = Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, async () => {
    while (next < items.length && !failure) {
      const i = next++;
      try {
        results[i] = await job(items[i], i);
      } catch (error) {
        failure ??= { error };
      }
    }
  });
  await Promise.all(workers);
  if (failure) throw failure.error;
  return results;
}
