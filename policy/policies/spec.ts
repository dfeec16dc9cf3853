/**
 * ClusterSpec constraints as stack policies, one per rule id (seed 001 §15.3 and the kubedos
 * additions). They run the very code `kubedos validate` runs (components/spec/constraints), on
 * the spec the program carried into the graph, so the pack and Stage 0 cannot disagree.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { CONSTRAINT_RULES } from "../../components/spec/constraints";
import { formatPath } from "../../components/spec/diagnostics";
import { ClusterSpecSchema, type ClusterSpec } from "../../components/spec/schema";
import { renderedSpec } from "./graph";

export const clusterspecPresent: StackValidationPolicy = {
  name: "clusterspec-present",
  description: "Checks whether the stack carries its rendered ClusterSpec (the Stage 0 output) so the other policies can see it.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    if (!renderedSpec(args.resources)) {
      reportViolation(
        "The stack must carry its rendered ClusterSpec: no kubedos:cluster:Stage with key spec and a clusterSpec output was found; build the stack with the kubedos program.",
      );
    }
  },
};

export const clusterspecSchema: StackValidationPolicy = {
  name: "schema",
  description: "Checks whether the rendered ClusterSpec has the ClusterSpec shape (types, required fields, no unknown fields).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const s = renderedSpec(args.resources);
    if (!s) return;
    const r = ClusterSpecSchema.safeParse(s.spec);
    if (!r.success) {
      for (const issue of r.error.issues) {
        reportViolation(
          `The rendered ClusterSpec must match the schema: ${formatPath(issue.path.filter((p): p is string | number => typeof p !== "symbol"))}: ${issue.message}.`,
          s.urn,
        );
      }
    }
  },
};

/** The typed spec, or undefined when it fails the schema (the `schema` policy reports that). */
function typedSpec(spec: unknown): ClusterSpec | undefined {
  const r = ClusterSpecSchema.safeParse(spec);
  return r.success ? r.data : undefined;
}

/**
 * One stack policy per constraint rule id. A rule that can report errors is mandatory and
 * reports its errors (its warnings go to clusterspec-warnings, as `validate` keeps them apart);
 * a rule that only ever warns is advisory and reports its own warnings.
 */
export const constraintPolicies: StackValidationPolicy[] = [...new Set(CONSTRAINT_RULES.map((r) => r.id))].map((id) => {
  const rules = CONSTRAINT_RULES.filter((r) => r.id === id);
  const warnOnly = rules.every((r) => !r.produces.includes("error"));
  return {
    name: id,
    description: rules[0].description,
    enforcementLevel: warnOnly ? "advisory" : "mandatory",
    validateStack: (args, reportViolation) => {
      const s = renderedSpec(args.resources);
      const spec = s && typedSpec(s.spec);
      if (!s || !spec) return;
      for (const rule of rules) {
        for (const f of rule.check(spec)) {
          if (f.severity === "error" || warnOnly)
            reportViolation(`The ClusterSpec must satisfy ${id}: ${formatPath(f.path)}: ${f.message}`, s.urn);
        }
      }
    },
  };
});

export const clusterspecWarnings: StackValidationPolicy = {
  name: "clusterspec-warnings",
  description:
    "Checks whether the rendered ClusterSpec raises a warning from a rule that can also report errors (advisory: the warnings `kubedos validate` prints).",
  enforcementLevel: "advisory",
  validateStack: (args, reportViolation) => {
    const s = renderedSpec(args.resources);
    const spec = s && typedSpec(s.spec);
    if (!s || !spec) return;
    for (const rule of CONSTRAINT_RULES) {
      if (!rule.produces.includes("error")) continue; // reported by the rule's own advisory policy
      for (const f of rule.check(spec)) {
        if (f.severity === "warning")
          reportViolation(`The ClusterSpec must satisfy ${f.rule} (a warning): ${formatPath(f.path)}: ${f.message}`, s.urn);
      }
    }
  },
};

export const specPolicies: StackValidationPolicy[] = [clusterspecPresent, clusterspecSchema, ...constraintPolicies, clusterspecWarnings];
