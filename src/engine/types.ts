import { ManagerSummary } from './managers';
import { AddonDefinition, AddonObject } from './objects';

/** Who owns an add-on, decided from the signals a cluster offers (docs/ownership.md). */
export type OwnerKind =
  /** EKS installed it at cluster creation: field manager `eks`, no Helm release. */
  | 'EKS_BOOTSTRAP'
  /** The EKS API reports the add-on (e.g. `vpc-cni`) as a managed add-on (which also writes as manager `eks`). */
  | 'EKS_MANAGED_ADDON'
  /** A Helm release (its release record exists) owns it. */
  | 'HELM_RELEASE'
  /** Labelled and annotated for a Helm release that has no release record yet: adopted, chart not installed. */
  | 'HELM_ADOPTED'
  /**
   * Annotated for a Helm release whose records were not looked up (they are only when an adopt asks
   * for it, and only in kube-system): installed or only adopted, its annotations do not tell.
   */
  | 'HELM_ANNOTATED'
  /** Written with `kubectl apply` (client-side): the style of clusters created before 2024. */
  | 'KUBECTL'
  /** Applied server-side by a tool other than EKS (Argo CD, Flux, eksctl, kubectl --server-side, …). */
  | 'OTHER_APPLIER'
  /** Present, but none of the above. */
  | 'UNKNOWN'
  /** Not there. */
  | 'ABSENT';

export interface Owner {
  readonly kind: OwnerKind;
  readonly releaseName?: string;
  readonly releaseNamespace?: string;
  /** Human-readable, e.g. `Helm release "cilium" in namespace "kube-system"`. */
  readonly description: string;
}

/** Facts from outside the cluster (the EKS API). */
export interface ClusterFacts {
  /** The EKS API's `DescribeAddon` of the add-on's EKS name succeeded. */
  readonly managedAddon?: boolean;
}

export interface ObjectState {
  readonly object: AddonObject;
  /** The live object; `undefined` when absent. */
  readonly live?: KubeObject;
  /** This object's owner. CRDs carry no Helm metadata: they are EKS_BOOTSTRAP or UNKNOWN. */
  readonly owner: Owner;
  /** `manager/Operation` of each managedFields entry. */
  readonly managers: readonly string[];
  /** The managers by role: appliers, imperative edits (customisations), other writers. */
  readonly managerRoles: ManagerSummary;
  /**
   * For CRDs: why the CRD is not the add-on's to change (another controller or applier owns
   * fields of it, or EKS's bootstrap never applied it); `undefined` when it is.
   */
  readonly notTheAddons?: string;
  /** For CRDs, when counted: how many custom resources of it exist. */
  readonly customResources?: number;
  /** What makes this object unsafe to change (unexpected shape); empty when fine. */
  readonly problems: readonly string[];
}

export interface Observation {
  /** The add-on observed. */
  readonly addon: AddonDefinition;
  readonly owner: Owner;
  readonly objects: readonly ObjectState[];
  readonly facts: ClusterFacts;
  /** The library's recovery copy of what a removal deleted, when there is one. */
  readonly recoveryCopy?: RecoveryCopy;
}

/** One object as a removal found it, kept to re-create it. */
export interface RecoveredObject {
  readonly id: string;
  /** The field manager a restore applies it as: `eks` when EKS's bootstrap had written it, ours otherwise. */
  readonly fieldManager: string;
  /** The object as applied: no status, uid, resourceVersion, managedFields or timestamps. */
  readonly object: KubeObject;
}

export interface RecoveryCopy {
  /** `ConfigMap/<namespace>/<name>` of the copy. */
  readonly id: string;
  readonly live: KubeObject;
  readonly objects: readonly RecoveredObject[];
  /** What makes the copy unusable (not the library's, unreadable); empty when fine. */
  readonly problems: readonly string[];
}

export type CrdPolicy = 'KEEP' | 'DELETE_IF_UNUSED' | 'DELETE';
export type OwnedByOthers = 'FAIL' | 'SKIP' | 'TAKE_OVER';

export type Action =
  | { readonly type: 'INSPECT' }
  | {
    readonly type: 'ADOPT';
    readonly releaseName: string;
    readonly releaseNamespace: string;
    readonly fieldManager: string;
    /** Managers of imperative edits (e.g. `kubectl-set`) whose fields are handed to `fieldManager` too. */
    readonly handOver?: readonly string[];
    /**
     * List Helm's release records (Secrets and ConfigMaps in the add-on's namespace) to tell an
     * installed release from an adopted one. Off by default: listing Secrets returns their data, and
     * the guard needs only Helm's annotations and the field managers.
     */
    readonly readReleaseRecords?: boolean;
  }
  | {
    readonly type: 'REMOVE';
    readonly crdPolicy: CrdPolicy;
    /** Apply crdPolicy to the PolicyEndpoint CRD too; it is kept otherwise (the EKS control plane uses it). */
    readonly deletePolicyEndpointCrd?: boolean;
  }
  | { readonly type: 'DISABLE' }
  | {
    /** Undo a disable, and re-create what a removal deleted from the recovery copy. */
    readonly type: 'RESTORE';
    /**
     * Re-create absent objects from the recovery copy. Default true; false only undoes a disable
     * (what deleting a disable's custom resource does: it never brings a removed add-on back).
     */
    readonly recreate?: boolean;
  };

/** One write of a plan. Every write of an existing object carries the resourceVersion it was planned against (creations: empty). */
export interface Write {
  readonly objectId: string;
  /**
   * PATCH: a JSON merge patch; DELETE; APPLY: a server-side apply of the whole `body` that creates
   * it (the recovery copy, restore's re-creations), failing on any conflict.
   */
  readonly verb: 'PATCH' | 'DELETE' | 'APPLY';
  readonly path: string;
  readonly reason: string;
  readonly resourceVersion: string;
  /** PATCH: a JSON merge patch; DELETE: DeleteOptions; APPLY: the object. */
  readonly body: unknown;
  readonly fieldManager?: string;
  /** Managers whose managedFields entries this write hands over: none of them may be left after it. */
  readonly handsOver?: readonly string[];
}

/** What the API server said of one planned write sent with `dryRun=All`. */
export interface PreflightResult {
  readonly objectId: string;
  readonly verb: Write['verb'];
  readonly accepted: boolean;
  /** Why it was refused: the API server's answer (bounded) and what to grant or exempt. */
  readonly refusal?: string;
  /**
   * Accepted without the API server's word, and why: a binding whose role the same plan re-creates
   * first cannot be checked before that role exists (RBAC looks the role up).
   */
  readonly uncheckedBecause?: string;
}

export interface Plan {
  readonly action: Action;
  readonly owner: Owner;
  readonly writes: readonly Write[];
  /** Things deliberately left as they are, with the reason (e.g. a CRD kept by policy). */
  readonly notes: readonly string[];
  /** Set when the guard let the run succeed without writing (`ifOwnedByOthers: SKIP`). */
  readonly skipped?: string;
  /**
   * Objects still being deleted (a finalizer, a CRD's clean-up) that the action re-creates once they
   * are gone: the run waits for them, within its time, and plans again.
   */
  readonly waitingFor?: readonly string[];
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    generation?: number;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    managedFields?: import('./managed-fields').ManagedFieldsEntry[];
  };
  [key: string]: any;
}
