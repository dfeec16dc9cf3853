/**
 * Helpers for the Stage 3 (backplane) tests: the fixture plans and seed, a parser for wg-quick /
 * `wg showconf` files, and throwaway network namespaces that are always deleted (with every
 * process started in them) — even when a test fails or times out.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { renderNodeBackplane, renderOperator, type BackplaneFile } from "../../components/backplane/render-node";
import type { Plan } from "../../components/plan/plan";
import { findTool, skipOrFail } from "../firstboot/helpers";

export { PLANS, TEST_SEED, nodeOf, run, tempDir, findTool, skipOrFail, requireRoot, type FixtureName } from "../firstboot/helpers";

/** The rotation epoch the tests render with (any fixed value works; 0 would hide an ignored epoch). */
export const TEST_EPOCH = 7;

/** Debian package of each tool these tests run. */
export const BACKPLANE_TOOLS: Record<string, string> = {
  wg: "wireguard-tools",
  "wg-quick": "wireguard-tools",
  "wireguard-go": "wireguard-go",
  nft: "nftables",
  ip: "iproute2",
  unshare: "util-linux",
  grep: "grep",
  timeout: "coreutils",
};

/** The tool's path, or skip (outside CI) / fail (CI=true) naming its Debian package. */
export function needTool(ctx: Mocha.Context, tool: string): string {
  const found = findTool(tool);
  if (found) return found;
  return skipOrFail(ctx, `${tool} is not installed (Debian package ${BACKPLANE_TOOLS[tool] ?? "?"})`);
}

/** Skip/fail unless root: namespaces, nft and WireGuard interfaces need CAP_NET_ADMIN / CAP_SYS_ADMIN. */
export function needRoot(ctx: Mocha.Context, why: string): void {
  if (process.getuid?.() !== 0) skipOrFail(ctx, `${why} needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN); running as uid ${process.getuid?.()}`);
}

// ---------------------------------------------------------------- rendering

export interface RenderedMesh {
  plan: Plan;
  /** node → plane → file */
  files: Map<string, Map<string, BackplaneFile>>;
  operator?: BackplaneFile;
}

export function renderMesh(plan: Plan, seed: string, epoch = TEST_EPOCH): RenderedMesh {
  const files = new Map<string, Map<string, BackplaneFile>>();
  for (const node of plan.nodes) {
    files.set(node.name, new Map(renderNodeBackplane({ plan, node, seed, epoch }).map((f) => [f.plane, f])));
  }
  const operator = renderOperator({ plan, seed, epoch });
  return { plan, files, ...(operator ? { operator } : {}) };
}

// ---------------------------------------------------------------- wg config files

export interface WgSection {
  /** Comment lines just above the section header (without "# "). */
  comments: string[];
  /** Keys as written (first letter case preserved), values trimmed; a repeated key keeps every value. */
  fields: Map<string, string[]>;
}

export interface WgConfig {
  iface: WgSection;
  peers: WgSection[];
}

/** Parse a wg-quick or `wg showconf` file into its [Interface] and [Peer] sections. */
export function parseWgConfig(text: string): WgConfig {
  const sections: Array<{ kind: string } & WgSection> = [];
  let comments: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "") continue;
    if (line.startsWith("#")) {
      comments.push(line.replace(/^#\s?/, ""));
      continue;
    }
    const header = /^\[(Interface|Peer)\]$/.exec(line);
    if (header) {
      sections.push({ kind: header[1], comments, fields: new Map() });
      comments = [];
      continue;
    }
    const kv = /^([A-Za-z]+)\s*=\s*(.*)$/.exec(line);
    if (!kv || sections.length === 0) throw new Error(`not a wg config line: ${JSON.stringify(raw)}`);
    const f = sections[sections.length - 1].fields;
    f.set(kv[1], [...(f.get(kv[1]) ?? []), kv[2].trim()]);
  }
  const ifaces = sections.filter((s) => s.kind === "Interface");
  if (ifaces.length !== 1) throw new Error(`expected one [Interface] section, found ${ifaces.length}`);
  return { iface: ifaces[0], peers: sections.filter((s) => s.kind === "Peer") };
}

/** The single value of a field (throws when absent or repeated). */
export function field(s: WgSection, key: string): string {
  const v = s.fields.get(key);
  if (!v || v.length !== 1) throw new Error(`expected exactly one ${key}, found ${v?.length ?? 0}`);
  return v[0];
}

export function optionalField(s: WgSection, key: string): string | undefined {
  const v = s.fields.get(key);
  return v === undefined ? undefined : field(s, key);
}

// ---------------------------------------------------------------- network namespaces

const NETNS_PREFIX = `kd-t-${process.pid}-`;

/**
 * Throwaway network namespaces named kd-t-<pid>-<suffix>. `cleanup()` kills every process still
 * inside each namespace it created (those are ours: nothing else enters them), then deletes it.
 * Call it from an `after` hook so it runs even when a test fails.
 */
export class Netns {
  private readonly created: string[] = [];
  private readonly everCreated: string[] = [];

  constructor(private readonly ip: string) {}

  add(suffix: string): string {
    const name = `${NETNS_PREFIX}${suffix}`;
    execFileSync(this.ip, ["netns", "add", name], { stdio: "pipe", timeout: 10_000 });
    this.created.push(name);
    this.everCreated.push(name);
    execFileSync(this.ip, ["-n", name, "link", "set", "lo", "up"], { stdio: "pipe", timeout: 10_000 });
    return name;
  }

  /** Run `cmd args` inside `ns` (synchronously, bounded). */
  exec(ns: string, cmd: string, args: string[], timeoutMs = 20_000): { code: number; stdout: string; stderr: string } {
    const r = spawnSync(this.ip, ["netns", "exec", ns, cmd, ...args], { encoding: "utf8", timeout: timeoutMs, killSignal: "SIGKILL" });
    return { code: r.status ?? 124, stdout: r.stdout ?? "", stderr: (r.stderr ?? "") + (r.error ? String(r.error) : "") };
  }

  /** Every namespace created here that still exists. */
  leftovers(): string[] {
    const listed = spawnSync(this.ip, ["netns", "list"], { encoding: "utf8", timeout: 10_000 }).stdout ?? "";
    const names = new Set(listed.split("\n").map((l) => l.split(" ")[0]));
    return this.everCreated.filter((n) => names.has(n));
  }

  cleanup(): void {
    for (const ns of this.created.splice(0)) {
      const pids = (spawnSync(this.ip, ["netns", "pids", ns], { encoding: "utf8", timeout: 10_000 }).stdout ?? "")
        .split("\n")
        .map((s) => Number(s.trim()))
        .filter((p) => Number.isInteger(p) && p > 0);
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
      spawnSync(this.ip, ["netns", "del", ns], { timeout: 10_000 });
    }
  }
}
