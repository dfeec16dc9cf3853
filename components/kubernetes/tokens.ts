/**
 * Kubernetes bootstrap credentials derived from the master seed (components/secrets/derive.ts):
 * the kubeadm bootstrap token, the `--certificate-key` that encrypts the control-plane certs in
 * the kubeadm-certs Secret, and the key that encrypts Secrets at rest. Pure: same seed, cluster
 * and epoch give the same value; nothing here is ever stored.
 */
import { deriveBytes } from "../secrets/derive";

/** Derivation component for everything kubeadm consumes. */
const COMPONENT = "kubeadm";
const ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789";
/** Largest multiple of 36 ≤ 256: bytes at or above it are rejected, so every character is uniform. */
const LIMIT = 256 - (256 % ALPHABET.length); // 252
/** HKDF-SHA256 can expand to at most 255 × 32 bytes. */
const HKDF_MAX = 255 * 32;

/** The kubeadm bootstrap-token format: `[a-z0-9]{6}.[a-z0-9]{16}`. */
export const BOOTSTRAP_TOKEN_RE = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;

/**
 * `count` characters of [a-z0-9], uniform, by rejection sampling over the derived stream. HKDF's
 * output for a longer length extends the shorter one, so growing the stream keeps earlier picks.
 */
export function derivedAlphanumeric(masterSeed: string, cluster: string, purpose: string, epoch: number, count: number): string {
  for (let length = Math.max(64, count * 2); ; length = Math.min(HKDF_MAX, length * 4)) {
    const bytes = deriveBytes(masterSeed, { cluster, component: COMPONENT, purpose, epoch }, length);
    let out = "";
    for (const b of bytes) {
      if (b >= LIMIT) continue;
      out += ALPHABET[b % ALPHABET.length];
      if (out.length === count) return out;
    }
    // Unreachable in practice (P ≈ (4/256)^(length − count)); bounded by HKDF_MAX all the same.
    if (length === HKDF_MAX) throw new Error(`could not derive ${count} characters for ${purpose}`);
  }
}

/** kubeadm bootstrap token `abcdef.0123456789abcdef` for a rotation epoch (the join window). */
export function bootstrapToken(masterSeed: string, cluster: string, epoch: number): string {
  const chars = derivedAlphanumeric(masterSeed, cluster, "bootstrap-token", epoch, 22);
  return `${chars.slice(0, 6)}.${chars.slice(6)}`;
}

/** kubeadm `--certificate-key`: an AES-256 key, 64 hex characters. */
export function certificateKey(masterSeed: string, cluster: string, epoch: number): string {
  return deriveBytes(masterSeed, { cluster, component: COMPONENT, purpose: "certificate-key", epoch }, 32).toString("hex");
}

/**
 * The 32-byte key that encrypts Secrets at rest (EncryptionConfiguration secretbox), base64.
 * Epoch 0 unless rotated; a rotation must list the old key after the new one until every Secret is
 * rewritten (see renderEncryptionConfig).
 */
export function encryptionKey(masterSeed: string, cluster: string, epoch = 0): string {
  return deriveBytes(masterSeed, { cluster, component: "kube-apiserver", purpose: "encryption-at-rest", epoch }, 32).toString("base64");
}
