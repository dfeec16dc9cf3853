/**
 * The storage reconciler (seed 004 §3 A) against its two adapters: the filesystem (the default)
 * and a real S3 server (s3rver, started here). Every case of issue 9 on each: create, re-run with
 * no change (no mutation, asserted on the server: s3rver's own request log, the directory's
 * inodes and mtimes), additions, a change the backend cannot make (skipped, with its reason, in
 * the event and the log), removal (kept by default, deleted with prune.storage).
 *
 * s3rver implements no bucket versioning, lifecycle configuration or bucket tagging (it answers
 * NotImplemented, and routes ?versioning to ListObjects/CreateBucket); here that is the change the
 * backend cannot make. Those three features are reconciled for real by the filesystem adapter
 * with the same diff and driver, and their S3 wire format is pinned in adapters.test.ts.
 */
import { strict as assert } from "node:assert";
import { mkdirSync, readFileSync, rmSync, writeFileSync, existsSync } from "node:fs";
import * as path from "node:path";
import { CreateBucketCommand, ListBucketsCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { FilesystemStorage } from "../../components/environment/adapters/filesystem";
import { S3Storage } from "../../components/environment/adapters/s3";
import type { DesiredBucket, DesiredStorage } from "../../components/environment/profile";
import { assertIdempotent, fileSnapshot, objects, Runner } from "./helpers";
import { startS3rver, tmpDir, S3RVER_KEY, type S3Server } from "./servers";

const artifacts = (over: Partial<DesiredBucket> = {}): DesiredBucket => ({
  name: "artifacts",
  versioning: true,
  lifecycle: [{ id: "expire-tmp", prefix: "tmp/", expirationDays: 7 }],
  tags: { owner: "platform" },
  ...over,
});
const scratch: DesiredBucket = { name: "scratch", versioning: false, lifecycle: [], tags: {} };
const V1: DesiredStorage = { buckets: [artifacts(), scratch] };
const ARTIFACTS_V2 = artifacts({
  lifecycle: [
    { id: "abort-uploads", prefix: "", abortIncompleteUploadDays: 2 },
    { id: "expire-tmp", prefix: "tmp/", expirationDays: 14 },
  ],
  tags: { env: "dev", owner: "platform" },
});
const logs: DesiredBucket = { name: "logs", versioning: false, lifecycle: [], tags: {} };
const V2: DesiredStorage = { buckets: [ARTIFACTS_V2, logs, scratch] };

describe("environment storage reconciler", () => {
  describe("filesystem adapter (default)", () => {
    let root: string;
    let run: Runner<"storage">;
    before(() => {
      root = path.join(tmpDir("fs"), "object-storage");
      run = new Runner("storage", { kind: "filesystem", root }, async () => new FilesystemStorage(root));
    });
    after(() => rmSync(path.dirname(root), { recursive: true, force: true }));
    const meta = (b: string) => JSON.parse(readFileSync(path.join(root, `${b}.bucket.json`), "utf8"));

    it("creates buckets with versioning, lifecycle rules and managed tags", async () => {
      const e = await run.apply(V1);
      assert.equal(e.status, "applied");
      assert.deepEqual(objects(e.actions), [
        "bucket/artifacts",
        "bucket/artifacts/lifecycle/expire-tmp",
        "bucket/artifacts/tag/owner",
        "bucket/artifacts/versioning",
        "bucket/scratch",
      ]);
      assert.deepEqual(meta("artifacts"), { versioning: "enabled", lifecycle: [V1.buckets[0].lifecycle[0]], tags: { owner: "platform" } });
      assert.ok(existsSync(path.join(root, "scratch")));
      assert.equal(e.generation, 1);
      assert.equal(e.idempotencyKey.length, 64);
    });

    it("re-runs an unchanged profile without writing anything (inodes and mtimes unchanged)", async () => {
      // Someone else's tag on a bucket kubedos manages: not managed, so never touched.
      const m = meta("artifacts");
      writeFileSync(path.join(root, "artifacts.bucket.json"), JSON.stringify({ ...m, tags: { ...m.tags, team: "data" } }));
      const before = fileSnapshot(root);
      const e = await run.apply(V1);
      assertIdempotent(e);
      assert.equal(e.status, "in-sync");
      assert.equal(e.attempt, 2, "the same generation and hash: the same idempotency key, counted as a second attempt");
      assert.deepEqual(fileSnapshot(root), before);
    });

    it("adds a lifecycle rule, a tag and a bucket, and updates a rule in place by id", async () => {
      const e = await run.apply(V2);
      assert.equal(e.status, "applied");
      assert.deepEqual(e.actions.map((a) => `${a.kind} ${a.object}`).sort(), [
        "create bucket/artifacts/lifecycle/abort-uploads",
        "create bucket/artifacts/tag/env",
        "create bucket/logs",
        "update bucket/artifacts/lifecycle/expire-tmp",
      ]);
      assert.deepEqual(meta("artifacts").tags, { owner: "platform", team: "data", env: "dev" }, "the foreign tag survives the merge");
      assert.equal(meta("artifacts").lifecycle.find((r: { id: string }) => r.id === "expire-tmp").expirationDays, 14);
      assert.equal(e.generation, 2);
    });

    it("suspends versioning when the spec turns it off (S3 cannot un-version a bucket), logging why", async () => {
      const e = await run.apply({ buckets: [{ ...ARTIFACTS_V2, versioning: false }, logs, scratch] });
      assert.deepEqual(objects(e.actions), ["bucket/artifacts/versioning"]);
      assert.match(e.actions[0].detail, /enabled → suspended \(S3 cannot un-version a bucket\)/);
      assert.equal(meta("artifacts").versioning, "suspended");
      assert.ok(run.lines.some((l) => l.includes("action=update object=bucket/artifacts/versioning")));
    });

    it("keeps what the spec no longer lists without prune, and deletes only that with prune.storage", async () => {
      writeFileSync(path.join(root, "logs", "keep-me"), "data"); // a non-empty bucket is never deleted
      mkdirSync(path.join(root, "foreign")); // a bucket kubedos never managed
      const removed: DesiredStorage = { buckets: [artifacts({ versioning: false, lifecycle: [], tags: {} })] };
      const kept = await run.apply(removed);
      assert.deepEqual(kept.actions, []);
      assert.deepEqual(objects(kept.retained), [
        "bucket/artifacts/lifecycle/abort-uploads",
        "bucket/artifacts/lifecycle/expire-tmp",
        "bucket/artifacts/tag/env",
        "bucket/artifacts/tag/owner",
        "bucket/logs",
        "bucket/scratch",
      ]);
      assert.ok(existsSync(path.join(root, "scratch")) && meta("artifacts").lifecycle.length === 2);

      const pruned = await run.apply(removed, true);
      assert.deepEqual(pruned.actions.map((a) => `${a.kind} ${a.object}`).sort(), [
        "delete bucket/artifacts/lifecycle/abort-uploads",
        "delete bucket/artifacts/lifecycle/expire-tmp",
        "delete bucket/artifacts/tag/env",
        "delete bucket/artifacts/tag/owner",
        "delete bucket/scratch",
      ]);
      assert.deepEqual(objects(pruned.skipped), ["bucket/logs"]);
      assert.match(pruned.skipped[0].detail, /not empty/);
      assert.equal(existsSync(path.join(root, "scratch")), false);
      assert.deepEqual(meta("artifacts").tags, { team: "data" }, "prune removes managed tags only");
      assert.deepEqual(meta("artifacts").lifecycle, []);
      assert.ok(existsSync(path.join(root, "foreign")) && existsSync(path.join(root, "logs", "keep-me")));
    });
  });

  describe("S3 adapter against s3rver", () => {
    let s3: S3Server;
    let run: Runner<"storage">;
    let client: S3Client;
    const buckets = async () => ((await client.send(new ListBucketsCommand({}))).Buckets ?? []).map((b) => b.Name).sort();
    before(async () => {
      s3 = await startS3rver();
      const adapter = { kind: "s3" as const, endpoint: s3.endpoint, region: "us-east-1", accessKeyId: S3RVER_KEY.accessKeyId };
      run = new Runner("storage", adapter, async () => new S3Storage({ ...adapter, secretAccessKey: S3RVER_KEY.secretAccessKey }));
      client = new S3Client({ endpoint: s3.endpoint, region: "us-east-1", forcePathStyle: true, credentials: S3RVER_KEY });
      await client.send(new CreateBucketCommand({ Bucket: "foreign" })); // never managed by kubedos
    });
    after(async () => {
      client?.destroy();
      await s3?.stop();
    });

    it("creates the buckets, and skips versioning, lifecycle and tagging with the endpoint's answer", async () => {
      const e = await run.apply(V1);
      assert.equal(e.status, "partial");
      assert.deepEqual(objects(e.actions), ["bucket/artifacts", "bucket/scratch"]);
      assert.deepEqual(objects(e.skipped), [
        "bucket/artifacts/lifecycle/expire-tmp",
        "bucket/artifacts/tag/owner",
        "bucket/artifacts/versioning",
      ]);
      for (const s of e.skipped)
        assert.match(s.detail, /the endpoint does not implement (bucket versioning|lifecycle configuration|bucket tagging)/);
      assert.ok(run.lines.some((l) => l.includes("action=skip object=bucket/artifacts/versioning")));
      assert.deepEqual(await buckets(), ["artifacts", "foreign", "scratch"]);
    });

    it("re-runs an unchanged profile with only GET requests in the server's log", async () => {
      const from = s3.requests.length;
      const e = await run.apply(V1);
      assertIdempotent(e);
      const seen = s3.requests.slice(from);
      assert.ok(seen.length > 0);
      assert.deepEqual(
        seen.filter((r) => !/^(GET|HEAD) /.test(r)),
        [],
        `mutating requests on a re-run: ${seen.join(", ")}`,
      );
      // Unsupported features are known from the read, so nothing is even attempted.
      assert.equal(e.status, "partial");
      assert.match(e.skipped.map((s) => s.detail).join(";"), /NotImplemented/);
    });

    it("adds a bucket", async () => {
      const from = s3.requests.length;
      const e = await run.apply({ buckets: [...V1.buckets, { name: "logs", versioning: false, lifecycle: [], tags: {} }] });
      assert.deepEqual(objects(e.actions), ["bucket/logs"]);
      assert.deepEqual(
        s3.requests.slice(from).filter((r) => !/^(GET|HEAD) /.test(r)),
        ["PUT /logs/"],
      );
      assert.deepEqual(await buckets(), ["artifacts", "foreign", "logs", "scratch"]);
    });

    it("keeps removed buckets without prune; with prune.storage deletes the empty ones kubedos created, nothing else", async () => {
      await client.send(new PutObjectCommand({ Bucket: "logs", Key: "keep-me", Body: "data" }));
      const removed: DesiredStorage = { buckets: [artifacts()] };
      const kept = await run.apply(removed);
      assert.deepEqual(kept.actions, []);
      assert.deepEqual(objects(kept.retained), ["bucket/logs", "bucket/scratch"]);
      assert.deepEqual(await buckets(), ["artifacts", "foreign", "logs", "scratch"]);

      const from = s3.requests.length;
      const pruned = await run.apply(removed, true);
      assert.deepEqual(objects(pruned.actions), ["bucket/scratch"]);
      assert.equal(pruned.actions[0].kind, "delete");
      assert.deepEqual(
        s3.requests.slice(from).filter((r) => !/^(GET|HEAD) /.test(r)),
        ["DELETE /scratch/"],
      );
      assert.ok(pruned.skipped.some((s) => s.object === "bucket/logs" && /not empty/.test(s.detail)));
      assert.deepEqual(await buckets(), ["artifacts", "foreign", "logs"]);
    });
  });
});
