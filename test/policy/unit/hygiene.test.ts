/**
 * policy/policies/hygiene.ts: remote-host-key-pinned and secret-material-hidden, on single
 * resources with the options the engine sends (additionalSecretOutputs, logging).
 */
import { strict as assert } from "node:assert";
import { remoteHostKeyPinned, secretMaterialHidden } from "../../../policy/policies/hygiene";
import { runResourcePolicy, runResourcePolicyDetailed, urnOf, type TestResource } from "./harness";

const HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKxdOFRVFrmXdVA/+GOZLNGgz5Gsq0GGt9UN0glYrgSC";
/** The WireGuard documentation's example private key: 32 bytes, 44 base64 characters. */
const WG_KEY = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
const PEM = [
  "-----BEGIN EC PRIVATE KEY-----",
  "MHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oWgg2xwPl7ZioAoGCCqGSM49",
  "-----END EC PRIVATE KEY-----",
].join("\n");
const CERT_KEY = "d9456efcc50c12d8f5fff93c097a16d2495fb5df9cb17cd2fd26f8022a926af4";

// ---------------------------------------------------------------- remote-host-key-pinned

const remote = (connection: Record<string, unknown> | undefined, type = "command:remote:Command", name = "join"): TestResource => ({
  type,
  name,
  props: { create: "systemctl is-active kubelet", ...(connection ? { connection } : {}) },
});

const HOSTKEY_MESSAGE = "join (command:remote:Command) must pin the host key: set connection.hostKey to the node's SSH public host key.";
const PASSWORD_MESSAGE = "join (command:remote:Command) must authenticate with a key, not connection.password.";

describe("remote-host-key-pinned", () => {
  it("accepts a remote command when connection.hostKey is set and it authenticates with a key", () => {
    assert.deepEqual(
      runResourcePolicy(remoteHostKeyPinned, remote({ host: "10.111.0.10", user: "ops", privateKey: PEM, hostKey: HOST_KEY })),
      [],
    );
  });

  it("accepts a remote command when password is the empty string", () => {
    assert.deepEqual(
      runResourcePolicy(remoteHostKeyPinned, remote({ host: "10.111.0.10", user: "ops", password: "", hostKey: HOST_KEY })),
      [],
    );
  });

  it("rejects a remote command when connection.hostKey is missing, reporting it against the command", () => {
    assert.deepEqual(runResourcePolicyDetailed(remoteHostKeyPinned, remote({ host: "10.111.0.10", user: "ops", privateKey: PEM })), [
      { message: HOSTKEY_MESSAGE, urn: undefined },
    ]);
  });

  it("rejects a remote command when connection.hostKey is blank", () => {
    assert.deepEqual(runResourcePolicy(remoteHostKeyPinned, remote({ host: "10.111.0.10", user: "ops", hostKey: "  " })), [
      HOSTKEY_MESSAGE,
    ]);
  });

  it("rejects a remote command when it has no connection at all", () => {
    assert.deepEqual(runResourcePolicy(remoteHostKeyPinned, remote(undefined)), [HOSTKEY_MESSAGE]);
  });

  it("rejects a remote command when it authenticates with a password (even with the host key pinned)", () => {
    assert.deepEqual(
      runResourcePolicy(remoteHostKeyPinned, remote({ host: "10.111.0.10", user: "ops", password: "hunter2", hostKey: HOST_KEY })),
      [PASSWORD_MESSAGE],
    );
  });

  it("rejects a remote command twice when it has a password and no host key", () => {
    assert.deepEqual(runResourcePolicy(remoteHostKeyPinned, remote({ host: "10.111.0.10", user: "ops", password: "hunter2" })), [
      HOSTKEY_MESSAGE,
      PASSWORD_MESSAGE,
    ]);
  });

  it("rejects CopyToRemote and CopyFile when connection.hostKey is missing", () => {
    for (const type of ["command:remote:CopyToRemote", "command:remote:CopyFile"]) {
      assert.deepEqual(runResourcePolicy(remoteHostKeyPinned, remote({ host: "10.111.0.10", user: "ops" }, type, "wg1-conf")), [
        `wg1-conf (${type}) must pin the host key: set connection.hostKey to the node's SSH public host key.`,
      ]);
    }
  });

  it("accepts a local command and other resources when they have no connection", () => {
    assert.deepEqual(runResourcePolicy(remoteHostKeyPinned, remote(undefined, "command:local:Command")), []);
    assert.deepEqual(runResourcePolicy(remoteHostKeyPinned, { type: "kubernetes:core/v1:Namespace", name: "ns", props: {} }), []);
  });
});

// ---------------------------------------------------------------- secret-material-hidden

const WG_CONF = ["cat > /etc/wireguard/wg1.conf <<'EOF'", "[Interface]", `PrivateKey = ${WG_KEY}`, "ListenPort = 51821", "EOF"].join("\n");
/** A connection that authenticates through the SSH agent (no key material in the resource). */
const AGENT_CONNECTION = { host: "10.111.0.10", user: "ops", hostKey: HOST_KEY };

const secretCommand = (create: string, logging?: string, additionalSecretOutputs: string[] = [], name = "wg1-conf"): TestResource => ({
  type: "command:remote:Command",
  name,
  props: { connection: AGENT_CONNECTION, create, ...(logging ? { logging } : {}) },
  opts: { additionalSecretOutputs },
});

const commandMessages = (name: string, what: string, prop: string, missing: Array<"logging" | "stdout" | "stderr">): string[] =>
  missing.map((m) =>
    m === "logging"
      ? `${name} (command:remote:Command) carries ${what} in ${prop} and must set logging: "none".`
      : `${name} (command:remote:Command) carries ${what} in ${prop} and must list ${m} in additionalSecretOutputs.`,
  );

describe("secret-material-hidden", () => {
  it("rejects a command when its create writes a WireGuard PrivateKey without logging none and secret outputs (literal messages)", () => {
    assert.deepEqual(runResourcePolicyDetailed(secretMaterialHidden, secretCommand(WG_CONF)), [
      {
        message: 'wg1-conf (command:remote:Command) carries a WireGuard private key in create and must set logging: "none".',
        urn: undefined,
      },
      {
        message:
          "wg1-conf (command:remote:Command) carries a WireGuard private key in create and must list stdout in additionalSecretOutputs.",
        urn: undefined,
      },
      {
        message:
          "wg1-conf (command:remote:Command) carries a WireGuard private key in create and must list stderr in additionalSecretOutputs.",
        urn: undefined,
      },
    ]);
  });

  it("accepts the WireGuard command when logging is none and stdout and stderr are secret outputs", () => {
    assert.deepEqual(runResourcePolicy(secretMaterialHidden, secretCommand(WG_CONF, "none", ["stdout", "stderr"])), []);
  });

  it("rejects the WireGuard command when logging is none but only stdout is a secret output", () => {
    assert.deepEqual(
      runResourcePolicy(secretMaterialHidden, secretCommand(WG_CONF, "none", ["stdout"])),
      commandMessages("wg1-conf", "a WireGuard private key", "create", ["stderr"]),
    );
  });

  it("rejects the WireGuard command when the outputs are secret but logging is stdout", () => {
    assert.deepEqual(
      runResourcePolicy(secretMaterialHidden, secretCommand(WG_CONF, "stdout", ["stdout", "stderr"])),
      commandMessages("wg1-conf", "a WireGuard private key", "create", ["logging"]),
    );
  });

  it("rejects a command when its create carries a kubeadm bootstrap token", () => {
    const join = "kubeadm join 10.113.0.10:6443 --token abcdef.0123456789abcdef --discovery-token-ca-cert-hash sha256:" + CERT_KEY;
    assert.deepEqual(
      runResourcePolicy(secretMaterialHidden, secretCommand(join, undefined, [], "join-w-1")),
      commandMessages("join-w-1", "a kubeadm bootstrap token", "create", ["logging", "stdout", "stderr"]),
    );
  });

  it("rejects a command when its delete carries a kubeadm certificate key", () => {
    const r = secretCommand("true", "none", ["stdout"], "upload-certs");
    r.props.delete = `kubeadm init phase upload-certs --upload-certs --certificate-key ${CERT_KEY}`;
    assert.deepEqual(
      runResourcePolicy(secretMaterialHidden, r),
      commandMessages("upload-certs", "a kubeadm certificate key", "delete", ["stderr"]),
    );
  });

  it("accepts a command when it carries no secret material", () => {
    assert.deepEqual(runResourcePolicy(secretMaterialHidden, secretCommand("wg show wg1 public-key")), []);
  });

  it("accepts a command when it reads a key from a file rather than embedding it", () => {
    assert.deepEqual(runResourcePolicy(secretMaterialHidden, secretCommand("wg set wg1 private-key /etc/wireguard/wg1.key")), []);
  });

  it("rejects a non-command resource when a prop holds a PEM private key that is not in additionalSecretOutputs", () => {
    const secret: TestResource = {
      type: "kubernetes:core/v1:Secret",
      name: "etcd-ca",
      props: {
        metadata: { name: "etcd-ca" },
        type: "kubernetes.io/tls",
        stringData: { "tls.crt": "-----BEGIN CERTIFICATE-----", "tls.key": PEM },
      },
    };
    assert.deepEqual(runResourcePolicyDetailed(secretMaterialHidden, secret), [
      {
        message:
          "etcd-ca (kubernetes:core/v1:Secret) carries a private key in stringData and must list stringData in additionalSecretOutputs.",
        urn: undefined,
      },
    ]);
  });

  it("accepts a non-command resource when the prop holding the private key is in additionalSecretOutputs", () => {
    const secret: TestResource = {
      type: "kubernetes:core/v1:Secret",
      name: "etcd-ca",
      props: { metadata: { name: "etcd-ca" }, stringData: { "tls.key": PEM } },
      opts: { additionalSecretOutputs: ["stringData"] },
    };
    assert.deepEqual(runResourcePolicy(secretMaterialHidden, secret), []);
  });

  it("rejects a non-command resource once per prop that carries secret material (arrays and nested objects included)", () => {
    const r: TestResource = {
      type: "kubernetes:core/v1:ConfigMap",
      name: "wg",
      props: { data: { conf: `[Interface]\nPrivateKey = ${WG_KEY}` }, binaryData: undefined, extra: [{ key: PEM }] },
      opts: { additionalSecretOutputs: ["binaryData"] },
    };
    assert.deepEqual(runResourcePolicy(secretMaterialHidden, r), [
      "wg (kubernetes:core/v1:ConfigMap) carries a WireGuard private key in data and must list data in additionalSecretOutputs.",
      "wg (kubernetes:core/v1:ConfigMap) carries a private key in extra and must list extra in additionalSecretOutputs.",
    ]);
  });

  it("accepts a public key and a certificate when they are not secret", () => {
    const r: TestResource = {
      type: "kubernetes:core/v1:ConfigMap",
      name: "trust",
      props: { data: { "ca.crt": "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----", wg: `PublicKey = ${WG_KEY}` } },
    };
    assert.deepEqual(runResourcePolicy(secretMaterialHidden, r), []);
  });

  it("accepts a remote command whose only key material is connection.privateKey (the key auth remote-host-key-pinned demands)", () => {
    // @pulumi/command already marks `connection` secret (pulumi.secret + additionalSecretOutputs:
    // ["connection"]), and stdout/stderr never contain it. The policy still demands logging: "none"
    // and secret stdout/stderr on every key-authenticated remote command, hiding all their output.
    const r: TestResource = {
      type: "command:remote:Command",
      name: "kubelet-status",
      urn: urnOf("command:remote:Command", "kubelet-status"),
      props: {
        connection: { host: "10.111.0.10", user: "ops", privateKey: PEM, hostKey: HOST_KEY },
        create: "systemctl is-active kubelet",
      },
      opts: { additionalSecretOutputs: ["connection"] },
    };
    assert.deepEqual(runResourcePolicy(secretMaterialHidden, r), []);
  });
});
