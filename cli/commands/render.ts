/**
 * `kubedos render (--stack NAME | --spec FILE) --out DIR` — writes every rendered artifact as a
 * node would receive it: nodes/<node>/… (cloud-init.yaml, sshd_config, nftables.nft, …), each
 * node's WireGuard files nodes/<node>/wireguard/<plane>.conf, the operator's operator/<plane>.conf
 * and the Plan. Secret files (cloud-init.yaml, every WireGuard file) are written 0600. The
 * WireGuard epoch is KUBEDOS_WG_EPOCH when set, else rotationEpoch(security.rotation.wireguardDays,
 * now); the command prints which. Only kubedos's own paths are written; nothing else in DIR is
 * touched. Exit 0 · 1 invalid spec · 2 usage or unwritable output.
 */
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { rotationEpoch } from "../../components/backplane/keys";
import { renderNodeBackplane, renderOperator } from "../../components/backplane/render-node";
import { renderNodeFirstboot } from "../../components/firstboot";
import { buildPlan, type Plan } from "../../components/plan/plan";
import { nodeHostKey } from "../../components/secrets/derive";
import { OFFLINE_PLACEHOLDER_SEED } from "../engine/harness";
import { displayPath, stackSpecPath, UsageError } from "../io";
import { exitCodeOf, validateFile, validationReport } from "./validate";

export interface RenderArgs {
  stack?: string;
  spec?: string;
  out?: string;
}

export interface RenderedFile {
  path: string;
  mode: number;
  secret: boolean;
}

/** Render every artifact of a validated plan into `outDir` (WireGuard keys of rotation `epoch`); returns what was written. */
export function renderAll(plan: Plan, outDir: string, seed: string, epoch: number): RenderedFile[] {
  const written: RenderedFile[] = [];
  const write = (rel: string, content: string, mode: number, secret: boolean) => {
    const file = path.join(outDir, rel);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, content, { mode });
    chmodSync(file, mode); // an existing file keeps its old mode otherwise
    written.push({ path: rel, mode, secret });
  };
  for (const node of plan.nodes) {
    const hostKey = plan.substrate === "baremetal" ? undefined : nodeHostKey(seed, plan.cluster.name, node.name);
    for (const a of renderNodeFirstboot({ plan, node, ...(hostKey ? { hostKey } : {}) })) {
      write(path.join("nodes", node.name, a.path), a.content, a.mode, a.secret);
    }
    for (const f of renderNodeBackplane({ plan, node, seed, epoch })) {
      write(path.join("nodes", node.name, f.path), f.content, f.mode, f.secret);
    }
  }
  const operator = renderOperator({ plan, seed, epoch });
  if (operator) write(path.join("operator", operator.path), operator.content, operator.mode, operator.secret);
  write("plan.json", JSON.stringify(plan, null, 2) + "\n", 0o644, false);
  return written;
}

export async function renderCommand(args: RenderArgs): Promise<number> {
  if ((args.stack === undefined) === (args.spec === undefined))
    throw new UsageError("render needs exactly one of --stack NAME or --spec FILE");
  if (!args.out) throw new UsageError("render needs --out DIR");
  const specFile = args.spec ?? stackSpecPath(args.stack!);
  const v = validateFile(specFile);
  if (!v.valid || !v.spec) {
    process.stderr.write(validationReport(v).join("\n") + "\n");
    return exitCodeOf(v);
  }
  const wg = wireguardEpoch(v.spec.spec.security.rotation.wireguardDays, new Date());
  const seed = process.env.KUBEDOS_MASTER_SEED;
  if (!seed) {
    process.stderr.write(
      "kubedos render: KUBEDOS_MASTER_SEED is not set; host and WireGuard keys derive from a placeholder seed and must not be used on real nodes\n",
    );
  }
  const plan = buildPlan(v.spec);
  let written: RenderedFile[];
  try {
    written = renderAll(plan, path.resolve(args.out), seed || OFFLINE_PLACEHOLDER_SEED, wg.epoch);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code) throw new UsageError(`--out ${args.out}: cannot write (${e.code}${e.path ? ` ${displayPath(e.path)}` : ""})`);
    throw err;
  }
  const secrets = written.filter((w) => w.secret).length;
  process.stdout.write(
    `rendered ${written.length} files for ${plan.nodes.length} nodes of ${plan.cluster.name} into ${displayPath(path.resolve(args.out))} (${secrets} secret, mode 0600)\n` +
      `WireGuard key epoch ${wg.epoch} (${wg.source})\n`,
  );
  return 0;
}

/**
 * The WireGuard rotation epoch: KUBEDOS_WG_EPOCH when set (a non-negative integer, to reproduce a
 * given period's keys), else the current `wireguardDays` period since 1970-01-01.
 */
export function wireguardEpoch(wireguardDays: number, now: Date, env: NodeJS.ProcessEnv = process.env): { epoch: number; source: string } {
  const pinned = env.KUBEDOS_WG_EPOCH;
  if (pinned !== undefined && pinned !== "") {
    if (!/^\d{1,15}$/.test(pinned)) throw new UsageError(`KUBEDOS_WG_EPOCH=${JSON.stringify(pinned)}: not a non-negative integer`);
    return { epoch: Number(pinned), source: "from KUBEDOS_WG_EPOCH" };
  }
  return {
    epoch: rotationEpoch(wireguardDays, now),
    source: `${wireguardDays}-day periods since 1970-01-01 at ${now.toISOString().slice(0, 10)}; pin it with KUBEDOS_WG_EPOCH`,
  };
}
