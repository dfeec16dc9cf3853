/**
 * Helpers for the Stage 2 (firstboot) tests: the fixture plans, a fixed master seed, the golden
 * directory layout, and the real-tool runner (with the skip-or-fail rule for missing tools).
 */
import { mkdtempSync, rmSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { renderNodeFirstboot, type FirstbootArtifact } from "../../components/firstboot";
import type { Plan, PlanNode } from "../../components/plan/plan";
import { nodeHostKey, type SshKeyPair } from "../../components/secrets/derive";
import { BAREMETAL, DEV, HETZNER, parseSpec, planOf, PROD, repoPath, toText } from "../plan/helpers";

/** The master seed every golden file is rendered with. Public and fixed: it protects nothing. */
export const TEST_SEED = "kubedos-golden-test-seed-0001";

export const GOLDEN_ROOT = repoPath("test", "golden", "firstboot");

/** A PGP armor block in the shape the spec schema accepts (not a real key; cloud-init never parses it in tests). */
export const FAKE_SIGNING_KEY =
  "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nmDMEZkubedosFAKEKEYFORTESTSONLYAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\n=AAAA\n-----END PGP PUBLIC KEY BLOCK-----\n";
export const MIRROR_URL = "http://mirror.lab.example/debian";

/** The dev spec with an apt mirror (and its signing key unless `signed` is false). */
export function devWithMirror(signed = true): Plan {
  const doc = parseSpec(DEV);
  doc.spec.mirrors = {
    apt: { url: MIRROR_URL, suite: "bookworm", components: ["main", "contrib"], ...(signed ? { signingKey: FAKE_SIGNING_KEY } : {}) },
  };
  return planOf(toText(doc));
}

/**
 * The dev plan air-gapped without a mirror and without allowFrom: no apt source at all, and SSH
 * over the control plane only (the fixtures may declare both; this variant keeps the other branch
 * of each renderer covered whatever they declare).
 */
export function devBare(): Plan {
  const dev = planOf(DEV);
  return { ...dev, mirrors: {}, ssh: { ...dev.ssh, allowFrom: [] } };
}

export const PLANS = {
  dev: planOf(DEV),
  prod: planOf(PROD),
  hetzner: planOf(HETZNER),
  baremetal: planOf(BAREMETAL),
};

export type FixtureName = keyof typeof PLANS;

/** The golden set: every dev node, one node of each other fixture (bare-metal cp-3 listens on 2222). */
export const GOLDEN_NODES: ReadonlyArray<{ fixture: FixtureName; node: string }> = [
  ...PLANS.dev.nodes.map((n) => ({ fixture: "dev" as const, node: n.name })),
  { fixture: "prod", node: "cp-1" },
  { fixture: "hetzner", node: "cp-1" },
  { fixture: "baremetal", node: "cp-3" },
];

export function nodeOf(plan: Plan, name: string): PlanNode {
  const n = plan.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`no node ${name} in ${plan.cluster.name}`);
  return n;
}

export function hostKeyOf(plan: Plan, node: string): SshKeyPair {
  return nodeHostKey(TEST_SEED, plan.cluster.name, node);
}

export interface Rendered {
  label: string;
  plan: Plan;
  node: PlanNode;
  hostKey: SshKeyPair;
  artifacts: FirstbootArtifact[];
}

export function render(plan: Plan, node: string, label = `${plan.cluster.name}/${node}`): Rendered {
  const n = nodeOf(plan, node);
  const hostKey = hostKeyOf(plan, node);
  return { label, plan, node: n, hostKey, artifacts: renderNodeFirstboot({ plan, node: n, hostKey }) };
}

export function artifact(r: Rendered, name: string): string {
  const a = r.artifacts.find((x) => x.path === name);
  if (!a) throw new Error(`${r.label} has no ${name}`);
  return a.content;
}

/** Every golden node, plus variants the goldens may not cover (a mirror with and without key; neither mirror nor allowFrom). */
export function renderAll(): Rendered[] {
  return [
    ...GOLDEN_NODES.map((g) => render(PLANS[g.fixture], g.node, `${g.fixture}/${g.node}`)),
    render(devWithMirror(true), "w-2", "dev+signed-mirror/w-2"),
    render(devWithMirror(false), "cp-2", "dev+mirror/cp-2"),
    render(devBare(), "w-3", "dev-no-mirror-no-allowfrom/w-3"),
  ];
}

/**
 * The golden form of an artifact: identical, except that cloud-init.yaml's host private key is
 * replaced by a marker, so no private key (even a test one) is committed. The key itself is
 * checked separately (it equals nodeHostKey(TEST_SEED, …) and ssh-keygen reads it).
 */
export function goldenForm(a: FirstbootArtifact): string {
  return a.content.replace(
    /-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]*?-----END OPENSSH PRIVATE KEY-----/,
    "<redacted: ed25519 host private key, nodeHostKey(TEST_SEED, cluster, node)>",
  );
}

// ---------------------------------------------------------------- real tools

export { TOOL_PACKAGES, findTool, skipOrFail, requireTool, requireRoot, run, runSync, type RunResult } from "../support/tools";

/** A fresh temp dir, removed by the returned cleanup. */
export function tempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `kubedos-${prefix}-`));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Await every check; fail with all problems at once. */
export async function allOk(checks: Array<Promise<string | undefined>>): Promise<void> {
  const problems = (await Promise.all(checks)).filter((p): p is string => p !== undefined);
  if (problems.length > 0) throw new Error(`${problems.length} artifact(s) rejected:\n\n${problems.join("\n\n")}`);
}
