/**
 * What the CLI says when the API server cannot be reached, is not trusted, or refuses the identity:
 * which context and server, what happened (Node.js's words kept in parentheses), and what to do.
 */
import { KubeTarget } from './kubeconfig';
import { actionAccess, DEFAULT_IDENTITY, rbacObjects } from '../access';
import { Action, AddonDefinition, KubeApiError, KubeNetworkError, PartialApplyError, withoutUrlCredentials } from '../engine';

/** Where the command was connecting to, and for what. */
export interface FailureContext {
  readonly target: KubeTarget;
  readonly proxy?: { readonly url: string; readonly source: string };
  /** The command as typed, e.g. `inspect --addon vpc-cni`. */
  readonly command: string;
  readonly addon: AddonDefinition;
  readonly action: Action;
}

/** A failure of connecting or of access, in the CLI's terms; `cause` is the client's own error. Named by its class. */
abstract class ExplainedFailure extends Error {
  constructor(message: string, readonly cause: KubeNetworkError | KubeApiError) {
    super(message);
    this.name = new.target.name;
  }
}

/** The API server could not be reached, or not through its proxy. */
export class ClusterUnreachableError extends ExplainedFailure {}

/** The API server's certificate is not one the CLI may trust. */
export class ServerNotTrustedError extends ExplainedFailure {}

/** The API server does not accept the context's credentials (401). */
export class CredentialsRejectedError extends ExplainedFailure {}

/** The API server does not allow the context's identity something the command needs (403). */
export class PermissionDeniedError extends ExplainedFailure {}

/** Node.js's codes for a certificate no CA given verifies. */
const UNTRUSTED_CERTIFICATE = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

/**
 * The failure in the CLI's terms, when it is one of connecting or of access; anything else as it is.
 * A partial run keeps its own error (what was done and what was not), with its cause explained.
 */
export function explainFailure(e: Error, context: FailureContext): Error {
  if (e instanceof PartialApplyError && e.cause instanceof Error) {
    const cause = explainFailure(e.cause, context);
    return cause === e.cause ? e : new PartialApplyError(e.done, e.notDone, cause);
  }
  if (e instanceof KubeNetworkError) return networkFailure(e, context);
  if (e instanceof KubeApiError && e.status === 401) return credentialsRejected(e, context);
  if (e instanceof KubeApiError && e.status === 403) return permissionDenied(e, context);
  return e;
}

function serverOf(context: FailureContext): string {
  return `the API server ${withoutUrlCredentials(context.target.server)} (context "${context.target.context}")`;
}

function hostOf(server: string): { host: string; port: string } {
  try {
    const url = new URL(server);
    return { host: url.hostname.replace(/^\[(.*)\]$/, '$1'), port: url.port || '443' };
  } catch {
    return { host: server, port: '443' };
  }
}

function attemptsOf(e: KubeNetworkError): string {
  return e.attempts > 1 ? `; ${e.attempts} attempts` : '';
}

function kubeconfigOf(context: FailureContext): string {
  return `cluster "${context.target.cluster}" in ${context.target.files.join(', ')}`;
}

function networkFailure(e: KubeNetworkError, context: FailureContext): Error {
  const server = serverOf(context);
  const { host, port } = hostOf(context.target.server);
  const raw = `${e.method} ${e.path}: ${e.detail}${attemptsOf(e)}`;
  if (e.proxy) {
    const proxy = context.proxy ? `${withoutUrlCredentials(context.proxy.url)} (${context.proxy.source})` : e.proxy;
    const advice = e.code === 'EPROXYAUTH'
      ? 'The proxy asks for credentials: give them in its URL (http://user:password@host:port).'
      : e.code === 'EPROXY'
        ? `The proxy did not open a tunnel to ${host}:${port}: check that it allows CONNECT there, or exempt the server with NO_PROXY.`
        : 'Check the proxy\'s address and that it runs, or exempt the server with NO_PROXY.';
    return new ClusterUnreachableError(`Cannot reach ${server} through the proxy ${proxy} (${raw}). ${advice}`, e);
  }
  if (UNTRUSTED_CERTIFICATE.has(e.code)) {
    const ca = context.target.caSource;
    const by = ca?.key === 'certificate-authority' ? `the CA file ${ca.file} (certificate-authority)`
      : ca ? 'the CA in the kubeconfig (certificate-authority-data)' : 'any of the system\'s CAs';
    return new ServerNotTrustedError(`Cannot trust ${server}: its certificate is not signed by ${by} (${raw}). `
      + `${ca ? 'Give' : 'The kubeconfig names no CA for it: give'} ${kubeconfigOf(context)} the CA that signed the API server's certificate, `
      + 'as certificate-authority-data (base64 PEM) or certificate-authority (a PEM file); aws eks update-kubeconfig writes it for an EKS cluster. '
      + (ca ? '' : 'Or add that CA to the system\'s for this command: NODE_EXTRA_CA_CERTS=ca.pem. ')
      + 'Verification is never turned off.', e);
  }
  if (e.code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
    return new ServerNotTrustedError(`Cannot trust ${server}: its certificate is not issued for ${host} (${raw}). `
      + `Use a server address its certificate names (server of ${kubeconfigOf(context)}).`, e);
  }
  if (e.code === 'CERT_HAS_EXPIRED' || e.code === 'CERT_NOT_YET_VALID') {
    return new ServerNotTrustedError(`Cannot trust ${server}: its certificate is ${e.code === 'CERT_HAS_EXPIRED' ? 'expired' : 'not valid yet'} (${raw}). `
      + 'Check this machine\'s clock; if it is right, the cluster\'s certificate needs renewing.', e);
  }
  const privateEndpoint = 'a private endpoint answers only within its own network (its VPC, over a VPN, from a bastion) or through a proxy (HTTPS_PROXY)';
  switch (e.code) {
    case 'ECONNREFUSED':
      return new ClusterUnreachableError(`Cannot connect to ${server}: nothing accepts connections at ${host}:${port} (${raw}). `
        + `Check the server address of ${kubeconfigOf(context)}, and that the cluster is running.`, e);
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return new ClusterUnreachableError(`Cannot connect to ${server}: the name ${host} does not resolve here (${raw}). `
        + `Check the server address of ${kubeconfigOf(context)}; ${privateEndpoint}.`, e);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new ClusterUnreachableError(`Cannot connect to ${server}: no route to ${host} (${raw}). Check that this machine may reach it: ${privateEndpoint}.`, e);
    case 'ETIMEDOUT':
      return new ClusterUnreachableError(`No answer from ${server} (${raw}). Nothing answers at that address, or the network drops `
        + `the packets: check the server address of ${kubeconfigOf(context)}, and that this machine may reach it: ${privateEndpoint}, `
        + 'and a firewall or security group may drop what it does not allow.', e);
    default:
      return new ClusterUnreachableError(`The connection to ${server} failed (${raw}). If it keeps failing, check the proxies and firewalls between here and the server.`, e);
  }
}

function capitalised(text: string): string {
  return `${text[0].toUpperCase()}${text.slice(1)}`;
}

function credentialsRejected(e: KubeApiError, context: FailureContext): Error {
  const { user } = context.target;
  const u = user.value;
  const advice = u.exec
    ? `Its exec plugin (${u.exec.command}) gave credentials the cluster does not know: check whom they are for (for EKS: the cluster name, `
      + 'region and profile of aws eks get-token, and an access entry for that IAM identity).'
    : u['client-certificate'] || u['client-certificate-data']
      ? 'Its client certificate is not signed by the cluster\'s CA, or has expired.'
      : 'Its token is not valid for this cluster (expired, or another cluster\'s): get a new one.';
  return new CredentialsRejectedError(`${capitalised(serverOf(context))} does not accept the credentials of user "${user.name}" `
    + `(${e.message}). ${advice}`, e);
}

function permissionDenied(e: KubeApiError, context: FailureContext): Error {
  return new PermissionDeniedError(`The identity of context "${context.target.context}" may not do what ${context.command} needs (${e.message}). `
    + `These rules are enough, the construct's handler RBAC for the same action (rbacManifest()):\n${permissionsText(context.addon, context.action)}\n`
    + 'Grant them, or use an identity that has them (e.g. cluster-admin).', e);
}

/** The RBAC rules an action needs, one line per scope: `cluster-wide: get clusterroles aws-node; …`. */
export function permissionsText(addon: AddonDefinition, action: Action): string {
  const lines: string[] = [];
  for (const role of rbacObjects(actionAccess(addon, action), DEFAULT_IDENTITY).roles) {
    const rules = (role.rules as any[]).map((r) => {
      const groups = (r.apiGroups as string[]).filter((g) => g).map((g) => ` (${g})`).join('');
      return `${(r.verbs as string[]).join(', ')} ${(r.resources as string[]).join(', ')}${groups}${r.resourceNames ? ` ${(r.resourceNames as string[]).join(', ')}` : ''}`;
    });
    lines.push(`  ${role.kind === 'ClusterRole' ? 'cluster-wide' : `in namespace ${role.metadata.namespace}`}: ${rules.join('; ')}`);
  }
  return lines.join('\n');
}
