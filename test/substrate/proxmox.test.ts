/**
 * Stage 1 on Proxmox VE (components/substrate/proxmox.ts) as the real program registers it under
 * the mock engine (planStack → runStack): one VM per node, placed, cloned, addressed and tagged as
 * the spec and the Plan say; the cloud-init snippet a secret; every substrate resource protected
 * while allowDestroy is false; HA resources on prod; and the image-import variant.
 */
import { strict as assert } from "node:assert";
import type { PlanResult } from "../../cli/commands/plan";
import type { RecordedResource } from "../../cli/engine/harness";
import type { Plan } from "../../components/plan/plan";
import type { ClusterSpec } from "../../components/spec/schema";
import {
  DEV,
  DOWNLOAD_TYPE,
  edited,
  HA_TYPE,
  inventoryIndex,
  named,
  ofType,
  plan,
  PROD,
  scratch,
  secretValue,
  SNIPPET_TYPE,
  specAndPlan,
  stageUrn,
  VM_TYPE,
  type Json,
} from "./helpers";

type ProxmoxSpec = Extract<ClusterSpec["spec"]["substrate"], { type: "proxmox" }>["proxmox"];

const proxmoxOf = (spec: ClusterSpec): ProxmoxSpec => {
  const s = spec.spec.substrate;
  assert.equal(s.type, "proxmox");
  return (s as Extract<ClusterSpec["spec"]["substrate"], { type: "proxmox" }>).proxmox;
};

const ALLOW_DESTROY_WARNING = /substrate\.allowDestroy is TRUE/;

interface Fixture {
  label: string;
  stack: string;
  text: string;
}

const FIXTURES: Fixture[] = [
  { label: "dev", stack: "dev", text: DEV },
  { label: "prod", stack: "prod", text: PROD },
];

describe("components/substrate/proxmox", function () {
  this.timeout(30_000);
  const tmp = scratch("substrate-proxmox");
  after(() => tmp.cleanup());

  for (const fx of FIXTURES) {
    describe(`for the ${fx.label} stack`, () => {
      let res: PlanResult;
      let spec: ClusterSpec;
      let p: Plan;
      const vmOf = (node: string): RecordedResource => named(res.run, `${p.cluster.name}-${node}`, VM_TYPE);
      const snippetOf = (node: string): RecordedResource => named(res.run, `${p.cluster.name}-${node}-user-data`, SNIPPET_TYPE);
      const inv = (node: string) => spec.spec.nodes.inventory.find((n) => n.name === node)!;

      before(async () => {
        res = await plan({ stack: fx.stack });
        ({ spec, plan: p } = specAndPlan(fx.text));
      });

      it("registers exactly one VmLegacy per node, named <cluster>-<node> under the substrate Stage, when the program runs", () => {
        const vms = ofType(res.run, VM_TYPE);
        const stage1 = stageUrn(res.run, `${p.cluster.name}-stage1-substrate`);
        assert.deepEqual(vms.map((v) => v.name).sort(), p.nodes.map((n) => `${p.cluster.name}-${n.name}`).sort());
        for (const v of vms) {
          assert.equal(v.parent, stage1, `${v.name} is not parented to the Stage 1 component`);
          assert.equal(v.custom, true);
        }
        for (const n of p.nodes) assert.equal(vmOf(n.name).inputs.name, n.name);
      });

      it("sets vmId to the plan's vmid and nodeName to the plan's host when the VMs are placed", () => {
        for (const n of p.nodes) {
          const vm = vmOf(n.name);
          assert.equal(typeof n.vmid, "number");
          assert.equal(vm.inputs.vmId, n.vmid, `${n.name} vmId`);
          assert.ok(n.placement.host, `${n.name} has no host in the plan`);
          assert.equal(vm.inputs.nodeName, n.placement.host, `${n.name} nodeName`);
        }
        const ids = ofType(res.run, VM_TYPE).map((v) => v.inputs.vmId);
        assert.equal(new Set(ids).size, ids.length, "two VMs share a vmid");
      });

      it("full-clones the spec's pinned template when template is declared", () => {
        const tpl = proxmoxOf(spec).template!;
        assert.ok(tpl, `${fx.label} declares a template`);
        for (const n of p.nodes) {
          const clone = vmOf(n.name).inputs.clone as Json;
          assert.ok(clone, `${n.name} has no clone block`);
          assert.equal(clone.vmId, tpl.vmid, `${n.name} clone.vmId`);
          assert.equal(clone.nodeName, tpl.node, `${n.name} clone.nodeName`);
          assert.equal(clone.full, true, `${n.name} is a linked clone`);
        }
      });

      it("puts every declared disk on its pool with its size, the os disk as scsi0, when the inventory declares disks", () => {
        for (const n of p.nodes) {
          const disks = vmOf(n.name).inputs.disks as Json[];
          const declared = inv(n.name).disks ?? [];
          assert.equal(disks.length, declared.length, `${n.name} disk count`);
          assert.deepEqual(
            disks.map((d) => [d.datastoreId, d.size]),
            declared.map((d) => [d.pool, d.sizeGiB]),
            `${n.name} disks differ from the inventory`,
          );
          const os = declared.findIndex((d) => d.purpose === "os");
          assert.equal(disks[os].interface, "scsi0", `${n.name} os disk is not scsi0`);
          const ifaces = disks.map((d) => d.interface);
          assert.equal(new Set(ifaces).size, ifaces.length, `${n.name} has two disks on one interface`);
          for (const i of ifaces) assert.match(i, /^scsi\d+$/);
        }
      });

      it("attaches one virtio NIC per declared nic with its bridge and VLAN when the inventory declares nics", () => {
        for (const n of p.nodes) {
          const nics = vmOf(n.name).inputs.networkDevices as Json[];
          assert.deepEqual(
            nics.map((d) => ({ bridge: d.bridge, vlanId: d.vlanId, model: d.model })),
            (inv(n.name).nics ?? []).map((d) => ({ bridge: d.bridge, vlanId: d.vlan, model: "virtio" })),
            `${n.name} NICs`,
          );
        }
      });

      it("configures ipConfigs[0] as <uplink>/<prefix> with the underlay gateway and nameservers when cloud-init networks the VM", () => {
        const underlay = spec.spec.networking.underlay!;
        const prefix = underlay.cidr.split("/")[1];
        for (const n of p.nodes) {
          const init = vmOf(n.name).inputs.initialization as Json;
          assert.ok(n.uplink, `${n.name} has no uplink in the plan`);
          assert.deepEqual(init.ipConfigs[0].ipv4, { address: `${n.uplink.address}/${prefix}`, gateway: underlay.gateway }, n.name);
          assert.deepEqual(init.dns?.servers, underlay.nameservers, `${n.name} nameservers`);
        }
        const addrs = p.nodes.map((n) => n.uplink!.address);
        assert.equal(new Set(addrs).size, addrs.length, "two VMs share an uplink address");
      });

      it("tags every VM with artifact-<version>, cluster-<name> and the spec's tags when the VM is created", () => {
        for (const n of p.nodes) {
          const tags = vmOf(n.name).inputs.tags as string[];
          for (const t of [`artifact-${p.cluster.artifactVersion}`, `cluster-${p.cluster.name}`, ...(proxmoxOf(spec).tags ?? [])])
            assert.ok(tags.includes(t), `${n.name} lacks tag ${t}: ${tags.join(",")}`);
          for (const t of tags) assert.match(t, /^[a-zA-Z0-9_][a-zA-Z0-9_:.+-]*$/, `${n.name} tag ${t} is not a Proxmox tag`);
        }
      });

      it("protects and retains every VM, snippet and HA resource when allowDestroy is false", () => {
        assert.equal(p.boundaries.allowDestroy, false);
        const substrate = res.run.resources.filter((r) => r.type.startsWith("proxmoxve:"));
        assert.ok(substrate.length >= 2 * p.nodes.length);
        for (const r of substrate) {
          assert.equal(r.protect, true, `${r.name} is not protected`);
          assert.equal(r.retainOnDelete, true, `${r.name} is not retained on delete`);
        }
        assert.ok(!res.run.logs.some((l) => ALLOW_DESTROY_WARNING.test(l.message)), "warns about allowDestroy although it is false");
      });

      it("uploads the cloud-init user data as a secret snippet, listed in additionalSecretOutputs and ignoreChanges, when a VM is declared", () => {
        const snippets = ofType(res.run, SNIPPET_TYPE);
        assert.equal(snippets.length, p.nodes.length);
        for (const n of p.nodes) {
          const s = snippetOf(n.name);
          assert.equal(s.inputs.contentType, "snippets");
          assert.equal(s.inputs.datastoreId, proxmoxOf(spec).snippetsDatastore ?? "local");
          assert.equal(s.inputs.nodeName, n.placement.host, `${n.name} snippet is not on the VM's host`);
          const raw = s.inputs.sourceRaw as Json;
          const data = secretValue(raw.data, `${s.name} sourceRaw.data`) as string;
          assert.match(data, /^#cloud-config\n/);
          assert.match(data, new RegExp(`^hostname: ${n.name}$`, "m"));
          assert.match(data, /ed25519_private: \|?[-\s]*-----BEGIN OPENSSH PRIVATE KEY-----/);
          assert.equal(typeof raw.fileName, "string");
          assert.ok(s.additionalSecretOutputs.includes("sourceRaw"), `${s.name} additionalSecretOutputs`);
          assert.ok(s.ignoreChanges.includes("sourceRaw"), `${s.name} ignoreChanges`);
        }
        const files = snippets.map((s) => `${s.inputs.nodeName}/${(s.inputs.sourceRaw as Json).fileName}`);
        assert.equal(new Set(files).size, files.length, "two snippets share a file name on one host");
      });

      it("makes each VM depend on its own snippet and read its file id when the snippet is uploaded", () => {
        for (const n of p.nodes) {
          const vm = vmOf(n.name);
          const own = snippetOf(n.name);
          assert.ok(vm.dependencies.includes(own.urn), `${vm.name} does not depend on ${own.name}`);
          assert.deepEqual(vm.propertyDependencies.initialization, [own.urn], `${vm.name} initialization reads another snippet`);
          const others = ofType(res.run, SNIPPET_TYPE).filter((s) => s.urn !== own.urn);
          for (const o of others) assert.ok(!vm.dependencies.includes(o.urn), `${vm.name} depends on ${o.name}`);
        }
      });

      it("places every VM on a host of its own failure domain and no two control planes on one host when placement is spread", () => {
        const hostFd = new Map((proxmoxOf(spec).hosts ?? []).map((h) => [h.name, h.failureDomain]));
        const cpHosts: string[] = [];
        for (const n of p.nodes) {
          const host = vmOf(n.name).inputs.nodeName as string;
          assert.equal(hostFd.get(host), n.failureDomain, `${n.name} (${n.failureDomain}) runs on ${host} (${hostFd.get(host)})`);
          if (n.role === "control-plane") cpHosts.push(host);
        }
        assert.equal(cpHosts.length, spec.spec.kubernetes.ha?.controlPlaneReplicas ?? cpHosts.length);
        assert.equal(new Set(cpHosts).size, cpHosts.length, `control planes share a host: ${cpHosts.join(", ")}`);
      });

      if (fx.label === "prod") {
        it("keeps every failure domain below a majority of control planes when prod spreads over three racks", () => {
          const hostFd = new Map((proxmoxOf(spec).hosts ?? []).map((h) => [h.name, h.failureDomain]));
          const cps = p.nodes.filter((n) => n.role === "control-plane");
          const perFd = new Map<string, number>();
          for (const n of cps) {
            const fd = hostFd.get(vmOf(n.name).inputs.nodeName as string)!;
            perFd.set(fd, (perFd.get(fd) ?? 0) + 1);
          }
          const majority = Math.floor(cps.length / 2) + 1;
          for (const [fd, count] of perFd) assert.ok(count < majority, `${fd} holds ${count} of ${cps.length} control planes`);
          assert.equal(perFd.size, 3);
        });

        it("registers one HA resource per VM with resourceId vm:<vmid> and the HA group, after its VM, when ha is enabled", () => {
          const ha = proxmoxOf(spec).ha!;
          assert.equal(ha.enabled, true);
          const has = ofType(res.run, HA_TYPE);
          assert.equal(has.length, p.nodes.length);
          for (const n of p.nodes) {
            const r = named(res.run, `${p.cluster.name}-${n.name}-ha`, HA_TYPE);
            assert.equal(r.inputs.resourceId, `vm:${n.vmid}`);
            assert.equal(r.inputs.group, ha.group);
            assert.equal(r.inputs.state, "started");
            assert.ok(r.dependencies.includes(vmOf(n.name).urn), `${r.name} does not wait for its VM`);
          }
          assert.equal(new Set(has.map((r) => r.inputs.resourceId)).size, has.length);
        });
      } else {
        it("registers no HA resource when ha is not declared", () => {
          assert.equal(proxmoxOf(spec).ha, undefined);
          assert.equal(ofType(res.run, HA_TYPE).length, 0);
        });
      }
    });
  }

  describe("for a prod copy with allowDestroy: true", () => {
    let res: PlanResult;
    before(async () => {
      const file = tmp.file("prod-allow-destroy.yaml", edited(PROD, [[["spec", "substrate", "allowDestroy"], true]]));
      res = await plan({ spec: file });
    });

    it("neither protects nor retains any VM, snippet or HA resource when allowDestroy is true", () => {
      const substrate = res.run.resources.filter((r) => r.type.startsWith("proxmoxve:"));
      assert.equal(ofType(res.run, VM_TYPE).length, 9);
      assert.equal(ofType(res.run, SNIPPET_TYPE).length, 9);
      for (const r of substrate) {
        assert.equal(r.protect, false, `${r.name} is still protected`);
        assert.equal(r.retainOnDelete, false, `${r.name} is still retained on delete`);
      }
    });

    it("logs a warning saying allowDestroy is TRUE when allowDestroy is true", () => {
      const warns = res.run.logs.filter((l) => l.severity === "warn" && ALLOW_DESTROY_WARNING.test(l.message));
      assert.equal(warns.length, 1, JSON.stringify(res.run.logs));
      assert.match(warns[0].message, /prod-01/);
    });
  });

  describe("for a dev copy with image: instead of template:", () => {
    const image = {
      url: "https://mirror.lab.example/images/debian-12-kubedos-0.1.0.qcow2",
      sha256: "3f".repeat(32),
      datastore: "local",
    };
    let res: PlanResult;
    before(async () => {
      const text = edited(DEV, [
        [["spec", "substrate", "proxmox", "template"], undefined],
        [["spec", "substrate", "proxmox", "image"], image],
      ]);
      specAndPlan(text); // the variant is a valid spec
      res = await plan({ spec: tmp.file("dev-image.yaml", text) });
    });

    it("downloads the checksum-pinned image once per host that holds VMs when image is declared", () => {
      const vms = ofType(res.run, VM_TYPE);
      const used = [...new Set(vms.map((v) => v.inputs.nodeName as string))].sort();
      const downloads = ofType(res.run, DOWNLOAD_TYPE);
      assert.deepEqual(downloads.map((d) => d.inputs.nodeName).sort(), used);
      for (const d of downloads) {
        assert.equal(d.name, `dev-lab-image-${d.inputs.nodeName}`);
        assert.equal(d.inputs.url, image.url);
        assert.equal(d.inputs.checksum, image.sha256);
        assert.equal(d.inputs.checksumAlgorithm, "sha256");
        assert.equal(d.inputs.datastoreId, image.datastore);
        assert.equal(d.inputs.overwrite, false);
        assert.equal(d.protect, true);
        assert.equal(d.retainOnDelete, true);
      }
    });

    it("imports each VM's os disk from the image on its own host, without a clone, when image is declared", () => {
      const downloads = new Map(ofType(res.run, DOWNLOAD_TYPE).map((d) => [d.inputs.nodeName as string, d]));
      for (const vm of ofType(res.run, VM_TYPE)) {
        assert.equal(vm.inputs.clone, undefined, `${vm.name} still clones a template`);
        const img = downloads.get(vm.inputs.nodeName as string)!;
        const disks = vm.inputs.disks as Json[];
        const os = disks.find((d) => d.interface === "scsi0");
        assert.ok(os, `${vm.name} has no scsi0`);
        assert.equal(typeof os.importFrom, "string", `${vm.name} os disk does not import the image`);
        assert.deepEqual(vm.propertyDependencies.disks, [img.urn], `${vm.name} disks read another host's image`);
        assert.ok(vm.dependencies.includes(img.urn), `${vm.name} does not wait for ${img.name}`);
        for (const d of disks.filter((x) => x !== os)) assert.equal(d.importFrom, undefined);
      }
    });
  });

  describe("for a prod copy whose w-1 lists its ceph-osd disk and a storage NIC first", () => {
    // Valid: the schema requires exactly one os disk and one uplink NIC, in any order.
    let res: PlanResult;
    let p: Plan;
    before(async () => {
      const i = inventoryIndex(PROD, "w-1");
      const text = edited(PROD, [
        [
          ["spec", "substrate", "proxmox", "bridges", 0, "trunks"],
          [100, 200, 300],
        ],
        [
          ["spec", "nodes", "inventory", i, "disks"],
          [
            { pool: "osd-lvm", sizeGiB: 2048, purpose: "ceph-osd" },
            { pool: "local-zfs", sizeGiB: 200, purpose: "os" },
          ],
        ],
        [
          ["spec", "nodes", "inventory", i, "nics"],
          [
            { bridge: "vmbr0", vlan: 300, purpose: "storage" },
            { bridge: "vmbr0", vlan: 200, purpose: "uplink" },
          ],
        ],
      ]);
      p = specAndPlan(text).plan;
      res = await plan({ spec: tmp.file("prod-disk-nic-order.yaml", text) });
    });

    it("keeps the os disk on scsi0 and the other disk on its own interface when the os disk is listed second", () => {
      const disks = named(res.run, "prod-01-w-1", VM_TYPE).inputs.disks as Json[];
      assert.deepEqual(
        disks.map((d) => [d.interface, d.datastoreId]),
        [
          ["scsi1", "osd-lvm"],
          ["scsi0", "local-zfs"],
        ],
      );
    });

    it("clones onto the os disk's pool (and keeps the cloud-init drive there) when the os disk is listed second", () => {
      // components/substrate/proxmox.ts takes disks[0] as the clone target and the cloud-init
      // datastore; with the OSD disk first both land on osd-lvm (the pool reserved for Ceph OSDs).
      const vm = named(res.run, "prod-01-w-1", VM_TYPE);
      assert.equal((vm.inputs.clone as Json).datastoreId, "local-zfs", "clone.datastoreId");
      assert.equal((vm.inputs.initialization as Json).datastoreId, "local-zfs", "initialization.datastoreId");
    });

    it("configures the uplink address on the uplink NIC's ipConfig when the uplink NIC is listed second", () => {
      // ipConfigs[i] configures network device i; proxmox.ts always fills ipConfigs[0], which here
      // is the storage NIC on VLAN 300, and leaves the uplink NIC (net1, VLAN 200) unaddressed.
      const vm = named(res.run, "prod-01-w-1", VM_TYPE);
      const w1 = p.nodes.find((n) => n.name === "w-1")!;
      const ipConfigs = (vm.inputs.initialization as Json).ipConfigs as Json[];
      const uplinkNic = (vm.inputs.networkDevices as Json[]).findIndex((d) => d.vlanId === 200);
      assert.equal(uplinkNic, 1);
      assert.equal(ipConfigs[uplinkNic]?.ipv4?.address, `${w1.uplink!.address}/22`, "the uplink NIC's ipConfig");
      assert.notEqual(ipConfigs[0]?.ipv4?.address, `${w1.uplink!.address}/22`, "the storage NIC carries the uplink address");
    });
  });
});
