/**
 * Stage 0 — spec validation (seed 001 §14.1, §15.3).
 *
 * Layers, each collecting every problem instead of stopping at the first (Talos style):
 *   1. YAML syntax (with positions)          → a syntax problem: the file is unreadable (exit 2)
 *   2. schema (zod, strict)                  → rule `schema`
 *   3. constraints, per section that passed  → stable rule ids (constraints/)
 * Pure: the only input is the text; nothing here touches the filesystem or Pulumi.
 */
import type { z } from "zod";
import { DESTRUCTIVE_FLAGS, runConstraints, type Finding, type Section } from "./constraints";
import { sortDiagnostics, type Diagnostic, type SpecPath } from "./diagnostics";
import { ClusterSpecSchema, type ClusterSpec } from "./schema";
import { child, defOf, unwrap } from "./schema-walk";
import { SpecSource, type SyntaxProblem } from "./source";

export interface ValidationResult {
  file: string;
  /** True when there are no errors (and, in strict mode, no warnings). */
  valid: boolean;
  /** YAML could not be parsed: the file is unreadable as a spec (CLI exit 2). */
  syntaxErrors: SyntaxProblem[];
  errors: Diagnostic[];
  warnings: Diagnostic[];
  /** The typed spec, when valid. */
  spec?: ClusterSpec;
}

export interface ValidateOptions {
  /** Treat warnings as errors. */
  strict?: boolean;
}

const SECTIONS: readonly Section[] = [
  "substrate",
  "nodes",
  "networking",
  "security",
  "storage",
  "orchestration",
  "kubernetes",
  "acceptance",
  "environment",
];

export function validateSpecText(text: string, file: string, opts: ValidateOptions = {}): ValidationResult {
  const src = SpecSource.parse(text, file);
  if (src.syntaxErrors.length > 0) {
    return { file, valid: false, syntaxErrors: src.syntaxErrors, errors: [], warnings: [] };
  }
  const findings: Array<Finding & { key?: string }> = [];
  const invalid = new Set<Section>();
  for (const k of src.keyProblems) {
    findings.push({ rule: "schema", severity: "error", path: k.path, key: k.key, message: k.message });
    markInvalid(k.path, invalid);
  }
  if (src.value === undefined) {
    // Only a key problem can leave a parsed document without a value: report it alone.
    return finish(src, findings, opts, undefined);
  }
  const parsed = ClusterSpecSchema.safeParse(src.value, { reportInput: true });
  let spec: ClusterSpec | undefined;
  if (parsed.success && invalid.size === 0) {
    spec = parsed.data;
  } else if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const f = schemaFinding(issue);
      findings.push(...f);
      if (f.some((x) => x.rule === "schema")) markInvalid(issue.path, invalid);
    }
  }
  const value = (spec ?? src.value) as ClusterSpec;
  const valid = new Set<Section>(isObject(value) && isObject(value.spec) ? SECTIONS.filter((s) => !invalid.has(s)) : []);
  if (valid.size > 0) findings.push(...runConstraints(value, valid));
  return finish(src, findings, opts, value);
}

function finish(
  src: SpecSource,
  findings: Array<Finding & { key?: string }>,
  opts: ValidateOptions,
  value: ClusterSpec | undefined,
): ValidationResult {
  const located = findings.map((f) => locate(src, f));
  const errors = sortDiagnostics(located.filter((d) => d.severity === "error"));
  const warnings = sortDiagnostics(located.filter((d) => d.severity === "warning"));
  const ok = errors.length === 0 && (!opts.strict || warnings.length === 0);
  return { file: src.file, valid: ok, syntaxErrors: [], errors, warnings, spec: ok ? value : undefined };
}

function locate(src: SpecSource, f: Finding & { key?: string }): Diagnostic {
  const pos = src.locate(f.path, f.key);
  const path = f.key === undefined ? f.path : [...f.path, f.key];
  return { rule: f.rule, severity: f.severity, path, message: f.message, line: pos.line, column: pos.column };
}

function markInvalid(path: PropertyKey[], invalid: Set<Section>): void {
  if (path[0] === "spec" && typeof path[1] === "string" && (SECTIONS as readonly string[]).includes(path[1])) {
    invalid.add(path[1] as Section);
  } else if (path[0] !== "metadata" && path[0] !== "apiVersion" && path[0] !== "kind") {
    for (const s of SECTIONS) invalid.add(s); // the spec itself is missing or malformed
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

const flagPaths = new Map(DESTRUCTIVE_FLAGS.map((f) => [f.path.join("."), f]));

/** Translate a zod issue into findings with a message that says what is wrong and how to fix it. */
function schemaFinding(issue: z.core.$ZodIssue): Array<Finding & { key?: string }> {
  const path = issue.path.filter((p): p is string | number => typeof p !== "symbol");
  const flag = flagPaths.get(path.join("."));
  if (flag) {
    return [
      {
        rule: "destructive-flags-explicit",
        severity: "error",
        path,
        message: `${flag.flag} must be true or false (got ${show(issue.input)}); it governs ${flag.governs} — write \`${flag.flag}: false\` or \`${flag.flag}: true\``,
      },
    ];
  }
  const field = path.length > 0 ? String(path[path.length - 1]) : "document";
  const mk = (message: string, key?: string) => ({ rule: "schema", severity: "error" as const, path, message, key });
  switch (issue.code) {
    case "invalid_key": {
      // A bad name in a map of named entries (planes, labels…): point at the key itself.
      const why = issue.issues.map((i) => i.message).join("; ");
      return [
        {
          rule: "schema",
          severity: "error",
          path: path.slice(0, -1),
          key: field,
          message: `name ${JSON.stringify(field)} ${why.startsWith("must") ? why : `is invalid: ${why}`}`,
        },
      ];
    }
    case "unrecognized_keys":
      return issue.keys.map((k) => {
        const allowed = allowedKeys(path);
        if (k === "") return mk(`a null key (~ or an empty key) is not a field; remove it (allowed here: ${allowed.join(", ")})`, k);
        const hint = suggest(k, allowed);
        return mk(
          `unknown field ${k}${hint ? ` — did you mean ${hint}?` : ""}${allowed.length ? ` (allowed here: ${allowed.join(", ")})` : ""}`,
          k,
        );
      });
    case "invalid_type":
      if (issue.input === undefined) return [mk(`${field} is required (${issue.expected}); add it`)];
      return [mk(`${field} must be ${article(issue.expected)} (got ${show(issue.input)})`)];
    case "invalid_value":
      return [mk(`${field} must be one of ${issue.values.map((v) => JSON.stringify(v)).join(", ")} (got ${show(issue.input)})`)];
    case "invalid_union":
      if ("discriminator" in issue && "options" in issue) {
        return [
          mk(
            `${field} must be one of ${(issue as { options: unknown[] }).options.map((v) => JSON.stringify(v)).join(", ")} (got ${show(issue.input && (issue.input as Record<string, unknown>)[field])})`,
          ),
        ];
      }
      return [mk(`${field} does not match any allowed form`)];
    case "too_small":
    case "too_big": {
      const bound = issue.code === "too_small" ? "at least" : "at most";
      const limit = String(issue.code === "too_small" ? issue.minimum : issue.maximum);
      const what = issue.origin === "array" ? `${limit} item(s)` : issue.origin === "string" ? `${limit} character(s)` : limit;
      return [
        mk(
          `${field} must be ${bound} ${what} (got ${issue.origin === "array" ? `${(issue.input as unknown[])?.length ?? 0} item(s)` : show(issue.input)})`,
        ),
      ];
    }
    case "invalid_format":
    case "custom":
      return [
        mk(`${field} ${issue.message.startsWith("must") ? issue.message : `is invalid: ${issue.message}`} (got ${show(issue.input)})`),
      ];
    default:
      return [mk(`${field}: ${issue.message}`)];
  }
}

function article(t: string): string {
  const names: Record<string, string> = {
    number: "a number",
    string: "a string",
    boolean: "true or false",
    object: "a mapping",
    array: "a list",
    int: "an integer",
  };
  return names[t] ?? t;
}

function show(v: unknown): string {
  if (v === undefined) return "nothing";
  if (v === null) return "null";
  if (Array.isArray(v)) return "a list";
  if (typeof v === "object") return "a mapping";
  const s = JSON.stringify(v);
  return s.length > 60 ? `${s.slice(0, 57)}…` : s;
}

/** Keys the schema accepts at `path` (walking objects, arrays, records, optionals and unions). */
export function allowedKeys(path: SpecPath): string[] {
  let node: unknown = ClusterSpecSchema;
  for (const seg of path) {
    node = child(unwrap(node), seg);
    if (!node) return [];
  }
  const def = defOf(unwrap(node));
  if (def?.type === "object") return Object.keys(def.shape as object);
  if (def?.type === "union") {
    return [...new Set((def.options as unknown[]).flatMap((o) => Object.keys((defOf(o)?.shape as object) ?? {})))];
  }
  return [];
}

/** The closest allowed key within edit distance 2, for "did you mean". */
function suggest(key: string, allowed: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const a of allowed) {
    const d = editDistance(key.toLowerCase(), a.toLowerCase());
    if (d < bestD) [best, bestD] = [a, d];
  }
  return best;
}

function editDistance(a: string, b: string): number {
  const dp = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = dp[0];
    dp[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = dp[j];
      dp[j] = Math.min(dp[j] + 1, dp[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return dp[b.length];
}
