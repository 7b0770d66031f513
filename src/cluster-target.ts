import { Stack, aws_ec2 as ec2, aws_eks as eks, aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import { IConstruct } from 'constructs';

/** Where the handler runs when the cluster endpoint is private. */
export interface HandlerNetworkOptions {
  /** The VPC the handler runs in. */
  readonly vpc: ec2.IVpc;
  /**
   * Subnets for the handler: they need a route to the EKS API (NAT or an `eks` interface endpoint).
   * @default - the VPC's private subnets
   */
  readonly vpcSubnets?: ec2.SubnetSelection;
  /**
   * Security groups for the handler; one of them must be allowed to reach the cluster endpoint on 443.
   * @default - none (give the cluster security group)
   */
  readonly securityGroups?: ec2.ISecurityGroup[];
}

/** A cluster known only by name: imported, or created outside this app. */
export interface ClusterNameOptions {
  /** The EKS cluster name. */
  readonly clusterName: string;
  /**
   * Run the handler in this network (for a cluster whose endpoint is private).
   * @default - outside any VPC: the cluster endpoint must be public
   */
  readonly handlerNetwork?: HandlerNetworkOptions;
}

/** Overrides for a cluster construct. */
export interface ClusterTargetOptions {
  /**
   * Run the handler in this network instead of the one derived from the cluster.
   * @default - the cluster's VPC, private subnets and cluster security group when the handler cannot rely on the public endpoint
   * (`aws-eks`: when the cluster's kubectl handler runs in the VPC; `aws-eks-v2`: public access off, or limited to CIDRs); no VPC otherwise
   */
  readonly handlerNetwork?: HandlerNetworkOptions;
}

/** How the handler's IAM role is recognised by Kubernetes. */
export enum ClusterAuthenticationMode {
  /** EKS access entries. */
  ACCESS_ENTRIES = 'ACCESS_ENTRIES',
  /** The aws-auth ConfigMap only (aws-eks clusters in CONFIG_MAP mode). */
  CONFIG_MAP = 'CONFIG_MAP',
}

/**
 * The EKS cluster whose VPC CNI is handled: an `aws-eks` cluster, an `aws-eks-v2` cluster, or a
 * cluster known only by name.
 */
export class ClusterTarget {
  /**
   * An `aws-cdk-lib/aws-eks` cluster (created or imported).
   *
   * @example
   * declare const cluster: eks.Cluster;
   *
   * new VpcCniOwnership(this, 'VpcCni', { cluster: ClusterTarget.fromEksCluster(cluster), action: CniAction.disable() });
   */
  public static fromEksCluster(cluster: eks.ICluster, options: ClusterTargetOptions = {}): ClusterTarget {
    const privateOnly = (cluster.kubectlPrivateSubnets?.length ?? 0) > 0;
    const network = options.handlerNetwork ?? (privateOnly ? {
      vpc: cluster.vpc,
      vpcSubnets: { subnets: cluster.kubectlPrivateSubnets },
      securityGroups: [cluster.kubectlSecurityGroup ?? cluster.clusterSecurityGroup],
    } : undefined);
    // A created cluster tells its mode (aws-eks defaults to CONFIG_MAP); an imported one must allow access entries.
    const configMapOnly = cluster instanceof eks.Cluster
      && (cluster.authenticationMode ?? eks.AuthenticationMode.CONFIG_MAP) === eks.AuthenticationMode.CONFIG_MAP;
    const mode = configMapOnly ? ClusterAuthenticationMode.CONFIG_MAP : ClusterAuthenticationMode.ACCESS_ENTRIES;
    // aws-cdk-lib applies manifests through a created cluster's kubectl handler, an imported one's
    // kubectlProvider, or a handler it creates for an imported one with kubectlRole; without any of
    // them it fails at synthesis, so offer no manifests (the default access is then clusterAdminPolicy()).
    const canApplyManifests = cluster instanceof eks.Cluster || cluster.kubectlProvider !== undefined || cluster.kubectlRole !== undefined;
    const applyManifest = canApplyManifests
      ? (id: string, scope: any, manifest: Record<string, any>[]) => new eks.KubernetesManifest(scope, id, { cluster, manifest, overwrite: true })
      : undefined;
    return new ClusterTarget(cluster.clusterName, cluster, mode, network, applyManifest, undefined, defaultCapacityOf(cluster));
  }

  /**
   * An `aws-cdk-lib/aws-eks-v2` cluster (always access entries).
   *
   * @example
   * declare const cluster: eksv2.Cluster;
   *
   * new VpcCniOwnership(this, 'VpcCni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.adoptIntoHelm() });
   */
  public static fromEksV2Cluster(cluster: eksv2.ICluster, options: ClusterTargetOptions = {}): ClusterTarget {
    const network = options.handlerNetwork ?? (needsPrivateEndpoint(cluster) ? {
      vpc: cluster.vpc,
      securityGroups: [cluster.clusterSecurityGroup],
    } : undefined);
    const applyManifest = cluster.kubectlProvider
      ? (id: string, scope: any, manifest: Record<string, any>[]) => new eksv2.KubernetesManifest(scope, id, { cluster, manifest, overwrite: true })
      : undefined;
    return new ClusterTarget(cluster.clusterName, cluster, ClusterAuthenticationMode.ACCESS_ENTRIES, network, applyManifest,
      withoutPreinstalledAddons(cluster), defaultCapacityOf(cluster));
  }

  /**
   * A cluster known only by name. Its authentication mode must allow access entries.
   *
   * @example
   * // No kubectl provider: give the handler its RBAC yourself (VpcCniOwnership.rbacManifest(action)).
   * new VpcCniOwnership(this, 'VpcCni', {
   *   cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }),
   *   action: CniAction.inspect(),
   *   kubernetesAccess: KubernetesAccess.manual(),
   * });
   */
  public static fromClusterName(options: ClusterNameOptions): ClusterTarget {
    return new ClusterTarget(options.clusterName, undefined, ClusterAuthenticationMode.ACCESS_ENTRIES, options.handlerNetwork, undefined);
  }

  private constructor(
    /** The EKS cluster name. */
    public readonly clusterName: string,
    /** @internal */ public readonly _cluster: eks.ICluster | eksv2.ICluster | undefined,
    /** How the handler role is mapped into Kubernetes. */
    public readonly authenticationMode: ClusterAuthenticationMode,
    /** @internal */ public readonly _network: HandlerNetworkOptions | undefined,
    /** @internal Applies a Kubernetes manifest through the cluster's kubectl provider, when it has one. */
    public readonly _applyManifest: ((id: string, scope: any, manifest: Record<string, any>[]) => any) | undefined,
    /**
     * @internal Why the cluster, as its construct was created, has no preinstalled add-ons (EKS Auto
     * Mode, bootstrapSelfManagedAddons false), naming the property to change; undefined when it has them or cannot tell.
     */
    public readonly _noPreinstalledAddons?: string,
    /** @internal The capacity created with the cluster (its default node group or Auto Scaling group): nodes that run before any action. */
    public readonly _defaultCapacity?: IConstruct,
  ) {}
}

/**
 * Why a created `aws-eks-v2` cluster has no preinstalled add-ons, from what its construct will deploy:
 * EKS Auto Mode (`computeConfig.enabled`, what `defaultCapacityType` AUTOMODE, the default, sets) runs
 * its own networking and has no aws-node, kube-proxy or CoreDNS; `bootstrapSelfManagedAddons: false`
 * installs none.
 */
function withoutPreinstalledAddons(cluster: eksv2.ICluster): string | undefined {
  if (!(cluster instanceof eksv2.Cluster)) return undefined;
  const cfn = cluster.node.defaultChild as eks.CfnCluster | undefined;
  if (!cfn) return undefined;
  const compute = Stack.of(cluster).resolve(cfn.computeConfig);
  if (compute?.enabled === true) {
    return `cluster ${cluster.node.path} runs EKS Auto Mode (aws-eks-v2 Cluster's defaultCapacityType defaults to DefaultCapacityType.AUTOMODE), `
      + 'which has no aws-node, kube-proxy or CoreDNS to adopt, remove or disable: create it with defaultCapacityType: DefaultCapacityType.NODEGROUP '
      + '(and defaultCapacity: 0 where a network preset adds its own node groups), or use EksClusterWithNetwork';
  }
  if (Stack.of(cluster).resolve(cfn.bootstrapSelfManagedAddons) === false) {
    return `cluster ${cluster.node.path} is created with bootstrapSelfManagedAddons: false, so EKS installs no VPC CNI, kube-proxy or CoreDNS `
      + 'to adopt, remove or disable: leave bootstrapSelfManagedAddons unset (true), or install your network without this construct';
  }
  return undefined;
}

/** The node group or Auto Scaling group a created cluster construct adds by default (`defaultCapacity`). */
function defaultCapacityOf(cluster: eks.ICluster | eksv2.ICluster): IConstruct | undefined {
  if (cluster instanceof eksv2.Cluster || cluster instanceof eks.Cluster) return cluster.defaultNodegroup ?? cluster.defaultCapacity;
  return undefined;
}

/**
 * Whether the handler must reach an `aws-eks-v2` cluster through its private endpoint: public access
 * is off (`EndpointAccess.PRIVATE`), or limited to CIDR blocks (`PUBLIC_AND_PRIVATE.onlyFrom(...)`),
 * which a Lambda function outside a VPC does not come from. With unrestricted public access the
 * handler stays outside the VPC (no NAT needed). Only a created cluster tells; aws-eks-v2 keeps it
 * in `endpointAccess._config`.
 */
function needsPrivateEndpoint(cluster: eksv2.ICluster): boolean {
  const config: { privateAccess?: boolean; publicAccess?: boolean; publicCidrs?: string[] } | undefined = (cluster as any).endpointAccess?._config;
  if (!config?.privateAccess) return false;
  if (!config.publicAccess) return true;
  const cidrs = config.publicCidrs ?? [];
  return cidrs.length > 0 && !cidrs.includes('0.0.0.0/0');
}
