/**
 * The sealed bundle `kubedos render` writes (issue 8): `kubedos verify` accepts it and names the file
 * of any single change — a changed byte in any file, a removed file, an added file, a secret file
 * opened up, another key; its signatures and sums are checked by openssl and sha256sum; its SBOMs
 * are valid CycloneDX 1.6; and no secret is anywhere in it outside the 0600 node artifacts.
 */
import * as assert from "node:assert/strict";
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { generateKeyPairSync } from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { verifyBundle } from "../../components/anchors/verify";
import { validateSbom } from "../../components/anchors/sbom";
import { parsePublicKey, seedSigningKey } from "../../components/anchors/signing";
import { clusterCaKeyPem } from "../../components/kubernetes/pki";
import { kubedos, type CliResult } from "../support/cli";
import { requireTool, run } from "../support/tools";
import { RENDER_ENV, SEED, walk } from "./helpers";

const ANCHOR_DIRS = ["manifests/", "sbom/", "provenance/", "signatures/", "recovery-bundle/"];

describe("anchors: the sealed bundle and kubedos verify", function () {
  this.timeout(120_000);
  let tmp: string;
  let out: string;
  let rendered: CliResult;
  let verified: CliResult;

  before(async () => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "kubedos-anchors-"));
    out = path.join(tmp, "dev");
    rendered = await kubedos(["render", "--stack", "dev", "--out", out], RENDER_ENV);
    verified = await kubedos(["verify", out]);
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("renders the §16.2 layout and kubedos verify exits 0 with its figures", () => {
    assert.equal(rendered.code, 0, rendered.stderr);
    for (const f of [
      "manifests/artifact-manifest.json",
      "manifests/locks.json",
      "manifests/SHA256SUMS",
      "sbom/os.cdx.json",
      "sbom/images.cdx.json",
      "sbom/binaries.cdx.json",
      "provenance/build.json",
      "provenance/inputs.json",
      "signatures/manifests.sig",
      "signatures/artifacts.sig",
      "signatures/signing-key.pub",
      "recovery-bundle/clusterspec.rendered.yaml",
      "recovery-bundle/runbooks.md",
      "recovery-bundle/acceptance-report.json",
    ])
      assert.ok(existsSync(path.join(out, f)), `${f} is missing`);
    assert.match(rendered.stdout, /^sealed kubedos-0\.1\.0-proxmox-\d{8}-[0-9a-f]{12}: content sha256:/m);
    assert.match(rendered.stdout, /^acceptance: incomplete — required gates passed 0\/6, not run: backplane-matrix/m);
    assert.equal(verified.code, 0, verified.stdout + verified.stderr);
    const files = walk(out).length;
    assert.match(
      verified.stdout,
      new RegExp(
        `^OK .*: ${files} files \\(\\d+ bytes\\) match manifests/SHA256SUMS and the artifact manifest; both signatures verify with sha256:[0-9a-f]{64} \\(the bundle's own key`,
      ),
    );
  });

  it("lists every file but itself, the sums and the signatures in the artifact manifest, with the hash sha256sum computes", async function () {
    const manifest = JSON.parse(readFileSync(path.join(out, "manifests/artifact-manifest.json"), "utf8"));
    const listed = manifest.files.map((f: { path: string }) => f.path);
    const expected = walk(out).filter(
      (f) => !f.startsWith("signatures/") && f !== "manifests/SHA256SUMS" && f !== "manifests/artifact-manifest.json",
    );
    assert.deepEqual(listed, expected);
    assert.equal(manifest.targets.length, 6);
    assert.equal(manifest.payloads.kubernetes, "v1.32.9");
    assert.equal(manifest.payloads.charts["bp-cilium"], "cilium@1.17.6");
    const sha = requireTool(this, "sha256sum");
    const r = await run(sha, ["-c", "--strict", "manifests/SHA256SUMS"], { cwd: out });
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(
      r.stdout.trim().split("\n").length,
      walk(out).length - 4,
      "sha256sum did not check every file but SHA256SUMS and the three signature files",
    );
  });

  it("signs both manifests with Ed25519 that openssl pkeyutl verifies, with the key derived from the seed", async function () {
    const openssl = requireTool(this, "openssl");
    const pub = path.join(out, "signatures/signing-key.pub");
    for (const [file, sig] of [
      ["manifests/artifact-manifest.json", "signatures/manifests.sig"],
      ["manifests/SHA256SUMS", "signatures/artifacts.sig"],
    ]) {
      const r = await run(openssl, [
        "pkeyutl",
        "-verify",
        "-pubin",
        "-inkey",
        pub,
        "-rawin",
        "-in",
        path.join(out, file),
        "-sigfile",
        path.join(out, sig),
      ]);
      assert.equal(r.code, 0, `${sig}: ${r.stdout}${r.stderr}`);
      assert.match(r.stdout, /Signature Verified Successfully/);
    }
    const derived = seedSigningKey(SEED, "dev-lab").publicKey.export({ format: "pem", type: "spki" }).toString();
    assert.equal(readFileSync(pub, "utf8"), derived);
  });

  it("fails naming the file when any single byte of any file changes", async () => {
    const files = walk(out);
    assert.ok(files.length > 150, `only ${files.length} files`);
    for (const f of files) {
      const abs = path.join(out, f);
      const orig = readFileSync(abs);
      const bad = Buffer.from(orig);
      const i = Math.floor(bad.length / 2);
      bad[i] = bad[i] ^ 0x01;
      writeFileSync(abs, bad);
      try {
        const r = await verifyBundle(out);
        assert.equal(r.ok, false, `${f}: a changed byte went unnoticed`);
        assert.equal(r.file, f, `${f}: verify blamed ${r.file} (${r.reason})`);
      } finally {
        writeFileSync(abs, orig);
      }
    }
    assert.equal((await verifyBundle(out)).ok, true, "the bundle is not intact after restoring");
  });

  it("fails naming the file when any file is removed, or a file is added anywhere", async () => {
    for (const f of walk(out)) {
      const abs = path.join(out, f);
      const keep = path.join(tmp, "kept");
      copyFileSync(abs, keep);
      const mode = statSync(abs).mode & 0o777;
      unlinkSync(abs);
      try {
        const r = await verifyBundle(out);
        assert.equal(r.ok, false, `${f}: a removed file went unnoticed`);
        assert.equal(r.file, f, `${f} removed: verify blamed ${r.file} (${r.reason})`);
        assert.match(r.reason!, /missing/);
      } finally {
        copyFileSync(keep, abs);
        chmodSync(abs, mode);
      }
    }
    for (const added of [
      "extra.txt",
      "nodes/cp-1/extra.conf",
      "signatures/extra.sig",
      "recovery-bundle/notes.md",
      "manifests/other.json",
    ]) {
      writeFileSync(path.join(out, added), "added\n");
      try {
        const r = await verifyBundle(out);
        assert.equal(r.ok, false, `${added}: an added file went unnoticed`);
        assert.equal(r.file, added);
        assert.match(r.reason!, /added/);
      } finally {
        unlinkSync(path.join(out, added));
      }
    }
    assert.equal((await verifyBundle(out)).ok, true);
  });

  it("exits 1 naming the file from the CLI, refuses a secret file opened to others, and a key other than --key", async () => {
    const copy = path.join(tmp, "copy");
    cpSync(out, copy, { recursive: true });
    const target = "nodes/w-2/wireguard/wg3.conf";
    const p = path.join(copy, target);
    writeFileSync(p, readFileSync(p, "utf8").replace("ListenPort", "ListenPorT"));
    const r = await kubedos(["verify", copy]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`^FAIL ${target}: changed: sha256 `, "m"));
    cpSync(out, copy, { recursive: true, force: true });
    chmodSync(path.join(copy, "nodes/cp-1/kubeadm.yaml"), 0o644);
    const open = await kubedos(["verify", copy]);
    assert.equal(open.code, 1);
    assert.match(open.stdout, /^FAIL nodes\/cp-1\/kubeadm\.yaml: secret file is mode 0644; sealed as 0600/m);
    chmodSync(path.join(copy, "nodes/cp-1/kubeadm.yaml"), 0o600);
    const other = path.join(tmp, "other.pub");
    writeFileSync(other, generateKeyPairSync("ed25519").publicKey.export({ format: "pem", type: "spki" }));
    const wrong = await kubedos(["verify", copy, "--key", other]);
    assert.equal(wrong.code, 1);
    assert.match(wrong.stdout, /^FAIL signatures\/signing-key\.pub: is sha256:[0-9a-f]{64}, not the key given with --key/m);
    const right = await kubedos(["verify", copy, "--key", path.join(copy, "signatures/signing-key.pub"), "--json"]);
    assert.equal(right.code, 0, right.stdout);
    assert.equal(JSON.parse(right.stdout).keyPinned, true);
    // A forger who re-signs everything with their own key is stopped by --key.
    assert.ok(parsePublicKey(readFileSync(other, "utf8")));
  });

  it("writes SBOMs that are valid CycloneDX 1.6 and hold the pinned packages, images and shipped npm packages", async () => {
    const sbom = (n: string) => readFileSync(path.join(out, `sbom/${n}.cdx.json`), "utf8");
    for (const n of ["os", "images", "binaries"]) assert.equal(await validateSbom(sbom(n)), null, `${n} is not valid CycloneDX`);
    const osDoc = JSON.parse(sbom("os"));
    const purls = osDoc.components.map((c: { purl: string }) => c.purl);
    assert.ok(purls.includes("pkg:deb/debian/kubelet@1.32.9-1.1?arch=amd64&distro=debian-12"), purls.join(" "));
    assert.ok(purls.some((p: string) => p.startsWith("pkg:deb/debian/containerd.io@1.7.28")));
    const images = JSON.parse(sbom("images"));
    const refs = images.components
      .filter((c: { type: string }) => c.type === "container")
      .map((c: { name: string; version: string }) => `${c.name}:${c.version}`);
    assert.ok(refs.includes("quay.io/cilium/cilium:v1.17.6"), refs.join(" "));
    assert.ok(refs.includes("registry.k8s.io/kube-apiserver:v1.32.9"));
    const charts = images.components.filter((c: { type: string }) => c.type === "application");
    assert.equal(charts.length, 4 + 48, "4 Stage 6 charts + 48 kit charts");
    const bins = JSON.parse(sbom("binaries"));
    assert.equal(bins.metadata.component.name, "kubedos");
    const names = new Set(bins.components.map((c: { name: string }) => c.name));
    for (const n of ["@pulumi/pulumi", "zod", "@cyclonedx/cyclonedx-library"]) assert.ok(names.has(n), `${n} is not in the binaries SBOM`);
    assert.ok(!names.has("mocha"), "a dev dependency is listed as shipped");
    // The schema check is real: a wrong component type and a missing required field are refused.
    const broken = JSON.parse(sbom("os"));
    broken.components[0].type = "not-a-type";
    assert.match((await validateSbom(JSON.stringify(broken)))!, /type/);
    const noFormat = JSON.parse(sbom("images"));
    delete noFormat.bomFormat;
    assert.notEqual(await validateSbom(JSON.stringify(noFormat)), null);
  });

  it("keeps every secret out of every file but the 0600 node artifacts", () => {
    const manifest = JSON.parse(readFileSync(path.join(out, "manifests/artifact-manifest.json"), "utf8"));
    const secretFiles = new Set<string>(manifest.files.filter((f: { secret: boolean }) => f.secret).map((f: { path: string }) => f.path));
    assert.ok(secretFiles.size >= 30, `only ${secretFiles.size} secret files`);
    // Every secret value the render produced, harvested from the secret files themselves.
    const secrets = new Set<string>([SEED]);
    const kinds = new Map<string, number>();
    const harvest = (kind: string, value: string | undefined) => {
      if (!value || value.length < 16) return;
      secrets.add(value);
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    };
    for (const f of secretFiles) {
      const text = readFileSync(path.join(out, f), "utf8");
      for (const m of text.matchAll(/PrivateKey\s*=\s*(\S+)/g)) harvest("wireguard private key", m[1]);
      for (const m of text.matchAll(/\btoken:\s*"?([a-z0-9]{6}\.[a-z0-9]{16})/g)) harvest("bootstrap token", m[1]);
      for (const m of text.matchAll(/certificateKey:\s*"?([0-9a-f]{64})/g)) harvest("certificate key", m[1]);
      for (const m of text.matchAll(/secret:\s*"?([A-Za-z0-9+/=]{40,})/g)) harvest("encryption key", m[1]);
      for (const m of text.matchAll(/-----BEGIN OPENSSH PRIVATE KEY-----\n\s*(\S+)/g)) harvest("ssh host private key", m[1]);
    }
    for (const k of ["wireguard private key", "bootstrap token", "certificate key", "encryption key", "ssh host private key"])
      assert.ok(kinds.get(k), `no ${k} harvested from the secret files`);
    const signing = seedSigningKey(SEED, "dev-lab").privateKey.export({ format: "der", type: "pkcs8" }).subarray(16).toString("base64");
    secrets.add(signing);
    secrets.add(clusterCaKeyPem(SEED, "dev-lab").split("\n")[1]);
    assert.ok(secrets.size > 20, `only ${secrets.size} secrets harvested`);
    const open = walk(out).filter((f) => !secretFiles.has(f));
    assert.ok(open.some((f) => ANCHOR_DIRS.some((d) => f.startsWith(d))));
    for (const f of open) {
      const text = readFileSync(path.join(out, f)).toString("latin1");
      for (const s of secrets) assert.ok(!text.includes(s), `${f} contains a secret (${s.slice(0, 6)}…)`);
    }
    for (const f of secretFiles) assert.equal(statSync(path.join(out, f)).mode & 0o777, 0o600, `${f} is not 0600`);
  });
});

describe("anchors: a supplied signing key (KUBEDOS_SIGNING_KEY)", function () {
  this.timeout(60_000);
  let tmp: string;
  before(() => {
    tmp = mkdtempSync(path.join(os.tmpdir(), "kubedos-signing-"));
  });
  after(() => rmSync(tmp, { recursive: true, force: true }));

  it("signs with the supplied Ed25519 key, records it as supplied, and verify --key with its public half passes", async () => {
    const { privateKey, publicKey } = generateKeyPairSync("ed25519");
    const keyFile = path.join(tmp, "release.pem");
    writeFileSync(keyFile, privateKey.export({ format: "pem", type: "pkcs8" }), { mode: 0o600 });
    const pubFile = path.join(tmp, "release.pub");
    writeFileSync(pubFile, publicKey.export({ format: "pem", type: "spki" }));
    const out = path.join(tmp, "bundle");
    const r = await kubedos(["render", "--stack", "dev", "--out", out], { ...RENDER_ENV, KUBEDOS_SIGNING_KEY: keyFile });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /\(KUBEDOS_SIGNING_KEY\)/);
    assert.equal(JSON.parse(readFileSync(path.join(out, "provenance/inputs.json"), "utf8")).signingKey.source, "supplied");
    const v = await kubedos(["verify", out, "--key", pubFile]);
    assert.equal(v.code, 0, v.stdout);
    assert.match(v.stdout, /\(the key given with --key\)/);
  });

  it("refuses a signing key that is not an Ed25519 private key, naming the file and how to make one (exit 2, nothing written)", async () => {
    const rsa = path.join(tmp, "rsa.pem");
    writeFileSync(rsa, generateKeyPairSync("rsa", { modulusLength: 1024 }).privateKey.export({ format: "pem", type: "pkcs8" }));
    const junk = path.join(tmp, "junk.pem");
    writeFileSync(junk, "not a key\n");
    for (const [file, message] of [
      [rsa, /rsa\.pem: a rsa key; bundles are signed with Ed25519 \(openssl genpkey -algorithm ed25519\)/],
      [junk, /junk\.pem: not a PEM private key \(make one with: openssl genpkey -algorithm ed25519/],
    ] as const) {
      const out = path.join(tmp, `bad-${path.basename(file)}`);
      const r = await kubedos(["render", "--stack", "dev", "--out", out], { ...RENDER_ENV, KUBEDOS_SIGNING_KEY: file });
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "a stack trace");
      assert.ok(!existsSync(out), "a refused render wrote files");
    }
  });

  it("refuses acceptance evidence it cannot use, naming the file and the field (exit 2)", async () => {
    const wrong = path.join(tmp, "wrong-cluster.json");
    writeFileSync(wrong, JSON.stringify({ kind: "AcceptanceReport", cluster: "prod-01", specDigest: "x", gates: [], drills: [] }));
    for (const [file, message] of [
      [path.join(tmp, "missing.json"), /--acceptance .*missing\.json: cannot read \(ENOENT\)/],
      [wrong, /wrong-cluster\.json: cluster: the report is for prod-01, this spec is dev-lab/],
    ] as const) {
      const r = await kubedos(["render", "--stack", "dev", "--out", path.join(tmp, "evidence-out"), "--acceptance", file], RENDER_ENV);
      assert.equal(r.code, 2, r.stdout + r.stderr);
      assert.match(r.stderr, message);
      assert.doesNotMatch(r.stderr, /\n\s+at /, "a stack trace");
    }
  });
});
