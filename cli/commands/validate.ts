/** `kubedos validate FILE [--json] [--strict]` — Stage 0 only. Exit 0 valid · 1 invalid · 2 unreadable. */
import { formatDiagnostic, formatPath } from "../../components/spec/diagnostics";
import { validateSpecText, type ValidationResult } from "../../components/spec/validate";
import { displayPath, readText, UsageError } from "../io";

export function validateFile(file: string, strict = false): ValidationResult {
  return validateSpecText(readText(file), displayPath(file), { strict });
}

export function exitCodeOf(r: ValidationResult): number {
  return r.syntaxErrors.length > 0 ? 2 : r.valid ? 0 : 1;
}

export function validationJson(r: ValidationResult): object {
  const d = (x: ValidationResult["errors"][number]) => ({
    rule: x.rule,
    path: formatPath(x.path),
    line: x.line,
    column: x.column,
    message: x.message,
  });
  return {
    file: r.file,
    valid: r.valid,
    syntaxErrors: r.syntaxErrors,
    errors: r.errors.map(d),
    warnings: r.warnings.map(d),
  };
}

/** Human report: errors, then warnings, then a one-line verdict. Returns the lines. */
export function validationReport(r: ValidationResult): string[] {
  const lines: string[] = [];
  for (const s of r.syntaxErrors) lines.push(`${r.file}:${s.line}:${s.column}  (yaml)  [yaml-syntax]  ${s.message}`);
  for (const e of r.errors) lines.push(formatDiagnostic(r.file, e));
  if (r.warnings.length > 0) {
    if (lines.length > 0) lines.push("");
    lines.push("warnings:");
    for (const w of r.warnings) lines.push(formatDiagnostic(r.file, w));
  }
  if (r.syntaxErrors.length > 0) lines.push(`${r.file}: not valid YAML (${r.syntaxErrors.length} syntax error(s))`);
  else if (!r.valid && r.errors.length === 0)
    lines.push(`${r.file}: invalid under --strict (${r.warnings.length} warning(s) count as errors)`);
  else lines.push(`${r.file}: ${r.valid ? "valid" : "invalid"} (${r.errors.length} error(s), ${r.warnings.length} warning(s))`);
  return lines;
}

export async function validateCommand(args: { positionals: string[]; json: boolean; strict: boolean }): Promise<number> {
  if (args.positionals.length !== 1) throw new UsageError("usage: kubedos validate FILE [--json] [--strict]");
  const r = validateFile(args.positionals[0], args.strict);
  if (args.json) process.stdout.write(JSON.stringify(validationJson(r), null, 2) + "\n");
  else {
    const lines = validationReport(r);
    const out = r.valid && r.syntaxErrors.length === 0 ? process.stdout : process.stderr;
    out.write(lines.join("\n") + "\n");
  }
  return exitCodeOf(r);
}
