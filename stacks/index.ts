/**
 * Program entry (Pulumi.yaml `main: stacks/`). Pulumi calls the exported function and
 * turns its result into stack outputs; the work is in components/program.ts.
 */
import { runProgram } from "../components/program";

export = runProgram;
