/**
 * cloud-init user data (components/firstboot/cloud-init.ts) and the artifact set of a node
 * (components/firstboot/index.ts): identity, users, the derived host key, the air gap, and the
 * baseline files embedded byte for byte.
 */
import { strict as assert } from "node:assert";
import { parse } from "yaml";
import { NODE_PATHS, renderCloudInit, renderNodeFirstboot } from "../../components/firstboot";
import { nodeHostKey } from "../../components/secrets/derive";
import { artifact, devBare, devWithMirror, FAKE_SIGNING_KEY, MIRROR_URL, nodeOf, PLANS, render, renderAll, TEST_SEED } from "./helpers";

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Doc = Record<string, any>;

const URL_RE = /\b[a-z][a-z0-9+.-]*:\/\/[^\s"'<>]+/gi;

describe("firstboot cloud-init", () => {
  const all = renderAll();
  const withCloudInit = all.filter((r) => r.artifacts.some((a) => a.path === "cloud-init.yaml"));

  for (const r of withCloudInit) {
    it(`renders identity, users and the derived host key when the node is ${r.label}`, () => {
      const text = artifact(r, "cloud-init.yaml");
      assert.ok(text.startsWith("#cloud-config\n"), "first line is #cloud-config");
      assert.match(text, /SECRET/);
      const doc = parse(text) as Doc;
      assert.equal(doc.hostname, r.node.name);
      assert.equal(doc.fqdn, `${r.node.name}.${r.plan.cluster.name}.kubedos.internal`);
      assert.equal(doc.prefer_fqdn_over_hostname, false);
      assert.equal(doc.manage_etc_hosts, true);
      assert.deepEqual(
        doc.users,
        r.plan.ssh.allowUsers.map((name) => ({
          name,
          lock_passwd: true,
          shell: "/bin/bash",
          groups: ["sudo"],
          sudo: "ALL=(ALL) NOPASSWD:ALL",
          ssh_authorized_keys: r.plan.ssh.authorizedKeys,
        })),
      );
      assert.equal(doc.disable_root, true);
      assert.equal(doc.ssh_pwauth, false);
      assert.equal(doc.allow_public_ssh_keys, false);
      assert.equal(doc.ssh_deletekeys, true);
      assert.deepEqual(doc.ssh_genkeytypes, ["ed25519"]);
      const derived = nodeHostKey(TEST_SEED, r.plan.cluster.name, r.node.name);
      assert.deepEqual(doc.ssh_keys, { ed25519_private: derived.privateKey, ed25519_public: derived.publicKey });
      assert.equal(doc.package_update, false);
      assert.equal(doc.package_upgrade, false);
      assert.equal(doc.packages, undefined, "nothing is installed at boot");
      assert.deepEqual(doc.runcmd, [NODE_PATHS.script]);
      assert.match(doc.final_message, new RegExp(`finished on ${r.node.name} `));
    });

    it(`renders the baseline files byte for byte with their modes when the node is ${r.label}`, () => {
      const doc = parse(artifact(r, "cloud-init.yaml")) as Doc;
      const standalone = r.artifacts.filter((a) => a.nodePath !== undefined);
      assert.deepEqual(
        doc.write_files.map((f: Doc) => f.path),
        standalone.map((a) => a.nodePath),
      );
      for (const f of doc.write_files) {
        const a = standalone.find((x) => x.nodePath === f.path)!;
        assert.equal(f.content, a.content, `${f.path} content`);
        assert.equal(f.permissions, "0" + a.mode.toString(8), `${f.path} permissions`);
        assert.equal(f.owner, "root:root");
      }
      const mode = (p: string) => doc.write_files.find((f: Doc) => f.path === p).permissions;
      assert.equal(mode(NODE_PATHS.sshdConfig), "0600");
      assert.equal(mode(NODE_PATHS.nftables), "0600");
      assert.equal(mode(NODE_PATHS.script), "0755");
    });

    it(`renders no URL other than the declared mirror when the node is ${r.label}`, () => {
      const mirror = r.plan.mirrors.apt?.url;
      const urls = [...artifact(r, "cloud-init.yaml").matchAll(URL_RE)].map((m) => m[0]);
      assert.deepEqual(
        urls.filter((u) => !(mirror && u.startsWith(mirror))),
        [],
      );
    });
  }

  it("renders an empty apt source list when no mirror is declared (air-gapped)", () => {
    const doc = parse(artifact(render(devBare(), "cp-1"), "cloud-init.yaml")) as Doc;
    assert.equal(doc.apt.preserve_sources_list, false);
    assert.equal(doc.apt.sources, undefined);
    assert.deepEqual(
      doc.apt.sources_list.split("\n").filter((l: string) => l.trim() !== "" && !l.startsWith("#")),
      [],
    );
    assert.match(doc.apt.sources_list, /nothing is ever pulled from the internet/);
  });

  it("renders the mirror as the only source, trusted with its own key, when a signed mirror is declared", () => {
    const doc = parse(artifact(render(devWithMirror(true), "cp-1"), "cloud-init.yaml")) as Doc;
    assert.deepEqual(
      doc.apt.sources_list.split("\n").filter((l: string) => l.trim() !== "" && !l.startsWith("#")),
      [],
    );
    assert.deepEqual(doc.apt.sources, {
      "kubedos-mirror": {
        filename: "kubedos-mirror.list",
        source: `deb [signed-by=$KEY_FILE] ${MIRROR_URL} bookworm main contrib`,
        key: FAKE_SIGNING_KEY,
      },
    });
  });

  it("renders the mirror line in sources_list when the mirror has no signing key", () => {
    const doc = parse(artifact(render(devWithMirror(false), "cp-1"), "cloud-init.yaml")) as Doc;
    assert.deepEqual(
      doc.apt.sources_list.split("\n").filter((l: string) => l.trim() !== "" && !l.startsWith("#")),
      [`deb ${MIRROR_URL} bookworm main contrib`],
    );
    assert.equal(doc.apt.sources, undefined);
  });

  it("renders users without ssh_authorized_keys when the spec declares no keys", () => {
    const plan = { ...PLANS.dev, ssh: { ...PLANS.dev.ssh, authorizedKeys: [] } };
    const n = nodeOf(plan, "cp-1");
    const doc = parse(renderCloudInit({ plan, node: n, hostKey: nodeHostKey(TEST_SEED, plan.cluster.name, "cp-1") })) as Doc;
    assert.equal(doc.users[0].ssh_authorized_keys, undefined);
  });

  it("renders the host private key only in cloud-init.yaml, which is the one secret artifact", () => {
    for (const r of all) {
      const body = r.hostKey.privateKey.split("\n").filter((l) => l && !l.startsWith("-----"));
      for (const a of r.artifacts) {
        const holds = a.content.includes("PRIVATE KEY") || body.some((l) => a.content.includes(l));
        assert.equal(holds, a.path === "cloud-init.yaml", `${r.label}/${a.path}`);
        assert.equal(a.secret, a.path === "cloud-init.yaml", `${r.label}/${a.path} secret flag`);
        if (a.secret) assert.equal(a.mode, 0o600);
      }
    }
  });

  it("renders the public key that derive.nodeHostKey gives when the master seed is the test seed", () => {
    for (const r of withCloudInit) {
      const doc = parse(artifact(r, "cloud-init.yaml")) as Doc;
      assert.equal(doc.ssh_keys.ed25519_public, nodeHostKey(TEST_SEED, r.plan.cluster.name, r.node.name).publicKey);
    }
  });

  it("renders byte-identical artifacts when the same plan is rendered twice", () => {
    const again = renderAll();
    assert.deepEqual(
      again.map((r) => r.artifacts),
      all.map((r) => r.artifacts),
    );
  });

  it("renders the six baseline files and no cloud-init.yaml when the node is a bare-metal host", () => {
    const plan = PLANS.baremetal;
    const files = renderNodeFirstboot({ plan, node: nodeOf(plan, "cp-1") });
    assert.deepEqual(
      files.map((f) => f.path),
      ["sshd_config", "nftables.nft", "sysctl.conf", "journald.conf", "audit.rules", "firstboot.sh"],
    );
    assert.ok(files.every((f) => !f.secret && f.nodePath?.startsWith("/")));
  });

  it("rejects a VM node when no host key is given", () => {
    assert.throws(() => renderNodeFirstboot({ plan: PLANS.dev, node: nodeOf(PLANS.dev, "cp-1") }), /needs its host key/);
  });

  it("rejects the host key when it differs from the key a bare-metal host pins", () => {
    const plan = PLANS.baremetal;
    const n = nodeOf(plan, "cp-1");
    assert.throws(() => renderCloudInit({ plan, node: n, hostKey: nodeHostKey(TEST_SEED, plan.cluster.name, "cp-1") }), /pins host key/);
  });

  it("rejects the host key when it is not an Ed25519 key pair", () => {
    const plan = PLANS.dev;
    const good = nodeHostKey(TEST_SEED, plan.cluster.name, "cp-1");
    const n = nodeOf(plan, "cp-1");
    assert.throws(
      () => renderCloudInit({ plan, node: n, hostKey: { ...good, publicKey: "ssh-rsa AAAAB3Nza root@cp-1" } }),
      /not an ssh-ed25519/,
    );
    assert.throws(() => renderCloudInit({ plan, node: n, hostKey: { ...good, privateKey: "not a key" } }), /not an OpenSSH private key/);
  });
});
