/**
 * Walking the zod schema at run time: what a schema node is, and what lies below it. Used by
 * `validate` (the keys allowed where an unknown field stands) and by the README generator
 * (types and bounds per field), so both read the schema the same way.
 */

/** zod v4's definition object of a schema node. */
export type ZodDef = { type: string; [k: string]: unknown };

export const defOf = (s: unknown): ZodDef | undefined => (s as { _zod?: { def: ZodDef } })?._zod?.def;

/** The schema inside optional / nullable / default wrappers. */
export function unwrap(s: unknown): unknown {
  let d = defOf(s);
  while (d && (d.type === "optional" || d.type === "nullable" || d.type === "default")) {
    s = d.innerType;
    d = defOf(s);
  }
  return s;
}

/** The schema of `seg` inside an object, array (any index), record (any key) or union (first variant that has it). */
export function child(s: unknown, seg: string | number): unknown {
  const d = defOf(s);
  if (!d) return undefined;
  if (d.type === "object") return (d.shape as Record<string, unknown>)[String(seg)];
  if (d.type === "array") return d.element;
  if (d.type === "record") return d.valueType;
  if (d.type === "union") {
    for (const o of d.options as unknown[]) {
      const c = child(unwrap(o), seg);
      if (c) return c;
    }
  }
  return undefined;
}
