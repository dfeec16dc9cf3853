/**
 * Reading the resource graph from inside a policy: where the rendered ClusterSpec is, and
 * which resources belong to which layer. The program carries the validated spec as an
 * output of its Stage 0 component so that facts that exist only in the spec (destruction
 * flags, HA, planes) are visible to the pack.
 */
import type { PolicyResource } from "@pulumi/policy";
import { DESTRUCTIVE_FLAGS, readFlag, type DestructiveFlag } from "../../components/spec/constraints";
import type { ClusterSpec } from "../../components/spec/schema";

export const STAGE_TYPE = "kubedos:cluster:Stage";

/** The Stage 0 component that carries the rendered spec, if the graph has one. */
export function specCarrier(resources: PolicyResource[]): PolicyResource | undefined {
  return resources.find((r) => r.type === STAGE_TYPE && r.props?.key === "spec" && r.props?.clusterSpec !== undefined);
}

export function renderedSpec(resources: PolicyResource[]): { spec: unknown; urn: string } | undefined {
  const r = specCarrier(resources);
  return r ? { spec: r.props.clusterSpec, urn: r.urn } : undefined;
}

/** Destruction flags from the rendered spec; a missing or non-boolean flag counts as false (closed). */
export function boundaries(spec: unknown): Record<DestructiveFlag, boolean> {
  const out = {} as Record<DestructiveFlag, boolean>;
  for (const f of DESTRUCTIVE_FLAGS) {
    let v: unknown;
    try {
      v = readFlag(spec as ClusterSpec, f.flag);
    } catch {
      v = undefined;
    }
    out[f.flag] = v === true;
  }
  return out;
}

/** Provider packages whose resources are substrate (Stage 1): machines, disks, networks. */
export const SUBSTRATE_PACKAGES = ["proxmoxve", "hcloud"] as const;

export function isSubstrate(type: string): boolean {
  const pkg = type.split(":")[0];
  return (SUBSTRATE_PACKAGES as readonly string[]).includes(pkg) && !type.startsWith("pulumi:providers:");
}

/** @pulumi/command resource types that run a command text. */
export const COMMAND_TYPES = ["command:remote:Command", "command:local:Command"] as const;
/** @pulumi/command resource types that open an SSH connection. */
export const REMOTE_TYPES = ["command:remote:Command", "command:remote:CopyToRemote", "command:remote:CopyFile"] as const;

/** The command texts a command resource may run: create, update and delete. */
export function commandTexts(props: Record<string, unknown>): Array<{ phase: "create" | "update" | "delete"; text: string }> {
  const out: Array<{ phase: "create" | "update" | "delete"; text: string }> = [];
  for (const phase of ["create", "update", "delete"] as const) {
    const t = props[phase];
    if (typeof t === "string" && t !== "") out.push({ phase, text: t });
  }
  return out;
}

/** A short, stable name for a resource in messages: its name and type. */
export function label(r: { name: string; type: string }): string {
  return `${r.name} (${r.type})`;
}

/** Every resource `r` waits for, directly or through others (dependencies and property dependencies). */
export function waitsFor(r: PolicyResource): Set<string> {
  const seen = new Set<string>();
  const stack = [r];
  while (stack.length > 0) {
    const cur = stack.pop()!;
    const next = [...(cur.dependencies ?? []), ...Object.values(cur.propertyDependencies ?? {}).flat()];
    for (const d of next) {
      if (!d || seen.has(d.urn)) continue;
      seen.add(d.urn);
      stack.push(d);
    }
  }
  return seen;
}
