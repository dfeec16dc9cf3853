/**
 * Stage 2 — Firstboot Identity + Baseline (seed 001 §14.1): every artifact of one node, rendered
 * from the Plan by pure functions (no Pulumi, no I/O). The substrate stage hands cloud-init.yaml
 * to the VM as user data; the other files are the same artifacts on their own, for review,
 * golden tests, and bare-metal hosts (which are reached over SSH instead of cloud-init).
 */
import type { Plan, PlanNode } from "../plan/plan";
import type { SshKeyPair } from "../secrets/derive";
import { baselineFiles, renderCloudInit } from "./cloud-init";
import { NODE_PATHS, resolveNode } from "./common";

export { renderCloudInit, baselineFiles, APT_MIRROR_SOURCE, type CloudInitInput, type NodeFile } from "./cloud-init";
export { NODE_PATHS, FQDN_SUFFIX, nodeFqdn, ALL_FLAGS_FALSE } from "./common";
export { renderAuditRules, renderJournald, AUDIT_RULES } from "./logging";
export { renderNftables, wireguardSources, controlPlane, type WireguardSources } from "./nftables";
export { renderFirstbootScript, renderIdentityJson, nodeIdentity, identityLine, FIRSTBOOT_EXIT, type NodeIdentity } from "./script";
export { renderSshdConfig, sshdSettings, KEX_ALGORITHMS, CIPHERS, MACS, KEY_ALGORITHMS } from "./sshd";
export { renderSysctl, SYSCTL_BASELINE, type SysctlSetting } from "./sysctl";

export interface FirstbootArtifact {
  /** File name relative to the node's artifact directory, e.g. "cloud-init.yaml". */
  path: string;
  content: string;
  /** Octal mode the file is written with (0o600 for secrets). */
  mode: number;
  /** True when the content embeds key material: store it as a secret, never log it. */
  secret: boolean;
  /** Where the file is installed on the node (absent for cloud-init.yaml, which is user data). */
  nodePath?: string;
}

export interface NodeFirstbootInput {
  plan: Plan;
  node: PlanNode;
  /**
   * The node's SSH host key (secrets/derive.ts nodeHostKey). Required unless the node is a
   * bare-metal host: those already exist, keep the host key the spec pins, and get no
   * cloud-init.yaml.
   */
  hostKey?: SshKeyPair;
}

/** Relative artifact names, by installed path. */
const ARTIFACT_NAMES: Record<string, string> = {
  [NODE_PATHS.sshdConfig]: "sshd_config",
  [NODE_PATHS.nftables]: "nftables.nft",
  [NODE_PATHS.sysctl]: "sysctl.conf",
  [NODE_PATHS.journald]: "journald.conf",
  [NODE_PATHS.auditRules]: "audit.rules",
  [NODE_PATHS.script]: "firstboot.sh",
};

/** Every Stage 2 artifact of `node`: cloud-init.yaml (secret; not on bare metal) and the baseline files. */
export function renderNodeFirstboot({ plan, node, hostKey }: NodeFirstbootInput): FirstbootArtifact[] {
  const n = resolveNode(plan, node);
  const out: FirstbootArtifact[] = [];
  if (plan.substrate !== "baremetal") {
    if (!hostKey) throw new Error(`node ${n.name} needs its host key (secrets/derive.ts nodeHostKey) to render cloud-init.yaml`);
    out.push({ path: "cloud-init.yaml", content: renderCloudInit({ plan, node: n, hostKey }), mode: 0o600, secret: true });
  }
  for (const f of baselineFiles(plan, n)) {
    out.push({ path: ARTIFACT_NAMES[f.path], content: f.content, mode: f.mode, secret: false, nodePath: f.path });
  }
  return out;
}
