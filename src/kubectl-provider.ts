import { aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/**
 * Fails, naming what to change, when an `aws-eks-v2` cluster has no kubectl provider to install `what`
 * (a chart) with Helm. Not exported from the package.
 */
export function requireKubectlProvider(scope: IConstruct, cluster: eksv2.ICluster, what: string): void {
  if (cluster.kubectlProvider) return;
  throw new Error(`${scope.node.path}: cluster ${cluster.node.path} has no kubectl provider, which installs ${what}: `
    + 'create it with kubectlProviderOptions, or import it with kubectlProvider (Cluster.fromClusterAttributes)');
}
