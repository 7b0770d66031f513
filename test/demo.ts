/**
 * The local demo: a real kube-apiserver + etcd seeded like a new EKS cluster, then the
 * `cdk-vpc-cni-ownership` CLI (the compiled lib/cli/main.js, what `npx cdk-vpc-cni-ownership` runs):
 * inspect → plan → adopt → values → helm install with them (nothing restarts), then remove on a lived-in
 * cluster (a CRD another controller owns); kube-proxy removed for a kube-proxy replacement and restored
 * from its recovery copy; CoreDNS into the coredns chart with its Service address kept. Run: npx projen demo [--keep]
 */
import { execFileSync, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { COREDNS } from '../src/addons';
import { deepEqual, KubeClient, objectPath } from '../src/engine';
import { CHART, Cli, connection, DS, Fixtures, getLive, RELEASE, resetCluster } from './support/cluster';
import { COREDNS_CHART, eksCoreDns } from './support/coredns';
import { scratchUntilExit } from './support/scratch';
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
  scratchUntilExit();
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
    heading('Seeding it like a new EKS cluster in eu-west-3: helm template | kubectl apply --server-side --field-manager eks');
    fixtures.newEksCluster();
    console.log('(its images come from the region\'s registry, with -eksbuild tags, as EKS renders them)');
    heading('A customisation of ours on top: kubectl set env WARM_ENI_TARGET=2');
    fixtures.userSetEnv('WARM_ENI_TARGET', '2');
    heading(`helm install ${RELEASE} before adoption: fails`);
    helmInstall(true);
    heading('Inspect: who owns it, the installed version and registry, each object\'s field managers');
    expectExit(0, 'inspect');
    heading('Plan: what adopt would write, and why; the API server checks each write (writes nothing)');
    expectExit(0, 'plan', 'adopt');
    heading('Adopt into Helm release kube-system/aws-vpc-cni');
    expectExit(0, 'adopt', '--release-name', RELEASE, '--release-namespace', 'kube-system');
    heading('The values that reproduce what runs, for the first helm install');
    const valuesFile = path.join(state, 'values.yaml');
    const values = spawnSync(process.execPath, [bin, 'values'], { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
    if (values.status !== 0) throw new Error(`cdk-vpc-cni-ownership values exited ${values.status}: ${values.stderr}`);
    fs.writeFileSync(valuesFile, values.stdout);
    console.log(`$ npx cdk-vpc-cni-ownership values > ${path.relative(ROOT, valuesFile)}`);
    console.log(values.stdout.split('\n').filter((l) => l.startsWith('#') || /^(image|  (region|tag|account)):/.test(l)).join('\n'));
    heading(`helm install ${RELEASE} with those values (no --force-conflicts, no --take-ownership): nothing restarts`);
    const before = await getLive(admin, DS);
    const withValues = ['install', RELEASE, CHART, '--namespace', 'kube-system', '-f', valuesFile];
    console.log(`$ helm ${withValues.join(' ').replace(CHART, path.relative(ROOT, CHART)).replace(valuesFile, path.relative(ROOT, valuesFile))}`);
    console.log(cli.helm(withValues).trim());
    const after = await getLive(admin, DS);
    const unchanged = after!.metadata.generation === before!.metadata.generation && deepEqual(after!.spec.template, before!.spec.template);
    console.log(`DaemonSet aws-node: generation ${before!.metadata.generation} → ${after!.metadata.generation}, pod template ${unchanged ? 'unchanged' : 'CHANGED'}; `
      + `image ${after!.spec.template.spec.containers[0].image}`);
    if (!unchanged) throw new Error('the takeover changed the pod template: every aws-node pod would restart');
    heading('Inspect after helm install: the release owns it, "helm" owns the fields "eks" had');
    expectExit(0, 'inspect');
    heading('Adopt again: nothing to do');
    expectExit(0, 'adopt');
    heading('Remove now: refused, a Helm release owns it (exit code 3)');
    expectExit(3, 'remove');

    await resetCluster(admin);
    heading('Seeding a new EKS cluster again, with two ENIConfigs; the PolicyEndpoint CRD is the network policy controller\'s');
    fixtures.newEksCluster();
    fixtures.eniConfigs('us-east-1a', 'us-east-1b');
    fixtures.policyEndpointCrdOfController(1);
    heading('Inspect');
    expectExit(0, 'inspect');
    heading('Plan: what remove would write (CRDs: the ENIConfig one only if unused; never a CRD another controller owns)');
    expectExit(0, 'plan', 'remove');
    heading('Remove');
    expectExit(0, 'remove', '--crd-policy', 'DELETE_IF_UNUSED');
    heading('Inspect after remove: the ENIConfig CRD stays (in use), so does the PolicyEndpoint CRD (not the VPC CNI\'s)');
    expectExit(0, 'inspect', '--addon', 'vpc-cni');

    heading('kube-proxy as EKS installs it: remove it for a kube-proxy replacement (Cilium), keeping a recovery copy');
    fixtures.eksKubeProxy();
    expectExit(0, 'plan', 'remove', '--addon', 'kube-proxy');
    expectExit(0, 'remove', '--addon', 'kube-proxy');
    heading('Inspect kube-proxy: absent, and the recovery copy the removal kept');
    expectExit(0, 'inspect', '--addon', 'kube-proxy');
    heading('Restore kube-proxy from the copy: every object back as it ran, applied as "eks" again');
    expectExit(0, 'restore', '--addon', 'kube-proxy');
    expectExit(0, 'inspect', '--addon', 'kube-proxy');

    heading('CoreDNS as EKS installs it, into the coredns chart: the values (the header names what the chart changes), adopt, helm install');
    eksCoreDns(cli, '--set', 'podDisruptionBudget=true');
    const service = objectPath(COREDNS.objects.find((o) => o.kind === 'Service')!);
    const deployment = objectPath(COREDNS.workload);
    const dnsBefore = { service: await admin.get(service), deployment: await admin.get(deployment) };
    const coreDnsValues = spawnSync(process.execPath, [bin, 'values', '--addon', 'coredns'],
      { env: { ...process.env, KUBECONFIG: kubeconfig }, encoding: 'utf8' });
    if (coreDnsValues.status !== 0) throw new Error(`cdk-vpc-cni-ownership values --addon coredns exited ${coreDnsValues.status}: ${coreDnsValues.stderr}`);
    const coreDnsValuesFile = path.join(state, 'coredns-values.yaml');
    fs.writeFileSync(coreDnsValuesFile, coreDnsValues.stdout);
    console.log(`$ npx cdk-vpc-cni-ownership values --addon coredns > ${path.relative(ROOT, coreDnsValuesFile)}`);
    console.log(coreDnsValues.stdout.split('\n').filter((l) => l.startsWith('#')).join('\n'));
    expectExit(0, 'adopt', '--addon', 'coredns');
    const coreDnsInstall = ['install', 'coredns', COREDNS_CHART, '--namespace', 'kube-system', '-f', coreDnsValuesFile];
    console.log(`$ helm ${coreDnsInstall.join(' ').replace(COREDNS_CHART, path.relative(ROOT, COREDNS_CHART)).replace(coreDnsValuesFile, path.relative(ROOT, coreDnsValuesFile))}`);
    console.log(cli.helm(coreDnsInstall).trim());
    const dnsAfter = { service: await admin.get(service), deployment: await admin.get(deployment) };
    const same = (what: string, a: unknown, b: unknown) => `${what} ${deepEqual(a, b) ? 'unchanged' : 'CHANGED'}`;
    console.log([
      same('Service kube-dns: uid', dnsBefore.service?.metadata.uid, dnsAfter.service?.metadata.uid),
      same('clusterIP', dnsBefore.service?.spec.clusterIP, dnsAfter.service?.spec.clusterIP) + ` (${dnsAfter.service?.spec.clusterIP})`,
      same('Deployment coredns: uid', dnsBefore.deployment?.metadata.uid, dnsAfter.deployment?.metadata.uid),
      same('selector', dnsBefore.deployment?.spec.selector, dnsAfter.deployment?.spec.selector),
      same('replicas', dnsBefore.deployment?.spec.replicas, dnsAfter.deployment?.spec.replicas),
      `pod template ${deepEqual(dnsBefore.deployment?.spec.template, dnsAfter.deployment?.spec.template) ? 'unchanged' : 'changed: CoreDNS rolls once, '
        + 'one pod at a time (what the header names)'}; generation ${dnsBefore.deployment?.metadata.generation} → ${dnsAfter.deployment?.metadata.generation}`,
    ].join('; '));
    const serviceKept = dnsAfter.service?.spec.clusterIP === dnsBefore.service?.spec.clusterIP
      && dnsAfter.service?.metadata.uid === dnsBefore.service?.metadata.uid;
    if (!serviceKept) {
      throw new Error('the CoreDNS takeover changed the Service every pod resolves through');
    }
    heading('Inspect all three add-ons');
    expectExit(0, 'inspect');
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
