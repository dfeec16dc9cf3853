/**
 * The bootstrap kit (seed 000 §4.5, the check-bootstrap-deps guard): the `spec.dependsOn` of every
 * blueprint HelmRelease in the stack equals the catalog's DAG edges for that blueprint, in both
 * directions — an edge the release lacks lets Flux install it before what it needs is Ready; an edge
 * the catalog lacks serialises the kit for nothing and hides a dependency nobody reviewed. And the
 * stack holds exactly the kit's releases: one HelmRelease per blueprint of the kit, none outside it.
 *
 * The kit is the one `kubedos` selects from the stack's own ClusterSpec (the Stage 0 output the
 * program carries into the graph), so the pack and `kubedos render` cannot disagree about it.
 */
import type { PolicyResource, StackValidationPolicy } from "@pulumi/policy";
import { selectKit } from "../../components/kit/select";
import type { Kit } from "../../components/kit/types";
import { ClusterSpecSchema } from "../../components/spec/schema";
import { renderedSpec } from "./graph";

/** The Pulumi type of a Flux HelmRelease made with apiextensions.CustomResource. */
export const HELM_RELEASE_TYPE = "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease";

/** A blueprint HelmRelease as the stack holds it. */
export interface StackRelease {
  /** metadata.name, e.g. `bp-cilium`. */
  name: string;
  /** The names in spec.dependsOn; undefined when spec.dependsOn is not a list of `{ name }`. */
  dependsOn: string[] | undefined;
  urn?: string;
}

export interface DepsFinding {
  message: string;
  /** The release the finding is about; undefined: the stack (reported against the spec). */
  urn?: string;
}

const at = (o: unknown, path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), o);

/**
 * The blueprint HelmReleases of a stack: resources of HELM_RELEASE_TYPE whose metadata.name (else,
 * when the name is not in the inputs, the Pulumi resource name) starts with `bp-`.
 */
export function stackReleases(resources: PolicyResource[]): StackRelease[] {
  const out: StackRelease[] = [];
  for (const r of resources) {
    if (r.type !== HELM_RELEASE_TYPE) continue;
    const meta = at(r.props, ["metadata", "name"]);
    const name = typeof meta === "string" ? meta : r.name;
    if (!name.startsWith("bp-")) continue;
    const deps = at(r.props, ["spec", "dependsOn"]);
    let dependsOn: string[] | undefined;
    if (deps === undefined || deps === null) dependsOn = [];
    else if (Array.isArray(deps) && deps.every((d) => typeof at(d, ["name"]) === "string"))
      dependsOn = deps.map((d) => at(d, ["name"]) as string);
    out.push({ name, dependsOn, urn: r.urn });
  }
  return out;
}

const edgeWhy = (e: { source: string; reason?: string }): string =>
  e.source === "seed" ? "catalog edge, seed 000 §2" : `catalog edge, inferred: ${e.reason ?? "no reason recorded"}`;

/**
 * Every drift between the stack's blueprint HelmReleases and the kit: missing and extra edges by name,
 * releases the kit has and the stack lacks, releases outside the kit, duplicates. Pure; the policy
 * reports each finding.
 */
export function bootstrapDepsFindings(kit: Kit, releases: readonly StackRelease[]): DepsFinding[] {
  const out: DepsFinding[] = [];
  const inKit = new Map(kit.blueprints.map((b) => [`bp-${b.name}`, b]));
  const byName = new Map<string, StackRelease[]>();
  for (const r of releases) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);

  for (const b of [...kit.blueprints].sort((x, y) => x.slot - y.slot)) {
    const name = `bp-${b.name}`;
    const found = byName.get(name) ?? [];
    if (found.length === 0) {
      out.push({
        message: `${name} must have a HelmRelease: it is in the kit (slot ${String(b.slot).padStart(2, "0")}) but the stack has no HelmRelease ${name}.`,
      });
      continue;
    }
    if (found.length > 1)
      out.push({ message: `${name} must have exactly one HelmRelease: the stack has ${found.length}.`, urn: found[1].urn });
    for (const r of found) {
      if (r.dependsOn === undefined) {
        out.push({
          message: `${name} must list its dependencies as spec.dependsOn: [{ name: bp-<blueprint> }]: it cannot be read.`,
          urn: r.urn,
        });
        continue;
      }
      const have = new Set(r.dependsOn);
      for (const e of [...b.dependsOn].sort((x, y) => x.on.localeCompare(y.on))) {
        if (!have.has(`bp-${e.on}`))
          out.push({ message: `${name} must depend on bp-${e.on} (${edgeWhy(e)}): its spec.dependsOn lacks it.`, urn: r.urn });
      }
      const want = new Set(b.dependsOn.map((e) => `bp-${e.on}`));
      for (const d of [...have].sort()) {
        if (!want.has(d))
          out.push({
            message: `${name} must not depend on ${d}: not a catalog edge; remove it from spec.dependsOn, or add the edge to the catalog.`,
            urn: r.urn,
          });
      }
    }
  }
  for (const [name, found] of [...byName].sort(([a], [b]) => a.localeCompare(b))) {
    if (!inKit.has(name))
      out.push({
        message: `HelmRelease ${name} must not be in the stack: ${name} is not in the kit of profile ${kit.profile}.`,
        urn: found[0].urn,
      });
  }
  return out;
}

/**
 * Only a graph that has reached the kit is checked (one blueprint HelmRelease at least): a stack
 * whose program installs no kit yet, or whose Kubernetes stage is off, has nothing to compare. A
 * spec that fails the schema is the `schema` policy's to report; one whose kit cannot be selected,
 * kit-dependencies'.
 */
export const checkBootstrapDeps: StackValidationPolicy = {
  name: "check-bootstrap-deps",
  description:
    "Checks whether the spec.dependsOn of every bootstrap-kit HelmRelease equals the catalog's DAG edges in both directions (seed 000 §4.5), and the stack holds one HelmRelease per blueprint of the spec's kit and none outside it.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const releases = stackReleases(args.resources);
    if (releases.length === 0) return;
    const s = renderedSpec(args.resources);
    if (!s) return;
    const parsed = ClusterSpecSchema.safeParse(s.spec);
    if (!parsed.success) return;
    let kit: Kit;
    try {
      kit = selectKit(parsed.data);
    } catch (err) {
      reportViolation(
        `The stack's bootstrap kit must be selectable from its ClusterSpec to check its ${releases.length} HelmReleases: ${(err as Error).message}.`,
        s.urn,
      );
      return;
    }
    for (const f of bootstrapDepsFindings(kit, releases)) reportViolation(f.message, f.urn ?? s.urn);
  },
};

export const kitPolicies: StackValidationPolicy[] = [checkBootstrapDeps];
