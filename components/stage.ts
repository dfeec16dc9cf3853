/**
 * One convergence stage (seed 001 §14.1) as a ComponentResource. Every resource a stage
 * creates is its child, and a stage depends on the stages before it, so nothing of stage N
 * can start before stage N-1 is complete (§14.3 ordering guarantees).
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { PlannedStage } from "./plan/stages";

export interface StageArgs {
  /** The stage's contract from the Plan. */
  stage: PlannedStage;
  /** Stage-specific outputs registered with the contract (Stage 0: the rendered spec). */
  outputs?: Record<string, unknown>;
}

export interface StageOptions extends pulumi.ComponentResourceOptions {
  /** The stage before this one: its gate is the barrier every resource of this stage waits for. */
  previous?: Stage;
}

export class Stage extends pulumi.ComponentResource {
  readonly index: number;
  readonly key: string;
  private readonly stageName: string;
  private readonly previous?: Stage;
  private readonly gateParent?: pulumi.Resource;
  private gateResource?: pulumi.Resource;

  constructor(name: string, args: StageArgs, opts?: StageOptions) {
    super("kubedos:cluster:Stage", name, {}, opts);
    this.index = args.stage.index;
    this.key = args.stage.key;
    this.stageName = name;
    this.previous = opts?.previous;
    this.gateParent = opts?.parent;
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
   * child — one edge to the previous stage's gate, not one per resource of that stage (which
   * would make the graph quadratic in nodes).
   */
  childOpts<T extends pulumi.CustomResourceOptions | pulumi.ComponentResourceOptions>(extra?: T): T {
    const deps = extra?.dependsOn ? ([] as pulumi.Input<pulumi.Resource>[]).concat(extra.dependsOn as pulumi.Input<pulumi.Resource>[]) : [];
    return { ...(extra ?? ({} as T)), parent: this, dependsOn: [...(this.previous ? [this.previous.gate()] : []), ...deps] };
  }

  /**
   * The stage's gate: a resource that completes when every resource of this stage and every
   * earlier gate has. Created on first use — by then the program has declared the whole stage,
   * because stages are built in order. It runs nothing but an echo on the machine running Pulumi.
   */
  gate(): pulumi.Resource {
    if (!this.gateResource) {
      this.gateResource = new command.local.Command(
        `${this.stageName}-gate`,
        { create: `echo 'kubedos stage ${this.index} (${this.key}) complete'` },
        // A dependsOn on the Stage component means every resource declared under it.
        { parent: this.gateParent, dependsOn: [this, ...(this.previous ? [this.previous.gate()] : [])] },
      );
    }
    return this.gateResource;
  }
}
