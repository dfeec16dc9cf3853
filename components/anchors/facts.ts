/**
 * What provenance records about the build itself (seed 001 §6.3, §8.4): the kubedos source commit
 * and whether the tree was clean, the lockfile's hash, the toolchain, and the npm packages kubedos
 * ships. The only module of the anchors that reads the world (git, files next to kubedos); every
 * renderer takes these facts as plain data.
 */
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import type { ShippedPackage } from "./sbom";

export interface BuildFacts {
  kubedosVersion: string;
  /** git commit of the kubedos source (KUBEDOS_SOURCE_COMMIT when not a checkout); null if unknown. */
  commit: string | null;
  /** Uncommitted changes to tracked files; null if unknown. */
  dirty: boolean | null;
  /** sha256 of package-lock.json. */
  lockfileSha256: string | null;
  /** Toolchain: node and the Pulumi SDK/providers the program is built against. */
  tools: Record<string, string>;
  /** Production npm packages (package-lock.json), for sbom/binaries. */
  shipped: ShippedPackage[];
}

/** The kubedos installation root (where package.json is), from dist/components/anchors. */
export function kubedosRoot(): string {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const pj = path.join(dir, "package.json");
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, "utf8")) as { name?: string }).name === "kubedos") return dir;
    dir = path.dirname(dir);
  }
  throw new Error("cannot find the kubedos package root (package.json named kubedos) above " + __dirname);
}

const TOOL_PACKAGES = [
  "@pulumi/pulumi",
  "@pulumi/command",
  "@pulumi/kubernetes",
  "@pulumi/hcloud",
  "@muhlba91/pulumi-proxmoxve",
  "@pulumi/policy",
  "typescript",
];

let cached: BuildFacts | undefined;

export function buildFacts(env: NodeJS.ProcessEnv = process.env): BuildFacts {
  if (cached && !env.KUBEDOS_SOURCE_COMMIT) return cached;
  const root = kubedosRoot();
  const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8")) as { version: string };
  const lockPath = path.join(root, "package-lock.json");
  const lockText = existsSync(lockPath) ? readFileSync(lockPath, "utf8") : undefined;
  const lock = lockText
    ? (JSON.parse(lockText) as { packages?: Record<string, { version?: string; integrity?: string; license?: string; dev?: boolean }> })
    : undefined;
  const shipped: ShippedPackage[] = [];
  const tools: Record<string, string> = { node: process.version };
  for (const [key, p] of Object.entries(lock?.packages ?? {})) {
    if (!key.startsWith("node_modules/") || !p.version) continue;
    const name = key.slice(key.lastIndexOf("node_modules/") + "node_modules/".length);
    if (key === `node_modules/${name}` && TOOL_PACKAGES.includes(name)) tools[name] = p.version;
    if (p.dev) continue;
    shipped.push({
      name,
      version: p.version,
      ...(p.integrity ? { integrity: p.integrity } : {}),
      ...(p.license ? { license: p.license } : {}),
    });
  }
  // One entry per name@version (nested copies of one version are one component).
  const seen = new Set<string>();
  const unique = shipped
    .filter((p) => (seen.has(`${p.name}@${p.version}`) ? false : (seen.add(`${p.name}@${p.version}`), true)))
    .sort((a, b) => (a.name === b.name ? a.version.localeCompare(b.version) : a.name < b.name ? -1 : 1));
  const git = (args: string[]) => spawnSync("git", ["-C", root, ...args], { encoding: "utf8", timeout: 10_000 });
  let commit: string | null = env.KUBEDOS_SOURCE_COMMIT ?? null;
  let dirty: boolean | null = null;
  if (!commit) {
    const head = git(["rev-parse", "HEAD"]);
    if (head.status === 0) {
      commit = head.stdout.trim();
      const st = git(["status", "--porcelain", "--untracked-files=no"]);
      dirty = st.status === 0 ? st.stdout.trim().length > 0 : null;
    }
  }
  const facts: BuildFacts = {
    kubedosVersion: pkg.version,
    commit,
    dirty,
    lockfileSha256: lockText ? createHash("sha256").update(lockText).digest("hex") : null,
    tools,
    shipped: unique,
  };
  if (!env.KUBEDOS_SOURCE_COMMIT) cached = facts;
  return facts;
}
