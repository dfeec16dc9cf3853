/**
 * Destruction boundaries (seed 001 §14.2, DESIGN.md §7): substrate is protected while
 * allowDestroy is false, and no command carries an operation whose flag is false.
 */
import type { StackValidationPolicy } from "@pulumi/policy";
import { findDestructiveOps } from "../../components/boundaries/destructive-ops";
import { boundaries, COMMAND_TYPES, commandTexts, isSubstrate, label, renderedSpec } from "./graph";

export const substrateProtected: StackValidationPolicy = {
  name: "substrate-protected",
  description: "Checks whether every substrate resource (Proxmox, Hetzner) is protected while substrate.allowDestroy is false.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const s = renderedSpec(args.resources);
    // Without the spec the boundary is unknown: treat it as closed.
    const flags = boundaries(s?.spec);
    if (flags.allowDestroy) return;
    for (const r of args.resources) {
      if (isSubstrate(r.type) && !r.opts.protect) {
        reportViolation(
          `Substrate resource ${label(r)} must be protected while substrate.allowDestroy is false; set protect: true (or opt in with allowDestroy: true).`,
          r.urn,
        );
      }
    }
  },
};

export const destructiveCommands: StackValidationPolicy = {
  name: "destructive-commands",
  description:
    "Checks whether any command runs a destructive operation (kubeadm reset, wipefs, sgdisk --zap, zpool destroy, mkfs on a used disk…) whose governing flag is false.",
  enforcementLevel: "mandatory",
  validateStack: (args, reportViolation) => {
    const flags = boundaries(renderedSpec(args.resources)?.spec);
    for (const r of args.resources) {
      if (!(COMMAND_TYPES as readonly string[]).includes(r.type)) continue;
      for (const { phase, text } of commandTexts(r.props)) {
        for (const f of findDestructiveOps(text)) {
          if (f.allowedOnDelete && phase === "delete") continue;
          if (!flags[f.flag]) {
            reportViolation(
              `Command ${label(r)} must not run ${f.op} in ${phase} (\`${f.match}\`: ${f.why}) while ${f.flag} is false; remove it or opt in with ${f.flag}: true.`,
              r.urn,
            );
          }
        }
      }
    }
  },
};

export const boundaryPolicies: StackValidationPolicy[] = [substrateProtected, destructiveCommands];
