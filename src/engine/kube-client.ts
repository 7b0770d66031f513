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

export type PatchType = 'merge' | 'json' | 'apply';

const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  merge: 'application/merge-patch+json',
  json: 'application/json-patch+json',
  apply: 'application/apply-patch+yaml',
};

/** Asks for metadata only: lists of secrets must not carry their data. */
export const METADATA_ONLY_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1';

export interface RequestOptions {
  readonly query?: Record<string, string>;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly accept?: string;
}

/**
 * A small Kubernetes API client: JSON over HTTPS, nothing else. It counts its requests so tests and
 * benchmarks can report the cost of each action.
 */
export class KubeClient {
  /** Requests sent, by HTTP method. */
  readonly requests: Record<string, number> = {};
  private readonly agent: https.Agent;
  private readonly url: URL;

  constructor(private readonly connection: KubeConnection) {
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

  async patch<T = any>(path: string, type: PatchType, body: unknown, fieldManager: string): Promise<T> {
    return this.request<T>('PATCH', path, {
      body,
      contentType: PATCH_CONTENT_TYPES[type],
      query: { fieldManager, ...(type === 'apply' ? { force: 'true' } : {}) },
    });
  }

  async create<T = any>(path: string, body: unknown, fieldManager: string): Promise<T> {
    return this.request<T>('POST', path, { body, query: { fieldManager } });
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

    const { status, text } = await new Promise<{ status: number; text: string }>((resolve, reject) => {
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
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer within ${timeout} ms`)));
      req.on('error', reject);
      req.end(payload);
    });

    const body = text ? safeJson(text) : undefined;
    if (status < 200 || status >= 300) {
      const reason = body?.reason ?? (status === 0 ? 'NoResponse' : `HTTP${status}`);
      throw new KubeApiError(method, path, status, reason, body?.message ?? text.slice(0, 300));
    }
    return body as T;
  }
}

function safeJson(text: string): any {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
