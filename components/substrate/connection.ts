/**
 * SSH connections of @pulumi/command: always key-based and host-key pinned (the pack's
 * remote-host-key-pinned policy checks both), patient enough for a machine that is still booting.
 */
import type * as command from "@pulumi/command";
import type * as pulumi from "@pulumi/pulumi";
import type { SshEndpoint } from "./types";

export function sshConnection(ep: SshEndpoint, privateKey: pulumi.Input<string>): command.types.input.remote.ConnectionArgs {
  return {
    host: ep.host,
    port: ep.port,
    user: ep.user,
    privateKey,
    hostKey: ep.hostKey,
    // A fresh VM needs a minute or two before sshd answers: retry, don't fail the stage.
    dialErrorLimit: 60,
    perDialTimeout: 10,
  };
}
