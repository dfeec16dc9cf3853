/**
 * Golden files: every Stage 2 artifact of every dev node and of one node each of prod, Hetzner
 * and bare metal, rendered with a fixed master seed and compared byte for byte with
 * test/golden/firstboot/<fixture>/<node>/<file>. A change to any renderer shows up here as a diff
 * to review. Regenerate with: UPDATE_GOLDEN=1 npx mocha
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { GOLDEN_NODES, GOLDEN_ROOT, goldenForm, PLANS, render } from "./helpers";

const UPDATE = process.env.UPDATE_GOLDEN === "1";

describe("firstboot golden files", () => {
  if (UPDATE) {
    before(() => {
      for (const f of new Set(GOLDEN_NODES.map((g) => g.fixture))) rmSync(path.join(GOLDEN_ROOT, f), { recursive: true, force: true });
    });
  }

  for (const g of GOLDEN_NODES) {
    it(`renders exactly the golden artifacts of ${g.fixture}/${g.node} when the seed is fixed`, () => {
      const r = render(PLANS[g.fixture], g.node);
      const dir = path.join(GOLDEN_ROOT, g.fixture, g.node);
      if (UPDATE) {
        mkdirSync(dir, { recursive: true });
        for (const a of r.artifacts) writeFileSync(path.join(dir, a.path), goldenForm(a));
      }
      assert.ok(existsSync(dir), `no golden directory ${dir}; run UPDATE_GOLDEN=1 npx mocha`);
      assert.deepEqual(readdirSync(dir).sort(), r.artifacts.map((a) => a.path).sort(), `golden files of ${g.fixture}/${g.node}`);
      for (const a of r.artifacts) {
        const want = readFileSync(path.join(dir, a.path), "utf8");
        const got = goldenForm(a);
        if (got !== want) {
          const lines = [got.split("\n"), want.split("\n")];
          const i = lines[0].findIndex((l, k) => l !== lines[1][k]);
          assert.fail(
            `${g.fixture}/${g.node}/${a.path} differs from its golden file at line ${i + 1}:\n` +
              `  rendered: ${JSON.stringify(lines[0][i])}\n  golden:   ${JSON.stringify(lines[1][i])}\n` +
              "Review the change, then regenerate with UPDATE_GOLDEN=1 npx mocha",
          );
        }
      }
    });
  }

  it("rejects stray golden directories when no fixture node renders them", () => {
    const expected = new Set(GOLDEN_NODES.map((g) => `${g.fixture}/${g.node}`));
    const found = readdirSync(GOLDEN_ROOT).flatMap((f) => readdirSync(path.join(GOLDEN_ROOT, f)).map((n) => `${f}/${n}`));
    assert.deepEqual(
      found.filter((f) => !expected.has(f)),
      [],
    );
  });

  it("keeps private keys out of the golden files when cloud-init.yaml is stored", () => {
    for (const g of GOLDEN_NODES) {
      const dir = path.join(GOLDEN_ROOT, g.fixture, g.node);
      for (const f of readdirSync(dir))
        assert.doesNotMatch(readFileSync(path.join(dir, f), "utf8"), /PRIVATE KEY/, `${g.fixture}/${g.node}/${f}`);
    }
  });
});
