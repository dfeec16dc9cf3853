/**
 * The Pulumi program: load the stack's ClusterSpec, run Stage 0, build the Cluster, export
 * the plan summary. `stacks/index.ts` is only the entry point that calls this.
 */
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Cluster } from "./cluster";
import { buildPlan, type Plan } from "./plan/plan";
import { formatDiagnostic } from "./spec/diagnostics";
import type { ClusterSpec } from "./spec/schema";
import { validateSpecText } from "./spec/validate";

/** Config keys of the `kubedos` namespace (Pulumi.<stack>.yaml). */
export const CONFIG = {
  clusterSpec: "clusterSpec",
  masterSeed: "masterSeed",
} as const;

export async function runProgram(): Promise<Record<string, unknown>> {
  const config = new pulumi.Config("kubedos");
  const specFile = config.require(CONFIG.clusterSpec);
  const specPath = path.isAbsolute(specFile) ? specFile : path.resolve(process.cwd(), specFile);
  const { plan, spec } = stage0(specPath, specFile);
  const cluster = new Cluster(plan.cluster.name, { plan, spec });
  return planExports(plan, cluster);
}

/** Stage 0 inside the program: the same validation as `kubedos validate`, the same messages. */
function stage0(specPath: string, shownAs: string): { plan: Plan; spec: ClusterSpec } {
  let text: string;
  try {
    text = readFileSync(specPath, "utf8");
  } catch (err) {
    throw new pulumi.RunError(
      `kubedos:clusterSpec ${shownAs}: cannot read the spec (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const r = validateSpecText(text, shownAs);
  if (r.syntaxErrors.length > 0) {
    throw new pulumi.RunError(
      [
        "Stage 0 (spec validation) failed: not valid YAML",
        ...r.syntaxErrors.map((s) => `${shownAs}:${s.line}:${s.column}  (yaml)  [yaml-syntax]  ${s.message}`),
      ].join("\n"),
    );
  }
  for (const w of r.warnings) pulumi.log.warn(formatDiagnostic(shownAs, w));
  if (!r.valid || !r.spec) {
    throw new pulumi.RunError(
      [`Stage 0 (spec validation) failed with ${r.errors.length} error(s):`, ...r.errors.map((e) => formatDiagnostic(shownAs, e))].join(
        "\n",
      ),
    );
  }
  return { plan: buildPlan(r.spec), spec: r.spec };
}

/** The plan summary as stack outputs (rebuild anchors grow from here in later stages). */
export function planExports(plan: Plan, _cluster: Cluster): Record<string, unknown> {
  return {
    clusterName: plan.cluster.name,
    artifactVersion: plan.cluster.artifactVersion,
    substrate: plan.substrate,
    boundaries: plan.boundaries,
    specDigest: plan.specDigest,
    controlPlaneEndpoint: plan.controlPlaneEndpoint ?? null,
    planes: plan.planes,
    nodes: plan.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      failureDomain: n.failureDomain,
      ordinal: n.ordinal,
      vmid: n.vmid ?? null,
      placement: n.placement,
      uplink: n.uplink ?? null,
      addresses: n.addresses,
    })),
    stages: plan.stages.map((s) => ({
      index: s.index,
      key: s.key,
      title: s.title,
      enabled: s.enabled,
      destructive: s.destructive,
      optIn: s.optIn,
      optedIn: s.optedIn,
    })),
  };
}
