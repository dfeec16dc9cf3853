/**
 * `kubedos verify DIR`: recompute every hash, check both signatures, and name the first file that
 * does not match — changed, missing, added, or a secret file readable by others. Which file is
 * "first" is decided so that a single change is blamed on the file that changed:
 *
 *   1. signatures/ holds exactly manifests.sig, artifacts.sig, signing-key.pub; --key must match.
 *   2. Both signatures checked. Both bad → the public key changed. One bad → SHA256SUMS (or the
 *      manifest) vouches for the other file, which tells the changed signed file from a changed
 *      signature.
 *   3. Every SHA256SUMS line: the file exists and hashes the same; the manifest lists the same
 *      files with the same hashes; secret files are not more open than recorded.
 *   4. Any file not listed is an addition.
 *   5. The SBOM documents are valid CycloneDX 1.6.
 */
import { createHash, type KeyObject } from "node:crypto";
import { existsSync, lstatSync, readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { keyFingerprint, parsePublicKey, verifyBytes } from "./signing";
import { validateSbom } from "./sbom";

export interface VerifyResult {
  ok: boolean;
  /** The first file that does not match (relative to DIR), and why. */
  file?: string;
  reason?: string;
  /** Figures for the summary. */
  files: number;
  bytes: number;
  keyFingerprint?: string;
  /** True when the key came from --key, false when the bundle's own key was trusted. */
  keyPinned: boolean;
}

const MANIFEST = "manifests/artifact-manifest.json";
const SUMS = "manifests/SHA256SUMS";
const SIG_MANIFEST = "signatures/manifests.sig";
const SIG_ARTIFACTS = "signatures/artifacts.sig";
const PUBKEY = "signatures/signing-key.pub";
const SIGNATURE_FILES = [SIG_ARTIFACTS, SIG_MANIFEST, PUBKEY];

const sha256 = (b: Buffer | string) => createHash("sha256").update(b).digest("hex");

/** Every regular file under dir (relative, `/`-separated, sorted); symlinks and others are reported. */
function walk(dir: string): { files: string[]; odd: string[] } {
  const files: string[] = [];
  const odd: string[] = [];
  const go = (rel: string) => {
    for (const e of readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      if (e.isDirectory()) go(r);
      else if (e.isFile()) files.push(r);
      else odd.push(r);
    }
  };
  go("");
  return { files: files.sort(), odd: odd.sort() };
}

export async function verifyBundle(dir: string, opts: { key?: KeyObject } = {}): Promise<VerifyResult> {
  const base = { files: 0, bytes: 0, keyPinned: opts.key !== undefined };
  const bad = (file: string, reason: string, extra: Partial<VerifyResult> = {}): VerifyResult => ({
    ...base,
    ...extra,
    ok: false,
    file,
    reason,
  });
  if (!existsSync(dir) || !lstatSync(dir).isDirectory()) return bad(".", "not a directory");
  const read = (rel: string): Buffer | undefined => (existsSync(path.join(dir, rel)) ? readFileSync(path.join(dir, rel)) : undefined);

  // 1. The signature files and the key.
  const { files: all, odd } = walk(dir);
  if (odd.length) return bad(odd[0], "not a regular file (a bundle holds only regular files)");
  for (const f of [MANIFEST, SUMS, ...SIGNATURE_FILES]) if (!read(f)) return bad(f, "missing");
  const extraSig = all.find((f) => f.startsWith("signatures/") && !SIGNATURE_FILES.includes(f));
  if (extraSig) return bad(extraSig, "added: not a file the bundle was sealed with");
  const bundled = parsePublicKey(read(PUBKEY)!.toString("utf8"));
  if (!bundled) return bad(PUBKEY, "not an Ed25519 public key (PEM)");
  if (opts.key && keyFingerprint(opts.key) !== keyFingerprint(bundled)) {
    return bad(PUBKEY, `is ${keyFingerprint(bundled)}, not the key given with --key (${keyFingerprint(opts.key)})`);
  }
  const key = opts.key ?? bundled;
  const withKey = { keyFingerprint: keyFingerprint(key) };

  // 2. Signatures, blaming the file that changed.
  const manifestBytes = read(MANIFEST)!;
  const sumsBytes = read(SUMS)!;
  const manifestOk = verifyBytes(key, manifestBytes, read(SIG_MANIFEST)!);
  const sumsOk = verifyBytes(key, sumsBytes, read(SIG_ARTIFACTS)!);
  const sums = parseSums(sumsBytes.toString("utf8"));
  if (!manifestOk && !sumsOk) {
    return bad(
      opts.key ? SIG_MANIFEST : PUBKEY,
      opts.key
        ? "neither signature verifies with the given key"
        : "neither signature verifies with this key: the key or both signatures were replaced",
      withKey,
    );
  }
  if (!manifestOk) {
    // SHA256SUMS is authentic here and lists the manifest's hash.
    const listed = sums?.get(MANIFEST);
    return listed !== undefined && listed !== sha256(manifestBytes)
      ? bad(MANIFEST, "changed: its hash is not the one the signed SHA256SUMS records", withKey)
      : bad(SIG_MANIFEST, `does not verify ${MANIFEST} (which matches the signed SHA256SUMS): the signature changed`, withKey);
  }
  if (!sumsOk || !sums) {
    // The manifest is authentic here; SHA256SUMS must be exactly its files plus the manifest.
    return sumsText(manifestBytes) !== sumsBytes.toString("utf8")
      ? bad(SUMS, "changed: it is not the list the signed artifact manifest implies", withKey)
      : bad(SIG_ARTIFACTS, `does not verify ${SUMS} (which matches the signed manifest): the signature changed`, withKey);
  }

  // 3. Every listed file.
  const manifest = JSON.parse(manifestBytes.toString("utf8")) as {
    files: Array<{ path: string; sha256: string; mode: string; secret: boolean }>;
  };
  const entries = new Map(manifest.files.map((f) => [f.path, f]));
  let bytes = 0;
  for (const [rel, hash] of sums) {
    const data = read(rel);
    if (!data) return bad(rel, "missing: SHA256SUMS lists it", withKey);
    bytes += data.length;
    if (sha256(data) !== hash)
      return bad(rel, `changed: sha256 ${sha256(data).slice(0, 16)}… is not the sealed ${hash.slice(0, 16)}…`, withKey);
    if (rel === MANIFEST) continue;
    const e = entries.get(rel);
    if (!e || e.sha256 !== hash) return bad(rel, "the artifact manifest does not list it with this hash", withKey);
    const mode = lstatSync(path.join(dir, rel)).mode & 0o777;
    if (e.secret && (mode & 0o077) !== 0)
      return bad(rel, `secret file is mode 0${mode.toString(8)}; sealed as ${e.mode} (chmod 600 it)`, withKey);
  }
  for (const p of entries.keys()) if (!sums.has(p)) return bad(p, "listed in the artifact manifest but not in SHA256SUMS", withKey);

  // 4. Additions.
  const added = all.find((f) => f !== SUMS && !SIGNATURE_FILES.includes(f) && !sums.has(f));
  if (added) return bad(added, "added: not in the sealed bundle", withKey);

  // 5. The SBOM is what it claims to be.
  for (const f of [...sums.keys()].filter((p) => p.startsWith("sbom/") && p.endsWith(".cdx.json"))) {
    const err = await validateSbom(read(f)!.toString("utf8"));
    if (err) return bad(f, `not valid CycloneDX 1.6: ${err.slice(0, 300)}`, withKey);
  }
  return { ...base, ...withKey, ok: true, files: sums.size + 1 + SIGNATURE_FILES.length, bytes };
}

/** `<sha256>  <path>` lines → map; undefined when a line is malformed or a path repeats. */
function parseSums(text: string): Map<string, string> | undefined {
  const m = new Map<string, string>();
  for (const line of text.split("\n")) {
    if (line === "") continue;
    const x = /^([0-9a-f]{64}) {2}(\S.*)$/.exec(line);
    if (!x || m.has(x[2])) return undefined;
    m.set(x[2], x[1]);
  }
  return m;
}

/** The SHA256SUMS a manifest implies: its files and the manifest itself, sorted by path. */
function sumsText(manifestBytes: Buffer): string {
  try {
    const m = JSON.parse(manifestBytes.toString("utf8")) as { files: Array<{ path: string; sha256: string }> };
    return [...m.files.map((f) => ({ path: f.path, h: f.sha256 })), { path: MANIFEST, h: sha256(manifestBytes) }]
      .sort((a, b) => (a.path < b.path ? -1 : 1))
      .map((x) => `${x.h}  ${x.path}\n`)
      .join("");
  } catch {
    return "";
  }
}
