/**
 * Every rendered wg-quick file under the real WireGuard tools:
 *
 *   wg-quick strip FILE       accepts it (exit 0) — every node, every plane, every fixture, and
 *                             the operator's file (copied to a temp dir as <plane>.conf, 0600)
 *   wg setconf IFACE STRIPPED accepts the stripped config on a real interface, and `wg showconf`
 *                             reads back the rendered interface and peers
 *
 * The interface is a wireguard-go (userspace) device in a throwaway network namespace. Its control
 * socket lives in /var/run/wireguard, which every namespace shares, so wireguard-go and wg run
 * under `unshare -m` with a private tmpfs on /run: nothing touches the host's /run/wireguard.
 * Everything is bounded in time; the namespace and every process in it are removed in `after`.
 */
import { strict as assert } from "node:assert";
import { mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import {
  BACKPLANE_TOOLS,
  field,
  needRoot,
  needTool,
  Netns,
  optionalField,
  parseWgConfig,
  PLANS,
  renderMesh,
  run,
  TEST_SEED,
  tempDir,
  type FixtureName,
  type RenderedMesh,
  type WgConfig,
} from "./helpers";

interface Written {
  label: string;
  /** The rendered file, as <dir>/<plane>.conf (wg-quick takes the interface name from it). */
  file: string;
  content: string;
}

/** Runs inside the namespace, in a private mount namespace: start wireguard-go, setconf + showconf each file. */
const SETCONF_SCRIPT = `
set -u
mount -t tmpfs -o mode=0755 kubedos-test /run || exit 90
WG_I_PREFER_BUGGY_USERSPACE_TO_POLISHED_KMOD=1 wireguard-go -f wgt >/dev/null 2>&1 &
pid=$!
trap 'kill "$pid" 2>/dev/null; wait "$pid" 2>/dev/null' EXIT
trap 'exit 143' INT TERM
i=0
while [ ! -S /run/wireguard/wgt.sock ]; do
  i=$((i + 1))
  if [ "$i" -gt 200 ]; then echo "wireguard-go did not create its socket" >&2; exit 91; fi
  sleep 0.05
done
for f in "$@"; do
  echo "=== $f"
  if ! wg setconf wgt "$f" 2>&1; then echo "!!! setconf failed"; continue; fi
  wg showconf wgt
done
`;

describe("backplane configs under the real WireGuard tools", function () {
  this.timeout(120_000);
  const fixtures = Object.keys(PLANS) as FixtureName[];
  const meshes = new Map<FixtureName, RenderedMesh>(fixtures.map((f) => [f, renderMesh(PLANS[f], TEST_SEED)]));
  let tmp: ReturnType<typeof tempDir>;
  let written: Written[];
  let netns: Netns | undefined;

  before(() => {
    tmp = tempDir("backplane-wg");
    written = [];
    for (const [fx, mesh] of meshes) {
      for (const [node, planes] of mesh.files) {
        for (const [plane, f] of planes) {
          const dir = path.join(tmp.dir, fx, node);
          mkdirSync(dir, { recursive: true, mode: 0o700 });
          const file = path.join(dir, `${plane}.conf`);
          writeFileSync(file, f.content, { mode: f.mode });
          written.push({ label: `${fx}/${node}/${plane}`, file, content: f.content });
        }
      }
      const op = mesh.operator!;
      const dir = path.join(tmp.dir, fx, "operator");
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      const file = path.join(dir, op.path);
      writeFileSync(file, op.content, { mode: op.mode });
      written.push({ label: `${fx}/operator/${op.plane}`, file, content: op.content });
    }
  });
  after(() => {
    netns?.cleanup();
    tmp?.cleanup();
  });

  it("renders files that `wg-quick strip` accepts for every node, plane and fixture, and the operator", async function () {
    const wgQuick = needTool(this, "wg-quick");
    needRoot(this, "wg-quick (it re-executes itself under sudo otherwise)");
    assert.equal(
      written.length,
      fixtures.reduce((s, f) => s + PLANS[f].nodes.length * PLANS[f].planes.length + 1, 0),
    );
    const results = await Promise.all(written.map(async (w) => ({ w, r: await run(wgQuick, ["strip", w.file]) })));
    const bad = results.filter(({ r }) => r.code !== 0 || r.stderr.trim() !== "");
    assert.deepEqual(
      bad.map(({ w, r }) => `${w.label}: exit ${r.code} ${r.stderr.trim()}`),
      [],
    );
    for (const { w, r } of results) {
      // strip keeps exactly what wg(8) understands: no Address / Table, and every peer
      assert.doesNotMatch(r.stdout, /^(Address|Table|DNS|MTU)\s*=/m, w.label);
      assert.equal(parseWgConfig(r.stdout).peers.length, parseWgConfig(w.content).peers.length, w.label);
    }
  });

  it("applies with `wg setconf` on a real (wireguard-go) interface, and `wg showconf` reads back every rendered peer", async function () {
    const ip = needTool(this, "ip");
    const wgQuick = needTool(this, "wg-quick");
    needTool(this, "wg");
    needTool(this, "wireguard-go");
    const unshare = needTool(this, "unshare");
    const timeout = needTool(this, "timeout");
    needRoot(this, "network namespaces and WireGuard interfaces");

    // The stripped configs (what wg setconf reads), one per rendered file.
    const stripped = await Promise.all(
      written.map(async (w, i) => {
        const r = await run(wgQuick, ["strip", w.file]);
        assert.equal(r.code, 0, `${w.label}: ${r.stderr}`);
        const file = path.join(tmp.dir, `stripped-${i}.conf`);
        writeFileSync(file, r.stdout, { mode: 0o600 });
        return { ...w, stripped: file };
      }),
    );

    netns = new Netns(ip);
    const ns = netns.add("wg");
    const r = await run(timeout, [
      "-k",
      "5",
      "90",
      ip,
      "netns",
      "exec",
      ns,
      unshare,
      "-m",
      "sh",
      "-c",
      SETCONF_SCRIPT,
      "sh",
      ...stripped.map((s) => s.stripped),
    ]);
    assert.equal(r.code, 0, `setconf run exited ${r.code}\n${r.stderr}\n${r.stdout.slice(0, 2000)}`);

    const shown = new Map<string, string>();
    for (const chunk of r.stdout.split(/^=== /m).slice(1)) {
      const nl = chunk.indexOf("\n");
      shown.set(chunk.slice(0, nl), chunk.slice(nl + 1));
    }
    const problems: string[] = [];
    for (const s of stripped) {
      const out = shown.get(s.stripped);
      if (out === undefined || out.includes("!!! setconf failed")) {
        problems.push(`${s.label}: wg setconf rejected it\n${out ?? "(no output)"}`);
        continue;
      }
      const diff = compare(parseWgConfig(s.content), parseWgConfig(out));
      if (diff.length > 0) problems.push(`${s.label}: ${diff.join("; ")}`);
    }
    assert.deepEqual(problems, []);
    assert.equal(shown.size, stripped.length);
  });

  it("leaves no namespace or wireguard-go process behind when the run is over", function () {
    if (!netns) this.skip();
    netns.cleanup();
    assert.deepEqual(netns.leftovers(), []);
  });
});

/** Differences between a rendered config and what `wg showconf` reports for it. */
function compare(rendered: WgConfig, shown: WgConfig): string[] {
  const diff: string[] = [];
  const eq = (what: string, a: string | undefined, b: string | undefined) => {
    if (a !== b) diff.push(`${what}: rendered ${a}, shown ${b}`);
  };
  eq("PrivateKey", field(rendered.iface, "PrivateKey"), field(shown.iface, "PrivateKey"));
  // No ListenPort (the operator roams): setconf keeps the device's port, so there is nothing to compare.
  const port = optionalField(rendered.iface, "ListenPort");
  if (port !== undefined) eq("ListenPort", port, optionalField(shown.iface, "ListenPort"));
  const shownPeers = new Map(shown.peers.map((p) => [field(p, "PublicKey"), p]));
  eq("peer count", String(rendered.peers.length), String(shown.peers.length));
  for (const p of rendered.peers) {
    const key = field(p, "PublicKey");
    const s = shownPeers.get(key);
    if (!s) {
      diff.push(`peer ${key} missing`);
      continue;
    }
    eq(`${key} AllowedIPs`, field(p, "AllowedIPs"), field(s, "AllowedIPs"));
    eq(`${key} Endpoint`, optionalField(p, "Endpoint"), optionalField(s, "Endpoint"));
    eq(`${key} PersistentKeepalive`, optionalField(p, "PersistentKeepalive"), optionalField(s, "PersistentKeepalive"));
  }
  return diff;
}

describe("backplane real-tool prerequisites", () => {
  const ctx = (): { ctx: Mocha.Context; skipped: () => boolean } => {
    let skipped = false;
    const c = {
      skip: () => {
        skipped = true;
        throw new Error("skipped");
      },
    } as unknown as Mocha.Context;
    return { ctx: c, skipped: () => skipped };
  };
  const withCi = (value: string | undefined, f: () => void): void => {
    const saved = process.env.CI;
    if (value === undefined) delete process.env.CI;
    else process.env.CI = value;
    const warn = console.warn;
    console.warn = () => undefined;
    try {
      f();
    } finally {
      console.warn = warn;
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  };

  it("fails, naming the Debian package, when a tool is missing and CI=true", () => {
    const c = ctx();
    BACKPLANE_TOOLS["wg-kubedos-missing"] = "wireguard-tools";
    try {
      withCi("true", () =>
        assert.throws(
          () => needTool(c.ctx, "wg-kubedos-missing"),
          /wg-kubedos-missing is not installed \(Debian package wireguard-tools\).*CI=true/,
        ),
      );
    } finally {
      delete BACKPLANE_TOOLS["wg-kubedos-missing"];
    }
    assert.equal(c.skipped(), false);
  });

  it("skips, with the reason, when a tool is missing outside CI", () => {
    const c = ctx();
    withCi(undefined, () => assert.throws(() => needTool(c.ctx, "wg-kubedos-missing"), /skipped/));
    assert.equal(c.skipped(), true);
  });
});
