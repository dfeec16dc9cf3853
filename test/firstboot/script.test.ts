/**
 * The firstboot script (components/firstboot/script.ts): statically (no destructive operation,
 * nothing installed, the identity it embeds), and by running it under bash against a temp root
 * and stub tools, to prove it is idempotent, guards the identity marker, and exits with the
 * documented codes. The stubs shadow every tool with a side effect (nft, sshd, sysctl, chattr,
 * systemctl, augenrules, auditctl, id), and PATH holds no sbin directory, so the real ones
 * cannot run.
 */
import { strict as assert } from "node:assert";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { findDestructiveOps, assertNoForbiddenOps } from "../../components/boundaries/destructive-ops";
import { FIRSTBOOT_EXIT, NODE_PATHS, renderFirstbootScript, renderIdentityJson } from "../../components/firstboot";
import type { Plan } from "../../components/plan/plan";
import { DESTRUCTIVE_FLAGS, type DestructiveFlag } from "../../components/spec/constraints";
import { unpinnedPackages } from "../../components/supplychain/pins";
import { DEV, parseSpec, planOf, toText } from "../plan/helpers";
import { artifact, nodeOf, PLANS, render, renderAll, requireTool, tempDir, type Rendered } from "./helpers";

const NO_FLAGS = Object.fromEntries(DESTRUCTIVE_FLAGS.map((f) => [f.flag, false])) as Record<DestructiveFlag, boolean>;

const STUBS: Record<string, string> = {
  id: 'if [ "${1:-}" = "-u" ]; then echo "${STUB_UID:-0}"; else echo "uid=${STUB_UID:-0}"; fi',
  nft: 'echo "nft $*" >>"$STUB_LOG"; if [ "$1" = "-c" ] && [ -n "${STUB_NFT_CHECK_FAIL:-}" ]; then echo "syntax error" >&2; exit 1; fi',
  sshd: 'echo "sshd $*" >>"$STUB_LOG"; if [ -n "${STUB_SSHD_FAIL:-}" ]; then echo "bad config" >&2; exit 255; fi',
  sysctl: [
    'echo "sysctl $*" >>"$STUB_LOG"',
    'if [ "$1" = "--system" ]; then exit 0; fi',
    "key=$2",
    `if [ -n "\${STUB_SYSCTL_OVERRIDE:-}" ] && [ "\${STUB_SYSCTL_OVERRIDE%%=*}" = "$key" ]; then printf '%s\\n' "\${STUB_SYSCTL_OVERRIDE#*=}"; exit 0; fi`,
    'v=$(sed -n "s/^$key *= *//p" "$KUBEDOS_FIRSTBOOT_ROOT/etc/sysctl.d/90-kubedos.conf")',
    'if [ -n "$v" ]; then echo "$v"; else exit 255; fi',
  ].join("\n"),
  chattr: 'echo "chattr $*" >>"$STUB_LOG"',
  systemctl: 'echo "systemctl $*" >>"$STUB_LOG"',
  augenrules: 'echo "augenrules $*" >>"$STUB_LOG"',
  auditctl: 'echo "auditctl $*" >>"$STUB_LOG"; echo "enabled 1"',
};

interface Sandbox {
  root: string;
  stubs: string;
  log: string;
  cleanup: () => void;
}

/** A temp root holding the node's baseline files, and a directory of stub tools. */
function sandbox(r: Rendered): Sandbox {
  const t = tempDir("firstboot-run");
  const root = path.join(t.dir, "root");
  const stubs = path.join(t.dir, "stubs");
  mkdirSync(stubs, { recursive: true });
  for (const [name, body] of Object.entries(STUBS)) {
    writeFileSync(path.join(stubs, name), `#!/bin/sh\n${body}\n`);
    chmodSync(path.join(stubs, name), 0o755);
  }
  for (const a of r.artifacts) {
    if (!a.nodePath) continue;
    mkdirSync(path.join(root, path.dirname(a.nodePath)), { recursive: true });
    writeFileSync(path.join(root, a.nodePath), a.content, { mode: a.mode });
  }
  return { root, stubs, log: path.join(t.dir, "calls.log"), cleanup: t.cleanup };
}

interface Run {
  code: number;
  lines: Array<Record<string, unknown>>;
  calls: string[];
  stderr: string;
}

function runScript(bash: string, sb: Sandbox, script: string, env: Record<string, string> = {}): Run {
  const file = path.join(sb.root, "..", "kubedos-firstboot");
  writeFileSync(file, script, { mode: 0o755 });
  rmSync(sb.log, { force: true });
  // chattr and systemctl live in /usr/bin, which is on the test PATH: their stubs must shadow them.
  for (const tool of ["chattr", "systemctl"]) assert.ok(existsSync(path.join(sb.stubs, tool)), `stub ${tool} must shadow the real one`);
  const r = spawnSync(bash, [file], {
    encoding: "utf8",
    env: {
      KUBEDOS_FIRSTBOOT_ROOT: sb.root,
      KUBEDOS_FIRSTBOOT_PATH: `${sb.stubs}:/usr/bin:/bin`,
      STUB_LOG: sb.log,
      HOME: sb.root,
      ...env,
    },
  });
  const lines = r.stdout
    .split("\n")
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const calls = existsSync(sb.log) ? readFileSync(sb.log, "utf8").split("\n").filter(Boolean) : [];
  return { code: r.status ?? -1, lines, calls, stderr: r.stderr };
}

const steps = (run: Run): string[] => run.lines.map((l) => `${l.step}:${l.status}`);

describe("firstboot script", () => {
  const all = renderAll();

  for (const r of all) {
    it(`renders a script that passes assertNoForbiddenOps with every flag false when the node is ${r.label}`, () => {
      const script = artifact(r, "firstboot.sh");
      assert.doesNotThrow(() => assertNoForbiddenOps(script, NO_FLAGS, r.label));
      assert.deepEqual(findDestructiveOps(script), []);
      assert.deepEqual(unpinnedPackages(script), []);
      assert.ok(script.startsWith("#!/usr/bin/env bash\n"));
      assert.match(script, /^set -euo pipefail$/m);
      assert.doesNotMatch(
        script,
        /(^|[;&|(]\s*|\$\(\s*)(curl|wget|apt-get|apt|aptitude|dpkg|pip3?|npm|snap)\s/m,
        "the script fetches and installs nothing",
      );
    });

    it(`renders the identity marker from the plan when the node is ${r.label}`, () => {
      const script = artifact(r, "firstboot.sh");
      const m = /<<'KUBEDOS_IDENTITY'\n([\s\S]*?)KUBEDOS_IDENTITY\n/.exec(script);
      assert.ok(m, "identity heredoc");
      assert.equal(m[1], renderIdentityJson(r.plan, r.node));
      const id = JSON.parse(m[1]);
      assert.deepEqual(id, {
        schema: "kubedos.ca/identity/v1",
        identity: {
          cluster: r.plan.cluster.name,
          node: r.node.name,
          role: r.node.role,
          failureDomain: r.node.failureDomain,
          ordinal: r.node.ordinal,
          planes: r.node.addresses,
        },
        firstboot: { artifactVersion: r.plan.cluster.artifactVersion, specDigest: r.plan.specDigest },
      });
      assert.match(script, new RegExp(`^readonly SPEC_DIGEST='${r.plan.specDigest}'$`, "m"));
    });
  }

  it("documents every exit code once when the script is rendered", () => {
    const codes = Object.values(FIRSTBOOT_EXIT).map((e) => e.code);
    assert.equal(new Set(codes).size, codes.length, "exit codes are distinct");
    const script = artifact(render(PLANS.dev, "cp-1"), "firstboot.sh");
    for (const e of Object.values(FIRSTBOOT_EXIT))
      assert.ok(script.includes(`#   ${String(e.code).padStart(2)}  ${e.meaning}\n`), e.meaning);
  });

  it("rejects a node when its name could break out of the script's quoting", () => {
    const plan = structuredClone(PLANS.dev);
    plan.nodes[0].name = "cp-1';reboot;'";
    assert.throws(() => renderFirstbootScript(plan, plan.nodes[0]), /not a DNS-1123 label/);
  });

  it("rejects the plan when its spec digest is not sha256 hex", () => {
    const plan: Plan = { ...PLANS.dev, specDigest: "sha256:$(reboot)" };
    assert.throws(() => renderFirstbootScript(plan, nodeOf(plan, "cp-1")), /not sha256:<64 hex>/);
  });

  describe("running under bash with stub tools", function () {
    this.timeout(30_000);
    const r = render(PLANS.dev, "cp-2");
    const script = artifact(r, "firstboot.sh");
    let sb: Sandbox;
    let bash: string;
    beforeEach(function () {
      bash = requireTool(this, "bash");
      sb = sandbox(r);
    });
    afterEach(() => sb?.cleanup());
    const file = (p: string) => path.join(sb.root, p);

    it("renders a script that applies the baseline, writes the marker and raises readiness when the node boots fresh", () => {
      const run = runScript(bash, sb, script);
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(steps(run), [
        "preflight:start",
        "preflight:ok",
        "sysctl:start",
        "sysctl:ok",
        "nftables:start",
        "nftables:ok",
        "sshd:start",
        "sshd:ok",
        "journald:start",
        "journald:ok",
        "audit:start",
        "audit:ok",
        "airgap:start",
        "airgap:ok",
        "identity:start",
        "identity:ok",
        "ready:start",
        "ready:ok",
        "complete:ok",
      ]);
      for (const l of run.lines) {
        assert.deepEqual(Object.keys(l).slice(0, 5), ["ts", "stage", "node", "step", "status"]);
        assert.equal(l.stage, "firstboot");
        assert.equal(l.node, "cp-2");
        assert.match(String(l.ts), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
      }
      assert.equal(readFileSync(file(NODE_PATHS.identity), "utf8"), renderIdentityJson(r.plan, r.node));
      assert.equal(readFileSync(file(NODE_PATHS.ready), "utf8"), `${r.plan.specDigest}\n`);
      assert.equal(readFileSync(file(NODE_PATHS.log), "utf8").split("\n").filter(Boolean).length, run.lines.length);
      const at = (p: string) => path.join(sb.root, p);
      for (const call of [
        "sysctl --system",
        `nft -c -f ${at(NODE_PATHS.nftables)}`,
        `nft -f ${at(NODE_PATHS.nftables)}`,
        "systemctl enable nftables.service",
        `sshd -t -f ${at(NODE_PATHS.sshdConfig)}`,
        "systemctl reload-or-restart ssh.service",
        "systemctl restart systemd-journald.service",
        "augenrules --load",
        `chattr +i ${at(NODE_PATHS.identity)}`,
      ])
        assert.ok(run.calls.includes(call), `expected call: ${call}\ncalls:\n${run.calls.join("\n")}`);
      assert.ok(
        run.calls.indexOf(`nft -c -f ${at(NODE_PATHS.nftables)}`) < run.calls.indexOf(`nft -f ${at(NODE_PATHS.nftables)}`),
        "validate before load",
      );
      assert.ok(
        run.calls.indexOf(`sshd -t -f ${at(NODE_PATHS.sshdConfig)}`) < run.calls.indexOf("systemctl reload-or-restart ssh.service"),
        "sshd -t before reload",
      );
    });

    it("renders a script that re-asserts the same state when it is re-run", () => {
      assert.equal(runScript(bash, sb, script).code, 0);
      const identity = readFileSync(file(NODE_PATHS.identity), "utf8");
      const again = runScript(bash, sb, script);
      assert.equal(again.code, 0, again.stderr);
      assert.equal(readFileSync(file(NODE_PATHS.identity), "utf8"), identity);
      assert.equal(readFileSync(file(NODE_PATHS.ready), "utf8"), `${r.plan.specDigest}\n`);
      assert.ok(again.calls.includes(`chattr +i ${path.join(sb.root, NODE_PATHS.identity)}`), "immutability re-asserted");
    });

    it("keeps the first identity marker and refreshes readiness when re-run from a later spec", () => {
      assert.equal(runScript(bash, sb, script).code, 0);
      const first = readFileSync(file(NODE_PATHS.identity), "utf8");
      const doc = parseSpec(DEV);
      doc.metadata.labels.ticket = "OPS-42";
      const later = planOf(toText(doc));
      assert.notEqual(later.specDigest, r.plan.specDigest);
      const run = runScript(bash, sb, renderFirstbootScript(later, nodeOf(later, "cp-2")));
      assert.equal(run.code, 0, run.stderr);
      assert.equal(readFileSync(file(NODE_PATHS.identity), "utf8"), first, "the marker is written once");
      assert.equal(readFileSync(file(NODE_PATHS.ready), "utf8"), `${later.specDigest}\n`);
    });

    it("rejects a re-run with exit 20, changing nothing, when the identity marker records another identity", () => {
      mkdirSync(path.dirname(file(NODE_PATHS.identity)), { recursive: true });
      const other = renderIdentityJson(PLANS.dev, nodeOf(PLANS.dev, "cp-3")).replace(/"node":"cp-3"/, '"node":"cp-2"');
      writeFileSync(file(NODE_PATHS.identity), other);
      const run = runScript(bash, sb, script);
      assert.equal(run.code, FIRSTBOOT_EXIT.identityChanged.code);
      assert.equal(run.code, 20);
      const last = run.lines[run.lines.length - 1];
      assert.equal(last.status, "fail");
      assert.equal(last.code, 20);
      assert.deepEqual(run.calls, [], "nothing was applied");
      assert.equal(readFileSync(file(NODE_PATHS.identity), "utf8"), other);
      assert.ok(!existsSync(file(NODE_PATHS.ready)));
    });

    const failures: Array<[string, Record<string, string>, keyof typeof FIRSTBOOT_EXIT, string]> = [
      ["a sysctl value is overridden by a later file", { STUB_SYSCTL_OVERRIDE: "net.ipv4.ip_forward=1" }, "sysctl", "sysctl"],
      ["nft -c rejects the ruleset", { STUB_NFT_CHECK_FAIL: "1" }, "nftablesInvalid", "nftables"],
      ["sshd -t rejects the config", { STUB_SSHD_FAIL: "1" }, "sshdInvalid", "sshd"],
      ["it does not run as root", { STUB_UID: "1000" }, "notRoot", "preflight"],
    ];
    for (const [when, env, exit, step] of failures) {
      it(`rejects the run with exit ${FIRSTBOOT_EXIT[exit].code} when ${when}`, () => {
        const run = runScript(bash, sb, script, env);
        assert.equal(run.code, FIRSTBOOT_EXIT[exit].code, run.stderr);
        const last = run.lines[run.lines.length - 1];
        assert.deepEqual([last.step, last.status, last.code], [step, "fail", FIRSTBOOT_EXIT[exit].code]);
        assert.ok(!existsSync(file(NODE_PATHS.ready)), "no readiness after a failure");
      });
    }

    it("rejects the run with exit 3 when a required tool is missing from the image", () => {
      rmSync(path.join(sb.stubs, "nft"));
      const run = runScript(bash, sb, script);
      assert.equal(run.code, FIRSTBOOT_EXIT.missingTool.code);
      assert.match(String(run.lines[run.lines.length - 1].detail), /missing tools: nft$/);
    });

    it("renders failure details as valid JSON when the detail holds quotes and backslashes", () => {
      const run = runScript(bash, sb, script, { STUB_SYSCTL_OVERRIDE: 'net.ipv4.ip_forward=1"\\x' });
      assert.equal(run.code, FIRSTBOOT_EXIT.sysctl.code);
      assert.match(String(run.lines[run.lines.length - 1].detail), /net\.ipv4\.ip_forward=1"\\x, want 0/);
    });
  });
});
