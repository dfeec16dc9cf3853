/**
 * The reconcilers as Pulumi resources (seed 004 §3): one dynamic provider, one resource per
 * component. `diff` compares desired hashes only, so an unchanged profile is no change at all (the
 * reconciler does not even run); `create` and `update` run the reconciler (host.ts) and record its
 * apply event; `delete` deletes nothing — objects go only through `prune` in the spec, never because
 * the environment section (or the stack) went away.
 *
 * Serialization: Pulumi serializes a dynamic provider with everything its closure reaches. Captured
 * by value, the reconciler, the seven adapters and their SDKs cost ~2 s on every plan (1.2 s to
 * serialize 140 functions, 0.9 s to load the SDKs). So the serialized provider is this small shim,
 * which loads the compiled host module by path when the engine calls create or update — in the
 * dynamic-provider host, which runs on the same machine from the same project. The engine always
 * uses the provider of the current program for diff, create and update, so a moved checkout
 * serializes its own path; delete needs no module at all.
 */
import * as path from "node:path";
import * as pulumi from "@pulumi/pulumi";
import type { ReconcilerInputs, ReconcilerOutputs } from "./host";
import type { Component, ComponentProfile } from "./profile";
import type { ApplyEvent } from "./reconcile";

export type { ReconcilerInputs, ReconcilerOutputs } from "./host";

/** The compiled host module; a plain string, so the closure carries only the path. */
const HOST_MODULE = path.join(__dirname, "host.js");

export const reconcilerProvider: pulumi.dynamic.ResourceProvider = {
  async diff(_id: string, olds: ReconcilerOutputs, news: ReconcilerInputs): Promise<pulumi.dynamic.DiffResult> {
    const changes = olds.desiredHash !== news.profile.desiredHash || olds.node !== news.node;
    return { changes, replaces: [], deleteBeforeReplace: false };
  },
  async create(inputs: ReconcilerInputs): Promise<pulumi.dynamic.CreateResult> {
    return (require(HOST_MODULE) as typeof import("./host")).create(inputs);
  },
  async update(_id: string, olds: ReconcilerOutputs, news: ReconcilerInputs): Promise<pulumi.dynamic.UpdateResult> {
    return (require(HOST_MODULE) as typeof import("./host")).update(olds, news);
  },
  async delete(): Promise<void> {
    // Never deletes: objects are removed only through prune in the spec (seed 004 §6).
  },
};

export interface ReconcilerArgs {
  component: pulumi.Input<Component>;
  node: pulumi.Input<string>;
  profile: pulumi.Input<ComponentProfile>;
  credential: pulumi.Input<string>;
}

/** One reconciler in the graph: `pulumi-nodejs:dynamic/kubedos-environment:Reconciler`. */
export class EnvironmentReconciler extends pulumi.dynamic.Resource {
  declare readonly component: pulumi.Output<Component>;
  declare readonly desiredHash: pulumi.Output<string | undefined>;
  declare readonly generation: pulumi.Output<number | undefined>;
  declare readonly idempotencyKey: pulumi.Output<string | undefined>;
  declare readonly status: pulumi.Output<string | undefined>;
  declare readonly lastApply: pulumi.Output<ApplyEvent | undefined>;

  constructor(name: string, args: ReconcilerArgs, opts?: pulumi.CustomResourceOptions) {
    super(
      reconcilerProvider,
      name,
      { ...args, desiredHash: undefined, generation: undefined, idempotencyKey: undefined, status: undefined, lastApply: undefined },
      { ...opts, additionalSecretOutputs: ["credential"] },
      "kubedos-environment",
      "Reconciler",
    );
  }
}
