import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { removeScratch } from '../support/scratch';

export default async function globalTeardown(): Promise<void> {
  if (process.env.CNI_TEST_SCRATCH) removeScratch(process.env.CNI_TEST_SCRATCH);
  const state = process.env.CNI_TEST_CONTROLPLANE;
  if (!state) return;
  execFileSync('bash', [path.join(__dirname, 'controlplane.sh'), 'stop', state], { stdio: 'inherit' });
  fs.rmSync(state, { recursive: true, force: true });
}
