/**
 * The bootstrap kit in the Pulumi graph (after Stage 6's Cilium): Flux itself, then every
 * blueprint of the stack's kit as the objects `kubedos render` writes under kit/ — namespace,
 * default-deny NetworkPolicy and allows, chart source, overlay ConfigMap, HelmRelease — plus its
 * seed-derived credentials Secret (never written to a file). Each HelmRelease waits for Flux's
 * Ready condition (`pulumi.com/waitFor`) and carries the catalog's edges twice: as Flux
 * `spec.dependsOn` and as Pulumi `dependsOn`, so the stack is ready when the kit is. A readiness
 * probe per blueprint (seed 000 §5, domain from the spec) runs on the first control plane after its
 * release is Ready; its command is exported for the acceptance report.
 */
import * as command from "@pulumi/command";
import * as k8s from "@pulumi/kubernetes";
import * as pulumi from "@pulumi/pulumi";
import type { ChartRelease } from "../cni/release";
import type { Plan } from "../plan/plan";
import type { Stage } from "../stage";
import { longestChain, topoOrder } from "./dag";
import { blueprint } from "./catalog";
import {
  blueprintCredentials,
  credentialsSecretName,
  FLUX_NAMESPACE,
  kitContext,
  LABEL_BLUEPRINT,
  renderBlueprintDocuments,
  type KubeObject,
} from "./flux";
import { readinessProbe, selectKit } from "./select";
import type { ClusterSpec } from "../spec/schema";

export interface KitStageInput {
  plan: Plan;
  spec: ClusterSpec;
  seed: pulumi.Output<string>;
  provider: k8s.Provider;
  stage: Stage;
  /** The releases Stage 6 installed (Cilium, observability): adopted blueprints keep their values. */
  stage6: readonly ChartRelease[];
  /** Namespaces Stage 6 already manages (the kit must not create them a second time). */
  existingNamespaces: readonly string[];
  /** What the kit waits for: Cilium (nothing schedules without it) and the observability releases. */
  after: pulumi.Resource[];
  /** Where the readiness probes run: the first control plane, with its admin kubeconfig. */
  probeConnection: command.types.input.remote.ConnectionArgs;
}

export interface KitAcceptance {
  blueprint: string;
  slot: number;
  probe: string;
}

export interface KitStageResult {
  releases: Map<string, k8s.apiextensions.CustomResource>;
  probes: Map<string, command.remote.Command>;
  acceptance: KitAcceptance[];
  longestChain: string[];
}

/** The Pulumi resource for one rendered object: typed classes for core kinds, CustomResource for Flux's. */
function register(name: string, obj: KubeObject, opts: pulumi.CustomResourceOptions): pulumi.CustomResource {
  const args = obj as unknown as Record<string, unknown>;
  switch (`${obj.apiVersion}/${obj.kind}`) {
    case "v1/Namespace":
      return new k8s.core.v1.Namespace(name, args as k8s.core.v1.NamespaceArgs, opts);
    case "v1/ConfigMap":
      return new k8s.core.v1.ConfigMap(name, args as k8s.core.v1.ConfigMapArgs, opts);
    case "networking.k8s.io/v1/NetworkPolicy":
      return new k8s.networking.v1.NetworkPolicy(name, args as k8s.networking.v1.NetworkPolicyArgs, opts);
    default:
      return new k8s.apiextensions.CustomResource(name, args as k8s.apiextensions.CustomResourceArgs, opts);
  }
}

export function createKit(input: KitStageInput): KitStageResult {
  const { plan, spec, stage, provider } = input;
  const cluster = plan.cluster.name;
  const kit = selectKit(spec);
  const ctx = kitContext(plan, input.stage6);
  const bySlot = new Map(kit.blueprints.map((b) => [b.name, b]));
  const order = topoOrder(kit.blueprints).map((n) => bySlot.get(n)!);

  // Flux first: the controllers the HelmReleases need, installed as the release bp-flux adopts.
  const fluxBp = bySlot.get("flux") ?? { ...blueprint("flux"), slot: 0 };
  const flux = new k8s.helm.v3.Release(
    `${cluster}-flux-bootstrap`,
    {
      name: "bp-flux",
      namespace: FLUX_NAMESPACE,
      createNamespace: true,
      chart: fluxBp.chart.chart,
      version: fluxBp.chart.version,
      repositoryOpts: {
        repo: plan.mirrors.charts && !plan.mirrors.charts.startsWith("oci://") ? plan.mirrors.charts : fluxBp.chart.repository,
      },
      atomic: true,
      timeout: 600,
    },
    stage.childOpts({ provider, dependsOn: input.after }),
  );

  const releases = new Map<string, k8s.apiextensions.CustomResource>();
  const probes = new Map<string, command.remote.Command>();
  const acceptance: KitAcceptance[] = [];
  const made = new Set<string>(input.existingNamespaces);
  for (const bp of order) {
    const docs = renderBlueprintDocuments(kit, bp, ctx);
    const own: pulumi.Resource[] = [];
    let namespace: pulumi.Resource | undefined;
    for (const d of docs.filter((x) => x.kind !== "HelmRelease")) {
      if (d.kind === "Namespace") {
        if (made.has(d.metadata.name)) continue; // Stage 6 (or an earlier blueprint) owns it
        made.add(d.metadata.name);
      }
      const r = register(`${cluster}-bp-${bp.name}-${d.kind.toLowerCase()}-${d.metadata.name}`, d, {
        ...stage.childOpts({ provider, dependsOn: [flux, ...(namespace ? [namespace] : [])] }),
      });
      if (d.kind === "Namespace") namespace = r;
      own.push(r);
    }
    // The credentials live only in the cluster: a Secret from the seed, in the blueprint's namespace.
    const secret = new k8s.core.v1.Secret(
      `${cluster}-bp-${bp.name}-credentials`,
      {
        metadata: { name: credentialsSecretName(bp), namespace: bp.namespace, labels: { [LABEL_BLUEPRINT]: `bp-${bp.name}` } },
        type: "Opaque",
        stringData: pulumi.secret(input.seed.apply((s) => blueprintCredentials(s, cluster, bp))),
      },
      stage.childOpts({ provider, dependsOn: [flux, ...own], additionalSecretOutputs: ["stringData", "data"] }),
    );
    const hr = docs.find((x) => x.kind === "HelmRelease")!;
    const withWait: KubeObject = {
      ...hr,
      metadata: {
        ...hr.metadata,
        // The provider waits for Flux's verdict, so a dependant never starts before this is Ready.
        annotations: { ...(hr.metadata.annotations ?? {}), "pulumi.com/waitFor": "condition=Ready", "pulumi.com/timeoutSeconds": "1800" },
      },
    };
    const deps = bp.dependsOn.map((e) => releases.get(e.on)).filter((x): x is k8s.apiextensions.CustomResource => x !== undefined);
    const release = register(
      `${cluster}-bp-${bp.name}`,
      withWait,
      stage.childOpts({ provider, dependsOn: [flux, secret, ...own, ...deps] }),
    );
    releases.set(bp.name, release as k8s.apiextensions.CustomResource);

    const probe = readinessProbe(bp, kit.domain);
    acceptance.push({ blueprint: `bp-${bp.name}`, slot: bp.slot, probe });
    probes.set(
      bp.name,
      new command.remote.Command(
        `${cluster}-probe-bp-${bp.name}`,
        {
          connection: input.probeConnection,
          create: `# kubedos: readiness of bp-${bp.name} (seed 000 §5)\nsudo env KUBECONFIG=/etc/kubernetes/admin.conf bash -s`,
          stdin: `set -eu\n${probe}\n`,
          logging: "stdoutAndStderr",
        },
        stage.childOpts({ dependsOn: [release] }),
      ),
    );
  }
  return { releases, probes, acceptance, longestChain: longestChain(kit.blueprints).map((n) => `bp-${n}`) };
}
