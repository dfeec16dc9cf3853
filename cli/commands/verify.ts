/**
 * `kubedos verify DIR [--key PUBKEY.pem] [--json]` — check a bundle written by `kubedos render`:
 * every hash, both signatures, nothing missing or added (components/anchors/verify.ts).
 * Without --key the bundle's own signatures/signing-key.pub is trusted and its fingerprint printed:
 * pin the key you hold (the stack export `anchors.signingKey`, or the seed's) with --key.
 * Exit 0 intact · 1 a file does not match (named) · 2 usage.
 */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { parsePublicKey } from "../../components/anchors/signing";
import { verifyBundle } from "../../components/anchors/verify";
import { displayPath, UsageError } from "../io";

export interface VerifyArgs {
  dir: string;
  key?: string;
  json?: boolean;
}

export async function verifyCommand(args: VerifyArgs): Promise<number> {
  let key;
  if (args.key) {
    let pem: string;
    try {
      pem = readFileSync(args.key, "utf8");
    } catch (err) {
      throw new UsageError(`--key ${args.key}: cannot read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    key = parsePublicKey(pem);
    if (!key) throw new UsageError(`--key ${args.key}: not an Ed25519 public key in PEM (the bundle's signatures/signing-key.pub is one)`);
  }
  const dir = path.resolve(args.dir);
  const r = await verifyBundle(dir, key ? { key } : {});
  if (args.json) {
    process.stdout.write(JSON.stringify({ dir: displayPath(dir), ...r }, null, 2) + "\n");
    return r.ok ? 0 : 1;
  }
  if (!r.ok) {
    process.stdout.write(`FAIL ${r.file}: ${r.reason}\n`);
    return 1;
  }
  process.stdout.write(
    `OK ${displayPath(dir)}: ${r.files} files (${r.bytes} bytes) match manifests/SHA256SUMS and the artifact manifest; both signatures verify with ${r.keyFingerprint}` +
      (r.keyPinned ? " (the key given with --key)\n" : " (the bundle's own key — pin it with --key)\n"),
  );
  return 0;
}
