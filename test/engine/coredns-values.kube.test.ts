/**
 * "CoreDNS into Helm, with DNS never down": the coredns chart values derived from a running CoreDNS
 * make the chart render what runs, except what the chart renders whatever the values say (named in
 * `changes`). Each row is a cluster history (where EKS installed it, what was customised); the values
 * are rendered with the REAL helm into our fixture chart (the coredns/helm chart's value structure)
 * and applied as a server-side dry run, as Helm 4 would apply them, against the REAL API server. Then
 * the real takeover with Helm 4 and Helm 3: the same objects, address, selectors, replicas, image and
 * Corefile directives, the pod template changed once, and a later upgrade takes effect.
 */
import { parseAllDocuments } from 'yaml';
import { COREDNS, corefileDirectives, deriveCorednsValues, HelmValues, parseCorefile } from '../../src/addons';
import { Action, KubeClient, KubeObject, observe, run } from '../../src/engine';
import { snapshotOf } from '../support/addon-state';
import { Cli, connection, resetCluster } from '../support/cluster';
import { COREDNS_CHART, dryRunAsHelm, eksCoreDns, KUBE_DNS_IP, valuesFile, withNamedChanges } from '../support/coredns';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const admin = new KubeClient(connection());
afterAll(() => admin.close());

const RELEASE = 'coredns';
const ADOPT: Action = { type: 'ADOPT', releaseName: RELEASE, releaseNamespace: 'kube-system', fieldManager: 'helm' };
const DEPLOYMENT = 'Deployment/kube-system/coredns';
const SERVICE = 'Service/kube-system/kube-dns';
const CONFIG_MAP = 'ConfigMap/kube-system/coredns';
const snapshot = () => snapshotOf(admin, COREDNS);
const derive = async () => deriveCorednsValues(await observe(admin, COREDNS, {}), { releaseName: RELEASE });
const directives = (corefile: string) => corefileDirectives(parseCorefile(corefile));

/** A Corefile as people customise EKS's: a hosts block, forward options, a stub zone in a server block of its own, a comment. */
const CUSTOM_COREFILE = `.:53 {
    errors
    health {
        lameduck 5s
      }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    # names of the registry mirror, answered here
    hosts {
      10.0.0.5 registry.corp.example
      fallthrough
    }
    prometheus :9153
    forward . /etc/resolv.conf {
      max_concurrent 1000
    }
    cache 30
    loop
    reload
    loadbalance
}
corp.example:53 {
    errors
    cache 30
    forward . 10.0.0.2 10.0.0.3
}
`;

/** One the chart's servers cannot render: a snippet imported by the server block. */
const SNIPPET_COREFILE = `(common) {
    errors
    cache 30
}
.:53 {
    import common
    health
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa
    prometheus :9153
    forward . /etc/resolv.conf
}
`;

/** Renders our fixture of the coredns chart with `values`. */
function render(cli: Cli, values: HelmValues, ...extra: string[]): KubeObject[] {
  const rendered = cli.helm(['template', RELEASE, COREDNS_CHART, '--namespace', 'kube-system', '-f', valuesFile(values), ...extra]);
  return parseAllDocuments(rendered).map((d) => d.toJS()).filter(Boolean);
}

interface History {
  readonly name: string;
  /** Values of our EKS fixture (its region's image, replicas, a Corefile, tolerations). */
  readonly eks?: Record<string, unknown>;
  readonly customise?: (cli: Cli) => void;
  readonly expect: (values: HelmValues) => void;
}

const image = (account: string, region: string, domain: string, tag: string) => ({ image: { account, region, domain, tag } });

const histories: History[] = [
  {
    name: 'a new cluster in eu-west-3, as EKS installs it',
    eks: image('602401143452', 'eu-west-3', 'amazonaws.com', 'v1.12.4-eksbuild.1'),
    expect: (v) => {
      expect(v.image).toEqual({ repository: '602401143452.dkr.ecr.eu-west-3.amazonaws.com/eks/coredns', tag: 'v1.12.4-eksbuild.1', pullPolicy: 'IfNotPresent' });
      expect(v).toMatchObject({
        fullnameOverride: 'coredns',
        k8sAppLabelOverride: 'kube-dns',
        replicaCount: 2,
        priorityClassName: 'system-cluster-critical',
        service: { name: 'kube-dns', clusterIP: KUBE_DNS_IP, selector: { 'k8s-app': 'kube-dns' } },
        deployment: { selector: { matchLabels: { 'eks.amazonaws.com/component': 'coredns', 'k8s-app': 'kube-dns' } }, dnsPolicy: 'Default' },
        serviceAccount: { create: true, name: 'coredns' },
        clusterRole: { nameOverride: 'system:coredns' },
        // EKS's role reads nodes, which the chart's cannot: the chart renders no RBAC, EKS's stays.
        rbac: { create: false },
        resources: { requests: { cpu: '100m', memory: '70Mi' }, limits: { memory: '170Mi', cpu: null } },
        rollingUpdate: { maxUnavailable: 1, maxSurge: '25%' },
        podLabels: { 'eks.amazonaws.com/component': 'coredns' },
      });
      expect(v.tolerations).toEqual([{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }, { key: 'CriticalAddonsOnly', operator: 'Exists' }]);
      expect(v.topologySpreadConstraints[0].topologyKey).toBe('topology.kubernetes.io/zone');
      expect(v.servers).toHaveLength(1);
      expect(v.servers[0]).toMatchObject({ zones: [{ zone: '.', use_tcp: true }], port: 53 });
      expect(v.servers[0].plugins.map((p: any) => p.name)).toEqual(['errors', 'health', 'ready', 'kubernetes', 'prometheus', 'forward', 'cache', 'loop', 'reload', 'loadbalance']);
    },
  },
  {
    name: 'China (amazonaws.com.cn, its own account), with the PodDisruptionBudget and the compute-type annotation',
    eks: { ...image('961992271922', 'cn-northwest-1', 'amazonaws.com.cn', 'v1.11.4-eksbuild.2'), podDisruptionBudget: true, computeTypeAnnotation: true },
    expect: (v) => {
      expect(v.image.repository).toBe('961992271922.dkr.ecr.cn-northwest-1.amazonaws.com.cn/eks/coredns');
      expect(v.image.tag).toBe('v1.11.4-eksbuild.2');
      expect(v.podDisruptionBudget).toEqual({ maxUnavailable: 1, selector: { matchLabels: { 'eks.amazonaws.com/component': 'coredns', 'k8s-app': 'kube-dns' } } });
      expect(v.podAnnotations).toEqual({ 'eks.amazonaws.com/compute-type': 'ec2' });
    },
  },
  {
    name: 'an opt-in region (af-south-1, its own account) with a customised Corefile: a hosts block, forward options, a stub zone',
    eks: { ...image('877085696533', 'af-south-1', 'amazonaws.com', 'v1.12.4-eksbuild.1'), corefile: CUSTOM_COREFILE },
    expect: (v) => {
      expect(v.servers).toHaveLength(2);
      expect(v.servers[0].plugins.find((p: any) => p.name === 'hosts').configBlock).toBe('10.0.0.5 registry.corp.example\nfallthrough');
      expect(v.servers[0].plugins.find((p: any) => p.name === 'forward')).toEqual({ name: 'forward', parameters: '. /etc/resolv.conf', configBlock: 'max_concurrent 1000' });
      expect(v.servers[1]).toEqual({
        zones: [{ zone: 'corp.example', use_tcp: true }],
        port: 53,
        plugins: [{ name: 'errors' }, { name: 'cache', parameters: '30' }, { name: 'forward', parameters: '. 10.0.0.2 10.0.0.3' }],
      });
    },
  },
  {
    name: 'replicas 3 and a user\'s toleration (an add-on configuration), then scaled to 4 with kubectl scale',
    eks: { replicas: 3, extraTolerations: [{ key: 'dedicated', operator: 'Equal', value: 'dns', effect: 'NoSchedule' }] },
    customise: (cli) => cli.kubectl(['scale', 'deployment/coredns', '-n', 'kube-system', '--replicas=4']),
    expect: (v) => {
      expect(v.replicaCount).toBe(4);
      expect(v.tolerations).toContainEqual({ key: 'dedicated', operator: 'Equal', value: 'dns', effect: 'NoSchedule' });
    },
  },
];

describe('derived values reproduce the running CoreDNS but for the named changes (helm template + server-side dry run as Helm 4 applies)', () => {
  const cli = new Cli(layerTools(LAYER_PACKAGES[0]));
  beforeEach(async () => resetCluster(admin, [COREDNS]));

  test.each(histories.map((h) => [h.name, h]))('%s', async (_name, history) => {
    eksCoreDns(cli, ...(history.eks ? ['-f', valuesFile(history.eks)] : []));
    history.customise?.(cli);
    const derived = await derive();
    history.expect(derived.values);
    expect(derived.changes.join('\n')).toMatch(/^the pod template, once, because the chart renders it whatever the values say: label app.kubernetes.io\/name=coredns; label app.kubernetes.io\/instance=coredns; annotation checksum\/config/);

    // The values are rendered and applied as Helm 4 would apply them after the adoption.
    await run(admin, { addon: COREDNS, action: ADOPT });
    const live = await snapshot();
    const applied = dryRunAsHelm(cli, render(cli, derived.values));
    const expected = withNamedChanges(live[DEPLOYMENT]!, live[SERVICE]!, RELEASE, applied[DEPLOYMENT].spec.template.metadata.annotations['checksum/config'], 4,
      derived.values.servers.map((s: any) => s.port));
    expect(applied[DEPLOYMENT].spec).toEqual(expected.deployment);
    expect(applied[SERVICE].spec).toEqual(expected.service);
    expect(applied[SERVICE].spec.clusterIP).toBe(KUBE_DNS_IP);
    // The same directives, in the chart's layout.
    expect(directives(applied[CONFIG_MAP].data.Corefile)).toEqual(directives(live[CONFIG_MAP]!.data.Corefile));
    // No RBAC rendered: EKS's role, with its rule to read nodes, is left alone.
    expect(Object.keys(applied).filter((id) => id.startsWith('ClusterRole'))).toEqual([]);
    if (live['PodDisruptionBudget/kube-system/coredns']) {
      expect(applied['PodDisruptionBudget/kube-system/coredns'].spec).toEqual(live['PodDisruptionBudget/kube-system/coredns']!.spec);
    }

    // The chart's own values would change what runs (one replica, its Corefile, another selector): the check can fail.
    const failed = cli.failing('kubectl', ['apply', '--server-side', '--dry-run=server', '--field-manager', 'helm',
      '-f', valuesFile(render(cli, {}).find((o) => o.kind === 'Deployment')!)]);
    expect(failed).toMatch(/field is immutable|conflict with "kubectl" with subresource "scale"/);
  });

  test('a Corefile the chart\'s servers cannot render (a snippet): kept as it runs (deployment.skipConfig), the ports still the running ones', async () => {
    eksCoreDns(cli, '-f', valuesFile({ corefile: SNIPPET_COREFILE }));
    const derived = await derive();
    expect(derived.values.deployment.skipConfig).toBe(true);
    expect(derived.notes.join('\n')).toMatch(/the Corefile cannot be rendered through the chart's servers: it defines snippets \(common\)/);
    await run(admin, { addon: COREDNS, action: ADOPT });
    const live = await snapshot();
    const objects = render(cli, derived.values);
    expect(objects.map((o) => o.kind)).not.toContain('ConfigMap');
    const applied = dryRunAsHelm(cli, objects);
    expect(applied[DEPLOYMENT].spec.template.spec.containers[0].ports.map((p: any) => `${p.containerPort}/${p.protocol}`))
      .toEqual(live[DEPLOYMENT]!.spec.template.spec.containers[0].ports.map((p: any) => `${p.containerPort}/${p.protocol}`));
  });

  test('a disabled Deployment: the values leave the disable key out and say so', async () => {
    eksCoreDns(cli);
    await run(admin, { addon: COREDNS, action: { type: 'DISABLE' } });
    const derived = await derive();
    expect(derived.values.nodeSelector).toBeUndefined();
    expect(derived.notes.join('\n')).toMatch(/the Deployment is disabled/);
  });

  test('one replica: the changes say that the roll may leave no CoreDNS pod ready', async () => {
    eksCoreDns(cli, '--set', 'replicas=1');
    expect((await derive()).changes.join('\n')).toMatch(/with 1 replica\(s\) and maxUnavailable 1, the roll may leave no CoreDNS pod ready: scale to 2 or more first/);
  });
});

describe.each(LAYER_PACKAGES.map((p) => [p]))('take CoreDNS over with %s: DNS never down', (layerPackage) => {
  const tools = layerTools(layerPackage);
  const cli = new Cli(tools);
  const helm = /v33/.test(layerPackage) ? 4 : 3;
  beforeEach(async () => resetCluster(admin, [COREDNS]));

  const install = (values: HelmValues) => cli.helm(['install', RELEASE, COREDNS_CHART, '--namespace', 'kube-system', '-f', valuesFile(values)]);

  test('adopt, then helm install with the derived values: the same objects, address, selectors, replicas, image and Corefile directives; '
    + 'the pod template changed once, as named; no "eks" field left; a later upgrade takes effect', async () => {
    eksCoreDns(cli, '--set', 'podDisruptionBudget=true', '--set', 'replicas=3', '-f', valuesFile({ corefile: CUSTOM_COREFILE }));
    const before = await snapshot();
    const derived = await derive();

    await run(admin, { addon: COREDNS, action: ADOPT });
    const adopted = await snapshot();
    // The adoption changes nothing that runs.
    expect(adopted[DEPLOYMENT]!.spec).toEqual(before[DEPLOYMENT]!.spec);
    expect(adopted[SERVICE]!.spec).toEqual(before[SERVICE]!.spec);
    install(derived.values);

    const after = await snapshot();
    for (const o of COREDNS.objects) {
      expect(after[o.id]!.metadata.uid).toBe(before[o.id]!.metadata.uid);
      expect((after[o.id]!.metadata.managedFields ?? []).map((m) => m.manager)).not.toContain('eks');
    }
    const d = after[DEPLOYMENT]!;
    expect(d.spec.selector).toEqual(before[DEPLOYMENT]!.spec.selector);
    expect(d.spec.replicas).toBe(3);
    expect(d.spec.strategy).toEqual({ type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1, maxSurge: '25%' } });
    expect(d.spec.template.spec.containers[0].image).toBe(before[DEPLOYMENT]!.spec.template.spec.containers[0].image);
    expect(after[SERVICE]!.spec.clusterIP).toBe(KUBE_DNS_IP);
    expect(after[SERVICE]!.spec.selector).toEqual(before[SERVICE]!.spec.selector);
    expect(after['PodDisruptionBudget/kube-system/coredns']!.spec).toEqual(before['PodDisruptionBudget/kube-system/coredns']!.spec);
    expect(directives(after[CONFIG_MAP]!.data.Corefile)).toEqual(directives(before[CONFIG_MAP]!.data.Corefile));
    expect(after['ClusterRole/system:coredns']!.rules).toEqual(before['ClusterRole/system:coredns']!.rules);
    // Exactly the named changes, in one write of the pod template.
    const expected = withNamedChanges(before[DEPLOYMENT]!, before[SERVICE]!, RELEASE, d.spec.template.metadata.annotations['checksum/config'], helm, [53]);
    expect(d.spec).toEqual(expected.deployment);
    expect(after[SERVICE]!.spec).toEqual(expected.service);

    // A later upgrade that changes replicas takes effect.
    cli.helm(['upgrade', RELEASE, COREDNS_CHART, '--namespace', 'kube-system', '-f', valuesFile(derived.values), '--set', 'replicaCount=5']);
    const upgraded = (await snapshot())[DEPLOYMENT]!;
    expect(upgraded.spec.replicas).toBe(5);
    const ports = (o: KubeObject) => o.spec.template.spec.containers[0].ports.map((p: any) => p.name);
    if (helm === 4) {
      expect(upgraded.spec.template).toEqual(d.spec.template);
    } else {
      // Helm 3's client-side merge keys ports by number: each upgrade renames the UDP port again (docs/takeover.md).
      expect(ports(upgraded)).not.toEqual(ports(d));
    }
  });

  test('the same install without the derived values fails (the chart\'s own selector; the Deployment\'s is immutable): nothing changes', async () => {
    eksCoreDns(cli);
    await run(admin, { addon: COREDNS, action: ADOPT });
    const before = await snapshot();
    expect(cli.failing('helm', ['install', RELEASE, COREDNS_CHART, '--namespace', 'kube-system'])).toMatch(/field is immutable|conflict/);
    const after = await snapshot();
    expect(after[DEPLOYMENT]!.spec).toEqual(before[DEPLOYMENT]!.spec);
    expect(after[SERVICE]!.spec.clusterIP).toBe(KUBE_DNS_IP);
  });

  if (helm === 3) {
    test('after Helm 3\'s install, one JSON patch of the port names (docs/takeover.md) makes later upgrades leave the pod template alone', async () => {
      eksCoreDns(cli);
      const derived = await derive();
      await run(admin, { addon: COREDNS, action: ADOPT });
      install(derived.values);
      cli.kubectl(['patch', 'deployment/coredns', '-n', 'kube-system', '--type', 'json', '-p', JSON.stringify([{
        op: 'replace',
        path: '/spec/template/spec/containers/0/ports',
        value: [
          { name: 'udp-53', containerPort: 53, protocol: 'UDP' }, { name: 'tcp-53', containerPort: 53, protocol: 'TCP' },
          { name: 'tcp-9153', containerPort: 9153, protocol: 'TCP' },
        ],
      }])]);
      cli.kubectl(['patch', 'service/kube-dns', '-n', 'kube-system', '--type', 'json', '-p', JSON.stringify([
        { op: 'replace', path: '/spec/ports/0/name', value: 'udp-53' }, { op: 'replace', path: '/spec/ports/1/name', value: 'tcp-53' },
      ])]);
      const patched = (await snapshot())[DEPLOYMENT]!;
      for (const replicas of ['3', '2']) {
        cli.helm(['upgrade', RELEASE, COREDNS_CHART, '--namespace', 'kube-system', '-f', valuesFile(derived.values), '--set', `replicaCount=${replicas}`]);
        const upgraded = (await snapshot())[DEPLOYMENT]!;
        expect(upgraded.spec.replicas).toBe(Number(replicas));
        expect(upgraded.spec.template).toEqual(patched.spec.template);
      }
    });
  }
});
