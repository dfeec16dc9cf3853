/**
 * Peak-memory fallback for the plan benchmark, used when GNU `/usr/bin/time -f %M` is not
 * available (Debian package `time`). Preloaded into the measured process with
 * `node -r dist/bench/rss-hook.js …`, it leaves argv, the entry script and its output alone
 * and, when the process exits, writes `process.resourceUsage().maxRSS` (KiB on Linux, the same
 * unit as `%M`) to the file named by BENCH_RSS_OUT.
 *
 * Limits (why /usr/bin/time is preferred): nothing is written if the process dies from a
 * signal, and the preload itself is loaded in every run (a few hundred bytes; it is loaded in
 * the floor run too, so ratios to the floor are unaffected).
 */
import { writeFileSync } from "node:fs";

const out = process.env.BENCH_RSS_OUT;
if (out) {
  process.on("exit", () => {
    try {
      writeFileSync(out, `${process.resourceUsage().maxRSS}\n`);
    } catch {
      // A benchmark helper must never change the measured process's exit status.
    }
  });
}
