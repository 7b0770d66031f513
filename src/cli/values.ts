import { stringify } from 'yaml';
import { ValuesRequest } from './args';
import { chartValuesToInstall } from '../addons';
import { Observation } from '../engine';
import type { HelmValues } from '../engine/helm-values';

/** No aws-node DaemonSet: there is no running VPC CNI whose values could be derived. */
export class NoRunningVpcCniError extends Error {
  constructor() {
    super('There is no aws-node DaemonSet in kube-system, so no running VPC CNI whose chart values could be derived '
      + '(EKS Auto Mode, or it was removed). Install the chart with the values you choose.');
    this.name = 'NoRunningVpcCniError';
  }
}

/** What `values` prints: in JSON as it is, in YAML as a commented values file. */
export interface ValuesDocument {
  /** The chart version to install: --chart-version, else the installed one; null when neither is known. */
  readonly version: string | null;
  readonly imageRegistry: string | null;
  readonly values: HelmValues;
  /** What stays a customisation, and what the first install would change. */
  readonly notes: readonly string[];
  /** The notes that say the install would change what runs (`--strict` exits 5 on any). */
  readonly changes: readonly string[];
}

export function valuesDocument(observation: Observation, request: ValuesRequest): ValuesDocument {
  const toInstall = chartValuesToInstall(observation, request);
  if (!toInstall.running) throw new NoRunningVpcCniError();
  const { chartVersion, imageRegistry, values, notes, changes } = toInstall;
  return { version: chartVersion ?? null, imageRegistry: imageRegistry ?? null, values, notes, changes };
}

/** A values file: a comment header (version, registry, how to install, the notes), then the values. */
export function valuesYaml(doc: ValuesDocument, request: ValuesRequest): string {
  const comment = (text: string) => `# ${text.replace(/\s*\n\s*/g, ' ')}`;
  const header = [
    comment('aws-vpc-cni chart values that reproduce the running VPC CNI (cdk-vpc-cni-ownership values)'),
    comment(`aws-vpc-cni chart version: ${doc.version ?? 'unknown (give the version you will install with --chart-version)'}`),
    comment(`image registry: ${doc.imageRegistry ?? 'unknown'}`),
    comment(`after cdk-vpc-cni-ownership adopt: helm install ${request.releaseName} eks/aws-vpc-cni --version ${doc.version ?? '<version>'} `
      + '-n kube-system -f values.yaml'),
    ...doc.notes.map((note) => comment(`${doc.changes.includes(note) ? 'Note (the install changes this)' : 'Note'}: ${note}`)),
  ];
  // No line folding: each value stays on its line, as a person would edit it.
  return `${header.join('\n')}\n${stringify(doc.values, { lineWidth: 0 })}`;
}
