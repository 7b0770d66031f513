import * as http from 'http';
import { AddressInfo } from 'net';

export type EksOperation = 'DescribeCluster' | 'DescribeAddon' | 'DeleteAddon' | 'Unknown';

export interface EksCall {
  readonly operation: EksOperation;
  readonly clusterName?: string;
  readonly addonName?: string;
  readonly preserve?: boolean;
  /** The SigV4 Authorization header, to check that the SDK signed the call. Never print it. */
  readonly authorization?: string;
}

export interface EksStandinOptions {
  readonly clusters: Record<string, { readonly endpoint: string; readonly caPem: string }>;
  /** Cluster names whose vpc-cni is a managed add-on. */
  readonly managedAddons?: string[];
}

const REGION = 'us-east-1';
const ACCOUNT = '111122223333';
const VPC_CNI = 'vpc-cni';
const ADDON_VERSION = 'v1.20.4-eksbuild.1';

/**
 * A local stand-in for the EKS API (DescribeCluster, DescribeAddon, DeleteAddon), speaking enough of
 * the REST-JSON protocol for the real `@aws-sdk/client-eks` pointed at `url`.
 */
export class EksStandin {
  static async start(options: EksStandinOptions): Promise<EksStandin> {
    const standin = new EksStandin(options);
    await new Promise<void>((resolve, reject) => {
      standin.server.once('error', reject);
      standin.server.listen(0, '127.0.0.1', resolve);
    });
    return standin;
  }

  readonly calls: EksCall[] = [];
  private readonly managed: Set<string>;
  private readonly server: http.Server;

  private constructor(private readonly options: EksStandinOptions) {
    this.managed = new Set(options.managedAddons ?? []);
    this.server = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        const { status, body, errorType } = this.handle(req);
        const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/json' };
        // The SDK picks the exception class from this header.
        if (errorType) headers['x-amzn-errortype'] = errorType;
        res.writeHead(status, headers).end(JSON.stringify(body));
      });
    });
  }

  /** http://127.0.0.1:<port>, for the SDK's `endpoint` or AWS_ENDPOINT_URL_EKS. */
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** Makes the cluster's vpc-cni a managed add-on (true) or self-managed (false). */
  setManaged(clusterName: string, managed: boolean): void {
    if (managed) this.managed.add(clusterName);
    else this.managed.delete(clusterName);
  }

  isManaged(clusterName: string): boolean {
    return this.managed.has(clusterName);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: http.IncomingMessage): { status: number; body: unknown; errorType?: string } {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const segments = url.pathname.split('/').filter((s) => s).map(decodeURIComponent);
    const authorization = req.headers.authorization;
    const [root, clusterName, sub, addonName] = segments;

    let operation: EksOperation = 'Unknown';
    if (root === 'clusters' && segments.length === 2 && req.method === 'GET') operation = 'DescribeCluster';
    if (root === 'clusters' && segments.length === 4 && sub === 'addons') {
      if (req.method === 'GET') operation = 'DescribeAddon';
      if (req.method === 'DELETE') operation = 'DeleteAddon';
    }
    const preserve = operation === 'DeleteAddon' ? url.searchParams.get('preserve') === 'true' : undefined;
    this.calls.push({ operation, clusterName, addonName, preserve, authorization });

    if (operation === 'Unknown') return error(404, 'UnknownOperationException', `no such operation: ${req.method} ${url.pathname}`);
    const cluster = this.options.clusters[clusterName];
    if (!cluster) return error(404, 'ResourceNotFoundException', `No cluster found for name: ${clusterName}.`);

    if (operation === 'DescribeCluster') {
      return {
        status: 200,
        body: {
          cluster: {
            name: clusterName,
            arn: `arn:aws:eks:${REGION}:${ACCOUNT}:cluster/${clusterName}`,
            status: 'ACTIVE',
            endpoint: cluster.endpoint,
            certificateAuthority: { data: Buffer.from(cluster.caPem).toString('base64') },
            version: '1.34',
            accessConfig: { authenticationMode: 'API_AND_CONFIG_MAP' },
          },
        },
      };
    }

    if (addonName !== VPC_CNI || !this.managed.has(clusterName)) {
      return error(404, 'ResourceNotFoundException', `No addon: ${addonName} found in cluster: ${clusterName}`);
    }
    const addon = { addonName, clusterName, status: 'ACTIVE', addonVersion: ADDON_VERSION };
    if (operation === 'DeleteAddon') {
      this.managed.delete(clusterName);
      return { status: 200, body: { addon: { ...addon, status: 'DELETING' } } };
    }
    return { status: 200, body: { addon } };
  }
}

function error(status: number, errorType: string, message: string) {
  return { status, errorType, body: { message } };
}
