/**
 * The CLI with --addon coredns against the REAL control plane: the values that reproduce CoreDNS
 * (YAML with the changes in its header, JSON), the plain-Helm takeover the help describes, the
 * guard (a user's Helm release refused with exit 3, nothing written) and the release namespace.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { parse as parseYaml } from 'yaml';
import { COREDNS, corefileDirectives, parseCorefile } from '../../src/addons';
import { EXIT } from '../../src/cli/cli';
import { KubeClient } from '../../src/engine';
import { snapshotOf } from '../support/addon-state';
import { runCliCaptured } from '../support/cli-run';
import { Cli, connection, resetCluster } from '../support/cluster';
import { COREDNS_CHART, COREDNS_EKS_CHART, eksCoreDns, KUBE_DNS_IP } from '../support/coredns';
import { LAYER_PACKAGES, layerTools } from '../support/tools';

const kubeconfig = JSON.parse(fs.readFileSync(path.join(process.env.CNI_TEST_CONTROLPLANE!, 'connection.json'), 'utf8')).kubeconfig;
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'coredns-cli-home-'));
const K = ['--kubeconfig', kubeconfig];
const admin = new KubeClient(connection());
const kube = new Cli(layerTools(LAYER_PACKAGES[0]));
const cli = (args: string[]) => runCliCaptured(args, home);
const cliJson = async (args: string[]) => {
  const out = await cli([...args, '--output', 'json']);
  return { ...out, json: JSON.parse(out.stdout) };
};

afterAll(() => {
  admin.close();
  fs.rmSync(home, { recursive: true, force: true });
});
beforeEach(async () => resetCluster(admin, [COREDNS]));

describe('values --addon coredns', () => {
  test('YAML: a header with the chart version, registry, how to install, what the install changes and why, the notes; values that parse; reads only', async () => {
    eksCoreDns(kube);
    const before = await snapshotOf(admin, COREDNS);
    const out = await cli(['values', '--addon', 'coredns', ...K]);
    expect([out.code, out.stderr]).toEqual([EXIT.OK, '']);
    const header = out.stdout.split('\n').filter((l) => l.startsWith('#'));
    expect(header.slice(0, 4)).toEqual([
      '# coredns chart values that reproduce the running CoreDNS (cdk-vpc-cni-ownership values --addon coredns)',
      '# coredns chart version: 1.46.2',
      '# image registry: 602401143452.dkr.ecr.us-west-2.amazonaws.com',
      '# after cdk-vpc-cni-ownership adopt --addon coredns: helm install coredns coredns/coredns --version 1.46.2 -n kube-system -f values.yaml',
    ]);
    expect(header[4]).toMatch(/^# Changes: the pod template, once, because the chart renders it whatever the values say: .*container port names dns → udp-53, dns-tcp → tcp-53, metrics → tcp-9153.*CoreDNS rolls once, as its Deployment says: 2 replica\(s\), maxUnavailable 1/);
    expect(out.stdout).toMatch(/^# Changes: Service kube-dns \(same object, address and selector\): port names dns → udp-53, dns-tcp → tcp-53/m);
    expect(out.stdout).toMatch(/^# Note: ClusterRole system:coredns grants what the chart's role does not .*rbac.create false/m);
    const values = parseYaml(out.stdout);
    expect(values).toMatchObject({ fullnameOverride: 'coredns', replicaCount: 2, service: { name: 'kube-dns', clusterIP: KUBE_DNS_IP } });
    expect(await snapshotOf(admin, COREDNS)).toEqual(before);
  });

  test('-o json: { version, imageRegistry, values, notes, changes }, the same values as the YAML; --chart-version of a version not checked says so', async () => {
    eksCoreDns(kube);
    const { code, json } = await cliJson(['values', '--addon', 'coredns', ...K]);
    expect(code).toBe(EXIT.OK);
    expect(Object.keys(json)).toEqual(['version', 'imageRegistry', 'values', 'notes', 'changes']);
    expect(json.values).toEqual(parseYaml((await cli(['values', '--addon', 'coredns', ...K])).stdout));
    const other = await cliJson(['values', '--addon', 'coredns', '--chart-version', '1.47.0', ...K]);
    expect(other.json.version).toBe('1.47.0');
    expect(other.json.notes).toContainEqual(expect.stringMatching(/^coredns chart 1\.47\.0 was not checked by this library \(checked: 1\.46\.0, 1\.46\.1, 1\.46\.2\)/));
  });

  test('the plain-Helm takeover of the help text: values, adopt --addon coredns, helm install -f: the same objects, address and Corefile directives', async () => {
    eksCoreDns(kube);
    const before = await snapshotOf(admin, COREDNS);
    const out = await cli(['values', '--addon', 'coredns', ...K]);
    const file = path.join(home, 'values.yaml');
    fs.writeFileSync(file, out.stdout);
    expect((await cli(['adopt', '--addon', 'coredns', ...K])).code).toBe(EXIT.OK);
    kube.helm(['install', 'coredns', COREDNS_CHART, '--namespace', 'kube-system', '-f', file]);
    const after = await snapshotOf(admin, COREDNS);
    for (const o of COREDNS.objects.filter((x) => !x.optional)) expect(after[o.id]!.metadata.uid).toBe(before[o.id]!.metadata.uid);
    expect(after['Service/kube-system/kube-dns']!.spec.clusterIP).toBe(KUBE_DNS_IP);
    const corefile = (s: typeof before) => corefileDirectives(parseCorefile(s['ConfigMap/kube-system/coredns']!.data.Corefile));
    expect(corefile(after)).toEqual(corefile(before));
    // The release owns it now, and adopting it again writes nothing.
    const again = await cliJson(['plan', 'adopt', '--addon', 'coredns', ...K]);
    expect(again.json.owner).toMatchObject({ kind: 'HELM_RELEASE', releaseName: 'coredns' });
    expect(again.json.plan.writes).toEqual([]);
  });

  test('no coredns Deployment: exit 4 with the reason; kube-proxy has no chart: exit 2', async () => {
    const out = await cli(['values', '--addon', 'coredns', ...K]);
    expect(out.code).toBe(EXIT.UNEXPECTED_STATE);
    expect(out.stderr).toMatch(/^Unexpected cluster state: There is no coredns Deployment in kube-system, so no running CoreDNS whose chart values could be derived/);
    expect((await cliJson(['values', '--addon', 'coredns', ...K])).json.error.kind).toBe('NoRunningAddon');
    const proxy = await cli(['values', '--addon', 'kube-proxy', ...K]);
    expect(proxy.code).toBe(EXIT.USAGE);
    expect(proxy.stderr).toMatch(/values derives chart values for vpc-cni \(the aws-vpc-cni chart\) and coredns \(the coredns chart\); no chart renders kube-proxy/);
  });
});

describe('adopt --addon coredns: the guard and the release namespace', () => {
  test('a user\'s Helm release of CoreDNS: adopting it for another release and removing it exit 3, nothing written', async () => {
    kube.helm(['install', 'coredns', COREDNS_EKS_CHART, '--namespace', 'kube-system']);
    const before = await snapshotOf(admin, COREDNS);
    for (const args of [['adopt', '--release-name', 'dns'], ['remove'], ['disable']]) {
      const out = await cli([...args, '--addon', 'coredns', ...K]);
      expect(out.code).toBe(EXIT.REFUSED);
      expect(out.stderr).toMatch(new RegExp(`Refusing to ${args[0]} CoreDNS: it is owned by Helm release "coredns" in namespace "kube-system"`));
      expect(out.stderr).toMatch(/--if-owned-by-others TAKE_OVER or SKIP/);
    }
    expect(await snapshotOf(admin, COREDNS)).toEqual(before);
  });

  test('--release-namespace other than kube-system: exit 2, naming why', async () => {
    const out = await cli(['adopt', '--addon', 'coredns', '--release-namespace', 'dns', ...K]);
    expect(out.code).toBe(EXIT.USAGE);
    expect(out.stderr).toMatch(/--release-namespace "dns".*Service kube-dns \(whose clusterIP every kubelet hands to pods\)/);
  });
});
