/**
 * A stack's kit: the profile's blueprints (omantel-1: seed 000's 48, slots 1–48), plus the
 * excluded ones the spec includes (slots 49 onwards, in catalog row order), less the optional ones
 * it drops. Dropped slots stay empty rather than renumbering the rest: a slot names a blueprint's
 * HelmRelease file for its whole life (seed 000 §3.2), so dropping one must not rename others.
 *
 * The same checks back `selectKit` (which throws) and the `kit-dependencies` rule (which reports
 * each problem at its spec.kit.include[i] / spec.kit.drop[i]), so validate and the program agree.
 */
import type { ClusterSpec, KitProfile, KitSpec } from "../spec/schema";
import { CATALOG, isBlueprint, OMANTEL_1, PROFILES, releaseName } from "./catalog";
import { checkDag } from "./dag";
import type { Blueprint, Kit } from "./types";

/** One problem of a kit selection, at the list entry that causes it. */
export interface KitProblem {
  field: "include" | "drop";
  index: number;
  message: string;
}

/** A kit the spec asks for that cannot converge (or names blueprints that do not exist). */
export class KitError extends Error {
  readonly problems: readonly KitProblem[];
  constructor(problems: readonly KitProblem[]) {
    super(`invalid kit: ${problems.map((p) => `spec.kit.${p.field}[${p.index}]: ${p.message}`).join("; ")}`);
    this.name = "KitError";
    this.problems = problems;
  }
}

/** The profile a spec without `kit.profile` (or without `kit`) gets. */
export const DEFAULT_PROFILE: KitProfile = OMANTEL_1;

/**
 * The domain of a spec without a `kit` section: `<metadata.name>.kubedos.local`. A stack that
 * publishes endpoints declares its real domain; this one only keeps probes well-formed.
 */
export const defaultKitDomain = (clusterName: string): string => `${clusterName}.kubedos.local`;

/** The parts of a kit section the selection reads (the domain does not change which blueprints). */
export type KitSelection = Pick<Partial<KitSpec>, "profile" | "include" | "drop">;

const BY_NAME = new Map(CATALOG.map((b) => [b.name, b]));
const FIELD_ORDER: Record<KitProblem["field"], number> = { include: 0, drop: 1 };

/** Edit distance, for "did you mean" on a mistyped name. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

function unknownName(name: string): string {
  if (name.startsWith("bp-") && isBlueprint(name.slice(3))) {
    return `unknown blueprint ${JSON.stringify(name)}: write the catalog name without bp- (${name.slice(3)})`;
  }
  const near = CATALOG.map((b) => b.name)
    .filter((n) => distance(n, name) <= 2)
    .sort((x, y) => distance(x, name) - distance(y, name));
  return `unknown blueprint ${JSON.stringify(name)}: the catalog has no ${releaseName(name)}${near.length ? ` — did you mean ${near[0]}?` : ""}`;
}

const listNames = (names: string[]): string =>
  names.length === 1 ? names[0] : `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;

/** Every problem of a kit selection; empty when the kit it describes is a closed DAG. */
export function kitProblems(sel: KitSelection | undefined): KitProblem[] {
  const profile = sel?.profile ?? DEFAULT_PROFILE;
  const base = PROFILES[profile];
  if (!base) return []; // the schema reports an unknown profile
  const inBase = new Set(base.map((b) => b.name));
  const include = sel?.include ?? [];
  const drop = sel?.drop ?? [];
  const problems: KitProblem[] = [];

  const added: Blueprint[] = [];
  include.forEach((name, index) => {
    const at = (message: string) => problems.push({ field: "include", index, message });
    const b = BY_NAME.get(name);
    if (include.indexOf(name) !== index) at(`${releaseName(name)} is listed twice in include; list it once`);
    else if (!b) at(unknownName(name));
    else if (inBase.has(name)) at(`${releaseName(name)} is already in the ${profile} kit (slot ${b.slot}); remove it from include`);
    else added.push(b);
  });
  const inKit = new Set([...inBase, ...added.map((b) => b.name)]);

  const dropped = new Map<string, number>(); // name → index in drop
  drop.forEach((name, index) => {
    const at = (message: string) => problems.push({ field: "drop", index, message });
    const b = BY_NAME.get(name);
    if (drop.indexOf(name) !== index) at(`${releaseName(name)} is listed twice in drop; list it once`);
    else if (!b) at(unknownName(name));
    else if (!inKit.has(name)) {
      const why = b.disposition.kind === "excluded" ? ` (excluded: ${b.disposition.reason.split(" — ")[0]})` : "";
      at(`${releaseName(name)} is not in the ${profile} kit${why}, so there is nothing to drop; remove it from drop`);
    } else if (!b.optional) {
      at(`cannot drop ${releaseName(name)}: it is Tier 0–1 foundation (not optional) that the rest of the kit cannot do without`);
    } else if (include.includes(name)) at(`${releaseName(name)} is both included and dropped; keep it in one list`);
    else dropped.set(name, index);
  });

  const kept = [...base, ...added].filter((b) => !dropped.has(b.name));
  const keptNames = new Set(kept.map((b) => b.name));
  for (const [name, index] of dropped) {
    const dependants = kept.filter((b) => b.dependsOn.some((e) => e.on === name)).map((b) => releaseName(b.name));
    if (dependants.length > 0) {
      const verb = dependants.length === 1 ? "depends" : "depend";
      const them = dependants.length === 1 ? "it" : "them";
      problems.push({
        field: "drop",
        index,
        message: `cannot drop ${releaseName(name)}: ${listNames(dependants)} ${verb} on it (Flux would never install ${them} without it); drop ${them} too or keep ${releaseName(name)}`,
      });
    }
  }
  for (const b of added) {
    // A dependency that was dropped is reported at the drop, where the fix is.
    const missing = b.dependsOn.filter((e) => !keptNames.has(e.on) && !dropped.has(e.on)).map((e) => releaseName(e.on));
    if (missing.length > 0) {
      const verb = missing.length === 1 ? "is" : "are";
      problems.push({
        field: "include",
        index: include.indexOf(b.name),
        message: `cannot include ${releaseName(b.name)}: it depends on ${listNames(missing)}, which ${verb} not in the kit; include ${missing.length === 1 ? "it" : "them"} too`,
      });
    }
  }
  // In document order (include is declared before drop), so messages read top to bottom.
  return problems.sort((a, b) => FIELD_ORDER[a.field] - FIELD_ORDER[b.field] || a.index - b.index);
}

/** The kit `spec` asks for; throws KitError naming every problem when it cannot converge. */
export function selectKit(spec: ClusterSpec): Kit {
  const sel = spec.spec.kit;
  const problems = kitProblems(sel);
  if (problems.length > 0) throw new KitError(problems);
  const profile = sel?.profile ?? DEFAULT_PROFILE;
  const drop = new Set(sel?.drop ?? []);
  const include = new Set(sel?.include ?? []);
  const base = PROFILES[profile].filter((b) => !drop.has(b.name)).map((b) => ({ ...b, slot: b.slot! }));
  // CATALOG is in row order, so included blueprints get their slots in row order.
  const added = CATALOG.filter((b) => include.has(b.name)).map((b, i) => ({ ...b, slot: PROFILES[profile].length + 1 + i }));
  const blueprints = [...base, ...added];
  // The catalog is a DAG and the checks above keep every edge inside the kit; say so loudly if not.
  const dag = checkDag(blueprints);
  if (dag.length > 0) throw new Error(`internal error: the selected kit is not a closed DAG: ${dag.map((p) => p.message).join("; ")}`);
  return { profile, blueprints, domain: sel?.domain ?? defaultKitDomain(spec.metadata.name) };
}

/** A blueprint's readiness probe with the kit's domain substituted for `<domain>`. */
export const readinessProbe = (b: Pick<Blueprint, "readiness">, domain: string): string => b.readiness.replaceAll("<domain>", domain);
