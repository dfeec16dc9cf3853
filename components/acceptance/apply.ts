/**
 * Stage 7's acceptance gates as Pulumi resources: one `command:remote` per gate command
 * (gates.ts), on the node it checks, after every earlier stage. Their stdout is the evidence the
 * acceptance report is built from; they re-run when the spec changes (trigger: the spec digest),
 * so a report always speaks for the cluster as it now is.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import type { Stage } from "../stage";
import { sshConnection } from "../substrate/connection";
import type { SubstrateNode } from "../substrate/types";
import { GATE_MARKER, gateCommands, parseGateOutput } from "./gates";
import type { Observation } from "./report";

export interface AcceptanceGatesResult {
  commands: Map<string, command.remote.Command>;
  /** Every observation the gates printed (known once they have run). */
  observations: pulumi.Output<Observation[]>;
}

export function createAcceptanceGates(
  stage: Stage,
  plan: Plan,
  spec: ClusterSpec,
  nodes: SubstrateNode[],
  sshKey: pulumi.Input<string>,
): AcceptanceGatesResult {
  const cluster = plan.cluster.name;
  const byNode = new Map(nodes.map((n) => [n.name, n]));
  const commands = new Map<string, command.remote.Command>();
  const outputs: pulumi.Output<Observation[]>[] = [];
  for (const g of gateCommands(plan, spec)) {
    const node = byNode.get(g.node);
    if (!node) continue;
    const cmd = new command.remote.Command(
      `${cluster}-${g.name}`,
      {
        connection: sshConnection(node.ssh, sshKey),
        create: `${GATE_MARKER} ${g.gates.join(" + ")} on ${g.node} (seed 001 §17.1)\nsudo env KUBECONFIG=/etc/kubernetes/admin.conf bash -s`,
        stdin: g.script,
        triggers: [plan.specDigest],
        logging: "stdoutAndStderr",
      },
      stage.childOpts({}),
    );
    commands.set(g.name, cmd);
    outputs.push(cmd.stdout.apply((out) => parseGateOutput(out ?? "", g)));
  }
  return { commands, observations: pulumi.all(outputs).apply((all) => all.flat()) };
}
