/**
 * /usr/local/sbin/kubedos-firstboot — Stage 2 on the node (seed 001 §9.3 steps 1–2, §14.1).
 *
 * cloud-init writes the baseline files and runs this once; Stage 2 may run it again at any time
 * (§14.1: idempotent, re-run re-asserts). It applies and verifies the baseline, writes the
 * immutable identity marker once, and raises the readiness signal. It never destroys anything:
 * the renderer refuses to emit a script that carries a destructive operation or installs a
 * package (boundaries/destructive-ops.ts, supplychain/pins.ts).
 */
import { assertNoForbiddenOps } from "../boundaries/destructive-ops";
import type { Plan, PlanNode } from "../plan/plan";
import { unpinnedPackages } from "../supplychain/pins";
import { ALL_FLAGS_FALSE, header, NODE_PATHS, resolveNode } from "./common";
import { SYSCTL_BASELINE } from "./sysctl";

/** Exit codes of the firstboot script: one per failure, so the caller knows what broke without reading logs. */
export const FIRSTBOOT_EXIT = {
  ok: { code: 0, meaning: "baseline applied and verified (also when re-run over the same state)" },
  unexpected: { code: 1, meaning: "an unexpected command failed (the log names the line)" },
  notRoot: { code: 2, meaning: "not running as root" },
  missingTool: { code: 3, meaning: "a required tool is missing from the image (nft, sshd, sysctl, chattr, flock)" },
  locked: { code: 4, meaning: "another kubedos-firstboot is running" },
  sysctl: { code: 10, meaning: "the sysctl baseline is not in effect after sysctl --system" },
  nftablesInvalid: { code: 11, meaning: "nftables.conf does not validate (nft -c)" },
  nftablesLoad: { code: 12, meaning: "loading or enabling the nftables ruleset failed" },
  sshdInvalid: { code: 13, meaning: "sshd_config does not validate (sshd -t)" },
  sshdReload: { code: 14, meaning: "reloading (or starting) ssh.service failed" },
  journald: { code: 15, meaning: "restarting systemd-journald failed" },
  audit: { code: 16, meaning: "loading the audit rules failed (augenrules --load)" },
  airgap: { code: 17, meaning: "disabling the periodic apt timers failed" },
  identityChanged: { code: 20, meaning: "the identity marker records a different identity: identity never changes in place" },
  identityWrite: { code: 21, meaning: "writing the identity marker or making it immutable failed" },
  ready: { code: 22, meaning: "writing the readiness signal failed" },
} as const;

/** The identity fields: what a node IS. They never change for the life of a node. */
export interface NodeIdentity {
  cluster: string;
  node: string;
  role: PlanNode["role"];
  failureDomain: string;
  ordinal: number;
  /** Address on each plane, by plane name. */
  planes: Record<string, string>;
}

/** What the node was first brought up from (kept for audit; not part of the identity). */
export interface NodeProvenance {
  artifactVersion: string;
  specDigest: string;
}

export function nodeIdentity(plan: Plan, node: PlanNode): NodeIdentity {
  const n = resolveNode(plan, node);
  return {
    cluster: plan.cluster.name,
    node: n.name,
    role: n.role,
    failureDomain: n.failureDomain,
    ordinal: n.ordinal,
    planes: Object.fromEntries(plan.planes.map((p) => [p.name, n.addresses[p.name]])),
  };
}

/** The line of identity.json the re-run guard compares: `  "identity": {…},`. */
export function identityLine(identity: NodeIdentity): string {
  return `  "identity": ${JSON.stringify(identity)},`;
}

/**
 * /etc/kubedos/identity.json, written once at first boot and made immutable. The identity is on
 * one line so the script can compare it without a JSON parser; the provenance records the
 * artifact and spec the node was born from. A later spec (say, one more node) changes the spec
 * digest but not this node's identity, so re-runs compare the identity line only.
 */
export function renderIdentityJson(plan: Plan, node: PlanNode): string {
  const provenance: NodeProvenance = { artifactVersion: plan.cluster.artifactVersion, specDigest: plan.specDigest };
  return [
    "{",
    '  "schema": "kubedos.ca/identity/v1",',
    identityLine(nodeIdentity(plan, node)),
    `  "firstboot": ${JSON.stringify(provenance)}`,
    "}",
    "",
  ].join("\n");
}

/** Text placed inside single quotes in the script: nothing in it may close the quotes or end the line. */
function sq(value: string, what: string): string {
  if (/['\u0000-\u001f\u007f]/.test(value)) throw new Error(`${what} ${JSON.stringify(value)} has characters unsafe in a shell script`);
  return `'${value}'`;
}

/** The firstboot script for `node`. Throws if it would carry a destructive operation or install anything. */
export function renderFirstbootScript(plan: Plan, node: PlanNode): string {
  const n = resolveNode(plan, node);
  if (!/^sha256:[0-9a-f]{64}$/.test(plan.specDigest)) throw new Error(`spec digest ${plan.specDigest} is not sha256:<64 hex>`);
  const identity = nodeIdentity(plan, n);
  const identityJson = renderIdentityJson(plan, n);
  const mirror = plan.mirrors.apt?.url ?? "";
  const exitDoc = Object.values(FIRSTBOOT_EXIT).map((e) => `  ${String(e.code).padStart(2)}  ${e.meaning}`);
  const E = Object.fromEntries(Object.entries(FIRSTBOOT_EXIT).map(([k, v]) => [k, v.code])) as Record<keyof typeof FIRSTBOOT_EXIT, number>;

  const script = `#!/usr/bin/env bash
${header(
  NODE_PATHS.script,
  [
    "",
    "Stage 2 — Firstboot Identity + Baseline (seed 001 §9.3, §14.1). Applies and verifies the",
    "kernel, firewall, SSH and logging baseline that cloud-init (or the bare-metal stage) wrote,",
    `writes the immutable identity marker ${NODE_PATHS.identity} once, then raises the`,
    `readiness signal ${NODE_PATHS.ready}.`,
    "",
    "Idempotent: safe to re-run; every step re-asserts the same state and nothing is destroyed.",
    "Output: one JSON object per line on stdout, also appended to " + NODE_PATHS.log + ":",
    '  {"ts":"…","stage":"firstboot","node":"…","step":"…","status":"start|ok|skip|warn|fail"}',
    '  (a failure adds "detail" and "code": the exit code below).',
    "",
    "Exit codes:",
    ...exitDoc,
  ],
  plan,
  n,
)}
set -euo pipefail
set -o errtrace
umask 0022

# Test hooks, unset on a node: KUBEDOS_FIRSTBOOT_ROOT prefixes every path this script writes or
# reads, and KUBEDOS_FIRSTBOOT_PATH replaces PATH (the tests run it against stub tools).
ROOT="\${KUBEDOS_FIRSTBOOT_ROOT:-}"
PATH="\${KUBEDOS_FIRSTBOOT_PATH:-/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin}"
LC_ALL=C
export PATH LC_ALL

readonly NODE=${sq(n.name, "node name")}
readonly SPEC_DIGEST=${sq(plan.specDigest, "spec digest")}
readonly MIRROR_URL=${sq(mirror, "apt mirror URL")}
readonly SYSCTL_FILE="\${ROOT}${NODE_PATHS.sysctl}"
readonly NFT_FILE="\${ROOT}${NODE_PATHS.nftables}"
readonly SSHD_CONFIG="\${ROOT}${NODE_PATHS.sshdConfig}"
readonly IDENTITY_FILE="\${ROOT}${NODE_PATHS.identity}"
readonly READY_FILE="\${ROOT}${NODE_PATHS.ready}"
readonly LOG_FILE="\${ROOT}${NODE_PATHS.log}"
readonly LOCK_FILE="\${ROOT}/run/kubedos/firstboot.lock"
# The identity line of ${NODE_PATHS.identity}; a marker recording anything else is another node.
readonly IDENTITY_LINE=${sq(identityLine(identity), "identity")}
# The kernel baseline (${NODE_PATHS.sysctl}), read back after sysctl --system.
readonly -a SYSCTL_EXPECTED=(
${SYSCTL_BASELINE.map((s) => `  ${sq(`${s.key}=${s.value}`, "sysctl setting")}`).join("\n")}
)

json_escape() {
  local s=$1
  s=\${s//\\\\/\\\\\\\\}
  s=\${s//\\"/\\\\\\"}
  s=\${s//$'\\n'/\\\\n}
  s=\${s//$'\\t'/\\\\t}
  printf '%s' "$s"
}

# log STEP STATUS [DETAIL [CODE]]: one JSON object per line, on stdout and in the log file.
log() {
  local line
  line=$(printf '{"ts":"%s","stage":"firstboot","node":"%s","step":"%s","status":"%s"' \\
    "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$NODE" "$1" "$2")
  if [ "$#" -ge 3 ]; then line+=",\\"detail\\":\\"$(json_escape "$3")\\""; fi
  if [ "$#" -ge 4 ]; then line+=",\\"code\\":$4"; fi
  line+='}'
  printf '%s\\n' "$line"
  if [ -d "\${LOG_FILE%/*}" ]; then printf '%s\\n' "$line" >>"$LOG_FILE" || true; fi
}

# fail STEP CODE DETAIL: log the failure and exit with CODE.
fail() {
  log "$1" fail "$3" "$2"
  exit "$2"
}

on_error() {
  trap - ERR
  log script fail "unexpected failure (status $1) at line $2" ${E.unexpected}
  exit ${E.unexpected}
}
trap 'on_error "$?" "$LINENO"' ERR

have() {
  command -v "$1" >/dev/null 2>&1
}

step_preflight() {
  if [ "$(id -u)" -ne 0 ]; then fail preflight ${E.notRoot} "must run as root"; fi
  install -d -m 0755 "\${ROOT}/etc/kubedos" "\${ROOT}/var/lib/kubedos" "\${ROOT}/run/kubedos"
  install -d -m 0750 "\${ROOT}/var/log/kubedos"
  log preflight start
  local tool missing=()
  for tool in nft sshd sysctl chattr flock; do
    have "$tool" || missing+=("$tool")
  done
  if [ "\${#missing[@]}" -gt 0 ]; then fail preflight ${E.missingTool} "missing tools: \${missing[*]}"; fi
  exec 9>"$LOCK_FILE"
  if ! flock -n 9; then fail preflight ${E.locked} "another kubedos-firstboot holds $LOCK_FILE"; fi
  # Identity first: if this node was born as someone else, change nothing at all.
  if [ -e "$IDENTITY_FILE" ] && ! grep -qxF -- "$IDENTITY_LINE" "$IDENTITY_FILE"; then
    fail preflight ${E.identityChanged} "$IDENTITY_FILE records a different identity; identity never changes in place, rebuild the node instead"
  fi
  log preflight ok
}

step_sysctl() {
  log sysctl start
  if [ ! -f "$SYSCTL_FILE" ]; then fail sysctl ${E.sysctl} "$SYSCTL_FILE is missing"; fi
  if ! sysctl --system >/dev/null 2>&1; then
    log sysctl warn "sysctl --system reported errors; checking the kubedos baseline key by key"
  fi
  local entry key want got bad=()
  for entry in "\${SYSCTL_EXPECTED[@]}"; do
    key=\${entry%%=*}
    want=\${entry#*=}
    if ! got=$(sysctl -n "$key" 2>/dev/null); then
      bad+=("$key is missing")
    elif [ "$got" != "$want" ]; then
      bad+=("$key=$got, want $want")
    fi
  done
  if [ "\${#bad[@]}" -gt 0 ]; then fail sysctl ${E.sysctl} "baseline not in effect: \${bad[*]}"; fi
  log sysctl ok
}

step_nftables() {
  log nftables start
  if ! nft -c -f "$NFT_FILE"; then fail nftables ${E.nftablesInvalid} "$NFT_FILE does not validate (nft -c)"; fi
  if ! nft -f "$NFT_FILE"; then fail nftables ${E.nftablesLoad} "loading $NFT_FILE failed"; fi
  if have systemctl && ! systemctl enable nftables.service >/dev/null 2>&1; then
    fail nftables ${E.nftablesLoad} "cannot enable nftables.service: the ruleset would not survive a reboot"
  fi
  log nftables ok
}

step_sshd() {
  log sshd start
  # The privilege separation directory sshd -t insists on (ssh.service creates it too).
  mkdir -p "\${ROOT}/run/sshd"
  if ! sshd -t -f "$SSHD_CONFIG"; then fail sshd ${E.sshdInvalid} "$SSHD_CONFIG does not validate (sshd -t)"; fi
  if have systemctl; then
    # reload when running; start it when not (an sshd that died before its host key existed)
    if ! systemctl reload-or-restart ssh.service; then fail sshd ${E.sshdReload} "reloading or starting ssh.service failed"; fi
    log sshd ok
  else
    log sshd skip "no systemctl: sshd reads the configuration at its next start"
  fi
}

step_journald() {
  log journald start
  if have systemctl; then
    if ! systemctl restart systemd-journald.service; then fail journald ${E.journald} "restarting systemd-journald failed"; fi
    log journald ok
  else
    log journald skip "no systemctl"
  fi
}

step_audit() {
  log audit start
  if ! have augenrules; then
    log audit warn "auditd is not installed (no augenrules); the image must ship it"
    return 0
  fi
  local status
  status=$(auditctl -s 2>/dev/null || true)
  if grep -qx 'enabled 2' <<<"$status"; then
    log audit skip "the loaded rules are immutable (-e 2) until reboot; the new ones load at the next boot"
    return 0
  fi
  if ! augenrules --load >/dev/null; then fail audit ${E.audit} "augenrules --load failed"; fi
  log audit ok
}

# Air gap (seed 001 §9.3: no phone home, no silent pulls): nothing fetches packages on a timer,
# and any apt source other than the declared mirror is reported.
step_airgap() {
  log airgap start
  local unit
  if have systemctl; then
    for unit in apt-daily.timer apt-daily-upgrade.timer; do
      if systemctl cat "$unit" >/dev/null 2>&1 && ! systemctl disable --now "$unit" >/dev/null 2>&1; then
        fail airgap ${E.airgap} "cannot disable $unit"
      fi
    done
  fi
  local f uri foreign=()
  for f in "\${ROOT}/etc/apt/sources.list" "\${ROOT}"/etc/apt/sources.list.d/*.list "\${ROOT}"/etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    while IFS= read -r uri; do
      if [ -z "$MIRROR_URL" ] || [ "\${uri#"$MIRROR_URL"}" = "$uri" ]; then foreign+=("$uri"); fi
    done < <(grep -v '^[[:space:]]*#' "$f" | grep -oE '[a-z0-9+.-]+://[^[:space:]]+' || true)
  done
  if [ "\${#foreign[@]}" -gt 0 ]; then
    log airgap warn "apt sources other than the declared mirror: \${foreign[*]}"
  else
    log airgap ok
  fi
}

step_identity() {
  log identity start
  if [ ! -e "$IDENTITY_FILE" ]; then
    local tmp
    if ! tmp=$(mktemp "$IDENTITY_FILE.XXXXXX"); then fail identity ${E.identityWrite} "cannot create a file beside $IDENTITY_FILE"; fi
    if ! { cat >"$tmp" <<'KUBEDOS_IDENTITY'
${identityJson}KUBEDOS_IDENTITY
    } || ! chmod 0444 "$tmp" || ! mv -f "$tmp" "$IDENTITY_FILE"; then
      fail identity ${E.identityWrite} "cannot write $IDENTITY_FILE"
    fi
  elif ! grep -qxF -- "$IDENTITY_LINE" "$IDENTITY_FILE"; then
    fail identity ${E.identityChanged} "$IDENTITY_FILE records a different identity; identity never changes in place, rebuild the node instead"
  fi
  if ! chattr +i "$IDENTITY_FILE"; then
    fail identity ${E.identityWrite} "chattr +i $IDENTITY_FILE failed (the filesystem must support the immutable attribute)"
  fi
  log identity ok
}

step_ready() {
  log ready start
  local tmp
  if ! tmp=$(mktemp "$READY_FILE.XXXXXX") || ! printf '%s\\n' "$SPEC_DIGEST" >"$tmp" || ! chmod 0644 "$tmp" || ! mv -f "$tmp" "$READY_FILE"; then
    fail ready ${E.ready} "cannot write $READY_FILE"
  fi
  log ready ok
}

main() {
  step_preflight
  step_sysctl
  step_nftables
  step_sshd
  step_journald
  step_audit
  step_airgap
  step_identity
  step_ready
  log complete ok
}

main "$@"
`;
  assertNoForbiddenOps(script, ALL_FLAGS_FALSE, `firstboot script of node ${n.name}`);
  const unpinned = unpinnedPackages(script);
  if (unpinned.length > 0) throw new Error(`firstboot script of node ${n.name} installs unpinned packages: ${unpinned.join(", ")}`);
  return script;
}
