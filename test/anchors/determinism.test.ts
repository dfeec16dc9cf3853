/**
 * Determinism (issue 8 item 3): the same spec, seed, locks and commit render a byte-identical bundle,
 * apart from the time fields components/anchors/time.ts names (TIME_FIELDS) and the files that only
 * restate their hashes (TIME_DERIVED_FILES). SOURCE_DATE_EPOCH pins those too.
 */
import * as assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { TIME_DERIVED_FILES, TIME_FIELDS } from "../../components/anchors/time";
import { kubedos } from "../support/cli";
import { RENDER_ENV, walk } from "./helpers";

type Json = Record<string, unknown>;

function tree(dir: string): Map<string, { mode: number; bytes: Buffer }> {
  return new Map(walk(dir).map((f) => [f, { mode: statSync(path.join(dir, f)).mode & 0o7777, bytes: readFileSync(path.join(dir, f)) }]));
}

/** Remove one JSON pointer (`/a/b/c`) from a document. */
function drop(doc: Json, pointer: string): void {
  const keys = pointer.split("/").slice(1);
  let at: Json = doc;
  for (const k of keys.slice(0, -1)) at = at[k] as Json;
  assert.ok(keys[keys.length - 1] in at, `${pointer} is not in the document`);
  delete at[keys[keys.length - 1]];
}

/** A file with its documented time fields removed (and, for the manifest, the hashes of time-bearing files). */
function normalized(file: string, bytes: Buffer): string {
  if (file === "manifests/SHA256SUMS") {
    return bytes
      .toString()
      .split("\n")
      .filter((l) => !Object.keys(TIME_FIELDS).some((t) => l.endsWith(`  ${t}`)) && !l.endsWith("  manifests/artifact-manifest.json"))
      .join("\n");
  }
  const doc = JSON.parse(bytes.toString()) as Json;
  for (const p of TIME_FIELDS[file] ?? []) drop(doc, p);
  if (file === "manifests/artifact-manifest.json") {
    for (const f of doc.files as Array<Json>) {
      if (f.path && (f.path as string) in TIME_FIELDS) {
        delete f.sha256;
        delete f.size;
      }
    }
  }
  return JSON.stringify(doc);
}

describe("anchors: determinism", function () {
  this.timeout(120_000);
  let tmp: string;
  const dirs = { a: "", b: "", later: "", clock: "" };
  let clockStdout = "";

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "kubedos-determinism-"));
    for (const k of Object.keys(dirs) as Array<keyof typeof dirs>) dirs[k] = path.join(tmp, k);
    const later = { ...RENDER_ENV, SOURCE_DATE_EPOCH: String(Number(RENDER_ENV.SOURCE_DATE_EPOCH) + 86_400 * 3 + 17) };
    const clock: Record<string, string | undefined> = { ...RENDER_ENV, SOURCE_DATE_EPOCH: "" };
    const runs = await Promise.all([
      kubedos(["render", "--stack", "dev", "--out", dirs.a], RENDER_ENV),
      kubedos(["render", "--stack", "dev", "--out", dirs.b], RENDER_ENV),
      kubedos(["render", "--stack", "dev", "--out", dirs.later], later),
      kubedos(["render", "--stack", "dev", "--out", dirs.clock], clock as NodeJS.ProcessEnv),
    ]);
    for (const r of runs) assert.equal(r.code, 0, r.stderr);
    clockStdout = runs[3].stdout;
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("renders byte-identical bundles (content and modes) from the same inputs and SOURCE_DATE_EPOCH", () => {
    const a = tree(dirs.a);
    const b = tree(dirs.b);
    assert.deepEqual([...a.keys()], [...b.keys()]);
    assert.ok(a.size > 150);
    for (const [f, x] of a) {
      assert.equal(b.get(f)!.mode, x.mode, `${f}: mode differs`);
      assert.ok(b.get(f)!.bytes.equals(x.bytes), `${f}: bytes differ between two renders of the same inputs`);
    }
  });

  it("differs at another time only in the documented time fields and the files that restate their hashes", () => {
    const a = tree(dirs.a);
    const later = tree(dirs.later);
    assert.deepEqual([...a.keys()], [...later.keys()]);
    const changed = [...a.keys()].filter((f) => !a.get(f)!.bytes.equals(later.get(f)!.bytes)).sort();
    const documented = new Set([...Object.keys(TIME_FIELDS), ...TIME_DERIVED_FILES]);
    for (const f of changed) assert.ok(documented.has(f), `${f} changed with the time but is not documented as time-dependent`);
    // Every documented time field really does change (the list is not padded).
    for (const f of Object.keys(TIME_FIELDS)) assert.ok(changed.includes(f), `${f} is listed in TIME_FIELDS but did not change`);
    for (const f of [...Object.keys(TIME_FIELDS), "manifests/SHA256SUMS"]) {
      assert.equal(normalized(f, later.get(f)!.bytes), normalized(f, a.get(f)!.bytes), `${f} differs beyond its documented time fields`);
    }
    const m = JSON.parse(later.get("manifests/artifact-manifest.json")!.bytes.toString());
    assert.equal(m.createdAt, "2026-09-24T14:13:37.000Z");
    assert.match(m.artifactName, /^kubedos-0\.1\.0-proxmox-20260924-[0-9a-f]{12}$/);
  });

  it("takes the render's own time when SOURCE_DATE_EPOCH is not set, and says so", () => {
    const m = JSON.parse(readFileSync(path.join(dirs.clock, "manifests/artifact-manifest.json"), "utf8"));
    assert.ok(Math.abs(Date.parse(m.createdAt) - Date.now()) < 10 * 60_000, `createdAt ${m.createdAt} is not now`);
    assert.match(clockStdout, /clock now \(set SOURCE_DATE_EPOCH for byte-identical re-renders\)/);
    const a = tree(dirs.a);
    const c = tree(dirs.clock);
    for (const [f, x] of a) {
      if (f in TIME_FIELDS || TIME_DERIVED_FILES.includes(f)) continue;
      assert.ok(c.get(f)!.bytes.equals(x.bytes), `${f} depends on the clock`);
    }
  });

  it("renders the same bundle again into its own directory, and it still verifies", async () => {
    const before = tree(dirs.a);
    const again = await kubedos(["render", "--stack", "dev", "--out", dirs.a], RENDER_ENV);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /not part of this bundle/);
    const after = tree(dirs.a);
    for (const [f, x] of before) assert.ok(after.get(f)!.bytes.equals(x.bytes), `${f} changed on a re-render`);
    const v = await kubedos(["verify", dirs.a]);
    assert.equal(v.code, 0, v.stdout);
  });
});
