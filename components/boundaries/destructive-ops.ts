/**
 * Destructive operations and the flag that governs each (seed 001 §14.2).
 *
 * One table for both enforcement points: renderers refuse to emit these unless the flag is
 * true, and the policy pack fails a preview whose commands carry them. Patterns match the
 * command text a node would run (create, update, delete scripts), case-sensitively, as words.
 */
import type { DestructiveFlag } from "../spec/constraints";

export interface DestructiveOp {
  /** Short name shown in messages. */
  op: string;
  flag: DestructiveFlag;
  pattern: RegExp;
  why: string;
  /**
   * True when the operation is the spec's own decision in a command's `delete`: that text runs only
   * when its resource leaves the graph — the node left the spec — so it needs no flag there.
   */
  allowedOnDelete?: boolean;
}

/**
 * A format command, optionally behind the guard that proves the disk is blank:
 * `blkid DEV || mkfs.ext4 … DEV`. The guard only counts when it probes the device it formats.
 */
const MKFS = /(?:\bblkid\s+(?:-\S+\s+)*(\/dev\/\S+)[^\n|&;]*\|\|\s*)?\b((?:mkfs(?:\.[a-z0-9]+)?|mke2fs)\b[^\n;&|]*)/g;

export const DESTRUCTIVE_OPS: readonly DestructiveOp[] = [
  { op: "kubeadm reset", flag: "allowReset", pattern: /\bkubeadm\s+reset\b/, why: "wipes the node's Kubernetes state and certificates" },
  {
    op: "rm -rf /var/lib/etcd",
    flag: "allowReset",
    pattern: /\brm\s+-[a-zA-Z]*[rR][a-zA-Z]*\s+(?:-\S+\s+)*\/var\/lib\/etcd\b/,
    why: "deletes the etcd member's data",
  },
  {
    op: "etcdctl member remove",
    flag: "allowReset",
    pattern: /\betcdctl\b[^\n]*\bmember\s+remove\b/,
    why: "removes an etcd member",
    // Removing a departed control plane's member keeps etcd's fault tolerance (a dead member still
    // counts toward quorum); it touches no data on any disk. Anywhere else it needs allowReset.
    allowedOnDelete: true,
  },
  { op: "wipefs", flag: "allowWipe", pattern: /\bwipefs\b/, why: "erases filesystem signatures" },
  {
    op: "sgdisk --zap",
    flag: "allowWipe",
    pattern: /\bsgdisk\b[^\n]*(?:--zap(?:-all)?\b|\s-Z\b|\s-z\b)/,
    why: "destroys the partition table",
  },
  { op: "dd of=/dev/…", flag: "allowWipe", pattern: /\bdd\b[^\n]*\bof=\/dev\/(?!null\b|zero\b)\S+/, why: "overwrites a block device" },
  { op: "blkdiscard", flag: "allowWipe", pattern: /\bblkdiscard\b/, why: "discards every block of a device" },
  { op: "ceph-volume zap", flag: "allowWipe", pattern: /\bceph-volume\b[^\n]*\bzap\b/, why: "wipes an OSD device" },
  { op: "zpool destroy", flag: "allowWipe", pattern: /\bzpool\s+destroy\b/, why: "destroys a ZFS pool and its data" },
  {
    op: "zpool create -f",
    flag: "allowWipe",
    pattern: /\bzpool\s+create\b[^\n]*\s-f\b/,
    why: "forces a pool over devices that may hold data",
  },
  { op: "zfs destroy", flag: "allowWipe", pattern: /\bzfs\s+destroy\b/, why: "destroys a dataset" },
  // Matched by unguardedMkfs(): a format is allowed behind a guard that probes the same device.
  {
    op: "mkfs",
    flag: "allowWipe",
    pattern: MKFS,
    why: "formats a device (allowed only behind a `blkid DEV || mkfs … DEV` blank-disk guard)",
  },
  {
    op: "partition table change",
    flag: "allowRepartition",
    // Listing (`fdisk -l`, `sfdisk -l/-d`, `parted … print`) only reads the table.
    pattern:
      /\b(?:fdisk|sfdisk)\b(?![^\n]*\s(?:-l|--list|-d|--dump)\b)|\bparted\b(?![^\n]*\b(?:print|-l|--list)\b)|\bgdisk\b|\bsgdisk\b[^\n]*\s(?:-n|--new|-d|--delete)\b/,
    why: "changes partitions",
  },
  { op: "qm destroy", flag: "allowDestroy", pattern: /\bqm\s+destroy\b|\bpvesh\s+delete\b[^\n]*\/qemu\//, why: "destroys a Proxmox VM" },
  { op: "hcloud server delete", flag: "allowDestroy", pattern: /\bhcloud\s+server\s+delete\b/, why: "deletes a Hetzner server" },
];

export interface DestructiveFinding {
  op: string;
  flag: DestructiveFlag;
  why: string;
  /** The matching text, for the message. */
  match: string;
  /** See DestructiveOp.allowedOnDelete. */
  allowedOnDelete?: boolean;
}

/** Every destructive operation in a script, with the flag that would have to be true. */
export function findDestructiveOps(script: string): DestructiveFinding[] {
  const out: DestructiveFinding[] = [];
  for (const d of DESTRUCTIVE_OPS) {
    if (d.op === "mkfs") {
      const unguarded = unguardedMkfs(script);
      if (unguarded) out.push({ op: d.op, flag: d.flag, why: d.why, match: unguarded });
      continue;
    }
    const m = d.pattern.exec(script);
    if (m) out.push({ op: d.op, flag: d.flag, why: d.why, match: m[0].trim(), ...(d.allowedOnDelete ? { allowedOnDelete: true } : {}) });
  }
  return out;
}

/** The first format command not behind a blank-disk guard on the same device. */
function unguardedMkfs(script: string): string | undefined {
  for (const m of script.matchAll(MKFS)) {
    const guardDev = m[1];
    const cmd = m[2].trim();
    const target = cmd
      .split(/\s+/)
      .filter((w) => w.startsWith("/dev/"))
      .pop();
    if (!guardDev || guardDev !== target) return cmd;
  }
  return undefined;
}

/** Throw if a rendered script carries an operation whose flag is false (the renderer-side guard). */
export function assertNoForbiddenOps(script: string, flags: Record<DestructiveFlag, boolean>, what: string): void {
  const bad = findDestructiveOps(script).filter((f) => !flags[f.flag]);
  if (bad.length > 0) {
    throw new Error(
      `${what} would run ${bad.map((b) => `${b.op} (needs ${b.flag})`).join(", ")}; refusing to render it while the flag is false`,
    );
  }
}
