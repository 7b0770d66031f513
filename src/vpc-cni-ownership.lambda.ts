import { defaultProvider } from '@aws-sdk/credential-provider-node';
import type { CloudFormationCustomResourceEvent, Context } from 'aws-lambda';
import { eksClient } from './handler/eks-client';
import { onEvent } from './handler/handler';

/** Answer this long before Lambda's own timeout, so failures are reported, not timed out. */
const SAFETY_MARGIN_MS = 30_000;

const region = process.env.AWS_REGION ?? 'us-east-1';
const credentials = defaultProvider();
// With connection and request timeouts: an unreachable EKS API fails in seconds, with a message, not at the Lambda timeout.
const eks = eksClient({ region, credentials });

export async function handler(event: CloudFormationCustomResourceEvent, context?: Context) {
  const remaining = context?.getRemainingTimeInMillis?.() ?? 5 * 60_000;
  return onEvent(event, {
    eks,
    region,
    credentials,
    deadline: Date.now() + remaining - SAFETY_MARGIN_MS,
    // One JSON line per step; the events never carry the token or credentials.
    log: (e) => console.log(JSON.stringify({ requestId: context?.awsRequestId, ...e })),
  });
}
