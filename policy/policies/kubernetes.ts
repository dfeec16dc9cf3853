/**
 * Kubernetes (Stages 4–6, seed 001 §13): every join pins the cluster CA, control planes join one
 * at a time after the one `kubeadm init`, the control plane is hardened, Cilium routes natively
 * over the kubernetes plane, and the observability stack is reachable on its bind plane only.
 *
 * What the pack sees of Stage 6: command texts (create, update, delete) and the stdin the files
 * commands carry — a bash script whose heredocs write /etc/kubernetes/kubeadm.yaml and the kubeadm
 * patches (components/kubernetes/apply.ts filesScript) — plus the Helm releases' values and, for
 * stack policies, the dependency graph and the rendered ClusterSpec (the Stage 0 output).
 *
 * node-reset-gated is not a policy of its own: `kubeadm reset` in any command phase is already a
 * destructive operation governed by allowReset (destructive-commands, boundaries.ts).
 */
import type { PolicyResource, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { parseAllDocuments } from "yaml";
import { contains, parseCidr, parseIp } from "../../components/plan/ipv4";
import { buildPlan, type Plan } from "../../components/plan/plan";
import { ClusterSpecSchema, type ClusterSpec } from "../../components/spec/schema";
import { COMMAND_TYPES, label, renderedSpec, waitsFor } from "./graph";

// ---------------------------------------------------------------- reading command texts

export type TextPhase = "create" | "update" | "delete" | "stdin";

/** Every text a command resource runs or feeds to what it runs: create, update, delete and stdin. */
export function commandAndStdinTexts(props: Record<string, unknown>): Array<{ phase: TextPhase; text: string }> {
  const out: Array<{ phase: TextPhase; text: string }> = [];
  for (const phase of ["create", "update", "delete", "stdin"] as const) {
    const t = props[phase];
    if (typeof t === "string" && t !== "") out.push({ phase, text: t });
  }
  return out;
}

const isCommand = (type: string): boolean => (COMMAND_TYPES as readonly string[]).includes(type);

/** A file a script writes from a heredoc: `cat > PATH <<'TAG'`, `cat <<'TAG' > PATH` or `tee PATH <<'TAG'`. */
export interface HeredocFile {
  /** The target path, without the `.kubedos-new` suffix the program writes first and then moves. */
  path: string;
  content: string;
}

const HEREDOC_OPEN = /<<(-?)\s*(['"]?)([A-Za-z_][A-Za-z0-9_]*)\2/;
const REDIRECT = />{1,2}\s*(?:'([^'\n]+)'|"([^"\n]+)"|([^\s;&|<>]+))/g;
const TEE = /\btee\s+(?:-a\s+)?(?:'([^'\n]+)'|"([^"\n]+)"|([^\s;&|<>-][^\s;&|<>]*))/;

/** Where a heredoc's opening line writes to (the last redirection that is not /dev/null), if anywhere. */
function heredocTarget(line: string): string | undefined {
  const tee = TEE.exec(line);
  if (tee) return tee[1] ?? tee[2] ?? tee[3];
  let target: string | undefined;
  for (const m of line.matchAll(REDIRECT)) {
    const t = m[1] ?? m[2] ?? m[3];
    if (t && t !== "/dev/null") target = t;
  }
  return target;
}

/** The files a shell script writes from heredocs, and the text outside every heredoc. */
export function heredocFiles(script: string): { files: HeredocFile[]; rest: string } {
  const lines = script.split("\n");
  const files: HeredocFile[] = [];
  const rest: string[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = HEREDOC_OPEN.exec(lines[i]);
    rest.push(lines[i]);
    if (!open) continue;
    const stripTabs = open[1] === "-";
    const tag = open[3];
    const body: string[] = [];
    let j = i + 1;
    for (; j < lines.length; j++) {
      const l = stripTabs ? lines[j].replace(/^\t+/, "") : lines[j];
      if (l === tag) break;
      body.push(l);
    }
    const target = heredocTarget(lines[i].slice(0, open.index) + " " + lines[i].slice(open.index + open[0].length));
    if (target) files.push({ path: target.replace(/\.kubedos-new$/, ""), content: body.join("\n") });
    i = j; // the terminator line (or the end)
  }
  return { files, rest: rest.join("\n") };
}

/** A YAML document with a `kind` a command ships, with where it came from. */
export interface ShippedDocument {
  file: string;
  phase: TextPhase;
  kind: string;
  body: Record<string, unknown>;
}

/** A file that names a kubeadm/kubelet kind but is not readable YAML (the policies cannot vouch for it). */
export interface UnreadableFile {
  file: string;
  phase: TextPhase;
  /** The kinds its text names. */
  kinds: string[];
  error: string;
}

const CONFIG_KINDS = ["InitConfiguration", "ClusterConfiguration", "JoinConfiguration", "KubeletConfiguration"] as const;
const namedKinds = (text: string): string[] => CONFIG_KINDS.filter((k) => new RegExp(`^\\s*kind:\\s*["']?${k}\\b`, "m").test(text));

/**
 * Every YAML document with a `kind` in the heredoc files of a command's texts, and in a text that is
 * itself YAML (stdin fed to `kubeadm … --config /dev/stdin`). Files that name a kubeadm kind but do
 * not parse are returned as unreadable rather than skipped.
 */
export function shippedDocuments(props: Record<string, unknown>): { docs: ShippedDocument[]; unreadable: UnreadableFile[] } {
  const docs: ShippedDocument[] = [];
  const unreadable: UnreadableFile[] = [];
  const read = (file: string, phase: TextPhase, content: string) => {
    const r = readText(content);
    for (const d of r.docs) docs.push({ file, phase, ...d });
    if (r.unreadable) unreadable.push({ file, phase, ...r.unreadable });
  };
  for (const { phase, text } of commandAndStdinTexts(props)) {
    const { files, rest } = heredocFiles(text);
    for (const f of files) read(f.path, phase, f.content);
    if (namedKinds(rest).length > 0) read(`the ${phase} text`, phase, rest);
  }
  return { docs, unreadable };
}

/** What one text holds: its documents with a `kind`, in order, up to the first that does not read. */
interface TextDocuments {
  docs: ReadonlyArray<{ kind: string; body: Record<string, unknown> }>;
  unreadable?: { kinds: string[]; error: string };
}

/**
 * Parsed texts by content. Two policies read every command's files, and the nodes' commands ship
 * many identical ones (30 distinct texts among ~150 reads for the dev stack), so each text is
 * parsed once. The results are frozen: every reader gets the same objects. Bounded, because a
 * process that plans many stacks (the tests) sees new texts with every spec and seed.
 */
const textDocuments = new Map<string, TextDocuments>();
const TEXT_CACHE_LIMIT = 512;

function readText(content: string): TextDocuments {
  const hit = textDocuments.get(content);
  if (hit) return hit;
  const docs: Array<{ kind: string; body: Record<string, unknown> }> = [];
  let unreadable: TextDocuments["unreadable"];
  for (const d of parseAllDocuments(content)) {
    if (d.errors.length > 0) {
      const kinds = namedKinds(content);
      if (kinds.length > 0) unreadable = { kinds, error: d.errors[0].message.split("\n")[0] };
      break;
    }
    let body: unknown;
    try {
      body = d.toJS();
    } catch (err) {
      const kinds = namedKinds(content);
      if (kinds.length > 0) unreadable = { kinds, error: (err as Error).message.split("\n")[0] };
      break;
    }
    if (body && typeof body === "object" && !Array.isArray(body) && typeof (body as { kind?: unknown }).kind === "string")
      docs.push({ kind: (body as { kind: string }).kind, body: body as Record<string, unknown> });
  }
  const r: TextDocuments = deepFreeze(unreadable ? { docs, unreadable } : { docs });
  if (textDocuments.size >= TEXT_CACHE_LIMIT) textDocuments.clear();
  textDocuments.set(content, r);
  return r;
}

function deepFreeze<T>(v: T): T {
  if (v && typeof v === "object" && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}

/** The kubeadm patch files (`<target>[suffix][+patchtype].<ext>` under a patches directory) a command writes. */
function patchFiles(props: Record<string, unknown>): Array<HeredocFile & { phase: TextPhase; target: string }> {
  const out: Array<HeredocFile & { phase: TextPhase; target: string }> = [];
  for (const { phase, text } of commandAndStdinTexts(props)) {
    for (const f of heredocFiles(text).files) {
      const m =
        /\/(kube-apiserver|kube-controller-manager|kube-scheduler|kubeletconfiguration)[^/+]*(?:\+(?:strategic|merge|json))?\.(?:ya?ml|json)$/.exec(
          f.path,
        );
      if (m && /patches\//.test(f.path)) out.push({ ...f, phase, target: m[1] });
    }
  }
  return out;
}

const at = (o: unknown, path: string[]): unknown =>
  path.reduce<unknown>((v, k) => (v && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined), o);

const show = (v: unknown): string => (v === undefined ? "nothing" : JSON.stringify(v));

// ---------------------------------------------------------------- the spec and the plan

/** The typed spec and its plan, or undefined when the stack carries none or it fails the schema (other policies report that). */
function specAndPlan(resources: PolicyResource[]): { spec: ClusterSpec; plan: Plan; urn: string } | undefined {
  const s = renderedSpec(resources);
  if (!s) return undefined;
  const r = ClusterSpecSchema.safeParse(s.spec);
  if (!r.success) return undefined;
  try {
    return { spec: r.data, plan: buildPlan(r.data), urn: s.urn };
  } catch {
    return undefined;
  }
}

const byName = (a: string, b: string): number => a.localeCompare(b, "en", { numeric: true });

// ---------------------------------------------------------------- kubeadm-join-pinned

const SKIP_FLAG = /--discovery-token-unsafe-skip-ca-verification\b(?!\s*=\s*false\b)/;
const SKIP_FIELD = /\bunsafeSkipCAVerification["']?\s*:\s*["']?true\b/;
const CA_HASH = /^sha256:[0-9a-f]{64}$/;

export const kubeadmJoinPinned: ResourceValidationPolicy = {
  name: "kubeadm-join-pinned",
  description:
    "Checks whether every kubeadm join a command runs or ships pins the cluster CA (caCertHashes sha256:<64 hex>) and never skips CA verification.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!isCommand(args.type)) return;
    for (const { phase, text } of commandAndStdinTexts(args.props)) {
      if (SKIP_FLAG.test(text))
        reportViolation(
          `${label(args)} must not skip CA verification: its ${phase} passes --discovery-token-unsafe-skip-ca-verification; pin the cluster CA with caCertHashes.`,
        );
      if (SKIP_FIELD.test(text))
        reportViolation(
          `${label(args)} must not skip CA verification: its ${phase} sets unsafeSkipCAVerification: true; pin the cluster CA with caCertHashes.`,
        );
    }
    const { docs, unreadable } = shippedDocuments(args.props);
    for (const u of unreadable.filter((x) => x.kinds.includes("JoinConfiguration")))
      reportViolation(`${label(args)} must ship a parseable JoinConfiguration in ${u.file} (${u.phase}): ${u.error}`);
    for (const d of docs.filter((x) => x.kind === "JoinConfiguration")) {
      const hashes = at(d.body, ["discovery", "bootstrapToken", "caCertHashes"]);
      const list = Array.isArray(hashes) ? hashes : [];
      if (!list.some((h) => typeof h === "string" && CA_HASH.test(h)))
        reportViolation(
          `${label(args)} must pin the cluster CA in the JoinConfiguration of ${d.file} (${d.phase}): discovery.bootstrapToken.caCertHashes needs a sha256:<64 hex> entry; found ${list.length ? JSON.stringify(list) : "none"}.`,
        );
    }
  },
};

// ---------------------------------------------------------------- control-plane-joins-serial

const JOIN_SUFFIX = "-kubeadm-join";
const INIT_SUFFIX = "-kubeadm-init";

export const controlPlaneJoinsSerial: StackValidationPolicy = {
  name: "control-plane-joins-serial",
  description:
    "Checks whether the control-plane kubeadm joins are totally ordered by the dependency graph (one etcd member at a time) and every join waits for kubeadm init.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const s = specAndPlan(args.resources);
    if (!s || !s.spec.spec.kubernetes.enabled) return;
    const cluster = s.spec.metadata.name;
    const inventory = s.spec.spec.nodes.inventory;
    const cps = inventory
      .filter((n) => n.role === "control-plane")
      .map((n) => n.name)
      .sort(byName);
    if (cps.length === 0) return;
    const initNode = cps[0];
    const commands = new Map(args.resources.filter((r) => isCommand(r.type)).map((r) => [r.name, r]));
    const init = commands.get(`${cluster}-${initNode}${INIT_SUFFIX}`);
    const joiners = inventory.map((n) => n.name).filter((n) => n !== initNode);
    const joins = new Map(
      joiners.flatMap((n) => (commands.has(`${cluster}-${n}${JOIN_SUFFIX}`) ? [[n, commands.get(`${cluster}-${n}${JOIN_SUFFIX}`)!]] : [])),
    );
    // Only a graph that has reached Stage 6 is checked: it runs init or a join.
    if (!init && joins.size === 0) return;
    for (const n of joiners) {
      if (!joins.has(n)) reportViolation(`Node ${n} must join the cluster: the graph has no command ${cluster}-${n}${JOIN_SUFFIX}.`, s.urn);
    }
    if (!init) {
      reportViolation(
        `The stack must run kubeadm init on ${initNode}, the first control plane: the graph has joins but no command ${cluster}-${initNode}${INIT_SUFFIX}.`,
        s.urn,
      );
    }
    const reach = new Map([...joins].map(([n, r]) => [n, waitsFor(r)]));
    if (init) {
      for (const [n, j] of joins) {
        if (!reach.get(n)!.has(init.urn))
          reportViolation(
            `Join ${label(j)} must wait for kubeadm init: it does not depend, directly or through other resources, on ${init.name}.`,
            j.urn,
          );
      }
    }
    const cpJoins = cps.slice(1).filter((n) => joins.has(n));
    for (let i = 0; i < cpJoins.length; i++) {
      for (let k = i + 1; k < cpJoins.length; k++) {
        const [a, b] = [cpJoins[i], cpJoins[k]];
        const [ra, rb] = [joins.get(a)!, joins.get(b)!];
        if (!reach.get(a)!.has(rb.urn) && !reach.get(b)!.has(ra.urn))
          reportViolation(
            `Control-plane joins ${ra.name} and ${rb.name} must be ordered: neither depends on the other, so two etcd members could join at once; chain each control-plane join on the one before.`,
            rb.urn,
          );
      }
    }
  },
};

// ---------------------------------------------------------------- kubeadm-init-once

/** `kubeadm init` itself, not one of its phases (upload-config, upload-certs…), which are safe to repeat. */
const KUBEADM_INIT = /\bkubeadm\s+init\b(?!\s+phase\b)/;
/** A test for admin.conf, which exists once a node is initialised. */
const ADMIN_CONF_GUARD = /(?:\[\[?|\btest)\s+-[efs]\s+["']?\/etc\/kubernetes\/admin\.conf["']?/;

/** What a script runs: its text outside heredocs (files it writes) without comments. */
function executedText(script: string): string {
  return heredocFiles(script)
    .rest.split("\n")
    .map((l) => l.replace(/(^|\s)#.*$/, "$1"))
    .join("\n");
}

export const kubeadmInitOnce: ResourceValidationPolicy = {
  name: "kubeadm-init-once",
  description:
    "Checks whether the kubeadm init command ignores changes to its create text and guards init with admin.conf, so no config change ever re-runs init.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!isCommand(args.type)) return;
    const running = commandAndStdinTexts(args.props)
      .filter((t) => t.phase !== "delete")
      .map((t) => ({ phase: t.phase, text: executedText(t.text) }))
      .filter((t) => KUBEADM_INIT.test(t.text));
    if (!args.name.endsWith(INIT_SUFFIX) && running.length === 0) return;
    const ignored = args.opts.ignoreChanges ?? [];
    if (!ignored.includes("create") && !ignored.includes("*"))
      reportViolation(
        `${label(args)} must list create in ignoreChanges: a changed kubeadm init text would otherwise re-run init on a live control plane.`,
      );
    for (const { phase, text } of running) {
      const before = text.slice(0, KUBEADM_INIT.exec(text)!.index);
      if (!ADMIN_CONF_GUARD.test(before))
        reportViolation(
          `${label(args)} must guard kubeadm init in its ${phase} with a test for /etc/kubernetes/admin.conf, so a re-run on an initialised node does nothing.`,
        );
    }
  },
};

// ---------------------------------------------------------------- apiserver-hardening

/** v1beta4 extraArgs (a list of {name, value}; the last one wins) or v1beta3 (a map). */
function extraArg(component: unknown, flag: string): string | undefined {
  const ea = at(component, ["extraArgs"]);
  if (Array.isArray(ea)) {
    let v: string | undefined;
    for (const a of ea)
      if (a && typeof a === "object" && (a as { name?: unknown }).name === flag) v = String((a as { value?: unknown }).value ?? "");
    return v;
  }
  if (ea && typeof ea === "object") {
    const v = (ea as Record<string, unknown>)[flag];
    return v === undefined ? undefined : String(v);
  }
  return undefined;
}

const list = (v: string | undefined): string[] => (v ?? "").split(",").map((x) => x.trim());

/** A flag requirement: what must hold, worded for the message, and the check. */
interface FlagRule {
  flag: string;
  want: string;
  ok: (value: string | undefined) => boolean;
}

const FLAG_RULES: Record<"apiServer" | "controllerManager" | "scheduler", FlagRule[]> = {
  apiServer: [
    { flag: "anonymous-auth", want: "anonymous-auth=false", ok: (v) => v === "false" },
    {
      flag: "authorization-mode",
      want: "authorization-mode with Node and RBAC",
      ok: (v) => list(v).includes("Node") && list(v).includes("RBAC"),
    },
    {
      flag: "enable-admission-plugins",
      want: "enable-admission-plugins with NodeRestriction",
      ok: (v) => list(v).includes("NodeRestriction"),
    },
    {
      flag: "disable-admission-plugins",
      want: "disable-admission-plugins without NodeRestriction",
      ok: (v) => !list(v).includes("NodeRestriction"),
    },
    { flag: "profiling", want: "profiling=false", ok: (v) => v === "false" },
    { flag: "audit-log-path", want: "audit-log-path", ok: (v) => !!v && v.trim() !== "" },
    { flag: "encryption-provider-config", want: "encryption-provider-config", ok: (v) => !!v && v.trim() !== "" },
  ],
  controllerManager: [{ flag: "profiling", want: "profiling=false", ok: (v) => v === "false" }],
  scheduler: [{ flag: "profiling", want: "profiling=false", ok: (v) => v === "false" }],
};

/** The static-pod patch targets and the ClusterConfiguration component whose flags they carry. */
const PATCH_COMPONENT: Record<string, keyof typeof FLAG_RULES> = {
  "kube-apiserver": "apiServer",
  "kube-controller-manager": "controllerManager",
  "kube-scheduler": "scheduler",
};

/** A KubeletConfiguration field requirement. */
const KUBELET_RULES: Array<{ path: string[]; want: unknown }> = [
  { path: ["readOnlyPort"], want: 0 },
  { path: ["authentication", "anonymous", "enabled"], want: false },
  { path: ["authorization", "mode"], want: "Webhook" },
];

/** Every string in a value (a patch's command entries). */
const strings = (v: unknown): string[] =>
  typeof v === "string" ? [v] : Array.isArray(v) ? v.flatMap(strings) : v && typeof v === "object" ? Object.values(v).flatMap(strings) : [];

export const apiserverHardening: ResourceValidationPolicy = {
  name: "apiserver-hardening",
  description:
    "Checks whether the ClusterConfiguration and KubeletConfiguration a command ships harden the control plane and the kubelet (no anonymous auth, Node+RBAC, NodeRestriction, no profiling, audit log, encryption at rest, no read-only port, webhook authorization).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!isCommand(args.type)) return;
    const { docs, unreadable } = shippedDocuments(args.props);
    for (const u of unreadable) {
      for (const kind of u.kinds.filter((k) => k === "ClusterConfiguration" || k === "KubeletConfiguration"))
        reportViolation(`${label(args)} must ship a parseable ${kind} in ${u.file} (${u.phase}): ${u.error}`);
    }
    for (const d of docs) {
      if (d.kind === "ClusterConfiguration") {
        for (const [component, rules] of Object.entries(FLAG_RULES)) {
          for (const r of rules) {
            const v = extraArg(d.body[component], r.flag);
            // disable-admission-plugins is fine when absent; every other flag must be set.
            if (r.ok(v)) continue;
            reportViolation(
              `${label(args)} must set ${component}.extraArgs ${r.want} in the ClusterConfiguration of ${d.file} (${d.phase}); found ${v === undefined ? `no ${r.flag}` : `${r.flag}=${v}`}.`,
            );
          }
        }
      } else if (d.kind === "KubeletConfiguration") {
        for (const r of KUBELET_RULES) {
          const v = at(d.body, r.path);
          if (v !== r.want)
            reportViolation(
              `${label(args)} must set ${r.path.join(".")}: ${String(r.want)} in the KubeletConfiguration of ${d.file} (${d.phase}); found ${v === undefined ? `no ${r.path.join(".")}` : `${r.path.join(".")}: ${JSON.stringify(v)}`}.`,
            );
        }
      }
    }
    // kubeadm patches are applied after the configuration: they must not undo it.
    for (const p of patchFiles(args.props)) {
      const parsed = parseAllDocuments(p.content).map((d) => (d.errors.length ? undefined : (d.toJS() as unknown)));
      if (parsed.some((x) => x === undefined)) {
        reportViolation(`${label(args)} must ship a parseable kubeadm patch in ${p.path} (${p.phase}).`);
        continue;
      }
      if (p.target === "kubeletconfiguration") {
        // A JSON patch (a list of operations) or a merge/strategic patch (a partial document at the root).
        const ops = parsed.flatMap((body): Array<{ path: string[]; value: unknown }> =>
          Array.isArray(body)
            ? body
                .filter((o) => o && (o.op === "add" || o.op === "replace") && typeof o.path === "string")
                .map((o) => ({ path: String(o.path).split("/").filter(Boolean), value: o.value }))
            : [{ path: [], value: body }],
        );
        for (const r of KUBELET_RULES) {
          for (const o of ops) {
            // The operation sets the field itself or an object that contains it.
            if (o.path.length > r.path.length || o.path.some((k, i) => k !== r.path[i])) continue;
            const v = at(o.value, r.path.slice(o.path.length));
            if (v !== undefined && v !== r.want)
              reportViolation(
                `${label(args)} must not weaken the kubelet through the kubeadm patch ${p.path} (${p.phase}): it sets ${r.path.join(".")}: ${JSON.stringify(v)}, where ${String(r.want)} is required.`,
              );
          }
        }
      } else {
        const rules = FLAG_RULES[PATCH_COMPONENT[p.target]];
        for (const s of parsed.flatMap(strings)) {
          const m = /^--([a-z0-9-]+)=(.*)$/.exec(s.trim());
          const r = m && rules.find((x) => x.flag === m[1]);
          if (m && r && !r.ok(m[2]))
            reportViolation(
              `${label(args)} must not weaken ${p.target} through the kubeadm patch ${p.path} (${p.phase}): it sets --${m[1]}=${m[2]}, where ${r.want} is required.`,
            );
        }
      }
    }
  },
};

// ---------------------------------------------------------------- Helm releases

const RELEASE_TYPES = ["kubernetes:helm.sh/v3:Release", "kubernetes:helm.sh/v4:Chart"];
const FLUX_RELEASE = "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease";

/** The chart name (last path segment, repository and OCI prefix dropped) and values of a Helm release. */
function helmRelease(r: PolicyResource): { chart: string; values: Record<string, unknown> } | undefined {
  let chart: unknown;
  let values: unknown;
  if (RELEASE_TYPES.includes(r.type)) {
    chart = r.props.chart;
    values = r.props.values;
  } else if (r.type === FLUX_RELEASE) {
    chart = at(r.props, ["spec", "chart", "spec", "chart"]);
    values = at(r.props, ["spec", "values"]);
  } else return undefined;
  if (typeof chart !== "string") return undefined;
  return {
    chart: chart.replace(/\/+$/, "").split("/").pop()!,
    values: (values && typeof values === "object" ? values : {}) as Record<string, unknown>,
  };
}

const inside = (cidr: string, ip: unknown): boolean => {
  if (typeof ip !== "string") return false;
  try {
    return contains(parseCidr(cidr), parseIp(ip.trim()));
  } catch {
    return false;
  }
};

export const ciliumNativeRouting: StackValidationPolicy = {
  name: "cilium-native-routing",
  description:
    "Checks whether the Cilium release replaces kube-proxy, routes natively over the pod subnet, and reaches the API server on the kubernetes plane (or the Hetzner load balancer).",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const s = specAndPlan(args.resources);
    if (!s) return;
    const { plan } = s;
    const kube = plan.planes.find((p) => p.purpose === "kubernetes-backend");
    for (const r of args.resources) {
      const rel = helmRelease(r);
      if (!rel || rel.chart !== "cilium") continue;
      const v = rel.values;
      if (v.kubeProxyReplacement !== true && v.kubeProxyReplacement !== "true")
        reportViolation(
          `${label(r)} must set values.kubeProxyReplacement to true (kubeadm installs no kube-proxy); found ${show(v.kubeProxyReplacement)}.`,
          r.urn,
        );
      // The spec has no tunnel field: native routing over the kubernetes plane is the only mode.
      if (v.routingMode !== "native")
        reportViolation(
          `${label(r)} must set values.routingMode to "native" (the spec declares no tunnel: pods route over ${kube?.name ?? "the kubernetes plane"}); found ${show(v.routingMode)}.`,
          r.urn,
        );
      const podSubnet = plan.podNetwork?.podSubnet;
      if (podSubnet && v.ipv4NativeRoutingCIDR !== podSubnet)
        reportViolation(
          `${label(r)} must set values.ipv4NativeRoutingCIDR to the pod subnet ${podSubnet}; found ${show(v.ipv4NativeRoutingCIDR)}.`,
          r.urn,
        );
      if (plan.substrate === "hetzner") {
        // The plan fixes the load balancer's address where the substrate attaches it.
        const ep = plan.controlPlaneEndpoint;
        const lb = ep?.kind === "load-balancer" ? ep.address : undefined;
        if (lb && v.k8sServiceHost !== lb)
          reportViolation(
            `${label(r)} must set values.k8sServiceHost to the Hetzner load balancer ${lb}; found ${show(v.k8sServiceHost)}.`,
            r.urn,
          );
      } else if (kube && !inside(kube.cidr, v.k8sServiceHost)) {
        reportViolation(
          `${label(r)} must set values.k8sServiceHost to an address inside the ${kube.name} plane (${kube.cidr}); found ${show(v.k8sServiceHost)}.`,
          r.urn,
        );
      }
    }
  },
};

const OBSERVABILITY_CHARTS = ["kube-prometheus-stack", "grafana", "loki"];
const EXPOSING_TYPES = ["LoadBalancer", "NodePort"];

/** Service types, published addresses and admin passwords anywhere in a release's values. */
function walkValues(v: unknown, path: string[], visit: (key: string, value: unknown, path: string[]) => void): void {
  if (Array.isArray(v)) v.forEach((x, i) => walkValues(x, [...path, String(i)], visit));
  else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      visit(k, x, [...path, k]);
      walkValues(x, [...path, k], visit);
    }
  }
}

export const observabilityPlaneBound: StackValidationPolicy = {
  name: "observability-plane-bound",
  description:
    "Checks whether the observability releases (kube-prometheus-stack, Grafana, Loki) publish nothing but ClusterIP Services with externalIPs on the bind plane, and keep Grafana's admin password out of their values.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const s = specAndPlan(args.resources);
    if (!s) return;
    const planeName = s.spec.spec.kubernetes.observability.bindPlane;
    const plane = s.plan.planes.find((p) => p.name === planeName);
    for (const r of args.resources) {
      const rel = helmRelease(r);
      if (!rel || !OBSERVABILITY_CHARTS.includes(rel.chart)) continue;
      walkValues(rel.values, ["values"], (key, value, path) => {
        const where = path.join(".");
        if ((key === "type" || key === "serviceType") && typeof value === "string" && EXPOSING_TYPES.includes(value))
          reportViolation(
            `${label(r)} must not create a Service of type ${value} (${where}); the observability stack is reachable only on ${planeName}, through ClusterIP externalIPs.`,
            r.urn,
          );
        if (key === "externalIPs" && Array.isArray(value) && plane) {
          value.forEach((ip, i) => {
            if (!inside(plane.cidr, ip))
              reportViolation(
                `${label(r)} must keep ${show(ip)} at ${where}.${i} inside the bind plane ${planeName} (${plane.cidr}).`,
                r.urn,
              );
          });
        }
        if (key === "loadBalancerIP" && value !== undefined && value !== null && value !== "" && plane && !inside(plane.cidr, value))
          reportViolation(`${label(r)} must keep ${show(value)} at ${where} inside the bind plane ${planeName} (${plane.cidr}).`, r.urn);
        if (key === "adminPassword" && value !== undefined && value !== null && value !== "")
          reportViolation(
            `${label(r)} must not carry an admin password in ${where}; take Grafana's credentials from a Secret (admin.existingSecret).`,
            r.urn,
          );
      });
      // Grafana itself, or the Grafana kube-prometheus-stack bundles unless it is switched off.
      const grafana =
        rel.chart === "grafana"
          ? { values: rel.values, at: "values" }
          : rel.chart === "kube-prometheus-stack" && at(rel.values, ["grafana", "enabled"]) !== false
            ? { values: (at(rel.values, ["grafana"]) ?? {}) as Record<string, unknown>, at: "values.grafana" }
            : undefined;
      if (grafana) {
        const secret = at(grafana.values, ["admin", "existingSecret"]);
        if (typeof secret !== "string" || secret.trim() === "")
          reportViolation(
            `${label(r)} must take Grafana's admin credentials from a Secret: set ${grafana.at}.admin.existingSecret.`,
            r.urn,
          );
      }
    }
  },
};

export const kubernetesPolicies = {
  resource: [kubeadmJoinPinned, kubeadmInitOnce, apiserverHardening] as ResourceValidationPolicy[],
  stack: [controlPlaneJoinsSerial, ciliumNativeRouting, observabilityPlaneBound] as StackValidationPolicy[],
};
