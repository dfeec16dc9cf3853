/**
 * Supply chain (seed 001 §6.2): every chart, image and package version pinned. Images must
 * also carry a digest — advisory by default, mandatory where the stack's policy config says
 * so (policy/config/prod.json).
 */
import type { ResourceValidationPolicy } from "@pulumi/policy";
import { findImages, imageUnpinnedReason, unpinnedPackages, unpinnedReason } from "../../components/supplychain/pins";
import { COMMAND_TYPES, commandTexts, label } from "./graph";

/** Where each chart-bearing resource keeps its chart version. */
function chartVersions(type: string, props: Record<string, unknown>): Array<{ where: string; version: unknown }> {
  const spec = (props.spec ?? {}) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  switch (type) {
    case "kubernetes:helm.sh/v3:Release":
    case "kubernetes:helm.sh/v4:Chart":
      return [{ where: "version", version: props.version }];
    case "kubernetes:helm.toolkit.fluxcd.io/v2:HelmRelease":
      return spec.chart ? [{ where: "spec.chart.spec.version", version: spec.chart?.spec?.version }] : [];
    case "kubernetes:source.toolkit.fluxcd.io/v1beta2:OCIRepository":
    case "kubernetes:source.toolkit.fluxcd.io/v1:OCIRepository":
      if (spec.ref?.digest) return [];
      return spec.ref?.semver !== undefined
        ? [{ where: "spec.ref.semver", version: spec.ref.semver }]
        : [{ where: "spec.ref.tag", version: spec.ref?.tag }];
    default:
      return [];
  }
}

export const pinnedChartVersions: ResourceValidationPolicy = {
  name: "pinned-chart-versions",
  description: "Checks whether every Helm chart, Flux HelmRelease and OCI source is pinned to an exact version (no latest, no ranges).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    for (const { where, version } of chartVersions(args.type, args.props)) {
      const why = unpinnedReason(typeof version === "string" ? version : undefined, "version");
      if (why) reportViolation(`${label(args)} must pin its chart to an exact version: ${where} ${why}.`);
    }
  },
};

/**
 * Container images live in Kubernetes objects (charts' values, HelmReleases, workloads). Other
 * providers use `image` for machine images (a Hetzner OS image), which are not container references.
 */
const carriesContainerImages = (type: string): boolean => type.startsWith("kubernetes:");

export const pinnedImages: ResourceValidationPolicy = {
  name: "pinned-images",
  description: "Checks whether every container image is pinned to a full version tag or a digest (no latest, no floating tags).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!carriesContainerImages(args.type)) return;
    for (const { path, image } of findImages(args.props)) {
      const why = imageUnpinnedReason(image);
      if (why) reportViolation(`${label(args)} must pin image ${image.ref} at ${path}: it ${why}.`);
    }
  },
};

export const imageDigests: ResourceValidationPolicy = {
  name: "image-digests",
  description:
    "Checks whether every container image is pinned by digest (@sha256:…); advisory in dev, mandatory in prod via policy config.",
  enforcementLevel: "advisory",
  validateResource: (args, reportViolation) => {
    if (!carriesContainerImages(args.type)) return;
    for (const { path, image } of findImages(args.props)) {
      if (!image.digest) reportViolation(`${label(args)} must pin image ${image.ref} at ${path} by digest (…@sha256:<64 hex>).`);
    }
  },
};

export const pinnedPackages: ResourceValidationPolicy = {
  name: "pinned-packages",
  description: "Checks whether every OS package a command installs is pinned to a version (apt-get install name=version).",
  enforcementLevel: "mandatory",
  validateResource: (args, reportViolation) => {
    if (!(COMMAND_TYPES as readonly string[]).includes(args.type)) return;
    for (const { phase, text } of commandTexts(args.props)) {
      const loose = unpinnedPackages(text);
      if (loose.length > 0)
        reportViolation(`${label(args)} must pin every package it installs in ${phase}: ${loose.join(", ")} (write name=version).`);
    }
  },
};

export const supplyChainPolicies: ResourceValidationPolicy[] = [pinnedChartVersions, pinnedImages, imageDigests, pinnedPackages];
