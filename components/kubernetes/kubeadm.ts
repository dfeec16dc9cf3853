/**
 * kubeadm configuration for every node of the Plan (pure: no Pulumi, no I/O).
 *
 * The first control plane (by name) gets InitConfiguration + ClusterConfiguration +
 * KubeletConfiguration; every other node a JoinConfiguration (control-plane joiners with
 * `controlPlane`) + the same KubeletConfiguration. Everything Kubernetes listens on or advertises
 * is the node's address on the `kubernetes-backend` plane (wg3): API server, etcd, kubelet.
 *
 * ClusterConfiguration and KubeletConfiguration are cluster-wide: kubeadm uploads them at init
 * (ConfigMaps kubeadm-config and kubelet-config) and joiners use the uploaded copies, so they
 * must not carry one node's address. Per-node bindings that kubeadm does not derive from
 * `localAPIEndpoint.advertiseAddress` (the API server's --bind-address, the kubelet's `address`)
 * are kubeadm patches, rendered per node by `renderKubeadmPatches` into KUBEADM_PATCH_DIR.
 * etcd's peer/client URLs need no patch: kubeadm derives all four from the advertise address
 * (https://<wg3>:2380, https://127.0.0.1:2379 + https://<wg3>:2379).
 *
 * Pod networking: kubedos, not kube-controller-manager, assigns each node's pod CIDR (the Plan's
 * PlanNode.podCidr), so the controller manager runs with allocate-node-cidrs=false; the pod and
 * service subnets come from Plan.podNetwork.
 *
 * Images: with a registry mirror declared (`mirrors.registry`), ClusterConfiguration.imageRepository
 * points kubeadm at it for the control plane, etcd and pause, and dns.imageRepository keeps CoreDNS
 * at the path the version locks mirror it under (see `dnsImageRepository`).
 */
import { stringify } from "yaml";
import { DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET } from "../plan/kubernetes-networks";
import type { Plan, PlanNode } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import { resolveKubernetes } from "../supplychain/locks";
import { BOOTSTRAP_TOKEN_RE } from "./tokens";

export const KUBEADM_API = "kubeadm.k8s.io/v1beta4";
export const KUBELET_API = "kubelet.config.k8s.io/v1beta1";
export const API_SERVER_PORT = 6443;
/** The fallbacks when a plan carries no podNetwork: one definition, in the plan's module. */
export { DEFAULT_POD_SUBNET, DEFAULT_SERVICE_SUBNET } from "../plan/kubernetes-networks";
export const KUBEADM_PATCH_DIR = "/etc/kubernetes/kubeadm-patches";
export const AUDIT_POLICY_PATH = "/etc/kubernetes/audit-policy.yaml";
export const ENCRYPTION_CONFIG_PATH = "/etc/kubernetes/encryption-config.yaml";
export const AUDIT_LOG_DIR = "/var/log/kubernetes/audit";
export const CRI_SOCKET = "unix:///run/containerd/containerd.sock";

/**
 * Kernel parameters the kubelet requires with `protectKernelDefaults: true` (it refuses to start
 * when they differ). Whoever provisions the node must set them before the kubelet runs.
 */
export const KUBELET_REQUIRED_SYSCTLS: ReadonlyArray<readonly [string, string]> = [
  ["vm.overcommit_memory", "1"],
  ["vm.panic_on_oom", "0"],
  ["kernel.panic", "10"],
  ["kernel.panic_on_oops", "1"],
  ["kernel.keys.root_maxkeys", "1000000"],
  ["kernel.keys.root_maxbytes", "25000000"],
];

const CA_HASH_RE = /^sha256:[0-9a-f]{64}$/;
const CERT_KEY_RE = /^[0-9a-f]{64}$/;
const EXACT_VERSION_RE = /^v\d+\.\d+\.\d+$/;

export interface KubeadmInput {
  plan: Plan;
  /** The node to render for (a PlanNode or its name). */
  node: PlanNode | string;
  /** Exact version, e.g. `v1.32.9`: the spec's `v1.32.x` resolved by the version locks (kubeadmSpecInputs). */
  kubernetesVersion: string;
  /** Bootstrap token (`bootstrapToken()`). */
  token: string;
  /** kubeadm --certificate-key, 64 hex (`certificateKey()`). */
  certificateKey: string;
  /**
   * `sha256:<hex>` of the cluster CA's public key (SPKI). Under offline-ca and pinned-ca the CA key
   * derives from the seed, so callers always pass `[clusterCaPin(seed, cluster)]` (pki.ts): every
   * join is pinned before any machine exists. Falls back to `caFingerprint` when absent.
   */
  caCertHashes?: string[];
  /**
   * spec.security.bootstrap.caFingerprint, the fallback pin when caCertHashes is absent. Only the
   * to-fu model gets here: kubeadm generates its own CA at init, so no pin can be derived, and
   * the operator supplies the hash init reports (an SPKI pin, `sha256:<64 hex>`) as caFingerprint;
   * until then joins cannot be rendered (never unsafeSkipCAVerification). Under offline-ca and
   * pinned-ca caFingerprint is a certificate fingerprint (of the root, or of the CA certificate —
   * pki.ts verifyCaBundle), not an SPKI pin: those models must pass caCertHashes.
   */
  caFingerprint?: string;
  /** spec.security.enrollment.joinWindowMinutes: the bootstrap token's ttl. */
  joinWindowMinutes: number;
  /** Address of the Hetzner load balancer; required when the endpoint is `load-balancer`. */
  loadBalancerAddress?: string;
  /** Overrides Plan.podNetwork.podSubnet (tests); default: the plan's, else DEFAULT_POD_SUBNET. */
  podSubnet?: string;
  /** Overrides Plan.podNetwork.serviceSubnet (tests); default: the plan's, else DEFAULT_SERVICE_SUBNET. */
  serviceSubnet?: string;
}

/**
 * The spec fields renderKubeadmConfig needs that the Plan does not carry: the join window, the
 * to-fu fallback pin, and the exact Kubernetes version the locks resolve `kubernetes.version` to
 * (throws resolveKubernetes's message when the minor line has no lock).
 */
export function kubeadmSpecInputs(spec: ClusterSpec): Pick<KubeadmInput, "caFingerprint" | "joinWindowMinutes" | "kubernetesVersion"> {
  const s = spec.spec.security;
  return {
    kubernetesVersion: resolveKubernetes(spec.spec.kubernetes.version).version,
    joinWindowMinutes: s.enrollment.joinWindowMinutes,
    ...(s.bootstrap.caFingerprint ? { caFingerprint: s.bootstrap.caFingerprint } : {}),
  };
}

/**
 * Where kubeadm pulls CoreDNS from under a mirror. kubeadm appends `/coredns` to the repository
 * itself only for the default registry.k8s.io (upstream's image is registry.k8s.io/coredns/coredns);
 * with imageRepository set to a mirror it would pull `<mirror>/coredns:<tag>`, while the version
 * locks mirror the image as `<mirror>/coredns/coredns` (supplychain/locks.ts mirroredRepository).
 */
export function dnsImageRepository(mirror: string): string {
  return `${mirror}/coredns`;
}

const byName = (a: string, b: string): number => a.localeCompare(b, "en", { numeric: true });

/** The node that runs `kubeadm init`: the first control plane by name. */
export function initNode(plan: Plan): PlanNode {
  const cps = plan.nodes.filter((n) => n.role === "control-plane").sort((a, b) => byName(a.name, b.name));
  if (cps.length === 0) throw new Error("the plan has no control-plane node to run kubeadm init");
  return cps[0];
}

/** Name of the `kubernetes-backend` plane (wg3). */
export function kubernetesPlane(plan: Plan): string {
  const p = plan.planes.find((x) => x.purpose === "kubernetes-backend");
  if (!p) throw new Error("the plan has no kubernetes-backend plane: the API server, etcd and kubelets bind to it");
  return p.name;
}

/** The node's address on the kubernetes-backend plane. */
export function kubeAddress(plan: Plan, node: PlanNode): string {
  const plane = kubernetesPlane(plan);
  const a = node.addresses[plane];
  if (!a) throw new Error(`node ${node.name} has no address on the ${plane} plane`);
  return a;
}

/** `host:port` of the control-plane endpoint (VIP on wg3, or the load balancer). */
export function controlPlaneEndpoint(plan: Plan, loadBalancerAddress?: string): { host: string; port: number; endpoint: string } {
  const ep = plan.controlPlaneEndpoint;
  if (!ep) throw new Error("the plan has no control-plane endpoint (is kubernetes.enabled false?)");
  let host: string;
  if (ep.kind === "vip") host = ep.address;
  else {
    // The plan fixes the load balancer's address where the substrate attaches it (Hetzner).
    const address = loadBalancerAddress ?? ep.address;
    if (!address) throw new Error("the control-plane endpoint is a load balancer without a known address: pass loadBalancerAddress");
    host = address;
  }
  return { host, port: ep.port, endpoint: `${host}:${ep.port}` };
}

/**
 * CA pins for a join: the given hashes (the seed-derived pin under offline-ca / pinned-ca), else
 * the spec's caFingerprint (to-fu, see KubeadmInput.caFingerprint). Never empty: without a pin
 * this throws rather than render a join that trusts whatever CA answers.
 */
export function joinCaCertHashes(caCertHashes: string[] | undefined, caFingerprint: string | undefined): string[] {
  if (caCertHashes && caCertHashes.length > 0) {
    for (const h of caCertHashes) {
      if (!CA_HASH_RE.test(h)) throw new Error(`caCertHashes entry ${JSON.stringify(h)} is not sha256:<64 lowercase hex>`);
    }
    return [...caCertHashes];
  }
  const fp = caFingerprint?.toLowerCase();
  if (fp && CA_HASH_RE.test(fp)) return [fp];
  throw new Error(
    "cannot render a kubeadm join without a CA pin: caCertHashes is not known yet and security.bootstrap.caFingerprint " +
      `is ${caFingerprint === undefined ? "absent" : `not a sha256:<64 hex> fingerprint (${JSON.stringify(caFingerprint)})`}; ` +
      "kubedos never joins with unsafeSkipCAVerification",
  );
}

/** v1beta4 structured arguments (a list of {name, value}, duplicates allowed). */
type Args = Array<{ name: string; value: string }>;
const args = (pairs: Array<[string, string]>): Args => pairs.map(([name, value]) => ({ name, value }));

function resolveNode(plan: Plan, node: PlanNode | string): PlanNode {
  const name = typeof node === "string" ? node : node.name;
  const n = plan.nodes.find((x) => x.name === name);
  if (!n) throw new Error(`node ${name} is not in the plan`);
  return n;
}

function nodeRegistration(node: PlanNode, address: string) {
  return {
    name: node.name,
    criSocket: CRI_SOCKET,
    kubeletExtraArgs: args([["node-ip", address]]),
  };
}

const patches = { directory: KUBEADM_PATCH_DIR };

/** The KubeletConfiguration shared by every node (kubeadm uploads it as the kubelet-config ConfigMap). */
export function kubeletConfiguration(address?: string): Record<string, unknown> {
  return {
    apiVersion: KUBELET_API,
    kind: "KubeletConfiguration",
    // Per node the kubelet binds to its wg3 address: the `address` patch in KUBEADM_PATCH_DIR
    // (this document is shared cluster-wide, so the value here is the init node's).
    ...(address ? { address } : {}),
    authentication: {
      anonymous: { enabled: false },
      webhook: { enabled: true, cacheTTL: "2m0s" },
      x509: { clientCAFile: "/etc/kubernetes/pki/ca.crt" },
    },
    authorization: { mode: "Webhook" },
    readOnlyPort: 0,
    protectKernelDefaults: true,
    makeIPTablesUtilChains: true,
    rotateCertificates: true,
    serverTLSBootstrap: true,
    seccompDefault: true,
    eventRecordQPS: 5,
    streamingConnectionIdleTimeout: "5m0s",
    tlsMinVersion: "VersionTLS12",
    cgroupDriver: "systemd",
    featureGates: { RotateKubeletServerCertificate: true },
  };
}

function initDocuments(i: KubeadmInput, plan: Plan, node: PlanNode, address: string): Array<{ comment?: string; body: object }> {
  const ep = controlPlaneEndpoint(plan, i.loadBalancerAddress);
  const plane = kubernetesPlane(plan);
  const cpAddresses = plan.nodes
    .filter((n) => n.role === "control-plane")
    .sort((a, b) => byName(a.name, b.name))
    .map((n) => n.addresses[plane]);
  const certSANs = [...new Set([ep.host, address, ...cpAddresses])];
  const mirror = plan.mirrors.registry;
  const hostFile = (name: string, path: string) => ({ name, hostPath: path, mountPath: path, readOnly: true, pathType: "File" });
  return [
    {
      comment:
        " kubeadm init on the first control plane. kube-proxy is not installed: Cilium replaces it\n" +
        " (kube-proxy replacement), hence skipPhases addon/kube-proxy and proxy.disabled.",
      body: {
        apiVersion: KUBEADM_API,
        kind: "InitConfiguration",
        bootstrapTokens: [
          {
            token: i.token,
            description: "kubedos join window",
            ttl: `${i.joinWindowMinutes}m0s`,
            usages: ["signing", "authentication"],
            groups: ["system:bootstrappers:kubeadm:default-node-token"],
          },
        ],
        nodeRegistration: nodeRegistration(node, address),
        localAPIEndpoint: { advertiseAddress: address, bindPort: API_SERVER_PORT },
        certificateKey: i.certificateKey,
        skipPhases: ["addon/kube-proxy"],
        patches,
      },
    },
    {
      body: {
        apiVersion: KUBEADM_API,
        kind: "ClusterConfiguration",
        clusterName: plan.cluster.name,
        kubernetesVersion: i.kubernetesVersion,
        controlPlaneEndpoint: ep.endpoint,
        // The mirror serves every image kubeadm pulls (kube-*, etcd, pause) at <mirror>/<name>;
        // without one kubeadm keeps its default, registry.k8s.io.
        ...(mirror ? { imageRepository: mirror } : {}),
        networking: {
          podSubnet: i.podSubnet ?? plan.podNetwork?.podSubnet ?? DEFAULT_POD_SUBNET,
          serviceSubnet: i.serviceSubnet ?? plan.podNetwork?.serviceSubnet ?? DEFAULT_SERVICE_SUBNET,
        },
        // Stacked etcd; its URLs derive from each member's advertiseAddress (wg3), see the file header.
        etcd: { local: { dataDir: "/var/lib/etcd" } },
        apiServer: {
          certSANs,
          extraArgs: args([
            ["anonymous-auth", "false"],
            ["authorization-mode", "Node,RBAC"],
            ["enable-admission-plugins", "NodeRestriction"],
            ["profiling", "false"],
            ["audit-log-path", `${AUDIT_LOG_DIR}/audit.log`],
            ["audit-log-maxage", "30"],
            ["audit-log-maxbackup", "10"],
            ["audit-log-maxsize", "100"],
            ["audit-policy-file", AUDIT_POLICY_PATH],
            ["encryption-provider-config", ENCRYPTION_CONFIG_PATH],
            ["tls-min-version", "VersionTLS12"],
            ["kubelet-certificate-authority", "/etc/kubernetes/pki/ca.crt"],
          ]),
          extraVolumes: [
            hostFile("audit-policy", AUDIT_POLICY_PATH),
            hostFile("encryption-config", ENCRYPTION_CONFIG_PATH),
            { name: "audit-log", hostPath: AUDIT_LOG_DIR, mountPath: AUDIT_LOG_DIR, readOnly: false, pathType: "DirectoryOrCreate" },
          ],
        },
        controllerManager: {
          extraArgs: args([
            // kubedos assigns each node's podCIDR from the plan (PlanNode.podCidr), so the
            // Kubernetes plane's WireGuard peers carry it and Cilium routes natively (ipam mode
            // kubernetes); the controller manager must not allocate a different one.
            ["allocate-node-cidrs", "false"],
            ["profiling", "false"],
            ["bind-address", "127.0.0.1"],
            ["terminated-pod-gc-threshold", "10"],
            ["use-service-account-credentials", "true"],
            ["feature-gates", "RotateKubeletServerCertificate=true"],
          ]),
        },
        scheduler: {
          extraArgs: args([
            ["profiling", "false"],
            ["bind-address", "127.0.0.1"],
          ]),
        },
        // Tags stay kubeadm's own for the version (what the locks record): pinning imageTag here
        // would freeze CoreDNS across `kubeadm upgrade`.
        ...(mirror ? { dns: { imageRepository: dnsImageRepository(mirror) } } : {}),
        proxy: { disabled: true },
      },
    },
    { body: kubeletConfiguration(address) },
  ];
}

function joinDocuments(i: KubeadmInput, plan: Plan, node: PlanNode, address: string): Array<{ comment?: string; body: object }> {
  const ep = controlPlaneEndpoint(plan, i.loadBalancerAddress);
  const caCertHashes = joinCaCertHashes(i.caCertHashes, i.caFingerprint);
  const join: Record<string, unknown> = {
    apiVersion: KUBEADM_API,
    kind: "JoinConfiguration",
    discovery: { bootstrapToken: { apiServerEndpoint: ep.endpoint, token: i.token, caCertHashes } },
    nodeRegistration: nodeRegistration(node, address),
    ...(node.role === "control-plane"
      ? { controlPlane: { localAPIEndpoint: { advertiseAddress: address, bindPort: API_SERVER_PORT }, certificateKey: i.certificateKey } }
      : {}),
    patches,
  };
  return [
    {
      comment: ` kubeadm join (${node.role}); the CA is pinned (caCertHashes), never unsafeSkipCAVerification.`,
      body: join,
    },
    {
      comment:
        " The cluster's KubeletConfiguration, for reference: kubeadm join uses the uploaded kubelet-config\n" +
        " ConfigMap (and ignores this document); this node's `address` comes from the patch in " +
        KUBEADM_PATCH_DIR +
        ".",
      body: kubeletConfiguration(address),
    },
  ];
}

function toYaml(docs: Array<{ comment?: string; body: object }>): string {
  return docs
    .map((d) => {
      const head = d.comment
        ? d.comment
            .split("\n")
            .map((l) => `#${l}`)
            .join("\n") + "\n"
        : "";
      return head + stringify(d.body, { lineWidth: 0 });
    })
    .join("---\n");
}

function checkInput(i: KubeadmInput): void {
  if (!EXACT_VERSION_RE.test(i.kubernetesVersion)) {
    throw new Error(`kubernetesVersion must be an exact vMAJOR.MINOR.PATCH (got ${JSON.stringify(i.kubernetesVersion)})`);
  }
  // kubeadm reads kubeadm.k8s.io/v1beta4 from v1.31 on; an older kubeadm rejects the whole file.
  const [major, minor] = i.kubernetesVersion.replace(/^v/, "").split(".").map(Number);
  if (major === 1 && minor < 31) {
    throw new Error(
      `kubeadm ${i.kubernetesVersion} cannot read ${KUBEADM_API} (it needs v1.31 or later); set kubernetes.version to v1.31.x or later`,
    );
  }
  if (!BOOTSTRAP_TOKEN_RE.test(i.token)) throw new Error("token is not a kubeadm bootstrap token ([a-z0-9]{6}.[a-z0-9]{16})");
  if (!CERT_KEY_RE.test(i.certificateKey)) throw new Error("certificateKey must be 64 lowercase hex characters (AES-256)");
  if (!Number.isInteger(i.joinWindowMinutes) || i.joinWindowMinutes < 1) throw new Error("joinWindowMinutes must be a positive integer");
}

/** The multi-document kubeadm config (`kubeadm init|join --config`) for one node. */
export function renderKubeadmConfig(i: KubeadmInput): string {
  checkInput(i);
  const plan = i.plan;
  const node = resolveNode(plan, i.node);
  const address = kubeAddress(plan, node);
  const docs = node.name === initNode(plan).name ? initDocuments(i, plan, node, address) : joinDocuments(i, plan, node, address);
  return toYaml(docs);
}

/**
 * Per-node kubeadm patches (file name → content) for KUBEADM_PATCH_DIR, applied by init and join:
 * the kubelet's `address` on every node and, on control planes, the API server's --bind-address
 * (kubeadm sets --advertise-address from localAPIEndpoint but binds 0.0.0.0 by default).
 */
export function renderKubeadmPatches(plan: Plan, nodeRef: PlanNode | string): Record<string, string> {
  const node = resolveNode(plan, nodeRef);
  const address = kubeAddress(plan, node);
  const out: Record<string, string> = {
    "kubeletconfiguration+merge.yaml": stringify({ address }),
  };
  if (node.role === "control-plane") {
    out["kube-apiserver+json.yaml"] = stringify([{ op: "add", path: "/spec/containers/0/command/-", value: `--bind-address=${address}` }]);
  }
  return out;
}

/**
 * The API server's audit policy (audit.k8s.io/v1). First match wins: health probes are not
 * logged; Secrets, ConfigMaps, token requests and TokenReviews only at Metadata (their bodies
 * carry credentials and are never logged); RBAC changes with full request and response;
 * everything else at Metadata.
 */
export function renderAuditPolicy(): string {
  return stringify(
    {
      apiVersion: "audit.k8s.io/v1",
      kind: "Policy",
      omitStages: ["RequestReceived"],
      rules: [
        { level: "None", nonResourceURLs: ["/healthz", "/healthz/*", "/livez", "/livez/*", "/readyz", "/readyz/*", "/version"] },
        {
          level: "Metadata",
          resources: [
            { group: "", resources: ["secrets", "configmaps", "serviceaccounts/token"] },
            { group: "authentication.k8s.io", resources: ["tokenreviews"] },
          ],
        },
        {
          level: "RequestResponse",
          verbs: ["create", "update", "patch", "delete", "deletecollection"],
          resources: [{ group: "rbac.authorization.k8s.io", resources: ["roles", "rolebindings", "clusterroles", "clusterrolebindings"] }],
        },
        { level: "Metadata" },
      ],
    },
    { lineWidth: 0 },
  );
}

/**
 * EncryptionConfiguration (apiserver.config.k8s.io/v1) for Secrets at rest: secretbox (XSalsa20 +
 * Poly1305) with the derived key (`encryptionKey()`, base64 of 32 bytes), identity last so Secrets
 * written before encryption was enabled still read.
 */
export function renderEncryptionConfig(key: string | Buffer, keyName = "kubedos-0"): string {
  const raw = typeof key === "string" ? Buffer.from(key, "base64") : key;
  if (raw.length !== 32 || (typeof key === "string" && raw.toString("base64") !== key)) {
    throw new Error("the encryption key must be 32 bytes (base64 of 32 bytes)");
  }
  return stringify(
    {
      apiVersion: "apiserver.config.k8s.io/v1",
      kind: "EncryptionConfiguration",
      resources: [
        {
          resources: ["secrets"],
          providers: [{ secretbox: { keys: [{ name: keyName, secret: raw.toString("base64") }] } }, { identity: {} }],
        },
      ],
    },
    { lineWidth: 0 },
  );
}
