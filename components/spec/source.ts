/**
 * YAML source with positions: parse once, then answer "where is spec.path?" for any
 * diagnostic, so every problem points at a line and column of the user's file.
 */
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { SpecPath } from "./diagnostics";

export interface Position {
  line: number;
  column: number;
}

export interface SyntaxProblem extends Position {
  message: string;
}

/** A map key the schema layer must reject before the document becomes plain data. */
export interface KeyProblem {
  path: Array<string | number>;
  key: string;
  message: string;
}

/** Keys that would reach object prototypes once the YAML becomes JavaScript objects. */
const FORBIDDEN_KEYS = new Set(["__proto__", "constructor", "prototype"]);

export class SpecSource {
  private constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    /** The document as plain data (undefined when the YAML did not parse). */
    readonly value: unknown,
    readonly syntaxErrors: SyntaxProblem[],
    /** Keys that are not plain strings, or that name object prototypes. */
    readonly keyProblems: KeyProblem[],
  ) {}

  static parse(text: string, file: string): SpecSource {
    const lines = new LineCounter();
    // uniqueKeys is on by default: a duplicated key is an error, not a silent override.
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, strict: true });
    const syntaxErrors: SyntaxProblem[] = doc.errors.map((e) => {
      // linePos is only filled with prettyErrors; the offset always is.
      const pos = lines.linePos(e.pos[0]);
      return { line: pos.line, column: pos.col, message: firstLine(e.message) };
    });
    const keyProblems: KeyProblem[] = syntaxErrors.length === 0 ? findKeyProblems(doc.contents, []) : [];
    let value: unknown = undefined;
    // A collection used as a key cannot become a JavaScript object key without guessing.
    if (syntaxErrors.length === 0 && !keyProblems.some((k) => k.key === "")) {
      try {
        // maxAliasCount bounds alias expansion ("billion laughs") while leaving room for large
        // inventories that share node settings through anchors.
        value = doc.toJS({ maxAliasCount: 100_000 });
      } catch (err) {
        syntaxErrors.push({ line: 1, column: 1, message: (err as Error).message });
      }
    }
    return new SpecSource(file, doc, lines, value, syntaxErrors, keyProblems);
  }

  /**
   * Position of the node at `path`; when it does not exist (a missing field), the closest
   * existing ancestor. With `key`, the position of that key inside the map at `path`
   * (used for unknown-field errors).
   */
  locate(path: SpecPath, key?: string): Position {
    if (key !== undefined) {
      const map = this.doc.getIn(path as unknown[], true);
      if (isMap(map)) {
        for (const pair of map.items) {
          const k = pair.key as Node | null;
          if (isScalar(k) && scalarKey(k.value) === key && k.range) return this.pos(k.range[0]);
          if (!isScalar(k) && key === "" && k?.range) return this.pos(k.range[0]);
        }
      }
    }
    for (let n = path.length; n >= 0; n--) {
      const node = n === 0 ? this.doc.contents : this.doc.getIn(path.slice(0, n) as unknown[], true);
      const range = (node as Node | null | undefined)?.range;
      if (range) return this.pos(range[0]);
    }
    return { line: 1, column: 1 };
  }

  private pos(offset: number): Position {
    const p = this.lines.linePos(offset);
    return { line: p.line, column: p.col };
  }
}

/** The JavaScript key a YAML scalar key becomes (`~` → ""). */
function scalarKey(v: unknown): string {
  return v === null ? "" : String(v);
}

function findKeyProblems(node: unknown, path: Array<string | number>): KeyProblem[] {
  const out: KeyProblem[] = [];
  if (isMap(node)) {
    for (const pair of node.items) {
      if (!isPair(pair)) continue;
      const k = pair.key as Node | null;
      if (k !== null && !isScalar(k)) {
        out.push({ path, key: "", message: "a mapping or list cannot be a key; keys must be plain names" });
        continue;
      }
      const key = scalarKey(isScalar(k) ? k.value : null);
      if (FORBIDDEN_KEYS.has(key)) out.push({ path, key, message: `key ${key} is not allowed (it names a JavaScript object prototype)` });
      out.push(...findKeyProblems(pair.value, [...path, key]));
    }
  } else if (isSeq(node)) {
    node.items.forEach((item, i) => out.push(...findKeyProblems(item, [...path, i])));
  }
  return out;
}

function firstLine(s: string): string {
  return s.split("\n")[0].replace(/:$/, "");
}
