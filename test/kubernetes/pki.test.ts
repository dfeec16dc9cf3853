/**
 * The cluster CA (components/kubernetes/pki.ts): the seed-derived pin every join carries, the CSR
 * `kubedos render` writes, and verifyCaBundle — the gate between an operator-supplied bundle and
 * kubeadm init. Each refusal is checked by its message, and openssl (the tool an operator uses to
 * sign and inspect) must agree with every verdict and with the pin.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import {
  CaBundleError,
  certificateFingerprint,
  clusterCaCsr,
  clusterCaPin,
  makeRoot,
  signIntermediate,
  verifyCaBundle,
} from "../../components/kubernetes/pki";
import { csrRequestInfo, sameCsrRequest } from "../../components/kubernetes/pki";
import { findTool, run, skipOrFail } from "../support/tools";
import { CA_CERT_HASH } from "./kubeadm-schema";

const SEED = "kubedos-pki-test-seed-0001";
const CLUSTER = "pki-lab";

type Root = Awaited<ReturnType<typeof makeRoot>>;
const pem = (c: { toString(f: "pem"): string }): string => c.toString("pem") + "\n";

/** openssl, or skip (fail under CI=true) naming its Debian package. */
function openssl(ctx: Mocha.Context): string {
  return findTool("openssl") ?? skipOrFail(ctx, "openssl is not installed (Debian package openssl)");
}

describe("cluster CA pin", () => {
  it("is kubeadm's sha256:<SPKI hex>, deterministic per seed and cluster, different across clusters and seeds", () => {
    const pin = clusterCaPin(SEED, CLUSTER);
    assert.match(pin, CA_CERT_HASH);
    assert.equal(clusterCaPin(SEED, CLUSTER), pin);
    assert.notEqual(clusterCaPin(SEED, "other-cluster"), pin);
    assert.notEqual(clusterCaPin(SEED + "-x", CLUSTER), pin);
    assert.notEqual(clusterCaPin(SEED, CLUSTER, 1), pin, "a new CA epoch is a new key");
  });
});

describe("cluster CA bundle verification", function () {
  this.timeout(20_000);
  const pin = clusterCaPin(SEED, CLUSTER);
  let root: Root;
  let otherRoot: Root;
  let csr: string;
  let intermediate: string;
  let tmp: string;
  const file = (name: string, text: string): string => {
    const f = path.join(tmp, name);
    writeFileSync(f, text);
    return f;
  };

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "kubedos-pki-"));
    [root, otherRoot] = await Promise.all([makeRoot("kubedos test root", 30), makeRoot("some other root", 30)]);
    csr = await clusterCaCsr(SEED, CLUSTER);
    intermediate = pem(await signIntermediate({ csrPem: csr, rootKeys: root.keys, rootCert: root.cert, days: 30 }));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  const verify = (bundlePem: string, over: Partial<Parameters<typeof verifyCaBundle>[0]> = {}) =>
    verifyCaBundle({ bundlePem, model: "offline-ca", caFingerprint: certificateFingerprint(root.cert), expectedPin: pin, ...over });
  const refused = async (p: Promise<unknown>, message: RegExp) => {
    await assert.rejects(p, (err: unknown) => {
      assert.ok(err instanceof CaBundleError, `not a CaBundleError: ${String(err)}`);
      assert.match(err.message, message);
      return true;
    });
  };

  it("is the same request for the same seed, and signing it with the root gives a bundle verifyCaBundle accepts under offline-ca", async () => {
    // RFC 6979: the signature is deterministic too, so the whole CSR is byte-identical per seed.
    const again = await clusterCaCsr(SEED, CLUSTER);
    assert.equal(again, csr, "two CSRs of one seed differ");
    assert.ok(csrRequestInfo(again)!.equals(csrRequestInfo(csr)!), "the CertificationRequestInfo differs between two CSRs of one seed");
    assert.equal(await sameCsrRequest(again, csr), true);
    assert.equal(await sameCsrRequest(await clusterCaCsr(SEED, "other-cluster"), csr), false);
    assert.equal(
      await sameCsrRequest(
        csr.replace(/[A-Za-z](?=[^\n]*\n-----END)/, (c) => (c === "A" ? "B" : "A")),
        csr,
      ),
      false,
      "a damaged signature",
    );
    const ok = await verify(intermediate + pem(root.cert));
    assert.equal(ok.anchorFingerprint, certificateFingerprint(root.cert));
    assert.equal(ok.clusterCaPem, intermediate);
    // pinned-ca: the bundle is the CA certificate itself, fingerprinted.
    const { X509Certificate } = await import("@peculiar/x509");
    const ca = new X509Certificate(intermediate);
    const pinned = await verifyCaBundle({
      bundlePem: intermediate,
      model: "pinned-ca",
      caFingerprint: certificateFingerprint(ca),
      expectedPin: pin,
    });
    assert.equal(pinned.anchorFingerprint, certificateFingerprint(ca));
  });

  it("refuses a bundle whose root is not the caFingerprint root", async () => {
    await refused(
      verify(intermediate + pem(root.cert), { caFingerprint: "sha256:" + "00".repeat(32) }),
      /the root certificate's fingerprint is sha256:[0-9a-f]{64}, but security\.bootstrap\.caFingerprint is sha256:0{64}/,
    );
    await refused(verify(intermediate + pem(root.cert), { caFingerprint: undefined }), /security\.bootstrap\.caFingerprint is absent/);
  });

  it("refuses an intermediate issued for another key than the seed-derived one", async () => {
    const foreign = pem(
      await signIntermediate({ csrPem: await clusterCaCsr(SEED + "-other", CLUSTER), rootKeys: root.keys, rootCert: root.cert, days: 30 }),
    );
    await refused(
      verify(foreign + pem(root.cert)),
      new RegExp(`carries public key sha256:[0-9a-f]{64}, not the seed-derived ${pin}: sign the CSR that \`kubedos render\` writes`),
    );
  });

  it("refuses a one-certificate bundle under offline-ca", async () => {
    await refused(verify(intermediate), /model offline-ca needs the bundle "intermediate, then root" \(2 certificates\); it holds 1/);
    await refused(verify("no certificate here"), /holds no PEM certificate/);
  });

  it("refuses a root that did not sign the intermediate, and openssl verify agrees", async function () {
    await refused(
      verify(intermediate + pem(otherRoot.cert), { caFingerprint: certificateFingerprint(otherRoot.cert) }),
      /the intermediate \(cluster CA\) is not signed by the root in the bundle/,
    );
    const tool = openssl(this);
    const good = await run(tool, ["verify", "-CAfile", file("root.pem", pem(root.cert)), file("intermediate.pem", intermediate)]);
    assert.equal(good.code, 0, good.stdout + good.stderr);
    assert.match(good.stdout, /intermediate\.pem: OK/);
    const bad = await run(tool, ["verify", "-CAfile", file("other-root.pem", pem(otherRoot.cert)), path.join(tmp, "intermediate.pem")]);
    assert.notEqual(bad.code, 0, "openssl accepts an intermediate the root did not sign");
  });

  it("refuses an expired cluster CA certificate, and openssl verify agrees", async function () {
    const notBefore = new Date(Date.now() - 40 * 86_400_000);
    const expired = pem(
      await signIntermediate({ csrPem: csr, rootKeys: root.keys, rootCert: root.cert, days: 10, notBefore, serial: "03" }),
    );
    await refused(verify(expired + pem(root.cert)), /the cluster CA certificate is not valid now \(valid .* – .*\)/);
    const tool = openssl(this);
    const r = await run(tool, ["verify", "-CAfile", file("root.pem", pem(root.cert)), file("expired.pem", expired)]);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /expired/);
  });

  it("gives the signed certificate the pin kubeadm computes from ca.crt (openssl x509 -pubkey | openssl pkey -pubin -outform der | sha256sum)", async function () {
    const tool = openssl(this);
    const r = await run("bash", [
      "-c",
      'set -o pipefail; "$1" x509 -in "$2" -pubkey -noout | "$1" pkey -pubin -outform der | sha256sum',
      "pin",
      tool,
      file("ca.crt", intermediate),
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(`sha256:${r.stdout.split(/\s+/)[0]}`, pin);
    const v = await run(tool, ["req", "-verify", "-noout", "-in", file("cluster-ca.csr", csr)]);
    assert.equal(v.code, 0, v.stderr);
  });
});
