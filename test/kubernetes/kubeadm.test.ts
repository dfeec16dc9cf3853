/**
 * kubeadm configuration (components/kubernetes/kubeadm.ts) and derived credentials
 * (components/kubernetes/tokens.ts) for the dev stack: which node inits, which join (and how),
 * that everything binds to the kubernetes-backend plane (wg3), the CIS flags, the CA pin
 * fallback, the pod network and registry mirror, and a strict schema check of every rendered
 * document (test/kubernetes/kubeadm-schema.ts, transcribed from the upstream Go types).
 */
import { strict as assert } from "node:assert";
import { parseAllDocuments, parse } from "yaml";
import {
  dnsImageRepository,
  initNode,
  kubeadmSpecInputs,
  renderAuditPolicy,
  renderEncryptionConfig,
  renderKubeadmConfig,
  renderKubeadmPatches,
  type KubeadmInput,
} from "../../components/kubernetes/kubeadm";
import { BOOTSTRAP_TOKEN_RE, bootstrapToken, certificateKey, encryptionKey } from "../../components/kubernetes/tokens";
import { buildPlan } from "../../components/plan/plan";
import { validateSpecText } from "../../components/spec/validate";
import { imageRef, resolveKubernetes } from "../../components/supplychain/locks";
import { DEV } from "../plan/helpers";
import { KUBEADM_SCHEMAS, KubeletConfiguration } from "./kubeadm-schema";

const TEST_SEED = "kubedos-test-seed-0123456789abcdef";

const r = validateSpecText(DEV, "stacks/dev/cluster.yaml");
assert.ok(r.valid && r.spec, "dev spec is valid");
const spec = r.spec!;
const plan = buildPlan(spec);
const cluster = plan.cluster.name;
const wg3 = plan.planes.find((p) => p.purpose === "kubernetes-backend")!.name;
const vip = plan.controlPlaneEndpoint!.kind === "vip" ? plan.controlPlaneEndpoint!.address : "";
/** The exact version dev's `kubernetes.version` (a minor line) resolves to through the locks. */
const VERSION = resolveKubernetes(spec.spec.kubernetes.version).version;

const base = (): Omit<KubeadmInput, "node"> => ({
  plan,
  token: bootstrapToken(TEST_SEED, cluster, 1),
  certificateKey: certificateKey(TEST_SEED, cluster, 1),
  ...kubeadmSpecInputs(spec),
});

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
function docsOf(text: string): Doc[] {
  const docs = parseAllDocuments(text);
  assert.ok(Array.isArray(docs));
  return docs.map((d) => {
    assert.deepEqual(d.errors, [], "YAML parses without errors");
    return d.toJS() as Doc;
  });
}
const rendered = new Map(plan.nodes.map((n) => [n.name, docsOf(renderKubeadmConfig({ ...base(), node: n.name }))]));
const kinds = (name: string) => rendered.get(name)!.map((d) => d.kind);
const argMap = (a: Array<{ name: string; value: string }>) => {
  const m = new Map<string, string>();
  for (const { name, value } of a) {
    assert.ok(!m.has(name), `duplicate argument ${name}`);
    m.set(name, value);
  }
  return m;
};

// ------------------------------------------------------------------ tests

describe("kubernetes credentials", () => {
  it("bootstrap tokens match the kubeadm format, are stable per seed and differ per epoch, cluster and seed", () => {
    const seen = new Set<string>();
    for (const epoch of [0, 1, 2, 3, 1000]) {
      const t = bootstrapToken(TEST_SEED, cluster, epoch);
      assert.match(t, BOOTSTRAP_TOKEN_RE);
      assert.equal(bootstrapToken(TEST_SEED, cluster, epoch), t);
      assert.ok(!seen.has(t));
      seen.add(t);
    }
    assert.notEqual(bootstrapToken(TEST_SEED, "other", 1), bootstrapToken(TEST_SEED, cluster, 1));
    assert.notEqual(bootstrapToken(TEST_SEED + "x", cluster, 1), bootstrapToken(TEST_SEED, cluster, 1));
  });

  it("token characters are spread over all of [a-z0-9] (no visible bias)", () => {
    const counts = new Map<string, number>();
    for (let e = 0; e < 400; e++)
      for (const c of bootstrapToken(TEST_SEED, cluster, e).replace(".", "")) counts.set(c, (counts.get(c) ?? 0) + 1);
    assert.equal(counts.size, 36);
    // 8800 draws, expectation 244 each; a modulo-free sampler stays well inside ±35%.
    for (const [c, n] of counts) assert.ok(n > 160 && n < 330, `${c}: ${n}`);
  });

  it("certificate keys are 64 hex, stable, and differ per epoch and cluster; encryption keys are 32 bytes", () => {
    const k = certificateKey(TEST_SEED, cluster, 1);
    assert.match(k, /^[0-9a-f]{64}$/);
    assert.equal(certificateKey(TEST_SEED, cluster, 1), k);
    assert.notEqual(certificateKey(TEST_SEED, cluster, 2), k);
    assert.notEqual(certificateKey(TEST_SEED, "other", 1), k);
    const e = encryptionKey(TEST_SEED, cluster);
    assert.equal(Buffer.from(e, "base64").length, 32);
    assert.equal(encryptionKey(TEST_SEED, cluster), e);
    assert.notEqual(encryptionKey(TEST_SEED, "other"), e);
  });
});

describe("kubeadm config (dev stack)", () => {
  const init = initNode(plan);
  const cps = plan.nodes.filter((n) => n.role === "control-plane");
  const workers = plan.nodes.filter((n) => n.role === "worker");

  it("the first control plane by name inits; other control planes join with controlPlane; workers join without", () => {
    assert.equal(init.name, "cp-1");
    assert.deepEqual(kinds("cp-1"), ["InitConfiguration", "ClusterConfiguration", "KubeletConfiguration"]);
    for (const n of cps.filter((n) => n.name !== init.name)) {
      assert.deepEqual(kinds(n.name), ["JoinConfiguration", "KubeletConfiguration"]);
      const j = rendered.get(n.name)![0];
      assert.equal(j.controlPlane.certificateKey, certificateKey(TEST_SEED, cluster, 1));
    }
    assert.equal(workers.length, 3);
    for (const n of workers) {
      assert.deepEqual(kinds(n.name), ["JoinConfiguration", "KubeletConfiguration"]);
      assert.equal(rendered.get(n.name)![0].controlPlane, undefined);
    }
  });

  it("binds every address to the node's wg3 address and points joins at the VIP:6443", () => {
    assert.match(vip, /^10\.113\.0\.\d+$/);
    for (const n of plan.nodes) {
      const a = n.addresses[wg3];
      const docs = rendered.get(n.name)!;
      const first = docs[0];
      assert.equal(argMap(first.nodeRegistration.kubeletExtraArgs).get("node-ip"), a);
      assert.equal(docs.find((d) => d.kind === "KubeletConfiguration")!.address, a);
      assert.equal(parse(renderKubeadmPatches(plan, n)["kubeletconfiguration+merge.yaml"]).address, a);
      if (first.kind === "InitConfiguration") {
        assert.deepEqual(first.localAPIEndpoint, { advertiseAddress: a, bindPort: 6443 });
        const cc = docs[1];
        assert.equal(cc.controlPlaneEndpoint, `${vip}:6443`);
        assert.ok(cc.apiServer.certSANs.includes(vip) && cc.apiServer.certSANs.includes(a));
        for (const cp of cps) assert.ok(cc.apiServer.certSANs.includes(cp.addresses[wg3]));
      } else {
        assert.equal(first.discovery.bootstrapToken.apiServerEndpoint, `${vip}:6443`);
        if (n.role === "control-plane") assert.deepEqual(first.controlPlane.localAPIEndpoint, { advertiseAddress: a, bindPort: 6443 });
      }
      const apiPatch = renderKubeadmPatches(plan, n)["kube-apiserver+json.yaml"];
      if (n.role === "control-plane")
        assert.deepEqual(parse(apiPatch), [{ op: "add", path: "/spec/containers/0/command/-", value: `--bind-address=${a}` }]);
      else assert.equal(apiPatch, undefined);
      // No other node's wg3 address (nor any other plane's) appears in a per-node field.
      const text = JSON.stringify(first);
      for (const other of plan.nodes)
        if (other.name !== n.name) assert.ok(!text.includes(`"${other.addresses[wg3]}"`), `${n.name} mentions ${other.name}`);
      for (const p of plan.planes)
        if (p.name !== wg3) assert.ok(!JSON.stringify(docs).includes(n.addresses[p.name] + '"'), `${n.name} uses ${p.name}`);
    }
  });

  it("sets the CIS flags exactly", () => {
    const [ic, cc, kc] = rendered.get("cp-1")!;
    const api = argMap(cc.apiServer.extraArgs);
    const expectApi: Record<string, string> = {
      "anonymous-auth": "false",
      "authorization-mode": "Node,RBAC",
      "enable-admission-plugins": "NodeRestriction",
      profiling: "false",
      "audit-log-path": "/var/log/kubernetes/audit/audit.log",
      "audit-log-maxage": "30",
      "audit-log-maxbackup": "10",
      "audit-log-maxsize": "100",
      "audit-policy-file": "/etc/kubernetes/audit-policy.yaml",
      "encryption-provider-config": "/etc/kubernetes/encryption-config.yaml",
      "tls-min-version": "VersionTLS12",
      "kubelet-certificate-authority": "/etc/kubernetes/pki/ca.crt",
    };
    for (const [k, v] of Object.entries(expectApi)) assert.equal(api.get(k), v, k);
    const mounts = cc.apiServer.extraVolumes.map((v: { mountPath: string }) => v.mountPath);
    for (const p of ["/etc/kubernetes/audit-policy.yaml", "/etc/kubernetes/encryption-config.yaml", "/var/log/kubernetes/audit"])
      assert.ok(mounts.includes(p), p);
    const cm = argMap(cc.controllerManager.extraArgs);
    // kubedos assigns pod CIDRs (PlanNode.podCidr); the controller manager must not.
    assert.equal(cm.get("allocate-node-cidrs"), "false");
    assert.equal(cm.get("profiling"), "false");
    assert.equal(cm.get("use-service-account-credentials"), "true");
    assert.equal(cm.get("bind-address"), "127.0.0.1");
    assert.ok(Number(cm.get("terminated-pod-gc-threshold")) > 0);
    assert.equal(cm.get("feature-gates"), "RotateKubeletServerCertificate=true");
    const sch = argMap(cc.scheduler.extraArgs);
    assert.equal(sch.get("profiling"), "false");
    assert.equal(sch.get("bind-address"), "127.0.0.1");
    assert.equal(cc.kubernetesVersion, VERSION);
    assert.match(VERSION, /^v1\.32\.\d+$/, "dev's v1.32.x resolves to an exact v1.32 patch");
    assert.deepEqual(cc.networking, { podSubnet: plan.podNetwork!.podSubnet, serviceSubnet: plan.podNetwork!.serviceSubnet });
    assert.deepEqual(ic.skipPhases, ["addon/kube-proxy"]);
    assert.equal(cc.proxy.disabled, true);
    assert.deepEqual(ic.bootstrapTokens, [
      {
        token: bootstrapToken(TEST_SEED, cluster, 1),
        description: "kubedos join window",
        ttl: "30m0s",
        usages: ["signing", "authentication"],
        groups: ["system:bootstrappers:kubeadm:default-node-token"],
      },
    ]);
    for (const docs of rendered.values()) {
      const k = docs.find((d) => d.kind === "KubeletConfiguration")!;
      assert.deepEqual({ ...k, address: undefined }, { ...kc, address: undefined }, "the same KubeletConfiguration everywhere");
      assert.equal(k.authentication.anonymous.enabled, false);
      assert.equal(k.authentication.webhook.enabled, true);
      assert.equal(k.authorization.mode, "Webhook");
      assert.equal(k.readOnlyPort, 0);
      assert.equal(k.protectKernelDefaults, true);
      assert.equal(k.rotateCertificates, true);
      assert.equal(k.serverTLSBootstrap, true);
      assert.equal(k.seccompDefault, true);
    }
  });

  it("pins the CA on every join: given hashes, else the spec fingerprint, else refuses", () => {
    // renderKubeadmConfig alone: without caCertHashes it falls back to caFingerprint — the to-fu
    // path (render-node.ts always passes the seed-derived pin under offline-ca and pinned-ca,
    // checked in render-node.test.ts). Dev's fingerprint stands in for a to-fu pin here.
    const fp = spec.spec.security.bootstrap.caFingerprint!;
    for (const [name, docs] of rendered) {
      assert.ok(!JSON.stringify(docs).includes("unsafeSkipCAVerification"), name);
      if (docs[0].kind === "JoinConfiguration") assert.deepEqual(docs[0].discovery.bootstrapToken.caCertHashes, [fp]);
    }
    const h = "sha256:" + "ab".repeat(32);
    const withHash = docsOf(renderKubeadmConfig({ ...base(), node: "w-1", caCertHashes: [h] }));
    assert.deepEqual(withHash[0].discovery.bootstrapToken.caCertHashes, [h]);
    assert.throws(() => renderKubeadmConfig({ ...base(), node: "w-1", caFingerprint: undefined }), /CA pin/);
    assert.throws(() => renderKubeadmConfig({ ...base(), node: "cp-2", caFingerprint: "sha256:abc" }), /CA pin/);
    assert.throws(() => renderKubeadmConfig({ ...base(), node: "w-1", caCertHashes: ["md5:x"] }), /caCertHashes/);
    // The init node needs no pin.
    assert.doesNotThrow(() => renderKubeadmConfig({ ...base(), node: "cp-1", caFingerprint: undefined }));
  });

  it("rejects inexact versions and malformed credentials", () => {
    assert.throws(() => renderKubeadmConfig({ ...base(), node: "cp-1", kubernetesVersion: "v1.30.x" }), /exact/);
    // v1beta4 needs kubeadm 1.31+: an older version is refused rather than rendered unreadable.
    assert.throws(() => renderKubeadmConfig({ ...base(), node: "cp-1", kubernetesVersion: "v1.30.14" }), /needs v1\.31 or later/);
    assert.throws(() => renderKubeadmConfig({ ...base(), node: "cp-1", token: "abc.def" }), /bootstrap token/);
    assert.throws(() => renderKubeadmConfig({ ...base(), node: "cp-1", certificateKey: "00" }), /certificateKey/);
    assert.throws(() => renderKubeadmConfig({ ...base(), node: "nope" }), /not in the plan/);
  });

  it("points kubeadm at the registry mirror for every image it pulls, at the paths the version locks mirror, when one is declared", () => {
    const mirror = plan.mirrors.registry!;
    assert.equal(mirror, "registry.lab.example:5000");
    const cc = rendered.get("cp-1")![1];
    assert.equal(cc.imageRepository, mirror);
    assert.deepEqual(cc.dns, { imageRepository: dnsImageRepository(mirror) });
    // kubeadm's image names (cmd/kubeadm/app/images/images.go): <imageRepository>/<name>:<tag>,
    // CoreDNS from dns.imageRepository when set; each must be where the locks mirror it.
    const lock = resolveKubernetes(spec.spec.kubernetes.version);
    const kubeadmPulls: Record<keyof typeof lock.images, string> = {
      "kube-apiserver": `${cc.imageRepository}/kube-apiserver`,
      "kube-controller-manager": `${cc.imageRepository}/kube-controller-manager`,
      "kube-scheduler": `${cc.imageRepository}/kube-scheduler`,
      etcd: `${cc.imageRepository}/etcd`,
      pause: `${cc.imageRepository}/pause`,
      coredns: `${cc.dns.imageRepository}/coredns`,
    };
    for (const [name, repo] of Object.entries(kubeadmPulls)) {
      const img = lock.images[name as keyof typeof lock.images];
      assert.equal(`${repo}:${img.tag}`, imageRef({ ...img, digest: undefined }, mirror), name);
    }
    assert.equal(lock.images["kube-apiserver"].tag, VERSION, "kubeadm tags the control plane with kubernetesVersion");
    // No mirror: kubeadm keeps registry.k8s.io (and its own coredns/coredns rename).
    const bare = { ...plan, mirrors: {} };
    const docs = docsOf(renderKubeadmConfig({ ...base(), plan: bare, node: "cp-1" }));
    assert.equal(docs[1].imageRepository, undefined);
    assert.equal(docs[1].dns, undefined);
  });

  it("takes the pod and service subnets from the plan's podNetwork, and the exact version from the locks", () => {
    assert.ok(plan.podNetwork, "dev has Kubernetes enabled");
    const cc = rendered.get("cp-1")![1];
    assert.equal(cc.networking.podSubnet, plan.podNetwork!.podSubnet);
    assert.equal(cc.networking.serviceSubnet, plan.podNetwork!.serviceSubnet);
    for (const n of plan.nodes) assert.ok(n.podCidr, `${n.name} has a pod CIDR from the plan`);
    const other = { ...plan, podNetwork: { podSubnet: "10.200.0.0/16", serviceSubnet: "10.201.0.0/16", nodePrefix: 24 } };
    const docs = docsOf(renderKubeadmConfig({ ...base(), plan: other, node: "cp-1" }));
    assert.deepEqual(docs[1].networking, { podSubnet: "10.200.0.0/16", serviceSubnet: "10.201.0.0/16" });
    assert.equal(kubeadmSpecInputs(spec).kubernetesVersion, VERSION);
    const old = { ...spec, spec: { ...spec.spec, kubernetes: { ...spec.spec.kubernetes, version: "v1.30.x" } } };
    assert.throws(() => kubeadmSpecInputs(old), /v1\.30\.x has no version lock; kubedos builds v1\.31\.x, v1\.32\.x/);
  });

  it("uses the load balancer address as the endpoint when the plan has one", () => {
    const lbPlan = { ...plan, controlPlaneEndpoint: { kind: "load-balancer" as const, port: 6443 } };
    assert.throws(() => renderKubeadmConfig({ ...base(), plan: lbPlan, node: "cp-1" }), /loadBalancerAddress/);
    const docs = docsOf(renderKubeadmConfig({ ...base(), plan: lbPlan, node: "cp-1", loadBalancerAddress: "10.0.0.5" }));
    assert.equal(docs[1].controlPlaneEndpoint, "10.0.0.5:6443");
    assert.ok(docs[1].apiServer.certSANs.includes("10.0.0.5"));
    const w = docsOf(renderKubeadmConfig({ ...base(), plan: lbPlan, node: "w-2", loadBalancerAddress: "10.0.0.5" }));
    assert.equal(w[0].discovery.bootstrapToken.apiServerEndpoint, "10.0.0.5:6443");
  });

  it("every document has apiVersion/kind and passes the strict schema of its upstream type", () => {
    let n = 0;
    for (const [name, docs] of rendered) {
      for (const d of docs) {
        assert.ok(typeof d.apiVersion === "string" && typeof d.kind === "string", name);
        const s = KUBEADM_SCHEMAS[d.kind];
        assert.ok(s, `no schema for ${d.kind}`);
        const res = s.safeParse(d);
        assert.ok(res.success, `${name} ${d.kind}: ${res.success ? "" : JSON.stringify(res.error.issues)}`);
        n++;
      }
    }
    assert.equal(n, 3 + 5 * 2);
    // A misspelled field fails the strict schema.
    const bad = { ...rendered.get("cp-1")![2], readOnlyport: 0 };
    assert.equal(KubeletConfiguration.safeParse(bad).success, false);
  });

  it("renders deterministically", () => {
    for (const n of plan.nodes) assert.equal(renderKubeadmConfig({ ...base(), node: n.name }), renderKubeadmConfig({ ...base(), node: n }));
  });
});

describe("audit policy and encryption config", () => {
  it("audit policy: health endpoints not logged, secret bodies never logged, RBAC changes in full, Metadata otherwise", () => {
    const p = parse(renderAuditPolicy());
    assert.equal(p.apiVersion, "audit.k8s.io/v1");
    assert.equal(p.kind, "Policy");
    const rules = p.rules as Array<Doc>;
    assert.equal(rules[0].level, "None");
    assert.ok(rules[0].nonResourceURLs.includes("/healthz") && rules[0].nonResourceURLs.includes("/readyz"));
    // The first rule that can match secrets is Metadata (first match wins).
    const firstFor = (group: string, resource: string) =>
      rules.find(
        (r) => !r.nonResourceURLs && (!r.resources || r.resources.some((g: Doc) => g.group === group && g.resources.includes(resource))),
      );
    assert.equal(firstFor("", "secrets")!.level, "Metadata");
    assert.equal(firstFor("", "configmaps")!.level, "Metadata");
    assert.equal(firstFor("authentication.k8s.io", "tokenreviews")!.level, "Metadata");
    assert.equal(firstFor("rbac.authorization.k8s.io", "clusterrolebindings")!.level, "RequestResponse");
    assert.deepEqual(rules[rules.length - 1], { level: "Metadata" });
    for (const r of rules) assert.ok(["None", "Metadata", "Request", "RequestResponse"].includes(r.level));
  });

  it("encryption config: secretbox with the derived key, identity last", () => {
    const key = encryptionKey(TEST_SEED, cluster);
    const c = parse(renderEncryptionConfig(key));
    assert.equal(c.apiVersion, "apiserver.config.k8s.io/v1");
    assert.equal(c.kind, "EncryptionConfiguration");
    assert.deepEqual(c.resources[0].resources, ["secrets"]);
    const providers = c.resources[0].providers;
    assert.equal(providers[0].secretbox.keys[0].secret, key);
    assert.deepEqual(providers[providers.length - 1], { identity: {} });
    assert.equal(renderEncryptionConfig(Buffer.from(key, "base64")), renderEncryptionConfig(key));
    assert.throws(() => renderEncryptionConfig(Buffer.alloc(16)), /32 bytes/);
  });
});
