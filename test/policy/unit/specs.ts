/**
 * Typed ClusterSpecs for the policy unit tests: the dev stack's spec (stacks/dev/cluster.yaml)
 * parsed through Stage 0, a clean variant of it (no errors, no warnings), and `edited`, which
 * mutates a deep copy of a typed spec. `stage0` runs validateSpecText on the same spec printed
 * as YAML, so a test can compare what the pack reports with what `kubedos validate` reports.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { stringify } from "yaml";
import { formatPath, type Diagnostic } from "../../../components/spec/diagnostics";
import type { ClusterSpec } from "../../../components/spec/schema";
import { validateSpecText, type ValidationResult } from "../../../components/spec/validate";

/** Repository root: this file runs from dist/test/policy/unit. */
export const REPO_ROOT = path.resolve(__dirname, "..", "..", "..", "..");
export const readRepo = (...p: string[]): string => readFileSync(path.join(REPO_ROOT, ...p), "utf8");

/** validateSpecText on a spec given as data (printed as YAML first, as a user would write it). */
export function stage0(spec: unknown): ValidationResult {
  return validateSpecText(stringify(spec, { lineWidth: 0 }), "spec.yaml");
}

/** The typed spec of a text that Stage 0 accepts; throws with the diagnostics otherwise. */
export function typedSpec(text: string, file: string): ClusterSpec {
  const r = validateSpecText(text, file);
  if (!r.valid || !r.spec) {
    throw new Error(`${file} is not a valid ClusterSpec:\n${[...r.syntaxErrors, ...r.errors].map((d) => d.message).join("\n")}`);
  }
  return r.spec;
}

/** A deep copy of `spec` with `edit` applied (edit freely: the original is never touched). */
export function edited(spec: ClusterSpec, edit: (s: ClusterSpec) => void): ClusterSpec {
  const copy = structuredClone(spec);
  edit(copy);
  return copy;
}

/** The dev stack's spec: valid, one warning (failure-domain-quorum: two racks for three control planes). */
export const DEV_SPEC: ClusterSpec = typedSpec(readRepo("stacks", "dev", "cluster.yaml"), "stacks/dev/cluster.yaml");

/**
 * The seed's illustrative spec (seed 001 §15.2): valid, with nine warnings (no Proxmox hosts, template,
 * underlay, allowFrom, apt mirror or authorized key; two control planes in rack-a; the REDACTED fingerprint;
 * the end-of-life Kubernetes v1.30.x, which has no version lock).
 */
export const SEED_SPEC: ClusterSpec = typedSpec(readRepo("test", "fixtures", "seed-15.2.yaml"), "test/fixtures/seed-15.2.yaml");

/** The dev spec with a third rack (cp-3 and a host in it): no errors and no warnings. */
export const CLEAN_SPEC: ClusterSpec = edited(DEV_SPEC, (s) => {
  s.spec.nodes.failureDomains.push({ name: "rack-c" });
  s.spec.nodes.inventory[2].failureDomain = "rack-c";
  if (s.spec.substrate.type !== "proxmox") throw new Error("the dev spec is a Proxmox spec");
  s.spec.substrate.proxmox.hosts = [...(s.spec.substrate.proxmox.hosts ?? []), { name: "pve-c1", failureDomain: "rack-c" }];
});

/** CLEAN_SPEC with Ceph enabled: size 3 / minSize 2 over three racks, an OSD disk on each control plane, a storage plane wg4. */
export const CEPH_SPEC: ClusterSpec = edited(CLEAN_SPEC, (s) => {
  s.spec.networking.planes.wg4 = { cidr: "10.114.0.0/24", purpose: "storage" };
  for (const i of [0, 1, 2]) s.spec.nodes.inventory[i].disks!.push({ pool: "local-zfs", sizeGiB: 256, purpose: "ceph-osd" });
  s.spec.storage.ceph = {
    enabled: true,
    size: 3,
    minSize: 2,
    failureDomains: ["rack-a", "rack-b", "rack-c"],
    plane: "wg4",
    recovery: { maxBackfills: 1, maxActive: 3, downOutIntervalMinutes: 10 },
  };
});

/** A diagnostic as its rule's policy prints it. */
export const asPolicyMessage = (d: Pick<Diagnostic, "rule" | "path" | "message">): string =>
  `The ClusterSpec must satisfy ${d.rule}: ${formatPath(d.path)}: ${d.message}`;

/** A warning as clusterspec-warnings prints it. */
export const asWarningMessage = (d: Pick<Diagnostic, "rule" | "path" | "message">): string =>
  `The ClusterSpec must satisfy ${d.rule} (a warning): ${formatPath(d.path)}: ${d.message}`;
