// A cluster known only by name, with a private endpoint: the handler runs in the given VPC and
// security group; a dry-run of adopt reports the plan without writing.
import { IntegTest } from '@aws-cdk/integ-tests-alpha';
import { App, CfnOutput, Stack, aws_ec2 as ec2 } from 'aws-cdk-lib';
import { ClusterTarget, CniAction, VpcCniOwnership } from '../src';
import { checkAwsSolutions } from './nag';

const app = new App();
const stack = new Stack(app, 'VpcCniImportedCluster');
const vpc = ec2.Vpc.fromVpcAttributes(stack, 'Vpc', {
  vpcId: 'vpc-0123456789abcdef0',
  availabilityZones: ['us-east-1a', 'us-east-1b'],
  privateSubnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
});
const clusterSecurityGroup = ec2.SecurityGroup.fromSecurityGroupId(stack, 'ClusterSecurityGroup', 'sg-0123456789abcdef0');

const vpcCni = new VpcCniOwnership(stack, 'VpcCni', {
  cluster: ClusterTarget.fromClusterName({
    clusterName: 'existing-cluster',
    handlerNetwork: { vpc, securityGroups: [clusterSecurityGroup] },
  }),
  action: CniAction.adoptIntoHelm(),
  dryRun: true,
});

new CfnOutput(stack, 'Plan', { value: vpcCni.plan });

new IntegTest(app, 'ImportedCluster', { testCases: [stack] });
checkAwsSolutions(app);
