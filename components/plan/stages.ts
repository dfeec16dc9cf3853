/**
 * The convergence DAG of seed 001 §14.1 as data: what each stage consumes and produces,
 * whether it is safe to re-run (§14.2), and which destruction boundary governs it.
 * Components hang their resources under the stage they belong to, and each stage depends
 * on the one before it, so the ordering guarantees of §14.3 are structural.
 */
import type { DestructiveFlag } from "../spec/constraints";
import type { ClusterSpec } from "../spec/schema";

export type StageKey = "spec" | "substrate" | "firstboot" | "backplane" | "enrollment" | "converge" | "kubernetes" | "seal";

export interface StageContract {
  index: number;
  key: StageKey;
  title: string;
  inputs: string[];
  outputs: string[];
  /** §14.2 "safe to re-run"; `once` marks one-time actions inside an otherwise safe stage. */
  idempotency: "safe" | "safe-with-once";
  /** §14.2 "can destroy". */
  destructive: "no" | "maybe";
  /** Flags that must be true before the stage may destroy anything (§14.2 "requires explicit opt-in"). */
  optIn: DestructiveFlag[];
  /** Stages that must be complete first. */
  dependsOn: StageKey[];
}

export interface PlannedStage extends StageContract {
  /** False when the spec switches the stage off (e.g. salt.enabled: false); it still orders the graph. */
  enabled: boolean;
  /** Which governing flags are true in this spec. */
  optedIn: DestructiveFlag[];
}

export const STAGE_CONTRACTS: readonly StageContract[] = [
  {
    index: 0,
    key: "spec",
    title: "Spec Validation",
    inputs: ["ClusterSpec", "schema", "policy constraints", "version locks"],
    outputs: ["validated + normalized spec", "rendered inventories", "target matrix", "plan graph"],
    idempotency: "safe",
    destructive: "no",
    optIn: [],
    dependsOn: [],
  },
  {
    index: 1,
    key: "substrate",
    title: "Substrate Provision",
    inputs: ["validated spec", "substrate credentials", "placement + storage policy"],
    outputs: ["nodes instantiated (VMs/instances)", "NIC attachments", "VLAN tags", "storage volumes", "metadata/tags"],
    idempotency: "safe",
    destructive: "maybe",
    optIn: ["allowDestroy"],
    dependsOn: ["spec"],
  },
  {
    index: 2,
    key: "firstboot",
    title: "Firstboot Identity + Baseline",
    inputs: ["target artifact", "node identity seed mechanism", "baseline hardening policy"],
    outputs: ["host identity", "SSH policy enforced", "firewall baseline", "immutable markers", "bootstrap logs"],
    idempotency: "safe",
    destructive: "no",
    optIn: [],
    dependsOn: ["substrate"],
  },
  {
    index: 3,
    key: "backplane",
    title: "Backplanes Up (WireGuard planes)",
    inputs: ["plane CIDRs + node assignments", "key material policy", "routing policy"],
    outputs: ["wg interfaces up", "routes installed", "plane firewall policy enforced"],
    idempotency: "safe",
    destructive: "no",
    optIn: [],
    dependsOn: ["firstboot"],
  },
  {
    index: 4,
    key: "enrollment",
    title: "Enrollment + Discovery",
    inputs: ["enrollment gating policy", "CA policy", "join tokens/pins", "node attest/identity"],
    outputs: ["authenticated membership", "peer inventory", "role mapping", "reachable matrix"],
    idempotency: "safe",
    destructive: "no",
    optIn: [],
    dependsOn: ["backplane"],
  },
  {
    index: 5,
    key: "converge",
    title: "Platform Converge",
    inputs: ["rendered inventories", "platform roles", "offline repos", "pinned payload manifests"],
    outputs: ["storage primitives prepared", "runtime deps installed", "services configured and bound to planes"],
    idempotency: "safe",
    destructive: "maybe",
    optIn: ["allowRepartition", "allowWipe"],
    dependsOn: ["enrollment"],
  },
  {
    index: 6,
    key: "kubernetes",
    title: "Reference Workload Bring-up (Kubernetes)",
    inputs: ["HA topology", "PKI policy", "kubeadm config", "Cilium/Hubble config", "offline registries"],
    outputs: ["HA control plane", "workers joined", "Cilium + Hubble healthy", "baseline observability online"],
    idempotency: "safe-with-once",
    destructive: "maybe",
    optIn: ["allowReset"],
    dependsOn: ["converge"],
  },
  {
    index: 7,
    key: "seal",
    title: "Seal + Emit",
    inputs: ["final state inventory", "test results", "manifests", "SBOM/provenance/signature policy"],
    outputs: ["recovery bundle", "signed manifests", "snapshot/template seals", "CI artifacts"],
    idempotency: "safe",
    destructive: "no",
    optIn: [],
    dependsOn: ["kubernetes"],
  },
];

export function planStages(spec: ClusterSpec, flags: Record<DestructiveFlag, boolean>): PlannedStage[] {
  const s = spec.spec;
  const enabled: Record<StageKey, boolean> = {
    spec: true,
    substrate: true,
    firstboot: true,
    backplane: true,
    enrollment: s.orchestration.salt.enabled,
    converge: s.orchestration.ansible.enabled,
    kubernetes: s.kubernetes.enabled,
    seal: true,
  };
  return STAGE_CONTRACTS.map((c) => ({
    ...c,
    inputs: [...c.inputs],
    outputs: [...c.outputs],
    optIn: [...c.optIn],
    dependsOn: [...c.dependsOn],
    enabled: enabled[c.key],
    optedIn: c.optIn.filter((f) => flags[f]),
  }));
}
