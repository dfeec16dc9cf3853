/**
 * Bare metal (components/substrate/baremetal.ts + components/firstboot/apply.ts): no substrate
 * resource at all; Stage 2 reaches each existing host over SSH with the host key the spec pins,
 * installs the rendered baseline files through heredocs and runs the firstboot script. The create
 * script is checked three ways: as text, by shellcheck, and by running it under bash with a fake
 * `sudo` that installs into a temp root (so what lands on disk is compared byte for byte).
 */
import { strict as assert } from "node:assert";
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { PlanResult } from "../../cli/commands/plan";
import type { RecordedResource } from "../../cli/engine/harness";
import { findDestructiveOps } from "../../components/boundaries/destructive-ops";
import { NODE_PATHS, renderNodeFirstboot } from "../../components/firstboot";
import type { Plan } from "../../components/plan/plan";
import type { ClusterSpec } from "../../components/spec/schema";
import {
  BAREMETAL,
  COMMAND_TYPE,
  connectionOf,
  descendants,
  edited,
  named,
  plan,
  requireTool,
  run,
  scratch,
  shellcheck,
  specAndPlan,
  stageUrn,
} from "./helpers";

type BareMetalSpec = Extract<ClusterSpec["spec"]["substrate"], { type: "baremetal" }>["baremetal"];

const HEREDOC = "KUBEDOS_FIRSTBOOT_EOF";

/** Stands in for sudo: `install … SRC DST` copies into $FAKEROOT with the mode; anything else is logged. */
const FAKE_SUDO = `#!/bin/bash
set -eu
if [ "$1" = install ]; then
  shift
  mode=""; owner=""; group=""; files=()
  while [ $# -gt 0 ]; do
    case "$1" in
      -D) shift ;;
      -o) owner=$2; shift 2 ;;
      -g) group=$2; shift 2 ;;
      -m) mode=$2; shift 2 ;;
      *) files+=("$1"); shift ;;
    esac
  done
  dst="$FAKEROOT\${files[1]}"
  mkdir -p "$(dirname "$dst")"
  cp "\${files[0]}" "$dst"
  chmod "$mode" "$dst"
  echo "install $owner:$group $mode \${files[1]}" >> "$FAKEROOT/.sudo.log"
else
  echo "run $*" >> "$FAKEROOT/.sudo.log"
fi
`;

describe("components/substrate/baremetal", function () {
  this.timeout(30_000);
  const tmp = scratch("substrate-baremetal");
  after(() => tmp.cleanup());

  let res: PlanResult;
  let p: Plan;
  let bm: BareMetalSpec;
  const cmdOf = (node: string): RecordedResource => named(res.run, `${p.cluster.name}-${node}-firstboot`, COMMAND_TYPE);
  const scriptOf = (node: string): string => {
    const create = cmdOf(node).inputs.create;
    assert.equal(typeof create, "string", `${node} create is not a plain string`);
    return create as string;
  };

  before(async () => {
    res = await plan({ spec: "test/fixtures/baremetal.yaml" });
    const sp = specAndPlan(BAREMETAL);
    p = sp.plan;
    assert.equal(sp.spec.spec.substrate.type, "baremetal");
    bm = (sp.spec.spec.substrate as Extract<ClusterSpec["spec"]["substrate"], { type: "baremetal" }>).baremetal;
  });

  it("registers no proxmoxve: or hcloud: resource, and nothing under the substrate Stage, when the hosts already exist", () => {
    const foreign = res.run.resources.filter((r) => r.type.startsWith("proxmoxve:") || r.type.startsWith("hcloud:"));
    assert.deepEqual(
      foreign.map((r) => r.name),
      [],
    );
    assert.deepEqual(descendants(res.run, stageUrn(res.run, `${p.cluster.name}-stage1-substrate`)), []);
  });

  it("registers one firstboot command per node under the firstboot Stage when the program runs", () => {
    const stage2 = stageUrn(res.run, `${p.cluster.name}-stage2-firstboot`);
    const cmds = descendants(res.run, stage2);
    assert.deepEqual(cmds.map((c) => c.name).sort(), p.nodes.map((n) => `${p.cluster.name}-${n.name}-firstboot`).sort());
    for (const c of cmds) {
      assert.equal(c.type, COMMAND_TYPE);
      assert.equal(c.parent, stage2, `${c.name} is not a direct child of Stage 2`);
    }
  });

  it("connects to the spec's address and port and pins the spec's host key when a host is reached over SSH", () => {
    for (const h of bm.hosts) {
      const conn = connectionOf(cmdOf(h.node));
      assert.equal(conn.host, h.address, `${h.node} host`);
      assert.equal(conn.port, h.port ?? 22, `${h.node} port`);
      assert.equal(conn.hostKey, h.hostKey, `${h.node} host key is not the pinned one`);
      assert.equal(typeof conn.privateKey, "string");
      assert.equal(conn.password, undefined, `${h.node} uses a password`);
    }
    assert.ok(
      bm.hosts.some((h) => h.port === 2222),
      "the fixture covers a non-default port",
    );
  });

  it("writes every baseline file through a quoted heredoc and installs it at its node path with its mode when the script runs", () => {
    for (const n of p.nodes) {
      const script = scriptOf(n.name);
      const files = renderNodeFirstboot({ plan: p, node: n }).filter((f) => f.nodePath);
      assert.ok(files.length >= 6, `${n.name}: only ${files.length} baseline files`);
      for (const f of files) {
        const block = `cat > "$tmp/${f.path}" <<'${HEREDOC}'\n${f.content.replace(/\n$/, "")}\n${HEREDOC}\n`;
        assert.ok(script.includes(block), `${n.name}: ${f.path} is not written verbatim through a quoted heredoc`);
        const mode = f.mode.toString(8).padStart(4, "0");
        assert.ok(
          script.includes(`sudo install -D -o root -g root -m ${mode} "$tmp/${f.path}" ${f.nodePath}\n`),
          `${n.name}: ${f.path} is not installed at ${f.nodePath} with mode ${mode}`,
        );
      }
      const sshd = files.find((f) => f.path === "sshd_config")!;
      assert.equal(sshd.nodePath, "/etc/ssh/sshd_config");
      const lines = script.trimEnd().split("\n");
      assert.equal(lines[lines.length - 1], `sudo ${NODE_PATHS.script}`, `${n.name}: the script does not end by running firstboot`);
      assert.equal(NODE_PATHS.script, "/usr/local/sbin/kubedos-firstboot");
      assert.equal(cmdOf(n.name).inputs.update, script, `${n.name}: update differs from create`);
    }
  });

  it("installs byte-identical files with their modes and then runs firstboot when the script runs under bash", async function () {
    const bash = requireTool(this, "bash");
    const bin = path.join(tmp.dir, "bin");
    mkdirSync(bin, { recursive: true });
    writeFileSync(path.join(bin, "sudo"), FAKE_SUDO);
    chmodSync(path.join(bin, "sudo"), 0o755);
    await Promise.all(
      p.nodes.map(async (n) => {
        const root = path.join(tmp.dir, "root", n.name);
        mkdirSync(root, { recursive: true });
        const out = await run(bash, ["-s"], {
          input: scriptOf(n.name),
          env: { ...process.env, PATH: `${bin}${path.delimiter}${process.env.PATH ?? ""}`, FAKEROOT: root },
        });
        assert.equal(out.code, 0, `${n.name}: the script failed: ${out.stderr}`);
        const files = renderNodeFirstboot({ plan: p, node: n }).filter((f) => f.nodePath);
        for (const f of files) {
          const installed = path.join(root, f.nodePath!);
          assert.ok(existsSync(installed), `${n.name}: ${f.nodePath} was not installed`);
          assert.equal(readFileSync(installed, "utf8"), f.content, `${n.name}: ${f.nodePath} differs from the rendered ${f.path}`);
          assert.equal(statSync(installed).mode & 0o7777, f.mode, `${n.name}: ${f.nodePath} mode`);
        }
        const log = readFileSync(path.join(root, ".sudo.log"), "utf8").trimEnd().split("\n");
        assert.equal(log.length, files.length + 1);
        for (const l of log.slice(0, -1)) assert.match(l, /^install root:root 0[0-7]{3} \//);
        assert.equal(log[log.length - 1], `run ${NODE_PATHS.script}`);
      }),
    );
  });

  it("renders create scripts that `shellcheck -s bash` accepts without a finding when extracted from the recorded inputs", async function () {
    const sc = requireTool(this, "shellcheck");
    const problems = (await Promise.all(p.nodes.map(async (n) => [n.name, await shellcheck(sc, scriptOf(n.name))] as const))).filter(
      ([, out]) => out !== "",
    );
    assert.deepEqual(problems, [], problems.map(([n, out]) => `${n}: ${out}`).join("\n"));
  });

  it("carries no destructive operation in any create or update script when every boundary is closed", () => {
    for (const c of p.nodes.map((n) => cmdOf(n.name))) {
      assert.deepEqual(findDestructiveOps(String(c.inputs.create)), [], `${c.name} create`);
      assert.deepEqual(findDestructiveOps(String(c.inputs.update)), [], `${c.name} update`);
      assert.equal(c.inputs.delete, undefined, `${c.name} runs something on delete`);
    }
  });

  describe("for a copy whose allowUsers lists another user before sshUser", () => {
    let other: PlanResult;
    before(async () => {
      const text = edited(BAREMETAL, [
        [
          ["spec", "security", "ssh", "allowUsers"],
          ["admin", "ops"],
        ],
      ]);
      assert.equal(specAndPlan(text).plan.ssh.allowUsers[0], "admin");
      other = await plan({ spec: tmp.file("baremetal-two-users.yaml", text) });
    });

    it("re-runs the script as an update (a new content digest) when a rendered file changes", () => {
      for (const n of p.nodes) {
        const before = scriptOf(n.name);
        const after = String(named(other.run, `${p.cluster.name}-${n.name}-firstboot`, COMMAND_TYPE).inputs.create);
        assert.notEqual(after.split("\n")[0], before.split("\n")[0], `${n.name}: the digest line did not change`);
        assert.match(after, /^AllowUsers\s+admin ops$/m);
      }
    });

    it("logs in as the spec's baremetal.sshUser when it is not the first of security.ssh.allowUsers", () => {
      // components/substrate/baremetal.ts uses plan.ssh.allowUsers[0] ("admin") and ignores
      // substrate.baremetal.sshUser ("ops"), the user the schema documents as kubedos's login.
      for (const n of p.nodes) {
        const conn = connectionOf(named(other.run, `${p.cluster.name}-${n.name}-firstboot`, COMMAND_TYPE));
        assert.equal(conn.user, bm.sshUser, `${n.name} connects as ${conn.user}`);
      }
    });
  });
});
