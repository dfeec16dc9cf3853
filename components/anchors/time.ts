/**
 * The one clock of a bundle. Reproducible-builds convention: when SOURCE_DATE_EPOCH is set
 * (seconds since 1970), every time field takes that instant and two renders of the same inputs
 * are byte-identical; otherwise the fields take the render's own time. Either way the fields
 * that carry a time are exactly the ones listed in TIME_FIELDS — nothing else in a bundle
 * depends on when it was made (test/anchors/determinism.test.ts holds both halves of that).
 */

export interface BuildClock {
  /** The instant every time field of the bundle records. */
  at: Date;
  /**
   * Where it came from: SOURCE_DATE_EPOCH, the render's clock, or (in the Pulumi program) the
   * evidence — the last acceptance gate's finish time, so an unchanged stack re-seals nothing.
   */
  source: "SOURCE_DATE_EPOCH" | "clock" | "evidence";
}

/** A bundle input that cannot be used (the CLI reports it as a usage error, exit 2). */
export class AnchorInputError extends Error {}

export function buildClock(env: NodeJS.ProcessEnv = process.env, now: () => Date = () => new Date()): BuildClock {
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw !== undefined && raw !== "") {
    if (!/^\d{1,12}$/.test(raw))
      throw new AnchorInputError(`SOURCE_DATE_EPOCH=${JSON.stringify(raw)}: not a whole number of seconds since 1970-01-01`);
    return { at: new Date(Number(raw) * 1000), source: "SOURCE_DATE_EPOCH" };
  }
  return { at: now(), source: "clock" };
}

/**
 * Every field of a bundle that depends on the time it was made (JSON pointer per file), and the
 * files whose bytes change because of them. Documented in README.md ("Determinism").
 */
export const TIME_FIELDS: Readonly<Record<string, readonly string[]>> = {
  "manifests/artifact-manifest.json": ["/createdAt", "/artifactName"],
  "provenance/build.json": ["/subject/0/name", "/predicate/runDetails/metadata/startedOn", "/predicate/runDetails/metadata/finishedOn"],
  "sbom/os.cdx.json": ["/metadata/timestamp"],
  "sbom/images.cdx.json": ["/metadata/timestamp"],
  "sbom/binaries.cdx.json": ["/metadata/timestamp"],
  "recovery-bundle/acceptance-report.json": ["/generatedAt"],
};

/**
 * Files that only restate hashes of the files above (and signatures over those), so they change
 * exactly when a time field does: the manifest's `files[].sha256` of a time-bearing file, the
 * SHA256SUMS lines for them, and the two signatures.
 */
export const TIME_DERIVED_FILES: readonly string[] = ["manifests/SHA256SUMS", "signatures/manifests.sig", "signatures/artifacts.sig"];
