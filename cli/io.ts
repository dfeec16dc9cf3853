/** The only place the offline tools read user files: one clear error instead of a stack trace. */
import { readFileSync } from "node:fs";
import * as path from "node:path";

export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
  }
}

export function readText(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why =
      e.code === "ENOENT" ? "no such file" : e.code === "EISDIR" ? "is a directory" : e.code === "EACCES" ? "permission denied" : e.message;
    throw new UsageError(`${file}: cannot read the spec (${why})`);
  }
}

/** The project root: where Pulumi.yaml sits (two levels above dist/cli). */
export const PROJECT_ROOT = path.resolve(__dirname, "..", "..");

/** The ClusterSpec file a stack names in Pulumi.<stack>.yaml (`kubedos:clusterSpec`). */
export function stackSpecPath(stack: string): string {
  if (!/^[A-Za-z0-9_.-]+$/.test(stack)) throw new UsageError(`--stack ${stack}: not a stack name`);
  const cfgFile = path.join(PROJECT_ROOT, `Pulumi.${stack}.yaml`);
  let text: string;
  try {
    text = readFileSync(cfgFile, "utf8");
  } catch {
    throw new UsageError(
      `--stack ${stack}: ${path.relative(process.cwd(), cfgFile) || cfgFile} does not exist (stacks: ${listStacks().join(", ")})`,
    );
  }
  const m = /^\s+kubedos:clusterSpec:\s*["']?([^"'\s#]+)["']?/m.exec(text);
  if (!m) throw new UsageError(`${cfgFile}: has no kubedos:clusterSpec entry naming the stack's ClusterSpec`);
  return path.resolve(PROJECT_ROOT, m[1]);
}

export function listStacks(): string[] {
  const { readdirSync } = require("node:fs") as typeof import("node:fs");
  return readdirSync(PROJECT_ROOT)
    .map((f) => /^Pulumi\.([^.]+)\.yaml$/.exec(f)?.[1])
    .filter((s): s is string => s !== undefined)
    .sort();
}

/** A path as the user would type it from here. */
export function displayPath(file: string): string {
  const rel = path.relative(process.cwd(), file);
  return rel && !rel.startsWith("..") ? rel : file;
}
