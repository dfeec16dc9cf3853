/**
 * Whole-stack plans shared by the test files of one mocha process. Several files need the same
 * fixture plan (the dev stack, say) as the input of their assertions; running the real program
 * and the policy pack once per process instead of once per file is the same work done once.
 *
 * A plan is shared only between identical calls: the same arguments, the same contents of every
 * file the run reads (spec, program, policy config), the same KUBEDOS_* environment and working
 * directory. Shared results are deep-frozen: a test that mutated one would change what the next
 * file sees, so it fails with a TypeError instead.
 *
 * Use it for fixtures only. A test whose subject is running the program (twice in a row, after a
 * failing run, …) calls planStack itself.
 */
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { planStack, type PlanResult } from "../../cli/commands/plan";
import { stackPolicyConfigFile } from "../../cli/engine/policy";
import { stackSpecPath } from "../../cli/io";

export type PlanArgs = Parameters<typeof planStack>[0];

const plans = new Map<string, Promise<PlanResult>>();

/** planStack(args), run once per process for identical inputs; the result is deep-frozen. */
export function sharedPlan(args: PlanArgs): Promise<PlanResult> {
  const key = keyOf(args);
  let p = plans.get(key);
  if (!p) {
    p = planStack(args).then(deepFreeze);
    plans.set(key, p);
    // A failure is not shared: the next caller runs (and fails) for itself.
    p.catch(() => plans.delete(key));
  }
  return p;
}

/** Everything a plan's outcome depends on besides the compiled program, as one string. */
function keyOf(args: PlanArgs): string {
  const file = (f: string | undefined) => {
    if (f === undefined) return null;
    const abs = path.resolve(f);
    return { path: abs, sha256: existsSync(abs) ? createHash("sha256").update(readFileSync(abs)).digest("hex") : null };
  };
  let specFile: string | undefined;
  try {
    specFile = args.spec !== undefined ? args.spec : args.stack !== undefined ? stackSpecPath(args.stack) : undefined;
  } catch {
    specFile = undefined; // planStack reports it
  }
  const env = Object.entries(process.env)
    .filter(([k]) => k.startsWith("KUBEDOS_"))
    .sort(([a], [b]) => (a < b ? -1 : 1));
  return JSON.stringify({
    // planStack resolves every path against the working directory: `test/fixtures/x.yaml` from the
    // repository root and its absolute path are the same run.
    args: {
      stack: args.stack ?? null,
      spec: args.spec === undefined ? null : path.resolve(args.spec),
      program: args.program === undefined ? null : path.resolve(args.program),
      policyConfig: args.policyConfig === undefined ? null : path.resolve(args.policyConfig),
    },
    cwd: process.cwd(),
    env,
    spec: file(specFile),
    program: file(args.program),
    policyConfig: file(args.policyConfig ?? (args.stack !== undefined ? stackPolicyConfigFile(args.stack) : undefined)),
  });
}

function deepFreeze<T>(value: T): T {
  const seen = new Set<object>();
  const walk = (v: unknown): void => {
    if (!v || typeof v !== "object" || seen.has(v)) return;
    seen.add(v);
    for (const k of Reflect.ownKeys(v)) walk((v as Record<PropertyKey, unknown>)[k]);
    Object.freeze(v);
  };
  walk(value);
  return value;
}
