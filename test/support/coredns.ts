/**
 * CoreDNS as EKS preinstalls it, made with our own fixture chart (test/fixtures/chart/coredns-eks:
 * the names, labels, selectors, ports and Corefile of the facts), and our own chart with the value
 * structure of the coredns/helm chart (test/fixtures/chart/coredns), which the takeover installs.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { Cli } from './cluster';

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
