/**
 * What "pinned" means for images, charts and packages (seed 001 §6.2): no `latest`, no
 * floating tags, no version ranges. Shared by the policy pack and the renderers.
 */

export interface ImageRef {
  /** As written. */
  ref: string;
  repository: string;
  tag?: string;
  digest?: string;
}

/** Parse `registry/repo:tag@sha256:…`; undefined when the text is not an image reference. */
export function parseImageRef(ref: string): ImageRef | undefined {
  const s = ref.trim();
  if (!/^[a-z0-9][a-z0-9._\-/:@]*$/i.test(s) || s.includes("://")) return undefined;
  const [namePart, digest] = s.split("@", 2);
  if (digest !== undefined && !/^sha256:[0-9a-f]{64}$/.test(digest)) return undefined;
  const lastSlash = namePart.lastIndexOf("/");
  const colon = namePart.lastIndexOf(":");
  const hasTag = colon > lastSlash;
  const repository = hasTag ? namePart.slice(0, colon) : namePart;
  const tag = hasTag ? namePart.slice(colon + 1) : undefined;
  if (!/^[a-z0-9]+(?:[._\-/][a-z0-9]+)*(?::\d+)?(?:\/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$/i.test(repository)) return undefined;
  if (tag !== undefined && !/^[\w][\w.-]{0,127}$/.test(tag)) return undefined;
  return { ref: s, repository, ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Tags that move: named channels, and versions without a patch level (`3.19`, `v1`). */
const FLOATING =
  /^(latest|stable|edge|main|master|nightly|dev|devel|develop|current|lts|release|rolling|canary|beta|alpha|next|mainline)$/i;

/** Why a version or tag is not a pin, or undefined when it is one. */
export function unpinnedReason(version: string | undefined, what: "tag" | "version"): string | undefined {
  if (version === undefined || version === "") return `has no ${what}`;
  if (FLOATING.test(version)) return `uses the floating ${what} ${version}`;
  if (/[\^~*><=|]|\s-\s|(^|\.)x($|\.)|\|\|/i.test(version)) return `uses the version range ${version}`;
  // A pin names at least major.minor.patch (optionally v-prefixed, with a suffix such as -r0).
  if (!/^v?\d+\.\d+\.\d+([.+-][\w.+-]*)?$/.test(version) && !/\d+\.\d+\.\d+/.test(version))
    return `uses ${version}, which is not a full version (major.minor.patch)`;
  return undefined;
}

export function imageUnpinnedReason(img: ImageRef): string | undefined {
  if (img.digest) return undefined; // a digest pins the content, whatever the tag says
  return unpinnedReason(img.tag ?? "latest", "tag");
}

/**
 * Image references inside a resource's properties: values of keys named `image`, and
 * `{ repository, tag }` / `{ registry, repository, tag, digest }` objects as Helm values use them.
 */
export function findImages(props: unknown, at: string[] = []): Array<{ path: string; image: ImageRef }> {
  const out: Array<{ path: string; image: ImageRef }> = [];
  if (Array.isArray(props)) {
    props.forEach((v, i) => out.push(...findImages(v, [...at, String(i)])));
  } else if (props && typeof props === "object") {
    const o = props as Record<string, unknown>;
    if (typeof o.repository === "string" && ("tag" in o || "digest" in o) && !("chart" in o)) {
      const reg = typeof o.registry === "string" && o.registry ? `${o.registry}/` : "";
      const tag = typeof o.tag === "string" && o.tag ? `:${o.tag}` : "";
      const dig = typeof o.digest === "string" && o.digest ? `@${o.digest}` : "";
      const img = parseImageRef(`${reg}${o.repository}${tag}${dig}`);
      if (img) out.push({ path: at.join("."), image: img });
    }
    for (const [k, v] of Object.entries(o)) {
      if (typeof v === "string" && /^(image|img|containerImage)$/i.test(k)) {
        const img = parseImageRef(v);
        if (img) out.push({ path: [...at, k].join("."), image: img });
      } else if (typeof v === "object") out.push(...findImages(v, [...at, k]));
    }
  }
  return out;
}

/** Packages installed by a script without a pinned version (`apt-get install foo` rather than `foo=1.2.3`). */
export function unpinnedPackages(script: string): string[] {
  const out: string[] = [];
  // Join continued lines so `apt-get install -y \` + `curl` is one command.
  const text = script.replace(/\\\r?\n/g, " ");
  const re = /\b(?:apt-get|apt)\s+((?:(?:-o|-c|-t)\s+\S+\s+|-\S+\s+)*)install\b([^\n;&|]*)/g;
  for (let m = re.exec(text); m; m = re.exec(text)) {
    const words = m[2].split(/\s+/);
    for (let i = 0; i < words.length; i++) {
      const word = words[i];
      if (word === "-o" || word === "-c" || word === "-t") {
        i++; // the option's argument
        continue;
      }
      if (!word || word.startsWith("-") || word.startsWith("$") || word.startsWith('"$')) continue;
      if (!/=[^=\s]+/.test(word) && !word.endsWith(".deb")) out.push(word);
    }
  }
  return out;
}
