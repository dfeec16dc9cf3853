/**
 * Runs the real policy pack (policy/index.ts) in-process against a recorded stack, the way
 * `pulumi preview --policy-pack policy` runs it: the same analyzer service, the same
 * enforcement levels and config handling (DESIGN.md §5).
 *
 * `new PolicyPack()` starts a gRPC server and a second one in a process exits it. So the pack
 * is loaded once per process with `addService`/`bindAsync` of the grpc copy under
 * @pulumi/policy captured: we keep the service implementation and call `configure`,
 * `analyze` (once per resource) and `analyzeStack` (once) directly with protobuf requests.
 */
import * as path from "node:path";
import { specialSecretSig, specialSigKey } from "@pulumi/pulumi/runtime/rpc";
import { readFileSync, existsSync } from "node:fs";
import { isSecretMarker, type RecordedResource, type StackRun } from "./harness";

type Level = "advisory" | "mandatory" | "disabled" | "remediate";

export interface PolicyInfo {
  name: string;
  description: string;
  enforcementLevel: Level;
  kind: "resource" | "stack";
}

export interface Violation {
  policy: string;
  level: Level;
  urn: string;
  message: string;
}

export interface PolicyResult {
  pack: { name: string; version: string };
  /** Enforcement levels after config. */
  policies: PolicyInfo[];
  violations: Violation[];
  /** The config file applied, if any. */
  configFile?: string;
}

/** Policy config as `--policy-pack-config` takes it: name → level, or { enforcementLevel, …props }. */
export type PolicyConfig = Record<string, Level | ({ enforcementLevel?: Level } & Record<string, unknown>)>;

interface Service {
  analyze(call: { request: unknown }, cb: (err: Error | null | undefined, resp?: AnalyzeResponse) => void): void;
  analyzeStack(call: { request: unknown }, cb: (err: Error | null | undefined, resp?: AnalyzeResponse) => void): void;
  configure(call: { request: unknown }, cb: (err: Error | null | undefined) => void): void;
  getAnalyzerInfo(call: { request: unknown }, cb: (err: Error | null | undefined, info?: AnalyzerInfo) => void): void;
}
interface AnalyzeResponse {
  getDiagnosticsList(): Array<{ getPolicyname(): string; getEnforcementlevel(): number; getMessage(): string; getUrn(): string }>;
}
interface AnalyzerInfo {
  getName(): string;
  getVersion(): string;
  getPoliciesList(): Array<{
    getName(): string;
    getDescription(): string;
    getEnforcementlevel(): number;
    getPolicyType(): number;
    getConfigschema(): { getProperties(): { toJavaScript(): Record<string, { default?: unknown }> } | undefined } | undefined;
  }>;
}

/** policy/ in the checkout (PulumiPolicy.yaml, package.json), and its compiled entry in dist/. */
export const POLICY_SOURCE_DIR = path.resolve(__dirname, "..", "..", "..", "policy");
const POLICY_ENTRY = path.resolve(__dirname, "..", "..", "policy", "index.js");

const LEVELS: Level[] = ["advisory", "mandatory", "disabled", "remediate"];

let loaded: Promise<Service> | undefined;

/** Load the pack once per process. */
export function loadPolicyPack(): Promise<Service> {
  loaded ??= captureService();
  return loaded;
}

async function captureService(): Promise<Service> {
  const policyDir = path.dirname(require.resolve("@pulumi/policy"));
  const grpc = require(require.resolve("@grpc/grpc-js", { paths: [policyDir] })) as {
    Server: { prototype: { addService: (...a: unknown[]) => void; bindAsync: (...a: unknown[]) => void } };
  };
  const proto = grpc.Server.prototype;
  const saved = { addService: proto.addService, bindAsync: proto.bindAsync };
  let service: Service | undefined;
  proto.addService = function (_def: unknown, impl: unknown) {
    service = impl as Service;
  };
  proto.bindAsync = function () {
    /* no port: we call the service directly */
  };
  const cwd = process.cwd();
  try {
    // PolicyPack reads ./package.json for its version.
    process.chdir(POLICY_SOURCE_DIR);
    require(POLICY_ENTRY);
  } finally {
    process.chdir(cwd);
    proto.addService = saved.addService;
    proto.bindAsync = saved.bindAsync;
  }
  if (!service) throw new Error(`${POLICY_ENTRY} did not construct a PolicyPack`);
  return service;
}

function protos() {
  const analyzer = require("@pulumi/pulumi/proto/analyzer_pb");
  const struct = require("google-protobuf/google/protobuf/struct_pb");
  return { analyzer, struct };
}

const call = <T>(fn: (c: { request: unknown }, cb: (err: Error | null | undefined, r?: T) => void) => void, request: unknown): Promise<T> =>
  new Promise((resolve, reject) => fn({ request }, (err, r) => (err ? reject(err) : resolve(r as T))));

/** The config file the CLI would be given for a stack: policy/config/<stack>.json, if present. */
export function stackPolicyConfigFile(stack: string): string | undefined {
  const f = path.join(POLICY_SOURCE_DIR, "config", `${stack}.json`);
  return existsSync(f) ? f : undefined;
}

export function readPolicyConfig(file: string): PolicyConfig {
  return JSON.parse(readFileSync(file, "utf8")) as PolicyConfig;
}

export async function runPolicyPack(run: StackRun, opts: { config?: PolicyConfig; configFile?: string } = {}): Promise<PolicyResult> {
  const svc = await loadPolicyPack();
  const { analyzer, struct } = protos();
  const info = await call<AnalyzerInfo>(svc.getAnalyzerInfo.bind(svc), null);
  const config = opts.config ?? (opts.configFile ? readPolicyConfig(opts.configFile) : {});

  // As the CLI does: every policy gets its config with schema defaults filled in, and its level.
  const req = new analyzer.ConfigureAnalyzerRequest();
  const map = req.getPolicyconfigMap();
  const policies: PolicyInfo[] = [];
  for (const p of info.getPoliciesList()) {
    const name = p.getName();
    const user = config[name];
    const userObj = typeof user === "string" ? { enforcementLevel: user } : (user ?? {});
    const level = (userObj.enforcementLevel ?? LEVELS[p.getEnforcementlevel()]) as Level;
    if (!LEVELS.includes(level)) throw new Error(`policy config: ${name} has unknown enforcement level ${String(level)}`);
    const defaults: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(p.getConfigschema()?.getProperties()?.toJavaScript() ?? {}))
      if (v && "default" in v) defaults[k] = v.default;
    const props = { ...defaults, ...Object.fromEntries(Object.entries(userObj).filter(([k]) => k !== "enforcementLevel")) };
    const pc = new analyzer.PolicyConfig();
    pc.setEnforcementlevel(LEVELS.indexOf(level));
    pc.setProperties(struct.Struct.fromJavaScript(props));
    map.set(name, pc);
    policies.push({ name, description: p.getDescription(), enforcementLevel: level, kind: p.getPolicyType() === 2 ? "stack" : "resource" });
  }
  for (const name of Object.keys(config)) {
    if (!policies.some((p) => p.name === name)) throw new Error(`policy config names ${name}, which is not a policy of the pack`);
  }
  await call<void>(svc.configure.bind(svc), req);

  const violations: Violation[] = [];
  const descriptions = new Map(policies.map((p) => [p.name, p.description]));
  const collect = (resp: AnalyzeResponse, fallbackUrn: string) => {
    for (const d of resp.getDiagnosticsList()) {
      // The SDK prefixes every message with the policy's description; keep only the message.
      const desc = descriptions.get(d.getPolicyname());
      const raw = d.getMessage();
      const message = desc && raw.startsWith(`${desc}\n`) ? raw.slice(desc.length + 1) : raw;
      violations.push({ policy: d.getPolicyname(), level: LEVELS[d.getEnforcementlevel()], urn: d.getUrn() || fallbackUrn, message });
    }
  };

  // Each resource's properties as one Struct, shared by its analyze and analyzeStack requests.
  const properties = run.resources.map((r) => propertiesStruct(struct, r.custom ? r.inputs : (r.outputs ?? {})));

  // Resource policies see each custom resource's inputs, before it is created.
  for (const [i, r] of run.resources.entries()) {
    if (!r.custom) continue;
    const a = new analyzer.AnalyzeRequest();
    a.setType(r.type);
    a.setUrn(r.urn);
    a.setName(r.name);
    a.setProperties(properties[i]);
    a.setOptions(options(analyzer, r));
    collect(await call<AnalyzeResponse>(svc.analyze.bind(svc), a), r.urn);
  }

  // Stack policies see every resource with its final state: inputs for custom resources
  // (the mocks echo them as outputs), registered outputs for components.
  const s = new analyzer.AnalyzeStackRequest();
  s.setResourcesList(
    run.resources.map((r, i) => {
      const ar = new analyzer.AnalyzerResource();
      ar.setType(r.type);
      ar.setUrn(r.urn);
      ar.setName(r.name);
      ar.setProperties(properties[i]);
      ar.setOptions(options(analyzer, r));
      if (r.parent) ar.setParent(r.parent);
      ar.setDependenciesList(r.dependencies);
      return ar;
    }),
  );
  collect(await call<AnalyzeResponse>(svc.analyzeStack.bind(svc), s), "");

  return {
    pack: { name: info.getName(), version: info.getVersion() },
    policies,
    violations,
    ...(opts.configFile ? { configFile: opts.configFile } : {}),
  };
}

/**
 * The properties of a request, as the engine sends them, converted to plain JavaScript at most once.
 * The pack calls `toJavaScript()` on a resource's properties again for every policy that looks at
 * it — every stack policy walks every resource — and that conversion was most of a plan's time.
 * Sharing the result is safe: the pack's deserializeProperties only reads it and hands the policies
 * a fresh copy (new objects and arrays all the way down), so no policy ever sees the shared object.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function propertiesStruct(struct: any, value: Record<string, unknown>): unknown {
  const s = struct.Struct.fromJavaScript(wire(value));
  const convert = s.toJavaScript as () => Record<string, unknown>;
  let js: Record<string, unknown> | undefined;
  s.toJavaScript = () => (js ??= convert.call(s));
  return s;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
function options(analyzer: any, r: RecordedResource): unknown {
  const o = new analyzer.AnalyzerResourceOptions();
  o.setProtect(r.protect);
  o.setIgnorechangesList(r.ignoreChanges);
  o.setDeletebeforereplace(r.deleteBeforeReplace);
  o.setDeletebeforereplacedefined(true);
  o.setAdditionalsecretoutputsList(r.additionalSecretOutputs);
  o.setAliasesList([]);
  if (r.parent) o.setParent(r.parent);
  return o;
}

// The SDK's wire form of a secret: { [specialSigKey]: specialSecretSig, value }.
const SIG_KEY = specialSigKey;
const SECRET_SIG = specialSecretSig;

/** Back to the wire form the engine sends: secrets as signed objects (the pack unwraps them). */
function wire(v: unknown): Record<string, unknown> {
  const conv = (x: unknown): unknown => {
    if (isSecretMarker(x)) return { [SIG_KEY]: SECRET_SIG, value: conv(x.value) };
    if (Array.isArray(x)) return x.map(conv);
    if (x && typeof x === "object")
      return Object.fromEntries(
        Object.entries(x)
          .filter(([, y]) => y !== undefined)
          .map(([k, y]) => [k, conv(y)]),
      );
    return x;
  };
  return conv(v) as Record<string, unknown>;
}

export function mandatoryViolations(r: PolicyResult): Violation[] {
  return r.violations.filter((v) => v.level === "mandatory" || v.level === "remediate");
}
