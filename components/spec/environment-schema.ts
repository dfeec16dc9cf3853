/**
 * The environment profile (seed 004 §2–§6) as a strict zod schema: the buckets, broker objects and
 * vector schema the cluster's services expect, and which adapter realises each port. An Extension
 * section of the ClusterSpec (`spec.environment`); the README's reference is generated from the JSDoc
 * here, like the rest of the schema.
 *
 * Shape only. Cross-field rules (duplicate names, bindings naming unknown objects, an adapter
 * without its endpoint or whose backing blueprint is not in the kit) live in
 * `constraints/environment.ts` under stable rule ids.
 */
import { z } from "zod";

/** Portable broker object name: valid as a RabbitMQ exchange/queue name and a NATS stream name (no dots or wildcards). */
const brokerName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, "must be 1–63 letters, digits, '_' or '-' (no dots: it also names a NATS stream)");

/** A bucket name valid on S3 and as a directory: lower-case, digits and '-', 3–63 chars. */
const bucketName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$/, "must be 3–63 lower-case letters, digits or '-' (an S3 bucket name without dots)");

/** An http(s) URL (S3 endpoints, the RabbitMQ management API). */
const httpUrl = z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://seaweedfs.seaweedfs.svc.cluster.local:8333" });

/** A user name carried beside (never inside) a URL; the password always derives from the master seed. */
const userName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, "must be a user name of letters, digits, '_', '.' or '-'");

// ---------------------------------------------------------------- ports and adapters

export const ObjectStorageAdapters = ["filesystem", "s3"] as const;
export const EventBusAdapters = ["in-process", "nats", "rabbitmq"] as const;
export const VectorIndexAdapters = ["in-memory", "pgvector"] as const;

export const ObjectStoragePortSchema = z.strictObject({
  /**
   * `filesystem` (the default: buckets are directories under `environment.stateDir`) or `s3` (any
   * S3-compatible endpoint: SeaweedFS, MinIO).
   */
  adapter: z.enum(ObjectStorageAdapters),
  /**
   * S3 endpoint (`s3` only, required there; rule environment-adapters), e.g. the kit's SeaweedFS
   * `http://seaweedfs.seaweedfs.svc.cluster.local:8333`. Path-style addressing is used.
   */
  endpoint: z.string().optional(),
  /** S3 region the client signs for (`s3` only; default `us-east-1`, which SeaweedFS and MinIO accept). */
  region: z
    .string()
    .regex(/^[a-z0-9-]{2,32}$/, "must be a region name such as us-east-1")
    .optional(),
  /**
   * S3 access key id (`s3` only; default `kubedos`). The secret key derives from the master seed: the
   * backing kit blueprint's credentials when the endpoint is one of the kit's services.
   */
  accessKeyId: userName.optional(),
});

export const EventBusPortSchema = z.strictObject({
  /** `in-process` (the default: an in-process pub/sub), `nats` (NATS JetStream) or `rabbitmq` (AMQP 0-9-1). */
  adapter: z.enum(EventBusAdapters),
  /**
   * Broker URL (`nats` and `rabbitmq` only, required there; rule environment-adapters):
   * `nats://host:4222` or `amqp://host:5672/vhost`. No password in it: it derives from the master seed.
   */
  url: z.string().optional(),
  /** User the adapter authenticates as (`nats`, `rabbitmq`; default `kubedos`; none for an unauthenticated NATS). */
  username: userName.optional(),
  /**
   * RabbitMQ management API (`rabbitmq` only; default `http://<url host>:15672`): the adapter reads
   * exchanges, queues and bindings there, since AMQP 0-9-1 cannot list them.
   */
  managementUrl: httpUrl.optional(),
});

export const VectorIndexPortSchema = z.strictObject({
  /** `in-memory` (the default: an in-memory index) or `pgvector` (PostgreSQL with the vector extension, e.g. on CNPG). */
  adapter: z.enum(VectorIndexAdapters),
  /**
   * PostgreSQL URL (`pgvector` only, required there; rule environment-adapters), e.g.
   * `postgres://kubedos@vector-rw.cnpg-system.svc.cluster.local:5432/vector`. No password in it.
   */
  url: z.string().optional(),
  /** Schema holding one table per class (`pgvector` only; default `kubedos_vector`). */
  schema: z
    .string()
    .regex(/^[a-z_][a-z0-9_]{0,62}$/, "must be a lower-case SQL identifier such as kubedos_vector")
    .optional(),
});

// ---------------------------------------------------------------- storage

export const LifecycleRuleSchema = z.strictObject({
  /** Rule id, unique in the bucket. kubedos merges rules by id and leaves rules with other ids alone. */
  id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,254}$/, "must be 1–255 letters, digits, '_', '.' or '-'"),
  /** Key prefix the rule applies to (default: the whole bucket). */
  prefix: z.string().max(1024).optional(),
  /** Days after which current objects expire. One of the day counts is needed (rule environment-references). */
  expirationDays: z.int().min(1).max(36500).optional(),
  /** Days after which noncurrent versions expire (versioned buckets). */
  noncurrentExpirationDays: z.int().min(1).max(36500).optional(),
  /** Days after which incomplete multipart uploads are aborted. */
  abortIncompleteUploadDays: z.int().min(1).max(36500).optional(),
});

export const BucketSchema = z.strictObject({
  /** Bucket name (S3 rules, no dots). */
  name: bucketName,
  /** Keep object versions (default false). Turning it off later suspends versioning; S3 cannot un-version a bucket. */
  versioning: z.boolean().optional(),
  /** Lifecycle rules, merged by `id`: added or updated, never removed unless `prune.storage` is true. */
  lifecycle: z.array(LifecycleRuleSchema).optional(),
  /**
   * Managed tags: set and updated by kubedos. Tags kubedos did not set are left alone; a managed tag
   * removed from here is removed only with `prune.storage`.
   */
  tags: z
    .record(
      z.string().regex(/^(?!aws:)[A-Za-z0-9 _.:/=+@-]{1,128}$/, "must be a tag key of 1–128 characters (not aws:…)"),
      z.string().max(256),
    )
    .optional(),
});

// ---------------------------------------------------------------- broker

export const ExchangeSchema = z.strictObject({
  /** Exchange name (a NATS JetStream stream of the same name on the `nats` adapter). */
  name: brokerName,
  /** `direct` (routing key equals), `topic` (patterns with `*` and `#`) or `fanout` (every bound queue). Cannot change later. */
  type: z.enum(["direct", "topic", "fanout"]),
  /** Survives a broker restart (default true; on NATS: file storage). Cannot change later. */
  durable: z.boolean().optional(),
});

export const QueueSchema = z.strictObject({
  /** Queue name (a work-queue stream sourcing its bindings on the `nats` adapter). */
  name: brokerName,
  /** Survives a broker restart (default true). Cannot change later. */
  durable: z.boolean().optional(),
});

export const BindingSchema = z.strictObject({
  /** Exchange (from `broker.exchanges`). */
  exchange: brokerName,
  /** Queue (from `broker.queues`). */
  queue: brokerName,
  /** Routing key or topic pattern (`orders.*`, `audit.#`); default `""` (every message of a fanout). */
  routingKey: z
    .string()
    .regex(/^[A-Za-z0-9_*#-]*(\.[A-Za-z0-9_*#-]+)*$/, "must be dot-separated words of letters, digits, '_', '-', '*' or '#'")
    .max(255)
    .optional(),
});

export const BrokerSchema = z.strictObject({
  /** Exchanges to declare. */
  exchanges: z.array(ExchangeSchema).optional(),
  /** Queues to declare. */
  queues: z.array(QueueSchema).optional(),
  /** Queue-to-exchange bindings. */
  bindings: z.array(BindingSchema).optional(),
  /** Publishers wait for the broker's confirm of every message (default true): AMQP publisher confirms, JetStream acks. */
  publishConfirms: z.boolean().optional(),
});

// ---------------------------------------------------------------- vector

export const VectorDataTypes = ["text", "text[]", "int", "number", "boolean", "date", "uuid", "blob"] as const;

export const VectorPropertySchema = z.strictObject({
  /** Property name (a column on pgvector; `id` and `vector` are reserved). */
  name: z.string().regex(/^[a-z_][A-Za-z0-9_]{0,62}$/, "must start with a lower-case letter or '_' (letters, digits, '_')"),
  /** `text`, `text[]`, `int`, `number`, `boolean`, `date`, `uuid` or `blob`. A type change is logged and skipped, never applied. */
  dataType: z.enum(VectorDataTypes),
});

export const VectorClassSchema = z.strictObject({
  /** Class name, capitalised (`Article`); a table on pgvector. */
  name: z.string().regex(/^[A-Z][A-Za-z0-9_]{0,62}$/, "must start with an upper-case letter (letters, digits, '_')"),
  /** Vector dimensions (the embedding model's width, e.g. 384 for bge-small). Cannot change later. */
  dimensions: z.int().min(1).max(16000),
  /** Distance the index orders by: `cosine` (default), `l2` or `inner-product`. */
  distance: z.enum(["cosine", "l2", "inner-product"]).optional(),
  /** Properties; missing ones are added, never dropped unless `prune.vector` is true. */
  properties: z.array(VectorPropertySchema).optional(),
});

export const VectorSchema = z.strictObject({
  /** Classes to ensure. */
  classes: z.array(VectorClassSchema).optional(),
});

// ---------------------------------------------------------------- the section

export const PruneSchema = z.strictObject({
  /** Delete buckets, lifecycle rules and managed tags kubedos created that the spec no longer lists (default false). */
  storage: z.boolean().optional(),
  /** Delete exchanges, queues and bindings kubedos created that the spec no longer lists (default false). */
  broker: z.boolean().optional(),
  /** Drop classes and properties kubedos created that the spec no longer lists (default false). */
  vector: z.boolean().optional(),
});

export const EnvironmentSchema = z.strictObject({
  /** The ObjectStorage port (default `{ adapter: filesystem }`). */
  objectStorage: ObjectStoragePortSchema.optional(),
  /** The EventBus port (default `{ adapter: in-process }`). */
  eventBus: EventBusPortSchema.optional(),
  /** The VectorIndex port (default `{ adapter: in-memory }`). */
  vectorIndex: VectorIndexPortSchema.optional(),
  /**
   * Directory where the local adapters keep their state, relative to where Pulumi runs (default
   * `.kubedos/environment/<metadata.name>`).
   */
  stateDir: z.string().min(1).optional(),
  /** Buckets: existence, versioning, lifecycle rules by id, managed tags (seed 004 §3 A). */
  buckets: z.array(BucketSchema).optional(),
  /** Broker objects: exchanges, durable queues, bindings, publish confirms (seed 004 §3 B). */
  broker: BrokerSchema.optional(),
  /** Vector schema: classes and their properties (seed 004 §3 C). */
  vector: VectorSchema.optional(),
  /**
   * Explicit deletion, per component (seed 004 §6: non-destructive by default). Without it, objects
   * removed from the spec stay where they are; only objects kubedos itself created are ever deleted.
   */
  prune: PruneSchema.optional(),
});

export type EnvironmentSpec = z.infer<typeof EnvironmentSchema>;
export type VectorDataType = (typeof VectorDataTypes)[number];
