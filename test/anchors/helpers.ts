/** Shared by the anchors tests: the fixed inputs of their renders, and a directory walk. */
import { readdirSync } from "node:fs";
import * as path from "node:path";

/** Public and fixed: it protects nothing. */
export const SEED = "kubedos-anchors-test-seed-0001-public";
export const RENDER_ENV = { KUBEDOS_MASTER_SEED: SEED, KUBEDOS_WG_EPOCH: "700", SOURCE_DATE_EPOCH: "1790000000" };

/** Every regular file below dir, relative, sorted. */
export function walk(dir: string, rel = ""): string[] {
  const out: string[] = [];
  for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...walk(dir, r));
    else out.push(r);
  }
  return out.sort();
}
