import { Annotations, Aws, aws_eks as eks, aws_iam as iam } from 'aws-cdk-lib';
import { Construct, IDependable } from 'constructs';
import { sequenceAccessManifest } from './index';
import { ClusterAuthenticationMode, ClusterTarget } from '../cluster-target';
import { KUBERNETES_GROUP, KUBERNETES_USERNAME } from '../contract';
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

/**
 * Gives the handler role its Kubernetes permissions for the actions (one, or a sequence run on one
 * cluster: a network switch disables, then removes); returns what the custom
 * resource must wait for. The default is `rbac()` when the cluster construct can apply manifests,
 * otherwise `clusterAdminPolicy()` with a warning.
 */
export function grantKubernetesAccess(
  scope: Construct, target: ClusterTarget, chosen: KubernetesAccess | undefined, role: iam.IRole, actions: readonly AddonAction[],
): IDependable[] {
  const access = chosen ?? (target._applyManifest ? KubernetesAccess.rbac() : KubernetesAccess.clusterAdminPolicy());
  const path = scope.node.path;
  switch (access.kind) {
    case 'MANUAL':
      return [];
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
      return [new eks.CfnAccessEntry(scope, 'AccessEntry', {
        clusterName: target.clusterName,
        principalArn: role.roleArn,
        type: 'STANDARD',
        username: KUBERNETES_USERNAME,
        accessPolicies: [{
          policyArn: `arn:${Aws.PARTITION}:eks::aws:cluster-access-policy/AmazonEKSClusterAdminPolicy`,
          accessScope: { type: 'cluster' },
        }],
      })];
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
      const manifest = target._applyManifest('Rbac', scope, sequenceAccessManifest(actions, { admissionPolicy: access.admissionPolicy }));
      if (target.authenticationMode === ClusterAuthenticationMode.CONFIG_MAP) {
        // CONFIG_MAP is only derived from a created aws-eks Cluster, which has aws-auth.
        const cluster = target._cluster as eks.Cluster;
        cluster.awsAuth.addRoleMapping(role, { groups: [KUBERNETES_GROUP], username: KUBERNETES_USERNAME });
        return [manifest, cluster.awsAuth];
      }
      const entry = new eks.CfnAccessEntry(scope, 'AccessEntry', {
        clusterName: target.clusterName,
        principalArn: role.roleArn,
        type: 'STANDARD',
        username: KUBERNETES_USERNAME,
        kubernetesGroups: [KUBERNETES_GROUP],
      });
      return [manifest, entry];
    }
  }
}
