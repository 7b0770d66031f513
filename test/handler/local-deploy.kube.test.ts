/**
 * A local deploy: the BUNDLED handler asset the construct ships runs in a fresh Node process with
 * CloudFormation Create, Update and Delete events. Its EKS client talks to the EKS stand-in, which
 * returns a real local kube-apiserver; that API server authenticates the handler's EKS token
 * through our token webhook as the user and group the construct maps the handler role to, and
 * authorizes it with ONLY the RBAC the construct synthesizes.
 */
import { execFileSync, spawn } from 'child_process';
import * as fs from 'fs';
import * as path from 'path';
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { App, Stack, aws_eks as eks } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { ClusterTarget, CniAction, OwnedByOthers, VpcCniOwnership, VpcCniOwnershipProps } from '../../src';
import { VPC_CNI } from '../../src/addons';
import { ACCESS_CHECK_RESOURCE_TYPE } from '../../src/contract';
import { KubeClient } from '../../src/engine';
import { Cli, CHART, connection, DS, Fixtures, getLive, RELEASE, resetCluster, snapshot, waitUntil } from '../support/cluster';
import { constructAccess, identityAt } from '../support/construct-access';
import { EksStandin } from '../support/eks-standin';
import { TokenWebhook } from '../support/token-webhook';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const ROOT = path.resolve(__dirname, '..', '..');
const CONTROLPLANE = path.join(ROOT, 'test', 'controlplane', 'controlplane.sh');
const CLUSTER = 'local-cluster';
const REGION = 'eu-west-1';
// Made-up credentials of the handler's role: nothing here reaches AWS.
const CREDENTIALS = { accessKeyId: 'AKIDLOCALDEPLOY00001', secretAccessKey: 'local-deploy-secret-not-real' };
const INSTALL = ['install', RELEASE, CHART, '--namespace', 'kube-system', '--set', 'originalMatchLabels=true'];

interface Synthesized {
  /** The handler's asset directory in the cloud assembly: what `cdk deploy` would upload. */
  readonly assetDir: string;
  /** The custom resource's properties, with the cluster name the stand-in knows. */
  readonly properties: Record<string, string>;
  /** The admission policies and the probe the construct applies first, through the cluster's kubectl provider. */
  readonly limits: any[];
  /** The access check's properties (cluster name as the stand-in knows it). */
  readonly check: Record<string, string>;
  /** The roles and bindings it applies once the check has seen the policies in force. */
  readonly grants: any[];
}

/** The construct's own Kubernetes identity (stack LocalDeploy, construct Cni), what its access entry maps the handler role to. */
const IDENTITY = identityAt('LocalDeploy', 'LocalDeploy/Cni');

/** Synthesizes a stack with the construct on an aws-eks cluster (API mode) and reads what it ships. */
function synthesize(props: Omit<VpcCniOwnershipProps, 'cluster'>): Synthesized {
  const app = new App({ context: { 'aws:cdk:enable-asset-metadata': true } });
  const stack = new Stack(app, 'LocalDeploy', { env: { account: '111111111111', region: REGION } });
  const cluster = new eks.Cluster(stack, 'Cluster', {
    version: eks.KubernetesVersion.V1_33,
    kubectlLayer: new KubectlV33Layer(stack, 'Kubectl'),
    defaultCapacity: 0,
    authenticationMode: eks.AuthenticationMode.API,
  });
  new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(cluster), ...props });
  const assembly = app.synth();
  const template = Template.fromStack(stack);
  const fn = Object.values(template.findResources('AWS::Lambda::Function'))
    .find((r: any) => String(r.Properties.Description).startsWith('cdk-vpc-cni-ownership')) as any;
  const assetDir = path.join(assembly.directory, fn.Metadata['aws:asset:path']);
  const cr = Object.values(template.findResources('Custom::VpcCniOwnership'))[0] as any;
  template.hasResourceProperties('AWS::EKS::AccessEntry', { Username: IDENTITY.username, KubernetesGroups: [IDENTITY.group] });
  const access = constructAccess(template);
  const { ServiceToken, ...rest } = cr.Properties;
  const { ServiceToken: _checkToken, ...checkRest } = access.check!.properties;
  return {
    assetDir,
    properties: { ...rest, ClusterName: CLUSTER },
    limits: access.limits,
    check: { ...checkRest, ClusterName: CLUSTER },
    grants: access.grants,
  };
}

interface HandlerRun {
  readonly response?: { PhysicalResourceId: string; Data: Record<string, string> };
  readonly error?: string;
  /** What the handler logged (stdout): one JSON object a line. */
  readonly logLines: string[];
  /** What Node itself printed (warnings). */
  readonly stderrLines: string[];
}

describe('local deploy of the bundled handler', () => {
  let state: string;
  let webhook: TokenWebhook;
  let standin: EksStandin;
  let admin: KubeClient;
  let cli: Cli;
  let fixtures: Fixtures;
  const runs: HandlerRun[] = [];

  beforeAll(async () => {
    fs.mkdirSync(path.join(ROOT, '.controlplane'), { recursive: true });
    state = fs.mkdtempSync(path.join(ROOT, '.controlplane', 'local-deploy-'));
    webhook = await TokenWebhook.start({
      clusterName: CLUSTER,
      // What the construct's access entry does on EKS: the handler role becomes this user and group.
      identities: {
        [CREDENTIALS.accessKeyId]: { secretAccessKey: CREDENTIALS.secretAccessKey, username: IDENTITY.username, groups: [IDENTITY.group] },
      },
      dir: path.join(state, 'webhook'),
    });
    execFileSync('bash', [CONTROLPLANE, 'start', state], { env: { ...process.env, CONTROLPLANE_WEBHOOK_CONFIG: webhook.kubeconfigPath }, stdio: 'pipe' });
    const files = JSON.parse(fs.readFileSync(path.join(state, 'connection.json'), 'utf8'));
    standin = await EksStandin.start({ clusters: { [CLUSTER]: { endpoint: files.endpoint, caPem: fs.readFileSync(files.caFile, 'utf8') } } });
    admin = new KubeClient(connection('token', state));
    cli = new Cli(layerTools(LAYER_PACKAGES[0]), state);
    fixtures = new Fixtures(cli);
  });

  afterAll(async () => {
    admin?.close();
    await standin?.close();
    if (state) {
      execFileSync('bash', [CONTROLPLANE, 'stop', state], { stdio: 'pipe' });
      fs.rmSync(state, { recursive: true, force: true });
    }
    await webhook?.close();
  });

  beforeEach(async () => {
    await resetCluster(admin);
    standin.setManaged(CLUSTER, false);
  });

  /**
   * Applies the construct's access as CloudFormation would: as admin, the manifest of the admission
   * policies and the probe; then the bundled handler's access check, which returns only once they
   * refuse a forbidden write of the handler's own; then, as admin, the roles and bindings. After
   * `previous`, as CloudFormation's Update with prune does: objects only the previous manifests had are deleted.
   */
  async function applyConstructRbac(synth: Synthesized, previous?: Synthesized) {
    const docs = (manifest: any[]) => manifest.map((m) => JSON.stringify(m)).join('\n---\n');
    const key = (m: any) => `${m.kind}/${m.metadata.namespace ?? ''}/${m.metadata.name}`;
    const prune = (now: any[], before: any[] = []) => {
      const gone = before.filter((m) => !now.some((n) => key(n) === key(m)));
      if (gone.length > 0) cli.kubectl(['delete', '--ignore-not-found', '-f', '-'], docs(gone));
    };
    cli.kubectl(['apply', '-f', '-'], docs(synth.limits));
    prune(synth.limits, previous?.limits);
    const checked = await invoke(synth, { RequestType: previous ? 'Update' : 'Create', ResourceType: ACCESS_CHECK_RESOURCE_TYPE, ResourceProperties: synth.check });
    expect(checked.error).toBeUndefined();
    cli.kubectl(['apply', '-f', '-'], docs(synth.grants));
    prune(synth.grants, previous?.grants);
    // RBAC takes effect through an informer too (CloudFormation takes seconds to start the next resource).
    const role = synth.grants.find((m) => m.kind === 'ClusterRole').metadata.name;
    await waitUntil(`the ${role} bindings`, async () => {
      try {
        return cli.kubectl(['auth', 'can-i', 'get', 'daemonset/aws-node', '-n', 'kube-system', '--as', IDENTITY.username, '--as-group', IDENTITY.group]).trim() === 'yes';
      } catch {
        return false; // "no" exits 1
      }
    });
  }

  /** Runs the asset's handler in a fresh Node process, as Lambda would, with only the environment Lambda gives it. */
  function invoke(synth: Synthesized, event: Record<string, unknown>): Promise<HandlerRun> {
    const runner = `
      const { handler } = require(${JSON.stringify(path.join(synth.assetDir, 'index.js'))});
      const context = { awsRequestId: 'local-deploy', getRemainingTimeInMillis: () => 120000 };
      handler(JSON.parse(process.env.TEST_EVENT), context).then(
        (r) => process.stdout.write('\\nRESULT ' + JSON.stringify(r) + '\\n'),
        (e) => { process.stdout.write('\\nERROR ' + JSON.stringify(e && e.message || String(e)) + '\\n'); process.exitCode = 1; });`;
    const env = {
      PATH: process.env.PATH,
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_ENDPOINT_URL_EKS: standin.url,
      AWS_EC2_METADATA_DISABLED: 'true',
      TEST_EVENT: JSON.stringify({
        ServiceToken: 'arn:aws:lambda:eu-west-1:111111111111:function:provider',
        ResponseURL: 'https://example.invalid/response',
        StackId: 'arn:aws:cloudformation:eu-west-1:111111111111:stack/LocalDeploy/1',
        RequestId: 'request-1',
        LogicalResourceId: 'CniResource',
        ResourceType: 'Custom::VpcCniOwnership',
        ...event,
      }),
    };
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['-e', runner], { cwd: synth.assetDir, env });
      let out = '';
      let err = '';
      child.stdout.on('data', (c) => (out += c));
      child.stderr.on('data', (c) => (err += c));
      child.on('error', reject);
      child.on('close', () => {
        const lines = out.split('\n').filter((l) => l.trim());
        const result = lines.find((l) => l.startsWith('RESULT '));
        const error = lines.find((l) => l.startsWith('ERROR '));
        const run: HandlerRun = {
          response: result ? JSON.parse(result.slice(7)) : undefined,
          error: error ? JSON.parse(error.slice(6)) : (result ? undefined : `no result; stderr: ${err}`),
          logLines: lines.filter((l) => !l.startsWith('RESULT ') && !l.startsWith('ERROR ')),
          stderrLines: err.split('\n').filter((l) => l.trim()),
        };
        runs.push(run);
        resolve(run);
      });
    });
  }

  const create = (synth: Synthesized) => invoke(synth, { RequestType: 'Create', ResourceProperties: synth.properties });
  const update = (synth: Synthesized, old: Synthesized) => invoke(synth, {
    RequestType: 'Update', PhysicalResourceId: `${CLUSTER}/vpc-cni-ownership`, ResourceProperties: synth.properties, OldResourceProperties: old.properties,
  });
  const del = (synth: Synthesized) => invoke(synth, { RequestType: 'Delete', PhysicalResourceId: `${CLUSTER}/vpc-cni-ownership`, ResourceProperties: synth.properties });

  test('adopt: Create adopts with only the construct\'s RBAC, helm install then succeeds, Delete changes nothing', async () => {
    const synth = synthesize({ action: CniAction.adoptIntoHelm() });
    fixtures.newEksCluster();
    await applyConstructRbac(synth);

    const created = await create(synth);
    expect(created.error).toBeUndefined();
    expect(created.response!.PhysicalResourceId).toBe(`${CLUSTER}/vpc-cni-ownership`);
    expect(created.response!.Data.PreviousOwner).toBe('EKS_BOOTSTRAP');
    expect(created.response!.Data.ChangedObjects.split(',')).toHaveLength(7);
    expect(JSON.parse(created.response!.Data.Plan).writes[0]).toMatch(/^PATCH DaemonSet\/kube-system\/aws-node: adopt into Helm release/);
    expect(webhook.reviews.at(-1)).toMatchObject({ authenticated: true, username: IDENTITY.username });
    expect(standin.calls.map((c) => c.operation)).toEqual(expect.arrayContaining(['DescribeCluster', 'DescribeAddon']));
    // It saw its policies in force before its first write.
    const steps = created.logLines.map((l) => JSON.parse(l));
    const inForce = steps.findIndex((e) => e.step === 'policies' && e.inForce === true);
    expect(inForce).toBeGreaterThanOrEqual(0);
    expect(inForce).toBeLessThan(steps.findIndex((e) => e.step === 'write'));

    cli.helm(INSTALL);
    const before = await snapshot(admin);
    const deleted = await del(synth);
    expect(deleted.error).toBeUndefined();
    expect(await snapshot(admin)).toEqual(before);
  });

  test('disable, then Update to remove: everything is removed, the DaemonSet without being restored first', async () => {
    const disable = synthesize({ action: CniAction.disable() });
    const remove = synthesize({ action: CniAction.remove() });
    fixtures.newEksCluster();
    await applyConstructRbac(disable);

    expect((await create(disable)).error).toBeUndefined();
    expect((await getLive(admin, DS))!.spec.template.spec.nodeSelector).toEqual({ 'cdk-vpc-cni-ownership/disabled': 'true' });
    // CloudFormation updates the access manifest first (the custom resource depends on it).
    await applyConstructRbac(remove, disable);
    const updated = await update(remove, disable);
    expect(updated.error).toBeUndefined();
    expect(updated.response!.Data.PreviousOwner).toBe('EKS_BOOTSTRAP');
    expect(await getLive(admin, DS)).toBeUndefined();
    // Deleted as it was: restoring first would start aws-node on every node seconds before it goes.
    expect(updated.logLines.some((l) => JSON.parse(l).step === 'write' && JSON.parse(l).reason.startsWith('restore'))).toBe(false);
  });

  test('disable, then stack delete: the DaemonSet spec is exactly what it was', async () => {
    const synth = synthesize({ action: CniAction.disable() });
    fixtures.newEksCluster();
    await applyConstructRbac(synth);
    const before = await getLive(admin, DS);
    expect((await create(synth)).error).toBeUndefined();
    expect((await del(synth)).error).toBeUndefined();
    expect((await getLive(admin, DS))!.spec).toEqual(before!.spec);
  });

  test('a user\'s Helm release: Create fails before any write, with the owner and the options in the message', async () => {
    const synth = synthesize({ action: CniAction.remove() });
    fixtures.userHelmRelease('users-cni');
    await applyConstructRbac(synth);
    const before = await snapshot(admin);
    const created = await create(synth);
    expect(created.error).toMatch(/Refusing to remove the VPC CNI: it is owned by Helm release "users-cni" in namespace "kube-system" \(as its annotations say.*\)\. Nothing was changed\..*TAKE_OVER/);
    expect(await snapshot(admin)).toEqual(before);
  });

  test('an EKS managed add-on: refused by default; TAKE_OVER deletes the add-on (preserving its objects) and adopts', async () => {
    const synth = synthesize({ action: CniAction.adoptIntoHelm() });
    const takeOver = synthesize({ action: CniAction.adoptIntoHelm(), ifOwnedByOthers: OwnedByOthers.TAKE_OVER });
    fixtures.newEksCluster();
    await applyConstructRbac(synth);
    standin.setManaged(CLUSTER, true);

    const refused = await create(synth);
    expect(refused.error).toMatch(/EKS managed add-on "vpc-cni"/);
    expect(standin.calls.filter((c) => c.operation === 'DeleteAddon')).toEqual([]);

    const taken = await create(takeOver);
    expect(taken.error).toBeUndefined();
    expect(standin.calls.filter((c) => c.operation === 'DeleteAddon')).toEqual([expect.objectContaining({ clusterName: CLUSTER, addonName: 'vpc-cni', preserve: true })]);
    expect(taken.response!.Data.ChangedObjects).toContain(DS);
    cli.helm(INSTALL);
  });

  test('fail closed: with the admission policies gone, the handler refuses to write, says why, and changes nothing', async () => {
    const synth = synthesize({ action: CniAction.disable() });
    fixtures.newEksCluster();
    await applyConstructRbac(synth);
    cli.kubectl(['delete', '-f', '-'], synth.limits.filter((m) => m.kind.startsWith('ValidatingAdmissionPolicy')).map((m) => JSON.stringify(m)).join('\n---\n'));
    // Until the API server stops enforcing them (an informer), the probe is still refused: wait for the window under test.
    const probe = ['patch', 'configmap', synth.check.ProbeName, '-n', 'kube-system', '--type', 'merge', '-p', '{"metadata":{"labels":{"x":"y"}}}',
      '--dry-run=server', '--as', IDENTITY.username, '--as-group', IDENTITY.group];
    await waitUntil('the policies no longer enforced', async () => {
      try {
        cli.kubectl(probe);
        return true;
      } catch {
        return false;
      }
    });
    const before = await snapshot(admin);
    const created = await create(synth);
    expect(created.error).toMatch(/PolicyNotInForceError: The admission policies that limit the handler were not seen in force .*ACCEPTED.*Nothing was changed/);
    expect(await snapshot(admin)).toEqual(before);
  }, 60_000);

  test('dry-run: the Plan attribute lists the writes; nothing is written', async () => {
    const synth = synthesize({ action: CniAction.remove(), dryRun: true });
    fixtures.newEksCluster();
    await applyConstructRbac(synth);
    const before = await snapshot(admin);
    const created = await create(synth);
    expect(created.error).toBeUndefined();
    // The recovery copy first, then the deletes; the PolicyEndpoint CRD is only deleted when asked for.
    const writes: string[] = JSON.parse(created.response!.Data.Plan).writes;
    expect(writes.map((w) => w.split(':')[0])).toEqual([
      'APPLY ConfigMap/kube-system/cdk-vpc-cni-ownership-recovery-vpc-cni',
      ...VPC_CNI.objects.filter((o) => !o.crd?.keptUnlessAsked).map((o) => `DELETE ${o.id}`),
    ]);
    expect(created.response!.Data.ChangedObjects).toBe('');
    expect(await snapshot(admin)).toEqual(before);
  });

  test('Delete of a disable whose cluster no longer exists succeeds', async () => {
    const synth = synthesize({ action: CniAction.disable() });
    const gone = { ...synth, properties: { ...synth.properties, ClusterName: 'deleted-cluster' } };
    const deleted = await invoke(gone, { RequestType: 'Delete', PhysicalResourceId: 'deleted-cluster/vpc-cni-ownership', ResourceProperties: gone.properties });
    expect(deleted.error).toBeUndefined();
  });

  test('every log line of every run is one JSON object, and none carries the token or the secret', () => {
    expect(runs.length).toBeGreaterThan(5);
    for (const line of runs.flatMap((r) => r.logLines)) expect(JSON.parse(line)).toMatchObject({ requestId: 'local-deploy', step: expect.any(String) });
    for (const line of runs.flatMap((r) => [...r.logLines, ...r.stderrLines])) {
      expect(line).not.toContain('k8s-aws-v1.');
      expect(line).not.toContain(CREDENTIALS.secretAccessKey);
      expect(line).not.toContain('X-Amz-Signature');
    }
    for (const r of runs) expect(JSON.stringify(r.response ?? {})).not.toContain('k8s-aws-v1.');
  });
});
