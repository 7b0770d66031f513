/**
 * takeover:check — a release-time check (not part of build or test) that adopting the VPC CNI and
 * installing the REAL aws-vpc-cni chart with the values derived from the running install changes
 * nothing that runs. For each chart version, on a control plane of its own, with Helm 4 and Helm 3:
 * the chart is rendered the way EKS renders it (us-east-1 images, -eksbuild tags) and applied as
 * field manager eks; a `kubectl set env` customisation goes on top; the values are derived; the chart
 * rendered with them is applied as a server-side dry run (the pod template must be the running one);
 * then adopt and `helm install` with them (generation and pod template unchanged, the customisation
 * kept); and as a control, the same install without them (it must change or fail).
 *
 *   npx projen takeover:check                              the newest patch of each minor from 1.18, from the chart repository
 *   npx projen takeover:check --charts-dir DIR             DIR/aws-vpc-cni-<version>.tgz (e.g. packaged from the chart's sources)
 *   npx projen takeover:check --versions 1.19.2,1.22.4
 *
 * A repository that cannot be reached is reported as SKIPPED (exit 0). Exit 1 on a failed check.
 * See docs/takeover.md.
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { parseAllDocuments } from 'yaml';
import { VPC_CNI, deriveChartValues } from '../../src/addons';
import { Action, deepEqual, KubeClient, observe, run } from '../../src/engine';
import { Charts, Unreachable } from '../support/chart-repos';
import { Cli, connection, resetCluster } from '../support/cluster';
import { scratchUntilExit } from '../support/scratch';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const REPOSITORY = 'https://aws.github.io/eks-charts';
const CHART = 'aws-vpc-cni';
const ADOPT: Action = { type: 'ADOPT', releaseName: CHART, releaseNamespace: 'kube-system', fieldManager: 'helm' };
const DS_PATH = '/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node';

/** The newest patch of each minor version from 1.18 on (the charts EKS installs on supported clusters). */
function newestPatches(versions: readonly string[]): string[] {
  const byMinor = new Map<string, string>();
  for (const v of versions) {
    const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
    if (!m || Number(m[1]) !== 1 || Number(m[2]) < 18) continue;
    const minor = `${m[1]}.${m[2]}`;
    const known = byMinor.get(minor);
    if (!known || Number(known.split('.')[2]) < Number(m[3])) byMinor.set(minor, v);
  }
  return [...byMinor.values()].sort((a, b) => Number(a.split('.')[1]) - Number(b.split('.')[1]));
}

/** The network policy agent's tag a chart ships (its default values). */
function agentTag(chartDir: string): string {
  return /nodeAgent:[\s\S]*?tag:\s*"?([^"\s]+)/.exec(fs.readFileSync(path.join(chartDir, 'values.yaml'), 'utf8'))![1];
}

async function checkVersion(chartDir: string, version: string, failures: string[]): Promise<void> {
  const admin = new KubeClient(connection());
  const eksValues = ['--set', 'originalMatchLabels=true', '--set-string', [
    'image.region=us-east-1', `image.tag=v${version}-eksbuild.1`, 'init.image.region=us-east-1', `init.image.tag=v${version}-eksbuild.1`,
    'nodeAgent.image.region=us-east-1', `nodeAgent.image.tag=${agentTag(chartDir)}-eksbuild.1`,
  ].join(',')];
  try {
    for (const pkg of LAYER_PACKAGES) {
      const tools = layerTools(pkg);
      const cli = new Cli(tools);
      const report = (what: string, ok: boolean, detail = '') => {
        const line = `${ok ? 'OK     ' : 'FAIL   '} ${CHART} ${version}, ${tools.label}: ${what}${detail ? ` (${detail})` : ''}`;
        console.log(line);
        if (!ok) failures.push(line);
      };
      for (const withValues of [true, false]) {
        await resetCluster(admin);
        const rendered = cli.helm(['template', CHART, chartDir, '--include-crds', '--namespace', 'kube-system', ...eksValues]);
        cli.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'eks', '-f', '-'], rendered);
        cli.kubectl(['set', 'env', 'daemonset/aws-node', '-n', 'kube-system', '-c', 'aws-node', 'USER_ADDED=kept']);
        cli.kubectl(['set', 'env', 'daemonset/aws-node', '-n', 'kube-system', '-c', 'aws-node', 'WARM_ENI_TARGET=2']);
        const before = await admin.get(DS_PATH);
        const derived = deriveChartValues(await observe(admin, VPC_CNI, {}), { releaseName: CHART });
        const valuesFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'takeover-check-')), 'values.json');
        fs.writeFileSync(valuesFile, JSON.stringify(derived.values));
        if (withValues) {
          report(`derived: version ${derived.version}, registry ${derived.imageRegistry}, ${JSON.stringify(derived.values).length} bytes`, derived.version === version,
            derived.notes.join(' | '));
          const again = cli.helm(['template', CHART, chartDir, '--namespace', 'kube-system', '-f', valuesFile]);
          const daemonSet = parseAllDocuments(again).map((d) => d.toJS()).find((o) => o?.kind === 'DaemonSet');
          const applied = JSON.parse(cli.kubectl(['apply', '--server-side', '--dry-run=server', '--force-conflicts', '--field-manager', 'round-trip',
            '-o', 'json', '-f', '-'], JSON.stringify(daemonSet)));
          report('round trip: rendered with the derived values, the pod template is the running one',
            deepEqual(applied.spec.template, before.spec.template) && applied.metadata.generation === before.metadata.generation);
        }
        await run(admin, { addon: VPC_CNI, action: ADOPT });
        const install = ['install', CHART, chartDir, '--namespace', 'kube-system', ...(withValues ? ['-f', valuesFile] : ['--set', 'originalMatchLabels=true'])];
        let failed: string | undefined;
        try {
          cli.helm(install);
        } catch (e: any) {
          failed = String(e.stderr ?? e).split('\n').find((l) => /Error/.test(l)) ?? String(e);
        }
        const after = await admin.get(DS_PATH);
        const unchanged = after.metadata.generation === before.metadata.generation && deepEqual(after.spec.template, before.spec.template);
        if (withValues) {
          const kept = after.spec.template.spec.containers[0].env.some((e: any) => e.name === 'USER_ADDED');
          report('adopt + helm install with the derived values: generation and pod template unchanged, the kubectl set env kept',
            !failed && unchanged && kept, failed ?? `generation ${before.metadata.generation} → ${after.metadata.generation}`);
        } else {
          report('control: the same install without them changes what runs or fails', !!failed || !unchanged,
            failed ?? `generation ${before.metadata.generation} → ${after.metadata.generation}, image ${after.spec.template.spec.containers[0].image}`);
        }
      }
    }
  } finally {
    admin.close();
  }
}

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { 'charts-dir': { type: 'string' }, 'versions': { type: 'string' } } }).values;
  } catch (e) {
    console.error(`takeover:check: ${(e as Error).message}\nusage: takeover:check [--charts-dir DIR] [--versions V1,V2]`);
    return 2;
  }
  const chartsDir = args['charts-dir'] ? path.resolve(args['charts-dir']) : undefined;
  scratchUntilExit();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'takeover-check-'));
  const tools = LAYER_PACKAGES.map((pkg) => layerTools(pkg));
  const charts = new Charts(tools[0].helm, work, chartsDir);
  const ref = { repository: REPOSITORY, chart: CHART };
  let versions: string[];
  try {
    versions = args.versions ? args.versions.split(',') : newestPatches(charts.versions(ref));
  } catch (e) {
    if (!(e instanceof Unreachable)) throw e;
    console.log(`takeover:check SKIPPED: cannot reach ${e.message}; nothing was checked (run it where it can be reached, or give --charts-dir)`);
    return 0;
  }
  console.log(`takeover:check: ${CHART} ${versions.join(', ')} from ${chartsDir ?? REPOSITORY}; Helm ${tools.map((t) => t.label).join(' and ')}`);

  // A control plane of its own (the tests' helpers read it from CNI_TEST_CONTROLPLANE).
  const script = path.resolve(__dirname, '..', 'controlplane', 'controlplane.sh');
  const state = path.resolve(__dirname, '..', '..', '.controlplane', `takeover-check-${process.pid}`);
  execFileSync('bash', [script, 'start', state], { stdio: 'inherit' });
  process.env.CNI_TEST_CONTROLPLANE = state;
  const failures: string[] = [];
  try {
    for (const version of versions) {
      const { tgz } = charts.fetch({ ...ref, version });
      const dir = path.join(work, `${CHART}-${version}`);
      fs.mkdirSync(dir, { recursive: true });
      execFileSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components', '1']);
      await checkVersion(dir, version, failures);
    }
  } finally {
    execFileSync('bash', [script, 'stop', state], { stdio: 'inherit' });
  }
  if (failures.length > 0) {
    console.log(`takeover:check FAILED: ${failures.length} check(s)`);
    return 1;
  }
  console.log(`takeover:check passed: ${versions.length} chart version(s), Helm 4 and Helm 3`);
  return 0;
}

main().then((code) => { process.exitCode = code; }, (e) => {
  console.error(e);
  process.exitCode = 1;
});
