/**
 * /etc/nftables.conf — the firewall baseline of seed 001 §7.4 and the inter-plane policy of
 * §10.1–10.3: default deny inbound on every interface, nothing routed anywhere.
 *
 * Interfaces are split in two and only two ways:
 *   - the WireGuard plane interfaces, named after their planes (wg1, wg2, …), jump to the
 *     `planes` chain. Traffic arriving on plane P for this node's own address on P is
 *     intra-plane and accepted. Traffic arriving on plane F for this node's address on another
 *     plane T is inter-plane: accepted only on the ports a `networking.policy.allow` rule
 *     {from: F, to: T} names (or wholesale when the spec chose `defaultInterPlane: allow`), else
 *     dropped and counted. Traffic for any other address is dropped: a node routes nothing, so
 *     no plane becomes an overlay by surprise (§10.3).
 *   - every other interface is the uplink. It is deliberately not named, so a renamed or added
 *     NIC is still default-deny: it admits WireGuard (from the underlay) and SSH (from
 *     `security.ssh.allowFrom`) and nothing else.
 *
 * The file replaces table `inet kubedos` only — declare, delete, redefine, in one `nft -f`
 * transaction — and leaves every other table alone (later stages, e.g. the CNI, own theirs).
 */
import { API_HEALTH_PORT } from "../plan/kubernetes-networks";
import type { Plan, PlanNode } from "../plan/plan";
import { header, NODE_PATHS, resolveNode, sshPort } from "./common";

/** Sources of WireGuard packets on the uplink, and why. */
export interface WireguardSources {
  kind: "underlay" | "uplinks" | "anywhere";
  elements: string[];
}

/** Where WireGuard may come from: the underlay CIDR, else every node's uplink address, else anywhere. */
export function wireguardSources(plan: Plan): WireguardSources {
  if (plan.underlay) return { kind: "underlay", elements: [plan.underlay.cidr] };
  const uplinks = sortAddresses(plan.nodes.flatMap((n) => (n.uplink ? [n.uplink.address] : [])));
  if (uplinks.length > 0) return { kind: "uplinks", elements: uplinks };
  return { kind: "anywhere", elements: [] };
}

/** The control-purpose plane (SSH, enrollment, operator access), if the spec has one. */
export function controlPlane(plan: Plan): Plan["planes"][number] | undefined {
  return plan.planes.find((p) => p.purpose === "control");
}

/** /etc/nftables.conf for `node`. */
export function renderNftables(plan: Plan, node: PlanNode): string {
  const n = resolveNode(plan, node);
  if (plan.planes.length === 0) throw new Error("the plan has no planes; the firewall needs at least the control plane");
  for (const p of plan.planes) {
    if (!Number.isInteger(p.port) || p.port < 1 || p.port > 65535) {
      throw new Error(`plane ${p.name} has no WireGuard port (got ${p.port}); set networking.planes.${p.name}.port`);
    }
  }
  const ports = [...new Set(plan.planes.map((p) => p.port))].sort((a, b) => a - b);
  if (ports.length !== plan.planes.length) throw new Error("two planes share a WireGuard port; every plane needs its own UDP port");
  for (const c of plan.ssh.allowFrom) {
    if (!/^\d+\.\d+\.\d+\.\d+\/\d+$/.test(c)) throw new Error(`ssh.allowFrom entry ${c} is not an IPv4 CIDR`);
    if (c.endsWith("/0")) throw new Error(`ssh.allowFrom contains ${c}, which opens SSH to the whole internet; list the operator's CIDRs`);
  }
  const control = controlPlane(plan);
  if (!control && plan.ssh.allowFrom.length === 0) {
    throw new Error("SSH would be unreachable: there is no control-purpose plane and ssh.allowFrom is empty");
  }
  const port = sshPort(n);
  const wg = wireguardSources(plan);
  const sshSources = sortCidrs([...new Set(plan.ssh.allowFrom.map(networkOf))]);

  const sets: string[] = [
    ...set("plane_ifaces", "ifname", planeNamesQuoted(plan), [
      "The WireGuard plane interfaces. The backplane stage creates them; their names are the plane names.",
    ]),
    ...set(
      "wireguard_ports",
      "inet_service",
      ports.map(String),
      plan.planes.map((p) => `${p.name} (${p.purpose}) listens on udp/${p.port}.`),
    ),
  ];
  if (wg.kind !== "anywhere") {
    sets.push(
      ...set(
        "wireguard_sources",
        "ipv4_addr",
        wg.elements,
        wg.kind === "underlay"
          ? [`Where WireGuard may come from: the underlay ${plan.underlay!.cidr}.`]
          : ["Where WireGuard may come from: every node's uplink address (no underlay network is declared)."],
        true,
      ),
    );
  }
  if (sshSources.length > 0) {
    sets.push(...set("ssh_sources", "ipv4_addr", sshSources, ["Who may reach SSH on the uplink: spec.security.ssh.allowFrom."], true));
  }

  const uplinkRules: string[] = [
    wg.kind === "anywhere"
      ? `udp dport @wireguard_ports accept comment "WireGuard from anywhere: no underlay or uplink addresses are declared"`
      : `udp dport @wireguard_ports ip saddr @wireguard_sources accept comment "WireGuard from the ${wg.kind === "underlay" ? "underlay" : "node uplinks"}"`,
    sshSources.length > 0
      ? `tcp dport ${port} ip saddr @ssh_sources accept comment "SSH from ssh.allowFrom"`
      : `# No SSH on the uplink: ssh.allowFrom is empty, so SSH is reachable over ${control!.name} only.`,
    ...loadBalancerRules(plan, n),
  ];

  const crossings = interPlaneAllows(plan);
  const operator = control?.reserved.operatorPeer;
  sets.push(
    ...set(
      "own_addresses",
      "ipv4_addr",
      plan.planes.map((p) => n.addresses[p.name]),
      [
        "This node's own address on every plane — the only destinations plane traffic may have:",
        ...plan.planes.map((p) => `  ${p.name} (${p.purpose}) ${n.addresses[p.name]}`),
      ],
    ),
  );

  const planeRules: string[] = [
    "# 1. Sources. WireGuard already binds every peer to its /32 on its plane (AllowedIPs); these",
    "#    rules say the same, so a misconfigured peer cannot speak for another plane.",
  ];
  if (operator) {
    planeRules.push(
      `iifname != "${control!.name}" ip saddr ${operator} counter name "plane_spoof_drop" drop comment "the operator peer ${operator} is a source on ${control!.name} only"`,
    );
  }
  for (const p of plan.planes) {
    planeRules.push(
      `iifname "${p.name}" ip saddr != ${p.cidr} counter name "plane_spoof_drop" drop comment "${p.name}: the source must be on ${p.name}"`,
    );
  }
  planeRules.push("", "# 2. Intra-plane: traffic for this node's own address on the plane it arrived on.");
  if (control) {
    planeRules.push(
      `iifname "${control.name}" ip daddr ${n.addresses[control.name]} tcp dport ${port} accept comment "SSH over the control plane ${control.name}"`,
    );
  }
  for (const p of plan.planes) {
    planeRules.push(
      `iifname "${p.name}" ip daddr ${n.addresses[p.name]} accept comment "${p.name} (${p.purpose}): this node's own address"`,
    );
  }
  // The control-plane VIP needs no rule: every node holds it on lo and serves it with its own
  // HAProxy (kubernetes/converge.ts), so no packet for it ever arrives on a plane.
  const kube = plan.planes.find((p) => p.purpose === "kubernetes-backend");
  if (kube && guardsEtcd(plan, n)) {
    // etcd's peer and client ports on the Kubernetes plane: control planes only (kubeadm's
    // guidance). Workers are wg3 peers too, and client-cert auth alone should not be the wall.
    const cps = plan.nodes.filter((x) => x.role === "control-plane").map((x) => x.addresses[kube.name]);
    planeRules.splice(
      planeRules.findIndex((l) => l.startsWith("# 2. Intra-plane")),
      0,
      `iifname "${kube.name}" ip daddr ${n.addresses[kube.name]} tcp dport 2379-2380 ip saddr != { ${cps.join(", ")} } counter name "etcd_drop" drop comment "etcd: control planes only"`,
      "",
    );
  }
  planeRules.push(
    "",
    "# 3. Inter-plane: arriving on one plane for this node's address on another. Only the flows",
    "#    networking.policy.allow names, on exactly its ports.",
  );
  if (crossings.length === 0) planeRules.push("# (networking.policy.allow names no flow)");
  for (const c of crossings) {
    for (const proto of ["tcp", "udp"] as const) {
      if (c[proto].length === 0) continue;
      planeRules.push(
        `iifname "${c.from}" ip daddr ${n.addresses[c.to]} ${proto} dport { ${c[proto].join(", ")} } accept comment "${c.from} → ${c.to}: networking.policy.allow"`,
      );
    }
  }
  planeRules.push("");
  if (plan.policy.defaultInterPlane === "allow") {
    planeRules.push(
      "# 4. The spec chose networking.policy.defaultInterPlane: allow — every plane reaches this node's",
      "#    address on every other plane, on any port. Seed 001 §10.2 recommends deny.",
      `ip daddr @own_addresses accept comment "inter-plane allowed: the spec chose defaultInterPlane: allow"`,
    );
  } else {
    planeRules.push(
      "# 4. Every other inter-plane flow: default deny (networking.policy.defaultInterPlane: deny).",
      `ip daddr @own_addresses limit rate 10/minute burst 20 packets log prefix "kubedos inter-plane drop: " level info`,
      `ip daddr @own_addresses counter name "plane_inter_drop" drop comment "inter-plane default deny"`,
    );
  }
  planeRules.push(
    "",
    "# 5. Not addressed to this node: dropped. A node routes nothing between or through planes (seed 001 §10.3).",
    `ip daddr != @own_addresses limit rate 10/minute burst 20 packets log prefix "kubedos plane not-local drop: " level info`,
    `ip daddr != @own_addresses counter name "plane_not_local_drop" drop comment "not this node's address: no routing, no overlay"`,
  );

  const policyNote =
    plan.policy.defaultInterPlane === "allow"
      ? "crossing planes is ALLOWED: the spec chose networking.policy.defaultInterPlane: allow."
      : `crossing planes is denied except the ${crossings.length} flow(s) networking.policy.allow names.`;
  const wgNote =
    wg.kind === "underlay"
      ? `WireGuard (udp ${ports.join(", ")}) from the underlay ${plan.underlay!.cidr}`
      : wg.kind === "uplinks"
        ? `WireGuard (udp ${ports.join(", ")}) from every node's uplink address`
        : `WireGuard (udp ${ports.join(", ")}) from anywhere`;
  const sshNote =
    sshSources.length > 0
      ? `SSH (tcp ${port}) from ${sshSources.join(", ")} on the uplink${control ? `, and over ${control.name}` : ""}`
      : `SSH (tcp ${port}) over ${control!.name} only`;

  return [
    "#!/usr/sbin/nft -f",
    header(
      NODE_PATHS.nftables,
      [
        "",
        "Firewall baseline (seed 001 §7.4): inbound default deny on every non-plane interface.",
        `Uplink admits: ${wgNote}; ${sshNote}.`,
        "Plane interfaces admit traffic for this node's own address on the plane it arrived on;",
        policyNote,
        "Nothing is forwarded and nothing for another address is admitted: planes never route into",
        "each other (seed 001 §10.3).",
        "Replaces table inet kubedos only (declare, delete, redefine: one atomic transaction); other",
        "tables are left alone. Validate with: nft -c -f /etc/nftables.conf",
      ],
      plan,
      n,
    ),
    "",
    "# Declare the table (a no-op when it exists) so the delete below never fails, then replace it.",
    "table inet kubedos",
    "delete table inet kubedos",
    "",
    "table inet kubedos {",
    ...indent(1, [
      ...sets,
      "# Named counters of dropped packets: nft list counters table inet kubedos",
      ...counter("input_invalid", "input: invalid connection state"),
      ...counter("input_plane_drop", "input: plane traffic the planes chain did not decide (e.g. IPv6)"),
      ...counter("plane_spoof_drop", "planes: source not on the plane it arrived on"),
      ...counter("plane_inter_drop", "planes: inter-plane traffic no allow rule names"),
      ...counter("plane_not_local_drop", "planes: not addressed to this node (nothing is routed)"),
      ...counter("input_drop", "input: default deny"),
      ...counter("forward_drop", "forward: nothing is routed"),
      ...(guardsEtcd(plan, n) ? counter("etcd_drop", "planes: etcd (2379-2380) from a node that is not a control plane") : []),
      "",
      "chain input {",
      ...indent(1, [
        "type filter hook input priority filter; policy drop;",
        "",
        'iifname "lo" accept comment "loopback"',
        'iifname != "lo" ip daddr 127.0.0.0/8 counter drop comment "spoofed IPv4 loopback"',
        'iifname != "lo" ip6 daddr ::1 counter drop comment "spoofed IPv6 loopback"',
        'ct state established,related accept comment "replies to traffic this node started"',
        'ct state invalid counter name "input_invalid" drop comment "invalid connection state"',
        "",
        "# Plane interfaces: the planes chain decides (ICMP included: a ping does not cross planes",
        "# either); what it does not accept is dropped here.",
        'iifname @plane_ifaces jump planes comment "WireGuard planes"',
        'iifname @plane_ifaces limit rate 10/minute burst 20 packets log prefix "kubedos plane drop: " level info',
        'iifname @plane_ifaces counter name "input_plane_drop" drop comment "plane traffic the planes chain did not accept"',
        "",
        "# Every other interface is the uplink, whatever its name (a renamed NIC stays default-deny).",
        "# ICMP essentials, rate-limited (excess falls through to the drop at the end).",
        'meta l4proto icmp icmp type echo-request limit rate 5/second burst 10 packets accept comment "ping"',
        'meta l4proto icmp icmp type { destination-unreachable, time-exceeded, parameter-problem } limit rate 100/second accept comment "ICMP errors"',
        'meta l4proto ipv6-icmp icmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } limit rate 100/second accept comment "ICMPv6 errors"',
        'meta l4proto ipv6-icmp icmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert } ip6 hoplimit 255 limit rate 100/second accept comment "IPv6 neighbour discovery"',
        'meta l4proto ipv6-icmp icmpv6 type echo-request limit rate 5/second burst 10 packets accept comment "ping6"',
        ...uplinkRules,
        "",
        "# Everything else: logged (rate-limited), counted, dropped.",
        'limit rate 10/minute burst 20 packets log prefix "kubedos input drop: " level info',
        'counter name "input_drop" drop comment "default deny"',
      ]),
      "}",
      "",
      "# Traffic arriving on a plane interface (seed 001 §10): intra-plane accepted, inter-plane only",
      "# as networking.policy allows, anything for another address dropped.",
      "chain planes {",
      ...indent(1, planeRules),
      "}",
      "",
      "# Nothing is routed: planes never route into each other, and no overlay exists by surprise",
      "# (seed 001 §10.3; sysctl keeps net.ipv4.ip_forward = 0). The Kubernetes stage opens",
      "# forwarding explicitly for its CNI.",
      "chain forward {",
      ...indent(1, [
        "type filter hook forward priority filter; policy drop;",
        ...podForwardRules(plan),
        'limit rate 10/minute burst 20 packets log prefix "kubedos forward drop: " level info',
        'counter name "forward_drop" drop comment "no routing"',
      ]),
      "}",
      "",
      "chain output {",
      ...indent(1, ["type filter hook output priority filter; policy accept;"]),
      "}",
    ]),
    "}",
    "",
  ].join("\n");
}

/**
 * The one routed path: pod traffic, once the Kubernetes stage turns ip_forward on (until then
 * these rules are inert). Pods live on Cilium's interfaces (lxc*, cilium_*); other nodes' pods
 * arrive on the Kubernetes plane, where WireGuard admits a pod source only from the peer whose
 * pod CIDR it is. Nothing else is forwarded — the planes still never route into each other.
 */
function podForwardRules(plan: Plan): string[] {
  const kube = plan.planes.find((p) => p.purpose === "kubernetes-backend");
  if (!plan.podNetwork || !kube) return [];
  const pods = plan.podNetwork.podSubnet;
  return [
    `ct state established,related ip daddr ${pods} accept comment "replies to pods"`,
    `ct state established,related ip saddr ${pods} accept comment "replies from pods"`,
    `iifname "lxc*" ip saddr ${pods} accept comment "from this node's pods (Cilium enforces NetworkPolicy)"`,
    `iifname { "cilium_host", "cilium_net" } ip saddr ${pods} accept comment "Cilium's host interfaces"`,
    `iifname "${kube.name}" ip saddr ${pods} ip daddr ${pods} accept comment "pod to pod over ${kube.name} (native routing)"`,
  ];
}

/** Control planes run stacked etcd (Kubernetes enabled): its ports admit control planes only. */
function guardsEtcd(plan: Plan, n: PlanNode): boolean {
  return n.role === "control-plane" && !!plan.controlPlaneEndpoint && plan.planes.some((p) => p.purpose === "kubernetes-backend");
}

/** A control plane behind a cloud load balancer admits it (and only it) on the API and health ports. */
function loadBalancerRules(plan: Plan, n: PlanNode): string[] {
  const ep = plan.controlPlaneEndpoint;
  if (ep?.kind !== "load-balancer" || !ep.address || n.role !== "control-plane") return [];
  return [
    `tcp dport { ${ep.port}, ${API_HEALTH_PORT} } ip saddr ${ep.address} accept comment "the API load balancer (to HAProxy, then this node's API server on the Kubernetes plane)"`,
  ];
}

function planeNamesQuoted(plan: Plan): string[] {
  return plan.planes.map((p) => `"${p.name}"`);
}

function set(name: string, type: string, elements: string[], comment: string[], interval = false): string[] {
  return [
    ...comment.map((c) => `# ${c}`),
    `set ${name} {`,
    ...indent(1, [`type ${type}`, ...(interval ? ["flags interval", "auto-merge"] : []), `elements = { ${elements.join(", ")} }`]),
    "}",
    "",
  ];
}

function counter(name: string, comment: string): string[] {
  return [`counter ${name} {`, `\tcomment "${comment}"`, "}"];
}

function indent(level: number, lines: string[]): string[] {
  return lines.map((l) => (l === "" ? "" : "\t".repeat(level) + l));
}

function ipNumber(a: string): number {
  return a.split(".").reduce((acc, o) => acc * 256 + Number(o), 0);
}

function sortAddresses(addresses: string[]): string[] {
  return [...new Set(addresses)].sort((a, b) => ipNumber(a) - ipNumber(b));
}

/** `a.b.c.d/p` with the host bits cleared (nft refuses a prefix with host bits set). */
function networkOf(cidr: string): string {
  const [ip, p] = cidr.split("/");
  const prefix = Number(p);
  const size = 2 ** (32 - prefix);
  const net = ipNumber(ip) - (ipNumber(ip) % size);
  return `${[24, 16, 8, 0].map((s) => Math.floor(net / 2 ** s) % 256).join(".")}/${prefix}`;
}

function sortCidrs(cidrs: string[]): string[] {
  return [...cidrs].sort((a, b) => {
    const [ia, pa] = a.split("/");
    const [ib, pb] = b.split("/");
    return ipNumber(ia) - ipNumber(ib) || Number(pa) - Number(pb);
  });
}

/** One inter-plane flow of networking.policy.allow: destination ports by protocol, merged and sorted. */
export interface InterPlaneAllow {
  from: string;
  to: string;
  /** nft elements, e.g. ["2379-2380", "6443"], sorted by port. */
  tcp: string[];
  udp: string[];
}

/**
 * The allow rules of the spec, grouped by (from, to) in plane order, with each protocol's ports
 * merged (overlapping or adjacent ranges joined — nft rejects overlapping set elements).
 */
export function interPlaneAllows(plan: Plan): InterPlaneAllow[] {
  const order = new Map(plan.planes.map((p, i) => [p.name, i]));
  const byPair = new Map<string, { from: string; to: string; tcp: Array<[number, number]>; udp: Array<[number, number]> }>();
  for (const r of plan.policy.allow) {
    for (const end of [r.from, r.to]) {
      if (!order.has(end)) throw new Error(`networking.policy.allow names plane ${end}, which the plan does not have`);
    }
    if (r.from === r.to) throw new Error(`networking.policy.allow rule from ${r.from} to itself: intra-plane traffic is always allowed`);
    const key = `${r.from}\0${r.to}`;
    const entry = byPair.get(key) ?? { from: r.from, to: r.to, tcp: [], udp: [] };
    byPair.set(key, entry);
    for (const spec of r.ports) {
      const m = /^(\d{1,5})(?:-(\d{1,5}))?\/(tcp|udp)$/.exec(spec);
      const lo = m ? Number(m[1]) : NaN;
      const hi = m ? Number(m[2] ?? m[1]) : NaN;
      if (!m || lo < 1 || hi > 65535 || lo > hi)
        throw new Error(`networking.policy.allow port ${JSON.stringify(spec)} is not PORT/PROTO or LO-HI/PROTO`);
      entry[m[3] as "tcp" | "udp"].push([lo, hi]);
    }
  }
  return [...byPair.values()]
    .sort((a, b) => order.get(a.from)! - order.get(b.from)! || order.get(a.to)! - order.get(b.to)!)
    .map((e) => ({ from: e.from, to: e.to, tcp: mergeRanges(e.tcp), udp: mergeRanges(e.udp) }));
}

function mergeRanges(ranges: Array<[number, number]>): string[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: Array<[number, number]> = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out.map(([lo, hi]) => (lo === hi ? String(lo) : `${lo}-${hi}`));
}
