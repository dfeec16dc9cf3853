/**
 * `kubedos render (--stack NAME | --spec FILE) --out DIR` — writes every rendered artifact as a
 * node would receive it: nodes/<node>/… (cloud-init.yaml, sshd_config, nftables.nft, …), each
 * node's WireGuard files nodes/<node>/wireguard/<plane>.conf, the operator's operator/<plane>.conf,
 * and, when Kubernetes is enabled, each node's kubeadm files (nodes/<node>/kubeadm.yaml,
 * kubeadm-patches/…, and on control planes audit-policy.yaml and encryption-config.yaml) plus the
 * cluster CA's certificate signing request and public-key pin (pki/cluster-ca.csr,
 * pki/cluster-ca.pin) for the operator to sign offline, the Helm releases Stage 6 installs (helm/),
 * the bootstrap kit's Flux files as the GitOps repository holds them
 * (kit/clusters/<cluster>/bootstrap-kit/NN-bp-<name>.yaml + kustomization.yaml) — and the Plan. Secret files
 * (cloud-init.yaml, every WireGuard file, kubeadm.yaml, encryption-config.yaml) are written 0600.
 * The WireGuard epoch is KUBEDOS_WG_EPOCH when set, else rotationEpoch(security.rotation.wireguardDays,
 * now); the command prints which. Everything is rendered before the first file is written, so a
 * rendering error writes nothing. Only kubedos's own paths are written; nothing else in DIR is
 * touched. Exit 0 · 1 invalid spec · 2 usage or unwritable output.
 */
import { chmodSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { rotationEpoch } from "../../components/backplane/keys";
import { buildPlan, type Plan } from "../../components/plan/plan";
import type { ClusterSpec } from "../../components/spec/schema";
import { OFFLINE_PLACEHOLDER_SEED } from "../engine/harness";
import { sealBundle, type BundleFile, type SealResult } from "../../components/anchors/bundle";
import { kitGate, renderArtifacts, renderedEnvironmentGate, seedId, type RenderedFile } from "../../components/artifacts";
export { renderArtifacts, seedId, type RenderedFile } from "../../components/artifacts";
import { buildFacts } from "../../components/anchors/facts";
import { seedSigningKey, suppliedSigningKey, type SigningKey } from "../../components/anchors/signing";
import { AnchorInputError, buildClock, type BuildClock } from "../../components/anchors/time";
import { EvidenceError, readEvidence } from "../../components/acceptance/evidence";
import { displayPath, stackSpecPath, UsageError } from "../io";
import { exitCodeOf, validateFile, validationReport } from "./validate";

export interface RenderArgs {
  stack?: string;
  spec?: string;
  out?: string;
  /** --acceptance FILE (repeatable): acceptance evidence to seal into the report. */
  acceptance?: string[];
}

/** How the bundle is sealed (Stage 7): who signs, with which clock, with what acceptance evidence. */
export interface SealOptions {
  specFile: string;
  specText: string;
  stack?: string;
  seedSource: "supplied" | "placeholder";
  clock: BuildClock;
  /** PEM file of an Ed25519 private key; default: the key derived from the master seed. */
  signingKeyFile?: string;
  /** Evidence files: a lab report (`kubedos lab check --report`) or a carried-forward AcceptanceReport. */
  acceptance?: string[];
}

export interface BundleResult {
  files: BundleFile[];
  notes: string[];
  sealed: SealResult;
}

/** The rendered artifacts and the seal over them, in memory (nothing is written). */
export async function renderBundle(plan: Plan, spec: ClusterSpec, seed: string, epoch: number, o: SealOptions): Promise<BundleResult> {
  const { files, notes } = await renderArtifacts(plan, spec, seed, epoch);
  const evidence = (o.acceptance ?? []).map((f) => {
    let text: string;
    try {
      text = readFileSync(f, "utf8");
    } catch (err) {
      throw new UsageError(`--acceptance ${f}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    try {
      return readEvidence(text, f, plan, spec);
    } catch (err) {
      if (err instanceof EvidenceError) throw new UsageError(err.message);
      throw err;
    }
  });
  let signer: SigningKey;
  if (o.signingKeyFile) {
    let pem: string;
    try {
      pem = readFileSync(o.signingKeyFile, "utf8");
    } catch (err) {
      throw new UsageError(
        `KUBEDOS_SIGNING_KEY ${o.signingKeyFile}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
      );
    }
    signer = suppliedSigningKey(pem, o.signingKeyFile);
  } else {
    signer = seedSigningKey(seed, plan.cluster.name);
  }
  const sealed = sealBundle({
    plan,
    spec,
    specFile: o.specFile,
    specText: o.specText,
    ...(o.stack ? { stack: o.stack } : {}),
    artifacts: files,
    signer,
    clock: o.clock,
    facts: buildFacts(),
    wireguardEpoch: epoch,
    seedSource: o.seedSource,
    seedId: seedId(seed, plan.cluster.name),
    observations: evidence.flatMap((e) => e.observations),
    drills: evidence.flatMap((e) => e.drills),
    extraGates: [...kitGate(spec), ...renderedEnvironmentGate(spec)],
    evidenceSources: evidence.map((e) => e.source),
  });
  return { files: [...files, ...sealed.files], notes, sealed };
}

/** Write a bundle into `outDir`: only its own paths; everything else in the directory is left alone. */
export function writeBundle(files: readonly BundleFile[], outDir: string): RenderedFile[] {
  const written: RenderedFile[] = [];
  for (const f of files) {
    const file = path.join(outDir, f.path);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, f.content, { mode: f.mode });
    chmodSync(file, f.mode); // an existing file keeps its old mode otherwise
    written.push({ path: f.path, mode: f.mode, secret: f.secret });
  }
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
  let clock: BuildClock;
  try {
    clock = buildClock();
  } catch (err) {
    if (err instanceof AnchorInputError) throw new UsageError(err.message);
    throw err;
  }
  const plan = buildPlan(v.spec);
  const outDir = path.resolve(args.out);
  let bundle: BundleResult;
  try {
    bundle = await renderBundle(plan, v.spec, seed || OFFLINE_PLACEHOLDER_SEED, wg.epoch, {
      specFile: displayPath(path.resolve(specFile)),
      specText: readFileSync(specFile, "utf8"),
      ...(args.stack ? { stack: args.stack } : {}),
      seedSource: seed ? "supplied" : "placeholder",
      clock,
      ...(process.env.KUBEDOS_SIGNING_KEY ? { signingKeyFile: process.env.KUBEDOS_SIGNING_KEY } : {}),
      ...(args.acceptance?.length ? { acceptance: args.acceptance } : {}),
    });
  } catch (err) {
    if (err instanceof AnchorInputError) throw new UsageError(err.message);
    throw err;
  }
  let written: RenderedFile[];
  try {
    written = writeBundle(bundle.files, outDir);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code) throw new UsageError(`--out ${args.out}: cannot write (${e.code}${e.path ? ` ${displayPath(e.path)}` : ""})`);
    throw err;
  }
  const { notes, sealed } = bundle;
  const secrets = written.filter((w) => w.secret).length;
  const r = sealed.report;
  const stale = strayFiles(outDir, new Set(written.map((w) => w.path)));
  process.stdout.write(
    `rendered ${written.length} files for ${plan.nodes.length} nodes of ${plan.cluster.name} into ${displayPath(outDir)} (${secrets} secret, mode 0600)\n` +
      `WireGuard key epoch ${wg.epoch} (${wg.source})\n` +
      `sealed ${sealed.artifactName}: content sha256:${sealed.contentSha256.slice(0, 16)}…, signed by ${sealed.signingKey.fingerprint.slice(0, 23)}… (${sealed.signingKey.source === "seed" ? "derived from the master seed" : "KUBEDOS_SIGNING_KEY"}); clock ${clock.source === "clock" ? "now (set SOURCE_DATE_EPOCH for byte-identical re-renders)" : `SOURCE_DATE_EPOCH ${clock.at.toISOString()}`}\n` +
      `acceptance: ${r.status} — required gates passed ${r.summary.passed.length}/${r.summary.required.length}${r.summary.failed.length ? `, failed: ${r.summary.failed.join(", ")}` : ""}${r.summary.notRun.length ? `, not run: ${r.summary.notRun.join(", ")}` : ""}${r.drills.length ? `; ${r.drills.length} drill(s) recorded` : ""}\n` +
      (stale.length
        ? `note: ${stale.length} file(s) in ${displayPath(outDir)} are not part of this bundle and \`kubedos verify\` will name them (e.g. ${stale.slice(0, 3).join(", ")}); render into an empty directory for a clean bundle\n`
        : "") +
      notes.map((n) => `note: ${n}\n`).join(""),
  );
  return 0;
}

/** Files under the bundle's own top-level directories that this render did not write (left over from an earlier spec). */
function strayFiles(outDir: string, written: Set<string>): string[] {
  const tops = new Set([...written].map((w) => w.split("/")[0]));
  const out: string[] = [];
  const go = (rel: string) => {
    for (const e of readdirSync(path.join(outDir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (!rel && !tops.has(e.name)) continue;
      if (e.isDirectory()) go(r);
      else if (!written.has(r)) out.push(r);
    }
  };
  go("");
  return out.sort();
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
