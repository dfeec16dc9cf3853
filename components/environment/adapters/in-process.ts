/**
 * EventBus in the process (the default adapter, seed 004 §4): exchanges route to queues held in
 * memory with AMQP's rules (direct: key equals; topic: `*` one word, `#` zero or more; fanout:
 * every bound queue). The declared topology is kept in a state file, so the next run finds what
 * the last one declared and re-declares nothing; messages live only as long as the process.
 */
import type { BrokerState, EventBus } from "../ports";
import { bindingKey, type Binding, type Exchange, type Queue } from "../profile";
import { readState, writeState } from "./state-file";

interface Topology {
  exchanges: Exchange[];
  queues: Queue[];
  bindings: Binding[];
}

/** AMQP topic matching: words split on '.', `*` is exactly one word, `#` zero or more. */
export function topicMatches(pattern: string, key: string): boolean {
  const p = pattern === "" ? [] : pattern.split(".");
  const k = key === "" ? [] : key.split(".");
  const match = (i: number, j: number): boolean => {
    if (i === p.length) return j === k.length;
    if (p[i] === "#") return match(i + 1, j) || (j < k.length && match(i, j + 1));
    return j < k.length && (p[i] === "*" || p[i] === k[j]) && match(i + 1, j + 1);
  };
  return match(0, 0);
}

export class InProcessBus implements EventBus {
  private topology: Topology;
  private readonly messages = new Map<string, Buffer[]>();

  constructor(readonly stateFile: string) {
    this.topology = readState<Topology>(stateFile, { exchanges: [], queues: [], bindings: [] });
  }

  private save(): void {
    writeState(this.stateFile, this.topology);
  }

  async readTopology(names: { exchanges: readonly string[]; queues: readonly string[] }): Promise<BrokerState> {
    const t = this.topology;
    return {
      exchanges: new Map(t.exchanges.filter((e) => names.exchanges.includes(e.name)).map((e) => [e.name, { ...e }])),
      queues: new Map(t.queues.filter((q) => names.queues.includes(q.name)).map((q) => [q.name, { ...q }])),
      bindings: t.bindings.filter((b) => names.exchanges.includes(b.exchange) || names.queues.includes(b.queue)).map((b) => ({ ...b })),
    };
  }
  async declareExchange(e: Exchange): Promise<void> {
    const have = this.topology.exchanges.find((x) => x.name === e.name);
    if (have && (have.type !== e.type || have.durable !== e.durable))
      throw new Error(`PRECONDITION_FAILED: exchange ${e.name} exists as ${have.type}${have.durable ? "" : " (transient)"}`);
    if (!have) this.topology.exchanges.push({ ...e });
    this.save();
  }
  async declareQueue(q: Queue): Promise<void> {
    if (!this.topology.queues.some((x) => x.name === q.name)) this.topology.queues.push({ ...q });
    this.save();
  }
  async bind(b: Binding): Promise<void> {
    if (!this.topology.exchanges.some((e) => e.name === b.exchange)) throw new Error(`NOT_FOUND: no exchange ${b.exchange}`);
    if (!this.topology.queues.some((q) => q.name === b.queue)) throw new Error(`NOT_FOUND: no queue ${b.queue}`);
    if (!this.topology.bindings.some((x) => bindingKey(x) === bindingKey(b))) this.topology.bindings.push({ ...b });
    this.save();
  }
  async unbind(b: Binding): Promise<void> {
    this.topology.bindings = this.topology.bindings.filter((x) => bindingKey(x) !== bindingKey(b));
    this.save();
  }
  async deleteQueue(name: string): Promise<void> {
    this.topology.queues = this.topology.queues.filter((q) => q.name !== name);
    this.topology.bindings = this.topology.bindings.filter((b) => b.queue !== name);
    this.messages.delete(name);
    this.save();
  }
  async deleteExchange(name: string): Promise<void> {
    this.topology.exchanges = this.topology.exchanges.filter((e) => e.name !== name);
    this.topology.bindings = this.topology.bindings.filter((b) => b.exchange !== name);
    this.save();
  }
  async publish(exchange: string, routingKey: string, payload: Buffer): Promise<void> {
    const ex = this.topology.exchanges.find((e) => e.name === exchange);
    if (!ex) throw new Error(`NOT_FOUND: no exchange ${exchange}`);
    for (const b of this.topology.bindings) {
      if (b.exchange !== exchange) continue;
      const hit = ex.type === "fanout" || (ex.type === "direct" ? b.routingKey === routingKey : topicMatches(b.routingKey, routingKey));
      if (!hit) continue;
      const q = this.messages.get(b.queue) ?? [];
      q.push(Buffer.from(payload));
      this.messages.set(b.queue, q);
    }
    // In process, routing is the confirm: the promise settles once every bound queue holds the message.
  }
  /** Messages waiting on `queue`. */
  depth(queue: string): number {
    return this.messages.get(queue)?.length ?? 0;
  }
  /** Take every message queued on `queue` (a consumer in the same process). */
  take(queue: string): Buffer[] {
    const q = this.messages.get(queue) ?? [];
    this.messages.delete(queue);
    return q;
  }
  async close(): Promise<void> {}
}
