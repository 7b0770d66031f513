// EksClusterWithNetwork with kube-proxy-free Cilium in ENI mode: the VPC CNI is removed and
// kube-proxy disabled before any node exists, then Cilium is installed (its operator with an IAM
// role for service accounts), then the node groups.
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, CfnOutput, Stack, aws_ec2 as ec2, aws_eks_v2 as eks } from 'aws-cdk-lib';
import { ClusterNetwork, EksClusterWithNetwork } from '../src';
import { checkAwsSolutions } from './nag';

// The OpenID Connect provider as a native AWS::IAM::OIDCProvider, as new CDK apps have it.
const app = new App({ context: { '@aws-cdk/aws-eks:useNativeOidcProvider': true } });
const stack = new Stack(app, 'ClusterWithCilium');
const cluster = new EksClusterWithNetwork(stack, 'Cluster', {
  version: eks.KubernetesVersion.V1_33,
  kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') },
  network: ClusterNetwork.cilium({ kubeProxyReplacement: true, values: { hubble: { relay: { enabled: true } } } }),
  // Kubernetes 1.33 has no Amazon Linux 2 AMIs: name the AMI type (aws-cdk-lib defaults to AL2).
  defaultNodegroup: { amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD, instanceTypes: [new ec2.InstanceType('m6i.large')], minSize: 2 },
});
cluster.addNodegroupCapacity('Arm', { amiType: eks.NodegroupAmiType.AL2023_ARM_64_STANDARD, instanceTypes: [new ec2.InstanceType('m7g.large')], minSize: 1 });

new CfnOutput(stack, 'RemovedObjects', { value: cluster.networkSetup.vpcCniOwnership.changedObjects });
new CfnOutput(stack, 'CiliumOperatorRole', { value: cluster.networkSetup.ciliumOperatorRole!.roleArn });

new IntegTest(app, 'ClusterCilium', { testCases: [stack] });
checkAwsSolutions(app);
