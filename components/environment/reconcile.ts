/**
 * One reconcile run (seed 004 §3, §6): read actual → diff (diff.ts, pure) → apply the planned
 * operations through the port → an apply event. Safe to repeat: a run against an unchanged
 * profile plans no operation, so it calls no write on the backend at all.
 *
 * Failures name the component, the object and the server's answer (ReconcileError); a write the
 * endpoint does not implement (S3 NotImplemented) becomes a skip with that reason, not a failure.
 */
import {
  diffBroker,
  diffStorage,
  diffVector,
  MUTATING,
  storageOpScope,
  unsupportedReason,
  type Action,
  type BrokerManaged,
  type BrokerOp,
  type StorageManaged,
  type StorageOp,
  type VectorManaged,
  type VectorOp,
} from "./diff";
import { UnsupportedError, type EventBus, type ObjectStorage, type VectorIndex } from "./ports";
import { adapterIdentity, idempotencyKey, type Component, type ComponentProfile } from "./profile";

export type ApplyStatus = "in-sync" | "applied" | "partial";

/** The record of one apply (seed 004 §3 "bootstrap events with generation hash"). */
export interface ApplyEvent {
  node: string;
  component: Component;
  /** Secret-free: `s3 http://…`, `filesystem .kubedos/…`. */
  adapter: string;
  /** Monotonic per component: 1 on create, +1 on every apply of a changed desired hash. */
  generation: number;
  desiredHash: string;
  /** sha256(node, component, generation, desiredHash). */
  idempotencyKey: string;
  /** Runs under this key so far (a retried or refreshed apply of the same generation counts up). */
  attempt: number;
  /** in-sync: nothing to do; applied: changes made, nothing skipped; partial: something skipped (see `skipped`). */
  status: ApplyStatus;
  /** True when the run made no mutation. */
  idempotent: boolean;
  /** Creates, updates and deletes carried out. */
  actions: Action[];
  /** Incompatible or unsupported changes, each with its reason. */
  skipped: Action[];
  /** Objects removed from the spec and kept because prune is off. */
  retained: Action[];
  at: string;
  durationMs: number;
}

export type Managed = StorageManaged | BrokerManaged | VectorManaged;

export const EMPTY_MANAGED: { storage: StorageManaged; broker: BrokerManaged; vector: VectorManaged } = {
  storage: { buckets: {} },
  broker: { exchanges: [], queues: [], bindings: [] },
  vector: { classes: {} },
};

export class ReconcileError extends Error {
  constructor(
    readonly component: Component,
    readonly object: string,
    answer: string,
    readonly applied: Action[],
  ) {
    super(
      `${component} reconcile failed at ${object}: ${answer}${applied.length ? ` (applied before the failure: ${applied.map((a) => a.object).join(", ")})` : ""}`,
    );
  }
}

/** The server's answer, without a stack: error name/code and message. */
export function answerOf(err: unknown): string {
  const e = err as { name?: string; code?: string | number; message?: string; Code?: string };
  const code = e?.Code ?? e?.code ?? (e?.name && e.name !== "Error" ? e.name : undefined);
  const msg = (e?.message ?? String(err)).split("\n")[0];
  return code !== undefined && !msg.includes(String(code)) ? `${code}: ${msg}` : msg;
}

export type Port = ObjectStorage | EventBus | VectorIndex;

export interface ReconcileInput<C extends Component> {
  profile: ComponentProfile<C>;
  node: string;
  generation: number;
  /** What kubedos managed after the previous apply (EMPTY_MANAGED on the first). */
  managed: Managed;
  /** The previous event, for the attempt count. */
  previous?: Pick<ApplyEvent, "idempotencyKey" | "attempt">;
  port: Port;
  /** One line per action attempted, skipped or retained (seed 004 §6 log fields). */
  log?: (line: string) => void;
  now?: () => Date;
}

interface Planned<Op> {
  actions: Action[];
  ops: Op[];
  managed: Managed;
}

async function plan(input: ReconcileInput<Component>): Promise<Planned<StorageOp | BrokerOp | VectorOp>> {
  const { profile, managed } = input;
  switch (profile.component) {
    case "storage": {
      const p = profile as ComponentProfile<"storage">;
      const m = managed as StorageManaged;
      const names = [...new Set([...p.desired.buckets.map((b) => b.name), ...Object.keys(m.buckets)])];
      const actual = await (input.port as ObjectStorage).readBuckets(names);
      return diffStorage(p.desired, actual, m, p.prune);
    }
    case "broker": {
      const p = profile as ComponentProfile<"broker">;
      const m = managed as BrokerManaged;
      const actual = await (input.port as EventBus).readTopology({
        exchanges: [...new Set([...p.desired.exchanges.map((e) => e.name), ...m.exchanges])],
        queues: [...new Set([...p.desired.queues.map((q) => q.name), ...m.queues])],
      });
      return diffBroker(p.desired, actual, m, p.prune);
    }
    case "vector": {
      const p = profile as ComponentProfile<"vector">;
      const m = managed as VectorManaged;
      const names = [...new Set([...p.desired.classes.map((c) => c.name), ...Object.keys(m.classes)])];
      const actual = await (input.port as VectorIndex).readClasses(names);
      return diffVector(p.desired, actual, m, p.prune);
    }
  }
}

function objectOf(op: StorageOp | BrokerOp | VectorOp): string {
  switch (op.op) {
    case "createBucket":
    case "deleteBucket":
      return `bucket/${op.bucket}`;
    case "putVersioning":
      return `bucket/${op.bucket}/versioning`;
    case "putLifecycle":
      return `bucket/${op.bucket}/lifecycle`;
    case "putTags":
      return `bucket/${op.bucket}/tagging`;
    case "declareExchange":
      return `exchange/${op.exchange.name}`;
    case "declareQueue":
      return `queue/${op.queue.name}`;
    case "bind":
    case "unbind":
      return `binding/${op.binding.exchange}/${op.binding.queue}/${op.binding.routingKey}`;
    case "deleteQueue":
      return `queue/${op.name}`;
    case "deleteExchange":
      return `exchange/${op.name}`;
    case "createClass":
      return `class/${op.class.name}`;
    case "addProperty":
      return `class/${op.class}/property/${op.property.name}`;
    case "dropProperty":
      return `class/${op.class}/property/${op.property}`;
    case "dropClass":
      return `class/${op.class}`;
  }
}

async function execute(port: Port, op: StorageOp | BrokerOp | VectorOp): Promise<void> {
  const s = port as ObjectStorage;
  const b = port as EventBus;
  const v = port as VectorIndex;
  switch (op.op) {
    case "createBucket":
      return s.createBucket(op.bucket);
    case "putVersioning":
      return s.putVersioning(op.bucket, op.enabled);
    case "putLifecycle":
      return s.putLifecycle(op.bucket, op.rules);
    case "putTags":
      return s.putTags(op.bucket, op.tags);
    case "deleteBucket":
      return s.deleteBucket(op.bucket);
    case "declareExchange":
      return b.declareExchange(op.exchange);
    case "declareQueue":
      return b.declareQueue(op.queue);
    case "bind":
      return b.bind(op.binding);
    case "unbind":
      return b.unbind(op.binding);
    case "deleteQueue":
      return b.deleteQueue(op.name);
    case "deleteExchange":
      return b.deleteExchange(op.name);
    case "createClass":
      return v.createClass(op.class);
    case "addProperty":
      return v.addProperty(op.class, op.property);
    case "dropProperty":
      return v.dropProperty(op.class, op.property);
    case "dropClass":
      return v.dropClass(op.class);
  }
}

/** Read, diff, apply; returns the apply event and what kubedos manages afterwards. */
export async function reconcile<C extends Component>(input: ReconcileInput<C>): Promise<{ event: ApplyEvent; managed: Managed }> {
  const now = input.now ?? (() => new Date());
  const started = now();
  const t0 = process.hrtime.bigint();
  const { profile, node, generation } = input;
  const key = idempotencyKey(node, profile.component, generation, profile.desiredHash);
  const attempt = input.previous?.idempotencyKey === key ? input.previous.attempt + 1 : 1;
  const log = input.log ?? (() => undefined);
  const base = `component=${profile.component} generation=${generation} attempt=${attempt}`;

  let planned: Planned<StorageOp | BrokerOp | VectorOp>;
  try {
    planned = await plan(input as ReconcileInput<Component>);
  } catch (err) {
    throw new ReconcileError(profile.component, `read (${adapterIdentity(profile.adapter)})`, answerOf(err), []);
  }
  const actions = planned.actions.map((a) => ({ ...a }));
  const applied: Action[] = [];
  for (const op of planned.ops) {
    const covers = profile.component === "storage" ? storageOpScope(op as StorageOp).prefix : objectOf(op);
    const mine = actions.filter(
      (a) => MUTATING.has(a.kind) && (a.object === covers || (covers.endsWith("/") && a.object.startsWith(covers))),
    );
    try {
      await execute(input.port, op);
      applied.push(...mine);
    } catch (err) {
      if (err instanceof UnsupportedError) {
        // The endpoint lacks the feature: a skip with the reason, the rest of the plan goes on.
        for (const a of mine) {
          a.kind = "skip";
          a.detail = `${unsupportedReason(err.feature)}: ${a.detail}`;
        }
        continue;
      }
      throw new ReconcileError(profile.component, objectOf(op), answerOf(err), applied);
    }
  }
  const skipped = actions.filter((a) => a.kind === "skip");
  const retained = actions.filter((a) => a.kind === "retain");
  const durationMs = Number((process.hrtime.bigint() - t0) / 1_000_000n);
  for (const a of actions) {
    const outcome = a.kind === "skip" || a.kind === "retain" ? a.kind : "done";
    log(`${base} action=${a.kind} object=${a.object} outcome=${outcome} — ${a.detail}`);
  }
  const idempotent = applied.length === 0;
  const status: ApplyStatus = skipped.length > 0 ? "partial" : idempotent ? "in-sync" : "applied";
  log(
    `${base} action=summary status=${status} idempotent=${idempotent} applied=${applied.length} skipped=${skipped.length} duration_ms=${durationMs}`,
  );
  return {
    event: {
      node,
      component: profile.component,
      adapter: adapterIdentity(profile.adapter),
      generation,
      desiredHash: profile.desiredHash,
      idempotencyKey: key,
      attempt,
      status,
      idempotent,
      actions: applied,
      skipped,
      retained,
      at: started.toISOString(),
      durationMs,
    },
    managed: planned.managed,
  };
}
