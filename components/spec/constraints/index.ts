/**
 * Every ClusterSpec constraint (seed 001 §15.3 and the kubedos additions) in one list.
 * `validate`, the plan and the policy pack all run this list, so they cannot disagree.
 */
import type { ClusterSpec } from "../schema";
import { destructiveFlagsExplicit } from "./boundaries";
import { acceptanceGates } from "./acceptance";
import {
  addressCollision,
  addressingMode,
  interPlaneDefault,
  knownPlanes,
  planeCapacity,
  planeCidrOverlap,
  planePorts,
  underlayAddresses,
} from "./network";
import { environmentAdapters, environmentNames, environmentReferences } from "./environment";
import { kitDependencies } from "./kit";
import { kubernetesVersion, podNetworkOverlap } from "./kubernetes";
import { airgapMirrors } from "./mirrors";
import { failureDomainQuorum, haQuorum } from "./quorum";
import { sshKeyOnly, sshSources, trustBootstrap } from "./security";
import { cephReplication } from "./storage";
import {
  knownReferences,
  placementHosts,
  substrateNodeShape,
  substrateSource,
  uniqueNames,
  vlanTrunkConsistency,
  vmidRange,
} from "./substrate";
import type { ConstraintRule, Finding, Section } from "./types";

export type { ConstraintRule, Finding, Section } from "./types";
export { DESTRUCTIVE_FLAGS, readFlag, type DestructiveFlag } from "./boundaries";

export const CONSTRAINT_RULES: readonly ConstraintRule[] = [
  haQuorum,
  planeCidrOverlap,
  interPlaneDefault,
  destructiveFlagsExplicit,
  vlanTrunkConsistency,
  cephReplication,
  failureDomainQuorum,
  knownPlanes,
  addressingMode,
  planeCapacity,
  addressCollision,
  uniqueNames,
  knownReferences,
  substrateNodeShape,
  vmidRange,
  placementHosts,
  underlayAddresses,
  sshKeyOnly,
  trustBootstrap,
  acceptanceGates,
  planePorts,
  substrateSource,
  sshSources,
  airgapMirrors,
  kubernetesVersion,
  podNetworkOverlap,
  kitDependencies,
  environmentNames,
  environmentReferences,
  environmentAdapters,
];

/** The rule ids `validate` can report, `schema` first. */
export const RULE_IDS: readonly string[] = ["schema", ...new Set(CONSTRAINT_RULES.map((r) => r.id))];

/**
 * Run every rule whose sections passed the schema. A rule that throws is a bug in kubedos,
 * reported as a finding of that rule rather than a crash, so the user still sees everything else.
 */
export function runConstraints(spec: ClusterSpec, validSections: ReadonlySet<Section>): Finding[] {
  const out: Finding[] = [];
  for (const rule of CONSTRAINT_RULES) {
    if (!rule.needs.every((s) => validSections.has(s))) continue;
    try {
      for (const f of rule.check(spec)) {
        // A severity the rule does not declare would put it in the wrong policy level.
        if (!rule.produces.includes(f.severity)) throw new Error(`reported a ${f.severity}, which it does not declare`);
        out.push(f);
      }
    } catch (err) {
      out.push({
        rule: rule.id,
        severity: "error",
        path: [],
        message: `internal error in rule ${rule.id}: ${(err as Error).message} (please report)`,
      });
    }
  }
  return out;
}
