/**
 * What the reconciler resource runs in Pulumi's dynamic-provider host (provider.ts loads this
 * module there): open the adapter's port, reconcile, return the resource's outputs.
 *
 * Generation: a counter kept in the resource's state — 1 on create, +1 on every update (each one
 * is a changed desired hash) — so A → B → A is three generations with three idempotency keys.
 */
import { openBus, openIndex, openStorage } from "./adapters";
import type { Component, ComponentProfile } from "./profile";
import { EMPTY_MANAGED, reconcile, type ApplyEvent, type Managed, type Port } from "./reconcile";

/** The resource's inputs, as the provider receives them (the credential unwrapped). */
export interface ReconcilerInputs {
  component: Component;
  /** The node the environment is applied for (part of the idempotency key). */
  node: string;
  profile: ComponentProfile;
  /** Password / secret key of the adapter (a Pulumi secret; never in the outputs). */
  credential: string;
}

/** The resource's outputs (state): no credential. */
export interface ReconcilerOutputs {
  component: Component;
  node: string;
  adapter: string;
  desiredHash: string;
  generation: number;
  idempotencyKey: string;
  status: string;
  lastApply: ApplyEvent;
  managed: Managed;
  profile: ComponentProfile;
}

async function open(p: ComponentProfile, credential: string): Promise<Port> {
  switch (p.component) {
    case "storage":
      return openStorage((p as ComponentProfile<"storage">).adapter, credential);
    case "broker":
      return openBus((p as ComponentProfile<"broker">).adapter, credential);
    case "vector":
      return openIndex((p as ComponentProfile<"vector">).adapter, credential);
  }
}

/** Run one reconcile for the provider; failures name component, object and the server's answer. */
export async function applyComponent(
  inputs: ReconcilerInputs,
  generation: number,
  managed: Managed,
  previous?: ApplyEvent,
): Promise<ReconcilerOutputs> {
  const port = await open(inputs.profile, inputs.credential).catch((err: Error) => {
    throw new Error(`${inputs.component} reconcile failed to connect: ${err.message.split("\n")[0]}`);
  });
  try {
    const { event, managed: next } = await reconcile({ profile: inputs.profile, node: inputs.node, generation, managed, previous, port });
    return {
      component: inputs.component,
      node: inputs.node,
      adapter: event.adapter,
      desiredHash: inputs.profile.desiredHash,
      generation,
      idempotencyKey: event.idempotencyKey,
      status: event.status,
      lastApply: event,
      managed: next,
      profile: inputs.profile,
    };
  } finally {
    await port.close().catch(() => undefined);
  }
}

/** create: generation 1, nothing managed yet. */
export async function create(inputs: ReconcilerInputs): Promise<{ id: string; outs: ReconcilerOutputs }> {
  const outs = await applyComponent(inputs, 1, EMPTY_MANAGED[inputs.component]);
  return { id: `${inputs.node}/${inputs.component}`, outs };
}

/** update: the next generation, from what the last apply managed. */
export async function update(olds: ReconcilerOutputs, news: ReconcilerInputs): Promise<{ outs: ReconcilerOutputs }> {
  const outs = await applyComponent(news, (olds.generation ?? 0) + 1, olds.managed ?? EMPTY_MANAGED[news.component], olds.lastApply);
  return { outs };
}
