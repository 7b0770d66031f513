import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { withoutUrlCredentials } from './engine/redact';
import { eksClient } from './handler/eks-client';
import { onEvent } from './handler/handler';
import { responseSafeError } from './handler/response';

/** Answer this long before Lambda's own timeout, so failures are reported, not timed out. */
const SAFETY_MARGIN_MS = 30_000;

const region = process.env.AWS_REGION ?? 'us-east-1';
const credentials = defaultProvider();
// With connection and request timeouts: an unreachable EKS API fails in seconds, with a message, not at the Lambda timeout.
const eks = eksClient({ region, credentials });

export async function handler(event: CloudFormationCustomResourceEvent, context?: Context) {
  const remaining = context?.getRemainingTimeInMillis?.() ?? 5 * 60_000;
  // One JSON line per step; the events never carry the token or credentials, nor a URL's (a proxy's user:password@).
  const log = (e: { step: string; [key: string]: unknown }) => {
    console.log(withoutUrlCredentials(JSON.stringify({ requestId: context?.awsRequestId, ...e })));
  };
  try {
    return await onEvent(event, { eks, region, credentials, deadline: Date.now() + remaining - SAFETY_MARGIN_MS, log });
  } catch (e) {
    log({ step: 'failed', error: e instanceof Error ? { name: e.name, message: e.message, stack: e.stack } : String(e) });
    throw responseSafeError(e, context?.awsRequestId);
  }
}
