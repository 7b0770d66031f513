// EksClusterWithNetwork with Calico: the VPC CNI is removed, the Tigera operator chart installs
// Calico (Calico CNI and IPAM, VXLAN), then the node group is created.
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, CfnOutput, Stack, aws_ec2 as ec2, aws_eks_v2 as eks } from 'aws-cdk-lib';
import { ClusterNetwork, CrdPolicy, EksClusterWithNetwork } from '../src';
import { checkAwsSolutions } from './nag';

const app = new App();
const stack = new Stack(app, 'ClusterWithCalico');
const cluster = new EksClusterWithNetwork(stack, 'Cluster', {
  version: eks.KubernetesVersion.V1_33,
  kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') },
  network: ClusterNetwork.calico({
    crdPolicy: CrdPolicy.DELETE,
    values: { installation: { calicoNetwork: { ipPools: [{ cidr: '172.16.0.0/16', encapsulation: 'VXLAN' }] } } },
  }),
  defaultNodegroup: { amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD, instanceTypes: [new ec2.InstanceType('m6i.large')], minSize: 2 },
});

new CfnOutput(stack, 'RemovedObjects', { value: cluster.networkSetup.vpcCniOwnership.changedObjects });

new IntegTest(app, 'ClusterCalico', { testCases: [stack] });
checkAwsSolutions(app);
