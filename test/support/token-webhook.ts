import { execFileSync } from 'child_process';
import { timingSafeEqual } from 'crypto';
import * as fs from 'fs';
import * as https from 'https';
import { AddressInfo } from 'net';
import * as path from 'path';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';

export interface WebhookIdentity {
  readonly secretAccessKey: string;
  readonly username: string;
  readonly groups: string[];
}

export interface TokenWebhookOptions {
  /** The cluster name the token must be signed for (header x-k8s-aws-id). */
  readonly clusterName: string;
  /** Known credentials, by access key id, and the Kubernetes user each maps to. */
  readonly identities: Record<string, WebhookIdentity>;
  /** Where to write the webhook's certificate, key and kubeconfig. */
  readonly dir: string;
}

export interface ReviewRecord {
  readonly authenticated: boolean;
  readonly reason?: string;
  readonly username?: string;
}

const PREFIX = 'k8s-aws-v1.';
const REQUIRED_PARAMS = ['Action', 'Version', 'X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];
const OPTIONAL_PARAMS = ['X-Amz-Security-Token'];
const MAX_AGE_MS = 15 * 60_000;
// A token dated in the future would stay valid for longer than intended; allow a little clock skew only.
const MAX_SKEW_MS = 5 * 60_000;
// kube-apiserver sends v1beta1 unless started with --authentication-token-webhook-version v1; both have the same shape.
const API_VERSIONS = ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'];

class Rejected extends Error {}

function rejectToken(reason: string): never {
  throw new Rejected(reason);
}

/**
 * A local stand-in for the EKS token authenticator (aws-iam-authenticator): an HTTPS TokenReview webhook
 * for kube-apiserver's --authentication-token-webhook-config-file that accepts `k8s-aws-v1.` tokens only
 * if the presigned STS GetCallerIdentity URL is well formed, fresh, for this cluster and really signed
 * with a known secret, which it checks by signing the same request again. It never calls STS.
 */
export class TokenWebhook {
  static async start(options: TokenWebhookOptions): Promise<TokenWebhook> {
    fs.mkdirSync(options.dir, { recursive: true });
    const keyFile = path.join(options.dir, 'token-webhook.key');
    const certFile = path.join(options.dir, 'token-webhook.crt');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=token-webhook',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', keyFile, '-out', certFile], { stdio: 'pipe' });
    const webhook = new TokenWebhook(options, fs.readFileSync(keyFile, 'utf8'), fs.readFileSync(certFile, 'utf8'));
    await new Promise<void>((resolve, reject) => {
      webhook.server.once('error', reject);
      webhook.server.listen(0, '127.0.0.1', resolve);
    });
    fs.writeFileSync(webhook.kubeconfigPath, [
      'apiVersion: v1',
      'kind: Config',
      'clusters:',
      '- name: token-webhook',
      '  cluster:',
      `    server: ${webhook.url}/`,
      `    certificate-authority-data: ${Buffer.from(webhook.caPem).toString('base64')}`,
      'users:',
      '- name: kube-apiserver',
      '  user: {}',
      'contexts:',
      '- name: token-webhook',
      '  context: {cluster: token-webhook, user: kube-apiserver}',
      'current-context: token-webhook',
      '',
    ].join('\n'));
    return webhook;
  }

  /** The webhook config file for kube-apiserver (a kubeconfig pointing at this server). */
  readonly kubeconfigPath: string;
  readonly reviews: ReviewRecord[] = [];
  private readonly server: https.Server;

  private constructor(private readonly options: TokenWebhookOptions, key: string, readonly caPem: string) {
    this.kubeconfigPath = path.join(options.dir, 'token-webhook.kubeconfig');
    this.server = https.createServer({ key, cert: caPem }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        this.review(Buffer.concat(chunks).toString('utf8')).then(
          ({ status, body }) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)),
          () => res.writeHead(500).end(),
        );
      });
    });
  }

  /** https://127.0.0.1:<port> */
  get url(): string {
    return `https://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async review(text: string): Promise<{ status: number; body: unknown }> {
    let request: any;
    try {
      request = JSON.parse(text);
    } catch {
      request = undefined;
    }
    if (!API_VERSIONS.includes(request?.apiVersion) || request?.kind !== 'TokenReview' || typeof request?.spec?.token !== 'string') {
      this.reviews.push({ authenticated: false, reason: 'not a TokenReview' });
      return { status: 400, body: { message: 'expected an authentication.k8s.io TokenReview' } };
    }
    const reply = (status: object) => ({ status: 200, body: { apiVersion: request.apiVersion, kind: 'TokenReview', status } });
    try {
      const { accessKeyId, identity } = await verifyToken(request.spec.token, this.options);
      this.reviews.push({ authenticated: true, username: identity.username });
      return reply({ authenticated: true, user: { username: identity.username, uid: `token-webhook:${accessKeyId}`, groups: identity.groups } });
    } catch (e) {
      if (!(e instanceof Rejected)) throw e;
      this.reviews.push({ authenticated: false, reason: e.message });
      return reply({ authenticated: false, error: e.message });
    }
  }
}

/** Checks an EKS token the way aws-iam-authenticator does, plus the signature. Reasons never include the token. */
async function verifyToken(token: string, options: Pick<TokenWebhookOptions, 'clusterName' | 'identities'>) {
  if (!token.startsWith(PREFIX)) rejectToken(`token does not start with ${PREFIX}`);
  const encoded = token.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) rejectToken('token is not unpadded base64url');
  let url: URL;
  try {
    url = new URL(Buffer.from(encoded, 'base64url').toString('utf8'));
  } catch {
    rejectToken('token is not a URL');
  }
  if (url.protocol !== 'https:' || url.username || url.password || url.port || url.hash) rejectToken('URL must be plain https with no user, port or fragment');
  if (!/^sts(\.[a-z0-9-]+)?\.amazonaws\.com$/.test(url.hostname)) rejectToken(`unexpected host ${url.hostname}: not an STS endpoint`);
  if (url.pathname !== '/') rejectToken('URL path must be /');

  const names = [...url.searchParams.keys()];
  const unexpected = names.filter((n) => !REQUIRED_PARAMS.includes(n) && !OPTIONAL_PARAMS.includes(n));
  if (unexpected.length > 0) rejectToken(`unexpected query parameter(s): ${unexpected.join(', ')}`);
  if (new Set(names).size !== names.length) rejectToken('repeated query parameter');
  const missing = REQUIRED_PARAMS.filter((n) => !url.searchParams.has(n));
  if (missing.length > 0) rejectToken(`missing query parameter(s): ${missing.join(', ')}`);
  const q = Object.fromEntries(url.searchParams);
  if (q.Action !== 'GetCallerIdentity' || q.Version !== '2011-06-15') rejectToken('not an STS GetCallerIdentity 2011-06-15 request');
  if (q['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256') rejectToken('X-Amz-Algorithm must be AWS4-HMAC-SHA256');
  const signedHeaders = q['X-Amz-SignedHeaders'].split(';');
  if (!signedHeaders.includes('host') || !signedHeaders.includes('x-k8s-aws-id')) rejectToken('X-Amz-SignedHeaders must include host and x-k8s-aws-id');

  const expires = Number(q['X-Amz-Expires']);
  if (!Number.isInteger(expires) || expires < 1 || expires > 900) rejectToken('X-Amz-Expires must be 1 to 900 seconds');
  const date = parseAmzDate(q['X-Amz-Date']);
  const now = Date.now();
  if (date.getTime() + expires * 1000 < now) rejectToken('token expired (X-Amz-Date + X-Amz-Expires is in the past)');
  if (now - date.getTime() > MAX_AGE_MS) rejectToken('X-Amz-Date is more than 15 minutes old');
  if (date.getTime() - now > MAX_SKEW_MS) rejectToken('X-Amz-Date is in the future');

  const scope = q['X-Amz-Credential'].split('/');
  if (scope.length !== 5 || scope[3] !== 'sts' || scope[4] !== 'aws4_request') rejectToken('X-Amz-Credential is not an STS credential scope');
  const [accessKeyId, , region] = scope;
  const identity = Object.hasOwn(options.identities, accessKeyId) ? options.identities[accessKeyId] : undefined;
  if (!identity) rejectToken('unknown access key id');

  // Sign the request the token should be, for this cluster, with the identity's secret; the signatures must match.
  const signer = new SignatureV4({
    credentials: { accessKeyId, secretAccessKey: identity.secretAccessKey, sessionToken: q['X-Amz-Security-Token'] },
    region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const expected = await signer.presign(new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname: url.hostname,
    path: '/',
    query: { Action: q.Action, Version: q.Version },
    headers: { 'host': url.hostname, 'x-k8s-aws-id': options.clusterName },
  }), { expiresIn: expires, signingDate: date });
  const want = Buffer.from(String(expected.query?.['X-Amz-Signature']));
  const got = Buffer.from(q['X-Amz-Signature']);
  if (want.length !== got.length || !timingSafeEqual(want, got)) {
    rejectToken(`signature does not match: wrong secret, or not signed for cluster ${options.clusterName}`);
  }
  return { accessKeyId, identity };
}

function parseAmzDate(value: string): Date {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) rejectToken('X-Amz-Date is not YYYYMMDDTHHMMSSZ');
  const [y, mo, d, h, mi, s] = m.slice(1).map(Number);
  return new Date(Date.UTC(y, mo - 1, d, h, mi, s));
}
