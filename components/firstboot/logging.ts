/**
 * Logging and audit strategy of seed 001 §7.4: a persistent, compressed, sealed journal that is
 * the single local log store, and kernel audit rules for everything that defines who a node is
 * and who may reach it. Both are the same on every node.
 */
import { header, NODE_PATHS } from "./common";

/** Cap of the persistent journal; journald also keeps 15% of the filesystem free by default. */
export const JOURNAL_MAX_USE = "1G";

/** journald drop-in (`[Journal]` section). */
export function renderJournald(): string {
  return [
    header(NODE_PATHS.journald, [
      "",
      "The journal is the node's one local log store: kept across reboots, compressed, sealed,",
      "and not duplicated into syslog. Shipping off the node happens over the observability plane",
      "(a later stage), never from here.",
      "Seal=yes takes effect once Forward Secure Sealing keys exist (`journalctl --setup-keys`); the",
      "verification key must be kept off the node, so the seal stage creates them, not firstboot.",
    ]),
    "",
    "[Journal]",
    "Storage=persistent",
    "Compress=yes",
    "Seal=yes",
    `SystemMaxUse=${JOURNAL_MAX_USE}`,
    "SystemMaxFileSize=128M",
    "ForwardToSyslog=no",
    "ForwardToWall=no",
    "",
  ].join("\n");
}

interface AuditGroup {
  comment: string;
  rules: string[];
}

/** Architectures syscall rules cover: native 64-bit and the 32-bit compat ABI (no audit bypass via int 0x80). */
const ARCHES = ["b64", "b32"] as const;

const syscalls = (names: string, key: string): string[] => ARCHES.map((a) => `-a always,exit -F arch=${a} -S ${names} -k ${key}`);

const AUDIT_GROUPS: readonly AuditGroup[] = [
  {
    comment: "Identity: accounts, groups and passwords.",
    rules: [
      "-w /etc/passwd -p wa -k identity",
      "-w /etc/group -p wa -k identity",
      "-w /etc/shadow -p wa -k identity",
      "-w /etc/gshadow -p wa -k identity",
    ],
  },
  {
    comment: "Who may become root.",
    rules: ["-w /etc/sudoers -p wa -k privilege", "-w /etc/sudoers.d/ -p wa -k privilege"],
  },
  {
    comment: "SSH policy.",
    rules: [`-w ${NODE_PATHS.sshdConfig} -p wa -k sshd`, "-w /etc/ssh/sshd_config.d/ -p wa -k sshd"],
  },
  {
    comment: "Firewall and kernel baseline.",
    rules: [`-w ${NODE_PATHS.nftables} -p wa -k firewall`, "-w /etc/sysctl.d/ -p wa -k sysctl", "-w /etc/sysctl.conf -p wa -k sysctl"],
  },
  {
    comment: "kubedos markers: the immutable identity, the readiness signals and the firstboot script.",
    rules: ["-w /etc/kubedos/ -p wa -k kubedos", "-w /var/lib/kubedos/ -p wa -k kubedos", `-w ${NODE_PATHS.script} -p wa -k kubedos`],
  },
  {
    comment: "Audit configuration itself.",
    rules: ["-w /etc/audit/ -p wa -k audit-config"],
  },
  {
    comment: "Kernel module loading and unloading.",
    rules: [
      ...syscalls("init_module,finit_module,delete_module", "modules"),
      // insmod, rmmod and modprobe are symlinks to kmod; a watch on a symlink never fires on exec.
      "-w /usr/bin/kmod -p x -k modules",
    ],
  },
  {
    comment: "Time changes (certificates, tokens and logs all depend on the clock).",
    rules: [...syscalls("adjtimex,settimeofday,clock_settime", "time-change"), "-w /etc/localtime -p wa -k time-change"],
  },
];

/** Every rule line, in file order (without the final `-e 2`). */
export const AUDIT_RULES: readonly string[] = AUDIT_GROUPS.flatMap((g) => g.rules);

/** /etc/audit/rules.d/kubedos.rules, loaded with `augenrules --load`. */
export function renderAuditRules(): string {
  return [
    header(NODE_PATHS.auditRules, [
      "",
      "Audit rules (seed 001 §7.4). augenrules merges rules.d in lexical order, so this file sorts",
      "after the numbered distribution files and its `-e 2` is the last control line: once loaded,",
      "the rules cannot be changed or removed until the next reboot.",
    ]),
    ...AUDIT_GROUPS.flatMap((g) => ["", `# ${g.comment}`, ...g.rules]),
    "",
    "# Make the rules immutable until reboot.",
    "-e 2",
    "",
  ].join("\n");
}
