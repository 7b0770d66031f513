import { KubectlV33Layer } from '@aws-cdk/lambda-layer-kubectl-v33';
import { App, Stack, aws_eks as eks, aws_eks_v2 as eksv2 } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { ClusterTarget, CniAction, CrdPolicy, KubernetesAccess, VpcCniOwnership, VpcCniOwnershipProps } from '../../src';
import { accessManifest, accessManifests, DAEMONSET_POLICY_NAME, POD_SPEC_FIELDS_1_30, POLICY_NAME } from '../../src/access';
import { CLUSTER_ADMIN_FALLBACK_WARNING } from '../../src/access/grant';
import { AWS_NODE_RULES, VPC_CNI } from '../../src/addons';
import { constructAccess, identityAt } from '../support/construct-access';

const ENV = { account: '111111111111', region: 'eu-west-1' };

function newStack(): Stack {
  return new Stack(new App(), 'Stack', { env: ENV });
}

function eksCluster(stack: Stack, version = eks.KubernetesVersion.V1_33): eks.Cluster {
  return new eks.Cluster(stack, 'Cluster', {
    version,
    kubectlLayer: new KubectlV33Layer(stack, 'Kubectl'),
    defaultCapacity: 0,
    authenticationMode: eks.AuthenticationMode.API,
  });
}

/** Every access object the construct applies (limits, then grants), without aws-cdk-lib's prune labels. */
const appliedManifest = (template: Template): any[] => constructAccess(template).all;
/** The construct's own identity: stack "Stack", construct "Cni". */
const IDENTITY = identityAt('Stack', 'Stack/Cni');

function synth(props: Omit<VpcCniOwnershipProps, 'cluster'>, version?: eks.KubernetesVersion): Template {
  const stack = newStack();
  new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksCluster(eksCluster(stack, version)), ...props });
  return Template.fromStack(stack);
}

const ACTIONS: [string, CniAction][] = [
  ['inspect', CniAction.inspect()],
  ['disable', CniAction.disable()],
  ['remove', CniAction.remove()],
  ['remove (KEEP)', CniAction.remove({ crdPolicy: CrdPolicy.KEEP })],
  ['adopt', CniAction.adoptIntoHelm()],
];

/** The action's roles; the probe's Role (get and patch of the probe ConfigMap only) is checked on its own. */
const rolesOf = (manifest: any[]) => manifest.filter((m) => (m.kind === 'ClusterRole' || m.kind === 'Role') && !m.metadata.name.endsWith('-probe'));
const rulesOf = (manifest: any[]) => rolesOf(manifest).flatMap((r) => r.rules);
const verbsOn = (manifest: any[], resource: string, name?: string) => rulesOf(manifest)
  .filter((r) => r.resources?.includes(resource) && (name === undefined || r.resourceNames?.includes(name)))
  .flatMap((r) => r.verbs);

describe('each action synthesizes its own access', () => {
  test.each(ACTIONS)('%s: the construct applies the limits, checks them in force, then the grants: exactly the access of its own identity', (_name, action) => {
    const template = synth({ action });
    const applied = constructAccess(template);
    const expected = accessManifests([{ addon: VPC_CNI, action: action._action }], { identity: IDENTITY });
    expect(applied.limits).toEqual(expected.limits);
    expect(applied.grants).toEqual(expected.grants);
    // Nothing that grants the handler anything but the probe comes before the check.
    expect(applied.limits.filter((m) => /Binding$/.test(m.kind) && m.kind !== 'ValidatingAdmissionPolicyBinding').map((m) => m.metadata.name))
      .toEqual([`${IDENTITY.prefix}-probe`]);
    expect(applied.check!.properties).toMatchObject({
      ProbeNamespace: 'kube-system', ProbeName: `${IDENTITY.prefix}-probe`, PolicyMarker: expected.probe!.marker,
    });
    expect(applied.check!.dependsOn).toEqual(expect.arrayContaining([applied.limitsId, expect.stringMatching(/^CniAccessEntry/)]));
    expect(template.findResources('Custom::AWSCDK-EKS-KubernetesResource')[applied.grantsId].DependsOn).toContain(applied.check!.id);
    const [ownershipResource] = Object.values(template.findResources('Custom::VpcCniOwnership')) as any[];
    expect(ownershipResource.DependsOn).toContain(applied.grantsId);
    // The handler itself writes nothing until it sees the same policies in force.
    expect(ownershipResource.Properties).toMatchObject({ ProbeName: `${IDENTITY.prefix}-probe`, PolicyMarker: expected.probe!.marker });
  });

  test('the probe: a ConfigMap the handler may get and patch by RBAC, and never write by policy (its first rule names the digest)', () => {
    const manifest = VpcCniOwnership.rbacManifest(CniAction.disable());
    const probeRole = manifest.find((m) => m.kind === 'Role' && m.metadata.name === 'cdk-vpc-cni-ownership-probe');
    expect(probeRole.rules).toEqual([{ apiGroups: [''], resources: ['configmaps'], resourceNames: ['cdk-vpc-cni-ownership-probe'], verbs: ['get', 'patch'] }]);
    const scope = manifest.find((m) => m.kind === 'ValidatingAdmissionPolicy' && m.metadata.name === POLICY_NAME);
    expect(scope.spec.validations[0]).toEqual({
      expression: 'variables.target != "/configmaps/kube-system/cdk-vpc-cni-ownership-probe"',
      message: expect.stringMatching(/^cdk-vpc-cni-ownership \(disable\): policies [0-9a-f]{16} in force; the handler may never write its probe/),
      reason: 'Forbidden',
    });
    // Another action's policies have another digest.
    const other = VpcCniOwnership.rbacManifest(CniAction.remove()).find((m) => m.kind === 'ValidatingAdmissionPolicy' && m.metadata.name === POLICY_NAME);
    expect(other.spec.validations[0].message.match(/policies (\w+)/)[1]).not.toBe(scope.spec.validations[0].message.match(/policies (\w+)/)[1]);
  });

  test.each(ACTIONS)('%s: no escalate, no bind, no wildcard, and the roles\' names carry the action', (name, action) => {
    const manifest = VpcCniOwnership.rbacManifest(action);
    for (const rule of rulesOf(manifest)) {
      expect(rule.verbs).not.toContain('escalate');
      expect(rule.verbs).not.toContain('bind');
      expect(rule.verbs).not.toContain('*');
      expect(rule.apiGroups ?? []).not.toContain('*');
      expect(rule.resources ?? []).not.toContain('*');
    }
    const suffix = name.split(' ')[0];
    expect(rolesOf(manifest).map((r) => r.metadata.name)).toEqual([`cdk-vpc-cni-ownership-${suffix}`, `cdk-vpc-cni-ownership-${suffix}`]);
    for (const binding of manifest.filter((m) => /RoleBinding$/.test(m.kind) && !m.metadata.name.endsWith('-probe'))) {
      expect(binding.subjects).toEqual([{ kind: 'Group', name: 'cdk-vpc-cni-ownership', apiGroup: 'rbac.authorization.k8s.io' }]);
      expect(binding.roleRef.name).toBe(`cdk-vpc-cni-ownership-${suffix}`);
    }
  });

  test.each(ACTIONS.filter(([name]) => name !== 'adopt'))('%s: no Secrets, no ConfigMap list, none of aws-node\'s rules', (_name, action) => {
    const manifest = VpcCniOwnership.rbacManifest(action);
    expect(verbsOn(manifest, 'secrets')).toEqual([]);
    expect(verbsOn(manifest, 'configmaps')).not.toContain('list');
    // The VPC CNI's ConfigMap, and the recovery copy where the action reads or writes it.
    const copy = action.actionType === 'DISABLE' ? [] : [['cdk-vpc-cni-ownership-recovery-vpc-cni']];
    expect(rulesOf(manifest).filter((r) => r.resources?.includes('configmaps')).map((r) => r.resourceNames)).toEqual([['amazon-vpc-cni'], ...copy]);
    expect(verbsOn(manifest, 'pods')).toEqual([]);
    expect(rulesOf(manifest).filter((r) => r.nonResourceURLs)).toEqual([]);
  });

  test('the verbs on each VPC CNI object follow the action', () => {
    const verbs = (action: CniAction, id: string) => {
      const o = VPC_CNI.objects.find((x) => x.id === id)!;
      return verbsOn(VpcCniOwnership.rbacManifest(action), o.resource, o.name);
    };
    const ds = 'DaemonSet/kube-system/aws-node';
    const role = 'ClusterRole/aws-node';
    const crd = 'CustomResourceDefinition/eniconfigs.crd.k8s.amazonaws.com';
    // Every action may restore the DaemonSet (an Update leaving DISABLE does that first).
    expect(verbs(CniAction.inspect(), ds)).toEqual(['get', 'patch']);
    expect(verbs(CniAction.inspect(), role)).toEqual(['get']);
    expect(verbs(CniAction.disable(), role)).toEqual(['get']);
    expect(verbs(CniAction.remove(), ds)).toEqual(['get', 'patch', 'delete']);
    expect(verbs(CniAction.remove(), role)).toEqual(['get', 'delete']);
    expect(verbs(CniAction.remove(), crd)).toEqual(['get', 'delete']);
    expect(verbs(CniAction.remove({ crdPolicy: CrdPolicy.KEEP }), crd)).toEqual(['get']);
    // The PolicyEndpoint CRD is deleted only when asked for (the EKS control plane uses it).
    const policyEndpoints = VPC_CNI.objects.find((o) => o.crd?.kind === 'PolicyEndpoint')!;
    const removeVerbs = (deletePolicyEndpointCrd: boolean) => verbsOn(
      accessManifest(VPC_CNI, { type: 'REMOVE', crdPolicy: 'DELETE', deletePolicyEndpointCrd }), policyEndpoints.resource, policyEndpoints.name);
    expect(removeVerbs(false)).toEqual(['get']);
    expect(removeVerbs(true)).toEqual(['get', 'delete']);
    expect(verbs(CniAction.adoptIntoHelm(), role)).toEqual(['get', 'patch']);
    expect(verbs(CniAction.adoptIntoHelm(), crd)).toEqual(['get', 'patch']);
  });

  test('custom resources are listed only where they are counted: inspect and remove DELETE_IF_UNUSED', () => {
    const lists = (action: CniAction) => verbsOn(VpcCniOwnership.rbacManifest(action), 'eniconfigs');
    expect(lists(CniAction.inspect())).toEqual(['list']);
    expect(lists(CniAction.remove())).toEqual(['list']);
    expect(lists(CniAction.remove({ crdPolicy: CrdPolicy.DELETE }))).toEqual([]);
    expect(lists(CniAction.disable())).toEqual([]);
  });

  test('adopt: aws-node\'s rules in its ClusterRole; no Secret read unless asked (readHelmReleaseRecords), then listed in kube-system only', () => {
    const manifest = VpcCniOwnership.rbacManifest(CniAction.adoptIntoHelm());
    const clusterRole = manifest.find((m) => m.kind === 'ClusterRole');
    expect(clusterRole.rules).toEqual(expect.arrayContaining(AWS_NODE_RULES.map((r) => ({ ...r }))));
    expect(verbsOn(manifest, 'secrets')).toEqual([]);
    expect(verbsOn(manifest, 'configmaps').filter((v) => v === 'list')).toEqual([]);

    const reading = VpcCniOwnership.rbacManifest(CniAction.adoptIntoHelm({ readHelmReleaseRecords: true }));
    const roles = rolesOf(reading).filter((m) => m.kind === 'Role');
    expect(roles.map((r) => r.metadata.namespace)).toEqual(['kube-system']);
    expect(roles[0].rules).toContainEqual({ apiGroups: [''], resources: ['secrets', 'configmaps'], verbs: ['list'] });
    expect(verbsOn([reading.find((m) => m.kind === 'ClusterRole')], 'secrets')).toEqual([]);
  });
});

describe('the admission policies', () => {
  const policies = (manifest: any[]) => manifest.filter((m) => m.kind === 'ValidatingAdmissionPolicy');

  test.each(ACTIONS)('%s: two policies with a binding each, failurePolicy Fail, matching only the handler', (_name, action) => {
    const manifest = VpcCniOwnership.rbacManifest(action);
    expect(policies(manifest).map((p) => p.metadata.name)).toEqual([DAEMONSET_POLICY_NAME, POLICY_NAME]);
    for (const policy of policies(manifest)) {
      expect(policy.apiVersion).toBe('admissionregistration.k8s.io/v1');
      expect(policy.spec.failurePolicy).toBe('Fail');
      expect(policy.spec.matchConditions[0].expression).toContain('request.userInfo.username == "cdk-vpc-cni-ownership-handler"');
      expect(policy.spec.matchConditions[0].expression).toContain('"cdk-vpc-cni-ownership" in request.userInfo.groups');
      expect(manifest).toContainEqual(expect.objectContaining({
        kind: 'ValidatingAdmissionPolicyBinding', spec: { policyName: policy.metadata.name, validationActions: ['Deny'] },
      }));
    }
  });

  test('the first policy allows each action only its own writes', () => {
    const allowed = (action: CniAction) => policies(VpcCniOwnership.rbacManifest(action))
      .find((p) => p.metadata.name === POLICY_NAME).spec.validations.find((v: any) => v.expression.startsWith('variables.subResource')).expression as string;
    expect(allowed(CniAction.inspect())).toContain('request.operation == \'DELETE\' && variables.target in [])');
    expect(allowed(CniAction.inspect())).toContain('variables.target in ["apps/daemonsets/kube-system/aws-node"]');
    expect(allowed(CniAction.remove())).toContain('"rbac.authorization.k8s.io/clusterroles//aws-node"');
    expect(allowed(CniAction.adoptIntoHelm())).toContain('request.operation == \'DELETE\' && variables.target in [])');
    expect(allowed(CniAction.adoptIntoHelm())).toContain('"apiextensions.k8s.io/customresourcedefinitions//eniconfigs.crd.k8s.amazonaws.com"');
  });

  test('the DaemonSet policy compares every PodSpec field of Kubernetes 1.30 but nodeSelector and overhead, and the DaemonSet spec', () => {
    const policy = policies(VpcCniOwnership.rbacManifest(CniAction.disable())).find((p) => p.metadata.name === DAEMONSET_POLICY_NAME);
    const messages: string[] = policy.spec.validations.map((v: any) => v.message);
    for (const field of POD_SPEC_FIELDS_1_30.filter((f) => f !== 'nodeSelector' && f !== 'overhead')) {
      expect(messages).toContainEqual(expect.stringContaining(`spec.template.spec.${field} may not change`));
    }
    for (const field of ['selector', 'updateStrategy', 'minReadySeconds', 'revisionHistoryLimit', 'template.metadata']) {
      expect(messages).toContainEqual(expect.stringContaining(`spec.${field} may not change`));
    }
    expect(POD_SPEC_FIELDS_1_30).toHaveLength(39);
  });

  test('rbac({ admissionPolicy: false }) applies the RBAC alone: one manifest, no check, no probe', () => {
    const template = synth({ action: CniAction.remove(), kubernetesAccess: KubernetesAccess.rbac({ admissionPolicy: false }) });
    const applied = constructAccess(template);
    expect(applied.limits).toEqual([]);
    expect(applied.check).toBeUndefined();
    expect(applied.grants.map((m) => m.kind)).toEqual(['ClusterRole', 'Role', 'ClusterRoleBinding', 'RoleBinding']);
    const expected = accessManifests([{ addon: VPC_CNI, action: CniAction.remove()._action }], { admissionPolicy: false, identity: IDENTITY });
    expect(expected.grants).toEqual(applied.grants);
    const kinds = (manifest: any[]) => manifest.map((m) => m.kind);
    expect(kinds(VpcCniOwnership.rbacManifest(CniAction.remove(), { admissionPolicy: false }))).toEqual(kinds(applied.grants));
    expect(Object.values(template.findResources('Custom::VpcCniOwnership'))[0]).not.toHaveProperty('Properties.ProbeName');
  });

  test('a cluster construct older than Kubernetes 1.30 fails synthesis naming the option; with the option it synthesizes', () => {
    expect(() => synth({ action: CniAction.remove() }, eks.KubernetesVersion.V1_29))
      .toThrow(/Kubernetes 1\.29, which has no ValidatingAdmissionPolicy.*KubernetesAccess\.rbac\(\{ admissionPolicy: false \}\)/);
    const manifest = appliedManifest(synth({ action: CniAction.remove(), kubernetesAccess: KubernetesAccess.rbac({ admissionPolicy: false }) },
      eks.KubernetesVersion.V1_29));
    expect(policies(manifest)).toEqual([]);
    expect(policies(appliedManifest(synth({ action: CniAction.remove() }, eks.KubernetesVersion.V1_30)))).toHaveLength(2);
  });

  test('an aws-eks-v2 cluster older than 1.30 with a kubectl provider fails the same way', () => {
    const stack = newStack();
    const cluster = new eksv2.Cluster(stack, 'Cluster', {
      version: eksv2.KubernetesVersion.V1_29,
      defaultCapacityType: eksv2.DefaultCapacityType.NODEGROUP,
      defaultCapacity: 0,
      kubectlProviderOptions: { kubectlLayer: new KubectlV33Layer(stack, 'Kubectl') },
    });
    expect(() => new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromEksV2Cluster(cluster), action: CniAction.disable() }))
      .toThrow(/admissionPolicy: false/);
  });
});

describe('no silent cluster-admin', () => {
  test('the default falling back to clusterAdminPolicy() warns, naming manual() with rbacManifest() and a kubectl provider', () => {
    const stack = newStack();
    new VpcCniOwnership(stack, 'Cni', { cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }), action: CniAction.remove() });
    const warnings = Annotations.fromStack(stack).findWarning('*', Match.stringLikeRegexp('cluster-admin'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].entry.data).toMatch(/KubernetesAccess\.manual\(\).*VpcCniOwnership\.rbacManifest\(action\).*kubectl provider/);
    expect(warnings[0].entry.data).toContain(`[ack: ${CLUSTER_ADMIN_FALLBACK_WARNING}]`);
  });

  test('choosing clusterAdminPolicy(), or RBAC, warns of nothing', () => {
    const chosen = newStack();
    new VpcCniOwnership(chosen, 'Cni', {
      cluster: ClusterTarget.fromClusterName({ clusterName: 'prod' }), action: CniAction.remove(), kubernetesAccess: KubernetesAccess.clusterAdminPolicy(),
    });
    expect(Annotations.fromStack(chosen).findWarning('*', Match.anyValue())).toEqual([]);
    const rbac = newStack();
    new VpcCniOwnership(rbac, 'Cni', { cluster: ClusterTarget.fromEksCluster(eksCluster(rbac)), action: CniAction.remove() });
    expect(Annotations.fromStack(rbac).findWarning('*/Cni', Match.anyValue())).toEqual([]);
  });
});
