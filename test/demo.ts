/**
 * The local demo: a real kube-apiserver + etcd seeded like a new EKS cluster, then the
 * `cdk-vpc-cni-ownership` CLI (the compiled lib/cli/main.js, what `npx cdk-vpc-cni-ownership` runs):
 * inspect → plan → adopt → helm install, and the same for remove. Run: npx projen demo [--keep]
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { KubeClient } from '../src/engine';
import { CHART, Cli, connection, Fixtures, RELEASE, resetCluster } from './support/cluster';
import { LAYER_PACKAGES, layerTools } from './support/tools';

const ROOT = path.resolve(__dirname, '..');
const script = path.join(__dirname, 'controlplane', 'controlplane.sh');
const state = path.join(ROOT, '.controlplane', 'demo');
const kubeconfig = path.join(state, 'kubeconfig');
const bin = path.join(ROOT, 'lib', 'cli', 'main.js');
const keep = process.argv.includes('--keep');

function heading(text: string) {
  console.log(`\n=== ${text} ${'='.repeat(Math.max(0, 70 - text.length))}`);
}

/** Runs the CLI as a user would and shows the command, its output and its exit code. */
function cniOwnership(...args: string[]): number {
  console.log(`$ npx cdk-vpc-cni-ownership ${args.join(' ')}`);
  const result = spawnSync(process.execPath, [bin, ...args], { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
  process.stdout.write(result.stdout + result.stderr);
  console.log(`(exit code ${result.status})`);
  return result.status ?? 1;
}

/** Runs the CLI and stops the demo unless it exits with the expected code. */
function expectExit(code: number, ...args: string[]): void {
  const status = cniOwnership(...args);
  if (status !== code) throw new Error(`cdk-vpc-cni-ownership ${args.join(' ')} exited ${status}, expected ${code}`);
}

async function main() {
  if (!fs.existsSync(bin)) throw new Error(`${path.relative(ROOT, bin)} is missing: run "npx projen demo", which compiles first`);
  heading('Starting a local control plane (kube-apiserver + etcd, built from Go modules, cached)');
  execFileSync('bash', [script, 'start', state], { stdio: 'inherit' });
  process.env.CNI_TEST_CONTROLPLANE = state;
  const tools = layerTools(LAYER_PACKAGES[0]);
  console.log(`kubectl and helm from ${tools.label}`);
  console.log(`$ export KUBECONFIG=${path.relative(ROOT, kubeconfig)}`);
  const cli = new Cli(tools);
  const fixtures = new Fixtures(cli);
  const admin = new KubeClient(connection());
  const install = ['install', RELEASE, CHART, '--namespace', 'kube-system', '--set', 'originalMatchLabels=true'];
  const helmInstall = (expectFailure: boolean) => {
    console.log(`$ helm ${install.join(' ').replace(CHART, path.relative(ROOT, CHART))}`);
    console.log((expectFailure ? cli.failing('helm', install) : cli.helm(install)).trim());
  };

  try {
    await resetCluster(admin);
    heading('Seeding it like a new EKS cluster: helm template | kubectl apply --server-side --field-manager eks');
    fixtures.newEksCluster();
    heading(`helm install ${RELEASE} before adoption: fails`);
    helmInstall(true);
    heading('Inspect: who owns it, and each object\'s field managers');
    expectExit(0, 'inspect');
    heading('Plan: what adopt would write, and why (writes nothing)');
    expectExit(0, 'plan', 'adopt');
    heading('Adopt into Helm release kube-system/aws-vpc-cni');
    expectExit(0, 'adopt', '--release-name', RELEASE, '--release-namespace', 'kube-system');
    heading(`helm install ${RELEASE} after adoption (no --force-conflicts, no --take-ownership)`);
    helmInstall(false);
    heading('Inspect after helm install: the release owns it, "helm" owns the fields "eks" had');
    expectExit(0, 'inspect');
    heading('Adopt again: nothing to do');
    expectExit(0, 'adopt');
    heading('Remove now: refused, a Helm release owns it (exit code 3)');
    expectExit(3, 'remove');

    await resetCluster(admin);
    heading('Seeding a new EKS cluster again, with two ENIConfigs');
    fixtures.newEksCluster();
    fixtures.eniConfigs('us-east-1a', 'us-east-1b');
    heading('Inspect');
    expectExit(0, 'inspect');
    heading('Plan: what remove would write (CRDs: delete only if unused)');
    expectExit(0, 'plan', 'remove');
    heading('Remove');
    expectExit(0, 'remove', '--crd-policy', 'DELETE_IF_UNUSED');
    heading('Inspect after remove: the ENIConfig CRD stays, it is in use');
    expectExit(0, 'inspect');
    heading(`helm install ${RELEASE} on the emptied cluster`);
    helmInstall(false);
  } finally {
    admin.close();
    if (keep) console.log(`\nControl plane left running: KUBECONFIG=${kubeconfig}`);
    else execFileSync('bash', [script, 'stop', state], { stdio: 'inherit' });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
