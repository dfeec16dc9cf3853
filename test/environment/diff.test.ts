/**
 * The pure half of the reconcilers (components/environment/diff.ts), case by case: what each
 * (desired, actual, managed, prune) plans — the actions the event records and the port operations
 * the driver calls. The real-server tests run the same code against real backends; these tables
 * pin every branch.
 */
import { strict as assert } from "node:assert";
import {
  diffBroker,
  diffStorage,
  diffVector,
  type BrokerManaged,
  type StorageManaged,
  type VectorManaged,
} from "../../components/environment/diff";
import type { ActualClass, BrokerState, BucketState } from "../../components/environment/ports";
import type { DesiredBroker, DesiredBucket, DesiredVector, Exchange, Queue } from "../../components/environment/profile";

const bucket = (over: Partial<DesiredBucket> = {}): DesiredBucket => ({
  name: "data",
  versioning: false,
  lifecycle: [],
  tags: {},
  ...over,
});
const state = (over: Partial<BucketState> = {}): BucketState => ({
  name: "data",
  versioning: "off",
  lifecycle: [],
  tags: {},
  empty: true,
  unsupported: [],
  ...over,
});
const noStorage: StorageManaged = { buckets: {} };
const rule7 = { id: "r", prefix: "tmp/", expirationDays: 7 };
const show = (p: { actions: Array<{ kind: string; object: string }> }) => p.actions.map((a) => `${a.kind} ${a.object}`);

interface StorageCase {
  name: string;
  desired: DesiredBucket[];
  actual: BucketState[];
  managed?: StorageManaged;
  prune?: boolean;
  actions: string[];
  ops: unknown[];
  managedAfter?: StorageManaged;
}

const STORAGE: StorageCase[] = [
  {
    name: "creates a missing bucket with its settings",
    desired: [bucket({ versioning: true, lifecycle: [rule7], tags: { a: "1" } })],
    actual: [],
    actions: ["create bucket/data", "update bucket/data/versioning", "create bucket/data/lifecycle/r", "create bucket/data/tag/a"],
    ops: [
      { op: "createBucket", bucket: "data" },
      { op: "putVersioning", bucket: "data", enabled: true },
      { op: "putLifecycle", bucket: "data", rules: [rule7] },
      { op: "putTags", bucket: "data", tags: { a: "1" } },
    ],
    managedAfter: { buckets: { data: { lifecycle: ["r"], tags: ["a"] } } },
  },
  {
    name: "plans nothing when actual equals desired",
    desired: [bucket({ versioning: true, lifecycle: [rule7], tags: { a: "1" } })],
    actual: [state({ versioning: "enabled", lifecycle: [rule7], tags: { a: "1" } })],
    actions: [],
    ops: [],
  },
  {
    name: "leaves foreign lifecycle rules and tags alone while merging its own",
    desired: [bucket({ lifecycle: [rule7], tags: { a: "2" } })],
    actual: [state({ lifecycle: [{ id: "theirs", prefix: "", expirationDays: 1 }], tags: { a: "1", theirs: "x" } })],
    actions: ["create bucket/data/lifecycle/r", "update bucket/data/tag/a"],
    ops: [
      { op: "putLifecycle", bucket: "data", rules: [{ id: "theirs", prefix: "", expirationDays: 1 }, rule7] },
      { op: "putTags", bucket: "data", tags: { a: "2", theirs: "x" } },
    ],
  },
  {
    name: "updates a rule by id in place",
    desired: [bucket({ lifecycle: [{ ...rule7, expirationDays: 30 }] })],
    actual: [state({ lifecycle: [rule7] })],
    actions: ["update bucket/data/lifecycle/r"],
    ops: [{ op: "putLifecycle", bucket: "data", rules: [{ ...rule7, expirationDays: 30 }] }],
  },
  {
    name: "suspends versioning that the spec turns off, never 'un-versions'",
    desired: [bucket({ versioning: false })],
    actual: [state({ versioning: "enabled" })],
    actions: ["update bucket/data/versioning"],
    ops: [{ op: "putVersioning", bucket: "data", enabled: false }],
  },
  {
    name: "leaves a suspended bucket suspended when the spec says false",
    desired: [bucket()],
    actual: [state({ versioning: "suspended" })],
    actions: [],
    ops: [],
  },
  {
    name: "skips features the endpoint does not implement, with the reason",
    desired: [bucket({ versioning: true, lifecycle: [rule7], tags: { a: "1" } })],
    actual: [state({ unsupported: ["versioning", "lifecycle", "tagging"] })],
    actions: ["skip bucket/data/versioning", "skip bucket/data/lifecycle/", "skip bucket/data/tag/"],
    ops: [],
  },
  {
    name: "retains managed rules, tags and buckets removed from the spec without prune",
    desired: [bucket()],
    actual: [state({ lifecycle: [rule7], tags: { a: "1" } }), state({ name: "old" })],
    managed: { buckets: { data: { lifecycle: ["r"], tags: ["a"] }, old: { lifecycle: [], tags: [] } } },
    actions: ["retain bucket/data/lifecycle/r", "retain bucket/data/tag/a", "retain bucket/old"],
    ops: [],
    managedAfter: { buckets: { data: { lifecycle: ["r"], tags: ["a"] }, old: { lifecycle: [], tags: [] } } },
  },
  {
    name: "deletes managed rules, tags and empty buckets with prune — foreign ones stay",
    desired: [bucket()],
    actual: [
      state({ lifecycle: [rule7, { id: "theirs", prefix: "", expirationDays: 1 }], tags: { a: "1", theirs: "x" } }),
      state({ name: "old" }),
      state({ name: "foreign" }),
    ],
    managed: { buckets: { data: { lifecycle: ["r"], tags: ["a"] }, old: { lifecycle: [], tags: [] } } },
    prune: true,
    actions: ["delete bucket/data/lifecycle/r", "delete bucket/data/tag/a", "delete bucket/old"],
    ops: [
      { op: "putLifecycle", bucket: "data", rules: [{ id: "theirs", prefix: "", expirationDays: 1 }] },
      { op: "putTags", bucket: "data", tags: { theirs: "x" } },
      { op: "deleteBucket", bucket: "old" },
    ],
    managedAfter: { buckets: { data: { lifecycle: [], tags: [] } } },
  },
  {
    name: "refuses to prune a bucket that still holds objects",
    desired: [],
    actual: [state({ name: "old", empty: false })],
    managed: { buckets: { old: { lifecycle: [], tags: [] } } },
    prune: true,
    actions: ["skip bucket/old"],
    ops: [],
  },
  {
    name: "forgets a managed bucket someone else already deleted",
    desired: [],
    actual: [],
    managed: { buckets: { gone: { lifecycle: [], tags: [] } } },
    prune: true,
    actions: [],
    ops: [],
    managedAfter: { buckets: {} },
  },
];

const ex = (name: string, type: Exchange["type"] = "topic", durable = true): Exchange => ({ name, type, durable });
const q = (name: string, durable = true): Queue => ({ name, durable });
const broker = (over: Partial<DesiredBroker> = {}): DesiredBroker => ({
  exchanges: [],
  queues: [],
  bindings: [],
  publishConfirms: true,
  ...over,
});
const actualBroker = (exchanges: Exchange[], queues: Queue[], bindings: DesiredBroker["bindings"] = []): BrokerState => ({
  exchanges: new Map(exchanges.map((e) => [e.name, e])),
  queues: new Map(queues.map((x) => [x.name, x])),
  bindings,
});
const noBroker: BrokerManaged = { exchanges: [], queues: [], bindings: [] };
const bind = { exchange: "ev", queue: "q1", routingKey: "a.*" };

interface BrokerCase {
  name: string;
  desired: DesiredBroker;
  actual: BrokerState;
  managed?: BrokerManaged;
  prune?: boolean;
  actions: string[];
  ops: string[];
  managedAfter?: BrokerManaged;
}

const BROKER: BrokerCase[] = [
  {
    name: "declares exchanges, then queues, then bindings",
    desired: broker({ exchanges: [ex("ev")], queues: [q("q1")], bindings: [bind] }),
    actual: actualBroker([], []),
    actions: ["create exchange/ev", "create queue/q1", "create binding/ev/q1/a.*"],
    ops: ["declareExchange", "declareQueue", "bind"],
    managedAfter: { exchanges: ["ev"], queues: ["q1"], bindings: ["ev/q1/a.*"] },
  },
  {
    name: "plans nothing when the broker has it all",
    desired: broker({ exchanges: [ex("ev")], queues: [q("q1")], bindings: [bind] }),
    actual: actualBroker([ex("ev")], [q("q1")], [bind]),
    actions: [],
    ops: [],
  },
  {
    name: "skips an exchange type change and a durability change",
    desired: broker({ exchanges: [ex("ev", "direct"), ex("ev2", "topic", false)], queues: [q("q1", false)] }),
    actual: actualBroker([ex("ev", "topic"), ex("ev2")], [q("q1")]),
    actions: ["skip exchange/ev", "skip exchange/ev2", "skip queue/q1"],
    ops: [],
  },
  {
    name: "adds a binding with another key next to an existing one",
    desired: broker({ exchanges: [ex("ev")], queues: [q("q1")], bindings: [bind, { ...bind, routingKey: "b.#" }] }),
    actual: actualBroker([ex("ev")], [q("q1")], [bind]),
    actions: ["create binding/ev/q1/b.#"],
    ops: ["bind"],
  },
  {
    name: "retains managed objects removed from the spec without prune",
    desired: broker(),
    actual: actualBroker([ex("ev")], [q("q1")], [bind]),
    managed: { exchanges: ["ev"], queues: ["q1"], bindings: ["ev/q1/a.*"] },
    actions: ["retain binding/ev/q1/a.*", "retain queue/q1", "retain exchange/ev"],
    ops: [],
    managedAfter: { exchanges: ["ev"], queues: ["q1"], bindings: ["ev/q1/a.*"] },
  },
  {
    name: "deletes managed objects with prune: bindings, then queues, then exchanges — never foreign ones",
    desired: broker(),
    actual: actualBroker([ex("ev"), ex("theirs")], [q("q1"), q("theirs-q")], [bind]),
    managed: { exchanges: ["ev"], queues: ["q1"], bindings: ["ev/q1/a.*"] },
    prune: true,
    actions: ["delete binding/ev/q1/a.*", "delete queue/q1", "delete exchange/ev"],
    ops: ["unbind", "deleteQueue", "deleteExchange"],
    managedAfter: noBroker,
  },
];

const cls = (props: Array<[string, string]>, over: Partial<ActualClass> = {}): ActualClass => ({
  name: "Doc",
  dimensions: 4,
  distance: "cosine",
  properties: props.map(([name, dataType]) => ({ name, dataType })),
  ...over,
});
const want = (props: Array<[string, "text" | "int"]>, over: Partial<DesiredVector["classes"][number]> = {}): DesiredVector => ({
  classes: [{ name: "Doc", dimensions: 4, distance: "cosine", properties: props.map(([name, dataType]) => ({ name, dataType })), ...over }],
});

interface VectorCase {
  name: string;
  desired: DesiredVector;
  actual: ActualClass[];
  managed?: VectorManaged;
  prune?: boolean;
  actions: string[];
  ops: string[];
}

const VECTOR: VectorCase[] = [
  { name: "creates a missing class", desired: want([["t", "text"]]), actual: [], actions: ["create class/Doc"], ops: ["createClass"] },
  { name: "plans nothing for an equal class", desired: want([["t", "text"]]), actual: [cls([["t", "text"]])], actions: [], ops: [] },
  {
    name: "adds a missing property",
    desired: want([
      ["t", "text"],
      ["n", "int"],
    ]),
    actual: [cls([["t", "text"]])],
    actions: ["create class/Doc/property/n"],
    ops: ["addProperty"],
  },
  {
    name: "skips a property type change, a dimension change and a distance change",
    desired: want([["t", "int"]], { dimensions: 8, distance: "l2" }),
    actual: [cls([["t", "text"]])],
    actions: ["skip class/Doc/dimensions", "skip class/Doc/distance", "skip class/Doc/property/t"],
    ops: [],
  },
  {
    name: "skips a property the backend holds with a type kubedos does not map",
    desired: want([["t", "text"]]),
    actual: [cls([["t", "other:jsonb"]])],
    actions: ["skip class/Doc/property/t"],
    ops: [],
  },
  {
    name: "retains a managed property and class removed from the spec without prune",
    desired: want([]),
    actual: [cls([["t", "text"]]), cls([], { name: "Old" })],
    managed: { classes: { Doc: ["t"], Old: [] } },
    actions: ["retain class/Doc/property/t", "retain class/Old"],
    ops: [],
  },
  {
    name: "drops them with prune, never a property or class it does not manage",
    desired: want([]),
    actual: [
      cls([
        ["t", "text"],
        ["theirs", "text"],
      ]),
      cls([], { name: "Old" }),
      cls([], { name: "Theirs" }),
    ],
    managed: { classes: { Doc: ["t"], Old: [] } },
    prune: true,
    actions: ["delete class/Doc/property/t", "delete class/Old"],
    ops: ["dropProperty", "dropClass"],
  },
];

describe("environment diff (pure)", () => {
  describe("storage", () => {
    for (const c of STORAGE) {
      it(c.name, () => {
        const p = diffStorage({ buckets: c.desired }, new Map(c.actual.map((a) => [a.name, a])), c.managed ?? noStorage, c.prune ?? false);
        assert.deepEqual(show(p), c.actions);
        assert.deepEqual(p.ops, c.ops);
        for (const a of p.actions) assert.ok(a.detail.length > 0, `${a.object} has a detail`);
        if (c.managedAfter) assert.deepEqual(p.managed, c.managedAfter);
      });
    }
  });
  describe("broker", () => {
    for (const c of BROKER) {
      it(c.name, () => {
        const p = diffBroker(c.desired, c.actual, c.managed ?? noBroker, c.prune ?? false);
        assert.deepEqual(show(p), c.actions);
        assert.deepEqual(
          p.ops.map((o) => o.op),
          c.ops,
        );
        if (c.managedAfter) assert.deepEqual(p.managed, c.managedAfter);
      });
    }
    it("explains an incompatible change with both values", () => {
      const p = diffBroker(broker({ exchanges: [ex("ev", "direct")] }), actualBroker([ex("ev", "topic")], []), noBroker, false);
      assert.match(p.actions[0].detail, /incompatible change \(type topic → direct\)/);
    });
  });
  describe("vector", () => {
    for (const c of VECTOR) {
      it(c.name, () => {
        const p = diffVector(c.desired, new Map(c.actual.map((a) => [a.name, a])), c.managed ?? { classes: {} }, c.prune ?? false);
        assert.deepEqual(show(p), c.actions);
        assert.deepEqual(
          p.ops.map((o) => o.op),
          c.ops,
        );
      });
    }
    it("explains a property type change with both types", () => {
      const p = diffVector(want([["t", "int"]]), new Map([["Doc", cls([["t", "text"]])]]), { classes: {} }, false);
      assert.match(p.actions[0].detail, /incompatible type change \(text → int\)/);
    });
  });
});
