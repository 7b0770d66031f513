/**
 * The Kubernetes client on its own, against the REAL API server of the jest run (directly, through
 * our fault proxy, or through our CONNECT proxy): TLS that an environment variable cannot weaken,
 * answers it refuses to trust, a total deadline per request, dry-run writes, proxies and system CAs.
 */
import { spawnSync } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  dryRunKey, KubeApiError, KubeClient, KubeClientOptions, KubeConnection, KubeNetworkError, KubeResponseError, noProxyMatches, proxyFromEnvironment,
} from '../../src/engine';
import { connection } from '../support/cluster';
import { ConnectProxy } from '../support/connect-proxy';
import { blackHole, FaultProxy } from '../support/fault-proxy';
import { unrelatedCa } from '../support/identity';

const ROOT = path.resolve(__dirname, '..', '..');
const NAMESPACE = 'kube-system';
const CONFIGMAPS = `/api/v1/namespaces/${NAMESPACE}/configmaps`;
const NAME = 'kube-client-test';
const OBJECT = `${CONFIGMAPS}/${NAME}`;

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'kube-client-'));
const admin = new KubeClient(connection());
let faults: FaultProxy;
const clients: KubeClient[] = [];

/** A client that afterAll closes. */
function client(conn: Partial<KubeConnection> = {}, options: KubeClientOptions = {}): KubeClient {
  const c = new KubeClient({ ...connection(), ...conn }, { backoffMs: 20, ...options });
  clients.push(c);
  return c;
}

/** A CA that did not sign the API server's certificate. */
const otherCa = () => unrelatedCa().pem;

beforeAll(async () => {
  faults = await FaultProxy.start(process.env.CNI_TEST_CONTROLPLANE!);
});
afterAll(async () => {
  for (const c of clients) c.close();
  await admin.delete(OBJECT);
  admin.close();
  await faults.close();
  fs.rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => {
  faults.clearRules();
  faults.requests.length = 0;
});

describe('TLS', () => {
  // Jest gives each test file its own copy of process.env, which Node's TLS code does not read; so
  // this runs in a child process whose real environment has the variable.
  test('NODE_TLS_REJECT_UNAUTHORIZED=0 does not switch verification off: a wrong CA still fails', () => {
    const script = `
      const https = require('https');
      const { KubeClient } = require(${JSON.stringify(path.join(ROOT, 'src', 'engine', 'kube-client.ts'))});
      const conn = JSON.parse(process.env.TEST_CONNECTION);
      const plain = () => new Promise((resolve) => {
        https.get(conn.endpoint + '/version', { ca: conn.caData, agent: false }, (res) => { res.resume(); resolve('HTTP ' + res.statusCode); })
          .on('error', (e) => resolve(e.message));
      });
      const client = () => { const c = new KubeClient(conn, { maxAttempts: 1 }); return c.get('/version').then(() => 'answered', (e) => e.message).finally(() => c.close()); };
      (async () => console.log(JSON.stringify({ plain: await plain(), client: await client() })))();
    `;
    const outcome = (env: NodeJS.ProcessEnv) => {
      const child = spawnSync(process.execPath, ['-r', 'ts-node/register/transpile-only', '-e', script], {
        encoding: 'utf8',
        env: { PATH: process.env.PATH, TS_NODE_PROJECT: path.join(ROOT, 'tsconfig.json'), TEST_CONNECTION: JSON.stringify({ ...connection(), caData: otherCa() }), ...env },
      });
      if (child.status !== 0) throw new Error(child.stderr);
      return JSON.parse(child.stdout);
    };
    // Without the variable both fail; with it, a plain request gets an answer (Node honours it), our client still fails.
    expect(outcome({})).toEqual({ plain: 'unable to verify the first certificate', client: 'GET /version: unable to verify the first certificate' });
    expect(outcome({ NODE_TLS_REJECT_UNAUTHORIZED: '0' })).toEqual({ plain: expect.stringMatching(/^HTTP \d+$/), client: 'GET /version: unable to verify the first certificate' });
  });

  test('a wrong CA fails at once, without retries; the request never reached the server, so it is not counted', async () => {
    const wrongCa = client({ caData: otherCa() });
    await expect(wrongCa.get(OBJECT)).rejects.toThrow(/unable to verify the first certificate/);
    await expect(wrongCa.get(OBJECT)).rejects.toMatchObject({ code: 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', attempts: 1 });
    expect(wrongCa.requests).toEqual({});
  });

  test('without caData the system trust store is used, which does not have the test CA', async () => {
    const { caData: _, ...withoutCa } = connection();
    const c = new KubeClient(withoutCa);
    clients.push(c);
    await expect(c.get(OBJECT)).rejects.toThrow(/unable to get local issuer certificate|unable to verify the first certificate/);
    expect(c.requestCount).toBe(0);
  });
});

describe('answers the client does not trust', () => {
  const through = (options: KubeClientOptions = {}, conn: Partial<KubeConnection> = {}) => client({ endpoint: faults.endpoint, ...conn }, options);

  test('a 200 that is not JSON is an error naming the path, never "absent"; not retried', async () => {
    faults.addRule({ method: 'GET', times: 10, fault: { kind: 'answer', status: 200, contentType: 'text/html', body: '<html>Sign in to the proxy</html>' } });
    const c = through();
    const failure = c.get(OBJECT);
    await expect(failure).rejects.toThrow(KubeResponseError);
    await expect(failure).rejects.toThrow(`GET ${OBJECT}: 200 answer is not JSON (content-type text/html): "<html>Sign in to the proxy</html>"`);
    expect(faults.requests).toHaveLength(1);
  });

  test('an empty 2xx body is no object (and no error)', async () => {
    faults.addRule({ method: 'DELETE', times: 1, fault: { kind: 'answer', status: 200, contentType: 'application/json', body: '' } });
    expect(await through().delete(OBJECT)).toBe(true);
  });

  test.each([
    ['declared in Content-Length', false],
    ['streamed without a Content-Length', true],
  ])('an answer larger than the cap (%s) fails naming the path and the cap', async (_name, chunked) => {
    const big = JSON.stringify({ kind: 'ConfigMap', data: { blob: 'x'.repeat(9 * 1024 * 1024) } });
    faults.addRule({ method: 'GET', times: 10, fault: { kind: 'answer', status: 200, contentType: 'application/json', body: big, chunked } });
    const failure = through().get(OBJECT);
    await expect(failure).rejects.toThrow(KubeResponseError);
    await expect(failure).rejects.toThrow(`GET ${OBJECT}: the answer is larger than 8 MiB, the most this client accepts (maxResponseBytes)`);
    expect(faults.requests).toHaveLength(1);
  });

  test('maxResponseBytes applies to the real API server\'s answers too', async () => {
    await expect(client({}, { maxResponseBytes: 256 }).list(CONFIGMAPS)).rejects.toThrow(/larger than 256 bytes/);
    expect(await client({}, { maxResponseBytes: 1024 * 1024 }).list(CONFIGMAPS)).toMatchObject({ kind: 'ConfigMapList' });
  });

  test('a server that trickles its answer fails at the total deadline, though no gap reaches it', async () => {
    // One byte every 50 ms: an idle-socket timeout of 1 s would never fire, and the whole answer takes far longer than 1 s.
    faults.addRule({ method: 'GET', times: 1, fault: { kind: 'trickle', intervalMs: 50 } });
    const started = Date.now();
    const failure = through({ maxAttempts: 1 }, { requestTimeoutMs: 1000 }).list(CONFIGMAPS);
    await expect(failure).rejects.toThrow(KubeNetworkError);
    await expect(failure).rejects.toThrow(`GET ${CONFIGMAPS}: the answer was not complete within 1000 ms`);
    expect(Date.now() - started).toBeLessThan(2500);
  });

  test('a trickled answer that completes in time is fine', async () => {
    faults.addRule({ method: 'GET', times: 1, fault: { kind: 'trickle', intervalMs: 0 } });
    expect(await through({ maxAttempts: 1 }, { requestTimeoutMs: 5000 }).get('/version')).toHaveProperty('gitVersion');
  });
});

describe('dry-run writes', () => {
  let live: any;
  beforeEach(async () => {
    await admin.delete(OBJECT);
    live = await admin.request('POST', CONFIGMAPS, { body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: NAME }, data: { a: '1' } } });
  });

  test('a dry-run patch answers with the patched object and changes nothing; counted as PATCH(dryRun)', async () => {
    const c = client();
    const answer = await c.patch(OBJECT, { metadata: { labels: { dry: 'run' } } }, 'kube-client-test', { dryRun: true });
    expect(answer.metadata.labels).toEqual({ dry: 'run' });
    const after = await admin.get(OBJECT);
    expect(after.metadata.resourceVersion).toBe(live.metadata.resourceVersion);
    expect(after.metadata.labels).toBeUndefined();
    expect(c.requests).toEqual({ [dryRunKey('PATCH')]: 1 });
    expect(dryRunKey('PATCH')).toBe('PATCH(dryRun)');

    // The same patch for real does change it: the dry run was the only reason nothing changed.
    await c.patch(OBJECT, { metadata: { labels: { dry: 'run' } } }, 'kube-client-test');
    expect((await admin.get(OBJECT)).metadata.labels).toEqual({ dry: 'run' });
    expect(c.requests).toEqual({ 'PATCH(dryRun)': 1, 'PATCH': 1 });
  });

  // The API server takes DeleteOptions from the body when there is one, and ignores the query then.
  test.each([
    ['with DeleteOptions in the body', () => ({ preconditions: { uid: live.metadata.uid } })],
    ['without a body', () => undefined],
  ])('a dry-run delete (%s) says it would delete, and the object stays as it was', async (_name, body) => {
    const c = client();
    expect(await c.delete(OBJECT, body(), { dryRun: true })).toBe(true);
    expect((await admin.get(OBJECT)).metadata.resourceVersion).toBe(live.metadata.resourceVersion);
    expect(c.requests).toEqual({ 'DELETE(dryRun)': 1 });
  });

  test.each<[string, (c: KubeClient, dryRun: boolean) => Promise<unknown>, number]>([
    ['a patch of an object that does not exist', (c, dryRun) => c.patch(`${CONFIGMAPS}/no-such-configmap`, { data: { b: '2' } }, 'kube-client-test', { dryRun }), 404],
    ['a patch with a stale resourceVersion', (c, dryRun) => c.patch(OBJECT, { metadata: { resourceVersion: '1' }, data: { b: '2' } }, 'kube-client-test', { dryRun }), 409],
    ['a delete with another uid as precondition', (c, dryRun) => c.delete(OBJECT, { preconditions: { uid: '00000000-0000-0000-0000-000000000000' } }, { dryRun }), 409],
  ])('%s is refused in a dry run with the same KubeApiError as for real', async (_name, write, status) => {
    const refusal = async (dryRun: boolean) => {
      try {
        await write(client(), dryRun);
      } catch (e) {
        return e;
      }
      throw new Error('expected a refusal');
    };
    const dry = await refusal(true);
    const real = await refusal(false);
    expect(dry).toBeInstanceOf(KubeApiError);
    expect(dry).toMatchObject({ status, message: (real as Error).message, reason: (real as KubeApiError).reason });
    expect((await admin.get(OBJECT)).metadata.resourceVersion).toBe(live.metadata.resourceVersion);
  });
});

describe('what counts, and what is retried', () => {
  const through = (options: KubeClientOptions = {}, conn: Partial<KubeConnection> = {}) => client({ endpoint: faults.endpoint, ...conn }, options);

  test('a request counts once it reached the server, answered or not (a reset after it arrived); retries count too', async () => {
    faults.addRule({ method: 'GET', path: /configmaps$/, times: 1, fault: { kind: 'reset' } });
    faults.addRule({ method: 'GET', path: /configmaps$/, times: 1, fault: { kind: 'status', status: 503 } });
    const c = through();
    expect(await c.list(CONFIGMAPS)).toMatchObject({ kind: 'ConfigMapList' });
    expect(c.requests).toEqual({ GET: 3 });
    expect(faults.requests.map((r) => r.fault)).toEqual(['reset', 'status', undefined]);
  });

  test.each([
    ['by default, a timeout is retried even before the first answer', undefined, 2],
    ['retryTimeoutsBeforeFirstAnswer: false: a server that never answered gets one attempt', false, 0],
  ])('%s; nothing is counted, as nothing reached it', async (_name, retryTimeoutsBeforeFirstAnswer, retries) => {
    const silent = await blackHole();
    try {
      const seen: string[] = [];
      const c = client({ endpoint: silent.endpoint, requestTimeoutMs: 300 }, {
        maxAttempts: 3, retryTimeoutsBeforeFirstAnswer, onRetry: (info) => seen.push(`${info.attempt}/${info.maxAttempts} ${info.reason}: ${info.detail}`),
      });
      await expect(c.get(OBJECT)).rejects.toMatchObject({ code: 'ETIMEDOUT', attempts: retries + 1, message: `GET ${OBJECT}: no answer within 300 ms` });
      expect(seen).toEqual([`1/3 ETIMEDOUT: GET ${OBJECT}: no answer within 300 ms`, `2/3 ETIMEDOUT: GET ${OBJECT}: no answer within 300 ms`].slice(0, retries));
      expect(c.requests).toEqual({});
    } finally {
      await silent.close();
    }
  });

  test('after the server answered once, a timeout is retried even with retryTimeoutsBeforeFirstAnswer: false', async () => {
    const c = through({ maxAttempts: 2, retryTimeoutsBeforeFirstAnswer: false }, { requestTimeoutMs: 500 });
    await c.get('/version');
    faults.addRule({ method: 'GET', path: /configmaps$/, times: 1, fault: { kind: 'hang' } });
    expect(await c.list(CONFIGMAPS)).toMatchObject({ kind: 'ConfigMapList' });
  });

  test('a closed client starts no retry', async () => {
    faults.addRule({ method: 'GET', times: 10, fault: { kind: 'status', status: 503 } });
    const c = through({ onRetry: () => c.close() });
    await expect(c.get(OBJECT)).rejects.toMatchObject({ status: 503 });
    expect(faults.requests).toHaveLength(1);
  });
});

describe('through an HTTP CONNECT proxy', () => {
  let proxy: ConnectProxy;
  afterEach(async () => proxy?.close());

  test('requests go through one kept-alive tunnel; TLS is still verified end to end', async () => {
    proxy = await ConnectProxy.start();
    const c = client({ proxyUrl: proxy.url });
    for (let i = 0; i < 3; i++) expect(await c.get('/version')).toHaveProperty('gitVersion');
    expect(proxy.tunnels).toEqual([{ target: new URL(connection().endpoint).host, status: 200 }]);

    // The proxy only carries bytes: the API server's certificate is still checked against the CA.
    await expect(client({ proxyUrl: proxy.url, caData: otherCa() }).get('/version')).rejects.toThrow(/unable to verify|certificate/);
    expect(proxy.opened).toBe(2);
  });

  test('a proxy that wants credentials: refused without them (not retried), used with them', async () => {
    proxy = await ConnectProxy.start({ credentials: { username: 'cni', password: 'p@ss:word' } });
    const anonymous = client({ proxyUrl: proxy.url });
    await expect(anonymous.get('/version')).rejects.toThrow(/^GET \/version: proxy 127\.0\.0\.1:\d+: CONNECT 127\.0\.0\.1:\d+ answered 407 Proxy Authentication Required$/);
    await expect(anonymous.get('/version')).rejects.toMatchObject({ code: 'EPROXYAUTH', proxy: new URL(proxy.url).host });
    expect(anonymous.requestCount).toBe(0);
    const withCredentials = proxy.url.replace('http://', `http://cni:${encodeURIComponent('p@ss:word')}@`);
    expect(await client({ proxyUrl: withCredentials }).get('/version')).toHaveProperty('gitVersion');
    expect(proxy.opened).toBe(1);
  });

  test('only http:// proxies', () => {
    expect(() => new KubeClient({ ...connection(), proxyUrl: 'socks5://127.0.0.1:1080' })).toThrow('KubeConnection proxyUrl must be an http:// proxy (HTTP CONNECT), not socks5://');
  });
});

describe('proxyFromEnvironment and NO_PROXY, with kubectl\'s rules', () => {
  const endpoint = 'https://abc.gr7.eu-west-1.eks.amazonaws.com';

  test.each<[string, Record<string, string>, string | undefined]>([
    ['no proxy variable', { NO_PROXY: '*' }, undefined],
    ['HTTPS_PROXY', { HTTPS_PROXY: 'http://proxy.corp:3128' }, 'http://proxy.corp:3128'],
    ['https_proxy', { https_proxy: 'http://lower:3128' }, 'http://lower:3128'],
    ['HTTPS_PROXY before https_proxy', { HTTPS_PROXY: 'http://upper:3128', https_proxy: 'http://lower:3128' }, 'http://upper:3128'],
    ['a proxy without a scheme is http://', { HTTPS_PROXY: 'proxy.corp:3128' }, 'http://proxy.corp:3128'],
    ['NO_PROXY with the domain', { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'localhost, amazonaws.com' }, undefined],
    ['no_proxy with a leading dot', { HTTPS_PROXY: 'http://p:1', no_proxy: '.eks.amazonaws.com' }, undefined],
    ['NO_PROXY *', { HTTPS_PROXY: 'http://p:1', NO_PROXY: '*' }, undefined],
    ['NO_PROXY for another domain', { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'example.com,10.0.0.0/8' }, 'http://p:1'],
    ['NO_PROXY for another port', { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'eks.amazonaws.com:8443' }, 'http://p:1'],
    ['NO_PROXY for this port', { HTTPS_PROXY: 'http://p:1', NO_PROXY: 'eks.amazonaws.com:443' }, undefined],
  ])('%s', (_name, env, expected) => {
    expect(proxyFromEnvironment(endpoint, env)).toBe(expected);
  });

  test.each(['https://127.0.0.1:6443', 'https://localhost:6443', 'https://[::1]:6443', 'https://127.1.2.3'])('loopback %s is never proxied', (local) => {
    expect(proxyFromEnvironment(local, { HTTPS_PROXY: 'http://p:1' })).toBeUndefined();
  });

  test('a proxy that is not http:// is an error naming the variable', () => {
    expect(() => proxyFromEnvironment(endpoint, { https_proxy: 'socks5://p:1080' })).toThrow('https_proxy must be an http:// proxy (HTTP CONNECT), not socks5://');
  });

  test.each<[string, string, string, boolean]>([
    ['10.1.2.3', '443', '10.0.0.0/8', true],
    ['11.1.2.3', '443', '10.0.0.0/8', false],
    ['10.1.2.3', '443', '10.1.2.3', true],
    ['10.1.2.3', '443', '10.1.2.4', false],
    ['fd00::5', '443', 'fd00::/64', true],
    ['fd00::5', '443', '[fd00::5]:443', true],
    ['api.example.com', '443', 'example.com', true],
    ['example.com', '443', 'example.com', true],
    ['example.com', '443', '.example.com', false],
    ['api.example.com', '443', '*.example.com', true],
    ['notexample.com', '443', 'example.com', false],
    ['API.Example.COM', '443', ' other.org , EXAMPLE.com ', true],
    ['api.example.com', '6443', 'example.com:443', false],
  ])('%s:%s with NO_PROXY=%j: %s', (host, port, noProxy, expected) => {
    expect(noProxyMatches(host, port, noProxy)).toBe(expected);
  });
});
