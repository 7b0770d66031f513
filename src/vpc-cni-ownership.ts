import {
  Annotations, Arn, ArnFormat, CustomResource, Duration, Fn, Stack, Token,
  aws_iam as iam, aws_lambda as lambda, custom_resources as cr,
} from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { sequenceAccessManifest } from './access';
import { grantKubernetesAccess } from './access/grant';
import type { AddonAction } from './access/model';
import * as definitions from './addons';
import { ClusterTarget, HandlerNetworkOptions } from './cluster-target';
import {
  actionProperties, ATTRIBUTE, CHART_VALUES_ATTRIBUTE, CHART_VALUES_PARTS, CHART_VALUES_RESOURCE_TYPE, KUBERNETES_GROUP,
  OwnershipResourceProperties, RESOURCE_TYPE,
} from './contract';
import { HELM_FIELD_MANAGER } from './engine/helm';
import type { AddonDefinition } from './engine/objects';
import type { Action } from './engine/types';
import { adoptFieldManagerProblems, adoptReleaseNamespaceProblems, handOverProblems, releaseNameProblems } from './engine/validate';
import { KubernetesAccess, RbacAccessOptions } from './kubernetes-access';
import { VpcCniOwnershipFunction } from './vpc-cni-ownership-function';

/** An add-on EKS preinstalls on every cluster (unless bootstrapSelfManagedAddons is false). */
export enum PreinstalledAddon {
  /** The Amazon VPC CNI (`aws-node`). */
  VPC_CNI = 'vpc-cni',
  /** kube-proxy (DaemonSet `kube-proxy`). */
  KUBE_PROXY = 'kube-proxy',
  /** CoreDNS (Deployment `coredns`, Service `kube-dns`). */
  COREDNS = 'coredns',
}

const DEFINITIONS: Record<PreinstalledAddon, AddonDefinition> = {
  [PreinstalledAddon.VPC_CNI]: definitions.VPC_CNI,
  [PreinstalledAddon.KUBE_PROXY]: definitions.KUBE_PROXY,
  [PreinstalledAddon.COREDNS]: definitions.COREDNS,
};

/** What happens to the CustomResourceDefinitions of the VPC CNI on removal. */
export enum CrdPolicy {
  /** Keep both CRDs (and every ENIConfig). */
  KEEP = 'KEEP',
  /** Delete a CRD only when none of its custom resources exist. */
  DELETE_IF_UNUSED = 'DELETE_IF_UNUSED',
  /** Delete both CRDs, and with them every custom resource of them (e.g. ENIConfigs). */
  DELETE = 'DELETE',
}

/**
 * Who owned an add-on before a deployment changed it: the values of the `previousOwner` attribute
 * (https://github.com/cdk-vpc-cni-ownership/cdk-vpc-cni-ownership/blob/main/docs/ownership.md).
 */
export enum AddonOwner {
  /** EKS installed it at cluster creation and nobody else applied it. */
  EKS_BOOTSTRAP = 'EKS_BOOTSTRAP',
  /** The EKS API reports it as a managed add-on. */
  EKS_MANAGED_ADDON = 'EKS_MANAGED_ADDON',
  /** A Helm release whose release record exists owns it (known only when the adopt reads release records). */
  HELM_RELEASE = 'HELM_RELEASE',
  /** Adopted for a Helm release that is not installed yet (known only when the adopt reads release records). */
  HELM_ADOPTED = 'HELM_ADOPTED',
  /** Annotated for a Helm release; whether the release is installed was not read. */
  HELM_ANNOTATED = 'HELM_ANNOTATED',
  /** Applied with client-side `kubectl apply`. */
  KUBECTL = 'KUBECTL',
  /** Applied server-side by another tool (Argo CD, Flux, eksctl, kubectl --server-side). */
  OTHER_APPLIER = 'OTHER_APPLIER',
  /** Present, but none of the above. */
  UNKNOWN = 'UNKNOWN',
  /** Not there (removed, EKS Auto Mode, or a cluster created without it). */
  ABSENT = 'ABSENT',
}

/** What to do when the VPC CNI is owned by someone other than the EKS bootstrap install. */
export enum OwnedByOthers {
  /** Fail the deployment before any write, saying who owns it. */
  FAIL = 'FAIL',
  /** Succeed without writing anything. */
  SKIP = 'SKIP',
  /** Proceed anyway (an EKS managed add-on is first deleted through the EKS API). */
  TAKE_OVER = 'TAKE_OVER',
}

/** Options for adopting the VPC CNI into a Helm release. */
export interface AdoptIntoHelmOptions {
  /**
   * The Helm release that will own the VPC CNI (install the aws-vpc-cni chart under this name).
   * @default 'aws-vpc-cni'
   */
  readonly releaseName?: string;
  /**
   * The namespace of the Helm release. It must be `kube-system`, where the VPC CNI's objects live:
   * the aws-vpc-cni chart renders the DaemonSet, ServiceAccount, ConfigMap and the aws-node
   * binding's subject in the release's namespace, so a release elsewhere would start a second
   * aws-node DaemonSet and take the running one's permissions away.
   * @default 'kube-system'
   */
  readonly releaseNamespace?: string;
  /**
   * The field manager that takes over the fields EKS owned: the one your tool applies with
   * (`helm` for Helm, `argocd-controller` for Argo CD, `helm-controller` for Flux). Not `eks` or
   * `kubectl-client-side-apply`, which never apply server-side as a tool would.
   * @default 'helm'
   */
  readonly fieldManager?: string;
  /**
   * Field managers of imperative edits (customisations such as `kubectl-set` for `kubectl set env`)
   * whose fields are handed to `fieldManager` too. Without, they stay theirs: the next server-side
   * apply keeps them, and `inspect` and the plan list them. With, your tool owns them, so one that
   * stops setting them removes them; put them in your chart values first.
   * @default - none: customisations stay with their managers
   */
  readonly handOver?: string[];
  /**
   * Read Helm's release records (list Secrets and ConfigMaps in kube-system, where Helm keeps them)
   * to tell a release that is installed from one that is only adopted; the `previousOwner` attribute
   * then says HELM_RELEASE or HELM_ADOPTED instead of HELM_ANNOTATED. Listing Secrets returns their
   * data whatever is asked, so with this the handler can read every Secret in kube-system. Without it
   * the guard is the same: objects annotated for this release may be adopted into it again, anything
   * annotated for another release is refused.
   * @default false
   */
  readonly readHelmReleaseRecords?: boolean;
}

/** Options for removing the VPC CNI. */
export interface RemoveOptions {
  /**
   * What happens to the ENIConfig CRD (and, with `deletePolicyEndpointCrd`, the PolicyEndpoint
   * CRD). A CRD that another controller or tool writes, or that EKS's bootstrap never applied, is
   * kept whatever the policy says.
   * @default CrdPolicy.DELETE_IF_UNUSED
   */
  readonly crdPolicy?: CrdPolicy;
  /**
   * Apply `crdPolicy` to the PolicyEndpoint CRD too. It is kept otherwise: the EKS control plane's
   * network policy controller (and EKS Auto Mode) use it, and deleting it deletes every
   * PolicyEndpoint, which stops NetworkPolicy enforcement until they are rebuilt.
   * @default false
   */
  readonly deletePolicyEndpointCrd?: boolean;
}

/**
 * What the custom resource does to a preinstalled add-on at deploy time (the VPC CNI, kube-proxy or
 * CoreDNS: the same actions for each).
 */
export class CniAction {
  /**
   * Adopt the add-on into a Helm release: Helm metadata on each object, and EKS's fields handed to
   * the release's field manager.
   *
   * @example
   * declare const cluster: eksv2.Cluster;
   *
   * // Then install the aws-vpc-cni chart as release aws-vpc-cni in kube-system (helm install, Argo CD, Flux).
   * new VpcCniOwnership(this, 'VpcCni', {
   *   cluster: ClusterTarget.fromEksV2Cluster(cluster),
   *   action: CniAction.adoptIntoHelm({ fieldManager: 'helm' }),
   * });
   */
  public static adoptIntoHelm(options: AdoptIntoHelmOptions = {}): CniAction {
    return new CniAction({
      type: 'ADOPT',
      // Unless given: the add-on's default release (aws-vpc-cni, kube-proxy, coredns), filled in by the construct.
      releaseName: options.releaseName ?? definitions.VPC_CNI.defaultReleaseName,
      releaseNamespace: options.releaseNamespace ?? 'kube-system',
      fieldManager: options.fieldManager ?? HELM_FIELD_MANAGER,
      ...(options.handOver && options.handOver.length > 0 ? { handOver: [...options.handOver] } : {}),
      ...(options.readHelmReleaseRecords ? { readReleaseRecords: true } : {}),
    }, undefined, [], options.releaseName === undefined);
  }

  /**
   * Delete the add-on's objects (the VPC CNI for Cilium, Calico or another CNI; kube-proxy for
   * Cilium's kube-proxy replacement), after keeping a recovery copy in the cluster that `restore()`
   * and the CLI's `restore` re-create them from. Deleting the custom resource never re-creates them.
   *
   * @example
   * declare const cluster: eksv2.Cluster;
   *
   * // kube-proxy, once a CNI that replaces it runs.
   * new PreinstalledAddonOwnership(this, 'KubeProxy', {
   *   cluster: ClusterTarget.fromEksV2Cluster(cluster),
   *   addon: PreinstalledAddon.KUBE_PROXY,
   *   action: CniAction.remove(),
   * });
   */
  public static remove(options: RemoveOptions = {}): CniAction {
    return new CniAction({
      type: 'REMOVE',
      crdPolicy: options.crdPolicy ?? CrdPolicy.DELETE_IF_UNUSED,
      ...(options.deletePolicyEndpointCrd ? { deletePolicyEndpointCrd: true } : {}),
    });
  }

  /**
   * Stop every pod of the add-on with a nodeSelector no node has; deleting the stack restores it.
   *
   * @example
   * declare const cluster: eksv2.Cluster;
   *
   * new VpcCniOwnership(this, 'VpcCni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.disable() });
   */
  public static disable(): CniAction {
    return new CniAction({ type: 'DISABLE' });
  }

  /**
   * Undo a disable, and re-create what a removal deleted, as it was, from the recovery copy the
   * removal kept (the ConfigMap `cdk-vpc-cni-ownership-recovery-<addon>` in kube-system). Deleting
   * the custom resource changes nothing.
   *
   * @example
   * declare const cluster: eksv2.Cluster;
   *
   * new PreinstalledAddonOwnership(this, 'KubeProxy', {
   *   cluster: ClusterTarget.fromEksV2Cluster(cluster),
   *   addon: PreinstalledAddon.KUBE_PROXY,
   *   action: CniAction.restore(),
   * });
   */
  public static restore(): CniAction {
    return new CniAction({ type: 'RESTORE' });
  }

  /**
   * Only report who owns the add-on (the `previousOwner` attribute); never writes.
   *
   * @example
   * declare const cluster: eksv2.Cluster;
   *
   * const owner = new VpcCniOwnership(this, 'VpcCni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.inspect() });
   * new CfnOutput(this, 'VpcCniOwner', { value: owner.previousOwner });
   */
  public static inspect(): CniAction {
    return new CniAction({ type: 'INSPECT' });
  }

  /**
   * @internal A network switch that rolls back to a working VPC CNI: disable first (reversible);
   * remove only in a second custom resource that comes after the new CNI's chart (see ClusterNetworkSetup),
   * and, for a kube-proxy replacement, kube-proxy's removal in a third.
   */
  public static _disableThenRemove(options: RemoveOptions = {}, removeKubeProxy = false): CniAction {
    const remove = CniAction.remove(options)._action;
    return new CniAction({ type: 'DISABLE' }, remove,
      removeKubeProxy ? [{ addon: definitions.KUBE_PROXY, action: { type: 'REMOVE', crdPolicy: 'KEEP' } }] : []);
  }

  /** The action's name: ADOPT, REMOVE, DISABLE, RESTORE or INSPECT. */
  public readonly actionType: string;

  private constructor(
    /** @internal */ public readonly _action: Action,
    /** @internal The action of a second custom resource, made to come after something else (a switch's removal). */
    public readonly _finally?: Action,
    /** @internal Actions on other add-ons of the cluster, each a custom resource after the second (kube-proxy's removal). */
    public readonly _alsoFinally: readonly AddonAction[] = [],
    /** @internal adoptIntoHelm() without a releaseName: the add-on's own default release. */
    public readonly _defaultReleaseName = false,
  ) {
    this.actionType = _action.type;
  }
}

/** @internal The chart values custom resources' answer: the chart version, the values' JSON, and the notes (changes first). */
export interface ChartValuesAttributes {
  readonly version: string;
  readonly valuesJson: string;
  readonly notes: string;
}

/** Properties of VpcCniOwnership. */
export interface VpcCniOwnershipProps {
  /** The cluster whose VPC CNI is handled. */
  readonly cluster: ClusterTarget;
  /** What to do with the VPC CNI. */
  readonly action: CniAction;
  /**
   * When someone other than the EKS bootstrap install owns the add-on (a Helm release, an EKS
   * managed add-on, kubectl, unknown).
   * @default OwnedByOthers.FAIL
   */
  readonly ifOwnedByOthers?: OwnedByOthers;
  /**
   * Only plan: the `plan` attribute lists the writes, nothing is written.
   * @default false
   */
  readonly dryRun?: boolean;
  /**
   * How the handler gets Kubernetes permissions.
   * @default - `KubernetesAccess.rbac()` when the cluster construct can apply manifests, otherwise `KubernetesAccess.clusterAdminPolicy()` (cluster-admin, with a synthesis warning)
   */
  readonly kubernetesAccess?: KubernetesAccess;
}

/** Properties of PreinstalledAddonOwnership. */
export interface PreinstalledAddonOwnershipProps extends VpcCniOwnershipProps {
  /** The preinstalled add-on to handle. */
  readonly addon: PreinstalledAddon;
}

/** The action with the add-on's own defaults filled in (adopt's release name). */
function withDefaults(addon: AddonDefinition, action: CniAction): Action {
  const own = action._action;
  return own.type === 'ADOPT' && action._defaultReleaseName ? { ...own, releaseName: addon.defaultReleaseName } : own;
}

/** Every action a construct runs on its cluster, in order: its own, then its switch's later steps. */
function stepsOf(addon: AddonDefinition, action: CniAction): AddonAction[] {
  return [
    { addon, action: withDefaults(addon, action) },
    ...action._finally ? [{ addon, action: action._finally }] : [],
    ...action._alsoFinally,
  ];
}

/**
 * Inspects who owns a preinstalled add-on of an EKS cluster (the VPC CNI, kube-proxy or CoreDNS) at
 * deploy time, then adopts it into a Helm release, removes it (keeping a recovery copy), disables
 * it reversibly, or restores it. One per cluster in a stack: its handler's admission policy
 * describes the one construct's actions.
 *
 * @example
 * declare const cluster: eksv2.Cluster;
 *
 * new PreinstalledAddonOwnership(this, 'CoreDnsIntoHelm', {
 *   cluster: ClusterTarget.fromEksV2Cluster(cluster),
 *   addon: PreinstalledAddon.COREDNS,
 *   action: CniAction.adoptIntoHelm(),
 * });
 */
export class PreinstalledAddonOwnership extends Construct {
  /**
   * What the handler needs in the cluster for an action on an add-on, to apply yourself with
   * `KubernetesAccess.manual()`: a ClusterRole and a Role in kube-system (with their bindings to the
   * group `cdk-vpc-cni-ownership`) granting the action's verbs on the add-on's objects by name, and,
   * unless turned off, the ValidatingAdmissionPolicies (with bindings) that limit what it may write.
   * @param addon the add-on
   * @param action the action the construct runs
   * @param options whether to include the admission policies (Kubernetes 1.30+)
   */
  public static rbacManifestFor(addon: PreinstalledAddon, action: CniAction, options: RbacAccessOptions = {}): any[] {
    return sequenceAccessManifest(stepsOf(DEFINITIONS[addon], action), options);
  }

  /**
   * The owner before the deployment changed anything: one of the values of `AddonOwner`
   * (EKS_BOOTSTRAP, EKS_MANAGED_ADDON, HELM_RELEASE, HELM_ADOPTED, HELM_ANNOTATED, KUBECTL,
   * OTHER_APPLIER, UNKNOWN, ABSENT; https://github.com/cdk-vpc-cni-ownership/cdk-vpc-cni-ownership/blob/main/docs/ownership.md). A token, resolved at deploy time.
   */
  public readonly previousOwner: string;
  /** The previous owner in words, e.g. `Helm release "cilium" in namespace "kube-system"`. */
  public readonly previousOwnerDescription: string;
  /** Comma-separated ids of the objects the deployment changed, deleted or re-created. */
  public readonly changedObjects: string;
  /**
   * JSON: the planned writes with their reasons (and, for a dry run, the API server's refusal of any),
   * notes, and why nothing was done if skipped.
   */
  public readonly plan: string;
  /**
   * The installed VPC CNI as an aws-vpc-cni chart version, from the aws-node image tag
   * (`v1.19.2-eksbuild.1` → `1.19.2`); empty when it cannot be told, and for the other add-ons.
   */
  public readonly installedVersion: string;
  /** The IAM role the handler runs as (shared by every ownership construct in the stack). */
  public readonly handlerRole: iam.IRole;
  /**
   * The Kubernetes group the handler role is mapped to and its RBAC binds: its own per construct and
   * stack with `KubernetesAccess.rbac()`, so two stacks on one cluster never share access objects;
   * `cdk-vpc-cni-ownership` (KUBERNETES_GROUP) with `manual()` and `clusterAdminPolicy()`.
   */
  public readonly kubernetesGroup: string;

  /** @internal The second custom resource of a switch (its removal), when the action has one. */
  public readonly _finalStep?: CustomResource;
  /** @internal The custom resources of the switch's other add-ons (kube-proxy's removal), after the chart. */
  public readonly _otherSteps: CustomResource[] = [];

  /** @internal */
  protected readonly _resource: CustomResource;
  /** @internal */
  protected readonly _provider: cr.Provider;
  /** @internal */
  protected readonly _clusterName: string;
  /** @internal */
  protected readonly _addon: AddonDefinition;

  constructor(scope: Construct, id: string, props: PreinstalledAddonOwnershipProps) {
    super(scope, id);
    const addon = DEFINITIONS[props.addon];
    if (!addon) throw new Error(`${this.node.path}: addon "${props.addon}" must be one of ${Object.values(PreinstalledAddon).join(', ')}`);
    validateProps(this, addon, props);
    const target = props.cluster;
    const steps = stepsOf(addon, props.action);
    warnOfRunningNodes(this, target, steps);
    const stack = Stack.of(this);

    const handler = HandlerSingleton.of(stack, target._network);
    handler.claim(target, this, addon);
    this.handlerRole = handler.role;
    for (const step of [...new Set(steps.map((x) => x.addon))]) {
      grantEksApi(handler.role, target.clusterName, step.eksAddonName, props.ifOwnedByOthers === OwnedByOthers.TAKE_OVER);
    }

    const access = grantKubernetesAccess(this, target, props.kubernetesAccess, handler.role, steps, handler.provider.serviceToken);
    this.kubernetesGroup = access.identity.group;
    this._provider = handler.provider;

    // Each field its own property: a token's value (a parameter, an SSM value) can never reach another field.
    const propertiesOf = (step: AddonAction): OwnershipResourceProperties => ({
      ClusterName: target.clusterName,
      // Resources of the VPC CNI carry no Addon property, as before there were other add-ons.
      ...step.addon === definitions.VPC_CNI ? {} : { Addon: step.addon.name },
      ...actionProperties(step.action),
      IfOwnedByOthers: props.ifOwnedByOthers ?? OwnedByOthers.FAIL,
      DryRun: String(props.dryRun ?? false),
      // The handler writes nothing until it sees the policies that limit it in force.
      ...access.probe,
    });
    this._resource = new CustomResource(this, 'Resource', {
      serviceToken: handler.provider.serviceToken,
      resourceType: RESOURCE_TYPE,
      properties: propertiesOf(steps[0]),
    });
    for (const dependency of access.dependencies) this._resource.node.addDependency(dependency);

    if (props.action._finally) {
      // A sibling, not a child: what depends on this construct (the new CNI's chart) must not wait for it.
      this._finalStep = new CustomResource(scope, `${id}Finally`, {
        serviceToken: handler.provider.serviceToken,
        resourceType: RESOURCE_TYPE,
        properties: propertiesOf(steps[1]),
      });
      this._finalStep.node.addDependency(this._resource);
    }
    for (const step of props.action._alsoFinally) {
      const other = new CustomResource(scope, `${id}${step.addon.name.split('-').map((w) => w[0].toUpperCase() + w.slice(1)).join('')}${step.action.type === 'REMOVE' ? 'Removal' : 'Step'}`, {
        serviceToken: handler.provider.serviceToken,
        resourceType: RESOURCE_TYPE,
        properties: propertiesOf(step),
      });
      other.node.addDependency(this._resource);
      this._otherSteps.push(other);
    }

    this.previousOwner = this._resource.getAttString(ATTRIBUTE.previousOwner);
    this.previousOwnerDescription = this._resource.getAttString(ATTRIBUTE.previousOwnerDescription);
    this.changedObjects = this._resource.getAttString(ATTRIBUTE.changedObjects);
    this.plan = this._resource.getAttString(ATTRIBUTE.plan);
    this.installedVersion = this._resource.getAttString(ATTRIBUTE.installedVersion);
    this._clusterName = target.clusterName;
    this._addon = addon;
  }

  /**
   * @internal The add-on's chart values that reproduce the running install, with `userValues` merged
   * over them (the chart's fixed paths keep theirs), and the chart version (unless `version` is given:
   * the installed one for the VPC CNI, the add-on chart's own otherwise): read at deploy time, after
   * this construct's action, by custom resources whose responses each carry a part of the values' JSON
   * (CloudFormation limits a response to 4,096 bytes).
   */
  public _chartValues(userValues: Record<string, any>, version?: string): ChartValuesAttributes {
    const common = {
      ClusterName: this._clusterName,
      // Resources of the VPC CNI carry no Addon property, as before there were other add-ons.
      ...this._addon === definitions.VPC_CNI ? {} : { Addon: this._addon.name },
      Parts: String(CHART_VALUES_PARTS),
      UserValues: Stack.of(this).toJsonString(userValues),
      ...(version ? { Version: version } : {}),
    };
    const part = (index: number, extra: Record<string, string> = {}) => {
      const resource = new CustomResource(this, `ChartValues${index}`, {
        serviceToken: this._provider.serviceToken,
        resourceType: CHART_VALUES_RESOURCE_TYPE,
        properties: { ...common, Part: String(index), ...extra },
      });
      // Read what the action left (an adoption hands eks's fields to Helm's manager first).
      resource.node.addDependency(this._resource);
      return resource;
    };
    const summary = part(0);
    const digest = summary.getAttString(CHART_VALUES_ATTRIBUTE.digest);
    const parts = Array.from({ length: CHART_VALUES_PARTS }, (_, i) => part(i + 1, { ExpectedDigest: digest }));
    return {
      version: summary.getAttString(CHART_VALUES_ATTRIBUTE.version),
      valuesJson: Fn.join('', parts.map((p) => p.getAttString(CHART_VALUES_ATTRIBUTE.chunk))),
      notes: summary.getAttString(CHART_VALUES_ATTRIBUTE.notes),
    };
  }
}

/**
 * Inspects who owns the Amazon VPC CNI (`aws-node`) of an EKS cluster at deploy time, then adopts it
 * into a Helm release, removes it, or disables it reversibly. The same as PreinstalledAddonOwnership
 * with `addon: PreinstalledAddon.VPC_CNI`, plus the chart values of the running install.
 *
 * @example
 * declare const cluster: eksv2.Cluster;
 *
 * const vpcCni = new VpcCniOwnership(this, 'VpcCni', {
 *   cluster: ClusterTarget.fromEksV2Cluster(cluster),
 *   action: CniAction.remove({ crdPolicy: CrdPolicy.DELETE_IF_UNUSED }),
 *   ifOwnedByOthers: OwnedByOthers.FAIL,
 * });
 * new CfnOutput(this, 'Removed', { value: vpcCni.changedObjects });
 */
export class VpcCniOwnership extends PreinstalledAddonOwnership {
  /** The Kubernetes group the handler is mapped to, bound by `rbacManifest()`. */
  public static readonly KUBERNETES_GROUP = KUBERNETES_GROUP;

  /**
   * What the handler needs in the cluster for an action, to apply yourself with
   * `KubernetesAccess.manual()`: a ClusterRole and a Role in kube-system (with their bindings to the
   * group `cdk-vpc-cni-ownership`) granting the action's verbs on the VPC CNI objects by name, and,
   * unless turned off, the ValidatingAdmissionPolicies (with bindings) that limit what it may write.
   * @param action the action the construct runs
   * @param options whether to include the admission policies (Kubernetes 1.30+)
   */
  public static rbacManifest(action: CniAction, options: RbacAccessOptions = {}): any[] {
    return PreinstalledAddonOwnership.rbacManifestFor(PreinstalledAddon.VPC_CNI, action, options);
  }

  constructor(scope: Construct, id: string, props: VpcCniOwnershipProps) {
    super(scope, id, { ...props, addon: PreinstalledAddon.VPC_CNI });
  }
}

/** Synth-time checks; each error names the prop. Tokens are checked by the handler at deploy time. */
function validateProps(scope: Construct, addon: AddonDefinition, props: VpcCniOwnershipProps): void {
  const action = withDefaults(addon, props.action);
  const problems: string[] = [];
  const check = (value: string, fn: (v: string, prop: string) => string[], prop: string) => {
    if (!Token.isUnresolved(value)) problems.push(...fn(value, prop));
  };
  if (action.type === 'ADOPT') {
    check(action.releaseName, releaseNameProblems, 'releaseName');
    check(action.releaseNamespace, (v, prop) => adoptReleaseNamespaceProblems(addon, v, prop), 'releaseNamespace');
    check(action.fieldManager, adoptFieldManagerProblems, 'fieldManager');
    const handOver = action.handOver ?? [];
    if (!handOver.some((m) => Token.isUnresolved(m)) && !Token.isUnresolved(action.fieldManager)) {
      problems.push(...handOverProblems(handOver, action.fieldManager, 'handOver'));
    }
  }
  if (!Token.isUnresolved(props.cluster.clusterName) && props.cluster.clusterName.length === 0) problems.push('clusterName must not be empty');
  // What the cluster construct will deploy has none of the add-ons: an action would fail (or do nothing) only after the cluster is created.
  if (props.cluster._noPreinstalledAddons && stepsOf(addon, props.action).some((s) => s.action.type !== 'INSPECT')) {
    problems.push(`cluster: ${props.cluster._noPreinstalledAddons}`);
  }
  // inspect() never writes: options about writing contradict it.
  if (action.type === 'INSPECT' && props.ifOwnedByOthers !== undefined) problems.push('ifOwnedByOthers has no meaning for action inspect(), which never writes');
  if (action.type === 'INSPECT' && props.dryRun !== undefined) problems.push('dryRun has no meaning for action inspect(), which never writes');
  const kind = addon === definitions.VPC_CNI ? 'VpcCniOwnership' : 'PreinstalledAddonOwnership';
  if (problems.length > 0) throw new Error(`${scope.node.path}: invalid ${kind} props:\n- ${problems.join('\n- ')}`);
}

/** The id of the warning that nodes created with the cluster run the VPC CNI before it is removed (acknowledge it with this id). */
export const NODES_BEFORE_REMOVAL_WARNING = 'cdk-vpc-cni-ownership:nodesRunBeforeVpcCniRemoval';

/**
 * Removing the VPC CNI cuts off the pods of the nodes that already run it: capacity created with the
 * cluster (its default node group) joins before any action and keeps aws-node's network until replaced.
 */
function warnOfRunningNodes(scope: Construct, target: ClusterTarget, steps: readonly AddonAction[]): void {
  const removesVpcCni = steps.some((s) => s.addon === definitions.VPC_CNI && s.action.type === 'REMOVE');
  if (!removesVpcCni || !target._defaultCapacity) return;
  Annotations.of(scope).addWarningV2(NODES_BEFORE_REMOVAL_WARNING,
    `The cluster's default capacity (${target._defaultCapacity.node.path}) is created with the cluster, so its nodes run the VPC CNI `
    + 'when it is removed: their pods keep their addresses but lose their network until the nodes are replaced, and new pods there fail. '
    + 'Create the cluster with defaultCapacity: 0 and add node groups through the network setup (addNodegroupCapacity), which waits for the new CNI; '
    + 'or replace these nodes after the deployment.');
}

/** EKS API permissions, scoped to the one cluster and the add-on's EKS add-on name. */
function grantEksApi(role: iam.IRole, clusterName: string, eksAddonName: string, deleteAddon: boolean): void {
  const stack = Stack.of(role);
  const clusterArn = stack.formatArn({ service: 'eks', resource: 'cluster', resourceName: clusterName });
  const addonArn = Arn.format({ service: 'eks', resource: 'addon', resourceName: `${clusterName}/${eksAddonName}/*`, arnFormat: ArnFormat.SLASH_RESOURCE_NAME }, stack);
  role.addToPrincipalPolicy(new iam.PolicyStatement({ actions: ['eks:DescribeCluster'], resources: [clusterArn] }));
  role.addToPrincipalPolicy(new iam.PolicyStatement({
    actions: deleteAddon ? ['eks:DescribeAddon', 'eks:DeleteAddon'] : ['eks:DescribeAddon'],
    resources: [addonArn],
  }));
}

/** One handler function and one Provider per stack, whatever the number of VpcCniOwnership constructs. */
class HandlerSingleton extends Construct {
  public static of(stack: Stack, network: HandlerNetworkOptions | undefined): HandlerSingleton {
    const id = 'VpcCniOwnershipHandler';
    const existing = stack.node.tryFindChild(id) as HandlerSingleton | undefined;
    if (existing) {
      if (networkKey(existing.network) !== networkKey(network)) {
        throw new Error(`Every VpcCniOwnership in stack ${stack.stackName} shares one handler, so all must run it in the same network `
          + `(handlerNetwork: ${networkKey(existing.network) || 'none'} vs ${networkKey(network) || 'none'}); put them in separate stacks`);
      }
      return existing;
    }
    return new HandlerSingleton(stack, id, network);
  }

  public readonly role: iam.IRole;
  public readonly provider: cr.Provider;
  private readonly clusters = new Map<string, string>();

  private constructor(scope: Construct, id: string, private readonly network: HandlerNetworkOptions | undefined) {
    super(scope, id);
    const fn = new VpcCniOwnershipFunction(this, 'Function', {
      description: 'cdk-vpc-cni-ownership: adopts, removes or disables the Amazon VPC CNI of an EKS cluster',
      timeout: Duration.minutes(5),
      memorySize: 256,
      architecture: lambda.Architecture.ARM_64,
      vpc: network?.vpc,
      vpcSubnets: network?.vpcSubnets,
      securityGroups: network?.securityGroups,
    });
    this.role = fn.role!;
    this.provider = new cr.Provider(this, 'Provider', { onEventHandler: fn });
  }

  /**
   * One ownership construct per cluster in a stack: two on one add-on would undo each other, and the
   * handler's one admission policy per cluster describes one construct's actions.
   */
  public claim(target: ClusterTarget, owner: Construct, addon: AddonDefinition): void {
    const clusterName = target.clusterName;
    const other = this.clusters.get(clusterName);
    const kind = addon === definitions.VPC_CNI ? 'a VpcCniOwnership' : 'an ownership construct';
    if (other) {
      // A created cluster's name is a token until deploy: name the construct instead.
      const cluster = Token.isUnresolved(clusterName) && target._cluster ? target._cluster.node.path : clusterName;
      throw new Error(`${owner.node.path}: cluster ${cluster} already has ${kind} (${other}); use one per cluster and stack `
      + '(the handler\'s admission policy describes one construct\'s actions; the Cilium preset removes the VPC CNI and kube-proxy with one)');
    }
    this.clusters.set(clusterName, owner.node.path);
  }
}

/** The handler's network as the function gets it: VPC, the subnets its selection picks, security groups. */
function networkKey(network: HandlerNetworkOptions | undefined): string {
  if (!network) return '';
  // Subnet ids are often tokens; resolved, two selections compare by what they deploy to.
  const stack = Stack.of(network.vpc);
  const subnets = network.vpc.selectSubnets(network.vpcSubnets).subnetIds.map((id) => JSON.stringify(stack.resolve(id)));
  return [network.vpc.node.path, `subnets ${subnets.join(' ')}`, ...(network.securityGroups ?? []).map((sg) => sg.node.path)].join(', ');
}
