/**
 * ObjectStorage on a local directory (the default adapter, seed 004 §4): a bucket is a directory
 * under `root`, its settings (versioning, lifecycle rules, tags) a `<bucket>.bucket.json` beside it.
 * The settings are recorded faithfully so the same reconciler runs here as on S3; nothing local
 * enforces lifecycle rules or keeps object versions.
 */
import { mkdirSync, readdirSync, readFileSync, rmdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { BucketState, ObjectStorage } from "../ports";
import type { LifecycleRule } from "../profile";
import { readState, writeState } from "./state-file";

interface BucketMeta {
  versioning: BucketState["versioning"];
  lifecycle: LifecycleRule[];
  tags: Record<string, string>;
}

const NO_META: BucketMeta = { versioning: "off", lifecycle: [], tags: {} };

export class FilesystemStorage implements ObjectStorage {
  constructor(readonly root: string) {}

  private dir(bucket: string): string {
    return path.join(this.root, bucket);
  }
  private metaFile(bucket: string): string {
    return path.join(this.root, `${bucket}.bucket.json`);
  }
  private exists(bucket: string): boolean {
    try {
      return statSync(this.dir(bucket)).isDirectory();
    } catch {
      return false;
    }
  }
  private meta(bucket: string): BucketMeta {
    return { ...NO_META, ...readState<Partial<BucketMeta>>(this.metaFile(bucket), {}) };
  }
  private update(bucket: string, change: Partial<BucketMeta>): void {
    if (!this.exists(bucket)) throw new Error(`NoSuchBucket: bucket ${bucket} does not exist under ${this.root}`);
    writeState(this.metaFile(bucket), { ...this.meta(bucket), ...change });
  }
  private objectPath(bucket: string, key: string): string {
    const p = path.resolve(this.dir(bucket), key);
    if (!p.startsWith(path.resolve(this.dir(bucket)) + path.sep)) throw new Error(`InvalidKey: ${JSON.stringify(key)} leaves the bucket`);
    return p;
  }

  async readBuckets(names: readonly string[]): Promise<Map<string, BucketState>> {
    const out = new Map<string, BucketState>();
    for (const name of names) {
      if (!this.exists(name)) continue;
      const m = this.meta(name);
      out.set(name, { name, ...m, empty: readdirSync(this.dir(name)).length === 0, unsupported: [] });
    }
    return out;
  }
  async createBucket(name: string): Promise<void> {
    mkdirSync(this.dir(name), { recursive: true });
  }
  async putVersioning(name: string, enabled: boolean): Promise<void> {
    this.update(name, { versioning: enabled ? "enabled" : "suspended" });
  }
  async putLifecycle(name: string, rules: readonly LifecycleRule[]): Promise<void> {
    this.update(name, { lifecycle: [...rules] });
  }
  async putTags(name: string, tags: Readonly<Record<string, string>>): Promise<void> {
    this.update(name, { tags: { ...tags } });
  }
  async deleteBucket(name: string): Promise<void> {
    rmdirSync(this.dir(name)); // fails unless empty, like S3
    rmSync(this.metaFile(name), { force: true });
  }
  async putObject(bucket: string, key: string, body: Buffer): Promise<void> {
    const p = this.objectPath(bucket, key);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, body);
  }
  async getObject(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      return readFileSync(this.objectPath(bucket, key));
    } catch {
      return undefined;
    }
  }
  async close(): Promise<void> {}
}
