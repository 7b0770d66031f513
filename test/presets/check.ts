/**
 * presets:check — a release-time check of the ClusterNetwork presets against their real charts
 * (not part of build or test). For every preset it synthesizes a stack, reads the Helm charts,
 * versions and values the construct passes, pulls each chart from its repository, renders it with
 * Helm 4 and Helm 3, and checks that it renders, that the objects the preset relies on are there,
 * and that no value the preset sets is unknown to the chart.
 *
 *   npx projen presets:check                      pull the charts from their repositories
 *   npx projen presets:check --charts-dir DIR     use DIR/<chart>-<version>.tgz instead (e.g. packaged from sources)
 *   npx projen presets:check --mirror URL=URL     pull a repository's charts from a mirror of it (repeatable)
 *
 * A repository that cannot be reached is reported as SKIPPED (exit 0): the check needs the network.
 * Exit 1 on any failed check, 2 on usage errors. See docs/presets.md.
 */
import { createHash } from 'crypto';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parseArgs } from 'util';
import { App, CfnResource, Stack, aws_ec2 as ec2, aws_eks_v2 as eksv2, aws_iam as iam } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { parseAllDocuments, parse as parseYaml } from 'yaml';
import { ClusterNetwork, ClusterNetworkSetup } from '../../src';
import { Charts, run, Unreachable } from '../support/chart-repos';
import { scratchUntilExit } from '../support/scratch';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

/** A Helm release as the construct asks the kubectl provider to install it. */
interface Release {
  readonly repository: string;
  readonly chart: string;
  /** Undefined when the construct leaves it to Helm (latest) or it is known only at deploy time. */
  readonly version?: string;
  readonly release: string;
  readonly namespace: string;
  readonly values: Record<string, any>;
}

interface KubeObject {
  readonly apiVersion: string;
  readonly kind: string;
  readonly metadata: { name: string; namespace?: string; annotations?: Record<string, string> };
  readonly [key: string]: any;
}

/** What a preset synthesizes to: its releases in install order, and whom the Cilium operator's role trusts. */
interface Synthesized {
  readonly releases: Release[];
  readonly operatorServiceAccount?: string;
}

/** A chart pulled and rendered. */
interface Rendered {
  readonly release: Release;
  readonly version: string;
  readonly sha256: string;
  readonly dir: string;
  readonly objects: KubeObject[];
}

interface Preset {
  readonly name: string;
  /** The releases in the order the construct installs them, and the IAM trust of the Cilium operator, if any. */
  readonly synth: () => Synthesized;
  /** Where a preset value goes when the chart passes a subtree on as an object's spec. */
  readonly passThrough?: (path: string[], rendered: Rendered[]) => SchemaNode | undefined;
  /** What the preset relies on in the rendered objects; one message per problem. */
  readonly expect: (rendered: Rendered[], synth: Synthesized) => string[];
}

type SchemaNode = Record<string, any>;

const PLACEHOLDER_ARN = 'arn:aws:iam::111111111111:role/presets-check-placeholder';
const ENDPOINT_HOST = '0123456789ABCDEF0123456789ABCDEF.gr7.eu-west-1.eks.amazonaws.com';

// ---------------------------------------------------------------------------------------------
// What the construct passes: synthesized, not restated.

function importedCluster(stack: Stack): eksv2.ICluster {
  return eksv2.Cluster.fromClusterAttributes(stack, 'Existing', {
    clusterName: 'presets-check',
    vpc: ec2.Vpc.fromVpcAttributes(stack, 'Vpc', { vpcId: 'vpc-0123456789abcdef0', availabilityZones: ['eu-west-1a'], privateSubnetIds: ['subnet-0a'] }),
    clusterEndpoint: `https://${ENDPOINT_HOST}`,
    openIdConnectProvider: iam.OpenIdConnectProvider.fromOpenIdConnectProviderArn(stack, 'Oidc',
      'arn:aws:iam::111111111111:oidc-provider/oidc.eks.eu-west-1.amazonaws.com/id/0123456789ABCDEF'),
    kubectlProvider: eksv2.KubectlProvider.fromKubectlProviderAttributes(stack, 'KubectlProvider', {
      serviceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:kubectl-provider',
      role: iam.Role.fromRoleArn(stack, 'KubectlRole', 'arn:aws:iam::111111111111:role/kubectl-provider'),
    }),
  });
}

/** Synthesizes the preset on an imported cluster and reads its Helm charts, CRD chart first. */
function synthesize(network: ClusterNetwork): Synthesized {
  const stack = new Stack(new App(), 'PresetsCheck', { env: { account: '111111111111', region: 'eu-west-1' } });
  const setup = new ClusterNetworkSetup(stack, 'Network', { cluster: importedCluster(stack), network });
  const template = Template.fromStack(stack);
  const charts = template.findResources('Custom::AWSCDK-EKS-HelmChart');
  const ordered = [setup.crdChart, setup.chart].filter((c): c is eksv2.HelmChart => c !== undefined).map((c) => {
    const resource = c.node.findAll().find((x): x is CfnResource => x instanceof CfnResource)!;
    return charts[stack.resolve(resource.logicalId)].Properties;
  });
  // The Helm-managed VPC CNI's version and values are read from the cluster at deploy time (docs/takeover.md, checked
  // by takeover:check): here the chart is rendered with the values the construct itself passes (the user's, merged
  // over the derived ones by the handler), at the newest version this library was checked with.
  const fromCluster = Object.values(template.findResources('Custom::VpcCniChartValues')).find((r: any) => r.Properties.Part === '0') as any;
  const releases = ordered.map((p: any): Release => ({
    repository: p.Repository,
    chart: p.Chart,
    version: typeof p.Version === 'string' ? p.Version : fromCluster ? ClusterNetwork.AWS_VPC_CNI_CHART_VERSION : undefined,
    release: p.Release,
    namespace: p.Namespace ?? 'default',
    values: fromCluster ? JSON.parse(fromCluster.Properties.UserValues) : valuesOf(p.Values),
  }));
  // The Cilium operator role's trust: the service account IAM lets assume it.
  const trust = JSON.stringify(template.findResources('Custom::AWSCDKCfnJson'));
  const operatorServiceAccount = /system:serviceaccount:kube-system:([a-z0-9.-]+)/.exec(trust)?.[1];
  return { releases, operatorServiceAccount };
}

/** Helm values from the template: a JSON string, or a join around tokens (each replaced by a placeholder). */
function valuesOf(values: unknown): Record<string, any> {
  if (values === undefined) return {};
  if (typeof values === 'string') return JSON.parse(values);
  const join = (values as any)['Fn::Join'];
  if (!join) return {};
  const text = join[1].map((part: unknown) => typeof part === 'string' ? part : PLACEHOLDER_ARN).join('');
  return JSON.parse(text);
}

// ---------------------------------------------------------------------------------------------
// The presets and what each relies on.

function find(objects: KubeObject[], kind: string, name: string, namespace?: string): KubeObject | undefined {
  return objects.find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
}

function need(problems: string[], ok: boolean, message: string): void {
  if (!ok) problems.push(message);
}

function expectCilium(rendered: Rendered[], synth: Synthesized, kubeProxyReplacement: boolean): string[] {
  const problems: string[] = [];
  const [cilium] = rendered;
  const objects = cilium.objects;
  need(problems, find(objects, 'DaemonSet', 'cilium', 'kube-system') !== undefined, 'no DaemonSet kube-system/cilium (the agent)');
  const operator = find(objects, 'Deployment', 'cilium-operator', 'kube-system');
  need(problems, operator !== undefined, 'no Deployment kube-system/cilium-operator');
  const saName = operator?.spec.template.spec.serviceAccountName;
  need(problems, saName === synth.operatorServiceAccount,
    `the operator runs as service account "${saName}", but its IAM role trusts "${synth.operatorServiceAccount}"`);
  const sa = find(objects, 'ServiceAccount', saName ?? 'cilium-operator', 'kube-system');
  need(problems, sa?.metadata.annotations?.['eks.amazonaws.com/role-arn'] === cilium.release.values.eni?.iamRole,
    'the operator\'s service account does not carry eks.amazonaws.com/role-arn = eni.iamRole');
  const images: string[] = operator?.spec.template.spec.containers.map((c: any) => c.image) ?? [];
  need(problems, images.some((image) => image.includes('/operator-aws:')), `ENI mode needs the operator-aws image; got ${images.join(', ')}`);
  const config = find(objects, 'ConfigMap', 'cilium-config', 'kube-system')?.data ?? {};
  need(problems, config.ipam === 'eni', `cilium-config ipam is "${config.ipam}", not eni`);
  need(problems, config['routing-mode'] === 'native', `cilium-config routing-mode is "${config['routing-mode']}", not native`);
  need(problems, config['egress-masquerade-interfaces'] === undefined, 'cilium-config sets egress-masquerade-interfaces');
  if (kubeProxyReplacement) {
    need(problems, config['kube-proxy-replacement'] === 'true', `cilium-config kube-proxy-replacement is "${config['kube-proxy-replacement']}"`);
    const agentEnv = JSON.stringify(find(objects, 'DaemonSet', 'cilium', 'kube-system')?.spec.template.spec);
    need(problems, agentEnv.includes(ENDPOINT_HOST), 'the agent is not given the API server host (k8sServiceHost)');
  }
  return problems;
}

/** The openAPI schema of a CRD's spec, from the rendered CRDs. */
function crdSpecSchema(rendered: Rendered[], group: string, kind: string): SchemaNode | undefined {
  for (const r of rendered) {
    const crd = r.objects.find((o) => o.kind === 'CustomResourceDefinition' && o.spec.group === group && o.spec.names.kind === kind);
    const version = crd?.spec.versions.find((v: any) => v.storage) ?? crd?.spec.versions[0];
    if (version) return version.schema.openAPIV3Schema.properties.spec;
  }
  return undefined;
}

function expectCalico(rendered: Rendered[]): string[] {
  const problems: string[] = [];
  const [crds, operatorChart] = rendered;
  need(problems, crds?.release.chart === 'crd.projectcalico.org.v1', 'the CRD chart crd.projectcalico.org.v1 is not installed first');
  if (!operatorChart) return [...problems, 'no tigera-operator chart'];
  need(problems, find(operatorChart.objects, 'Deployment', 'tigera-operator', operatorChart.release.namespace) !== undefined,
    `no Deployment ${operatorChart.release.namespace}/tigera-operator`);
  need(problems, !operatorChart.objects.some((o) => o.kind === 'CustomResourceDefinition'), 'the operator chart carries CRDs of its own');
  // Every custom resource the operator chart creates needs its CRD from the chart installed before it.
  const builtIn = /^(v1|apps\/v1|batch\/v1|rbac\.authorization\.k8s\.io\/v1|policy\/v1|admissionregistration\.k8s\.io\/v1|scheduling\.k8s\.io\/v1)$/;
  const crdKinds = new Set(crds.objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => `${o.spec.group}/${o.spec.names.kind}`));
  for (const o of operatorChart.objects.filter((x) => !builtIn.test(x.apiVersion))) {
    need(problems, crdKinds.has(`${o.apiVersion.split('/')[0]}/${o.kind}`), `${o.kind} ${o.metadata.name} (${o.apiVersion}) has no CRD in the CRD chart`);
  }
  const installation = find(operatorChart.objects, 'Installation', 'default');
  need(problems, installation !== undefined, 'no Installation default');
  const spec = installation?.spec ?? {};
  need(problems, spec.kubernetesProvider === 'EKS' && spec.cni?.type === 'Calico' && spec.calicoNetwork?.bgp === 'Disabled',
    `Installation spec is not EKS / Calico CNI / BGP disabled: ${JSON.stringify(spec)}`);
  return problems;
}

function expectAwsVpcCni(rendered: Rendered[]): string[] {
  const problems: string[] = [];
  const objects = rendered[0].objects;
  const ns = rendered[0].release.namespace;
  // The objects EKS installs and the construct adopts (src/engine/objects.ts), by the same names.
  for (const [kind, name, namespace] of [['DaemonSet', 'aws-node', ns], ['ServiceAccount', 'aws-node', ns], ['ClusterRole', 'aws-node', undefined],
    ['ClusterRoleBinding', 'aws-node', undefined], ['ConfigMap', 'amazon-vpc-cni', ns]] as const) {
    need(problems, find(objects, kind, name, namespace) !== undefined, `no ${kind} ${namespace ? namespace + '/' : ''}${name}`);
  }
  const selector = find(objects, 'DaemonSet', 'aws-node')?.spec.selector.matchLabels;
  need(problems, JSON.stringify(selector) === JSON.stringify({ 'k8s-app': 'aws-node' }),
    `the DaemonSet selector is ${JSON.stringify(selector)}, not EKS's immutable {"k8s-app":"aws-node"}`);
  return problems;
}

const PRESETS: Preset[] = [
  {
    name: 'cilium()',
    synth: () => synthesize(ClusterNetwork.cilium()),
    expect: (rendered, synth) => expectCilium(rendered, synth, false),
  },
  {
    name: 'cilium({ kubeProxyReplacement: true })',
    synth: () => synthesize(ClusterNetwork.cilium({ kubeProxyReplacement: true })),
    expect: (rendered, synth) => expectCilium(rendered, synth, true),
  },
  {
    name: 'calico()',
    synth: () => synthesize(ClusterNetwork.calico()),
    // The operator chart passes `installation` on as the Installation's spec.
    passThrough: (p, rendered) => p[0] === 'installation' ? walkSchema(crdSpecSchema(rendered, 'operator.tigera.io', 'Installation'), p.slice(1)) : undefined,
    expect: (rendered) => expectCalico(rendered),
  },
  {
    name: 'helmManagedVpcCni()',
    synth: () => synthesize(ClusterNetwork.helmManagedVpcCni()),
    expect: (rendered) => expectAwsVpcCni(rendered),
  },
];

// ---------------------------------------------------------------------------------------------
// Values the chart knows.

/** Every leaf of a values tree, as a key path (lists are leaves). */
function leafPaths(values: Record<string, any>, prefix: string[] = []): string[][] {
  return Object.entries(values).flatMap(([key, value]) => value !== null && typeof value === 'object' && !Array.isArray(value) && Object.keys(value).length > 0
    ? leafPaths(value, [...prefix, key])
    : [[...prefix, key]]);
}

/** The schema node at a path; a node that allows any property ends the walk. */
function walkSchema(schema: SchemaNode | undefined, keys: string[]): SchemaNode | undefined {
  let node = schema;
  for (const key of keys) {
    if (!node) return undefined;
    if (node['x-kubernetes-preserve-unknown-fields'] || (node.type === 'object' && !node.properties && node.additionalProperties !== false)) return node;
    node = node.properties?.[key] ?? (typeof node.additionalProperties === 'object' ? node.additionalProperties : undefined);
  }
  return node;
}

/** Whether values.yaml has the path, or a free-form map ({}) on the way to it. */
function inValuesYaml(defaults: any, keys: string[]): boolean {
  let node = defaults;
  for (const key of keys) {
    if (node === null || typeof node !== 'object' || Array.isArray(node)) return false;
    if (Object.keys(node).length === 0) return true;
    if (!(key in node)) return false;
    node = node[key];
  }
  return true;
}

function unknownValues(preset: Preset, rendered: Rendered[]): string[] {
  return rendered.flatMap((r) => {
    const defaults = parseYaml(fs.readFileSync(path.join(r.dir, 'values.yaml'), 'utf8')) ?? {};
    const schemaFile = path.join(r.dir, 'values.schema.json');
    const schema = fs.existsSync(schemaFile) ? JSON.parse(fs.readFileSync(schemaFile, 'utf8')) : undefined;
    return leafPaths(r.release.values).flatMap((keys) => {
      const node = walkSchema(schema, keys) ?? preset.passThrough?.(keys, rendered);
      if (!node && !inValuesYaml(defaults, keys)) return [`${r.release.chart}: value ${keys.join('.')} is unknown to the chart (values.yaml${schema ? ', values.schema.json' : ''})`];
      // A schema that lists the allowed values (e.g. Installation's kubernetesProvider) must list ours.
      const value = keys.reduce((v: any, k) => v?.[k], r.release.values);
      if (Array.isArray(node?.enum) && !node.enum.includes(value)) return [`${r.release.chart}: value ${keys.join('.')}=${JSON.stringify(value)} is not one of ${JSON.stringify(node.enum)}`];
      return [];
    });
  });
}

// ---------------------------------------------------------------------------------------------
// Pulling and rendering.

function render(helm: string, release: Release, tgz: string, work: string): KubeObject[] {
  const valuesFile = path.join(work, `${release.release}-values.json`);
  fs.writeFileSync(valuesFile, JSON.stringify(release.values));
  const r = run(helm, ['template', release.release, tgz, '--namespace', release.namespace, '--values', valuesFile], process.env);
  if (!r.ok) throw new Error(`helm template ${release.chart} failed: ${r.out.trim().slice(0, 2000)}`);
  return parseAllDocuments(r.out).map((d) => d.toJSON()).filter((o): o is KubeObject => o && typeof o === 'object' && typeof o.kind === 'string');
}

// ---------------------------------------------------------------------------------------------

function main(): number {
  let args;
  try {
    args = parseArgs({ options: { 'charts-dir': { type: 'string' }, 'mirror': { type: 'string', multiple: true }, 'keep': { type: 'boolean' } } }).values;
    for (const m of args.mirror ?? []) if (!/^[^=]+=[^=]+$/.test(m)) throw new Error(`--mirror ${m}: expected REPOSITORY_URL=MIRROR_URL`);
  } catch (e) {
    console.error(`presets:check: ${(e as Error).message}\nusage: presets:check [--charts-dir DIR | --mirror REPOSITORY_URL=MIRROR_URL ...] [--keep]`);
    return 2;
  }
  const mirrors = new Map((args.mirror ?? []).map((m) => m.split('=') as [string, string]));
  const chartsDir = args['charts-dir'] ? path.resolve(args['charts-dir']) : undefined;
  const tools = LAYER_PACKAGES.map((pkg) => layerTools(pkg));
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'presets-check-'));
  // The work directory may be kept (--keep); what CDK and Helm leave goes with the run.
  scratchUntilExit();
  const charts = new Charts(tools[0].helm, work, chartsDir, mirrors);
  const source = chartsDir ?? (mirrors.size > 0 ? `their repositories (mirrors: ${[...mirrors].map(([a, b]) => `${a} → ${b}`).join(', ')})` : 'their repositories');
  console.log(`presets:check: charts from ${source}; rendered with ${tools.map((t) => t.label).join(' and ')}`);
  const failures: string[] = [];
  const skipped: string[] = [];
  try {
    for (const preset of PRESETS) {
      const synth = preset.synth();
      let rendered: Rendered[];
      try {
        rendered = synth.releases.map((release) => {
          const { tgz, version } = charts.fetch(release);
          const dir = path.join(work, 'charts', `${release.chart}-${version}`);
          fs.mkdirSync(dir, { recursive: true });
          run('tar', ['-xzf', tgz, '-C', dir, '--strip-components', '1'], process.env);
          // Helm 4 first; Helm 3 must render the same chart too (the kubectl layers ship one or the other).
          const objects = render(tools[0].helm, release, tgz, work);
          for (const other of tools.slice(1)) render(other.helm, release, tgz, work);
          const sha256 = createHash('sha256').update(fs.readFileSync(tgz)).digest('hex');
          return { release, version, sha256, dir, objects };
        });
      } catch (e) {
        if (e instanceof Unreachable) {
          skipped.push(`${preset.name}: ${e.message}`);
          console.log(`SKIPPED ${preset.name}: cannot reach ${e.message}`);
          continue;
        }
        failures.push(`${preset.name}: ${(e as Error).message}`);
        console.log(`FAIL    ${preset.name}: ${(e as Error).message}`);
        continue;
      }
      const problems = [...preset.expect(rendered, synth), ...unknownValues(preset, rendered)];
      const charted = rendered.map((r) => `${r.release.chart} ${r.version} (sha256 ${r.sha256.slice(0, 12)}, ${r.objects.length} objects)`).join(' → ');
      console.log(`${problems.length === 0 ? 'OK     ' : 'FAIL   '} ${preset.name}: ${charted}`);
      for (const p of problems) console.log(`          - ${p}`);
      failures.push(...problems.map((p) => `${preset.name}: ${p}`));
    }
  } finally {
    if (args.keep) console.log(`work directory kept: ${work}`);
    else fs.rmSync(work, { recursive: true, force: true });
  }
  for (const note of charts.newer) console.log(`NOTE    ${note}`);
  if (failures.length > 0) {
    console.log(`presets:check FAILED: ${failures.length} problem(s)`);
    return 1;
  }
  if (skipped.length > 0) {
    console.log(`presets:check SKIPPED ${skipped.length} of ${PRESETS.length} preset(s): their chart repositories cannot be reached from here `
      + '(run it where they can, or give --charts-dir); nothing was checked for them');
    return 0;
  }
  console.log(`presets:check passed: ${PRESETS.length} presets`);
  return 0;
}

process.exitCode = main();
