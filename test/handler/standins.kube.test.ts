/**
 * The local stand-ins for what cannot run here: the EKS API (with the real @aws-sdk/client-eks) and the
 * EKS token authenticator (as a TokenReview webhook of a REAL kube-apiserver).
 */
import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as path from 'path';
import { DeleteAddonCommand, DescribeAddonCommand, DescribeClusterCommand, EKSClient } from '@aws-sdk/client-eks';
import { eksToken } from '../../src/handler/eks-token';
import { EksStandin } from '../support/eks-standin';
import { TokenWebhook } from '../support/token-webhook';

const ROOT = path.resolve(__dirname, '..', '..');
const CONTROLPLANE = path.join(ROOT, 'test', 'controlplane', 'controlplane.sh');
const REGION = 'us-east-1';
const CLUSTER = 'standin-cluster';
const CA_PEM = '-----BEGIN CERTIFICATE-----\nMIIBstandin\n-----END CERTIFICATE-----\n';
// Made-up credentials: nothing here reaches AWS.
const HANDLER = { accessKeyId: 'AKIDSTANDINHANDLER01', secretAccessKey: 'handler-secret-not-real' };
const IDENTITIES = {
  [HANDLER.accessKeyId]: { secretAccessKey: HANDLER.secretAccessKey, username: 'cni-ownership-handler', groups: ['cni:owners', 'cni:auditors'] },
};

interface Response {
  readonly status: number;
  readonly body: any;
}

function post(url: string, ca: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method: 'POST', ca, agent: false, headers: { 'content-type': 'application/json', ...headers } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown = text;
        try {
          parsed = JSON.parse(text);
        } catch {
          // not JSON: keep the text
        }
        resolve({ status: res.statusCode ?? 0, body: parsed });
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** Decodes a token's URL, lets `change` alter it, and encodes it again. */
function tamper(original: string, change: (url: URL) => void): string {
  const url = new URL(Buffer.from(original.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
  change(url);
  return `k8s-aws-v1.${Buffer.from(url.toString()).toString('base64url')}`;
}

interface TokenOverrides {
  readonly clusterName?: string;
  readonly accessKeyId?: string;
  readonly secretAccessKey?: string;
  readonly sessionToken?: string;
  readonly now?: Date;
}

function token(overrides: TokenOverrides = {}): Promise<string> {
  return eksToken({
    clusterName: overrides.clusterName ?? CLUSTER,
    region: REGION,
    credentials: {
      accessKeyId: overrides.accessKeyId ?? HANDLER.accessKeyId,
      secretAccessKey: overrides.secretAccessKey ?? HANDLER.secretAccessKey,
      sessionToken: overrides.sessionToken,
    },
    now: overrides.now,
  });
}

describe('EksStandin with the real EKSClient', () => {
  let standin: EksStandin;
  let eks: EKSClient;

  beforeEach(async () => {
    standin = await EksStandin.start({ clusters: { [CLUSTER]: { endpoint: 'https://127.0.0.1:6443', caPem: CA_PEM } } });
    eks = new EKSClient({ region: REGION, endpoint: standin.url, credentials: { accessKeyId: 'AKIDEKSSTANDIN000001', secretAccessKey: 'not-a-secret' } });
  });
  afterEach(async () => {
    eks.destroy();
    await standin.close();
  });

  test('DescribeCluster returns the endpoint and the CA as base64 PEM', async () => {
    const { cluster } = await eks.send(new DescribeClusterCommand({ name: CLUSTER }));
    expect(cluster?.endpoint).toBe('https://127.0.0.1:6443');
    expect(Buffer.from(cluster?.certificateAuthority?.data ?? '', 'base64').toString('utf8')).toBe(CA_PEM);
    expect(cluster?.status).toBe('ACTIVE');
    expect(cluster?.accessConfig?.authenticationMode).toBe('API_AND_CONFIG_MAP');
  });

  test('an unknown cluster is ResourceNotFoundException', async () => {
    await expect(eks.send(new DescribeClusterCommand({ name: 'nope' }))).rejects.toMatchObject({ name: 'ResourceNotFoundException', $metadata: { httpStatusCode: 404 } });
  });

  test('DescribeAddon: self-managed is ResourceNotFoundException; managed is found; DeleteAddon makes it self-managed', async () => {
    const describe = () => eks.send(new DescribeAddonCommand({ clusterName: CLUSTER, addonName: 'vpc-cni' }));
    const err = await describe().catch((e) => e);
    expect(err.name).toBe('ResourceNotFoundException');
    expect(err.message).toMatch(/No addon: vpc-cni/);

    standin.setManaged(CLUSTER, true);
    const { addon } = await describe();
    expect(addon).toMatchObject({ addonName: 'vpc-cni', clusterName: CLUSTER, status: 'ACTIVE', addonVersion: 'v1.20.4-eksbuild.1' });

    const deleted = await eks.send(new DeleteAddonCommand({ clusterName: CLUSTER, addonName: 'vpc-cni', preserve: true }));
    expect(deleted.addon?.status).toBe('DELETING');
    expect(standin.isManaged(CLUSTER)).toBe(false);
    await expect(describe()).rejects.toMatchObject({ name: 'ResourceNotFoundException' });

    expect(standin.calls.map(({ operation, clusterName, addonName, preserve }) => ({ operation, clusterName, addonName, preserve }))).toEqual([
      { operation: 'DescribeAddon', clusterName: CLUSTER, addonName: 'vpc-cni', preserve: undefined },
      { operation: 'DescribeAddon', clusterName: CLUSTER, addonName: 'vpc-cni', preserve: undefined },
      { operation: 'DeleteAddon', clusterName: CLUSTER, addonName: 'vpc-cni', preserve: true },
      { operation: 'DescribeAddon', clusterName: CLUSTER, addonName: 'vpc-cni', preserve: undefined },
    ]);
    // A boolean, so a failure does not print the header.
    expect(standin.calls.every((c) => c.authorization?.startsWith('AWS4-HMAC-SHA256 Credential=AKIDEKSSTANDIN000001/'))).toBe(true);
  });

  test('DeleteAddon records preserve=false', async () => {
    standin.setManaged(CLUSTER, true);
    await eks.send(new DeleteAddonCommand({ clusterName: CLUSTER, addonName: 'vpc-cni', preserve: false }));
    expect(standin.calls[0]).toMatchObject({ operation: 'DeleteAddon', preserve: false });
  });

  test('the SDK finds it through AWS_ENDPOINT_URL_EKS, as the handler will', async () => {
    const saved = process.env.AWS_ENDPOINT_URL_EKS;
    process.env.AWS_ENDPOINT_URL_EKS = standin.url;
    const fromEnv = new EKSClient({ region: REGION, credentials: { accessKeyId: 'AKIDEKSSTANDIN000001', secretAccessKey: 'not-a-secret' } });
    try {
      const { cluster } = await fromEnv.send(new DescribeClusterCommand({ name: CLUSTER }));
      expect(cluster?.name).toBe(CLUSTER);
      expect(standin.calls).toHaveLength(1);
    } finally {
      fromEnv.destroy();
      if (saved === undefined) delete process.env.AWS_ENDPOINT_URL_EKS;
      else process.env.AWS_ENDPOINT_URL_EKS = saved;
    }
  });
});

describe('TokenWebhook, reviewing tokens directly', () => {
  let webhook: TokenWebhook;
  let dir: string;

  beforeAll(async () => {
    fs.mkdirSync(path.join(ROOT, '.controlplane'), { recursive: true });
    dir = fs.mkdtempSync(path.join(ROOT, '.controlplane', 'token-webhook-'));
    webhook = await TokenWebhook.start({ clusterName: CLUSTER, identities: IDENTITIES, dir });
  });
  afterAll(async () => {
    await webhook?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  async function review(t: string) {
    const res = await post(webhook.url, webhook.caPem, { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: t } });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview' });
    return res.body.status;
  }

  test('writes a kubeconfig for kube-apiserver pointing at itself with its CA', () => {
    const kubeconfig = fs.readFileSync(webhook.kubeconfigPath, 'utf8');
    expect(kubeconfig).toContain(`server: ${webhook.url}/`);
    expect(kubeconfig).toContain(`certificate-authority-data: ${Buffer.from(webhook.caPem).toString('base64')}`);
  });

  test('a token for this cluster signed with known credentials is authenticated as the mapped user', async () => {
    const status = await review(await token());
    expect(status).toEqual({
      authenticated: true,
      user: { username: 'cni-ownership-handler', uid: `token-webhook:${HANDLER.accessKeyId}`, groups: ['cni:owners', 'cni:auditors'] },
    });
    expect(webhook.reviews.at(-1)).toEqual({ authenticated: true, username: 'cni-ownership-handler' });
  });

  test('a token made with session credentials (as a Lambda role has) is authenticated', async () => {
    const status = await review(await token({ sessionToken: 'IQoJb3JpZ2luX2VjEXAMPLE+/=' }));
    expect(status.authenticated).toBe(true);
  });

  test.each<[string, () => Promise<string>, RegExp]>([
    ['signed for another cluster', () => token({ clusterName: 'other-cluster' }), /signature does not match/],
    ['with an unknown access key', () => token({ accessKeyId: 'AKIDUNKNOWN000000001' }), /unknown access key id/],
    ['signed with a wrong secret', () => token({ secretAccessKey: 'wrong-secret' }), /signature does not match/],
    ['that has expired', () => token({ now: new Date(Date.now() - 20 * 60_000) }), /expired/],
    ['with an extra query parameter', async () => tamper(await token(), (u) => u.searchParams.append('X-Amz-Extra', '1')), /unexpected query parameter\(s\): X-Amz-Extra/],
    ['without the k8s-aws-v1. prefix', async () => (await token()).slice('k8s-aws-v1.'.length), /does not start with k8s-aws-v1\./],
    ['for another host', async () => tamper(await token(), (u) => { u.hostname = 'sts.us-east-1.amazonaws.com.example.org'; }), /unexpected host/],
    ['for another path', async () => tamper(await token(), (u) => { u.pathname = '/other'; }), /path must be \//],
    ['with a changed session token', async () => tamper(await token({ sessionToken: 'session-a' }), (u) => u.searchParams.set('X-Amz-Security-Token', 'session-b')), /signature does not match/],
    ['with a changed expiry', async () => tamper(await token(), (u) => u.searchParams.set('X-Amz-Expires', '900')), /signature does not match/],
  ])('rejects a token %s', async (_, make, reason) => {
    const status = await review(await make());
    expect(status.authenticated).toBe(false);
    expect(status.error).toMatch(reason);
    expect(status.user).toBeUndefined();
    expect(webhook.reviews.at(-1)).toEqual({ authenticated: false, reason: status.error });
  });

  test('answers 400 to something that is not a TokenReview', async () => {
    const res = await post(webhook.url, webhook.caPem, { kind: 'Pod' });
    expect(res.status).toBe(400);
  });
});

describe('end to end: a real kube-apiserver authenticating EKS tokens through the TokenWebhook', () => {
  let state: string;
  let webhook: TokenWebhook;
  let connection: { endpoint: string; caFile: string };

  beforeAll(async () => {
    fs.mkdirSync(path.join(ROOT, '.controlplane'), { recursive: true });
    state = fs.mkdtempSync(path.join(ROOT, '.controlplane', 'standins-'));
    webhook = await TokenWebhook.start({ clusterName: CLUSTER, identities: IDENTITIES, dir: path.join(state, 'webhook') });
    execFileSync('bash', [CONTROLPLANE, 'start', state], { env: { ...process.env, CONTROLPLANE_WEBHOOK_CONFIG: webhook.kubeconfigPath }, stdio: 'pipe' });
    connection = JSON.parse(fs.readFileSync(path.join(state, 'connection.json'), 'utf8'));
  });
  afterAll(async () => {
    if (state) {
      execFileSync('bash', [CONTROLPLANE, 'stop', state], { stdio: 'pipe' });
      fs.rmSync(state, { recursive: true, force: true });
    }
    await webhook?.close();
  });

  function whoAmI(t: string): Promise<Response> {
    const url = `${connection.endpoint}/apis/authentication.k8s.io/v1/selfsubjectreviews`;
    return post(url, fs.readFileSync(connection.caFile, 'utf8'), { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, { authorization: `Bearer ${t}` });
  }

  test('a token for this cluster is the mapped user, with its groups', async () => {
    const res = await whoAmI(await token());
    expect(res.status).toBe(201);
    expect(res.body.status.userInfo).toMatchObject({
      username: 'cni-ownership-handler',
      groups: ['cni:owners', 'cni:auditors', 'system:authenticated'],
    });
    expect(webhook.reviews).toContainEqual({ authenticated: true, username: 'cni-ownership-handler' });
  });

  test('a token for another cluster is 401', async () => {
    const res = await whoAmI(await token({ clusterName: 'other-cluster' }));
    expect(res.status).toBe(401);
    expect(webhook.reviews.at(-1)?.reason).toMatch(/signature does not match/);
  });
});
