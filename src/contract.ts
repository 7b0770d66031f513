/**
 * What the construct and its Lambda handler agree on: the custom resource's properties and
 * attributes, and the Kubernetes identity the handler works as (its RBAC is in `access/`). Pure data.
 */
import type { Action } from './engine/types';

export const RESOURCE_TYPE = 'Custom::VpcCniOwnership';
/** The custom resource that returns the chart values reproducing a running add-on (the Addon property; absent: the VPC CNI), in parts. */
export const CHART_VALUES_RESOURCE_TYPE = 'Custom::VpcCniChartValues';
/**
 * The custom resource that waits until the admission policies limiting the handler are in force,
 * between the manifest of the policies and the manifest that grants the handler its RBAC.
 */
export const ACCESS_CHECK_RESOURCE_TYPE = 'Custom::VpcCniOwnershipAccessCheck';

/**
 * How the handler sees its admission policies in force: a dry-run write of the probe ConfigMap
 * (`ProbeNamespace`/`ProbeName`) refused with `PolicyMarker` in the message. The access check
 * resource has these; so does the ownership resource when its access has policies (the handler
 * then writes nothing until it sees them).
 */
export interface PolicyProbeProperties {
  readonly ProbeNamespace: string;
  readonly ProbeName: string;
  readonly PolicyMarker: string;
}

export interface AccessCheckResourceProperties extends PolicyProbeProperties {
  readonly ClusterName: string;
}

/**
 * Properties of the ownership custom resource, as CloudFormation hands them over (scalars arrive as
 * strings). Each field of the action is a property of its own: a value that is a token (a parameter,
 * an SSM value) stays that field's value, whatever characters it holds.
 */
export interface OwnershipResourceProperties {
  readonly ClusterName: string;
  /** The preinstalled add-on (`kube-proxy`, `coredns`); absent: the VPC CNI (resources of earlier versions have none). */
  readonly Addon?: string;
  /** ADOPT, REMOVE, DISABLE, RESTORE or INSPECT. */
  readonly ActionType: string;
  readonly ReleaseName?: string;
  readonly ReleaseNamespace?: string;
  readonly FieldManager?: string;
  /** Managers of imperative edits handed over with the installer's fields. */
  readonly HandOver?: readonly string[];
  /** "true": the adopt lists Helm's release records (Secrets and ConfigMaps in kube-system). */
  readonly ReadReleaseRecords?: string;
  readonly CrdPolicy?: string;
  /** "true" to apply crdPolicy to the PolicyEndpoint CRD. */
  readonly DeletePolicyEndpointCrd?: string;
  readonly IfOwnedByOthers: string;
  readonly DryRun: string;
  /** With an access whose admission policies the construct applies: how to see them in force before writing. */
  readonly ProbeNamespace?: string;
  readonly ProbeName?: string;
  readonly PolicyMarker?: string;
}

/** The action's fields as properties, one each (no field is serialized into another). */
export function actionProperties(action: Action): Pick<OwnershipResourceProperties,
'ActionType' | 'ReleaseName' | 'ReleaseNamespace' | 'FieldManager' | 'HandOver' | 'ReadReleaseRecords' | 'CrdPolicy' | 'DeletePolicyEndpointCrd'> {
  switch (action.type) {
    case 'ADOPT':
      return {
        ActionType: action.type,
        ReleaseName: action.releaseName,
        ReleaseNamespace: action.releaseNamespace,
        FieldManager: action.fieldManager,
        ...(action.handOver && action.handOver.length > 0 ? { HandOver: action.handOver } : {}),
        ...(action.readReleaseRecords ? { ReadReleaseRecords: 'true' } : {}),
      };
    case 'REMOVE':
      return {
        ActionType: action.type,
        CrdPolicy: action.crdPolicy,
        ...(action.deletePolicyEndpointCrd ? { DeletePolicyEndpointCrd: 'true' } : {}),
      };
    default:
      return { ActionType: action.type };
  }
}

/**
 * How many parts carry the chart values' JSON: each response holds about 2.8 KB of it (escaped), so
 * five carry about 11 KB of values, several times what an EKS install with customisations needs.
 */
export const CHART_VALUES_PARTS = 5;

/** Properties of the chart values custom resource (see CHART_VALUES_RESOURCE_TYPE). */
export interface ChartValuesResourceProperties {
  readonly ClusterName: string;
  /** The add-on whose chart values these are (`coredns`); absent: the VPC CNI (resources of earlier versions have none). */
  readonly Addon?: string;
  /** "0": the summary (version, digest, notes); "1" to Parts: that part of the values' JSON text. */
  readonly Part: string;
  readonly Parts: string;
  /** JSON of the user's values, merged over the derived ones. */
  readonly UserValues: string;
  /** The chart version to install; empty: the installed one. */
  readonly Version?: string;
  /** For parts 1 and up: the summary's digest, which the part's JSON must have too. */
  readonly ExpectedDigest?: string;
}

/** Attributes the handler returns (`Data`); all strings. */
export const ATTRIBUTE = {
  previousOwner: 'PreviousOwner',
  previousOwnerDescription: 'PreviousOwnerDescription',
  changedObjects: 'ChangedObjects',
  plan: 'Plan',
  installedVersion: 'InstalledVersion',
} as const;

/** Attributes of the chart values custom resource. */
export const CHART_VALUES_ATTRIBUTE = {
  /** Summary: the chart version to install. */
  version: 'Version',
  installedVersion: 'InstalledVersion',
  digest: 'Digest',
  bytes: 'Bytes',
  notes: 'Notes',
  /** Parts: a piece of the values' JSON text. */
  chunk: 'Chunk',
} as const;

/** The Kubernetes group the handler's IAM role is mapped to; the RBAC (`access/`) binds it. */
export const KUBERNETES_GROUP = 'cdk-vpc-cni-ownership';
/** The Kubernetes user name the handler's IAM role is mapped to. */
export const KUBERNETES_USERNAME = 'cdk-vpc-cni-ownership-handler';
