/**
 * The EKS token's STS host in every partition. That the API server accepts such a token is shown with
 * the token webhook (standins.kube.test.ts); here, that it names and signs the partition's host.
 */
import * as path from 'path';
import { Hash } from '@smithy/hash-node';
import { HttpRequest } from '@smithy/protocol-http';
import { SignatureV4 } from '@smithy/signature-v4';
import { eksToken, stsHostname } from '../../src/handler/eks-token';

const CREDENTIALS = { accessKeyId: 'AKIDEKSTOKENTEST0001', secretAccessKey: 'not-a-real-secret' };
const NOW = new Date('2026-11-25T12:00:00Z');

/** The AWS SDK's own partition lookup, from the copy the EKS client this handler bundles uses. */
const SDK_CORE = require.resolve('@aws-sdk/core/client', { paths: [path.dirname(require.resolve('@aws-sdk/client-eks'))] });
// eslint-disable-next-line @typescript-eslint/no-require-imports -- a path resolved at run time, from client-eks's own dependencies
const sdkPartition: (region: string) => { name: string; dnsSuffix: string } = require(SDK_CORE).partition;

function decode(token: string): URL {
  expect(token).toMatch(/^k8s-aws-v1\.[A-Za-z0-9_-]+$/);
  return new URL(Buffer.from(token.slice('k8s-aws-v1.'.length), 'base64url').toString('utf8'));
}

test.each([
  ['us-east-1', 'sts.us-east-1.amazonaws.com'],
  ['cn-north-1', 'sts.cn-north-1.amazonaws.com.cn'],
  ['cn-northwest-1', 'sts.cn-northwest-1.amazonaws.com.cn'],
  ['us-gov-west-1', 'sts.us-gov-west-1.amazonaws.com'],
])('%s: the token is a presigned GetCallerIdentity on %s, signed for that host and region', async (region, host) => {
  const url = decode(await eksToken({ clusterName: 'prod', region, credentials: CREDENTIALS, now: NOW }));
  expect(url.host).toBe(host);
  expect(url.searchParams.get('X-Amz-Credential')).toBe(`${CREDENTIALS.accessKeyId}/20261125/${region}/sts/aws4_request`);
  expect(url.searchParams.get('X-Amz-SignedHeaders')).toBe('host;x-k8s-aws-id');

  // The signature covers the host in the URL: signed for any other host it would differ.
  const signer = new SignatureV4({ credentials: CREDENTIALS, region, service: 'sts', sha256: Hash.bind(null, 'sha256') });
  const presign = async (hostname: string) => (await signer.presign(new HttpRequest({
    method: 'GET',
    protocol: 'https:',
    hostname,
    path: '/',
    query: { Action: 'GetCallerIdentity', Version: '2011-06-15' },
    headers: { 'host': hostname, 'x-k8s-aws-id': 'prod' },
  }), { expiresIn: 60, signingDate: NOW })).query?.['X-Amz-Signature'];
  expect(url.searchParams.get('X-Amz-Signature')).toBe(await presign(host));
  expect(url.searchParams.get('X-Amz-Signature')).not.toBe(await presign(`sts.${region}.amazonaws.com.invalid`));
});

// One region of each partition the SDK knows; a region the SDK does not know falls back to aws, as here.
test.each(['us-east-1', 'eu-west-3', 'cn-north-1', 'us-gov-east-1', 'us-iso-east-1', 'us-isob-east-1', 'eu-isoe-west-1', 'us-isof-south-1', 'eusc-de-east-1', 'xx-unknown-1'])(
  '%s: the STS host uses the DNS suffix of the AWS SDK\'s partition data', (region) => {
    expect(stsHostname(region)).toBe(`sts.${region}.${sdkPartition(region).dnsSuffix}`);
  },
);
