/**
 * "Take over without a change": the chart values derived from a running VPC CNI make the chart render
 * what runs. Each row is a cluster history (where EKS installed it, what was customised on top); the
 * derived values are rendered with the REAL helm into our fixture chart (the real chart's value
 * structure) and applied as a server-side dry run against the REAL API server, which must change
 * nothing. Then the real takeover: adopt, helm install (Helm 4 and Helm 3), and nothing restarts.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseAllDocuments } from 'yaml';
import { HelmValues, VPC_CNI, deriveChartValues } from '../../src/addons';
import { Action, KubeClient, KubeObject, observe, run } from '../../src/engine';
import {
  awsNodeEnv, CHART, Cli, connection, DS, EKS_REGION, EksRegion, Fixtures, getLive, RELEASE, resetCluster,
} from '../support/cluster';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const admin = new KubeClient(connection());
afterAll(() => admin.close());

const ADOPT: Action = { type: 'ADOPT', releaseName: RELEASE, releaseNamespace: 'kube-system', fieldManager: 'helm' };

async function derive(options = {}) {
  return deriveChartValues(await observe(admin, VPC_CNI, {}), options);
}

/** Writes values to a file helm can read (JSON is YAML). */
function valuesFile(values: HelmValues): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'cni-values-')), 'values.json');
  fs.writeFileSync(file, JSON.stringify(values));
  return file;
}

/** Renders the chart with `values` and has the API server apply each object as a dry run: what would the object become? */
function dryRunApply(cli: Cli, values: HelmValues): Record<string, KubeObject> {
  const rendered = cli.helm(['template', RELEASE, CHART, '--namespace', 'kube-system', '-f', valuesFile(values)]);
  const out: Record<string, KubeObject> = {};
  for (const doc of parseAllDocuments(rendered)) {
    const object = doc.toJS();
    if (!object) continue;
    out[object.kind] = JSON.parse(cli.kubectl(
      ['apply', '--server-side', '--dry-run=server', '--force-conflicts', '--field-manager', 'round-trip', '-o', 'json', '-f', '-'],
      JSON.stringify(object)));
  }
  return out;
}

const CHINA: EksRegion = {
  region: 'cn-northwest-1', account: '961992271922', domain: 'amazonaws.com.cn', awsNodeTag: 'v1.20.4-eksbuild.3', agentTag: 'v1.2.1-eksbuild.2',
};
const CAPE_TOWN: EksRegion = { ...EKS_REGION, region: 'af-south-1', account: '877085696533' };
const MIRROR = 'registry.example.com/mirror';

interface History {
  readonly name: string;
  readonly region: EksRegion;
  /** More `helm template` arguments EKS rendered with. */
  readonly eksValues?: string[];
  /** What users did on top, with the real kubectl. */
  readonly customise?: (cli: Cli) => void;
  /** What the derived values must hold. */
  readonly expect: (values: HelmValues) => void;
}

const histories: History[] = [
  {
    name: 'a new cluster in eu-west-3, with kubectl set env on top (one new var, one changed chart var)',
    region: EKS_REGION,
    customise: (cli) => {
      cli.kubectl(['set', 'env', 'daemonset/aws-node', '-n', 'kube-system', '-c', 'aws-node', 'USER_ADDED=kept']);
      cli.kubectl(['set', 'env', 'daemonset/aws-node', '-n', 'kube-system', '-c', 'aws-node', 'WARM_ENI_TARGET=2']);
    },
    expect: (v) => {
      expect(v.image).toEqual({ account: '602401143452', domain: 'amazonaws.com', region: 'eu-west-3', endpoint: 'ecr', tag: 'v1.20.4-eksbuild.1', pullPolicy: 'IfNotPresent' });
      expect(v.nodeAgent.image.tag).toBe('v1.2.1-eksbuild.1');
      expect(v.init.image.region).toBe('eu-west-3');
      expect(v.env.WARM_ENI_TARGET).toBe('2');
      expect(v.env).not.toHaveProperty('USER_ADDED');
    },
  },
  {
    name: 'China (amazonaws.com.cn, its own account and tags)',
    region: CHINA,
    expect: (v) => {
      expect(v.image).toMatchObject({ account: '961992271922', domain: 'amazonaws.com.cn', region: 'cn-northwest-1', tag: 'v1.20.4-eksbuild.3' });
      expect(v.nodeAgent.image).toMatchObject({ domain: 'amazonaws.com.cn', tag: 'v1.2.1-eksbuild.2' });
    },
  },
  {
    name: 'an opt-in region with its own account, rendered with EKS values for the agent and prefix delegation',
    region: CAPE_TOWN,
    eksValues: ['--set-string', 'env.ENABLE_PREFIX_DELEGATION=true,nodeAgent.enableCloudWatchLogs=true,enableNetworkPolicy=true',
      '--set', 'nodeAgent.conntrackCacheTableSize=1048576,resources.requests.memory=64Mi'],
    expect: (v) => {
      expect(v.image.account).toBe('877085696533');
      expect(v.env.ENABLE_PREFIX_DELEGATION).toBe('true');
      expect(v.nodeAgent).toMatchObject({ enableCloudWatchLogs: 'true', conntrackCacheTableSize: '1048576', metricsBindAddr: '8162' });
      expect(v.enableNetworkPolicy).toBe('true');
      expect(v.resources).toEqual({ requests: { cpu: '25m', memory: '64Mi' } });
    },
  },
  {
    name: 'images from a private mirror, no network policy agent, an IRSA role and scheduling customised by EKS values',
    region: EKS_REGION,
    eksValues: ['--set-string', [
      `image.override=${MIRROR}/amazon-k8s-cni:v1.20.4`, `init.image.override=${MIRROR}/amazon-k8s-cni-init:v1.20.4`,
      'serviceAccount.annotations.eks\\.amazonaws\\.com/role-arn=arn:aws:iam::111122223333:role/vpc-cni',
      'podAnnotations.team=network', 'nodeSelector.pool=system', 'init.env.WARM_UP=yes',
    ].join(','), '--set', 'nodeAgent.enabled=false'],
    customise: (cli) => cli.kubectl(['annotate', 'serviceaccount/aws-node', '-n', 'kube-system', 'note.example.com/by-hand=yes']),
    expect: (v) => {
      expect(v.image).toEqual({ override: `${MIRROR}/amazon-k8s-cni:v1.20.4`, pullPolicy: 'IfNotPresent' });
      expect(v.nodeAgent.enabled).toBe(false);
      expect(v.serviceAccount).toEqual({ annotations: { 'eks.amazonaws.com/role-arn': 'arn:aws:iam::111122223333:role/vpc-cni' } });
      expect(v.nodeSelector).toEqual({ pool: 'system' });
      expect(v.init.env.WARM_UP).toBe('yes');
    },
  },
];

describe('derived values reproduce the running install (helm template + server-side dry run)', () => {
  const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
  const fixtures = new Fixtures(cli);
  beforeEach(async () => resetCluster(admin));

  test.each(histories.map((h) => [h.name, h]))('%s', async (_name, history) => {
    fixtures.eksClusterIn(history.region, ...(history.eksValues ?? []));
    history.customise?.(cli);
    const live = await getLive(admin, DS);

    const derived = await derive();
    history.expect(derived.values);
    expect(derived.version).toBe('1.20.4');

    const applied = dryRunApply(cli, derived.values);
    // Nothing that runs would change: the pod template and the generation stay as they are.
    expect(applied.DaemonSet.spec.template).toEqual(live!.spec.template);
    expect(applied.DaemonSet.metadata.generation).toBe(live!.metadata.generation);
    const configMap = await admin.get('/api/v1/namespaces/kube-system/configmaps/amazon-vpc-cni');
    expect(applied.ConfigMap.data).toEqual(configMap.data);
    const serviceAccount = await admin.get('/api/v1/namespaces/kube-system/serviceaccounts/aws-node');
    expect(applied.ServiceAccount.metadata.annotations).toEqual(serviceAccount.metadata.annotations);

    // The chart's own values would change it: the test can fail.
    const withDefaults = dryRunApply(cli, { originalMatchLabels: true });
    expect(withDefaults.DaemonSet.spec.template).not.toEqual(live!.spec.template);
  });

  test('an env var only an imperative edit added is a customisation, named in the notes; handed over, it is in the values', async () => {
    fixtures.newEksCluster();
    cli.kubectl(['set', 'env', 'daemonset/aws-node', '-n', 'kube-system', '-c', 'aws-node', 'USER_ADDED=kept']);
    const kept = await derive();
    expect(kept.notes.join('\n')).toMatch(/aws-node: env USER_ADDED was added by an imperative edit: kept as a customisation/);
    const handed = await derive({ handOver: ['kubectl-set'] });
    expect(handed.values.env.USER_ADDED).toBe('kept');
    // kubectl set env appended it after the chart's field refs: rendering it sorted moves it, which restarts the pods.
    expect(handed.changes.join('\n')).toMatch(/renders its env in the order .* restarts the pods/);
  });

  test('a disabled DaemonSet: the values leave the disable key out and say so', async () => {
    fixtures.newEksCluster();
    await run(admin, { addon: VPC_CNI, action: { type: 'DISABLE' } });
    const derived = await derive();
    expect(derived.values.nodeSelector).toBeUndefined();
    expect(derived.changes.join('\n')).toMatch(/the DaemonSet is disabled/);
  });

  test('a release name other than the pods\' instance label is a restart, and the notes say so', async () => {
    fixtures.newEksCluster();
    expect((await derive({ releaseName: 'aws-vpc-cni' })).changes.join('\n')).not.toMatch(/instance/);
    expect((await derive({ releaseName: 'vpc-cni' })).changes.join('\n')).toMatch(/app.kubernetes.io\/instance=aws-vpc-cni.*restarts every aws-node pod/);
  });
});

describe.each(LAYER_PACKAGES.map((p) => [p]))('take over without a restart, with %s', (layerPackage) => {
  const tools = layerTools(layerPackage);
  const cli = new Cli(tools);
  const fixtures = new Fixtures(cli);
  beforeEach(async () => resetCluster(admin));

  function install(values?: HelmValues): void {
    const args = ['install', RELEASE, CHART, '--namespace', 'kube-system'];
    cli.helm(values ? [...args, '-f', valuesFile(values)] : [...args, '--set', 'originalMatchLabels=true']);
  }

  test('adopt, then helm install with the derived values: generation and pod template unchanged, the customisation kept', async () => {
    fixtures.newEksCluster();
    cli.kubectl(['set', 'env', 'daemonset/aws-node', '-n', 'kube-system', '-c', 'aws-node', 'USER_ADDED=kept']);
    cli.kubectl(['set', 'env', 'daemonset/aws-node', '-n', 'kube-system', '-c', 'aws-node', 'WARM_ENI_TARGET=2']);
    const before = await getLive(admin, DS);
    const derived = await derive();

    await run(admin, { addon: VPC_CNI, action: ADOPT });
    install(derived.values);

    const after = await getLive(admin, DS);
    expect(after!.metadata.generation).toBe(before!.metadata.generation);
    expect(after!.spec.template).toEqual(before!.spec.template);
    expect(awsNodeEnv(after)).toContain('USER_ADDED');
    const manifest = JSON.parse(cli.helm(['get', 'values', RELEASE, '-n', 'kube-system', '-o', 'json']));
    expect(manifest.image.region).toBe(EKS_REGION.region);
  });

  test('the same install without the derived values changes what runs (images back to the chart\'s defaults)', async () => {
    fixtures.newEksCluster();
    const before = await getLive(admin, DS);
    await run(admin, { addon: VPC_CNI, action: ADOPT });
    install();
    const after = await getLive(admin, DS);
    expect(after!.metadata.generation).toBeGreaterThan(before!.metadata.generation!);
    expect(after!.spec.template.spec.containers[0].image).toBe('602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.20.4');
  });
});
