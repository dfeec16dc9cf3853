/**
 * `kubedos validate FILE [--json] [--strict]` as a user runs it: a child process of the real
 * bin/kubedos.js. Exit 0 valid · 1 invalid · 2 unreadable (DESIGN.md §4).
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RULE_IDS } from "../../components/spec/constraints";
import { mutate, pos, REPO_ROOT, runCli, SEED, STACK_FRAME, validate } from "./helpers";

/** How the CLI names a file: relative to the working directory when inside it. */
function display(file: string): string {
  const rel = path.relative(REPO_ROOT, file);
  return rel && !rel.startsWith("..") ? rel : file;
}

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

const INVALID = mutate(SEED, [
  { set: "spec.nodes.inventory[1].nics[0].vlan", to: 40 },
  { set: "spec.security.ssh.passwordAuth", to: true },
  { set: "spec.kubernetes.ha.controlPlaneReplicas", to: 4 },
]);
const UNTERMINATED = "apiVersion: kubedos.ca/v1alpha1\nkind: Cluster\nspec:\n  nodes: [cp-1, cp-2\n  other: 1\n";

describe("kubedos validate (CLI)", () => {
  let dir: string;
  const write = (name: string, text: string): string => {
    const f = path.join(dir, name);
    fs.writeFileSync(f, text);
    return f;
  };

  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubedos-validate-"));
  });
  after(() => {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("accepts the seed fixture with exit 0 and a valid verdict on stdout", () => {
    const r = runCli("validate", "test/fixtures/seed-15.2.yaml");
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.match(r.stdout, /^test\/fixtures\/seed-15\.2\.yaml: valid \(0 error\(s\), \d+ warning\(s\)\)$/m);
    assert.match(r.stdout, /^test\/fixtures\/seed-15\.2\.yaml:\d+:\d+  \S+  \[trust-bootstrap\]  .*sha256:REDACTED/m);
  });

  it("rejects an invalid spec with exit 1 and one FILE:LINE:COL  path  [rule]  message line per error", () => {
    const file = write("invalid.yaml", INVALID);
    const r = runCli("validate", file);
    assert.equal(r.status, 1, r.stdout + r.stderr);
    const expected = validate(INVALID);
    const lines = r.stderr.split("\n");
    const errorLines = lines.slice(0, lines.indexOf(""));
    assert.equal(errorLines.length, expected.errors.length, r.stderr);
    const re = new RegExp(`^${escapeRe(display(file))}:(\\d+):(\\d+)  (\\S+)  \\[([a-z-]+)\\]  (.+)`);
    errorLines.forEach((l, i) => {
      const m = re.exec(l);
      assert.ok(m, `not FILE:LINE:COL  path  [rule]  message: ${l}`);
      assert.ok(RULE_IDS.includes(m[4]), `unknown rule ${m[4]}`);
      const e = expected.errors[i];
      assert.deepEqual([Number(m[1]), Number(m[2]), m[4], m[5]], [e.line, e.column, e.rule, e.message]);
    });
    const vlan = pos(INVALID, "name: cp-2", "vlan: ", "40");
    assert.ok(
      errorLines.some((l) => l.includes(`:${vlan.line}:${vlan.column}  spec.nodes.inventory[1].nics[0].vlan  [vlan-trunk-consistency]`)),
      r.stderr,
    );
    assert.match(r.stderr, /invalid \(\d+ error\(s\), \d+ warning\(s\)\)\n$/);
    assert.equal(r.stdout, "");
  });

  it("rejects a YAML syntax error with exit 2, a line and a column, and no stack trace", () => {
    const file = write("unterminated.yaml", UNTERMINATED);
    const r = runCli("validate", file);
    assert.equal(r.status, 2, r.stdout + r.stderr);
    assert.match(r.stderr, new RegExp(`^${escapeRe(display(file))}:\\d+:\\d+  \\(yaml\\)  \\[yaml-syntax\\]  .+`, "m"));
    assert.match(r.stderr, /not valid YAML/);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
  });

  it("rejects a YAML syntax error at its real line (not 1:1)", () => {
    // See aggregate.test.ts "Stage 0 YAML syntax positions": source.ts reports every syntax error at 1:1.
    const file = write("dupkey.yaml", "apiVersion: kubedos.ca/v1alpha1\nkind: Cluster\nkind: Cluster\n");
    const r = runCli("validate", file);
    assert.equal(r.status, 2);
    assert.match(r.stderr, new RegExp(`^${escapeRe(display(file))}:3:1  \\(yaml\\)  \\[yaml-syntax\\]  .*unique`, "m"));
  });

  it("rejects a missing file with exit 2, naming the file, without a stack trace", () => {
    const file = path.join(dir, "does-not-exist.yaml");
    const r = runCli("validate", file);
    assert.equal(r.status, 2);
    assert.ok(r.stderr.includes(file), r.stderr);
    assert.match(r.stderr, /no such file/);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
    assert.equal(r.stdout, "");
  });

  it("rejects a directory with exit 2, naming it, without a stack trace", () => {
    const r = runCli("validate", dir);
    assert.equal(r.status, 2);
    assert.ok(r.stderr.includes(dir), r.stderr);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
  });

  it("rejects a missing FILE argument with exit 2 and the usage", () => {
    const r = runCli("validate");
    assert.equal(r.status, 2);
    assert.match(r.stderr, /usage: kubedos validate FILE/);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
  });

  it("rejects the seed with exit 1 under --strict (its warnings count)", () => {
    const r = runCli("validate", "test/fixtures/seed-15.2.yaml", "--strict");
    assert.equal(r.status, 1, r.stdout + r.stderr);
    assert.doesNotMatch(r.stderr, STACK_FRAME);
  });

  describe("--json", () => {
    const DIAG_KEYS = ["column", "line", "message", "path", "rule"];
    const checkDiag = (d: Record<string, unknown>): void => {
      assert.deepEqual(Object.keys(d).sort(), DIAG_KEYS);
      assert.ok(RULE_IDS.includes(d.rule as string), `unknown rule ${String(d.rule)}`);
      assert.equal(typeof d.path, "string");
      assert.ok(Number.isInteger(d.line) && (d.line as number) >= 1);
      assert.ok(Number.isInteger(d.column) && (d.column as number) >= 1);
      assert.ok(typeof d.message === "string" && d.message.length > 0);
    };

    it("accepts the seed with one JSON document: valid true, no errors, its warnings", () => {
      const r = runCli("validate", "test/fixtures/seed-15.2.yaml", "--json");
      assert.equal(r.status, 0, r.stderr);
      const j = JSON.parse(r.stdout) as { valid: boolean; errors: unknown[]; warnings: Array<Record<string, unknown>> };
      assert.equal(j.valid, true);
      assert.deepEqual(j.errors, []);
      assert.ok(Array.isArray(j.warnings) && j.warnings.length >= 3);
      j.warnings.forEach(checkDiag);
      assert.ok(j.warnings.some((w) => w.rule === "trust-bootstrap" && w.path === "spec.security.bootstrap.caFingerprint"));
    });

    it("rejects an invalid spec with exit 1 and errors[{rule,path,line,column,message}]", () => {
      const file = write("invalid-json.yaml", INVALID);
      const r = runCli("validate", file, "--json");
      assert.equal(r.status, 1, r.stderr);
      const j = JSON.parse(r.stdout) as {
        valid: boolean;
        errors: Array<Record<string, unknown>>;
        warnings: Array<Record<string, unknown>>;
      };
      assert.ok("valid" in j && "errors" in j && "warnings" in j);
      assert.equal(j.valid, false);
      j.errors.forEach(checkDiag);
      j.warnings.forEach(checkDiag);
      const vlan = pos(INVALID, "name: cp-2", "vlan: ", "40");
      assert.ok(
        j.errors.some(
          (e) =>
            e.rule === "vlan-trunk-consistency" &&
            e.path === "spec.nodes.inventory[1].nics[0].vlan" &&
            e.line === vlan.line &&
            e.column === vlan.column,
        ),
        JSON.stringify(j.errors, null, 2),
      );
      assert.deepEqual([...new Set(j.errors.map((e) => e.rule))].sort(), ["ha-quorum", "ssh-key-only", "vlan-trunk-consistency"]);
    });

    it("rejects a YAML syntax error with exit 2 and one JSON document naming it", () => {
      const file = write("unterminated-json.yaml", UNTERMINATED);
      const r = runCli("validate", file, "--json");
      assert.equal(r.status, 2, r.stderr);
      const j = JSON.parse(r.stdout) as {
        valid: boolean;
        syntaxErrors: Array<{ line: number; column: number; message: string }>;
        errors: unknown[];
      };
      assert.equal(j.valid, false);
      assert.ok(j.syntaxErrors.length > 0);
      assert.ok(j.syntaxErrors[0].line >= 1 && j.syntaxErrors[0].column >= 1 && j.syntaxErrors[0].message.length > 0);
      assert.deepEqual(j.errors, []);
    });
  });
});
