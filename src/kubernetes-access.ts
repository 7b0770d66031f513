/** Options of `KubernetesAccess.rbac()` and `VpcCniOwnership.rbacManifest()`. */
export interface RbacAccessOptions {
  /**
   * Apply, with the RBAC, the ValidatingAdmissionPolicies that hold the handler's identity to the
   * writes of its action: labels, annotations and managedFields of the VPC CNI objects, the
   * DaemonSet's one nodeSelector key, and (for remove) deletes of those objects. Whatever the RBAC
   * allows, the handler can then never change a role's rules, a binding's subjects or the
   * DaemonSet's containers, nor create anything.
   *
   * Needs Kubernetes 1.30 or later (`admissionregistration.k8s.io/v1`). Turn it off only for an
   * older cluster: a cluster construct whose version is known to be older fails synthesis until you do.
   * @default true
   */
  readonly admissionPolicy?: boolean;
}

/** How the handler's IAM role gets its Kubernetes permissions. */
export class KubernetesAccess {
  /**
   * RBAC for the action only, on the VPC CNI objects by name, with admission policies (by default) that limit what the handler writes.
   *
   * Applied through the cluster's kubectl provider, with the handler role mapped to a group of the
   * construct's own (`kubernetesGroup`; an access entry, or aws-auth in CONFIG_MAP mode). The
   * admission policies go first; the roles and bindings only once a custom resource of the handler's
   * has seen the policies refuse a write they forbid.
   *
   * @example
   * declare const cluster: eksv2.Cluster;
   *
   * new VpcCniOwnership(this, 'VpcCni', {
   *   cluster: ClusterTarget.fromEksV2Cluster(cluster),
   *   action: CniAction.remove(),
   *   kubernetesAccess: KubernetesAccess.rbac({ admissionPolicy: true }),
   * });
   */
  public static rbac(options: RbacAccessOptions = {}): KubernetesAccess {
    return new KubernetesAccess('RBAC', options.admissionPolicy ?? true);
  }

  /**
   * An access entry with AmazonEKSClusterAdminPolicy at cluster scope: the handler is cluster-admin.
   * The default only for cluster constructs that cannot apply manifests, with a synthesis warning.
   */
  public static clusterAdminPolicy(): KubernetesAccess {
    return new KubernetesAccess('CLUSTER_ADMIN_POLICY', false);
  }

  /**
   * Nothing is created: map `handlerRole` yourself to the group `cdk-vpc-cni-ownership` and apply
   * `VpcCniOwnership.rbacManifest(action)`.
   */
  public static manual(): KubernetesAccess {
    return new KubernetesAccess('MANUAL', false);
  }

  private constructor(
    /** The kind of access: RBAC, CLUSTER_ADMIN_POLICY or MANUAL. */
    public readonly kind: string,
    /** Whether the construct applies the admission policies (only `rbac()` applies anything). */
    public readonly admissionPolicy: boolean,
  ) {}
}
