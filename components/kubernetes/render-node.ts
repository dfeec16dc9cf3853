/**
 * Stage 6 files of one node, as `kubedos render` writes them under nodes/<node>/ and the
 * Kubernetes stage copies them to /etc/kubernetes (pure: no Pulumi, no I/O, no clock).
 *
 *   kubeadm.yaml                 0600  init (first control plane) or join config; holds the
 *                                      bootstrap token and the certificate key
 *   kubeadm-patches/<file>       0644  per-node bindings to the Kubernetes plane (kubeadm.ts)
 *   audit-policy.yaml            0644  control planes: the API server's audit policy
 *   encryption-config.yaml       0600  control planes: the key that encrypts Secrets at rest
 *
 * Credentials derive from the master seed (tokens.ts). The bootstrap token and the certificate
 * key use JOIN_EPOCH: see there for why a fixed epoch is right. Joins are pinned to the
 * seed-derived cluster CA (pki.ts clusterCaPin) under offline-ca and pinned-ca; under to-fu
 * kubeadm makes its own CA at init, so the only pin is the one the operator copies into
 * security.bootstrap.caFingerprint afterwards, and a join without it is refused
 * (kubeadmConfigBlocker), never rendered unpinned.
 */
import type { Plan, PlanNode } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import {
  initNode,
  kubeadmSpecInputs,
  KUBEADM_PATCH_DIR,
  renderAuditPolicy,
  renderEncryptionConfig,
  renderKubeadmConfig,
  renderKubeadmPatches,
} from "./kubeadm";
import { clusterCaPin } from "./pki";
import { bootstrapToken, certificateKey, encryptionKey } from "./tokens";

export interface KubernetesFile {
  /** Relative to the node's directory: `kubeadm.yaml`, `kubeadm-patches/<file>`, … */
  path: string;
  content: string;
  mode: number;
  /** True for files that hold a credential: stored 0600, never logged. */
  secret: boolean;
}

export interface NodeKubernetesInput {
  plan: Plan;
  spec: ClusterSpec;
  node: PlanNode | string;
  /** Master seed (secrets/derive.ts). */
  seed: string;
  /**
   * The control-plane endpoint's address when the plan's endpoint is a load balancer. Defaults to
   * the address the substrate fixes for it (hetznerLoadBalancerAddress); pass the substrate's
   * apiEndpoint when it is known, so the two cannot drift.
   */
  loadBalancerAddress?: string;
}

/**
 * The epoch of the bootstrap token and of the certificate key. Fixed at 0 because a rendered
 * config must be reproducible (render twice, same bytes; the Pulumi stage re-renders on every
 * update) and because the token is short-lived where it matters — on the cluster: init creates
 * it with ttl joinWindowMinutes, and each later join window re-creates the same token for that
 * ttl and re-uploads the control-plane certificates with the same key (kubernetes/apply.ts,
 * joinWindowScript, reads both back from the init node's kubeadm.yaml).
 * Outside a window neither is accepted by anything. The cost: a leaked rendered kubeadm.yaml is
 * usable during every future window, which is why the file is 0600 and never logged. A
 * time-based epoch would make renders depend on the clock and need the cluster-side token to
 * follow it.
 */
export const JOIN_EPOCH = 0;

/** Host index of the Hetzner API load balancer on the private network (one constant, shared with the substrate). */
export { LOAD_BALANCER_HOST_INDEX as HETZNER_LOAD_BALANCER_HOST_INDEX } from "../plan/kubernetes-networks";

/**
 * The Hetzner load balancer's private address, known offline: substrate/hetzner.ts attaches it
 * to the private network (the plan's underlay) at a fixed host index. Undefined when the plan has
 * no load-balancer endpoint or no underlay to place it on.
 */
export function hetznerLoadBalancerAddress(plan: Plan): string | undefined {
  const ep = plan.controlPlaneEndpoint;
  return ep?.kind === "load-balancer" ? ep.address : undefined;
}

/** The pins every join carries: the seed-derived cluster CA, or none (to-fu: see the header). */
export function joinCaPins(spec: ClusterSpec, seed: string): string[] | undefined {
  return spec.spec.security.bootstrap.model === "to-fu" ? undefined : [clusterCaPin(seed, spec.metadata.name)];
}

const SPKI_PIN_RE = /^sha256:[0-9a-f]{64}$/i;

/**
 * Why kubeadm.yaml cannot be rendered for this node, or undefined when it can. The one case a
 * valid spec reaches: a join under to-fu before the operator has recorded the CA's pin.
 */
export function kubeadmConfigBlocker(plan: Plan, spec: ClusterSpec, node: PlanNode | string): string | undefined {
  const name = typeof node === "string" ? node : node.name;
  const b = spec.spec.security.bootstrap;
  if (b.model !== "to-fu" || name === initNode(plan).name) return undefined;
  if (b.caFingerprint && SPKI_PIN_RE.test(b.caFingerprint)) return undefined;
  return (
    "security.bootstrap.model is to-fu: kubeadm generates the cluster CA at init, so no join can be pinned until " +
    "security.bootstrap.caFingerprint holds the sha256:<64 hex> CA public-key hash kubeadm init prints"
  );
}

/** Every Stage 6 file of one node (see the header). Throws when Kubernetes is disabled or the version has no lock. */
export function renderNodeKubernetes(i: NodeKubernetesInput): KubernetesFile[] {
  const { plan, spec, seed } = i;
  const cluster = plan.cluster.name;
  if (!spec.spec.kubernetes.enabled) {
    throw new Error(`kubernetes.enabled is false for ${cluster}: there is no kubeadm configuration to render`);
  }
  const node = typeof i.node === "string" ? plan.nodes.find((n) => n.name === i.node) : i.node;
  if (!node) throw new Error(`node ${String(i.node)} is not in the plan of ${cluster}`);
  const blocker = kubeadmConfigBlocker(plan, spec, node);
  if (blocker) throw new Error(`cannot render kubeadm.yaml for ${node.name}: ${blocker}`);

  // Throws resolveKubernetes's message ("has no version lock; kubedos builds …") for an unlocked line.
  const specInputs = kubeadmSpecInputs(spec);
  const lb = i.loadBalancerAddress ?? hetznerLoadBalancerAddress(plan);
  const pins = joinCaPins(spec, seed);
  const kubeadm = renderKubeadmConfig({
    ...specInputs,
    plan,
    node,
    token: bootstrapToken(seed, cluster, JOIN_EPOCH),
    certificateKey: certificateKey(seed, cluster, JOIN_EPOCH),
    ...(pins ? { caCertHashes: pins } : {}),
    ...(lb ? { loadBalancerAddress: lb } : {}),
  });

  const files: KubernetesFile[] = [{ path: "kubeadm.yaml", content: kubeadm, mode: 0o600, secret: true }];
  const patchDir = KUBEADM_PATCH_DIR.split("/").pop()!; // "kubeadm-patches", as on the node
  const patches = renderKubeadmPatches(plan, node);
  for (const name of Object.keys(patches).sort()) {
    files.push({ path: `${patchDir}/${name}`, content: patches[name], mode: 0o644, secret: false });
  }
  if (node.role === "control-plane") {
    files.push({ path: "audit-policy.yaml", content: renderAuditPolicy(), mode: 0o644, secret: false });
    files.push({
      path: "encryption-config.yaml",
      content: renderEncryptionConfig(encryptionKey(seed, cluster)),
      mode: 0o600,
      secret: true,
    });
  }
  return files;
}
