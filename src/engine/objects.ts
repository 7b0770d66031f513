import type { AddonChart } from './addon-chart';

/**
 * What the engine knows of a preinstalled add-on: its definition. The engine reads definitions and
 * names no add-on's objects itself; each add-on's definition lives in `src/addons/`.
 */

export interface AddonObject {
  /** Stable short id used in plans, logs and results, e.g. `DaemonSet/kube-system/aws-node`. */
  readonly id: string;
  readonly apiVersion: string;
  readonly kind: string;
  /** The resource's plural name in the REST path. */
  readonly resource: string;
  readonly name: string;
  readonly namespace?: string;
  /** CRDs come from a chart's `crds/` folder: never labelled, adopted or upgraded by Helm. */
  readonly crd?: CrdFacts;
  /** The workload's `spec.selector.matchLabels` as EKS installs it (immutable). */
  readonly selector?: Readonly<Record<string, string>>;
  /** A binding's `roleRef` as EKS installs it (immutable). */
  readonly roleRef?: { readonly kind: string; readonly name: string };
  /** A binding's subjects as EKS installs them; a restore may create the binding with these only. */
  readonly subjects?: readonly { readonly kind: string; readonly name: string; readonly namespace?: string }[];
  /** Installed on some clusters only (e.g. kube-proxy's Windows binding): absent is not a partial install. */
  readonly optional?: boolean;
}

/** What the custom resources of a CRD look like, to count them before a deletion. */
export interface CrdFacts {
  readonly group: string;
  readonly kind: string;
  readonly plural: string;
  readonly scope: 'Cluster' | 'Namespaced';
  /** The version the add-on's custom resources are written in. */
  readonly version: string;
  /**
   * Kept by remove unless the action asks for it explicitly (`deletePolicyEndpointCrd`), with the
   * reason: another component of EKS uses it too.
   */
  readonly keptUnlessAsked?: string;
}

/** One preinstalled add-on, as the engine, the access room, the handler and the CLI read it. */
export interface AddonDefinition {
  /** The CLI's and the construct's name, and the EKS add-on name: `vpc-cni`, `kube-proxy`, `coredns`. */
  readonly name: string;
  /** How messages name it, e.g. `the VPC CNI`. */
  readonly title: string;
  /** The name `DescribeAddon`/`DeleteAddon` know it by. */
  readonly eksAddonName: string;
  /** Where its namespaced objects, its Helm release and the library's recovery copy live. */
  readonly namespace: string;
  /** Its objects in the order they are adopted and removed: the workload first, so no pod outlives its RBAC. */
  readonly objects: readonly AddonObject[];
  /** The DaemonSet or Deployment that runs it: the one object whose spec disable changes. */
  readonly workload: AddonObject;
  /** The release to adopt into by default: the one its pods' labels already name, where they do. */
  readonly defaultReleaseName: string;
  /** Why a release outside `namespace` cannot own it (for the error that refuses one). */
  readonly releaseNamespaceReason: string;
  /** Why a workload of another selector is not the one EKS installs (appended to the problem). */
  readonly selectorReason: string;
  /**
   * EKS's install of it is known to be a server-side apply as `eks` (the VPC CNI). When false, how
   * EKS writes it is not documented, so a plain create by `eks` (an Update entry, no other writer)
   * counts as EKS's too (docs/ownership.md says so).
   */
  readonly eksAppliesServerSide: boolean;
  /**
   * The rules of the role its bindings grant, which Kubernetes requires a writer of those bindings to
   * hold (RBAC's escalation check) when it updates or creates them.
   */
  readonly bindingRoleRules: readonly PolicyRule[];
  /** The ECR repository path its images come from (`eks/kube-proxy`): a restore may create the workload with no other image. */
  readonly imageRepositories: readonly string[];
  /** Objects of Kubernetes itself that its bindings point at and that nothing may ever change (`system:node-proxier`). */
  readonly neverTouch: readonly AddonObject[];
  /** The chart it is adopted into by default, and the values that reproduce it; none where no chart renders it (kube-proxy). */
  readonly chart?: AddonChart;
}

export interface PolicyRule {
  readonly apiGroups?: readonly string[];
  readonly resources?: readonly string[];
  readonly nonResourceURLs?: readonly string[];
  readonly verbs: readonly string[];
}

export interface AddonObjectOptions {
  readonly crd?: CrdFacts;
  readonly selector?: Readonly<Record<string, string>>;
  readonly roleRef?: { readonly kind: string; readonly name: string };
  readonly subjects?: readonly { readonly kind: string; readonly name: string; readonly namespace?: string }[];
  readonly optional?: boolean;
}

/** An object of a definition; its id is `Kind/namespace/name`. */
export function addonObject(apiVersion: string, kind: string, resource: string, name: string, namespace?: string,
  options: AddonObjectOptions = {}): AddonObject {
  const id = [kind, namespace, name].filter(Boolean).join('/');
  const extra = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return { id, apiVersion, kind, resource, name, namespace, ...extra };
}

/** A CRD of a definition, served in version v1alpha1 unless given. */
export function crdObject(group: string, kind: string, plural: string, scope: CrdFacts['scope'],
  options: { version?: string; keptUnlessAsked?: string } = {}): AddonObject {
  const facts: CrdFacts = {
    group,
    kind,
    plural,
    scope,
    version: options.version ?? 'v1alpha1',
    ...options.keptUnlessAsked ? { keptUnlessAsked: options.keptUnlessAsked } : {},
  };
  return addonObject('apiextensions.k8s.io/v1', 'CustomResourceDefinition', 'customresourcedefinitions', `${plural}.${group}`, undefined, { crd: facts });
}

/** The REST path of an object, or of a collection when `name` is omitted. */
export function resourcePath(apiVersion: string, resource: string, namespace?: string, name?: string): string {
  const base = apiVersion.includes('/') ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  const ns = namespace ? `/namespaces/${encodeURIComponent(namespace)}` : '';
  return `${base}${ns}/${resource}${name ? `/${encodeURIComponent(name)}` : ''}`;
}

export function objectPath(o: AddonObject): string {
  return resourcePath(o.apiVersion, o.resource, o.namespace, o.name);
}

/** The object of `addon` with this id, or an error naming the add-on. */
export function objectById(addon: AddonDefinition, id: string): AddonObject {
  const o = addon.objects.find((x) => x.id === id);
  if (!o) throw new Error(`${addon.title} has no object ${id}`);
  return o;
}
