/**
 * Stage 3 in the Pulumi graph: every node gets every plane's wg-quick config and brings the
 * plane up, or re-syncs it in place (`wg syncconf`: peers and keys change without tearing the
 * interface down). The rendered config travels on stdin as a secret; the command text carries
 * only a digest of the public part, so a changed mesh re-applies as an update, never a
 * replacement.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import type { Plan } from "../plan/plan";
import type { Stage } from "../stage";
import { sshConnection } from "../substrate/connection";
import type { SubstrateNode } from "../substrate/types";
import { renderNftables } from "../firstboot/nftables";
import { operatorKey } from "./keys";
import { operatorPlane, planePublicKeys, renderNodeBackplane, renderOperator } from "./render-node";
import { createRotation } from "./rotation";

export interface BackplaneResult {
  /** Per node and plane, the command that applied the plane. */
  planes: Map<string, command.remote.Command>;
  /** Per node, the command that enforces the inter-plane policy (nftables). */
  firewalls: Map<string, command.remote.Command>;
  /** The operator's wg-quick config for the control plane (secret). */
  operatorConfig?: pulumi.Output<string>;
}

/** The shell that installs /etc/wireguard/<plane>.conf from stdin and brings the plane up or in sync. */
export function applyPlaneScript(plane: string, publicDigest: string): string {
  const conf = `/etc/wireguard/${plane}.conf`;
  return [
    `# kubedos backplane ${plane}; mesh sha256 ${publicDigest}`,
    "set -eu",
    "umask 077",
    "sudo install -d -m 0700 /etc/wireguard",
    `sudo tee ${conf}.new >/dev/null`,
    `sudo chmod 0600 ${conf}.new`,
    `sudo mv ${conf}.new ${conf}`,
    `if ip link show ${plane} >/dev/null 2>&1; then`,
    `  sudo wg-quick strip ${plane} | sudo wg syncconf ${plane} /dev/stdin`,
    "else",
    `  sudo systemctl enable --now wg-quick@${plane}`,
    "fi",
    `sudo wg show ${plane} public-key`,
  ].join("\n");
}

/** Installs the rendered nftables ruleset (checked first with `nft -c`) and loads it atomically. */
export function applyFirewallScript(ruleset: string): string {
  if (ruleset.split("\n").includes(NFT_EOF)) throw new Error(`the ruleset contains the heredoc delimiter ${NFT_EOF}`);
  return [
    `# kubedos plane firewall; ruleset sha256 ${createHash("sha256").update(ruleset).digest("hex")}`,
    "set -eu",
    `cat > /tmp/kubedos-nftables.conf <<'${NFT_EOF}'`,
    ruleset.replace(/\n$/, ""),
    NFT_EOF,
    "sudo nft -c -f /tmp/kubedos-nftables.conf",
    "sudo install -m 0600 -o root -g root /tmp/kubedos-nftables.conf /etc/nftables.conf",
    "rm -f /tmp/kubedos-nftables.conf",
    "sudo nft -f /etc/nftables.conf",
  ].join("\n");
}

const NFT_EOF = "KUBEDOS_NFT_EOF";

export function createBackplane(
  stage: Stage,
  plan: Plan,
  nodes: SubstrateNode[],
  seed: pulumi.Output<string>,
  epoch: number,
  privateKey: pulumi.Input<string>,
): BackplaneResult {
  // Staged rotation first: on a new epoch it switches keys node by node; the plane commands
  // below then re-sync each node to a config that already matches.
  const rotation = createRotation(stage, plan, nodes, seed, epoch, privateKey);
  const planes = new Map<string, command.remote.Command>();
  // Every node's files come from the backplane renderer (render-node.ts), which derives each
  // plane's keys and peer blocks once and reuses them for every node — the same text
  // `kubedos render` writes. They are secrets: they hold the node's private keys.
  const nodeFiles = new Map(
    nodes.map((sn) => {
      const node = plan.nodes.find((n) => n.name === sn.name)!;
      return [
        sn.name,
        pulumi.secret(
          seed.apply((s) => renderNodeBackplane({ plan, node, seed: s, epoch }).map((f) => ({ plane: f.plane, content: f.content }))),
        ),
      ];
    }),
  );
  for (const plane of plan.planes) {
    // Re-apply when the mesh changes: the digest covers every peer's public key, address and
    // endpoint on the plane, and the epoch (the private key changes only with it). Public keys
    // decide nothing about the graph's shape; they are unsecreted because they are public.
    const meshDigest = pulumi.unsecret(
      seed.apply((s) => {
        const pubs = planePublicKeys({ plan, seed: s, epoch, plane: plane.name });
        const op = plane.reserved.operatorPeer ? operatorKey(s, plan.cluster.name, plane.name, epoch).publicKey : "-";
        const h = createHash("sha256").update(`plane=${plane.name};cidr=${plane.cidr};port=${plane.port};epoch=${epoch};operator=${op}\n`);
        for (const n of plan.nodes)
          h.update(`${n.name} ${pubs.get(n.name)} ${n.addresses[plane.name]} ${n.uplink?.address ?? n.placement.sshAddress}\n`);
        return h.digest("hex");
      }),
    );
    for (const sn of nodes) {
      const config = nodeFiles.get(sn.name)!.apply((files) => files.find((f) => f.plane === plane.name)!.content);
      const script = meshDigest.apply((d) =>
        applyPlaneScript(plane.name, createHash("sha256").update(`${d}\nnode=${sn.name}`).digest("hex")),
      );
      planes.set(
        `${sn.name}/${plane.name}`,
        new command.remote.Command(
          `${plan.cluster.name}-${sn.name}-${plane.name}`,
          { connection: sshConnection(sn.ssh, privateKey), create: script, update: script, stdin: config, logging: "none" },
          stage.childOpts({
            dependsOn: rotation
              .get(plane.name)!
              .slice(-1)
              .map((st) => st.command),
            additionalSecretOutputs: ["stdout", "stderr", "stdin"],
          }),
        ),
      );
    }
  }
  // The inter-plane policy (networking.policy) is part of each node's firewall: re-applied when
  // the rendered ruleset changes, after the planes exist.
  const firewalls = new Map<string, command.remote.Command>();
  for (const sn of nodes) {
    const node = plan.nodes.find((n) => n.name === sn.name)!;
    const script = applyFirewallScript(renderNftables(plan, node));
    const deps = plan.planes.map((p) => planes.get(`${node.name}/${p.name}`)!);
    firewalls.set(
      node.name,
      new command.remote.Command(
        `${plan.cluster.name}-${node.name}-plane-firewall`,
        { connection: sshConnection(sn.ssh, privateKey), create: script, update: script, logging: "stdoutAndStderr" },
        stage.childOpts({ dependsOn: deps }),
      ),
    );
  }
  const operatorConfig = operatorPlane(plan)
    ? pulumi.secret(seed.apply((s) => renderOperator({ plan, seed: s, epoch })!.content))
    : undefined;
  return { planes, firewalls, ...(operatorConfig ? { operatorConfig } : {}) };
}
