/**
 * components/kit/flux.ts: the bootstrap kit as the Flux objects of the GitOps repository. Every
 * rendered object is built into its model class (`@kubernetes-models/flux-cd` for HelmRelease,
 * HelmRepository and OCIRepository; `kubernetes-models` for Namespace, NetworkPolicy and ConfigMap)
 * and validated; because the generated validators accept unknown fields (as the CRDs do), every
 * field is also checked against the properties the model declares. Then the contract of seed 003
 * and seed 000 §4: dependsOn equals the DAG edges, a default-deny per namespace the kit owns, sources
 * on the mirror, the kustomization in slot order, no credential in any file, deterministic bytes.
 */
import { strict as assert } from "node:assert";
import { hkdfSync } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { parseAllDocuments, parse } from "yaml";
import {
  blueprintCredentials,
  blueprintSource,
  checkSchemaVersion,
  compareVersions,
  credentialsSecretManifest,
  kitContext,
  kitFileName,
  renderBlueprintDocuments,
  renderKitFiles,
  SYSTEM_NAMESPACES,
  type KitRenderContext,
  type KubeObject,
} from "../../components/kit/flux";
import { upstreamFullname } from "../../components/kit/overlay";
import { selectKit } from "../../components/kit/select";
import type { Kit } from "../../components/kit/types";
import { ciliumRelease } from "../../components/cni/cilium";
import { observabilityReleases } from "../../components/observability/stack";
import { buildPlan, type Plan } from "../../components/plan/plan";
import type { ClusterSpec } from "../../components/spec/schema";
import { validateSpecText } from "../../components/spec/validate";
import { DEV, HETZNER, REPO_ROOT } from "../plan/helpers";
import { editedKit, fixtureKit } from "./fixtures";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

const SEED = "kubedos-kit-test-seed-0001-public";

function specOf(text: string): ClusterSpec {
  const r = validateSpecText(text, "spec.yaml");
  assert.ok(r.valid && r.spec, r.errors.map((e) => e.message).join("; "));
  return r.spec;
}
const planOf = (text: string): Plan => buildPlan(specOf(text));

const DEV_SPEC = specOf(DEV);
const DEV_PLAN = buildPlan(DEV_SPEC);
const HETZNER_PLAN = planOf(HETZNER);
/** The releases Stage 6 installs before Flux, as components/kubernetes/apply.ts and `kubedos render` make them. */
const STAGE6 = [ciliumRelease(DEV_PLAN, DEV_SPEC, { serviceMonitors: false }), ...observabilityReleases(DEV_PLAN, DEV_SPEC)];
const withMirrors = (plan: Plan, mirrors: Plan["mirrors"]): KitRenderContext => ({ ...kitContext(plan), mirrors });

/** The contexts every property is checked in: the dev oci:// chart mirror, an https:// mirror, none at all. */
const CONTEXTS: Array<[string, KitRenderContext]> = [
  ["dev (oci:// chart mirror)", kitContext(DEV_PLAN)],
  ["dev, adopting the Stage 6 releases", kitContext(DEV_PLAN, STAGE6)],
  ["hetzner (load balancer endpoint)", kitContext(HETZNER_PLAN)],
  ["an https:// chart mirror", withMirrors(DEV_PLAN, { registry: "mirror.lab.example:5000", charts: "https://charts.lab.example/helm/" })],
  ["no mirror", withMirrors(DEV_PLAN, {})],
];

const allDocs = (kit: Kit, ctx: KitRenderContext): KubeObject[] => kit.blueprints.flatMap((b) => renderBlueprintDocuments(kit, b, ctx));
const ofKind = (docs: KubeObject[], kind: string): Json[] => docs.filter((d) => d.kind === kind);

// ---------------------------------------------------------------- the models

type ModelClass = new (data: object) => { validate(): void };

// The models are ESM-only (their package exports have only an `import` condition), and tsc's CommonJS
// output turns `import()` into `require()`, which those exports refuse: load them with a real import().
const esmImport = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<Record<string, ModelClass>>;

/** apiVersion/kind → [module, the class's .d.ts relative to node_modules]. */
const MODELS: Record<string, [string, string]> = {
  "v1/Namespace": ["kubernetes-models/v1", "kubernetes-models/v1/Namespace"],
  "v1/ConfigMap": ["kubernetes-models/v1", "kubernetes-models/v1/ConfigMap"],
  "networking.k8s.io/v1/NetworkPolicy": ["kubernetes-models/networking.k8s.io/v1", "kubernetes-models/networking.k8s.io/v1/NetworkPolicy"],
  "helm.toolkit.fluxcd.io/v2/HelmRelease": [
    "@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2",
    "@kubernetes-models/flux-cd/helm.toolkit.fluxcd.io/v2/HelmRelease",
  ],
  "source.toolkit.fluxcd.io/v1/HelmRepository": [
    "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1",
    "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1/HelmRepository",
  ],
  "source.toolkit.fluxcd.io/v1beta2/OCIRepository": [
    "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1beta2",
    "@kubernetes-models/flux-cd/source.toolkit.fluxcd.io/v1beta2/OCIRepository",
  ],
};

const classes = new Map<string, ModelClass>();

async function loadModels(): Promise<void> {
  if (classes.size > 0) return;
  for (const [key, [module]] of Object.entries(MODELS)) {
    const kind = key.split("/").pop()!;
    const cls = (await esmImport(module))[kind];
    assert.equal(typeof cls, "function", `${module} has no ${kind}`);
    classes.set(key, cls);
  }
}

/** Build the object's model class and validate it (throws with the validator's message). */
function validateModel(doc: KubeObject): void {
  const key = `${doc.apiVersion}/${doc.kind}`;
  const cls = classes.get(key);
  assert.ok(cls, `no model for ${key}`);
  new cls(structuredClone(doc)).validate();
}

// -- the properties a model declares, read from its .d.ts (the validators do not reject unknown fields)

const NODE_MODULES = path.join(REPO_ROOT, "node_modules");

interface Declared {
  props: Map<string, string>;
  file: string;
  imports: Map<string, string>;
}

const declaredCache = new Map<string, Declared | undefined>();

/** The first interface of a model .d.ts: property → type text, and where its imported types live. */
function declared(file: string): Declared | undefined {
  if (declaredCache.has(file)) return declaredCache.get(file);
  let out: Declared | undefined;
  if (existsSync(file)) {
    const text = readFileSync(file, "utf8");
    const body = /export interface \w+(?: extends [\w, ]+)? \{\n([\s\S]*?)\n\}/.exec(text)?.[1];
    if (body) {
      const props = new Map<string, string>();
      // One property a line at four spaces; a map type (`{ [key: string]: string }`) opens a block.
      for (const m of body.matchAll(/^ {4}"([^"]+)"\??: (.*?);?$/gm)) props.set(m[1], m[2]);
      const imports = new Map<string, string>();
      for (const m of text.matchAll(/^import \{ (\w+) \} from "([^"]+)";$/gm)) imports.set(m[1], m[2]);
      // TypeMeta (apiVersion, kind) is not spelled out in the interface.
      if (/ extends TypeMeta/.test(text)) for (const k of ["apiVersion", "kind"]) props.set(k, "string");
      out = { props, file, imports };
    }
  }
  declaredCache.set(file, out);
  return out;
}

function resolveDts(from: string, specifier: string): string {
  const bare = specifier.replace(/\.js$/, "");
  return bare.startsWith(".") ? path.resolve(path.dirname(from), `${bare}.d.ts`) : path.join(NODE_MODULES, `${bare}.d.ts`);
}

/** Every field of `value` (recursively) that the model's interfaces do not declare, as paths. */
function undeclaredFields(value: unknown, where: Declared | undefined, at: string): string[] {
  if (!where || value === null || typeof value !== "object" || Array.isArray(value)) return [];
  const out: string[] = [];
  for (const [k, v] of Object.entries(value)) {
    const type = where.props.get(k);
    if (type === undefined) {
      out.push(`${at}.${k}`);
      continue;
    }
    const element = /^Array<(\w+)>$/.exec(type)?.[1];
    const named = element ?? (/^\w+$/.test(type) ? type : undefined);
    const module = named && where.imports.get(named);
    if (!module) continue; // a primitive, a union of literals, or a map: nothing to descend into
    const next = declared(resolveDts(where.file, module));
    if (element && Array.isArray(v)) v.forEach((x, i) => out.push(...undeclaredFields(x, next, `${at}.${k}[${i}]`)));
    else out.push(...undeclaredFields(v, next, `${at}.${k}`));
  }
  return out;
}

function undeclared(doc: KubeObject): string[] {
  const [, dts] = MODELS[`${doc.apiVersion}/${doc.kind}`];
  const top = declared(path.join(NODE_MODULES, `${dts}.d.ts`));
  assert.ok(top, `cannot read the model declaration ${dts}.d.ts`);
  return undeclaredFields(doc, top, `${doc.kind}/${doc.metadata.name}`);
}

// ---------------------------------------------------------------- tests

/** The kits every property is checked on: the hand-built fixture and the real one the dev spec selects. */
const KITS: Array<[string, () => Kit]> = [
  ["the fixture kit", () => fixtureKit()],
  ["the omantel-1 kit of the dev spec (selectKit)", () => selectKit(DEV_SPEC)],
];

for (const [kitLabel, makeKit] of KITS) {
  describe(`kit Flux objects on ${kitLabel} (components/kit/flux.ts)`, () => {
    before(loadModels);
    const kit = makeKit();
    const byName = (n: string) => kit.blueprints.find((b) => b.name === n)!;

    describe("every rendered object", () => {
      for (const [label, ctx] of CONTEXTS) {
        it(`validates with its kubernetes-models / @kubernetes-models/flux-cd model and uses only declared fields, with ${label}`, () => {
          const docs = allDocs(kit, ctx);
          assert.deepEqual(
            [...new Set(docs.map((d) => `${d.apiVersion}/${d.kind}`))].filter((k) => !MODELS[k]),
            [],
            "a kind without a model",
          );
          for (const d of docs) {
            assert.doesNotThrow(() => validateModel(d), `${d.kind} ${d.metadata.namespace}/${d.metadata.name}`);
            assert.deepEqual(undeclared(d), [], `${d.kind} ${d.metadata.name} has fields its model does not declare`);
          }
        });
      }

      it("is rejected by its model when a field has the wrong type or value (the validation is real)", () => {
        const docs = allDocs(kit, kitContext(DEV_PLAN));
        const hr: Json = structuredClone(ofKind(docs, "HelmRelease")[0]);
        hr.spec.install.crds = "Replace-ish";
        assert.throws(() => validateModel(hr), /install\/crds/);
        const np: Json = structuredClone(ofKind(docs, "NetworkPolicy")[0]);
        np.spec.policyTypes = ["Sideways"];
        assert.throws(() => validateModel(np), /policyTypes/);
        const oci: Json = structuredClone(ofKind(docs, "OCIRepository")[0]);
        oci.spec.interval = 60;
        assert.throws(() => validateModel(oci), /interval/);
        hr.spec.instal = hr.spec.install;
        hr.spec.upgrade.remediation.remediateLast = true;
        hr.metadata.label = {};
        assert.deepEqual(undeclared(hr), [
          `HelmRelease/${hr.metadata.name}.metadata.label`,
          `HelmRelease/${hr.metadata.name}.spec.upgrade.remediation.remediateLast`,
          `HelmRelease/${hr.metadata.name}.spec.instal`,
        ]);
        const api: Json = structuredClone(ofKind(docs, "NetworkPolicy").find((p) => p.metadata.name === "allow-apiserver"));
        api.spec.egress[1].to[0].ipBlok = api.spec.egress[1].to[0].ipBlock;
        assert.deepEqual(undeclared(api), ["NetworkPolicy/allow-apiserver.spec.egress[1].to[0].ipBlok"]);
      });

      it("has a unique apiVersion/kind/namespace/name across the kit (kustomize refuses duplicates)", () => {
        for (const [label, ctx] of CONTEXTS) {
          const ids = allDocs(kit, ctx).map((d) => `${d.apiVersion}/${d.kind}/${d.metadata.namespace ?? ""}/${d.metadata.name}`);
          assert.deepEqual(
            ids.filter((x, i) => ids.indexOf(x) !== i),
            [],
            label,
          );
        }
      });

      it("comes in the order Namespace, NetworkPolicies, source, overlay ConfigMap, HelmRelease", () => {
        const rank: Record<string, number> = {
          Namespace: 0,
          NetworkPolicy: 1,
          HelmRepository: 2,
          OCIRepository: 2,
          ConfigMap: 3,
          HelmRelease: 4,
        };
        for (const b of kit.blueprints) {
          const r = renderBlueprintDocuments(kit, b, kitContext(DEV_PLAN)).map((d) => rank[d.kind]);
          assert.deepEqual(
            r,
            [...r].sort((x, y) => x - y),
            b.name,
          );
          assert.deepEqual(r.slice(-3), [2, 3, 4], b.name);
        }
      });
    });

    describe("the HelmRelease", () => {
      const ctx = kitContext(DEV_PLAN);
      const releases = (): Json[] => ofKind(allDocs(kit, ctx), "HelmRelease");
      const release = (b: { name: string }): Json => releases().find((r) => r.metadata.name === `bp-${b.name}`);

      it("has spec.dependsOn equal to the blueprint's DAG edges, sorted, and none for a root", () => {
        for (const b of kit.blueprints) {
          const want = b.dependsOn.map((e) => `bp-${e.on}`).sort();
          const hr = release(b);
          assert.deepEqual(
            (hr.spec.dependsOn ?? []).map((d: Json) => d.name),
            want,
            b.name,
          );
          if (want.length === 0) assert.ok(!("dependsOn" in hr.spec), `${b.name} carries an empty dependsOn`);
        }
      });

      it("is bp-<name> in flux-system with the adopted release name, else bp-<name>, installed and stored in the blueprint's namespace", () => {
        for (const b of kit.blueprints) {
          const hr = release(b);
          assert.equal(hr.metadata.namespace, "flux-system");
          assert.equal(hr.spec.releaseName, b.adopts?.releaseName ?? `bp-${b.name}`, b.name);
          assert.equal(hr.spec.targetNamespace, b.namespace);
          assert.equal(hr.spec.storageNamespace, b.namespace);
        }
        assert.equal(release({ name: "cilium" }).spec.releaseName, "cilium");
      });

      it("takes values only from its overlay ConfigMap (no spec.values over it): fullname, mirror registry and namespace", () => {
        const docs = allDocs(kit, ctx);
        for (const b of kit.blueprints) {
          const hr = ofKind(docs, "HelmRelease").find((r) => r.metadata.name === `bp-${b.name}`);
          assert.ok(!("values" in hr.spec), b.name);
          assert.deepEqual(hr.spec.valuesFrom, [{ kind: "ConfigMap", name: `bp-${b.name}-overlay`, valuesKey: "values.yaml" }]);
          const cm = ofKind(docs, "ConfigMap").find((c) => c.metadata.name === `bp-${b.name}-overlay`);
          assert.equal(cm.metadata.namespace, "flux-system", "valuesFrom reads the HelmRelease's own namespace");
          assert.deepEqual(parse(cm.data["values.yaml"]), {
            fullnameOverride: upstreamFullname(b),
            global: { imageRegistry: "registry.lab.example:5000" },
            namespaceOverride: b.namespace,
          });
        }
      });

      it("carries, for an adopted release, the values Stage 6 installed it with, so Flux's first upgrade keeps them", () => {
        const docs = allDocs(kit, kitContext(DEV_PLAN, STAGE6));
        const overlay = (n: string) =>
          parse(ofKind(docs, "ConfigMap").find((c) => c.metadata.name === `bp-${n}-overlay`).data["values.yaml"]);
        const adopting = kit.blueprints.filter((b) => b.adopts);
        assert.deepEqual(adopting.map((b) => b.name).sort(), ["cilium", "grafana", "loki"]);
        for (const b of adopting) {
          const r = STAGE6.find((x) => x.name === b.adopts!.releaseName)!;
          assert.equal(r.version, b.chart.version, `${b.name}: one pin for Stage 6 and the kit`);
          const want = JSON.parse(JSON.stringify(r.values));
          assert.deepEqual(overlay(b.name), {
            fullnameOverride: b.chart.chart,
            ...want,
            global: { ...(want.global ?? {}), imageRegistry: "registry.lab.example:5000" },
            namespaceOverride: r.namespace,
          });
        }
        assert.equal(overlay("cilium").kubeProxyReplacement, true);
        assert.deepEqual(overlay("velero"), {
          fullnameOverride: "velero",
          global: { imageRegistry: "registry.lab.example:5000" },
          namespaceOverride: byName("velero").namespace,
        });
      });

      it("replaces CRDs on install and upgrade, waits for hooks and resources, retries and remediates the last failure", () => {
        for (const hr of releases()) {
          assert.deepEqual(hr.spec.install, {
            crds: "CreateReplace",
            createNamespace: false,
            disableHooks: false,
            disableWait: false,
            remediation: { retries: 3 },
          });
          assert.deepEqual(hr.spec.upgrade, {
            crds: "CreateReplace",
            disableHooks: false,
            disableWait: false,
            cleanupOnFail: true,
            remediation: { retries: 3, remediateLastFailure: true },
          });
          assert.equal(hr.spec.interval, "10m");
        }
      });

      it("carries the slot, the declared minimum schema version and the credentials Secret's name as annotations", () => {
        for (const b of kit.blueprints) {
          const hr = release(b);
          assert.deepEqual(hr.metadata.annotations, {
            "kubedos.ca/credentials-secret": `bp-${b.name}-credentials`,
            "kubedos.ca/min-schema-version": b.minSchemaVersion,
            "kubedos.ca/slot": String(b.slot).padStart(2, "0"),
          });
          assert.equal(hr.metadata.labels["kubedos.ca/blueprint"], `bp-${b.name}`);
        }
      });
    });

    describe("the chart source", () => {
      it("is an OCIRepository on the oci:// chart mirror, never upstream, referenced by chartRef, when the mirror is declared", () => {
        const docs = allDocs(kit, kitContext(DEV_PLAN));
        assert.equal(ofKind(docs, "HelmRepository").length, 0);
        for (const b of kit.blueprints) {
          const oci = ofKind(docs, "OCIRepository").find((o) => o.metadata.name === `bp-${b.name}`);
          assert.equal(oci.spec.url, `oci://registry.lab.example/charts/${b.chart.chart}`);
          assert.deepEqual(oci.spec.ref, { tag: b.chart.version.replace("+", "_") });
          const hr = ofKind(docs, "HelmRelease").find((r) => r.metadata.name === `bp-${b.name}`);
          assert.deepEqual(hr.spec.chartRef, { kind: "OCIRepository", name: `bp-${b.name}`, namespace: "flux-system" });
          assert.ok(!("chart" in hr.spec));
        }
        const text = renderKitFiles(kit, kitContext(DEV_PLAN))
          .map((f) => f.content)
          .join("\n");
        for (const upstream of new Set(kit.blueprints.map((b) => new URL(b.chart.repository.replace(/^oci:/, "https:")).host)))
          assert.ok(!text.includes(upstream), `${upstream} appears although a chart mirror is declared`);
      });

      it("is a HelmRepository on an https:// chart mirror with the pinned chart version", () => {
        const docs = allDocs(kit, withMirrors(DEV_PLAN, { charts: "https://charts.lab.example/helm/" }));
        assert.equal(ofKind(docs, "OCIRepository").length, 0);
        for (const repo of ofKind(docs, "HelmRepository")) assert.equal(repo.spec.url, "https://charts.lab.example/helm");
        for (const b of kit.blueprints) {
          const hr = ofKind(docs, "HelmRelease").find((r) => r.metadata.name === `bp-${b.name}`);
          assert.deepEqual(hr.spec.chart, {
            spec: {
              chart: b.chart.chart,
              version: b.chart.version,
              sourceRef: { kind: "HelmRepository", name: `bp-${b.name}`, namespace: "flux-system" },
              interval: "1h",
            },
          });
        }
      });

      it("is the catalog's upstream when no mirror is declared", () => {
        for (const b of kit.blueprints) {
          const src = blueprintSource(b, {});
          assert.equal(src.mirrored, false);
          assert.ok(src.url.startsWith(b.chart.repository.replace(/\/+$/, "")), `${b.name}: ${src.url}`);
          assert.equal(src.kind, b.chart.repository.startsWith("oci://") ? "OCIRepository" : "HelmRepository");
        }
      });
    });

    describe("namespaces and network policy", () => {
      for (const [label, ctx] of CONTEXTS) {
        it(`gives every namespace the kit owns one Namespace and one default-deny, and none to system namespaces, with ${label}`, () => {
          const docs = allDocs(kit, ctx);
          const owned = [...new Set(kit.blueprints.map((b) => b.namespace))].filter((n) => !SYSTEM_NAMESPACES.includes(n)).sort();
          assert.deepEqual(
            ofKind(docs, "Namespace")
              .map((n) => n.metadata.name)
              .sort(),
            owned,
          );
          const denies = ofKind(docs, "NetworkPolicy").filter((p) => p.metadata.name === "default-deny");
          assert.deepEqual(denies.map((p) => p.metadata.namespace).sort(), owned);
          for (const p of denies) assert.deepEqual(p.spec, { podSelector: {}, policyTypes: ["Ingress", "Egress"] }, "not a deny-all");
          const policyNamespaces = new Set(ofKind(docs, "NetworkPolicy").map((p) => p.metadata.namespace));
          for (const sys of SYSTEM_NAMESPACES) assert.ok(!policyNamespaces.has(sys), `a NetworkPolicy in ${sys}`);
          for (const ns of owned)
            for (const allow of ["allow-same-namespace", "allow-dns", "allow-apiserver"])
              assert.ok(
                ofKind(docs, "NetworkPolicy").some((p) => p.metadata.namespace === ns && p.metadata.name === allow),
                `${ns} lacks ${allow}`,
              );
        });
      }

      it("labels each Namespace with its first blueprint (by slot) and the cluster", () => {
        const docs = allDocs(kit, kitContext(DEV_PLAN));
        const obs = ofKind(docs, "Namespace").find((n) => n.metadata.name === "observability");
        assert.deepEqual(obs.metadata.labels, {
          "app.kubernetes.io/managed-by": "kubedos",
          "kubedos.ca/blueprint": "bp-loki",
          "kubedos.ca/cluster": DEV_PLAN.cluster.name,
        });
      });

      it("allows DNS to CoreDNS, the API server by Service and by address, and Prometheus in, in each owned namespace", () => {
        const ns = byName("velero").namespace;
        const policies = ofKind(allDocs(kit, kitContext(DEV_PLAN)), "NetworkPolicy").filter((p) => p.metadata.namespace === ns);
        assert.deepEqual(policies.map((p) => p.metadata.name).sort(), [
          "allow-apiserver",
          "allow-dns",
          "allow-metrics-scrape",
          "allow-same-namespace",
          "bp-velero-dag",
          "default-deny",
        ]);
        const get = (n: string) => policies.find((p) => p.metadata.name === n);
        assert.deepEqual(get("allow-dns").spec.egress, [
          {
            to: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
                podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
              },
            ],
            ports: [
              { protocol: "UDP", port: 53 },
              { protocol: "TCP", port: 53 },
            ],
          },
        ]);
        const kubePlane = DEV_PLAN.planes.find((p) => p.purpose === "kubernetes-backend")!.name;
        const servers = [
          DEV_PLAN.controlPlaneEndpoint!.address!,
          ...DEV_PLAN.nodes.filter((n) => n.role === "control-plane").map((n) => n.addresses[kubePlane]),
        ];
        const api = get("allow-apiserver").spec;
        assert.deepEqual(api.egress[0], { to: [{ ipBlock: { cidr: "10.96.0.1/32" } }], ports: [{ protocol: "TCP", port: 443 }] });
        assert.deepEqual(api.egress[1].to.map((t: Json) => t.ipBlock.cidr).sort(), servers.map((a) => `${a}/32`).sort());
        assert.deepEqual(api.egress[1].ports, [{ protocol: "TCP", port: 6443 }]);
        assert.deepEqual(api.ingress[0].from, api.egress[1].to, "webhooks are called from the API servers");
        assert.deepEqual(get("allow-metrics-scrape").spec.ingress, [
          {
            from: [
              {
                namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "observability" } },
                podSelector: { matchLabels: { "app.kubernetes.io/name": "prometheus" } },
              },
            ],
          },
        ]);
      });

      it("allows traffic between two namespaces exactly when a DAG edge joins their blueprints, both ways", () => {
        const docs = allDocs(kit, kitContext(DEV_PLAN));
        const ns = new Map(kit.blueprints.map((b) => [b.name, b.namespace]));
        const linked = new Set<string>();
        for (const b of kit.blueprints)
          for (const e of b.dependsOn) {
            const [x, d] = [b.namespace, ns.get(e.on)!];
            if (x !== d) linked.add(`${x}>${d}`).add(`${d}>${x}`);
          }
        const allowed = new Set<string>();
        for (const p of ofKind(docs, "NetworkPolicy").filter((q) => q.metadata.name.endsWith("-dag"))) {
          const peers = (rules: Json[], key: string) =>
            rules.flatMap((r) => r[key]).map((s: Json) => s.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]);
          assert.deepEqual(peers(p.spec.ingress, "from"), peers(p.spec.egress, "to"), p.metadata.name);
          for (const peer of peers(p.spec.egress, "to")) allowed.add(`${p.metadata.namespace}>${peer}`);
        }
        const owned = (pair: string) => !SYSTEM_NAMESPACES.includes(pair.split(">")[0]);
        // Every edge is open from each end the kit owns; nothing else is.
        assert.deepEqual(
          [...linked].filter(owned).filter((l) => !allowed.has(l)),
          [],
        );
        assert.deepEqual(
          [...allowed].filter((a) => !linked.has(a)),
          [],
        );
        const velero = byName("velero");
        const store = byName("seaweedfs").namespace;
        assert.ok(allowed.has(`${velero.namespace}>${store}`) && allowed.has(`${store}>${velero.namespace}`));
      });
    });

    describe("the files", () => {
      const ctx = kitContext(DEV_PLAN);
      const dir = `clusters/${DEV_PLAN.cluster.name}/bootstrap-kit`;

      it("names each blueprint's file NN-bp-<name>.yaml under clusters/<cluster>/bootstrap-kit, and lists them in numeric slot order", () => {
        const files = renderKitFiles(kit, ctx);
        const names = [...kit.blueprints]
          .sort((a, b) => a.slot - b.slot)
          .map((b) => `${String(b.slot).padStart(2, "0")}-bp-${b.name}.yaml`);
        assert.deepEqual(
          files.map((f) => f.path),
          [...names, "kustomization.yaml"].map((n) => `${dir}/${n}`),
        );
        assert.ok(names.includes("01-bp-cilium.yaml") && names.includes("34-bp-velero.yaml"));
        const k = parse(files.at(-1)!.content);
        assert.deepEqual(k, { apiVersion: "kustomize.config.k8s.io/v1beta1", kind: "Kustomization", resources: names });
        const slots = k.resources.map((r: string) => Number(r.split("-")[0]));
        assert.deepEqual(
          slots,
          [...slots].sort((a: number, b: number) => a - b),
        );
        assert.equal(kitFileName({ name: "x", slot: 7 }), "07-bp-x.yaml");
      });

      it("orders by slot whatever order the kit lists its blueprints in", () => {
        const shuffled: Kit = { ...kit, blueprints: [...kit.blueprints].reverse() };
        assert.deepEqual(renderKitFiles(shuffled, ctx), renderKitFiles(kit, ctx));
      });

      it("holds, in each file, the blueprint's documents as multi-document YAML", () => {
        for (const f of renderKitFiles(kit, ctx).slice(0, -1)) {
          const b = kit.blueprints.find((x) => f.path.endsWith(`/${kitFileName(x)}`))!;
          const docs = parseAllDocuments(f.content).map((d) => {
            assert.deepEqual(d.errors, [], f.path);
            return d.toJS();
          });
          assert.deepEqual(docs, renderBlueprintDocuments(kit, b, ctx));
        }
      });

      it("renders byte-identical files when rendered twice", () => {
        const a = renderKitFiles(makeKit(), kitContext(DEV_PLAN, STAGE6));
        const b = renderKitFiles(makeKit(), kitContext(planOf(DEV), STAGE6));
        assert.deepEqual(a, b);
        assert.equal(JSON.stringify(a), JSON.stringify(b));
      });

      it("contains no credential derived for any blueprint, and the Secret manifest holds them in the blueprint's namespace", () => {
        const text = renderKitFiles(kit, kitContext(DEV_PLAN, STAGE6))
          .map((f) => f.content)
          .join("\n");
        for (const b of kit.blueprints) {
          const creds = blueprintCredentials(SEED, ctx.cluster, b);
          assert.deepEqual(Object.keys(creds), ["admin-password"]);
          for (const [purpose, value] of Object.entries(creds)) {
            assert.match(value, /^[A-Za-z0-9_-]{32}$/);
            assert.ok(!text.includes(value), `${b.name} ${purpose} appears in kit/`);
          }
          const secret: Json = credentialsSecretManifest(SEED, ctx.cluster, b);
          assert.deepEqual(secret.metadata.name, `bp-${b.name}-credentials`);
          assert.equal(secret.metadata.namespace, b.namespace);
          assert.deepEqual(secret.stringData, creds);
        }
        assert.ok(!text.includes(SEED));
      });
    });
  });
}

describe("kit Flux objects on the fixture kit: specific cases (components/kit/flux.ts)", () => {
  const kit = fixtureKit();
  const byName = (n: string) => kit.blueprints.find((b) => b.name === n)!;

  it("lists grafana's seed and inferred edges, sorted", () => {
    const hr: Json = renderBlueprintDocuments(kit, byName("grafana"), kitContext(DEV_PLAN)).at(-1);
    assert.deepEqual(hr.spec.dependsOn, [{ name: "bp-cert-manager" }, { name: "bp-cnpg" }, { name: "bp-loki" }]);
  });

  it("writes no registry key without a registry mirror, and strips an OpenOva chart's bp- from its fullname", () => {
    const bare = ofKind(allDocs(kit, withMirrors(DEV_PLAN, {})), "ConfigMap")[0];
    assert.deepEqual(parse(bare.data["values.yaml"]), { fullnameOverride: "cilium", namespaceOverride: "kube-system" });
    const openova = editedKit(
      kit,
      "reloader",
      (b) => (b.chart = { chart: "bp-reloader", repository: "oci://ghcr.io/openova-io", version: "1.0.0" }),
    );
    const cm = ofKind(allDocs(openova, kitContext(DEV_PLAN)), "ConfigMap").find((c) => c.metadata.name === "bp-reloader-overlay");
    assert.equal(parse(cm.data["values.yaml"]).fullnameOverride, "reloader");
  });

  it("tags an OCI chart version with build metadata as Helm pushes it (+ → _)", () => {
    const oci = ofKind(allDocs(kit, kitContext(DEV_PLAN)), "OCIRepository").find((o) => o.metadata.name === "bp-reloader");
    assert.equal(oci.spec.ref.tag, "1.2.0_build.1");
  });

  it("takes the upstream source as the catalog gives it: an https:// repository, an oci:// prefix, an oci:// URL naming the chart", () => {
    assert.deepEqual(blueprintSource(byName("velero"), {}), {
      kind: "HelmRepository",
      url: "https://vmware-tanzu.github.io/helm-charts",
      mirrored: false,
    });
    assert.deepEqual(blueprintSource(byName("cert-manager"), {}), {
      kind: "OCIRepository",
      url: "oci://quay.io/jetstack/charts/cert-manager",
      mirrored: false,
    });
    assert.deepEqual(blueprintSource(byName("flux"), {}), {
      kind: "OCIRepository",
      url: "oci://ghcr.io/fluxcd-community/charts/flux2",
      mirrored: false,
    });
    assert.deepEqual(blueprintSource(byName("flux"), { charts: "oci://m.example/charts/" }), {
      kind: "OCIRepository",
      url: "oci://m.example/charts/flux2",
      mirrored: true,
    });
  });

  it("opens no DAG policy for a blueprint without edges, and none between namespaces no edge joins", () => {
    const policies = ofKind(allDocs(kit, kitContext(DEV_PLAN)), "NetworkPolicy");
    assert.ok(!policies.some((p) => p.metadata.name === "bp-reloader-dag"));
    const velero = policies.find((p) => p.metadata.name === "bp-velero-dag");
    assert.deepEqual(velero.spec.egress, [
      { to: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "seaweedfs" } } }] },
    ]);
  });

  describe("credentials", () => {
    const [a, b] = [fixtureKit().blueprints[1], fixtureKit().blueprints[2]];

    it("derives the same credentials from the same seed and cluster, and different ones per blueprint, cluster and seed", () => {
      assert.deepEqual(blueprintCredentials(SEED, "dev-lab", a), blueprintCredentials(SEED, "dev-lab", a));
      assert.notEqual(
        blueprintCredentials(SEED, "dev-lab", a)["admin-password"],
        blueprintCredentials(SEED, "dev-lab", b)["admin-password"],
      );
      assert.notEqual(blueprintCredentials(SEED, "dev-lab", a)["admin-password"], blueprintCredentials(SEED, "prod", a)["admin-password"]);
      assert.notEqual(
        blueprintCredentials(SEED, "dev-lab", a)["admin-password"],
        blueprintCredentials(`${SEED}x`, "dev-lab", a)["admin-password"],
      );
    });

    it("is HKDF-SHA256 of the seed for component kit/bp-<name>, purpose admin-password, 24 bytes base64url (a change re-keys every cluster)", () => {
      const info = "cluster=dev-lab;component=kit/bp-cert-manager;purpose=admin-password;epoch=0";
      const want = Buffer.from(hkdfSync("sha256", SEED, "kubedos/derive/v1", info, 24)).toString("base64url");
      assert.equal(blueprintCredentials(SEED, "dev-lab", { name: "cert-manager" })["admin-password"], want);
    });
  });

  describe("the schema contract (checkSchemaVersion)", () => {
    const bp = { name: "grafana", minSchemaVersion: "1.4.0" };
    const table: Array<[string, boolean]> = [
      ["1.4.0", true],
      ["v1.4.0", true],
      ["1.4", true],
      ["1.10.0", true],
      ["2.0.0-rc.1", true],
      ["1.4.0+build.7", true],
      ["1.3.9", false],
      ["1.4.0-rc.1", false],
      ["0.99.0", false],
      ["latest", false],
      ["", false],
    ];
    for (const [version, ok] of table) {
      it(`${ok ? "accepts" : "refuses"} chart schema ${JSON.stringify(version)} against the minimum 1.4.0`, () => {
        assert.equal(checkSchemaVersion(bp, version).ok, ok);
      });
    }

    it("says which versions and refuses to apply when the chart is older, and refuses an unreadable declared minimum", () => {
      assert.deepEqual(checkSchemaVersion(bp, "1.3.9"), {
        ok: false,
        message:
          "bp-grafana needs schema version 1.4.0 or later (declared in the catalog), but the chart provides 1.3.9: refusing to apply the release",
      });
      assert.deepEqual(checkSchemaVersion({ name: "x", minSchemaVersion: "soon" }, "1.0.0"), {
        ok: false,
        message: 'bp-x declares minimum schema version "soon", which is not a version',
      });
    });

    it("orders versions by SemVer precedence", () => {
      const sorted = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
        "1.2.0",
        "1.10.0",
      ];
      assert.deepEqual([...sorted].reverse().sort(compareVersions), sorted);
    });
  });

  describe("refusals", () => {
    const ctx = kitContext(DEV_PLAN);
    const render = (k: Kit, name: string) => () =>
      renderBlueprintDocuments(
        k,
        k.blueprints.find((b) => b.name === name)!,
        ctx,
      );

    it("refuses a chart version range (versions are pinned, seed 003 rule c)", () => {
      const k = editedKit(kit, "velero", (b) => (b.chart.version = "^8.1.0"));
      assert.throws(render(k, "velero"), /bp-velero: chart version "\^8\.1\.0" is not an exact version/);
    });

    it("refuses an edge to a blueprint outside the kit (Flux would wait for it forever)", () => {
      const k = editedKit(kit, "velero", (b) => b.dependsOn.push({ on: "harbor", source: "seed" }));
      assert.throws(render(k, "velero"), /bp-velero depends on bp-harbor, not in the kit/);
    });

    it("refuses an adopted release in another namespace than the blueprint's", () => {
      const k = editedKit(kit, "loki", (b) => (b.adopts = { releaseName: "loki", namespace: "monitoring" }));
      assert.throws(render(k, "loki"), /adopts release loki in monitoring but installs into observability/);
    });

    it("refuses to adopt a Stage 6 release at another chart version or from another chart than the catalog's", () => {
      const older = editedKit(kit, "cilium", (b) => (b.chart.version = "1.15.0"));
      const c = kitContext(DEV_PLAN, STAGE6);
      const cilium = (k: Kit) => () => renderBlueprintDocuments(k, k.blueprints[0], c);
      assert.throws(
        cilium(older),
        /bp-cilium adopts release cilium, which Stage 6 installs at chart version .* but the catalog pins 1\.15\.0: bump both together/,
      );
      const other = editedKit(kit, "cilium", (b) => (b.chart.chart = "cilium-enterprise"));
      assert.throws(cilium(other), /bp-cilium adopts release cilium, which Stage 6 installs from chart cilium, not cilium-enterprise/);
    });

    it("refuses two blueprints in one slot", () => {
      const k = editedKit(kit, "velero", (b) => (b.slot = 28));
      assert.throws(() => renderKitFiles(k, ctx), /two blueprints of the kit hold slot 28/);
    });
  });
});
