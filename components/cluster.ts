/**
 * The top-level Cluster component: one per stack, the parent of every stage.
 * It turns the Plan into the stage chain; later stages hang their resources under
 * `cluster.stage(key)`.
 */
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "./plan/plan";
import type { ClusterSpec } from "./spec/schema";
import type { StageKey } from "./plan/stages";
import { Stage } from "./stage";

export interface ClusterArgs {
  /** Stage 0's output: the validated, normalized plan. */
  plan: Plan;
  /**
   * The validated spec. Stage 0 carries it as an output so the policy pack sees facts that
   * exist only in the spec (destruction flags, HA, planes); it holds no secrets.
   */
  spec: ClusterSpec;
}

export class Cluster extends pulumi.ComponentResource {
  readonly plan: Plan;
  private readonly stages = new Map<StageKey, Stage>();

  constructor(name: string, args: ClusterArgs, opts?: pulumi.ComponentResourceOptions) {
    super("kubedos:cluster:Cluster", name, {}, opts);
    this.plan = args.plan;
    for (const s of args.plan.stages) {
      const deps = s.dependsOn.map((k) => this.stages.get(k)).filter((x): x is Stage => x !== undefined);
      const extra = s.key === "spec" ? { clusterSpec: args.spec, specDigest: args.plan.specDigest } : {};
      this.stages.set(
        s.key,
        new Stage(
          `${name}-stage${s.index}-${s.key}`,
          { stage: s, outputs: extra },
          { parent: this, ...(deps[0] ? { previous: deps[0] } : {}) },
        ),
      );
    }
    if (args.plan.boundaries.allowDestroy) {
      // Loud on purpose: with allowDestroy a spec change may replace machines.
      pulumi.log.warn(
        `substrate.allowDestroy is TRUE for ${name}: substrate resources are NOT protected and a change may destroy or replace VMs, servers and disks`,
        this,
      );
    }
    this.registerOutputs({ name, specDigest: args.plan.specDigest, nodes: args.plan.nodes.length });
  }

  stage(key: StageKey): Stage {
    const s = this.stages.get(key);
    if (!s) throw new Error(`no stage ${key}`);
    return s;
  }
}
