/**
 * Evidence for the acceptance report from outside the render: the lab's report
 * (`kubedos lab check` / `lab drill …`, kind kubedos-acceptance-report) or an AcceptanceReport
 * carried forward (e.g. `pulumi stack output anchors --json`'s acceptanceReport). Both are parsed
 * strictly enough to name the field that is wrong, and must be for this cluster and this spec.
 */
import { createHash } from "node:crypto";
import { z } from "zod";
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import { observationsOf, type AcceptanceReport, type DrillReport, type Observation } from "./report";

export class EvidenceError extends Error {}

const pair = z.object({ plane: z.string(), from: z.string(), to: z.string(), ok: z.boolean(), rttMs: z.number().nullable() });
const flow = z.object({
  from: z.string(),
  to: z.string(),
  toPlane: z.string().optional(),
  ok: z.boolean(),
  expect: z.enum(["reach", "blocked"]),
});

const LabReport = z.object({
  kind: z.literal("kubedos-acceptance-report"),
  version: z.literal(1),
  lab: z.string(),
  cluster: z.string(),
  specDigest: z.string(),
  gates: z.array(
    z.object({
      name: z.string(),
      status: z.enum(["pass", "fail"]),
      startedAt: z.string(),
      finishedAt: z.string(),
      nodes: z.array(z.string()),
      failures: z.array(z.string()),
      evidence: z.object({
        pairs: z.array(pair),
        allowedFlows: z.array(flow),
        deniedFlows: z.array(flow),
        underlay: z.array(flow),
        handshakes: z.object({ ok: z.boolean() }),
        method: z.record(z.string(), z.string()),
      }),
    }),
  ),
  drills: z.array(
    z.object({
      name: z.string(),
      startedAt: z.string(),
      finishedAt: z.string(),
      passed: z.boolean(),
      details: z.record(z.string(), z.unknown()),
    }),
  ),
  nodeChecks: z
    .array(
      z.object({
        gate: z.string(),
        check: z.string(),
        status: z.enum(["pass", "fail"]),
        evidence: z.string(),
        node: z.string().optional(),
        startedAt: z.string().optional(),
        finishedAt: z.string().optional(),
      }),
    )
    .optional(),
});
type LabReport = z.infer<typeof LabReport>;

const CarriedReport = z.object({
  kind: z.literal("AcceptanceReport"),
  cluster: z.string(),
  specDigest: z.string(),
  gates: z.array(
    z.object({
      name: z.string(),
      checks: z.array(
        z.object({
          id: z.string(),
          status: z.enum(["pass", "fail", "not-run"]),
          source: z.enum(["lab", "pulumi"]).optional(),
          evidence: z.array(z.string()),
          startedAt: z.string().optional(),
          finishedAt: z.string().optional(),
        }),
      ),
    }),
  ),
  drills: z.array(z.unknown()),
});

export interface Evidence {
  observations: Observation[];
  drills: DrillReport[];
  source: { kind: "lab" | "pulumi"; ref: string };
}

/** Parse an evidence file's text; throws EvidenceError naming the file, the field and the fix. */
export function readEvidence(text: string, shownAs: string, plan: Plan, spec: ClusterSpec): Evidence {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new EvidenceError(`${shownAs}: not JSON (${(err as Error).message})`);
  }
  const ref = `${shownAs} sha256:${createHash("sha256").update(text).digest("hex")}`;
  const kind = (doc as { kind?: unknown } | null)?.kind;
  const fail = (issues: z.core.$ZodIssue[]): never => {
    const i = issues[0];
    throw new EvidenceError(
      `${shownAs}: ${i.path.join(".") || "(document)"}: ${i.message} — pass a report written by \`kubedos lab check --report FILE\` or an acceptanceReport from the stack's anchors export`,
    );
  };
  const mine = (cluster: string, digest: string) => {
    if (cluster !== plan.cluster.name)
      throw new EvidenceError(`${shownAs}: cluster: the report is for ${cluster}, this spec is ${plan.cluster.name}`);
    if (digest !== plan.specDigest) {
      throw new EvidenceError(
        `${shownAs}: specDigest: the report was taken for spec ${digest.slice(0, 19)}…, this spec is ${plan.specDigest.slice(0, 19)}… — re-run the lab (kubedos lab up + check) on this spec`,
      );
    }
  };
  if (kind === "kubedos-acceptance-report") {
    const r = LabReport.safeParse(doc);
    if (!r.success) return fail(r.error.issues);
    mine(r.data.cluster, r.data.specDigest);
    return { ...fromLab(r.data, plan, spec), source: { kind: "lab", ref } };
  }
  if (kind === "AcceptanceReport") {
    const r = CarriedReport.safeParse(doc);
    if (!r.success) return fail(r.error.issues);
    mine(r.data.cluster, r.data.specDigest);
    const report = doc as AcceptanceReport;
    return { observations: observationsOf(report), drills: report.drills, source: { kind: report.sources[0]?.kind ?? "pulumi", ref } };
  }
  throw new EvidenceError(
    `${shownAs}: kind: ${JSON.stringify(kind)} is neither kubedos-acceptance-report (the lab's) nor AcceptanceReport`,
  );
}

/** The lab's gate and drills as §17.1 observations and §17.2 drill records. */
export function fromLab(lab: LabReport, plan: Plan, spec: ClusterSpec): { observations: Observation[]; drills: DrillReport[] } {
  const obs: Observation[] = [];
  const byPurpose = (p: string) => plan.planes.find((x) => x.purpose === p)?.name;
  const matrix = lab.gates.find((g) => g.name === "backplane-matrix");
  if (matrix) {
    const at = { startedAt: matrix.startedAt, finishedAt: matrix.finishedAt, source: "lab" as const };
    const pairs = (plane: string | undefined) => matrix.evidence.pairs.filter((p) => p.plane === plane);
    const planeCheck = (check: string, plane: string | undefined, extra = "") => {
      if (!plane) return;
      const ps = pairs(plane);
      if (ps.length === 0) return;
      const ok = ps.filter((p) => p.ok).length;
      const rtts = ps.map((p) => p.rttMs).filter((x): x is number => x !== null);
      const avg = rtts.length ? (rtts.reduce((a, b) => a + b, 0) / rtts.length).toFixed(2) : "-";
      obs.push({
        gate: "backplane-matrix",
        check,
        status: ok === ps.length && matrix.evidence.handshakes.ok ? "pass" : "fail",
        evidence: `lab ${lab.lab}: ${plane} ${ok}/${ps.length} ordered node pairs answered ping over WireGuard (avg rtt ${avg} ms), ${matrix.nodes.length} nodes${extra}`,
        ...at,
      });
    };
    planeCheck("wg1-every-node", byPurpose("control"));
    const obsPlane = byPurpose("observability");
    const toObs = matrix.evidence.allowedFlows.filter((f) => f.toPlane === obsPlane);
    planeCheck(
      "wg2-observability",
      obsPlane,
      toObs.length ? `; ${toObs.filter((f) => f.ok).length}/${toObs.length} allowed flows into ${obsPlane} answered` : "",
    );
    planeCheck("wg3-kubernetes", byPurpose("kubernetes-backend"));
    const denied = matrix.evidence.deniedFlows;
    const underlay = matrix.evidence.underlay;
    obs.push({
      gate: "security-baseline",
      check: "firewall-default-deny",
      status: denied.every((f) => f.ok) && underlay.every((f) => f.ok) ? "pass" : "fail",
      evidence: `lab ${lab.lab}: ${denied.filter((f) => f.ok).length}/${denied.length} flows between planes that no allow rule names were dropped by the rendered nftables; ${underlay.filter((f) => f.ok).length}/${underlay.length} underlay probes (SSH only from ssh.allowFrom, nothing else) as expected`,
      ...at,
    });
  }
  for (const o of lab.nodeChecks ?? []) obs.push({ ...o, source: "lab", evidence: `lab ${lab.lab}: ${o.evidence}` });
  const drills: DrillReport[] = [];
  const target = (name: string) => spec.spec.acceptance.drills?.find((d) => d.name === name)?.expectRecoveryMinutes ?? null;
  const role = (node: unknown) => plan.nodes.find((n) => n.name === node)?.role;
  for (const d of lab.drills) {
    const recoveryMs = typeof d.details.recoveryMs === "number" ? d.details.recoveryMs : null;
    let covers: string | null = null;
    if (d.name === "etcd-quorum") covers = "delete-control-plane";
    else if (d.name === "replace-node") covers = role(d.details.node) === "worker" ? "delete-worker" : "delete-control-plane";
    drills.push({
      name: `lab:${d.name}`,
      status: d.passed ? "pass" : "fail",
      source: "lab",
      startedAt: d.startedAt,
      finishedAt: d.finishedAt,
      recoveryMs,
      targetMinutes: covers ? target(covers) : null,
      manualInterventions: 0,
      covers,
      evidence: d.details,
    });
    if (d.name === "etcd-quorum") {
      obs.push({
        gate: "k8s-health",
        check: "etcd-quorum",
        status: d.passed ? "pass" : "fail",
        evidence: `lab ${lab.lab}: etcd-quorum drill ${d.passed ? "passed" : "failed"} (members ${String(d.details.members ?? "?")}, quorum held ${String(d.details.quorumHeldAfterLossMs ?? "?")} ms after losing ${String(d.details.victim ?? d.details.node ?? "a control plane")}, all healthy after ${String(recoveryMs ?? "?")} ms)`,
        source: "lab",
        startedAt: d.startedAt,
        finishedAt: d.finishedAt,
      });
    }
  }
  return { observations: obs, drills };
}
