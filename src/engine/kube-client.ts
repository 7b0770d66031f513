import * as http from 'http';
import * as https from 'https';
import * as net from 'net';
import type { Duplex } from 'stream';
import * as tls from 'tls';
import { withoutUrlCredentials } from './redact';

/**
 * How to reach and authenticate to a Kubernetes API server. TLS is always verified: against `caData`,
 * or the system's trust store when there is none; `NODE_TLS_REJECT_UNAUTHORIZED=0` does not change that.
 */
export interface KubeConnection {
  /** e.g. `https://ABC.gr7.us-east-1.eks.amazonaws.com` */
  readonly endpoint: string;
  /**
   * PEM of the cluster's certificate authority. Absent: the system's trust store (Node.js's
   * built-in CAs and `NODE_EXTRA_CA_CERTS`), as kubectl does when a kubeconfig names no CA.
   */
  readonly caData?: string;
  /** A bearer token (EKS: `k8s-aws-v1.…`). */
  readonly token?: string;
  /** PEM client certificate and key, instead of a token. */
  readonly clientCertData?: string;
  readonly clientKeyData?: string;
  /**
   * The whole of one attempt (connecting, sending, and the complete answer), not only an idle
   * socket: a server that trickles its answer fails at this time too. Default 10 seconds.
   */
  readonly requestTimeoutMs?: number;
  /**
   * An `http://` proxy to reach the API server through (HTTP CONNECT; `http://user:password@host:port`
   * for Basic authentication). The TLS session stays end to end with the API server and is verified
   * as without a proxy. See {@link proxyFromEnvironment} for `HTTPS_PROXY` and `NO_PROXY`.
   */
  readonly proxyUrl?: string;
}

/** A non-2xx answer of the API server, with Kubernetes' `Status` reason and message. */
export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    /** The API server's message (Kubernetes `Status.message`). */
    readonly detail: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${detail}`);
    this.name = 'KubeApiError';
  }
}

/**
 * A 2xx answer the client cannot use: not JSON, or larger than the client accepts. Never taken for
 * "absent", and not retried (the same server gives the same answer).
 */
export class KubeResponseError extends Error {
  constructor(readonly method: string, readonly path: string, readonly status: number, detail: string) {
    super(`${method} ${path}: ${detail}`);
    this.name = 'KubeResponseError';
  }
}

/** Asks for metadata only: lists of secrets must not carry their data. */
export const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

export interface RequestOptions {
  readonly query?: Record<string, string>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
}

/** Options of a write. */
export interface WriteOptions {
  /**
   * Send it with `dryRun=All`: the API server authenticates, authorizes, admits and validates it
   * exactly as the real write, answers as it would, and stores nothing. Counted apart in `requests`.
   */
  readonly dryRun?: boolean;
}

/** The API server could not be reached or did not answer (after the retries). */
export class KubeNetworkError extends Error {
  /** Attempts made at the request before giving up. */
  attempts = 1;

  constructor(
    readonly method: string,
    readonly path: string,
    /** Node.js's code: `ECONNREFUSED`, `ETIMEDOUT`, a TLS verification code such as `UNABLE_TO_VERIFY_LEAF_SIGNATURE`, `EPROXY`, … */
    readonly code: string,
    /** What went wrong, in Node.js's words (never a proxy's credentials). */
    readonly detail: string,
    /** `host:port` of the HTTP proxy when the failure was the proxy's (it could not be reached, or refused the tunnel). */
    readonly proxy?: string,
  ) {
    super(`${method} ${path}: ${detail}`);
    this.name = 'KubeNetworkError';
  }
}

/** One retry: the request, which attempt failed (of how many), how long until the next, and why. */
export interface RetryInfo {
  readonly method: string;
  readonly path: string;
  readonly attempt: number;
  readonly maxAttempts: number;
  readonly waitMs: number;
  /** A code or status, e.g. `ETIMEDOUT`, `503 ServiceUnavailable`. */
  readonly reason: string;
  /** The failure in words (the error's message). */
  readonly detail: string;
}

export interface KubeClientOptions {
  /** Attempts per request for answers worth retrying (429, 5xx, timeouts, resets). Default 4. */
  readonly maxAttempts?: number;
  /** First backoff; doubles each retry. Default 250 ms. */
  readonly backoffMs?: number;
  /** Epoch milliseconds after which no retry is started. */
  readonly deadline?: number;
  /** Told of every retry, for logs and progress lines: `reason` is a code or status, `detail` the failure in words. */
  readonly onRetry?: (info: RetryInfo) => void;
  /**
   * Retry a timeout before the server has answered anything. Default true. false: a server that accepts
   * connections but never answers (or never completes the TLS handshake) fails after one request timeout,
   * not `maxAttempts` of them: nothing suggests it is only busy. Timeouts after a first answer are retried as usual.
   */
  readonly retryTimeoutsBeforeFirstAnswer?: boolean;
  /** The largest answer accepted, in bytes; a larger one fails the request. Default 8 MiB. */
  readonly maxResponseBytes?: number;
}

/** Kubernetes asks clients to come back later with these; a write with a precondition is safe to repeat. */
const RETRIABLE_STATUS = new Set([429, 500, 502, 503, 504]);
/** The longest Retry-After honoured; a longer one is a reason to fail and let the next run converge. */
const MAX_RETRY_AFTER_MS = 10_000;
/** The VPC CNI's objects are a few KiB each; a list of release records' metadata is far below this too. */
const DEFAULT_MAX_RESPONSE_BYTES = 8 * 1024 * 1024;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;

/** The key under which `requests` counts a dry-run write: `PATCH(dryRun)`, `DELETE(dryRun)`. */
export function dryRunKey(method: string): string {
  return `${method}(dryRun)`;
}

/**
 * A small Kubernetes API client: JSON over HTTPS, TLS always verified, nothing else.
 * Retries what is worth retrying, bounded in attempts and by the deadline. Every write the engine
 * sends carries a resourceVersion (or uid) precondition, so repeating one whose answer was lost
 * gives 409 or 404, never a second change. It counts its requests for tests and benchmarks.
 */
export class KubeClient {
  /**
   * Requests that reached the API server, by HTTP method (retries included): each counts once a
   * verified TLS session carries it, whether or not its answer came back. A request that never got
   * there (connection refused, TLS not verified, no answer to the handshake) is not counted. Writes sent
   * with `dryRun` count under `PATCH(dryRun)` and `DELETE(dryRun)` (see {@link dryRunKey}), so real writes stay apart.
   */
  readonly requests: Record<string, number> = {};
  /** Whether the server has answered anything yet (any HTTP status). */
  private answered = false;
  private closed = false;
  private readonly agent: https.Agent;
  private readonly url: URL;
  protected readonly timeoutMs: number;

  constructor(private readonly connection: KubeConnection, private readonly options: KubeClientOptions = {}) {
    if (!connection.token && !(connection.clientCertData && connection.clientKeyData)) {
      throw new Error('KubeConnection needs a token, or a client certificate and key');
    }
    this.url = new URL(connection.endpoint);
    if (this.url.protocol !== 'https:') {
      throw new Error(`KubeConnection endpoint must be https: ${connection.endpoint}`);
    }
    this.timeoutMs = connection.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    const agentOptions: https.AgentOptions = {
      keepAlive: true,
      maxSockets: 4,
      // One context for every connection: the CA and the client key are parsed once, not per socket.
      // Without `ca`, Node.js uses its default trust store (which includes NODE_EXTRA_CA_CERTS).
      secureContext: tls.createSecureContext({ ca: connection.caData, cert: connection.clientCertData, key: connection.clientKeyData }),
      // Explicit, so that NODE_TLS_REJECT_UNAUTHORIZED=0 in the environment cannot turn verification off.
      rejectUnauthorized: true,
    };
    this.agent = connection.proxyUrl
      ? new TunnelAgent(parseProxyUrl(connection.proxyUrl, 'KubeConnection proxyUrl'), this.timeoutMs, agentOptions)
      : new https.Agent(agentOptions);
  }

  get requestCount(): number {
    return Object.values(this.requests).reduce((a, b) => a + b, 0);
  }

  /** GET an object; `undefined` when it does not exist. */
  async get<T = any>(path: string, options: RequestOptions = {}): Promise<T | undefined> {
    try {
      return await this.request<T>('GET', path, options);
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return undefined;
      throw e;
    }
  }

  async list<T = any>(path: string, query: Record<string, string> = {}, accept?: string): Promise<T> {
    return this.request<T>('GET', path, { query, accept });
  }

  /** A JSON merge patch, attributed to `fieldManager`; with `dryRun`, checked by the API server and not stored. */
  async patch<T = any>(path: string, body: unknown, fieldManager: string, options: WriteOptions = {}): Promise<T> {
    const query: Record<string, string> = { fieldManager, ...(options.dryRun ? { dryRun: 'All' } : {}) };
    return this.request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json', query });
  }

  /** A server-side apply of a whole object as `fieldManager` (no force: a conflict is an error). */
  async apply<T = any>(path: string, body: unknown, fieldManager: string, options: WriteOptions = {}): Promise<T> {
    const query: Record<string, string> = { fieldManager, ...(options.dryRun ? { dryRun: 'All' } : {}) };
    return this.request<T>('PATCH', path, { body, contentType: 'application/apply-patch+yaml', query });
  }

  /** DELETE; `false` when it was already gone. With `dryRun`, checked by the API server and not deleted. */
  async delete(path: string, body?: unknown, options: WriteOptions = {}): Promise<boolean> {
    // The API server reads DeleteOptions from the body when there is one, and ignores the query then.
    const dryRunBody = options.dryRun && body !== undefined ? { ...(body as object), dryRun: ['All'] } : body;
    try {
      await this.request('DELETE', path, { body: dryRunBody, query: options.dryRun ? { dryRun: 'All' } : undefined });
      return true;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return false;
      throw e;
    }
  }

  /** Ends every connection; requests still under way fail, and none is retried. */
  close(): void {
    this.closed = true;
    this.agent.destroy();
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const maxAttempts = this.options.maxAttempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send<T>(method, path, options);
      } catch (e) {
        const silent = !this.answered && this.options.retryTimeoutsBeforeFirstAnswer === false && e instanceof KubeNetworkError && e.code === 'ETIMEDOUT';
        const retry = silent ? undefined : retryAdvice(e, attempt, this.options.backoffMs ?? 250);
        const deadline = this.options.deadline ?? Infinity;
        if (!retry || this.closed || attempt >= maxAttempts || Date.now() + retry.waitMs > deadline) {
          if (e instanceof KubeNetworkError) e.attempts = attempt;
          throw e;
        }
        this.options.onRetry?.({ method, path, attempt, maxAttempts, waitMs: retry.waitMs, reason: retry.reason, detail: (e as Error).message });
        await new Promise((r) => setTimeout(r, retry.waitMs));
        if (this.closed) throw e;
      }
    }
  }

  private async send<T>(method: string, path: string, options: RequestOptions): Promise<T> {
    const query = new URLSearchParams(options.query ?? {}).toString();
    const fullPath = `${this.url.pathname.replace(/\/$/, '')}${path}${query ? `?${query}` : ''}`;
    const payload = options.body === undefined ? undefined : JSON.stringify(options.body);
    const headers: Record<string, string> = { Accept: options.accept ?? 'application/json' };
    if (this.connection.token) headers.Authorization = `Bearer ${this.connection.token}`;
    if (payload !== undefined) {
      headers['Content-Type'] = options.contentType ?? 'application/json';
      headers['Content-Length'] = String(Buffer.byteLength(payload));
    }
    const counted = options.query?.dryRun ? dryRunKey(method) : method;
    let reached = false;
    const reach = () => {
      if (reached) return;
      reached = true;
      this.requests[counted] = (this.requests[counted] ?? 0) + 1;
    };
    const timeout = this.timeoutMs;
    const maxBytes = this.options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
    const tooLarge = (status: number) => new KubeResponseError(method, path, status,
      `the answer is larger than ${formatBytes(maxBytes)}, the most this client accepts (maxResponseBytes)`);

    const { status, text, retryAfter, contentType } = await new Promise<Answer>((resolve, reject) => {
      let settled = false;
      let answered = false;
      const settle = (outcome: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        outcome();
      };
      const networkError = (e: NodeJS.ErrnoException & { proxy?: string }) => settle(() => reject(
        new KubeNetworkError(method, path, e.code ?? 'ECONNRESET', withoutUrlCredentials(e.message), e.proxy)));
      const req = https.request({
        method,
        host: this.url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: this.url.port || 443,
        path: fullPath,
        headers,
        agent: this.agent,
        rejectUnauthorized: true,
      }, (res) => {
        answered = true;
        this.answered = true;
        reach();
        const code = res.statusCode ?? 0;
        const declared = Number(res.headers['content-length']);
        if (Number.isFinite(declared) && declared > maxBytes) {
          settle(() => reject(tooLarge(code)));
          req.destroy();
          return;
        }
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > maxBytes) {
            settle(() => reject(tooLarge(code)));
            req.destroy();
            return;
          }
          chunks.push(c);
        });
        res.on('end', () => settle(() => resolve({
          status: code,
          text: Buffer.concat(chunks).toString('utf8'),
          retryAfter: res.headers['retry-after'] as string | undefined,
          contentType: res.headers['content-type'],
        })));
        res.on('error', networkError);
        res.on('close', () => {
          if (!res.complete) networkError(Object.assign(new Error('the connection closed before the answer was complete'), { code: 'ECONNRESET' }));
        });
      });
      // One timer for the whole attempt: a connection that hangs, a server that never answers, and
      // one that trickles its answer byte by byte all end here.
      const timer = setTimeout(() => {
        networkError(Object.assign(new Error(answered ? `the answer was not complete within ${timeout} ms` : `no answer within ${timeout} ms`), { code: 'ETIMEDOUT' }));
        req.destroy();
      }, timeout);
      req.on('error', networkError);
      // The request counts once a verified TLS session carries it (a kept-alive one at once).
      req.on('socket', (socket) => {
        if ((socket as tls.TLSSocket).authorized) reach();
        else socket.once('secureConnect', reach);
      });
      req.end(payload);
    });

    if (status < 200 || status >= 300) {
      const body = text ? parseJson(text) : undefined;
      const reason = body?.reason ?? `HTTP${status}`;
      throw Object.assign(new KubeApiError(method, path, status, reason, body?.message ?? text.slice(0, 300)), { retryAfter });
    }
    if (!text) return undefined as T;
    const body = parseJson(text);
    if (body === undefined) {
      // A proxy's or load balancer's page, or a truncated answer: never taken for an object (or its absence).
      throw new KubeResponseError(method, path, status,
        `${status} answer is not JSON (content-type ${contentType ?? 'none'}): ${JSON.stringify(text.slice(0, 120))}`);
    }
    return body as T;
  }
}

interface Answer {
  readonly status: number;
  readonly text: string;
  readonly retryAfter?: string;
  readonly contentType?: string;
}

/** TLS failures are never retried: a wrong CA does not heal. Nor does a name that does not resolve or a proxy that wants credentials. */
const PERMANENT_NETWORK_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'ENOTFOUND', 'EPROXYAUTH',
]);

function retryAdvice(e: unknown, attempt: number, backoffMs: number): { waitMs: number; reason: string } | undefined {
  const backoff = backoffMs * 2 ** (attempt - 1);
  if (e instanceof KubeApiError && RETRIABLE_STATUS.has(e.status)) {
    const retryAfter = Number((e as KubeApiError & { retryAfter?: string }).retryAfter);
    const waitMs = Number.isFinite(retryAfter) && retryAfter >= 0 ? Math.min(retryAfter * 1000, MAX_RETRY_AFTER_MS) : backoff;
    return { waitMs, reason: `${e.status} ${e.reason}` };
  }
  if (e instanceof KubeNetworkError && !PERMANENT_NETWORK_CODES.has(e.code)) return { waitMs: backoff, reason: e.code };
  return undefined;
}

function parseJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function formatBytes(bytes: number): string {
  if (bytes >= 1024 * 1024 && bytes % (1024 * 1024) === 0) return `${bytes / (1024 * 1024)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

function parseProxyUrl(value: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new Error(`${what} is not a URL: ${JSON.stringify(withoutUrlCredentials(value))}`);
  }
  if (url.protocol !== 'http:') throw new Error(`${what} must be an http:// proxy (HTTP CONNECT), not ${url.protocol}//`);
  return url;
}

/**
 * An https.Agent whose connections go through an HTTP proxy: a CONNECT tunnel to the API server,
 * then TLS over it with the agent's own options (CA, client certificate, verification), so the proxy
 * sees only encrypted bytes. Connections are kept alive and reused like the plain agent's.
 */
class TunnelAgent extends https.Agent {
  constructor(private readonly proxy: URL, private readonly timeoutMs: number, options: https.AgentOptions) {
    super(options);
  }

  createConnection(options: https.RequestOptions, callback?: (err: Error | null, stream: Duplex) => void): Duplex | null | undefined {
    const done = callback ?? (() => {});
    const host = String(options.host ?? 'localhost');
    const target = `${net.isIPv6(host) ? `[${host}]` : host}:${options.port ?? 443}`;
    const headers: Record<string, string> = { host: target };
    if (this.proxy.username || this.proxy.password) {
      const credentials = `${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`;
      headers['proxy-authorization'] = `Basic ${Buffer.from(credentials).toString('base64')}`;
    }
    // Named by host and port only: the proxy URL may carry credentials.
    const proxyName = `proxy ${this.proxy.host}`;
    const connect = http.request({
      host: this.proxy.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: this.proxy.port || 80,
      method: 'CONNECT',
      path: target,
      headers,
      agent: false,
      timeout: this.timeoutMs,
    });
    let finished = false;
    const fail = (message: string, code: string) => {
      if (finished) return;
      finished = true;
      done(Object.assign(new Error(`${proxyName}: ${message}`), { code, proxy: this.proxy.host }), undefined as unknown as Duplex);
    };
    connect.once('connect', (res, socket, head) => {
      if (res.statusCode !== 200) {
        socket.destroy();
        fail(`CONNECT ${target} answered ${res.statusCode} ${res.statusMessage ?? ''}`.trim(), res.statusCode === 407 ? 'EPROXYAUTH' : 'EPROXY');
        return;
      }
      if (head.length > 0) socket.unshift(head);
      if (finished) {
        socket.destroy();
        return;
      }
      finished = true;
      // SNI only for names, as Node.js does; the certificate is checked against the API server's host either way.
      const servername = net.isIP(host) ? undefined : host;
      done(null, tls.connect({
        socket,
        host,
        servername,
        secureContext: (options as tls.ConnectionOptions).secureContext,
        rejectUnauthorized: true,
      }));
    });
    connect.once('timeout', () => {
      fail(`no answer to CONNECT ${target} within ${this.timeoutMs} ms`, 'ETIMEDOUT');
      connect.destroy();
    });
    connect.once('error', (e: NodeJS.ErrnoException) => fail(e.message, e.code ?? 'ECONNRESET'));
    connect.end();
    return undefined;
  }
}

/** The proxy settings of an environment, as Go programs (kubectl) read them. */
export interface ProxyEnvironment {
  readonly HTTPS_PROXY?: string;
  readonly https_proxy?: string;
  readonly NO_PROXY?: string;
  readonly no_proxy?: string;
}

/**
 * The proxy for an `https://` endpoint from `HTTPS_PROXY`/`https_proxy` and `NO_PROXY`/`no_proxy`,
 * with kubectl's (Go's) rules: the upper-case name first; a proxy without a scheme is `http://`;
 * `localhost` and loopback addresses are never proxied; `undefined` means connect directly.
 */
export function proxyFromEnvironment(endpoint: string, env: ProxyEnvironment): string | undefined {
  const [name, raw] = env.HTTPS_PROXY ? ['HTTPS_PROXY', env.HTTPS_PROXY] : ['https_proxy', env.https_proxy];
  if (!raw) return undefined;
  const url = new URL(endpoint);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  const port = url.port || '443';
  if (host === 'localhost' || isLoopback(host)) return undefined;
  if (noProxyMatches(host, port, env.NO_PROXY || env.no_proxy || '')) return undefined;
  const value = /^[a-z][a-z0-9+.-]*:\/\//i.test(raw) ? raw : `http://${raw}`;
  parseProxyUrl(value, name);
  return value;
}

/**
 * Whether a NO_PROXY list exempts `host:port`: `*` exempts everything; an IP address or a CIDR
 * block matches addresses; `example.com` matches it and its subdomains, `.example.com` and
 * `*.example.com` only its subdomains; an entry with `:port` matches that port only.
 */
export function noProxyMatches(host: string, port: string, noProxy: string): boolean {
  const h = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  for (const raw of noProxy.split(',')) {
    let entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === '*') return true;
    if (entry.includes('/')) {
      if (inCidr(h, entry)) return true;
      continue;
    }
    let entryPort: string | undefined;
    const withPort = /^\[?([^\]]*?)\]?:(\d+)$/.exec(entry);
    if (withPort && !net.isIPv6(entry)) {
      entry = withPort[1];
      entryPort = withPort[2];
    }
    if (entryPort && entryPort !== port) continue;
    if (net.isIP(entry)) {
      if (net.isIP(h) && sameAddress(h, entry)) return true;
      continue;
    }
    if (entry.startsWith('*.')) entry = entry.slice(1);
    if (entry.startsWith('.') ? h.endsWith(entry) : (h === entry || h.endsWith(`.${entry}`))) return true;
  }
  return false;
}

function isLoopback(host: string): boolean {
  const type = net.isIP(host);
  if (type === 0) return false;
  const loopback = new net.BlockList();
  loopback.addSubnet('127.0.0.0', 8, 'ipv4');
  loopback.addAddress('::1', 'ipv6');
  return loopback.check(host, type === 4 ? 'ipv4' : 'ipv6');
}

function sameAddress(a: string, b: string): boolean {
  const list = new net.BlockList();
  list.addAddress(b, net.isIP(b) === 4 ? 'ipv4' : 'ipv6');
  return list.check(a, net.isIP(a) === 4 ? 'ipv4' : 'ipv6');
}

function inCidr(host: string, cidr: string): boolean {
  const [address, bits] = cidr.split('/');
  const type = net.isIP(address);
  const prefix = Number(bits);
  if (!type || !net.isIP(host) || !Number.isInteger(prefix)) return false;
  const list = new net.BlockList();
  try {
    list.addSubnet(address, prefix, type === 4 ? 'ipv4' : 'ipv6');
  } catch {
    return false;
  }
  return list.check(host, net.isIP(host) === 4 ? 'ipv4' : 'ipv6');
}
