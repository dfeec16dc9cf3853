/**
 * WireGuard keys from the master seed (DESIGN.md §7): HKDF-SHA256 → X25519, one key per node,
 * plane and rotation epoch. A rebuild with the same seed and epoch yields the same keys; nothing
 * is stored, and no private key is ever printed.
 */
import { createHash, createPrivateKey, createPublicKey } from "node:crypto";
import { deriveBytes } from "../secrets/derive";

// PKCS#8 prefix of an X25519 private key (RFC 8410); the 32 key bytes follow.
const X25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b656e04220420", "hex");

export interface WgKeyPair {
  /** base64, as wg(8) prints it — secret. */
  privateKey: string;
  /** base64 */
  publicKey: string;
}

/** An X25519 key pair from 32 bytes, clamped as WireGuard (and RFC 7748) expects. */
export function x25519FromBytes(raw: Buffer): WgKeyPair {
  if (raw.length !== 32) throw new Error("an X25519 key is 32 bytes");
  const k = Buffer.from(raw);
  k[0] &= 248;
  k[31] &= 127;
  k[31] |= 64;
  const priv = createPrivateKey({ key: Buffer.concat([X25519_PKCS8_PREFIX, k]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(priv).export({ format: "der", type: "spki" });
  return { privateKey: k.toString("base64"), publicKey: spki.subarray(spki.length - 32).toString("base64") };
}

/**
 * Derivations are repeated for every peer list of a plane; keep each result for the life of the
 * process (keys live in memory anyway while configs are rendered; nothing is written anywhere).
 */
const cache = new Map<string, WgKeyPair>();
const CACHE_LIMIT = 20_000;

/** The key of `node` on `plane` in rotation epoch `epoch`. */
export function nodePlaneKey(masterSeed: string, cluster: string, plane: string, node: string, epoch: number): WgKeyPair {
  // Keyed by a hash of the seed, so the cache never holds the seed itself.
  const id = `${createHash("sha256").update(masterSeed).digest("base64")}\u0000${cluster}\u0000${plane}\u0000${node}\u0000${epoch}`;
  let k = cache.get(id);
  if (!k) {
    if (cache.size >= CACHE_LIMIT) cache.clear();
    k = x25519FromBytes(deriveBytes(masterSeed, { cluster, component: `plane/${plane}/node/${node}`, purpose: "wireguard", epoch }));
    cache.set(id, k);
  }
  return k;
}

/** The operator peer's key on the control plane. */
export function operatorKey(masterSeed: string, cluster: string, plane: string, epoch: number): WgKeyPair {
  return x25519FromBytes(deriveBytes(masterSeed, { cluster, component: `plane/${plane}/operator`, purpose: "wireguard", epoch }));
}

/**
 * The rotation epoch at `now`: whole `wireguardDays` periods since the Unix epoch. A stack can
 * pin it (`kubedos:wireguardEpoch`) so a rebuild reproduces the keys of a given period.
 */
export function rotationEpoch(wireguardDays: number, now: Date): number {
  const days = Math.floor(now.getTime() / 86_400_000);
  return Math.floor(days / wireguardDays);
}
