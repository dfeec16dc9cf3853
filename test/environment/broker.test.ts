/**
 * The broker reconciler (seed 004 §3 B) against its three adapters: in-process (the default), NATS
 * JetStream (Debian nats-server -js) and RabbitMQ (Debian rabbitmq-server), the servers started
 * here. Every case of issue 9 on each: create, re-run with no change, additions, an exchange type
 * change (skipped and logged), removal (kept by default, deleted with prune.broker), and a publish
 * with confirms that lands in the bound queue.
 *
 * "No mutation" is asserted on the server: NATS's JetStream API audit advisories (every API call
 * the server served, by subject) show only INFO requests and the streams keep their creation
 * time; RabbitMQ's event exchange shows no object created or deleted and the churn counters do not
 * move; the in-process bus's state file keeps its inode and mtime.
 */
import { strict as assert } from "node:assert";
import { rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { connect as amqpConnect, type ChannelModel } from "amqplib";
import { connect as natsConnect, type JetStreamManager, type NatsConnection, type Subscription } from "nats";
import { InProcessBus } from "../../components/environment/adapters/in-process";
import { NatsBus } from "../../components/environment/adapters/nats";
import { RabbitBus } from "../../components/environment/adapters/rabbitmq";
import type { BrokerAdapter, DesiredBroker } from "../../components/environment/profile";
import type { EventBus } from "../../components/environment/ports";
import { assertIdempotent, objects, Runner } from "./helpers";
import { startNats, startRabbit, tmpDir, type NatsServer, type RabbitServer } from "./servers";

const V1: DesiredBroker = {
  exchanges: [
    { name: "audit", type: "fanout", durable: true },
    { name: "events", type: "topic", durable: true },
  ],
  queues: [
    { name: "archive", durable: true },
    { name: "billing", durable: true },
  ],
  bindings: [
    { exchange: "audit", queue: "archive", routingKey: "" },
    { exchange: "events", queue: "billing", routingKey: "billing.*" },
  ],
  publishConfirms: true,
};
const V2: DesiredBroker = {
  ...V1,
  queues: [...V1.queues, { name: "invoices", durable: true }],
  bindings: [...V1.bindings, { exchange: "events", queue: "invoices", routingKey: "invoice.#" }],
};
const TYPE_CHANGE: DesiredBroker = { ...V2, exchanges: [V2.exchanges[0], { name: "events", type: "direct", durable: true }] };
/** audit, archive and their binding dropped from the spec. */
const REMOVED: DesiredBroker = {
  exchanges: [{ name: "events", type: "topic", durable: true }],
  queues: [
    { name: "billing", durable: true },
    { name: "invoices", durable: true },
  ],
  bindings: V2.bindings.filter((b) => b.exchange === "events"),
  publishConfirms: true,
};

/** What the backend holds, read by the test's own client, and how many messages each queue has. */
interface Backend {
  name: string;
  adapter: () => BrokerAdapter;
  open: () => Promise<EventBus>;
  /** Names of the exchanges and queues present (of those the tests use). */
  present(): Promise<string[]>;
  exchangeType(name: string): Promise<string>;
  messages(queue: string): Promise<number>;
  /** Start watching the server for mutations; `end` returns what it saw that mutates (empty: none). */
  watch(): Promise<{ end(): Promise<string[]> }>;
  setup(ctx: Mocha.Context): Promise<void>;
  teardown(): Promise<void>;
}

const NAMES = ["audit", "events", "archive", "billing", "invoices"];

function scenario(b: Backend): void {
  describe(b.name, function () {
    let run: Runner<"broker">;
    before(async function () {
      this.timeout(60000);
      await b.setup(this);
      run = new Runner("broker", b.adapter(), b.open);
    });
    after(async () => b.teardown());

    it("declares exchanges, queues and bindings", async () => {
      const e = await run.apply(V1);
      assert.equal(e.status, "applied");
      assert.deepEqual(objects(e.actions), [
        "binding/audit/archive/",
        "binding/events/billing/billing.*",
        "exchange/audit",
        "exchange/events",
        "queue/archive",
        "queue/billing",
      ]);
      assert.deepEqual(await b.present(), ["archive", "audit", "billing", "events"]);
    });

    it("re-runs an unchanged profile with no mutating call on the server", async () => {
      const w = await b.watch();
      const e = await run.apply(V1);
      assertIdempotent(e);
      assert.equal(e.status, "in-sync");
      assert.deepEqual(await w.end(), []);
    });

    it("publishes with confirms into the bound queue only", async () => {
      const bus = await b.open();
      try {
        await bus.publish("events", "billing.created", Buffer.from('{"id":1}'), { confirm: true });
        await bus.publish("events", "shipping.created", Buffer.from('{"id":2}'), { confirm: true });
        await new Promise((r) => setTimeout(r, 300)); // sourcing / routing settles
        assert.equal(await b.messages("billing"), 1);
        assert.equal(await b.messages("archive"), 0);
        if (bus instanceof InProcessBus) assert.equal(bus.take("billing").length, 1);
      } finally {
        await bus.close();
      }
    });

    it("adds a queue and its binding (and the server-side probe sees those writes)", async () => {
      const w = await b.watch();
      const e = await run.apply(V2);
      assert.notDeepEqual(await w.end(), [], "the mutation probe must see a real change");
      assert.deepEqual(objects(e.actions), ["binding/events/invoices/invoice.#", "queue/invoices"]);
      assert.deepEqual(await b.present(), ["archive", "audit", "billing", "events", "invoices"]);
    });

    it("skips and logs an exchange type change, leaving the exchange as it is", async () => {
      const w = await b.watch();
      const e = await run.apply(TYPE_CHANGE);
      assert.equal(e.status, "partial");
      assert.deepEqual(e.actions, []);
      assert.deepEqual(objects(e.skipped), ["exchange/events"]);
      assert.match(e.skipped[0].detail, /incompatible change \(type topic → direct\)/);
      assert.ok(
        run.lines.some((l) => /action=skip object=exchange\/events .*type topic → direct/.test(l)),
        run.lines.join("\n"),
      );
      assert.deepEqual(await w.end(), []);
      assert.equal(await b.exchangeType("events"), "topic");
    });

    it("keeps objects removed from the spec without prune, and deletes them with prune.broker", async () => {
      const kept = await run.apply(REMOVED);
      assert.deepEqual(kept.actions, []);
      assert.deepEqual(objects(kept.retained), ["binding/audit/archive/", "exchange/audit", "queue/archive"]);
      assert.deepEqual(await b.present(), ["archive", "audit", "billing", "events", "invoices"]);

      const pruned = await run.apply(REMOVED, true);
      assert.deepEqual(
        pruned.actions.map((a) => `${a.kind} ${a.object}`),
        ["delete binding/audit/archive/", "delete queue/archive", "delete exchange/audit"],
      );
      assert.deepEqual(await b.present(), ["billing", "events", "invoices"]);
      const again = await run.apply(REMOVED, true);
      assertIdempotent(again);
    });
  });
}

describe("environment broker reconciler", () => {
  // ------------------------------------------------------------ in-process
  {
    let dir: string;
    let bus: InProcessBus | undefined;
    const file = () => path.join(dir, "event-bus.json");
    scenario({
      name: "in-process adapter (default)",
      adapter: () => ({ kind: "in-process", stateFile: file() }),
      // One bus for the whole run, as one process holds it; close() keeps it.
      open: async () => (bus ??= new InProcessBus(file())),
      present: async () => {
        const t = await new InProcessBus(file()).readTopology({ exchanges: NAMES, queues: NAMES });
        return [...t.exchanges.keys(), ...t.queues.keys()].sort();
      },
      exchangeType: async (n) => (await new InProcessBus(file()).readTopology({ exchanges: [n], queues: [] })).exchanges.get(n)!.type,
      messages: async (q) => bus!.depth(q),
      watch: async () => {
        const s = statSync(file());
        return {
          end: async () => (statSync(file()).ino !== s.ino || statSync(file()).mtimeMs !== s.mtimeMs ? ["state file rewritten"] : []),
        };
      },
      setup: async () => {
        dir = tmpDir("bus");
      },
      teardown: async () => rmSync(dir, { recursive: true, force: true }),
    });
  }

  // ------------------------------------------------------------ NATS JetStream
  {
    let server: NatsServer | undefined;
    let nc: NatsConnection;
    let jsm: JetStreamManager;
    scenario({
      name: "NATS JetStream adapter against nats-server -js",
      adapter: () => ({ kind: "nats", url: server!.url }),
      open: async () => NatsBus.open({ url: server!.url }),
      present: async () => {
        const out: string[] = [];
        for await (const s of jsm.streams.list()) if (NAMES.includes(s.config.name)) out.push(s.config.name);
        return out.sort();
      },
      exchangeType: async (n) => ((await jsm.streams.info(n)).config.description ?? "").replace("kubedos exchange type=", ""),
      messages: async (q) => (await jsm.streams.info(q)).state.messages,
      watch: async () => {
        // The server's audit advisory for every JetStream API request it serves, and each stream's creation time.
        const seen: string[] = [];
        const sub: Subscription = nc.subscribe("$JS.EVENT.ADVISORY.API");
        const done = (async () => {
          for await (const m of sub) seen.push((JSON.parse(new TextDecoder().decode(m.data)) as { subject: string }).subject);
        })();
        await nc.flush();
        const created = async () => {
          const o: Record<string, string> = {};
          for await (const s of jsm.streams.list()) o[s.config.name] = `${s.created} ${JSON.stringify(s.config)}`;
          return o;
        };
        const before = await created();
        return {
          end: async () => {
            await nc.flush();
            await new Promise((r) => setTimeout(r, 200));
            sub.unsubscribe();
            await done;
            const after = await created();
            const mutating = seen.filter((s) => !/^\$JS\.API\.(INFO|STREAM\.(INFO|LIST|NAMES)|CONSUMER\.(INFO|LIST|NAMES))\b/.test(s));
            assert.ok(
              seen.some((s) => s.startsWith("$JS.API.STREAM.INFO")),
              `the server saw the reads: ${seen.join(", ")}`,
            );
            return [
              ...mutating,
              ...Object.keys(after)
                .filter((k) => after[k] !== before[k])
                .map((k) => `stream ${k} changed`),
            ];
          },
        };
      },
      setup: async (ctx) => {
        server = await startNats(ctx);
        nc = await natsConnect({ servers: `127.0.0.1:${server.port}` });
        jsm = await nc.jetstreamManager();
      },
      teardown: async () => {
        await nc?.close();
        await server?.stop();
      },
    });
  }

  // ------------------------------------------------------------ RabbitMQ
  {
    let server: RabbitServer | undefined;
    let watcher: ChannelModel | undefined;
    const api = async <T>(p: string): Promise<T> => {
      const res = await fetch(`${server!.managementUrl}/api/${p}`, {
        headers: { authorization: `Basic ${Buffer.from(`${server!.username}:${server!.password}`).toString("base64")}` },
      });
      assert.ok(res.ok, `GET /api/${p}: ${res.status}`);
      return (await res.json()) as T;
    };
    scenario({
      name: "RabbitMQ adapter against rabbitmq-server",
      adapter: () => ({ kind: "rabbitmq", url: server!.url, managementUrl: server!.managementUrl, username: server!.username }),
      open: async () =>
        new RabbitBus({ url: server!.url, managementUrl: server!.managementUrl, username: server!.username, password: server!.password }),
      present: async () => {
        const ex = await api<Array<{ name: string }>>("exchanges/%2F");
        const qs = await api<Array<{ name: string }>>("queues/%2F");
        return [...ex, ...qs]
          .map((x) => x.name)
          .filter((n) => NAMES.includes(n))
          .sort();
      },
      exchangeType: async (n) => (await api<{ type: string }>(`exchanges/%2F/${n}`)).type,
      // A passive declare answers with the queue's message count at once (the management API's lags by its stats interval).
      messages: async (q) => {
        const ch = await watcher!.createChannel();
        try {
          return (await ch.checkQueue(q)).messageCount;
        } finally {
          await ch.close();
        }
      },
      watch: async () => {
        // The event exchange: the server publishes every exchange/queue/binding created or deleted.
        const ch = await watcher!.createChannel();
        const q = await ch.assertQueue("", { exclusive: true, autoDelete: true });
        for (const k of ["exchange.*", "queue.*", "binding.*"]) await ch.bindQueue(q.queue, "amq.rabbitmq.event", k);
        const events: string[] = [];
        await ch.consume(
          q.queue,
          (m) =>
            m && events.push(`${m.fields.routingKey} ${String(m.properties.headers?.name ?? m.properties.headers?.source_name ?? "")}`),
          { noAck: true },
        );
        const objectsNow = async () =>
          JSON.stringify([
            await api<unknown[]>("exchanges/%2F?columns=name,type,durable,arguments"),
            (await api<Array<{ name: string }>>("queues/%2F?columns=name,durable,arguments")).filter((x) => !x.name.startsWith("amq.gen-")),
            (await api<Array<{ source: string }>>("bindings/%2F")).filter((x) => x.source !== "amq.rabbitmq.event" && x.source !== ""),
          ]);
        const before = await objectsNow();
        return {
          end: async () => {
            await new Promise((r) => setTimeout(r, 300));
            await ch.close();
            // The watcher's own binding events (to amq.rabbitmq.event) are not the reconciler's.
            const mine = events.filter((e) => !e.includes("amq.rabbitmq.event") && !/ amq\.gen-/.test(e));
            return [...mine, ...((await objectsNow()) !== before ? ["exchanges, queues or bindings changed"] : [])];
          },
        };
      },
      setup: async (ctx) => {
        server = await startRabbit(ctx, "kubedos-test-password");
        watcher = await amqpConnect(`amqp://${server.username}:${server.password}@${server.url.slice("amqp://".length)}`);
        watcher.on("error", () => undefined);
      },
      teardown: async () => {
        await watcher?.close().catch(() => undefined);
        await server?.stop();
      },
    });
  }
});
