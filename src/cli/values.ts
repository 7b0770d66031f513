import { stringify } from 'yaml';
import { ValuesRequest } from './args';
import { VPC_CNI } from '../addons';
import { AddonDefinition, Observation } from '../engine';
import type { HelmValues } from '../engine/helm-values';

/** The add-on's workload is absent: there is no running install whose values could be derived. */
export class NoRunningAddonError extends Error {
  constructor(addon: AddonDefinition) {
    const what = addon.title.replace(/^the /, '');
    super(`There is no ${addon.workload.name} ${addon.workload.kind} in ${addon.namespace}, so no running ${what} whose chart values could be derived `
      + `(${addon === VPC_CNI ? 'EKS Auto Mode, or it was removed' : 'it was removed, or the cluster was created without it'}). `
      + 'Install the chart with the values you choose.');
    // The VPC CNI's keeps its earlier name: scripts read it as error.kind (NoRunningVpcCni).
    this.name = addon === VPC_CNI ? 'NoRunningVpcCniError' : 'NoRunningAddonError';
  }
}

/** What `values` prints: in JSON as it is, in YAML as a commented values file. */
export interface ValuesDocument {
  /** The chart version to install: --chart-version, else the add-on chart's choice; null when neither is known. */
  readonly version: string | null;
  readonly imageRegistry: string | null;
  readonly values: HelmValues;
  /** What stays a customisation, and what cannot be told. */
  readonly notes: readonly string[];
  /** What the install would change in what runs, and why (`--strict` exits 5 on any): none where the values reproduce everything. */
  readonly changes: readonly string[];
}

export function valuesDocument(addon: AddonDefinition, observation: Observation, request: ValuesRequest): ValuesDocument {
  const toInstall = addon.chart!.valuesToInstall(observation, request);
  if (!toInstall.running) throw new NoRunningAddonError(addon);
  const { chartVersion, imageRegistry, values, notes, changes } = toInstall;
  return { version: chartVersion ?? null, imageRegistry: imageRegistry ?? null, values, notes, changes };
}

/** A values file: a comment header (version, registry, how to install, what changes, the notes), then the values. */
export function valuesYaml(addon: AddonDefinition, doc: ValuesDocument, request: ValuesRequest): string {
  const chart = addon.chart!;
  const comment = (text: string) => `# ${text.replace(/\s*\n\s*/g, ' ')}`;
  const option = addon === VPC_CNI ? '' : ` --addon ${addon.name}`;
  const header = [
    comment(`${chart.name} chart values that reproduce the running ${addon.title.replace(/^the /, '')} (cdk-vpc-cni-ownership values${option})`),
    comment(`${chart.name} chart version: ${doc.version ?? 'unknown (give the version you will install with --chart-version)'}`),
    comment(`image registry: ${doc.imageRegistry ?? 'unknown'}`),
    comment(`after cdk-vpc-cni-ownership adopt${option}: helm install ${request.releaseName} ${chart.repositoryAlias}/${chart.name} `
      + `--version ${doc.version ?? '<version>'} -n ${addon.namespace} -f values.yaml`),
    ...doc.changes.map((change) => comment(`Changes: ${change}`)),
    ...doc.notes.map((note) => comment(`Note: ${note}`)),
  ];
  // No line folding: each value stays on its line, as a person would edit it.
  return `${header.join('\n')}\n${stringify(doc.values, { lineWidth: 0 })}`;
}
