/**
 * The CDK app of the synth benchmark, run as `cdk synth` runs an app: a fresh Node process with ts-node.
 * An aws-eks cluster; with BENCH_WITH_CONSTRUCT=1 also the README's quick start (VpcCniOwnership adopting
 * into Helm, and the aws-vpc-cni chart after it), loaded from the COMPILED library in lib/, as a user's
 * app loads it from node_modules. Writes the cloud assembly to BENCH_OUTDIR.
 */
import * as path from 'path';
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { App, Stack, aws_eks as eks } from 'aws-cdk-lib';

const app = new App({ outdir: process.env.BENCH_OUTDIR });
const stack = new Stack(app, 'Bench', { env: { account: '111111111111', region: 'eu-west-1' } });
const cluster = new eks.Cluster(stack, 'Cluster', {
  version: eks.KubernetesVersion.V1_33,
  kubectlLayer: new KubectlV33Layer(stack, 'Kubectl'),
  defaultCapacity: 0,
});

// The same chart in both stacks: the only difference is VpcCniOwnership.
const chart = cluster.addHelmChart('AwsVpcCni', {
  repository: 'https://aws.github.io/eks-charts',
  chart: 'aws-vpc-cni',
  release: 'aws-vpc-cni',
  namespace: 'kube-system',
  values: { originalMatchLabels: true },
});

if (process.env.BENCH_WITH_CONSTRUCT === '1') {
  // Required here, not imported above: the stack without the construct must not load the library at all.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const lib: typeof import('../../src') = require(path.resolve(__dirname, '..', '..', 'lib'));
  const vpcCni = new lib.VpcCniOwnership(stack, 'VpcCni', {
    cluster: lib.ClusterTarget.fromEksCluster(cluster),
    action: lib.CniAction.adoptIntoHelm({ releaseName: 'aws-vpc-cni', releaseNamespace: 'kube-system' }),
  });
  chart.node.addDependency(vpcCni);
}

app.synth();
