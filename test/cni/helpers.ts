/**
 * Helpers for the CNI and observability release tests: specs from the reference files (mutated
 * the way a user would edit them), and walkers over Helm values. Expectations are computed from
 * the spec document, the Plan and the version locks — never from the renderers under test.
 */
import { strict as assert } from "node:assert";
import { buildPlan, type Plan } from "../../components/plan/plan";
import type { ClusterSpec } from "../../components/spec/schema";
import { validateSpecText } from "../../components/spec/validate";
import { block, clone, ip2n, parseSpec, toText, type SpecDoc } from "../plan/helpers";

export { DEV, HETZNER } from "../plan/helpers";
export type { SpecDoc };

export interface Built {
  doc: SpecDoc;
  spec: ClusterSpec;
  plan: Plan;
}

/** Validate (failing the test with the diagnostics when invalid) and build the plan. */
export function build(doc: SpecDoc): Built {
  const r = validateSpecText(toText(doc), "spec.yaml");
  const why = [...r.syntaxErrors.map((s) => s.message), ...r.errors.map((e) => `[${e.rule}] ${e.message}`)].join("\n");
  assert.ok(r.valid && r.spec, `spec unexpectedly invalid:\n${why}`);
  return { doc, spec: r.spec, plan: buildPlan(r.spec) };
}

/** Build from a spec text after applying `edit` to a copy of its document. */
export function edited(text: string, edit: (doc: SpecDoc) => void = () => {}): Built {
  const doc = clone(parseSpec(text));
  edit(doc);
  return build(doc);
}

/** Drop required acceptance gates that a mutated spec no longer deploys (as a user would). */
export function dropGates(doc: SpecDoc, ...gates: string[]): void {
  doc.spec.acceptance.required = doc.spec.acceptance.required.filter((g: string) => !gates.includes(g));
}

/** The name and CIDR of the plane with `purpose`, read from the spec document. */
export function planeOf(doc: SpecDoc, purpose: string): { name: string; cidr: string } {
  const found = Object.entries(doc.spec.networking.planes as Record<string, { cidr: string; purpose: string }>).find(
    ([, p]) => p.purpose === purpose,
  );
  assert.ok(found, `the spec has a ${purpose} plane`);
  return { name: found[0], cidr: found[1].cidr };
}

export function inCidr(ip: string, cidr: string): boolean {
  const b = block(cidr);
  const n = ip2n(ip);
  return n >= b.network && n < b.network + b.size;
}

/** Every leaf of a JSON-like value with its dotted path. */
export function leaves(v: unknown, at: string[] = []): Array<{ path: string[]; value: unknown }> {
  if (Array.isArray(v)) return v.flatMap((x, i) => leaves(x, [...at, String(i)]));
  if (v && typeof v === "object") return Object.entries(v).flatMap(([k, x]) => leaves(x, [...at, k]));
  return [{ path: at, value: v }];
}

/** Every object (at any depth) that has key `key`, with its path. */
export function objectsWith(v: unknown, key: string, at: string[] = []): Array<{ path: string[]; obj: Record<string, unknown> }> {
  const out: Array<{ path: string[]; obj: Record<string, unknown> }> = [];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...objectsWith(x, key, [...at, String(i)])));
  else if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (key in o) out.push({ path: at, obj: o });
    for (const [k, x] of Object.entries(o)) out.push(...objectsWith(x, key, [...at, k]));
  }
  return out;
}

export const IPV4 = /^\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}$/;

/** `quay.io/cilium/cilium` through mirror `m` → `m/cilium/cilium` (the registry host is replaced, the path kept). */
export function throughMirror(repository: string, mirror: string | undefined): string {
  if (!mirror) return repository;
  const [host, ...path] = repository.split("/");
  assert.ok(host.includes("."), `lock repository ${repository} names its registry`);
  return `${mirror}/${path.join("/")}`;
}
