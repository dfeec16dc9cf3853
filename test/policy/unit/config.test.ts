/**
 * The REAL pack (policy/index.ts, compiled) through the analyzer service, as `kubedos plan` and
 * `pulumi preview --policy-pack policy` run it (cli/engine/policy.ts), on a synthetic StackRun:
 * enforcement levels, per-stack policy config (policy/config/<stack>.json) and config errors.
 *
 * The SDK allows one PolicyPack per process; runPolicyPack loads it once and re-configures it
 * on every run, so each test states its whole config.
 */
import { strict as assert } from "node:assert";
import * as path from "node:path";
import type { RecordedResource, StackRun } from "../../../cli/engine/harness";
import {
  mandatoryViolations,
  POLICY_SOURCE_DIR,
  runPolicyPack,
  stackPolicyConfigFile,
  type PolicyResult,
} from "../../../cli/engine/policy";
import { ALL_POLICIES, PACK_NAME } from "../../../policy/policies";
import { urnOf } from "./harness";
import { CLEAN_SPEC } from "./specs";

const STACK_URN = urnOf("pulumi:pulumi:Stack", "kubedos-unit");
const CLUSTER_URN = urnOf("kubedos:cluster:Cluster", "dev-lab", "pulumi:pulumi:Stack");
const STAGE_URN = urnOf("kubedos:cluster:Stage", "dev-lab-stage0-spec", "pulumi:pulumi:Stack$kubedos:cluster:Cluster");

/** A RecordedResource as cli/engine/harness.ts records one, with the defaults of a plain registration. */
function recorded(r: Pick<RecordedResource, "urn" | "type" | "name" | "custom"> & Partial<RecordedResource>): RecordedResource {
  return {
    dependencies: [],
    propertyDependencies: {},
    protect: false,
    retainOnDelete: false,
    deleteBeforeReplace: false,
    ignoreChanges: [],
    replaceOnChanges: [],
    additionalSecretOutputs: [],
    inputs: {},
    ...r,
  };
}

const DEPLOYMENT_URN = urnOf("kubernetes:apps/v1:Deployment", "web");
const VM_URN = urnOf("proxmoxve:index/vmLegacy:VmLegacy", "cp-1");

/**
 * The program's skeleton (Stack → Cluster → Stage 0 carrying the clean spec) plus a Deployment
 * whose image is pinned by tag but not by digest (image-digests only) and, when asked, an
 * unprotected Proxmox VM (substrate-protected).
 */
function stackRun(opts: { unprotectedVm?: boolean } = {}): StackRun {
  const resources: RecordedResource[] = [
    recorded({ urn: STACK_URN, type: "pulumi:pulumi:Stack", name: "kubedos-unit", custom: false, outputs: {} }),
    recorded({
      urn: CLUSTER_URN,
      type: "kubedos:cluster:Cluster",
      name: "dev-lab",
      custom: false,
      parent: STACK_URN,
      outputs: { name: "dev-lab" },
    }),
    recorded({
      urn: STAGE_URN,
      type: "kubedos:cluster:Stage",
      name: "dev-lab-stage0-spec",
      custom: false,
      parent: CLUSTER_URN,
      outputs: { index: 0, key: "spec", clusterSpec: CLEAN_SPEC, specDigest: "sha256:unit" },
    }),
    recorded({
      urn: DEPLOYMENT_URN,
      type: "kubernetes:apps/v1:Deployment",
      name: "web",
      custom: true,
      parent: STAGE_URN,
      dependencies: [STAGE_URN],
      inputs: { metadata: { name: "web" }, spec: { template: { spec: { containers: [{ name: "web", image: "nginx:1.27.3" }] } } } },
    }),
  ];
  if (opts.unprotectedVm) {
    resources.push(
      recorded({
        urn: VM_URN,
        type: "proxmoxve:index/vmLegacy:VmLegacy",
        name: "cp-1",
        custom: true,
        parent: STAGE_URN,
        inputs: { nodeName: "pve-a1", vmId: 3017 },
      }),
    );
  }
  return { project: "kubedos", stack: "unit", resources, exports: {}, logs: [] };
}

const DIGEST_MESSAGE =
  "web (kubernetes:apps/v1:Deployment) must pin image nginx:1.27.3 at spec.template.spec.containers.0.image by digest (…@sha256:<64 hex>).";
const VM_MESSAGE =
  "Substrate resource cp-1 (proxmoxve:index/vmLegacy:VmLegacy) must be protected while substrate.allowDestroy is false; set protect: true (or opt in with allowDestroy: true).";

const of = (r: PolicyResult, policy: string) => r.violations.filter((v) => v.policy === policy);
const levelOf = (r: PolicyResult, policy: string) => r.policies.find((p) => p.name === policy)?.enforcementLevel;

describe("policy config (the real pack through the analyzer service)", function () {
  // Loading the pack (the SDK and the compiled policies) takes a moment, once per process.
  this.timeout(30_000);

  before(async () => {
    await runPolicyPack(stackRun());
  });

  it("loads the pack with every policy of ALL_POLICIES, at its own default level", async () => {
    const r = await runPolicyPack(stackRun());
    assert.equal(r.pack.name, PACK_NAME);
    assert.deepEqual(
      r.policies.map((p) => [p.name, p.enforcementLevel]),
      ALL_POLICIES.map((p) => [p.name, p.enforcementLevel]),
    );
  });

  it("reports image-digests as advisory, and nothing mandatory, when there is no config", async () => {
    const r = await runPolicyPack(stackRun());
    assert.deepEqual(r.violations, [{ policy: "image-digests", level: "advisory", urn: DEPLOYMENT_URN, message: DIGEST_MESSAGE }]);
    assert.deepEqual(mandatoryViolations(r), []);
  });

  it("reports image-digests as mandatory when the config re-levels it to mandatory", async () => {
    const r = await runPolicyPack(stackRun(), { config: { "image-digests": "mandatory" } });
    assert.equal(levelOf(r, "image-digests"), "mandatory");
    assert.deepEqual(of(r, "image-digests"), [
      { policy: "image-digests", level: "mandatory", urn: DEPLOYMENT_URN, message: DIGEST_MESSAGE },
    ]);
    assert.deepEqual(
      mandatoryViolations(r).map((v) => v.policy),
      ["image-digests"],
    );
  });

  it("accepts the object form { enforcementLevel } as --policy-pack-config does", async () => {
    const r = await runPolicyPack(stackRun(), { config: { "image-digests": { enforcementLevel: "mandatory" } } });
    assert.deepEqual(
      of(r, "image-digests").map((v) => v.level),
      ["mandatory"],
    );
  });

  it("reports nothing for a resource policy disabled by config", async () => {
    const r = await runPolicyPack(stackRun(), { config: { "image-digests": "disabled" } });
    assert.equal(levelOf(r, "image-digests"), "disabled");
    assert.deepEqual(r.violations, []);
  });

  it("reports nothing for a stack policy disabled by config, and reports it again once the config is gone", async () => {
    const open = await runPolicyPack(stackRun({ unprotectedVm: true }));
    assert.deepEqual(of(open, "substrate-protected"), [
      { policy: "substrate-protected", level: "mandatory", urn: VM_URN, message: VM_MESSAGE },
    ]);
    const disabled = await runPolicyPack(stackRun({ unprotectedVm: true }), { config: { "substrate-protected": "disabled" } });
    assert.deepEqual(of(disabled, "substrate-protected"), []);
    const again = await runPolicyPack(stackRun({ unprotectedVm: true }));
    assert.deepEqual(of(again, "substrate-protected").length, 1, "a disabled level must not outlive its run");
  });

  it("makes image-digests mandatory with policy/config/prod.json", async () => {
    const file = stackPolicyConfigFile("prod");
    assert.equal(file, path.join(POLICY_SOURCE_DIR, "config", "prod.json"));
    const r = await runPolicyPack(stackRun(), { configFile: file });
    assert.equal(r.configFile, file);
    assert.equal(levelOf(r, "image-digests"), "mandatory");
    assert.deepEqual(
      of(r, "image-digests").map((v) => v.level),
      ["mandatory"],
    );
  });

  it("keeps image-digests advisory with policy/config/dev.json", async () => {
    const file = stackPolicyConfigFile("dev");
    assert.equal(file, path.join(POLICY_SOURCE_DIR, "config", "dev.json"));
    const r = await runPolicyPack(stackRun(), { configFile: file });
    assert.equal(levelOf(r, "image-digests"), "advisory");
    assert.deepEqual(
      of(r, "image-digests").map((v) => v.level),
      ["advisory"],
    );
    assert.deepEqual(mandatoryViolations(r), []);
  });

  it("has no config file for a stack that has none", () => {
    assert.equal(stackPolicyConfigFile("no-such-stack"), undefined);
  });

  it("throws an error naming the policy when the config names a policy the pack does not have", async () => {
    await assert.rejects(runPolicyPack(stackRun(), { config: { "image-digest": "mandatory" } }), {
      message: "policy config names image-digest, which is not a policy of the pack",
    });
  });

  it("throws an error naming the policy and the level when a level is not a level", async () => {
    await assert.rejects(runPolicyPack(stackRun(), { config: { "image-digests": "sometimes" as "mandatory" } }), {
      message: "policy config: image-digests has unknown enforcement level sometimes",
    });
    await assert.rejects(runPolicyPack(stackRun(), { config: { "pinned-images": { enforcementLevel: "strict" as "mandatory" } } }), {
      message: "policy config: pinned-images has unknown enforcement level strict",
    });
  });

  it("reports clusterspec-present, mandatory, when the stack carries no Stage 0", async () => {
    const run = stackRun();
    run.resources = run.resources.filter((r) => r.urn !== STAGE_URN);
    const r = await runPolicyPack(run);
    assert.deepEqual(
      mandatoryViolations(r).map((v) => [v.policy, v.message]),
      [
        [
          "clusterspec-present",
          "The stack must carry its rendered ClusterSpec: no kubedos:cluster:Stage with key spec and a clusterSpec output was found; build the stack with the kubedos program.",
        ],
      ],
    );
  });
});
