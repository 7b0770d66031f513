/**
 * CoreDNS as EKS preinstalls it, made with our own fixture chart (test/fixtures/chart/coredns-eks:
 * the names, labels, selectors, ports and Corefile of the facts), and our own chart with the value
 * structure of the coredns/helm chart (test/fixtures/chart/coredns), which the takeover installs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Cli } from './cluster';
import type { KubeObject } from '../../src/engine';

/** Our own chart that renders CoreDNS the way EKS installs it. */
export const COREDNS_EKS_CHART = path.resolve(__dirname, '..', 'fixtures', 'chart', 'coredns-eks');
/** Our own chart with the coredns/helm chart's value structure (the chart a takeover installs). */
export const COREDNS_CHART = path.resolve(__dirname, '..', 'fixtures', 'chart', 'coredns');
/** The kube-dns Service's address in the fixtures: in the test control plane's Service range (10.96.0.0/24). */
export const KUBE_DNS_IP = '10.96.0.10';

/** CoreDNS as EKS renders it; `extra` are more helm template arguments (`--set replicas=3`). */
export function renderEksCoreDns(cli: Cli, ...extra: string[]): string {
  return cli.helm(['template', 'coredns', COREDNS_EKS_CHART, '--namespace', 'kube-system', ...extra]);
}

/** CoreDNS applied server-side as "eks" (one of the ways EKS may install it: docs/ownership.md). */
export function eksCoreDns(cli: Cli, ...extra: string[]): void {
  cli.kubectl(['apply', '--server-side', '--field-manager', 'eks', '-f', '-'], renderEksCoreDns(cli, ...extra));
}

/** Writes values to a file helm can read (JSON is YAML). */
export function valuesFile(values: object): string {
  const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'coredns-values-')), 'values.json');
  fs.writeFileSync(file, JSON.stringify(values));
  return file;
}

/** Each rendered object applied server-side as "helm" (Helm 4's manager, which adopt handed EKS's fields to) as a dry run: what it would become. */
export function dryRunAsHelm(cli: Cli, objects: readonly KubeObject[]): Record<string, KubeObject> {
  const out: Record<string, KubeObject> = {};
  for (const object of objects) {
    const applied = JSON.parse(cli.kubectl(['apply', '--server-side', '--dry-run=server', '--field-manager', 'helm', '-o', 'json', '-f', '-'],
      JSON.stringify(object)));
    out[`${object.kind}/${object.metadata.namespace ? `${object.metadata.namespace}/` : ''}${object.metadata.name}`] = applied;
  }
  return out;
}

const chartName = (p: any) => `${String(p.protocol).toLowerCase()}-${p.containerPort ?? p.targetPort}`;

/**
 * The live Deployment's and Service's specs with exactly the changes the values' `changes` name:
 * the chart's pod labels and annotations, its port names and, under Helm 4 (server-side apply by the
 * owner of every field), no readOnly on the Corefile mount and no Service port the servers do not
 * make. Helm 3's client-side merge keys ports by number: it renames only the first port of a number.
 */
export function withNamedChanges(
  deployment: KubeObject, service: KubeObject, release: string, checksum: string, helm: 3 | 4, dnsPorts: readonly number[],
) {
  const spec = JSON.parse(JSON.stringify(deployment.spec));
  const template = spec.template;
  template.metadata.labels = { ...template.metadata.labels, 'app.kubernetes.io/name': 'coredns', 'app.kubernetes.io/instance': release };
  template.metadata.annotations = { ...template.metadata.annotations, 'checksum/config': checksum, 'scheduler.alpha.kubernetes.io/tolerations': '[{"key":"CriticalAddonsOnly", "operator":"Exists"}]' };
  const rename = (ports: any[], rendered: (p: any) => boolean) => {
    const seen = new Set<number>();
    for (const p of ports.filter(rendered)) {
      const number = p.containerPort ?? p.targetPort;
      if (helm === 4 || !seen.has(number)) p.name = chartName(p);
      seen.add(number);
    }
  };
  const container = template.spec.containers.find((c: any) => c.name === 'coredns');
  rename(container.ports, () => true);
  if (helm === 4) for (const m of container.volumeMounts) delete m.readOnly;
  const serviceSpec = JSON.parse(JSON.stringify(service.spec));
  // The chart renders the servers' ports only.
  const rendered = (p: any) => dnsPorts.includes(p.targetPort);
  if (helm === 4) serviceSpec.ports = serviceSpec.ports.filter(rendered);
  rename(serviceSpec.ports, rendered);
  return { deployment: spec, service: serviceSpec };
}
