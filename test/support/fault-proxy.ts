import { execFileSync } from 'child_process';
import * as fs from 'fs';
import * as https from 'https';
import * as net from 'net';
import * as path from 'path';

/** What the proxy does to a request a rule matches. */
export type Fault =
  /** Answer with this status (and Kubernetes Status body) instead of forwarding. */
  | { readonly kind: 'status'; readonly status: number; readonly retryAfterSeconds?: number }
  /** Forward, but answer only after this delay. */
  | { readonly kind: 'delay'; readonly ms: number }
  /** Reset the connection without forwarding: nothing reached the API server. */
  | { readonly kind: 'reset' }
  /** Forward, then reset the connection: the API server acted, the answer is lost. */
  | { readonly kind: 'reset-after-forward' }
  /** Never answer. */
  | { readonly kind: 'hang' }
  /** Answer with this status and raw body instead of forwarding; `chunked` sends it without a Content-Length. */
  | { readonly kind: 'answer'; readonly status: number; readonly contentType: string; readonly body: string; readonly chunked?: boolean }
  /** Forward, then send the answer's headers at once and its body one byte every `intervalMs`. */
  | { readonly kind: 'trickle'; readonly intervalMs: number };

export interface FaultRule {
  readonly method?: string;
  readonly path?: RegExp;
  /** How many matching requests get the fault; later ones pass. */
  readonly times: number;
  readonly fault: Fault;
}

export interface ProxiedRequest {
  readonly method: string;
  readonly path: string;
  /** The query string, without the `?` (`dryRun=All` marks a dry run). */
  readonly query: string;
  readonly fault?: Fault['kind'];
}

/**
 * An HTTPS proxy of ours between a client and the real kube-apiserver that injects faults. Its
 * certificate is signed by the control plane's CA, so clients verify TLS exactly as against the
 * API server.
 */
export class FaultProxy {
  /** Starts in front of the control plane whose state directory is `state` (see controlplane.sh). */
  static async start(state: string): Promise<FaultProxy> {
    const files = JSON.parse(fs.readFileSync(path.join(state, 'connection.json'), 'utf8'));
    const pki = path.join(state, 'pki');
    // In the state directory, so even a failed signing leaves no key behind once controlplane.sh stop runs.
    const dir = fs.mkdtempSync(path.join(state, 'fault-proxy-'));
    execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=fault-proxy',
      '-keyout', path.join(dir, 'proxy.key'), '-out', path.join(dir, 'proxy.csr')], { stdio: 'pipe' });
    fs.writeFileSync(path.join(dir, 'ext'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    execFileSync('openssl', ['x509', '-req', '-in', path.join(dir, 'proxy.csr'), '-CA', path.join(pki, 'ca.crt'),
      '-CAkey', path.join(pki, 'ca.key'), '-CAcreateserial', '-days', '1', '-extfile', path.join(dir, 'ext'),
      '-out', path.join(dir, 'proxy.crt')], { stdio: 'pipe' });
    const proxy = new FaultProxy(new URL(files.endpoint), fs.readFileSync(files.caFile, 'utf8'),
      fs.readFileSync(path.join(dir, 'proxy.crt'), 'utf8'), fs.readFileSync(path.join(dir, 'proxy.key'), 'utf8'));
    fs.rmSync(dir, { recursive: true, force: true });
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** Every request seen, with the fault it got. */
  readonly requests: ProxiedRequest[] = [];
  private rules: { rule: FaultRule; left: number }[] = [];
  private readonly server: https.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly upstream: URL, private readonly upstreamCa: string, cert: string, key: string) {
    this.server = https.createServer({ cert, key }, (req, res) => this.handle(req, res));
    this.server.on('connection', (s: net.Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
  }

  get endpoint(): string {
    return `https://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  addRule(rule: FaultRule): void {
    this.rules.push({ rule, left: rule.times });
  }

  clearRules(): void {
    this.rules = [];
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private match(method: string, url: string): Fault | undefined {
    const found = this.rules.find(({ rule, left }) => left > 0
      && (!rule.method || rule.method === method) && (!rule.path || rule.path.test(url)));
    if (!found) return undefined;
    found.left--;
    return found.rule.fault;
  }

  private handle(req: import('http').IncomingMessage, res: import('http').ServerResponse): void {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const method = req.method ?? 'GET';
      const url = req.url ?? '/';
      const fault = this.match(method, url);
      const [urlPath, query = ''] = url.split('?');
      this.requests.push({ method, path: urlPath, query, fault: fault?.kind });
      switch (fault?.kind) {
        case 'status': {
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (fault.retryAfterSeconds !== undefined) headers['retry-after'] = String(fault.retryAfterSeconds);
          res.writeHead(fault.status, headers);
          res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: `Injected${fault.status}`, message: 'injected by the fault proxy', code: fault.status }));
          return;
        }
        case 'reset':
          req.socket.destroy();
          return;
        case 'hang':
          return;
        case 'answer': {
          const headers: Record<string, string> = { 'content-type': fault.contentType };
          if (!fault.chunked) headers['content-length'] = String(Buffer.byteLength(fault.body));
          res.writeHead(fault.status, headers);
          if (!fault.chunked) {
            res.end(fault.body);
            return;
          }
          const piece = 64 * 1024;
          for (let i = 0; i < fault.body.length; i += piece) res.write(fault.body.slice(i, i + piece));
          res.end();
          return;
        }
        default:
          this.forward(method, url, req.headers, Buffer.concat(chunks), (status, headers, body) => {
            if (fault?.kind === 'reset-after-forward') {
              req.socket.destroy();
              return;
            }
            const answer = () => {
              res.writeHead(status, headers);
              res.end(body);
            };
            // Unref'd: a delayed answer nobody waits for any more keeps no test run alive.
            if (fault?.kind === 'delay') setTimeout(answer, fault.ms).unref();
            else if (fault?.kind === 'trickle') this.trickle(res, status, headers, body, fault.intervalMs);
            else answer();
          }, () => req.socket.destroy());
      }
    });
  }

  private trickle(res: import('http').ServerResponse, status: number, headers: import('http').IncomingHttpHeaders, body: Buffer, intervalMs: number): void {
    const { 'content-length': _length, 'transfer-encoding': _encoding, ...rest } = headers;
    res.writeHead(status, rest);
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed || sent >= body.length) {
        clearInterval(timer);
        if (!res.destroyed) res.end();
        return;
      }
      res.write(body.subarray(sent, sent + 1));
      sent++;
    }, intervalMs);
    res.on('close', () => clearInterval(timer));
  }

  private forward(method: string, url: string, headers: import('http').IncomingHttpHeaders, body: Buffer,
    done: (status: number, headers: import('http').IncomingHttpHeaders, body: Buffer) => void, failed: () => void): void {
    const upstream = https.request({
      method,
      host: this.upstream.hostname,
      port: this.upstream.port,
      path: url,
      ca: this.upstreamCa,
      headers: { ...headers, host: this.upstream.host },
      agent: false,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => done(res.statusCode ?? 502, res.headers, Buffer.concat(chunks)));
    });
    upstream.on('error', failed);
    upstream.end(body);
  }
}

/** A TCP server that accepts connections and never says a word: an endpoint that does not answer. */
export async function blackHole(): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => sockets.add(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    endpoint: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

/** A port nothing listens on. */
export async function closedPort(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise((r) => server.close(r));
  return `https://127.0.0.1:${port}`;
}
