/**
 * Proxmox substrate (@muhlba91/pulumi-proxmoxve): one full clone per node from a pinned
 * template (or a checksum-pinned cloud image), placed on the host the Plan chose, with the
 * NICs, disks, tags and cloud-init user data (a snippet) the spec declares.
 */
import * as proxmox from "@muhlba91/pulumi-proxmoxve";
import * as pulumi from "@pulumi/pulumi";
import type { Plan, PlanNode } from "../plan/plan";
import type { ClusterSpec } from "../spec/schema";
import type { Stage } from "../stage";
import { boundaryOpts } from "./options";
import type { SubstrateInputs, SubstrateNode, SubstrateResult } from "./types";

type ProxmoxSpec = Extract<ClusterSpec["spec"]["substrate"], { type: "proxmox" }>["proxmox"];

/** Facts the Proxmox substrate cannot build without; checked before any resource is declared. */
export function proxmoxMissingFacts(spec: ProxmoxSpec, plan: Plan): string[] {
  const missing: string[] = [];
  if (!spec.template && !spec.image) missing.push("substrate.proxmox.template or substrate.proxmox.image (what to clone or import)");
  for (const n of plan.nodes)
    if (!n.placement.host) missing.push(`a Proxmox host for ${n.name} (substrate.proxmox.hosts with failureDomain ${n.failureDomain})`);
  for (const n of plan.nodes) if (!n.uplink) missing.push(`an uplink address for ${n.name} (networking.underlay)`);
  return missing;
}

export function createProxmox(stage: Stage, plan: Plan, spec: ClusterSpec, inputs: SubstrateInputs): SubstrateResult {
  const s = spec.spec.substrate;
  if (s.type !== "proxmox") throw new Error("createProxmox needs a proxmox substrate");
  const px = s.proxmox;
  const missing = proxmoxMissingFacts(px, plan);
  if (missing.length > 0) {
    throw new pulumi.RunError(`Stage 1 (Proxmox substrate) cannot place the VMs; the spec lacks:\n  - ${missing.join("\n  - ")}`);
  }
  const inventory = new Map(spec.spec.nodes.inventory.map((n) => [n.name, n]));
  const snippets = px.snippetsDatastore ?? "local";
  const tags = [
    ...new Set(["kubedos", `cluster-${plan.cluster.name}`, `artifact-${plan.cluster.artifactVersion}`, ...(px.tags ?? [])]),
  ].sort();
  const sshUser = plan.ssh.allowUsers[0];

  // A checksum-pinned image is downloaded once per host that holds VMs.
  const images = new Map<string, proxmox.download.FileLegacy>();
  if (!px.template && px.image) {
    for (const host of [...new Set(plan.nodes.map((n) => n.placement.host!))].sort()) {
      images.set(
        host,
        new proxmox.download.FileLegacy(
          `${plan.cluster.name}-image-${host}`,
          {
            nodeName: host,
            datastoreId: px.image.datastore,
            contentType: "import",
            url: px.image.url,
            checksum: px.image.sha256,
            checksumAlgorithm: "sha256",
            fileName: `kubedos-${plan.cluster.artifactVersion}-${px.image.sha256.slice(0, 12)}.qcow2`,
            overwrite: false,
          },
          stage.childOpts(boundaryOpts(plan)),
        ),
      );
    }
  }

  const nodes: SubstrateNode[] = plan.nodes.map((node: PlanNode) => {
    const inv = inventory.get(node.name)!;
    const host = node.placement.host!;
    // cloud-init runs once, at first boot: later changes reach nodes through the converge
    // stages, so a re-rendered snippet must not replace the file (or, through it, the VM).
    const snippet = new proxmox.FileLegacy(
      `${plan.cluster.name}-${node.name}-user-data`,
      {
        nodeName: host,
        datastoreId: snippets,
        contentType: "snippets",
        sourceRaw: { data: inputs.userData(node), fileName: `kubedos-${plan.cluster.name}-${node.name}-user-data.yaml` },
      },
      stage.childOpts(boundaryOpts(plan, { ignoreChanges: ["sourceRaw"], additionalSecretOutputs: ["sourceRaw"] })),
    );
    const disks = (inv.disks ?? []).map((d, i) => {
      const osDisk = d.purpose === "os";
      const iface = osDisk ? "scsi0" : `scsi${i + 1}`;
      const image = images.get(host);
      return {
        interface: iface,
        datastoreId: d.pool,
        size: d.sizeGiB,
        discard: "on",
        iothread: true,
        ssd: true,
        ...(osDisk && image ? { importFrom: image.id } : {}),
      };
    });
    const prefix = node.uplink!.cidr!.split("/")[1];
    // The OS disk's pool holds the clone and the cloud-init drive, wherever the disk is listed.
    const osPool = (inv.disks ?? []).find((d) => d.purpose === "os")!.pool;
    // ipConfigs[i] configures net i: the uplink's address goes at the uplink NIC's position.
    const nics = inv.nics ?? [];
    const uplinkIndex = nics.findIndex((n) => n.purpose === "uplink");
    const uplinkConfig = {
      ipv4: { address: `${node.uplink!.address}/${prefix}`, ...(node.uplink!.gateway ? { gateway: node.uplink!.gateway } : {}) },
    };
    const ipConfigs = nics.slice(0, uplinkIndex + 1).map((_, i) => (i === uplinkIndex ? uplinkConfig : {}));
    const vm = new proxmox.VmLegacy(
      `${plan.cluster.name}-${node.name}`,
      {
        name: node.name,
        nodeName: host,
        vmId: node.vmid!,
        description: `kubedos ${plan.cluster.name} ${node.role} ${node.name} (artifact ${plan.cluster.artifactVersion})`,
        tags: [...tags, `role-${node.role}`, `fd-${node.failureDomain}`],
        ...(px.template ? { clone: { vmId: px.template.vmid, nodeName: px.template.node, full: true, datastoreId: osPool } } : {}),
        cpu: { cores: inv.resources!.cpu, type: "host" },
        memory: { dedicated: inv.resources!.memoryMiB },
        scsiHardware: "virtio-scsi-single",
        disks,
        networkDevices: (inv.nics ?? []).map((nic) => ({
          bridge: nic.bridge,
          model: "virtio",
          ...(nic.vlan !== undefined ? { vlanId: nic.vlan } : {}),
        })),
        initialization: {
          datastoreId: osPool,
          userDataFileId: snippet.id,
          ipConfigs,
          ...(plan.underlay?.nameservers.length ? { dns: { servers: plan.underlay.nameservers } } : {}),
        },
        agent: { enabled: true },
        onBoot: true,
        started: true,
        // A placement change live-migrates the VM instead of replacing it.
        migrate: true,
        operatingSystem: { type: "l26" },
      },
      stage.childOpts(boundaryOpts(plan, { dependsOn: [snippet], ignoreChanges: ["clone", "initialization.userDataFileId"] })),
    );
    if (px.ha?.enabled) {
      new proxmox.Haresource(
        `${plan.cluster.name}-${node.name}-ha`,
        {
          resourceId: `vm:${node.vmid}`,
          state: "started",
          ...(px.ha.group ? { group: px.ha.group } : {}),
          comment: `kubedos ${plan.cluster.name}`,
        },
        stage.childOpts(boundaryOpts(plan, { dependsOn: [vm] })),
      );
    }
    return {
      name: node.name,
      role: node.role,
      failureDomain: node.failureDomain,
      uplinkAddress: node.uplink!.address,
      ssh: { host: node.uplink!.address, port: 22, user: sshUser, hostKey: inputs.hostPublicKey(node) },
      machine: vm,
    };
  });
  return { nodes };
}
