/**
 * The pure pieces around the reconcilers: the profile (defaults, adapters, hashes), the idempotency
 * key, credentials, the status gates, the adapters' mappings, and the driver's failure message.
 */
import { strict as assert } from "node:assert";
import { createHash } from "node:crypto";
import { rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { distance } from "../../components/environment/adapters/in-memory";
import { FilesystemStorage } from "../../components/environment/adapters/filesystem";
import { topicMatches } from "../../components/environment/adapters/in-process";
import { bindingSubject } from "../../components/environment/adapters/nats";
import { fromS3Rule, toS3Rule } from "../../components/environment/adapters/s3";
import { environmentCredential } from "../../components/environment/apply";
import { environmentProfile, idempotencyKey } from "../../components/environment/profile";
import { EMPTY_MANAGED, reconcile, ReconcileError, type ApplyEvent } from "../../components/environment/reconcile";
import { environmentGates, type ComponentStatus } from "../../components/environment/status";
import { blueprintCredentials } from "../../components/kit/flux";
import type { ClusterSpec } from "../../components/spec/schema";
import { DEV, PROD, validSpec, parseSpec, clone } from "../plan/helpers";
import { profileOf } from "./helpers";
import { tmpDir } from "./servers";

const spec = (text: string, edit?: (d: { spec: { environment: Record<string, unknown> } }) => void): ClusterSpec => {
  const doc = clone(parseSpec(text)) as unknown as { spec: { environment: Record<string, unknown> } };
  edit?.(doc);
  const s = validSpec(doc as never);
  assert.ok(s, "the edited spec must stay valid");
  return s;
};

describe("environment profile", () => {
  it("fills the defaults: local adapters under .kubedos/environment/<cluster>, durable objects, confirms on, prune off", () => {
    const p = environmentProfile(spec(DEV))!;
    assert.deepEqual(p.storage.adapter, { kind: "filesystem", root: path.join(".kubedos", "environment", "dev-lab", "object-storage") });
    assert.equal(p.broker.adapter.kind, "in-process");
    assert.equal(p.vector.adapter.kind, "in-memory");
    assert.deepEqual(p.broker.desired.exchanges, [{ name: "events", type: "topic", durable: true }]);
    assert.equal(p.broker.desired.publishConfirms, true);
    assert.deepEqual([p.storage.prune, p.broker.prune, p.vector.prune], [false, false, false]);
    assert.equal(p.vector.desired.classes[0].distance, "cosine");
  });

  it("resolves prod's real adapters to the kit blueprints serving them", () => {
    const p = environmentProfile(spec(PROD))!;
    assert.deepEqual(p.storage.adapter, {
      kind: "s3",
      endpoint: "http://seaweedfs.seaweedfs.svc.cluster.local:8333",
      region: "us-east-1",
      accessKeyId: "kubedos",
      blueprint: "seaweedfs",
    });
    assert.deepEqual(p.broker.adapter, { kind: "nats", url: "nats://nats.nats.svc.cluster.local:4222", blueprint: "nats-jetstream" });
    assert.equal(p.vector.adapter.kind === "pgvector" && p.vector.adapter.blueprint, "cnpg");
    assert.equal(p.vector.adapter.kind === "pgvector" && p.vector.adapter.username, "kubedos");
  });

  it("hashes what matters: order does not, the adapter (falling forward) and prune do", () => {
    const base = environmentProfile(spec(PROD))!;
    const reordered = environmentProfile(
      spec(PROD, (d) => {
        const b = d.spec.environment.buckets as unknown[];
        d.spec.environment.buckets = [...b].reverse();
      }),
    )!;
    assert.equal(reordered.storage.desiredHash, base.storage.desiredHash);
    const local = environmentProfile(spec(PROD, (d) => (d.spec.environment.objectStorage = { adapter: "filesystem" })))!;
    assert.notEqual(local.storage.desiredHash, base.storage.desiredHash, "a switch of adapter re-applies everything there");
    const pruning = environmentProfile(spec(PROD, (d) => (d.spec.environment.prune = { broker: true })))!;
    assert.notEqual(pruning.broker.desiredHash, base.broker.desiredHash);
    assert.equal(pruning.storage.desiredHash, base.storage.desiredHash);
  });

  it("ignores the routing key of a fanout binding (AMQP does), so it cannot drift", () => {
    const p = environmentProfile(spec(PROD))!;
    assert.deepEqual(
      p.broker.desired.bindings.find((b) => b.exchange === "audit"),
      { exchange: "audit", queue: "audit-archive", routingKey: "" },
    );
  });

  it("keys an apply by sha256(node, component, generation, desired hash)", () => {
    const h = "a".repeat(64);
    assert.equal(idempotencyKey("cp-1", "broker", 3, h), createHash("sha256").update(`cp-1\nbroker\n3\n${h}`).digest("hex"));
    assert.notEqual(idempotencyKey("cp-1", "broker", 4, h), idempotencyKey("cp-1", "broker", 3, h));
    assert.notEqual(idempotencyKey("cp-2", "broker", 3, h), idempotencyKey("cp-1", "broker", 3, h));
  });

  it("derives credentials from the seed: the backing blueprint's own, else one per component, none locally", () => {
    const seed = "0123456789abcdef-test-seed";
    const prod = environmentProfile(spec(PROD))!;
    assert.equal(
      environmentCredential(seed, "prod-01", prod.storage),
      blueprintCredentials(seed, "prod-01", { name: "seaweedfs" })["admin-password"],
    );
    assert.equal(environmentCredential(seed, "prod-01", environmentProfile(spec(DEV))!.broker), "");
    const ext = environmentProfile(
      spec(PROD, (d) => (d.spec.environment.eventBus = { adapter: "rabbitmq", url: "amqp://mq.lab.example/" })),
    )!;
    const c = environmentCredential(seed, "prod-01", ext.broker);
    assert.match(c, /^[A-Za-z0-9_-]{32}$/);
    assert.equal(environmentCredential(seed, "prod-01", ext.broker), c, "deterministic");
    assert.notEqual(environmentCredential("another-seed-0123456789", "prod-01", ext.broker), c);
  });
});

describe("environment status gates", () => {
  const event = (over: Partial<ApplyEvent> = {}): ApplyEvent => ({
    node: "cp-1",
    component: "storage",
    adapter: "filesystem x",
    generation: 2,
    desiredHash: "h1",
    idempotencyKey: "k".repeat(64),
    attempt: 1,
    status: "applied",
    idempotent: false,
    actions: [{ kind: "create", object: "bucket/a", detail: "create bucket" }],
    skipped: [],
    retained: [],
    at: "2026-01-01T00:00:00.000Z",
    durationMs: 3,
    ...over,
  });
  const st = (e: ApplyEvent | null, status: ComponentStatus["status"] = e?.status ?? "pending", desiredHash = "h1"): ComponentStatus => ({
    status,
    adapter: "filesystem x",
    generation: e?.generation ?? null,
    desiredHash,
    idempotencyKey: e?.idempotencyKey ?? null,
    lastApply: e,
  });

  it("reports not-run without a profile or before the first apply (the offline plan)", () => {
    assert.deepEqual(
      environmentGates(null).map((g) => `${g.id} ${g.status}`),
      ["environment-storage not-run", "environment-broker not-run", "environment-vector not-run"],
    );
    assert.equal(environmentGates({ storage: st(null) })[0].status, "not-run");
  });

  it("passes an applied or in-sync component and fails one with skips or a stale hash, saying why", () => {
    const g = environmentGates({
      storage: st(event()),
      broker: st(
        event({
          component: "broker",
          status: "partial",
          skipped: [{ kind: "skip", object: "exchange/ev", detail: "incompatible change (type topic → direct)" }],
        }),
      ),
      vector: st(event({ component: "vector" }), "applied", "h2"),
    });
    assert.deepEqual(
      g.map((x) => x.status),
      ["pass", "fail", "fail"],
    );
    assert.match(g[0].evidence, /generation 2 on filesystem x/);
    assert.match(g[1].evidence, /exchange\/ev \(incompatible change \(type topic → direct\)\)/);
    assert.match(g[2].evidence, /but the stack wants/);
  });
});

describe("environment adapter mappings", () => {
  it("round-trips lifecycle rules through the S3 wire shape", () => {
    const rules = [
      { id: "a", prefix: "tmp/", expirationDays: 7 },
      { id: "b", prefix: "", noncurrentExpirationDays: 30, abortIncompleteUploadDays: 2 },
    ];
    for (const r of rules) assert.deepEqual(fromS3Rule(toS3Rule(r)), r);
    assert.deepEqual(toS3Rule(rules[0]), { ID: "a", Status: "Enabled", Filter: { Prefix: "tmp/" }, Expiration: { Days: 7 } });
  });

  it("routes like AMQP in process (topic * and #, direct, fanout) and maps bindings to NATS subjects", () => {
    assert.ok(topicMatches("a.*", "a.b") && !topicMatches("a.*", "a.b.c") && topicMatches("a.#", "a") && topicMatches("#.z", "x.y.z"));
    assert.equal(bindingSubject("ev", "topic", "a.#"), "ev.a.>");
    assert.equal(bindingSubject("ev", "topic", "a.*"), "ev.a.*");
    assert.equal(bindingSubject("ev", "direct", ""), "ev");
    assert.equal(bindingSubject("ev", "fanout", "ignored"), undefined);
    assert.throws(() => bindingSubject("ev", "topic", "a.#.b"), /only as the last word/);
  });

  it("orders by the class's distance", () => {
    assert.ok(distance("cosine", [1, 0], [2, 0]) < 1e-9);
    assert.equal(distance("l2", [0, 0], [3, 4]), 5);
    assert.equal(distance("inner-product", [1, 2], [3, 4]), -11);
  });
});

describe("environment reconcile failures", () => {
  it("names the component, the object and the server's answer — no stack trace", async () => {
    const dir = tmpDir("fail");
    const root = path.join(dir, "not-a-directory");
    writeFileSync(root, "a file where the storage root should be");
    try {
      const profile = profileOf(
        "storage",
        { kind: "filesystem", root },
        { buckets: [{ name: "data", versioning: false, lifecycle: [], tags: {} }] },
      );
      await assert.rejects(
        reconcile({ profile, node: "cp-1", generation: 1, managed: EMPTY_MANAGED.storage, port: new FilesystemStorage(root) }),
        (err: Error) => {
          assert.ok(err instanceof ReconcileError);
          assert.match(err.message, /^storage reconcile failed at bucket\/data: (ENOTDIR|EEXIST)/);
          assert.doesNotMatch(err.message, /\n\s+at /);
          return true;
        },
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
