import { strict as assert } from "node:assert";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "..", "..", "..");
const read = (f: string) => readFileSync(path.join(ROOT, f), "utf8");

describe("policy pack layout", () => {
  const pkg = JSON.parse(read("policy/package.json"));
  const root = JSON.parse(read("package.json"));

  it("has a version, which PolicyPack requires", () => {
    assert.match(pkg.version, /^\d+\.\d+\.\d+$/);
  });

  it("pins every dependency exactly, to the versions the program uses", () => {
    for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      assert.match(String(version), /^\d+\.\d+\.\d+$/, `${name} ${version} is not an exact version`);
      const rootVersion = root.dependencies[name] ?? root.devDependencies[name];
      assert.equal(version, rootVersion, `${name}: policy ${version} differs from the program's ${rootVersion}`);
    }
  });

  it("has a lockfile for npm ci --prefix policy", () => {
    const lock = JSON.parse(read("policy/package-lock.json"));
    assert.equal(lock.packages[""].dependencies["@pulumi/policy"], pkg.dependencies["@pulumi/policy"]);
  });

  it("declares a nodejs TypeScript runtime in PulumiPolicy.yaml", () => {
    const y = parse(read("policy/PulumiPolicy.yaml"));
    assert.equal(y.runtime.name, "nodejs");
    assert.equal(y.runtime.options.typescript, true);
  });

  it("keeps index.ts to constructing the PolicyPack", () => {
    const src = read("policy/index.ts");
    assert.equal((src.match(/new PolicyPack\(/g) ?? []).length, 1);
    assert.doesNotMatch(src, /validateResource|validateStack/, "rules belong in policy/policies/");
  });

  it("has a policy config for every stack", () => {
    for (const stack of ["dev", "prod"])
      assert.ok(existsSync(path.join(ROOT, "policy", "config", `${stack}.json`)), `policy/config/${stack}.json`);
    assert.equal(JSON.parse(read("policy/config/prod.json"))["image-digests"], "mandatory");
    assert.equal(JSON.parse(read("policy/config/dev.json"))["image-digests"], "advisory");
  });
});
