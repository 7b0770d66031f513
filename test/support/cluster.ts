import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { KubeTools } from './tools';
import { ADDONS, VPC_CNI } from '../../src/addons';
import { AddonDefinition, AddonObject, KubeClient, KubeConnection, KubeObject, objectPath, recoveryCopyObject, resourcePath } from '../../src/engine';

export const CHART = path.resolve(__dirname, '..', 'fixtures', 'chart', 'aws-vpc-cni');
/** Our own chart that renders kube-proxy with the names and shapes EKS installs it with. */
export const KUBE_PROXY_CHART = path.resolve(__dirname, '..', 'fixtures', 'chart', 'kube-proxy');
export const RELEASE = 'aws-vpc-cni';

interface ControlPlaneFiles {
  readonly endpoint: string;
  readonly caFile: string;
  readonly token: string;
  readonly clientCertFile: string;
  readonly clientKeyFile: string;
  readonly kubeconfig: string;
}

/** The shared control plane of the jest run, or a dedicated one started in `state`. */
function controlPlaneFiles(state = process.env.CNI_TEST_CONTROLPLANE): ControlPlaneFiles {
  if (!state) throw new Error('CNI_TEST_CONTROLPLANE is not set: run the tests through jest (test/controlplane/global-setup.ts)');
  return JSON.parse(fs.readFileSync(path.join(state, 'connection.json'), 'utf8'));
}

/** The local control plane, as the engine sees it: with the admin bearer token, or the admin client certificate. */
export function connection(auth: 'token' | 'certificate' = 'token', state?: string): KubeConnection & { readonly caData: string } {
  const files = controlPlaneFiles(state);
  const caData = fs.readFileSync(files.caFile, 'utf8');
  return auth === 'token'
    ? { endpoint: files.endpoint, caData, token: files.token }
    : { endpoint: files.endpoint, caData, clientCertData: fs.readFileSync(files.clientCertFile, 'utf8'), clientKeyData: fs.readFileSync(files.clientKeyFile, 'utf8') };
}

/** Runs the real kubectl and helm against the local control plane. */
export class Cli {
  private readonly env: NodeJS.ProcessEnv;

  constructor(readonly tools: KubeTools, state?: string) {
    const helmHome = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-helm-'));
    this.env = {
      PATH: process.env.PATH,
      HOME: helmHome,
      KUBECONFIG: controlPlaneFiles(state).kubeconfig,
      HELM_CACHE_HOME: path.join(helmHome, 'cache'),
      HELM_CONFIG_HOME: path.join(helmHome, 'config'),
      HELM_DATA_HOME: path.join(helmHome, 'data'),
    };
  }

  kubectl(args: string[], input?: string): string {
    return this.exec(this.tools.kubectl, args, input);
  }

  /** Runs helm; `env` adds variables (e.g. HELM_DRIVER=configmap). */
  helm(args: string[], env: NodeJS.ProcessEnv = {}): string {
    return this.exec(this.tools.helm, args, undefined, env);
  }

  /** Runs a command expected to fail; returns its combined output. */
  failing(binary: 'kubectl' | 'helm', args: string[]): string {
    try {
      this.exec(this.tools[binary], args);
    } catch (e: any) {
      return `${e.stdout ?? ''}${e.stderr ?? ''}`;
    }
    throw new Error(`${binary} ${args.join(' ')} succeeded, but it was expected to fail`);
  }

  /** `helm template` of the test chart, the way EKS renders the aws-vpc-cni chart. */
  render(...extra: string[]): string {
    return this.helm(['template', RELEASE, CHART, '--include-crds', '--namespace', VPC_CNI.namespace, '--set', 'originalMatchLabels=true', ...extra]);
  }

  private exec(binary: string, args: string[], input?: string, env: NodeJS.ProcessEnv = {}): string {
    return execFileSync(binary, args, { env: { ...this.env, ...env }, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  }
}

/** Deletes every VPC CNI object and Helm release record, and waits until the CRDs are really gone. */
/**
 * Every object of the given add-ons (default: all three), their recovery copies and Helm's release
 * records gone, so that each test file and history starts from an empty cluster whatever ran before.
 */
export async function resetCluster(client: KubeClient, addons: readonly AddonDefinition[] = ADDONS): Promise<void> {
  // Helm's release records, in either storage driver.
  for (const records of ['secrets', 'configmaps']) {
    await client.request('DELETE', resourcePath('v1', records, 'kube-system'), { query: { labelSelector: 'owner=helm' } });
  }
  const objects = addons.flatMap((a) => a.objects);
  // Custom resources first: then nothing is left for a CRD's finalizer to clean up.
  for (const o of objects.filter((x) => x.crd)) {
    const crd = await client.get(objectPath(o));
    if (!crd || crd.metadata.deletionTimestamp) continue;
    const version = `${o.crd!.group}/${o.crd!.version}`;
    await client.request('DELETE', resourcePath(version, o.crd!.plural)).catch(() => undefined);
  }
  // The recovery copy an earlier removal kept: a new history has none.
  for (const a of addons) await client.delete(objectPath(recoveryCopyObject(a)));
  for (const o of objects) await client.delete(objectPath(o), { propagationPolicy: 'Background', gracePeriodSeconds: 0 });
  for (const o of objects) {
    try {
      await waitUntil(`${o.id} deleted`, async () => !(await client.get(objectPath(o))), o.crd ? 5_000 : 30_000);
    } catch (e) {
      if (!o.crd) throw e;
      // Right after a CRD update, the API server's CRD finalizer can wait minutes for the custom
      // resource storage to re-initialize. Its custom resources are gone (above), so it has nothing
      // left to do: drop the finalizer.
      await client.patch(objectPath(o), { metadata: { finalizers: null } }, 'test-reset');
      await waitUntil(`${o.id} deleted`, async () => !(await client.get(objectPath(o))));
    }
  }
}

export async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export function find(id: string): AddonObject {
  const o = VPC_CNI.objects.find((x) => x.id === id);
  if (!o) throw new Error(`no VPC CNI object ${id}`);
  return o;
}

export async function getLive(client: KubeClient, id: string): Promise<KubeObject | undefined> {
  return client.get<KubeObject>(objectPath(find(id)));
}

/** Everything about every VPC CNI object, to compare before/after a run that must not write. */
export async function snapshot(client: KubeClient): Promise<Record<string, KubeObject | undefined>> {
  const out: Record<string, KubeObject | undefined> = {};
  for (const o of VPC_CNI.objects) out[o.id] = await client.get<KubeObject>(objectPath(o));
  return out;
}

export const DS = 'DaemonSet/kube-system/aws-node';

export function awsNodeEnv(ds: KubeObject | undefined): string[] {
  const container = ds?.spec.template.spec.containers.find((c: any) => c.name === 'aws-node');
  return (container?.env ?? []).map((e: any) => e.name);
}

/** Where EKS renders the chart: the region's own registry, and `-eksbuild` tags for all three images. */
export interface EksRegion {
  readonly region: string;
  /** ECR account of the region's EKS images (most regions: 602401143452). */
  readonly account: string;
  readonly domain: string;
  readonly awsNodeTag: string;
  readonly agentTag: string;
}

/** A region whose images differ from the chart's defaults (us-west-2) in region and tags only. */
export const EKS_REGION: EksRegion = {
  region: 'eu-west-3', account: '602401143452', domain: 'amazonaws.com', awsNodeTag: 'v1.20.4-eksbuild.1', agentTag: 'v1.2.1-eksbuild.1',
};

/** The `--set` arguments that render the chart the way EKS does in `region`. */
export function eksRenderArgs(r: EksRegion = EKS_REGION): string[] {
  const image = (value: string, tag: string) => [
    `${value}.region=${r.region}`, `${value}.account=${r.account}`, `${value}.domain=${r.domain}`, `${value}.tag=${tag}`,
  ];
  return ['--set-string', [
    ...image('image', r.awsNodeTag), ...image('init.image', r.awsNodeTag), ...image('nodeAgent.image', r.agentTag),
  ].join(',')];
}

/** The starting points the engine must handle, each made the way it happens on a real cluster. */
export class Fixtures {
  constructor(private readonly cli: Cli) {}

  /**
   * What EKS does at cluster creation: helm template | kubectl apply --server-side --force-conflicts --field-manager eks,
   * with the region's images (EKS_REGION unless given); `extra` are more helm template arguments.
   */
  newEksCluster(...extra: string[]): void {
    this.eksClusterIn(EKS_REGION, ...extra);
  }

  eksClusterIn(region: EksRegion, ...extra: string[]): void {
    this.cli.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', 'eks', '-f', '-'],
      this.cli.render(...eksRenderArgs(region), ...extra));
  }

  /** An administrator's real Helm release of the chart; `driver` is Helm's storage (HELM_DRIVER: secret or configmap). */
  userHelmRelease(release = RELEASE, driver: 'secret' | 'configmap' = 'secret'): void {
    this.cli.helm(['install', release, CHART, '--namespace', VPC_CNI.namespace, '--set', 'originalMatchLabels=true'], { HELM_DRIVER: driver });
  }

  /** A GitOps tool applies the same manifests server-side after the bootstrap, with its own tracking annotation. */
  serverSideApplyAs(manager: string): void {
    const rendered = this.cli.render(...eksRenderArgs());
    const tracked = this.cli.kubectl(['annotate', '--local', '-f', '-', '-o', 'yaml', `gitops.example.com/tracked-by=${manager}`], rendered);
    this.cli.kubectl(['apply', '--server-side', '--force-conflicts', '--field-manager', manager, '-f', '-'], tracked);
  }

  /**
   * Since chart 1.22.4 the PolicyEndpoint CRD is not the chart's: the EKS control plane's network policy
   * controller creates and owns it (field manager "controller"), with PolicyEndpoints when `endpoints`.
   */
  policyEndpointCrdOfController(endpoints = 0): void {
    const crd = 'customresourcedefinition/policyendpoints.networking.k8s.aws';
    const source = this.cli.helm(['show', 'crds', CHART]).split(/^---$/m).find((doc) => doc.includes('name: policyendpoints.networking.k8s.aws'))!;
    this.cli.kubectl(['delete', '--ignore-not-found', crd]);
    this.cli.kubectl(['create', '--field-manager', 'controller', '-f', '-'], source);
    this.cli.kubectl(['wait', '--for=condition=Established', crd, '--timeout=30s']);
    for (let i = 0; i < endpoints; i++) {
      this.cli.kubectl(['create', '--field-manager', 'controller', '-f', '-'], JSON.stringify({
        apiVersion: 'networking.k8s.aws/v1alpha1',
        kind: 'PolicyEndpoint',
        metadata: { name: `web-${i}`, namespace: 'default' },
        spec: { policyRef: { name: 'web', namespace: 'default' } },
      }));
    }
  }

  /** kube-proxy as EKS renders it; `extra` are more helm template arguments (`--set windows=true`). */
  renderKubeProxy(...extra: string[]): string {
    return this.cli.helm(['template', 'kube-proxy', KUBE_PROXY_CHART, '--namespace', 'kube-system', ...extra]);
  }

  /** kube-proxy applied server-side as "eks" (one of the ways EKS may install it: docs/ownership.md). */
  eksKubeProxy(...extra: string[]): void {
    this.cli.kubectl(['apply', '--server-side', '--field-manager', 'eks', '-f', '-'], this.renderKubeProxy(...extra));
  }

  /** EKS Auto Mode: no aws-node, but the CRDs are there. */
  autoModeCrdsOnly(): void {
    this.cli.kubectl(['apply', '--server-side', '--field-manager', 'eks', '-f', '-'], this.cli.helm(['show', 'crds', CHART]));
  }

  /** Clusters from before 2024: the manifest applied client-side with kubectl. */
  kubectlClientSide(): void {
    this.cli.kubectl(['apply', '-f', '-'], this.cli.render());
  }

  /** A user added an env var: a second field manager (kubectl-set) owns one field of the DaemonSet. */
  userSetEnv(name: string, value: string): void {
    this.cli.kubectl(['set', 'env', 'daemonset/aws-node', '-n', VPC_CNI.namespace, '-c', 'aws-node', `${name}=${value}`]);
  }

  /** Someone deleted part of it by hand. */
  partlyRemoved(): void {
    this.newEksCluster();
    this.cli.kubectl(['delete', '-n', VPC_CNI.namespace, 'daemonset/aws-node', 'configmap/amazon-vpc-cni']);
  }

  /** ENIConfigs for custom networking: deleting the CRD would delete them. */
  eniConfigs(...names: string[]): void {
    const docs = names.map((name) => JSON.stringify({
      apiVersion: 'crd.k8s.amazonaws.com/v1alpha1',
      kind: 'ENIConfig',
      metadata: { name },
      spec: { subnet: `subnet-${name}`, securityGroups: ['sg-0123456789abcdef0'] },
    }));
    this.cli.kubectl(['wait', '--for=condition=Established', 'crd/eniconfigs.crd.k8s.amazonaws.com', '--timeout=30s']);
    this.cli.kubectl(['apply', '-f', '-'], docs.join('\n---\n'));
  }
}

/** Fixture: already adopted into a Helm release whose chart is not installed yet, made without the engine. */
export function adoptedWithoutEngine(cli: Cli, release = RELEASE): void {
  const manifests = cli.helm(['template', release, CHART, '--namespace', VPC_CNI.namespace, '--set', 'originalMatchLabels=true']);
  const annotated = cli.kubectl(['annotate', '--local', '-f', '-', '-o', 'yaml',
    `meta.helm.sh/release-name=${release}`, `meta.helm.sh/release-namespace=${VPC_CNI.namespace}`], manifests);
  cli.kubectl(['apply', '--server-side', '--field-manager', 'helm', '-f', '-'], annotated);
  cli.kubectl(['apply', '--server-side', '--field-manager', 'helm', '-f', '-'], cli.helm(['show', 'crds', CHART]));
}
