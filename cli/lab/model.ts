/**
 * The lab's pure part: the lab variant of a Plan, the artifacts each lab node runs, and what the
 * Backplane Matrix gate expects. No I/O, no processes — everything here is tested without root.
 *
 * Addresses. A real plan's uplinks (the Proxmox underlay, Hetzner's private network, bare-metal
 * SSH addresses) are site addresses the lab must never touch. The lab re-numbers them into the
 * benchmarking range 198.18.0.0/15 (RFC 2544) BEFORE anything is rendered, so every rendered
 * Endpoint and every nftables source set names a lab address:
 *   - node uplinks: 198.18.0.0/16, host part HOST_OFFSET + ordinal (addressing.ts), as on the real
 *     underlay;
 *   - security.ssh.allowFrom entry i: 198.19.(i+1).0/24 (an entry that covered the real underlay
 *     becomes the lab underlay), and the lab's SSH "operators" sit at .10 of the first such block
 *     (inside allowFrom) and at 198.19.255.10 (outside every entry).
 * Plane addresses are kept: they only ever exist on WireGuard interfaces inside lab namespaces.
 */
import { renderNodeBackplane } from "../../components/backplane/render-node";
import { renderNftables } from "../../components/firstboot/nftables";
import { renderSshdConfig } from "../../components/firstboot/sshd";
import { sshPort } from "../../components/firstboot/common";
import { HOST_OFFSET } from "../../components/plan/addressing";
import { contains, formatIp, overlaps, parseCidr, parseIp } from "../../components/plan/ipv4";
import type { Plan, PlanNode } from "../../components/plan/plan";
import { nodeHostKey } from "../../components/secrets/derive";

/** Node uplinks in the lab. */
export const LAB_UNDERLAY = "198.18.0.0/16";
/** The remapped ssh.allowFrom blocks and the lab operators. */
export const LAB_OPERATOR_NET = "198.19.0.0/16";
/** Prefix every lab address is configured with, so nodes and operators share one L2 segment. */
export const LAB_LINK_PREFIX = 15;
/** The lab operator outside every remapped allowFrom entry. */
export const OPERATOR_OUT = "198.19.255.10";
/** Placeholder master seed when KUBEDOS_MASTER_SEED is unset: lab keys only, never for real nodes. */
export const LAB_PLACEHOLDER_SEED = "kubedos-lab-placeholder-master-seed (not secret, lab only)";

export interface LabOperator {
  /** "in": inside security.ssh.allowFrom; "out": outside it. */
  name: "in" | "out";
  address: string;
}

export interface LabPlan {
  /** The plan the lab renders from: uplinks, underlay and allowFrom in lab ranges. */
  plan: Plan;
  /** spec allowFrom → lab allowFrom, entry by entry. */
  allowFrom: Array<{ spec: string; lab: string }>;
  operators: LabOperator[];
}

/** The lab variant of `plan`: a deep copy with every site address replaced (see the file comment). */
export function labPlan(original: Plan): LabPlan {
  const plan: Plan = structuredClone(original);
  const base = parseCidr(LAB_UNDERLAY);
  const uplinkOf = (n: PlanNode) => {
    const host = HOST_OFFSET + n.ordinal;
    if (host >= base.size - 1) throw new Error(`node ${n.name}: ordinal ${n.ordinal} does not fit the lab underlay ${LAB_UNDERLAY}`);
    return formatIp(base.network + host);
  };
  const siteUnderlay = original.underlay ? parseCidr(original.underlay.cidr) : undefined;
  const siteUplinks = original.nodes.flatMap((n) => (n.uplink ? [parseIp(n.uplink.address)] : []));
  for (const n of plan.nodes) {
    const address = uplinkOf(n);
    n.uplink = { address, cidr: LAB_UNDERLAY };
    if (n.placement.sshAddress !== undefined) n.placement = { ...n.placement, sshAddress: address };
  }
  if (original.underlay) plan.underlay = { cidr: LAB_UNDERLAY, nameservers: [] };
  if (original.ssh.allowFrom.length > 250) throw new Error("the lab remaps at most 250 ssh.allowFrom entries");
  const allowFrom = original.ssh.allowFrom.map((spec, i) => {
    const c = parseCidr(spec);
    const coversUnderlay = (siteUnderlay && overlaps(c, siteUnderlay)) || siteUplinks.some((u) => contains(c, u));
    return { spec, lab: coversUnderlay ? LAB_UNDERLAY : `198.19.${i + 1}.0/24` };
  });
  plan.ssh = { ...plan.ssh, allowFrom: allowFrom.map((a) => a.lab) };
  const inside = allowFrom.find((a) => a.lab !== LAB_UNDERLAY);
  const operators: LabOperator[] = [
    ...(inside ? [{ name: "in" as const, address: formatIp(parseCidr(inside.lab).network + 10) }] : []),
    { name: "out", address: OPERATOR_OUT },
  ];
  return { plan, allowFrom, operators };
}

/** True when `address` is inside one of the plan's ssh.allowFrom entries. */
export function sshAllowed(plan: Plan, address: string): boolean {
  const ip = parseIp(address);
  return plan.ssh.allowFrom.some((c) => contains(parseCidr(c), ip));
}

// ------------------------------------------------------------------------------ artifacts

export interface NodeArtifacts {
  /** wg-quick files by plane (secret: private keys). */
  wireguard: Array<{ plane: string; content: string }>;
  nftables: string;
  sshdConfig: string;
  /** OpenSSH private host key (secret). */
  hostKey: string;
}

/** Everything a lab node applies, from the project's own renderers. */
export function renderNodeArtifacts(plan: Plan, node: PlanNode, seed: string, epoch: number): NodeArtifacts {
  return {
    wireguard: renderNodeBackplane({ plan, node, seed, epoch }).map((f) => ({ plane: f.plane, content: f.content })),
    nftables: renderNftables(plan, node),
    sshdConfig: renderSshdConfig(plan, node),
    hostKey: nodeHostKey(seed, plan.cluster.name, node.name).privateKey,
  };
}

/** The parts of a wg-quick file the lab needs to read back. */
export interface WgQuickPeer {
  publicKey: string;
  endpoint?: string;
  allowedIps: string[];
}
export function parseWgQuick(text: string): { addresses: string[]; listenPort?: number; peers: WgQuickPeer[] } {
  const addresses: string[] = [];
  let listenPort: number | undefined;
  const peers: WgQuickPeer[] = [];
  let section = "";
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*$/, "").trim();
    if (line === "") continue;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      section = sec[1].toLowerCase();
      if (section === "peer") peers.push({ publicKey: "", allowedIps: [] });
      continue;
    }
    const kv = /^(\w+)\s*=\s*(.*)$/.exec(line);
    if (!kv) continue;
    const key = kv[1].toLowerCase();
    const list = kv[2]
      .split(",")
      .map((s) => s.trim())
      .filter(Boolean);
    if (section === "interface" && key === "address") addresses.push(...list);
    else if (section === "interface" && key === "listenport") listenPort = Number(kv[2]);
    else if (section === "peer") {
      const p = peers[peers.length - 1];
      if (key === "publickey") p.publicKey = kv[2].trim();
      else if (key === "endpoint") p.endpoint = kv[2].trim();
      else if (key === "allowedips") p.allowedIps.push(...list);
    }
  }
  return { addresses, ...(listenPort !== undefined ? { listenPort } : {}), peers };
}

// ------------------------------------------------------------------ inter-plane transport

/**
 * The inter-plane transport of the rendered configs, read back for the drills. The renderer
 * (components/backplane/wg-quick.ts) lets each peer on plane F carry its addresses on the planes
 * F may cross into (AllowedIPs) and routes this node's F-sourced traffic for them through F
 * (PostUp `ip rule from <own F> lookup <table>`), so an allowed flow F→T reaches node B on B's F
 * interface addressed to B's T address, and B's nftables decides the ports. The lab applies the
 * rendered files as they are and adds nothing: this only parses them, for the rotation drill,
 * which must re-install each peer with the same AllowedIPs under its new key.
 */
export interface TransportPlan {
  /** Per plane: `wg set <plane> peer <pub> allowed-ips <list>` for every peer. */
  allowedIps: Map<string, Array<{ publicKey: string; allowedIps: string[] }>>;
  /** Per plane: the routing table and the rule that sends own-F-sourced traffic for other planes through F. */
  routes: Array<{ plane: string; table: number; pref: number; from: string; to: string[] }>;
}

export const TRANSPORT_TABLE_BASE = 4200;

export function transportPlan(plan: Plan, node: PlanNode, confs: Array<{ plane: string; content: string }>): TransportPlan {
  const allowedIps = new Map<string, Array<{ publicKey: string; allowedIps: string[] }>>();
  const routes: TransportPlan["routes"] = [];
  if (plan.planes.length < 2) return { allowedIps, routes };
  const byAddress = new Map<string, PlanNode>();
  for (const n of plan.nodes) for (const p of plan.planes) byAddress.set(`${p.name}/${n.addresses[p.name]}`, n);
  plan.planes.forEach((plane) => {
    const conf = confs.find((c) => c.plane === plane.name);
    if (!conf) throw new Error(`no rendered ${plane.name} config for ${node.name}`);
    const peers: Array<{ publicKey: string; allowedIps: string[] }> = [];
    for (const peer of parseWgQuick(conf.content).peers) {
      // Node peers only (the operator peer has no endpoint and no other planes).
      const owner = peer.allowedIps.map((a) => byAddress.get(`${plane.name}/${a.replace(/\/32$/, "")}`)).find((n) => n !== undefined);
      if (!owner || !peer.endpoint) continue;
      peers.push({ publicKey: peer.publicKey, allowedIps: [...peer.allowedIps] });
    }
    allowedIps.set(plane.name, peers);
  });
  return { allowedIps, routes };
}

/** Shell lines (run in the node's namespaces) that install the transport. */
export function transportScript(t: TransportPlan): string[] {
  const lines: string[] = [];
  for (const [plane, peers] of t.allowedIps) {
    if (peers.length === 0) continue;
    lines.push(`wg set ${plane} ${peers.map((p) => `peer ${p.publicKey} allowed-ips ${p.allowedIps.join(",")}`).join(" ")}`);
  }
  for (const r of t.routes) {
    for (const to of r.to) lines.push(`ip route replace ${to} dev ${r.plane} table ${r.table}`);
    lines.push(`ip rule add from ${r.from}/32 lookup ${r.table} pref ${r.pref}`);
  }
  return lines;
}

// ------------------------------------------------------------------------- expectations

export interface PortProbe {
  proto: "tcp" | "udp";
  port: number;
}

const portKey = (p: PortProbe) => `${p.port}/${p.proto}`;

/** "2379-2380/tcp" → its ports; a range of more than three ports is sampled at its ends and middle. */
export function expandPortSpec(spec: string): PortProbe[] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?\/(tcp|udp)$/.exec(spec);
  if (!m) throw new Error(`not a port spec: ${spec}`);
  const lo = Number(m[1]);
  const hi = Number(m[2] ?? m[1]);
  const proto = m[3] as "tcp" | "udp";
  const ports = hi - lo <= 2 ? Array.from({ length: hi - lo + 1 }, (_, i) => lo + i) : [lo, lo + Math.floor((hi - lo) / 2), hi];
  return ports.map((port) => ({ proto, port }));
}

/** Is `probe` allowed from plane `from` to plane `to` (against the full ranges, not the sample)? */
export function interPlaneAllowed(plan: Plan, from: string, to: string, probe: PortProbe): boolean {
  if (from === to) return true;
  if (plan.policy.defaultInterPlane === "allow") return true;
  return plan.policy.allow.some(
    (r) =>
      r.from === from &&
      r.to === to &&
      r.ports.some((s) => {
        const m = /^(\d{1,5})(?:-(\d{1,5}))?\/(tcp|udp)$/.exec(s);
        return !!m && m[3] === probe.proto && probe.port >= Number(m[1]) && probe.port <= Number(m[2] ?? m[1]);
      }),
  );
}

/** The sampled ports of every allow rule, per (from, to) pair in plane order. */
export function allowedPairs(plan: Plan): Array<{ from: string; to: string; probes: PortProbe[] }> {
  const out: Array<{ from: string; to: string; probes: PortProbe[] }> = [];
  for (const f of plan.planes) {
    for (const t of plan.planes) {
      if (f.name === t.name) continue;
      const specs = plan.policy.allow.filter((r) => r.from === f.name && r.to === t.name).flatMap((r) => r.ports);
      let probes = dedupe(specs.flatMap(expandPortSpec));
      if (plan.policy.defaultInterPlane === "allow" && probes.length === 0) probes = [{ proto: "tcp", port: decoyPort(plan) }];
      if (probes.length > 0) out.push({ from: f.name, to: t.name, probes });
    }
  }
  return out;
}

/** A TCP port no allow rule names: every lab node listens on it, and no plane may reach it across planes. */
export function decoyPort(plan: Plan): number {
  for (let port = 7777; port < 7877; port++) {
    if (!plan.policy.allow.some((r) => r.ports.some((s) => expandRange(s).some((p) => p.proto === "tcp" && p.port === port)))) return port;
  }
  throw new Error("no free decoy port in 7777-7876");
}

function expandRange(spec: string): PortProbe[] {
  const m = /^(\d{1,5})(?:-(\d{1,5}))?\/(tcp|udp)$/.exec(spec);
  if (!m) return [];
  const lo = Number(m[1]);
  const hi = Number(m[2] ?? m[1]);
  if (hi - lo > 1000) return [];
  return Array.from({ length: hi - lo + 1 }, (_, i) => ({ proto: m[3] as "tcp" | "udp", port: lo + i }));
}

function dedupe(ps: PortProbe[]): PortProbe[] {
  const seen = new Set<string>();
  return ps
    .filter((p) => (seen.has(portKey(p)) ? false : (seen.add(portKey(p)), true)))
    .sort((a, b) => a.port - b.port || (a.proto < b.proto ? -1 : 1));
}

/** Ports every lab node's listener binds (on 0.0.0.0, so a denied flow is refused by the firewall, never by a missing listener). */
export function listenerPorts(plan: Plan): { tcp: number[]; udp: number[] } {
  const all = dedupe([...allowedPairs(plan).flatMap((a) => a.probes), { proto: "tcp", port: decoyPort(plan) }]);
  return { tcp: all.filter((p) => p.proto === "tcp").map((p) => p.port), udp: all.filter((p) => p.proto === "udp").map((p) => p.port) };
}

export type ProbeKind = "pair" | "allowed" | "denied" | "underlay";

export interface Probe {
  id: number;
  kind: ProbeKind;
  /** Namespace role the probe runs in: a node name, or "operator-in" / "operator-out". */
  from: string;
  to: string;
  plane?: string;
  fromPlane?: string;
  toPlane?: string;
  src?: string;
  dst: string;
  proto: "icmp" | "tcp" | "udp";
  port?: number;
  expect: "reach" | "blocked";
  /** What the listener answers with, when reached ("kdl <node> <port>" or the SSH banner). */
  banner?: string;
  why: string;
}

export interface ProbeOptions {
  /** Nodes that are up (drills remove some); plan order. */
  live: string[];
  /** Whether port 22 (sshPort) is served by sshd ("SSH-2.0-") or by the plain listener. */
  ssh: "sshd" | "listener";
}

/**
 * Every probe of the Backplane Matrix gate, deterministic for a plan and a set of live nodes:
 *  1. pairs: every ordered pair of live nodes on every plane (N·(N−1)·planes pings);
 *  2. allowed: every ordered pair of distinct live nodes × every allowed (from, to) plane pair ×
 *     every (sampled) allowed port, from the source node's from-plane address;
 *  3. denied: a sample — for each source node and each ordered plane pair, the decoy port and
 *     one listening port that the pair does not allow, to a rotating destination so every node is
 *     a destination;
 *  4. underlay: node → next node's uplink on SSH and the decoy port (denied unless the node is in
 *     allowFrom), and each lab operator → every node's SSH (allowed only from inside allowFrom) and
 *     the decoy port (always denied).
 */
export function buildProbes(lab: LabPlan, opts: ProbeOptions): Probe[] {
  const plan = lab.plan;
  const nodes = opts.live.map((name) => {
    const n = plan.nodes.find((x) => x.name === name);
    if (!n) throw new Error(`node ${name} is not in the plan`);
    return n;
  });
  const probes: Probe[] = [];
  const add = (p: Omit<Probe, "id">) => probes.push({ id: probes.length, ...p });
  const banner = (n: PlanNode, p: PortProbe) =>
    p.proto === "tcp" && p.port === sshPort(n) && opts.ssh === "sshd" ? "SSH-2.0-" : `kdl ${n.name} ${p.port}`;

  for (const plane of plan.planes) {
    for (const a of nodes) {
      for (const b of nodes) {
        if (a === b) continue;
        add({
          kind: "pair",
          from: a.name,
          to: b.name,
          plane: plane.name,
          dst: b.addresses[plane.name],
          proto: "icmp",
          expect: "reach",
          why: "intra-plane",
        });
      }
    }
  }
  const pairs = allowedPairs(plan);
  for (const a of nodes) {
    for (const b of nodes) {
      if (a === b) continue;
      for (const pr of pairs) {
        for (const port of pr.probes) {
          add({
            kind: "allowed",
            from: a.name,
            to: b.name,
            fromPlane: pr.from,
            toPlane: pr.to,
            src: a.addresses[pr.from],
            dst: b.addresses[pr.to],
            proto: port.proto,
            port: port.port,
            expect: "reach",
            banner: banner(b, port),
            why: plan.policy.defaultInterPlane === "allow" ? "defaultInterPlane: allow" : `allow ${pr.from} → ${pr.to}`,
          });
        }
      }
    }
  }
  const listening = listenerPorts(plan);
  const listenProbes: PortProbe[] = [
    ...listening.tcp.map((port) => ({ proto: "tcp" as const, port })),
    ...listening.udp.map((port) => ({ proto: "udp" as const, port })),
  ];
  const decoy = decoyPort(plan);
  if (nodes.length > 1) {
    nodes.forEach((a, i) => {
      let k = 0;
      for (const f of plan.planes) {
        for (const t of plan.planes) {
          if (f.name === t.name) continue;
          k++;
          const b = nodes[(i + k) % nodes.length] === a ? nodes[(i + k + 1) % nodes.length] : nodes[(i + k) % nodes.length];
          const candidates = [{ proto: "tcp" as const, port: decoy }, ...listenProbes.filter((p) => p.port !== decoy)].filter(
            (p) => !interPlaneAllowed(plan, f.name, t.name, p),
          );
          // The decoy, plus the first listening port the pair does not allow (the "other port").
          const chosen = candidates.slice(0, 2);
          const ruled = plan.policy.allow.some((r) => r.from === f.name && r.to === t.name);
          for (const port of chosen) {
            add({
              kind: "denied",
              from: a.name,
              to: b.name,
              fromPlane: f.name,
              toPlane: t.name,
              src: a.addresses[f.name],
              dst: b.addresses[t.name],
              proto: port.proto,
              port: port.port,
              expect: "blocked",
              banner: banner(b, port),
              why: ruled ? `port not in allow ${f.name} → ${t.name}` : `no allow rule ${f.name} → ${t.name}`,
            });
          }
        }
      }
    });
    nodes.forEach((a, i) => {
      const b = nodes[(i + 1) % nodes.length];
      const ssh = sshPort(b);
      const allowed = sshAllowed(plan, a.uplink!.address);
      add({
        kind: "underlay",
        from: a.name,
        to: b.name,
        src: a.uplink!.address,
        dst: b.uplink!.address,
        proto: "tcp",
        port: ssh,
        expect: allowed ? "reach" : "blocked",
        banner: banner(b, { proto: "tcp", port: ssh }),
        why: allowed ? "node uplink inside ssh.allowFrom" : "SSH from a node uplink outside ssh.allowFrom",
      });
      for (const port of [decoy, listening.tcp.find((p) => p !== decoy)].filter((p): p is number => p !== undefined)) {
        add({
          kind: "underlay",
          from: a.name,
          to: b.name,
          src: a.uplink!.address,
          dst: b.uplink!.address,
          proto: "tcp",
          port,
          expect: "blocked",
          banner: `kdl ${b.name} ${port}`,
          why: "the uplink admits only WireGuard and SSH",
        });
      }
    });
  }
  for (const op of lab.operators) {
    const inside = sshAllowed(plan, op.address);
    for (const b of nodes) {
      const ssh = sshPort(b);
      add({
        kind: "underlay",
        from: `operator-${op.name}`,
        to: b.name,
        src: op.address,
        dst: b.uplink!.address,
        proto: "tcp",
        port: ssh,
        expect: inside ? "reach" : "blocked",
        banner: banner(b, { proto: "tcp", port: ssh }),
        why: inside ? "operator inside ssh.allowFrom" : "operator outside ssh.allowFrom",
      });
      if (op.name === "in") {
        add({
          kind: "underlay",
          from: `operator-${op.name}`,
          to: b.name,
          src: op.address,
          dst: b.uplink!.address,
          proto: "tcp",
          port: decoy,
          expect: "blocked",
          banner: `kdl ${b.name} ${decoy}`,
          why: "allowFrom opens SSH only",
        });
      }
    }
  }
  return probes;
}
