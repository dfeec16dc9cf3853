/** Running the real `kubedos` CLI as a child process, as a user would. */
import { spawn } from "node:child_process";
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

/** Run every command with at most `limit` processes at once. */
export async function runAll(commands: Record<string, string[]>, limit = 4): Promise<Map<string, CliResult>> {
  const out = new Map<string, CliResult>();
  const queue = Object.entries(commands);
  const worker = async () => {
    for (let next = queue.shift(); next; next = queue.shift()) out.set(next[0], await kubedos(next[1]));
  };
  await Promise.all(Array.from({ length: limit }, worker));
  return out;
}
