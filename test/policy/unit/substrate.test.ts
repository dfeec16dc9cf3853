/**
 * policy/policies/substrate.ts: firewall-not-open, no-password-ssh and substrate-no-replace —
 * the policies of Stages 1–2. Resources are shaped as components/substrate/*.ts registers them
 * (hcloud Firewall rules, hcloud Server userData, the Proxmox cloud-init snippet's
 * sourceRaw.data, the ignoreChanges of each machine), and the accept cases include the cloud-init
 * kubedos really renders for a dev node.
 */
import { strict as assert } from "node:assert";
import { stringify } from "yaml";
import { renderCloudInit } from "../../../components/firstboot/cloud-init";
import { buildPlan } from "../../../components/plan/plan";
import { nodeHostKey } from "../../../components/secrets/derive";
import type { ClusterSpec } from "../../../components/spec/schema";
import { firewallNotOpen, noPasswordSsh, REPLACING_INPUTS, substrateNoReplace } from "../../../policy/policies/substrate";
import {
  clusterComponent,
  runResourcePolicy,
  runResourcePolicyDetailed,
  runStackPolicy,
  runStackPolicyDetailed,
  specStage,
  urnOf,
  type TestResource,
  type TestStackResource,
} from "./harness";
import { CLEAN_SPEC, DEV_SPEC, edited } from "./specs";

const FIREWALL_TYPE = "hcloud:index/firewall:Firewall";
const SERVER_TYPE = "hcloud:index/server:Server";
const VM_TYPE = "proxmoxve:index/vmLegacy:VmLegacy";
const SNIPPET_TYPE = "proxmoxve:index/fileLegacy:FileLegacy";

// ---------------------------------------------------------------- firewall-not-open

type Rule = { direction: string; protocol: string; port?: string; sourceIps?: string[]; destinationIps?: string[]; description?: string };

/** The firewall as components/substrate/hetzner.ts builds it: SSH and the wg1 port from the declared sources. */
const SOURCES = ["203.0.113.0/24", "198.51.100.7/32"];
const DECLARED: Rule[] = [
  { direction: "in", protocol: "tcp", port: "22", sourceIps: SOURCES, description: "SSH from the declared operator sources" },
  { direction: "in", protocol: "udp", port: "51821", sourceIps: SOURCES, description: "WireGuard wg1 (operator peer)" },
];
const firewall = (rules: Rule[], type = FIREWALL_TYPE): TestResource => ({
  type,
  name: "hz-01-fw",
  props: { name: "hz-01-fw", labels: { "kubedos-cluster": "hz-01" }, rules },
});
const openMessage = (what: string, from: string): string =>
  `hz-01-fw (hcloud:index/firewall:Firewall) must not admit ${what} from ${from}; list the declared sources (security.ssh.allowFrom) instead.`;

describe("firewall-not-open", () => {
  it("accepts the firewall when every inbound rule admits only the declared sources", () => {
    assert.deepEqual(runResourcePolicy(firewallNotOpen, firewall(DECLARED)), []);
  });

  it("accepts the firewall when it has no rules (Hetzner denies all inbound traffic then)", () => {
    assert.deepEqual(runResourcePolicy(firewallNotOpen, firewall([])), []);
    assert.deepEqual(runResourcePolicy(firewallNotOpen, { type: FIREWALL_TYPE, name: "hz-01-fw", props: { name: "hz-01-fw" } }), []);
  });

  it("accepts an outbound rule to 0.0.0.0/0 and ::/0 (only inbound traffic is checked)", () => {
    const out: Rule = { direction: "out", protocol: "tcp", port: "443", destinationIps: ["0.0.0.0/0", "::/0"] };
    assert.deepEqual(runResourcePolicy(firewallNotOpen, firewall([...DECLARED, out])), []);
  });

  it("accepts a resource of another type that carries world-open rules", () => {
    const other = firewall([{ direction: "in", protocol: "tcp", port: "22", sourceIps: ["0.0.0.0/0"] }], "hcloud:index/network:Network");
    assert.deepEqual(runResourcePolicy(firewallNotOpen, other), []);
  });

  it("rejects the firewall when SSH is open to 0.0.0.0/0, naming the firewall's urn", () => {
    const r = firewall([{ direction: "in", protocol: "tcp", port: "22", sourceIps: ["0.0.0.0/0"] }]);
    assert.deepEqual(runResourcePolicyDetailed(firewallNotOpen, r), [{ message: openMessage("tcp/22", "0.0.0.0/0"), urn: undefined }]);
  });

  it("rejects the firewall when a rule mixes declared sources with 0.0.0.0/0 and ::/0, naming only the open ones", () => {
    const r = firewall([DECLARED[0], { ...DECLARED[1], sourceIps: [...SOURCES, "0.0.0.0/0", "::/0"] }]);
    assert.deepEqual(runResourcePolicy(firewallNotOpen, r), [openMessage("udp/51821", "0.0.0.0/0, ::/0")]);
  });

  it("rejects the firewall with one message per open rule, including a rule without a port (icmp)", () => {
    const r = firewall([
      { direction: "in", protocol: "icmp", sourceIps: ["::/0"] },
      ...DECLARED,
      { direction: "in", protocol: "tcp", port: "6443", sourceIps: ["0.0.0.0/0"] },
    ]);
    assert.deepEqual(runResourcePolicy(firewallNotOpen, r), [openMessage("icmp", "::/0"), openMessage("tcp/6443", "0.0.0.0/0")]);
  });
});

// ---------------------------------------------------------------- no-password-ssh

const SSHD_OK = "Port 22\nPermitRootLogin no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n";

/** #cloud-config user data with the given top-level settings. */
const cloudConfig = (doc: Record<string, unknown>): string => `#cloud-config\n${stringify(doc, { lineWidth: 0 })}`;
/** Hardened user data: password login off, and an sshd_config with the given content. */
const hardened = (sshdConfig = SSHD_OK, sshPwauth: unknown = false): string =>
  cloudConfig({
    ssh_pwauth: sshPwauth,
    write_files: [{ path: "/etc/ssh/sshd_config", owner: "root:root", permissions: "0600", content: sshdConfig }],
  });
const HARDENED = hardened();

const server = (userData?: string): TestResource => ({
  type: SERVER_TYPE,
  name: "hz-01-cp-1",
  props: { name: "hz-01-cp-1", serverType: "cx32", image: "ubuntu-24.04-kubedos-0.1.0", ...(userData === undefined ? {} : { userData }) },
});
const snippet = (data: string): TestResource => ({
  type: SNIPPET_TYPE,
  name: "dev-lab-cp-1-user-data",
  props: {
    contentType: "snippets",
    datastoreId: "local",
    nodeName: "pve-a2",
    sourceRaw: { data, fileName: "kubedos-dev-lab-cp-1-user-data.yaml" },
  },
});

const PWAUTH_MESSAGE = (label: string) => `${label} must set ssh_pwauth: false in its cloud-init user data.`;
const SSHD_MESSAGE = (label: string) => `${label} must write an /etc/ssh/sshd_config with PasswordAuthentication no.`;
const SERVER_LABEL = "hz-01-cp-1 (hcloud:index/server:Server)";
const SNIPPET_LABEL = "dev-lab-cp-1-user-data (proxmoxve:index/fileLegacy:FileLegacy)";

/** The user data kubedos renders for every node of the dev stack (placeholder seed: the key is irrelevant here). */
function renderedUserData(): Array<[node: string, text: string]> {
  const plan = buildPlan(DEV_SPEC);
  return plan.nodes.map((node) => [
    node.name,
    renderCloudInit({ plan, node, hostKey: nodeHostKey("unit-test-master-seed-0d1f9a77", plan.cluster.name, node.name) }),
  ]);
}

describe("no-password-ssh", () => {
  it("accepts the cloud-init kubedos renders for every dev node, as a Proxmox snippet and as Hetzner user data", () => {
    const rendered = renderedUserData();
    assert.equal(rendered.length, 6);
    for (const [node, text] of rendered) {
      assert.deepEqual(runResourcePolicy(noPasswordSsh, snippet(text)), [], node);
      assert.deepEqual(runResourcePolicy(noPasswordSsh, server(text)), [], node);
    }
  });

  it("accepts hardened user data on a Hetzner server and on a Proxmox snippet", () => {
    assert.deepEqual(runResourcePolicy(noPasswordSsh, server(HARDENED)), []);
    assert.deepEqual(runResourcePolicy(noPasswordSsh, snippet(HARDENED)), []);
  });

  it("accepts a Proxmox snippet that is not cloud-config (another snippet kind, not user data)", () => {
    assert.deepEqual(runResourcePolicy(noPasswordSsh, snippet("#!/bin/sh\nexit 0\n")), []);
  });

  it("accepts resources that carry no user data (a VM, a network)", () => {
    assert.deepEqual(runResourcePolicy(noPasswordSsh, { type: VM_TYPE, name: "dev-lab-cp-1", props: { nodeName: "pve-a2" } }), []);
    assert.deepEqual(
      runResourcePolicy(noPasswordSsh, { type: "hcloud:index/network:Network", name: "n", props: { userData: HARDENED } }),
      [],
    );
  });

  it("rejects a Hetzner server whose user data sets ssh_pwauth: true", () => {
    assert.deepEqual(runResourcePolicy(noPasswordSsh, server(hardened(SSHD_OK, true))), [PWAUTH_MESSAGE(SERVER_LABEL)]);
  });

  it("rejects a Proxmox snippet whose user data does not mention ssh_pwauth", () => {
    const text = cloudConfig({ write_files: [{ path: "/etc/ssh/sshd_config", content: SSHD_OK }] });
    assert.deepEqual(runResourcePolicy(noPasswordSsh, snippet(text)), [PWAUTH_MESSAGE(SNIPPET_LABEL)]);
  });

  it("rejects user data that writes no /etc/ssh/sshd_config", () => {
    const text = cloudConfig({ ssh_pwauth: false, write_files: [{ path: "/etc/ssh/sshd_config.d/10-kubedos.conf", content: SSHD_OK }] });
    assert.deepEqual(runResourcePolicy(noPasswordSsh, snippet(text)), [SSHD_MESSAGE(SNIPPET_LABEL)]);
  });

  it("rejects user data whose sshd_config allows passwords, or does not set PasswordAuthentication at all", () => {
    const yes = hardened(SSHD_OK.replace("PasswordAuthentication no", "PasswordAuthentication yes"));
    assert.deepEqual(runResourcePolicy(noPasswordSsh, server(yes)), [SSHD_MESSAGE(SERVER_LABEL)]);
    const unset = hardened(SSHD_OK.replace("PasswordAuthentication no\n", ""));
    assert.deepEqual(runResourcePolicy(noPasswordSsh, server(unset)), [SSHD_MESSAGE(SERVER_LABEL)]);
    // A "yes" anywhere is rejected, even after a "no" (the file must not carry both).
    const both = hardened(`${SSHD_OK}PasswordAuthentication yes\n`);
    assert.deepEqual(runResourcePolicy(noPasswordSsh, server(both)), [SSHD_MESSAGE(SERVER_LABEL)]);
  });

  // sshd_config(5): keywords are case-insensitive, and for each keyword the FIRST value obtained
  // is used (yes/no are matched case-insensitively too). Both files below make `sshd -T` print
  // `passwordauthentication yes` (checked with OpenSSH's sshd); the policy once accepted them.
  it("rejects an sshd_config whose effective PasswordAuthentication is yes (an earlier line in another case wins)", () => {
    for (const sshd of [
      "passwordauthentication yes\nPasswordAuthentication no\n",
      "PasswordAuthentication YES\nPasswordAuthentication no\n",
    ]) {
      assert.deepEqual(runResourcePolicy(noPasswordSsh, server(hardened(sshd))), [SSHD_MESSAGE(SERVER_LABEL)], JSON.stringify(sshd));
    }
  });

  it("rejects user data with both faults with both messages, in order", () => {
    const text = cloudConfig({ ssh_pwauth: true });
    assert.deepEqual(runResourcePolicy(noPasswordSsh, snippet(text)), [PWAUTH_MESSAGE(SNIPPET_LABEL), SSHD_MESSAGE(SNIPPET_LABEL)]);
  });

  it("rejects a Hetzner server with a shell script as user data (no cloud-config settings at all)", () => {
    assert.deepEqual(runResourcePolicy(noPasswordSsh, server("#!/bin/sh\necho hi\n")), [
      PWAUTH_MESSAGE(SERVER_LABEL),
      SSHD_MESSAGE(SERVER_LABEL),
    ]);
  });

  it("rejects user data that is not parseable YAML, quoting the parser's first line", () => {
    assert.deepEqual(runResourcePolicy(noPasswordSsh, snippet("#cloud-config\nssh_pwauth: false\n  bad: indent\n")), [
      `${SNIPPET_LABEL} must carry parseable cloud-config user data (Nested mappings are not allowed in compact mappings at line 2, column 13:).`,
    ]);
  });
});

// ---------------------------------------------------------------- substrate-no-replace

/** The program's graph around the machines under test: the Cluster and Stage 0 carrying `spec`. */
const stackWith = (spec: ClusterSpec | undefined, ...rs: TestStackResource[]): TestStackResource[] => [
  clusterComponent(),
  ...(spec === undefined ? [] : [specStage(spec)]),
  ...rs,
];
const OPEN = edited(CLEAN_SPEC, (s) => (s.spec.substrate.allowDestroy = true));

/** A machine as components/substrate registers it: protected, and ignoring the inputs that would replace it. */
const vm = (ignoreChanges = ["clone", "initialization.userDataFileId"], extra: Record<string, unknown> = {}): TestStackResource => ({
  type: VM_TYPE,
  name: "dev-lab-cp-1",
  props: { nodeName: "pve-a2", vmId: 3079, name: "cp-1", clone: { vmId: 9000, nodeName: "pve-a1", full: true } },
  opts: { protect: true, ignoreChanges, ...extra },
});
const hzServer = (ignoreChanges = ["userData", "image", "sshKeys"], extra: Record<string, unknown> = {}): TestStackResource => ({
  type: SERVER_TYPE,
  name: "hz-01-cp-1",
  props: { name: "hz-01-cp-1", image: "ubuntu-24.04-kubedos-0.1.0", userData: HARDENED },
  opts: { protect: true, ignoreChanges, ...extra },
});

const VM_LABEL = "dev-lab-cp-1 (proxmoxve:index/vmLegacy:VmLegacy)";
const HZ_LABEL = "hz-01-cp-1 (hcloud:index/server:Server)";
const listMessage = (label: string, missing: string) =>
  `Machine ${label} must list ${missing} in ignoreChanges while substrate.allowDestroy is false: a change there would replace the machine.`;
const dbrMessage = (label: string) => `Machine ${label} must not set deleteBeforeReplace while substrate.allowDestroy is false.`;

describe("substrate-no-replace", () => {
  it("names the replacing inputs of exactly the machine types kubedos builds", () => {
    assert.deepEqual(REPLACING_INPUTS, {
      [SERVER_TYPE]: ["userData", "image"],
      [VM_TYPE]: ["clone"],
    });
  });

  it("accepts machines that ignore their replacing inputs while allowDestroy is false", () => {
    assert.deepEqual(runStackPolicy(substrateNoReplace, stackWith(CLEAN_SPEC, vm(), hzServer())), []);
  });

  it("accepts machines that ignore nothing and set deleteBeforeReplace when allowDestroy is true", () => {
    const rs = [vm([], { deleteBeforeReplace: true }), hzServer([], { deleteBeforeReplace: true })];
    assert.deepEqual(runStackPolicy(substrateNoReplace, stackWith(OPEN, ...rs)), []);
  });

  it("accepts other substrate resources that ignore nothing (the snippet, the firewall)", () => {
    const rs: TestStackResource[] = [
      { ...snippet(HARDENED), opts: { protect: true } },
      { ...firewall(DECLARED), opts: { protect: true } },
    ];
    assert.deepEqual(runStackPolicy(substrateNoReplace, stackWith(CLEAN_SPEC, ...rs)), []);
  });

  it("rejects a Proxmox VM that does not ignore clone, naming its urn", () => {
    const got = runStackPolicyDetailed(substrateNoReplace, stackWith(CLEAN_SPEC, vm(["initialization.userDataFileId"])));
    assert.deepEqual(got, [{ message: listMessage(VM_LABEL, "clone"), urn: urnOf(VM_TYPE, "dev-lab-cp-1") }]);
  });

  it("rejects a Hetzner server with the inputs it does not ignore, all of them or the one left", () => {
    assert.deepEqual(runStackPolicy(substrateNoReplace, stackWith(CLEAN_SPEC, hzServer([]))), [listMessage(HZ_LABEL, "userData, image")]);
    assert.deepEqual(runStackPolicy(substrateNoReplace, stackWith(CLEAN_SPEC, hzServer(["userData", "sshKeys"]))), [
      listMessage(HZ_LABEL, "image"),
    ]);
  });

  it("rejects a machine that sets deleteBeforeReplace even when it ignores its replacing inputs", () => {
    const got = runStackPolicyDetailed(substrateNoReplace, stackWith(CLEAN_SPEC, hzServer(undefined, { deleteBeforeReplace: true })));
    assert.deepEqual(got, [{ message: dbrMessage(HZ_LABEL), urn: urnOf(SERVER_TYPE, "hz-01-cp-1") }]);
  });

  it("rejects a machine with both faults with both messages", () => {
    assert.deepEqual(runStackPolicy(substrateNoReplace, stackWith(CLEAN_SPEC, vm([], { deleteBeforeReplace: true }))), [
      listMessage(VM_LABEL, "clone"),
      dbrMessage(VM_LABEL),
    ]);
  });

  it("treats the boundary as closed when the stack carries no spec, or the spec omits allowDestroy", () => {
    assert.deepEqual(runStackPolicy(substrateNoReplace, stackWith(undefined, vm([]))), [listMessage(VM_LABEL, "clone")]);
    const missing = edited(DEV_SPEC, (s) => delete s.spec.substrate.allowDestroy);
    assert.deepEqual(runStackPolicy(substrateNoReplace, stackWith(missing, hzServer(["userData"]))), [listMessage(HZ_LABEL, "image")]);
  });
});
