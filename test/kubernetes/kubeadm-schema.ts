/**
 * Strict zod schemas of the configuration documents kubedos renders for kubeadm, transcribed
 * from the upstream Go types (field names from the `json:` tags, types from the Go types):
 *
 *   kubeadm.k8s.io/v1beta4          https://github.com/kubernetes/kubernetes/blob/master/cmd/kubeadm/app/apis/kubeadm/v1beta4/types.go
 *                                   (reference: https://kubernetes.io/docs/reference/config-api/kubeadm-config.v1beta4/)
 *   BootstrapToken                  https://github.com/kubernetes/kubernetes/blob/master/cmd/kubeadm/app/apis/bootstraptoken/v1/types.go
 *   kubelet.config.k8s.io/v1beta1   https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/kubelet/config/v1beta1/types.go
 *   audit.k8s.io/v1                 https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/apiserver/pkg/apis/audit/v1/types.go
 *   apiserver.config.k8s.io/v1      https://github.com/kubernetes/kubernetes/blob/master/staging/src/k8s.io/apiserver/pkg/apis/apiserver/v1/types.go
 *
 * Every object is strict: a field upstream does not have (a typo, a v1beta3 leftover such as
 * a map-shaped extraArgs, an APIServer.timeoutForControlPlane removed in v1beta4) fails, as does a
 * wrong type. The kubeadm types are transcribed whole (every field optional where Go has
 * omitempty); KubeletConfiguration, which has ~120 fields, is transcribed for the fields kubedos
 * sets plus their security-relevant neighbours — a new field must be added here from upstream
 * before the renderer may emit it. Go-side validation beyond types (kubeadm's ValidateCluster…)
 * is not repeated, except the formats the renderer depends on (token, certificate key, pins).
 */
import { z } from "zod";

// ------------------------------------------------------------------ shared Go types

/** metav1.Duration: Go's time.Duration text, e.g. `2m0s`, `30m0s`, `1h30m`. */
export const Duration = z.string().regex(/^(0|(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+)$/, "not a Go duration");
/** metav1.Time: RFC 3339. */
const Time = z.iso.datetime({ offset: true });
const int32 = z
  .int()
  .min(-(2 ** 31))
  .max(2 ** 31 - 1);
const int64 = z.int();
const ipv4 = z.string().regex(/^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/, "not an IPv4 address");
/** IP or DNS name, with an optional port (ClusterConfiguration.controlPlaneEndpoint, apiServerEndpoint). */
const hostPort = z.string().regex(/^([a-z0-9.-]+|\[[0-9a-f:]+\])(:\d{1,5})?$/i, "not host[:port]");
const cidr = z.string().regex(/^\d+\.\d+\.\d+\.\d+\/\d{1,2}$/, "not an IPv4 CIDR");

/** kubeadm's bootstrap token string `[a-z0-9]{6}.[a-z0-9]{16}` (BootstrapTokenString). */
export const BOOTSTRAP_TOKEN = /^[a-z0-9]{6}\.[a-z0-9]{16}$/;
/** kubeadm certificate key: hex of a 32-byte AES key. */
export const CERTIFICATE_KEY = /^[0-9a-f]{64}$/;
/** A caCertHashes entry: `sha256:` + hex SHA-256 of the CA's DER SubjectPublicKeyInfo. */
export const CA_CERT_HASH = /^sha256:[0-9a-f]{64}$/;

/** corev1.Taint. */
const Taint = z.strictObject({
  key: z.string(),
  value: z.string().optional(),
  effect: z.enum(["NoSchedule", "PreferNoSchedule", "NoExecute"]),
  timeAdded: Time.optional(),
});

/** corev1.EnvVar (inline in v1beta4 EnvVar); valueFrom is accepted as an object, never rendered. */
const EnvVar = z.strictObject({
  name: z.string().min(1),
  value: z.string().optional(),
  valueFrom: z.record(z.string(), z.unknown()).optional(),
});

/** corev1.HostPathType. */
const HostPathType = z.enum(["", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"]);

// ------------------------------------------------------------------ kubeadm.k8s.io/v1beta4

/** v1beta4 Arg: structured extra arguments (v1beta3's map form is rejected). */
export const Arg = z.strictObject({ name: z.string().min(1), value: z.string() });

/** v1beta4 HostPathMount. */
export const HostPathMount = z.strictObject({
  name: z.string().min(1),
  hostPath: z.string().min(1),
  mountPath: z.string().min(1),
  readOnly: z.boolean().optional(),
  pathType: HostPathType.optional(),
});

/** v1beta4 ControlPlaneComponent. */
export const ControlPlaneComponent = z.strictObject({
  extraArgs: z.array(Arg).optional(),
  extraVolumes: z.array(HostPathMount).optional(),
  extraEnvs: z.array(EnvVar).optional(),
});

/** v1beta4 APIServer: ControlPlaneComponent inline + certSANs (timeoutForControlPlane is gone in v1beta4). */
export const APIServer = ControlPlaneComponent.extend({ certSANs: z.array(z.string()).optional() });

/** v1beta4 ImageMeta. */
const ImageMeta = { imageRepository: z.string().optional(), imageTag: z.string().optional() };

/** v1beta4 DNS: ImageMeta inline + disabled. */
export const DNS = z.strictObject({ ...ImageMeta, disabled: z.boolean().optional() });

/** v1beta4 Proxy. */
export const Proxy = z.strictObject({ disabled: z.boolean().optional() });

/** v1beta4 LocalEtcd (dataDir has no omitempty). */
export const LocalEtcd = z.strictObject({
  ...ImageMeta,
  dataDir: z.string().min(1),
  extraArgs: z.array(Arg).optional(),
  extraEnvs: z.array(EnvVar).optional(),
  serverCertSANs: z.array(z.string()).optional(),
  peerCertSANs: z.array(z.string()).optional(),
});

/** v1beta4 ExternalEtcd. */
export const ExternalEtcd = z.strictObject({
  endpoints: z.array(z.string()),
  caFile: z.string(),
  certFile: z.string(),
  keyFile: z.string(),
});

/** v1beta4 Etcd (local and external are mutually exclusive). */
export const Etcd = z
  .strictObject({ local: LocalEtcd.optional(), external: ExternalEtcd.optional() })
  .refine((e) => !(e.local && e.external), "etcd.local and etcd.external are mutually exclusive");

/** v1beta4 Networking. */
export const Networking = z.strictObject({ serviceSubnet: cidr.optional(), podSubnet: cidr.optional(), dnsDomain: z.string().optional() });

/** v1beta4 APIEndpoint. */
export const APIEndpoint = z.strictObject({ advertiseAddress: ipv4.optional(), bindPort: int32.min(1).max(65535).optional() });

/** v1beta4 NodeRegistrationOptions. */
export const NodeRegistrationOptions = z.strictObject({
  name: z.string().optional(),
  criSocket: z.string().optional(),
  taints: z.array(Taint).nullable().optional(),
  kubeletExtraArgs: z.array(Arg).optional(),
  ignorePreflightErrors: z.array(z.string()).optional(),
  imagePullPolicy: z.enum(["Always", "IfNotPresent", "Never"]).optional(),
  imagePullSerial: z.boolean().optional(),
});

/** v1beta4 Patches. */
export const Patches = z.strictObject({ directory: z.string().optional() });

/** v1beta4 Timeouts. */
export const Timeouts = z.strictObject({
  controlPlaneComponentHealthCheck: Duration.optional(),
  kubeletHealthCheck: Duration.optional(),
  kubernetesAPICall: Duration.optional(),
  etcdAPICall: Duration.optional(),
  tlsBootstrap: Duration.optional(),
  discovery: Duration.optional(),
  upgradeManifests: Duration.optional(),
});

/** bootstraptoken/v1 BootstrapToken (ttl and expires are mutually exclusive). */
export const BootstrapToken = z
  .strictObject({
    token: z.string().regex(BOOTSTRAP_TOKEN),
    description: z.string().optional(),
    ttl: Duration.optional(),
    expires: Time.optional(),
    usages: z.array(z.enum(["signing", "authentication"])).optional(),
    groups: z.array(z.string().regex(/^system:bootstrappers:[a-z0-9:-]{0,255}[a-z0-9]$/)).optional(),
  })
  .refine((t) => !(t.ttl && t.expires), "ttl and expires are mutually exclusive");

const TypeMeta = (kind: string) => ({ apiVersion: z.literal("kubeadm.k8s.io/v1beta4"), kind: z.literal(kind) });

/** v1beta4 InitConfiguration. */
export const InitConfiguration = z.strictObject({
  ...TypeMeta("InitConfiguration"),
  bootstrapTokens: z.array(BootstrapToken).optional(),
  dryRun: z.boolean().optional(),
  nodeRegistration: NodeRegistrationOptions.optional(),
  localAPIEndpoint: APIEndpoint.optional(),
  certificateKey: z.string().regex(CERTIFICATE_KEY).optional(),
  skipPhases: z.array(z.string()).optional(),
  patches: Patches.optional(),
  timeouts: Timeouts.optional(),
});

/** v1beta4 ClusterConfiguration. */
export const ClusterConfiguration = z.strictObject({
  ...TypeMeta("ClusterConfiguration"),
  etcd: Etcd.optional(),
  networking: Networking.optional(),
  kubernetesVersion: z.string().optional(),
  controlPlaneEndpoint: hostPort.optional(),
  apiServer: APIServer.optional(),
  controllerManager: ControlPlaneComponent.optional(),
  scheduler: ControlPlaneComponent.optional(),
  dns: DNS.optional(),
  proxy: Proxy.optional(),
  certificatesDir: z.string().optional(),
  imageRepository: z.string().optional(),
  featureGates: z.record(z.string(), z.boolean()).optional(),
  clusterName: z.string().optional(),
  encryptionAlgorithm: z.enum(["ECDSA-P256", "RSA-2048", "RSA-3072", "RSA-4096"]).optional(),
  certificateValidityPeriod: Duration.optional(),
  caCertificateValidityPeriod: Duration.optional(),
});

/** v1beta4 BootstrapTokenDiscovery. */
export const BootstrapTokenDiscovery = z.strictObject({
  token: z.string().regex(BOOTSTRAP_TOKEN),
  apiServerEndpoint: hostPort.optional(),
  caCertHashes: z.array(z.string().regex(CA_CERT_HASH)).optional(),
  unsafeSkipCAVerification: z.boolean().optional(),
});

/** v1beta4 Discovery (bootstrapToken and file are mutually exclusive). */
export const Discovery = z
  .strictObject({
    bootstrapToken: BootstrapTokenDiscovery.optional(),
    file: z.strictObject({ kubeConfigPath: z.string() }).optional(),
    tlsBootstrapToken: z.string().optional(),
  })
  .refine((d) => !(d.bootstrapToken && d.file), "discovery.bootstrapToken and discovery.file are mutually exclusive");

/** v1beta4 JoinControlPlane. */
export const JoinControlPlane = z.strictObject({
  localAPIEndpoint: APIEndpoint.optional(),
  certificateKey: z.string().regex(CERTIFICATE_KEY).optional(),
});

/** v1beta4 JoinConfiguration (discovery has no omitempty). */
export const JoinConfiguration = z.strictObject({
  ...TypeMeta("JoinConfiguration"),
  dryRun: z.boolean().optional(),
  nodeRegistration: NodeRegistrationOptions.optional(),
  caCertPath: z.string().optional(),
  discovery: Discovery,
  controlPlane: JoinControlPlane.optional(),
  skipPhases: z.array(z.string()).optional(),
  patches: Patches.optional(),
  timeouts: Timeouts.optional(),
});

// ------------------------------------------------------------------ kubelet.config.k8s.io/v1beta1

/** KubeletAuthentication and its parts. */
export const KubeletAuthentication = z.strictObject({
  x509: z.strictObject({ clientCAFile: z.string().optional() }).optional(),
  webhook: z.strictObject({ enabled: z.boolean().optional(), cacheTTL: Duration.optional() }).optional(),
  anonymous: z.strictObject({ enabled: z.boolean().optional() }).optional(),
});

/** KubeletAuthorization (mode AlwaysAllow | Webhook) and KubeletWebhookAuthorization. */
export const KubeletAuthorization = z.strictObject({
  mode: z.enum(["AlwaysAllow", "Webhook"]).optional(),
  webhook: z.strictObject({ cacheAuthorizedTTL: Duration.optional(), cacheUnauthorizedTTL: Duration.optional() }).optional(),
});

/** KubeletConfiguration: the fields kubedos sets and their security-relevant neighbours (see the header). */
export const KubeletConfiguration = z.strictObject({
  apiVersion: z.literal("kubelet.config.k8s.io/v1beta1"),
  kind: z.literal("KubeletConfiguration"),
  enableServer: z.boolean().optional(),
  staticPodPath: z.string().optional(),
  address: ipv4.optional(),
  port: int32.min(1).max(65535).optional(),
  readOnlyPort: int32.min(0).max(65535).optional(),
  tlsCertFile: z.string().optional(),
  tlsPrivateKeyFile: z.string().optional(),
  tlsCipherSuites: z.array(z.string()).optional(),
  tlsMinVersion: z.enum(["VersionTLS10", "VersionTLS11", "VersionTLS12", "VersionTLS13"]).optional(),
  rotateCertificates: z.boolean().optional(),
  serverTLSBootstrap: z.boolean().optional(),
  authentication: KubeletAuthentication.optional(),
  authorization: KubeletAuthorization.optional(),
  eventRecordQPS: int32.min(0).optional(),
  eventBurst: int32.min(0).optional(),
  enableDebuggingHandlers: z.boolean().optional(),
  healthzPort: int32.min(0).max(65535).optional(),
  healthzBindAddress: ipv4.optional(),
  clusterDomain: z.string().optional(),
  clusterDNS: z.array(z.string()).optional(),
  streamingConnectionIdleTimeout: Duration.optional(),
  cgroupDriver: z.enum(["systemd", "cgroupfs"]).optional(),
  maxPods: int32.min(0).optional(),
  podPidsLimit: int64.optional(),
  protectKernelDefaults: z.boolean().optional(),
  makeIPTablesUtilChains: z.boolean().optional(),
  featureGates: z.record(z.string(), z.boolean()).optional(),
  failSwapOn: z.boolean().optional(),
  allowedUnsafeSysctls: z.array(z.string()).optional(),
  enableSystemLogHandler: z.boolean().optional(),
  enableSystemLogQuery: z.boolean().optional(),
  enableProfilingHandler: z.boolean().optional(),
  enableDebugFlagsHandler: z.boolean().optional(),
  seccompDefault: z.boolean().optional(),
  registerWithTaints: z.array(Taint).optional(),
  registerNode: z.boolean().optional(),
  containerRuntimeEndpoint: z.string().optional(),
  failCgroupV1: z.boolean().optional(),
});

// ------------------------------------------------------------------ audit.k8s.io/v1, apiserver.config.k8s.io/v1

const Stage = z.enum(["RequestReceived", "ResponseStarted", "ResponseComplete", "Panic"]);

/** audit/v1 Policy and PolicyRule. */
export const AuditPolicy = z.strictObject({
  apiVersion: z.literal("audit.k8s.io/v1"),
  kind: z.literal("Policy"),
  metadata: z.record(z.string(), z.unknown()).optional(),
  rules: z.array(
    z.strictObject({
      level: z.enum(["None", "Metadata", "Request", "RequestResponse"]),
      users: z.array(z.string()).optional(),
      userGroups: z.array(z.string()).optional(),
      verbs: z.array(z.string()).optional(),
      resources: z
        .array(
          z.strictObject({
            group: z.string().optional(),
            resources: z.array(z.string()).optional(),
            resourceNames: z.array(z.string()).optional(),
          }),
        )
        .optional(),
      namespaces: z.array(z.string()).optional(),
      nonResourceURLs: z.array(z.string()).optional(),
      omitStages: z.array(Stage).optional(),
      omitManagedFields: z.boolean().optional(),
    }),
  ),
  omitStages: z.array(Stage).optional(),
  omitManagedFields: z.boolean().optional(),
});

const Key = z.strictObject({ name: z.string().min(1), secret: z.string().min(1) });
const Keys = z.strictObject({ keys: z.array(Key).min(1) });

/** apiserver/v1 EncryptionConfiguration (kms is accepted as an object, never rendered). */
export const EncryptionConfiguration = z.strictObject({
  apiVersion: z.literal("apiserver.config.k8s.io/v1"),
  kind: z.literal("EncryptionConfiguration"),
  resources: z.array(
    z.strictObject({
      resources: z.array(z.string()).min(1),
      providers: z
        .array(
          z.strictObject({
            aesgcm: Keys.optional(),
            aescbc: Keys.optional(),
            secretbox: Keys.optional(),
            identity: z.strictObject({}).optional(),
            kms: z.record(z.string(), z.unknown()).optional(),
          }),
        )
        .min(1),
    }),
  ),
});

/** The schema of each rendered document, by kind. */
export const KUBEADM_SCHEMAS: Readonly<Record<string, z.ZodType>> = {
  InitConfiguration,
  ClusterConfiguration,
  JoinConfiguration,
  KubeletConfiguration,
  Policy: AuditPolicy,
  EncryptionConfiguration,
};

/** Issues of one document against the schema of its kind ("no schema" for an unknown kind); [] when it conforms. */
export function schemaIssues(doc: unknown): string[] {
  const kind = typeof doc === "object" && doc !== null ? (doc as { kind?: unknown }).kind : undefined;
  const s = typeof kind === "string" ? KUBEADM_SCHEMAS[kind] : undefined;
  if (!s) return [`no schema for kind ${JSON.stringify(kind)}`];
  const r = s.safeParse(doc);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
}
