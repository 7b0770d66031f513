import * as http from 'http';
import * as net from 'net';

export interface Tunnel {
  /** `host:port` as the client asked for it. */
  readonly target: string;
  /** The answer to the CONNECT. */
  readonly status: number;
}

export interface ConnectProxyOptions {
  /** Names only the proxy can resolve (name → address): proves a connection went through it. */
  readonly hosts?: Record<string, string>;
  /** Require `Proxy-Authorization: Basic` with these. */
  readonly credentials?: { readonly username: string; readonly password: string };
}

/**
 * A forward proxy of our own on loopback that knows only HTTP CONNECT, like a corporate proxy in
 * front of a cluster: it tunnels bytes and never sees inside the TLS session. Counts its tunnels.
 */
export class ConnectProxy {
  static async start(options: ConnectProxyOptions = {}): Promise<ConnectProxy> {
    const proxy = new ConnectProxy(options);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  /** Every CONNECT seen, in order. */
  readonly tunnels: Tunnel[] = [];
  private readonly server: http.Server;
  private readonly sockets = new Set<net.Socket>();

  private constructor(private readonly options: ConnectProxyOptions) {
    // Anything but CONNECT: this proxy forwards nothing in the clear.
    this.server = http.createServer((_req, res) => res.writeHead(405).end());
    this.server.on('connection', (s: net.Socket) => this.track(s));
    this.server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => this.connect(req, client, head));
  }

  /** `http://127.0.0.1:<port>` */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as net.AddressInfo).port}`;
  }

  /** Tunnels that were opened (answered 200). */
  get opened(): number {
    return this.tunnels.filter((t) => t.status === 200).length;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((r) => this.server.close(r));
  }

  private track(s: net.Socket): void {
    this.sockets.add(s);
    s.on('close', () => this.sockets.delete(s));
  }

  private connect(req: http.IncomingMessage, client: net.Socket, head: Buffer): void {
    const target = req.url ?? '';
    const refuse = (status: number, text: string, extra = '') => {
      this.tunnels.push({ target, status });
      client.end(`HTTP/1.1 ${status} ${text}\r\n${extra}Content-Length: 0\r\n\r\n`);
    };
    const wanted = this.options.credentials;
    if (wanted) {
      const expected = `Basic ${Buffer.from(`${wanted.username}:${wanted.password}`).toString('base64')}`;
      if (req.headers['proxy-authorization'] !== expected) {
        refuse(407, 'Proxy Authentication Required', 'Proxy-Authenticate: Basic realm="test"\r\n');
        return;
      }
    }
    const match = /^\[?([^\]]+?)\]?:(\d+)$/.exec(target);
    if (!match) {
      refuse(400, 'Bad Request');
      return;
    }
    const host = this.options.hosts?.[match[1]] ?? match[1];
    const upstream = net.connect(Number(match[2]), host);
    this.track(upstream);
    upstream.once('error', () => {
      if (!client.destroyed) refuse(502, 'Bad Gateway');
    });
    upstream.once('connect', () => {
      this.tunnels.push({ target, status: 200 });
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.length > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
      client.on('error', () => upstream.destroy());
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
  }
}
