import { execFileSync } from 'child_process';
import * as path from 'path';
import { startScratch } from '../support/scratch';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

/** Starts one real etcd + kube-apiserver for the whole jest run (built once, cached in ~/.cache). */
export default async function globalSetup(): Promise<void> {
  // Test workers start after this and inherit TMPDIR: every temporary file of the run goes there.
  process.env.CNI_TEST_SCRATCH = startScratch();
  const root = path.resolve(__dirname, '..', '..');
  // One state directory per run, so parallel runs (and a left-over one) never share a control plane.
  const state = path.join(root, '.controlplane', `jest-${process.pid}`);
  for (const pkg of LAYER_PACKAGES) layerTools(pkg);
  execFileSync('bash', [path.join(__dirname, 'controlplane.sh'), 'start', state], { stdio: 'inherit' });
  // Test workers start after this and inherit the variable.
  process.env.CNI_TEST_CONTROLPLANE = state;
}
