/**
 * VectorIndex in memory (the default adapter, seed 004 §4): classes with typed properties and
 * brute-force nearest-neighbour search. The schema is kept in a state file, so the next run finds
 * the classes the last one created; objects live only as long as the process.
 */
import type { ActualClass, VectorHit, VectorIndex } from "../ports";
import type { Distance, VectorClass, VectorProperty } from "../profile";
import { readState, writeState } from "./state-file";

interface Schema {
  classes: VectorClass[];
}

export function distance(kind: Distance, a: readonly number[], b: readonly number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  let l2 = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i] * b[i];
    na += a[i] * a[i];
    nb += b[i] * b[i];
    l2 += (a[i] - b[i]) ** 2;
  }
  switch (kind) {
    case "cosine":
      return na === 0 || nb === 0 ? 1 : 1 - dot / Math.sqrt(na * nb);
    case "l2":
      return Math.sqrt(l2);
    case "inner-product":
      return -dot; // pgvector's <#>: the negative inner product, so smaller is nearer
  }
}

export class InMemoryIndex implements VectorIndex {
  private schema: Schema;
  private readonly objects = new Map<string, Map<string, { vector: number[]; properties: Record<string, unknown> }>>();

  constructor(readonly stateFile: string) {
    this.schema = readState<Schema>(stateFile, { classes: [] });
  }

  private save(): void {
    writeState(this.stateFile, this.schema);
  }
  private cls(name: string): VectorClass {
    const c = this.schema.classes.find((x) => x.name === name);
    if (!c) throw new Error(`class ${name} does not exist`);
    return c;
  }

  async readClasses(names: readonly string[]): Promise<Map<string, ActualClass>> {
    return new Map(
      this.schema.classes
        .filter((c) => names.includes(c.name))
        .map((c) => [
          c.name,
          { name: c.name, dimensions: c.dimensions, distance: c.distance, properties: c.properties.map((p) => ({ ...p })) },
        ]),
    );
  }
  async createClass(c: VectorClass): Promise<void> {
    if (this.schema.classes.some((x) => x.name === c.name)) throw new Error(`class ${c.name} already exists`);
    this.schema.classes.push(JSON.parse(JSON.stringify(c)) as VectorClass);
    this.save();
  }
  async addProperty(className: string, p: VectorProperty): Promise<void> {
    const c = this.cls(className);
    if (c.properties.some((x) => x.name === p.name)) throw new Error(`property ${className}.${p.name} already exists`);
    c.properties.push({ ...p });
    this.save();
  }
  async dropProperty(className: string, property: string): Promise<void> {
    const c = this.cls(className);
    c.properties = c.properties.filter((x) => x.name !== property);
    for (const o of this.objects.get(className)?.values() ?? []) delete o.properties[property];
    this.save();
  }
  async dropClass(name: string): Promise<void> {
    this.schema.classes = this.schema.classes.filter((c) => c.name !== name);
    this.objects.delete(name);
    this.save();
  }
  async upsert(className: string, id: string, vector: readonly number[], properties: Record<string, unknown>): Promise<void> {
    const c = this.cls(className);
    if (vector.length !== c.dimensions)
      throw new Error(`class ${className} takes ${c.dimensions}-dimensional vectors, got ${vector.length}`);
    const unknown = Object.keys(properties).filter((k) => !c.properties.some((p) => p.name === k));
    if (unknown.length) throw new Error(`class ${className} has no property ${unknown.join(", ")}`);
    const objs = this.objects.get(className) ?? new Map();
    objs.set(id, { vector: [...vector], properties: { ...properties } });
    this.objects.set(className, objs);
  }
  async query(className: string, vector: readonly number[], k: number): Promise<VectorHit[]> {
    const c = this.cls(className);
    return [...(this.objects.get(className)?.entries() ?? [])]
      .map(([id, o]) => ({ id, score: distance(c.distance, vector, o.vector), properties: { ...o.properties } }))
      .sort((a, b) => a.score - b.score || (a.id < b.id ? -1 : 1))
      .slice(0, k);
  }
  async close(): Promise<void> {}
}
