/**
 * policy/policies/boundaries.ts: substrate-protected and destructive-commands, against the
 * destruction flags the rendered spec carries (components/spec/constraints/boundaries.ts) and
 * the destructive-operation table (components/boundaries/destructive-ops.ts).
 */
import { strict as assert } from "node:assert";
import { DESTRUCTIVE_OPS } from "../../../components/boundaries/destructive-ops";
import type { DestructiveFlag } from "../../../components/spec/constraints";
import type { ClusterSpec } from "../../../components/spec/schema";
import { destructiveCommands, substrateProtected } from "../../../policy/policies/boundaries";
import { clusterComponent, runStackPolicy, runStackPolicyDetailed, specStage, urnOf, type TestStackResource } from "./harness";
import { CLEAN_SPEC, edited } from "./specs";

/** CLEAN_SPEC (every flag false) with some flags set. */
function specWith(flags: Partial<Record<DestructiveFlag, boolean>>): ClusterSpec {
  return edited(CLEAN_SPEC, (s) => {
    if (flags.allowDestroy !== undefined) s.spec.substrate.allowDestroy = flags.allowDestroy;
    if (flags.allowRepartition !== undefined) s.spec.orchestration.ansible.safety.allowRepartition = flags.allowRepartition;
    if (flags.allowWipe !== undefined) s.spec.orchestration.ansible.safety.allowWipe = flags.allowWipe;
    if (flags.allowReset !== undefined) s.spec.kubernetes.allowReset = flags.allowReset;
  });
}

const CLOSED = specWith({});

/** The program's graph around the resources under test: the Cluster and Stage 0 carrying `spec`. */
const stackWith = (spec: ClusterSpec | undefined, ...rs: TestStackResource[]): TestStackResource[] => [
  clusterComponent(),
  ...(spec === undefined ? [] : [specStage(spec)]),
  ...rs,
];

// ---------------------------------------------------------------- substrate-protected

const VM_TYPE = "proxmoxve:index/vmLegacy:VmLegacy";
const SERVER_TYPE = "hcloud:index/server:Server";

const vm = (protect: boolean): TestStackResource => ({
  type: VM_TYPE,
  name: "cp-1",
  props: { nodeName: "pve-a1", vmId: 3017, name: "cp-1" },
  opts: { protect },
});
const server = (protect: boolean): TestStackResource => ({
  type: SERVER_TYPE,
  name: "cp-2",
  props: { name: "cp-2", serverType: "cx32", location: "fsn1" },
  opts: { protect },
});

const VM_MESSAGE =
  "Substrate resource cp-1 (proxmoxve:index/vmLegacy:VmLegacy) must be protected while substrate.allowDestroy is false; set protect: true (or opt in with allowDestroy: true).";
const SERVER_MESSAGE =
  "Substrate resource cp-2 (hcloud:index/server:Server) must be protected while substrate.allowDestroy is false; set protect: true (or opt in with allowDestroy: true).";

describe("substrate-protected", () => {
  it("rejects a Proxmox VM and a Hetzner server when they are not protected and allowDestroy is false", () => {
    const got = runStackPolicyDetailed(substrateProtected, stackWith(CLOSED, vm(false), server(false)));
    assert.deepEqual(got, [
      { message: VM_MESSAGE, urn: urnOf(VM_TYPE, "cp-1") },
      { message: SERVER_MESSAGE, urn: urnOf(SERVER_TYPE, "cp-2") },
    ]);
  });

  it("rejects an unprotected substrate resource when the stack carries no spec (the boundary is treated as closed)", () => {
    assert.deepEqual(runStackPolicy(substrateProtected, stackWith(undefined, vm(false))), [VM_MESSAGE]);
  });

  it("rejects an unprotected substrate resource when allowDestroy is missing from the spec (closed)", () => {
    const spec = edited(CLOSED, (s) => delete s.spec.substrate.allowDestroy);
    assert.deepEqual(runStackPolicy(substrateProtected, stackWith(spec, server(false))), [SERVER_MESSAGE]);
  });

  it("rejects only the unprotected one when a protected and an unprotected substrate resource are mixed", () => {
    assert.deepEqual(runStackPolicy(substrateProtected, stackWith(CLOSED, vm(true), server(false))), [SERVER_MESSAGE]);
  });

  it("accepts substrate resources when they are protected", () => {
    assert.deepEqual(runStackPolicy(substrateProtected, stackWith(CLOSED, vm(true), server(true))), []);
  });

  it("accepts unprotected substrate resources when allowDestroy is true", () => {
    assert.deepEqual(runStackPolicy(substrateProtected, stackWith(specWith({ allowDestroy: true }), vm(false), server(false))), []);
  });

  it("accepts the stack when the other flags are true but allowDestroy is false and everything is protected", () => {
    const spec = specWith({ allowWipe: true, allowReset: true, allowRepartition: true });
    assert.deepEqual(runStackPolicy(substrateProtected, stackWith(spec, vm(true))), []);
  });

  it("accepts a provider resource (pulumi:providers:proxmoxve / hcloud) when it is not protected", () => {
    const providers: TestStackResource[] = [
      { type: "pulumi:providers:proxmoxve", name: "pve", props: { endpoint: "https://pve-a1:8006/" } },
      { type: "pulumi:providers:hcloud", name: "hcloud", props: {} },
    ];
    assert.deepEqual(runStackPolicy(substrateProtected, stackWith(CLOSED, ...providers)), []);
    assert.deepEqual(runStackPolicy(substrateProtected, stackWith(undefined, ...providers)), []);
  });

  it("accepts resources of other packages when they are not protected", () => {
    const others: TestStackResource[] = [
      { type: "command:remote:Command", name: "join", props: { create: "true" } },
      { type: "kubernetes:core/v1:Namespace", name: "kube-system", props: {} },
      { type: "kubedos:cluster:Stage", name: "dev-lab-stage1-substrate", props: { key: "substrate" } },
    ];
    assert.deepEqual(runStackPolicy(substrateProtected, stackWith(CLOSED, ...others)), []);
  });
});

// ---------------------------------------------------------------- destructive-commands

/** For each entry of DESTRUCTIVE_OPS, a command that triggers it (and only it) and the text it matches. */
const TRIGGERS: Record<string, { command: string; match: string }> = {
  "kubeadm reset": { command: "kubeadm reset -f", match: "kubeadm reset" },
  "rm -rf /var/lib/etcd": { command: "systemctl stop etcd\nrm -rf /var/lib/etcd", match: "rm -rf /var/lib/etcd" },
  "etcdctl member remove": {
    command: "etcdctl --endpoints=https://10.113.0.10:2379 member remove 8e9e05c52164694d",
    match: "etcdctl --endpoints=https://10.113.0.10:2379 member remove",
  },
  wipefs: { command: "wipefs -a /dev/sdb", match: "wipefs" },
  "sgdisk --zap": { command: "sgdisk --zap-all /dev/sdb", match: "sgdisk --zap-all" },
  "dd of=/dev/…": { command: "dd if=/dev/zero of=/dev/sdb bs=1M count=100", match: "dd if=/dev/zero of=/dev/sdb" },
  blkdiscard: { command: "blkdiscard -f /dev/nvme1n1", match: "blkdiscard" },
  "ceph-volume zap": { command: "ceph-volume lvm zap /dev/sdc --destroy", match: "ceph-volume lvm zap" },
  "zpool destroy": { command: "zpool destroy tank", match: "zpool destroy" },
  "zpool create -f": { command: "zpool create -f tank mirror /dev/sdb /dev/sdc", match: "zpool create -f" },
  "zfs destroy": { command: "zfs destroy -r tank/data", match: "zfs destroy" },
  mkfs: { command: "mkfs.ext4 /dev/sdb", match: "mkfs.ext4 /dev/sdb" },
  "partition table change": { command: "parted -s /dev/sdb mklabel gpt", match: "parted" },
  "qm destroy": { command: "qm destroy 3001 --purge", match: "qm destroy" },
  "hcloud server delete": { command: "hcloud server delete cp-1", match: "hcloud server delete" },
};

const CMD_TYPE = "command:remote:Command";

const command = (name: string, props: Record<string, unknown>, type = CMD_TYPE): TestStackResource => ({
  type,
  name,
  props: { connection: { host: "10.111.0.10", user: "ops", hostKey: "ssh-ed25519 AAAAC3Nza" }, ...props },
});

function destructiveMessage(name: string, phase: string, opName: string, match: string, type = CMD_TYPE): string {
  const op = DESTRUCTIVE_OPS.find((o) => o.op === opName)!;
  return `Command ${name} (${type}) must not run ${op.op} in ${phase} (\`${match}\`: ${op.why}) while ${op.flag} is false; remove it or opt in with ${op.flag}: true.`;
}

describe("destructive-commands", () => {
  it("has a triggering command for every entry of DESTRUCTIVE_OPS", () => {
    assert.deepEqual(Object.keys(TRIGGERS).sort(), DESTRUCTIVE_OPS.map((o) => o.op).sort());
  });

  it("rejects kubeadm reset in create when allowReset is false (literal message)", () => {
    const c = command("reset-cp-1", { create: "kubeadm reset -f" });
    assert.deepEqual(runStackPolicyDetailed(destructiveCommands, stackWith(CLOSED, c)), [
      {
        message:
          "Command reset-cp-1 (command:remote:Command) must not run kubeadm reset in create (`kubeadm reset`: wipes the node's Kubernetes state and certificates) while allowReset is false; remove it or opt in with allowReset: true.",
        urn: urnOf(CMD_TYPE, "reset-cp-1"),
      },
    ]);
  });

  for (const op of DESTRUCTIVE_OPS) {
    const t = TRIGGERS[op.op];
    describe(`${op.op} (${op.flag})`, () => {
      it(`rejects the command when its create runs ${op.op} and ${op.flag} is false`, () => {
        const c = command("node-task", { create: t.command });
        assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), [
          destructiveMessage("node-task", "create", op.op, t.match),
        ]);
      });

      if (op.allowedOnDelete) {
        it(`accepts ${op.op} in a delete (it runs only when its resource leaves the spec) while ${op.flag} is false`, () => {
          const c = command("node-membership", { create: "true", delete: t.command });
          assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), []);
        });
        it(`still rejects ${op.op} in update while ${op.flag} is false`, () => {
          const c = command("node-task", { create: "true", update: t.command });
          assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), [
            destructiveMessage("node-task", "update", op.op, t.match),
          ]);
        });
      } else {
        it(`rejects the command when its delete runs ${op.op} and ${op.flag} is false`, () => {
          const c = command("node-task", { create: "true", delete: t.command });
          assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), [
            destructiveMessage("node-task", "delete", op.op, t.match),
          ]);
        });
      }

      it(`accepts the command when ${op.flag} is true`, () => {
        const c = command("node-task", { create: t.command, delete: t.command });
        assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(specWith({ [op.flag]: true }), c)), []);
      });
    });
  }

  it("rejects an operation in update, and in each phase that carries it", () => {
    const c = command("rotate", { create: "true", update: "wipefs -a /dev/sdb", delete: "wipefs -a /dev/sdb" });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), [
      destructiveMessage("rotate", "update", "wipefs", "wipefs"),
      destructiveMessage("rotate", "delete", "wipefs", "wipefs"),
    ]);
  });

  it("rejects every operation of a script, each under its own flag, when only some flags are open", () => {
    const c = command("rebuild", { create: "kubeadm reset -f\nwipefs -a /dev/sdb\nparted -s /dev/sdb mklabel gpt" });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(specWith({ allowWipe: true }), c)), [
      destructiveMessage("rebuild", "create", "kubeadm reset", "kubeadm reset"),
      destructiveMessage("rebuild", "create", "partition table change", "parted"),
    ]);
  });

  it("rejects a local command as well as a remote one", () => {
    const c = command("vm-gc", { create: "qm destroy 3001 --purge" }, "command:local:Command");
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), [
      destructiveMessage("vm-gc", "create", "qm destroy", "qm destroy", "command:local:Command"),
    ]);
  });

  it("rejects a destructive command when the stack carries no spec (every flag is treated as false)", () => {
    const c = command("zap", { create: "sgdisk --zap-all /dev/sdb" });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(undefined, c)), [
      destructiveMessage("zap", "create", "sgdisk --zap", "sgdisk --zap-all"),
    ]);
  });

  it("rejects `mkfs.ext4 /dev/sdb` alone when allowWipe is false", () => {
    const c = command("format", { create: "mkfs.ext4 /dev/sdb" });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), [
      destructiveMessage("format", "create", "mkfs", "mkfs.ext4 /dev/sdb"),
    ]);
  });

  it("rejects mkfs when the blank-disk guard is `&&` rather than `||`", () => {
    const c = command("format", { create: "blkid /dev/sdb && mkfs.ext4 /dev/sdb" });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), [
      destructiveMessage("format", "create", "mkfs", "mkfs.ext4 /dev/sdb"),
    ]);
  });

  it("rejects mkfs when one line is guarded and another is not", () => {
    const c = command("format", { create: "blkid /dev/sdb || mkfs.ext4 /dev/sdb\nmkfs.xfs -f /dev/sdc" });
    const got = runStackPolicy(destructiveCommands, stackWith(CLOSED, c));
    assert.equal(got.length, 1, got.join("\n"));
    assert.ok(got[0].startsWith("Command format (command:remote:Command) must not run mkfs in create (`mkfs"), got[0]);
  });

  it("accepts `blkid /dev/sdb || mkfs.ext4 /dev/sdb` when allowWipe is false (the blank-disk guard)", () => {
    const c = command("format", { create: "blkid /dev/sdb || mkfs.ext4 /dev/sdb" });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), []);
  });

  it("accepts `dd if=/dev/zero of=/dev/null` when allowWipe is false (not a block device)", () => {
    const c = command("bench", { create: "dd if=/dev/zero of=/dev/null bs=1M count=100" });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), []);
  });

  it("accepts harmless commands when every flag is false", () => {
    const c = command("bootstrap", {
      create: "apt-get install -y curl=7.88.1-10 && kubeadm join 10.113.0.10:6443",
      delete: "systemctl stop kubelet",
    });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), []);
  });

  it("accepts a non-command resource whose properties mention a destructive operation", () => {
    const cm: TestStackResource = {
      type: "kubernetes:core/v1:ConfigMap",
      name: "runbook",
      props: { data: { "wipe.sh": "wipefs -a /dev/sdb" } },
    };
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, cm)), []);
  });

  // Regressions: the guard once excused a whole line, ignored the device, and quoted the wrong mkfs.

  it("rejects an unguarded mkfs when it shares a line with a guarded one (`blkid A || mkfs A; mkfs B`)", () => {
    const c = command("format", { create: "blkid /dev/sdb || mkfs.ext4 /dev/sdb; mkfs.xfs -f /dev/sdc" });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), [
      destructiveMessage("format", "create", "mkfs", "mkfs.xfs -f /dev/sdc"),
    ]);
  });

  it("names the unguarded mkfs, not the guarded one, when a script mixes both", () => {
    const c = command("format", { create: "blkid /dev/sdb || mkfs.ext4 /dev/sdb\nmkfs.xfs -f /dev/sdc" });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), [
      destructiveMessage("format", "create", "mkfs", "mkfs.xfs -f /dev/sdc"),
    ]);
  });

  it("rejects mkfs when the blkid guard probes a different device than the one formatted", () => {
    const c = command("format", { create: "blkid /dev/sdb || mkfs.ext4 /dev/sdc" });
    assert.deepEqual(runStackPolicy(destructiveCommands, stackWith(CLOSED, c)), [
      destructiveMessage("format", "create", "mkfs", "mkfs.ext4 /dev/sdc"),
    ]);
  });
});
