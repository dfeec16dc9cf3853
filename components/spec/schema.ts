/**
 * The ClusterSpec (`kubedos.ca/v1alpha1`, `kind: Cluster`) as a strict zod schema.
 *
 * Every field of seed 001 §15.2 appears with the same name and nesting. Fields marked
 * "Extension" are kubedos additions beside them (DESIGN.md §4); each is optional so the
 * seed's illustrative spec validates verbatim. Unknown fields are errors everywhere.
 *
 * Cross-field rules (quorum, CIDR overlap, VLAN trunks, …) are NOT here: they live in
 * `constraints/` under stable rule ids so `validate`, the policy pack and the tests share
 * one implementation. The schema only decides shape and type.
 *
 * The README's ClusterSpec reference is generated from the JSDoc in this file
 * (`npm run docs`), so the comment on a field is its documentation.
 */
import { z } from "zod";
import { EnvironmentSchema } from "./environment-schema";

/** A DNS-1123 label: lower-case alphanumerics and '-', 1–63 chars, used in hostnames. */
const dnsLabel = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "must be a DNS-1123 label (a-z, 0-9, '-', 1–63 chars)");

/** A Linux interface-safe plane name (≤ 15 chars, becomes the WireGuard interface name). */
const planeName = z.string().regex(/^[a-z][a-z0-9]{0,14}$/, "must be a lower-case interface name of at most 15 chars (e.g. wg1)");

const cidr4 = z.cidrv4({ error: "must be an IPv4 CIDR such as 10.101.0.0/24" });
const ipv4 = z.ipv4({ error: "must be an IPv4 address such as 10.0.0.5" });

/** "6443/tcp" or "2379-2380/tcp": a port or inclusive range and a protocol. */
const portSpec = z.string().refine(
  (s) => {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?\/(tcp|udp)$/.exec(s);
    if (!m) return false;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    return lo >= 1 && hi <= 65535 && lo <= hi;
  },
  { error: "must be PORT/PROTO or LO-HI/PROTO with 1 ≤ LO ≤ HI ≤ 65535 and PROTO tcp|udp (e.g. 2379-2380/tcp)" },
);

const vlanId = z.int().min(1).max(4094);

// ---------------------------------------------------------------- metadata

export const MetadataSchema = z.strictObject({
  /** Cluster name; a DNS-1123 label. It prefixes every resource name and hostname, and salts derived secrets. */
  name: dnsLabel,
  /** kubedos artifact version this cluster is manufactured from (semver); tagged onto substrate resources. */
  artifactVersion: z.string().regex(/^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$/, "must be a semver version such as 0.1.0"),
  /** Free-form labels (owner, purpose…); copied into the rendered spec and provenance. */
  labels: z.record(z.string(), z.string()).optional(),
});

// ---------------------------------------------------------------- substrate

export const PlacementSchema = z.strictObject({
  /** `spread`: place nodes of one role on distinct hosts / failure domains where possible; `pack`: fill hosts in order. */
  strategy: z.enum(["spread", "pack"]),
  /** The dimensions spreading applies to: `node` (Proxmox host / Hetzner server spread) and `failureDomain`. */
  by: z.array(z.enum(["node", "failureDomain"])).min(1),
});

export const BridgeSchema = z.strictObject({
  /** Linux bridge name on every Proxmox host, e.g. `vmbr0`. */
  name: z.string().regex(/^[a-zA-Z][a-zA-Z0-9_.-]{0,14}$/, "must be a Linux interface name (≤ 15 chars)"),
  /** Whether the bridge is VLAN-aware. A NIC with a `vlan` must sit on a VLAN-aware bridge. */
  vlanAware: z.boolean(),
  /** VLAN ids the bridge trunks (1–4094). Every NIC VLAN on this bridge must be listed. */
  trunks: z.array(vlanId).optional(),
});

export const StoragePoolSchema = z.strictObject({
  /** Proxmox storage id, e.g. `fast-zfs`. Disks name it in `pool`. */
  name: z.string().min(1),
  /**
   * Storage backend type of the pool, as Proxmox names it: `zfspool` is local ZFS, `zfs` is ZFS over
   * iSCSI (the seed example uses `zfs` for a local pool; both count as ZFS for `storage.zfs.pools`).
   */
  type: z.enum(["zfs", "zfspool", "lvm", "lvmthin", "dir", "rbd", "cephfs", "nfs"]),
});

export const ProxmoxHostSchema = z.strictObject({
  /** Proxmox node (host) name as the cluster knows it, e.g. `pve-a`. */
  name: z.string().min(1),
  /** The failure domain this host sits in (must be listed in `spec.nodes.failureDomains`). */
  failureDomain: z.string().min(1),
});

export const ProxmoxSchema = z.strictObject({
  /** Name of the Proxmox VE cluster that hosts the VMs. */
  clusterName: z.string().min(1),
  /** Inclusive range of VM ids kubedos may use; a node's vmid is `start + ordinal`. */
  vmidRange: z.strictObject({
    /** First vmid (≥ 100, Proxmox reserves lower ids). */
    start: z.int().min(100).max(999_999_999),
    /** Last vmid, inclusive. */
    end: z.int().min(100).max(999_999_999),
  }),
  /** How VMs are spread across Proxmox hosts and failure domains. */
  placement: PlacementSchema,
  /** Bridges present on every Proxmox host; NICs attach to them. */
  bridges: z.array(BridgeSchema).min(1),
  /** Storage pools disks are allocated from. */
  storagePools: z.array(StoragePoolSchema).min(1),
  /** Tags set on every VM (the artifact version tag is added automatically). */
  tags: z.array(z.string().regex(/^[a-zA-Z0-9_][a-zA-Z0-9_:.+-]*$/, "must be a Proxmox tag (letters, digits, _ : . + -)")).optional(),
  /** Extension. A VM template to full-clone every node from (pinned by vmid). One of `template` or `image` is needed to build VMs. */
  template: z
    .strictObject({
      /** vmid of the template. */
      vmid: z.int().min(100).max(999_999_999),
      /** Proxmox host that holds the template. */
      node: z.string().min(1),
    })
    .optional(),
  /** Extension. A cloud image imported as each VM's OS disk, pinned by checksum. */
  image: z
    .strictObject({
      /** Image URL on a mirror the Proxmox hosts reach. */
      url: z.url({ protocol: /^https?$/ }),
      /** sha256 of the image (hex). */
      sha256: z.string().regex(/^[0-9a-f]{64}$/, "must be 64 hex characters"),
      /** Datastore (with `iso`/`import` content) the image is downloaded to. */
      datastore: z.string().min(1),
    })
    .optional(),
  /** Extension. Datastore with `snippets` content where per-node cloud-init user data is uploaded (default `local`). */
  snippetsDatastore: z.string().min(1).optional(),
  /** Extension. Register VMs as Proxmox HA resources so the cluster restarts them on another host. */
  ha: z
    .strictObject({
      /** Manage HA resources for the VMs. */
      enabled: z.boolean(),
      /** HA group to place the resources in. */
      group: z.string().min(1).optional(),
    })
    .optional(),
  /**
   * Extension. The Proxmox hosts VMs are placed on, each in a failure domain. Needed to resolve
   * `placement.by: [node]`; without it the plan cannot name a host per VM (a warning).
   */
  hosts: z.array(ProxmoxHostSchema).optional(),
});

export const HetznerLocationSchema = z.strictObject({
  /** Hetzner location code, e.g. `fsn1`, `nbg1`, `hel1`, `ash`, `hil`, `sin`. */
  name: z.string().regex(/^[a-z]{3}\d?$/, "must be a Hetzner location code such as fsn1"),
  /** The failure domain this location realises (must be listed in `spec.nodes.failureDomains`). */
  failureDomain: z.string().min(1),
});

export const HetznerSchema = z.strictObject({
  /** Extension. Hetzner network zone of the private network, e.g. `eu-central`. */
  networkZone: z.enum(["eu-central", "us-east", "us-west", "ap-southeast"]),
  /** Extension. Locations used, one per failure domain; servers of a failure domain land in its location. */
  locations: z.array(HetznerLocationSchema).min(1),
  /** Extension. The private network carrying the WireGuard underlay; node uplink addresses derive from it. */
  network: z.strictObject({
    /** IPv4 CIDR of the private network (and its single subnet). */
    cidr: cidr4,
  }),
  /** Extension. Pinned image name or snapshot id servers boot from (never a floating alias). */
  image: z.string().min(1),
  /** Extension. Server type per role, e.g. `cx32`. */
  serverTypes: z.strictObject({
    /** Server type for control-plane nodes. */
    controlPlane: z.string().min(1),
    /** Server type for worker nodes. */
    worker: z.string().min(1),
  }),
  /** Extension. Placement: spread control planes across locations / placement groups. */
  placement: PlacementSchema.optional(),
  /** Extension. Load balancer in front of the Kubernetes API. */
  loadBalancer: z.strictObject({
    /** Load balancer type, e.g. `lb11`. */
    type: z.string().min(1),
  }),
});

export const BareMetalHostSchema = z.strictObject({
  /** Inventory node name this host realises. */
  node: z.string().min(1),
  /** Uplink IPv4 address kubedos reaches the host on over SSH. */
  address: ipv4,
  /** SSH port (default 22). */
  port: z.int().min(1).max(65535).optional(),
  /**
   * The host's Ed25519 SSH public host key (`ssh-ed25519 AAAA…`); every connection pins it, and the
   * hardened sshd serves only the Ed25519 host key.
   */
  hostKey: z
    .string()
    .regex(
      /^ssh-ed25519 [A-Za-z0-9+/=]+$/,
      "must be the host's Ed25519 public key ('ssh-ed25519 AAAA…'): the hardened sshd serves only that key type",
    ),
});

export const BareMetalSchema = z.strictObject({
  /** Extension. Login user kubedos uses on every host (must be in `security.ssh.allowUsers`). */
  sshUser: z.string().min(1),
  /** Extension. One entry per inventory node: where it is and which host key it presents. */
  hosts: z.array(BareMetalHostSchema).min(1),
});

const substrateCommon = {
  /** Destruction boundary: may reconcile destroy or replace substrate (VMs, servers, disks)? Must be explicit. */
  allowDestroy: z.boolean().optional(),
};

export const SubstrateSchema = z.discriminatedUnion("type", [
  z.strictObject({
    /** Which substrate builds the nodes: `proxmox`, `hetzner` (extension) or `baremetal` (extension). */
    type: z.literal("proxmox"),
    ...substrateCommon,
    /** Proxmox VE settings (required when `type: proxmox`). */
    proxmox: ProxmoxSchema,
  }),
  z.strictObject({
    type: z.literal("hetzner"),
    ...substrateCommon,
    /** Extension. Hetzner Cloud settings (required when `type: hetzner`). */
    hetzner: HetznerSchema,
  }),
  z.strictObject({
    type: z.literal("baremetal"),
    ...substrateCommon,
    /** Extension. Existing hosts reached over SSH (required when `type: baremetal`). */
    baremetal: BareMetalSchema,
  }),
]);

// ---------------------------------------------------------------- nodes

export const DiskSchema = z.strictObject({
  /** Storage pool (from `substrate.proxmox.storagePools`) the disk is allocated from. */
  pool: z.string().min(1),
  /** Size in GiB. */
  sizeGiB: z.int().min(1).max(65_536),
  /** What the disk is for: `os`, `data`, `ceph-osd`, `zfs`. */
  purpose: z.enum(["os", "data", "ceph-osd", "zfs"]),
});

export const NicSchema = z.strictObject({
  /** Bridge the NIC attaches to (from `substrate.proxmox.bridges`). */
  bridge: z.string().min(1),
  /** VLAN tag (1–4094); requires a VLAN-aware bridge that trunks it. */
  vlan: vlanId.optional(),
  /** `uplink` carries the WireGuard underlay and SSH; `storage` and `mgmt` are optional extra NICs. */
  purpose: z.enum(["uplink", "storage", "mgmt"]),
});

export const NodeSchema = z.strictObject({
  /** Node name; a DNS-1123 label, unique in the inventory. Becomes the hostname. */
  name: dnsLabel,
  /** `control-plane` (kubeadm control plane with stacked etcd) or `worker`. */
  role: z.enum(["control-plane", "worker"]),
  /** Failure domain (from `nodes.failureDomains`). */
  failureDomain: z.string().min(1),
  /** CPU and memory of the VM (Proxmox); ignored where the substrate fixes them. */
  resources: z
    .strictObject({
      /** vCPU count. */
      cpu: z.int().min(1).max(512),
      /** Memory in MiB. */
      memoryMiB: z.int().min(512).max(4_194_304),
    })
    .optional(),
  /** Disks of the VM (Proxmox). Exactly one has `purpose: os`. */
  disks: z.array(DiskSchema).optional(),
  /** NICs of the VM (Proxmox). Exactly one has `purpose: uplink`. */
  nics: z.array(NicSchema).optional(),
  /**
   * Extension. Pins the node's ordinal (host index on every plane, and vmid offset). By default it is
   * derived from the node name alone, so adding or removing another node never renumbers this one.
   */
  ordinal: z.int().min(0).max(1_000_000).optional(),
  /** Extension. Plane addresses per plane name; required on every plane when `addressing.mode: static`. */
  addresses: z.record(z.string(), ipv4).optional(),
});

export const NodesSchema = z.strictObject({
  /** Failure domains (racks, rooms, sites). Placement spreads across them. */
  failureDomains: z
    .array(
      z.strictObject({
        /** Failure domain name, referenced by nodes and hosts. */
        name: z.string().min(1),
      }),
    )
    .min(1),
  /** Every node of the cluster. */
  inventory: z.array(NodeSchema).min(1),
});

// ---------------------------------------------------------------- networking

export const PlaneSchema = z.strictObject({
  /** IPv4 CIDR of the plane; pairwise disjoint with every other plane. */
  cidr: cidr4,
  /** Traffic class the plane carries. */
  purpose: z.enum(["control", "observability", "kubernetes-backend", "storage"]),
  /** Extension. UDP port WireGuard listens on for this plane (default 51820 + N for a plane named wgN). */
  port: z.int().min(1).max(65535).optional(),
});

export const AllowRuleSchema = z.strictObject({
  /** Source plane. */
  from: planeName,
  /** Destination plane. */
  to: planeName,
  /** Allowed destination ports, e.g. `6443/tcp` or `2379-2380/tcp`. */
  ports: z.array(portSpec).min(1),
});

export const NetworkingSchema = z.strictObject({
  /** WireGuard planes by name (conventionally wg1 control, wg2 observability, wg3 kubernetes-backend). */
  planes: z.record(planeName, PlaneSchema),
  /** How node plane addresses are assigned. */
  addressing: z.strictObject({
    /** `deterministic` (derived from the node ordinal), `static` (declared per node) or `dhcp-resolved` (rejected for WireGuard planes). */
    mode: z.enum(["deterministic", "static", "dhcp-resolved"]),
  }),
  /** Inter-plane policy: what may cross from one plane to another. */
  policy: z.strictObject({
    /** Default for traffic between planes; must be present. `deny` is recommended (`allow` warns). */
    defaultInterPlane: z.enum(["deny", "allow"]).optional(),
    /** Explicit exceptions to the default. */
    allow: z.array(AllowRuleSchema).optional(),
  }),
  /**
   * Extension. The underlay (uplink) network of Proxmox VMs; node uplink addresses derive from it
   * like plane addresses. Hetzner uses `substrate.hetzner.network`; bare metal declares addresses.
   */
  underlay: z
    .strictObject({
      /** IPv4 CIDR of the uplink network. */
      cidr: cidr4,
      /** Default gateway on the uplink network. */
      gateway: ipv4.optional(),
      /** Resolvers reachable from the uplink (air-gapped sites point at their own). */
      nameservers: z.array(ipv4).optional(),
    })
    .optional(),
});

// ---------------------------------------------------------------- security

export const SecuritySchema = z.strictObject({
  /** Trust bootstrap (§7.2). */
  bootstrap: z.strictObject({
    /** `offline-ca` (root offline, per-cluster intermediate), `pinned-ca` or `to-fu` (discouraged, warns). */
    model: z.enum(["offline-ca", "pinned-ca", "to-fu"]),
    /** `sha256:<64 hex>` fingerprint of the CA every join pins. */
    caFingerprint: z
      .string()
      .regex(/^sha256:\S+$/, "must look like sha256:<hex>")
      .optional(),
  }),
  /** Gated enrollment (§7.3). */
  enrollment: z.strictObject({
    /** `token+pin` (bootstrap token + CA pin), `offline-approve` or `cert-preseed`. */
    mode: z.enum(["token+pin", "offline-approve", "cert-preseed"]),
    /** How long a join token is valid, in minutes. */
    joinWindowMinutes: z.int().min(1).max(1440),
  }),
  /** SSH policy (§7.4). */
  ssh: z.strictObject({
    /** The only users sshd admits (`AllowUsers`). */
    allowUsers: z.array(z.string().regex(/^[a-z_][a-z0-9_-]{0,31}$/, "must be a POSIX user name")).min(1),
    /** Password authentication; must be false (key-only). */
    passwordAuth: z.boolean(),
    /**
     * Extension. CIDRs that may reach SSH (22/tcp) on a node's uplink — the operator or CI host that
     * runs kubedos before the control plane (wg1) exists. Everything else reaches SSH over wg1 only.
     * Applied by every node's nftables and by the Hetzner cloud firewall. Never 0.0.0.0/0.
     */
    allowFrom: z.array(cidr4).optional(),
    /** Extension. Ed25519 public keys authorised for the allowed users (sshd accepts no other type). */
    authorizedKeys: z
      .array(
        z
          .string()
          .regex(
            /^(ssh-ed25519|sk-ssh-ed25519@openssh\.com) \S+/,
            "must be an Ed25519 OpenSSH public key ('ssh-ed25519 AAAA…' or a security-key sk-ssh-ed25519): sshd accepts no other key type",
          ),
      )
      .optional(),
  }),
  /** Rotation periods (§18.3). */
  rotation: z.strictObject({
    /** WireGuard key rotation period in days; the key epoch advances with it. */
    wireguardDays: z.int().min(1).max(3650),
    /** Node identity certificate lifetime in days. */
    nodeCertDays: z.int().min(1).max(3650),
    /** Kubernetes PKI rotation period in days. */
    kubeCertDays: z.int().min(1).max(3650),
  }),
});

// ---------------------------------------------------------------- storage

export const CephSchema = z.strictObject({
  /** Deploy Ceph. When true every other field here is required (rule `ceph-replication`). */
  enabled: z.boolean(),
  /** Replica count (`size`). */
  size: z.int().min(1).max(10).optional(),
  /** Minimum replicas to serve I/O (`min_size`), ≤ size. */
  minSize: z.int().min(1).max(10).optional(),
  /** Failure domains replicas spread across (CRUSH failure domain). */
  failureDomains: z.array(z.string().min(1)).optional(),
  /** Plane Ceph's public and cluster traffic binds to. */
  plane: planeName.optional(),
  /** Recovery behaviour. */
  recovery: z
    .strictObject({
      /** `osd_max_backfills`. */
      maxBackfills: z.int().min(1).max(64),
      /** `osd_recovery_max_active`. */
      maxActive: z.int().min(1).max(64),
      /** `mon_osd_down_out_interval` in minutes before a down OSD is marked out. */
      downOutIntervalMinutes: z.int().min(1).max(1440),
    })
    .optional(),
});

export const StorageSchema = z.strictObject({
  /** OpenZFS (§11.1). */
  zfs: z.strictObject({
    /** Use ZFS datasets and snapshots. */
    enabled: z.boolean(),
    /** Storage pools (by name) that are ZFS. */
    pools: z.array(z.string().min(1)),
    /** Snapshot retention per dataset class, e.g. `system: { hourly: 24, daily: 7, weekly: 4 }`. */
    snapshotPolicy: z
      .record(
        z.string(),
        z.strictObject({
          /** Hourly snapshots kept. */
          hourly: z.int().min(0).optional(),
          /** Daily snapshots kept. */
          daily: z.int().min(0).optional(),
          /** Weekly snapshots kept. */
          weekly: z.int().min(0).optional(),
          /** Monthly snapshots kept. */
          monthly: z.int().min(0).optional(),
        }),
      )
      .optional(),
  }),
  /** Ceph (§11.2), off unless enabled. */
  ceph: CephSchema,
});

// ---------------------------------------------------------------- orchestration

export const OrchestrationSchema = z.strictObject({
  /** Salt: bootstrap and discovery (§12.1). */
  salt: z.strictObject({
    /** Run the enrollment/discovery stage. */
    enabled: z.boolean(),
    /** Documented purpose (free text). */
    purpose: z.string(),
  }),
  /** Ansible: idempotent converge (§12.2). */
  ansible: z.strictObject({
    /** Run the converge stage. */
    enabled: z.boolean(),
    /** Documented purpose (free text). */
    purpose: z.string(),
    /** Destruction boundaries of the converge stage. */
    safety: z.strictObject({
      /** May converge repartition disks? Must be explicit. */
      allowRepartition: z.boolean().optional(),
      /** May converge wipe disks (wipefs, zap, mkfs on used disks)? Must be explicit. */
      allowWipe: z.boolean().optional(),
    }),
  }),
});

// ---------------------------------------------------------------- kubernetes

export const KubernetesSchema = z.strictObject({
  /** Bring up the Kubernetes reference workload. */
  enabled: z.boolean(),
  /** Destruction boundary: may a node be `kubeadm reset`? Must be explicit. */
  allowReset: z.boolean().optional(),
  /** Kubernetes version or minor line (`v1.32.x`); resolved to an exact patch by the version locks. */
  version: z.string().regex(/^v?\d+\.\d+\.(\d+|x)$/, "must be vMAJOR.MINOR.PATCH or vMAJOR.MINOR.x"),
  /** HA topology (§13.1). Absent means a single control plane (no HA). */
  ha: z
    .strictObject({
      /** Control-plane replicas: odd, ≥ 3, equal to the control-plane nodes in the inventory. */
      controlPlaneReplicas: z.int().min(1).max(15),
      /** etcd topology; kubedos builds `stacked` etcd. */
      etcd: z.enum(["stacked", "external"]),
    })
    .optional(),
  /** CNI (§13.2). */
  cni: z.strictObject({
    /** CNI implementation; kubedos ships Cilium. */
    name: z.literal("cilium"),
    /** Enable Hubble relay and UI. */
    hubble: z.boolean(),
    /** Default network policy posture: `deny` (default-deny) or `allow`. */
    policyDefault: z.enum(["deny", "allow"]),
  }),
  /** Observability baseline (§13.3). */
  observability: z.strictObject({
    /** Deploy the observability stack. */
    enabled: z.boolean(),
    /** Which components. */
    stack: z.strictObject({
      /** Prometheus. */
      prometheus: z.boolean(),
      /** Grafana. */
      grafana: z.boolean(),
      /** Loki. */
      loki: z.boolean(),
    }),
    /** Plane the stack binds to (wg2 by convention). */
    bindPlane: planeName,
  }),
});

// ---------------------------------------------------------------- acceptance

export const GateNames = [
  "backplane-matrix",
  "security-baseline",
  "k8s-health",
  "cilium-health",
  "hubble-flows",
  "observability-stack",
] as const;

export const AcceptanceSchema = z.strictObject({
  /** Mean-time-to-recover target, minutes. */
  mttrTargetMinutes: z.int().min(1).max(10_080),
  /** Gates (§17.1) that must pass before the bundle is sealed. */
  required: z.array(z.enum(GateNames)),
  /** Drills (§17.2) and their recovery targets. */
  drills: z
    .array(
      z.strictObject({
        /** Drill name. */
        name: z.enum(["delete-worker", "delete-control-plane"]),
        /** Recovery time objective for this drill, minutes. */
        expectRecoveryMinutes: z.int().min(1).max(10_080),
      }),
    )
    .optional(),
});

// ---------------------------------------------------------------- mirrors (air-gap)

export const MirrorsSchema = z.strictObject({
  /** Extension. The Debian/Ubuntu package mirror nodes install from; no other source is configured. */
  apt: z
    .strictObject({
      /** Mirror URL, e.g. `http://mirror.lab.example/debian`. */
      url: z.url({ protocol: /^https?$/, error: "must be an http(s) URL such as http://mirror.lab.example/debian" }),
      /** Distribution suite, e.g. `bookworm`. */
      suite: z.string().regex(/^[a-z0-9][a-z0-9.-]*$/, "must be a suite name such as bookworm"),
      /** Components, e.g. `[main]`. */
      components: z.array(z.string().regex(/^[a-z0-9-]+$/, "must be a component name such as main")).min(1),
      /** ASCII-armored public key the mirror's Release file is signed with (apt `signed-by`). */
      signingKey: z
        .string()
        .regex(/-----BEGIN PGP PUBLIC KEY BLOCK-----/, "must be an ASCII-armored PGP public key")
        .optional(),
    })
    .optional(),
  /** Extension. Container registry mirror (host[:port]) every image is pulled from. */
  registry: z
    .string()
    .regex(/^[a-z0-9.-]+(:\d+)?$/i, "must be a registry host such as registry.lab.example:5000")
    .optional(),
  /** Extension. Helm chart source (an `oci://` or `https://` URL). */
  charts: z
    .string()
    .regex(/^(oci|https?):\/\/\S+$/, "must be an oci:// or https:// URL")
    .optional(),
});

// ---------------------------------------------------------------- kit (bootstrap kit, seed 000)

/** A DNS domain: two or more DNS-1123 labels, at most 253 chars (`dev-lab.lab.example`). */
const dnsDomain = z
  .string()
  .max(253)
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)+$/,
    "must be a lower-case DNS domain of two or more labels, such as lab.example",
  );

/** Kit profiles kubedos knows: `omantel-1` is seed 000's 48-blueprint bootstrap kit (slots 1–48). */
export const KitProfiles = ["omantel-1"] as const;

export const KitSchema = z.strictObject({
  /** The set of blueprints the kit starts from; `omantel-1` (the default) is seed 000's 48, slots 1–48. */
  profile: z.enum(KitProfiles).optional(),
  /**
   * DNS domain the kit's public endpoints answer under (`harbor.<domain>`, `grafana.<domain>` …);
   * every readiness probe substitutes it for `<domain>`.
   */
  domain: dnsDomain,
  /**
   * Blueprints excluded from the profile (seed 000 §6) to add, by catalog name without `bp-`
   * (e.g. `keda`). They take slots 49 onwards in catalog order, and everything they depend on
   * must be in the kit (rule kit-dependencies).
   */
  include: z.array(dnsLabel).optional(),
  /**
   * Optional blueprints of the profile to leave out, by catalog name without `bp-`. The Tier 0–1
   * foundation cannot be dropped, nor anything a kept blueprint depends on (rule kit-dependencies).
   */
  drop: z.array(dnsLabel).optional(),
});

// ---------------------------------------------------------------- root

export const ClusterSpecSchema = z.strictObject({
  /** Always `kubedos.ca/v1alpha1`. */
  apiVersion: z.literal("kubedos.ca/v1alpha1"),
  /** Always `Cluster`. */
  kind: z.literal("Cluster"),
  /** Cluster identity. */
  metadata: MetadataSchema,
  /** Desired state and policy boundaries. */
  spec: z.strictObject({
    /** Stage 1: where nodes come from. */
    substrate: SubstrateSchema,
    /** Nodes, roles and failure domains. */
    nodes: NodesSchema,
    /** WireGuard planes and the inter-plane policy. */
    networking: NetworkingSchema,
    /** Trust, enrollment, SSH and rotation. */
    security: SecuritySchema,
    /** ZFS and Ceph. */
    storage: StorageSchema,
    /** Salt and Ansible stages and their destruction boundaries. */
    orchestration: OrchestrationSchema,
    /** The Kubernetes reference workload. */
    kubernetes: KubernetesSchema,
    /** Acceptance gates and drills. */
    acceptance: AcceptanceSchema,
    /** Extension. Air-gap mirrors: where packages, images and charts come from (nothing else is reached). */
    mirrors: MirrorsSchema.optional(),
    /**
     * Extension. The bootstrap kit (seed 000): which blueprints Flux installs and the domain they
     * answer under. Absent: the omantel-1 kit under `<metadata.name>.kubedos.local`.
     */
    kit: KitSchema.optional(),
    /**
     * Extension. The environment profile (seed 004 §2–§6): buckets, broker objects and vector schema,
     * reconciled idempotently through one adapter per port. Absent: nothing to reconcile.
     */
    environment: EnvironmentSchema.optional(),
  }),
});

export type ClusterSpec = z.infer<typeof ClusterSpecSchema>;
export type Substrate = ClusterSpec["spec"]["substrate"];
export type SubstrateType = Substrate["type"];
export type InventoryNode = z.infer<typeof NodeSchema>;
export type Plane = z.infer<typeof PlaneSchema>;
export type AllowRule = z.infer<typeof AllowRuleSchema>;
export type GateName = (typeof GateNames)[number];
export type KitSpec = z.infer<typeof KitSchema>;
export type KitProfile = (typeof KitProfiles)[number];
