/**
 * `kubedos lab drill etcd-quorum`: a real etcd cluster (Debian's etcd) on the dev lab's control
 * planes over wg3 — one deleted (quorum must hold), then replaced (it must rejoin as a learner and
 * be promoted) — through the CLI entry point, and `lab down` leaving no etcd behind.
 *
 * The pure part (flags, defaults) runs everywhere. The lab part needs root and etcd, etcdctl and
 * openssl: skipped with the reason when they are missing — unless CI=true, where a skip is a failure.
 */
import { strict as assert } from "node:assert";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import type { AcceptanceReport, DrillRecord } from "../../cli/lab/check";
import {
  controlPlanes,
  defaultEtcdNode,
  endpointHealth,
  etcdFlags,
  etcdMember,
  etcdPaths,
  etcdUnavailable,
  ETCD_PROC,
  memberList,
} from "../../cli/lab/etcd";
import { labDown, openLab } from "../../cli/lab/lab";
import { labPlan } from "../../cli/lab/model";
import { loadState, reportPath } from "../../cli/lab/state";
import { labUnavailable, netnsList, procStart, type ProcRef } from "../../cli/lab/sys";
import { skipOrFail } from "../support/tools";
import { cli, devPlan } from "./helpers";

const report = (id: string) => JSON.parse(readFileSync(reportPath(id), "utf8")) as AcceptanceReport;
const etcdDrills = (id: string): DrillRecord[] => {
  try {
    return report(id).drills.filter((d) => d.name === "etcd-quorum");
  } catch {
    return [];
  }
};

/** Every running etcd whose command line names `dir` (the lab's state directory). */
function etcdProcessesUnder(dir: string): number[] {
  return readdirSync("/proc")
    .filter((e) => /^\d+$/.test(e))
    .filter((e) => {
      try {
        const comm = readFileSync(`/proc/${e}/comm`, "utf8").trim();
        return comm === "etcd" && procStart(Number(e)) !== undefined && readFileSync(`/proc/${e}/cmdline`, "utf8").includes(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("lab etcd-quorum drill: flags and defaults (pure)", () => {
  const lab = labPlan(devPlan());

  it("members are the control planes by name; the default NODE is the last one", () => {
    assert.deepEqual(controlPlanes(lab.plan), ["cp-1", "cp-2", "cp-3"]);
    assert.equal(defaultEtcdNode(lab.plan), "cp-3");
  });

  it("a member's flags are kubeadm's stacked etcd on its wg3 address, TLS with client and peer cert auth", () => {
    const members = controlPlanes(lab.plan).map((n) => etcdMember(lab.plan, n));
    const m = members[1];
    const wg3 = lab.plan.planes.find((p) => p.purpose === "kubernetes-backend")!;
    const node = lab.plan.nodes.find((n) => n.name === m.name)!;
    assert.equal(m.address, node.addresses[wg3.name]);
    const f = etcdFlags(m, members, "new", "/lab");
    const flag = (name: string) => f.find((x) => x.startsWith(`--${name}=`))?.slice(name.length + 3);
    assert.equal(flag("name"), "cp-2");
    assert.equal(flag("listen-peer-urls"), `https://${m.address}:2380`);
    assert.equal(flag("initial-advertise-peer-urls"), `https://${m.address}:2380`);
    assert.equal(flag("listen-client-urls"), `https://127.0.0.1:2379,https://${m.address}:2379`);
    assert.equal(flag("advertise-client-urls"), `https://${m.address}:2379`);
    assert.equal(flag("listen-metrics-urls"), "http://127.0.0.1:2381");
    assert.equal(flag("initial-cluster"), members.map((x) => `${x.name}=https://${x.address}:2380`).join(","));
    assert.equal(flag("initial-cluster-state"), "new");
    assert.equal(flag("client-cert-auth"), "true");
    assert.equal(flag("peer-client-cert-auth"), "true");
    assert.equal(flag("data-dir"), path.join("/lab", "etcd", "cp-2", "data"));
    for (const k of ["cert-file", "key-file", "trusted-ca-file", "peer-cert-file", "peer-key-file", "peer-trusted-ca-file"])
      assert.ok(flag(k)?.startsWith(path.join("/lab", "etcd")), k);
    assert.ok(
      members.every((x) => x.address.startsWith("10.113.")),
      "wg3 addresses of the dev spec",
    );
  });
});

describe("lab etcd-quorum drill (root, etcd)", function () {
  this.timeout(120_000);
  let tmp: string | undefined;
  const id = `e${(process.pid % 46656).toString(36)}${Math.floor(Math.random() * 36).toString(36)}`.slice(0, 8);

  before(function () {
    const why = labUnavailable() ?? etcdUnavailable();
    if (why) skipOrFail(this, `the etcd drill cannot run here: ${why}`);
    tmp = mkdtempSync(path.join(os.tmpdir(), "kubedos-etcd-test-"));
    process.env.KUBEDOS_LAB_DIR = path.join(tmp, "labs");
    delete process.env.KUBEDOS_MASTER_SEED;
  });

  after(async function () {
    this.timeout(60_000);
    if (tmp) {
      await labDown(id);
      delete process.env.KUBEDOS_LAB_DIR;
      rmSync(tmp, { recursive: true, force: true });
    }
  });

  it("lab up --stack dev (exit 0)", async () => {
    const r = await cli(["lab", "up", "--stack", "dev", "--lab", id]);
    assert.equal(r.code, 0, r.err);
  });

  it("refuses a worker NODE: exit 2, the message names the node, nothing is started", async () => {
    const r = await cli(["lab", "drill", "etcd-quorum", "w-1", "--lab", id]);
    assert.equal(r.code, 2, r.out + r.err);
    assert.match(r.err, /node w-1 is a worker, not a control plane/);
    assert.deepEqual(etcdDrills(id), []);
    const procs = Object.values(loadState(id).nodes).flatMap((n) => n.procs);
    assert.ok(!procs.some((p) => p.what === ETCD_PROC));
  });

  it("drill etcd-quorum: quorum holds without cp-3; the replacement rejoins as a learner, is promoted, and serves every key", async () => {
    const t = Date.now();
    const r = await cli(["lab", "drill", "etcd-quorum", "--lab", id]);
    const wallMs = Date.now() - t;
    assert.equal(r.code, 0, r.out + r.err);
    const [d] = etcdDrills(id);
    assert.ok(d, "the report has the drill");
    assert.equal(d.passed, true, JSON.stringify(d.details));
    const x = d.details;
    assert.equal(x.node, "cp-3", "the default NODE");
    assert.equal(x.members, 3);
    assert.equal(x.learner, true);
    for (const k of ["quorumHeldAfterLossMs", "rejoinMs", "recoveryMs", "startMs", "removeMs"])
      assert.ok(typeof x[k] === "number" && (x[k] as number) > 0, `${k} = ${String(x[k])}`);
    assert.ok((x.recoveryMs as number) >= (x.quorumHeldAfterLossMs as number));
    assert.ok(Object.values(x.checks as Record<string, boolean>).every(Boolean), JSON.stringify(x.checks));
    const finals = x.finalMembers as Array<{ name: string; id: string; learner: boolean; healthy: boolean }>;
    assert.deepEqual(finals.map((m) => m.name).sort(), ["cp-1", "cp-2", "cp-3"]);
    assert.ok(finals.every((m) => !m.learner && m.healthy));
    const ids = x.memberIds as { removed: string; added: string };
    assert.notEqual(ids.added, ids.removed, "the replacement is a new member");
    process.stderr.write(
      `      etcd-quorum: quorumHeldAfterLossMs ${String(x.quorumHeldAfterLossMs)}, rejoinMs ${String(x.rejoinMs)}, recoveryMs ${String(x.recoveryMs)} (victim was leader: ${String(x.victimWasLeader)}; drill ${wallMs} ms)\n`,
    );

    // Independently of the drill's own checks: the replaced member, from another control plane.
    const ctx = openLab(id);
    const cp3 = etcdMember(ctx.lab.plan, "cp-3");
    const [health] = await endpointHealth(ctx, "cp-1", [cp3.clientUrl]);
    assert.equal(health.healthy, true, health.error);
    const list = await memberList(ctx, "cp-1", etcdMember(ctx.lab.plan, "cp-1").clientUrl);
    assert.equal(list.length, 3);
    assert.deepEqual(
      list.find((m) => m.name === "cp-3"),
      { id: ids.added, name: "cp-3", peerUrls: [cp3.peerUrl], learner: false },
    );
    // Every member's etcd is a recorded lab process, alive.
    for (const n of controlPlanes(ctx.lab.plan)) {
      const p = loadState(id).nodes[n].procs.filter((q) => q.what === ETCD_PROC);
      assert.equal(p.length, 1, n);
      assert.equal(procStart(p[0].pid), p[0].start, `${n}'s etcd runs`);
    }
    // Private keys are 0600, in the lab's state directory.
    const pki = etcdPaths(ctx.dir);
    for (const f of [pki.ca.key, pki.client.key, pki.member("cp-3").server.key, pki.member("cp-3").peer.key])
      assert.equal(statSync(f).mode & 0o777, 0o600, f);
  });

  it("lab check still passes with etcd serving wg3:2379-2380 (those probes judged by the TCP connect)", async () => {
    const r = await cli(["lab", "check", "--lab", id]);
    assert.equal(r.code, 0, r.out);
    const g = report(id).gates.find((x) => x.name === "backplane-matrix")!;
    const served = g.evidence.allowedFlows.filter((f) => f.servedBy === "etcd");
    assert.ok(served.length > 0 && served.every((f) => f.ok && f.outcome === "reached"));
  });

  it("lab down stops every etcd process of the lab", async () => {
    const dir = path.join(process.env.KUBEDOS_LAB_DIR!, id);
    const recorded: ProcRef[] = Object.values(loadState(id).nodes).flatMap((n) => n.procs.filter((p) => p.what.includes("etcd")));
    assert.equal(recorded.length, 6, "etcd and its timeout(1) wrapper on each of the 3 control planes");
    assert.equal(etcdProcessesUnder(dir).length, 3);
    const r = await cli(["lab", "down", "--lab", id]);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(
      recorded.filter((p) => procStart(p.pid) === p.start),
      [],
      "every recorded etcd process is gone",
    );
    assert.deepEqual(etcdProcessesUnder(dir), [], "no etcd names the lab's directory");
    assert.deepEqual(
      netnsList().filter((n) => n.startsWith(`kdl-${id}-`)),
      [],
    );
    assert.equal(etcdDrills(id).length, 1, "the report survives down");
  });
});
