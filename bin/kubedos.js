#!/usr/bin/env node
// Entry point of the offline tools. The TypeScript sources are compiled to dist/ by
// `npm ci` (prepare) or `npm run build`.
"use strict";
const path = require("node:path");
const main = path.join(__dirname, "..", "dist", "cli", "main.js");
// `kubedos plan | head` closes the pipe early: that is the reader's choice, not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on("error", (err) => {
    if (err && err.code === "EPIPE") process.exit(process.exitCode || 0);
    throw err;
  });
}
let cli;
try {
  cli = require(main);
} catch (err) {
  if (err && err.code === "MODULE_NOT_FOUND" && String(err.message).includes(main)) {
    process.stderr.write("kubedos: the CLI is not built yet; run `npm ci` (or `npm run build`) in the kubedos checkout\n");
    process.exit(2);
  }
  throw err;
}
cli.main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`kubedos: internal error: ${err && err.message ? err.message : err}\n`);
    process.exitCode = 2;
  },
);
