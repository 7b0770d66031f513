import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** How long the presigned URL (and so the token) is valid for the API server: EKS accepts up to 15 minutes. */
const EXPIRES_SECONDS = 60;

/**
 * The DNS suffix of each AWS partition but `aws` (amazonaws.com, also the suffix of `aws-us-gov`), by
 * its region pattern, as in the AWS SDK's partition data (test/handler/eks-token.test.ts compares them).
 */
const PARTITION_DNS_SUFFIXES: readonly (readonly [RegExp, string])[] = [
  [/^cn-\w+-\d+$/, 'amazonaws.com.cn'],
  [/^eusc-de-\w+-\d+$/, 'amazonaws.eu'],
  [/^us-iso-\w+-\d+$/, 'c2s.ic.gov'],
  [/^us-isob-\w+-\d+$/, 'sc2s.sgov.gov'],
  [/^eu-isoe-\w+-\d+$/, 'cloud.adc-e.uk'],
  [/^us-isof-\w+-\d+$/, 'csp.hci.ic.gov'],
];

/** STS's regional endpoint, `sts.<region>.<the partition's DNS suffix>`: the host EKS's authenticator accepts in a token. */
export function stsHostname(region: string): string {
  const suffix = PARTITION_DNS_SUFFIXES.find(([pattern]) => pattern.test(region))?.[1] ?? 'amazonaws.com';
  return `sts.${region}.${suffix}`;
}

/**
 * An EKS bearer token: a presigned STS GetCallerIdentity URL whose signed headers include
 * `x-k8s-aws-id: <cluster name>`, as `k8s-aws-v1.` + unpadded base64url. Signed locally; no call to STS.
 */
export async function eksToken(options: {
  readonly clusterName: string;
  readonly region: string;
  readonly credentials: AwsCredentialIdentity | AwsCredentialIdentityProvider;
  readonly now?: Date;
}): Promise<string> {
  const hostname = stsHostname(options.region);
  const signer = new SignatureV4({
    credentials: options.credentials,
    region: options.region,
    service: 'sts',
    sha256: Hash.bind(null, 'sha256'),
  });
  const request = new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { 'host': hostname, 'x-k8s-aws-id': options.clusterName },
  });
  const signed = await signer.presign(request, { expiresIn: EXPIRES_SECONDS, signingDate: options.now });
  const query = Object.entries(signed.query ?? {})
    .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
    .join('&');
  const url = `https://${hostname}/?${query}`;
  return `k8s-aws-v1.${Buffer.from(url).toString('base64url')}`;
}
