/**
 * Each node's Stage 6 files (components/kubernetes/render-node.ts), rendered with a fixed seed:
 *
 *  - golden kubeadm.yaml per node — every dev node, and the Hetzner (load-balancer endpoint) and
 *    bare-metal (pinned-ca) nodes that exercise the other branches — compared byte for byte with
 *    test/golden/kubeadm/<fixture>/<node>/kubeadm.yaml, each golden also checked against the
 *    strict upstream schema (kubeadm-schema.ts). The bootstrap token and the certificate key are
 *    checked (format and derivation) and then replaced by fixed markers in the golden copy, so no
 *    credential is stored even for a public test seed. Regenerate with UPDATE_GOLDEN=1 npx mocha.
 *  - CIS checks over the rendered dev configuration (the kube-bench items kubeadm config can set).
 *  - the CA pin, init/join roles, wg3-only addresses, file modes, and the refusals.
 */
import { strict as assert } from "node:assert";
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { parse, parseAllDocuments } from "yaml";
import {
  API_SERVER_PORT,
  AUDIT_LOG_DIR,
  AUDIT_POLICY_PATH,
  ENCRYPTION_CONFIG_PATH,
  initNode,
  KUBEADM_PATCH_DIR,
} from "../../components/kubernetes/kubeadm";
import { clusterCaPin } from "../../components/kubernetes/pki";
import {
  HETZNER_LOAD_BALANCER_HOST_INDEX,
  hetznerLoadBalancerAddress,
  JOIN_EPOCH,
  kubeadmConfigBlocker,
  renderNodeKubernetes,
  type KubernetesFile,
} from "../../components/kubernetes/render-node";
import { bootstrapToken, certificateKey, encryptionKey } from "../../components/kubernetes/tokens";
import { contains, parseCidr, parseIp } from "../../components/plan/ipv4";
import type { Plan } from "../../components/plan/plan";
import { LOAD_BALANCER_HOST_INDEX } from "../../components/substrate/hetzner";
import type { ClusterSpec } from "../../components/spec/schema";
import { BAREMETAL, DEV, edited, HETZNER, repoPath, specAndPlan } from "../substrate/helpers";
import { BOOTSTRAP_TOKEN, CA_CERT_HASH, CERTIFICATE_KEY, KubeletConfiguration, schemaIssues } from "./kubeadm-schema";

/** The master seed the goldens are rendered with. Public and fixed: it protects nothing. */
const SEED = "kubedos-kubeadm-golden-seed-0001";
const GOLDEN_ROOT = repoPath("test", "golden", "kubeadm");
const UPDATE = process.env.UPDATE_GOLDEN === "1";
/**
 * What the golden copy holds instead of the bootstrap token and the certificate key: both in
 * their formats (the golden still passes the schema) and neither readable as a YAML number (an
 * all-digit key would parse as one once substituted into the text).
 */
const TOKEN_MARKER = "golden.redactedredacted";
const CERT_KEY_MARKER = "deadbeef".repeat(8);
const GOLDEN_HEADER =
  "# golden copy (test/kubernetes/render-node.test.ts): bootstrap token and certificate key replaced by fixed markers\n";

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const FIXTURES = {
  dev: specAndPlan(DEV),
  hetzner: specAndPlan(HETZNER),
  baremetal: specAndPlan(BAREMETAL),
};
type FixtureName = keyof typeof FIXTURES;

/** Every dev node; the Hetzner init and a Hetzner worker (load-balancer endpoint); a bare-metal control-plane join (pinned-ca). */
const GOLDEN_NODES: ReadonlyArray<{ fixture: FixtureName; node: string }> = [
  ...FIXTURES.dev.plan.nodes.map((n) => ({ fixture: "dev" as const, node: n.name })),
  { fixture: "hetzner", node: "cp-1" },
  { fixture: "hetzner", node: "w-1" },
  { fixture: "baremetal", node: "cp-2" },
];

function docsOf(text: string): Doc[] {
  return parseAllDocuments(text).map((d) => {
    assert.deepEqual(d.errors, [], "YAML parses without errors");
    return d.toJS() as Doc;
  });
}

const renderOf = (f: FixtureName, node: string): KubernetesFile[] =>
  renderNodeKubernetes({ plan: FIXTURES[f].plan, spec: FIXTURES[f].spec, node, seed: SEED });
const fileOf = (files: KubernetesFile[], p: string): KubernetesFile | undefined => files.find((f) => f.path === p);
const kubeadmOf = (files: KubernetesFile[]): string => fileOf(files, "kubeadm.yaml")!.content;

/** Name → value of v1beta4 structured arguments; a duplicate name fails (kubeadm would pass both). */
function argMap(a: Array<{ name: string; value: string }> | undefined): Map<string, string> {
  const m = new Map<string, string>();
  for (const { name, value } of a ?? []) {
    assert.ok(!m.has(name), `duplicate argument ${name}`);
    m.set(name, value);
  }
  return m;
}

/**
 * The golden form of a rendered kubeadm.yaml: the token and certificate key are checked — format
 * and derivation (seed, cluster, JOIN_EPOCH) — wherever they occur, then replaced by the markers.
 */
function goldenForm(plan: Plan, text: string): string {
  const token = bootstrapToken(SEED, plan.cluster.name, JOIN_EPOCH);
  const key = certificateKey(SEED, plan.cluster.name, JOIN_EPOCH);
  assert.ok(!text.includes(TOKEN_MARKER) && !text.includes(CERT_KEY_MARKER), "a marker occurs in the render itself");
  const docs = docsOf(text);
  const tokens = [
    ...docs.flatMap((d) => (d.bootstrapTokens ?? []).map((t: Doc) => t.token)),
    ...docs.map((d) => d.discovery?.bootstrapToken?.token),
  ].filter((t) => t !== undefined);
  const keys = docs.flatMap((d) => [d.certificateKey, d.controlPlane?.certificateKey]).filter((k) => k !== undefined);
  assert.equal(tokens.length, 1, "exactly one bootstrap token per config");
  for (const t of tokens) {
    assert.match(t, BOOTSTRAP_TOKEN);
    assert.equal(t, token, "the token is bootstrapToken(seed, cluster, JOIN_EPOCH)");
  }
  for (const k of keys) {
    assert.match(k, CERTIFICATE_KEY);
    assert.equal(k, key, "the certificate key is certificateKey(seed, cluster, JOIN_EPOCH)");
  }
  const out = GOLDEN_HEADER + text.replaceAll(token, TOKEN_MARKER).replaceAll(key, CERT_KEY_MARKER);
  assert.ok(!out.includes(token) && !out.includes(key));
  return out;
}

// ------------------------------------------------------------------ goldens

describe("kubeadm golden files", () => {
  if (UPDATE) {
    before(() => {
      for (const f of new Set(GOLDEN_NODES.map((g) => g.fixture))) rmSync(path.join(GOLDEN_ROOT, f), { recursive: true, force: true });
    });
  }

  for (const g of GOLDEN_NODES) {
    it(`renders exactly the golden kubeadm.yaml of ${g.fixture}/${g.node}, which passes the strict upstream schema`, () => {
      const got = goldenForm(FIXTURES[g.fixture].plan, kubeadmOf(renderOf(g.fixture, g.node)));
      const file = path.join(GOLDEN_ROOT, g.fixture, g.node, "kubeadm.yaml");
      if (UPDATE) {
        mkdirSync(path.dirname(file), { recursive: true });
        writeFileSync(file, got);
      }
      assert.ok(existsSync(file), `no golden file ${file}; run UPDATE_GOLDEN=1 npx mocha`);
      const want = readFileSync(file, "utf8");
      if (got !== want) {
        const [a, b] = [got.split("\n"), want.split("\n")];
        const i = a.findIndex((l, k) => l !== b[k]);
        assert.fail(
          `${g.fixture}/${g.node}/kubeadm.yaml differs from its golden file at line ${i + 1}:\n` +
            `  rendered: ${JSON.stringify(a[i])}\n  golden:   ${JSON.stringify(b[i])}\nReview the change, then regenerate with UPDATE_GOLDEN=1 npx mocha`,
        );
      }
      // The stored golden itself is a valid kubeadm v1beta4 / kubelet v1beta1 file.
      const docs = docsOf(want);
      assert.ok(docs.length >= 2);
      for (const d of docs) assert.deepEqual(schemaIssues(d), [], `${g.fixture}/${g.node} ${d.kind}`);
    });
  }

  it("keeps no stray golden directory, and no credential, in test/golden/kubeadm", () => {
    const expected = new Set(GOLDEN_NODES.map((g) => `${g.fixture}/${g.node}`));
    const found = readdirSync(GOLDEN_ROOT).flatMap((f) => readdirSync(path.join(GOLDEN_ROOT, f)).map((n) => `${f}/${n}`));
    assert.deepEqual(
      found.filter((f) => !expected.has(f)),
      [],
    );
    for (const g of GOLDEN_NODES) {
      const dir = path.join(GOLDEN_ROOT, g.fixture, g.node);
      assert.deepEqual(readdirSync(dir), ["kubeadm.yaml"]);
      const text = readFileSync(path.join(dir, "kubeadm.yaml"), "utf8");
      const plan = FIXTURES[g.fixture].plan;
      assert.ok(!text.includes(bootstrapToken(SEED, plan.cluster.name, JOIN_EPOCH)), `${g.fixture}/${g.node} stores the token`);
      assert.ok(!text.includes(certificateKey(SEED, plan.cluster.name, JOIN_EPOCH)), `${g.fixture}/${g.node} stores the certificate key`);
      for (const m of text.matchAll(/token: (\S+)/g)) assert.equal(m[1], TOKEN_MARKER);
      for (const m of text.matchAll(/certificateKey: (\S+)/g)) assert.equal(m[1], CERT_KEY_MARKER);
    }
  });

  it("rejects a misspelt field, a wrong type and a v1beta3 leftover when the strict schema checks a document", () => {
    const docs = docsOf(kubeadmOf(renderOf("dev", "cp-1")));
    const [init, cluster, kubelet] = docs;
    const join = docsOf(kubeadmOf(renderOf("dev", "w-1")))[0];
    assert.deepEqual([init, cluster, kubelet, join].flatMap(schemaIssues), [], "the unmodified documents pass");
    const broken: Array<[string, Doc]> = [
      ["misspelt KubeletConfiguration.readOnlyport", { ...kubelet, readOnlyport: 0 }],
      ["readOnlyPort as a string", { ...kubelet, readOnlyPort: "0" }],
      ["misspelt ClusterConfiguration.controlPlaneEndPoint", { ...cluster, controlPlaneEndPoint: cluster.controlPlaneEndpoint }],
      ["v1beta3 map-shaped extraArgs", { ...cluster, scheduler: { extraArgs: { profiling: "false" } } }],
      ["v1beta3 apiServer.timeoutForControlPlane", { ...cluster, apiServer: { ...cluster.apiServer, timeoutForControlPlane: "4m0s" } }],
      ["bindPort as a string", { ...init, localAPIEndpoint: { ...init.localAPIEndpoint, bindPort: "6443" } }],
      [
        "a caCertHashes entry without sha256:",
        { ...join, discovery: { bootstrapToken: { ...join.discovery.bootstrapToken, caCertHashes: ["abc"] } } },
      ],
      [
        "misspelt discovery.bootstrapToken.caCertHash",
        { ...join, discovery: { bootstrapToken: { ...join.discovery.bootstrapToken, caCertHash: [] } } },
      ],
      ["JoinConfiguration without discovery", { ...join, discovery: undefined }],
      ["the wrong apiVersion", { ...init, apiVersion: "kubeadm.k8s.io/v1beta3" }],
      ["a non-duration ttl", { ...init, bootstrapTokens: [{ ...init.bootstrapTokens[0], ttl: "30 minutes" }] }],
    ];
    for (const [what, doc] of broken) {
      if (doc.discovery === undefined) delete doc.discovery;
      assert.notDeepEqual(schemaIssues(doc), [], `the schema accepts ${what}`);
    }
    assert.equal(KubeletConfiguration.safeParse({ ...kubelet, seccompDefault: "true" }).success, false);
  });
});

// ------------------------------------------------------------------ dev: CIS and trust

describe("kubeadm files of the dev stack", () => {
  const { plan, spec } = FIXTURES.dev;
  const cluster = plan.cluster.name;
  const wg3 = plan.planes.find((p) => p.purpose === "kubernetes-backend")!;
  const first = initNode(plan);
  const files = new Map(plan.nodes.map((n) => [n.name, renderOf("dev", n.name)]));
  const docs = new Map([...files].map(([n, f]) => [n, docsOf(kubeadmOf(f))]));
  const clusterConfig = docs.get(first.name)!.find((d) => d.kind === "ClusterConfiguration")!;
  const pin = clusterCaPin(SEED, cluster);

  it("writes kubeadm.yaml 0600 and the patches 0644 on every node, plus audit-policy.yaml 0644 and encryption-config.yaml 0600 on control planes", () => {
    for (const n of plan.nodes) {
      const got = files
        .get(n.name)!
        .map((f) => `${f.path} ${f.mode.toString(8)} ${f.secret ? "secret" : "public"}`)
        .sort();
      const want = [
        "kubeadm.yaml 600 secret",
        "kubeadm-patches/kubeletconfiguration+merge.yaml 644 public",
        ...(n.role === "control-plane"
          ? ["kubeadm-patches/kube-apiserver+json.yaml 644 public", "audit-policy.yaml 644 public", "encryption-config.yaml 600 secret"]
          : []),
      ].sort();
      assert.deepEqual(got, want, n.name);
      // The patch directory is the one kubeadm reads (KUBEADM_PATCH_DIR ends in the same name).
      for (const f of files.get(n.name)!.filter((x) => x.path.includes("/")))
        assert.equal(path.posix.dirname(f.path), path.posix.basename(KUBEADM_PATCH_DIR));
    }
  });

  it("inits on the first control plane only; control-plane joins carry controlPlane.certificateKey, workers do not", () => {
    const inits = [...docs].filter(([, d]) => d.some((x) => x.kind === "InitConfiguration")).map(([n]) => n);
    assert.deepEqual(inits, [first.name]);
    assert.equal(first.name, "cp-1");
    assert.deepEqual(
      docs.get(first.name)!.map((d) => d.kind),
      ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"],
    );
    const key = certificateKey(SEED, cluster, JOIN_EPOCH);
    assert.equal(docs.get(first.name)![0].certificateKey, key, "init uploads the control-plane certificates with the derived key");
    for (const n of plan.nodes.filter((x) => x.name !== first.name)) {
      const d = docs.get(n.name)!;
      assert.deepEqual(
        d.map((x) => x.kind),
        ["JoinConfiguration", "KubeletConfiguration"],
        n.name,
      );
      if (n.role === "control-plane") {
        assert.equal(d[0].controlPlane.certificateKey, key, n.name);
        assert.deepEqual(d[0].controlPlane.localAPIEndpoint, { advertiseAddress: n.addresses[wg3.name], bindPort: API_SERVER_PORT });
      } else {
        assert.equal(d[0].controlPlane, undefined, `${n.name} would join as a control plane`);
        assert.ok(!kubeadmOf(files.get(n.name)!).includes(key), `${n.name} holds the certificate key`);
      }
    }
  });

  it("pins every join to the seed-derived cluster CA (caCertHashes == [clusterCaPin(seed, cluster)]), never unsafeSkipCAVerification", () => {
    assert.match(pin, CA_CERT_HASH);
    assert.notEqual(
      pin,
      spec.spec.security.bootstrap.caFingerprint,
      "the pin is the derived SPKI hash, not the root's certificate fingerprint",
    );
    const keys = (v: unknown): string[] =>
      Array.isArray(v) ? v.flatMap(keys) : v && typeof v === "object" ? Object.entries(v).flatMap(([k, x]) => [k, ...keys(x)]) : [];
    for (const n of plan.nodes) {
      // Not in any document (the join's comment names it, to say it is never used).
      assert.ok(!keys(docs.get(n.name)).some((k) => /unsafeSkipCAVerification/i.test(k)), n.name);
      const join = docs.get(n.name)!.find((d) => d.kind === "JoinConfiguration");
      if (n.name === first.name) assert.equal(join, undefined);
      else {
        assert.deepEqual(join!.discovery.bootstrapToken.caCertHashes, [pin], n.name);
        assert.equal(join!.discovery.bootstrapToken.token, bootstrapToken(SEED, cluster, JOIN_EPOCH));
        assert.equal(join!.discovery.file, undefined);
      }
    }
  });

  it("sets the CIS flags on the API server, controller manager and scheduler, and mounts the files they name", () => {
    const api = argMap(clusterConfig.apiServer.extraArgs);
    assert.equal(api.get("anonymous-auth"), "false"); // CIS 1.2.1
    assert.deepEqual(api.get("authorization-mode")!.split(","), ["Node", "RBAC"]); // 1.2.6–1.2.8
    assert.ok(api.get("enable-admission-plugins")!.split(",").includes("NodeRestriction")); // 1.2.15
    assert.equal(api.get("profiling"), "false"); // 1.2.17
    assert.equal(api.get("audit-log-path"), `${AUDIT_LOG_DIR}/audit.log`); // 1.2.18
    assert.ok(Number(api.get("audit-log-maxage")) >= 30); // 1.2.19
    assert.ok(Number(api.get("audit-log-maxbackup")) >= 10); // 1.2.20
    assert.ok(Number(api.get("audit-log-maxsize")) >= 100); // 1.2.21
    assert.equal(api.get("audit-policy-file"), AUDIT_POLICY_PATH); // 3.2.1
    assert.equal(api.get("encryption-provider-config"), ENCRYPTION_CONFIG_PATH); // 1.2.27
    assert.equal(api.get("kubelet-certificate-authority"), "/etc/kubernetes/pki/ca.crt"); // 1.2.5
    assert.equal(api.has("insecure-port") || api.has("token-auth-file") || api.has("basic-auth-file"), false);
    const mounts = new Map(clusterConfig.apiServer.extraVolumes.map((v: Doc) => [v.mountPath, v]));
    assert.equal((mounts.get(AUDIT_POLICY_PATH) as Doc).readOnly, true);
    assert.equal((mounts.get(ENCRYPTION_CONFIG_PATH) as Doc).readOnly, true);
    assert.equal((mounts.get(AUDIT_LOG_DIR) as Doc).readOnly, false);
    for (const c of ["controllerManager", "scheduler"]) {
      const a = argMap(clusterConfig[c].extraArgs);
      assert.equal(a.get("profiling"), "false", `${c} profiling`); // 1.3.2, 1.4.1
      assert.equal(a.get("bind-address"), "127.0.0.1", `${c} bind-address`); // 1.3.7, 1.4.2
    }
    assert.equal(argMap(clusterConfig.controllerManager.extraArgs).get("use-service-account-credentials"), "true"); // 1.3.3
    // Every control plane has the files the flags name, with the derived key.
    for (const n of plan.nodes.filter((x) => x.role === "control-plane")) {
      const f = files.get(n.name)!;
      const enc = parse(fileOf(f, "encryption-config.yaml")!.content) as Doc;
      assert.equal(enc.resources[0].providers[0].secretbox.keys[0].secret, encryptionKey(SEED, cluster));
      assert.deepEqual(schemaIssues(enc), []);
      assert.deepEqual(schemaIssues(parse(fileOf(f, "audit-policy.yaml")!.content)), []);
    }
  });

  it("sets the CIS kubelet settings in the KubeletConfiguration every node carries", () => {
    for (const n of plan.nodes) {
      const k = docs.get(n.name)!.find((d) => d.kind === "KubeletConfiguration")!;
      assert.equal(k.readOnlyPort, 0, n.name); // CIS 4.2.4
      assert.equal(k.authentication.anonymous.enabled, false); // 4.2.1
      assert.equal(k.authentication.webhook.enabled, true);
      assert.equal(k.authorization.mode, "Webhook"); // 4.2.2
      assert.equal(k.authentication.x509.clientCAFile, "/etc/kubernetes/pki/ca.crt"); // 4.2.3
      assert.equal(k.protectKernelDefaults, true); // 4.2.6
      assert.equal(k.makeIPTablesUtilChains, true); // 4.2.7
      assert.equal(k.rotateCertificates, true); // 4.2.11
      assert.equal(k.featureGates.RotateKubeletServerCertificate, true); // 4.2.12
      assert.equal(k.seccompDefault, true);
      assert.equal(k.serverTLSBootstrap, true);
    }
  });

  it("binds, advertises and reaches only wg3 addresses (loopback aside): every IPv4 address in every file is inside the kubernetes-backend plane", () => {
    const plane = parseCidr(wg3.cidr);
    for (const n of plan.nodes) {
      const own = n.addresses[wg3.name];
      for (const f of files.get(n.name)!) {
        // Addresses, not CIDRs (the pod and service subnets are networks, not endpoints).
        for (const m of f.content.matchAll(/(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})(?![\d./])/g)) {
          if (m[1] === "127.0.0.1") continue;
          assert.ok(contains(plane, parseIp(m[1])), `${n.name}/${f.path} uses ${m[1]}, outside ${wg3.name} ${wg3.cidr}`);
        }
      }
      const d = docs.get(n.name)![0];
      assert.equal(argMap(d.nodeRegistration.kubeletExtraArgs).get("node-ip"), own);
      assert.equal(parse(fileOf(files.get(n.name)!, "kubeadm-patches/kubeletconfiguration+merge.yaml")!.content).address, own);
      const ep = plan.controlPlaneEndpoint!;
      assert.equal(ep.kind, "vip");
      const endpoint = `${ep.kind === "vip" ? ep.address : ""}:${API_SERVER_PORT}`;
      if (d.kind === "JoinConfiguration") assert.equal(d.discovery.bootstrapToken.apiServerEndpoint, endpoint);
      else assert.equal(clusterConfig.controlPlaneEndpoint, endpoint);
    }
  });

  it("renders byte-identical files when rendered twice, and different credentials for another seed", () => {
    for (const n of plan.nodes) assert.deepEqual(renderOf("dev", n.name), files.get(n.name));
    const other = renderNodeKubernetes({ plan, spec, node: "w-1", seed: SEED + "-other" });
    const o = docsOf(kubeadmOf(other))[0];
    assert.notEqual(o.discovery.bootstrapToken.token, docs.get("w-1")![0].discovery.bootstrapToken.token);
    assert.deepEqual(o.discovery.bootstrapToken.caCertHashes, [clusterCaPin(SEED + "-other", cluster)]);
  });
});

// ------------------------------------------------------------------ other substrates and refusals

describe("kubeadm files on Hetzner, bare metal, and when they cannot be rendered", () => {
  it("points Hetzner joins at the private load balancer, whose address hetzner.ts fixes on the private network", () => {
    const { plan } = FIXTURES.hetzner;
    assert.equal(
      HETZNER_LOAD_BALANCER_HOST_INDEX,
      LOAD_BALANCER_HOST_INDEX,
      "render-node.ts and substrate/hetzner.ts disagree on the load balancer's address",
    );
    const lb = hetznerLoadBalancerAddress(plan)!;
    assert.equal(lb, "10.0.0.3");
    assert.ok(contains(parseCidr(plan.underlay!.cidr), parseIp(lb)));
    const init = docsOf(kubeadmOf(renderOf("hetzner", "cp-1")));
    assert.equal(init[1].controlPlaneEndpoint, `${lb}:6443`);
    assert.ok(init[1].apiServer.certSANs.includes(lb), "the API server certificate names the load balancer");
    for (const n of plan.nodes.filter((x) => x.name !== "cp-1")) {
      assert.equal(docsOf(kubeadmOf(renderOf("hetzner", n.name)))[0].discovery.bootstrapToken.apiServerEndpoint, `${lb}:6443`, n.name);
    }
    // The substrate's own address, when known, wins.
    const given = renderNodeKubernetes({ ...FIXTURES.hetzner, node: "w-2", seed: SEED, loadBalancerAddress: "10.0.0.9" });
    assert.equal(docsOf(kubeadmOf(given))[0].discovery.bootstrapToken.apiServerEndpoint, "10.0.0.9:6443");
    assert.equal(hetznerLoadBalancerAddress(FIXTURES.dev.plan), undefined, "a VIP endpoint has no load balancer");
  });

  it("pins bare-metal (pinned-ca) joins to the seed-derived CA as well", () => {
    const { plan } = FIXTURES.baremetal;
    assert.equal(FIXTURES.baremetal.spec.spec.security.bootstrap.model, "pinned-ca");
    const j = docsOf(kubeadmOf(renderOf("baremetal", "w-2")))[0];
    assert.deepEqual(j.discovery.bootstrapToken.caCertHashes, [clusterCaPin(SEED, plan.cluster.name)]);
  });

  it("refuses, naming the reason, when Kubernetes is disabled, the version has no lock, or a to-fu join has no pin", () => {
    const variant = (edits: Array<[Array<string | number>, unknown]>): { plan: Plan; spec: ClusterSpec } => specAndPlan(edited(DEV, edits));
    // (A disabled spec would also have to drop its Kubernetes gates to validate; the renderer reads only the flag.)
    const dev = FIXTURES.dev;
    const disabled = { ...dev.spec, spec: { ...dev.spec.spec, kubernetes: { ...dev.spec.spec.kubernetes, enabled: false } } };
    assert.throws(
      () => renderNodeKubernetes({ plan: dev.plan, spec: disabled, node: "cp-1", seed: SEED }),
      /kubernetes\.enabled is false for dev-lab/,
    );
    const old = variant([[["spec", "kubernetes", "version"], "v1.30.x"]]);
    assert.throws(
      () => renderNodeKubernetes({ ...old, node: "cp-1", seed: SEED }),
      /kubernetes\.version v1\.30\.x has no version lock; kubedos builds v1\.31\.x, v1\.32\.x/,
    );
    const tofu = variant([
      [["spec", "security", "bootstrap", "model"], "to-fu"],
      [["spec", "security", "bootstrap", "caFingerprint"], undefined],
    ]);
    assert.equal(kubeadmConfigBlocker(tofu.plan, tofu.spec, "cp-1"), undefined, "init needs no pin");
    assert.doesNotThrow(() => renderNodeKubernetes({ ...tofu, node: "cp-1", seed: SEED }));
    assert.match(kubeadmConfigBlocker(tofu.plan, tofu.spec, "w-1")!, /to-fu/);
    assert.throws(
      () => renderNodeKubernetes({ ...tofu, node: "w-1", seed: SEED }),
      /cannot render kubeadm\.yaml for w-1: .*to-fu.*caFingerprint/,
    );
    // to-fu with the pin kubeadm init reported: joins use it (there is no derived pin).
    const reported = "sha256:" + "ab".repeat(32);
    const pinned = variant([
      [["spec", "security", "bootstrap", "model"], "to-fu"],
      [["spec", "security", "bootstrap", "caFingerprint"], reported],
    ]);
    const j = docsOf(kubeadmOf(renderNodeKubernetes({ ...pinned, node: "w-1", seed: SEED })))[0];
    assert.deepEqual(j.discovery.bootstrapToken.caCertHashes, [reported]);
    assert.throws(() => renderNodeKubernetes({ ...FIXTURES.dev, node: "nope", seed: SEED }), /node nope is not in the plan/);
  });
});
