/** Every policy of the pack, by area. index.ts only wraps this list in a PolicyPack. */
import type { Policies } from "@pulumi/policy";
import { backplanePolicies } from "./backplane";
import { boundaryPolicies } from "./boundaries";
import { hygienePolicies } from "./hygiene";
import { kitPolicies } from "./kit";
import { kubernetesPolicies } from "./kubernetes";
import { sealPolicies } from "./seal";
import { specPolicies } from "./spec";
import { substratePolicies } from "./substrate";
import { supplyChainPolicies } from "./supply-chain";

export const ALL_POLICIES: Policies = [
  ...specPolicies,
  ...boundaryPolicies,
  ...substratePolicies.stack,
  ...substratePolicies.resource,
  ...backplanePolicies,
  ...kubernetesPolicies.stack,
  ...kubernetesPolicies.resource,
  ...kitPolicies,
  ...sealPolicies,
  ...supplyChainPolicies,
  ...hygienePolicies,
];
export const PACK_NAME = "kubedos";
