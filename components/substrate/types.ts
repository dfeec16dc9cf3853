/**
 * The substrate contract (Stage 1): whatever builds the machines — Proxmox VMs, Hetzner servers,
 * or existing bare-metal hosts — yields the same per-node facts for the stages after it.
 */
import type * as pulumi from "@pulumi/pulumi";
import type { PlanNode } from "../plan/plan";

export interface SshEndpoint {
  /** Address kubedos (the operator or CI host) connects to. */
  host: pulumi.Input<string>;
  port: number;
  user: string;
  /** The node's SSH host public key; every connection pins it. */
  hostKey: pulumi.Input<string>;
}

export interface SubstrateNode {
  name: string;
  role: PlanNode["role"];
  failureDomain: string;
  /** Address other nodes reach this one on (WireGuard endpoints). */
  uplinkAddress: pulumi.Input<string>;
  ssh: SshEndpoint;
  /** The resource whose creation means the machine exists; absent on bare metal. */
  machine?: pulumi.Resource;
}

export interface SubstrateResult {
  nodes: SubstrateNode[];
  /** Where the Kubernetes API is reached when the substrate provides it (Hetzner load balancer). */
  apiEndpoint?: pulumi.Input<string>;
}

/** What a substrate needs from the stages around it. */
export interface SubstrateInputs {
  /** Cloud-init user data per node (a secret: it carries the node's host key). */
  userData(node: PlanNode): pulumi.Output<string>;
  /** The node's pinned SSH host public key. */
  hostPublicKey(node: PlanNode): pulumi.Input<string>;
}
