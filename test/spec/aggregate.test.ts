/**
 * Stage 0 as a whole: every problem is reported at once, in file order, warnings apart from
 * errors, and `--strict` promotes warnings.
 */
import { strict as assert } from "node:assert";
import { formatPath } from "../../components/spec/diagnostics";
import { BASES, mutate, pos, SEED, showAll, validate } from "./helpers";

/** Three independent constraint violations in different sections of the seed. */
const THREE_BROKEN = mutate(SEED, [
  { set: "spec.nodes.inventory[1].nics[0].vlan", to: 40 }, // vlan-trunk-consistency (nodes, line ~52)
  { set: "spec.security.ssh.passwordAuth", to: true }, // ssh-key-only (security, line ~94)
  { set: "spec.kubernetes.ha.controlPlaneReplicas", to: 4 }, // ha-quorum (kubernetes, line ~129)
]);

describe("Stage 0 aggregation", () => {
  it("rejects with exactly the three rule ids when a spec breaks three rules", () => {
    const r = validate(THREE_BROKEN);
    assert.deepEqual(r.syntaxErrors, []);
    assert.equal(r.valid, false);
    const ids = [...new Set(r.errors.map((e) => e.rule))].sort();
    assert.deepEqual(ids, ["ha-quorum", "ssh-key-only", "vlan-trunk-consistency"], showAll(r));
    assert.equal(r.spec, undefined, "an invalid spec is not returned");
  });

  it("rejects with errors sorted by line (then column) when several rules fire", () => {
    const r = validate(THREE_BROKEN);
    assert.ok(r.errors.length >= 3);
    for (let i = 1; i < r.errors.length; i++) {
      const [a, b] = [r.errors[i - 1], r.errors[i]];
      assert.ok(a.line < b.line || (a.line === b.line && a.column <= b.column), `errors out of order:\n${showAll(r)}`);
    }
    // The first error is the VLAN on cp-2's NIC, the last the replicas count.
    assert.equal(r.errors[0].rule, "vlan-trunk-consistency");
    assert.equal(r.errors[0].line, pos(THREE_BROKEN, "name: cp-2", "vlan: 40").line);
    assert.equal(r.errors[r.errors.length - 1].rule, "ha-quorum");
    assert.equal(r.errors[r.errors.length - 1].line, pos(THREE_BROKEN, "controlPlaneReplicas: 4").line);
  });

  it("rejects with warnings kept apart from errors when errors and warnings mix", () => {
    const r = validate(THREE_BROKEN);
    assert.ok(
      r.errors.every((d) => d.severity === "error"),
      showAll(r),
    );
    assert.ok(
      r.warnings.every((d) => d.severity === "warning"),
      showAll(r),
    );
    // The seed's placeholder warnings are still reported, as warnings, next to the errors.
    const warned = new Set(r.warnings.map((w) => w.rule));
    for (const w of ["placement-hosts", "failure-domain-quorum", "trust-bootstrap"]) assert.ok(warned.has(w), showAll(r));
    const errorKeys = new Set(r.errors.map((e) => `${e.rule}@${formatPath(e.path)}`));
    assert.ok(
      r.warnings.every((w) => !errorKeys.has(`${w.rule}@${formatPath(w.path)}`)),
      "a finding is either an error or a warning",
    );
    for (let i = 1; i < r.warnings.length; i++) assert.ok(r.warnings[i - 1].line <= r.warnings[i].line, "warnings sorted by line");
  });

  it("rejects the seed when strict mode counts its warnings", () => {
    const lax = validate(SEED);
    const strict = validate(SEED, { strict: true });
    assert.equal(lax.valid, true);
    assert.notEqual(lax.spec, undefined);
    assert.equal(strict.valid, false);
    assert.equal(strict.spec, undefined);
    assert.deepEqual(strict.errors, [], "strict does not turn warnings into error entries");
    assert.deepEqual(strict.warnings, lax.warnings);
  });

  // The clean Proxmox spec fixes every warning of the seed, the new rules' included (template,
  // underlay, allowFrom, apt mirror); the Hetzner and bare-metal fixtures are documented warning-free.
  for (const base of ["proxmox", "hetzner", "baremetal"] as const) {
    it(`accepts a spec in strict mode when it has no warnings (the ${base} base)`, () => {
      const r = validate(BASES[base], { strict: true });
      assert.deepEqual(r.warnings, [], showAll(r));
      assert.deepEqual(r.errors, [], showAll(r));
      assert.equal(r.valid, true);
      assert.notEqual(r.spec, undefined);
    });
  }

  it("rejects with schema and constraint errors when the schema fails in another section", () => {
    const text = mutate(SEED, [
      { set: "spec.acceptance.mttrTargetMinutes", to: "soon" }, // schema (acceptance)
      { set: "spec.security.ssh.passwordAuth", to: true }, // ssh-key-only (security)
    ]);
    const r = validate(text);
    const ids = [...new Set(r.errors.map((e) => e.rule))].sort();
    assert.deepEqual(ids, ["schema", "ssh-key-only"], showAll(r));
  });

  it("rejects with only the schema error when nodes fail the schema (rules reading nodes are skipped)", () => {
    const text = mutate(SEED, [
      { set: "spec.nodes.inventory[0].role", to: "master" }, // schema (nodes)
      { set: "spec.kubernetes.ha.controlPlaneReplicas", to: 4 }, // ha-quorum needs nodes: skipped
    ]);
    const r = validate(text);
    assert.deepEqual([...new Set(r.errors.map((e) => e.rule))], ["schema"], showAll(r));
    assert.equal(formatPath(r.errors[0].path), "spec.nodes.inventory[0].role");
  });

  it("rejects every unknown field at its own key when one map has several", () => {
    const text = mutate(SEED, [
      { set: "spec.security.ssh.pubkeys", to: [] },
      { set: "spec.security.ssh.port", to: 22 },
    ]);
    const r = validate(text);
    const unknown = r.errors.filter((e) => e.rule === "schema").map((e) => [formatPath(e.path), e.line, e.column]);
    assert.deepEqual(unknown, [
      ["spec.security.ssh.pubkeys", pos(text, "pubkeys:").line, pos(text, "pubkeys:").column],
      ["spec.security.ssh.port", pos(text, "port:").line, pos(text, "port:").column],
    ]);
  });
});

/**
 * YAML syntax problems (the "unreadable" layer, CLI exit 2), each at its real line and column
 * (regression: they were once all reported at 1:1 because `linePos` is empty without prettyErrors).
 */
describe("Stage 0 YAML syntax positions", () => {
  const cases: Array<{ when: string; text: string; expect: (t: string) => { line: number; column: number }; message: RegExp }> = [
    {
      when: "a key is duplicated (at the second key)",
      text: "apiVersion: kubedos.ca/v1alpha1\nkind: Cluster\nkind: Cluster\n",
      expect: (t) => pos(t, "kind:", "kind:"),
      message: /unique/i,
    },
    {
      when: "a mapping item is mis-indented (at the stray item)",
      text: "apiVersion: kubedos.ca/v1alpha1\nmetadata:\n  name: a\n artifactVersion: 0.1.0\n",
      expect: (t) => pos(t, " artifactVersion"),
      message: /column|indent/i,
    },
    {
      when: "a tab indents a mapping (at the tab)",
      text: "apiVersion: kubedos.ca/v1alpha1\nmetadata:\n\tname: a\n",
      expect: (t) => pos(t, "\t"),
      message: /tab/i,
    },
  ];

  for (const c of cases) {
    it(`rejects as unreadable (a syntax problem, no diagnostics) when ${c.when}`, () => {
      const r = validate(c.text);
      assert.equal(r.valid, false);
      assert.ok(r.syntaxErrors.length > 0, showAll(r));
      assert.deepEqual([r.errors, r.warnings], [[], []]);
      assert.match(r.syntaxErrors[0].message, c.message);
    });
    it(`locates the syntax problem when ${c.when}`, () => {
      const r = validate(c.text);
      const s = r.syntaxErrors[0];
      assert.deepEqual({ line: s.line, column: s.column }, c.expect(c.text), `reported ${s.line}:${s.column}  ${s.message}`);
    });
  }

  it("locates an unterminated flow sequence at or after its opening bracket", () => {
    const text = "apiVersion: kubedos.ca/v1alpha1\nkind: Cluster\nspec:\n  nodes: [cp-1, cp-2\n  other: 1\n";
    const r = validate(text);
    assert.ok(r.syntaxErrors.length > 0);
    const open = pos(text, "[");
    assert.ok(
      r.syntaxErrors[0].line >= open.line,
      `reported ${r.syntaxErrors[0].line}:${r.syntaxErrors[0].column}, but lines 1–${open.line - 1} are fine`,
    );
  });
});

/**
 * Keys the YAML → JS conversion and zod treat specially.
 *
 * Regressions: zod's z.record drops a `__proto__` key without validating it, and the rules
 * once crashed on the raw value that still held it; such keys are now schema errors at the key.
 * A null key (`~`) is named as such, not offered a "did you mean".
 */
describe("Stage 0 special keys", () => {
  it("runs no rule into an internal error when apiVersion is missing and a plane is named __proto__", () => {
    const text = mutate(SEED, [{ set: "spec.networking.planes.__proto__", to: {} }, { delete: "apiVersion" }]);
    const r = validate(text);
    const crashed = r.errors.filter((e) => /internal error/.test(e.message));
    assert.deepEqual(
      crashed.map((e) => `[${e.rule}] ${e.message}`),
      [],
      showAll(r),
    );
  });

  it("rejects a null key at the key, naming it as written", () => {
    // `~: x` under kubernetes is reported as "unknown field  — did you mean ha?" (the key
    // became "") at the start of the kubernetes map instead of at the `~`.
    const text = SEED.replace("    allowReset: false\n", "    allowReset: false\n    ~: x\n");
    const r = validate(text);
    const e = r.errors.find((d) => d.rule === "schema" && /null key/.test(d.message));
    assert.ok(e, showAll(r));
    assert.deepEqual({ line: e.line, column: e.column }, pos(text, "~: x"), e.message);
    assert.doesNotMatch(e.message, /did you mean/, "an empty key is not a misspelling of ha");
  });
});
