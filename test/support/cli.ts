/** Running the real `kubedos` CLI as a child process, as a user would. */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";

export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

export interface CliResult {
  args: string[];
  code: number | null;
  stdout: string;
  stderr: string;
}

export function kubedos(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(REPO_ROOT, "bin", "kubedos.js"), ...args], {
      cwd: REPO_ROOT,
      env: { ...process.env, NO_COLOR: "1", ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ args, code, stdout, stderr }));
  });
}

/**
 * `kubedos plan …` runs that only read the checkout, shared by the test files of one mocha process
 * (cli-plan and cli-policy both run `plan --stack dev`): same arguments, same environment, same
 * output. Results are frozen.
 */
const planRuns = new Map<string, Promise<CliResult>>();

function sharedPlanRun(args: string[]): Promise<CliResult> {
  if (args[0] !== "plan" || args.includes("--graph")) return kubedos(args);
  // Every file an argument names (spec, program, policy config) by content, as well as by path.
  const files = args.map((a) => {
    const f = path.resolve(REPO_ROOT, a);
    return existsSync(f) && statSync(f).isFile() ? createHash("sha256").update(readFileSync(f)).digest("hex") : null;
  });
  const key = JSON.stringify({ args, files, env: Object.entries(process.env).sort(([a], [b]) => (a < b ? -1 : 1)) });
  let p = planRuns.get(key);
  if (!p) {
    p = kubedos(args).then((r) => Object.freeze({ ...r, args: Object.freeze([...r.args]) as string[] }));
    planRuns.set(key, p);
  }
  return p;
}

/** Run every command with at most `limit` processes at once. */
export async function runAll(commands: Record<string, string[]>, limit = 4): Promise<Map<string, CliResult>> {
  const out = new Map<string, CliResult>();
  const queue = Object.entries(commands);
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) out.set(next[0], await sharedPlanRun(next[1]));
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}
