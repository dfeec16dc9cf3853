/**
 * The lab's state file: every namespace and process a lab started, by name, inode and pid, so
 * `lab down` (and a failed test) removes exactly those and nothing else.
 *
 * Layout (root-only, 0700; on tmpfs by default so a reboot leaves nothing behind):
 *   $KUBEDOS_LAB_DIR (default /run/kubedos-lab)/<lab id>/
 *     state.json                 this file
 *     spec.yaml                  the ClusterSpec the lab was brought up from (check and drills reuse it)
 *     wg-userspace.sh            the userspace WireGuard launcher wg-quick calls (see lab.ts)
 *     nodes/<node>/…             rendered artifacts (wireguard/<plane>.conf and keys 0600) and logs
 *     etcd/…                     the etcd-quorum drill: PKI (keys 0600), per-member data dirs and logs
 *     acceptance-report.json     the report `check` and the drills write (kept by `lab down`)
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import type { ProcRef } from "./sys";

export const LAB_ID_PATTERN = /^[a-z0-9]{1,8}$/;
export const DEFAULT_LAB_ID = "lab";

export function labRoot(): string {
  return path.resolve(process.env.KUBEDOS_LAB_DIR || "/run/kubedos-lab");
}

export function labDir(id: string): string {
  checkId(id);
  return path.join(labRoot(), id);
}

export function checkId(id: string): void {
  if (!LAB_ID_PATTERN.test(id)) throw new Error(`lab id ${JSON.stringify(id)}: 1–8 lower-case letters or digits`);
}

/** Prefix of every namespace of lab `id`. */
export const nsPrefix = (id: string) => `kdl-${id}-`;

export interface NodeState {
  name: string;
  /** Network namespace name: kdl-<id>-<node>. */
  ns: string;
  nsInode?: number;
  /** The node's veth end in the underlay namespace. */
  veth: string;
  uplink: string;
  status: "starting" | "up" | "removed";
  /** The process holding the node's private mount namespace (tmpfs on /run/wireguard and /etc/ssh). */
  holder?: ProcRef;
  /** wireguard-go per plane, sshd, the TCP/UDP listener, etcd (the etcd-quorum drill). */
  procs: ProcRef[];
  ssh: "sshd" | "listener";
  /** Ports a lab daemon serves instead of the listener (etcd on a control plane's wg3 address). */
  served?: ServedPort[];
}

/** A TCP port on one of a node's addresses that a lab daemon (not the listener) answers. */
export interface ServedPort {
  address: string;
  port: number;
  by: string;
}

export interface OperatorState {
  name: "in" | "out";
  ns: string;
  nsInode?: number;
  address: string;
  veth: string;
}

export interface LabState {
  version: 1;
  id: string;
  createdAt: string;
  specFile: string;
  cluster: string;
  specDigest: string;
  /** WireGuard rotation epoch the nodes currently run. */
  epoch: number;
  /** Where the master seed came from; the fingerprint makes later commands refuse a different seed. */
  seed: { source: "env" | "placeholder"; fingerprint: string };
  underlay: { ns: string; nsInode?: number; bridge: string; cidr: string };
  operators: OperatorState[];
  /** By node name; `order` is the plan's node order. */
  nodes: Record<string, NodeState>;
  order: string[];
  /** Lab "operators" and every other namespace name the lab created, for down. */
  namespaces: string[];
}

export function statePath(id: string): string {
  return path.join(labDir(id), "state.json");
}

export function reportPath(id: string): string {
  return path.join(labDir(id), "acceptance-report.json");
}

export function loadState(id: string): LabState {
  const file = statePath(id);
  if (!existsSync(file)) throw new Error(`lab ${id} is not up (no ${file})`);
  return JSON.parse(readFileSync(file, "utf8")) as LabState;
}

export function tryLoadState(id: string): LabState | undefined {
  try {
    return loadState(id);
  } catch {
    return undefined;
  }
}

/** Atomic write: a crash never leaves a half-written state file. */
export function saveState(s: LabState): void {
  const file = statePath(s.id);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, JSON.stringify(s, null, 2) + "\n", { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

export function seedFingerprint(seed: string): string {
  return createHash("sha256").update(`kubedos-lab-seed-fingerprint\0${seed}`).digest("hex").slice(0, 16);
}

/** The lab's master seed: KUBEDOS_MASTER_SEED, else the fixed lab placeholder. */
export function labSeed(placeholder: string): { seed: string; source: "env" | "placeholder" } {
  const env = process.env.KUBEDOS_MASTER_SEED;
  return env ? { seed: env, source: "env" } : { seed: placeholder, source: "placeholder" };
}

/** Refuse to derive keys from a seed other than the one the lab came up with. */
export function checkSeed(s: LabState, seed: string): void {
  if (seedFingerprint(seed) !== s.seed.fingerprint) {
    throw new Error(
      `lab ${s.id} came up with a different master seed (${s.seed.source}); set KUBEDOS_MASTER_SEED as it was for lab up` +
        (s.seed.source === "placeholder" ? " (unset it: the lab used its placeholder seed)" : ""),
    );
  }
}
