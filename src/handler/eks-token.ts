import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { AwsCredentialIdentity, AwsCredentialIdentityProvider } from '@smithy/types';

/** How long the presigned URL (and so the token) is valid for the API server: EKS accepts up to 15 minutes. */
const EXPIRES_SECONDS = 60;

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
  const hostname = `sts.${options.region}.amazonaws.com`;
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
