import { aws_eks_v2 as eksv2, aws_iam as iam } from 'aws-cdk-lib';
import { VPC_CNI } from './addons';
import { namespaceProblems, releaseNameProblems } from './engine/validate';
import { HelmValues, NetworkSpec, mergeValues } from './network-spec';
import { CniAction, CrdPolicy } from './vpc-cni-ownership';

/** Options of the Cilium preset (ENI mode: pods get VPC addresses from ENIs that the Cilium operator manages). */
export interface CiliumOptions {
  /**
   * The version of the `cilium` chart.
   * @default ClusterNetwork.CILIUM_CHART_VERSION
   */
  readonly version?: string;
  /**
   * Also remove kube-proxy and let Cilium replace it (`kubeProxyReplacement=true`, with the cluster
   * endpoint as `k8sServiceHost`, since no Service IP works before Cilium runs). kube-proxy is removed
   * through the ownership engine (owner check, recovery copy) only after Cilium's chart and the node
   * groups added to the setup: a failed Cilium install leaves it in place.
   * @default false
   */
  readonly kubeProxyReplacement?: boolean;
  /**
   * Create an IAM role for the `cilium-operator` service account (IAM roles for service accounts)
   * with the EC2 permissions ENI mode needs, and pass it as `eni.iamRole`. It needs the cluster's
   * OpenID Connect provider. Set to false to grant the permissions another way, for example on the
   * node role with `ClusterNetwork.ciliumOperatorPolicyStatements()`.
   * @default true
   */
  readonly createOperatorRole?: boolean;
  /**
   * Taint the node groups created through `ClusterNetworkSetup.addNodegroupCapacity()` or
   * `EksClusterWithNetwork` (`addNodegroupCapacity()`, `defaultNodegroup`) with
   * `node.cilium.io/agent-not-ready=true:NoExecute`, as Cilium's EKS requirements ask: no pod that
   * Cilium should manage runs on a node before Cilium's agent is ready there; Cilium removes the
   * taint once it is. Off by default because turning it on for node groups that already run evicts
   * their pods until Cilium removes it again. Node groups you create yourself and Auto Scaling
   * groups do not get it.
   * @default false
   */
  readonly agentNotReadyTaint?: boolean;
  /**
   * More Helm values, merged over the preset's (nested maps are merged, anything else replaced).
   * @default - the preset's values only
   */
  readonly values?: HelmValues;
  /**
   * What happens to the VPC CNI's CRDs when it is removed.
   * @default CrdPolicy.DELETE_IF_UNUSED
   */
  readonly crdPolicy?: CrdPolicy;
}

/** Options of the Calico preset (Calico CNI and IPAM, VXLAN overlay, installed by the Tigera operator). */
export interface CalicoOptions {
  /**
   * The version of the `tigera-operator` chart and of the `crd.projectcalico.org.v1` chart (Calico
   * releases both with the same version; 3.32 or later: earlier operator charts carry the CRDs themselves).
   * @default ClusterNetwork.CALICO_CHART_VERSION
   */
  readonly version?: string;
  /**
   * More Helm values, merged over the preset's (nested maps are merged, anything else replaced).
   * @default - the preset's values only
   */
  readonly values?: HelmValues;
  /**
   * What happens to the VPC CNI's CRDs when it is removed.
   * @default CrdPolicy.DELETE_IF_UNUSED
   */
  readonly crdPolicy?: CrdPolicy;
}

/** A CNI of your choice, installed from a Helm chart after the VPC CNI is removed. */
export interface CustomChartOptions {
  /** The chart's name in `repository`, or its full URL (e.g. `oci://…`) without a repository. */
  readonly chart: string;
  /**
   * The chart repository.
   * @default - none: `chart` must be a full URL
   */
  readonly repository?: string;
  /**
   * The chart version.
   * @default - the latest: pin one for repeatable deployments
   */
  readonly version?: string;
  /**
   * The Helm release name.
   * @default - the chart's name (the last part of `chart`)
   */
  readonly release?: string;
  /**
   * The release's namespace (created if missing).
   * @default 'kube-system'
   */
  readonly releaseNamespace?: string;
  /**
   * Helm values.
   * @default - none
   */
  readonly values?: HelmValues;
  /**
   * Also remove kube-proxy (for a CNI that replaces it): after the chart and the node groups added to
   * the setup, through the ownership engine, keeping a recovery copy (`cdk-vpc-cni-ownership restore --addon kube-proxy`).
   * @default false
   */
  readonly disableKubeProxy?: boolean;
  /**
   * A dotted path in `values` that receives the API server's host name (the cluster endpoint
   * without `https://`), for a CNI that must reach the API server without kube-proxy; e.g.
   * `k8sServiceHost` for Cilium. The cluster may not exist yet when you describe the network.
   * @default - none
   */
  readonly apiServerHostValuePath?: string;
  /**
   * What happens to the VPC CNI's CRDs when it is removed.
   * @default CrdPolicy.DELETE_IF_UNUSED
   */
  readonly crdPolicy?: CrdPolicy;
}

/** Options of the Helm-managed VPC CNI. */
export interface HelmManagedVpcCniOptions {
  /**
   * The version of the `aws-vpc-cni` chart. Another version than the installed one is an intended
   * change: the pods restart with that version's images (from the cluster's own registry; the other
   * values still reproduce what runs). Use at least the installed version: a lower one downgrades.
   * @default - the version EKS installed (from the aws-node image tag, `v1.19.2-eksbuild.1` → `1.19.2`): the first install changes nothing that runs
   */
  readonly version?: string;
  /**
   * Helm values of the aws-vpc-cni chart (e.g. `{ env: { ENABLE_PREFIX_DELEGATION: 'true' } }`),
   * merged over the values that reproduce the running install (its images, env, agent flags,
   * resources, scheduling; derived at deploy time). A value you give is an intended change. As with
   * `helm upgrade --reuse-values`, a key you later remove from here keeps its running value: set it
   * to what you want instead. `originalMatchLabels` is always true: the DaemonSet's selector cannot change.
   * @default - the values that reproduce the running install, unchanged
   */
  readonly values?: HelmValues;
}

/** Which network of the cluster's pods, and how it is installed. */
export enum NetworkKind {
  /** Cilium in ENI mode, after the VPC CNI is removed. */
  CILIUM = 'CILIUM',
  /** Calico through the Tigera operator, after the VPC CNI is removed. */
  CALICO = 'CALICO',
  /** A chart of your choice, after the VPC CNI is removed. */
  CUSTOM_CHART = 'CUSTOM_CHART',
  /** The VPC CNI itself, adopted into a Helm release and upgraded by the aws-vpc-cni chart. */
  HELM_MANAGED_VPC_CNI = 'HELM_MANAGED_VPC_CNI',
}

/**
 * The network a cluster's pods get: bring your own CNI (Cilium, Calico, any chart; the VPC CNI is
 * removed first), or keep the VPC CNI and manage it with Helm. Apply it with `ClusterNetworkSetup`
 * or `EksClusterWithNetwork`.
 */
export class ClusterNetwork {
  /** The default version of the `cilium` chart (https://helm.cilium.io). */
  public static readonly CILIUM_CHART_VERSION = '1.20.0';
  /** The default version of the `crd.projectcalico.org.v1` and `tigera-operator` charts (https://docs.tigera.io/calico/charts). */
  public static readonly CALICO_CHART_VERSION = 'v3.32.1';
  /** The taint Cilium asks EKS node groups to carry until its agent runs on the node (`agentNotReadyTaint`). */
  public static readonly CILIUM_AGENT_NOT_READY_TAINT_KEY = 'node.cilium.io/agent-not-ready';
  /**
   * The newest `aws-vpc-cni` chart version (https://aws.github.io/eks-charts) this library was checked
   * with (https://github.com/cdk-vpc-cni-ownership/cdk-vpc-cni-ownership/blob/main/docs/presets.md). Not a default: `helmManagedVpcCni()` installs the version EKS installed;
   * give this as its `version` to upgrade to it.
   */
  public static readonly AWS_VPC_CNI_CHART_VERSION = '1.22.4';

  /**
   * The EC2 permissions the Cilium operator needs in ENI mode (it alone calls the EC2 API): for a
   * role of your own when `createOperatorRole` is false.
   */
  public static ciliumOperatorPolicyStatements(): iam.PolicyStatement[] {
    return [
      new iam.PolicyStatement({
        actions: [
          'ec2:DescribeNetworkInterfaces', 'ec2:DescribeSubnets', 'ec2:DescribeVpcs', 'ec2:DescribeRouteTables',
          'ec2:DescribeSecurityGroups', 'ec2:DescribeInstanceTypes', 'ec2:DescribeTags',
          'ec2:DescribeManagedPrefixLists', 'ec2:GetManagedPrefixListEntries',
          'ec2:CreateNetworkInterface', 'ec2:AttachNetworkInterface', 'ec2:ModifyNetworkInterfaceAttribute',
          'ec2:DeleteNetworkInterface', 'ec2:AssignPrivateIpAddresses', 'ec2:UnassignPrivateIpAddresses',
        ],
        // The Describe actions take no resource; scoping the writes would need every subnet and
        // security group the operator's ENIs may use.
        resources: ['*'],
      }),
      new iam.PolicyStatement({
        actions: ['ec2:CreateTags'],
        resources: ['arn:*:ec2:*:*:network-interface/*'],
      }),
    ];
  }

  /**
   * Cilium in ENI mode (chart `cilium` from https://helm.cilium.io, release `cilium` in
   * `kube-system`) with the values of Cilium's EKS instructions: `eni.enabled=true`,
   * `ipam.mode=eni`, `routingMode=native`. The VPC CNI is removed first, and with
   * `kubeProxyReplacement` kube-proxy too, once Cilium runs.
   *
   * @example
   * declare const cluster: eksv2.Cluster; // defaultCapacityType NODEGROUP, defaultCapacity 0, kubectlProviderOptions
   *
   * const network = new ClusterNetworkSetup(this, 'Network', {
   *   cluster,
   *   network: ClusterNetwork.cilium({ kubeProxyReplacement: true, agentNotReadyTaint: true }),
   * });
   * network.addNodegroupCapacity('Nodes', { minSize: 2 });
   */
  public static cilium(options: CiliumOptions = {}): ClusterNetwork {
    const replaceKubeProxy = options.kubeProxyReplacement ?? false;
    const preset: HelmValues = {
      eni: { enabled: true },
      ipam: { mode: 'eni' },
      routingMode: 'native',
      // k8sServiceHost (the cluster endpoint) is added by ClusterNetworkSetup, which knows the cluster.
      ...(replaceKubeProxy ? { kubeProxyReplacement: true, k8sServicePort: 443 } : {}),
    };
    return new ClusterNetwork({
      kind: NetworkKind.CILIUM,
      vpcCniAction: CniAction._disableThenRemove({ crdPolicy: options.crdPolicy }, replaceKubeProxy),
      disableKubeProxy: replaceKubeProxy,
      chart: {
        repository: 'https://helm.cilium.io',
        chart: 'cilium',
        version: options.version ?? ClusterNetwork.CILIUM_CHART_VERSION,
        release: 'cilium',
        namespace: 'kube-system',
        values: mergeValues(preset, options.values ?? {}),
      },
      createCiliumOperatorRole: options.createOperatorRole ?? true,
      apiServerHostValuePath: replaceKubeProxy ? 'k8sServiceHost' : undefined,
      nodegroupTaints: options.agentNotReadyTaint
        ? [{ key: ClusterNetwork.CILIUM_AGENT_NOT_READY_TAINT_KEY, value: 'true', effect: eksv2.TaintEffect.NO_EXECUTE }]
        : undefined,
    });
  }

  /**
   * Calico through the Tigera operator, from https://docs.tigera.io/calico/charts: first its CRDs
   * (chart `crd.projectcalico.org.v1`, release `calico-crds`), then the operator (chart
   * `tigera-operator`, release `calico`, both in namespace `tigera-operator`) with
   * `installation.kubernetesProvider=EKS`, `installation.cni.type=Calico`,
   * `installation.calicoNetwork.bgp=Disabled`. The VPC CNI is removed first.
   *
   * @example
   * declare const cluster: eksv2.Cluster;
   *
   * new ClusterNetworkSetup(this, 'Network', { cluster, network: ClusterNetwork.calico() });
   */
  public static calico(options: CalicoOptions = {}): ClusterNetwork {
    const preset: HelmValues = {
      installation: {
        kubernetesProvider: 'EKS',
        cni: { type: 'Calico' },
        calicoNetwork: { bgp: 'Disabled' },
      },
    };
    const repository = 'https://docs.tigera.io/calico/charts';
    const version = options.version ?? ClusterNetwork.CALICO_CHART_VERSION;
    const namespace = 'tigera-operator';
    return new ClusterNetwork({
      kind: NetworkKind.CALICO,
      vpcCniAction: CniAction._disableThenRemove({ crdPolicy: options.crdPolicy }),
      disableKubeProxy: false,
      // From 3.32 the operator chart has no CRDs, and its Installation cannot be created without them.
      crdChart: { repository, chart: 'crd.projectcalico.org.v1', version, release: 'calico-crds', namespace, values: {} },
      chart: { repository, chart: 'tigera-operator', version, release: 'calico', namespace, values: mergeValues(preset, options.values ?? {}) },
      createCiliumOperatorRole: false,
    });
  }

  /**
   * Any CNI chart you give, installed after the VPC CNI is removed (and kube-proxy removed after it, if asked).
   *
   * @example
   * declare const cluster: eksv2.Cluster;
   *
   * new ClusterNetworkSetup(this, 'Network', {
   *   cluster,
   *   network: ClusterNetwork.customChart({
   *     chart: 'oci://registry.example.com/charts/my-cni',
   *     version: '2.0.1',
   *     values: { mtu: 9001 },
   *   }),
   * });
   */
  public static customChart(options: CustomChartOptions): ClusterNetwork {
    const problems: string[] = [];
    if (options.chart.trim().length === 0) problems.push('chart must not be empty');
    const release = options.release ?? options.chart.split('/').pop()!;
    const namespace = options.releaseNamespace ?? 'kube-system';
    if (options.chart.trim().length > 0) problems.push(...releaseNameProblems(release, options.release === undefined ? 'release (from chart)' : 'release'));
    problems.push(...namespaceProblems(namespace, 'releaseNamespace'));
    if (options.apiServerHostValuePath !== undefined && options.apiServerHostValuePath.split('.').some((key) => key.length === 0)) {
      problems.push(`apiServerHostValuePath "${options.apiServerHostValuePath}" must be keys joined by '.', none of them empty`);
    }
    if (problems.length > 0) throw new Error(`ClusterNetwork.customChart(): invalid options:\n- ${problems.join('\n- ')}`);
    return new ClusterNetwork({
      kind: NetworkKind.CUSTOM_CHART,
      vpcCniAction: CniAction._disableThenRemove({ crdPolicy: options.crdPolicy }, options.disableKubeProxy ?? false),
      disableKubeProxy: options.disableKubeProxy ?? false,
      chart: {
        repository: options.repository,
        chart: options.chart,
        version: options.version,
        release,
        namespace,
        values: options.values ?? {},
      },
      createCiliumOperatorRole: false,
      apiServerHostValuePath: options.apiServerHostValuePath,
    });
  }

  /**
   * Keep the VPC CNI and let Helm manage it: it is adopted into the release `aws-vpc-cni` in
   * `kube-system`, then the `aws-vpc-cni` chart (https://aws.github.io/eks-charts) is installed over
   * it with `originalMatchLabels=true` and your values. Later changes of values or version are
   * Helm upgrades.
   *
   * @example
   * declare const cluster: eksv2.Cluster;
   *
   * // The installed version, with the values that reproduce what runs; yours merged over them.
   * new ClusterNetworkSetup(this, 'Network', {
   *   cluster,
   *   network: ClusterNetwork.helmManagedVpcCni({ values: { env: { ENABLE_PREFIX_DELEGATION: 'true' } } }),
   * });
   */
  public static helmManagedVpcCni(options: HelmManagedVpcCniOptions = {}): ClusterNetwork {
    const values = options.values ?? {};
    if (values.originalMatchLabels !== undefined && values.originalMatchLabels !== true) {
      throw new Error('ClusterNetwork.helmManagedVpcCni(): values.originalMatchLabels must be true (or left out): '
        + 'the aws-node DaemonSet selector is immutable and EKS created it with the original labels');
    }
    const release = VPC_CNI.defaultReleaseName;
    const namespace = 'kube-system';
    return new ClusterNetwork({
      kind: NetworkKind.HELM_MANAGED_VPC_CNI,
      // Helm (the kubectl layer's Helm 4 applies server-side as `helm`) takes over EKS's fields.
      vpcCniAction: CniAction.adoptIntoHelm({ releaseName: release, releaseNamespace: namespace, fieldManager: 'helm' }),
      disableKubeProxy: false,
      chart: {
        repository: 'https://aws.github.io/eks-charts',
        chart: 'aws-vpc-cni',
        // Unset: the installed version, read at deploy time with the values.
        version: options.version,
        release,
        namespace,
        values: mergeValues(values, { originalMatchLabels: true }),
      },
      chartValuesFromCluster: true,
      createCiliumOperatorRole: false,
    });
  }

  /** Which network this is. */
  public readonly kind: NetworkKind;
  /** The Helm chart that installs it. */
  public readonly chartName: string;
  /** The Helm chart of its CustomResourceDefinitions, installed before `chartName`, if it has one. */
  public readonly crdChartName?: string;
  /** Whether kube-proxy is disabled (nodeSelector no node has; deleting the stack restores it). */
  public readonly disablesKubeProxy: boolean;

  private constructor(/** @internal */ public readonly _spec: NetworkSpec) {
    this.kind = _spec.kind;
    this.chartName = _spec.chart.chart;
    this.crdChartName = _spec.crdChart?.chart;
    this.disablesKubeProxy = _spec.disableKubeProxy;
  }
}
