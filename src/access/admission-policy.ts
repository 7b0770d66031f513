/**
 * ValidatingAdmissionPolicies (admissionregistration.k8s.io/v1, Kubernetes 1.30+) that hold the
 * handler's identity to exactly the writes its action makes, whatever its RBAC would allow. RBAC
 * cannot say "patch, but only the labels": these can. They match the handler's user or group only.
 *
 * The policies, each with its binding:
 * - `cdk-vpc-cni-ownership`: every request of the handler. Only UPDATE and DELETE of the named
 *   objects the action writes, and CREATE of the named objects it creates (the recovery copy;
 *   restore's re-creations, whose bindings must grant what EKS's do and whose images must be EKS's);
 *   an update may change only the allowed labels and annotations, managedFields and what the server
 *   maintains; nothing outside metadata changes except the workloads' one nodeSelector key and the
 *   recovery copy's data. Written for any kind, so it compares maps key by key and is not
 *   type-checked (it matches every resource).
 * - `cdk-vpc-cni-ownership-daemonset` (and `-deployment` where a Deployment is written): updates of
 *   the add-ons' workloads, field by field, each with its own message. Each matches one typed
 *   resource, so the API server type-checks every field name against its schema (status.typeChecking).
 */
import { createHash } from 'crypto';
import { DEFAULT_IDENTITY, HandlerIdentity } from './identity';
import { ActionAccess } from './model';
import { DISABLED_NODE_SELECTOR_KEY } from '../engine/helm';
import { AddonObject } from '../engine/objects';
import { recoveryCopyObject } from '../engine/recovery';

/** The policies' names for an identity: `<prefix>` (every request), `<prefix>-daemonset`, `<prefix>-deployment`. */
export function policyNames(identity: HandlerIdentity) {
  return { scope: identity.prefix, daemonset: `${identity.prefix}-daemonset`, deployment: `${identity.prefix}-deployment` };
}
export const POLICY_NAME = policyNames(DEFAULT_IDENTITY).scope;
export const DAEMONSET_POLICY_NAME = policyNames(DEFAULT_IDENTITY).daemonset;
export const DEPLOYMENT_POLICY_NAME = policyNames(DEFAULT_IDENTITY).deployment;

/**
 * An object of the library's that the handler may get and patch by RBAC and that its scope policy
 * always refuses to let it write: a dry-run write of it that is refused with the policies' digest in
 * the message shows those exact policies in force for the handler.
 */
export interface PolicyProbe {
  readonly namespace: string;
  readonly name: string;
  /** Part of the refusal's message when the policies of this digest are in force. */
  readonly marker: string;
}

/**
 * Every field of PodSpec in Kubernetes 1.30 (k8s.io/api v0.30.0 core/v1 types.go), the version
 * that made ValidatingAdmissionPolicy GA. A field name the API server's schema does not know is a
 * type-checking warning, so the list stops at 1.30; later fields (`resources` 1.32, `hostnameOverride`
 * 1.34) are held by the first policy's key-by-key comparison.
 */
export const POD_SPEC_FIELDS_1_30 = [
  'volumes', 'initContainers', 'containers', 'ephemeralContainers', 'restartPolicy', 'terminationGracePeriodSeconds',
  'activeDeadlineSeconds', 'dnsPolicy', 'nodeSelector', 'serviceAccountName', 'serviceAccount', 'automountServiceAccountToken',
  'nodeName', 'hostNetwork', 'hostPID', 'hostIPC', 'shareProcessNamespace', 'securityContext', 'imagePullSecrets', 'hostname',
  'subdomain', 'affinity', 'schedulerName', 'tolerations', 'hostAliases', 'priorityClassName', 'priority', 'dnsConfig',
  'readinessGates', 'runtimeClassName', 'enableServiceLinks', 'preemptionPolicy', 'overhead', 'topologySpreadConstraints',
  'setHostnameAsFQDN', 'os', 'hostUsers', 'schedulingGates', 'resourceClaims',
] as const;

/**
 * PodSpec fields the DaemonSet policy leaves to the first policy: `nodeSelector` has its own rule,
 * and `overhead` (a map of quantities) has no type in the schema the type checker reads, so naming
 * it there is an "undefined field" warning.
 */
const UNTYPED_POD_SPEC_FIELDS: readonly string[] = ['nodeSelector', 'overhead'];

/** The spec fields other than the template, per workload kind (apps/v1; unchanged since 1.16). */
const WORKLOAD_SPEC_FIELDS: Record<string, readonly string[]> = {
  DaemonSet: ['selector', 'updateStrategy', 'minReadySeconds', 'revisionHistoryLimit'],
  Deployment: ['replicas', 'selector', 'strategy', 'minReadySeconds', 'revisionHistoryLimit', 'paused', 'progressDeadlineSeconds'],
};

/**
 * Where EKS's images come from: an ECR registry of an AWS account in any partition
 * (`<account>.dkr.ecr[-fips].<region>.<domain>`), followed by one of the add-on's repositories.
 */
function eksImagePattern(repositories: readonly string[]): string {
  const escape = (x: string) => x.replace(/\./g, '\\.');
  return '^[0-9]{12}\\.dkr\\.ecr(-fips)?\\.[a-z0-9-]+\\.(amazonaws\\.com(\\.cn)?|c2s\\.ic\\.gov|sc2s\\.sgov\\.gov|cloud\\.adc-e\\.uk|csp\\.hci\\.ic\\.gov)/'
    + `(${repositories.map(escape).join('|')}):[A-Za-z0-9._-]+$`;
}

/** Metadata the API server changes on every write (managedFields is the client's to replace, too). */
const SERVER_METADATA = ['resourceVersion', 'generation', 'managedFields'];
/** The DaemonSet's template generation, which the server bumps when the template changes. */
const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

const lit = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[]) => `[${xs.map(lit).join(', ')}]`;
const orEmpty = (parent: string, field: string) => `(has(${parent}.${field}) ? ${parent}.${field} : {})`;

/** Maps `a` and `b` are equal but for the keys in `except`. */
function sameExcept(a: string, b: string, except: readonly string[]): string {
  const skip = except.length > 0 ? `k in ${list(except)} || ` : '';
  return `(${a}.all(k, ${skip}(k in ${b} && ${a}[k] == ${b}[k])) && ${b}.all(k, ${skip}k in ${a}))`;
}

/** An optional field is absent in both, or present in both with equal values. */
function sameField(a: string, b: string, field: string): string {
  return `(has(${a}.${field}) ? (has(${b}.${field}) && ${a}.${field} == ${b}.${field}) : !has(${b}.${field}))`;
}

/** `apps/daemonsets/kube-system/aws-node`: how a request names its object (see the `target` variable). */
function targetOf(o: AddonObject): string {
  const group = o.apiVersion.includes('/') ? o.apiVersion.split('/')[0] : '';
  return `${group}/${o.resource}/${o.namespace ?? ''}/${o.name}`;
}

/** The handler's identity as EKS maps it: the access entry's (or aws-auth's) user, or the group. */
function handlerIdentityCondition(identity: HandlerIdentity) {
  return {
    name: 'handler-identity',
    expression: `(has(request.userInfo.username) && request.userInfo.username == ${lit(identity.username)})`
      + ` || (has(request.userInfo.groups) && ${lit(identity.group)} in request.userInfo.groups)`,
  };
}

/** The nodeSelector rule for the action, on two nodeSelector maps. */
function nodeSelectorRule(access: ActionAccess, now: string, before: string): string {
  const key = lit(DISABLED_NODE_SELECTOR_KEY);
  const keyRule = access.disableKey === 'ADD_OR_REMOVE'
    ? `(!(${key} in ${now}) || ${now}[${key}] == 'true')`
    : `(!(${key} in ${now}) || (${key} in ${before} && ${now}[${key}] == ${before}[${key}]))`;
  return `${sameExcept(now, before, [DISABLED_NODE_SELECTOR_KEY])} && ${keyRule}`;
}

/** A policy that applies to the handler's identity only and fails closed: a request it cannot evaluate is refused. */
function handlerPolicy(name: string, identity: HandlerIdentity, { matchConstraints, ...checks }: Record<string, any>): Record<string, any> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicy',
    metadata: { name },
    spec: { failurePolicy: 'Fail', matchConstraints, matchConditions: [handlerIdentityCondition(identity)], ...checks },
  };
}

function binding(policyName: string): Record<string, any> {
  return {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingAdmissionPolicyBinding',
    metadata: { name: policyName },
    spec: { policyName, validationActions: ['Deny'] },
  };
}

/** What a re-created object must be: bindings grant what EKS's grant; workloads run EKS's images only. */
function creationRules(access: ActionAccess): string[] {
  const rules: string[] = [];
  for (const addon of access.addons) {
    for (const o of addon.objects.filter((x) => access.create.includes(x))) {
      const target = `variables.target != ${lit(targetOf(o))}`;
      if (o.roleRef && o.subjects) {
        const subject = o.subjects.map((x) => `(s.kind == ${lit(x.kind)} && s.name == ${lit(x.name)}`
          + ` && (has(s.namespace) ? s.namespace : '') == ${lit(x.namespace ?? '')})`).join(' || ');
        rules.push(`(${target} || (object.roleRef.kind == ${lit(o.roleRef.kind)} && object.roleRef.name == ${lit(o.roleRef.name)}`
          + ` && has(object.subjects) && object.subjects.size() == ${o.subjects.length} && object.subjects.all(s, ${subject})))`);
      }
      if (o === addon.workload) {
        const image = lit(eksImagePattern(addon.imageRepositories));
        const pod = 'object.spec.template.spec';
        rules.push(`(${target} || (${pod}.containers.all(c, c.image.matches(${image}))`
          + ` && (!has(${pod}.initContainers) || ${pod}.initContainers.all(c, c.image.matches(${image})))))`);
      }
    }
  }
  return rules;
}

function scopePolicy(access: ActionAccess, identity: HandlerIdentity): Record<string, any> {
  const prefix = `cdk-vpc-cni-ownership (${access.name}):`;
  const patchable = access.patch.map(targetOf);
  const deletable = access.delete.map(targetOf);
  const creatable = access.create.map(targetOf);
  const copies = access.addons.map((a) => recoveryCopyObject(a)).filter((c) => access.patch.some((o) => o.id === c.id));
  const writes = [
    ...access.patch.length > 0 ? [`patch ${access.patch.map((o) => o.id).join(', ')}`] : [],
    ...access.delete.length > 0 ? [`delete ${access.delete.map((o) => o.id).join(', ')}`] : [],
    ...access.create.length > 0 ? [`create ${access.create.map((o) => o.id).join(', ')}`] : [],
  ].join('; ');
  const labelKeys = access.labelKeys;
  const annotationKeys = [...access.annotationKeys, TEMPLATE_GENERATION_ANNOTATION];
  const podSpecNow = 'object.spec.template.spec';
  const podSpecBefore = 'oldObject.spec.template.spec';
  const workloadContent = [
    sameExcept('object', 'oldObject', ['metadata', 'status', 'spec']),
    sameExcept('object.spec', 'oldObject.spec', ['template']),
    sameExcept('object.spec.template', 'oldObject.spec.template', ['spec']),
    sameExcept(podSpecNow, podSpecBefore, ['nodeSelector']),
    nodeSelectorRule(access, orEmpty(podSpecNow, 'nodeSelector'), orEmpty(podSpecBefore, 'nodeSelector')),
  ].join(' && ');
  const otherContent = sameExcept('object', 'oldObject', ['metadata', 'status']);
  const content = copies.length > 0
    ? `variables.target in ${list(copies.map(targetOf))} ? ${sameExcept('object', 'oldObject', ['metadata', 'data'])} : ${otherContent}`
    : otherContent;
  const operations = [
    `(request.operation == 'UPDATE' && variables.target in ${list(patchable)})`,
    `(request.operation == 'DELETE' && variables.target in ${list(deletable)})`,
    ...creatable.length > 0 ? [`(request.operation == 'CREATE' && variables.target in ${list(creatable)})`] : [],
  ];
  const creation = creationRules(access);
  return handlerPolicy(policyNames(identity).scope, identity, {
    matchConstraints: {
      resourceRules: [{ apiGroups: ['*'], apiVersions: ['*'], resources: ['*/*'], operations: ['*'] }],
      // Asking the API server what one may do (kubectl auth can-i) is a CREATE that writes nothing.
      excludeResourceRules: [
        { apiGroups: ['authorization.k8s.io'], apiVersions: ['*'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], operations: ['CREATE'] },
        { apiGroups: ['authentication.k8s.io'], apiVersions: ['*'], resources: ['selfsubjectreviews'], operations: ['CREATE'] },
      ],
    },
    variables: [
      {
        name: 'target',
        expression: "request.resource.group + '/' + request.resource.resource + '/' + "
            + "(has(request.namespace) ? request.namespace : '') + '/' + (has(request.name) ? request.name : '')",
      },
      { name: 'subResource', expression: "has(request.subResource) ? request.subResource : ''" },
      { name: 'isWorkload', expression: `variables.target in ${list(access.workloads.map(targetOf))}` },
    ],
    validations: [
      {
        expression: `variables.subResource == '' && (${operations.join(' || ')})`,
        messageExpression: `${lit(`${prefix} the handler may only ${writes || 'read'}; refused: `)} + request.operation + ' '`
            + " + variables.target + (variables.subResource == '' ? '' : '/' + variables.subResource)",
        reason: 'Forbidden',
      },
      {
        expression: 'request.operation != \'UPDATE\' || ('
            + `${sameExcept('object.metadata', 'oldObject.metadata', ['labels', 'annotations', ...SERVER_METADATA])}`
            + ` && ${sameExcept(orEmpty('object.metadata', 'labels'), orEmpty('oldObject.metadata', 'labels'), labelKeys)}`
            + ` && ${sameExcept(orEmpty('object.metadata', 'annotations'), orEmpty('oldObject.metadata', 'annotations'), annotationKeys)})`,
        message: `${prefix} an update may change only managedFields`
            + `${labelKeys.length ? `, the labels ${labelKeys.join(', ')}` : ''}`
            + `${access.annotationKeys.length ? `, the annotations ${access.annotationKeys.join(', ')}` : ''}`
            + ' of the add-on\'s objects (no other label, annotation, owner reference or finalizer)',
        reason: 'Forbidden',
      },
      {
        expression: `request.operation != 'UPDATE' || (variables.isWorkload ? (${workloadContent}) : (${content}))`,
        message: `${prefix} an update may not change anything outside metadata`
            + `, except the workload's nodeSelector key ${DISABLED_NODE_SELECTOR_KEY} (${access.disableKey === 'ADD_OR_REMOVE' ? 'added or removed' : 'removed only'})`
            + `${copies.length > 0 ? ' and the recovery copy\'s data' : ''}`,
        reason: 'Forbidden',
      },
      ...creation.length > 0 ? [{
        expression: `request.operation != 'CREATE' || (${creation.join(' && ')})`,
        message: `${prefix} a re-created binding must grant exactly what EKS's grants (roleRef and subjects), `
            + 'and a re-created workload may run only EKS\'s images',
        reason: 'Forbidden',
      }] : [],
    ],
  });
}

function workloadPolicy(access: ActionAccess, identity: HandlerIdentity, kind: string, policyName: string): Record<string, any> | undefined {
  const workloads = access.workloads.filter((w) => w.kind === kind);
  if (workloads.length === 0) return undefined;
  const first = workloads[0];
  const prefix = `cdk-vpc-cni-ownership (${access.name}): ${kind} ${workloads.map((w) => w.name).join(', ')}:`;
  const fieldRule = (parent: string, field: string, path: string) => ({
    expression: sameField(`object.${parent}`, `oldObject.${parent}`, field),
    message: `${prefix} ${path} may not change`,
    reason: 'Forbidden',
  });
  return handlerPolicy(policyName, identity, {
    matchConstraints: {
      resourceRules: [{
        apiGroups: [first.apiVersion.split('/')[0]],
        apiVersions: [first.apiVersion.split('/')[1]],
        resources: [first.resource],
        resourceNames: workloads.map((w) => w.name),
        operations: ['UPDATE'],
      }],
    },
    validations: [
      ...WORKLOAD_SPEC_FIELDS[kind].map((f) => fieldRule('spec', f, `spec.${f}`)),
      fieldRule('spec.template', 'metadata', 'spec.template.metadata'),
      ...POD_SPEC_FIELDS_1_30.filter((f) => !UNTYPED_POD_SPEC_FIELDS.includes(f)).map((f) => fieldRule('spec.template.spec', f, `spec.template.spec.${f}`)),
      {
        expression: nodeSelectorRule(access, orEmpty('object.spec.template.spec', 'nodeSelector'), orEmpty('oldObject.spec.template.spec', 'nodeSelector')),
        message: `${prefix} spec.template.spec.nodeSelector may change only in the key ${DISABLED_NODE_SELECTOR_KEY}`
            + ` (${access.disableKey === 'ADD_OR_REMOVE' ? 'added with the value "true", or removed' : 'removed only'})`,
        reason: 'Forbidden',
      },
    ],
  });
}

/**
 * The policies and their bindings for an action, named after the handler's identity: applying
 * another action's replaces them, so they always describe the current action. The workload policies
 * come first: once the API server enforces the last object, it enforces all of them (each kind is
 * loaded in the order it was written). With a probe, the scope policy's first rule refuses any write
 * of it, naming the digest of all the policies: a refusal that names it shows them in force.
 */
export function admissionPolicyObjects(access: ActionAccess, identity: HandlerIdentity = DEFAULT_IDENTITY,
  probe?: { namespace: string; name: string }): { objects: Record<string, any>[]; probe?: PolicyProbe } {
  const names = policyNames(identity);
  const typed = ([['DaemonSet', names.daemonset], ['Deployment', names.deployment]] as const)
    .flatMap(([kind, name]) => {
      const policy = workloadPolicy(access, identity, kind, name);
      return policy ? [policy, binding(name)] : [];
    });
  const scope = scopePolicy(access, identity);
  if (!probe) return { objects: [...typed, scope, binding(names.scope)] };
  const digest = createHash('sha256').update(JSON.stringify([...typed, scope])).digest('hex').slice(0, 16);
  const marker = `policies ${digest} in force`;
  const target = `/configmaps/${probe.namespace}/${probe.name}`;
  scope.spec.validations.unshift({
    expression: `variables.target != ${lit(target)}`,
    message: `cdk-vpc-cni-ownership (${access.name}): ${marker}; the handler may never write its probe ConfigMap ${probe.namespace}/${probe.name}`,
    reason: 'Forbidden',
  });
  return { objects: [...typed, scope, binding(names.scope)], probe: { ...probe, marker } };
}
