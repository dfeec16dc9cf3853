/**
 * The vector index reconciler (seed 004 §3 C) against its two adapters: in-memory (the default)
 * and pgvector — real PostgreSQL (PGlite, with pglite's pgvector build) served over the wire
 * protocol by pglite-socket. Every case of issue 9 on each: create, re-run with no change,
 * adding a property, a property type change (skipped and logged, the column untouched), removal
 * (kept by default, dropped with prune.vector), and nearest-neighbour queries on the result.
 *
 * "No mutation" is asserted on the server: no transaction id was consumed (the next xid, read
 * from a snapshot, is unchanged: Postgres assigns one to every write) and every catalog row of the
 * schema keeps its xmin; for the in-memory index, its state file keeps its inode and mtime.
 */
import { strict as assert } from "node:assert";
import { rmSync, statSync } from "node:fs";
import * as path from "node:path";
import { InMemoryIndex } from "../../components/environment/adapters/in-memory";
import { PgvectorIndex } from "../../components/environment/adapters/pgvector";
import type { DesiredVector, VectorAdapter } from "../../components/environment/profile";
import type { VectorIndex } from "../../components/environment/ports";
import { assertIdempotent, objects, Runner } from "./helpers";
import { startPglite, tmpDir, type PgServer } from "./servers";

const doc = (props: Array<[string, "text" | "int" | "date" | "number"]>) => ({
  name: "Document",
  dimensions: 3,
  distance: "cosine" as const,
  properties: props.map(([name, dataType]) => ({ name, dataType })),
});
const note = { name: "Note", dimensions: 2, distance: "l2" as const, properties: [{ name: "body", dataType: "text" as const }] };
const V1: DesiredVector = { classes: [doc([["title", "text"]]), note] };
const V2: DesiredVector = {
  classes: [
    doc([
      ["source", "text"],
      ["title", "text"],
    ]),
    note,
  ],
};
const TYPE_CHANGE: DesiredVector = {
  classes: [
    doc([
      ["source", "text"],
      ["title", "int"],
    ]),
    note,
  ],
};
const REMOVED: DesiredVector = { classes: [doc([["title", "text"]])] };

interface Backend {
  name: string;
  adapter: () => VectorAdapter;
  open: () => Promise<VectorIndex>;
  /** Class → property → type, read by the test on the backend itself. */
  schema(): Promise<Record<string, Record<string, string>>>;
  watch(): Promise<{ end(): Promise<string[]> }>;
  setup(ctx: Mocha.Context): Promise<void>;
  teardown(): Promise<void>;
}

function scenario(b: Backend): void {
  describe(b.name, function () {
    let run: Runner<"vector">;
    before(async function () {
      this.timeout(60000);
      await b.setup(this);
      run = new Runner("vector", b.adapter(), b.open);
    });
    after(async () => b.teardown());

    it("creates classes with their properties", async () => {
      const e = await run.apply(V1);
      assert.equal(e.status, "applied");
      assert.deepEqual(objects(e.actions), ["class/Document", "class/Note"]);
      assert.deepEqual(await b.schema(), { Document: { title: "text" }, Note: { body: "text" } });
    });

    it("re-runs an unchanged profile with no mutation on the server", async () => {
      const w = await b.watch();
      const e = await run.apply(V1);
      assertIdempotent(e);
      assert.equal(e.status, "in-sync");
      assert.deepEqual(await w.end(), []);
    });

    it("adds a missing property (and the server-side probe sees that write)", async () => {
      const w = await b.watch();
      const e = await run.apply(V2);
      assert.notDeepEqual(await w.end(), [], "the mutation probe must see a real change");
      assert.deepEqual(
        e.actions.map((a) => `${a.kind} ${a.object}`),
        ["create class/Document/property/source"],
      );
      assert.deepEqual((await b.schema()).Document, { title: "text", source: "text" });
    });

    it("skips and logs a property type change, leaving the property as it is", async () => {
      const w = await b.watch();
      const e = await run.apply(TYPE_CHANGE);
      assert.equal(e.status, "partial");
      assert.deepEqual(e.actions, []);
      assert.deepEqual(objects(e.skipped), ["class/Document/property/title"]);
      assert.match(e.skipped[0].detail, /incompatible type change \(text → int\)/);
      assert.ok(
        run.lines.some((l) => /action=skip object=class\/Document\/property\/title .*text → int/.test(l)),
        run.lines.join("\n"),
      );
      assert.deepEqual(await w.end(), []);
      assert.equal((await b.schema()).Document.title, "text");
    });

    it("stores and finds objects by their vectors", async () => {
      const idx = await b.open();
      try {
        await idx.upsert("Document", "a", [1, 0, 0], { title: "alpha" });
        await idx.upsert("Document", "b", [0, 1, 0], { title: "beta" });
        await idx.upsert("Document", "c", [0.9, 0.1, 0], { title: "gamma" });
        const hits = await idx.query("Document", [1, 0, 0], 2);
        assert.deepEqual(
          hits.map((h) => [h.id, h.properties.title]),
          [
            ["a", "alpha"],
            ["c", "gamma"],
          ],
        );
        assert.ok(Math.abs(hits[0].score) < 1e-6);
      } finally {
        await idx.close();
      }
    });

    it("keeps a removed class and property without prune, and drops them with prune.vector", async () => {
      const kept = await run.apply(REMOVED);
      assert.deepEqual(kept.actions, []);
      assert.deepEqual(objects(kept.retained), ["class/Document/property/source", "class/Note"]);
      assert.deepEqual(Object.keys(await b.schema()).sort(), ["Document", "Note"]);

      const pruned = await run.apply(REMOVED, true);
      assert.deepEqual(
        pruned.actions.map((a) => `${a.kind} ${a.object}`),
        ["delete class/Document/property/source", "delete class/Note"],
      );
      assert.deepEqual(await b.schema(), { Document: { title: "text" } });
      assertIdempotent(await run.apply(REMOVED, true));
    });
  });
}

describe("environment vector reconciler", () => {
  // ------------------------------------------------------------ in-memory
  {
    let dir: string;
    let idx: InMemoryIndex | undefined;
    const file = () => path.join(dir, "vector-index.json");
    scenario({
      name: "in-memory adapter (default)",
      adapter: () => ({ kind: "in-memory", stateFile: file() }),
      open: async () => (idx ??= new InMemoryIndex(file())),
      schema: async () => {
        const m = await new InMemoryIndex(file()).readClasses(["Document", "Note"]);
        return Object.fromEntries([...m.values()].map((c) => [c.name, Object.fromEntries(c.properties.map((p) => [p.name, p.dataType]))]));
      },
      watch: async () => {
        const s = statSync(file());
        return {
          end: async () => (statSync(file()).ino !== s.ino || statSync(file()).mtimeMs !== s.mtimeMs ? ["state file rewritten"] : []),
        };
      },
      setup: async () => {
        dir = tmpDir("vec");
      },
      teardown: async () => rmSync(dir, { recursive: true, force: true }),
    });
  }

  // ------------------------------------------------------------ pgvector
  {
    let pg: PgServer | undefined;
    const SCHEMA = "kubedos_vector";
    const TYPES: Record<string, string> = { text: "text", bigint: "int", "timestamp with time zone": "date", "double precision": "number" };
    scenario({
      name: "pgvector adapter against PostgreSQL (PGlite + pgvector over the wire)",
      adapter: () => ({ kind: "pgvector", url: pg!.url, schema: SCHEMA, username: "postgres" }),
      open: async () => new PgvectorIndex({ url: pg!.url, schema: SCHEMA, username: "postgres", password: "unused-by-pglite" }),
      schema: async () => {
        const r = await pg!.db.query<{ relname: string; attname: string; type: string }>(
          `SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod) AS type
             FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
             JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
            WHERE n.nspname = $1 AND c.relkind = 'r' AND a.attname NOT IN ('id', 'vector')`,
          [SCHEMA],
        );
        const out: Record<string, Record<string, string>> = {};
        for (const row of r.rows) (out[row.relname] ??= {})[row.attname] = TYPES[row.type] ?? row.type;
        return out;
      },
      watch: async () => {
        const nextXid = async () =>
          (await pg!.db.query<{ x: string }>("SELECT pg_snapshot_xmax(pg_current_snapshot())::text AS x")).rows[0].x;
        const catalog = async () =>
          JSON.stringify(
            (
              await pg!.db.query(
                `SELECT c.relname, c.xmin::text AS rel_xmin, a.attname, a.xmin::text AS att_xmin
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   LEFT JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0
                  WHERE n.nspname = $1 ORDER BY 1, 3`,
                [SCHEMA],
              )
            ).rows,
          );
        const [xid, cat] = [await nextXid(), await catalog()];
        return {
          end: async () => [
            ...((await nextXid()) !== xid
              ? [`a transaction id was consumed (next xid ${xid} → ${await nextXid()}): the server saw a write`]
              : []),
            ...((await catalog()) !== cat ? ["catalog rows of the schema changed"] : []),
          ],
        };
      },
      setup: async () => {
        pg = await startPglite();
      },
      teardown: async () => pg?.stop(),
    });
  }
});
