/**
 * Unit harness for the policy pack (awsguard style): call one policy object from
 * policy/policies/*.ts directly, with the arguments the @pulumi/policy SDK would build for it,
 * and get back the violation messages it reported.
 *
 *  - runResourcePolicy(policy, resource)  → ResourceValidationArgs, as the SDK's `analyze` builds it
 *  - runStackPolicy(policy, resources)     → StackValidationArgs, as the SDK's `analyzeStack` builds it
 *  - specStage(spec)                       → the Stage 0 component that carries the rendered ClusterSpec
 *
 * Every run is recorded in a tracker (policy name → passing runs, failing runs, messages), so
 * guard.test.ts can fail the suite when a policy of ALL_POLICIES was never seen both accepting
 * and rejecting something, or when a violation message does not say what "must" change.
 *
 * The whole-pack path (analyzer service, enforcement levels, config) is exercised separately
 * through cli/engine/policy.ts in config.test.ts.
 */
import type {
  PolicyProviderResource,
  PolicyResource,
  PolicyResourceOptions,
  ResourceValidation,
  ResourceValidationArgs,
  ResourceValidationPolicy,
  StackValidationArgs,
  StackValidationPolicy,
} from "@pulumi/policy";
import { STAGE_TYPE } from "../../../policy/policies/graph";

export const PROJECT = "kubedos";
export const STACK = "unit";

/** A resource as a test describes it; everything else gets the SDK's defaults. */
export interface TestResource {
  type: string;
  name: string;
  props: Record<string, unknown>;
  /** Resource options; omitted ones take the values the engine sends for a plain resource. */
  opts?: Partial<PolicyResourceOptions>;
  /** Defaults to a URN built from the stack, project, type (and parent type) and name. */
  urn?: string;
  provider?: PolicyProviderResource;
}

/** What a policy reported: the message and the URN it was reported against (undefined: the resource/stack itself). */
export interface Reported {
  message: string;
  urn?: string;
}

/** Thrown by args.notApplicable(), as the SDK's throwNotApplicable does. */
export class NotApplicable extends Error {
  constructor(readonly reason?: string) {
    super(`not applicable${reason ? `: ${reason}` : ""}`);
  }
}

/** A URN shaped as the engine shapes it: urn:pulumi:STACK::PROJECT::[parentType$]type::name. */
export function urnOf(type: string, name: string, parentType?: string): string {
  return `urn:pulumi:${STACK}::${PROJECT}::${parentType ? `${parentType}$` : ""}${type}::${name}`;
}

/** The options the engine sends for a resource registered without options. */
export function defaultOpts(opts: Partial<PolicyResourceOptions> = {}): PolicyResourceOptions {
  return {
    protect: false,
    ignoreChanges: [],
    aliases: [],
    customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 },
    additionalSecretOutputs: [],
    ...opts,
  };
}

type AnyClass = { new (...rest: never[]): unknown; __pulumiType?: string; isInstance?: (o: unknown) => boolean };

/** The SDK's isTypeOf: the class's attached Pulumi type, else its isInstance. */
function isTypeOf(type: string, resourceClass: AnyClass): boolean {
  const t = resourceClass?.__pulumiType;
  if (typeof t === "string" && t.length > 0) return type === t;
  return typeof resourceClass?.isInstance === "function" && resourceClass.isInstance({ __pulumiType: type }) === true;
}

const notApplicable = (reason?: string): never => {
  throw new NotApplicable(reason);
};

// ---------------------------------------------------------------- tracker

export interface PolicyRecord {
  /** Runs that reported nothing. */
  passes: number;
  /** Runs that reported at least one violation. */
  failures: number;
  /** Every message the policy reported in a test. */
  messages: string[];
}

const tracker = new Map<string, PolicyRecord>();

function record(name: string, reported: Reported[]): void {
  const r = tracker.get(name) ?? { passes: 0, failures: 0, messages: [] };
  if (reported.length === 0) r.passes++;
  else r.failures++;
  r.messages.push(...reported.map((v) => v.message));
  tracker.set(name, r);
}

/** What the tests exercised so far, by policy name. */
export function exercised(): ReadonlyMap<string, Readonly<PolicyRecord>> {
  return tracker;
}

// ---------------------------------------------------------------- resource policies

/** ResourceValidationArgs for one resource, as the SDK builds them in `analyze`. */
export function resourceArgs(r: TestResource, config: object = {}): ResourceValidationArgs {
  const props = r.props as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const args = {
    type: r.type,
    props,
    urn: r.urn ?? urnOf(r.type, r.name),
    name: r.name,
    opts: defaultOpts(r.opts),
    stackTags: new Map<string, string>(),
    isType: (c: AnyClass) => isTypeOf(r.type, c),
    asType: (c: AnyClass) => (isTypeOf(r.type, c) ? props : undefined),
    getConfig: () => config,
    notApplicable,
    ...(r.provider ? { provider: r.provider } : {}),
  };
  return args as unknown as ResourceValidationArgs;
}

/** Run a resource policy on one resource; every violation with the URN it names. */
export function runResourcePolicyDetailed(policy: ResourceValidationPolicy, r: TestResource, config: object = {}): Reported[] {
  const out: Reported[] = [];
  const validations = ([] as ResourceValidation[]).concat(policy.validateResource ?? []);
  if (validations.length === 0) throw new Error(`${policy.name} has no validateResource`);
  for (const validate of validations) {
    try {
      const ret = validate(resourceArgs(r, config), (message, urn) => out.push({ message, urn }));
      if (ret && typeof ret.then === "function")
        throw new Error(`${policy.name} is asynchronous; the unit harness runs synchronous policies`);
    } catch (err) {
      if (!(err instanceof NotApplicable)) throw err;
    }
  }
  record(policy.name, out);
  return out;
}

/** Run a resource policy on one resource; the violation messages, in the order reported. */
export function runResourcePolicy(policy: ResourceValidationPolicy, r: TestResource, config: object = {}): string[] {
  return runResourcePolicyDetailed(policy, r, config).map((v) => v.message);
}

// ---------------------------------------------------------------- stack policies

/** A stack resource: a TestResource with an optional parent (by URN) and dependencies (by URN). */
export interface TestStackResource extends TestResource {
  parent?: string;
  dependencies?: string[];
}

/** PolicyResources for a stack, as the SDK builds them in `analyzeStack` (parents and dependencies linked). */
export function stackResources(resources: TestStackResource[]): PolicyResource[] {
  const byUrn = new Map<string, PolicyResource>();
  const built = resources.map((r) => {
    const props = r.props as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
    const pr = {
      type: r.type,
      props,
      urn: r.urn ?? urnOf(r.type, r.name),
      name: r.name,
      opts: defaultOpts({ ...(r.parent ? { parent: r.parent } : {}), ...r.opts }),
      dependencies: [] as PolicyResource[],
      propertyDependencies: {} as Record<string, PolicyResource[]>,
      isType: (c: AnyClass) => isTypeOf(r.type, c),
      asType: (c: AnyClass) => (isTypeOf(r.type, c) ? props : undefined),
      ...(r.provider ? { provider: r.provider } : {}),
    } as unknown as PolicyResource;
    byUrn.set(pr.urn, pr);
    return pr;
  });
  resources.forEach((r, i) => {
    const pr = built[i] as { parent?: PolicyResource; dependencies: PolicyResource[] };
    if (r.parent && byUrn.has(r.parent)) pr.parent = byUrn.get(r.parent);
    for (const d of r.dependencies ?? []) {
      const dep = byUrn.get(d);
      if (dep) pr.dependencies.push(dep);
    }
  });
  return built;
}

export function stackArgs(resources: TestStackResource[], config: object = {}): StackValidationArgs {
  return {
    resources: stackResources(resources),
    stackTags: new Map<string, string>(),
    getConfig: () => config,
    notApplicable,
  } as unknown as StackValidationArgs;
}

/** Run a stack policy on a stack; every violation with the URN it names. */
export function runStackPolicyDetailed(policy: StackValidationPolicy, resources: TestStackResource[], config: object = {}): Reported[] {
  const out: Reported[] = [];
  try {
    const ret = policy.validateStack(stackArgs(resources, config), (message, urn) => out.push({ message, urn }));
    if (ret && typeof ret.then === "function")
      throw new Error(`${policy.name} is asynchronous; the unit harness runs synchronous policies`);
  } catch (err) {
    if (!(err instanceof NotApplicable)) throw err;
  }
  record(policy.name, out);
  return out;
}

/** Run a stack policy on a stack; the violation messages, in the order reported. */
export function runStackPolicy(policy: StackValidationPolicy, resources: TestStackResource[], config: object = {}): string[] {
  return runStackPolicyDetailed(policy, resources, config).map((v) => v.message);
}

// ---------------------------------------------------------------- the program's resources

export const CLUSTER_TYPE = "kubedos:cluster:Cluster";
export const CLUSTER_URN = urnOf(CLUSTER_TYPE, "dev-lab");

/**
 * The Stage 0 component the program registers (components/cluster.ts): a child of the Cluster
 * whose outputs carry the rendered spec under `clusterSpec`.
 */
export function specStage(spec: unknown, name = "dev-lab-stage0-spec"): TestStackResource {
  return {
    type: STAGE_TYPE,
    name,
    urn: urnOf(STAGE_TYPE, name, CLUSTER_TYPE),
    parent: CLUSTER_URN,
    props: { index: 0, key: "spec", title: "Spec", enabled: true, clusterSpec: spec, specDigest: "sha256:unit" },
  };
}

/** The Cluster component itself (no spec on it). */
export function clusterComponent(): TestStackResource {
  return { type: CLUSTER_TYPE, name: "dev-lab", urn: CLUSTER_URN, props: { name: "dev-lab", nodes: 6 } };
}
