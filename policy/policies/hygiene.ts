/**
 * Hygiene: every SSH connection pins the host key and uses a key, never a password; secret
 * material in a resource is kept out of logs and outputs.
 *
 * The pack sees inputs with Pulumi secrets already unwrapped (a @pulumi/policy design), so it
 * cannot ask "is this input a secret?". It checks what it can see: secret-looking material
 * must travel with logging off and its outputs marked secret. The mock-engine tests check the
 * secret wrapping itself.
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { COMMAND_TYPES, label, REMOTE_TYPES } from "./graph";

export const remoteHostKeyPinned: ResourceValidationPolicy = {
  name: "remote-host-key-pinned",
  description: "Checks whether every remote command pins the host's SSH key and authenticates with a key, not a password.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!(REMOTE_TYPES as readonly string[]).includes(args.type)) return;
    const c = (args.props.connection ?? {}) as Record<string, unknown>;
    if (typeof c.hostKey !== "string" || c.hostKey.trim() === "") {
      reportViolation(`${label(args)} must pin the host key: set connection.hostKey to the node's SSH public host key.`);
    }
    if (c.password !== undefined && c.password !== "") {
      reportViolation(`${label(args)} must authenticate with a key, not connection.password.`);
    }
  },
};

/** Text that is a credential wherever it appears. */
export const SECRET_MATERIAL: ReadonlyArray<{ what: string; pattern: RegExp }> = [
  { what: "a private key", pattern: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  { what: "a WireGuard private key", pattern: /^\s*PrivateKey\s*=\s*[A-Za-z0-9+/]{42,43}=/m },
  { what: "a kubeadm bootstrap token", pattern: /\b[a-z0-9]{6}\.[a-z0-9]{16}\b/ },
  { what: "a kubeadm certificate key", pattern: /--certificate-key[= ]+[0-9a-f]{64}\b/ },
];

function secretMaterialIn(v: unknown): string | undefined {
  if (typeof v === "string") return SECRET_MATERIAL.find((s) => s.pattern.test(v))?.what;
  if (Array.isArray(v)) return v.map(secretMaterialIn).find(Boolean);
  if (v && typeof v === "object") return Object.values(v).map(secretMaterialIn).find(Boolean);
  return undefined;
}

export const secretMaterialHidden: ResourceValidationPolicy = {
  name: "secret-material-hidden",
  description:
    "Checks whether a resource that carries secret material (private keys, join tokens) keeps it out of logs and marks its outputs secret.",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const [prop, value] of Object.entries(args.props)) {
      // @pulumi/command marks `connection` (and its privateKey) secret itself, and a command's
      // output never echoes it; only key material inside the command text needs hiding.
      if (prop === "connection") continue;
      const what = secretMaterialIn(value);
      if (!what) continue;
      if ((COMMAND_TYPES as readonly string[]).includes(args.type)) {
        if (args.props.logging !== "none") reportViolation(`${label(args)} carries ${what} in ${prop} and must set logging: "none".`);
        for (const out of ["stdout", "stderr"]) {
          if (!args.opts.additionalSecretOutputs.includes(out))
            reportViolation(`${label(args)} carries ${what} in ${prop} and must list ${out} in additionalSecretOutputs.`);
        }
      } else if (!args.opts.additionalSecretOutputs.includes(prop)) {
        reportViolation(`${label(args)} carries ${what} in ${prop} and must list ${prop} in additionalSecretOutputs.`);
      }
    }
  },
};

export const hygienePolicies: ResourceValidationPolicy[] = [remoteHostKeyPinned, secretMaterialHidden];
