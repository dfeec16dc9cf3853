/**
 * WireGuard keys (components/backplane/keys.ts) and where they end up: derived from the master
 * seed per node, plane and rotation epoch; `wg pubkey` (the real tool) agrees with every public
 * key; and `kubedos render` writes each private key into exactly one file, its own wg-quick
 * config (mode 0600) — checked with grep over the whole output directory.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import * as path from "node:path";
import { nodePlaneKey, operatorKey, rotationEpoch } from "../../components/backplane/keys";
import { wireguardEpoch } from "../../cli/commands/render";
import { repoPath } from "../plan/helpers";
import { needTool, parseWgConfig, field, PLANS, renderMesh, run, TEST_EPOCH, TEST_SEED, tempDir } from "./helpers";

const DAY = 86_400_000;

describe("backplane keys", () => {
  const dev = PLANS.dev;
  const cluster = dev.cluster.name;

  it("derives identical key pairs when seed, cluster, plane, node and epoch are the same", () => {
    for (const n of dev.nodes) {
      for (const p of dev.planes) {
        assert.deepEqual(nodePlaneKey(TEST_SEED, cluster, p.name, n.name, 3), nodePlaneKey(TEST_SEED, cluster, p.name, n.name, 3));
      }
    }
    assert.deepEqual(operatorKey(TEST_SEED, cluster, "wg1", 3), operatorKey(TEST_SEED, cluster, "wg1", 3));
  });

  it("derives a different key per node, per plane and per epoch (and per seed and cluster) when any input changes", () => {
    const seen = new Map<string, string>();
    const note = (label: string, pub: string) => {
      assert.ok(!seen.has(pub), `${label} has the same public key as ${seen.get(pub)}`);
      seen.set(pub, label);
    };
    for (const epoch of [0, 1, TEST_EPOCH]) {
      for (const p of dev.planes) {
        for (const n of dev.nodes) note(`${n.name}/${p.name}/e${epoch}`, nodePlaneKey(TEST_SEED, cluster, p.name, n.name, epoch).publicKey);
        note(`operator/${p.name}/e${epoch}`, operatorKey(TEST_SEED, cluster, p.name, epoch).publicKey);
      }
    }
    note("other seed", nodePlaneKey(`${TEST_SEED}-other`, cluster, "wg1", "cp-1", 0).publicKey);
    note("other cluster", nodePlaneKey(TEST_SEED, "other-cluster", "wg1", "cp-1", 0).publicKey);
    assert.equal(seen.size, 3 * dev.planes.length * (dev.nodes.length + 1) + 2);
  });

  it("produces clamped 32-byte X25519 private keys in wg's base64 form", () => {
    for (const p of dev.planes) {
      for (const n of dev.nodes) {
        const k = nodePlaneKey(TEST_SEED, cluster, p.name, n.name, TEST_EPOCH);
        for (const b64 of [k.privateKey, k.publicKey]) assert.match(b64, /^[A-Za-z0-9+/]{43}=$/);
        const raw = Buffer.from(k.privateKey, "base64");
        assert.equal(raw.length, 32);
        assert.equal(raw[0] & 7, 0, "low 3 bits cleared");
        assert.equal(raw[31] & 0xc0, 0x40, "bit 255 clear, bit 254 set");
      }
    }
  });

  it("matches `wg pubkey` for every node's and the operator's private key when the real tool derives it", function () {
    const wg = needTool(this, "wg");
    const mesh = renderMesh(dev, TEST_SEED);
    const pairs = [
      ...dev.nodes.flatMap((n) =>
        dev.planes.map((p) => ({ label: `${n.name}/${p.name}`, ...nodePlaneKey(TEST_SEED, cluster, p.name, n.name, TEST_EPOCH) })),
      ),
      { label: "operator/wg1", ...operatorKey(TEST_SEED, cluster, "wg1", TEST_EPOCH) },
    ];
    for (const k of pairs) {
      const r = spawnSync(wg, ["pubkey"], { input: k.privateKey + "\n", encoding: "utf8", timeout: 10_000 });
      assert.equal(r.status, 0, `${k.label}: wg pubkey failed: ${r.stderr}`);
      assert.equal(r.stdout.trim(), k.publicKey, `${k.label}: wg pubkey disagrees`);
    }
    // … and the rendered files carry exactly these keys
    for (const n of dev.nodes) {
      for (const p of dev.planes) {
        const conf = parseWgConfig(mesh.files.get(n.name)!.get(p.name)!.content);
        assert.equal(field(conf.iface, "PrivateKey"), nodePlaneKey(TEST_SEED, cluster, p.name, n.name, TEST_EPOCH).privateKey);
      }
    }
    assert.equal(
      field(parseWgConfig(mesh.operator!.content).iface, "PrivateKey"),
      operatorKey(TEST_SEED, cluster, "wg1", TEST_EPOCH).privateKey,
    );
  });

  it("advances the rotation epoch every wireguardDays days when the clock moves", () => {
    assert.equal(rotationEpoch(30, new Date(0)), 0);
    assert.equal(rotationEpoch(30, new Date(30 * DAY - 1)), 0);
    assert.equal(rotationEpoch(30, new Date(30 * DAY)), 1);
    assert.equal(rotationEpoch(1, new Date(20_000 * DAY + 5)), 20_000);
    assert.equal(rotationEpoch(30, new Date("2026-01-01T00:00:00Z")), Math.floor(Math.floor(Date.UTC(2026, 0, 1) / DAY) / 30));
  });

  it("takes the epoch from KUBEDOS_WG_EPOCH when set, else from the clock, and rejects a malformed one", () => {
    const now = new Date(100 * 30 * DAY + 12345);
    assert.deepEqual(wireguardEpoch(30, now, {}).epoch, 100);
    assert.match(wireguardEpoch(30, now, {}).source, /30-day periods/);
    assert.deepEqual(wireguardEpoch(30, now, { KUBEDOS_WG_EPOCH: "42" }), { epoch: 42, source: "from KUBEDOS_WG_EPOCH" });
    assert.equal(wireguardEpoch(30, now, { KUBEDOS_WG_EPOCH: "0" }).epoch, 0);
    assert.equal(wireguardEpoch(30, now, { KUBEDOS_WG_EPOCH: "" }).epoch, 100, "empty counts as unset");
    for (const bad of ["-1", "1.5", "x", " 3", "1e3"]) {
      assert.throws(() => wireguardEpoch(30, now, { KUBEDOS_WG_EPOCH: bad }), /KUBEDOS_WG_EPOCH/, bad);
    }
  });
});

describe("backplane keys in `kubedos render` output", function () {
  this.timeout(60_000);
  const dev = PLANS.dev;
  const BIN = repoPath("bin", "kubedos.js");
  let tmp: ReturnType<typeof tempDir>;
  let out: string;
  let stdout = "";
  let stderr = "";

  before(async () => {
    tmp = tempDir("backplane-render");
    out = path.join(tmp.dir, "out");
    const env = { ...process.env, KUBEDOS_MASTER_SEED: TEST_SEED, KUBEDOS_WG_EPOCH: String(TEST_EPOCH) };
    const r = await run(process.execPath, [BIN, "render", "--stack", "dev", "--out", out], { env, cwd: repoPath() });
    assert.equal(r.code, 0, r.stderr);
    stdout = r.stdout;
    stderr = r.stderr;
  });
  after(() => tmp?.cleanup());

  const walk = (dir: string, rel = ""): string[] =>
    readdirSync(path.join(dir, rel), { withFileTypes: true })
      .flatMap((e) => (e.isDirectory() ? walk(dir, path.join(rel, e.name)) : [path.join(rel, e.name)]))
      .sort();

  it("prints the epoch it used and writes every node's and the operator's WireGuard files 0600 when KUBEDOS_WG_EPOCH is set", () => {
    assert.match(stdout, new RegExp(`^WireGuard key epoch ${TEST_EPOCH} \\(from KUBEDOS_WG_EPOCH\\)$`, "m"));
    assert.equal(stderr, "");
    const files = walk(out);
    const wgFiles = files.filter(
      (f) => f.endsWith(".conf") && (f.includes(`${path.sep}wireguard${path.sep}`) || f.startsWith(`operator${path.sep}`)),
    );
    const want = [
      ...dev.nodes.flatMap((n) => dev.planes.map((p) => path.join("nodes", n.name, "wireguard", `${p.name}.conf`))),
      path.join("operator", "wg1.conf"),
    ].sort();
    assert.deepEqual(wgFiles, want);
    for (const f of want) assert.equal((statSync(path.join(out, f)).mode & 0o777).toString(8), "600", `${f} mode`);
    for (const d of ["operator", ...dev.nodes.map((n) => path.join("nodes", n.name, "wireguard"))]) {
      assert.equal((statSync(path.join(out, d)).mode & 0o077).toString(8), "0", `${d} is not private`);
    }
    // the firstboot artifacts and plan.json are still there
    for (const n of dev.nodes) assert.ok(files.includes(path.join("nodes", n.name, "nftables.nft")), `${n.name}/nftables.nft`);
    assert.ok(files.includes("plan.json"));
  });

  it("keeps each private key in its own .conf file only (grep over the output directory) and out of the CLI output", async function () {
    const grep = needTool(this, "grep");
    const cluster = dev.cluster.name;
    const keys = [
      ...dev.nodes.flatMap((n) =>
        dev.planes.map((p) => ({
          key: nodePlaneKey(TEST_SEED, cluster, p.name, n.name, TEST_EPOCH).privateKey,
          file: path.join("nodes", n.name, "wireguard", `${p.name}.conf`),
        })),
      ),
      { key: operatorKey(TEST_SEED, cluster, "wg1", TEST_EPOCH).privateKey, file: path.join("operator", "wg1.conf") },
    ];
    for (const k of keys) {
      const r = await run(grep, ["-rlF", "--", k.key, out]);
      assert.ok(r.code === 0 || r.code === 1, `grep failed: ${r.stderr}`);
      const found = r.stdout
        .split("\n")
        .filter(Boolean)
        .map((f) => path.relative(out, f))
        .sort();
      assert.deepEqual(found, [k.file], `private key of ${k.file} found in`);
      assert.ok(!stdout.includes(k.key) && !stderr.includes(k.key), `${k.file}'s private key is in the CLI output`);
    }
    // No other file names a WireGuard private key at all, and the master seed is nowhere.
    const r = await run(grep, ["-rlE", "^PrivateKey *=", out]);
    assert.deepEqual(
      r.stdout
        .split("\n")
        .filter(Boolean)
        .map((f) => path.relative(out, f))
        .sort(),
      keys.map((k) => k.file).sort(),
    );
    const seed = await run(grep, ["-rlF", "--", TEST_SEED, out]);
    assert.equal(seed.stdout, "", "the master seed is written to the output");
    assert.ok(!stdout.includes(TEST_SEED));
  });

  it("renders files equal to renderNodeBackplane's when the CLI and the library use the same seed and epoch", () => {
    const mesh = renderMesh(dev, TEST_SEED, TEST_EPOCH);
    for (const n of dev.nodes) {
      for (const p of dev.planes) {
        assert.equal(
          readFileSync(path.join(out, "nodes", n.name, "wireguard", `${p.name}.conf`), "utf8"),
          mesh.files.get(n.name)!.get(p.name)!.content,
        );
      }
    }
    assert.equal(readFileSync(path.join(out, "operator", "wg1.conf"), "utf8"), mesh.operator!.content);
  });

  it("prints the clock-derived epoch when KUBEDOS_WG_EPOCH is unset", async () => {
    const env: NodeJS.ProcessEnv = { ...process.env, KUBEDOS_MASTER_SEED: TEST_SEED };
    delete env.KUBEDOS_WG_EPOCH;
    const before = rotationEpoch(30, new Date());
    const r = await run(process.execPath, [BIN, "render", "--stack", "dev", "--out", path.join(tmp.dir, "clock")], {
      env,
      cwd: repoPath(),
    });
    const after = rotationEpoch(30, new Date());
    assert.equal(r.code, 0, r.stderr);
    const m = /^WireGuard key epoch (\d+) \(30-day periods since 1970-01-01 at \d{4}-\d\d-\d\d; pin it with KUBEDOS_WG_EPOCH\)$/m.exec(
      r.stdout,
    );
    assert.ok(m, r.stdout);
    assert.ok([before, after].includes(Number(m[1])), `epoch ${m[1]}, expected ${before}`);
    const conf = parseWgConfig(readFileSync(path.join(tmp.dir, "clock", "nodes", "w-1", "wireguard", "wg2.conf"), "utf8"));
    assert.equal(field(conf.iface, "PrivateKey"), nodePlaneKey(TEST_SEED, dev.cluster.name, "wg2", "w-1", Number(m[1])).privateKey);
  });

  it("exits 2 and writes nothing when KUBEDOS_WG_EPOCH is malformed", async () => {
    const env = { ...process.env, KUBEDOS_MASTER_SEED: TEST_SEED, KUBEDOS_WG_EPOCH: "soon" };
    const dir = path.join(tmp.dir, "never");
    const r = await run(process.execPath, [BIN, "render", "--stack", "dev", "--out", dir], { env, cwd: repoPath() });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /KUBEDOS_WG_EPOCH="soon": not a non-negative integer/);
    assert.throws(() => statSync(dir), /ENOENT/);
  });
});
