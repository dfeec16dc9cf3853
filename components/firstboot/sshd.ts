/**
 * /etc/ssh/sshd_config — the SSH policy of seed 001 §7.4: key-only, allowed users, a cipher
 * baseline. A complete file (no `Include`): what is rendered here is everything sshd reads, so
 * a drop-in left by the image or by cloud-init cannot weaken it.
 *
 * sshd takes the FIRST value it reads for a keyword, so each keyword appears exactly once.
 */
import type { Plan, PlanNode } from "../plan/plan";
import { header, NODE_PATHS, resolveNode, sshPort } from "./common";

/** Key exchange: post-quantum hybrid first, then X25519. */
export const KEX_ALGORITHMS = ["sntrup761x25519-sha512@openssh.com", "curve25519-sha256", "curve25519-sha256@libssh.org"] as const;
/** AEAD ciphers only. */
export const CIPHERS = ["chacha20-poly1305@openssh.com", "aes256-gcm@openssh.com", "aes128-gcm@openssh.com"] as const;
/** Encrypt-then-MAC only (unused with the AEAD ciphers above, but never weaker if one is negotiated). */
export const MACS = ["hmac-sha2-512-etm@openssh.com", "hmac-sha2-256-etm@openssh.com"] as const;
/** Ed25519 host and user keys only (plain and FIDO security-key backed). */
export const KEY_ALGORITHMS = ["ssh-ed25519", "sk-ssh-ed25519@openssh.com"] as const;

/** Key types of `authorizedKeys` this config accepts (PubkeyAcceptedAlgorithms). */
const ACCEPTED_KEY_TYPES: ReadonlySet<string> = new Set(KEY_ALGORITHMS);

/**
 * Every keyword and value, in file order. Exported so tests and the acceptance stage check the
 * same table the renderer writes.
 */
export function sshdSettings(plan: Plan, node: PlanNode): Array<[keyword: string, value: string, comment?: string]> {
  const n = resolveNode(plan, node);
  if (plan.ssh.allowUsers.length === 0) {
    // Without AllowUsers sshd admits every account: refuse rather than render an open door.
    throw new Error("ssh.allowUsers is empty; sshd would admit every local account — list the users under security.ssh.allowUsers");
  }
  for (const k of plan.ssh.authorizedKeys) {
    const type = k.split(/\s+/, 1)[0];
    if (!ACCEPTED_KEY_TYPES.has(type)) {
      throw new Error(
        `authorized key of type ${type} would be refused by sshd (PubkeyAcceptedAlgorithms ${KEY_ALGORITHMS.join(",")}) and lock its user out; use an ssh-ed25519 or sk-ssh-ed25519 key`,
      );
    }
  }
  const pinned = n.placement.hostKey;
  if (pinned !== undefined && !pinned.startsWith("ssh-ed25519 ")) {
    throw new Error(
      `node ${n.name} pins a host key of type ${pinned.split(" ", 1)[0]}, but sshd serves only ${NODE_PATHS.hostKey}; every pinned connection would fail — pin the host's ssh-ed25519 key`,
    );
  }
  return [
    ["Port", String(sshPort(n)), "listens on every address; nftables decides who reaches it"],
    ["AddressFamily", "any"],
    ["HostKey", NODE_PATHS.hostKey, "the only host key: derived from the master seed (or pinned on bare metal) so clients pin it"],
    ["HostKeyAlgorithms", KEY_ALGORITHMS.join(",")],
    ["KexAlgorithms", KEX_ALGORITHMS.join(",")],
    ["Ciphers", CIPHERS.join(",")],
    ["MACs", MACS.join(",")],
    ["PubkeyAcceptedAlgorithms", KEY_ALGORITHMS.join(",")],
    ["CASignatureAlgorithms", KEY_ALGORITHMS.join(",")],
    ["SyslogFacility", "AUTH"],
    ["LogLevel", "VERBOSE", "logs the fingerprint of every key used to log in"],
    ["LoginGraceTime", "30"],
    ["PermitRootLogin", "no"],
    ["StrictModes", "yes"],
    ["MaxAuthTries", "3"],
    ["MaxSessions", "4"],
    ["MaxStartups", "10:30:60", "start dropping unauthenticated connections at 10, drop all at 60"],
    ["AllowUsers", plan.ssh.allowUsers.join(" ")],
    ["PubkeyAuthentication", "yes"],
    ["AuthenticationMethods", "publickey"],
    ["AuthorizedKeysFile", ".ssh/authorized_keys"],
    ["PasswordAuthentication", "no"],
    ["PermitEmptyPasswords", "no"],
    ["KbdInteractiveAuthentication", "no"],
    ["HostbasedAuthentication", "no"],
    ["IgnoreRhosts", "yes"],
    ["UsePAM", "yes", "account and session modules only: no PAM method can authenticate (AuthenticationMethods publickey)"],
    ["PermitUserEnvironment", "no"],
    ["DisableForwarding", "yes", "every kind of forwarding off; the keywords below say the same, one by one"],
    ["AllowAgentForwarding", "no"],
    ["AllowTcpForwarding", "no"],
    ["AllowStreamLocalForwarding", "no"],
    ["X11Forwarding", "no"],
    ["GatewayPorts", "no"],
    ["PermitTunnel", "no"],
    ["ClientAliveInterval", "300"],
    ["ClientAliveCountMax", "2"],
    ["TCPKeepAlive", "no", "liveness comes from the encrypted ClientAlive probes"],
    ["Compression", "no"],
    ["UseDNS", "no"],
    ["PrintMotd", "no"],
    ["PrintLastLog", "yes"],
    ["Banner", "none"],
    ["Subsystem", "sftp internal-sftp"],
  ];
}

/** A complete /etc/ssh/sshd_config for `node`. */
export function renderSshdConfig(plan: Plan, node: PlanNode): string {
  const settings = sshdSettings(plan, node);
  const n = resolveNode(plan, node);
  const width = Math.max(...settings.map(([k]) => k.length));
  // Comments go on their own line: sshd_config has no trailing comments.
  const body = settings.flatMap(([k, v, c]) => [...(c ? [`# ${c}`] : []), `${k.padEnd(width)} ${v}`]);
  return [
    header(
      NODE_PATHS.sshdConfig,
      [
        "",
        "SSH policy (seed 001 §7.4): key-only, only the declared users, Ed25519 keys, a modern",
        "cipher baseline, no forwarding of any kind. This file is complete: it has no Include,",
        "so no drop-in can weaken it. Validate with: sshd -t -f /etc/ssh/sshd_config",
      ],
      plan,
      n,
    ),
    "",
    ...body,
    "",
  ].join("\n");
}
