/** kubedos — the offline tools (DESIGN.md §4). Human output on stdout, diagnostics on stderr. */
import { parseArgs } from "node:util";
import { UsageError } from "./io";
import { validateCommand } from "./commands/validate";

const USAGE = `usage: kubedos <command> [options]

commands:
  validate FILE [--json] [--strict]                 Stage 0: check a ClusterSpec (exit 0 valid, 1 invalid, 2 unreadable)
  plan (--stack NAME | --spec FILE) [--json] [--policy-config FILE] [--program FILE] [--graph FILE]
                                                    run the program under the in-process mock engine and the policy
                                                    pack in-process; print the graph and every policy's result
                                                    (exit 1 on an invalid spec or a mandatory violation)
  render (--stack NAME | --spec FILE) --out DIR [--acceptance FILE]…
                                                    write every node's rendered artifacts (nodes/<node>/…), the plan and
                                                    the sealed rebuild anchors (manifests/, sbom/, provenance/,
                                                    signatures/, recovery-bundle/); secrets 0600; keys derive from
                                                    KUBEDOS_MASTER_SEED; SOURCE_DATE_EPOCH pins the time fields
  verify DIR [--key PUBKEY.pem] [--json]            recompute every hash and check every signature of a rendered bundle
                                                    (exit 0 intact, 1 naming the first file that does not match)
  lab up (--spec FILE | --stack NAME) | check | down | drill …  [--lab ID]
                                                    nodes as network namespaces on this machine (root): rendered WireGuard,
                                                    nftables and sshd; check = the Backplane Matrix gate + acceptance report
                                                    (exit 1 on fail); see kubedos lab help
`;

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case "validate": {
        const a = parse(rest, { json: { type: "boolean" }, strict: { type: "boolean" } });
        return await validateCommand({ positionals: a.positionals, json: !!a.values.json, strict: !!a.values.strict });
      }
      case "plan": {
        const a = parse(rest, {
          json: { type: "boolean" },
          stack: { type: "string" },
          spec: { type: "string" },
          "policy-config": { type: "string" },
          program: { type: "string" },
          graph: { type: "string" },
        });
        if (a.positionals.length > 0) throw new UsageError(`plan takes no positional arguments (got ${a.positionals.join(" ")})`);
        const { planCommand } = await import("./commands/plan");
        return await planCommand({
          stack: a.values.stack as string | undefined,
          spec: a.values.spec as string | undefined,
          json: !!a.values.json,
          policyConfig: a.values["policy-config"] as string | undefined,
          program: a.values.program as string | undefined,
          graph: a.values.graph as string | undefined,
        });
      }
      case "render": {
        const a = parse(rest, {
          stack: { type: "string" },
          spec: { type: "string" },
          out: { type: "string" },
          acceptance: { type: "string", multiple: true },
        });
        if (a.positionals.length > 0) throw new UsageError(`render takes no positional arguments (got ${a.positionals.join(" ")})`);
        const { renderCommand } = await import("./commands/render");
        return await renderCommand({
          stack: a.values.stack as string | undefined,
          spec: a.values.spec as string | undefined,
          out: a.values.out as string | undefined,
          acceptance: a.values.acceptance as string[] | undefined,
        });
      }
      case "verify": {
        const a = parse(rest, { key: { type: "string" }, json: { type: "boolean" } });
        if (a.positionals.length !== 1) throw new UsageError("verify needs exactly one DIR (a directory written by kubedos render)");
        const { verifyCommand } = await import("./commands/verify");
        return await verifyCommand({ dir: a.positionals[0], key: a.values.key as string | undefined, json: a.values.json === true });
      }
      case "lab": {
        const { labCommand } = await import("./lab/command");
        return await labCommand(rest);
      }
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${command}\n${USAGE}`);
    }
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`kubedos: ${err.message}\n`);
      return err.exitCode;
    }
    throw err;
  }
}

type Options = NonNullable<Parameters<typeof parseArgs>[0]>["options"];

function parse(
  args: string[],
  options: Options,
): { positionals: string[]; values: Record<string, string | boolean | string[] | undefined> } {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true }) as {
      positionals: string[];
      values: Record<string, string | boolean | string[] | undefined>;
    };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}
