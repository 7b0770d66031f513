import { Annotations, CfnResource, RemovalPolicy, Token, aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import { Construct, IDependable } from 'constructs';
import { COREDNS, COREDNS_CHART_VERSION, COREDNS_CHART_VERSIONS_CHECKED } from './addons';
import { ClusterTarget, HandlerNetworkOptions } from './cluster-target';
import { valueAt } from './engine/helm-values';
import { requireKubectlProvider } from './kubectl-provider';
import { KubernetesAccess } from './kubernetes-access';
import { HelmValues } from './network-spec';
import { CniAction, OwnedByOthers, PreinstalledAddon, PreinstalledAddonOwnership } from './vpc-cni-ownership';

/** Properties of HelmManagedCoreDns. */
export interface HelmManagedCoreDnsProps {
  /**
   * The cluster: an `aws-eks-v2` cluster created in this app or imported, with a kubectl provider
   * (the chart is installed with Helm through it).
   */
  readonly cluster: eksv2.ICluster;
  /**
   * The version of the `coredns` chart (https://coredns.github.io/helm). The values are derived for
   * the 1.46 charts; the running CoreDNS image stays whatever chart version renders it.
   * @default HelmManagedCoreDns.CHART_VERSION
   */
  readonly version?: string;
  /**
   * Helm values of the coredns chart (e.g. `{ replicaCount: 3 }`), merged over the values that
   * reproduce the running CoreDNS (derived at deploy time: its image, replicas, resources, scheduling,
   * Corefile as `servers`…). A value you give is an intended change; `servers` replaces the whole
   * Corefile. As with `helm upgrade --reuse-values`, a key you later remove from here keeps its
   * running value. Not accepted: `fullnameOverride`, `deployment.name`, `deployment.selector`,
   * `service.name`, `service.clusterIP` and `service.clusterIPs`, which name the running objects or
   * cannot change (the Service's address is every pod's DNS server).
   * @default - the values that reproduce the running CoreDNS, unchanged
   */
  readonly values?: HelmValues;
  /**
   * When someone other than the EKS bootstrap install owns CoreDNS (an EKS managed add-on `coredns`:
   * TAKE_OVER deletes the add-on through the EKS API keeping its objects, then adopts them).
   * @default OwnedByOthers.FAIL
   */
  readonly ifOwnedByOthers?: OwnedByOthers;
  /**
   * Where the ownership handler runs.
   * @default - derived from the cluster (see `ClusterTarget.fromEksV2Cluster`)
   */
  readonly handlerNetwork?: HandlerNetworkOptions;
  /**
   * How the ownership handler gets Kubernetes permissions.
   * @default KubernetesAccess.rbac()
   */
  readonly kubernetesAccess?: KubernetesAccess;
}

/**
 * CoreDNS managed by Helm, with DNS never down: the CoreDNS EKS preinstalled is adopted into the Helm
 * release `coredns` in `kube-system`, then the `coredns` chart (https://coredns.github.io/helm) is
 * installed over it with the values that reproduce what runs (derived at deploy time) and yours
 * merged over them. The same objects stay (the Service keeps its clusterIP, the Deployment its
 * selector, replicas and image). The chart renders some of the pod template whatever the values say
 * (its labels, a config checksum, port names), so CoreDNS rolls once, one pod at a time as its
 * Deployment says; `chartNotes` lists what changes. Later changes of values or version are Helm
 * upgrades. Deleting the stack leaves the release and CoreDNS in place.
 *
 * One ownership construct per cluster in a stack: put this in a stack without another one for the
 * same cluster (e.g. ClusterNetworkSetup's).
 *
 * @example
 * declare const cluster: eksv2.Cluster; // node groups (not Auto Mode), with a kubectl provider
 *
 * const coreDns = new HelmManagedCoreDns(this, 'CoreDns', { cluster, values: { replicaCount: 3 } });
 * new CfnOutput(this, 'CoreDnsChanges', { value: coreDns.chartNotes });
 */
export class HelmManagedCoreDns extends Construct {
  /** The newest `coredns` chart version this library was checked with (https://github.com/cdk-vpc-cni-ownership/cdk-vpc-cni-ownership/blob/main/docs/takeover.md): the default. */
  public static readonly CHART_VERSION = COREDNS_CHART_VERSION;

  /** The custom resource that adopts CoreDNS into the release. */
  public readonly ownership: PreinstalledAddonOwnership;
  /** The Helm chart that takes CoreDNS over. */
  public readonly chart: eksv2.HelmChart;
  /**
   * What the install changes in what runs although the values reproduce everything the chart lets
   * them, and what stays a customisation (one per line), as read at deploy time.
   */
  public readonly chartNotes: string;
  /** What must wait for CoreDNS to be managed by Helm. */
  public readonly ready: IDependable;

  constructor(scope: Construct, id: string, props: HelmManagedCoreDnsProps) {
    super(scope, id);
    const cluster = props.cluster;
    requireKubectlProvider(this, cluster, 'the coredns chart');
    const values = props.values ?? {};
    const version = props.version ?? HelmManagedCoreDns.CHART_VERSION;
    validate(this, values, version);

    this.ownership = new PreinstalledAddonOwnership(this, 'Ownership', {
      cluster: ClusterTarget.fromEksV2Cluster(cluster, { handlerNetwork: props.handlerNetwork }),
      addon: PreinstalledAddon.COREDNS,
      // Helm (the kubectl layer's Helm 4 applies server-side as `helm`) takes over EKS's fields.
      action: CniAction.adoptIntoHelm({ releaseName: COREDNS.defaultReleaseName, releaseNamespace: COREDNS.namespace, fieldManager: 'helm' }),
      ifOwnedByOthers: props.ifOwnedByOthers,
      kubernetesAccess: props.kubernetesAccess,
    });
    // The values are read at deploy time, after the adoption, yours merged over them.
    const fromCluster = this.ownership._chartValues(values, version);
    this.chartNotes = fromCluster.notes;
    this.chart = new eksv2.HelmChart(this, 'Chart', {
      cluster,
      repository: COREDNS.chart!.repository,
      chart: COREDNS.chart!.name,
      version: fromCluster.version,
      release: COREDNS.defaultReleaseName,
      namespace: COREDNS.namespace,
      // The roll is CoreDNS's Deployment's to pace; a cluster without nodes yet would wait forever.
      wait: false,
      // CoreDNS answers every pod's DNS: deleting this stack leaves its release in place.
      removalPolicy: RemovalPolicy.RETAIN,
    });
    // The values' JSON comes in parts (one per custom resource response): joined, it is the Values property.
    (this.chart.node.findChild('Resource').node.defaultChild as CfnResource).addPropertyOverride('Values', fromCluster.valuesJson);
    this.chart.node.addDependency(this.ownership);
    this.ready = this.chart;
  }
}

/** Synth-time checks of the props; each error names the prop. */
function validate(scope: Construct, values: HelmValues, version: string): void {
  const problems: string[] = [];
  for (const path of COREDNS.chart!.fixedValuePaths) {
    if (valueAt(values, path) !== undefined) {
      problems.push(`values.${path} is set, but it names a running object or cannot change (the derived value is always used): leave it out`);
    }
  }
  if (!Token.isUnresolved(version) && !/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/.test(version)) {
    problems.push(`version "${version}" must be a coredns chart version such as ${HelmManagedCoreDns.CHART_VERSION} (not a CoreDNS image tag)`);
  }
  if (problems.length > 0) throw new Error(`${scope.node.path}: invalid HelmManagedCoreDns props:\n- ${problems.join('\n- ')}`);
  if (!Token.isUnresolved(version) && !COREDNS_CHART_VERSIONS_CHECKED.includes(version)) {
    Annotations.of(scope).addWarningV2('cdk-vpc-cni-ownership:corednsChartVersionNotChecked',
      `coredns chart ${version} was not checked by this library (checked: ${COREDNS_CHART_VERSIONS_CHECKED.join(', ')}): render it with the values `
      + '(cdk-vpc-cni-ownership values --addon coredns) and compare before deploying');
  }
}
