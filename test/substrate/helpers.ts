/**
 * Helpers for the Stage 1 (substrate) and Stage 2 (firstboot) graph tests and the render CLI
 * tests: spec variants written to a temp dir, lookups in the recorded resource graph, and the
 * real-tool runner with the skip-or-fail rule (a missing tool skips naming its Debian package;
 * under CI=true it fails).
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseDocument } from "yaml";
import type { PlanResult } from "../../cli/commands/plan";
import { isSecretMarker, type RecordedResource, type StackRun } from "../../cli/engine/harness";
import type { ClusterSpec } from "../../components/spec/schema";
import { validateSpecText } from "../../components/spec/validate";
import { buildPlan, type Plan } from "../../components/plan/plan";
import { sharedPlan } from "../support/shared-plans";

export { BAREMETAL, DEV, HETZNER, PROD, REPO_ROOT, repoPath } from "../plan/helpers";

export const STAGE_TYPE = "kubedos:cluster:Stage";
export const COMMAND_TYPE = "command:remote:Command";
export const VM_TYPE = "proxmoxve:index/vmLegacy:VmLegacy";
export const SNIPPET_TYPE = "proxmoxve:index/fileLegacy:FileLegacy";
export const DOWNLOAD_TYPE = "proxmoxve:download/fileLegacy:FileLegacy";
export const HA_TYPE = "proxmoxve:index/haresource:Haresource";

/** A plain-data view of recorded inputs (they are JSON values once deserialized). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

// ---------------------------------------------------------------- specs

/** The validated spec and its plan, built outside the engine (the reference the graph is checked against). */
export function specAndPlan(text: string): { spec: ClusterSpec; plan: Plan } {
  const r = validateSpecText(text, "spec.yaml");
  assert.ok(r.valid && r.spec, `spec unexpectedly invalid: ${r.errors.map((e) => `[${e.rule}] ${e.message}`).join("; ")}`);
  return { spec: r.spec, plan: buildPlan(r.spec) };
}

/** One YAML edit: set `value` at `at`, or delete the key when `value` is undefined. */
export type Edit = [at: Array<string | number>, value: unknown];

/** The spec text with edits applied (comments and layout kept). */
export function edited(text: string, edits: Edit[]): string {
  const doc = parseDocument(text);
  for (const [at, value] of edits) {
    if (value === undefined) doc.deleteIn(at);
    else doc.setIn(at, doc.createNode(value));
  }
  return doc.toString();
}

/** Index of an inventory node in the spec text (for edits under spec.nodes.inventory). */
export function inventoryIndex(text: string, node: string): number {
  const doc = parseDocument(text).toJS() as Json;
  const i = (doc.spec.nodes.inventory as Array<{ name: string }>).findIndex((n) => n.name === node);
  assert.ok(i >= 0, `no node ${node}`);
  return i;
}

/** A temp dir for one test file; `file(name, text)` writes into it. Call cleanup() in after(). */
export function scratch(prefix: string): { dir: string; file: (name: string, text: string) => string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `kubedos-${prefix}-`));
  return {
    dir,
    file: (name, text) => {
      const f = path.join(dir, name);
      writeFileSync(f, text);
      return f;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** planStack (once per process for identical inputs: sharedPlan), failing loudly when the program failed. */
export async function plan(args: { stack?: string; spec?: string }): Promise<PlanResult> {
  const res = await sharedPlan(args);
  assert.equal(res.run.error, undefined, `the program failed: ${res.run.error?.message}`);
  return res;
}

// ---------------------------------------------------------------- the recorded graph

export function ofType(run: StackRun, type: string): RecordedResource[] {
  return run.resources.filter((r) => r.type === type);
}

export function named(run: StackRun, name: string, type?: string): RecordedResource {
  const hits = run.resources.filter((r) => r.name === name && (type === undefined || r.type === type));
  assert.equal(hits.length, 1, `expected exactly one resource named ${name}${type ? ` of type ${type}` : ""}, found ${hits.length}`);
  return hits[0];
}

/** URN of the Stage component `<cluster>-stage<N>-<key>`. */
export function stageUrn(run: StackRun, name: string): string {
  return named(run, name, STAGE_TYPE).urn;
}

/** Every resource below `urn` in the parent tree (not `urn` itself). */
export function descendants(run: StackRun, urn: string): RecordedResource[] {
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  return run.resources.filter((r) => {
    for (let p = r.parent; p; p = byUrn.get(p)?.parent) if (p === urn) return true;
    return false;
  });
}

/** The value behind a secret marker; fails when `v` is not a secret. */
export function secretValue(v: unknown, what: string): Json {
  assert.ok(isSecretMarker(v), `${what} is not recorded as a secret`);
  return (v as { value: unknown }).value;
}

/** Connection args of a remote command (the whole object is a secret: it carries the private key). */
export function connectionOf(cmd: RecordedResource): Json {
  return secretValue(cmd.inputs.connection, `${cmd.name} connection`);
}

// ---------------------------------------------------------------- real tools

export { TOOL_PACKAGES, findTool, skipOrFail, requireTool, requireRoot, run, type RunResult } from "../support/tools";
import { run } from "../support/tools";

/** `shellcheck -s bash` on a script text; resolves to the findings (empty when clean). */
export async function shellcheck(tool: string, script: string): Promise<string> {
  const res = await run(tool, ["-s", "bash", "--severity=style", "--format=gcc", "-"], { input: script });
  return res.code === 0 ? "" : `shellcheck exited ${res.code}\n${res.stdout}${res.stderr}`;
}
