/**
 * Who the handler is in Kubernetes: the user and group its IAM role is mapped to, and the prefix of
 * every access object's name. Each construct that applies its own access gets its own, so that two
 * stacks on one cluster never share (and never replace or delete) each other's RBAC and policies.
 */
import { createHash } from 'crypto';
import { KUBERNETES_GROUP, KUBERNETES_USERNAME } from '../contract';

export interface HandlerIdentity {
  /** The Kubernetes user the access entry (or aws-auth) maps the handler role to. */
  readonly username: string;
  /** The group it is mapped to, which the RBAC binds and the policies match. */
  readonly group: string;
  /** The start of every access object's name: RBAC `<prefix>-<action>`, policies `<prefix>`, `<prefix>-daemonset`. */
  readonly prefix: string;
}

/** The identity of `rbacManifest()` and `KubernetesAccess.manual()`: what you map the handler role to yourself. */
export const DEFAULT_IDENTITY: HandlerIdentity = { username: KUBERNETES_USERNAME, group: KUBERNETES_GROUP, prefix: KUBERNETES_GROUP };

/**
 * The identity of one construct, from a key that is unique where it is deployed (the stack's name,
 * unique per account and region, and the construct's path in it).
 */
export function constructIdentity(key: string): HandlerIdentity {
  const prefix = `${KUBERNETES_GROUP}-${createHash('sha256').update(key).digest('hex').slice(0, 10)}`;
  return { username: `${prefix}-handler`, group: prefix, prefix };
}
