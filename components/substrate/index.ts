/** Stage 1: one substrate interface, three implementations, chosen by `substrate.type`. */
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import type { Stage } from "../stage";
import { createBareMetal } from "./baremetal";
import { createHetzner } from "./hetzner";
import { createProxmox } from "./proxmox";
import type { SubstrateInputs, SubstrateResult } from "./types";

export type { SshEndpoint, SubstrateInputs, SubstrateNode, SubstrateResult } from "./types";

export function createSubstrate(stage: Stage, plan: Plan, spec: ClusterSpec, inputs: SubstrateInputs): SubstrateResult {
  const type = spec.spec.substrate.type;
  switch (type) {
    case "proxmox":
      return createProxmox(stage, plan, spec, inputs);
    case "hetzner":
      return createHetzner(stage, plan, spec, inputs);
    case "baremetal":
      return createBareMetal(
        plan,
        (spec.spec.substrate as Extract<ClusterSpec["spec"]["substrate"], { type: "baremetal" }>).baremetal.sshUser,
      );
    default: {
      const never: never = type;
      throw new Error(`unknown substrate type ${String(never)}`);
    }
  }
}
