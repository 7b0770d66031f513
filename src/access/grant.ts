import { Annotations, Aws, CustomResource, Stack, Token, aws_eks as eks, aws_iam as iam } from 'aws-cdk-lib';
import { Construct, IDependable } from 'constructs';
import { constructIdentity, DEFAULT_IDENTITY, HandlerIdentity } from './identity';
import { accessManifests } from './index';
import { ClusterAuthenticationMode, ClusterTarget } from '../cluster-target';
import { ACCESS_CHECK_RESOURCE_TYPE, AccessCheckResourceProperties, KUBERNETES_GROUP, PolicyProbeProperties } from '../contract';
import type { AddonAction } from './model';
import { KubernetesAccess } from '../kubernetes-access';

/** The id of the warning when the default access falls back to cluster-admin (acknowledge it with this id). */
export const CLUSTER_ADMIN_FALLBACK_WARNING = 'cdk-vpc-cni-ownership:clusterAdminPolicyFallback';

/** ValidatingAdmissionPolicy is GA (admissionregistration.k8s.io/v1) from this minor version of Kubernetes 1. */
const ADMISSION_POLICY_MINOR = 30;

/**
 * The Kubernetes minor version of a cluster construct, when it is known at synthesis: aws-eks and
 * aws-eks-v2 keep the `version` they were created with in a private field; imported clusters have none.
 */
function knownMinorVersion(target: ClusterTarget): number | undefined {
  const version: unknown = (target._cluster as any)?.version?.version;
  const match = typeof version === 'string' ? /^1\.(\d+)$/.exec(version) : null;
  return match ? Number(match[1]) : undefined;
}

/** What the ownership resource needs from its access. */
export interface GrantedAccess {
  /** What the ownership resource must wait for (the grants, the access entry or aws-auth). */
  readonly dependencies: IDependable[];
  /** The identity the handler role is mapped to. */
  readonly identity: HandlerIdentity;
  /** How the handler sees its admission policies in force before it writes; absent without policies. */
  readonly probe?: PolicyProbeProperties;
}

/**
 * The identity of the construct that applies its own access: unique per stack (its name is unique
 * per account and region, where the cluster is) and construct, so two stacks on one cluster keep
 * apart. Constructs whose access the user applies (`manual()`) use the default identity.
 */
function identityOf(scope: Construct): HandlerIdentity {
  const stackName = Stack.of(scope).stackName;
  return constructIdentity(Token.isUnresolved(stackName) ? scope.node.path : `${stackName}/${scope.node.path}`);
}

/**
 * Gives the handler role its Kubernetes permissions for the actions (one, or a sequence run on one
 * cluster: a network switch disables, then removes). The default is `rbac()` when the cluster
 * construct can apply manifests, otherwise `clusterAdminPolicy()` with a warning. With `rbac()` and
 * admission policies, the grants come last: the policies and the probe first, then a custom resource
 * of the handler's that waits until the policies refuse a forbidden write of the handler's own, then
 * the roles and bindings, so the handler holds no right the policies do not limit yet.
 */
export function grantKubernetesAccess(
  scope: Construct, target: ClusterTarget, chosen: KubernetesAccess | undefined, role: iam.IRole, actions: readonly AddonAction[],
  serviceToken: string,
): GrantedAccess {
  const access = chosen ?? (target._applyManifest ? KubernetesAccess.rbac() : KubernetesAccess.clusterAdminPolicy());
  const path = scope.node.path;
  switch (access.kind) {
    case 'MANUAL':
      return { dependencies: [], identity: DEFAULT_IDENTITY };
    case 'CLUSTER_ADMIN_POLICY':
      if (target.authenticationMode === ClusterAuthenticationMode.CONFIG_MAP) {
        throw new Error(`${path}: kubernetesAccess clusterAdminPolicy() needs access entries, but the cluster uses the aws-auth ConfigMap only (authenticationMode CONFIG_MAP); use rbac() or manual()`);
      }
      if (!chosen) {
        Annotations.of(scope).addWarningV2(CLUSTER_ADMIN_FALLBACK_WARNING,
          'The add-on ownership handler gets cluster-admin (an access entry with AmazonEKSClusterAdminPolicy at cluster scope): '
          + 'this cluster construct has no kubectl provider to apply narrower RBAC. Narrower: kubernetesAccess: KubernetesAccess.manual() '
          + `and apply VpcCniOwnership.rbacManifest(action) yourself (map handlerRole to the group ${KUBERNETES_GROUP}), `
          + 'or a cluster construct with a kubectl provider (then rbac() is the default). '
          + 'To accept cluster-admin, set kubernetesAccess: KubernetesAccess.clusterAdminPolicy().');
      }
      return {
        identity: DEFAULT_IDENTITY,
        dependencies: [new eks.CfnAccessEntry(scope, 'AccessEntry', {
          clusterName: target.clusterName,
          principalArn: role.roleArn,
          type: 'STANDARD',
          username: DEFAULT_IDENTITY.username,
          accessPolicies: [{
            policyArn: `arn:${Aws.PARTITION}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`,
            accessScope: { type: 'cluster' },
          }],
        })],
      };
    default: {
      if (!target._applyManifest) {
        throw new Error(`${path}: kubernetesAccess rbac() needs a cluster construct with a kubectl provider to apply the RBAC manifest; `
          + 'use manual() and apply VpcCniOwnership.rbacManifest(action) yourself, or clusterAdminPolicy()');
      }
      const minor = knownMinorVersion(target);
      if (access.admissionPolicy && minor !== undefined && minor < ADMISSION_POLICY_MINOR) {
        throw new Error(`${path}: the cluster runs Kubernetes 1.${minor}, which has no ValidatingAdmissionPolicy `
          + `(admissionregistration.k8s.io/v1, Kubernetes 1.${ADMISSION_POLICY_MINOR}+). Use kubernetesAccess: KubernetesAccess.rbac({ admissionPolicy: false }) `
          + 'for the RBAC alone (see the README, "Cluster access", for what the handler could then do), or upgrade the cluster');
      }
      const identity = identityOf(scope);
      const mapping = mapRole(scope, target, role, identity);
      const manifests = accessManifests(actions, { admissionPolicy: access.admissionPolicy, identity });
      const grants = target._applyManifest('Rbac', scope, manifests.grants);
      if (!manifests.probe) return { dependencies: [grants, mapping], identity };

      const limits = target._applyManifest('AdmissionPolicy', scope, manifests.limits);
      const probe: PolicyProbeProperties = {
        ProbeNamespace: manifests.probe.namespace, ProbeName: manifests.probe.name, PolicyMarker: manifests.probe.marker,
      };
      const properties: AccessCheckResourceProperties = { ClusterName: target.clusterName, ...probe };
      const check = new CustomResource(scope, 'AccessCheck', { serviceToken, resourceType: ACCESS_CHECK_RESOURCE_TYPE, properties: { ...properties } });
      check.node.addDependency(limits, mapping);
      grants.node.addDependency(check);
      return { dependencies: [grants, mapping], identity, probe };
    }
  }
}

/** Maps the handler role to the identity: an access entry, or aws-auth in CONFIG_MAP mode. */
function mapRole(scope: Construct, target: ClusterTarget, role: iam.IRole, identity: HandlerIdentity): IDependable {
  if (target.authenticationMode === ClusterAuthenticationMode.CONFIG_MAP) {
    // CONFIG_MAP is only derived from a created aws-eks Cluster, which has aws-auth.
    const cluster = target._cluster as eks.Cluster;
    cluster.awsAuth.addRoleMapping(role, { groups: [identity.group], username: identity.username });
    return cluster.awsAuth;
  }
  return new eks.CfnAccessEntry(scope, 'AccessEntry', {
    clusterName: target.clusterName,
    principalArn: role.roleArn,
    type: 'STANDARD',
    username: identity.username,
    kubernetesGroups: [identity.group],
  });
}
