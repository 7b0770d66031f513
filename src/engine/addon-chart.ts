/**
 * The Helm chart an add-on is adopted into, as its definition names it: where the chart is, and the
 * values under which it renders what runs. The engine reads this; each add-on's module says it.
 */
import type { HelmValues } from './helm-values';
import type { Observation } from './types';

/** Values that reproduce a running add-on, and what they cannot reproduce. */
export interface DerivedChartValues {
  /** The installed add-on's version, where it can be told (the VPC CNI: as an aws-vpc-cni chart version). */
  readonly version?: string;
  /** The registry of the workload's image, e.g. `602401143452.dkr.ecr.us-east-1.amazonaws.com`. */
  readonly imageRegistry?: string;
  readonly values: HelmValues;
  /** Customisations left to their owners, and what cannot be told; none of what is in `changes`. */
  readonly notes: readonly string[];
  /**
   * What installing the chart with the values changes in what runs (adds, drops, sets, reorders or
   * restarts something), and why: what the chart renders whatever the values say, or what it cannot
   * express. Empty: the install changes nothing that runs. `values --strict` fails on any; adopt's plan lists them.
   */
  readonly changes: readonly string[];
}

/** Whose writes are the install's when values are derived from what was applied. */
export interface ChartDeriveOptions {
  /** The Helm release the chart is installed as: it labels the pods with it. */
  readonly releaseName?: string;
  /** The field manager the install was (or will be) handed to: whatever it wrote is the install's. Default `helm`. */
  readonly fieldManager?: string;
  /** Managers of imperative edits an adopt hands over: what they added is the install's too. */
  readonly handOver?: readonly string[];
}

/** What to install: the release the chart is installed as, and a chart version (default: the add-on chart's own choice). */
export interface ChartValuesRequest {
  readonly releaseName: string;
  readonly chartVersion?: string;
}

export interface ChartValuesToInstall extends DerivedChartValues {
  /** The chart version to install; undefined when it cannot be told (then it must be given). */
  readonly chartVersion?: string;
  /** Whether the add-on's workload runs at all: without it, there is no install to reproduce. */
  readonly running: boolean;
}

/** The chart an add-on is adopted into by default. */
export interface AddonChart {
  /** The chart's name in its repository: `aws-vpc-cni`, `coredns`. */
  readonly name: string;
  /** The chart repository's URL. */
  readonly repository: string;
  /** The repository's usual local name, for `helm install <alias>/<name>` in help texts. */
  readonly repositoryAlias: string;
  /**
   * Dotted value paths that keep their derived value whatever the user's values say: fields the API
   * server will not change (a selector, a Service's address) and the names of the running objects.
   */
  readonly fixedValuePaths: readonly string[];
  /** The values to install a chart version with: those that reproduce what runs. Pure: reads the observation only. */
  valuesToInstall(observation: Observation, request: ChartValuesRequest): ChartValuesToInstall;
}
