// Mocha's spec reporter plus one plain closing line ("mocha: N passed, N failed, N skipped")
// that CI systems read regardless of the runner.
"use strict";
const Mocha = require("mocha");
const Spec = Mocha.reporters.Spec;

class KubedosReporter extends Spec {
  constructor(runner, options) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const s = runner.stats;
      process.stdout.write(`mocha: ${s.passes} passed, ${s.failures} failed, ${s.pending} skipped\n`);
    });
  }
}

module.exports = KubedosReporter;
