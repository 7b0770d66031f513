import { aws_autoscaling as autoscaling, aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import { Construct, IDependable } from 'constructs';
import { ClusterNetwork } from './cluster-network';
import { ClusterNetworkSetup } from './cluster-network-setup';
import { OwnedByOthers } from './vpc-cni-ownership';

/**
 * Properties of EksClusterWithNetwork: those of an `aws-eks-v2` cluster, plus the network.
 *
 * `eksv2.ClusterProps` options that fit a node-group cluster whose network is set up for it are
 * declared here again: a jsii struct has only the properties of its own interfaces, and
 * `ClusterCommonOptions` lacks them. Left out: `compute` and `defaultCapacity*` (this cluster's
 * capacity is node groups created after the network: use `defaultNodegroup`), and
 * `bootstrapSelfManagedAddons` (the VPC CNI and kube-proxy must be there to be removed, adopted or disabled).
 */
export interface EksClusterWithNetworkProps extends eksv2.ClusterCommonOptions {
  /** The network of the cluster's pods. */
  readonly network: ClusterNetwork;
  /**
   * Whether the IAM principal that creates the cluster gets a cluster-admin access entry.
   * Changing it replaces the cluster.
   * @default true
   */
  readonly bootstrapClusterCreatorAdminPermissions?: boolean;
  /**
   * Whether a CloudFormation output with the `aws eks update-kubeconfig` command is synthesized.
   * @default true
   */
  readonly outputConfigCommand?: boolean;
  /**
   * A managed node group created once the network is ready.
   * @default - none: add node groups with `addNodegroupCapacity()`
   */
  readonly defaultNodegroup?: eksv2.NodegroupOptions;
  /**
   * When someone other than the EKS bootstrap install owns the VPC CNI.
   * @default OwnedByOthers.FAIL
   */
  readonly ifOwnedByOthers?: OwnedByOthers;
}

/**
 * An `aws-eks-v2` cluster with node groups (not Auto Mode) whose network is set up before any node
 * exists: the VPC CNI is removed and your CNI installed (or the VPC CNI adopted into Helm), and
 * every node group or Auto Scaling group added through this cluster waits for it.
 *
 * `kubectlProviderOptions` is required: the CNI chart is installed with Helm.
 *
 * @example
 * declare const kubectlLayer: lambda.ILayerVersion; // new KubectlV33Layer(this, 'Kubectl') from @aws-cdk/lambda-layer-kubectl-v33
 *
 * new EksClusterWithNetwork(this, 'Cluster', {
 *   version: eksv2.KubernetesVersion.V1_33,
 *   kubectlProviderOptions: { kubectlLayer },
 *   network: ClusterNetwork.cilium({ kubeProxyReplacement: true }),
 *   defaultNodegroup: { minSize: 2 },
 * });
 */
export class EksClusterWithNetwork extends eksv2.Cluster {
  /** The network setup: VPC CNI removal or adoption, kube-proxy patch, CNI chart. */
  public readonly networkSetup: ClusterNetworkSetup;
  /** What nodes must depend on; capacity added through this cluster already does. */
  public readonly networkReady: IDependable;
  /** The node group of `defaultNodegroup`, if given. */
  public declare readonly defaultNodegroup?: eksv2.Nodegroup;

  constructor(scope: Construct, id: string, props: EksClusterWithNetworkProps) {
    if (!props.kubectlProviderOptions) {
      throw new Error(`${scope.node.path ? scope.node.path + '/' : ''}${id}: kubectlProviderOptions is required: `
        + 'the CNI chart is installed with Helm through the kubectl provider (e.g. { kubectlLayer: new KubectlV33Layer(this, \'Kubectl\') })');
    }
    const { network, defaultNodegroup, ifOwnedByOthers, ...clusterProps } = props;
    super(scope, id, {
      ...clusterProps,
      // Node groups, created by us and only after the network: no node may join before its CNI.
      defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
    });
    this.networkSetup = new ClusterNetworkSetup(this, 'Network', { cluster: this, network, ifOwnedByOthers });
    this.networkReady = this.networkSetup.ready;
    if (defaultNodegroup) this.defaultNodegroup = this.addNodegroupCapacity('DefaultCapacity', defaultNodegroup);
  }

  /** Adds a managed node group, created once the network is ready (with the network's node taints). */
  public addNodegroupCapacity(id: string, options?: eksv2.NodegroupOptions): eksv2.Nodegroup {
    const nodegroup = super.addNodegroupCapacity(id, this.networkSetup._nodegroupOptions(options));
    this.waitForNetwork(nodegroup);
    return nodegroup;
  }

  /** Connects an Auto Scaling group (also those of `addAutoScalingGroupCapacity()`), created once the network is ready. */
  public connectAutoScalingGroupCapacity(autoScalingGroup: autoscaling.AutoScalingGroup, options: eksv2.AutoScalingGroupOptions): void {
    super.connectAutoScalingGroupCapacity(autoScalingGroup, options);
    this.waitForNetwork(autoScalingGroup);
  }

  private waitForNetwork(capacity: Construct): void {
    // The base constructor adds no capacity (defaultCapacity 0), so networkSetup exists by now.
    this.networkSetup._waitForNetwork(capacity);
  }
}
