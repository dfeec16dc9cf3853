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
// @peculiar/x509 needs the Reflect metadata polyfill loaded before it (pki.ts does the same).
import "reflect-metadata";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import * as x509 from "@peculiar/x509";
import { rotationEpoch } from "../../components/backplane/keys";
import { renderNodeBackplane, renderOperator } from "../../components/backplane/render-node";
import { renderNodeFirstboot } from "../../components/firstboot";
import { clusterCaCsr, clusterCaPin } from "../../components/kubernetes/pki";
import { kubeadmConfigBlocker, renderNodeKubernetes } from "../../components/kubernetes/render-node";
import { buildPlan, type Plan } from "../../components/plan/plan";
import { nodeHostKey } from "../../components/secrets/derive";
import type { ClusterSpec } from "../../components/spec/schema";
import { resolveKubernetes } from "../../components/supplychain/locks";
import { OFFLINE_PLACEHOLDER_SEED } from "../engine/harness";
import { stringify } from "yaml";
import { renderConvergeScript } from "../../components/kubernetes/converge";
import { stage6Releases } from "../../components/kubernetes/releases";
import { kitContext, renderKitFiles } from "../../components/kit/flux";
import { KitError, selectKit } from "../../components/kit/select";
import type { Kit } from "../../components/kit/types";
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

interface Artifact extends RenderedFile {
  content: string;
  /**
   * When the file already holds content this accepts as the same artifact, it is left as it is.
   * For the CSR: its ECDSA signature is randomized (WebCrypto), so the bytes differ on every run
   * although the request does not; keeping an equivalent file keeps re-renders idempotent (and
   * keeps the CSR an operator may already have sent for signing).
   */
  sameAs?: (existing: string) => Promise<boolean>;
}

export interface RenderResult {
  written: RenderedFile[];
  /** What was deliberately not rendered, and why (printed with the summary). */
  notes: string[];
}

/**
 * Every artifact of a validated plan (WireGuard keys of rotation `epoch`), in memory. Async only
 * because the cluster CA's CSR is signed with WebCrypto.
 */
export async function renderArtifacts(
  plan: Plan,
  spec: ClusterSpec,
  seed: string,
  epoch: number,
): Promise<{ files: Artifact[]; notes: string[] }> {
  const files: Artifact[] = [];
  const notes: string[] = [];
  const add = (rel: string, content: string, mode: number, secret: boolean) => files.push({ path: rel, content, mode, secret });
  const kube = kubernetesRender(plan, spec);
  if (kube.note) notes.push(kube.note);
  const unpinned: { nodes: string[]; why?: string } = { nodes: [] };
  for (const node of plan.nodes) {
    const hostKey = plan.substrate === "baremetal" ? undefined : nodeHostKey(seed, plan.cluster.name, node.name);
    for (const a of renderNodeFirstboot({ plan, node, ...(hostKey ? { hostKey } : {}) })) {
      add(path.join("nodes", node.name, a.path), a.content, a.mode, a.secret);
    }
    for (const f of renderNodeBackplane({ plan, node, seed, epoch })) {
      add(path.join("nodes", node.name, f.path), f.content, f.mode, f.secret);
    }
    if (!kube.render) continue;
    const blocker = kubeadmConfigBlocker(plan, spec, node);
    if (blocker) {
      unpinned.nodes.push(node.name);
      unpinned.why = blocker;
      continue;
    }
    // Stage 5 before Stage 6: the node's converge script (packages, runtime, the API load balancer).
    add(
      path.join("nodes", node.name, "converge.sh"),
      renderConvergeScript({ plan, node, kubernetes: resolveKubernetes(spec.spec.kubernetes.version) }),
      0o755,
      false,
    );
    for (const f of renderNodeKubernetes({ plan, spec, node, seed })) {
      add(path.join("nodes", node.name, f.path), f.content, f.mode, f.secret);
    }
  }
  if (kube.render) {
    // The Helm releases Stage 6 installs (chart, pinned version, source, values), one file each.
    const s6 = stage6Releases(plan, spec);
    const releases = [s6.cilium, ...s6.observability];
    for (const r of releases) add(path.join("helm", `${r.name}.yaml`), stringify(r, { lineWidth: 0 }), 0o644, false);
  }
  const kit = kitRender(plan, spec);
  if (kit.note) notes.push(kit.note);
  for (const f of kit.files) add(path.join("kit", f.path), f.content, 0o644, false);
  if (unpinned.why) notes.push(`no kubeadm files for ${unpinned.nodes.join(", ")}: ${unpinned.why}`);
  if (kube.render && spec.spec.security.bootstrap.model !== "to-fu") {
    // Public: the request for the seed-derived CA key, and the pin every join carries.
    const csr = await clusterCaCsr(seed, plan.cluster.name);
    files.push({
      path: path.join("pki", "cluster-ca.csr"),
      content: csr,
      mode: 0o644,
      secret: false,
      sameAs: (old) => sameCsrRequest(old, csr),
    });
    add(path.join("pki", "cluster-ca.pin"), clusterCaPin(seed, plan.cluster.name) + "\n", 0o644, false);
  } else if (kube.render) {
    notes.push("no pki/cluster-ca.csr: under security.bootstrap.model to-fu kubeadm generates the cluster CA at init");
  }
  const operator = renderOperator({ plan, seed, epoch });
  if (operator) add(path.join("operator", operator.path), operator.content, operator.mode, operator.secret);
  add("plan.json", JSON.stringify(plan, null, 2) + "\n", 0o644, false);
  return { files, notes };
}

/**
 * Whether this spec gets kubeadm files. Disabled Kubernetes: none, silently. A version without a
 * lock: none, with a note — `validate` only warns about it (every earlier stage is still valid) and
 * Stage 6 refuses it with the same message.
 */
function kubernetesRender(plan: Plan, spec: ClusterSpec): { render: boolean; note?: string } {
  if (!spec.spec.kubernetes.enabled || !plan.controlPlaneEndpoint) return { render: false };
  try {
    resolveKubernetes(spec.spec.kubernetes.version);
    return { render: true };
  } catch (err) {
    return { render: false, note: `no kubeadm files: ${(err as Error).message}` };
  }
}

/**
 * The bootstrap kit as it sits in the GitOps repository (seed 000 §4): kit/clusters/<cluster>/
 * bootstrap-kit/NN-bp-<name>.yaml and its kustomization.yaml. Only with Kubernetes enabled (the kit
 * runs on the cluster), silently otherwise; a kit the spec cannot select is a note (`validate`'s
 * kit-dependencies rule refuses such a spec first). No credential is in these files: the HelmReleases
 * name the Secrets the Pulumi layer derives from the seed, in each blueprint's namespace.
 */
function kitRender(plan: Plan, spec: ClusterSpec): { files: Array<{ path: string; content: string }>; note?: string } {
  if (!spec.spec.kubernetes.enabled) return { files: [] };
  let kit: Kit;
  try {
    kit = selectKit(spec);
  } catch (err) {
    if (err instanceof KitError) return { files: [], note: `no kit/ files: ${err.message}` };
    throw err;
  }
  // The releases Stage 6 installs before Flux, with the values it installs them with (as apply.ts):
  // the blueprints that adopt them carry those values, so Flux's first upgrade changes nothing.
  const s6 = stage6Releases(plan, spec);
  const stage6 = [s6.cilium, ...s6.observability];
  return { files: renderKitFiles(kit, kitContext(plan, stage6)) };
}

/**
 * The DER of a CSR's CertificationRequestInfo (subject, public key, extensions): everything but
 * the signature algorithm and the signature. Undefined when the text is not one PEM CSR.
 */
export function csrRequestInfo(pem: string): Buffer | undefined {
  const m = /-----BEGIN CERTIFICATE REQUEST-----([\s\S]+?)-----END CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) return undefined;
  const der = Buffer.from(m[1].replace(/\s+/g, ""), "base64");
  // DER TLV: the header's length, and the content's. Short form < 0x80; long form 0x8N + N bytes.
  const tlv = (at: number): { header: number; length: number } | undefined => {
    if (at + 2 > der.length) return undefined;
    const first = der[at + 1];
    if (first < 0x80) return { header: 2, length: first };
    const n = first & 0x7f;
    if (n === 0 || n > 4 || at + 2 + n > der.length) return undefined;
    let length = 0;
    for (let k = 0; k < n; k++) length = length * 256 + der[at + 2 + k];
    return { header: 2 + n, length };
  };
  const outer = tlv(0);
  if (!outer || der[0] !== 0x30) return undefined;
  const info = tlv(outer.header);
  if (!info || der[outer.header] !== 0x30 || outer.header + info.header + info.length > der.length) return undefined;
  return der.subarray(outer.header, outer.header + info.header + info.length);
}

/** Whether `existing` is the same request as `fresh` (identical CertificationRequestInfo) and its signature verifies. */
export async function sameCsrRequest(existing: string, fresh: string): Promise<boolean> {
  const a = csrRequestInfo(existing);
  const b = csrRequestInfo(fresh);
  if (!a || !b || !a.equals(b)) return false;
  try {
    return await new x509.Pkcs10CertificateRequest(existing).verify();
  } catch {
    return false;
  }
}

/** Render every artifact of a validated plan into `outDir`; returns what was written and what was not. */
export async function renderAll(plan: Plan, spec: ClusterSpec, outDir: string, seed: string, epoch: number): Promise<RenderResult> {
  const { files, notes } = await renderArtifacts(plan, spec, seed, epoch);
  const written: RenderedFile[] = [];
  for (const f of files) {
    const file = path.join(outDir, f.path);
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const keep = f.sameAs !== undefined && existsSync(file) && (await f.sameAs(readFileSync(file, "utf8")));
    if (!keep) writeFileSync(file, f.content, { mode: f.mode });
    chmodSync(file, f.mode); // an existing file keeps its old mode otherwise
    written.push({ path: f.path, mode: f.mode, secret: f.secret });
  }
  return { written, notes };
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
  let result: RenderResult;
  try {
    result = await renderAll(plan, v.spec, path.resolve(args.out), seed || OFFLINE_PLACEHOLDER_SEED, wg.epoch);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code) throw new UsageError(`--out ${args.out}: cannot write (${e.code}${e.path ? ` ${displayPath(e.path)}` : ""})`);
    throw err;
  }
  const { written, notes } = result;
  const secrets = written.filter((w) => w.secret).length;
  process.stdout.write(
    `rendered ${written.length} files for ${plan.nodes.length} nodes of ${plan.cluster.name} into ${displayPath(path.resolve(args.out))} (${secrets} secret, mode 0600)\n` +
      `WireGuard key epoch ${wg.epoch} (${wg.source})\n` +
      notes.map((n) => `note: ${n}\n`).join(""),
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
