import { execFileSync } from 'child_process';
import * as path from 'path';

export default async function globalTeardown(): Promise<void> {
  const state = process.env.CNI_TEST_CONTROLPLANE;
  if (state) execFileSync('bash', [path.join(__dirname, 'controlplane.sh'), 'stop', state], { stdio: 'inherit' });
}
