/**
 * Every rendered Stage 2 artifact checked by the real tool that will read it on the node:
 *
 *   cloud-init.yaml  cloud-init schema --config-file FILE            (cloud-init)
 *   sshd_config      sshd -t -f FILE -h HOSTKEY, sshd -T … as well  (openssh-server)
 *   host key         ssh-keygen -y -f HOSTKEY, ssh-keygen -l -f …    (openssh-client)
 *   nftables.nft     nft -c -f FILE (root / CAP_NET_ADMIN)           (nftables)
 *   firstboot.sh     bash -n FILE; shellcheck --shell=bash --severity=style FILE (shellcheck)
 *   sysctl.conf      every key exists under /proc/sys                (kernel)
 *
 * The set covers every golden node (golden.test.ts proves golden == rendered) plus two apt
 * mirror variants. A missing tool skips with the Debian package to install, or fails when CI=true.
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { CIPHERS, KEX_ALGORITHMS, KEY_ALGORITHMS, MACS, renderNftables } from "../../components/firstboot";
import { allOk, artifact, renderAll, requireRoot, requireTool, run, skipOrFail, tempDir, TOOL_PACKAGES, type Rendered } from "./helpers";

interface Written {
  r: Rendered;
  dir: string;
  file: (name: string) => string;
  /** The node's host private key, mode 0600 (sshd refuses a readable key). */
  hostKeyFile: string;
}

/** Sysctl keys that exist only with an optional kernel feature, and which one. */
const KERNEL_FEATURE_KEYS: Record<string, string> = {
  "kernel.yama.ptrace_scope": "the Yama LSM (CONFIG_SECURITY_YAMA; Debian and Ubuntu kernels enable it)",
};

describe("firstboot artifacts under the real tools", function () {
  this.timeout(60_000);
  const rendered = renderAll();
  let tmp: ReturnType<typeof tempDir>;
  let written: Written[];

  before(() => {
    tmp = tempDir("firstboot-tools");
    written = rendered.map((r, i) => {
      const dir = path.join(tmp.dir, String(i));
      mkdirSync(dir);
      for (const a of r.artifacts) writeFileSync(path.join(dir, a.path), a.content, { mode: a.mode });
      const hostKeyFile = path.join(dir, "ssh_host_ed25519_key");
      writeFileSync(hostKeyFile, r.hostKey.privateKey, { mode: 0o600 });
      return { r, dir, file: (n) => path.join(dir, n), hostKeyFile };
    });
  });
  after(() => tmp?.cleanup());

  it("renders cloud-init.yaml that `cloud-init schema --config-file` accepts when the node boots with cloud-init", async function () {
    const ci = requireTool(this, "cloud-init");
    await allOk(
      written
        .filter((w) => w.r.artifacts.some((a) => a.path === "cloud-init.yaml"))
        .map(async (w) => {
          const res = await run(ci, ["schema", "--config-file", w.file("cloud-init.yaml")]);
          const out = res.stdout + res.stderr;
          if (res.code !== 0 || !/Valid cloud-config/.test(out) || /deprecations:\s*\S/i.test(out))
            return `${w.r.label}: cloud-init schema exited ${res.code}\n${out}`;
          return undefined;
        }),
    );
  });

  it("renders sshd_config that `sshd -t` accepts without a warning when the derived host key is given", async function () {
    const sshd = requireTool(this, "sshd");
    ensurePrivsepDir(this);
    await allOk(
      written.map(async (w) => {
        const res = await run(sshd, ["-t", "-f", w.file("sshd_config"), "-h", w.hostKeyFile]);
        // sshd -t also tries the configured /etc/ssh/ssh_host_ed25519_key; a test machine may lack it.
        const noise = /^Unable to load host key: \/etc\/ssh\/ssh_host_ed25519_key$/;
        const warnings = res.stderr.split("\n").filter((l) => l.trim() !== "" && !noise.test(l.trim()));
        if (res.code !== 0 || warnings.length > 0) return `${w.r.label}: sshd -t exited ${res.code}\n${res.stderr}`;
        return undefined;
      }),
    );
  });

  it("renders sshd_config whose effective settings (`sshd -T`) are key-only and modern when sshd parses it", async function () {
    const sshd = requireTool(this, "sshd");
    ensurePrivsepDir(this);
    await allOk(
      written.map(async (w) => {
        const res = await run(sshd, ["-T", "-f", w.file("sshd_config"), "-h", w.hostKeyFile]);
        if (res.code !== 0) return `${w.r.label}: sshd -T exited ${res.code}\n${res.stderr}`;
        const eff = new Map<string, string[]>();
        for (const line of res.stdout.split("\n").filter(Boolean)) {
          const [k, ...v] = line.split(" ");
          eff.set(k, [...(eff.get(k) ?? []), v.join(" ")]);
        }
        const want: Record<string, string> = {
          port: String(w.r.node.placement.sshPort ?? 22),
          passwordauthentication: "no",
          kbdinteractiveauthentication: "no",
          pubkeyauthentication: "yes",
          authenticationmethods: "publickey",
          permitrootlogin: "no",
          permitemptypasswords: "no",
          maxauthtries: "3",
          logingracetime: "30",
          allowusers: w.r.plan.ssh.allowUsers.join(" "),
          kexalgorithms: KEX_ALGORITHMS.join(","),
          ciphers: CIPHERS.join(","),
          macs: MACS.join(","),
          hostkeyalgorithms: KEY_ALGORITHMS.join(","),
          pubkeyacceptedalgorithms: KEY_ALGORITHMS.join(","),
          x11forwarding: "no",
          allowagentforwarding: "no",
          allowtcpforwarding: "no",
          permittunnel: "no",
          disableforwarding: "yes",
          loglevel: "VERBOSE",
        };
        const bad = Object.entries(want).filter(([k, v]) => (eff.get(k) ?? []).join("|") !== v);
        return bad.length > 0
          ? `${w.r.label}: sshd -T differs: ${bad.map(([k, v]) => `${k}=${(eff.get(k) ?? []).join("|")} (want ${v})`).join(", ")}`
          : undefined;
      }),
    );
  });

  it("renders a host key that `ssh-keygen` reads back as the derived public key and fingerprint", async function () {
    const keygen = requireTool(this, "ssh-keygen");
    await allOk(
      written.map(async (w) => {
        const pub = await run(keygen, ["-y", "-f", w.hostKeyFile]);
        const fp = await run(keygen, ["-l", "-E", "sha256", "-f", w.hostKeyFile]);
        const first2 = (s: string) => s.trim().split(/\s+/).slice(0, 2).join(" ");
        if (pub.code !== 0 || first2(pub.stdout) !== first2(w.r.hostKey.publicKey))
          return `${w.r.label}: ssh-keygen -y gave ${pub.stdout.trim() || pub.stderr.trim()}`;
        if (fp.code !== 0 || fp.stdout.split(/\s+/)[1] !== w.r.hostKey.fingerprint)
          return `${w.r.label}: ssh-keygen -l gave ${fp.stdout.trim()}`;
        return undefined;
      }),
    );
  });

  it("renders nftables.nft that `nft -c -f` accepts when run with CAP_NET_ADMIN", async function () {
    const nft = requireTool(this, "nft");
    requireRoot(this, "nft -c");
    await allOk(
      written.map(async (w) => {
        const res = await run(nft, ["-c", "-f", w.file("nftables.nft")]);
        return res.code !== 0 || res.stderr.trim() !== "" ? `${w.r.label}: nft -c exited ${res.code}\n${res.stderr}` : undefined;
      }),
    );
  });

  it("renders nftables that `nft -c` accepts when allowFrom CIDRs overlap and carry host bits", async function () {
    const nft = requireTool(this, "nft");
    requireRoot(this, "nft -c");
    const base = rendered.find((r) => r.label === "hetzner/cp-1")!;
    const plan = { ...base.plan, ssh: { ...base.plan.ssh, allowFrom: ["10.0.0.0/8", "10.1.2.3/16", "10.1.0.0/16", "192.0.2.9/32"] } };
    const f = path.join(tmp.dir, "overlap.nft");
    writeFileSync(f, renderNftables(plan, base.node));
    const res = await run(nft, ["-c", "-f", f]);
    assert.equal(res.code, 0, res.stderr);
  });

  it("renders a firstboot script that `bash -n` and `shellcheck` accept without a finding", async function () {
    const bash = requireTool(this, "bash");
    const sc = requireTool(this, "shellcheck");
    await allOk(
      written.map(async (w) => {
        const syntax = await run(bash, ["-n", w.file("firstboot.sh")]);
        if (syntax.code !== 0) return `${w.r.label}: bash -n exited ${syntax.code}\n${syntax.stderr}`;
        const res = await run(sc, ["--shell=bash", "--severity=style", "--format=gcc", w.file("firstboot.sh")]);
        return res.code !== 0 ? `${w.r.label}: shellcheck exited ${res.code}\n${res.stdout}${res.stderr}` : undefined;
      }),
    );
  });

  it("renders only sysctl keys that exist under /proc/sys when the kernel has the feature", function () {
    if (!existsSync("/proc/sys/kernel")) skipOrFail(this, "/proc/sys is not mounted (Linux only)");
    const keys = new Set<string>();
    for (const r of rendered) {
      for (const line of artifact(r, "sysctl.conf").split("\n")) {
        const m = /^([a-z0-9_.]+)\s*=\s*(\S+)$/.exec(line);
        if (m) keys.add(m[1]);
      }
    }
    assert.ok(keys.size >= 20, `only ${keys.size} keys parsed`);
    const missing = [...keys].filter((k) => !existsSync(path.join("/proc/sys", ...k.split("."))));
    const unexplained = missing.filter((k) => !(k in KERNEL_FEATURE_KEYS));
    assert.deepEqual(unexplained, [], "sysctl keys missing from /proc/sys (a typo, or a feature to document)");
    for (const k of missing) console.warn(`      note: ${k} is absent on this kernel: it needs ${KERNEL_FEATURE_KEYS[k]}`);
  });
});

describe("firstboot real-tool prerequisites", () => {
  const fakeCtx = (): { ctx: Mocha.Context; skipped: () => boolean } => {
    let skipped = false;
    const ctx = {
      skip: () => {
        skipped = true;
        throw new Error("skipped");
      },
    } as unknown as Mocha.Context;
    return { ctx, skipped: () => skipped };
  };
  const withCi = <T>(value: string | undefined, f: () => T): T => {
    const saved = process.env.CI;
    if (value === undefined) delete process.env.CI;
    else process.env.CI = value;
    try {
      return f();
    } finally {
      if (saved === undefined) delete process.env.CI;
      else process.env.CI = saved;
    }
  };
  const warn = console.warn;
  beforeEach(() => (console.warn = () => undefined));
  afterEach(() => (console.warn = warn));

  it("rejects a missing tool, naming its Debian package, when CI=true", () => {
    const { ctx, skipped } = fakeCtx();
    withCi("true", () => assert.throws(() => requireTool(ctx, "nft-kubedos-missing"), /nft-kubedos-missing is not installed .*CI=true/));
    assert.equal(skipped(), false);
    TOOL_PACKAGES["nft-kubedos-missing"] = "nftables";
    try {
      withCi("true", () => assert.throws(() => requireTool(ctx, "nft-kubedos-missing"), /Debian package nftables/));
    } finally {
      delete TOOL_PACKAGES["nft-kubedos-missing"];
    }
  });

  it("renders a skip, not a failure, when a tool is missing outside CI", () => {
    const { ctx, skipped } = fakeCtx();
    withCi(undefined, () => assert.throws(() => requireTool(ctx, "nft-kubedos-missing"), /skipped/));
    assert.equal(skipped(), true);
  });
});

/** sshd -t/-T insist on the privilege separation directory /run/sshd (ssh.service creates it on a node). */
function ensurePrivsepDir(ctx: Mocha.Context): void {
  if (existsSync("/run/sshd")) return;
  if (process.getuid?.() !== 0) skipOrFail(ctx, "sshd -t needs /run/sshd, which only root can create (mkdir -p /run/sshd)");
  mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
}
