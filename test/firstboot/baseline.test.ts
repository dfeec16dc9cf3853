/**
 * The node-independent baseline files: the sysctl baseline (components/firstboot/sysctl.ts), the
 * journald drop-in and the audit rules (components/firstboot/logging.ts).
 */
import { strict as assert } from "node:assert";
import { renderAuditRules, renderJournald, renderSysctl, SYSCTL_BASELINE } from "../../components/firstboot";
import { artifact, PLANS, render } from "./helpers";

/** key → value pairs of a sysctl.d file. */
function parseSysctl(text: string): Array<[string, string]> {
  return text
    .split("\n")
    .filter((l) => l.trim() !== "" && !l.startsWith("#"))
    .map((l) => {
      const m = /^([a-z0-9_.]+)\s*=\s*(\S+)$/.exec(l);
      assert.ok(m, `unparseable sysctl line: ${l}`);
      return [m[1], m[2]];
    });
}

/** The baseline as the brief states it, independently of the renderer's table. */
const REQUIRED_SYSCTL: Record<string, string> = {
  "net.ipv4.conf.all.rp_filter": "1",
  "net.ipv4.conf.default.rp_filter": "1",
  "net.ipv4.conf.all.accept_redirects": "0",
  "net.ipv6.conf.all.accept_redirects": "0",
  "net.ipv4.conf.all.send_redirects": "0",
  "net.ipv4.conf.all.accept_source_route": "0",
  "net.ipv6.conf.all.accept_source_route": "0",
  "net.ipv4.conf.all.log_martians": "1",
  "net.ipv4.tcp_syncookies": "1",
  "net.ipv4.icmp_echo_ignore_broadcasts": "1",
  "kernel.kptr_restrict": "2",
  "kernel.dmesg_restrict": "1",
  "kernel.unprivileged_bpf_disabled": "1",
  "net.core.bpf_jit_harden": "2",
  "fs.protected_hardlinks": "1",
  "fs.protected_symlinks": "1",
  "fs.protected_fifos": "2",
  "fs.protected_regular": "2",
  "kernel.yama.ptrace_scope": "1",
  "net.ipv4.ip_forward": "0",
};

describe("firstboot baseline files", () => {
  it("renders every required sysctl key with its value, each once, when the baseline is rendered", () => {
    const pairs = parseSysctl(renderSysctl());
    const keys = pairs.map(([k]) => k);
    assert.equal(new Set(keys).size, keys.length, "no key twice");
    const map = new Map(pairs);
    for (const [k, v] of Object.entries(REQUIRED_SYSCTL)) assert.equal(map.get(k), v, k);
    assert.match(renderSysctl(), /Kubernetes stage turns forwarding on explicitly/);
  });

  it("renders the same sysctl pairs the firstboot script verifies when a node's script is rendered", () => {
    const r = render(PLANS.dev, "cp-1");
    const script = artifact(r, "firstboot.sh");
    const m = /readonly -a SYSCTL_EXPECTED=\(\n([\s\S]*?)\n\)/.exec(script);
    assert.ok(m);
    const verified = m[1].split("\n").map((l) => l.trim().replace(/^'|'$/g, ""));
    assert.deepEqual(
      verified,
      parseSysctl(artifact(r, "sysctl.conf")).map(([k, v]) => `${k}=${v}`),
    );
    assert.deepEqual(
      verified,
      SYSCTL_BASELINE.map((s) => `${s.key}=${s.value}`),
    );
  });

  it("renders a persistent, compressed, sealed journal that does not forward to syslog", () => {
    const text = renderJournald();
    const lines = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
    assert.equal(lines[0], "[Journal]");
    const kv = new Map(lines.slice(1).map((l) => l.split("=", 2) as [string, string]));
    assert.equal(kv.get("Storage"), "persistent");
    assert.equal(kv.get("Compress"), "yes");
    assert.equal(kv.get("Seal"), "yes");
    assert.equal(kv.get("ForwardToSyslog"), "no");
    assert.match(kv.get("SystemMaxUse") ?? "", /^\d+[KMG]$/);
  });

  it("renders audit rules that watch identity, SSH, sudoers, the firewall and the kubedos markers", () => {
    const rules = renderAuditRules()
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"));
    const watched = rules.filter((l) => l.startsWith("-w ")).map((l) => l.split(" ")[1]);
    for (const p of [
      "/etc/passwd",
      "/etc/group",
      "/etc/shadow",
      "/etc/gshadow",
      "/etc/sudoers",
      "/etc/sudoers.d/",
      "/etc/ssh/sshd_config",
      "/etc/nftables.conf",
      "/etc/kubedos/",
      "/var/lib/kubedos/",
      "/etc/localtime",
    ])
      assert.ok(watched.includes(p), `watches ${p}`);
    for (const arch of ["b64", "b32"]) {
      assert.ok(rules.some((l) => l.includes(`arch=${arch}`) && /-S \S*init_module\S*/.test(l) && l.endsWith("-k modules")));
      assert.ok(rules.some((l) => l.includes(`arch=${arch}`) && /-S \S*settimeofday\S*/.test(l) && l.endsWith("-k time-change")));
    }
  });

  it("renders `-e 2` as the last audit rule, once, so the rules are immutable until reboot", () => {
    const rules = renderAuditRules()
      .split("\n")
      .filter((l) => l !== "" && !l.startsWith("#"));
    assert.equal(rules[rules.length - 1], "-e 2");
    assert.equal(rules.filter((l) => l.startsWith("-e")).length, 1);
    assert.ok(!rules.some((l) => l.startsWith("-D")), "never deletes the distribution's rules");
  });

  it("renders only audit rule lines auditctl understands (watch, syscall, enable) when parsed", () => {
    const grammar = [
      /^-w \/[\w./-]+ -p [rwxa]+ -k [a-z-]+$/,
      /^-a always,exit -F arch=b(32|64) -S [a-z_]+(,[a-z_]+)* -k [a-z-]+$/,
      /^-e [012]$/,
    ];
    for (const l of renderAuditRules()
      .split("\n")
      .filter((x) => x !== "" && !x.startsWith("#")))
      assert.ok(
        grammar.some((g) => g.test(l)),
        `not an audit rule: ${l}`,
      );
  });
});
