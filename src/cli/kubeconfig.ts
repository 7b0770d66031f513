import { execFile } from 'child_process';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { KubeConnection, proxyFromEnvironment, withoutUrlCredentials } from '../engine';

/** A problem with the kubeconfig itself (unreadable, incomplete, unsupported). */
export class KubeconfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'KubeconfigError';
  }
}

/** The context asked for is not in the kubeconfig: a usage error, not a cluster one. */
export class UnknownContextError extends KubeconfigError {}

interface Named<T> { readonly name: string; readonly value: T; readonly dir: string }

interface ClusterEntry {
  readonly 'server'?: string;
  readonly 'certificate-authority'?: string;
  readonly 'certificate-authority-data'?: string;
  readonly 'insecure-skip-tls-verify'?: boolean;
  readonly 'proxy-url'?: string;
  readonly 'tls-server-name'?: string;
}

export interface ExecConfig {
  readonly apiVersion?: string;
  readonly command?: string;
  readonly args?: string[];
  readonly env?: { name: string; value: string }[] | null;
  readonly interactiveMode?: string;
  readonly provideClusterInfo?: boolean;
  readonly installHint?: string;
}

interface UserEntry {
  readonly 'token'?: string;
  readonly 'tokenFile'?: string;
  readonly 'client-certificate'?: string;
  readonly 'client-certificate-data'?: string;
  readonly 'client-key'?: string;
  readonly 'client-key-data'?: string;
  readonly 'exec'?: ExecConfig;
  readonly 'username'?: string;
  readonly 'auth-provider'?: unknown;
}

interface ContextEntry { readonly cluster?: string; readonly user?: string }

/** Several kubeconfig files merged the way kubectl merges them: for each name, the first file that has it wins. */
export interface Kubeconfig {
  readonly files: readonly string[];
  readonly currentContext?: string;
  readonly clusters: ReadonlyMap<string, Named<ClusterEntry>>;
  readonly users: ReadonlyMap<string, Named<UserEntry>>;
  readonly contexts: ReadonlyMap<string, Named<ContextEntry>>;
}

/** Which files to read: `--kubeconfig`, else `$KUBECONFIG` (a path list), else `~/.kube/config`. */
export function kubeconfigFiles(flag: string | undefined, env: NodeJS.ProcessEnv): { files: string[]; explicit: boolean } {
  if (flag) return { files: [path.resolve(flag)], explicit: true };
  const fromEnv = (env.KUBECONFIG ?? '').split(path.delimiter).filter((f) => f);
  if (fromEnv.length > 0) return { files: fromEnv.map((f) => path.resolve(f)), explicit: false };
  return { files: [path.join(env.HOME ?? os.homedir(), '.kube', 'config')], explicit: false };
}

/**
 * Reads and merges kubeconfig files. A file named by `--kubeconfig` must exist; files of the
 * `$KUBECONFIG` list that do not exist are skipped, as kubectl does.
 */
export function loadKubeconfig(files: readonly string[], explicit: boolean): Kubeconfig {
  const clusters = new Map<string, Named<ClusterEntry>>();
  const users = new Map<string, Named<UserEntry>>();
  const contexts = new Map<string, Named<ContextEntry>>();
  let currentContext: string | undefined;
  const read: string[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch (e: any) {
      if (e.code === 'ENOENT' && !explicit) continue;
      throw new KubeconfigError(`Cannot read kubeconfig ${file}: ${e.message}`);
    }
    let doc: any;
    try {
      doc = parseYaml(text) ?? {};
    } catch (e: any) {
      throw new KubeconfigError(`Kubeconfig ${file} is not valid YAML: ${e.message}`);
    }
    if (typeof doc !== 'object' || Array.isArray(doc)) throw new KubeconfigError(`Kubeconfig ${file} is not a mapping`);
    read.push(file);
    const dir = path.dirname(file);
    collect(doc.clusters, 'cluster', dir, clusters, file);
    collect(doc.users, 'user', dir, users, file);
    collect(doc.contexts, 'context', dir, contexts, file);
    if (!currentContext && typeof doc['current-context'] === 'string' && doc['current-context']) currentContext = doc['current-context'];
  }
  if (read.length === 0) throw new KubeconfigError(`No kubeconfig found (looked for ${files.join(', ')}); pass --kubeconfig`);
  return { files: read, currentContext, clusters, users, contexts };
}

function collect<T>(list: unknown, key: string, dir: string, into: Map<string, Named<T>>, file: string): void {
  if (list === undefined || list === null) return;
  if (!Array.isArray(list)) throw new KubeconfigError(`Kubeconfig ${file}: ${key}s must be a list`);
  for (const item of list) {
    if (typeof item?.name !== 'string') throw new KubeconfigError(`Kubeconfig ${file}: a ${key} entry has no name`);
    if (!into.has(item.name)) into.set(item.name, { name: item.name, value: item[key] ?? {}, dir });
  }
}

/** What a context resolves to, before its credentials are fetched. */
export interface KubeTarget {
  readonly context: string;
  /** The context's cluster entry, by name. */
  readonly cluster: string;
  readonly server: string;
  /** The kubeconfig files read. */
  readonly files: readonly string[];
  /** The cluster's CA; absent: the system's trust store, as kubectl does. */
  readonly caData?: string;
  /** Where the CA came from: the kubeconfig's `certificate-authority-data`, or the file `certificate-authority` names. */
  readonly caSource?: { readonly key: 'certificate-authority-data' | 'certificate-authority'; readonly file?: string };
  /** The cluster's `proxy-url`. */
  readonly proxyUrl?: string;
  readonly user: Named<UserEntry>;
}

/** The context's cluster and user. Refuses what would weaken TLS or what this CLI cannot do. */
export function resolveContext(config: Kubeconfig, contextName?: string): KubeTarget {
  const name = contextName ?? config.currentContext;
  if (!name) throw new UnknownContextError(`The kubeconfig (${config.files.join(', ')}) has no current-context; pass --context`);
  const context = config.contexts.get(name);
  if (!context) {
    throw new UnknownContextError(`Context "${name}" is not in the kubeconfig (${config.files.join(', ')}); it has: ${[...config.contexts.keys()].join(', ') || 'none'}`);
  }
  const cluster = context.value.cluster ? config.clusters.get(context.value.cluster) : undefined;
  if (!cluster) throw new KubeconfigError(`Context "${name}": cluster "${context.value.cluster ?? ''}" is not in the kubeconfig`);
  const user = context.value.user ? config.users.get(context.value.user) : undefined;
  if (!user) throw new KubeconfigError(`Context "${name}": user "${context.value.user ?? ''}" is not in the kubeconfig`);

  const c = cluster.value;
  const where = `cluster "${cluster.name}"`;
  if (!c.server) throw new KubeconfigError(`${where} has no server`);
  // This CLI always verifies the API server's certificate against the cluster's own CA.
  if (c['insecure-skip-tls-verify']) throw new KubeconfigError(`${where}: insecure-skip-tls-verify is not supported; give certificate-authority(-data)`);
  if (c['tls-server-name']) throw new KubeconfigError(`${where}: tls-server-name is not supported`);
  const proxyUrl = c['proxy-url'] || undefined;
  if (proxyUrl && !/^http:\/\//i.test(proxyUrl)) {
    throw new KubeconfigError(`${where}: proxy-url ${JSON.stringify(withoutUrlCredentials(proxyUrl))} is not supported; only http:// proxies (HTTP CONNECT)`);
  }
  if (proxyUrl && !isUrl(proxyUrl)) throw new KubeconfigError(`${where}: proxy-url ${JSON.stringify(withoutUrlCredentials(proxyUrl))} is not a URL`);
  // Without a CA in the kubeconfig, kubectl verifies with the system's trust store; so does this CLI.
  const caFile = c['certificate-authority'] ? path.resolve(cluster.dir, c['certificate-authority']) : undefined;
  const caData = c['certificate-authority-data']
    ? decodeBase64(c['certificate-authority-data'], `${where} certificate-authority-data`)
    : caFile ? readFile(cluster.dir, caFile, `${where} certificate-authority`) : undefined;
  const caSource = c['certificate-authority-data'] ? { key: 'certificate-authority-data' as const }
    : caFile ? { key: 'certificate-authority' as const, file: caFile } : undefined;
  return { context: name, cluster: cluster.name, server: c.server, files: config.files, caData, caSource, proxyUrl, user };
}

/** The proxy the connection goes through, and what set it; undefined: none (direct). */
export function proxyOf(target: KubeTarget, env: NodeJS.ProcessEnv): { readonly url: string; readonly source: string } | undefined {
  if (target.proxyUrl) return { url: target.proxyUrl, source: `proxy-url of cluster "${target.cluster}"` };
  const url = proxyFromEnvironment(target.server, env);
  return url ? { url, source: env.HTTPS_PROXY ? 'HTTPS_PROXY' : 'https_proxy' } : undefined;
}

/** Fetches the user's credentials (running an exec plugin if there is one) and returns a connection. */
export async function connect(target: KubeTarget, env: NodeJS.ProcessEnv): Promise<KubeConnection> {
  const { value: u, dir, name } = target.user;
  const where = `user "${name}"`;
  if (u['auth-provider']) throw new KubeconfigError(`${where}: auth-provider plugins are not supported; use an exec plugin`);
  if (u.username) throw new KubeconfigError(`${where}: basic authentication (username/password) is not supported`);
  // As kubectl: the cluster's proxy-url if it has one (for any server), else HTTPS_PROXY unless NO_PROXY exempts the server.
  const proxyUrl = proxyOf(target, env)?.url;

  let token = u.token ?? (u.tokenFile ? readFile(dir, u.tokenFile, `${where} tokenFile`).trim() : undefined);
  let clientCertData = u['client-certificate-data']
    ? decodeBase64(u['client-certificate-data'], `${where} client-certificate-data`)
    : u['client-certificate'] ? readFile(dir, u['client-certificate'], `${where} client-certificate`) : undefined;
  let clientKeyData = u['client-key-data']
    ? decodeBase64(u['client-key-data'], `${where} client-key-data`)
    : u['client-key'] ? readFile(dir, u['client-key'], `${where} client-key`) : undefined;

  if (u.exec) {
    const credential = await execCredential(u.exec, dir, target, env, where);
    token = credential.token ?? token;
    if (credential.clientCertificateData) {
      clientCertData = credential.clientCertificateData;
      clientKeyData = credential.clientKeyData;
    }
  }
  if (!!clientCertData !== !!clientKeyData) throw new KubeconfigError(`${where} has a client certificate without its key, or a key without its certificate`);
  if (!token && !clientCertData) throw new KubeconfigError(`${where} has no token, client certificate or exec plugin`);
  return { endpoint: target.server, caData: target.caData, token, clientCertData, clientKeyData, proxyUrl };
}

const EXEC_API_VERSIONS = ['client.authentication.k8s.io/v1', 'client.authentication.k8s.io/v1beta1'];
const EXEC_TIMEOUT_MS = 60_000;

interface ExecCredentialStatus {
  readonly token?: string;
  readonly clientCertificateData?: string;
  readonly clientKeyData?: string;
}

/**
 * Runs an exec credential plugin (e.g. `aws eks get-token`) the way kubectl does: its own env on top
 * of ours, `KUBERNETES_EXEC_INFO` describing the request, no terminal, and an ExecCredential on stdout.
 */
async function execCredential(
  exec: ExecConfig, dir: string, target: KubeTarget, env: NodeJS.ProcessEnv, where: string,
): Promise<ExecCredentialStatus> {
  const apiVersion = exec.apiVersion ?? '';
  if (!EXEC_API_VERSIONS.includes(apiVersion)) {
    throw new KubeconfigError(`${where}: exec apiVersion "${apiVersion}" is not supported; use ${EXEC_API_VERSIONS.join(' or ')}`);
  }
  if (!exec.command) throw new KubeconfigError(`${where}: exec has no command`);
  if (exec.interactiveMode === 'Always') throw new KubeconfigError(`${where}: the exec plugin needs a terminal (interactiveMode: Always); this CLI runs without one`);
  const command = execCommandPath(exec.command, dir);
  const info = {
    apiVersion,
    kind: 'ExecCredential',
    spec: {
      interactive: false,
      ...(exec.provideClusterInfo ? { cluster: clusterInfo(target) } : {}),
    },
  };
  const childEnv: NodeJS.ProcessEnv = { ...execEnvironment(exec, env), KUBERNETES_EXEC_INFO: JSON.stringify(info) };

  const stdout = await new Promise<string>((resolve, reject) => {
    execFile(command, exec.args ?? [], { env: childEnv, timeout: EXEC_TIMEOUT_MS, maxBuffer: 1024 * 1024, encoding: 'utf8' }, (error, out, err) => {
      if (!error) return resolve(out);
      const hint = (error as NodeJS.ErrnoException).code === 'ENOENT' && exec.installHint ? `\n${exec.installHint.trim()}` : '';
      const detail = String(err).trim().split('\n').slice(-5).join('\n');
      reject(new KubeconfigError(`${where}: exec plugin ${exec.command} failed: ${error.message.split('\n')[0]}${detail ? `\n${detail}` : ''}${hint}`));
    });
  });
  let credential: any;
  try {
    credential = JSON.parse(stdout);
  } catch {
    throw new KubeconfigError(`${where}: exec plugin ${exec.command} did not print an ExecCredential (not JSON)`);
  }
  if (credential?.kind !== 'ExecCredential' || credential.apiVersion !== apiVersion) {
    // Only kind and apiVersion: the rest may be a credential.
    throw new KubeconfigError(`${where}: exec plugin ${exec.command} printed kind ${JSON.stringify(credential?.kind)}, `
      + `apiVersion ${JSON.stringify(credential?.apiVersion)}; expected an ExecCredential of ${apiVersion}`);
  }
  const status: ExecCredentialStatus = credential.status ?? {};
  if (!status.token && !(status.clientCertificateData && status.clientKeyData)) {
    throw new KubeconfigError(`${where}: exec plugin ${exec.command} returned neither status.token nor status.clientCertificateData and clientKeyData`);
  }
  return status;
}

/** As in kubectl: a command with a path separator is relative to the kubeconfig's directory; a bare name is looked up in PATH. */
export function execCommandPath(command: string, kubeconfigDir: string): string {
  return command.includes(path.sep) ? path.resolve(kubeconfigDir, command) : command;
}

/** An exec plugin's environment: its own env entries on top of ours. */
export function execEnvironment(exec: ExecConfig, env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const childEnv: NodeJS.ProcessEnv = { ...env };
  for (const e of exec.env ?? []) childEnv[e.name] = e.value;
  return childEnv;
}

/** The cluster as an exec plugin is told of it (provideClusterInfo). */
function clusterInfo(target: KubeTarget): Record<string, string> {
  const info: Record<string, string> = { server: target.server };
  if (target.caData) info['certificate-authority-data'] = Buffer.from(target.caData).toString('base64');
  if (target.proxyUrl) info['proxy-url'] = target.proxyUrl;
  return info;
}

function isUrl(text: string): boolean {
  try {
    return !!new URL(text);
  } catch {
    return false;
  }
}

function readFile(dir: string, file: string, what: string): string {
  try {
    return fs.readFileSync(path.resolve(dir, file), 'utf8');
  } catch (e: any) {
    throw new KubeconfigError(`Cannot read ${what} ${file}: ${e.message}`);
  }
}

function decodeBase64(value: string, what: string): string {
  if (!/^[A-Za-z0-9+/=\s]+$/.test(value)) throw new KubeconfigError(`${what} is not base64`);
  return Buffer.from(value, 'base64').toString('utf8');
}
