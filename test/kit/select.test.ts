/**
 * Choosing a stack's kit (components/kit/select.ts) from the spec: the omantel-1 default, `include`
 * (slots 49+ in catalog order), `drop` (optional blueprints nothing kept depends on), and the
 * errors — each naming the blueprints involved — for everything else.
 */
import { strict as assert } from "node:assert";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { blueprint, PROFILES } from "../../components/kit/catalog";
import { checkDag, topoOrder } from "../../components/kit/dag";
import { defaultKitDomain, KitError, kitProblems, readinessProbe, selectKit, type KitProblem } from "../../components/kit/select";
import type { ClusterSpec, KitSpec } from "../../components/spec/schema";
import { validateSpecText } from "../../components/spec/validate";

/** Repository root: this file runs from dist/test/kit. */
const REPO_ROOT = path.resolve(__dirname, "..", "..", "..");

const DEV_FILE = "stacks/dev/cluster.yaml";
const r = validateSpecText(readFileSync(path.join(REPO_ROOT, DEV_FILE), "utf8"), DEV_FILE);
assert.ok(r.valid && r.spec, "the dev spec is valid");
const DEV: ClusterSpec = r.spec;

/** The dev spec with `kit` replaced (or removed, for undefined). */
function withKit(kit: Partial<KitSpec> | undefined): ClusterSpec {
  const s = structuredClone(DEV);
  if (kit === undefined) delete s.spec.kit;
  else s.spec.kit = { domain: "dev-lab.lab.example", ...kit };
  return s;
}

/** The KitError selectKit throws for `kit`. */
function rejection(kit: Partial<KitSpec>): KitError {
  try {
    selectKit(withKit(kit));
  } catch (err) {
    assert.ok(err instanceof KitError, `expected a KitError, got ${String(err)}`);
    return err;
  }
  assert.fail(`selectKit accepted ${JSON.stringify(kit)}`);
}

const names = (kit: ReturnType<typeof selectKit>): string[] => kit.blueprints.map((b) => b.name);

describe("selectKit", () => {
  describe("the default", () => {
    it("gives a spec without kit the omantel-1 kit: 48 blueprints in slot order, under <name>.kubedos.local", () => {
      const kit = selectKit(withKit(undefined));
      assert.equal(kit.profile, "omantel-1");
      assert.equal(kit.blueprints.length, 48);
      assert.deepEqual(
        kit.blueprints.map((b) => b.slot),
        Array.from({ length: 48 }, (_, i) => i + 1),
      );
      assert.deepEqual(
        names(kit),
        PROFILES["omantel-1"].map((b) => b.name),
      );
      assert.equal(kit.domain, "dev-lab.kubedos.local");
      assert.equal(defaultKitDomain("prod-01"), "prod-01.kubedos.local");
    });

    it("uses the dev stack's declared profile and domain", () => {
      const kit = selectKit(DEV);
      assert.equal(kit.profile, "omantel-1");
      assert.equal(kit.domain, "dev-lab.lab.example");
      assert.equal(kit.blueprints.length, 48);
    });

    it("substitutes the domain into readiness probes", () => {
      const kit = selectKit(DEV);
      const harbor = kit.blueprints.find((b) => b.name === "harbor")!;
      assert.equal(
        readinessProbe(harbor, kit.domain),
        "curl -fsS https://harbor.dev-lab.lab.example/api/v2.0/health | jq -e '.status==\"healthy\"'",
      );
      assert.ok(kit.blueprints.every((b) => !readinessProbe(b, kit.domain).includes("<domain>")));
    });
  });

  describe("include", () => {
    it("adds keda at slot 49, after the 48", () => {
      const kit = selectKit(withKit({ include: ["keda"] }));
      assert.equal(kit.blueprints.length, 49);
      assert.deepEqual(kit.blueprints[48], { ...blueprint("keda"), slot: 49 });
    });

    it("numbers several included blueprints in catalog row order, not list order", () => {
      const kit = selectKit(withKit({ include: ["neo4j", "debezium", "keda", "strimzi"] }));
      assert.deepEqual(
        kit.blueprints.slice(48).map((b) => [b.name, b.slot]),
        [
          ["keda", 49],
          ["strimzi", 50],
          ["debezium", 51],
          ["neo4j", 52],
        ],
      );
      assert.deepEqual(checkDag(kit.blueprints), []);
      assert.ok(topoOrder(kit.blueprints).indexOf("strimzi") < topoOrder(kit.blueprints).indexOf("debezium"));
    });

    it("rejects an included blueprint whose dependency is not in the kit, naming both", () => {
      const e = rejection({ include: ["debezium"] });
      assert.deepEqual(e.problems, [
        {
          field: "include",
          index: 0,
          message: "cannot include bp-debezium: it depends on bp-strimzi, which is not in the kit; include it too",
        },
      ]);
      assert.match(e.message, /spec\.kit\.include\[0\]: cannot include bp-debezium/);
    });

    it("rejects a blueprint that is already in the kit", () => {
      assert.deepEqual(rejection({ include: ["cilium"] }).problems, [
        { field: "include", index: 0, message: "bp-cilium is already in the omantel-1 kit (slot 1); remove it from include" },
      ]);
    });

    it("rejects an unknown name, naming it and the nearest catalog name", () => {
      assert.deepEqual(rejection({ include: ["keda", "milvsu"] }).problems, [
        { field: "include", index: 1, message: 'unknown blueprint "milvsu": the catalog has no bp-milvsu — did you mean milvus?' },
      ]);
      assert.deepEqual(rejection({ include: ["bp-keda"] }).problems, [
        { field: "include", index: 0, message: 'unknown blueprint "bp-keda": write the catalog name without bp- (keda)' },
      ]);
    });

    it("rejects a name listed twice", () => {
      assert.deepEqual(rejection({ include: ["keda", "keda"] }).problems, [
        { field: "include", index: 1, message: "bp-keda is listed twice in include; list it once" },
      ]);
    });
  });

  describe("drop", () => {
    it("drops an optional blueprint nothing depends on, leaving its slot empty", () => {
      const kit = selectKit(withKit({ drop: ["velero", "librechat"] }));
      assert.equal(kit.blueprints.length, 46);
      assert.ok(!names(kit).includes("velero") && !names(kit).includes("librechat"));
      assert.equal(kit.blueprints.find((b) => b.name === "falco")!.slot, 31);
      assert.equal(kit.blueprints.find((b) => b.name === "coraza")!.slot, 35);
    });

    it("rejects dropping seaweedfs, naming bp-seaweedfs and every blueprint that depends on it", () => {
      const e = rejection({ drop: ["seaweedfs"] });
      assert.deepEqual(e.problems, [
        {
          field: "drop",
          index: 0,
          message:
            "cannot drop bp-seaweedfs: bp-harbor, bp-loki, bp-mimir, bp-tempo and bp-velero depend on it (Flux would never install them without it); drop them too or keep bp-seaweedfs",
        },
      ]);
    });

    it("rejects dropping seaweedfs with only some of its dependants, naming the one left", () => {
      const e = rejection({ drop: ["harbor", "loki", "mimir", "tempo", "seaweedfs", "grafana"] });
      assert.deepEqual(
        e.problems.map((p) => p.message),
        ["cannot drop bp-seaweedfs: bp-velero depends on it (Flux would never install it without it); drop it too or keep bp-seaweedfs"],
      );
      assert.equal(e.problems[0].index, 4);
    });

    it("accepts dropping seaweedfs together with everything that needs it, transitively", () => {
      const kit = selectKit(withKit({ drop: ["seaweedfs", "harbor", "loki", "mimir", "tempo", "velero", "grafana"] }));
      assert.equal(kit.blueprints.length, 41);
      assert.deepEqual(checkDag(kit.blueprints), []);
    });

    it("rejects dropping a loki that grafana still reads", () => {
      assert.match(rejection({ drop: ["loki"] }).problems[0].message, /^cannot drop bp-loki: bp-grafana depends on it/);
    });

    it("rejects dropping cilium: Tier 0 foundation is not optional", () => {
      assert.deepEqual(rejection({ drop: ["cilium"] }).problems, [
        {
          field: "drop",
          index: 0,
          message: "cannot drop bp-cilium: it is Tier 0–1 foundation (not optional) that the rest of the kit cannot do without",
        },
      ]);
    });

    it("rejects dropping a blueprint the kit does not have, or one it also includes", () => {
      assert.deepEqual(rejection({ drop: ["keda"] }).problems, [
        {
          field: "drop",
          index: 0,
          message:
            "bp-keda is not in the omantel-1 kit (excluded: omantel-1 ScaleToZero deferred), so there is nothing to drop; remove it from drop",
        },
      ]);
      assert.deepEqual(rejection({ include: ["keda"], drop: ["keda"] }).problems, [
        { field: "drop", index: 0, message: "bp-keda is both included and dropped; keep it in one list" },
      ]);
    });

    it("rejects an unknown name", () => {
      assert.match(rejection({ drop: ["nope"] }).problems[0].message, /unknown blueprint "nope": the catalog has no bp-nope/);
    });
  });

  describe("kitProblems", () => {
    it("reports every problem at once, include before drop, each at its index", () => {
      const problems: KitProblem[] = kitProblems({ include: ["cilium", "debezium"], drop: ["seaweedfs", "keycloak"] });
      assert.deepEqual(
        problems.map((p) => `${p.field}[${p.index}] ${p.message.split(":")[0]}`),
        [
          "include[0] bp-cilium is already in the omantel-1 kit (slot 1); remove it from include",
          "include[1] cannot include bp-debezium",
          "drop[0] cannot drop bp-seaweedfs",
          "drop[1] cannot drop bp-keycloak",
        ],
      );
    });

    it("finds nothing wrong with no kit section", () => {
      assert.deepEqual(kitProblems(undefined), []);
    });
  });
});
