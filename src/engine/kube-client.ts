import * as https from 'https';

/** How to reach and authenticate to a Kubernetes API server. TLS is always verified with `caData`. */
export interface KubeConnection {
  /** e.g. `https://ABC.gr7.us-east-1.eks.amazonaws.com` */
  readonly endpoint: string;
  /** PEM of the cluster's certificate authority. */
  readonly caData: string;
  /** A bearer token (EKS: `k8s-aws-v1.…`). */
  readonly token?: string;
  /** PEM client certificate and key, instead of a token. */
  readonly clientCertData?: string;
  readonly clientKeyData?: string;
  /** Per-request timeout; default 10 seconds. */
  readonly requestTimeoutMs?: number;
}

/** A non-2xx answer of the API server, with Kubernetes' `Status` reason and message. */
export class KubeApiError extends Error {
  constructor(
    readonly method: string,
    readonly path: string,
    readonly status: number,
    readonly reason: string,
    detail: string,
  ) {
    super(`${method} ${path}: ${status} ${reason}: ${detail}`);
    this.name = 'KubeApiError';
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

/** The API server could not be reached or did not answer (after the retries). */
export class KubeNetworkError extends Error {
  constructor(readonly method: string, readonly path: string, readonly code: string, detail: string) {
    super(`${method} ${path}: ${detail}`);
    this.name = 'KubeNetworkError';
  }
}

export interface KubeClientOptions {
  /** Attempts per request for answers worth retrying (429, 5xx, timeouts, resets). Default 4. */
  readonly maxAttempts?: number;
  /** First backoff; doubles each retry. Default 250 ms. */
  readonly backoffMs?: number;
  /** Epoch milliseconds after which no retry is started. */
  readonly deadline?: number;
  /** Told of every retry, for logs. */
  readonly onRetry?: (info: { method: string; path: string; attempt: number; waitMs: number; reason: string }) => void;
}

/** Kubernetes asks clients to come back later with these; a write with a precondition is safe to repeat. */
const RETRIABLE_STATUS = new Set([429, 500, 502, 503, 504]);
/** The longest Retry-After honoured; a longer one is a reason to fail and let the next run converge. */
const MAX_RETRY_AFTER_MS = 10_000;

/**
 * A small Kubernetes API client: JSON over HTTPS, TLS verified with the cluster CA, nothing else.
 * Retries what is worth retrying, bounded in attempts and by the deadline. Every write the engine
 * sends carries a resourceVersion (or uid) precondition, so repeating one whose answer was lost
 * gives 409 or 404, never a second change. It counts its requests for tests and benchmarks.
 */
export class KubeClient {
  /** Requests sent, by HTTP method (retries included). */
  readonly requests: Record<string, number> = {};
  private readonly agent: https.Agent;
  private readonly url: URL;

  constructor(private readonly connection: KubeConnection, private readonly options: KubeClientOptions = {}) {
    if (!connection.token && !(connection.clientCertData && connection.clientKeyData)) {
      throw new Error('KubeConnection needs a token, or a client certificate and key');
    }
    this.url = new URL(connection.endpoint);
    if (this.url.protocol !== 'https:') {
      throw new Error(`KubeConnection endpoint must be https: ${connection.endpoint}`);
    }
    this.agent = new https.Agent({
      keepAlive: true,
      maxSockets: 4,
      ca: connection.caData,
      cert: connection.clientCertData,
      key: connection.clientKeyData,
    });
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

  /** A JSON merge patch, attributed to `fieldManager`. */
  async patch<T = any>(path: string, body: unknown, fieldManager: string): Promise<T> {
    return this.request<T>('PATCH', path, { body, contentType: 'application/merge-patch+json', query: { fieldManager } });
  }

  /** DELETE; `false` when it was already gone. */
  async delete(path: string, body?: unknown): Promise<boolean> {
    try {
      await this.request('DELETE', path, { body });
      return true;
    } catch (e) {
      if (e instanceof KubeApiError && e.status === 404) return false;
      throw e;
    }
  }

  close(): void {
    this.agent.destroy();
  }

  async request<T = any>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const maxAttempts = this.options.maxAttempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.send<T>(method, path, options);
      } catch (e) {
        const retry = retryAdvice(e, attempt, this.options.backoffMs ?? 250);
        const deadline = this.options.deadline ?? Infinity;
        if (!retry || attempt >= maxAttempts || Date.now() + retry.waitMs > deadline) throw e;
        this.options.onRetry?.({ method, path, attempt, waitMs: retry.waitMs, reason: retry.reason });
        await new Promise((r) => setTimeout(r, retry.waitMs));
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
    this.requests[method] = (this.requests[method] ?? 0) + 1;
    const timeout = this.connection.requestTimeoutMs ?? 10_000;

    const { status, text, retryAfter } = await new Promise<{ status: number; text: string; retryAfter?: string }>((resolve, reject) => {
      const req = https.request({
        method,
        host: this.url.hostname,
        port: this.url.port || 443,
        path: fullPath,
        headers,
        agent: this.agent,
        timeout,
      }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({
          status: res.statusCode ?? 0,
          text: Buffer.concat(chunks).toString('utf8'),
          retryAfter: res.headers['retry-after'] as string | undefined,
        }));
        res.on('error', (e: NodeJS.ErrnoException) => reject(new KubeNetworkError(method, path, e.code ?? 'ECONNRESET', e.message)));
      });
      // A timeout covers a connection that hangs as well as a server that never answers.
      req.on('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${timeout} ms`), { code: 'ETIMEDOUT' })));
      req.on('error', (e: NodeJS.ErrnoException) => reject(new KubeNetworkError(method, path, e.code ?? 'ECONNRESET', e.message)));
      req.end(payload);
    });

    const body = text ? safeJson(text) : undefined;
    if (status < 200 || status >= 300) {
      const reason = body?.reason ?? `HTTP${status}`;
      throw Object.assign(new KubeApiError(method, path, status, reason, body?.message ?? text.slice(0, 300)), { retryAfter });
    }
    return body as T;
  }
}

/** TLS failures are never retried: a wrong CA does not heal. */
const PERMANENT_NETWORK_CODES = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'ERR_TLS_CERT_ALTNAME_INVALID', 'CERT_HAS_EXPIRED', 'ENOTFOUND',
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

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
