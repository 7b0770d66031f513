/**
 * What the construct and its Lambda handler agree on: the custom resource's properties and
 * attributes, and the Kubernetes identity the handler works as (its RBAC is in `access/`). Pure data.
 */
export const RESOURCE_TYPE = 'Custom::VpcCniOwnership';

/** Properties of the custom resource, as CloudFormation hands them over (scalars arrive as strings). */
export interface OwnershipResourceProperties {
  readonly ClusterName: string;
  /** JSON of the engine's `Action`. */
  readonly Action: string;
  readonly IfOwnedByOthers: string;
  readonly DryRun: string;
}

/** Attributes the handler returns (`Data`); all strings. */
export const ATTRIBUTE = {
  previousOwner: 'PreviousOwner',
  previousOwnerDescription: 'PreviousOwnerDescription',
  changedObjects: 'ChangedObjects',
  plan: 'Plan',
} as const;

/** The Kubernetes group the handler's IAM role is mapped to; the RBAC (`access/`) binds it. */
export const KUBERNETES_GROUP = 'cdk-vpc-cni-ownership';
/** The Kubernetes user name the handler's IAM role is mapped to. */
export const KUBERNETES_USERNAME = 'cdk-vpc-cni-ownership-handler';
