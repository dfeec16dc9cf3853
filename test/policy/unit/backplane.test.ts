/** plane-membership: every node joins every declared plane (a graph check, Stage 3). */
import { strict as assert } from "node:assert";
import { applyPlaneScript } from "../../../components/backplane/apply";
import { planeMembership } from "../../../policy/policies/backplane";
import { runStackPolicy, specStage, type TestStackResource } from "./harness";
import { DEV_SPEC } from "./specs";

const NODES = DEV_SPEC.spec.nodes.inventory.map((n) => n.name);
const PLANES = Object.keys(DEV_SPEC.spec.networking.planes);

/** The plane command the program declares for one node and plane. */
const planeCommand = (node: string, plane: string): TestStackResource => ({
  type: "command:remote:Command",
  name: `dev-lab-${node}-${plane}`,
  props: { create: applyPlaneScript(plane, "0".repeat(64)) },
});

const fullMesh = (): TestStackResource[] => NODES.flatMap((n) => PLANES.map((p) => planeCommand(n, p)));

describe("plane-membership", () => {
  it("accepts a graph where every node has a command for every plane", () => {
    assert.deepEqual(runStackPolicy(planeMembership, [specStage(DEV_SPEC), ...fullMesh()]), []);
  });

  it("accepts a graph that has not reached Stage 3 (no plane command at all)", () => {
    assert.deepEqual(runStackPolicy(planeMembership, [specStage(DEV_SPEC)]), []);
  });

  it("rejects a graph where one node is missing from one plane, naming both", () => {
    const graph = fullMesh().filter((r) => r.name !== "dev-lab-w-2-wg3");
    assert.deepEqual(runStackPolicy(planeMembership, [specStage(DEV_SPEC), ...graph]), [
      "Node w-2 must join plane wg3: the graph has no WireGuard command for it (expected dev-lab-w-2-wg3).",
    ]);
  });

  it("rejects a graph where a node joins no plane at all, once per plane", () => {
    const graph = fullMesh().filter((r) => !r.name.startsWith("dev-lab-cp-3-"));
    assert.deepEqual(
      runStackPolicy(planeMembership, [specStage(DEV_SPEC), ...graph]),
      PLANES.map((p) => `Node cp-3 must join plane ${p}: the graph has no WireGuard command for it (expected dev-lab-cp-3-${p}).`),
    );
  });

  it("ignores commands that are not plane commands when it counts membership", () => {
    const graph = fullMesh().map((r) => (r.name === "dev-lab-w-1-wg1" ? { ...r, props: { create: "echo hello" } } : r));
    assert.deepEqual(runStackPolicy(planeMembership, [specStage(DEV_SPEC), ...graph]), [
      "Node w-1 must join plane wg1: the graph has no WireGuard command for it (expected dev-lab-w-1-wg1).",
    ]);
  });
});
