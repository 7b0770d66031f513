// An aws-eks-v2 cluster without a kubectl provider: the handler gets a cluster-scoped access
// policy, and the VPC CNI is disabled (deleting the stack restores it).
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, CfnOutput, Stack, aws_eks_v2 as eks } from 'aws-cdk-lib';
import { ClusterTarget, CniAction, VpcCniOwnership } from '../src';
import { checkAwsSolutions } from './nag';

const app = new App();
const stack = new Stack(app, 'VpcCniEksV2Disable');
const cluster = new eks.Cluster(stack, 'Cluster', {
  version: eks.KubernetesVersion.V1_33,
  defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
  defaultCapacity: 0,
});

const vpcCni = new VpcCniOwnership(stack, 'VpcCni', {
  cluster: ClusterTarget.fromEksV2Cluster(cluster),
  action: CniAction.disable(),
});

new CfnOutput(stack, 'PreviousOwner', { value: vpcCni.previousOwner });

new IntegTest(app, 'EksV2Disable', { testCases: [stack] });
checkAwsSolutions(app);
