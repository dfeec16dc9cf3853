/** Air-gap (seed 001 §4.1, §9.3): nodes install only from the mirrors the spec declares. */
import { warning, type ConstraintRule } from "./types";

export const airgapMirrors: ConstraintRule = {
  id: "airgap-mirrors",
  description: "Checks whether a package mirror is declared, the only source nodes may install from.",
  produces: ["warning"],
  needs: ["kubernetes"],
  check(spec) {
    if (spec.spec.mirrors?.apt) return [];
    return [
      warning(
        "airgap-mirrors",
        ["spec"],
        "no mirrors.apt is declared: nodes get no package source at all (nothing is pulled from the internet), so later stages cannot install the pinned packages — add mirrors: { apt: { url, suite, components } }",
      ),
    ];
  },
};
