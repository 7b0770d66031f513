import { EKSClient } from '@aws-sdk/client-eks';
import type { AwsCredentialIdentityProvider, BuildMiddleware, InitializeMiddleware } from '@smithy/types';

/** The longest wait for a connection to the EKS API, per attempt. */
export const EKS_CONNECTION_TIMEOUT_MS = 5_000;
/** The longest a whole EKS API call may take, per attempt (its answers are small). */
export const EKS_REQUEST_TIMEOUT_MS = 15_000;
/** Attempts per EKS API call (the SDK's standard retries). */
export const EKS_MAX_ATTEMPTS = 3;

/** Failures of the network, not answers of the EKS API: the SDK attaches no HTTP status to these. */
const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'EPIPE']);

/** The EKS API could not be reached or did not answer in time, after the SDK's retries. */
export class EksUnreachableError extends Error {
  constructor(readonly operation: string, readonly host: string, cause: Error) {
    super(`Cannot reach the EKS API at ${host} (${operation}): ${cause.message}. `
      + 'If the handler runs in a VPC (handlerNetwork), its subnets need a route to the EKS API: a NAT gateway or an EKS interface VPC endpoint.');
    this.name = 'EksUnreachableError';
  }
}

export interface EksClientOptions {
  readonly region: string;
  readonly credentials: AwsCredentialIdentityProvider;
  /** Another endpoint than the region's (tests, stand-ins); `AWS_ENDPOINT_URL_EKS` works too. */
  readonly endpoint?: string;
  readonly connectionTimeoutMs?: number;
  readonly requestTimeoutMs?: number;
  readonly maxAttempts?: number;
}

/**
 * The handler's EKS client. Without timeouts the SDK waits as long as the operating system lets a
 * connection hang, and the Lambda function would time out instead of answering CloudFormation; with
 * them, an unreachable EKS API fails within seconds, saying what to check.
 */
export function eksClient(options: EksClientOptions): EKSClient {
  const client = new EKSClient({
    region: options.region,
    credentials: options.credentials,
    endpoint: options.endpoint,
    maxAttempts: options.maxAttempts ?? EKS_MAX_ATTEMPTS,
    requestHandler: {
      connectionTimeout: options.connectionTimeoutMs ?? EKS_CONNECTION_TIMEOUT_MS,
      requestTimeout: options.requestTimeoutMs ?? EKS_REQUEST_TIMEOUT_MS,
      // Without this the SDK only logs a warning when requestTimeout passes.
      throwOnRequestTimeout: true,
    },
  });
  // The host the call was sent to, for the message (known only once the request is built).
  const recordHost: BuildMiddleware<any, any> = (next, context) => async (args) => {
    const request = args.request as { hostname?: string; port?: number };
    if (request?.hostname) context.eksHost = `${request.hostname}${request.port ? `:${request.port}` : ''}`;
    return next(args);
  };
  // Outermost, so it sees the failure after the SDK's retries.
  const explainUnreachable: InitializeMiddleware<any, any> = (next, context) => async (args) => {
    try {
      return await next(args);
    } catch (e) {
      if (isNetworkFailure(e)) throw new EksUnreachableError(context.commandName ?? 'EKS API call', context.eksHost ?? `the EKS endpoint of ${options.region}`, e);
      throw e;
    }
  };
  client.middlewareStack.add(recordHost, { step: 'build', name: 'recordEksHost' });
  client.middlewareStack.add(explainUnreachable, { step: 'initialize', priority: 'high', name: 'explainEksUnreachable' });
  return client;
}

function isNetworkFailure(e: unknown): e is Error {
  if (typeof e !== 'object' || e === null || typeof (e as Error).message !== 'string') return false;
  // An answer of the EKS API carries its HTTP status; a failure to get one does not.
  if ((e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode) return false;
  const { name, code, message } = e as NodeJS.ErrnoException;
  // The SDK may re-wrap an error it does not recognise as one, keeping only the message.
  return name === 'TimeoutError' || NETWORK_CODES.has(code ?? '') || [...NETWORK_CODES].some((c) => message.includes(`${c} `) || message.endsWith(c));
}
