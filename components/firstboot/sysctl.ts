/**
 * /etc/sysctl.d/90-kubedos.conf — the kernel baseline of seed 001 §7.4. The same for every
 * node; the firstboot script applies it (`sysctl --system`) and then reads every key back, so
 * a missing key or a later file overriding one of these values fails Stage 2 loudly.
 */
import { header, NODE_PATHS } from "./common";

export interface SysctlSetting {
  key: string;
  value: string;
}

interface SysctlGroup {
  comment: string[];
  settings: Array<[key: string, value: string]>;
}

const GROUPS: readonly SysctlGroup[] = [
  {
    comment: [
      "Strict reverse-path filtering: drop packets whose source would not be routed back out of the",
      "interface they arrived on (anti-spoofing across the planes). The Kubernetes stage relaxes it",
      "explicitly for the CNI's interfaces if it must.",
    ],
    settings: [
      ["net.ipv4.conf.all.rp_filter", "1"],
      ["net.ipv4.conf.default.rp_filter", "1"],
    ],
  },
  {
    comment: ["ICMP redirects are never accepted and never sent: routes come from the plan only."],
    settings: [
      ["net.ipv4.conf.all.accept_redirects", "0"],
      ["net.ipv4.conf.default.accept_redirects", "0"],
      ["net.ipv4.conf.all.secure_redirects", "0"],
      ["net.ipv4.conf.default.secure_redirects", "0"],
      ["net.ipv6.conf.all.accept_redirects", "0"],
      ["net.ipv6.conf.default.accept_redirects", "0"],
      ["net.ipv4.conf.all.send_redirects", "0"],
      ["net.ipv4.conf.default.send_redirects", "0"],
    ],
  },
  {
    comment: ["No source routing."],
    settings: [
      ["net.ipv4.conf.all.accept_source_route", "0"],
      ["net.ipv4.conf.default.accept_source_route", "0"],
      ["net.ipv6.conf.all.accept_source_route", "0"],
      ["net.ipv6.conf.default.accept_source_route", "0"],
    ],
  },
  {
    comment: ["Log packets with impossible source addresses."],
    settings: [
      ["net.ipv4.conf.all.log_martians", "1"],
      ["net.ipv4.conf.default.log_martians", "1"],
    ],
  },
  {
    comment: ["SYN-flood resistance; ignore broadcast pings and bogus ICMP errors."],
    settings: [
      ["net.ipv4.tcp_syncookies", "1"],
      ["net.ipv4.icmp_echo_ignore_broadcasts", "1"],
      ["net.ipv4.icmp_ignore_bogus_error_responses", "1"],
    ],
  },
  {
    comment: [
      "No forwarding: a node is not a router, and the planes never route into each other (seed 001",
      "§10.3, no overlay by surprise). The Kubernetes stage turns forwarding on explicitly, in its own",
      "later-sorting sysctl file, when the CNI needs it.",
    ],
    settings: [
      ["net.ipv4.ip_forward", "0"],
      ["net.ipv6.conf.all.forwarding", "0"],
    ],
  },
  {
    comment: ["Kernel information leaks and attack surface."],
    settings: [
      ["kernel.kptr_restrict", "2"],
      ["kernel.dmesg_restrict", "1"],
      ["kernel.unprivileged_bpf_disabled", "1"],
      ["net.core.bpf_jit_harden", "2"],
      ["kernel.yama.ptrace_scope", "1"],
      ["kernel.randomize_va_space", "2"],
      ["fs.suid_dumpable", "0"],
    ],
  },
  {
    comment: ["Link and file protections in world-writable sticky directories."],
    settings: [
      ["fs.protected_hardlinks", "1"],
      ["fs.protected_symlinks", "1"],
      ["fs.protected_fifos", "2"],
      ["fs.protected_regular", "2"],
    ],
  },
];

/** Every key and value of the baseline, in file order. */
export const SYSCTL_BASELINE: readonly SysctlSetting[] = GROUPS.flatMap((g) => g.settings.map(([key, value]) => ({ key, value })));

/** The sysctl.d file (identical on every node). */
export function renderSysctl(): string {
  const width = Math.max(...SYSCTL_BASELINE.map((s) => s.key.length));
  const body = GROUPS.flatMap((g) => ["", ...g.comment.map((c) => `# ${c}`), ...g.settings.map(([k, v]) => `${k.padEnd(width)} = ${v}`)]);
  return [
    header(NODE_PATHS.sysctl, [
      "",
      "Kernel baseline (seed 001 §7.4). Applied with `sysctl --system`; the firstboot script then",
      "reads every key back and fails if one is missing or overridden by a later file.",
    ]),
    ...body,
    "",
  ].join("\n");
}
