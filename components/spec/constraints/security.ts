/** Security posture rules (seed 001 §7). */
import { error, warning, type ConstraintRule, type Finding } from "./types";

export const sshKeyOnly: ConstraintRule = {
  id: "ssh-key-only",
  produces: ["error", "warning"],
  description: "Checks whether SSH password authentication is disabled.",
  needs: ["security"],
  check(spec) {
    const ssh = spec.spec.security.ssh;
    if (ssh.passwordAuth) {
      return [
        error(
          "ssh-key-only",
          ["spec", "security", "ssh", "passwordAuth"],
          "passwordAuth must be false: the baseline is key-only SSH (§7.4); set passwordAuth: false and list keys under authorizedKeys",
        ),
      ];
    }
    if (!ssh.authorizedKeys || ssh.authorizedKeys.length === 0) {
      return [
        warning(
          "ssh-key-only",
          ["spec", "security", "ssh"],
          `no authorizedKeys are declared; with password login off, ${ssh.allowUsers.join(", ")} can only log in with keys provisioned some other way — add authorizedKeys`,
        ),
      ];
    }
    return [];
  },
};

export const trustBootstrap: ConstraintRule = {
  id: "trust-bootstrap",
  produces: ["error", "warning"],
  description: "Checks whether the trust bootstrap model pins a real CA fingerprint.",
  needs: ["security"],
  check(spec) {
    const b = spec.spec.security.bootstrap;
    const path = ["spec", "security", "bootstrap"];
    const out: Finding[] = [];
    if (b.model === "to-fu")
      out.push(warning("trust-bootstrap", [...path, "model"], "to-fu trusts the first key it sees; use offline-ca or pinned-ca"));
    if (b.caFingerprint === undefined) {
      if (b.model === "pinned-ca") out.push(error("trust-bootstrap", path, "model pinned-ca needs caFingerprint: sha256:<64 hex>"));
    } else if (!/^sha256:[0-9a-f]{64}$/i.test(b.caFingerprint)) {
      out.push(
        warning(
          "trust-bootstrap",
          [...path, "caFingerprint"],
          `caFingerprint ${b.caFingerprint} is not sha256:<64 hex>; it looks like a placeholder and cannot pin a CA — set the real fingerprint before a production run`,
        ),
      );
    }
    return out;
  },
};

export const sshSources: ConstraintRule = {
  id: "ssh-sources",
  description: "Checks whether SSH on the uplink is open only to declared sources, never to the world.",
  produces: ["error", "warning"],
  needs: ["security"],
  check(spec) {
    const from = spec.spec.security.ssh.allowFrom;
    const path = ["spec", "security", "ssh", "allowFrom"];
    if (from === undefined || from.length === 0) {
      return [
        warning(
          "ssh-sources",
          ["spec", "security", "ssh"],
          "no allowFrom is declared: SSH on the uplink is closed, and kubedos cannot reach a node before its control plane (wg1) is up — list the operator or CI host CIDRs",
        ),
      ];
    }
    const out: Finding[] = [];
    from.forEach((c, i) => {
      if (c.endsWith("/0"))
        out.push(
          error("ssh-sources", [...path, i], `allowFrom ${c} opens SSH to the whole internet; list the operator or CI host CIDRs instead`),
        );
    });
    return out;
  },
};
