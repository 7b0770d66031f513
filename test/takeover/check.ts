/**
 * takeover:check — a release-time check (not part of build or test) of the takeovers against the REAL
 * charts, each version on a control plane of its own, with Helm 4 and Helm 3:
 *
 * - the VPC CNI and aws-vpc-cni: the chart rendered the way EKS renders it (us-east-1 images,
 *   -eksbuild tags) and applied as field manager eks; a `kubectl set env` customisation on top; the
 *   values derived; the chart rendered with them applied as a server-side dry run (the pod template
 *   must be the running one); then adopt and `helm install` with them (generation and pod template
 *   unchanged, the customisation kept); and as a control, the same install without them (it must
 *   change or fail).
 * - CoreDNS and coredns: CoreDNS as EKS installs it (our fixture: us-east-1 image, a PDB) applied as
 *   eks; the values derived; the real chart rendered with them renders the running Corefile's
 *   directives, and applied as Helm 4 applies it (a server-side dry run as helm after the adoption)
 *   gives the live Deployment and Service but for the named changes; then adopt and `helm install`:
 *   the same objects, clusterIP, selectors, replicas, image, and exactly the named changes; a later
 *   upgrade of replicas takes effect; and as a control, the install without the values fails.
 *
 *   npx projen takeover:check                              both; aws-vpc-cni: the newest patch of each minor from 1.18; coredns: the checked versions
 *   npx projen takeover:check --addon coredns              one add-on's chart only (vpc-cni or coredns)
 *   npx projen takeover:check --charts-dir DIR             DIR/<chart>-<version>.tgz (e.g. packaged from the chart's sources)
 *   npx projen takeover:check --versions 1.19.2,1.22.4     (with --addon)
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
import {
  COREDNS, COREDNS_CHART, COREDNS_CHART_VERSIONS_CHECKED, corefileDirectives, deriveCorednsValues, parseCorefile, VPC_CNI, deriveChartValues,
} from '../../src/addons';
import { Action, deepEqual, KubeClient, KubeObject, objectPath, observe, run } from '../../src/engine';
import { Charts, Unreachable } from '../support/chart-repos';
import { Cli, connection, resetCluster } from '../support/cluster';
import { dryRunAsHelm, renderEksCoreDns, valuesFile, withNamedChanges } from '../support/coredns';
import { scratchUntilExit } from '../support/scratch';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const REPOSITORY = VPC_CNI.chart!.repository;
const CHART = VPC_CNI.chart!.name;
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

async function checkVpcCni(chartDir: string, version: string, failures: string[]): Promise<void> {
  const admin = new KubeClient(connection());
  const eksValues = ['--set', 'originalMatchLabels=true', '--set-string', [
    'image.region=us-east-1', `image.tag=v${version}-eksbuild.1`, 'init.image.region=us-east-1', `init.image.tag=v${version}-eksbuild.1`,
    'nodeAgent.image.region=us-east-1', `nodeAgent.image.tag=${agentTag(chartDir)}-eksbuild.1`,
  ].join(',')];
  try {
    for (const pkg of LAYER_PACKAGES) {
      const tools = layerTools(pkg);
      const cli = new Cli(tools);
      const report = reporter(CHART, version, tools.label, failures);
      for (const withValues of [true, false]) {
        await resetCluster(admin);
        const rendered = cli.helm(['template', CHART, chartDir, '--include-crds', '--namespace', 'kube-system', ...eksValues]);
        cli.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'eks', '-f', '-'], rendered);
        cli.kubectl(['set', 'env', 'daemonset/aws-node', '-n', 'kube-system', '-c', 'aws-node', 'USER_ADDED=kept']);
        cli.kubectl(['set', 'env', 'daemonset/aws-node', '-n', 'kube-system', '-c', 'aws-node', 'WARM_ENI_TARGET=2']);
        const before = await admin.get(DS_PATH);
        const derived = deriveChartValues(await observe(admin, VPC_CNI, {}), { releaseName: CHART });
        const file = valuesFile(derived.values);
        if (withValues) {
          report(`derived: version ${derived.version}, registry ${derived.imageRegistry}, ${JSON.stringify(derived.values).length} bytes`, derived.version === version,
            derived.notes.join(' | '));
          const again = cli.helm(['template', CHART, chartDir, '--namespace', 'kube-system', '-f', file]);
          const daemonSet = parseAllDocuments(again).map((d) => d.toJS()).find((o) => o?.kind === 'DaemonSet');
          const applied = JSON.parse(cli.kubectl(['apply', '--server-side', '--dry-run=server', '--force-conflicts', '--field-manager', 'round-trip',
            '-o', 'json', '-f', '-'], JSON.stringify(daemonSet)));
          report('round trip: rendered with the derived values, the pod template is the running one',
            deepEqual(applied.spec.template, before.spec.template) && applied.metadata.generation === before.metadata.generation);
        }
        await run(admin, { addon: VPC_CNI, action: ADOPT });
        const install = ['install', CHART, chartDir, '--namespace', 'kube-system', ...(withValues ? ['-f', file] : ['--set', 'originalMatchLabels=true'])];
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

/** One line per check, collected: OK or FAIL. */
function reporter(chart: string, version: string, label: string, failures: string[]) {
  return (what: string, ok: boolean, detail = '') => {
    const line = `${ok ? 'OK     ' : 'FAIL   '} ${chart} ${version}, ${label}: ${what}${detail ? ` (${detail})` : ''}`;
    console.log(line);
    if (!ok) failures.push(line);
  };
}

const COREDNS_ADOPT: Action = { type: 'ADOPT', releaseName: COREDNS.defaultReleaseName, releaseNamespace: 'kube-system', fieldManager: 'helm' };

async function coreDnsObjects(admin: KubeClient): Promise<Record<string, KubeObject | undefined>> {
  const out: Record<string, KubeObject | undefined> = {};
  for (const o of COREDNS.objects) out[o.id] = await admin.get<KubeObject>(objectPath(o));
  return out;
}

/** CoreDNS into the real coredns chart of `version`, with Helm 4 and Helm 3 (see the header). */
async function checkCoreDns(chartDir: string, version: string, failures: string[]): Promise<void> {
  const admin = new KubeClient(connection());
  const release = COREDNS.defaultReleaseName;
  const DEPLOYMENT = COREDNS.workload.id;
  const SERVICE = 'Service/kube-system/kube-dns';
  const CONFIG_MAP = 'ConfigMap/kube-system/coredns';
  const directives = (corefile: string) => corefileDirectives(parseCorefile(corefile));
  const eks = ['--set', 'podDisruptionBudget=true', '--set-string', 'image.region=us-east-1,image.tag=v1.12.4-eksbuild.1'];
  try {
    for (const pkg of LAYER_PACKAGES) {
      const tools = layerTools(pkg);
      const cli = new Cli(tools);
      const helm = /v33/.test(pkg) ? 4 : 3;
      const report = reporter('coredns', version, tools.label, failures);
      await resetCluster(admin, [COREDNS]);
      cli.kubectl(['apply', '--server-side', '--field-manager', 'eks', '-f', '-'], renderEksCoreDns(cli, ...eks));
      const before = await coreDnsObjects(admin);
      const derived = deriveCorednsValues(await observe(admin, COREDNS, {}), { releaseName: release });
      const file = valuesFile(derived.values);
      report(`derived: ${JSON.stringify(derived.values).length} bytes, ${derived.changes.length} changes named`, !derived.values.deployment?.skipConfig,
        derived.notes.join(' | '));
      const rendered = parseAllDocuments(cli.helm(['template', release, chartDir, '--namespace', 'kube-system', '-f', file]))
        .map((d) => d.toJS()).filter(Boolean) as KubeObject[];
      const configMap = rendered.find((o) => o.kind === 'ConfigMap');
      report('the chart renders the running Corefile\'s directives', !!configMap
        && deepEqual(directives(configMap.data.Corefile), directives(before[CONFIG_MAP]!.data.Corefile)));
      await run(admin, { addon: COREDNS, action: COREDNS_ADOPT });
      const adopted = await coreDnsObjects(admin);
      const applied = dryRunAsHelm(cli, rendered);
      const dnsPorts = derived.values.servers.map((s: any) => s.port);
      const dry = withNamedChanges(adopted[DEPLOYMENT]!, adopted[SERVICE]!, release, applied[DEPLOYMENT].spec.template.metadata.annotations['checksum/config'], 4, dnsPorts);
      report('round trip: applied as Helm 4 applies it, the live Deployment and Service but for the named changes',
        deepEqual(applied[DEPLOYMENT].spec, dry.deployment) && deepEqual(applied[SERVICE].spec, dry.service));

      let failed: string | undefined;
      try {
        cli.helm(['install', release, chartDir, '--namespace', 'kube-system', '-f', file]);
      } catch (e: any) {
        failed = String(e.stderr ?? e).split('\n').find((l) => /Error/.test(l)) ?? String(e);
      }
      const after = await coreDnsObjects(admin);
      const d = after[DEPLOYMENT]!;
      const same = COREDNS.objects.every((o) => after[o.id]?.metadata.uid === before[o.id]?.metadata.uid)
        && after[SERVICE]!.spec.clusterIP === before[SERVICE]!.spec.clusterIP && deepEqual(d.spec.selector, before[DEPLOYMENT]!.spec.selector)
        && d.spec.replicas === before[DEPLOYMENT]!.spec.replicas
        && d.spec.template.spec.containers[0].image === before[DEPLOYMENT]!.spec.template.spec.containers[0].image;
      const real = withNamedChanges(before[DEPLOYMENT]!, before[SERVICE]!, release, d.spec.template.metadata.annotations?.['checksum/config'] ?? '', helm, dnsPorts);
      const noEks = Object.values(after).every((o) => !(o?.metadata.managedFields ?? []).some((m) => m.manager === 'eks'));
      report('adopt + helm install with the derived values: the same objects, clusterIP, selectors, replicas and image; exactly the named changes; no eks field',
        !failed && same && deepEqual(d.spec, real.deployment) && deepEqual(after[SERVICE]!.spec, real.service) && noEks
        && deepEqual(directives(after[CONFIG_MAP]!.data.Corefile), directives(before[CONFIG_MAP]!.data.Corefile)), failed ?? '');
      if (!failed) {
        cli.helm(['upgrade', release, chartDir, '--namespace', 'kube-system', '-f', file, '--set', 'replicaCount=3']);
        const upgraded = (await coreDnsObjects(admin))[DEPLOYMENT]!;
        report('a later helm upgrade of replicaCount takes effect', upgraded.spec.replicas === 3, `replicas ${upgraded.spec.replicas}`);
      }

      // Control: the chart's own values (its selector) on the adopted CoreDNS.
      await resetCluster(admin, [COREDNS]);
      cli.kubectl(['apply', '--server-side', '--field-manager', 'eks', '-f', '-'], renderEksCoreDns(cli, ...eks));
      await run(admin, { addon: COREDNS, action: COREDNS_ADOPT });
      const control = helmOutcome(cli, ['install', release, chartDir, '--namespace', 'kube-system']);
      report('control: the same install without them fails', !control.ok, control.detail);
    }
  } finally {
    admin.close();
  }
}

/** Runs helm; whether it succeeded, and its error line. */
function helmOutcome(cli: Cli, args: string[]): { ok: boolean; detail: string } {
  try {
    cli.helm(args);
    return { ok: true, detail: 'it succeeded' };
  } catch (e: any) {
    return { ok: false, detail: String(e.stderr ?? e).split('\n').find((l) => /Error/.test(l)) ?? String(e) };
  }
}

interface Target {
  readonly addon: string;
  readonly repository: string;
  readonly chart: string;
  readonly versions: (all: readonly string[]) => string[];
  readonly check: (chartDir: string, version: string, failures: string[]) => Promise<void>;
}

const TARGETS: Target[] = [
  { addon: VPC_CNI.name, repository: REPOSITORY, chart: CHART, versions: newestPatches, check: checkVpcCni },
  {
    addon: COREDNS.name,
    repository: COREDNS_CHART.repository,
    chart: COREDNS_CHART.name,
    versions: (all) => COREDNS_CHART_VERSIONS_CHECKED.filter((v) => all.includes(v)),
    check: checkCoreDns,
  },
];

async function main(): Promise<number> {
  let args;
  try {
    args = parseArgs({ options: { 'charts-dir': { type: 'string' }, 'versions': { type: 'string' }, 'addon': { type: 'string' } } }).values;
    if (args.addon && !TARGETS.some((t) => t.addon === args!.addon)) throw new Error(`--addon must be one of ${TARGETS.map((t) => t.addon).join(', ')}`);
    if (args.versions && !args.addon) throw new Error('--versions needs --addon');
  } catch (e) {
    console.error(`takeover:check: ${(e as Error).message}\nusage: takeover:check [--addon vpc-cni|coredns] [--charts-dir DIR] [--versions V1,V2]`);
    return 2;
  }
  const chartsDir = args['charts-dir'] ? path.resolve(args['charts-dir']) : undefined;
  scratchUntilExit();
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'takeover-check-'));
  const tools = LAYER_PACKAGES.map((pkg) => layerTools(pkg));
  const charts = new Charts(tools[0].helm, work, chartsDir);
  const plan: { target: Target; versions: string[] }[] = [];
  for (const target of TARGETS.filter((t) => !args.addon || t.addon === args.addon)) {
    const ref = { repository: target.repository, chart: target.chart };
    try {
      const versions = args.versions ? args.versions.split(',') : target.versions(charts.versions(ref));
      plan.push({ target, versions });
      console.log(`takeover:check: ${target.chart} ${versions.join(', ') || '(none found)'} from ${chartsDir ?? target.repository}; Helm ${tools.map((t) => t.label).join(' and ')}`);
    } catch (e) {
      if (!(e instanceof Unreachable)) throw e;
      console.log(`takeover:check SKIPPED for ${target.chart}: cannot reach ${e.message}; nothing was checked (run it where it can be reached, or give --charts-dir)`);
    }
  }
  if (plan.every((p) => p.versions.length === 0)) return 0;

  // A control plane of its own (the tests' helpers read it from CNI_TEST_CONTROLPLANE).
  const script = path.resolve(__dirname, '..', 'controlplane', 'controlplane.sh');
  const state = path.resolve(__dirname, '..', '..', '.controlplane', `takeover-check-${process.pid}`);
  execFileSync('bash', [script, 'start', state], { stdio: 'inherit' });
  process.env.CNI_TEST_CONTROLPLANE = state;
  const failures: string[] = [];
  let checked = 0;
  try {
    for (const { target, versions } of plan) {
      for (const version of versions) {
        const { tgz } = charts.fetch({ repository: target.repository, chart: target.chart, version });
        const dir = path.join(work, `${target.chart}-${version}`);
        fs.mkdirSync(dir, { recursive: true });
        execFileSync('tar', ['-xzf', tgz, '-C', dir, '--strip-components', '1']);
        await target.check(dir, version, failures);
        checked++;
      }
    }
  } finally {
    execFileSync('bash', [script, 'stop', state], { stdio: 'inherit' });
  }
  if (failures.length > 0) {
    console.log(`takeover:check FAILED: ${failures.length} check(s)`);
    return 1;
  }
  console.log(`takeover:check passed: ${checked} chart version(s), Helm 4 and Helm 3`);
  return 0;
}

main().then((code) => { process.exitCode = code; }, (e) => {
  console.error(e);
  process.exitCode = 1;
});
