/**
 * recovery-bundle/runbooks.md: seed 001 §18's runbooks (total loss, compromised node, rotation,
 * upgrade) filled in for this cluster — its nodes, planes, stack, locks and recovery targets — so
 * the person holding only the bundle can rebuild mechanically (§6.1 "recovery-deterministic").
 * Pure text from the Plan and spec; no time, no secret.
 */
import type { Plan } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import type { Locks } from "./locks";

export interface RunbookFacts {
  /** Stack name when rendered for one (`dev`, `prod`), else undefined. */
  stack?: string;
  specFile: string;
  locks: Locks;
  signingKeyFingerprint: string;
  commit: string | null;
}

export function renderRunbooks(plan: Plan, spec: ClusterSpec, f: RunbookFacts): string {
  const s = spec.spec;
  const name = plan.cluster.name;
  const stack = f.stack ? `--stack ${f.stack}` : `--spec ${f.specFile}`;
  const pulumiStack = f.stack ?? "<stack>";
  const cps = plan.nodes.filter((n) => n.role === "control-plane").map((n) => n.name);
  const workers = plan.nodes.filter((n) => n.role === "worker").map((n) => n.name);
  const planes = plan.planes.map((p) => `${p.name} (${p.purpose}, ${p.cidr})`).join(", ");
  const drill = (n: string) => s.acceptance.drills?.find((d) => d.name === n)?.expectRecoveryMinutes;
  const k8s = f.locks.kubernetes ? `${f.locks.kubernetes.version} (${f.locks.kubernetes.spec})` : "disabled";
  const flags = plan.boundaries;
  const lines = [
    `# Runbooks — ${name}`,
    "",
    `Cluster \`${name}\`, artifact version \`${plan.cluster.artifactVersion}\`, substrate \`${plan.substrate}\`, spec digest \`${plan.specDigest}\`.`,
    `Control planes: ${cps.join(", ") || "none"}. Workers: ${workers.join(", ") || "none"}. Planes: ${planes}.`,
    `Kubernetes ${k8s}. Destruction boundaries: allowDestroy=${flags.allowDestroy}, allowRepartition=${flags.allowRepartition}, allowWipe=${flags.allowWipe}, allowReset=${flags.allowReset}.`,
    `This bundle was rendered from kubedos commit \`${f.commit ?? "unknown"}\` and signed with key \`${f.signingKeyFingerprint}\`.`,
    "",
    "Every step below is replace, don't repair (seed 001 §18). Before any of them, check the bundle:",
    "",
    "```sh",
    `kubedos verify <this bundle> --key signatures/signing-key.pub   # or the key you hold out of band`,
    "```",
    "",
    "## Rebuild this bundle",
    "",
    "The same spec, master seed, locks and kubedos commit render the same bundle byte for byte, apart from the",
    "time fields listed in provenance/build.json (`SOURCE_DATE_EPOCH` pins those too):",
    "",
    "```sh",
    `git checkout ${f.commit ?? "<commit from provenance/build.json>"} && npm ci && npm run build`,
    `SOURCE_DATE_EPOCH=<provenance/build.json startedOn as seconds> KUBEDOS_MASTER_SEED=… KUBEDOS_WG_EPOCH=<provenance/inputs.json wireguardEpoch> \\`,
    `  kubedos render ${stack} --out rebuilt && diff -r rebuilt <this bundle>`,
    "```",
    "",
    "## 18.1 Total loss (substrate gone)",
    "",
    "1. Take this bundle and the last known-good artifact (manifests/artifact-manifest.json names it) from offline storage; `kubedos verify` both.",
    `2. Restore the stack's secrets: \`pulumi config set --secret kubedos:masterSeed …\` (the seed is not in this bundle; every key derives from it) and \`kubedos:sshPrivateKey\`.`,
    `3. Provision and converge: \`pulumi up --stack ${pulumiStack}\` — Stage 1 recreates ${plan.nodes.length} nodes with the same names, ordinals and addresses (they derive from node names, not list order), Stages 2–6 rebuild firstboot, the planes, enrollment and Kubernetes (init once on ${cps[0] ?? "the first control plane"}, control planes serially, then workers).`,
    "4. Restore state as declared: etcd from its latest snapshot before the workloads (`etcdutl snapshot restore` on the first control plane, then re-join the others), storage per its own recovery.",
    `5. Acceptance: the stack's Stage 7 gates run on the nodes and the seal waits for them; compare \`pulumi stack output anchors\` with this bundle's locks and archive the new acceptance report.`,
    "",
    "## 18.2 Compromised node",
    "",
    "1. Fence: `kubectl cordon <node>`; remove it from plane trust by deleting it from `spec.nodes.inventory` in a branch — the next `pulumi up` drops its peer from every other node's WireGuard config and its addresses from every allow set.",
    "2. Revoke: rotate the WireGuard epoch (`kubedos:wireguardEpoch` + 1, or wait for the period) so every plane key changes; the removed node's keys stop working everywhere at once.",
    `3. Drain and destroy: \`kubectl drain <node> --ignore-daemonsets --delete-emptydir-data\`, then \`pulumi up --stack ${pulumiStack}\` with the node removed (its etcd membership is removed first on a control plane${flags.allowReset ? "; allowReset is true, so `kubeadm reset` runs on it" : "; allowReset is false, so its disks are left as they are"}). Destroying the VM needs allowDestroy=true (it is ${flags.allowDestroy}).`,
    "4. Replace: add the node back (same name → same ordinal and addresses, new keys from the new epoch) and `pulumi up`.",
    "5. Rotate what it held: a control plane held the cluster CA key and etcd data — rotate Kubernetes PKI (18.3); a worker held its kubelet credentials only.",
    `6. Run the acceptance gates and archive the report${drill("delete-worker") ? `; recovery target: ${drill("delete-worker")} min (worker), ${drill("delete-control-plane") ?? "?"} min (control plane)` : ""}.`,
    "",
    "## 18.3 Rotation",
    "",
    `- WireGuard keys every ${s.security.rotation.wireguardDays} days: the epoch advances by itself (or pin \`kubedos:wireguardEpoch\`); \`pulumi up\` rolls planes node by node with the old and new keys overlapping, so no plane goes down. Rehearse with \`kubedos lab drill rotate --epoch N\`.`,
    `- Node certificates every ${s.security.rotation.nodeCertDays} days: kubelet client and serving certificates rotate by themselves (rotateCertificates, serving CSRs approved only for plan nodes).`,
    `- Kubernetes PKI every ${s.security.rotation.kubeCertDays} days: \`kubeadm certs renew all\` on each control plane in turn, one at a time, then restart its static pods.`,
    "- Every rotation ends with a new acceptance report (Stage 7 re-runs its gates on `pulumi up`).",
    "",
    "## 18.4 Upgrade",
    "",
    `1. Bump the locks (components/supplychain/locks.ts, the kit catalog) in a branch; \`kubedos plan ${stack}\` shows every changed release and the policy pack refuses unpinned images.`,
    "2. Render and verify a new bundle; run the lab (`kubedos lab up`, `lab check`, the drills) on the new spec.",
    "3. Roll out by replacing, never repairing: workers one at a time, control planes one at a time, each node's acceptance before the next; or build a second cluster from the same spec with a new name and swap (blue/green, preferred where feasible).",
    "",
    "## Locks in force",
    "",
    `- Kubernetes: ${k8s}; packages ${
      Object.entries(f.locks.kubernetes?.packages ?? {})
        .map(([k, v]) => `${k}=${v}`)
        .join(", ") || "none"
    }`,
    `- Node packages: ${Object.entries(f.locks.nodePackages)
      .map(([k, v]) => `${k}=${v}`)
      .join(", ")}`,
    `- Charts: ${f.locks.charts.length} (manifests/locks.json); images: ${f.locks.images.length}, ${f.locks.images.filter((i) => i.digest).length} pinned by digest`,
    "",
  ];
  return lines.join("\n");
}
