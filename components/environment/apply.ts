/**
 * The environment profile in the Pulumi graph: one reconciler resource per component, in the
 * seed's order (storage, then broker, then vector index), each waiting for the kit HelmRelease of
 * the blueprint that serves its endpoint. Credentials derive from the master seed — the backing
 * blueprint's own (the Secret its chart reads), otherwise one per component — and travel only as
 * Pulumi secrets; the exported status carries none.
 */
import * as pulumi from "@pulumi/pulumi";
import { blueprintCredentials } from "../kit/flux";
import { initNode } from "../kubernetes/kubeadm";
import type { Plan } from "../plan/plan";
import { deriveBytes } from "../secrets/derive";
import type { ClusterSpec } from "../spec/schema";
import type { Stage } from "../stage";
import { adapterIdentity, COMPONENTS, environmentProfile, type Component, type ComponentProfile } from "./profile";
import { EnvironmentReconciler } from "./provider";
import type { ComponentStatus, EnvironmentStatus } from "./status";

export interface EnvironmentInput {
  plan: Plan;
  spec: ClusterSpec;
  seed: pulumi.Output<string>;
  stage: Stage;
  /** The kit's HelmReleases by blueprint name (absent without Kubernetes). */
  kitReleases?: ReadonlyMap<string, pulumi.Resource>;
}

export interface EnvironmentResult {
  reconcilers: Map<Component, EnvironmentReconciler>;
  /** The `environment` stack export. */
  status: Record<Component, pulumi.Output<ComponentStatus>>;
}

/** The adapter's password or secret key; "" for the local adapters, which need none. */
export function environmentCredential(seed: string, cluster: string, profile: ComponentProfile): string {
  const a = profile.adapter;
  if (a.kind === "filesystem" || a.kind === "in-process" || a.kind === "in-memory") return "";
  if (a.blueprint) return blueprintCredentials(seed, cluster, { name: a.blueprint })["admin-password"];
  return deriveBytes(seed, { cluster, component: `environment/${profile.component}`, purpose: "password" }, 24).toString("base64url");
}

export function createEnvironment(input: EnvironmentInput): EnvironmentResult | undefined {
  const profile = environmentProfile(input.spec);
  if (!profile) return undefined;
  const cluster = input.plan.cluster.name;
  const node = initNode(input.plan).name;
  const reconcilers = new Map<Component, EnvironmentReconciler>();
  const status = {} as Record<Component, pulumi.Output<ComponentStatus>>;
  let previous: pulumi.Resource | undefined;
  for (const component of COMPONENTS) {
    const p = profile[component] as ComponentProfile;
    const bp = "blueprint" in p.adapter ? p.adapter.blueprint : undefined;
    const backing = bp ? input.kitReleases?.get(bp) : undefined;
    const r = new EnvironmentReconciler(
      `${cluster}-environment-${component}`,
      { component, node, profile: p, credential: pulumi.secret(input.seed.apply((s) => environmentCredential(s, cluster, p))) },
      input.stage.childOpts({ dependsOn: [...(backing ? [backing] : []), ...(previous ? [previous] : [])] }),
    );
    reconcilers.set(component, r);
    previous = r;
    status[component] = pulumi.all([r.status, r.generation, r.idempotencyKey, r.lastApply]).apply(([s, generation, key, lastApply]) => ({
      status: (s ?? "pending") as ComponentStatus["status"],
      adapter: adapterIdentity(p.adapter),
      generation: generation ?? null,
      desiredHash: p.desiredHash,
      idempotencyKey: key ?? null,
      lastApply: lastApply ?? null,
    }));
  }
  return { reconcilers, status };
}

export type { EnvironmentStatus };
