#!/usr/bin/env node
// The `cdk-vpc-cni-ownership` command (package.json "bin"). Not exported from the library's index.
import { runCli } from './cli';

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env }).then(
  (code) => { process.exitCode = code; },
  (e) => {
    process.stderr.write(`Error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
