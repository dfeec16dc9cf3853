/**
 * Stage 0 under random damage: whatever is done to the seed document (keys deleted, scalars
 * replaced by values of another type, list items duplicated, unknown keys inserted, the text
 * truncated or sprinkled with YAML punctuation), validation never throws and every problem it
 * reports is well-formed: a known rule id, a position inside the file, a message.
 */
import { strict as assert } from "node:assert";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import fc from "fast-check";
import { parseDocument } from "yaml";
import { RULE_IDS } from "../../components/spec/constraints";
import type { Diagnostic } from "../../components/spec/diagnostics";
import type { ValidationResult } from "../../components/spec/validate";
import { runCliAsync, SEED, show, STACK_FRAME, validate } from "./helpers";

type Path = Array<string | number>;

type Mutation =
  | { kind: "delete"; path: Path }
  | { kind: "replace"; path: Path; value: unknown }
  | { kind: "duplicate"; path: Path; index: number }
  | { kind: "unknown-key"; path: Path; key: string; value: unknown }
  | { kind: "truncate"; at: number }
  | { kind: "insert"; at: number; chars: string };

// ---------------------------------------------------------------- paths of the seed document

const all: Path[] = [];
const scalars: Path[] = [];
const lists: Path[] = [];
const maps: Path[] = [[]];
(function walk(v: unknown, p: Path): void {
  if (p.length > 0) all.push(p);
  if (Array.isArray(v)) {
    if (v.length > 0) lists.push(p);
    v.forEach((x, i) => walk(x, [...p, i]));
  } else if (v !== null && typeof v === "object") {
    if (p.length > 0) maps.push(p);
    for (const [k, x] of Object.entries(v)) walk(x, [...p, k]);
  } else {
    scalars.push(p);
  }
})(parseDocument(SEED).toJS(), []);

// ---------------------------------------------------------------- arbitraries

const TRICKY_STRINGS = [
  "",
  " ",
  "0",
  "-1",
  "1e309",
  "999999999999999999999",
  "0x10",
  "10.0.0.0/8",
  "300.1.1.1",
  "wg1",
  "yes",
  "~",
  "null",
  ".nan",
  "-.inf",
  "sha256:",
  "a\nb",
  "__proto__",
  "☃",
  "\u0000",
];
const anyScalar = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.constantFrom(...TRICKY_STRINGS),
  fc.integer(),
  fc.integer({ min: -2, max: 5000 }),
  fc.double(),
  fc.boolean(),
  fc.constant(null),
);
const anyValue = fc.oneof(
  { weight: 4, arbitrary: anyScalar },
  { weight: 1, arbitrary: fc.array(anyScalar, { maxLength: 3 }) },
  { weight: 1, arbitrary: fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), anyScalar, { maxKeys: 3 }) },
);
const unknownKey = fc.oneof(
  fc.string({ minLength: 1, maxLength: 10 }),
  fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty", "prototype", "valueOf", "<<", "spec", "apiversion"),
);
const yamlChars = fc.string({
  unit: fc.constantFrom(
    ":",
    " ",
    "-",
    "[",
    "]",
    "{",
    "}",
    "#",
    "&",
    "*",
    "!",
    "|",
    ">",
    "'",
    '"',
    "%",
    "@",
    "`",
    ",",
    "?",
    "\n",
    "\t",
    "\\",
    "a",
    "0",
    "\u00a0",
    "\ufeff",
  ),
  minLength: 1,
  maxLength: 8,
});

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ kind: fc.constant("delete" as const), path: fc.constantFrom(...all) }),
  fc.record({ kind: fc.constant("replace" as const), path: fc.constantFrom(...scalars), value: anyValue }),
  fc.record({ kind: fc.constant("duplicate" as const), path: fc.constantFrom(...lists), index: fc.nat(8) }),
  fc.record({ kind: fc.constant("unknown-key" as const), path: fc.constantFrom(...maps), key: unknownKey, value: anyValue }),
  fc.record({ kind: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({ kind: fc.constant("insert" as const), at: fc.nat(), chars: yamlChars }),
);
const mutations = fc.array(mutation, { minLength: 1, maxLength: 3 });

/** Apply one mutation. Document edits need a parseable text; on a broken one they are skipped. */
function apply(text: string, m: Mutation): string {
  if (m.kind === "truncate") return text.slice(0, m.at % (text.length + 1));
  if (m.kind === "insert") {
    const at = m.at % (text.length + 1);
    return text.slice(0, at) + m.chars + text.slice(at);
  }
  const doc = parseDocument(text);
  if (doc.errors.length > 0) return text;
  try {
    switch (m.kind) {
      case "delete":
        if (!doc.hasIn(m.path)) return text;
        doc.deleteIn(m.path);
        break;
      case "replace":
        if (!doc.hasIn(m.path)) return text;
        doc.setIn(m.path, doc.createNode(m.value));
        break;
      case "duplicate": {
        const list = doc.getIn(m.path) as { items?: unknown[] } | undefined;
        if (!list || !Array.isArray(list.items) || list.items.length === 0) return text;
        const item = list.items[m.index % list.items.length] as { clone?: () => unknown };
        list.items.push(typeof item?.clone === "function" ? item.clone() : item);
        break;
      }
      case "unknown-key": {
        const parent = m.path.length === 0 ? doc.contents : doc.getIn(m.path, true);
        if (!parent || !(parent as { items?: unknown }).items || Array.isArray(doc.getIn(m.path))) return text;
        doc.setIn([...m.path, m.key], doc.createNode(m.value));
        break;
      }
    }
    return doc.toString({ lineWidth: 0 });
  } catch {
    return text; // the edit does not apply to this document shape (harness, not validator)
  }
}

const applyAll = (ms: Mutation[]): string => ms.reduce(apply, SEED);

// ---------------------------------------------------------------- the property

const KNOWN = new Set([...RULE_IDS, "yaml-syntax"]);

function wellFormed(text: string, r: ValidationResult): void {
  const lines = text.split("\n");
  const inFile = (line: number, column: number, what: string): void => {
    assert.ok(Number.isInteger(line) && line >= 1, `${what}: line ${line} < 1`);
    assert.ok(Number.isInteger(column) && column >= 1, `${what}: column ${column} < 1`);
    assert.ok(line <= lines.length, `${what}: line ${line} beyond the ${lines.length}-line file`);
  };
  if (r.syntaxErrors.length > 0) {
    assert.equal(r.valid, false);
    assert.deepEqual([r.errors, r.warnings], [[], []], "a syntax problem stops validation");
    for (const s of r.syntaxErrors) {
      inFile(s.line, s.column, `[yaml-syntax] ${s.message}`);
      assert.ok(typeof s.message === "string" && s.message.trim().length > 0, "empty syntax message");
    }
    return;
  }
  const check = (d: Diagnostic, severity: string): void => {
    assert.ok(typeof d.rule === "string" && KNOWN.has(d.rule), `unknown rule id ${JSON.stringify(d.rule)}: ${show(d)}`);
    assert.equal(d.severity, severity, show(d));
    inFile(d.line, d.column, show(d));
    assert.ok(d.column <= lines[d.line - 1].length + 1, `column beyond the end of line ${d.line}: ${show(d)}`);
    assert.ok(typeof d.message === "string" && d.message.trim().length > 0, `empty message: ${show(d)}`);
    assert.doesNotMatch(d.message, /internal error/, `a rule crashed: ${show(d)}`);
  };
  r.errors.forEach((d) => check(d, "error"));
  r.warnings.forEach((d) => check(d, "warning"));
  assert.equal(r.valid, r.errors.length === 0);
}

describe("Stage 0 fuzz (fast-check)", () => {
  it(`collects mutation targets from the seed (${all.length} paths, ${scalars.length} scalars, ${lists.length} lists, ${maps.length} maps)`, () => {
    assert.ok(all.length > 100 && scalars.length > 50 && lists.length > 5 && maps.length > 20);
  });

  it("draws every kind of mutation when sampled with seed 42", () => {
    const kinds = new Set(fc.sample(mutations, { seed: 42, numRuns: 300 }).flatMap((ms) => ms.map((m) => m.kind)));
    assert.deepEqual([...kinds].sort(), ["delete", "duplicate", "insert", "replace", "truncate", "unknown-key"]);
  });

  it("never throws and reports only well-formed diagnostics when the seed is randomly damaged", () => {
    fc.assert(
      fc.property(mutations, (ms) => {
        const text = applyAll(ms);
        let r: ValidationResult;
        try {
          r = validate(text);
        } catch (err) {
          throw new Error(`validateSpecText threw ${(err as Error).stack}\n--- input ---\n${text}`);
        }
        wellFormed(text, r);
      }),
      { seed: 42, numRuns: 300 },
    );
  });

  it("exits 0, 1 or 2 without a stack trace when the CLI validates randomly damaged seeds", async () => {
    const samples = fc.sample(mutations, { seed: 42, numRuns: 20 }).map(applyAll);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "kubedos-fuzz-"));
    try {
      const files = samples.map((text, i) => {
        const f = path.join(dir, `damaged-${i}.yaml`);
        fs.writeFileSync(f, text);
        return f;
      });
      const runs = [];
      for (let i = 0; i < files.length; i += 5)
        runs.push(...(await Promise.all(files.slice(i, i + 5).map((f) => runCliAsync("validate", f)))));
      const seen = new Set<number | null>();
      runs.forEach((r, i) => {
        const expected = validate(samples[i]);
        const code = expected.syntaxErrors.length > 0 ? 2 : expected.valid ? 0 : 1;
        const ctx = `sample ${i}: exit ${r.status}\n${r.stderr}`;
        assert.ok(r.status === 0 || r.status === 1 || r.status === 2, ctx);
        assert.equal(r.status, code, `exit code disagrees with validateSpecText — ${ctx}`);
        assert.doesNotMatch(r.stderr, STACK_FRAME, ctx);
        assert.doesNotMatch(r.stderr, /internal error/, ctx);
        seen.add(r.status);
      });
      assert.ok(seen.size >= 2, `the samples should exercise more than one outcome (saw ${[...seen].join(", ")})`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
