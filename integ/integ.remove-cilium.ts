// Remove the VPC CNI from an aws-eks-v2 cluster before any node exists, install Cilium in ENI
// mode, and only then add nodes.
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, CfnOutput, Stack, aws_ec2 as ec2, aws_eks_v2 as eks } from 'aws-cdk-lib';
import { ClusterTarget, CniAction, CrdPolicy, VpcCniOwnership } from '../src';
import { checkAwsSolutions } from './nag';

const app = new App();
const stack = new Stack(app, 'VpcCniRemoveForCilium');
const cluster = new eks.Cluster(stack, 'Cluster', {
  version: eks.KubernetesVersion.V1_33,
  kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') },
  // Node groups, not Auto Mode: Auto Mode brings its own networking and no aws-node DaemonSet.
  defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
  defaultCapacity: 0,
});

const vpcCni = new VpcCniOwnership(stack, 'VpcCni', {
  cluster: ClusterTarget.fromEksV2Cluster(cluster),
  action: CniAction.remove({ crdPolicy: CrdPolicy.DELETE_IF_UNUSED }),
});

const cilium = cluster.addHelmChart('Cilium', {
  repository: 'https://helm.cilium.io',
  chart: 'cilium',
  release: 'cilium',
  namespace: 'kube-system',
  version: '1.18.4',
  values: {
    eni: { enabled: true },
    ipam: { mode: 'eni' },
    routingMode: 'native',
    egressMasqueradeInterfaces: 'eth+',
  },
});
cilium.node.addDependency(vpcCni);

const nodes = cluster.addNodegroupCapacity('Nodes', {
  instanceTypes: [new ec2.InstanceType('m6i.large')],
  amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD,
  minSize: 1,
});
nodes.node.addDependency(cilium);

new CfnOutput(stack, 'RemovedObjects', { value: vpcCni.changedObjects });

new IntegTest(app, 'RemoveForCilium', { testCases: [stack] });
checkAwsSolutions(app);
