/**
 * The local demo: a real kube-apiserver + etcd seeded like a new EKS cluster, then
 * inspect → plan → adopt → helm install, and the same for remove. Run: npx projen demo
 */
import { execFileSync } from 'child_process';
import * as path from 'path';
import { Action, formatObservation, formatPlan, KubeClient, run } from '../src/engine';
import { CHART, Cli, connection, Fixtures, RELEASE, resetCluster } from './support/cluster';
import { LAYER_PACKAGES, layerTools } from './support/tools';

const script = path.join(__dirname, 'controlplane', 'controlplane.sh');
const state = path.resolve(__dirname, '..', '.controlplane', 'demo');
const keep = process.argv.includes('--keep');

function heading(text: string) {
  console.log(`\n=== ${text} ${'='.repeat(Math.max(0, 70 - text.length))}`);
}

async function main() {
  heading('Starting a local control plane (kube-apiserver + etcd, built from Go modules, cached)');
  execFileSync('bash', [script, 'start', state], { stdio: 'inherit' });
  process.env.CNI_TEST_CONTROLPLANE = state;
  const tools = layerTools(LAYER_PACKAGES[0]);
  console.log(`kubectl and helm from ${tools.label}`);
  const cli = new Cli(tools);
  const fixtures = new Fixtures(cli);
  const client = new KubeClient(connection());
  const install = ['install', RELEASE, CHART, '--namespace', 'kube-system', '--set', 'originalMatchLabels=true'];

  const step = async (title: string, action: Action, dryRun = false) => {
    heading(title);
    const before = client.requestCount;
    const result = await run(client, { action, dryRun });
    if (action.type === 'INSPECT') console.log(formatObservation(result.observation));
    else console.log(formatPlan(result.plan));
    if (!dryRun && action.type !== 'INSPECT') console.log(`Changed: ${result.changed.join(', ') || 'nothing'}`);
    console.log(`(${client.requestCount - before} API requests)`);
  };

  try {
    const adopt: Action = { type: 'ADOPT', releaseName: RELEASE, releaseNamespace: 'kube-system', fieldManager: 'helm' };
    await resetCluster(client);
    heading('Seeding it like a new EKS cluster: helm template | kubectl apply --server-side --field-manager eks');
    fixtures.newEksCluster();
    heading(`helm install ${RELEASE} before adoption`);
    console.log(cli.failing('helm', install).trim());
    await step('Inspect', { type: 'INSPECT' });
    await step('Plan (dry-run) for adopt', adopt, true);
    await step('Adopt into Helm release kube-system/aws-vpc-cni', adopt);
    heading(`helm install ${RELEASE} after adoption (no --force-conflicts, no --take-ownership)`);
    console.log(cli.helm(install).trim());
    await step('Inspect after helm install', { type: 'INSPECT' });
    await step('Adopt again: nothing to do', adopt);

    await resetCluster(client);
    heading('Seeding a new EKS cluster again, with two ENIConfigs');
    fixtures.newEksCluster();
    fixtures.eniConfigs('us-east-1a', 'us-east-1b');
    const remove: Action = { type: 'REMOVE', crdPolicy: 'DELETE_IF_UNUSED' };
    await step('Inspect', { type: 'INSPECT' });
    await step('Plan (dry-run) for remove', remove, true);
    await step('Remove (CRDs: delete only if unused)', remove);
    await step('Inspect after remove', { type: 'INSPECT' });
    heading(`helm install ${RELEASE} on the emptied cluster`);
    console.log(cli.helm(install).trim());
  } finally {
    client.close();
    if (keep) console.log(`\nControl plane left running: KUBECONFIG=${path.join(state, 'kubeconfig')}`);
    else execFileSync('bash', [script, 'stop', state], { stdio: 'inherit' });
  }
}

main().catch((e) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
