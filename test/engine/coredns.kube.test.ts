/**
 * CoreDNS on the engine, on the REAL API server with the REAL kubectl and helm: owners from evidence
 * (table-driven histories: how EKS may have written it, with or without a PodDisruptionBudget, and
 * what others did), what each action does, the managed add-on taken over through DeleteAddon with
 * preserve, removal and restore with the same Service address, and the handler's access for CoreDNS
 * as the handler's own identity.
 */
import { DeleteAddonCommand, DescribeAddonCommand, EKSClient, ResourceNotFoundException } from '@aws-sdk/client-eks';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { CniAction, CrdPolicy, PreinstalledAddon } from '../../src';
import { COREDNS, VPC_CNI } from '../../src/addons';
import { actionProperties, ATTRIBUTE, RESOURCE_TYPE } from '../../src/contract';
import { Action, KubeClient, objectPath, recoveryCopyObject, run } from '../../src/engine';
import { onEvent } from '../../src/handler/handler';
import { asRun, snapshotOf } from '../support/addon-state';
import { handlerDeps, LONGEST_EVENT, mockEksCluster } from '../support/cfn-events';
import { Cli, connection, Fixtures, resetCluster } from '../support/cluster';
import { COREDNS_EKS_CHART, eksCoreDns, KUBE_DNS_IP, renderEksCoreDns } from '../support/coredns';
import { HandlerAccess, refusal } from '../support/handler-access';
import { AddonHistory, describeHistories } from '../support/histories';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const admin = new KubeClient(connection());
afterAll(() => admin.close());
const cli = new Cli(layerTools(LAYER_PACKAGES[0]));

const DEPLOYMENT = 'Deployment/kube-system/coredns';
const SERVICE = 'Service/kube-system/kube-dns';
const REQUIRED = COREDNS.objects.filter((o) => !o.optional).map((o) => o.id);
const WITH_PDB = COREDNS.objects.map((o) => o.id);
const snapshot = () => snapshotOf(admin, COREDNS);

const apply = (args: string[], manifests: string) => cli.kubectl(['apply', ...args, '-f', '-'], manifests);
const resetCoreDns = () => resetCluster(admin, [COREDNS]);

const ADOPT = { type: 'ADOPT', releaseName: 'coredns', releaseNamespace: 'kube-system', fieldManager: 'helm' } as const;
const REMOVE: Action = { type: 'REMOVE', crdPolicy: 'KEEP' };

const eksOutcomes = { adopt: { changed: REQUIRED }, remove: { changed: REQUIRED }, disable: { changed: [DEPLOYMENT] } };
const refused = { adopt: 'REFUSED', remove: 'REFUSED', disable: 'REFUSED' } as const;

const histories: AddonHistory[] = [
  {
    name: 'EKS applies it server-side as "eks" (as it does the VPC CNI)',
    make: () => eksCoreDns(cli),
    owner: 'EKS_BOOTSTRAP',
    ...eksOutcomes,
  },
  {
    name: 'EKS creates it as "eks" (a plain create: Update entries only)',
    make: () => cli.kubectl(['create', '--field-manager', 'eks', '-f', '-'], renderEksCoreDns(cli)),
    owner: 'EKS_BOOTSTRAP',
    ownerDescription: /created by field manager "eks", no other writer/,
    ...eksOutcomes,
  },
  {
    name: 'with the PodDisruptionBudget newer managed add-on versions ship',
    make: () => eksCoreDns(cli, '--set', 'podDisruptionBudget=true'),
    owner: 'EKS_BOOTSTRAP',
    adopt: { changed: WITH_PDB },
    remove: { changed: WITH_PDB },
    disable: { changed: [DEPLOYMENT] },
  },
  {
    name: 'partly removed: only the Deployment deleted by hand (a removal that stopped after its first delete)',
    make: () => {
      eksCoreDns(cli);
      cli.kubectl(['delete', '-n', 'kube-system', 'deployment/coredns']);
    },
    owner: 'EKS_BOOTSTRAP',
    adopt: { changed: REQUIRED.filter((id) => id !== DEPLOYMENT) },
    // The removal is finished: EKS's objects left behind are deleted (a recovery copy first).
    remove: { changed: REQUIRED.filter((id) => id !== DEPLOYMENT) },
    disable: { changed: [] },
  },
  {
    name: 'EKS, then an administrator scaled it to 3 (kubectl scale: the scale subresource, not an owner)',
    make: () => {
      eksCoreDns(cli);
      cli.kubectl(['scale', 'deployment/coredns', '-n', 'kube-system', '--replicas=3']);
    },
    owner: 'EKS_BOOTSTRAP',
    ...eksOutcomes,
  },
  {
    name: 'client-side kubectl apply (cannot be told from an admin\'s: someone else\'s)',
    make: () => apply([], renderEksCoreDns(cli)),
    owner: 'KUBECTL',
    ownerDescription: /kubectl apply \(client-side\)/,
    ...refused,
  },
  {
    name: 'the EKS managed add-on (DescribeAddon coredns answers)',
    make: () => eksCoreDns(cli, '--set', 'podDisruptionBudget=true'),
    managedAddon: true,
    owner: 'EKS_MANAGED_ADDON',
    ownerDescription: /the EKS managed add-on "coredns"/,
    ...refused,
  },
  {
    name: 'a user\'s Helm release of CoreDNS',
    make: () => cli.helm(['install', 'coredns', COREDNS_EKS_CHART, '--namespace', 'kube-system']),
    owner: 'HELM_RELEASE',
    ownerDescription: /Helm release "coredns"/,
    // Adopting into the release that owns it is a no-op; removing or disabling a release's objects is refused.
    adopt: { changed: [] },
    remove: 'REFUSED',
    disable: 'REFUSED',
  },
  {
    name: 'EKS, then a GitOps applier (Argo CD) applies it server-side',
    make: () => {
      eksCoreDns(cli);
      apply(['--server-side', '--force-conflicts', '--field-manager', 'argocd-controller'], renderEksCoreDns(cli, '--set', 'replicas=4'));
    },
    owner: 'OTHER_APPLIER',
    ownerDescription: /"argocd-controller"/,
    ...refused,
  },
  {
    name: 'absent (bootstrapSelfManagedAddons false, or removed by hand)',
    make: () => undefined,
    owner: 'ABSENT',
    adopt: { changed: [] },
    remove: { changed: [] },
    disable: { changed: [] },
  },
];

describeHistories(histories, {
  admin,
  addon: COREDNS,
  reset: resetCoreDns,
  adopt: ADOPT,
  after: async (action, before, changed) => {
    const after = await snapshot();
    if (action === 'adopt') {
      // Nothing that runs changes: the same object (uid), spec, Service address and Corefile.
      for (const id of changed) {
        expect(after[id]!.metadata.uid).toBe(before[id]!.metadata.uid);
        expect(asRun(after[id])!.spec).toEqual(asRun(before[id])!.spec);
        expect(after[id]!.data).toEqual(before[id]!.data);
      }
      expect(after[SERVICE]!.spec.clusterIP).toBe(KUBE_DNS_IP);
    }
    if (action === 'disable') expect(after[DEPLOYMENT]!.spec.template.spec.nodeSelector).toEqual({ 'cdk-vpc-cni-ownership/disabled': 'true' });
  },
});

describe('remove, then restore from the recovery copy', () => {
  test('every object comes back as it ran, the Service with the same clusterIP (every pod\'s DNS server), applied as "eks" again', async () => {
    await resetCoreDns();
    eksCoreDns(cli, '--set', 'podDisruptionBudget=true');
    const before = await snapshot();
    await run(admin, { addon: COREDNS, action: REMOVE });
    expect(Object.values(await snapshot()).every((o) => o === undefined)).toBe(true);

    const restored = await run(admin, { addon: COREDNS, action: { type: 'RESTORE' } });
    expect([...restored.changed].sort()).toEqual([...WITH_PDB].sort());
    const after = await snapshot();
    for (const o of COREDNS.objects) expect(asRun(after[o.id])).toEqual(asRun(before[o.id]));
    expect(after[SERVICE]!.spec.clusterIP).toBe(KUBE_DNS_IP);
    expect((await run(admin, { addon: COREDNS, action: { type: 'INSPECT' } })).previousOwner.kind).toBe('EKS_BOOTSTRAP');
    expect((await run(admin, { addon: COREDNS, action: { type: 'RESTORE' } })).plan.writes).toEqual([]);
  });
});

describe('the EKS managed add-on coredns, through the handler (EKS API mocked)', () => {
  const CLUSTER = 'coredns-test-cluster';
  const eksMock = mockClient(EKSClient);
  const notFound = () => new ResourceNotFoundException({ message: 'not found', $metadata: {} });
  const ADDON = { addon: { addonName: 'coredns', clusterName: CLUSTER, status: 'ACTIVE' as const, addonVersion: 'v1.12.4-eksbuild.1' } };
  const create = (action: Action, ifOwnedByOthers: string): CloudFormationCustomResourceEvent => ({
    ...LONGEST_EVENT,
    RequestType: 'Create',
    ResourceType: RESOURCE_TYPE,
    ResourceProperties: {
      ServiceToken: LONGEST_EVENT.ServiceToken, ClusterName: CLUSTER, Addon: 'coredns', ...actionProperties(action), IfOwnedByOthers: ifOwnedByOthers, DryRun: 'false',
    },
  } as CloudFormationCustomResourceEvent);

  beforeEach(async () => {
    mockEksCluster(eksMock, CLUSTER);
    eksMock.on(DeleteAddonCommand).resolves({});
    await resetCoreDns();
    eksCoreDns(cli, '--set', 'podDisruptionBudget=true');
  });
  afterAll(() => eksMock.restore());

  test('IfOwnedByOthers FAIL: refused naming the managed add-on; DeleteAddon never called, nothing written', async () => {
    eksMock.on(DescribeAddonCommand).resolves(ADDON);
    const before = await snapshot();
    await expect(onEvent(create(ADOPT, 'FAIL'), handlerDeps())).rejects.toThrow(/Refusing to adopt CoreDNS: it is owned by the EKS managed add-on "coredns"/);
    expect(eksMock.commandCalls(DeleteAddonCommand)).toHaveLength(0);
    expect(await snapshot()).toEqual(before);
  });

  test('TAKE_OVER with ADOPT: checked first, then DeleteAddon coredns with preserve (the objects stay), then adopted', async () => {
    eksMock.on(DescribeAddonCommand).resolvesOnce(ADDON).rejects(notFound());
    const before = await snapshot();
    const response = await onEvent(create(ADOPT, 'TAKE_OVER'), handlerDeps());
    expect(eksMock.commandCalls(DeleteAddonCommand).map((c) => c.args[0].input))
      .toEqual([{ clusterName: CLUSTER, addonName: 'coredns', preserve: true }]);
    expect(response.PhysicalResourceId).toBe(`${CLUSTER}/coredns-ownership`);
    expect(response.Data[ATTRIBUTE.previousOwner]).toBe('EKS_BOOTSTRAP');
    expect(response.Data[ATTRIBUTE.changedObjects].split(',')).toEqual(WITH_PDB);
    const after = await snapshot();
    for (const id of WITH_PDB) {
      expect(after[id]!.metadata.uid).toBe(before[id]!.metadata.uid);
      expect(after[id]!.metadata.annotations?.['meta.helm.sh/release-name']).toBe('coredns');
    }
  });
});

describe('the handler\'s identity with exactly the synthesized access for CoreDNS', () => {
  const access = new HandlerAccess(cli, PreinstalledAddon.COREDNS);
  afterAll(() => access.close());
  const { handler } = access;
  const binding = '/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/system:coredns';
  const role = '/apis/rbac.authorization.k8s.io/v1/clusterroles/system:coredns';

  test.each([
    ['inspect', CniAction.inspect()], ['disable', CniAction.disable()], ['adopt', CniAction.adoptIntoHelm()],
  ])('%s succeeds; changing CoreDNS\'s image, its Corefile, the Service\'s address or selector, or the binding is refused', async (_name, action) => {
    await resetCoreDns();
    eksCoreDns(cli);
    await access.apply(action);
    await run(handler, { addon: COREDNS, action: action._action.type === 'ADOPT' ? ADOPT : action._action });

    await refusal(handler.patch(objectPath(COREDNS.workload),
      { spec: { template: { spec: { containers: [{ name: 'coredns', image: 'attacker.example/coredns:1' }] } } } }, 'access-test'));
    await refusal(handler.patch('/api/v1/namespaces/kube-system/configmaps/coredns', { data: { Corefile: '.:53 { forward . 192.0.2.1 }' } }, 'access-test'));
    await refusal(handler.patch('/api/v1/namespaces/kube-system/services/kube-dns', { spec: { selector: { app: 'attacker' } } }, 'access-test'));
    await refusal(handler.request('DELETE', '/api/v1/namespaces/kube-system/services/kube-dns'));
    await refusal(handler.patch(binding, { subjects: [{ kind: 'Group', name: 'system:authenticated', apiGroup: 'rbac.authorization.k8s.io' }] }, 'access-test'));
    await refusal(handler.request('DELETE', binding));
    await refusal(handler.patch(role, { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get'] }] }, 'access-test'));
  });

  test('remove, then restore, succeed as the handler: the Service comes back with the same clusterIP', async () => {
    await resetCoreDns();
    eksCoreDns(cli);
    const before = await snapshot();
    await access.apply(CniAction.remove());
    await run(handler, { addon: COREDNS, action: REMOVE });
    expect(Object.values(await snapshot()).every((o) => o === undefined)).toBe(true);
    await access.apply(CniAction.restore());
    await run(handler, { addon: COREDNS, action: { type: 'RESTORE' } });
    const after = await snapshot();
    for (const o of COREDNS.objects) expect(asRun(after[o.id])).toEqual(asRun(before[o.id]));
    expect(after[SERVICE]!.spec.clusterIP).toBe(KUBE_DNS_IP);
  });

  test('the VPC CNI too: the aws-node ClusterRole is re-created before its binding, which RBAC checks against it', async () => {
    const vpcCni = new HandlerAccess(cli, PreinstalledAddon.VPC_CNI);
    try {
      await resetCluster(admin);
      new Fixtures(cli).newEksCluster();
      const before = await snapshotOf(admin, VPC_CNI);
      await vpcCni.apply(CniAction.remove({ crdPolicy: CrdPolicy.KEEP }));
      await run(vpcCni.handler, { addon: VPC_CNI, action: { type: 'REMOVE', crdPolicy: 'KEEP' } });
      await vpcCni.apply(CniAction.restore());
      const restored = await run(vpcCni.handler, { addon: VPC_CNI, action: { type: 'RESTORE' } });
      const order = restored.plan.writes.map((w) => w.objectId);
      expect(order.indexOf('ClusterRole/aws-node')).toBeLessThan(order.indexOf('ClusterRoleBinding/aws-node'));
      const after = await snapshotOf(admin, VPC_CNI);
      for (const o of VPC_CNI.objects) expect(asRun(after[o.id])).toEqual(asRun(before[o.id]));
      await admin.delete(objectPath(recoveryCopyObject(VPC_CNI)));
    } finally {
      vpcCni.close();
    }
  });
});
