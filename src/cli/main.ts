#!/usr/bin/env node
// The `cdk-vpc-cni-ownership` command (package.json "bin"). Not exported from the library's index.
import { EXIT, runCli } from './cli';
import { interruptionFrom } from './interrupt';

// The first SIGINT or SIGTERM is the command's to handle (no new write, report, exit 130); a second stops at once.
const interruption = interruptionFrom(process, (signal) => {
  process.stderr.write(`${signal} again: stopping at once. The writes in flight may or may not have been applied: `
    + 'run inspect to see where the cluster stands, and the same command again to finish.\n');
  process.exit(EXIT.INTERRUPTED);
});

runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env, interruption }).then(
  (code) => {
    process.exitCode = code;
    // Reads abandoned at the signal may still be retrying: nothing is left to wait for.
    if (code === EXIT.INTERRUPTED) process.exit(code);
  },
  (e) => {
    process.stderr.write(`Error: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exitCode = 1;
  },
);
