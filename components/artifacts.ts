/**
 * Every artifact `kubedos render` writes and `pulumi up` seals, rendered in memory from a validated
 * plan: each node's firstboot, WireGuard and Kubernetes files, the Helm releases of Stage 6, the
 * bootstrap kit's Flux files, the cluster CA's CSR and pin, the operator's WireGuard config and the
 * plan. Shared by the CLI (cli/commands/render.ts) and the program's Stage 7 seal, so both hash the
 * same bytes.
 */
import * as path from "node:path";
import { stringify } from "yaml";
import { renderNodeBackplane, renderOperator } from "./backplane/render-node";
import { renderNodeFirstboot } from "./firstboot";
import { renderKitFiles, kitContext } from "./kit/flux";
import { KitError, readinessProbe, selectKit } from "./kit/select";
import type { Kit } from "./kit/types";
import { renderConvergeScript } from "./kubernetes/converge";
import { clusterCaCsr, clusterCaPin } from "./kubernetes/pki";
import { stage6Releases } from "./kubernetes/releases";
import { kubeadmConfigBlocker, renderNodeKubernetes } from "./kubernetes/render-node";
import type { Plan } from "./plan/plan";
import { deriveBytes, nodeHostKey } from "./secrets/derive";
import type { ClusterSpec } from "./spec/schema";
import { resolveKubernetes } from "./supplychain/locks";
import type { ExtraGate } from "./acceptance/report";
import { COMPONENTS, environmentProfile } from "./environment/profile";
import { environmentGates, type EnvironmentStatus } from "./environment/status";

export interface RenderedFile {
  path: string;
  mode: number;
  secret: boolean;
}

export interface Artifact extends RenderedFile {
  content: string;
}

/**
 * Every artifact of a validated plan (WireGuard keys of rotation `epoch`), in memory. Async only
 * because the cluster CA's CSR is signed with WebCrypto.
 */
export async function renderArtifacts(
  plan: Plan,
  spec: ClusterSpec,
  seed: string,
  epoch: number,
): Promise<{ files: Artifact[]; notes: string[] }> {
  const files: Artifact[] = [];
  const notes: string[] = [];
  const add = (rel: string, content: string, mode: number, secret: boolean) => files.push({ path: rel, content, mode, secret });
  const kube = kubernetesRender(plan, spec);
  if (kube.note) notes.push(kube.note);
  const unpinned: { nodes: string[]; why?: string } = { nodes: [] };
  for (const node of plan.nodes) {
    const hostKey = plan.substrate === "baremetal" ? undefined : nodeHostKey(seed, plan.cluster.name, node.name);
    for (const a of renderNodeFirstboot({ plan, node, ...(hostKey ? { hostKey } : {}) })) {
      add(path.join("nodes", node.name, a.path), a.content, a.mode, a.secret);
    }
    for (const f of renderNodeBackplane({ plan, node, seed, epoch })) {
      add(path.join("nodes", node.name, f.path), f.content, f.mode, f.secret);
    }
    if (!kube.render) continue;
    const blocker = kubeadmConfigBlocker(plan, spec, node);
    if (blocker) {
      unpinned.nodes.push(node.name);
      unpinned.why = blocker;
      continue;
    }
    // Stage 5 before Stage 6: the node's converge script (packages, runtime, the API load balancer).
    add(
      path.join("nodes", node.name, "converge.sh"),
      renderConvergeScript({ plan, node, kubernetes: resolveKubernetes(spec.spec.kubernetes.version) }),
      0o755,
      false,
    );
    for (const f of renderNodeKubernetes({ plan, spec, node, seed })) {
      add(path.join("nodes", node.name, f.path), f.content, f.mode, f.secret);
    }
  }
  if (kube.render) {
    // The Helm releases Stage 6 installs (chart, pinned version, source, values), one file each.
    const s6 = stage6Releases(plan, spec);
    const releases = [s6.cilium, ...s6.observability];
    for (const r of releases) add(path.join("helm", `${r.name}.yaml`), stringify(r, { lineWidth: 0 }), 0o644, false);
  }
  const kit = kitRender(plan, spec);
  if (kit.note) notes.push(kit.note);
  for (const f of kit.files) add(path.join("kit", f.path), f.content, 0o644, false);
  if (unpinned.why) notes.push(`no kubeadm files for ${unpinned.nodes.join(", ")}: ${unpinned.why}`);
  if (kube.render && spec.spec.security.bootstrap.model !== "to-fu") {
    // Public: the request for the seed-derived CA key, and the pin every join carries.
    // Deterministic (RFC 6979): the same seed writes the same bytes, so re-renders are byte-identical.
    add(path.join("pki", "cluster-ca.csr"), await clusterCaCsr(seed, plan.cluster.name), 0o644, false);
    add(path.join("pki", "cluster-ca.pin"), clusterCaPin(seed, plan.cluster.name) + "\n", 0o644, false);
  } else if (kube.render) {
    notes.push("no pki/cluster-ca.csr: under security.bootstrap.model to-fu kubeadm generates the cluster CA at init");
  }
  const operator = renderOperator({ plan, seed, epoch });
  if (operator) add(path.join("operator", operator.path), operator.content, operator.mode, operator.secret);
  add("plan.json", JSON.stringify(plan, null, 2) + "\n", 0o644, false);
  return { files, notes };
}

/**
 * Whether this spec gets kubeadm files. Disabled Kubernetes: none, silently. A version without a
 * lock: none, with a note — `validate` only warns about it (every earlier stage is still valid) and
 * Stage 6 refuses it with the same message.
 */
function kubernetesRender(plan: Plan, spec: ClusterSpec): { render: boolean; note?: string } {
  if (!spec.spec.kubernetes.enabled || !plan.controlPlaneEndpoint) return { render: false };
  try {
    resolveKubernetes(spec.spec.kubernetes.version);
    return { render: true };
  } catch (err) {
    return { render: false, note: `no kubeadm files: ${(err as Error).message}` };
  }
}

/**
 * The bootstrap kit as it sits in the GitOps repository (seed 000 §4): kit/clusters/<cluster>/
 * bootstrap-kit/NN-bp-<name>.yaml and its kustomization.yaml. Only with Kubernetes enabled (the kit
 * runs on the cluster), silently otherwise; a kit the spec cannot select is a note (`validate`'s
 * kit-dependencies rule refuses such a spec first). No credential is in these files: the HelmReleases
 * name the Secrets the Pulumi layer derives from the seed, in each blueprint's namespace.
 */
function kitRender(plan: Plan, spec: ClusterSpec): { files: Array<{ path: string; content: string }>; note?: string } {
  if (!spec.spec.kubernetes.enabled) return { files: [] };
  let kit: Kit;
  try {
    kit = selectKit(spec);
  } catch (err) {
    if (err instanceof KitError) return { files: [], note: `no kit/ files: ${err.message}` };
    throw err;
  }
  // The releases Stage 6 installs before Flux, with the values it installs them with (as apply.ts):
  // the blueprints that adopt them carry those values, so Flux's first upgrade changes nothing.
  const s6 = stage6Releases(plan, spec);
  const stage6 = [s6.cilium, ...s6.observability];
  return { files: renderKitFiles(kit, kitContext(plan, stage6)) };
}

/**
 * The bootstrap kit's readiness probes (seed 000 §5) as a report gate: they run on the cluster
 * (Stage 7 of `pulumi up` records their results), so a render lists them as not run.
 */
export function kitGate(spec: ClusterSpec): ExtraGate[] {
  if (!spec.spec.kubernetes.enabled) return [];
  let kit: Kit;
  try {
    kit = selectKit(spec);
  } catch {
    return [];
  }
  return [
    {
      name: "bootstrap-kit",
      title: "Bootstrap kit readiness (seed 000 §5)",
      checks: kit.blueprints.map((bp) => ({
        id: `bp-${bp.name}`,
        status: "not-run" as const,
        evidence: `probe: ${readinessProbe(bp, kit.domain)}`,
      })),
    },
  ];
}

/** A non-secret name for the seed (HKDF, one-way): which seed made a bundle, without the seed. */
export function seedId(seed: string, cluster: string): string {
  return `hkdf-sha256:${deriveBytes(seed, { cluster, component: "recovery-bundle", purpose: "seed-id" }, 16).toString("hex")}`;
}

/**
 * The environment reconcilers (seed 004 §6) as a report gate: one check per component from its
 * last apply (components/environment/status.ts).
 */
export function environmentGate(status: EnvironmentStatus): ExtraGate {
  return {
    name: "environment",
    title: "Environment profile reconcilers (seed 004)",
    checks: environmentGates(status).map((g) => ({ ...g, source: "pulumi" as const })),
  };
}

/** A render applies nothing: the profile's components are listed as not run. */
export function renderedEnvironmentGate(spec: ClusterSpec): ExtraGate[] {
  const profile = environmentProfile(spec);
  if (!profile) return [];
  return [
    {
      name: "environment",
      title: "Environment profile reconcilers (seed 004)",
      checks: COMPONENTS.map((c) => ({
        id: `environment-${c}`,
        status: "not-run" as const,
        evidence: `${profile[c].adapter.kind} adapter; applied by pulumi up (its Stage 6 reconciler)`,
      })),
    },
  ];
}
