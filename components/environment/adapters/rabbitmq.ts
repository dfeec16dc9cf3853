/**
 * EventBus on RabbitMQ (AMQP 0-9-1). AMQP cannot list exchanges, queues or bindings, so the actual
 * state is read from the management API (HTTP, read-only GETs); changes go over AMQP, on a channel
 * opened only when there is something to change — a run with nothing to do never opens one.
 * Publishing with confirms uses a confirm channel (the broker acks every message).
 */
import { connect, type Channel, type ChannelModel, type ConfirmChannel } from "amqplib";
import type { BrokerState, EventBus } from "../ports";
import type { Binding, Exchange, ExchangeType, Queue } from "../profile";

export interface RabbitOptions {
  /** amqp://host:port/vhost (no credentials in it). */
  url: string;
  managementUrl: string;
  username: string;
  password: string;
}

interface MgmtExchange {
  name: string;
  type: string;
  durable: boolean;
}
interface MgmtQueue {
  name: string;
  durable: boolean;
}
interface MgmtBinding {
  source: string;
  destination: string;
  destination_type: string;
  routing_key: string;
}

export class RabbitBus implements EventBus {
  private model?: ChannelModel;
  private channel?: Channel;
  private confirm?: ConfirmChannel;
  private readonly vhost: string;
  private readonly auth: string;

  constructor(private readonly opts: RabbitOptions) {
    const path = new URL(opts.url).pathname;
    this.vhost = path && path !== "/" ? decodeURIComponent(path.slice(1)) : "/";
    this.auth = `Basic ${Buffer.from(`${opts.username}:${opts.password}`).toString("base64")}`;
  }

  private async get<T>(path: string): Promise<T | undefined> {
    const url = `${this.opts.managementUrl.replace(/\/$/, "")}/api/${path}`;
    const res = await fetch(url, { headers: { authorization: this.auth }, signal: AbortSignal.timeout(10000) });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`management API GET /api/${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    return (await res.json()) as T;
  }

  private v(): string {
    return encodeURIComponent(this.vhost);
  }

  async readTopology(names: { exchanges: readonly string[]; queues: readonly string[] }): Promise<BrokerState> {
    const out: BrokerState = { exchanges: new Map(), queues: new Map(), bindings: [] };
    for (const name of names.exchanges) {
      const e = await this.get<MgmtExchange>(`exchanges/${this.v()}/${encodeURIComponent(name)}`);
      if (e) out.exchanges.set(name, { name, type: e.type as ExchangeType, durable: e.durable });
    }
    for (const name of names.queues) {
      const q = await this.get<MgmtQueue>(`queues/${this.v()}/${encodeURIComponent(name)}`);
      if (!q) continue;
      out.queues.set(name, { name, durable: q.durable });
      const bs = (await this.get<MgmtBinding[]>(`queues/${this.v()}/${encodeURIComponent(name)}/bindings`)) ?? [];
      // The default exchange ("") binds every queue by name; it is not a binding anyone declared.
      for (const b of bs)
        if (b.source !== "" && b.destination_type === "queue")
          out.bindings.push({ exchange: b.source, queue: name, routingKey: b.routing_key });
    }
    return out;
  }

  private connectUrl(): string {
    const u = new URL(this.opts.url);
    u.username = encodeURIComponent(this.opts.username);
    u.password = encodeURIComponent(this.opts.password);
    return u.toString();
  }

  private async model_(): Promise<ChannelModel> {
    if (!this.model) {
      this.model = await connect(this.connectUrl(), { timeout: 10000 });
      this.model.on("error", () => undefined); // surfaced through the failing call instead
    }
    return this.model;
  }

  /** A channel for declarations; a failed declaration closes it, so the next call opens a new one. */
  private async ch(): Promise<Channel> {
    if (!this.channel) {
      const ch = await (await this.model_()).createChannel();
      ch.on("error", () => undefined);
      ch.on("close", () => {
        if (this.channel === ch) this.channel = undefined;
      });
      this.channel = ch;
    }
    return this.channel;
  }

  async declareExchange(e: Exchange): Promise<void> {
    await (await this.ch()).assertExchange(e.name, e.type, { durable: e.durable, autoDelete: false });
  }
  async declareQueue(q: Queue): Promise<void> {
    await (await this.ch()).assertQueue(q.name, { durable: q.durable, autoDelete: false, exclusive: false });
  }
  async bind(b: Binding): Promise<void> {
    await (await this.ch()).bindQueue(b.queue, b.exchange, b.routingKey);
  }
  async unbind(b: Binding): Promise<void> {
    await (await this.ch()).unbindQueue(b.queue, b.exchange, b.routingKey);
  }
  async deleteQueue(name: string): Promise<void> {
    await (await this.ch()).deleteQueue(name);
  }
  async deleteExchange(name: string): Promise<void> {
    await (await this.ch()).deleteExchange(name);
  }
  async publish(exchange: string, routingKey: string, payload: Buffer, opts: { confirm: boolean }): Promise<void> {
    if (!opts.confirm) {
      (await this.ch()).publish(exchange, routingKey, payload, { persistent: true });
      return;
    }
    if (!this.confirm) this.confirm = await (await this.model_()).createConfirmChannel();
    const ch = this.confirm;
    await new Promise<void>((resolve, reject) =>
      ch.publish(exchange, routingKey, payload, { persistent: true }, (err) =>
        err ? reject(new Error(`broker nacked the message: ${String(err)}`)) : resolve(),
      ),
    );
  }
  async close(): Promise<void> {
    const m = this.model;
    this.model = this.channel = this.confirm = undefined;
    if (m) await m.close().catch(() => undefined);
  }
}
