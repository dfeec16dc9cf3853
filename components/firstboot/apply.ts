/**
 * Stage 2 in the Pulumi graph. On Proxmox and Hetzner, cloud-init applies the rendered baseline
 * at first boot; this stage waits for the node's readiness signal. Bare-metal hosts get the same
 * files over SSH and run the same firstboot script — idempotent, re-applied when a file changes.
 */
import * as command from "@pulumi/command";
import * as pulumi from "@pulumi/pulumi";
import { createHash } from "node:crypto";
import type { Plan, PlanNode } from "../plan/plan";
import type { Stage } from "../stage";
import { sshConnection } from "../substrate/connection";
import type { SubstrateNode } from "../substrate/types";
import { assertNoForbiddenOps } from "../boundaries/destructive-ops";
import { NODE_PATHS } from "./common";

const HEREDOC = "KUBEDOS_FIRSTBOOT_EOF";
import { renderNodeFirstboot } from "./index";

export interface FirstbootResult {
  /** Per node, the command that completes when the node has signalled readiness. */
  ready: Map<string, command.remote.Command>;
}

/** Waits for cloud-init and the Stage 2 readiness marker; fails the stage if the marker is missing. */
export function readinessScript(): string {
  return [
    "set -eu",
    "# cloud-init returns non-zero when a module failed; the marker below is the real verdict.",
    "cloud-init status --wait >/dev/null 2>&1 || true",
    `if ! sudo test -s ${NODE_PATHS.ready}; then echo "firstboot did not signal readiness (${NODE_PATHS.ready} missing)" >&2; exit 3; fi`,
    `sudo cat ${NODE_PATHS.ready}`,
  ].join("\n");
}

/** Installs the baseline files on an existing host and runs the firstboot script (bare metal). */
export function bareMetalApplyScript(plan: Plan, node: PlanNode): string {
  const files = renderNodeFirstboot({ plan, node }).filter((f) => f.nodePath);
  const digest = createHash("sha256");
  const lines = ["set -eu", "umask 077", 'tmp="$(mktemp -d)"', "trap 'rm -rf \"$tmp\"' EXIT"];
  for (const f of files) {
    // Plain heredocs, not base64: the policy pack and a reviewer read exactly what will run.
    assertNoForbiddenOps(f.content, plan.boundaries, `${node.name} ${f.path}`);
    if (f.content.split("\n").includes(HEREDOC)) throw new Error(`${f.path} contains the heredoc delimiter ${HEREDOC}`);
    digest.update(f.path).update(f.content);
    lines.push(`cat > "$tmp/${f.path}" <<'${HEREDOC}'`, f.content.replace(/\n$/, ""), HEREDOC);
    lines.push(`sudo install -D -o root -g root -m ${f.mode.toString(8).padStart(4, "0")} "$tmp/${f.path}" ${f.nodePath}`);
  }
  lines.push(`sudo ${NODE_PATHS.script}`);
  // The digest makes any change to a rendered file a change of this script, so Pulumi re-runs
  // it as an update (never a replacement).
  return [`# kubedos firstboot for ${node.name}; content sha256 ${digest.digest("hex")}`, ...lines].join("\n");
}

export function createFirstboot(stage: Stage, plan: Plan, nodes: SubstrateNode[], privateKey: pulumi.Input<string>): FirstbootResult {
  const ready = new Map<string, command.remote.Command>();
  for (const sn of nodes) {
    const node = plan.nodes.find((n) => n.name === sn.name)!;
    const script = plan.substrate === "baremetal" ? bareMetalApplyScript(plan, node) : readinessScript();
    const cmd = new command.remote.Command(
      `${plan.cluster.name}-${node.name}-firstboot`,
      {
        connection: sshConnection(sn.ssh, privateKey),
        create: script,
        update: script,
        logging: "stdoutAndStderr",
      },
      stage.childOpts({ dependsOn: sn.machine ? [sn.machine] : [] }),
    );
    ready.set(node.name, cmd);
  }
  return { ready };
}
