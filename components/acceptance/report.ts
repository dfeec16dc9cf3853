/**
 * recovery-bundle/acceptance-report.json (seed 001 §16.1, §17): every gate of §17.1 with
 * pass/fail/not-run, the evidence and when it was taken, and the drills of §17.2 with their
 * recovery times. Evidence comes as observations — from the lab's report (`kubedos lab check`,
 * `lab drill …`) or from the gate commands a real `pulumi up` runs on the nodes — and a check
 * passes only on evidence: nothing is ever marked passed because it was rendered.
 */
import { GATES, type EvidenceSource } from "./catalog";
import type { GateName } from "../spec/schema";

export type CheckStatus = "pass" | "fail" | "not-run";

/** One piece of evidence for one check (a check may get one per node). */
export interface Observation {
  gate: string;
  check: string;
  status: "pass" | "fail";
  evidence: string;
  source: EvidenceSource;
  node?: string;
  startedAt?: string;
  finishedAt?: string;
}

export interface CheckReport {
  id: string;
  title: string;
  status: CheckStatus;
  /** Where the evidence came from; absent when nothing ran. */
  source?: EvidenceSource;
  evidence: string[];
  startedAt?: string;
  finishedAt?: string;
}

export interface GateReport {
  name: string;
  title: string;
  /** In the spec's acceptance.required: the seal waits for it. */
  required: boolean;
  status: CheckStatus;
  checks: CheckReport[];
}

export interface DrillReport {
  name: string;
  status: "pass" | "fail";
  source: EvidenceSource;
  startedAt: string;
  finishedAt: string;
  recoveryMs: number | null;
  /** The spec's recovery target for the drill it stands for (acceptance.drills), minutes. */
  targetMinutes: number | null;
  /** §17.2: "any manual intervention (ideally zero)". Lab and pulumi drills are unattended. */
  manualInterventions: number;
  /** Which §17.2 drill this exercises, when it does. */
  covers: string | null;
  evidence: Record<string, unknown>;
}

export interface AcceptanceReport {
  apiVersion: "kubedos.ca/v1alpha1";
  kind: "AcceptanceReport";
  cluster: string;
  specDigest: string;
  /** When the report was assembled (a documented time field). */
  generatedAt: string;
  /** accepted: every required gate passed · rejected: a required gate failed · incomplete: otherwise. */
  status: "accepted" | "rejected" | "incomplete";
  summary: { required: string[]; passed: string[]; failed: string[]; notRun: string[] };
  gates: GateReport[];
  drills: DrillReport[];
  /** Where the evidence came from (lab report files by digest, `pulumi up`). */
  sources: Array<{ kind: EvidenceSource; ref: string }>;
}

export interface ExtraGate {
  name: string;
  title: string;
  checks: Array<{ id: string; title?: string; status: CheckStatus; evidence: string; source?: EvidenceSource }>;
}

export interface ReportInputs {
  cluster: string;
  specDigest: string;
  required: readonly GateName[];
  observations: readonly Observation[];
  drills?: readonly DrillReport[];
  /** Gates beyond §17.1 (the bootstrap kit's readiness probes, the environment reconcilers). */
  extra?: readonly ExtraGate[];
  sources?: AcceptanceReport["sources"];
  at: Date;
}

export function buildReport(i: ReportInputs): AcceptanceReport {
  const gates: GateReport[] = GATES.map((g) => {
    const checks = g.checks.map((c) =>
      checkReport(
        c.id,
        c.title,
        i.observations.filter((o) => o.gate === g.name && o.check === c.id),
      ),
    );
    return { name: g.name, title: g.title, required: i.required.includes(g.name), status: rollUp(checks.map((c) => c.status)), checks };
  });
  for (const x of i.extra ?? []) {
    // Evidence beats a default: a check observed (e.g. a probe's result carried forward) reports that.
    const checks: CheckReport[] = x.checks.map((c) => {
      const seen = i.observations.filter((o) => o.gate === x.name && o.check === c.id);
      if (seen.length > 0) return checkReport(c.id, c.title ?? c.id, seen);
      return { id: c.id, title: c.title ?? c.id, status: c.status, ...(c.source ? { source: c.source } : {}), evidence: [c.evidence] };
    });
    gates.push({ name: x.name, title: x.title, required: false, status: rollUp(checks.map((c) => c.status)), checks });
  }
  const required = gates.filter((g) => g.required);
  const passed = required.filter((g) => g.status === "pass").map((g) => g.name);
  const failed = required.filter((g) => g.status === "fail").map((g) => g.name);
  const notRun = required.filter((g) => g.status === "not-run").map((g) => g.name);
  return {
    apiVersion: "kubedos.ca/v1alpha1",
    kind: "AcceptanceReport",
    cluster: i.cluster,
    specDigest: i.specDigest,
    generatedAt: i.at.toISOString(),
    status: failed.length > 0 ? "rejected" : notRun.length > 0 ? "incomplete" : "accepted",
    summary: { required: [...i.required], passed, failed, notRun },
    gates,
    drills: [...(i.drills ?? [])],
    sources: [...(i.sources ?? [])],
  };
}

function checkReport(id: string, title: string, obs: Observation[]): CheckReport {
  if (obs.length === 0) return { id, title, status: "not-run", evidence: [] };
  const times = (k: "startedAt" | "finishedAt") =>
    obs
      .map((o) => o[k])
      .filter((t): t is string => t !== undefined)
      .sort();
  const started = times("startedAt");
  const finished = times("finishedAt");
  return {
    id,
    title,
    status: obs.some((o) => o.status === "fail") ? "fail" : "pass",
    source: obs[0].source,
    evidence: obs.map((o) => `${o.node ? `${o.node}: ` : ""}${o.status === "fail" ? "FAIL " : ""}${o.evidence}`),
    ...(started.length ? { startedAt: started[0] } : {}),
    ...(finished.length ? { finishedAt: finished[finished.length - 1] } : {}),
  };
}

function rollUp(statuses: CheckStatus[]): CheckStatus {
  if (statuses.includes("fail")) return "fail";
  if (statuses.length === 0 || statuses.includes("not-run")) return "not-run";
  return "pass";
}

/** The observations already in a report (to carry a report forward, e.g. from `pulumi stack output`). */
export function observationsOf(report: AcceptanceReport): Observation[] {
  const out: Observation[] = [];
  for (const g of report.gates) {
    for (const c of g.checks) {
      if (c.status === "not-run" || !c.source) continue;
      out.push({
        gate: g.name,
        check: c.id,
        status: c.status,
        evidence: c.evidence.join("; "),
        source: c.source,
        ...(c.startedAt ? { startedAt: c.startedAt } : {}),
        ...(c.finishedAt ? { finishedAt: c.finishedAt } : {}),
      });
    }
  }
  return out;
}

/** Gates whose failure must stop the seal: required and failed (a report that is not accepted). */
export function blockingGates(report: AcceptanceReport): string[] {
  return report.gates.filter((g) => g.required && g.status !== "pass").map((g) => `${g.name} (${g.status})`);
}
