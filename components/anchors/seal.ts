/**
 * The seal as a resource (seed 001 §14.3: "sealing MUST NOT occur before acceptance results are
 * recorded"). Its inputs are the sealed bundle's digests and signatures, computed from the
 * acceptance gates' output — so it cannot exist before they have run — and it depends on every
 * gate command explicitly, which the `seal-after-acceptance` policy checks. A gate whose check
 * fails stops `pulumi up` at that gate already; the seal's create is the second line: it refuses
 * a report in which a required gate is not `pass` (failed, or with a check nothing produced),
 * naming the gates.
 *
 * A dynamic provider, self-contained on purpose (Pulumi serializes its functions into the state).
 */
import * as pulumi from "@pulumi/pulumi";

export interface SealArgs {
  artifactName: pulumi.Input<string>;
  /** sha256 of manifests/artifact-manifest.json and of manifests/SHA256SUMS. */
  manifestSha256: pulumi.Input<string>;
  sumsSha256: pulumi.Input<string>;
  signingKeyFingerprint: pulumi.Input<string>;
  /** accepted | rejected | incomplete, and the required gates that did not pass. */
  acceptance: pulumi.Input<string>;
  blocking: pulumi.Input<string[]>;
}

export const SEAL_KIND = "kubedos-seal";

const sealProvider: pulumi.dynamic.ResourceProvider = {
  async create(inputs: Record<string, unknown>) {
    const blocking = (inputs.blocking as string[] | undefined) ?? [];
    if (blocking.length > 0) {
      throw new Error(
        `Stage 7 refuses to seal ${String(inputs.artifactName)}: required acceptance gates did not pass: ${blocking.join(", ")} ` +
          "(their evidence is in the gate commands' stdout: pulumi stack output anchors / the *-gate-* resources)",
      );
    }
    return { id: String(inputs.manifestSha256), outs: { ...inputs, sealedAt: new Date().toISOString() } };
  },
  async diff(_id: string, olds: Record<string, unknown>, news: Record<string, unknown>) {
    const keys = ["artifactName", "manifestSha256", "sumsSha256", "signingKeyFingerprint", "acceptance"];
    const changed = keys.filter((k) => olds[k] !== news[k]);
    return { changes: changed.length > 0, replaces: changed };
  },
};

export class Seal extends pulumi.dynamic.Resource {
  declare readonly sealedAt: pulumi.Output<string>;
  declare readonly manifestSha256: pulumi.Output<string>;

  constructor(name: string, args: SealArgs, opts?: pulumi.CustomResourceOptions) {
    super(sealProvider, name, { kind: SEAL_KIND, ...args, sealedAt: undefined }, opts);
  }
}
