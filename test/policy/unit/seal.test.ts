/**
 * policy/policies/seal.ts: seal-after-acceptance (seed 001 §14.3). The passing stack is the shape
 * components/anchors/apply.ts builds — gate commands, readiness probes, one seal depending on all of
 * them; each failing case removes one edge, one producer or adds a second seal.
 */
import { strict as assert } from "node:assert";
import { GATE_MARKER } from "../../../components/acceptance/gates";
import { SEAL_KIND } from "../../../components/anchors/seal";
import { sealAfterAcceptance } from "../../../policy/policies/seal";
import { clusterComponent, runStackPolicy, specStage, urnOf, type TestStackResource } from "./harness";
import { DEV_SPEC } from "./specs";

const CMD = "command:remote:Command";
const DYN = "pulumi-nodejs:dynamic:Resource";

const gate = (name: string, gates: string) => ({
  type: CMD,
  name: `dev-lab-${name}`,
  props: { create: `${GATE_MARKER} ${gates} on cp-1 (seed 001 §17.1)\nsudo bash -s` },
});
const GATES: TestStackResource[] = [
  gate("gate-security-cp-1", "security-baseline"),
  gate("gate-backplane", "backplane-matrix"),
  gate("gate-kubernetes", "k8s-health + security-baseline"),
  gate("gate-cilium", "cilium-health + hubble-flows"),
  gate("gate-observability", "observability-stack"),
];
const RECONCILER: TestStackResource = {
  type: "pulumi-nodejs:dynamic/kubedos-environment:Reconciler",
  name: "dev-lab-environment-storage",
  props: { component: "storage" },
};
const PROBE: TestStackResource = {
  type: CMD,
  name: "dev-lab-probe-bp-cilium",
  props: { create: "# kubedos: readiness of bp-cilium (seed 000 §5)\nsudo bash -s" },
};

function stack(
  opts: {
    drop?: string;
    sealDeps?: (names: string[]) => string[];
    extraSeal?: boolean;
    noSeal?: boolean;
    gates?: TestStackResource[];
  } = {},
): TestStackResource[] {
  const gates = (opts.gates ?? GATES).filter((g) => g.name !== opts.drop);
  const deps = [...gates, PROBE, RECONCILER].map((r) => r.name);
  const seal = (name: string): TestStackResource => ({
    type: DYN,
    name,
    props: { kind: SEAL_KIND, artifactName: "a", manifestSha256: "m", acceptance: "incomplete", blocking: [] },
    dependencies: (opts.sealDeps ?? ((n) => n))(deps).map((n) => (n === RECONCILER.name ? urnOf(RECONCILER.type, n) : urnOf(CMD, n))),
  });
  return [
    clusterComponent(),
    specStage(DEV_SPEC),
    ...gates,
    PROBE,
    RECONCILER,
    ...(opts.noSeal ? [] : [seal("dev-lab-seal")]),
    ...(opts.extraSeal ? [seal("dev-lab-seal-2")] : []),
  ];
}

describe("seal-after-acceptance (seal.ts)", () => {
  it("passes when the seal depends on every gate command and readiness probe, and every required gate has a producer", () => {
    assert.deepEqual(runStackPolicy(sealAfterAcceptance, stack()), []);
  });

  it("fails when the seal does not wait for one gate command", () => {
    assert.deepEqual(runStackPolicy(sealAfterAcceptance, stack({ sealDeps: (d) => d.filter((n) => n !== "dev-lab-gate-cilium") })), [
      "The seal dev-lab-seal must wait for dev-lab-gate-cilium: it does not depend on it, directly or through other resources, so it could seal before that evidence is recorded.",
    ]);
  });

  it("fails when the seal does not wait for a readiness probe", () => {
    assert.deepEqual(runStackPolicy(sealAfterAcceptance, stack({ sealDeps: (d) => d.filter((n) => n !== PROBE.name) })), [
      "The seal dev-lab-seal must wait for dev-lab-probe-bp-cilium: it does not depend on it, directly or through other resources, so it could seal before that evidence is recorded.",
    ]);
  });

  it("fails when the seal does not wait for an environment reconciler", () => {
    assert.deepEqual(runStackPolicy(sealAfterAcceptance, stack({ sealDeps: (d) => d.filter((n) => n !== RECONCILER.name) })), [
      "The seal dev-lab-seal must wait for dev-lab-environment-storage: it does not depend on it, directly or through other resources, so it could seal before that evidence is recorded.",
    ]);
  });

  it("fails when a required gate has no command producing its evidence", () => {
    assert.deepEqual(runStackPolicy(sealAfterAcceptance, stack({ drop: "dev-lab-gate-observability" })), [
      "Required gate observability-stack (spec.acceptance.required) must have an acceptance gate command that produces its evidence; the stack has none, so the seal could never be accepted.",
    ]);
  });

  it("fails when gates exist but nothing seals, and when there are two seals", () => {
    assert.deepEqual(runStackPolicy(sealAfterAcceptance, stack({ noSeal: true })), [
      "The stack must seal its rebuild anchors after its 5 acceptance gate command(s): it has no seal resource (kind kubedos-seal).",
    ]);
    assert.deepEqual(runStackPolicy(sealAfterAcceptance, stack({ extraSeal: true })), [
      "The stack must have one seal; it has 2: dev-lab-seal, dev-lab-seal-2.",
    ]);
  });
});
