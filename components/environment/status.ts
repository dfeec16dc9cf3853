/**
 * Per component, the last apply (seed 004 §6 "health endpoint exposes last apply status per
 * component"): exported by the stack as `environment`, and turned into acceptance gates here so the
 * acceptance report (issue 8) can include them without knowing the reconcilers.
 */
import type { ApplyEvent } from "./reconcile";
import { COMPONENTS, type Component } from "./profile";

export interface ComponentStatus {
  /** `pending` until the first apply (always, under the offline plan); then the last apply's status. */
  status: "pending" | ApplyEvent["status"];
  adapter: string;
  generation: number | null;
  desiredHash: string;
  idempotencyKey: string | null;
  lastApply: ApplyEvent | null;
}

export type EnvironmentStatus = Partial<Record<Component, ComponentStatus>>;

export interface Gate {
  id: string;
  status: "pass" | "fail" | "not-run";
  evidence: string;
}

const short = (h: string | null | undefined): string => (h ? h.slice(0, 12) : "none");

/** One gate per component: pass when the last apply left it in sync, fail when something was skipped. */
export function environmentGates(status: EnvironmentStatus | null | undefined): Gate[] {
  return COMPONENTS.map((c) => {
    const id = `environment-${c}`;
    const s = status?.[c];
    if (!s) return { id, status: "not-run", evidence: "no environment profile for this component" };
    if (s.status === "pending" || !s.lastApply)
      return { id, status: "not-run", evidence: `not applied yet (${s.adapter}, desired ${short(s.desiredHash)})` };
    const e = s.lastApply;
    const head = `generation ${e.generation} on ${e.adapter} at ${e.at}: ${e.status}, ${e.actions.length} change(s), key ${short(e.idempotencyKey)}`;
    if (e.desiredHash !== s.desiredHash)
      return {
        id,
        status: "fail",
        evidence: `${head}; applied desired ${short(e.desiredHash)} but the stack wants ${short(s.desiredHash)}`,
      };
    if (e.status === "partial")
      return { id, status: "fail", evidence: `${head}; skipped: ${e.skipped.map((a) => `${a.object} (${a.detail})`).join("; ")}` };
    return { id, status: "pass", evidence: head };
  });
}
