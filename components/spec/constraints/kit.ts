/** The bootstrap kit's selection (seed 000 §1.2, §2): spec.kit.include and spec.kit.drop. */
import { kitProblems } from "../../kit/select";
import { error, type ConstraintRule } from "./types";

/**
 * The kit a spec selects must converge: every name is a catalog blueprint, included ones are not
 * already in the profile, dropped ones are optional and nothing kept depends on them, and what an
 * included blueprint depends on is in the kit. The same checks as selectKit, each finding at the
 * list entry to change (so validate prints its file:line:col).
 */
export const kitDependencies: ConstraintRule = {
  id: "kit-dependencies",
  produces: ["error"],
  description: "Checks whether kit.include and kit.drop name catalog blueprints and keep every dependsOn of the kit inside it.",
  // `kit` is not a section validate tracks; a schema error anywhere under spec.kit marks every
  // section invalid, so this rule never sees a malformed kit and needs no section of its own.
  needs: [],
  check(spec) {
    const kit = spec.spec.kit;
    if (!kit) return []; // the default omantel-1 kit is closed by construction (test/kit/dag.test.ts)
    return kitProblems(kit).map((p) => error("kit-dependencies", ["spec", "kit", p.field, p.index], p.message));
  },
};
