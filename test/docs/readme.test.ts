import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { RULE_IDS } from "../../components/spec/constraints";
import { generateReference, renderReadme } from "../../scripts/gen-spec-reference";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const readme = readFileSync(path.join(ROOT, "README.md"), "utf8");

describe("README", () => {
  it("carries the ClusterSpec reference and rule table exactly as generated from the schema", () => {
    assert.equal(renderReadme(readme), readme, "README.md is stale: run `npm run build && npm run docs`");
  });

  it("documents every rule id", () => {
    for (const id of RULE_IDS) assert.match(readme, new RegExp(`\\| \`${id}\` \\|`), `rule ${id} missing from README`);
  });

  it("documents every field of the seed §15.2 example", () => {
    const ref = generateReference();
    for (const p of [
      "metadata.artifactVersion",
      "spec.substrate.proxmox.vmidRange.start",
      "spec.substrate.proxmox.placement.by",
      "spec.nodes.inventory[].nics[].vlan",
      "spec.networking.policy.allow[].ports",
      "spec.security.rotation.kubeCertDays",
      "spec.storage.zfs.snapshotPolicy.<name>.hourly",
      "spec.orchestration.ansible.safety.allowWipe",
      "spec.kubernetes.observability.bindPlane",
      "spec.acceptance.drills[].expectRecoveryMinutes",
    ]) {
      assert.ok(ref.includes(`| \`${p}\` |`), `reference lacks ${p}`);
    }
  });

  it("shows the two commands and the test command", () => {
    assert.match(readme, /npm ci && npm run plan/);
    assert.match(readme, /npm ci && npm test/);
  });
});
