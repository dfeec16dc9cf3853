/**
 * Every credential derives from one master seed (DESIGN.md §7, seed 003 rule e): HKDF-SHA256
 * with an info string naming cluster, component, purpose and rotation epoch. A rebuild with
 * the same seed yields the same keys, and nothing derived is ever stored.
 */
import { createHash, createPrivateKey, createPublicKey, hkdfSync } from "node:crypto";

/** Salt of the derivation; part of the contract — changing it re-keys every cluster. */
const SALT = "kubedos/derive/v1";

export interface DerivationInfo {
  cluster: string;
  /** e.g. "node/cp-1", "plane/wg1/node/cp-1", "kubeadm". */
  component: string;
  /** e.g. "ssh-host-ed25519", "wireguard", "bootstrap-token". */
  purpose: string;
  /** Rotation epoch; 0 for credentials that do not rotate. */
  epoch?: number;
}

export function infoString(i: DerivationInfo): string {
  return `cluster=${i.cluster};component=${i.component};purpose=${i.purpose};epoch=${i.epoch ?? 0}`;
}

/** `length` bytes derived from the seed for one purpose. */
export function deriveBytes(masterSeed: string, info: DerivationInfo, length = 32): Buffer {
  if (masterSeed.length < 16) throw new Error("the master seed must be at least 16 characters");
  return Buffer.from(hkdfSync("sha256", Buffer.from(masterSeed, "utf8"), Buffer.from(SALT), Buffer.from(infoString(info)), length));
}

// PKCS#8 prefix of an Ed25519 private key: the 32-byte seed follows it (RFC 8410).
const ED25519_PKCS8_PREFIX = Buffer.from("302e020100300506032b657004220420", "hex");

export interface SshKeyPair {
  /** OpenSSH private key (openssh-key-v1, unencrypted) — secret. */
  privateKey: string;
  /** `ssh-ed25519 AAAA… comment` */
  publicKey: string;
  /** `SHA256:…` as ssh-keygen -l prints it. */
  fingerprint: string;
}

/** An Ed25519 SSH key pair from 32 seed bytes, in the formats sshd and ssh read. */
export function ed25519SshKey(seed32: Buffer, comment: string): SshKeyPair {
  if (seed32.length !== 32) throw new Error("an Ed25519 seed is 32 bytes");
  const priv = createPrivateKey({ key: Buffer.concat([ED25519_PKCS8_PREFIX, seed32]), format: "der", type: "pkcs8" });
  const spki = createPublicKey(priv).export({ format: "der", type: "spki" });
  const pub = spki.subarray(spki.length - 32);
  const pubBlob = Buffer.concat([sshString("ssh-ed25519"), sshString(pub)]);
  // The check integers only have to match each other; derive them so the file is deterministic.
  const check = createHash("sha256").update(seed32).digest().subarray(0, 4);
  let body = Buffer.concat([
    check,
    check,
    sshString("ssh-ed25519"),
    sshString(pub),
    sshString(Buffer.concat([seed32, pub])),
    sshString(comment),
  ]);
  for (let pad = 1; body.length % 8 !== 0; pad++) body = Buffer.concat([body, Buffer.from([pad])]);
  const blob = Buffer.concat([
    Buffer.from("openssh-key-v1\0"),
    sshString("none"),
    sshString("none"),
    sshString(""),
    u32(1),
    sshString(pubBlob),
    sshString(body),
  ]);
  const b64 = blob
    .toString("base64")
    .replace(/(.{70})/g, "$1\n")
    .trimEnd();
  return {
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${b64}\n-----END OPENSSH PRIVATE KEY-----\n`,
    publicKey: `ssh-ed25519 ${pubBlob.toString("base64")} ${comment}`.trimEnd(),
    fingerprint: `SHA256:${createHash("sha256").update(pubBlob).digest("base64").replace(/=+$/, "")}`,
  };
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

function sshString(v: string | Buffer): Buffer {
  const b = typeof v === "string" ? Buffer.from(v) : v;
  return Buffer.concat([u32(b.length), b]);
}

/** The SSH host key of a node: stable across rebuilds, pinned by every connection. */
export function nodeHostKey(masterSeed: string, cluster: string, node: string): SshKeyPair {
  return ed25519SshKey(deriveBytes(masterSeed, { cluster, component: `node/${node}`, purpose: "ssh-host-ed25519" }), `root@${node}`);
}
