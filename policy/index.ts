// The kubedos CrossGuard policy pack: `pulumi preview --policy-pack policy`.
// The rules live in policies/<area>.ts as plain objects so they can be tested directly.
import { PolicyPack } from "@pulumi/policy";
import { ALL_POLICIES, PACK_NAME } from "./policies";

new PolicyPack(PACK_NAME, { policies: ALL_POLICIES, enforcementLevel: "mandatory" });
