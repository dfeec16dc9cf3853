/**
 * The pure half of every reconciler (seed 004 §3): desired + actual + what kubedos manages →
 * a plan of actions (for the log and the apply event) and port operations (what to call).
 *
 *  - additions and safe updates are planned;
 *  - an incompatible change (a type, durability or dimension change) is a `skip` with its reason;
 *  - an object kubedos manages that the spec no longer lists is deleted only with `prune`,
 *    otherwise it is `retain`ed (and stays managed, so a later prune can still remove it);
 *  - objects kubedos never managed (foreign buckets, tags, rules, queues, tables) are never read
 *    into a plan, so nothing here can touch them.
 *
 * "Managed" is the set of objects the spec has declared at some apply (stored with the resource's
 * state): declaring an existing object adopts it.
 */
import { canonicalJson, bindingKey, type DesiredBroker, type DesiredStorage, type DesiredVector, type LifecycleRule } from "./profile";
import type { ActualClass, BrokerState, BucketFeature, BucketState } from "./ports";
import type { Binding, Exchange, Queue, VectorClass, VectorProperty } from "./profile";

export type ActionKind = "create" | "update" | "delete" | "skip" | "retain";

export interface Action {
  kind: ActionKind;
  /** `bucket/<name>`, `bucket/<name>/lifecycle/<id>`, `exchange/<name>`, `binding/<ex>/<q>/<key>`, `class/<C>/property/<p>` … */
  object: string;
  /** What changes (create/update/delete), or why not (skip/retain). */
  detail: string;
}

export interface Plan<Op> {
  actions: Action[];
  ops: Op[];
}

/** Mutating actions: what a re-run with no change must not contain. */
export const MUTATING: ReadonlySet<ActionKind> = new Set(["create", "update", "delete"]);

// ---------------------------------------------------------------- storage

export interface StorageManaged {
  /** Per bucket: the lifecycle rule ids and tag keys kubedos manages on it. */
  buckets: Record<string, { lifecycle: string[]; tags: string[] }>;
}

export type StorageOp =
  | { op: "createBucket"; bucket: string }
  | { op: "putVersioning"; bucket: string; enabled: boolean }
  | { op: "putLifecycle"; bucket: string; rules: LifecycleRule[] }
  | { op: "putTags"; bucket: string; tags: Record<string, string> }
  | { op: "deleteBucket"; bucket: string };

/** The feature an op needs, and the object prefix of the actions it carries out. */
export function storageOpScope(op: StorageOp): { feature?: BucketFeature; prefix: string } {
  switch (op.op) {
    case "putVersioning":
      return { feature: "versioning", prefix: `bucket/${op.bucket}/versioning` };
    case "putLifecycle":
      return { feature: "lifecycle", prefix: `bucket/${op.bucket}/lifecycle/` };
    case "putTags":
      return { feature: "tagging", prefix: `bucket/${op.bucket}/tag/` };
    default:
      return { prefix: `bucket/${op.bucket}` };
  }
}

const union = (...lists: ReadonlyArray<readonly string[]>): string[] => [...new Set(lists.flat())].sort();
const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);

function describeRule(r: LifecycleRule): string {
  const parts = [`prefix ${JSON.stringify(r.prefix)}`];
  if (r.expirationDays !== undefined) parts.push(`expire after ${r.expirationDays}d`);
  if (r.noncurrentExpirationDays !== undefined) parts.push(`noncurrent after ${r.noncurrentExpirationDays}d`);
  if (r.abortIncompleteUploadDays !== undefined) parts.push(`abort uploads after ${r.abortIncompleteUploadDays}d`);
  return parts.join(", ");
}

const FEATURE_NAME: Record<BucketFeature, string> = {
  versioning: "bucket versioning",
  lifecycle: "lifecycle configuration",
  tagging: "bucket tagging",
};
export const unsupportedReason = (f: BucketFeature): string => `the endpoint does not implement ${FEATURE_NAME[f]} (NotImplemented)`;

const FRESH = (name: string): BucketState => ({ name, versioning: "off", lifecycle: [], tags: {}, empty: true, unsupported: [] });

export function diffStorage(
  desired: DesiredStorage,
  actual: ReadonlyMap<string, BucketState>,
  managed: StorageManaged,
  prune: boolean,
): Plan<StorageOp> & { managed: StorageManaged } {
  const actions: Action[] = [];
  const ops: StorageOp[] = [];
  const next: StorageManaged = { buckets: {} };
  for (const b of desired.buckets) {
    const obj = `bucket/${b.name}`;
    let a = actual.get(b.name);
    if (!a) {
      actions.push({ kind: "create", object: obj, detail: "create bucket" });
      ops.push({ op: "createBucket", bucket: b.name });
      a = FRESH(b.name);
    }
    const unsupported = new Set(a.unsupported);
    const was = managed.buckets[b.name] ?? { lifecycle: [], tags: [] };

    // Versioning: on, or suspended once it was ever on (S3 cannot return a bucket to unversioned).
    const flip = b.versioning ? a.versioning !== "enabled" : a.versioning === "enabled";
    if (flip && unsupported.has("versioning") && b.versioning) {
      actions.push({ kind: "skip", object: `${obj}/versioning`, detail: unsupportedReason("versioning") });
    } else if (flip && !unsupported.has("versioning")) {
      actions.push({
        kind: "update",
        object: `${obj}/versioning`,
        detail: b.versioning ? `versioning ${a.versioning} → enabled` : "versioning enabled → suspended (S3 cannot un-version a bucket)",
      });
      ops.push({ op: "putVersioning", bucket: b.name, enabled: b.versioning });
    }

    // Lifecycle rules, merged by id: foreign ids are kept as they are.
    const wantIds = b.lifecycle.map((r) => r.id);
    const removedIds = was.lifecycle.filter((id) => !wantIds.includes(id));
    if (unsupported.has("lifecycle")) {
      if (b.lifecycle.length > 0 || (prune && removedIds.length > 0))
        actions.push({ kind: "skip", object: `${obj}/lifecycle/`, detail: unsupportedReason("lifecycle") });
      next.buckets[b.name] = { lifecycle: union(was.lifecycle, wantIds), tags: [] };
    } else {
      const merged = a.lifecycle.map((r) => ({ ...r }));
      for (const r of b.lifecycle) {
        const i = merged.findIndex((x) => x.id === r.id);
        if (i < 0) {
          actions.push({ kind: "create", object: `${obj}/lifecycle/${r.id}`, detail: `add lifecycle rule: ${describeRule(r)}` });
          merged.push(r);
        } else if (!same(merged[i], r)) {
          actions.push({
            kind: "update",
            object: `${obj}/lifecycle/${r.id}`,
            detail: `lifecycle rule ${describeRule(merged[i])} → ${describeRule(r)}`,
          });
          merged[i] = r;
        }
      }
      const pruned: string[] = [];
      for (const id of removedIds) {
        if (!merged.some((x) => x.id === id)) continue; // gone already
        if (prune) {
          actions.push({ kind: "delete", object: `${obj}/lifecycle/${id}`, detail: "remove lifecycle rule (prune.storage)" });
          pruned.push(id);
        } else {
          actions.push({
            kind: "retain",
            object: `${obj}/lifecycle/${id}`,
            detail: "removed from the spec; kept (prune.storage is false)",
          });
        }
      }
      const finalRules = merged.filter((r) => !pruned.includes(r.id));
      if (!same(finalRules, a.lifecycle)) ops.push({ op: "putLifecycle", bucket: b.name, rules: finalRules });
      next.buckets[b.name] = { lifecycle: union(was.lifecycle, wantIds).filter((id) => !pruned.includes(id)), tags: [] };
    }

    // Managed tags: set and updated; foreign keys untouched; removed managed keys only with prune.
    const wantKeys = Object.keys(b.tags);
    const removedKeys = was.tags.filter((k) => !wantKeys.includes(k));
    if (unsupported.has("tagging")) {
      if (wantKeys.length > 0 || (prune && removedKeys.length > 0))
        actions.push({ kind: "skip", object: `${obj}/tag/`, detail: unsupportedReason("tagging") });
      next.buckets[b.name].tags = union(was.tags, wantKeys);
    } else {
      const tags = { ...a.tags };
      for (const k of wantKeys) {
        if (!(k in tags)) actions.push({ kind: "create", object: `${obj}/tag/${k}`, detail: `set tag ${k}=${b.tags[k]}` });
        else if (tags[k] !== b.tags[k])
          actions.push({ kind: "update", object: `${obj}/tag/${k}`, detail: `tag ${k}: ${tags[k]} → ${b.tags[k]}` });
        tags[k] = b.tags[k];
      }
      const pruned: string[] = [];
      for (const k of removedKeys) {
        if (!(k in tags)) continue;
        if (prune) {
          actions.push({ kind: "delete", object: `${obj}/tag/${k}`, detail: "remove managed tag (prune.storage)" });
          delete tags[k];
          pruned.push(k);
        } else {
          actions.push({ kind: "retain", object: `${obj}/tag/${k}`, detail: "removed from the spec; kept (prune.storage is false)" });
        }
      }
      if (!same(tags, a.tags)) ops.push({ op: "putTags", bucket: b.name, tags });
      next.buckets[b.name].tags = union(was.tags, wantKeys).filter((k) => !pruned.includes(k));
    }
  }
  // Buckets kubedos manages that the spec dropped.
  const wanted = new Set(desired.buckets.map((b) => b.name));
  for (const [name, was] of Object.entries(managed.buckets)) {
    if (wanted.has(name)) continue;
    const a = actual.get(name);
    if (!a) continue; // gone already: forget it
    if (!prune) {
      actions.push({ kind: "retain", object: `bucket/${name}`, detail: "removed from the spec; kept (prune.storage is false)" });
      next.buckets[name] = was;
    } else if (!a.empty) {
      actions.push({ kind: "skip", object: `bucket/${name}`, detail: "prune.storage is true but the bucket is not empty; empty it first" });
      next.buckets[name] = was;
    } else {
      actions.push({ kind: "delete", object: `bucket/${name}`, detail: "delete empty bucket (prune.storage)" });
      ops.push({ op: "deleteBucket", bucket: name });
    }
  }
  return { actions, ops, managed: next };
}

// ---------------------------------------------------------------- broker

export interface BrokerManaged {
  exchanges: string[];
  queues: string[];
  /** bindingKey()s */
  bindings: string[];
}

export type BrokerOp =
  | { op: "declareExchange"; exchange: Exchange }
  | { op: "declareQueue"; queue: Queue }
  | { op: "bind"; binding: Binding }
  | { op: "unbind"; binding: Binding }
  | { op: "deleteQueue"; name: string }
  | { op: "deleteExchange"; name: string };

const durability = (d: boolean): string => (d ? "durable" : "transient");

function parseBindingKey(k: string): Binding {
  const [exchange, queue, ...rest] = k.split("/");
  return { exchange, queue, routingKey: rest.join("/") };
}

export function diffBroker(
  desired: DesiredBroker,
  actual: BrokerState,
  managed: BrokerManaged,
  prune: boolean,
): Plan<BrokerOp> & { managed: BrokerManaged } {
  const actions: Action[] = [];
  const ops: BrokerOp[] = [];
  for (const e of desired.exchanges) {
    const a = actual.exchanges.get(e.name);
    const obj = `exchange/${e.name}`;
    if (!a) {
      actions.push({ kind: "create", object: obj, detail: `declare ${e.type} exchange (${durability(e.durable)})` });
      ops.push({ op: "declareExchange", exchange: e });
    } else if (a.type !== e.type || a.durable !== e.durable) {
      const what = a.type !== e.type ? `type ${a.type} → ${e.type}` : `${durability(a.durable)} → ${durability(e.durable)}`;
      actions.push({
        kind: "skip",
        object: obj,
        detail: `incompatible change (${what}): the broker cannot change it in place, and re-creating the exchange would drop its bindings`,
      });
    }
  }
  for (const q of desired.queues) {
    const a = actual.queues.get(q.name);
    const obj = `queue/${q.name}`;
    if (!a) {
      actions.push({ kind: "create", object: obj, detail: `declare queue (${durability(q.durable)})` });
      ops.push({ op: "declareQueue", queue: q });
    } else if (a.durable !== q.durable) {
      actions.push({
        kind: "skip",
        object: obj,
        detail: `incompatible change (${durability(a.durable)} → ${durability(q.durable)}): re-creating the queue would lose its messages`,
      });
    }
  }
  const have = new Set(actual.bindings.map(bindingKey));
  const want = new Set(desired.bindings.map(bindingKey));
  for (const b of desired.bindings) {
    if (have.has(bindingKey(b))) continue;
    actions.push({
      kind: "create",
      object: `binding/${bindingKey(b)}`,
      detail: `bind queue ${b.queue} to ${b.exchange} with key ${JSON.stringify(b.routingKey)}`,
    });
    ops.push({ op: "bind", binding: b });
  }
  // Removed objects: bindings first, then queues, then exchanges (what depends on what).
  const removed = <T>(
    list: readonly string[],
    wanted: (n: string) => boolean,
    exists: (n: string) => boolean,
    kind: string,
    op: (n: string) => T,
    out: string[],
  ) => {
    for (const n of list) {
      if (wanted(n) || !exists(n)) continue;
      if (prune) {
        actions.push({ kind: "delete", object: `${kind}/${n}`, detail: `delete ${kind} (prune.broker)` });
        ops.push(op(n) as BrokerOp);
      } else {
        actions.push({ kind: "retain", object: `${kind}/${n}`, detail: "removed from the spec; kept (prune.broker is false)" });
        out.push(n);
      }
    }
  };
  const keep = { exchanges: [] as string[], queues: [] as string[], bindings: [] as string[] };
  removed(
    managed.bindings,
    (k) => want.has(k),
    (k) => have.has(k),
    "binding",
    (k) => ({ op: "unbind", binding: parseBindingKey(k) }),
    keep.bindings,
  );
  const wantQ = new Set(desired.queues.map((q) => q.name));
  removed(
    managed.queues,
    (n) => wantQ.has(n),
    (n) => actual.queues.has(n),
    "queue",
    (n) => ({ op: "deleteQueue", name: n }),
    keep.queues,
  );
  const wantX = new Set(desired.exchanges.map((e) => e.name));
  removed(
    managed.exchanges,
    (n) => wantX.has(n),
    (n) => actual.exchanges.has(n),
    "exchange",
    (n) => ({ op: "deleteExchange", name: n }),
    keep.exchanges,
  );
  return {
    actions,
    ops,
    managed: {
      exchanges: union([...wantX], keep.exchanges),
      queues: union([...wantQ], keep.queues),
      bindings: union([...want], keep.bindings),
    },
  };
}

// ---------------------------------------------------------------- vector

export interface VectorManaged {
  /** Per class: the properties kubedos manages on it. */
  classes: Record<string, string[]>;
}

export type VectorOp =
  | { op: "createClass"; class: VectorClass }
  | { op: "addProperty"; class: string; property: VectorProperty }
  | { op: "dropProperty"; class: string; property: string }
  | { op: "dropClass"; class: string };

export function diffVector(
  desired: DesiredVector,
  actual: ReadonlyMap<string, ActualClass>,
  managed: VectorManaged,
  prune: boolean,
): Plan<VectorOp> & { managed: VectorManaged } {
  const actions: Action[] = [];
  const ops: VectorOp[] = [];
  const next: VectorManaged = { classes: {} };
  for (const c of desired.classes) {
    const obj = `class/${c.name}`;
    const a = actual.get(c.name);
    const wantProps = c.properties.map((p) => p.name);
    const was = managed.classes[c.name] ?? [];
    if (!a) {
      actions.push({
        kind: "create",
        object: obj,
        detail: `create class (${c.dimensions} dimensions, ${c.distance}; ${c.properties.map((p) => `${p.name}: ${p.dataType}`).join(", ") || "no properties"})`,
      });
      ops.push({ op: "createClass", class: c });
      next.classes[c.name] = wantProps;
      continue;
    }
    if (a.dimensions !== c.dimensions)
      actions.push({
        kind: "skip",
        object: `${obj}/dimensions`,
        detail: `incompatible change (dimensions ${a.dimensions} → ${c.dimensions}): every stored vector has the old width; create a new class instead`,
      });
    if (a.distance !== c.distance)
      actions.push({
        kind: "skip",
        object: `${obj}/distance`,
        detail: `incompatible change (distance ${a.distance} → ${c.distance}): the index would have to be rebuilt; create a new class instead`,
      });
    const kept: string[] = [];
    for (const p of c.properties) {
      const ap = a.properties.find((x) => x.name === p.name);
      if (!ap) {
        actions.push({ kind: "create", object: `${obj}/property/${p.name}`, detail: `add property ${p.name}: ${p.dataType}` });
        ops.push({ op: "addProperty", class: c.name, property: p });
      } else if (ap.dataType !== p.dataType) {
        actions.push({
          kind: "skip",
          object: `${obj}/property/${p.name}`,
          detail: `incompatible type change (${ap.dataType} → ${p.dataType}): converting would rewrite or lose every stored value; add a new property instead`,
        });
      }
    }
    for (const n of was) {
      if (wantProps.includes(n) || !a.properties.some((x) => x.name === n)) continue;
      if (prune) {
        actions.push({ kind: "delete", object: `${obj}/property/${n}`, detail: "drop property (prune.vector)" });
        ops.push({ op: "dropProperty", class: c.name, property: n });
      } else {
        actions.push({ kind: "retain", object: `${obj}/property/${n}`, detail: "removed from the spec; kept (prune.vector is false)" });
        kept.push(n);
      }
    }
    next.classes[c.name] = union(wantProps, kept);
  }
  const wanted = new Set(desired.classes.map((c) => c.name));
  for (const [name, props] of Object.entries(managed.classes)) {
    if (wanted.has(name) || !actual.has(name)) continue;
    if (prune) {
      actions.push({ kind: "delete", object: `class/${name}`, detail: "drop class and its objects (prune.vector)" });
      ops.push({ op: "dropClass", class: name });
    } else {
      actions.push({ kind: "retain", object: `class/${name}`, detail: "removed from the spec; kept (prune.vector is false)" });
      next.classes[name] = props;
    }
  }
  return { actions, ops, managed: next };
}
