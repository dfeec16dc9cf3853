/**
 * Substrate and firstboot (Stages 1–2): machines never open to the world, never accept
 * passwords, and never get replaced by an edit while allowDestroy is false.
 */
import type { ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { parse } from "yaml";
import { boundaries, label, renderedSpec } from "./graph";

/** Any CIDR with a zero-length prefix matches every address, whatever its address part says. */
const WORLD = /\/0$/;

export const firewallNotOpen: ResourceValidationPolicy = {
  name: "firewall-not-open",
  description: "Checks whether any cloud firewall rule admits inbound traffic from the whole internet (0.0.0.0/0 or ::/0).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (args.type !== "hcloud:index/firewall:Firewall") return;
    for (const r of (args.props.rules ?? []) as Array<{ direction?: string; protocol?: string; port?: string; sourceIps?: string[] }>) {
      if (r.direction !== "in") continue;
      const open = (r.sourceIps ?? []).filter((ip) => WORLD.test(ip));
      if (open.length > 0)
        reportViolation(
          `${label(args)} must not admit ${r.protocol}${r.port ? `/${r.port}` : ""} from ${open.join(", ")}; list the declared sources (security.ssh.allowFrom) instead.`,
        );
    }
  },
};

/** The cloud-init user data a resource carries, if any. */
function userData(type: string, props: Record<string, unknown>): string | undefined {
  if (type === "hcloud:index/server:Server" && typeof props.userData === "string") return props.userData;
  if (type === "proxmoxve:index/fileLegacy:FileLegacy") {
    const raw = props.sourceRaw as { data?: unknown } | undefined;
    if (typeof raw?.data === "string" && raw.data.startsWith("#cloud-config")) return raw.data;
  }
  return undefined;
}

/**
 * What sshd makes of PasswordAuthentication: keywords and yes/no are case-insensitive, the first
 * value outside a Match block wins, and a Match block can turn it back on — which counts as yes.
 */
export function passwordAuthentication(config: string): "yes" | "no" | undefined {
  let first: "yes" | "no" | undefined;
  let inMatch = false;
  for (const raw of config.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^(\S+)\s*(?:=\s*|\s+)(\S+)/.exec(line);
    if (!m) continue;
    const key = m[1].toLowerCase();
    if (key === "match") inMatch = true;
    if (key !== "passwordauthentication") continue;
    const value = m[2].toLowerCase() === "yes" ? "yes" : "no";
    if (inMatch && value === "yes") return "yes";
    if (!inMatch && first === undefined) first = value;
  }
  return first;
}

export const noPasswordSsh: ResourceValidationPolicy = {
  name: "no-password-ssh",
  description: "Checks whether the cloud-init user data of every machine disables SSH password login and ships a key-only sshd_config.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    const text = userData(args.type, args.props);
    if (text === undefined) return;
    let doc: Record<string, unknown>;
    try {
      doc = (parse(text) ?? {}) as Record<string, unknown>;
    } catch (err) {
      reportViolation(`${label(args)} must carry parseable cloud-config user data (${(err as Error).message.split("\n")[0]}).`);
      return;
    }
    if (doc.ssh_pwauth !== false) reportViolation(`${label(args)} must set ssh_pwauth: false in its cloud-init user data.`);
    const files = (doc.write_files ?? []) as Array<{ path?: string; content?: string }>;
    const sshd = files.find((f) => f.path === "/etc/ssh/sshd_config");
    // Effective "no", and no "yes" anywhere: a file that carries both invites the wrong edit.
    const content = sshd?.content ?? "";
    if (!sshd || passwordAuthentication(content) !== "no" || /^\s*passwordauthentication\s*(=\s*|\s)\s*yes\b/im.test(content)) {
      reportViolation(`${label(args)} must write an /etc/ssh/sshd_config with PasswordAuthentication no.`);
    }
  },
};

/** Inputs whose change makes the provider replace the machine, per machine type. */
export const REPLACING_INPUTS: Record<string, string[]> = {
  "hcloud:index/server:Server": ["userData", "image"],
  "proxmoxve:index/vmLegacy:VmLegacy": ["clone"],
};

export const substrateNoReplace: StackValidationPolicy = {
  name: "substrate-no-replace",
  description:
    "Checks whether machines ignore the inputs that would make the provider replace them, while substrate.allowDestroy is false.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    if (boundaries(renderedSpec(args.resources)?.spec).allowDestroy) return;
    for (const r of args.resources) {
      const replacing = REPLACING_INPUTS[r.type];
      if (!replacing) continue;
      const missing = replacing.filter((p) => !r.opts.ignoreChanges.includes(p));
      if (missing.length > 0) {
        reportViolation(
          `Machine ${label(r)} must list ${missing.join(", ")} in ignoreChanges while substrate.allowDestroy is false: a change there would replace the machine.`,
          r.urn,
        );
      }
      if (r.opts.deleteBeforeReplace)
        reportViolation(`Machine ${label(r)} must not set deleteBeforeReplace while substrate.allowDestroy is false.`, r.urn);
    }
  },
};

export const substratePolicies = { resource: [firewallNotOpen, noPasswordSsh], stack: [substrateNoReplace] };
