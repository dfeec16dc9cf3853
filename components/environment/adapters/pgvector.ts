/**
 * VectorIndex on PostgreSQL with pgvector (e.g. a CNPG cluster): one table per class in the
 * profile's schema — `id text primary key`, `vector vector(<dimensions>)`, one column per property
 * — with an HNSW index for the class's distance, recorded in the table's comment. Reads are catalog
 * queries; a run with nothing to change sends no DDL and writes nothing (no transaction id is
 * consumed, which the tests check on the server).
 */
import { Client } from "pg";
import type { ActualClass, VectorHit, VectorIndex } from "../ports";
import type { Distance, VectorClass, VectorProperty } from "../profile";
import type { VectorDataType } from "../../spec/environment-schema";

export interface PgvectorOptions {
  url: string;
  schema: string;
  username: string;
  password: string;
}

export const PG_TYPES: Record<VectorDataType, string> = {
  text: "text",
  "text[]": "text[]",
  int: "bigint",
  number: "double precision",
  boolean: "boolean",
  date: "timestamp with time zone",
  uuid: "uuid",
  blob: "bytea",
};
const FROM_PG = new Map(Object.entries(PG_TYPES).map(([k, v]) => [v, k]));

const OPS: Record<Distance, { opclass: string; operator: string }> = {
  cosine: { opclass: "vector_cosine_ops", operator: "<=>" },
  l2: { opclass: "vector_l2_ops", operator: "<->" },
  "inner-product": { opclass: "vector_ip_ops", operator: "<#>" },
};

const COMMENT = "kubedos class distance=";
const ident = (s: string): string => `"${s.replace(/"/g, '""')}"`;
const literal = (s: string): string => `'${s.replace(/'/g, "''")}'`;
const vectorText = (v: readonly number[]): string => `[${v.map((x) => Number(x)).join(",")}]`;

export class PgvectorIndex implements VectorIndex {
  private client?: Client;

  constructor(private readonly opts: PgvectorOptions) {}

  private async db(): Promise<Client> {
    if (!this.client) {
      // pg lets the connection string override separate fields, so the credentials go into it.
      const u = new URL(this.opts.url);
      u.username = encodeURIComponent(this.opts.username);
      u.password = encodeURIComponent(this.opts.password);
      const c = new Client({ connectionString: u.toString(), connectionTimeoutMillis: 10000 });
      c.on("error", () => undefined); // surfaced through the failing query
      await c.connect();
      this.client = c;
    }
    return this.client;
  }
  private table(cls: string): string {
    return `${ident(this.opts.schema)}.${ident(cls)}`;
  }
  private async tx(statements: string[]): Promise<void> {
    const db = await this.db();
    await db.query("BEGIN");
    try {
      for (const s of statements) await db.query(s);
      await db.query("COMMIT");
    } catch (err) {
      await db.query("ROLLBACK").catch(() => undefined);
      throw err;
    }
  }

  async readClasses(names: readonly string[]): Promise<Map<string, ActualClass>> {
    const db = await this.db();
    const r = await db.query<{ relname: string; comment: string | null; attname: string; type: string }>(
      `SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment, a.attname, format_type(a.atttypid, a.atttypmod) AS type
         FROM pg_class c
         JOIN pg_namespace n ON n.oid = c.relnamespace
         JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
        WHERE n.nspname = $1 AND c.relkind = 'r' AND c.relname = ANY($2::text[])
        ORDER BY c.relname, a.attnum`,
      [this.opts.schema, [...names]],
    );
    const out = new Map<string, ActualClass>();
    for (const row of r.rows) {
      let c = out.get(row.relname);
      if (!c) {
        const d = row.comment?.startsWith(COMMENT) ? row.comment.slice(COMMENT.length) : "cosine";
        c = { name: row.relname, dimensions: 0, distance: d as Distance, properties: [] };
        out.set(row.relname, c);
      }
      if (row.attname === "id") continue;
      if (row.attname === "vector") {
        c.dimensions = Number(/^vector\((\d+)\)$/.exec(row.type)?.[1] ?? 0);
        continue;
      }
      c.properties.push({ name: row.attname, dataType: FROM_PG.get(row.type) ?? `other:${row.type}` });
    }
    return out;
  }

  async createClass(c: VectorClass): Promise<void> {
    const db = await this.db();
    const ext = await db.query("SELECT 1 FROM pg_extension WHERE extname = 'vector'");
    const cols = c.properties.map((p) => `${ident(p.name)} ${PG_TYPES[p.dataType]}`);
    await this.tx([
      ...(ext.rowCount ? [] : ["CREATE EXTENSION IF NOT EXISTS vector"]),
      `CREATE SCHEMA IF NOT EXISTS ${ident(this.opts.schema)}`,
      `CREATE TABLE ${this.table(c.name)} (id text PRIMARY KEY, vector vector(${c.dimensions}) NOT NULL${cols.map((x) => `, ${x}`).join("")})`,
      `COMMENT ON TABLE ${this.table(c.name)} IS ${literal(`${COMMENT}${c.distance}`)}`,
      `CREATE INDEX ${ident(`${c.name}_vector_idx`)} ON ${this.table(c.name)} USING hnsw (vector ${OPS[c.distance].opclass})`,
    ]);
  }
  async addProperty(className: string, p: VectorProperty): Promise<void> {
    await this.tx([`ALTER TABLE ${this.table(className)} ADD COLUMN ${ident(p.name)} ${PG_TYPES[p.dataType]}`]);
  }
  async dropProperty(className: string, property: string): Promise<void> {
    await this.tx([`ALTER TABLE ${this.table(className)} DROP COLUMN ${ident(property)}`]);
  }
  async dropClass(name: string): Promise<void> {
    await this.tx([`DROP TABLE ${this.table(name)}`]);
  }
  async upsert(className: string, id: string, vector: readonly number[], properties: Record<string, unknown>): Promise<void> {
    const keys = Object.keys(properties);
    const cols = ["id", "vector", ...keys].map(ident).join(", ");
    const params = [id, vectorText(vector), ...keys.map((k) => properties[k])];
    const set = ["vector", ...keys].map((k) => `${ident(k)} = EXCLUDED.${ident(k)}`).join(", ");
    await (
      await this.db()
    ).query(
      `INSERT INTO ${this.table(className)} (${cols}) VALUES (${params.map((_, i) => `$${i + 1}`).join(", ")}) ON CONFLICT (id) DO UPDATE SET ${set}`,
      params,
    );
  }
  async query(className: string, vector: readonly number[], k: number): Promise<VectorHit[]> {
    const actual = (await this.readClasses([className])).get(className);
    if (!actual) throw new Error(`class ${className} does not exist`);
    const op = OPS[actual.distance].operator;
    const r = await (
      await this.db()
    ).query<Record<string, unknown>>(
      `SELECT *, vector ${op} $1::vector AS kubedos_score FROM ${this.table(className)} ORDER BY vector ${op} $1::vector, id LIMIT $2`,
      [vectorText(vector), k],
    );
    return r.rows.map((row) => {
      const properties = Object.fromEntries(Object.entries(row).filter(([k]) => k !== "id" && k !== "vector" && k !== "kubedos_score"));
      return { id: String(row.id), score: Number(row.kubedos_score), properties };
    });
  }
  async close(): Promise<void> {
    const c = this.client;
    this.client = undefined;
    if (c) await c.end().catch(() => undefined);
  }
}
