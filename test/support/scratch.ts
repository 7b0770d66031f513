import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

/**
 * One temporary directory per run of the tests, the benchmark, the demo or a check. Everything that
 * asks `os.tmpdir()` (CDK's cdk.out, each holding a copy of the 37 MB kubectl layer; Helm homes;
 * values files) and every child process (via TMPDIR) writes there, and the run removes it: left
 * behind, a few hundred syntheses fill a disk.
 */
const PREFIX = 'cdk-vpc-cni-ownership-run-';

/** Creates the run's directory, points TMPDIR at it, and removes those of runs that are no longer alive. */
export function startScratch(): string {
  const base = os.tmpdir();
  removeStaleScratch(base);
  const dir = fs.mkdtempSync(path.join(base, `${PREFIX}${process.pid}-`));
  process.env.TMPDIR = dir;
  return dir;
}

/** `startScratch()`, removed when the process exits (scripts run outside jest). */
export function scratchUntilExit(): string {
  const dir = startScratch();
  process.on('exit', () => removeScratch(dir));
  return dir;
}

/** Removes what the previous test file left in the run's directory; the directory stays. */
export function emptyScratch(dir: string): void {
  if (!isScratch(dir) || !fs.existsSync(dir)) return;
  for (const entry of fs.readdirSync(dir)) fs.rmSync(path.join(dir, entry), { recursive: true, force: true });
}

export function removeScratch(dir: string): void {
  if (isScratch(dir)) fs.rmSync(dir, { recursive: true, force: true });
}

function isScratch(dir: string): boolean {
  return path.basename(dir).startsWith(PREFIX);
}

function removeStaleScratch(base: string): void {
  for (const entry of fs.readdirSync(base)) {
    const pid = Number(entry.startsWith(PREFIX) ? entry.slice(PREFIX.length).split('-')[0] : NaN);
    if (Number.isInteger(pid) && !isAlive(pid)) fs.rmSync(path.join(base, entry), { recursive: true, force: true });
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}
