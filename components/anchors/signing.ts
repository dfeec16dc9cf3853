/**
 * The bundle's signing key (seed 001 §6.4, §8.4): Ed25519, derived from the master seed — so a
 * rebuild from the same seed signs with the same key and the public key is known in advance —
 * or supplied as a PKCS#8 PEM file (an organisation's release key). Signatures are raw 64-byte
 * Ed25519 (RFC 8032) over the exact bytes of a file, so `openssl pkeyutl -verify -rawin` checks
 * them with nothing but the public key.
 */
import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from "node:crypto";
import { deriveBytes } from "../secrets/derive";
import { AnchorInputError } from "./time";

// PKCS#8 prefix of an Ed25519 private key: the 32-byte seed follows it (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export interface SigningKey {
  privateKey: KeyObject;
  publicKey: KeyObject;
  /** "seed" (derived) or "supplied" (a PEM file). */
  source: "seed" | "supplied";
}

/** The cluster's bundle-signing key from the master seed (HKDF info names cluster and purpose). */
export function seedSigningKey(masterSeed: string, cluster: string): SigningKey {
  const d = deriveBytes(masterSeed, { cluster, component: "recovery-bundle", purpose: "ed25519-signing" });
  const privateKey = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, d]), format: "der", type: "pkcs8" });
  return { privateKey, publicKey: createPublicKey(privateKey), source: "seed" };
}

/** A supplied Ed25519 private key (PKCS#8 PEM, e.g. `openssl genpkey -algorithm ed25519`). */
export function suppliedSigningKey(pem: string, shownAs: string): SigningKey {
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new AnchorInputError(`${shownAs}: not a PEM private key (make one with: openssl genpkey -algorithm ed25519 -out ${shownAs})`);
  }
  if (privateKey.asymmetricKeyType !== "ed25519") {
    throw new AnchorInputError(
      `${shownAs}: a ${privateKey.asymmetricKeyType} key; bundles are signed with Ed25519 (openssl genpkey -algorithm ed25519)`,
    );
  }
  return { privateKey, publicKey: createPublicKey(privateKey), source: "supplied" };
}

export function signBytes(key: SigningKey, data: Buffer | string): Buffer {
  return sign(null, Buffer.from(data), key.privateKey);
}

export function verifyBytes(publicKey: KeyObject, data: Buffer | string, signature: Buffer): boolean {
  if (signature.length !== 64) return false;
  try {
    return verify(null, Buffer.from(data), publicKey, signature);
  } catch {
    return false;
  }
}

export function publicKeyPem(publicKey: KeyObject): string {
  return publicKey.export({ format: "pem", type: "spki" }).toString();
}

/** `sha256:<hex>` of the DER SubjectPublicKeyInfo — the key id the manifest and `verify` print. */
export function keyFingerprint(publicKey: KeyObject): string {
  return `sha256:${createHash("sha256")
    .update(publicKey.export({ format: "der", type: "spki" }))
    .digest("hex")}`;
}

/** A public key from PEM; undefined when the text is not an Ed25519 public key. */
export function parsePublicKey(pem: string): KeyObject | undefined {
  try {
    const k = createPublicKey(pem);
    return k.asymmetricKeyType === "ed25519" ? k : undefined;
  } catch {
    return undefined;
  }
}
