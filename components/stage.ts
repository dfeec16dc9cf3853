/**
 * One convergence stage (seed 001 §14.1) as a ComponentResource. Every resource a stage
 * creates is its child, and a stage depends on the stages before it, so nothing of stage N
 * can start before stage N-1 is complete (§14.3 ordering guarantees).
 */
import * as pulumi from "@pulumi/pulumi";
import type { PlannedStage } from "./plan/stages";

export interface StageArgs {
  /** The stage's contract from the Plan. */
  stage: PlannedStage;
  /** Stage-specific outputs registered with the contract (Stage 0: the rendered spec). */
  outputs?: Record<string, unknown>;
}

export class Stage extends pulumi.ComponentResource {
  readonly index: number;
  readonly key: string;
  private readonly after: pulumi.Resource[];

  constructor(name: string, args: StageArgs, opts?: pulumi.ComponentResourceOptions & { after?: pulumi.Resource[] }) {
    super("kubedos:cluster:Stage", name, {}, opts);
    this.index = args.stage.index;
    this.key = args.stage.key;
    this.after = opts?.after ?? [];
    const s = args.stage;
    this.registerOutputs({
      index: s.index,
      key: s.key,
      title: s.title,
      enabled: s.enabled,
      idempotency: s.idempotency,
      destructive: s.destructive,
      optIn: s.optIn,
      optedIn: s.optedIn,
      inputs: s.inputs,
      outputs: s.outputs,
      ...(args.outputs ?? {}),
    });
  }

  /**
   * Options for a resource of this stage: parented here, and waiting for every earlier stage.
   * Pulumi children do not inherit their parent's dependsOn, so the barrier must be on each
   * child; a dependsOn on a Stage waits for all of that stage's resources.
   */
  childOpts<T extends pulumi.CustomResourceOptions | pulumi.ComponentResourceOptions>(extra?: T): T {
    const deps = extra?.dependsOn ? ([] as pulumi.Input<pulumi.Resource>[]).concat(extra.dependsOn as pulumi.Input<pulumi.Resource>[]) : [];
    return { ...(extra ?? ({} as T)), parent: this, dependsOn: [...this.after, ...deps] };
  }
}
