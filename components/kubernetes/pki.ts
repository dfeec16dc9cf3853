/**
 * The cluster CA and its trust model (seed 001 §7.2, `security.bootstrap`).
 *
 * The cluster CA's key derives from the master seed (ECDSA P-256 — kubeadm cannot use Ed25519),
 * so its public-key pin (`sha256:<SPKI hash>`, kubeadm's `caCertHashes`) is known before any
 * machine exists: every join is pinned from the start, never trust-on-first-use, and a rebuild
 * from the same seed keeps the same pin.
 *
 * The certificate for that key comes from outside, by model:
 * - `offline-ca`: the cluster CA is an intermediate signed by an offline root. `kubedos render`
 *   writes the CSR (`pki/cluster-ca.csr`); the operator signs it with the root and supplies the
 *   bundle (intermediate, then root). The root's SHA-256 fingerprint must be
 *   `security.bootstrap.caFingerprint`.
 * - `pinned-ca`: the bundle is the CA certificate itself; its fingerprint must be caFingerprint.
 * - `to-fu`: kubeadm generates its own CA at init; joins pin the hash init reports.
 * In every case the supplied certificate must carry the derived public key — a bundle for some
 * other key is refused, because kubeadm would then issue from a CA the joins do not pin.
 */
import "reflect-metadata";
import * as x509 from "@peculiar/x509";
import { createECDH, createHash, createPrivateKey, createPublicKey, webcrypto, type KeyObject } from "node:crypto";
import { p256 } from "@noble/curves/p256";
import { deriveBytes } from "../secrets/derive";

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** Order of the P-256 group: a derived scalar must be in [1, n-1]. */
const P256_N = BigInt("0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551");
const ECDSA_P256 = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;

export type TrustModel = "offline-ca" | "pinned-ca" | "to-fu";

const b64url = (b: Buffer): string => b.toString("base64url");

/**
 * The cluster CA private key, derived from the seed. HKDF output is used as the scalar when it is
 * in range (fails with probability ~2^-32); otherwise the next counter is tried.
 */
export function clusterCaKey(masterSeed: string, cluster: string, epoch = 0): KeyObject {
  for (let counter = 0; counter < 16; counter++) {
    const d = deriveBytes(masterSeed, { cluster, component: "kubernetes-ca", purpose: `ecdsa-p256/${counter}`, epoch }, 32);
    const scalar = BigInt(`0x${d.toString("hex")}`);
    if (scalar === 0n || scalar >= P256_N) continue;
    const ecdh = createECDH("prime256v1");
    ecdh.setPrivateKey(d);
    const pub = ecdh.getPublicKey(); // 0x04 || X || Y
    return createPrivateKey({
      key: { kty: "EC", crv: "P-256", d: b64url(d), x: b64url(pub.subarray(1, 33)), y: b64url(pub.subarray(33, 65)) },
      format: "jwk",
    });
  }
  throw new Error("could not derive a P-256 key for the cluster CA");
}

/** PKCS#8 PEM of the cluster CA key (secret: goes to /etc/kubernetes/pki/ca.key, mode 0600). */
export function clusterCaKeyPem(masterSeed: string, cluster: string, epoch = 0): string {
  return clusterCaKey(masterSeed, cluster, epoch).export({ format: "pem", type: "pkcs8" }).toString();
}

/** kubeadm's CA pin of a public key: `sha256:` + hex SHA-256 of its DER SubjectPublicKeyInfo. */
export function spkiPin(publicKey: KeyObject | Buffer): string {
  const der = Buffer.isBuffer(publicKey) ? publicKey : publicKey.export({ format: "der", type: "spki" });
  return `sha256:${createHash("sha256").update(der).digest("hex")}`;
}

/** The pin every kubeadm join carries (`discovery.bootstrapToken.caCertHashes`). */
export function clusterCaPin(masterSeed: string, cluster: string, epoch = 0): string {
  return spkiPin(createPublicKey(clusterCaKey(masterSeed, cluster, epoch)));
}

/** SHA-256 fingerprint of a certificate (of its DER), as `sha256:<hex>` — what caFingerprint holds. */
export function certificateFingerprint(cert: x509.X509Certificate): string {
  return `sha256:${createHash("sha256").update(Buffer.from(cert.rawData)).digest("hex")}`;
}

async function webKeys(key: KeyObject): Promise<webcrypto.CryptoKeyPair> {
  const jwk = key.export({ format: "jwk" });
  const privateKey = await webcrypto.subtle.importKey("jwk", jwk, ECDSA_P256, true, ["sign"]);
  const pubJwk = { ...jwk };
  delete pubJwk.d; // the public half only
  const publicKey = await webcrypto.subtle.importKey("jwk", pubJwk, ECDSA_P256, true, ["verify"]);
  return { privateKey, publicKey } as webcrypto.CryptoKeyPair;
}

/** Subject of the cluster CA: what kubeadm's own CA is named, plus the cluster. */
export function clusterCaSubject(cluster: string): string {
  return `CN=kubernetes-ca ${cluster}, O=kubedos`;
}

/**
 * The certificate signing request for the cluster CA (PEM), to be signed by the offline root as an
 * intermediate (CA:true, pathlen 0, keyCertSign + cRLSign). Public; safe to write anywhere.
 */
export async function clusterCaCsr(masterSeed: string, cluster: string, epoch = 0): Promise<string> {
  const keys = await webKeys(clusterCaKey(masterSeed, cluster, epoch));
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: clusterCaSubject(cluster),
    keys,
    signingAlgorithm: ECDSA_P256,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
  return deterministicCsr(Buffer.from(csr.rawData), clusterCaKey(masterSeed, cluster, epoch)) + "\n";
}

/**
 * The CSR re-signed with RFC 6979 deterministic ECDSA (WebCrypto's ECDSA signature is
 * randomized): the same seed yields the same bytes, so two renders of the same inputs are
 * byte-identical (issue 8's determinism) and the request verifies as before.
 */
function deterministicCsr(der: Buffer, key: KeyObject): string {
  const [info, algorithm] = derChildren(der);
  if (!info || !algorithm) throw new Error("internal: the generated CSR is not SEQUENCE { info, algorithm, signature }");
  const d = Buffer.from(key.export({ format: "jwk" }).d!, "base64url");
  const signature = Buffer.from(p256.sign(createHash("sha256").update(info).digest(), d).toDERRawBytes());
  const bitString = derTlv(0x03, Buffer.concat([Buffer.from([0]), signature]));
  const body = derTlv(0x30, Buffer.concat([info, algorithm, bitString]));
  const b64 = body.toString("base64").replace(/.{1,64}/g, "$&\n");
  return `-----BEGIN CERTIFICATE REQUEST-----\n${b64}-----END CERTIFICATE REQUEST-----`;
}

/** One DER TLV: tag, definite length (short or long form), content. */
function derTlv(tag: number, content: Buffer): Buffer {
  const n = content.length;
  const len = n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]);
  return Buffer.concat([Buffer.from([tag]), len, content]);
}

/** The complete TLVs (header included) inside the outer SEQUENCE of `der`; [] when it is not one. */
function derChildren(der: Buffer): Buffer[] {
  const tlv = (at: number): { header: number; length: number } | undefined => {
    if (at + 2 > der.length) return undefined;
    const first = der[at + 1];
    if (first < 0x80) return { header: 2, length: first };
    const n = first & 0x7f;
    if (n === 0 || n > 4 || at + 2 + n > der.length) return undefined;
    let length = 0;
    for (let k = 0; k < n; k++) length = length * 256 + der[at + 2 + k];
    return { header: 2 + n, length };
  };
  const outer = tlv(0);
  if (!outer || der[0] !== 0x30 || outer.header + outer.length > der.length) return [];
  const children: Buffer[] = [];
  for (let at = outer.header; at < outer.header + outer.length;) {
    const t = tlv(at);
    if (!t || at + t.header + t.length > der.length) return [];
    children.push(der.subarray(at, at + t.header + t.length));
    at += t.header + t.length;
  }
  return children;
}

/**
 * The DER of a CSR's CertificationRequestInfo (subject, public key, extensions): everything but
 * the signature algorithm and the signature. Undefined when the text is not one PEM CSR.
 */
export function csrRequestInfo(pem: string): Buffer | undefined {
  const m = /-----BEGIN CERTIFICATE REQUEST-----([\s\S]+?)-----END CERTIFICATE REQUEST-----/.exec(pem);
  if (!m) return undefined;
  const children = derChildren(Buffer.from(m[1].replace(/\s+/g, ""), "base64"));
  return children.length === 3 && children[0][0] === 0x30 ? children[0] : undefined;
}

/** Whether `existing` is the same request as `fresh` (identical CertificationRequestInfo) and its signature verifies. */
export async function sameCsrRequest(existing: string, fresh: string): Promise<boolean> {
  const a = csrRequestInfo(existing);
  const b = csrRequestInfo(fresh);
  if (!a || !b || !a.equals(b)) return false;
  try {
    return await new x509.Pkcs10CertificateRequest(existing).verify();
  } catch {
    return false;
  }
}

export interface VerifiedBundle {
  /** The cluster CA certificate (PEM) that goes to /etc/kubernetes/pki/ca.crt. */
  clusterCaPem: string;
  /** The fingerprint that matched caFingerprint (root for offline-ca, the CA for pinned-ca). */
  anchorFingerprint: string;
  notAfter: string;
}

/** Why a supplied bundle is refused; the message names the problem and the fix. */
export class CaBundleError extends Error {}

/**
 * Check a supplied CA bundle against the trust model: it parses, the cluster CA carries the
 * derived key and is a CA, and the anchor's fingerprint equals caFingerprint; for offline-ca the
 * intermediate's signature verifies against the root and the root is self-signed.
 */
export async function verifyCaBundle(args: {
  bundlePem: string;
  model: Exclude<TrustModel, "to-fu">;
  caFingerprint: string | undefined;
  expectedPin: string;
  now?: Date;
}): Promise<VerifiedBundle> {
  const now = args.now ?? new Date();
  const blocks = args.bundlePem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new CaBundleError("the CA bundle holds no PEM certificate");
  let certs: x509.X509Certificate[];
  try {
    certs = blocks.map((b) => new x509.X509Certificate(b));
  } catch (err) {
    throw new CaBundleError(`the CA bundle holds a certificate that does not parse: ${(err as Error).message}`);
  }
  const wanted = args.model === "offline-ca" ? 2 : 1;
  if (certs.length !== wanted) {
    throw new CaBundleError(
      args.model === "offline-ca"
        ? `model offline-ca needs the bundle "intermediate, then root" (2 certificates); it holds ${certs.length}`
        : `model pinned-ca needs exactly the cluster CA certificate; the bundle holds ${certs.length}`,
    );
  }
  const [ca, root] = certs;
  const caPin = spkiPin(Buffer.from(ca.publicKey.rawData));
  if (caPin !== args.expectedPin) {
    throw new CaBundleError(
      `the cluster CA certificate carries public key ${caPin}, not the seed-derived ${args.expectedPin}: sign the CSR that \`kubedos render\` writes (pki/cluster-ca.csr)`,
    );
  }
  const bc = ca.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) throw new CaBundleError("the cluster CA certificate is not a CA (basicConstraints CA:TRUE is missing)");
  if (ca.notAfter < now || ca.notBefore > now) {
    throw new CaBundleError(
      `the cluster CA certificate is not valid now (valid ${ca.notBefore.toISOString()} – ${ca.notAfter.toISOString()})`,
    );
  }
  const anchor = root ?? ca;
  const fingerprint = certificateFingerprint(anchor);
  const want = args.caFingerprint?.toLowerCase();
  if (!want || fingerprint !== want) {
    throw new CaBundleError(
      `the ${root ? "root" : "CA"} certificate's fingerprint is ${fingerprint}, but security.bootstrap.caFingerprint is ${want ?? "absent"}`,
    );
  }
  if (root) {
    if (!(await root.verify({ signatureOnly: true }))) throw new CaBundleError("the root certificate is not self-signed");
    if (!(await ca.verify({ publicKey: root.publicKey, signatureOnly: true }))) {
      throw new CaBundleError("the intermediate (cluster CA) is not signed by the root in the bundle");
    }
  }
  return { clusterCaPem: ca.toString("pem") + "\n", anchorFingerprint: fingerprint, notAfter: ca.notAfter.toISOString() };
}

/**
 * Sign the cluster CA's CSR with a root — what an operator does offline. kubedos uses it for the
 * lab and tests (with a throwaway root); production roots never come near kubedos.
 */
export async function signIntermediate(args: {
  csrPem: string;
  rootKeys: webcrypto.CryptoKeyPair;
  rootCert: x509.X509Certificate;
  days: number;
  serial?: string;
  notBefore?: Date;
}): Promise<x509.X509Certificate> {
  const csr = new x509.Pkcs10CertificateRequest(args.csrPem);
  if (!(await csr.verify())) throw new CaBundleError("the CSR's signature does not verify");
  const notBefore = args.notBefore ?? new Date();
  return x509.X509CertificateGenerator.create({
    serialNumber: args.serial ?? "02",
    subject: csr.subject,
    issuer: args.rootCert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + args.days * 86_400_000),
    signingAlgorithm: ECDSA_P256,
    publicKey: csr.publicKey,
    signingKey: args.rootKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
    ],
  });
}

/** A throwaway self-signed root (lab and tests only). */
export async function makeRoot(name: string, days: number): Promise<{ keys: webcrypto.CryptoKeyPair; cert: x509.X509Certificate }> {
  const keys = (await webcrypto.subtle.generateKey(ECDSA_P256, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + days * 86_400_000),
    signingAlgorithm: ECDSA_P256,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 1, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  return { keys, cert };
}
