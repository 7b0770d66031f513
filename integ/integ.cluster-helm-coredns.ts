// An aws-eks-v2 cluster whose CoreDNS is handed to Helm with DNS never down: the CoreDNS EKS
// preinstalled is adopted into release coredns, then the coredns chart is installed over it with the
// values that reproduce what runs (read at deploy time) and three replicas; the node group exists first.
import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, CfnOutput, Stack, aws_ec2 as ec2, aws_eks_v2 as eks } from 'aws-cdk-lib';
import { HelmManagedCoreDns } from '../src';
import { checkAwsSolutions } from './nag';

const app = new App();
const stack = new Stack(app, 'ClusterWithHelmCoreDns');
const cluster = new eks.Cluster(stack, 'Cluster', {
  version: eks.KubernetesVersion.V1_33,
  kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') },
  defaultCapacityType: eks.DefaultCapacityType.NODEGROUP,
  defaultCapacity: 0,
});
const nodes = cluster.addNodegroupCapacity('Nodes', {
  amiType: eks.NodegroupAmiType.AL2023_X86_64_STANDARD, instanceTypes: [new ec2.InstanceType('m6i.large')], minSize: 2,
});
const coreDns = new HelmManagedCoreDns(stack, 'CoreDns', { cluster, values: { replicaCount: 3 } });
// CoreDNS rolls once, one pod at a time: with nodes to run on.
coreDns.node.addDependency(nodes);

new CfnOutput(stack, 'PreviousOwner', { value: coreDns.ownership.previousOwner });
new CfnOutput(stack, 'ChartNotes', { value: coreDns.chartNotes });

new IntegTest(app, 'ClusterHelmCoreDns', { testCases: [stack] });
checkAwsSolutions(app);
