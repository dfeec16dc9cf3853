/**
 * sbom/: the software bill of materials (seed 001 §6.3, §16.1) — OS packages, container images
 * (and the Helm charts that deploy them), and the shipped binaries (kubedos and the npm packages
 * it runs with) — as CycloneDX 1.6 JSON made with the CycloneDX project's own library and checked
 * against the CycloneDX 1.6 JSON schema by that library's strict validator (ajv).
 *
 * CycloneDX rather than the SPDX of seed 001 §16.2's illustration: the layout there is marked
 * illustrative, and CycloneDX has a maintained JavaScript library with a built-in schema
 * validator; SPDX has none for Node. Every bom-ref and the serial number derive from content, so
 * the documents are byte-identical for the same inputs apart from `metadata.timestamp`.
 */
import * as CDX from "@cyclonedx/cyclonedx-library";
import { PackageURL } from "packageurl-js";
import { createHash } from "node:crypto";
import type { Locks } from "./locks";

export interface ShippedPackage {
  name: string;
  version: string;
  /** `sha512-…` (npm integrity) when the lockfile records it. */
  integrity?: string;
  license?: string;
}

export interface SbomInputs {
  cluster: string;
  kubedosVersion: string;
  locks: Locks;
  /** Packages the node image must ship (not installed or pinned by kubedos). */
  baseImagePackages: readonly string[];
  /** npm packages kubedos runs with (production dependencies from package-lock.json). */
  shipped: readonly ShippedPackage[];
  at: Date;
}

export type SbomName = "os" | "images" | "binaries";

/** The three documents, as file name → JSON text. */
export function renderSboms(i: SbomInputs): Record<`sbom/${SbomName}.cdx.json`, string> {
  return {
    "sbom/os.cdx.json": serialize(osBom(i), i, "os"),
    "sbom/images.cdx.json": serialize(imagesBom(i), i, "images"),
    "sbom/binaries.cdx.json": serialize(binariesBom(i), i, "binaries"),
  };
}

const SPEC = CDX.Spec.Spec1dot6;
const { ComponentType } = CDX.Enums;

function component(
  type: CDX.Enums.ComponentType,
  name: string,
  opts: { version?: string; purl?: PackageURL; group?: string; ref?: string; description?: string },
): CDX.Models.Component {
  const ref = opts.ref ?? opts.purl?.toString() ?? `${type}:${opts.group ? `${opts.group}/` : ""}${name}@${opts.version ?? ""}`;
  return new CDX.Models.Component(type, name, {
    bomRef: ref,
    ...(opts.version !== undefined ? { version: opts.version } : {}),
    ...(opts.purl ? { purl: opts.purl.toString() } : {}),
    ...(opts.group ? { group: opts.group } : {}),
    ...(opts.description ? { description: opts.description } : {}),
  });
}

function property(c: CDX.Models.Component, name: string, value: string): void {
  c.properties.add(new CDX.Models.Property(name, value));
}

function newBom(i: SbomInputs, what: SbomName, subject: CDX.Models.Component): CDX.Models.Bom {
  const bom = new CDX.Models.Bom();
  bom.metadata.component = subject;
  bom.metadata.tools.components.add(component(ComponentType.Application, "kubedos", { version: i.kubedosVersion, ref: "tool:kubedos" }));
  bom.metadata.properties.add(new CDX.Models.Property("kubedos:cluster", i.cluster));
  bom.metadata.properties.add(new CDX.Models.Property("kubedos:sbom", what));
  return bom;
}

const deb = (name: string, version?: string) =>
  new PackageURL("deb", "debian", name, version ?? undefined, { arch: "amd64", distro: "debian-12" }, undefined);

function osBom(i: SbomInputs): CDX.Models.Bom {
  const bom = newBom(
    i,
    "os",
    component(ComponentType.OperatingSystem, "debian", {
      version: "12",
      ref: "os:debian@12",
      description: "node operating system (Debian 12 bookworm)",
    }),
  );
  const pinned = { ...i.locks.nodePackages, ...(i.locks.kubernetes?.packages ?? {}) };
  for (const [name, version] of Object.entries(pinned)) {
    const c = component(ComponentType.Library, name, { version, purl: deb(name, version) });
    property(c, "kubedos:pinned", "true");
    bom.components.add(c);
  }
  for (const name of i.baseImagePackages) {
    if (name in pinned) continue;
    const c = component(ComponentType.Library, name, { purl: deb(name) });
    property(c, "kubedos:pinned", "false");
    property(c, "kubedos:source", "node base image (its version is the image's, not a kubedos lock)");
    bom.components.add(c);
  }
  return bom;
}

function imagesBom(i: SbomInputs): CDX.Models.Bom {
  const bom = newBom(
    i,
    "images",
    component(ComponentType.Platform, i.cluster, {
      ref: `cluster:${i.cluster}`,
      description: "container images and Helm charts of the cluster",
    }),
  );
  for (const img of i.locks.images) {
    const name = img.repository.split("/").pop()!;
    const purl = new PackageURL(
      "oci",
      undefined,
      name,
      img.digest ?? undefined,
      { repository_url: img.repository, tag: img.tag },
      undefined,
    );
    const c = component(ComponentType.Container, img.repository, { version: img.tag, purl, ref: `image:${img.role}` });
    if (img.digest) c.hashes.set(CDX.Enums.HashAlgorithm["SHA-256"], img.digest.replace(/^sha256:/, ""));
    property(c, "kubedos:role", img.role);
    property(c, "kubedos:pull", img.ref);
    property(c, "kubedos:digest-locked", img.digest ? "true" : "false");
    bom.components.add(c);
  }
  for (const ch of i.locks.charts) {
    const c = component(ComponentType.Application, ch.chart, { version: ch.version, group: ch.repository, ref: `chart:${ch.release}` });
    property(c, "kubedos:helm-release", ch.release);
    property(c, "kubedos:chart-source", ch.source);
    bom.components.add(c);
  }
  return bom;
}

function binariesBom(i: SbomInputs): CDX.Models.Bom {
  const bom = newBom(
    i,
    "binaries",
    component(ComponentType.Application, "kubedos", {
      version: i.kubedosVersion,
      purl: new PackageURL("npm", undefined, "kubedos", i.kubedosVersion, undefined, undefined),
    }),
  );
  for (const p of i.shipped) {
    const scoped = p.name.startsWith("@") ? p.name.split("/") : [undefined, p.name];
    const purl = new PackageURL("npm", scoped[0], scoped[1]!, p.version, undefined, undefined);
    const c = component(ComponentType.Library, p.name, { version: p.version, purl });
    const sha512 = p.integrity?.startsWith("sha512-") ? Buffer.from(p.integrity.slice(7), "base64").toString("hex") : undefined;
    if (sha512) c.hashes.set(CDX.Enums.HashAlgorithm["SHA-512"], sha512);
    if (p.license) c.licenses.add(new CDX.Models.NamedLicense(p.license));
    bom.components.add(c);
  }
  return bom;
}

function serialize(bom: CDX.Models.Bom, i: SbomInputs, what: SbomName): string {
  bom.metadata.timestamp = i.at;
  const serializer = new CDX.Serialize.JsonSerializer(new CDX.Serialize.JSON.Normalize.Factory(SPEC));
  // The serial number names this content: a UUID-shaped digest of everything but the timestamp.
  bom.serialNumber = "urn:uuid:00000000-0000-4000-8000-000000000000";
  const body = serializer.serialize(bom, { sortLists: true, space: 2 }).replace(/"timestamp": "[^"]*"/, "");
  const h = createHash("sha256").update(`${what}\n${body}`).digest("hex");
  bom.serialNumber = `urn:uuid:${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
  return serializer.serialize(bom, { sortLists: true, space: 2 }) + "\n";
}

/** Null when `json` is a valid CycloneDX 1.6 document, else the schema's complaints (ajv errors). */
export async function validateSbom(json: string): Promise<null | string> {
  const validator = new CDX.Validation.JsonStrictValidator(CDX.Spec.Version.v1dot6);
  try {
    const errors = await validator.validate(json);
    return errors === null ? null : JSON.stringify(errors).slice(0, 2000);
  } catch (err) {
    return (err as Error).message;
  }
}
