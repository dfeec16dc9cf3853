/**
 * EventBus on NATS JetStream. AMQP's objects map onto streams:
 *  - an exchange is a stream of the same name on subjects `<exchange>` and `<exchange>.>`, its type
 *    recorded in the stream's description (JetStream has no exchange types; kubedos keeps the AMQP
 *    routing rules through the subjects), `durable` ↔ file storage (otherwise memory);
 *  - a queue is a work-queue stream of the same name (file or memory storage) whose sources are its
 *    bindings: one source per bound exchange stream, filtered by the routing key as a subject
 *    (topic: `*` stays, a trailing `#` becomes `>`; fanout: no filter);
 *  - publish confirms are JetStream's publish acks.
 * Neither a type nor a storage change is possible on a stream in place: the reconciler skips them.
 */
import {
  connect,
  nanos,
  RetentionPolicy,
  StorageType,
  type JetStreamManager,
  type NatsConnection,
  type StreamConfig,
  type StreamInfo,
  type StreamSource,
} from "nats";
import type { BrokerState, EventBus } from "../ports";
import type { Binding, Exchange, ExchangeType, Queue } from "../profile";

export interface NatsOptions {
  url: string;
  username?: string;
  password?: string;
}

const EXCHANGE_DESC = "kubedos exchange type=";
const QUEUE_DESC = "kubedos queue";
/** How long an exchange stream keeps a message for its queues to source it. */
export const EXCHANGE_MAX_AGE_MS = 24 * 3600 * 1000;

const storage = (durable: boolean): StorageType => (durable ? StorageType.File : StorageType.Memory);

/** The subject filter a binding sources with (undefined: everything, for fanout). */
export function bindingSubject(exchange: string, type: ExchangeType, routingKey: string): string | undefined {
  if (type === "fanout") return undefined;
  if (routingKey === "") return exchange;
  const words = routingKey.split(".");
  if (type === "topic") {
    const hashes = words.map((w, i) => (w === "#" ? i : -1)).filter((i) => i >= 0);
    if (hashes.some((i) => i !== words.length - 1))
      throw new Error(`routing key ${JSON.stringify(routingKey)}: NATS subjects take '#' (as '>') only as the last word`);
    return [exchange, ...words.map((w) => (w === "#" ? ">" : w))].join(".");
  }
  return [exchange, ...words].join(".");
}

/** The routing key a source filter came from. */
function routingKeyOf(exchange: string, filter: string | undefined): string {
  if (!filter || filter === exchange) return "";
  return filter
    .slice(exchange.length + 1)
    .split(".")
    .map((w) => (w === ">" ? "#" : w))
    .join(".");
}

const notFound = (err: unknown): boolean =>
  (err as { api_error?: { err_code?: number } }).api_error?.err_code === 10059 || /stream not found/i.test((err as Error).message);

export class NatsBus implements EventBus {
  private constructor(
    private readonly nc: NatsConnection,
    private readonly jsm: JetStreamManager,
  ) {}

  static async open(opts: NatsOptions): Promise<NatsBus> {
    const u = new URL(opts.url);
    const nc = await connect({
      servers: `${u.hostname}:${u.port || 4222}`,
      ...(u.protocol === "tls:" ? { tls: {} } : {}),
      ...(opts.username ? { user: opts.username, pass: opts.password ?? "" } : {}),
      timeout: 5000,
      maxReconnectAttempts: 0,
    });
    return new NatsBus(nc, await nc.jetstreamManager({ timeout: 5000 }));
  }

  private async info(name: string): Promise<StreamInfo | undefined> {
    try {
      return await this.jsm.streams.info(name);
    } catch (err) {
      if (notFound(err)) return undefined;
      throw err;
    }
  }

  private exchangeType(si: StreamInfo): ExchangeType {
    const d = si.config.description ?? "";
    // A stream kubedos did not describe shows its description, so a type mismatch names it.
    return (d.startsWith(EXCHANGE_DESC) ? d.slice(EXCHANGE_DESC.length) : `foreign stream (${d || "no description"})`) as ExchangeType;
  }

  async readTopology(names: { exchanges: readonly string[]; queues: readonly string[] }): Promise<BrokerState> {
    const out: BrokerState = { exchanges: new Map(), queues: new Map(), bindings: [] };
    const types = new Map<string, ExchangeType>();
    for (const name of names.exchanges) {
      const si = await this.info(name);
      if (!si) continue;
      types.set(name, this.exchangeType(si));
      out.exchanges.set(name, { name, type: this.exchangeType(si), durable: si.config.storage === StorageType.File });
    }
    for (const name of names.queues) {
      const si = await this.info(name);
      if (!si) continue;
      out.queues.set(name, { name, durable: si.config.storage === StorageType.File });
      for (const s of si.config.sources ?? []) {
        out.bindings.push({ exchange: s.name, queue: name, routingKey: routingKeyOf(s.name, s.filter_subject) });
      }
    }
    return out;
  }

  async declareExchange(e: Exchange): Promise<void> {
    await this.jsm.streams.add({
      name: e.name,
      description: `${EXCHANGE_DESC}${e.type}`,
      subjects: [e.name, `${e.name}.>`],
      storage: storage(e.durable),
      retention: RetentionPolicy.Limits,
      max_age: nanos(EXCHANGE_MAX_AGE_MS),
    });
  }

  async declareQueue(q: Queue): Promise<void> {
    await this.jsm.streams.add({
      name: q.name,
      description: QUEUE_DESC,
      storage: storage(q.durable),
      retention: RetentionPolicy.Workqueue,
    });
  }

  private async setSources(queue: string, change: (sources: StreamSource[]) => StreamSource[]): Promise<void> {
    const si = await this.jsm.streams.info(queue);
    const cfg: Partial<StreamConfig> = { ...si.config, sources: change([...(si.config.sources ?? [])]) };
    await this.jsm.streams.update(queue, cfg);
  }

  private async sourceOf(b: Binding): Promise<StreamSource> {
    const ex = await this.jsm.streams.info(b.exchange);
    const subject = bindingSubject(b.exchange, this.exchangeType(ex), b.routingKey);
    return { name: b.exchange, ...(subject ? { filter_subject: subject } : {}) };
  }

  /** nats-server before 2.10 keys a stream's sources by stream name: one binding per exchange and queue. */
  private oneSourcePerStream(): boolean {
    const [major, minor] = (this.nc.info?.version ?? "0.0.0").split(".").map(Number);
    return major < 2 || (major === 2 && minor < 10);
  }

  async bind(b: Binding): Promise<void> {
    const src = await this.sourceOf(b);
    await this.setSources(b.queue, (s) => {
      if (this.oneSourcePerStream() && s.some((x) => x.name === b.exchange))
        throw new Error(
          `nats-server ${this.nc.info?.version} keys a stream's sources by name, so queue ${b.queue} cannot take a second binding from ${b.exchange} (nats-server ≥ 2.10 can)`,
        );
      return [...s, src];
    });
  }

  async unbind(b: Binding): Promise<void> {
    await this.setSources(b.queue, (s) =>
      s.filter((x) => !(x.name === b.exchange && routingKeyOf(x.name, x.filter_subject) === b.routingKey)),
    );
  }

  async deleteQueue(name: string): Promise<void> {
    await this.jsm.streams.delete(name);
  }

  async deleteExchange(name: string): Promise<void> {
    await this.jsm.streams.delete(name);
  }

  async publish(exchange: string, routingKey: string, payload: Buffer, opts: { confirm: boolean }): Promise<void> {
    const subject = routingKey === "" ? exchange : `${exchange}.${routingKey}`;
    if (opts.confirm) await this.nc.jetstream().publish(subject, payload);
    else this.nc.publish(subject, payload);
  }

  async close(): Promise<void> {
    await this.nc.close();
  }
}
