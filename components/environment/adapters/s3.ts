/**
 * ObjectStorage on any S3-compatible endpoint (SeaweedFS, MinIO, AWS): path-style requests, the
 * access key from the spec and the secret key from the master seed. A bucket feature the endpoint
 * answers `NotImplemented` for (s3rver implements no versioning, lifecycle or tagging) is reported
 * as unsupported on read and as an UnsupportedError on write: the reconciler skips it with that
 * reason instead of failing or pretending.
 *
 * Lifecycle rules kubedos does not manage may use S3 features the profile does not model
 * (transitions, tag filters): they are written back exactly as they were read.
 */
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteBucketLifecycleCommand,
  DeleteBucketTaggingCommand,
  GetBucketLifecycleConfigurationCommand,
  GetBucketTaggingCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  ListBucketsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutBucketLifecycleConfigurationCommand,
  PutBucketTaggingCommand,
  PutBucketVersioningCommand,
  PutObjectCommand,
  S3Client,
  type LifecycleRule as S3Rule,
} from "@aws-sdk/client-s3";
import { UnsupportedError, type BucketFeature, type BucketState, type ObjectStorage } from "../ports";
import { canonicalJson, type LifecycleRule } from "../profile";

export interface S3Options {
  endpoint: string;
  region: string;
  accessKeyId: string;
  secretAccessKey: string;
}

const errName = (err: unknown): string => (err as { name?: string; Code?: string }).name ?? (err as { Code?: string }).Code ?? "";
const status = (err: unknown): number | undefined => (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
const notImplemented = (err: unknown): boolean => errName(err) === "NotImplemented" || status(err) === 501;

/** The endpoint cannot list object versions: it has no versioning (recorded as unsupported). */
function notVersioned(unsupported: BucketFeature[]): "" {
  unsupported.push("versioning");
  return "";
}

/** An S3 rule as the profile models it. */
export function fromS3Rule(r: S3Rule): LifecycleRule {
  const prefix = r.Filter && "Prefix" in r.Filter ? (r.Filter.Prefix ?? "") : (r.Prefix ?? "");
  return {
    id: r.ID ?? "",
    prefix,
    ...(r.Expiration?.Days !== undefined ? { expirationDays: r.Expiration.Days } : {}),
    ...(r.NoncurrentVersionExpiration?.NoncurrentDays !== undefined
      ? { noncurrentExpirationDays: r.NoncurrentVersionExpiration.NoncurrentDays }
      : {}),
    ...(r.AbortIncompleteMultipartUpload?.DaysAfterInitiation !== undefined
      ? { abortIncompleteUploadDays: r.AbortIncompleteMultipartUpload.DaysAfterInitiation }
      : {}),
  };
}

export function toS3Rule(r: LifecycleRule): S3Rule {
  return {
    ID: r.id,
    Status: "Enabled",
    Filter: { Prefix: r.prefix },
    ...(r.expirationDays !== undefined ? { Expiration: { Days: r.expirationDays } } : {}),
    ...(r.noncurrentExpirationDays !== undefined ? { NoncurrentVersionExpiration: { NoncurrentDays: r.noncurrentExpirationDays } } : {}),
    ...(r.abortIncompleteUploadDays !== undefined
      ? { AbortIncompleteMultipartUpload: { DaysAfterInitiation: r.abortIncompleteUploadDays } }
      : {}),
  };
}

export class S3Storage implements ObjectStorage {
  private readonly client: S3Client;
  /** Rules as the endpoint returned them, per bucket and id: foreign rules go back untouched. */
  private readonly raw = new Map<string, Map<string, S3Rule>>();

  constructor(opts: S3Options) {
    this.client = new S3Client({
      endpoint: opts.endpoint,
      region: opts.region,
      forcePathStyle: true,
      credentials: { accessKeyId: opts.accessKeyId, secretAccessKey: opts.secretAccessKey },
      // Checksums only where S3 requires them: older S3-compatible servers reject the trailers.
      requestChecksumCalculation: "WHEN_REQUIRED",
      responseChecksumValidation: "WHEN_REQUIRED",
      maxAttempts: 2,
    });
  }

  private async feature<T>(
    feature: BucketFeature,
    unsupported: BucketFeature[],
    read: () => Promise<T>,
    absent: (err: unknown) => T | undefined,
    dflt: T,
  ): Promise<T> {
    try {
      return await read();
    } catch (err) {
      if (notImplemented(err)) {
        unsupported.push(feature);
        return dflt;
      }
      const v = absent(err);
      if (v !== undefined) return v;
      throw err;
    }
  }

  async readBuckets(names: readonly string[]): Promise<Map<string, BucketState>> {
    const listed = await this.client.send(new ListBucketsCommand({}));
    const exists = new Set((listed.Buckets ?? []).map((b) => b.Name));
    const out = new Map<string, BucketState>();
    for (const name of names) {
      if (!exists.has(name)) continue;
      const unsupported: BucketFeature[] = [];
      const v = await this.feature(
        "versioning",
        unsupported,
        async () => {
          const status = (await this.client.send(new GetBucketVersioningCommand({ Bucket: name }))).Status;
          // "Never versioned" has no Status, and so has an answer from a server that does not know
          // ?versioning at all (s3rver routes it to ListObjects). Object versions tell them apart.
          if (status === undefined) await this.client.send(new ListObjectVersionsCommand({ Bucket: name, MaxKeys: 1 }));
          return status;
        },
        (err) => (status(err) === 405 || errName(err) === "MethodNotAllowed" ? notVersioned(unsupported) : undefined),
        undefined,
      );
      const rules = await this.feature(
        "lifecycle",
        unsupported,
        async () => (await this.client.send(new GetBucketLifecycleConfigurationCommand({ Bucket: name }))).Rules ?? [],
        (err) => (errName(err) === "NoSuchLifecycleConfiguration" ? [] : undefined),
        [] as S3Rule[],
      );
      const tags = await this.feature(
        "tagging",
        unsupported,
        async () => (await this.client.send(new GetBucketTaggingCommand({ Bucket: name }))).TagSet ?? [],
        (err) => (errName(err) === "NoSuchTagSet" || errName(err) === "NoSuchTagSetError" ? [] : undefined),
        [] as Array<{ Key?: string; Value?: string }>,
      );
      const objects = await this.client.send(new ListObjectsV2Command({ Bucket: name, MaxKeys: 1 }));
      this.raw.set(name, new Map(rules.map((r) => [r.ID ?? "", r])));
      out.set(name, {
        name,
        versioning: v === "Enabled" ? "enabled" : v === "Suspended" ? "suspended" : "off",
        lifecycle: rules.map(fromS3Rule),
        tags: Object.fromEntries(tags.map((t) => [t.Key ?? "", t.Value ?? ""])),
        empty: (objects.KeyCount ?? objects.Contents?.length ?? 0) === 0,
        unsupported,
      });
    }
    return out;
  }

  private async write(feature: BucketFeature | undefined, send: () => Promise<unknown>): Promise<void> {
    try {
      await send();
    } catch (err) {
      if (feature && notImplemented(err)) throw new UnsupportedError(feature, `NotImplemented: ${(err as Error).message}`);
      // A server that does not route ?versioning takes PutBucketVersioning for CreateBucket.
      if (feature === "versioning" && errName(err) === "BucketAlreadyExists")
        throw new UnsupportedError(
          feature,
          `the endpoint answered BucketAlreadyExists to PutBucketVersioning: it does not route ?versioning`,
        );
      throw err;
    }
  }

  async createBucket(name: string): Promise<void> {
    await this.write(undefined, () => this.client.send(new CreateBucketCommand({ Bucket: name })));
  }
  async putVersioning(name: string, enabled: boolean): Promise<void> {
    await this.write("versioning", () =>
      this.client.send(
        new PutBucketVersioningCommand({ Bucket: name, VersioningConfiguration: { Status: enabled ? "Enabled" : "Suspended" } }),
      ),
    );
  }
  async putLifecycle(name: string, rules: readonly LifecycleRule[]): Promise<void> {
    const raw = this.raw.get(name) ?? new Map<string, S3Rule>();
    // A rule unchanged since the read goes back exactly as the endpoint returned it.
    const s3Rules = rules.map((r) => {
      const was = raw.get(r.id);
      return was && canonicalJson(fromS3Rule(was)) === canonicalJson(r) ? was : toS3Rule(r);
    });
    await this.write("lifecycle", () =>
      s3Rules.length === 0
        ? this.client.send(new DeleteBucketLifecycleCommand({ Bucket: name }))
        : this.client.send(new PutBucketLifecycleConfigurationCommand({ Bucket: name, LifecycleConfiguration: { Rules: s3Rules } })),
    );
  }
  async putTags(name: string, tags: Readonly<Record<string, string>>): Promise<void> {
    const set = Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
    await this.write("tagging", () =>
      set.length === 0
        ? this.client.send(new DeleteBucketTaggingCommand({ Bucket: name }))
        : this.client.send(new PutBucketTaggingCommand({ Bucket: name, Tagging: { TagSet: set } })),
    );
  }
  async deleteBucket(name: string): Promise<void> {
    await this.write(undefined, () => this.client.send(new DeleteBucketCommand({ Bucket: name })));
  }
  async putObject(bucket: string, key: string, body: Buffer): Promise<void> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
  }
  async getObject(bucket: string, key: string): Promise<Buffer | undefined> {
    try {
      const r = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return Buffer.from(await r.Body!.transformToByteArray());
    } catch (err) {
      if (errName(err) === "NoSuchKey" || status(err) === 404) return undefined;
      throw err;
    }
  }
  async close(): Promise<void> {
    this.client.destroy();
  }
}
