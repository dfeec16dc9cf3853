/**
 * Diagnostics: one problem in a ClusterSpec, located in its source file.
 *
 * The printed form is the contract of DESIGN.md §4:
 *   FILE:LINE:COL  spec.path  [rule-id]  message
 */

export type Severity = "error" | "warning";

/** A path into the spec document, e.g. ["spec", "nodes", "inventory", 2, "role"]. */
export type SpecPath = ReadonlyArray<string | number>;

export interface Diagnostic {
  /** Stable rule id (`schema`, `ha-quorum`, …). */
  rule: string;
  severity: Severity;
  /** Where in the document the problem is. */
  path: SpecPath;
  /** What is wrong, with the actual values, and the fix. */
  message: string;
  /** 1-based position of the offending node (or its closest existing ancestor). */
  line: number;
  column: number;
}

/** Dotted path with [index] for arrays: spec.nodes.inventory[2].role */
export function formatPath(path: SpecPath): string {
  let out = "";
  for (const seg of path) {
    if (typeof seg === "number") out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out === "" ? seg : `.${seg}`;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out === "" ? "(document)" : out;
}

export function formatDiagnostic(file: string, d: Diagnostic): string {
  return `${file}:${d.line}:${d.column}  ${formatPath(d.path)}  [${d.rule}]  ${d.message}`;
}

/** Stable order: by position, then rule, so output is reproducible. */
export function sortDiagnostics(ds: Diagnostic[]): Diagnostic[] {
  return [...ds].sort(
    (a, b) => a.line - b.line || a.column - b.column || a.rule.localeCompare(b.rule) || a.message.localeCompare(b.message),
  );
}
