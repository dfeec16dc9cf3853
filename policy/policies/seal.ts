/**
 * Stage 7's ordering guarantee (seed 001 §14.3): "sealing MUST NOT occur before acceptance results
 * are recorded". The seal resource must wait — directly or through other resources — for every
 * acceptance gate command, every bootstrap-kit readiness probe and every environment reconciler in
 * the stack, and every gate the
 * spec lists in acceptance.required must have a command that produces its evidence. The environment
 * reconcilers count too: their last apply is a gate of the report.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { GATE_MARKER } from "../../components/acceptance/gates";
import { SEAL_KIND } from "../../components/anchors/seal";
import { COMMAND_TYPES, renderedSpec, waitsFor } from "./graph";

const PROBE_MARKER = "# kubedos: readiness of";
/** The environment reconcilers (components/environment/provider.ts): their status is a gate of the report. */
const RECONCILER_TYPE = "pulumi-nodejs:dynamic/kubedos-environment:Reconciler";
const createText = (r: PolicyResource): string => (typeof r.props.create === "string" ? r.props.create : "");

export const sealAfterAcceptance: StackValidationPolicy = {
  name: "seal-after-acceptance",
  description:
    "Checks whether the seal waits for every acceptance gate command, readiness probe and environment reconciler, and whether every required gate of spec.acceptance has a command that produces its evidence.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const seals = args.resources.filter((r) => r.props.kind === SEAL_KIND);
    const commands = args.resources.filter((r) => (COMMAND_TYPES as readonly string[]).includes(r.type));
    const gates = commands.filter((r) => createText(r).startsWith(GATE_MARKER));
    const probes = commands.filter((r) => createText(r).startsWith(PROBE_MARKER));
    const reconcilers = args.resources.filter((r) => r.type === RECONCILER_TYPE);
    if (seals.length === 0) {
      if (gates.length > 0)
        reportViolation(
          `The stack must seal its rebuild anchors after its ${gates.length} acceptance gate command(s): it has no seal resource (kind ${SEAL_KIND}).`,
        );
      return;
    }
    if (seals.length > 1)
      reportViolation(`The stack must have one seal; it has ${seals.length}: ${seals.map((s) => s.name).join(", ")}.`, seals[1].urn);
    const seal = seals[0];
    const waited = waitsFor(seal);
    for (const r of [...gates, ...probes, ...reconcilers]) {
      if (!waited.has(r.urn))
        reportViolation(
          `The seal ${seal.name} must wait for ${r.name}: it does not depend on it, directly or through other resources, so it could seal before that evidence is recorded.`,
          seal.urn,
        );
    }
    const spec = renderedSpec(args.resources);
    const required = ((spec?.spec as { spec?: { acceptance?: { required?: unknown } } } | undefined)?.spec?.acceptance?.required ??
      []) as unknown[];
    for (const g of required) {
      if (typeof g !== "string") continue;
      const producers = gates.filter((r) =>
        createText(r)
          .split("\n")[0]
          .split(/[\s+]+/)
          .includes(g),
      );
      if (producers.length === 0)
        reportViolation(
          `Required gate ${g} (spec.acceptance.required) must have an acceptance gate command that produces its evidence; the stack has none, so the seal could never be accepted.`,
          spec?.urn ?? seal.urn,
        );
    }
  },
};

export const sealPolicies = [sealAfterAcceptance];
