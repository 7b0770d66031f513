import { CfnJson, CfnResource, Fn, RemovalPolicy, Stack, Token, aws_eks_v2 as eksv2, aws_iam as iam } from 'aws-cdk-lib';
import { Construct, DependencyGroup, IDependable } from 'constructs';
import { ClusterNetwork } from './cluster-network';
import { ClusterTarget, HandlerNetworkOptions } from './cluster-target';
import { requireKubectlProvider } from './kubectl-provider';
import { mergeValues, valuesAt } from './network-spec';
import { OwnedByOthers, VpcCniOwnership } from './vpc-cni-ownership';

/** Properties of ClusterNetworkSetup. */
export interface ClusterNetworkSetupProps {
  /**
   * The cluster: an `aws-eks-v2` cluster created in this app or imported, with a kubectl provider
   * (the CNI is installed with Helm through it).
   */
  readonly cluster: eksv2.ICluster;
  /** The network to set up. */
  readonly network: ClusterNetwork;
  /**
   * When someone other than the EKS bootstrap install owns the VPC CNI (for example an EKS managed
   * add-on on an existing cluster).
   * @default OwnedByOthers.FAIL
   */
  readonly ifOwnedByOthers?: OwnedByOthers;
  /**
   * Where the VpcCniOwnership handler runs.
   * @default - derived from the cluster (see `ClusterTarget.fromEksV2Cluster`)
   */
  readonly handlerNetwork?: HandlerNetworkOptions;
}

/**
 * Applies a `ClusterNetwork` to an `aws-eks-v2` cluster, in order. Another CNI: the VPC CNI is
 * disabled (reversibly), kube-proxy disabled if asked, the chart of the CNI's CRDs installed if it
 * has one, then the CNI chart, and only then, after the node groups added here, the VPC CNI is
 * removed; a failure before that rolls back to a working VPC CNI. The Helm-managed VPC CNI: it is
 * adopted into Helm, then its chart is installed with the values that reproduce what runs. Nodes
 * must wait for `ready`: add them with `addNodegroupCapacity()`, or add the dependency yourself.
 *
 * On a cluster that already has nodes, removing the VPC CNI cuts their pods off until the nodes are
 * replaced: add new node groups here, then delete the old ones.
 *
 * @example
 * declare const vpc: ec2.IVpc;
 * declare const kubectlProvider: eksv2.IKubectlProvider;
 *
 * // A cluster you already have: import it with its VPC (for the node groups) and a kubectl provider (for the chart).
 * const existing = eksv2.Cluster.fromClusterAttributes(this, 'Existing', { clusterName: 'prod', vpc, kubectlProvider });
 * const network = new ClusterNetworkSetup(this, 'Network', { cluster: existing, network: ClusterNetwork.helmManagedVpcCni() });
 * network.addNodegroupCapacity('Nodes', { minSize: 2 });
 */
export class ClusterNetworkSetup extends Construct {
  /** What nodes must depend on: the CNI chart (the VPC CNI is disabled or adopted before it). */
  public readonly ready: IDependable;
  /**
   * The VPC CNI's objects are gone once this is done: for another CNI, its removal comes after the
   * chart and the node groups added here; for the Helm-managed VPC CNI, there is no removal (the chart).
   */
  public readonly vpcCniRemoved: IDependable;
  /** The custom resource that disables and then removes, or adopts, the VPC CNI. */
  public readonly vpcCniOwnership: VpcCniOwnership;
  /** The Helm chart of the network. */
  public readonly chart: eksv2.HelmChart;
  /** The Helm chart of the network's CRDs, installed before `chart` (Calico). */
  public readonly crdChart?: eksv2.HelmChart;
  /** kube-proxy's removal (a custom resource after the chart and the node groups), if the network asks for it. */
  public readonly kubeProxyRemoval?: IDependable;
  /** The IAM role of the Cilium operator, when the Cilium preset creates it. */
  public readonly ciliumOperatorRole?: iam.IRole;

  private readonly cluster: eksv2.ICluster;
  private readonly nodegroupTaints: eksv2.TaintSpec[];

  constructor(scope: Construct, id: string, props: ClusterNetworkSetupProps) {
    super(scope, id);
    const cluster = props.cluster;
    requireKubectlProvider(this, cluster, 'the CNI chart');
    this.cluster = cluster;
    const spec = props.network._spec;
    this.nodegroupTaints = spec.nodegroupTaints ?? [];

    // Values only the cluster can tell; they win over the user's. Worked out first, so a missing
    // attribute of an imported cluster fails before anything is created.
    let values = spec.chart.values;
    if (spec.apiServerHostValuePath) {
      values = mergeValues(values, valuesAt(spec.apiServerHostValuePath, endpointHost(this, cluster)));
    }
    if (spec.createCiliumOperatorRole) {
      this.ciliumOperatorRole = this.createCiliumOperatorRole(values.serviceAccounts?.operator?.name ?? 'cilium-operator');
      values = mergeValues(values, { eni: { iamRole: this.ciliumOperatorRole.roleArn } });
    }

    this.vpcCniOwnership = new VpcCniOwnership(this, 'VpcCni', {
      cluster: ClusterTarget.fromEksV2Cluster(cluster, { handlerNetwork: props.handlerNetwork }),
      action: spec.vpcCniAction,
      ifOwnedByOthers: props.ifOwnedByOthers,
    });
    let chartAfter: IDependable = this.vpcCniOwnership;

    // kube-proxy goes only once the replacement runs (after the chart, below): before, Services break.
    const otherSteps = this.vpcCniOwnership._otherSteps;
    if (otherSteps.length > 0) this.kubeProxyRemoval = new DependencyGroup(...otherSteps);

    if (spec.crdChart) {
      this.crdChart = new eksv2.HelmChart(this, 'CrdChart', {
        cluster,
        repository: spec.crdChart.repository,
        chart: spec.crdChart.chart,
        version: spec.crdChart.version,
        release: spec.crdChart.release,
        namespace: spec.crdChart.namespace,
        values: spec.crdChart.values,
        wait: false,
      });
      this.crdChart.node.addDependency(chartAfter);
      chartAfter = this.crdChart;
    }

    // The Helm-managed VPC CNI: the installed version and the values that reproduce what runs (the
    // user's merged over them), read at deploy time after the adoption.
    const fromCluster = spec.chartValuesFromCluster ? this.vpcCniOwnership._chartValues(values, spec.chart.version) : undefined;
    this.chart = new eksv2.HelmChart(this, 'Chart', {
      cluster,
      repository: spec.chart.repository,
      chart: spec.chart.chart,
      version: fromCluster?.version ?? spec.chart.version,
      release: spec.chart.release,
      namespace: spec.chart.namespace,
      values: fromCluster ? undefined : values,
      // Never wait: no node exists yet to run the CNI's pods.
      wait: false,
      // The VPC CNI runs the cluster's pods: deleting this stack leaves its release in place.
      removalPolicy: fromCluster ? RemovalPolicy.RETAIN : undefined,
    });
    if (fromCluster) {
      // The values' JSON comes in parts (one per custom resource response): joined, it is the Values property.
      (this.chart.node.findChild('Resource').node.defaultChild as CfnResource).addPropertyOverride('Values', fromCluster.valuesJson);
    }
    this.chart.node.addDependency(chartAfter);
    this.ready = new DependencyGroup(this.chart);

    // The switch's last step: the VPC CNI is removed only once the new CNI's chart is installed.
    const removal = this.vpcCniOwnership._finalStep;
    removal?.node.addDependency(this.chart);
    for (const step of otherSteps) step.node.addDependency(this.chart);
    this.vpcCniRemoved = new DependencyGroup(removal ?? this.chart);
  }

  /**
   * Adds a managed node group that is created only once the network is ready (with the network's
   * node taints, e.g. Cilium's `agentNotReadyTaint`).
   * @param id the node group's construct id (under this construct)
   * @param options the node group's options
   */
  public addNodegroupCapacity(id: string, options: eksv2.NodegroupOptions = {}): eksv2.Nodegroup {
    try {
      // A node group is placed in the cluster's VPC: an imported cluster must have been given it.
      void this.cluster.vpc;
    } catch {
      throw new Error(`${this.node.path}: addNodegroupCapacity("${id}") needs the cluster's VPC: import the cluster with vpc `
        + '(eksv2.Cluster.fromClusterAttributes(this, id, { clusterName, vpc, kubectlProvider, ... }))');
    }
    const nodegroup = new eksv2.Nodegroup(this, id, { cluster: this.cluster, ...this._nodegroupOptions(options) });
    this._waitForNetwork(nodegroup);
    return nodegroup;
  }

  /**
   * Capacity waits for the network, and the VPC CNI's removal waits for the capacity: a failure to
   * create it still rolls back to a working VPC CNI (the disabled one, restored).
   * @internal
   */
  public _waitForNetwork(capacity: Construct): void {
    capacity.node.addDependency(this.ready);
    this.vpcCniOwnership._finalStep?.node.addDependency(capacity);
    for (const step of this.vpcCniOwnership._otherSteps) step.node.addDependency(capacity);
  }

  /**
   * The options with the network's node taints added; a taint of yours with the same key wins.
   * @internal
   */
  public _nodegroupOptions(options: eksv2.NodegroupOptions = {}): eksv2.NodegroupOptions {
    const own = options.taints ?? [];
    const added = this.nodegroupTaints.filter((taint) => !own.some((t) => t.key === taint.key));
    return added.length > 0 ? { ...options, taints: [...own, ...added] } : options;
  }

  /** IAM roles for service accounts: the operator's service account in kube-system may assume it. */
  private createCiliumOperatorRole(serviceAccount: string): iam.IRole {
    let provider: iam.IOpenIdConnectProvider;
    try {
      provider = clusterOidcProvider(this.cluster);
    } catch {
      throw new Error(`${this.node.path}: the Cilium operator's IAM role needs the cluster's OpenID Connect provider: `
        + 'import the cluster with openIdConnectProvider, or set createOperatorRole: false and grant '
        + 'ClusterNetwork.ciliumOperatorPolicyStatements() another way');
    }
    // The issuer is a token: condition keys must be resolved at deploy time.
    const conditions = new CfnJson(this, 'CiliumOperatorTrust', {
      value: {
        [`${provider.openIdConnectProviderIssuer}:aud`]: 'sts.amazonaws.com',
        [`${provider.openIdConnectProviderIssuer}:sub`]: `system:serviceaccount:kube-system:${serviceAccount}`,
      },
    });
    const role = new iam.Role(this, 'CiliumOperatorRole', {
      description: `cdk-vpc-cni-ownership: EC2 permissions of the Cilium operator (ENI mode) of cluster ${this.cluster.node.path}`,
      assumedBy: new iam.OpenIdConnectPrincipal(provider).withConditions({ StringEquals: conditions }),
    });
    const [describeAndWrite, tagging] = ClusterNetwork.ciliumOperatorPolicyStatements();
    role.addToPrincipalPolicy(describeAndWrite);
    // Narrow the tagging statement to this account and region.
    role.addToPrincipalPolicy(new iam.PolicyStatement({
      actions: tagging.actions,
      resources: [Stack.of(this).formatArn({ service: 'ec2', resource: 'network-interface', resourceName: '*' })],
    }));
    if (this.cluster.ipFamily === eksv2.IpFamily.IP_V6) {
      role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['ec2:AssignIpv6Addresses'], resources: ['*'] }));
    }
    return role;
  }
}

/**
 * The cluster's IAM OIDC provider. For a cluster created in this app that has none yet, the native
 * one (`OidcProviderNative`, an `AWS::IAM::OIDCProvider`): `cluster.openIdConnectProvider` would
 * create the deprecated custom-resource provider unless the app sets the feature flag
 * `@aws-cdk/aws-eks:useNativeOidcProvider`. It is created where and as the cluster creates it with
 * that flag, and kept as the cluster's, so a later `cluster.openIdConnectProvider` returns it
 * instead of making a second provider for the same issuer.
 */
function clusterOidcProvider(cluster: eksv2.ICluster): iam.IOpenIdConnectProvider {
  if (!(cluster instanceof eksv2.Cluster)) return cluster.openIdConnectProvider;
  const internals = cluster as unknown as { _openIdConnectProvider?: iam.IOpenIdConnectProvider; _removalPolicy?: RemovalPolicy };
  internals._openIdConnectProvider ??= new eksv2.OidcProviderNative(cluster, 'OidcProviderNative', {
    url: cluster.clusterOpenIdConnectIssuerUrl,
    removalPolicy: internals._removalPolicy,
  });
  return internals._openIdConnectProvider;
}

/** The API server's host name, from the endpoint URL `https://<host>`. */
function endpointHost(scope: Construct, cluster: eksv2.ICluster): string {
  let endpoint: string;
  try {
    endpoint = cluster.clusterEndpoint;
  } catch {
    throw new Error(`${scope.node.path}: the network needs the cluster endpoint (kubeProxyReplacement or apiServerHostValuePath: `
      + 'its CNI reaches the API server without kube-proxy): import the cluster with clusterEndpoint');
  }
  if (!Token.isUnresolved(endpoint)) return endpoint.replace(/^https:\/\//, '').replace(/\/.*$/, '');
  return Fn.select(2, Fn.split('/', endpoint));
}
