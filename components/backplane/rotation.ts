/**
 * Staged WireGuard key rotation (seed 001 §18.3): when the epoch changes, nodes switch keys one
 * at a time, per plane, in a fixed order — each step is a resource, chained by dependsOn, so the
 * order is visible in the graph. A step tells every peer the node's new public key (endpoint
 * only, no keepalive: an early handshake would be refused and cost WireGuard's 5 s retry), then
 * switches the node's private key, then drops the old key from the peers. The plane stays up
 * throughout; the lab's rotate drill measures the loss window (goal: zero).
 *
 * The steps run on the machine running Pulumi and reach the nodes over SSH with their pinned
 * host keys. They run before the per-node plane commands, which then re-sync to a config that
 * already matches. On first bring-up (no interface yet) a step does nothing: the plane command
 * starts the interface with the epoch's key.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import type { Plan, PlanPlane } from "../plan/plan";
import type { Stage } from "../stage";
import type { SubstrateNode } from "../substrate/types";
import { nodePlaneKey } from "./keys";
import { peerAllowedIps } from "./wg-quick";

export interface RotationStep {
  plane: string;
  node: string;
  command: command.local.Command;
}

/** Nodes in the order they rotate: by name, so the order never depends on inventory order. */
export function rotationOrder(plan: Plan): string[] {
  return plan.nodes.map((n) => n.name).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** The bash a step runs. Hosts and host keys are resolved values; the new private key arrives on stdin. */
export function rotationScript(args: {
  plan: Plan;
  plane: PlanPlane;
  node: string;
  step: number;
  epoch: number;
  newPublicKey: string;
  /** SSH endpoint per node (host, port, user, hostKey). */
  ssh: Record<string, { host: string; port: number; user: string; hostKey: string }>;
}): string {
  const { plan, plane, node, newPublicKey } = args;
  const target = plan.nodes.find((n) => n.name === node)!;
  const peers = rotationOrder(plan).filter((n) => n !== node);
  const endpoint = `${target.uplink?.address ?? target.placement.sshAddress}:${plane.port}`;
  const ownAddress = `${target.addresses[plane.name]}/32`;
  const allowed = peerAllowedIps(plan, plane, target).replace(/\s+/g, "");
  const knownHosts = Object.values(args.ssh).map(
    (e) => `${e.port === 22 ? e.host : `[${e.host}]:${e.port}`} ${e.hostKey.split(" ").slice(0, 2).join(" ")}`,
  );
  const at = (n: string) => `${args.ssh[n].user}@${args.ssh[n].host}" "${args.ssh[n].port}`;
  const wg = plane.name;
  return [
    `# kubedos staged rotation: plane ${wg}, step ${args.step}/${plan.nodes.length}, node ${node} -> epoch ${args.epoch}`,
    "set -euo pipefail",
    "umask 077",
    'dir="$(mktemp -d)"',
    "trap 'rm -rf \"$dir\"' EXIT",
    'printf \'%s\\n\' "$KUBEDOS_SSH_KEY" > "$dir/id"',
    "cat > \"$dir/known_hosts\" <<'KUBEDOS_HOSTS_EOF'",
    ...knownHosts,
    "KUBEDOS_HOSTS_EOF",
    'new_key="$(cat)"',
    'ssh_() { local target="$1" port="$2"; shift 2; ssh -i "$dir/id" -o UserKnownHostsFile="$dir/known_hosts" -o StrictHostKeyChecking=yes -o BatchMode=yes -o ConnectTimeout=10 -p "$port" "$target" "$@"; }',
    `if ! ssh_ "${at(node)}" ip link show ${wg} >/dev/null 2>&1; then echo "${node}: ${wg} is not up yet; its plane command starts it with epoch ${args.epoch}'s key"; exit 0; fi`,
    `if [ "$(ssh_ "${at(node)}" sudo wg show ${wg} public-key)" = "${newPublicKey}" ]; then echo "${node}: ${wg} already on epoch ${args.epoch}"; exit 0; fi`,
    // One line per peer ("user@host port"), read by loops: the script grows by a few bytes per
    // peer, not by a command per peer (it is rendered once per node and plane).
    "cat > \"$dir/peers\" <<'KUBEDOS_PEERS_EOF'",
    ...peers.map((p) => `${args.ssh[p].user}@${args.ssh[p].host} ${args.ssh[p].port}`),
    "KUBEDOS_PEERS_EOF",
    "# 1. every peer learns the new key (endpoint only: no keepalive until the node has switched)",
    `while read -r target port; do ssh_ "$target" "$port" sudo wg set ${wg} peer ${newPublicKey} endpoint ${endpoint} allowed-ips ${allowed} </dev/null & done < "$dir/peers"`,
    "wait",
    "# 2. the node switches its private key",
    `printf '%s\\n' "$new_key" | ssh_ "${at(node)}" sudo wg set ${wg} private-key /dev/stdin`,
    "# 3. peers drop the old key and keep the new one alive",
    `drop="sudo wg show ${wg} allowed-ips | awk -v k='${newPublicKey}' -v a='${ownAddress}' '\\$1 != k && index(\\$0, a) { print \\$1 }' | xargs -r -I{} sudo wg set ${wg} peer {} remove; sudo wg set ${wg} peer ${newPublicKey} persistent-keepalive 25"`,
    'while read -r target port; do ssh_ "$target" "$port" "$drop" </dev/null & done < "$dir/peers"',
    "wait",
    `echo "${node}: ${wg} rotated to epoch ${args.epoch}"`,
  ].join("\n");
}

/**
 * One chain of steps per plane. Returns the last step of each plane's chain, which that plane's
 * per-node commands wait for.
 */
export function createRotation(
  stage: Stage,
  plan: Plan,
  nodes: SubstrateNode[],
  seed: pulumi.Output<string>,
  epoch: number,
  sshPrivateKey: pulumi.Input<string>,
): Map<string, RotationStep[]> {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const ssh = pulumi
    .all(
      nodes.map((n) =>
        pulumi
          .all([n.ssh.host, n.ssh.hostKey])
          .apply(([host, hostKey]) => [n.name, { host, port: n.ssh.port, user: n.ssh.user, hostKey }] as const),
      ),
    )
    .apply((entries) => Object.fromEntries(entries));
  const chains = new Map<string, RotationStep[]>();
  for (const plane of plan.planes) {
    const steps: RotationStep[] = [];
    rotationOrder(plan).forEach((node, i) => {
      if (!byName.has(node)) return;
      const publicKey = pulumi.unsecret(seed.apply((s) => nodePlaneKey(s, plan.cluster.name, plane.name, node, epoch).publicKey));
      const privateKey = pulumi.secret(seed.apply((s) => nodePlaneKey(s, plan.cluster.name, plane.name, node, epoch).privateKey));
      const script = pulumi
        .all([publicKey, ssh])
        .apply(([pub, endpoints]) => rotationScript({ plan, plane, node, step: i + 1, epoch, newPublicKey: pub, ssh: endpoints }));
      const previous = steps[steps.length - 1];
      const cmd = new command.local.Command(
        `${plan.cluster.name}-${plane.name}-rotate-${node}`,
        {
          create: script,
          interpreter: ["/bin/bash", "-c"],
          stdin: privateKey,
          environment: { KUBEDOS_SSH_KEY: pulumi.secret(sshPrivateKey) },
          logging: "none",
          // A new epoch replaces the step, which re-runs it; nothing else does.
          triggers: [epoch],
        },
        stage.childOpts({
          dependsOn: previous ? [previous.command] : [],
          additionalSecretOutputs: ["stdout", "stderr", "stdin", "environment"],
        }),
      );
      steps.push({ plane: plane.name, node, command: cmd });
    });
    chains.set(plane.name, steps);
  }
  return chains;
}
