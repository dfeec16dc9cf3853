/**
 * Real tools in tests: find them, run them, and skip (outside CI) or fail (CI=true) with the
 * Debian package to install when one is missing. Shared by every test layer that shells out.
 */
import { execFile, spawnSync } from "node:child_process";
import { accessSync, constants } from "node:fs";
import * as path from "node:path";

/** Debian package of each tool the tests run. */
export const TOOL_PACKAGES: Record<string, string> = {
  "cloud-init": "cloud-init",
  sshd: "openssh-server",
  "ssh-keygen": "openssh-client",
  nft: "nftables",
  shellcheck: "shellcheck",
  bash: "bash",
  haproxy: "haproxy",
  openssl: "openssl",
  dot: "graphviz",
};

const SEARCH_PATH = [...(process.env.PATH ?? "").split(path.delimiter), "/usr/local/sbin", "/usr/sbin", "/sbin"].filter(Boolean);

/** Absolute path of a tool, searching PATH and the sbin directories (sshd and nft live there). */
export function findTool(tool: string): string | undefined {
  for (const dir of SEARCH_PATH) {
    const f = path.join(dir, tool);
    try {
      accessSync(f, constants.X_OK);
      return f;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}

/**
 * Skip the test (naming what is missing and which Debian package provides it) — or, under
 * CI=true, fail it: CI must run every real-tool check.
 */
export function skipOrFail(ctx: Mocha.Context, reason: string): never {
  if (process.env.CI === "true") throw new Error(`${reason} — CI=true, so a missing prerequisite is a failure, not a skip`);
  console.warn(`      skipped: ${reason}`);
  ctx.skip();
  throw new Error("unreachable: mocha's skip() throws");
}

/** The tool's path, or skip/fail the test when it is not installed. */
export function requireTool(ctx: Mocha.Context, tool: string): string {
  return findTool(tool) ?? skipOrFail(ctx, `${tool} is not installed (Debian package ${TOOL_PACKAGES[tool] ?? "?"})`);
}

/** Skip/fail unless running as root (nft -c needs CAP_NET_ADMIN to open a netlink socket). */
export function requireRoot(ctx: Mocha.Context, why: string): void {
  if (process.getuid?.() !== 0) skipOrFail(ctx, `${why} needs root (CAP_NET_ADMIN); running as uid ${process.getuid?.()}`);
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Run a program asynchronously and collect its exit code and output (never rejects). */
export function run(
  file: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
): Promise<RunResult> {
  return new Promise((resolve) => {
    const child = execFile(
      file,
      args,
      { env: opts.env ?? process.env, cwd: opts.cwd, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === "number" ? err.code : 127) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (opts.input !== undefined) child.stdin?.end(opts.input);
  });
}

export function runSync(file: string, args: string[], input?: string): RunResult {
  const r = spawnSync(file, args, { input, encoding: "utf8" });
  return { code: r.status ?? 127, stdout: r.stdout ?? "", stderr: r.stderr ?? "" };
}
