/**
 * YAML source with positions: parse once, then answer "where is spec.path?" for any
 * diagnostic, so every problem points at a line and column of the user's file.
 */
import { isMap, isScalar, LineCounter, parseDocument, type Document, type Node } from "yaml";
import type { SpecPath } from "./diagnostics";

export interface Position {
  line: number;
  column: number;
}

export interface SyntaxProblem extends Position {
  message: string;
}

export class SpecSource {
  private constructor(
    readonly file: string,
    private readonly doc: Document.Parsed,
    private readonly lines: LineCounter,
    /** The document as plain data (undefined when the YAML did not parse). */
    readonly value: unknown,
    readonly syntaxErrors: SyntaxProblem[],
  ) {}

  static parse(text: string, file: string): SpecSource {
    const lines = new LineCounter();
    // uniqueKeys is on by default: a duplicated key is an error, not a silent override.
    const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, strict: true });
    const syntaxErrors: SyntaxProblem[] = doc.errors.map((e) => {
      const pos = e.linePos?.[0] ?? { line: 1, col: 1 };
      return { line: pos.line, column: pos.col, message: firstLine(e.message) };
    });
    let value: unknown = undefined;
    if (syntaxErrors.length === 0) {
      try {
        // maxAliasCount bounds alias expansion ("billion laughs") while leaving room for large
        // inventories that share node settings through anchors.
        value = doc.toJS({ maxAliasCount: 100_000 });
      } catch (err) {
        syntaxErrors.push({ line: 1, column: 1, message: (err as Error).message });
      }
    }
    return new SpecSource(file, doc, lines, value, syntaxErrors);
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
          if (isScalar(k) && String(k.value) === key && k.range) return this.pos(k.range[0]);
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

function firstLine(s: string): string {
  return s.split("\n")[0].replace(/:$/, "");
}
