/**
 * Every shell text the program hands to a node — each command:remote Command's create, update
 * and delete, and every stdin that is a script — through `bash -n` and shellcheck, for the dev
 * stack and the Hetzner and bare-metal fixtures. Stages 3–6 are mostly such scripts; a quoting
 * slip there fails on a real node at 2 a.m., so it fails here first.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { isSecretMarker, type StackRun } from "../../cli/engine/harness";
import { repoPath } from "../plan/helpers";
import { sharedPlan, type PlanArgs } from "../support/shared-plans";
import { requireTool, run } from "../support/tools";

/** The runs are the plans other files make of the same stacks (sharedPlan: once per process). */
const STACKS: Array<[string, PlanArgs]> = [
  ["dev", { stack: "dev" }],
  ["hetzner", { spec: repoPath("test", "fixtures", "hetzner.yaml") }],
  ["baremetal", { spec: repoPath("test", "fixtures", "baremetal.yaml") }],
];

interface Script {
  label: string;
  text: string;
}

/** A recorded input as text: secrets (recorded as markers) unwrapped, never printed. */
const text = (v: unknown): unknown => (isSecretMarker(v) ? v.value : v);

/** The shell texts of every remote command (stdin only when it is a shell script rather than a config file). */
function scriptsOf(runResult: StackRun, stack: string): Script[] {
  const out: Script[] = [];
  for (const r of runResult.resources.filter((x) => x.type === "command:remote:Command")) {
    for (const field of ["create", "update", "delete"] as const) {
      const t = text(r.inputs[field]);
      if (typeof t === "string" && t.trim()) out.push({ label: `${stack}/${r.name}.${field}`, text: t });
    }
    const stdin = text(r.inputs.stdin);
    if (typeof stdin === "string" && /^(#!\/bin\/(ba)?sh|set -eu)/.test(stdin))
      out.push({ label: `${stack}/${r.name}.stdin`, text: stdin });
  }
  return out;
}

describe("engine: every remote command script passes bash -n and shellcheck", function () {
  this.timeout(120_000);
  const runs = new Map<string, StackRun>();

  before(async () => {
    for (const [stack, args] of STACKS) runs.set(stack, (await sharedPlan(args)).run);
  });

  for (const [stack] of STACKS) {
    it(`${stack}: the program ran and every create/update/delete and script stdin is clean`, async function () {
      const bash = requireTool(this, "bash");
      const sc = requireTool(this, "shellcheck");
      const r = runs.get(stack)!;
      assert.equal(r.error, undefined, r.error?.message);
      const scripts = scriptsOf(r, stack);
      // Stages 2–6 each contribute scripts: firstboot, planes, firewall, enrollment, converge, kubeadm.
      for (const kind of [
        "-firstboot.",
        "-plane-firewall.",
        "-enroll.",
        "-converge.stdin",
        "-kubeadm-files.stdin",
        "-kubeadm-init.create",
      ]) {
        assert.ok(
          scripts.some((s) => s.label.includes(kind)),
          `no ${kind} script in ${stack}`,
        );
      }
      const dir = mkdtempSync(path.join(os.tmpdir(), `kubedos-scripts-${stack}-`));
      const failures: string[] = [];
      // Identical texts (per-node copies of the same join script, say) are checked once.
      const unique = new Map<string, string>();
      for (const s of scripts) if (!unique.has(s.text)) unique.set(s.text, s.label);
      const files = [...unique].map(([text, label], i) => {
        const file = path.join(dir, `${i}.sh`);
        writeFileSync(file, text.startsWith("#!") ? text : `#!/bin/bash\n${text}\n`);
        return { file, label };
      });
      // Every script through `bash -n` (two at a time); shellcheck for those that parse.
      const syntax = await inPairs(files, (f) => run(bash, ["-n", f.file]));
      const parsed = files.filter((_, i) => syntax[i].code === 0);
      const SHELLCHECK = ["--shell=bash", "--severity=warning", "--format=gcc"];
      // shellcheck checks each file it is given on its own: one process for all of them, and only
      // when that one finds something, one per file, for the findings under each script's label.
      const findings = new Map<string, string>();
      if ((await run(sc, [...SHELLCHECK, ...parsed.map((f) => f.file)])).code !== 0) {
        for (const f of parsed) {
          const res = await run(sc, [...SHELLCHECK, f.file]);
          if (res.code !== 0) findings.set(f.file, `${f.label}:\n${res.stdout}${res.stderr}`);
        }
      }
      files.forEach((f, i) => {
        if (syntax[i].code !== 0) failures.push(`${f.label}: bash -n\n${syntax[i].stderr}`);
        else if (findings.has(f.file)) failures.push(findings.get(f.file)!);
      });
      assert.ok(unique.size >= 10, `only ${unique.size} distinct scripts in ${stack}`);
      assert.deepEqual(failures, []);
    });
  }
});

/** fn over every item, at most two at a time (the CI machine's cores); results in item order. */
async function inPairs<T, R>(items: T[], fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < items.length; i = next++) out[i] = await fn(items[i]);
  };
  await Promise.all([worker(), worker()]);
  return out;
}
