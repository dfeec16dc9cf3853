/**
 * Bare metal: the hosts exist already. No substrate resource is created — the spec names each
 * host's address and SSH host key, and every later connection pins that key.
 */
import type { Plan } from "../plan/plan";
import type { SubstrateNode, SubstrateResult } from "./types";

export function createBareMetal(plan: Plan, sshUser: string): SubstrateResult {
  const nodes: SubstrateNode[] = plan.nodes.map((node) => ({
    name: node.name,
    role: node.role,
    failureDomain: node.failureDomain,
    uplinkAddress: node.placement.sshAddress!,
    ssh: {
      host: node.placement.sshAddress!,
      port: node.placement.sshPort ?? 22,
      user: sshUser,
      hostKey: node.placement.hostKey!,
    },
  }));
  return { nodes };
}
