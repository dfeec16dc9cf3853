/**
 * policy/policies/kit.ts: check-bootstrap-deps (seed 000 §4.5). The HelmReleases are the ones
 * components/kit/flux.ts renders, as the Pulumi layer registers them (apiextensions.CustomResource,
 * type kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease, the rendered object as its inputs); each
 * failing case is one mutation of them — an edge removed, an edge added, a release missing, one
 * outside the kit — with the exact messages.
 */
import { strict as assert } from "node:assert";
import { kitContext, renderBlueprintDocuments, type KubeObject } from "../../../components/kit/flux";
import { selectKit } from "../../../components/kit/select";
import type { Kit } from "../../../components/kit/types";
import { buildPlan } from "../../../components/plan/plan";
import { bootstrapDepsFindings, checkBootstrapDeps, HELM_RELEASE_TYPE, stackReleases } from "../../../policy/policies/kit";
import { pinnedChartVersions } from "../../../policy/policies/supply-chain";
import { editedKit, fixtureKit } from "../../kit/fixtures";
import {
  clusterComponent,
  runResourcePolicy,
  runStackPolicy,
  runStackPolicyDetailed,
  specStage,
  stackResources,
  urnOf,
  type TestStackResource,
} from "./harness";
import { DEV_SPEC, edited } from "./specs";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const CTX = kitContext(buildPlan(DEV_SPEC));

/** The kit's HelmReleases as stack resources (Pulumi name = metadata.name), each editable. */
function releaseResources(kit: Kit, edit: (name: string, hr: Json) => void = () => {}): TestStackResource[] {
  return kit.blueprints.map((b) => {
    const hr = structuredClone(renderBlueprintDocuments(kit, b, CTX).find((d) => d.kind === "HelmRelease")) as KubeObject & Json;
    edit(hr.metadata.name, hr);
    return { type: HELM_RELEASE_TYPE, name: hr.metadata.name, props: hr };
  });
}

const findings = (kit: Kit, resources: TestStackResource[]) => bootstrapDepsFindings(kit, stackReleases(stackResources(resources)));
const messages = (kit: Kit, resources: TestStackResource[]) => findings(kit, resources).map((f) => f.message);

describe("check-bootstrap-deps findings (kit.ts)", () => {
  const kit = fixtureKit();

  it("finds nothing when every release is rendered from the kit", () => {
    assert.deepEqual(messages(kit, releaseResources(kit)), []);
  });

  it("reads the releases' metadata.name and spec.dependsOn, falling back to the resource name, and ignores non-blueprint releases", () => {
    const res = releaseResources(kit);
    res[0] = { ...res[0], name: "dev-lab-kit-bp-cilium" };
    const grafana = res.find((r) => r.name === "bp-grafana")!;
    res.push({ type: HELM_RELEASE_TYPE, name: "bp-extra", props: { spec: { dependsOn: [{ name: "bp-cilium" }] } } });
    res.push({ type: HELM_RELEASE_TYPE, name: "tenant-app", props: { metadata: { name: "tenant-app" }, spec: {} } });
    const rel = stackReleases(stackResources(res));
    assert.equal(rel[0].name, "bp-cilium");
    assert.deepEqual(
      rel.find((r) => r.name === "bp-grafana"),
      {
        name: "bp-grafana",
        dependsOn: ["bp-cert-manager", "bp-cnpg", "bp-loki"],
        urn: urnOf(HELM_RELEASE_TYPE, grafana.name),
      },
    );
    assert.deepEqual(rel.find((r) => r.name === "bp-extra")!.dependsOn, ["bp-cilium"]);
    assert.ok(!rel.some((r) => r.name === "tenant-app"));
  });

  it("reports an edge removed from a release, naming the catalog edge and its source", () => {
    const res = releaseResources(kit, (name, hr) => {
      if (name === "bp-velero") delete hr.spec.dependsOn;
      if (name === "bp-grafana") hr.spec.dependsOn = [{ name: "bp-cnpg" }];
    });
    assert.deepEqual(findings(kit, res), [
      {
        message:
          "bp-grafana must depend on bp-cert-manager (catalog edge, inferred: Certificate CRD for its ingress (seed 000 §1.2 note)): its spec.dependsOn lacks it.",
        urn: urnOf(HELM_RELEASE_TYPE, "bp-grafana"),
      },
      {
        message: "bp-grafana must depend on bp-loki (catalog edge, seed 000 §2): its spec.dependsOn lacks it.",
        urn: urnOf(HELM_RELEASE_TYPE, "bp-grafana"),
      },
      {
        message: "bp-velero must depend on bp-seaweedfs (catalog edge, seed 000 §2): its spec.dependsOn lacks it.",
        urn: urnOf(HELM_RELEASE_TYPE, "bp-velero"),
      },
    ]);
  });

  it("reports an edge added to a release that the catalog does not have", () => {
    const res = releaseResources(kit, (name, hr) => {
      if (name === "bp-reloader") hr.spec.dependsOn = [{ name: "bp-cilium" }];
      if (name === "bp-velero") hr.spec.dependsOn.push({ name: "bp-cnpg" }, { name: "bp-harbor" });
    });
    assert.deepEqual(messages(kit, res), [
      "bp-reloader must not depend on bp-cilium: not a catalog edge; remove it from spec.dependsOn, or add the edge to the catalog.",
      "bp-velero must not depend on bp-cnpg: not a catalog edge; remove it from spec.dependsOn, or add the edge to the catalog.",
      "bp-velero must not depend on bp-harbor: not a catalog edge; remove it from spec.dependsOn, or add the edge to the catalog.",
    ]);
  });

  it("reports an edge the catalog gained that the releases do not carry (drift in the other direction)", () => {
    const grown = editedKit(kit, "velero", (b) =>
      b.dependsOn.push({ on: "cnpg", source: "inferred", reason: "BackupStorageLocation in CNPG" }),
    );
    assert.deepEqual(messages(grown, releaseResources(kit)), [
      "bp-velero must depend on bp-cnpg (catalog edge, inferred: BackupStorageLocation in CNPG): its spec.dependsOn lacks it.",
    ]);
  });

  it("reports a kit blueprint without a HelmRelease, a release outside the kit, a duplicate and an unreadable dependsOn", () => {
    const res = releaseResources(kit).filter((r) => r.name !== "bp-openbao");
    res.push({ type: HELM_RELEASE_TYPE, name: "bp-harbor", props: { metadata: { name: "bp-harbor" }, spec: {} } });
    res.push({ ...res[1], name: "bp-cert-manager-again" });
    const velero = res.find((r) => r.name === "bp-velero")!;
    (velero.props as Json).spec.dependsOn = "bp-seaweedfs";
    assert.deepEqual(findings(kit, res), [
      {
        message: "bp-cert-manager must have exactly one HelmRelease: the stack has 2.",
        urn: urnOf(HELM_RELEASE_TYPE, "bp-cert-manager-again"),
      },
      { message: "bp-openbao must have a HelmRelease: it is in the kit (slot 08) but the stack has no HelmRelease bp-openbao." },
      {
        message: "bp-velero must list its dependencies as spec.dependsOn: [{ name: bp-<blueprint> }]: it cannot be read.",
        urn: urnOf(HELM_RELEASE_TYPE, "bp-velero"),
      },
      {
        message: "HelmRelease bp-harbor must not be in the stack: bp-harbor is not in the kit of profile fixture.",
        urn: urnOf(HELM_RELEASE_TYPE, "bp-harbor"),
      },
    ]);
  });
});

describe("check-bootstrap-deps (kit.ts)", () => {
  // The kit the dev spec selects (omantel-1, 48 blueprints), rendered as the Pulumi layer registers it.
  const kit = selectKit(DEV_SPEC);
  const SPEC_URN = specStage(DEV_SPEC).urn;
  const stack = (releases: TestStackResource[], spec: unknown = DEV_SPEC): TestStackResource[] => [
    clusterComponent(),
    specStage(spec),
    ...releases,
  ];

  it("passes when every HelmRelease is rendered from the spec's kit", () => {
    assert.deepEqual(runStackPolicy(checkBootstrapDeps, stack(releaseResources(kit))), []);
  });

  it("passes a stack without blueprint HelmReleases (its program has not reached the kit)", () => {
    assert.deepEqual(runStackPolicy(checkBootstrapDeps, stack([])), []);
  });

  it("fails when an edge is removed from a HelmRelease", () => {
    const res = releaseResources(kit, (name, hr) => {
      if (name === "bp-velero") delete hr.spec.dependsOn;
    });
    assert.deepEqual(runStackPolicyDetailed(checkBootstrapDeps, stack(res)), [
      {
        message: "bp-velero must depend on bp-seaweedfs (catalog edge, seed 000 §2): its spec.dependsOn lacks it.",
        urn: urnOf(HELM_RELEASE_TYPE, "bp-velero"),
      },
    ]);
  });

  it("fails when an edge is added to a HelmRelease", () => {
    const res = releaseResources(kit, (name, hr) => {
      if (name === "bp-reloader") hr.spec.dependsOn = [{ name: "bp-velero" }];
    });
    assert.deepEqual(runStackPolicyDetailed(checkBootstrapDeps, stack(res)), [
      {
        message:
          "bp-reloader must not depend on bp-velero: not a catalog edge; remove it from spec.dependsOn, or add the edge to the catalog.",
        urn: urnOf(HELM_RELEASE_TYPE, "bp-reloader"),
      },
    ]);
  });

  it("fails when a kit blueprint has no HelmRelease, reported against the spec", () => {
    const res = releaseResources(kit).filter((r) => r.name !== "bp-harbor");
    assert.deepEqual(runStackPolicyDetailed(checkBootstrapDeps, stack(res)), [
      {
        message: "bp-harbor must have a HelmRelease: it is in the kit (slot 19) but the stack has no HelmRelease bp-harbor.",
        urn: SPEC_URN,
      },
    ]);
  });

  it("fails when a HelmRelease is outside the spec's kit — a blueprint the spec drops, or one it does not include", () => {
    const dropped = edited(DEV_SPEC, (s) => (s.spec.kit = { ...s.spec.kit!, drop: ["reloader"] }));
    const res = [
      ...releaseResources(kit),
      { type: HELM_RELEASE_TYPE, name: "bp-keda", props: { metadata: { name: "bp-keda", namespace: "flux-system" }, spec: {} } },
    ];
    assert.deepEqual(runStackPolicy(checkBootstrapDeps, stack(res, dropped)), [
      "HelmRelease bp-keda must not be in the stack: bp-keda is not in the kit of profile omantel-1.",
      "HelmRelease bp-reloader must not be in the stack: bp-reloader is not in the kit of profile omantel-1.",
    ]);
  });

  it("leaves nothing for pinned-chart-versions to report in the rendered kit (every OCIRepository tag is an exact version)", () => {
    // The HelmReleases reference their OCIRepository by chartRef: the version the pack checks is the source's tag.
    const docs = kit.blueprints.flatMap((b) => renderBlueprintDocuments(kit, b, CTX));
    const sources = docs.filter((d) => d.kind === "OCIRepository" || d.kind === "HelmRelease");
    assert.equal(sources.length, 2 * kit.blueprints.length);
    for (const d of sources)
      assert.deepEqual(
        runResourcePolicy(pinnedChartVersions, { type: `kubernetes:${d.apiVersion}:${d.kind}`, name: d.metadata.name, props: d }),
        [],
      );
  });

  it("fails when the spec's kit cannot be selected, rather than passing unchecked releases", () => {
    const bad = edited(DEV_SPEC, (s) => (s.spec.kit = { ...s.spec.kit!, drop: ["cilium"] }));
    assert.deepEqual(runStackPolicy(checkBootstrapDeps, stack(releaseResources(kit), bad)), [
      "The stack's bootstrap kit must be selectable from its ClusterSpec to check its 48 HelmReleases: invalid kit: spec.kit.drop[0]: cannot drop bp-cilium: it is Tier 0–1 foundation (not optional) that the rest of the kit cannot do without.",
    ]);
  });
});
