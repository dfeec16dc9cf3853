/**
 * The Pulumi program: load the stack's ClusterSpec, run Stage 0, build the Cluster, export
 * the plan summary. `stacks/index.ts` is only the entry point that calls this.
 */
import * as pulumi from "@pulumi/pulumi";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { Cluster } from "./cluster";
import { createAcceptanceGates } from "./acceptance/apply";
import { createAnchors } from "./anchors/apply";
import { createKubernetesStages, readCaBundle } from "./kubernetes/apply";
import { initNode } from "./kubernetes/kubeadm";
import { resolveKubernetes } from "./supplychain/locks";
import { createBackplane } from "./backplane/apply";
import { createEnvironment } from "./environment/apply";
import { rotationEpoch } from "./backplane/keys";
import { createFirstboot } from "./firstboot/apply";
import { renderCloudInit } from "./firstboot/cloud-init";
import { nodeHostKey } from "./secrets/derive";
import { createSubstrate, type SubstrateResult } from "./substrate";
import { buildPlan, type Plan } from "./plan/plan";
import { formatDiagnostic } from "./spec/diagnostics";
import type { ClusterSpec } from "./spec/schema";
import { validateSpecText } from "./spec/validate";

/** Config keys of the `kubedos` namespace (Pulumi.<stack>.yaml). */
export const CONFIG = {
  clusterSpec: "clusterSpec",
  /** Secret: every credential derives from it (DESIGN.md §7). */
  masterSeed: "masterSeed",
  /** Secret: the operator's SSH private key, for the authorizedKeys of security.ssh. */
  sshPrivateKey: "sshPrivateKey",
  /** Optional: pins the WireGuard rotation epoch (otherwise whole wireguardDays since 1970). */
  wireguardEpoch: "wireguardEpoch",
  /**
   * Path of the cluster CA bundle (PEM): for security.bootstrap.model offline-ca the intermediate
   * signed from `kubedos render`'s pki/cluster-ca.csr, then the offline root; for pinned-ca the CA.
   */
  clusterCaBundle: "clusterCaBundle",
  /**
   * Optional secret: an Ed25519 private key (PKCS#8 PEM) that signs the rebuild anchors instead of
   * the key derived from the master seed (an organisation's release key).
   */
  signingKey: "signingKey",
} as const;

export async function runProgram(): Promise<Record<string, unknown>> {
  const config = new pulumi.Config("kubedos");
  const specFile = config.require(CONFIG.clusterSpec);
  const specPath = path.isAbsolute(specFile) ? specFile : path.resolve(process.cwd(), specFile);
  const { plan, spec, text: specText } = stage0(specPath, specFile);
  const seed = config.requireSecret(CONFIG.masterSeed);
  const sshKey = config.requireSecret(CONFIG.sshPrivateKey);
  const cluster = new Cluster(plan.cluster.name, { plan, spec });

  // Stage 1: machines. Host keys derive from the seed, so user data can carry the key and every
  // later connection can pin it before the machine has ever booted.
  const hostKeys = new Map(plan.nodes.map((n) => [n.name, seed.apply((s) => nodeHostKey(s, plan.cluster.name, n.name))]));
  const substrate = createSubstrate(cluster.stage("substrate"), plan, spec, {
    userData: (node) => pulumi.secret(hostKeys.get(node.name)!.apply((hostKey) => renderCloudInit({ plan, node, hostKey }))),
    hostPublicKey: (node) => pulumi.unsecret(hostKeys.get(node.name)!.apply((k) => k.publicKey)),
  });

  // Stage 2: firstboot identity and baseline, and the readiness signal the next stage waits for.
  const firstboot = createFirstboot(cluster.stage("firstboot"), plan, substrate.nodes, sshKey);

  // Stage 3: the WireGuard planes and the inter-plane policy. Keys follow the rotation epoch,
  // pinned by kubedos:wireguardEpoch or derived from security.rotation.wireguardDays.
  const epoch = wireguardEpoch(config, spec);
  const backplane = createBackplane(cluster.stage("backplane"), plan, substrate.nodes, seed, epoch, sshKey);

  // Stages 4–6: enrollment, converge, Kubernetes (HA kubeadm, Cilium, observability). They run
  // whenever Kubernetes is enabled: salt/ansible name the tools of §12, whose work these stages do.
  const caBundlePem = readCaBundle(config.get(CONFIG.clusterCaBundle));
  if (spec.spec.kubernetes.enabled) {
    // Stage 6 builds only a locked release: say so with the spec's own words, not a stack trace.
    // (Stages 1–3 are declared already, so a spec that also lacks Stage 1's facts reports those.)
    try {
      resolveKubernetes(spec.spec.kubernetes.version);
    } catch (err) {
      throw new pulumi.RunError(`${specFile}: spec.kubernetes.version: ${(err as Error).message}`);
    }
  }

  const kube = spec.spec.kubernetes.enabled
    ? createKubernetesStages({
        plan,
        spec,
        nodes: substrate.nodes,
        seed,
        sshKey,
        ...(caBundlePem ? { caBundlePem } : {}),
        stages: { enrollment: cluster.stage("enrollment"), converge: cluster.stage("converge"), kubernetes: cluster.stage("kubernetes") },
      })
    : undefined;
  // The environment profile (seed 004): reconcilers after the kit blueprints that serve them.
  const environment = createEnvironment({ plan, spec, seed, stage: cluster.stage("kubernetes"), kitReleases: kube?.kit.releases });
  // Stage 7: the acceptance gates run on the nodes, then the seal over the rebuild anchors — which
  // cannot exist before the gates' evidence (and the reconcilers' status) does (seed 001 §14.3).
  const gates = createAcceptanceGates(cluster.stage("seal"), plan, spec, substrate.nodes, sshKey);
  const anchors = createAnchors({
    stage: cluster.stage("seal"),
    plan,
    spec,
    specFile,
    specText,
    stack: pulumi.getStack(),
    seed,
    wireguardEpoch: epoch,
    gates,
    ...(kube ? { kitProbes: kube.kit.probes } : {}),
    ...(environment ? { environment: { reconcilers: [...environment.reconcilers.values()], status: pulumi.all(environment.status) } } : {}),
    ...(config.get(CONFIG.signingKey) !== undefined ? { signingKeyPem: config.requireSecret(CONFIG.signingKey) } : {}),
  });
  return {
    ...planExports(plan, cluster),
    // How kubedos reaches each node (`substrate` above stays the substrate type).
    nodeAccess: substrateExports(substrate),
    firstboot: [...firstboot.ready.keys()],
    wireguardEpoch: epoch,
    // The operator's wg-quick config for the control plane: `pulumi stack output --show-secrets operatorWireguard`.
    operatorWireguard: backplane.operatorConfig ?? null,
    // The admin kubeconfig: `pulumi stack output --show-secrets kubeconfig` (reach the API over wg1).
    kubeconfig: kube?.kubeconfig ?? null,
    kubernetes: kube
      ? {
          version: resolveKubernetes(spec.spec.kubernetes.version).version,
          caPin: kube.caPin,
          initNode: initNode(plan).name,
          joinOrder: [...kube.joins.keys()],
          releases: kube.releases.map((r) => ({ name: r.name, chart: r.chart, version: r.version, namespace: r.namespace })),
        }
      : null,
    // The bootstrap kit: its size, its longest dependency chain and the readiness probes the
    // acceptance report runs (the probe resources' stdout is the evidence).
    kit: kube
      ? {
          blueprints: kube.kit.releases.size,
          longestChain: kube.kit.longestChain,
          acceptance: kube.kit.acceptance,
        }
      : null,
    // Per reconciler: last apply status, generation, desired hash, idempotency key (no secret).
    environment: environment?.status ?? null,
    // The rebuild anchors (seed 001 §16): artifact manifest, locks, SBOM, provenance, signatures,
    // the rendered spec, runbooks and the acceptance report — the same files `kubedos render` writes.
    anchors: anchors.exports,
  };
}

function wireguardEpoch(config: pulumi.Config, spec: ClusterSpec): number {
  const pinned = config.getNumber(CONFIG.wireguardEpoch, { min: 0 });
  return pinned ?? rotationEpoch(spec.spec.security.rotation.wireguardDays, new Date());
}

/** Per node, how kubedos reaches it (the host key is public; nothing secret here). */
function substrateExports(s: SubstrateResult): Record<string, unknown> {
  return {
    apiEndpoint: s.apiEndpoint ?? null,
    nodes: s.nodes.map((n) => ({
      name: n.name,
      uplink: n.uplinkAddress,
      ssh: { host: n.ssh.host, port: n.ssh.port, user: n.ssh.user, hostKey: n.ssh.hostKey },
    })),
  };
}

/** Stage 0 inside the program: the same validation as `kubedos validate`, the same messages. */
function stage0(specPath: string, shownAs: string): { plan: Plan; spec: ClusterSpec; text: string } {
  let text: string;
  try {
    text = readFileSync(specPath, "utf8");
  } catch (err) {
    throw new pulumi.RunError(
      `kubedos:clusterSpec ${shownAs}: cannot read the spec (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`,
    );
  }
  const r = validateSpecText(text, shownAs);
  if (r.syntaxErrors.length > 0) {
    throw new pulumi.RunError(
      [
        "Stage 0 (spec validation) failed: not valid YAML",
        ...r.syntaxErrors.map((s) => `${shownAs}:${s.line}:${s.column}  (yaml)  [yaml-syntax]  ${s.message}`),
      ].join("\n"),
    );
  }
  for (const w of r.warnings) pulumi.log.warn(formatDiagnostic(shownAs, w));
  if (!r.valid || !r.spec) {
    throw new pulumi.RunError(
      [`Stage 0 (spec validation) failed with ${r.errors.length} error(s):`, ...r.errors.map((e) => formatDiagnostic(shownAs, e))].join(
        "\n",
      ),
    );
  }
  return { plan: buildPlan(r.spec), spec: r.spec, text };
}

/** The plan summary as stack outputs (rebuild anchors grow from here in later stages). */
export function planExports(plan: Plan, _cluster: Cluster): Record<string, unknown> {
  return {
    clusterName: plan.cluster.name,
    artifactVersion: plan.cluster.artifactVersion,
    substrate: plan.substrate,
    boundaries: plan.boundaries,
    specDigest: plan.specDigest,
    controlPlaneEndpoint: plan.controlPlaneEndpoint ?? null,
    planes: plan.planes,
    nodes: plan.nodes.map((n) => ({
      name: n.name,
      role: n.role,
      failureDomain: n.failureDomain,
      ordinal: n.ordinal,
      vmid: n.vmid ?? null,
      placement: n.placement,
      uplink: n.uplink ?? null,
      addresses: n.addresses,
    })),
    stages: plan.stages.map((s) => ({
      index: s.index,
      key: s.key,
      title: s.title,
      enabled: s.enabled,
      destructive: s.destructive,
      optIn: s.optIn,
      optedIn: s.optedIn,
    })),
  };
}
