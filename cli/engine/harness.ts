/**
 * Runs the real Pulumi program in-process under the mock engine and records the whole
 * resource graph: type, name, parent, dependencies and resource options. `kubedos plan`
 * and every whole-stack test use this (DESIGN.md §5).
 *
 * Why wrap the monitor: the mocks' `newResource` sees only type, name and inputs. The raw
 * RegisterResourceRequest that reaches the monitor also carries parent, dependencies,
 * protect, retainOnDelete, ignoreChanges, additionalSecretOutputs… — exactly what the
 * policy pack and the plan need to see.
 */
import * as pulumi from "@pulumi/pulumi";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import * as path from "node:path";

export interface RecordedResource {
  urn: string;
  type: string;
  name: string;
  custom: boolean;
  parent?: string;
  dependencies: string[];
  propertyDependencies: Record<string, string[]>;
  protect: boolean;
  retainOnDelete: boolean;
  deleteBeforeReplace: boolean;
  ignoreChanges: string[];
  replaceOnChanges: string[];
  additionalSecretOutputs: string[];
  provider?: string;
  /** Inputs as the program sent them (secrets unwrapped to their values: never print these). */
  inputs: Record<string, unknown>;
  /** Outputs registered by a component (`registerOutputs`). */
  outputs?: Record<string, unknown>;
}

export interface StackRun {
  project: string;
  stack: string;
  resources: RecordedResource[];
  exports: Record<string, unknown>;
  /** Set when the program failed (e.g. Stage 0 rejected the spec). */
  error?: { message: string; isRunError: boolean };
  /** Messages the program logged through pulumi.log (warnings, info). */
  logs: Array<{ severity: string; message: string }>;
}

export interface RunOptions {
  stack: string;
  project?: string;
  /** Full config keys, e.g. { "kubedos:clusterSpec": "/abs/path.yaml" }. */
  config: Record<string, string>;
  /** Config keys that are secrets. */
  secretKeys?: string[];
  /** Compiled program entry; defaults to dist/stacks/index.js. */
  program?: string;
}

export const DEFAULT_PROGRAM = path.resolve(__dirname, "..", "..", "stacks", "index.js");

/** Numeric-id providers: hcloud resources are referenced by number (DESIGN.md §5). */
const NUMERIC_ID_PREFIXES = ["hcloud:"];

/** Resources registered so far in the current run (numeric ids count from it; reset per run). */
let counter = 0;

const mocks: pulumi.runtime.Mocks = {
  newResource(args) {
    counter++;
    const numeric = NUMERIC_ID_PREFIXES.some((p) => args.type.startsWith(p));
    // Commands' outputs (stdout…) are never read by the program; echoing their inputs back would
    // only hold a second copy of every rendered config for the whole run.
    const state = args.type.startsWith("command:") ? {} : { ...args.inputs };
    return { id: numeric ? String(100000 + counter) : `${args.name}-id`, state };
  },
  call(args) {
    return { ...args.inputs };
  },
};

export async function runStack(opts: RunOptions): Promise<StackRun> {
  const project = opts.project ?? "kubedos";
  const program = opts.program ?? DEFAULT_PROGRAM;
  const recorded = new Map<string, RecordedResource>();
  const order: string[] = [];
  const logs: StackRun["logs"] = [];

  // The SDK captures a stack trace for every promise it creates (leak diagnostics); at thousands
  // of resources that dominates the run. Short traces keep it cheap; RunErrors carry no stack.
  const stackLimit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  // Each run numbers its resources from the start, so a run's ids do not depend on which runs
  // came before it in the process (the CLI runs once per process; tests run many).
  counter = 0;
  await pulumi.runtime.setMocks(mocks, project, opts.stack, false);
  const { config, secretKeys } = withOfflineSecrets(opts.config, opts.secretKeys ?? []);
  pulumi.runtime.setAllConfig(config, secretKeys);
  wrapMonitor(recorded, order);
  const restoreLog = captureLogs(logs);
  // When the program throws after resources exist, the SDK rejects the stack's output promise
  // a second time with the same error and nobody awaits it. Collect those instead of crashing;
  // the error itself is reported once, below.
  const stray: unknown[] = [];
  const onStray = (reason: unknown) => stray.push(reason);
  process.on("unhandledRejection", onStray);

  // A fresh module graph per run: the program's module state must not leak between stacks.
  evictProgramModules(program);
  let programExports: Record<string, unknown> = {};
  let error: StackRun["error"];
  try {
    // Keep the program's own return value: runInPulumiStack hands back the outputs with their
    // secret flags stripped, and a secret export must stay marked as one.
    let returned: unknown;
    await pulumi.runtime.runInPulumiStack(async () => {
      const mod = require(program);
      // As Pulumi does: a function is called, `default` is used when it is the only export,
      // otherwise the module's exports are the stack outputs.
      const entry =
        typeof mod === "function"
          ? mod
          : mod && typeof mod === "object" && "default" in mod && Object.keys(mod).length === 1
            ? mod.default
            : mod;
      returned = typeof entry === "function" ? await entry() : entry;
      return returned as Record<string, unknown>;
    });
    programExports = (returned ?? {}) as Record<string, unknown>;
  } catch (err) {
    const isRunError = pulumi.RunError.isInstance(err as Error);
    error = { message: isRunError ? (err as Error).message : String((err as Error)?.stack ?? err), isRunError };
  } finally {
    // Drain outstanding RPCs so no registration lands after we read the graph.
    await (pulumi.runtime as unknown as { waitForRPCs(): Promise<void> }).waitForRPCs();
    await new Promise((resolve) => setImmediate(resolve));
    process.off("unhandledRejection", onStray);
    restoreLog();
    Error.stackTraceLimit = stackLimit;
  }
  if (!error && stray.length > 0) {
    const first = stray[0];
    const isRunError = first instanceof Error && pulumi.RunError.isInstance(first);
    error = { message: isRunError ? (first as Error).message : String((first as Error)?.stack ?? first), isRunError };
  }
  return {
    project,
    stack: opts.stack,
    resources: order.map((u) => recorded.get(u)!),
    exports: await resolveExports(programExports),
    error,
    logs,
  };
}

/**
 * Offline runs need the secrets a real run takes from the stack config. Without them, the
 * master seed comes from KUBEDOS_MASTER_SEED and the SSH key from KUBEDOS_SSH_PRIVATE_KEY; failing
 * those, fixed placeholders stand in — derived keys are then placeholders too, which a plan
 * may show but a real `pulumi up` never uses (it requires both as stack secrets).
 */
export const OFFLINE_PLACEHOLDER_SEED = "kubedos-offline-plan-placeholder-seed";
export const OFFLINE_PLACEHOLDER_SSH_KEY = "kubedos-offline-plan-placeholder-ssh-key";

function withOfflineSecrets(
  config: Record<string, string>,
  secretKeys: string[],
): { config: Record<string, string>; secretKeys: string[] } {
  const out = { ...config };
  const keys = new Set(secretKeys);
  const fill = (key: string, env: string | undefined, placeholder: string) => {
    if (out[key] !== undefined) return;
    out[key] = env && env.length > 0 ? env : placeholder;
    keys.add(key);
  };
  fill("kubedos:masterSeed", process.env.KUBEDOS_MASTER_SEED, OFFLINE_PLACEHOLDER_SEED);
  fill("kubedos:sshPrivateKey", process.env.KUBEDOS_SSH_PRIVATE_KEY, OFFLINE_PLACEHOLDER_SSH_KEY);
  // The epoch is not secret; pin it when asked so two runs render the same keys.
  if (out["kubedos:wireguardEpoch"] === undefined && process.env.KUBEDOS_WG_EPOCH)
    out["kubedos:wireguardEpoch"] = process.env.KUBEDOS_WG_EPOCH;
  return { config: out, secretKeys: [...keys] };
}

type Callback = (err: Error | null, resp?: { getUrn(): string }) => void;
interface RegisterRequest {
  getType(): string;
  getName(): string;
  getCustom(): boolean;
  getParent(): string;
  getDependenciesList(): string[];
  getPropertydependenciesMap(): { forEach(cb: (v: { getUrnsList(): string[] }, k: string) => void): void };
  getProtect(): boolean;
  getRetainondelete(): boolean;
  getDeletebeforereplace(): boolean;
  getIgnorechangesList(): string[];
  getReplaceonchangesList(): string[];
  getAdditionalsecretoutputsList(): string[];
  getProvider(): string;
  getObject(): unknown;
}

function wrapMonitor(recorded: Map<string, RecordedResource>, order: string[]): void {
  const monitor = pulumi.runtime.getMonitor() as unknown as {
    registerResource(req: RegisterRequest, cb: Callback): void;
    registerResourceOutputs(req: { getUrn(): string; getOutputs(): unknown }, cb: (err: Error | null, resp?: unknown) => void): void;
  };
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req, cb) => {
    register(req, (err, resp) => {
      if (!err && resp) {
        const urn = resp.getUrn();
        const propertyDependencies: Record<string, string[]> = {};
        req.getPropertydependenciesMap().forEach((v, k) => (propertyDependencies[k] = v.getUrnsList()));
        recorded.set(urn, {
          urn,
          type: req.getType(),
          name: req.getName(),
          custom: req.getCustom(),
          parent: req.getParent() || undefined,
          dependencies: [...new Set(req.getDependenciesList())],
          propertyDependencies,
          protect: !!req.getProtect(),
          retainOnDelete: !!req.getRetainondelete(),
          deleteBeforeReplace: !!req.getDeletebeforereplace(),
          ignoreChanges: req.getIgnorechangesList(),
          replaceOnChanges: req.getReplaceonchangesList(),
          additionalSecretOutputs: req.getAdditionalsecretoutputsList(),
          provider: req.getProvider() || undefined,
          inputs: deserialize(req.getObject()),
        });
        order.push(urn);
      }
      cb(err, resp);
    });
  };
  const registerOutputs = monitor.registerResourceOutputs.bind(monitor);
  monitor.registerResourceOutputs = (req, cb) => {
    const r = recorded.get(req.getUrn());
    if (r) r.outputs = deserialize(req.getOutputs());
    registerOutputs(req, cb);
  };
}

function deserialize(struct: unknown): Record<string, unknown> {
  if (!struct) return {};
  const raw = (struct as { toJavaScript(): Record<string, unknown> }).toJavaScript();
  return unwrapSecrets(raw) as Record<string, unknown>;
}

// The SDK's wire form of a secret: { [specialSigKey]: specialSecretSig, value }.
const SIG_KEY = specialSigKey;
const SECRET_SIG = specialSecretSig;

/** Replace the wire form of secrets with a marker object, so nothing downstream prints them by accident. */
function unwrapSecrets(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(unwrapSecrets);
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    if (o[SIG_KEY] === SECRET_SIG) return { [SECRET_MARKER]: true, value: unwrapSecrets(o.value) };
    return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, unwrapSecrets(x)]));
  }
  return v;
}

/** Key of the marker object that stands for a Pulumi secret in recorded inputs. */
export const SECRET_MARKER = "__kubedosSecret";

export function isSecretMarker(v: unknown): v is { value: unknown } {
  return !!v && typeof v === "object" && (v as Record<string, unknown>)[SECRET_MARKER] === true;
}

async function resolveExports(exports: Record<string, unknown>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(exports)) out[k] = await resolveValue(v);
  return out;
}

async function resolveValue(v: unknown): Promise<unknown> {
  if (pulumi.Output.isInstance(v)) {
    const o = v as pulumi.Output<unknown>;
    const [value, secret] = await Promise.all([new Promise((res) => o.apply((x) => res(x))), pulumi.isSecret(o)]);
    const inner = await resolveValue(value);
    return secret ? { [SECRET_MARKER]: true, value: inner } : inner;
  }
  if (v instanceof Promise) return resolveValue(await v);
  if (Array.isArray(v)) return Promise.all(v.map(resolveValue));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = await resolveValue(x);
    return out;
  }
  return v;
}

function captureLogs(logs: StackRun["logs"]): () => void {
  const log = pulumi.log as unknown as Record<string, (msg: string, ...rest: unknown[]) => Promise<void>>;
  const saved: Record<string, (msg: string, ...rest: unknown[]) => Promise<void>> = {};
  // Debug logs are dropped: the SDK's debug lines echo raw RPC payloads, secrets included.
  saved.debug = log.debug;
  log.debug = async () => {};
  for (const severity of ["info", "warn", "error"]) {
    saved[severity] = log[severity];
    log[severity] = async (message: string) => {
      logs.push({ severity, message });
    };
  }
  return () => Object.assign(log, saved);
}

/**
 * Drop the program's compiled modules (stacks/ and components/) from the require cache so each
 * run starts from fresh module state; the harness, the tests and node_modules stay loaded.
 */
function evictProgramModules(program: string): void {
  const root = path.resolve(path.dirname(program), "..");
  const owned = [path.join(root, "stacks") + path.sep, path.join(root, "components") + path.sep];
  const evicted = new Set<NodeJS.Module>();
  for (const key of Object.keys(require.cache)) {
    if (key === require.resolve(program) || owned.some((dir) => key.startsWith(dir))) {
      const m = require.cache[key];
      if (m) evicted.add(m);
      delete require.cache[key];
    }
  }
  // A module stays listed in the `children` of whoever required it first (this file, for the
  // program): unlisted, each run's module graph — code and module state — would stay reachable
  // for the life of the process.
  if (evicted.size === 0) return;
  for (const m of Object.values(require.cache)) {
    const children = m?.children;
    if (!children) continue;
    for (let i = children.length - 1; i >= 0; i--) if (evicted.has(children[i])) children.splice(i, 1);
  }
}
