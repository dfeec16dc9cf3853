/**
 * The three ports of seed 004 §4. A reconciler only ever talks to a port; an adapter realises it on
 * one backend (adapters/). Reads return what exists; writes are single, small mutations, so the
 * reconciler decides every change and a re-run with nothing to change calls no write at all.
 */
import type { Binding, Distance, Exchange, LifecycleRule, Queue, VectorClass, VectorProperty } from "./profile";

/** S3 bucket features an endpoint may not implement (s3rver implements none of them). */
export type BucketFeature = "versioning" | "lifecycle" | "tagging";

export interface BucketState {
  name: string;
  /** `off` = never versioned; S3 can only suspend a versioned bucket, never un-version it. */
  versioning: "enabled" | "suspended" | "off";
  lifecycle: LifecycleRule[];
  tags: Record<string, string>;
  /** Holds no object (a bucket is deleted only when empty). */
  empty: boolean;
  /** Features the endpoint answered NotImplemented for; their state above is then unknown. */
  unsupported: BucketFeature[];
}

/** A write the endpoint does not implement: the reconciler records a skip, not a failure. */
export class UnsupportedError extends Error {
  constructor(
    readonly feature: BucketFeature,
    message: string,
  ) {
    super(message);
  }
}

export interface ObjectStorage {
  /** The existing buckets among `names`. */
  readBuckets(names: readonly string[]): Promise<Map<string, BucketState>>;
  createBucket(name: string): Promise<void>;
  putVersioning(name: string, enabled: boolean): Promise<void>;
  /** The whole configuration (S3 replaces it); an empty list removes it. */
  putLifecycle(name: string, rules: readonly LifecycleRule[]): Promise<void>;
  /** The whole tag set (S3 replaces it); an empty set removes it. */
  putTags(name: string, tags: Readonly<Record<string, string>>): Promise<void>;
  deleteBucket(name: string): Promise<void>;
  putObject(bucket: string, key: string, body: Buffer): Promise<void>;
  getObject(bucket: string, key: string): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

export interface BrokerState {
  exchanges: Map<string, Exchange>;
  queues: Map<string, Queue>;
  bindings: Binding[];
}

export interface EventBus {
  /** Exchanges, queues and bindings among the names given (others are never touched). */
  readTopology(names: { exchanges: readonly string[]; queues: readonly string[] }): Promise<BrokerState>;
  declareExchange(e: Exchange): Promise<void>;
  declareQueue(q: Queue): Promise<void>;
  bind(b: Binding): Promise<void>;
  unbind(b: Binding): Promise<void>;
  deleteQueue(name: string): Promise<void>;
  deleteExchange(name: string): Promise<void>;
  /** Publish; with `confirm` the promise settles on the broker's confirm (AMQP confirm, JetStream ack). */
  publish(exchange: string, routingKey: string, payload: Buffer, opts: { confirm: boolean }): Promise<void>;
  close(): Promise<void>;
}

/** A class as the backend has it; `dataType` is whatever the backend reports (an unknown type shows as `other:<name>`). */
export interface ActualClass {
  name: string;
  dimensions: number;
  distance: Distance;
  properties: Array<{ name: string; dataType: string }>;
}

export interface VectorHit {
  id: string;
  score: number;
  properties: Record<string, unknown>;
}

export interface VectorIndex {
  readClasses(names: readonly string[]): Promise<Map<string, ActualClass>>;
  createClass(c: VectorClass): Promise<void>;
  addProperty(className: string, p: VectorProperty): Promise<void>;
  dropProperty(className: string, property: string): Promise<void>;
  dropClass(name: string): Promise<void>;
  upsert(className: string, id: string, vector: readonly number[], properties: Record<string, unknown>): Promise<void>;
  /** The `k` nearest objects by the class's distance (score: smaller is nearer). */
  query(className: string, vector: readonly number[], k: number): Promise<VectorHit[]>;
  close(): Promise<void>;
}
