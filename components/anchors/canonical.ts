/**
 * Canonical JSON for every anchor file: keys sorted at every level, two-space indentation, one
 * trailing newline. Two renders of the same inputs must be byte-identical (issue 8), and key
 * order is the one thing JSON.stringify leaves to the order objects happened to be built in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value), null, 2) + "\n";
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === "object" && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}
