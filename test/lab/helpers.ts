/** Shared pieces of the lab tests: the dev spec, the 10-node spec derived from it, plans. */
import { readFileSync } from "node:fs";
import * as path from "node:path";
import * as YAML from "yaml";
import { main } from "../../cli/main";
import { buildPlan, type Plan } from "../../components/plan/plan";
import { validateSpecText } from "../../components/spec/validate";

export const ROOT = path.resolve(__dirname, "..", "..", "..");
export const DEV_SPEC = path.join(ROOT, "stacks", "dev", "cluster.yaml");

/**
 * The 10-node spec: the dev spec (3 control planes, 3 workers) plus workers copied from w-3 until
 * there are 7. Names whose derived ordinal collides with another node's are skipped (w-7 collides
 * with w-5 — validate reports it as address-collision), so the spec stays valid without pins.
 */
export function tenNodeSpecText(): string {
  const doc = YAML.parse(readFileSync(DEV_SPEC, "utf8"));
  doc.metadata.name = "lab-ten";
  const inv = doc.spec.nodes.inventory as Array<Record<string, unknown>>;
  const template = inv.find((n) => n.name === "w-3")!;
  for (let i = 4; inv.length < 10 && i < 40; i++) {
    const candidate = { ...structuredClone(template), name: `w-${i}`, failureDomain: i % 2 ? "rack-a" : "rack-b" };
    const trial = structuredClone(doc);
    trial.spec.nodes.inventory.push(candidate);
    if (validateSpecText(YAML.stringify(trial), "ten-node.yaml").valid) inv.push(candidate);
  }
  if (inv.length !== 10) throw new Error("could not derive a valid 10-node spec from the dev spec");
  return YAML.stringify(doc);
}

export function planOf(text: string, file = "spec.yaml"): Plan {
  const v = validateSpecText(text, file);
  if (!v.valid || !v.spec) throw new Error(`${file} is not valid: ${v.errors.map((e) => e.message).join("; ")}`);
  return buildPlan(v.spec);
}

export const devPlan = () => planOf(readFileSync(DEV_SPEC, "utf8"), DEV_SPEC);

/** Run the CLI in-process, capturing its output (the lab's progress would flood the test report). */
export async function cli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const out: string[] = [];
  const err: string[] = [];
  const o = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string | Uint8Array) => (out.push(String(s)), true)) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => (err.push(String(s)), true)) as typeof process.stderr.write;
  try {
    const code = await main(args);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    process.stdout.write = o;
    process.stderr.write = e;
  }
}
