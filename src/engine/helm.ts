/** The metadata Helm reads to decide whether an existing object may be adopted into a release. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_HELM = 'Helm';
export const RELEASE_NAME_ANNOTATION = 'meta.helm.sh/release-name';
export const RELEASE_NAMESPACE_ANNOTATION = 'meta.helm.sh/release-namespace';

/** Labels Helm puts on its release records (Secrets with the default storage driver). */
export function releaseRecordSelector(releaseName: string): string {
  return `owner=helm,name=${releaseName}`;
}

/** The field manager EKS uses for its bootstrap install and for managed add-ons. */
export const EKS_FIELD_MANAGER = 'eks';
/** The field manager Helm writes as (Helm 3 client-side, Helm 4 server-side): an adopt's default new owner. */
export const HELM_FIELD_MANAGER = 'helm';
/** Managers that mark a `kubectl apply` (client-side) install. */
export const KUBECTL_CLIENT_SIDE_MANAGER = 'kubectl-client-side-apply';
export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

/** Our own field manager, for writes that belong to no Helm release (disable/restore). */
export const OWN_FIELD_MANAGER = 'cdk-vpc-cni-ownership';
/** The nodeSelector key that disables the DaemonSet: no node carries it. */
export const DISABLED_NODE_SELECTOR_KEY = 'cdk-vpc-cni-ownership/disabled';
