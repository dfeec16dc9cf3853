/**
 * The inter-plane policy in the host firewall (components/firstboot/nftables.ts, seed 001 §10):
 *
 *   - text: for the dev spec, the ports that cross planes are exactly the spec's allow rules
 *     (read from the YAML, not from the Plan) and nothing else crosses; intra-plane traffic is
 *     accepted; everything for another address is dropped; defaultInterPlane: allow renders the
 *     accept; the operator peer is a source on the control plane only;
 *   - nft: every node of dev, prod, Hetzner and bare metal passes `nft -c -f`;
 *   - for real: the file is applied with `nft -f`, twice, in a throwaway network namespace beside a
 *     foreign table that it must leave alone; then packets are sent across veth "planes" from
 *     client namespaces and only the allowed flows connect.
 *
 * Namespaces (kd-t-<pid>-…) and every process in them are removed in `after`, even on failure.
 */
import { strict as assert } from "node:assert";
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";
import { renderNftables, renderSysctl } from "../../components/firstboot";
import { interPlaneAllows } from "../../components/firstboot/nftables";
import type { Plan, PlanNode } from "../../components/plan/plan";
import { DEV } from "../plan/helpers";
import { needRoot, needTool, Netns, nodeOf, PLANS, run, tempDir, type FixtureName } from "./helpers";

/** The rule lines of a chain (comments and blank lines dropped). */
function chain(text: string, name: string): string[] {
  const m = new RegExp(`\\n\\tchain ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(text);
  assert.ok(m, `no chain ${name}`);
  return m[1]
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l !== "" && !l.startsWith("#"));
}

function setElements(text: string, name: string): string[] | undefined {
  const m = new RegExp(`\\n\\tset ${name} \\{\\n([\\s\\S]*?)\\n\\t\\}`).exec(text);
  if (!m) return undefined;
  return /elements = \{ ([^}]*) \}/.exec(m[1])![1].split(", ");
}

/** An accept rule of the planes chain, parsed. */
interface Accept {
  iif: string;
  daddr: string;
  proto?: "tcp" | "udp";
  ports?: string[];
}

function parseAccept(rule: string): Accept | undefined {
  const m = /^iifname "(\w+)" ip daddr ([\d.]+)(?: (tcp|udp) dport (?:\{ ([^}]+) \}|(\d+)))? accept(?: comment "[^"]*")?$/.exec(rule);
  if (!m) return undefined;
  return {
    iif: m[1],
    daddr: m[2],
    ...(m[3] ? { proto: m[3] as "tcp" | "udp", ports: (m[4] ?? m[5]).split(", ") } : {}),
  };
}

/** The spec's allow rules straight from the YAML: "from>to/proto" → port elements as written. */
function specCrossings(specText: string): Map<string, string[]> {
  const doc = parse(specText) as { spec: { networking: { policy: { allow?: Array<{ from: string; to: string; ports: string[] }> } } } };
  const out = new Map<string, string[]>();
  for (const r of doc.spec.networking.policy.allow ?? []) {
    for (const p of r.ports) {
      const [range, proto] = p.split("/");
      const key = `${r.from}>${r.to}/${proto}`;
      out.set(key, [...(out.get(key) ?? []), range]);
    }
  }
  for (const [k, v] of out) out.set(k, [...new Set(v)].sort());
  return out;
}

const withPolicy = (plan: Plan, policy: Partial<Plan["policy"]>): Plan => ({ ...plan, policy: { ...plan.policy, ...policy } });

/** Which plane an address of `node` is on (undefined: not one of its plane addresses). */
const planeOfAddress = (plan: Plan, node: PlanNode, addr: string): string | undefined =>
  plan.planes.find((p) => node.addresses[p.name] === addr)?.name;

describe("backplane inter-plane policy (nftables)", function () {
  this.timeout(60_000);
  const dev = PLANS.dev;

  describe("as rendered text", () => {
    for (const node of dev.nodes) {
      it(`lets exactly the spec's allow rules cross planes, and nothing else, on dev/${node.name}`, () => {
        const text = renderNftables(dev, node);
        const planes = chain(text, "planes");
        const crossings = new Map<string, string[]>();
        for (const rule of planes.filter((l) => /\baccept\b/.test(l))) {
          if (rule.startsWith("ip daddr @own_addresses accept"))
            assert.fail(`a blanket inter-plane accept under defaultInterPlane: deny: ${rule}`);
          const a = parseAccept(rule);
          assert.ok(a, `unexpected accept rule in chain planes: ${rule}`);
          const to = planeOfAddress(dev, node, a.daddr);
          // No accept for a foreign address: the API VIP lives on lo of every node (converge.ts).
          assert.ok(to !== undefined, `accept for a foreign address: ${rule}`);
          if (to === a.iif) continue; // intra-plane
          assert.ok(a.proto && a.ports, `an inter-plane accept without ports: ${rule}`);
          const key = `${a.iif}>${to}/${a.proto}`;
          assert.ok(!crossings.has(key), `two rules for ${key}`);
          crossings.set(key, [...a.ports].sort());
        }
        assert.deepEqual(crossings, specCrossings(DEV));
        assert.ok(crossings.size >= 3, "the dev spec allows three crossings");

        // intra-plane: every plane's own address, on its own interface, without port restriction
        for (const p of dev.planes)
          assert.ok(planes.some((l) => l.startsWith(`iifname "${p.name}" ip daddr ${node.addresses[p.name]} accept`)));
        // everything else is dropped and counted: inter-plane, then anything for another address
        const tail = planes.slice(-4);
        assert.match(tail[0], /^ip daddr @own_addresses limit rate .* log prefix "kubedos inter-plane drop: "/);
        assert.match(tail[1], /^ip daddr @own_addresses counter name "plane_inter_drop" drop /);
        assert.match(tail[2], /^ip daddr != @own_addresses limit rate .* log prefix "kubedos plane not-local drop: "/);
        assert.match(tail[3], /^ip daddr != @own_addresses counter name "plane_not_local_drop" drop /);
        assert.deepEqual(
          setElements(text, "own_addresses"),
          dev.planes.map((p) => node.addresses[p.name]),
        );
        // every drop in the chain is counted
        for (const l of planes.filter((r) => / drop( comment |$)/.test(r))) assert.match(l, /\bcounter name "\w+" drop\b/);
      });
    }

    it("sends plane traffic to the planes chain before anything else can accept it (ICMP included)", () => {
      const input = chain(renderNftables(dev, nodeOf(dev, "w-1")), "input");
      const jump = input.findIndex((l) => l.startsWith("iifname @plane_ifaces jump planes"));
      assert.ok(jump > 0);
      const acceptsBefore = input.slice(0, jump).filter((l) => /\baccept\b/.test(l));
      assert.deepEqual(acceptsBefore, [
        'iifname "lo" accept comment "loopback"',
        'ct state established,related accept comment "replies to traffic this node started"',
      ]);
      assert.match(input[jump + 2], /^iifname @plane_ifaces counter name "input_plane_drop" drop/);
    });

    it("treats the operator peer as a source on the control plane only", () => {
      const text = renderNftables(dev, nodeOf(dev, "w-3"));
      const op = dev.planes.find((p) => p.purpose === "control")!;
      const planes = chain(text, "planes");
      assert.ok(
        planes.includes(
          `iifname != "${op.name}" ip saddr ${op.reserved.operatorPeer} counter name "plane_spoof_drop" drop comment "the operator peer ${op.reserved.operatorPeer} is a source on ${op.name} only"`,
        ),
      );
      for (const p of dev.planes) {
        assert.ok(
          planes.some((l) => l.startsWith(`iifname "${p.name}" ip saddr != ${p.cidr} counter name "plane_spoof_drop" drop`)),
          `${p.name} source check`,
        );
      }
    });

    it("keeps forwarding off: forward policy drop accepts only pod traffic, and sysctl keeps ip_forward 0", () => {
      const text = renderNftables(dev, nodeOf(dev, "cp-2"));
      const fwd = chain(text, "forward");
      assert.equal(fwd[0], "type filter hook forward priority filter; policy drop;");
      // The only forwarded traffic is the pod network's (inert until Stage 5 turns forwarding on):
      // every accept names the pod subnet as source or destination.
      const pods = dev.podNetwork!.podSubnet;
      for (const l of fwd.filter((x) => /\baccept\b/.test(x)))
        assert.ok(l.includes(`addr ${pods}`), `forward accepts non-pod traffic: ${l}`);
      assert.ok(
        fwd.some((l) => /\baccept\b/.test(l)),
        "the pod network's forward rules are present",
      );
      const sysctl = renderSysctl();
      assert.match(sysctl, /^net\.ipv4\.ip_forward\s+= 0$/m);
      assert.match(sysctl, /^net\.ipv6\.conf\.all\.forwarding\s+= 0$/m);
      assert.doesNotMatch(sysctl, /forward\S*\s+= 1$/m);
    });

    it("replaces only table inet kubedos (declare, delete, define), never the whole ruleset", () => {
      for (const fx of Object.keys(PLANS) as FixtureName[]) {
        const text = renderNftables(PLANS[fx], PLANS[fx].nodes[0]);
        assert.doesNotMatch(text, /flush ruleset/);
        const statements = text.split("\n").filter((l) => l !== "" && !l.startsWith("#"));
        assert.deepEqual(statements.slice(0, 3), ["table inet kubedos", "delete table inet kubedos", "table inet kubedos {"]);
        assert.equal((text.match(/^table /gm) ?? []).length, 2);
        assert.equal((text.match(/^delete /gm) ?? []).length, 1);
      }
    });

    it("renders a blanket accept, with a comment saying the spec chose it, when defaultInterPlane is allow", () => {
      const plan = withPolicy(dev, { defaultInterPlane: "allow" });
      const text = renderNftables(plan, nodeOf(plan, "w-2"));
      const planes = chain(text, "planes");
      assert.ok(planes.includes('ip daddr @own_addresses accept comment "inter-plane allowed: the spec chose defaultInterPlane: allow"'));
      assert.match(text, /# 4\. The spec chose networking\.policy\.defaultInterPlane: allow/);
      assert.ok(!planes.some((l) => /plane_inter_drop" drop/.test(l)), "no inter-plane drop under allow");
      assert.ok(
        planes.some((l) => /^ip daddr != @own_addresses counter name "plane_not_local_drop" drop/.test(l)),
        "foreign addresses still dropped",
      );
      assert.match(text, /crossing planes is ALLOWED/);
    });

    it("merges overlapping and adjacent port ranges, and groups rules by plane pair and protocol", () => {
      const plan = withPolicy(dev, {
        allow: [
          { from: "wg2", to: "wg1", ports: ["1000-2000/tcp", "53/udp"] },
          { from: "wg2", to: "wg1", ports: ["1500-2500/tcp", "2501/tcp", "53/udp", "5353/udp"] },
          { from: "wg1", to: "wg3", ports: ["6443/tcp"] },
        ],
      });
      assert.deepEqual(interPlaneAllows(plan), [
        { from: "wg1", to: "wg3", tcp: ["6443"], udp: [] },
        { from: "wg2", to: "wg1", tcp: ["1000-2501"], udp: ["53", "5353"] },
      ]);
      const n = nodeOf(plan, "cp-1");
      const planes = chain(renderNftables(plan, n), "planes");
      assert.ok(
        planes.includes(
          `iifname "wg2" ip daddr ${n.addresses.wg1} tcp dport { 1000-2501 } accept comment "wg2 → wg1: networking.policy.allow"`,
        ),
      );
      assert.ok(
        planes.includes(
          `iifname "wg2" ip daddr ${n.addresses.wg1} udp dport { 53, 5353 } accept comment "wg2 → wg1: networking.policy.allow"`,
        ),
      );
    });

    it("rejects allow rules that name an unknown plane, the same plane twice, or a malformed port", () => {
      const n = nodeOf(dev, "cp-1");
      assert.throws(() => renderNftables(withPolicy(dev, { allow: [{ from: "wg9", to: "wg1", ports: ["22/tcp"] }] }), n), /plane wg9/);
      assert.throws(() => renderNftables(withPolicy(dev, { allow: [{ from: "wg1", to: "wg1", ports: ["22/tcp"] }] }), n), /to itself/);
      assert.throws(() => renderNftables(withPolicy(dev, { allow: [{ from: "wg1", to: "wg2", ports: ["22/sctp"] }] }), n), /port/);
      assert.throws(() => renderNftables(withPolicy(dev, { allow: [{ from: "wg1", to: "wg2", ports: ["90-80/tcp"] }] }), n), /port/);
    });
  });

  describe("under nft", () => {
    let tmp: ReturnType<typeof tempDir>;
    let netns: Netns | undefined;
    const listeners: ChildProcess[] = [];
    before(() => (tmp = tempDir("backplane-nft")));
    after(() => {
      for (const l of listeners) l.kill("SIGKILL");
      netns?.cleanup();
      tmp?.cleanup();
    });

    const write = (name: string, text: string): string => {
      const f = path.join(tmp.dir, name);
      writeFileSync(f, text, { mode: 0o600 });
      return f;
    };

    it("renders rulesets that `nft -c -f` accepts for every node of dev, prod, Hetzner and bare metal, and the policy variants", async function () {
      const nft = needTool(this, "nft");
      needRoot(this, "nft -c");
      const files: Array<{ label: string; file: string }> = [];
      for (const fx of Object.keys(PLANS) as FixtureName[]) {
        for (const n of PLANS[fx].nodes)
          files.push({ label: `${fx}/${n.name}`, file: write(`${fx}-${n.name}.nft`, renderNftables(PLANS[fx], n)) });
      }
      const allow = withPolicy(dev, { defaultInterPlane: "allow" });
      files.push({ label: "dev+allow/w-1", file: write("dev-allow.nft", renderNftables(allow, nodeOf(allow, "w-1"))) });
      const none = withPolicy(dev, { allow: [] });
      files.push({ label: "dev+no-allow/cp-1", file: write("dev-none.nft", renderNftables(none, nodeOf(none, "cp-1"))) });
      const merged = withPolicy(dev, {
        allow: [{ from: "wg2", to: "wg1", ports: ["1000-2000/tcp", "1500-2500/tcp", "53/udp", "53/udp"] }],
      });
      files.push({ label: "dev+merged/cp-1", file: write("dev-merged.nft", renderNftables(merged, nodeOf(merged, "cp-1"))) });
      const results = await Promise.all(files.map(async (f) => ({ f, r: await run(nft, ["-c", "-f", f.file]) })));
      assert.deepEqual(
        results.filter(({ r }) => r.code !== 0 || r.stderr.trim() !== "").map(({ f, r }) => `${f.label}: exit ${r.code}\n${r.stderr}`),
        [],
      );
    });

    it("applies for real with `nft -f`, twice, in a network namespace, replacing its own table and leaving a foreign one alone", function () {
      const nft = needTool(this, "nft");
      const ip = needTool(this, "ip");
      needRoot(this, "network namespaces and nft -f");
      netns ??= new Netns(ip);
      const ns = netns.add("nft");
      const ok = (r: { code: number; stdout: string; stderr: string }, what: string) => {
        assert.equal(r.code, 0, `${what}: exit ${r.code}\n${r.stderr}`);
        return r.stdout;
      };
      const foreign = write(
        "foreign.nft",
        "table ip kd_foreign {\n\tchain c {\n\t\ttype filter hook input priority 10; policy accept;\n\t\tcounter\n\t}\n}\n",
      );
      ok(netns.exec(ns, nft, ["-f", foreign]), "foreign table");
      const foreignBefore = ok(netns.exec(ns, nft, ["list", "table", "ip", "kd_foreign"]), "list foreign");

      const devFile = write("apply-dev-cp-1.nft", renderNftables(dev, nodeOf(dev, "cp-1")));
      ok(netns.exec(ns, nft, ["-f", devFile]), "first nft -f");
      const first = ok(netns.exec(ns, nft, ["list", "table", "inet", "kubedos"]), "list kubedos");
      ok(netns.exec(ns, nft, ["-f", devFile]), "second nft -f (re-application)");
      const second = ok(netns.exec(ns, nft, ["list", "table", "inet", "kubedos"]), "list kubedos again");
      assert.equal(second, first, "re-applying the same file yields the same table");
      assert.match(first, /chain planes \{/);
      assert.match(first, /tcp dport \{ 2379-2380, 6443, 10250 \} accept/);
      assert.equal(
        ok(netns.exec(ns, nft, ["list", "table", "ip", "kd_foreign"]), "foreign after"),
        foreignBefore,
        "the foreign table changed",
      );
      assert.deepEqual(
        ok(netns.exec(ns, nft, ["list", "tables"]), "tables")
          .trim()
          .split("\n")
          .sort(),
        ["table inet kubedos", "table ip kd_foreign"],
      );

      // A different ruleset replaces the table wholesale (no rule of the old one survives).
      const allow = withPolicy(dev, { defaultInterPlane: "allow" });
      ok(netns.exec(ns, nft, ["-f", write("apply-allow.nft", renderNftables(allow, nodeOf(allow, "cp-1")))]), "allow variant");
      const replaced = ok(netns.exec(ns, nft, ["list", "chain", "inet", "kubedos", "planes"]), "list planes");
      assert.match(replaced, /ip daddr @own_addresses accept comment "inter-plane allowed: the spec chose defaultInterPlane: allow"/);
      assert.doesNotMatch(replaced, /plane_inter_drop/);
      assert.equal(ok(netns.exec(ns, nft, ["list", "table", "ip", "kd_foreign"]), "foreign after allow"), foreignBefore);
    });

    it("connects exactly the allowed flows when real packets cross veth planes into a namespace running the dev ruleset", async function () {
      this.timeout(90_000);
      const nft = needTool(this, "nft");
      const ip = needTool(this, "ip");
      const timeout = needTool(this, "timeout");
      needRoot(this, "network namespaces and nft -f");
      netns ??= new Netns(ip);
      const node = nodeOf(dev, "cp-1");
      const peer = nodeOf(dev, "w-1"); // the client speaks from w-1's addresses
      const host = netns.add("host");
      const sh = (args: string[]) => {
        const r = netns!.exec(host, ip, args);
        assert.equal(r.code, 0, `ip ${args.join(" ")}: ${r.stderr}`);
      };
      // One client namespace per plane, linked to the host by a veth named like the plane.
      const clients = new Map<string, string>();
      for (const p of dev.planes) {
        const c = netns.add(`c-${p.name}`);
        clients.set(p.name, c);
        const prefix = p.cidr.split("/")[1];
        const r = spawnOk(ip, ["link", "add", p.name, "netns", host, "type", "veth", "peer", "name", "c0", "netns", c]);
        assert.equal(r, 0, `veth ${p.name}`);
        sh(["addr", "add", `${node.addresses[p.name]}/${prefix}`, "dev", p.name]);
        sh(["link", "set", p.name, "up"]);
        for (const args of [
          ["addr", "add", `${peer.addresses[p.name]}/${prefix}`, "dev", "c0"],
          ["link", "set", "c0", "up"],
          ["route", "add", "default", "dev", "c0"],
        ]) {
          const rr = netns.exec(c, ip, args);
          assert.equal(rr.code, 0, `${c}: ip ${args.join(" ")}: ${rr.stderr}`);
        }
      }
      // Ports: every allowed port (both ends of ranges), one just outside each range, SSH, and an unlisted one.
      const crossings = specCrossings(DEV);
      const ports = new Set<number>([22, 8080]);
      for (const ranges of crossings.values()) {
        for (const range of ranges) {
          const [lo, hi] = range.split("-").map(Number);
          for (const port of [lo, hi ?? lo, (hi ?? lo) + 1]) ports.add(port);
        }
      }
      // The client speaks from a worker's addresses: etcd on the Kubernetes plane admits control
      // planes only, so a worker's intra-plane 2379-2380 to this control plane is refused.
      const kube = dev.planes.find((p) => p.purpose === "kubernetes-backend")!.name;
      const etcdGuarded = (from: string, to: string, port: number): boolean =>
        from === kube && to === kube && port >= 2379 && port <= 2380 && peer.role !== "control-plane";
      const allowed = (from: string, to: string, port: number): boolean =>
        (from === to && !etcdGuarded(from, to, port)) ||
        (crossings.get(`${from}>${to}/tcp`) ?? []).some((range) => {
          const [lo, hi] = range.split("-").map(Number);
          return port >= lo && port <= (hi ?? lo);
        });

      // The listener: every port on every address of the host namespace.
      const listener = spawn(ip, ["netns", "exec", host, process.execPath, "-e", LISTEN, ...[...ports].map(String)], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      listeners.push(listener);
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error("listener did not start")), 15_000);
        listener.stdout!.on("data", (d: Buffer) => {
          if (d.toString().includes("ready")) {
            clearTimeout(t);
            resolve();
          }
        });
        listener.on("exit", (code) => reject(new Error(`listener exited ${code}`)));
      });

      const probeAll = async () =>
        (
          await Promise.all(
            dev.planes.map(async (from) => {
              const targets = dev.planes.flatMap((to) => [...ports].map((port) => ({ to: to.name, host: node.addresses[to.name], port })));
              const res = await run(timeout, [
                "-k",
                "5",
                "30",
                ip,
                "netns",
                "exec",
                clients.get(from.name)!,
                process.execPath,
                "-e",
                PROBE,
                JSON.stringify(targets),
              ]);
              assert.equal(res.code, 0, `probe from ${from.name}: ${res.stderr}`);
              return (JSON.parse(res.stdout) as Array<{ to: string; port: number; ok: boolean }>).map((p) => ({ from: from.name, ...p }));
            }),
          )
        ).flat();

      // Control run without the ruleset: every probe connects, so a refusal later is the firewall's doing.
      const open = await probeAll();
      assert.deepEqual(
        open.filter((p) => !p.ok).map((p) => `${p.from} → ${p.to}:${p.port}`),
        [],
        "the test network is broken: these do not connect even without a firewall",
      );
      assert.equal(open.length, dev.planes.length * dev.planes.length * ports.size);

      const r = netns.exec(host, nft, ["-f", write("packets.nft", renderNftables(dev, node))]);
      assert.equal(r.code, 0, r.stderr);
      const probes = await probeAll();
      const wrong = probes
        .filter((p) => p.ok !== allowed(p.from, p.to, p.port))
        .map((p) => `${p.from} → ${p.to}:${p.port} ${p.ok ? "connected" : "was refused"}, expected ${p.ok ? "drop" : "accept"}`);
      assert.deepEqual(wrong, []);
      const total = probes;
      assert.ok(total.some((p) => p.ok && p.from !== p.to) && total.some((p) => !p.ok), "both outcomes exercised");
      const counter = netns.exec(host, nft, ["list", "counter", "inet", "kubedos", "plane_inter_drop"]);
      assert.match(counter.stdout, /packets [1-9]\d*/, "the inter-plane drops are counted");
    });

    it("leaves no namespace behind when the runs are over", function () {
      if (!netns) this.skip();
      for (const l of listeners) l.kill("SIGKILL");
      netns.cleanup();
      assert.deepEqual(netns.leftovers(), []);
    });
  });
});

function spawnOk(cmd: string, args: string[]): number {
  return spawnSync(cmd, args, { timeout: 10_000 }).status ?? 1;
}

/** Listens on every port given (all addresses), answers nothing, prints "ready". */
const LISTEN = `
const net = require("node:net");
const ports = process.argv.slice(1).map(Number);
let up = 0;
for (const port of ports) {
  const s = net.createServer((c) => c.destroy());
  s.listen(port, "0.0.0.0", () => { if (++up === ports.length) process.stdout.write("ready\\n"); });
}
setTimeout(() => process.exit(0), 80000); // a bound, should the test never kill it
`;

/** Connects to every {host, port} at once (1.5 s each) and prints [{to, port, ok}]. */
const PROBE = `
const net = require("node:net");
const targets = JSON.parse(process.argv[1]);
Promise.all(targets.map((t) => new Promise((resolve) => {
  const s = net.connect({ host: t.host, port: t.port });
  const done = (ok) => { s.destroy(); resolve({ to: t.to, port: t.port, ok }); };
  s.setTimeout(1500, () => done(false));
  s.on("connect", () => done(true));
  s.on("error", () => done(false));
}))).then((r) => process.stdout.write(JSON.stringify(r)));
`;
