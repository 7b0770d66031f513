import { App, Aspects, Stack, aws_eks as eks, aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import { AwsSolutionsChecks, NagPackSuppression, NagSuppressions } from 'cdk-nag';
import { IConstruct } from 'constructs';
import { ClusterNetworkSetup, HelmManagedCoreDns, PreinstalledAddonOwnership } from '../src';

/** The id of the stack-level handler (one Lambda function and one Provider) every VpcCniOwnership shares. */
const HANDLER_ID = 'VpcCniOwnershipHandler';

/** The partition as cdk-nag prints it: a token, or resolved when the synthesis knows the region. */
const PARTITION = '(<AWS::Partition>|aws|aws-cn|aws-us-gov)';

/** This library's findings, each accepted for a stated reason, limited to the exact policy or resource. */
const OUR_HANDLER: NagPackSuppression[] = [
  {
    id: 'AwsSolutions-IAM4',
    reason: 'AWSLambdaBasicExecutionRole (and AWSLambdaVPCAccessExecutionRole when the handler runs in the cluster VPC) are the policies Lambda documents for a function\'s own logs and network interfaces',
    appliesTo: [{ regex: `/^Policy::arn:${PARTITION}:iam::aws:policy\\/service-role\\/(AWSLambdaBasicExecutionRole|AWSLambdaVPCAccessExecutionRole)$/g` }],
  },
  {
    id: 'AwsSolutions-IAM5',
    reason: 'An EKS add-on ARN ends in an id EKS generates (addon/<cluster>/<add-on>/<id>), so the add-on (vpc-cni, kube-proxy, coredns) of the one cluster can only be named with a trailing wildcard; the provider framework invokes the handler by any version (<arn>:*)',
    appliesTo: [
      { regex: `/^Resource::arn:${PARTITION}:eks:.*:addon\\/.*\\/(vpc-cni|kube-proxy|coredns)\\/\\*$/g` },
      { regex: '/^Resource::<VpcCniOwnershipHandlerFunction[A-Za-z0-9]+\\.Arn>:\\*$/g' },
    ],
  },
];

/**
 * The Provider's framework function in the handler's subtree: custom_resources.Provider sets its
 * Node.js runtime itself and has no setting for it. The handler function runs on the latest (Node.js 24).
 */
const OUR_PROVIDER_FRAMEWORK: NagPackSuppression[] = [{
  id: 'AwsSolutions-L1',
  reason: 'The framework-onEvent function of the handler\'s custom_resources.Provider gets its Node.js runtime from the aws-cdk-lib version in use, '
    + 'which offers no setting for it; the handler function itself runs on the latest runtime',
}];

/** The Cilium operator role ClusterNetwork.cilium() creates. */
const OUR_CILIUM_OPERATOR: NagPackSuppression[] = [{
  id: 'AwsSolutions-IAM5',
  reason: 'The Cilium operator in ENI mode calls EC2 Describe* (no resource-level permissions exist for them) and creates, attaches, '
    + 'tags and deletes network interfaces and addresses on nodes and interfaces whose ids are not known before they exist',
  appliesTo: ['Resource::*', { regex: `/^Resource::arn:${PARTITION}:ec2:.*:network-interface\\/\\*$/g` }],
}];

/** Node groups this library adds (ClusterNetworkSetup.addNodegroupCapacity) use aws-cdk-lib's default node role. */
const OUR_NODEGROUPS: NagPackSuppression[] = [{
  id: 'AwsSolutions-IAM4',
  reason: 'EKS nodes need AmazonEKSWorkerNodePolicy, AmazonEKS_CNI_Policy and AmazonEC2ContainerRegistryReadOnly: the node role aws-cdk-lib\'s Nodegroup creates',
  appliesTo: [{ regex: `/^Policy::arn:${PARTITION}:iam::aws:policy\\/(AmazonEKSWorkerNodePolicy|AmazonEKS_CNI_Policy|AmazonEC2ContainerRegistryReadOnly)$/g` }],
}];

/** Rules that fire on resources of aws-cdk-lib's constructs the integ apps use (cluster, VPC, providers, node groups). */
const THIRD_PARTY_RULES = ['AwsSolutions-EKS1', 'AwsSolutions-EKS2', 'AwsSolutions-IAM4', 'AwsSolutions-IAM5', 'AwsSolutions-L1',
  'AwsSolutions-VPC7', 'AwsSolutions-SF1', 'AwsSolutions-SF2'];

function isOurs(c: IConstruct): boolean {
  return c instanceof PreinstalledAddonOwnership || c instanceof ClusterNetworkSetup || c instanceof HelmManagedCoreDns || c.node.id === HANDLER_ID;
}

function containsOurs(c: IConstruct): boolean {
  return c.node.findAll().some(isOurs);
}

/** Suppresses the third-party rules on every subtree that holds none of this library's constructs. */
function suppressThirdParty(c: IConstruct): void {
  for (const child of c.node.children) {
    if (isOurs(child)) continue;
    if (containsOurs(child)) {
      suppressThirdParty(child);
      continue;
    }
    NagSuppressions.addResourceSuppressions(child, THIRD_PARTY_RULES.map((id) => ({
      id,
      reason: `A resource of aws-cdk-lib's ${child.constructor.name} (${child.node.path}) that this integ app uses; this library neither creates nor configures it`,
    })), true);
  }
}

/**
 * Runs the AwsSolutions checks on an integ app. Every finding on this library's resources is
 * suppressed with its reason above, and only those; anything new fails the nag test
 * (test/construct/nag.test.ts reads the report).
 */
export function checkAwsSolutions(app: App): void {
  for (const stack of app.node.children.filter((c): c is Stack => c instanceof Stack)) {
    suppressThirdParty(stack);
    const handler = stack.node.tryFindChild(HANDLER_ID);
    if (handler) NagSuppressions.addResourceSuppressions(handler, OUR_HANDLER, true);
    const framework = handler?.node.tryFindChild('Provider')?.node.tryFindChild('framework-onEvent');
    if (framework) NagSuppressions.addResourceSuppressions(framework, OUR_PROVIDER_FRAMEWORK, true);
    for (const setup of stack.node.findAll().filter((c): c is ClusterNetworkSetup => c instanceof ClusterNetworkSetup)) {
      if (setup.ciliumOperatorRole) NagSuppressions.addResourceSuppressions(setup.ciliumOperatorRole, OUR_CILIUM_OPERATOR, true);
      for (const nodes of setup.node.findAll().filter((c) => c instanceof eksv2.Nodegroup || c instanceof eks.Nodegroup)) {
        NagSuppressions.addResourceSuppressions(nodes, OUR_NODEGROUPS, true);
      }
    }
  }
  Aspects.of(app).add(new AwsSolutionsChecks({ reports: true }));
}
