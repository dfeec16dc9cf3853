/**
 * Backplanes (Stage 3, seed 001 §10): every node joins every plane the spec declares. Plane
 * overlaps and allow rules naming unknown planes are the spec policies plane-cidr-overlap and
 * known-planes; this one checks the graph itself.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { renderedSpec } from "./graph";

/** The header line the program's plane commands start with (components/backplane/apply.ts). */
const PLANE_HEADER = /^# kubedos backplane (\S+);/;

export const planeMembership: StackValidationPolicy = {
  name: "plane-membership",
  description: "Checks whether every node has a WireGuard command for every plane the spec declares.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const s = renderedSpec(args.resources);
    const spec = s?.spec as
      | {
          metadata?: { name?: string };
          spec?: { nodes?: { inventory?: Array<{ name: string }> }; networking?: { planes?: Record<string, unknown> } };
        }
      | undefined;
    const cluster = spec?.metadata?.name;
    const nodes = spec?.spec?.nodes?.inventory?.map((n) => n.name) ?? [];
    const planes = Object.keys(spec?.spec?.networking?.planes ?? {});
    if (!s || !cluster || nodes.length === 0) return;
    // Only a graph that has reached Stage 3 is checked: a plane command exists somewhere.
    const present = new Set<string>();
    for (const r of args.resources) {
      if (r.type !== "command:remote:Command" || typeof r.props.create !== "string") continue;
      const m = PLANE_HEADER.exec(r.props.create);
      if (!m) continue;
      const node = nodes.find((n) => r.name === `${cluster}-${n}-${m[1]}`);
      if (node) present.add(`${node}/${m[1]}`);
    }
    if (present.size === 0) return;
    for (const node of nodes) {
      for (const plane of planes) {
        if (!present.has(`${node}/${plane}`)) {
          reportViolation(
            `Node ${node} must join plane ${plane}: the graph has no WireGuard command for it (expected ${cluster}-${node}-${plane}).`,
            s.urn,
          );
        }
      }
    }
  },
};

export const backplanePolicies: StackValidationPolicy[] = [planeMembership];
