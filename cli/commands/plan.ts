/**
 * `kubedos plan (--stack NAME | --spec FILE) [--json]` — runs the real program under the
 * in-process mock engine and prints the resource graph by stage, the critical path and the
 * exports. Exit 0 · 1 invalid spec or program failure · 2 usage.
 */
import * as path from "node:path";
import { runStack, isSecretMarker, type RecordedResource, type StackRun } from "../engine/harness";
import { criticalPath, shortUrn, stageOf } from "../engine/graph";
import { displayPath, readText, stackSpecPath, UsageError } from "../io";
import { mandatoryViolations, runPolicyPack, stackPolicyConfigFile, type PolicyResult } from "../engine/policy";
import { exitCodeOf, validateFile, validationReport } from "./validate";
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { kitDot, kitMermaid } from "../../components/kit/graph";
import { KitError, selectKit } from "../../components/kit/select";
import type { ClusterSpec } from "../../components/spec/schema";
import { GATE_MARKER } from "../../components/acceptance/gates";

/**
 * `--graph FILE`: the kit's DAG as a picture. `.mmd`/`.md` → Mermaid; anything else → Graphviz DOT,
 * plus `FILE.svg` (or FILE itself when it ends in .svg) when `dot` is installed. Returns what it did.
 */
export function writeKitGraph(spec: ClusterSpec, file: string): string[] {
  let kit;
  try {
    kit = selectKit(spec);
  } catch (err) {
    if (err instanceof KitError) throw new UsageError(`--graph: the spec selects no kit: ${err.message}`);
    throw err;
  }
  const title = `${spec.metadata.name} bootstrap kit (${kit.profile})`;
  const out = path.resolve(file);
  try {
    mkdirSync(path.dirname(out), { recursive: true });
    if (/\.(mmd|md|mermaid)$/i.test(out)) {
      const text = kitMermaid(kit.blueprints, title);
      writeFileSync(out, out.endsWith(".md") ? "```mermaid\n" + text + "```\n" : text);
      return [`kubedos plan: wrote the kit graph (Mermaid) to ${displayPath(out)}`];
    }
    const dot = kitDot(kit.blueprints, title);
    const svgOut = out.endsWith(".svg") ? out : `${out}.svg`;
    const dotOut = out.endsWith(".svg") ? out.replace(/\.svg$/, ".dot") : out;
    writeFileSync(dotOut, dot);
    const lines = [`kubedos plan: wrote the kit graph (DOT) to ${displayPath(dotOut)}`];
    const r = spawnSync("dot", ["-Tsvg", "-o", svgOut, dotOut], { encoding: "utf8" });
    if (r.error)
      lines.push("kubedos plan: Graphviz (`dot`) is not installed, so no SVG; apt-get install graphviz, or render the DOT elsewhere");
    else if (r.status !== 0) throw new UsageError(`--graph: dot -Tsvg failed: ${r.stderr.trim()}`);
    else lines.push(`kubedos plan: wrote ${displayPath(svgOut)}`);
    return lines;
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--graph ${file}: cannot write it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

export interface PlanArgs {
  stack?: string;
  spec?: string;
  json: boolean;
  /** `--policy-config FILE`: policy-pack config (as `pulumi preview --policy-pack-config`). */
  policyConfig?: string;
  /** `--program FILE`: a compiled Pulumi program to run instead of the kubedos program. */
  program?: string;
  /** `--graph FILE`: write the bootstrap kit's DAG (Mermaid for .mmd/.md, else DOT + SVG when Graphviz is installed). */
  graph?: string;
}

export interface PlanResult {
  run: StackRun;
  specFile: string;
  criticalPath: string[];
  /** Absent when the program failed (nothing to check). */
  policy?: PolicyResult;
}

/** Run the program for a stack or a spec file, then the policy pack; the shared entry of `plan` and the tests. */
export async function planStack(args: { stack?: string; spec?: string; policyConfig?: string; program?: string }): Promise<PlanResult> {
  if ((args.stack === undefined) === (args.spec === undefined))
    throw new UsageError("plan needs exactly one of --stack NAME or --spec FILE");
  const specFile = args.spec !== undefined ? path.resolve(args.spec) : stackSpecPath(args.stack!);
  readText(specFile); // a missing file is a usage error (exit 2), not a program failure
  if (args.policyConfig !== undefined) readText(args.policyConfig);
  if (args.program !== undefined) readText(args.program);
  const stack = args.stack ?? path.basename(specFile).replace(/\.ya?ml$/, "");
  // The program resolves a relative path against the working directory, as under `pulumi`;
  // passing the display path keeps its messages identical to `kubedos validate`.
  const run = await runStack({
    stack,
    config: { "kubedos:clusterSpec": displayPath(specFile) },
    ...(args.program ? { program: path.resolve(args.program) } : {}),
  });
  if (run.error) return { run, specFile, criticalPath: [] };
  // The stack's own policy config (policy/config/<stack>.json), as CI passes it to `pulumi preview`.
  const configFile =
    args.policyConfig !== undefined
      ? path.resolve(args.policyConfig)
      : args.stack !== undefined
        ? stackPolicyConfigFile(args.stack)
        : undefined;
  let policy: PolicyResult;
  try {
    policy = await runPolicyPack(run, configFile ? { configFile } : {});
  } catch (err) {
    if (err instanceof SyntaxError || /policy config/.test((err as Error).message))
      throw new UsageError(`${configFile}: ${(err as Error).message}`);
    throw err;
  }
  return { run, specFile, criticalPath: criticalPath(run.resources), policy };
}

export async function planCommand(args: PlanArgs): Promise<number> {
  // Stage 0 first, with the same output as `validate`: an invalid spec never reaches the engine.
  const specFile = args.spec !== undefined ? args.spec : args.stack !== undefined ? stackSpecPath(args.stack) : undefined;
  if (specFile !== undefined) {
    const v = validateFile(specFile);
    if (!v.valid || v.syntaxErrors.length > 0) {
      if (args.json)
        process.stdout.write(
          JSON.stringify(
            { stack: args.stack ?? null, spec: displayPath(specFile), valid: false, errors: v.errors, syntaxErrors: v.syntaxErrors },
            null,
            2,
          ) + "\n",
        );
      else process.stderr.write(validationReport(v).join("\n") + "\n");
      return exitCodeOf(v);
    }
  }
  if (args.graph !== undefined && specFile !== undefined) {
    const v = validateFile(specFile);
    for (const line of writeKitGraph(v.spec!, args.graph)) process.stderr.write(`${line}\n`);
  }
  const res = await planStack(args);
  if (args.json) {
    process.stdout.write(JSON.stringify(planJson(res, args.stack), null, 2) + "\n");
  } else if (!res.run.error) {
    process.stdout.write(planReport(res).join("\n") + "\n");
  }
  if (res.run.error) {
    // Stage 0's warnings often explain a later failure (the seed: no hosts, no template).
    if (!args.json) for (const l of res.run.logs.filter((x) => x.severity === "warn")) process.stderr.write(`warning: ${l.message}\n`);
    process.stderr.write(`kubedos plan: the program failed:\n${res.run.error.message}\n`);
    return 1;
  }
  const mandatory = res.policy ? mandatoryViolations(res.policy) : [];
  if (mandatory.length > 0) {
    if (args.json) process.stderr.write(`kubedos plan: ${mandatory.length} mandatory policy violation(s)\n`);
    return 1;
  }
  return 0;
}

/** Secrets never leave the process: every secret value becomes "[secret]". */
export function redact(v: unknown): unknown {
  if (isSecretMarker(v)) return "[secret]";
  if (Array.isArray(v)) return v.map(redact);
  if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, redact(x)]));
  return v;
}

export function planJson(res: PlanResult, stack?: string): object {
  const byUrn = new Map(res.run.resources.map((r) => [r.urn, r]));
  return {
    stack: stack ?? res.run.stack,
    spec: displayPath(res.specFile),
    valid: true,
    resources: res.run.resources.map((r) => ({
      urn: r.urn,
      type: r.type,
      name: r.name,
      custom: r.custom,
      parent: r.parent ?? null,
      stage: stageOf(r, byUrn)?.index ?? null,
      dependencies: r.dependencies,
      protect: r.protect,
      retainOnDelete: r.retainOnDelete,
      deleteBeforeReplace: r.deleteBeforeReplace,
      ignoreChanges: r.ignoreChanges,
      replaceOnChanges: r.replaceOnChanges,
      additionalSecretOutputs: r.additionalSecretOutputs,
      provider: r.provider ?? null,
      inputs: redact(r.inputs),
    })),
    criticalPath: res.criticalPath,
    policy: res.policy
      ? {
          pack: res.policy.pack,
          configFile: res.policy.configFile ? displayPath(res.policy.configFile) : null,
          policies: res.policy.policies.map((p) => p.name),
          results: res.policy.policies.map((p) => ({ ...p, violations: res.policy!.violations.filter((v) => v.policy === p.name).length })),
          violations: res.policy.violations,
        }
      : null,
    exports: redact(res.run.exports),
    logs: res.run.logs,
    error: res.run.error?.message ?? null,
  };
}

export function planReport(res: PlanResult): string[] {
  const { run } = res;
  const byUrn = new Map(run.resources.map((r) => [r.urn, r]));
  const lines: string[] = [];
  const ex = run.exports as {
    clusterName?: string;
    specDigest?: string;
    nodes?: Array<Record<string, unknown>>;
    boundaries?: Record<string, boolean>;
    kit?: { blueprints: number; longestChain: string[] } | null;
  };
  lines.push(`kubedos plan  stack ${run.stack}  spec ${displayPath(res.specFile)}`);
  lines.push(`cluster ${ex.clusterName}  ${ex.specDigest}`);
  for (const l of run.logs.filter((x) => x.severity === "warn")) lines.push(`warning: ${l.message}`);
  if (ex.boundaries) {
    lines.push(
      `boundaries: ${Object.entries(ex.boundaries)
        .map(([k, v]) => `${k}=${v}`)
        .join("  ")}`,
    );
  }
  if (ex.nodes) {
    lines.push("", `nodes (${ex.nodes.length}):`);
    for (const n of ex.nodes) {
      const pl = n.placement as Record<string, unknown>;
      const where = pl.host ?? pl.location ?? pl.sshAddress ?? "-";
      const addrs = Object.entries(n.addresses as Record<string, string>)
        .map(([p, a]) => `${p}=${a}`)
        .join(" ");
      const up = (n.uplink as { address?: string } | null)?.address;
      lines.push(
        `  ${pad(String(n.name), 14)} ${pad(String(n.role), 14)} ${pad(String(n.failureDomain), 10)} on ${pad(String(where), 10)} ${n.vmid !== null ? `vmid ${n.vmid}  ` : ""}${up ? `uplink ${up}  ` : ""}${addrs}`,
      );
    }
  }
  // Resources grouped by stage, in stage order; the stack and cluster components first.
  const groups = new Map<string, RecordedResource[]>();
  for (const r of run.resources) {
    const s = stageOf(r, byUrn);
    const key = s ? `Stage ${s.index} — ${s.title}` : "Stack";
    groups.set(key, [...(groups.get(key) ?? []), r]);
  }
  const keys = [...groups.keys()].sort((a, b) => (a === "Stack" ? -1 : b === "Stack" ? 1 : a.localeCompare(b, "en", { numeric: true })));
  lines.push("", "resources by stage:");
  for (const k of keys) {
    const rs = groups.get(k)!;
    lines.push(`  ${k}  (${rs.length} resource${rs.length === 1 ? "" : "s"}, ${rs.filter((r) => r.custom).length} custom)`);
    for (const r of rs) {
      const flags = [
        r.protect && "protect",
        r.retainOnDelete && "retainOnDelete",
        r.ignoreChanges.length && `ignoreChanges=${r.ignoreChanges.join(",")}`,
        r.additionalSecretOutputs.length && `secretOutputs=${r.additionalSecretOutputs.join(",")}`,
      ].filter(Boolean);
      const own = stageOf(r, byUrn)?.index;
      // Dependencies inside the stage are named; the barrier on earlier stages is summarised.
      const named = r.dependencies.filter((d) => stageOf(byUrn.get(d)!, byUrn)?.index === own).map((d) => byUrn.get(d)?.name ?? d);
      const earlier = r.dependencies.length - named.length;
      const parts = [...named, ...(earlier > 0 ? [`${earlier} of earlier stages`] : [])];
      const deps = parts.length ? `  ← ${parts.join(", ")}` : "";
      lines.push(`    ${pad(r.type, 34)} ${r.name}${flags.length ? `  [${flags.join(" ")}]` : ""}${deps}`);
    }
  }
  const custom = run.resources.filter((r) => r.custom).length;
  lines.push(
    "",
    `total: ${run.resources.length} resources (${custom} custom, ${run.resources.length - custom} components), ${run.resources.filter((r) => r.protect).length} protected`,
  );
  if (res.policy) lines.push("", ...policyReport(res.policy, byUrn));
  lines.push(
    res.criticalPath.length > 0
      ? `longest dependency chain (${res.criticalPath.length}): ${res.criticalPath.map(shortUrn).join(" → ")}`
      : "longest dependency chain (0): no resource depends on another yet",
  );
  if (ex.kit) {
    lines.push(
      `bootstrap kit: ${ex.kit.blueprints} HelmReleases through Flux; longest blueprint chain (${ex.kit.longestChain.length}): ${ex.kit.longestChain.join(" → ")}`,
    );
  }
  lines.push(...sealLine(run.resources, byUrn));
  return lines;
}

/** The policy section: every policy with its result, then each violation as `[level] policy  resource  message`. */
export function policyReport(p: PolicyResult, byUrn: ReadonlyMap<string, RecordedResource>): string[] {
  const mandatory = mandatoryViolations(p).length;
  const advisory = p.violations.length - mandatory;
  const lines = [
    `policy pack ${p.pack.name}@${p.pack.version}${p.configFile ? ` (config ${displayPath(p.configFile)})` : ""}: ${p.policies.length} policies, ${mandatory} mandatory violation(s), ${advisory} advisory`,
  ];
  for (const pol of p.policies) {
    const n = p.violations.filter((v) => v.policy === pol.name).length;
    const verdict = pol.enforcementLevel === "disabled" ? "OFF " : n === 0 ? "PASS" : pol.enforcementLevel === "advisory" ? "WARN" : "FAIL";
    lines.push(`  ${verdict}  ${pad(pol.enforcementLevel, 9)} ${pol.name}${n > 0 ? ` (${n})` : ""}`);
  }
  if (p.violations.length > 0) {
    lines.push("violations:");
    for (const v of p.violations) {
      const r = byUrn.get(v.urn);
      lines.push(`[${v.level}] ${v.policy}  ${r ? `${r.name} (${r.type})` : v.urn || "(stack)"}  ${v.message.replace(/\n/g, " ")}`);
    }
  }
  return lines;
}

const pad = (s: string, n: number) => (s.length >= n ? s : s + " ".repeat(n - s.length));

/**
 * Where the seal sits (seed 001 §14.3): the acceptance gates and readiness probes it waits for.
 * Read from the recorded graph, not from the program, so the line shows what Pulumi would order.
 */
function sealLine(resources: RecordedResource[], byUrn: Map<string, RecordedResource>): string[] {
  const seal = resources.find((r) => r.type === "pulumi-nodejs:dynamic:Resource" && r.inputs.kind === "kubedos-seal");
  if (!seal) return [];
  const deps = seal.dependencies.map((d) => byUrn.get(d)).filter((r): r is RecordedResource => r !== undefined);
  const gates = deps.filter((r) => typeof r.inputs.create === "string" && r.inputs.create.startsWith(GATE_MARKER)).map((r) => r.name);
  const probes = deps.filter((r) => typeof r.inputs.create === "string" && r.inputs.create.startsWith("# kubedos: readiness of")).length;
  const reconcilers = deps.filter((r) => r.type === "pulumi-nodejs:dynamic/kubedos-environment:Reconciler").length;
  return [
    `seal: ${seal.name} after ${gates.length} acceptance gate command(s) (${gates.join(", ")})${probes ? `, ${probes} bootstrap-kit readiness probe(s)` : ""}${reconcilers ? `, ${reconcilers} environment reconciler(s)` : ""}; it refuses to seal unless every required gate passes`,
  ];
}
