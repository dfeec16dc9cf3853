/**
 * The environment profile as desired objects (seed 004 §2): the spec's `environment` section
 * normalised — defaults filled, lists sorted, adapters resolved — per component, with the hash the
 * reconcilers and the Pulumi diff key on. Pure: no I/O, no Pulumi.
 *
 * Defaults live here and only here: adapters default to the local ones (filesystem, in-process,
 * in-memory), `versioning` to false, `durable` to true, `publishConfirms` to true, `prune` to false.
 */
import { createHash } from "node:crypto";
import * as path from "node:path";
import { CATALOG } from "../kit/catalog";
import type { EnvironmentSpec, VectorDataType } from "../spec/environment-schema";
import type { ClusterSpec } from "../spec/schema";

export const COMPONENTS = ["storage", "broker", "vector"] as const;
/** A reconciler: A) storage, B) broker, C) vector index (seed 004 §3), in the order they run. */
export type Component = (typeof COMPONENTS)[number];

// ---------------------------------------------------------------- desired objects

export interface LifecycleRule {
  id: string;
  prefix: string;
  expirationDays?: number;
  noncurrentExpirationDays?: number;
  abortIncompleteUploadDays?: number;
}

export interface DesiredBucket {
  name: string;
  versioning: boolean;
  /** Sorted by id. */
  lifecycle: LifecycleRule[];
  /** Managed tags, keys sorted. */
  tags: Record<string, string>;
}

export interface DesiredStorage {
  buckets: DesiredBucket[];
}

export type ExchangeType = "direct" | "topic" | "fanout";
export interface Exchange {
  name: string;
  type: ExchangeType;
  durable: boolean;
}
export interface Queue {
  name: string;
  durable: boolean;
}
export interface Binding {
  exchange: string;
  queue: string;
  routingKey: string;
}

export interface DesiredBroker {
  exchanges: Exchange[];
  queues: Queue[];
  bindings: Binding[];
  publishConfirms: boolean;
}

export type Distance = "cosine" | "l2" | "inner-product";
export interface VectorProperty {
  name: string;
  dataType: VectorDataType;
}
export interface VectorClass {
  name: string;
  dimensions: number;
  distance: Distance;
  properties: VectorProperty[];
}

export interface DesiredVector {
  classes: VectorClass[];
}

export interface DesiredByComponent {
  storage: DesiredStorage;
  broker: DesiredBroker;
  vector: DesiredVector;
}

// ---------------------------------------------------------------- adapters (no secrets in here)

export type StorageAdapter =
  { kind: "filesystem"; root: string } | { kind: "s3"; endpoint: string; region: string; accessKeyId: string; blueprint?: string };
export type BrokerAdapter =
  | { kind: "in-process"; stateFile: string }
  | { kind: "nats"; url: string; username?: string; blueprint?: string }
  | { kind: "rabbitmq"; url: string; managementUrl: string; username: string; blueprint?: string };
export type VectorAdapter =
  { kind: "in-memory"; stateFile: string } | { kind: "pgvector"; url: string; schema: string; username: string; blueprint?: string };

export interface AdapterByComponent {
  storage: StorageAdapter;
  broker: BrokerAdapter;
  vector: VectorAdapter;
}

/** One reconciler's whole input: what to reach, what must exist there, and whether it may delete. */
export interface ComponentProfile<C extends Component = Component> {
  component: C;
  adapter: AdapterByComponent[C];
  desired: DesiredByComponent[C];
  /** The explicit deletion flag (`environment.prune.<component>`). */
  prune: boolean;
  /** sha256 of the canonical JSON of { component, adapter, desired, prune }: a change of any re-applies. */
  desiredHash: string;
}

export interface EnvironmentProfile {
  storage: ComponentProfile<"storage">;
  broker: ComponentProfile<"broker">;
  vector: ComponentProfile<"vector">;
}

export const DEFAULT_S3_REGION = "us-east-1";
export const DEFAULT_USER = "kubedos";
export const DEFAULT_VECTOR_SCHEMA = "kubedos_vector";
export const RABBITMQ_MANAGEMENT_PORT = 15672;

/** Where local adapters keep state when `environment.stateDir` is not set (relative to Pulumi's working directory). */
export const defaultStateDir = (cluster: string): string => path.join(".kubedos", "environment", cluster);

/** JSON with object keys sorted at every level: equal values, equal text, equal hash. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(",")}]`;
  if (v && typeof v === "object") {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .filter((k) => o[k] !== undefined)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(",")}}`;
  }
  return JSON.stringify(v);
}

export const sha256 = (text: string): string => createHash("sha256").update(text).digest("hex");

/** Idempotency key (seed 004 §6): sha256 of node id, component, generation and desired hash. */
export function idempotencyKey(node: string, component: Component, generation: number, desiredHash: string): string {
  return sha256(`${node}\n${component}\n${generation}\n${desiredHash}`);
}

const byName = <T extends { name: string }>(a: T, b: T): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
const sortedRecord = (r: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(r ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function desiredStorage(env: EnvironmentSpec): DesiredStorage {
  return {
    buckets: (env.buckets ?? [])
      .map((b) => ({
        name: b.name,
        versioning: b.versioning ?? false,
        lifecycle: (b.lifecycle ?? [])
          .map((r) => ({
            id: r.id,
            prefix: r.prefix ?? "",
            ...(r.expirationDays !== undefined ? { expirationDays: r.expirationDays } : {}),
            ...(r.noncurrentExpirationDays !== undefined ? { noncurrentExpirationDays: r.noncurrentExpirationDays } : {}),
            ...(r.abortIncompleteUploadDays !== undefined ? { abortIncompleteUploadDays: r.abortIncompleteUploadDays } : {}),
          }))
          .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)),
        tags: sortedRecord(b.tags),
      }))
      .sort(byName),
  };
}

export const bindingKey = (b: Binding): string => `${b.exchange}/${b.queue}/${b.routingKey}`;

export function desiredBroker(env: EnvironmentSpec): DesiredBroker {
  const b = env.broker ?? {};
  // A fanout exchange ignores routing keys (AMQP 0-9-1 §3.1.3.2): normalised to "" so they cannot differ.
  const fanout = new Set((b.exchanges ?? []).filter((e) => e.type === "fanout").map((e) => e.name));
  return {
    exchanges: (b.exchanges ?? []).map((e) => ({ name: e.name, type: e.type, durable: e.durable ?? true })).sort(byName),
    queues: (b.queues ?? []).map((q) => ({ name: q.name, durable: q.durable ?? true })).sort(byName),
    bindings: (b.bindings ?? [])
      .map((x) => ({ exchange: x.exchange, queue: x.queue, routingKey: fanout.has(x.exchange) ? "" : (x.routingKey ?? "") }))
      .sort((x, y) => (bindingKey(x) < bindingKey(y) ? -1 : bindingKey(x) > bindingKey(y) ? 1 : 0)),
    publishConfirms: b.publishConfirms ?? true,
  };
}

export function desiredVector(env: EnvironmentSpec): DesiredVector {
  return {
    classes: (env.vector?.classes ?? [])
      .map((c) => ({
        name: c.name,
        dimensions: c.dimensions,
        distance: c.distance ?? "cosine",
        properties: (c.properties ?? []).map((p) => ({ name: p.name, dataType: p.dataType })).sort(byName),
      }))
      .sort(byName),
  };
}

// ---------------------------------------------------------------- backing blueprints

/**
 * The kit blueprint whose in-cluster Service an endpoint names: `<svc>.<namespace>.svc[.cluster.local]`
 * → the catalog blueprint installed in `<namespace>`. Undefined for an endpoint outside the cluster
 * (and for a namespace no blueprint owns).
 */
export function backingBlueprint(endpoint: string | undefined): string | undefined {
  const ns = serviceNamespace(endpoint);
  return ns === undefined ? undefined : CATALOG.find((b) => b.namespace === ns)?.name;
}

/** The namespace of an in-cluster Service host (`a.b.svc`, `a.b.svc.cluster.local`), else undefined. */
export function serviceNamespace(endpoint: string | undefined): string | undefined {
  const host = hostOf(endpoint);
  const m = host ? /^[a-z0-9-]+\.([a-z0-9-]+)\.svc(\.cluster\.local)?$/.exec(host) : null;
  return m ? m[1] : undefined;
}

export function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname || undefined;
  } catch {
    return undefined;
  }
}

/** The user a URL names (`amqp://app@host`), if any. */
function urlUser(url: string): string | undefined {
  try {
    return decodeURIComponent(new URL(url).username) || undefined;
  } catch {
    return undefined;
  }
}

/** The adapters a spec chooses (defaults filled). Assumes a spec that passed environment-adapters. */
export function resolveAdapters(spec: ClusterSpec): AdapterByComponent {
  const env = spec.spec.environment ?? {};
  const stateDir = env.stateDir ?? defaultStateDir(spec.metadata.name);
  const os = env.objectStorage ?? { adapter: "filesystem" };
  const bus = env.eventBus ?? { adapter: "in-process" };
  const vec = env.vectorIndex ?? { adapter: "in-memory" };
  const blueprint = (url: string) => {
    const b = backingBlueprint(url);
    return b ? { blueprint: b } : {};
  };
  const storage: StorageAdapter =
    os.adapter === "s3"
      ? {
          kind: "s3",
          endpoint: os.endpoint!,
          region: os.region ?? DEFAULT_S3_REGION,
          accessKeyId: os.accessKeyId ?? DEFAULT_USER,
          ...blueprint(os.endpoint!),
        }
      : { kind: "filesystem", root: path.join(stateDir, "object-storage") };
  let broker: BrokerAdapter;
  switch (bus.adapter) {
    case "nats": {
      const username = bus.username ?? urlUser(bus.url!);
      broker = { kind: "nats", url: bus.url!, ...(username ? { username } : {}), ...blueprint(bus.url!) };
      break;
    }
    case "rabbitmq":
      broker = {
        kind: "rabbitmq",
        url: bus.url!,
        managementUrl: bus.managementUrl ?? `http://${hostOf(bus.url!)}:${RABBITMQ_MANAGEMENT_PORT}`,
        username: bus.username ?? urlUser(bus.url!) ?? DEFAULT_USER,
        ...blueprint(bus.url!),
      };
      break;
    case "in-process":
      broker = { kind: "in-process", stateFile: path.join(stateDir, "event-bus.json") };
      break;
    default: {
      const never: never = bus.adapter;
      throw new Error(`unknown event bus adapter ${String(never)}`);
    }
  }
  const vector: VectorAdapter =
    vec.adapter === "pgvector"
      ? {
          kind: "pgvector",
          url: vec.url!,
          schema: vec.schema ?? DEFAULT_VECTOR_SCHEMA,
          username: urlUser(vec.url!) ?? DEFAULT_USER,
          ...blueprint(vec.url!),
        }
      : { kind: "in-memory", stateFile: path.join(stateDir, "vector-index.json") };
  return { storage, broker, vector };
}

/** The whole profile of a spec with an environment section; undefined without one. */
export function environmentProfile(spec: ClusterSpec): EnvironmentProfile | undefined {
  const env = spec.spec.environment;
  if (!env) return undefined;
  const adapters = resolveAdapters(spec);
  const desired: DesiredByComponent = { storage: desiredStorage(env), broker: desiredBroker(env), vector: desiredVector(env) };
  const make = <C extends Component>(component: C): ComponentProfile<C> => {
    const prune = env.prune?.[component] ?? false;
    const adapter = adapters[component];
    const d = desired[component];
    return { component, adapter, desired: d, prune, desiredHash: sha256(canonicalJson({ component, adapter, desired: d, prune })) };
  };
  return { storage: make("storage"), broker: make("broker"), vector: make("vector") };
}

/** A one-line, secret-free name of where a component reconciles: `s3 http://…`, `filesystem .kubedos/…`. */
export function adapterIdentity(a: StorageAdapter | BrokerAdapter | VectorAdapter): string {
  switch (a.kind) {
    case "filesystem":
      return `filesystem ${a.root}`;
    case "in-process":
    case "in-memory":
      return `${a.kind} ${a.stateFile}`;
    case "s3":
      return `s3 ${a.endpoint}`;
    case "nats":
    case "rabbitmq":
    case "pgvector":
      return `${a.kind} ${a.url}`;
  }
}
