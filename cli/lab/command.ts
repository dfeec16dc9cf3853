/**
 * `kubedos lab …` — the lab of DESIGN.md §5: nodes as network namespaces on this machine, the
 * rendered WireGuard + nftables + sshd applied as on a node, the Backplane Matrix gate, drills.
 *
 *   lab up (--spec FILE | --stack NAME) [--lab ID] [--epoch N]
 *   lab check [--lab ID] [--report FILE]
 *   lab drill remove-node NODE | replace-node NODE | rotate --epoch N | etcd-quorum [NODE]   [--lab ID] [--report FILE]
 *   lab down [--lab ID]
 *   lab status [--lab ID]
 *
 * Exit: 0 up / passed / removed · 1 the gate or drill failed, or up failed · 2 usage, not root,
 * a missing tool, or no such lab.
 */
import { parseArgs } from "node:util";
import { displayPath, stackSpecPath, UsageError } from "../io";
import { backplaneMatrix, gateSummary, recordReport, securityBaseline, securitySummary } from "./check";
import { drillRemoveNode, drillReplaceNode, drillRotate } from "./drills";
import { controlPlanes, defaultEtcdNode, drillEtcdQuorum, etcdUnavailable } from "./etcd";
import { labDown, labUp, liveNodes, openLab } from "./lab";
import { DEFAULT_LAB_ID, LAB_ID_PATTERN, labRoot, reportPath, tryLoadState } from "./state";
import { labUnavailable } from "./sys";

export const LAB_USAGE = `usage: kubedos lab <command> [--lab ID]

  up (--spec FILE | --stack NAME) [--epoch N]   every node as a network namespace (kdl-ID-*), rendered WireGuard,
                                                nftables and sshd applied; underlay in 198.18.0.0/15
  check [--report FILE]                         the Backplane Matrix and Security Baseline gates; writes the acceptance report (exit 1 on fail)
  drill remove-node NODE                        delete a node's namespace; the remaining matrix must pass
  drill replace-node NODE                       bring the node back from the spec (same addresses and keys); full matrix
  drill rotate --epoch N                        staged WireGuard key rotation under a 100 ms probe; records the loss window
  drill etcd-quorum [NODE]                      etcd (TLS, kubeadm's flags) on the control planes over wg3; delete NODE
                                                (default: the last control plane) — quorum must hold; replace it — it
                                                rejoins as a learner and is promoted; records recovery times
  down                                          remove every namespace and process of the lab
  status                                        what is up

  --lab ID   1–8 lower-case letters/digits (default $KUBEDOS_LAB_ID or "${DEFAULT_LAB_ID}"); state in ${"$"}KUBEDOS_LAB_DIR or /run/kubedos-lab
  Keys derive from KUBEDOS_MASTER_SEED, or from a fixed lab placeholder seed when it is unset.
`;

const out = (s: string) => process.stdout.write(s + "\n");
const err = (s: string) => process.stderr.write(`kubedos lab: ${s}\n`);

export async function labCommand(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  let a: { values: Record<string, string | boolean | undefined>; positionals: string[] };
  try {
    a = parseArgs({
      args: rest,
      allowPositionals: true,
      strict: true,
      options: {
        lab: { type: "string" },
        spec: { type: "string" },
        stack: { type: "string" },
        epoch: { type: "string" },
        report: { type: "string" },
        json: { type: "boolean" },
      },
    }) as typeof a;
  } catch (e) {
    throw new UsageError(`${(e as Error).message}\n${LAB_USAGE}`);
  }
  const id = (a.values.lab as string | undefined) ?? process.env.KUBEDOS_LAB_ID ?? DEFAULT_LAB_ID;
  if (!LAB_ID_PATTERN.test(id)) throw new UsageError(`--lab ${id}: 1–8 lower-case letters or digits`);
  const epochArg = a.values.epoch as string | undefined;
  const epoch = epochArg === undefined ? undefined : Number(epochArg);
  if (epoch !== undefined && (!Number.isSafeInteger(epoch) || epoch < 0))
    throw new UsageError(`--epoch ${epochArg}: a non-negative integer`);
  const report = a.values.report as string | undefined;

  if (sub === undefined || sub === "help" || sub === "--help") {
    out(LAB_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (!["up", "check", "down", "drill", "status"].includes(sub)) throw new UsageError(`unknown lab command ${sub}\n${LAB_USAGE}`);
  const why = labUnavailable();
  if (why) {
    err(`cannot run here: ${why}`);
    return 2;
  }

  switch (sub) {
    case "up": {
      if ((a.values.spec === undefined) === (a.values.stack === undefined))
        throw new UsageError("lab up needs exactly one of --spec FILE or --stack NAME");
      if (a.positionals.length > 0) throw new UsageError(`lab up takes no positional arguments (got ${a.positionals.join(" ")})`);
      const specFile = (a.values.spec as string | undefined) ?? stackSpecPath(a.values.stack as string);
      try {
        const ctx = await labUp({ specFile, id, ...(epoch !== undefined ? { epoch } : {}), log: (l) => err(l) });
        out(
          `lab ${id} up: ${ctx.state.order.length} nodes (${ctx.state.order.join(", ")}) × ${ctx.lab.plan.planes.length} planes, epoch ${ctx.state.epoch}; namespaces kdl-${id}-*`,
        );
        out(`next: kubedos lab check --lab ${id}`);
        return 0;
      } catch (e) {
        err((e as Error).message);
        return 1;
      }
    }
    case "check": {
      const ctx = open(id);
      if (!ctx) return 2;
      const gate = await backplaneMatrix(ctx);
      const nodeChecks = await securityBaseline(ctx);
      const file = recordReport(ctx, { gate, nodeChecks }, report);
      out(gateSummary(gate));
      if (nodeChecks.length > 0) out(securitySummary(nodeChecks));
      out(`report: ${displayPath(file)}${report ? ` (and ${displayPath(report)})` : ""}`);
      return gate.status === "pass" && nodeChecks.every((o) => o.status === "pass") ? 0 : 1;
    }
    case "drill": {
      const [name, node, ...extra] = a.positionals;
      if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(" ")}`);
      const ctx = open(id);
      if (!ctx) return 2;
      let drill;
      if (name === "remove-node" || name === "replace-node") {
        if (!node) throw new UsageError(`lab drill ${name} NODE`);
        if (!ctx.state.order.includes(node))
          throw new UsageError(`node ${node} is not in lab ${id} (nodes: ${ctx.state.order.join(", ")})`);
        drill = name === "remove-node" ? await drillRemoveNode(ctx, node) : await drillReplaceNode(ctx, node);
      } else if (name === "rotate") {
        if (epoch === undefined) throw new UsageError("lab drill rotate --epoch N");
        if (epoch === ctx.state.epoch) throw new UsageError(`the lab already runs epoch ${epoch}`);
        drill = await drillRotate(ctx, epoch, (l) => err(l));
      } else if (name === "etcd-quorum") {
        const cps = controlPlanes(ctx.lab.plan);
        const target = node ?? defaultEtcdNode(ctx.lab.plan);
        if (!ctx.state.order.includes(target))
          throw new UsageError(`node ${target} is not in lab ${id} (nodes: ${ctx.state.order.join(", ")})`);
        if (!cps.includes(target)) {
          const role = ctx.lab.plan.nodes.find((n) => n.name === target)?.role;
          throw new UsageError(
            `node ${target} is a ${role}, not a control plane: the etcd quorum drill deletes an etcd member (control planes: ${cps.join(", ")})`,
          );
        }
        const missing = etcdUnavailable();
        if (missing) {
          err(`cannot run the etcd drill here: ${missing}`);
          return 2;
        }
        drill = await drillEtcdQuorum(ctx, target, (l) => err(l));
      } else
        throw new UsageError(
          `unknown drill ${name ?? "(none)"}: remove-node NODE | replace-node NODE | rotate --epoch N | etcd-quorum [NODE]`,
        );
      const file = recordReport(ctx, { drill }, report);
      out(`drill ${drill.name}: ${drill.passed ? "PASSED" : "FAILED"} — ${JSON.stringify(headline(drill.details))}`);
      out(`report: ${displayPath(file)}${report ? ` (and ${displayPath(report)})` : ""}`);
      return drill.passed ? 0 : 1;
    }
    case "down": {
      const r = await labDown(id);
      out(
        `lab ${id} down: ${r.namespaces.length} namespaces removed, ${r.stopped} processes stopped${r.report ? `; report kept at ${displayPath(r.report)}` : ""}`,
      );
      return 0;
    }
    case "status": {
      const s = tryLoadState(id);
      if (!s) {
        out(`lab ${id} is not up (state root ${labRoot()})`);
        return 2;
      }
      out(`lab ${id}: cluster ${s.cluster}, epoch ${s.epoch}, live ${liveNodes(s).join(", ")}; report ${reportPath(id)}`);
      return 0;
    }
  }
  return 2;
}

function open(id: string) {
  try {
    return openLab(id, (l) => err(l));
  } catch (e) {
    err((e as Error).message);
    return undefined;
  }
}

/** The figures of a drill worth a terminal line (everything is in the report). */
function headline(d: Record<string, unknown>): Record<string, unknown> {
  const keep = [
    "node",
    "members",
    "quorumHeldAfterLossMs",
    "recoveryMs",
    "rejoinMs",
    "removedMs",
    "fromEpoch",
    "toEpoch",
    "lossWindowMs",
    "lostProbes",
    "order",
    "matrix",
    "error",
  ];
  return Object.fromEntries(Object.entries(d).filter(([k]) => keep.includes(k)));
}
