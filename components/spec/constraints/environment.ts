/** The environment profile (seed 004 §2–§6): names, references and adapters. */
import { backingBlueprint, hostOf, serviceNamespace } from "../../environment/profile";
import { selectKit } from "../../kit/select";
import type { SpecPath } from "../diagnostics";
import type { EnvironmentSpec } from "../environment-schema";
import type { ClusterSpec } from "../schema";
import { error, warning, type ConstraintRule, type Finding } from "./types";

const ENV = ["spec", "environment"] as const;
const at = (...rest: Array<string | number>): SpecPath => [...ENV, ...rest];

/** Every entry whose key was seen before, with the index of its first occurrence. */
function duplicates<T>(items: readonly T[], key: (t: T) => string): Array<{ index: number; first: number; key: string }> {
  const seen = new Map<string, number>();
  const out: Array<{ index: number; first: number; key: string }> = [];
  items.forEach((t, index) => {
    const k = key(t);
    const first = seen.get(k);
    if (first === undefined) seen.set(k, index);
    else out.push({ index, first, key: k });
  });
  return out;
}

/** Reserved on every vector backend: the object id and the vector itself. */
const RESERVED_PROPERTIES = new Set(["id", "vector"]);

/**
 * Names identify objects on the server, so a name declared twice would make two entries fight over
 * one object: buckets, lifecycle rule ids per bucket, exchanges, queues, bindings, classes, and
 * properties per class must each be unique.
 */
export const environmentNames: ConstraintRule = {
  id: "environment-names",
  produces: ["error"],
  description: "Checks whether bucket, lifecycle rule, exchange, queue, binding, class and property names are unique and not reserved.",
  needs: ["environment"],
  check(spec) {
    const env = spec.spec.environment;
    if (!env) return [];
    const out: Finding[] = [];
    const dup = (what: string, list: string, firstPath: string, d: { index: number; first: number; key: string }, path: SpecPath) =>
      out.push(
        error(
          "environment-names",
          path,
          `${what} ${JSON.stringify(d.key)} is declared twice (${list}[${d.first}]${firstPath} and ${list}[${d.index}]${firstPath}); give each a unique name or merge them`,
        ),
      );
    const buckets = env.buckets ?? [];
    for (const d of duplicates(buckets, (b) => b.name)) dup("bucket", "buckets", "", d, at("buckets", d.index, "name"));
    buckets.forEach((b, i) => {
      for (const d of duplicates(b.lifecycle ?? [], (r) => r.id))
        dup(`lifecycle rule id in bucket ${b.name}:`, `buckets[${i}].lifecycle`, "", d, at("buckets", i, "lifecycle", d.index, "id"));
    });
    const broker = env.broker ?? {};
    for (const d of duplicates(broker.exchanges ?? [], (e) => e.name))
      dup("exchange", "broker.exchanges", "", d, at("broker", "exchanges", d.index, "name"));
    for (const d of duplicates(broker.queues ?? [], (q) => q.name))
      dup("queue", "broker.queues", "", d, at("broker", "queues", d.index, "name"));
    const exchangeNames = new Set((broker.exchanges ?? []).map((e) => e.name));
    (broker.queues ?? []).forEach((q, i) => {
      if (exchangeNames.has(q.name))
        out.push(
          error(
            "environment-names",
            at("broker", "queues", i, "name"),
            `queue ${JSON.stringify(q.name)} has the name of an exchange; on NATS JetStream both are streams of one namespace, so give the queue another name`,
          ),
        );
    });
    for (const d of duplicates(broker.bindings ?? [], (b) => `${b.exchange} → ${b.queue} (${JSON.stringify(b.routingKey ?? "")})`))
      dup("binding", "broker.bindings", "", d, at("broker", "bindings", d.index));
    const classes = env.vector?.classes ?? [];
    for (const d of duplicates(classes, (c) => c.name)) dup("class", "vector.classes", "", d, at("vector", "classes", d.index, "name"));
    classes.forEach((c, i) => {
      const props = c.properties ?? [];
      for (const d of duplicates(props, (p) => p.name))
        dup(
          `property of class ${c.name}:`,
          `vector.classes[${i}].properties`,
          "",
          d,
          at("vector", "classes", i, "properties", d.index, "name"),
        );
      props.forEach((p, j) => {
        if (RESERVED_PROPERTIES.has(p.name))
          out.push(
            error(
              "environment-names",
              at("vector", "classes", i, "properties", j, "name"),
              `property ${JSON.stringify(p.name)} of class ${c.name} is reserved (every backend keeps the object id and its vector under id and vector); rename it`,
            ),
          );
      });
    });
    return out;
  },
};

/**
 * Bindings name declared objects (a binding to an undeclared exchange would fail on the broker), and
 * a lifecycle rule does something.
 */
export const environmentReferences: ConstraintRule = {
  id: "environment-references",
  produces: ["error", "warning"],
  description: "Checks whether every binding names a declared exchange and queue, and every lifecycle rule has an action.",
  needs: ["environment"],
  check(spec) {
    const env = spec.spec.environment;
    if (!env) return [];
    const out: Finding[] = [];
    const exchanges = new Set((env.broker?.exchanges ?? []).map((e) => e.name));
    const queues = new Set((env.broker?.queues ?? []).map((q) => q.name));
    (env.broker?.bindings ?? []).forEach((b, i) => {
      if (!exchanges.has(b.exchange))
        out.push(
          error(
            "environment-references",
            at("broker", "bindings", i, "exchange"),
            `binding ${i} names exchange ${JSON.stringify(b.exchange)}, which broker.exchanges does not declare (declared: ${[...exchanges].join(", ") || "none"}); declare it or fix the name`,
          ),
        );
      if (!queues.has(b.queue))
        out.push(
          error(
            "environment-references",
            at("broker", "bindings", i, "queue"),
            `binding ${i} names queue ${JSON.stringify(b.queue)}, which broker.queues does not declare (declared: ${[...queues].join(", ") || "none"}); declare it or fix the name`,
          ),
        );
    });
    (env.buckets ?? []).forEach((b, i) =>
      (b.lifecycle ?? []).forEach((r, j) => {
        if (r.expirationDays === undefined && r.noncurrentExpirationDays === undefined && r.abortIncompleteUploadDays === undefined)
          out.push(
            error(
              "environment-references",
              at("buckets", i, "lifecycle", j, "id"),
              `lifecycle rule ${r.id} of bucket ${b.name} has no action; set expirationDays, noncurrentExpirationDays or abortIncompleteUploadDays`,
            ),
          );
        else if (r.noncurrentExpirationDays !== undefined && !b.versioning)
          out.push(
            warning(
              "environment-references",
              at("buckets", i, "lifecycle", j, "noncurrentExpirationDays"),
              `lifecycle rule ${r.id} expires noncurrent versions, but bucket ${b.name} is not versioned (versioning: ${String(b.versioning ?? false)}), so it never has any; set versioning: true or drop the field`,
            ),
          );
      }),
    );
    return out;
  },
};

interface PortRule {
  port: "objectStorage" | "eventBus" | "vectorIndex";
  field: "endpoint" | "url";
  /** Adapter → URL schemes it takes. */
  schemes: Record<string, readonly string[]>;
  /** Fields that only some adapters read. */
  only: Record<string, readonly string[]>;
  example: Record<string, string>;
}

const PORTS: readonly PortRule[] = [
  {
    port: "objectStorage",
    field: "endpoint",
    schemes: { s3: ["http:", "https:"] },
    only: { endpoint: ["s3"], region: ["s3"], accessKeyId: ["s3"] },
    example: { s3: "http://seaweedfs.seaweedfs.svc.cluster.local:8333" },
  },
  {
    port: "eventBus",
    field: "url",
    schemes: { nats: ["nats:", "tls:"], rabbitmq: ["amqp:", "amqps:"] },
    only: { url: ["nats", "rabbitmq"], username: ["nats", "rabbitmq"], managementUrl: ["rabbitmq"] },
    example: { nats: "nats://nats.nats.svc.cluster.local:4222", rabbitmq: "amqp://rabbitmq.lab.example:5672/" },
  },
  {
    port: "vectorIndex",
    field: "url",
    schemes: { pgvector: ["postgres:", "postgresql:"] },
    only: { url: ["pgvector"], schema: ["pgvector"] },
    example: { pgvector: "postgres://kubedos@vector-rw.cnpg-system.svc.cluster.local:5432/vector" },
  },
];

/** The kit's blueprint names, or undefined when the kit cannot be selected (kit-dependencies reports why). */
function kitNames(spec: ClusterSpec): Set<string> | undefined {
  if (!spec.spec.kubernetes.enabled) return new Set();
  try {
    return new Set(selectKit(spec).blueprints.map((b) => b.name));
  } catch {
    return undefined;
  }
}

/**
 * A real adapter needs its endpoint, with a scheme it speaks and no password (every credential
 * derives from the master seed). An endpoint that is a kit blueprint's in-cluster Service needs that
 * blueprint in the kit: the reconciler waits for its HelmRelease, and without it nothing answers.
 */
export const environmentAdapters: ConstraintRule = {
  id: "environment-adapters",
  produces: ["error", "warning"],
  description:
    "Checks whether each real adapter has an endpoint it can speak to without a password in it, and whether a kit service it names is in the kit.",
  needs: ["environment", "kubernetes"],
  check(spec) {
    const env: EnvironmentSpec | undefined = spec.spec.environment;
    if (!env) return [];
    const out: Finding[] = [];
    const kit = kitNames(spec);
    for (const rule of PORTS) {
      const cfg = env[rule.port] as Record<string, string | undefined> | undefined;
      if (!cfg) continue;
      const adapter = cfg.adapter as string;
      for (const [field, adapters] of Object.entries(rule.only)) {
        if (cfg[field] !== undefined && !adapters.includes(adapter))
          out.push(
            error(
              "environment-adapters",
              at(rule.port, field),
              `${rule.port}.${field} is read only by the ${adapters.join(" and ")} adapter${adapters.length > 1 ? "s" : ""}, not ${adapter}; remove it or change the adapter`,
            ),
          );
      }
      const schemes = rule.schemes[adapter];
      if (!schemes) continue; // a local adapter: nothing to reach
      const url = cfg[rule.field];
      if (url === undefined) {
        out.push(
          error(
            "environment-adapters",
            at(rule.port, "adapter"),
            `${rule.port}.adapter ${adapter} needs ${rule.port}.${rule.field} (e.g. ${rule.example[adapter]}); without an endpoint use the local adapter`,
          ),
        );
        continue;
      }
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        parsed = undefined;
      }
      if (!parsed || !schemes.includes(parsed.protocol) || !parsed.hostname) {
        out.push(
          error(
            "environment-adapters",
            at(rule.port, rule.field),
            `${rule.port}.${rule.field} ${JSON.stringify(url)} is not a ${schemes.map((s) => s.replace(/:$/, "://")).join(" or ")} URL the ${adapter} adapter can reach (e.g. ${rule.example[adapter]})`,
          ),
        );
        continue;
      }
      if (parsed.password) {
        out.push(
          error(
            "environment-adapters",
            at(rule.port, rule.field),
            `${rule.port}.${rule.field} carries a password; remove it — the ${adapter} adapter's password derives from the master seed, and a spec is not a place for secrets`,
          ),
        );
      }
      const ns = serviceNamespace(url);
      if (ns === undefined || kit === undefined) continue;
      const bp = backingBlueprint(url);
      if (bp === undefined) {
        out.push(
          warning(
            "environment-adapters",
            at(rule.port, rule.field),
            `${rule.port}.${rule.field} names a Service in namespace ${ns}, which no kit blueprint installs; the ${adapter} reconciler will not wait for it to be ready`,
          ),
        );
      } else if (!kit.has(bp)) {
        out.push(
          error(
            "environment-adapters",
            at(rule.port, rule.field),
            `${rule.port}.${rule.field} names ${hostOf(url)}, the Service of bp-${bp}, but bp-${bp} is not in the kit${spec.spec.kubernetes.enabled ? " (kit.drop or the profile leaves it out)" : " (kubernetes.enabled is false: there is no kit)"}; keep bp-${bp} in the kit or point at an endpoint outside the cluster`,
          ),
        );
      }
    }
    return out;
  },
};
