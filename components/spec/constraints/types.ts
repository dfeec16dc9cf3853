import type { Severity, SpecPath } from "../diagnostics";
import type { ClusterSpec } from "../schema";

/** A constraint finding before it is located in a source file. */
export interface Finding {
  rule: string;
  severity: Severity;
  path: SpecPath;
  message: string;
}

/** Top-level sections of the document; a rule runs only when the sections it reads passed the schema. */
export type Section =
  | "metadata"
  | "substrate"
  | "nodes"
  | "networking"
  | "security"
  | "storage"
  | "orchestration"
  | "kubernetes"
  | "acceptance"
  | "environment";

export interface ConstraintRule {
  /** Stable rule id (DESIGN.md §4). */
  id: string;
  /** One line: what the rule checks ("Checks whether …"). */
  description: string;
  /** Severities the rule can report; a rule that only warns is advisory in the policy pack. */
  produces: ReadonlyArray<Severity>;
  /** Sections the rule reads. */
  needs: Section[];
  check(spec: ClusterSpec): Finding[];
}

export const error = (rule: string, path: SpecPath, message: string): Finding => ({ rule, severity: "error", path, message });
export const warning = (rule: string, path: SpecPath, message: string): Finding => ({ rule, severity: "warning", path, message });
