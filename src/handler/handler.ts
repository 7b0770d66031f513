import { createHash } from 'crypto';
import {
  DeleteAddonCommand, DescribeAddonCommand, DescribeClusterCommand, EKSClient, ResourceNotFoundException,
} from '@aws-sdk/client-eks';
import { AwsCredentialIdentityProvider } from '@smithy/types';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { eksToken } from './eks-token';
import { boundedMessage, cutToSerialized, DATA_BUDGET, serializedBytes, splitForResponse } from './response';
import { addonNamed, ADDON_NAMES, ADDONS, installedVersionOf, VPC_CNI } from '../addons';
import {
  ACCESS_CHECK_RESOURCE_TYPE, AccessCheckResourceProperties, ATTRIBUTE, CHART_VALUES_ATTRIBUTE, CHART_VALUES_RESOURCE_TYPE,
  ChartValuesResourceProperties, OwnershipResourceProperties,
} from '../contract';
import {
  Action, actionProblems, AddonDefinition, KubeClient, KubeNetworkError,
  observe, OWNED_BY_OTHERS, OwnedByOthers, PartialApplyError, PolicyProbeTarget, PreflightRefusedError, run, RunResult,
  pathsWithUrlCredentials, waitForPoliciesInForce,
} from '../engine';
import { valuesWithFixed } from '../engine/helm-values';

/** The cluster's API server could not be reached (after the client's retries). */
export class ClusterUnreachableError extends Error {
  constructor(clusterName: string, endpoint: string, cause: Error) {
    super(`Cannot reach the Kubernetes API of EKS cluster "${clusterName}" at ${endpoint}: ${cause.message}. `
      + 'If the endpoint is private, the handler must run in the cluster\'s VPC (handlerNetwork) with a security group the cluster allows on 443.');
    this.name = 'ClusterUnreachableError';
  }
}

/** Whether the API server could not be reached, directly or as the cause of a partial run. */
function unreachable(e: unknown): e is Error {
  return e instanceof KubeNetworkError || (e instanceof PartialApplyError && e.cause instanceof KubeNetworkError);
}

/** The most a chart values part may carry (serialized), next to its digest. */
export const CHART_VALUES_PART_BUDGET = DATA_BUDGET - 200;

export interface HandlerDependencies {
  readonly eks: EKSClient;
  readonly region: string;
  readonly credentials: AwsCredentialIdentityProvider;
  /** Epoch milliseconds by which the handler must have answered. */
  readonly deadline: number;
  /** One structured event per step. */
  readonly log: (event: { step: string; [key: string]: unknown }) => void;
  /** Per Kubernetes request; default 10 s. */
  readonly requestTimeoutMs?: number;
  /** The bearer token for the cluster; default: an EKS token signed with `credentials`. */
  readonly kubernetesToken?: (clusterName: string) => Promise<string>;
}

export interface HandlerResponse {
  readonly PhysicalResourceId: string;
  readonly Data: Record<string, string>;
  /**
   * The attributes may carry secrets (chart values copy aws-node's env, e.g. an HTTPS_PROXY with
   * credentials): CloudFormation masks them, and the Provider framework logs them redacted.
   */
  readonly NoEcho?: boolean;
}

interface ParsedProperties {
  readonly clusterName: string;
  readonly addon: AddonDefinition;
  readonly action: Action;
  readonly ifOwnedByOthers: OwnedByOthers;
  readonly dryRun: boolean;
  /** How to see the admission policies that limit the handler in force; absent when the access has none. */
  readonly probe?: PolicyProbeTarget;
}

/** How long an action waits to see its admission policies in force before it refuses to write. */
const POLICY_WAIT_MS = 30_000;
/** How long the access check waits for them (it runs once, right after they were applied). */
const ACCESS_CHECK_WAIT_MS = 180_000;

/** The probe properties, when all three are there. */
function probeOf(props: Partial<Record<'ProbeNamespace' | 'ProbeName' | 'PolicyMarker', unknown>>): PolicyProbeTarget | undefined {
  const { ProbeNamespace: namespace, ProbeName: name, PolicyMarker: marker } = props;
  if (typeof namespace !== 'string' || typeof name !== 'string' || typeof marker !== 'string' || !namespace || !name || !marker) return undefined;
  return { namespace, name, marker };
}

type RawProperties = Partial<Record<keyof OwnershipResourceProperties, unknown>> & { Action?: unknown };

/**
 * Reads and checks the custom resource's properties; throws naming the property before anything is
 * done. Each action field is a property of its own: nothing in one value can change another.
 */
export function parseProperties(raw: RawProperties | undefined): ParsedProperties {
  const props = raw ?? {};
  if (typeof props.ClusterName !== 'string' || !props.ClusterName) throw new Error('Property ClusterName is required');
  const addon = addonNamed(typeof props.Addon === 'string' ? props.Addon : VPC_CNI.name);
  if (!addon) throw new Error(`Invalid properties: Addon "${String(props.Addon)}" must be one of ${ADDON_NAMES.join(', ')}`);
  const action = actionOf(props);
  const problems = actionProblems(addon, action).map((p) => `Action: ${p}`);
  const ifOwnedByOthers = (props.IfOwnedByOthers ?? 'FAIL') as OwnedByOthers;
  if (!OWNED_BY_OTHERS.includes(ifOwnedByOthers)) problems.push(`IfOwnedByOthers "${ifOwnedByOthers}" must be one of ${OWNED_BY_OTHERS.join(', ')}`);
  if (problems.length > 0) throw new Error(`Invalid properties: ${problems.join('; ')}`);
  return { clusterName: props.ClusterName, addon, action, ifOwnedByOthers, dryRun: props.DryRun === 'true', probe: probeOf(props) };
}

function actionOf(props: RawProperties): Action {
  // Resources deployed by an earlier version carry the action as one JSON property (old properties of an Update).
  if (props.ActionType === undefined && typeof props.Action === 'string') {
    try {
      return JSON.parse(props.Action);
    } catch {
      throw new Error('Property Action is not JSON');
    }
  }
  const fields: Record<string, unknown> = { type: props.ActionType };
  const copy = (key: string, value: unknown) => value !== undefined && (fields[key] = value);
  copy('releaseName', props.ReleaseName);
  copy('releaseNamespace', props.ReleaseNamespace);
  copy('fieldManager', props.FieldManager);
  copy('handOver', props.HandOver);
  copy('crdPolicy', props.CrdPolicy);
  if (props.ReadReleaseRecords !== undefined) fields.readReleaseRecords = props.ReadReleaseRecords === 'true' || props.ReadReleaseRecords === true;
  if (props.DeletePolicyEndpointCrd !== undefined) fields.deletePolicyEndpointCrd = props.DeletePolicyEndpointCrd === 'true' || props.DeletePolicyEndpointCrd === true;
  return fields as unknown as Action;
}

/**
 * The custom resources' onEvent. The ownership resource: Create and Update run the action; Delete
 * restores a disabled add-on and leaves adopted, removed or restored ones as they are: it never
 * re-creates a removed add-on (see the README). The
 * chart values resource: reads the running install and answers with the values, in parts.
 */
export async function onEvent(event: CloudFormationCustomResourceEvent, deps: HandlerDependencies): Promise<HandlerResponse> {
  if (event.ResourceType === CHART_VALUES_RESOURCE_TYPE) return onChartValuesEvent(event, deps);
  if (event.ResourceType === ACCESS_CHECK_RESOURCE_TYPE) return onAccessCheckEvent(event, deps);
  if (event.RequestType === 'Delete') {
    // Only what the Delete uses is read: properties a newer handler would reject must not make a resource undeletable.
    const target = undoTarget(event.ResourceProperties as RawProperties);
    deps.log({ step: 'event', requestType: 'Delete', ...target ? { cluster: target.clusterName, addon: target.addon.name } : {}, undo: !!target });
    if (target) await onDelete(deps, target);
    else deps.log({ step: 'delete', result: 'nothing to undo: the action was not a disable' });
    return { PhysicalResourceId: event.PhysicalResourceId, Data: {} };
  }
  const props = parseProperties(event.ResourceProperties as RawProperties);
  const physicalResourceId = `${props.clusterName}/${props.addon.name}-ownership`;
  deps.log({ step: 'event', requestType: event.RequestType, cluster: props.clusterName, addon: props.addon.name, action: props.action.type, dryRun: props.dryRun });

  const cluster = await describeCluster(deps, props.clusterName);
  if (!cluster) throw new Error(`EKS cluster "${props.clusterName}" does not exist in ${deps.region}`);

  // Leaving a real DISABLE: remove deletes the workload as it is (restoring first would start aws-node
  // on every node seconds before) and adopt restores in its own plan; an action that will not restore
  // (inspect, and any dry run, such as the rollback to a dry run) gets the workload back first.
  if (event.RequestType === 'Update' && (props.dryRun || props.action.type === 'INSPECT')) {
    const old = undoTarget(event.OldResourceProperties as RawProperties);
    if (old && old.clusterName === props.clusterName && old.addon === props.addon) await restore(deps, props, cluster);
  }

  const result = await runAction(deps, props, cluster, props.action, props.dryRun);
  const { version } = props.addon === VPC_CNI ? installedVersionOf(result.observation) : { version: undefined };
  return {
    PhysicalResourceId: physicalResourceId,
    Data: ownershipData(result, version),
  };
}

/**
 * Delete: only a disable is undone. A cluster that is gone or being deleted has nothing to restore;
 * one that is there but does not answer fails the delete, so the VPC CNI is not left disabled
 * without anyone knowing.
 */
async function onDelete(deps: HandlerDependencies, props: UndoTarget): Promise<void> {
  const cluster = await describeCluster(deps, props.clusterName);
  if (!cluster) {
    deps.log({ step: 'delete', result: 'the cluster no longer exists; nothing to restore' });
    return;
  }
  if (cluster.status === 'DELETING' || cluster.status === 'FAILED') {
    deps.log({ step: 'delete', result: `the cluster is ${cluster.status}; nothing to restore` });
    return;
  }
  try {
    await restore(deps, props, cluster);
  } catch (e) {
    if (!(e instanceof ClusterUnreachableError)) throw e;
    throw new Error(`${e.message} ${props.addon.title} of cluster "${props.clusterName}" (${cluster.status}) stays disabled until it is restored, `
      + 'so this delete fails rather than leave it so: make the API server reachable and retry, or restore it yourself '
      + `(cdk-vpc-cni-ownership restore --addon ${props.addon.name}) and retry.`);
  }
}

/** What a Delete (or an Update leaving a disable) needs: the add-on whose disable it may have to undo. */
interface UndoTarget {
  readonly clusterName: string;
  readonly addon: AddonDefinition;
  readonly probe?: PolicyProbeTarget;
}

/**
 * The add-on a resource's properties may have left disabled: a real DISABLE, or any dry run (an
 * earlier Update moved to it from a disable, and a dry run writes nothing, so it could not restore).
 * Adopt, remove and restore are not undone (README). Reads only ClusterName, Addon, ActionType (or
 * the legacy Action) and DryRun; `undefined` when there is nothing to undo.
 */
export function undoTarget(raw: RawProperties | undefined): UndoTarget | undefined {
  const props = raw ?? {};
  const dryRun = props.DryRun === 'true';
  let type = props.ActionType;
  if (type === undefined && typeof props.Action === 'string') {
    try {
      type = JSON.parse(props.Action)?.type;
    } catch {
      type = undefined;
    }
  }
  if (type !== 'DISABLE' && !dryRun) return undefined;
  if (typeof props.ClusterName !== 'string' || !props.ClusterName) throw new Error('Property ClusterName is required to undo a disable');
  const addon = addonNamed(typeof props.Addon === 'string' ? props.Addon : VPC_CNI.name);
  if (!addon) throw new Error(`Property Addon "${String(props.Addon)}" must be one of ${ADDON_NAMES.join(', ')} to undo a disable`);
  return { clusterName: props.ClusterName, addon, probe: probeOf(props) };
}

/** The ownership attributes, within CloudFormation's response limit: the plan gives way first. */
export function ownershipData(result: RunResult, installedVersion: string | undefined): Record<string, string> {
  // Each text that can grow (an owner's description names a release, a list names objects) is bounded;
  // the plan takes what is left.
  const base: Record<string, string> = {
    [ATTRIBUTE.previousOwner]: result.previousOwner.kind,
    [ATTRIBUTE.previousOwnerDescription]: boundedMessage(result.previousOwner.description, 400),
    [ATTRIBUTE.changedObjects]: boundedMessage(result.changed.join(','), 900),
    [ATTRIBUTE.installedVersion]: cutToSerialized(installedVersion ?? '', 40),
  };
  const left = DATA_BUDGET - serializedBytes({ ...base, [ATTRIBUTE.plan]: '' });
  return { ...base, [ATTRIBUTE.plan]: planAttribute(result, left) };
}

/**
 * The plan as JSON that always parses and fits `maxBytes` once serialized: writes beyond it are
 * counted, not cut mid-string; notes too; the log has everything.
 */
export function planAttribute(result: Pick<RunResult, 'plan' | 'preflight'>, maxBytes = 2500): string {
  const refusals = new Map(result.preflight.filter((p) => !p.accepted).map((p) => [p.objectId, p.refusal]));
  const writes = result.plan.writes.map((w) => {
    const refusal = refusals.get(w.objectId);
    return `${w.verb} ${w.objectId}: ${w.reason}${refusal ? ` [REFUSED by the API server: ${refusal}]` : ''}`;
  });
  const notes = result.plan.notes;
  // Why nothing was done is the one thing a skipped run's plan says: bounded on its own, and it stays.
  const skipped = result.plan.skipped === undefined ? undefined : boundedMessage(result.plan.skipped, Math.floor(maxBytes / 3));
  const render = (keptWrites: number, keptNotes: number) => JSON.stringify({
    writes: writes.slice(0, keptWrites),
    ...(keptWrites < writes.length ? { moreWrites: writes.length - keptWrites } : {}),
    notes: notes.slice(0, keptNotes),
    ...(keptNotes < notes.length ? { moreNotes: notes.length - keptNotes } : {}),
    skipped,
  });
  let keptWrites = writes.length;
  let keptNotes = notes.length;
  const fits = () => serializedBytes(render(keptWrites, keptNotes)) <= maxBytes;
  while (!fits() && keptNotes > 0) keptNotes--;
  while (!fits() && keptWrites > 0) keptWrites--;
  return render(keptWrites, keptNotes);
}

/**
 * Removes our nodeSelector key, and nothing else: it never re-creates from the recovery copy (a
 * removal that followed the disable stays removed). The key is ours whoever owns the workload now,
 * so the guard does not apply, and an EKS managed add-on is never deleted for it.
 */
async function restore(deps: HandlerDependencies, target: UndoTarget, cluster: ClusterAccess): Promise<RunResult> {
  const props: ParsedProperties = { ...target, action: { type: 'RESTORE', recreate: false }, ifOwnedByOthers: 'TAKE_OVER', dryRun: false };
  return runAction(deps, props, cluster, props.action, false, { releaseAddon: false });
}

interface ClusterAccess {
  readonly endpoint: string;
  readonly caData: string;
  readonly status?: string;
}

async function describeCluster(deps: HandlerDependencies, name: string): Promise<ClusterAccess | undefined> {
  try {
    const { cluster } = await deps.eks.send(new DescribeClusterCommand({ name }));
    if (!cluster?.endpoint || !cluster.certificateAuthority?.data) {
      if (cluster?.status === 'DELETING' || cluster?.status === 'FAILED') return { endpoint: '', caData: '', status: cluster.status };
      throw new Error(`EKS cluster "${name}" has no endpoint or certificate authority yet (status ${cluster?.status})`);
    }
    deps.log({ step: 'describeCluster', cluster: name, status: cluster.status });
    return { endpoint: cluster.endpoint, caData: Buffer.from(cluster.certificateAuthority.data, 'base64').toString('utf8'), status: cluster.status };
  } catch (e) {
    if (e instanceof ResourceNotFoundException) return undefined;
    throw e;
  }
}

async function isManagedAddon(deps: HandlerDependencies, clusterName: string, definition: AddonDefinition): Promise<boolean> {
  try {
    const { addon } = await deps.eks.send(new DescribeAddonCommand({ clusterName, addonName: definition.eksAddonName }));
    return !!addon;
  } catch (e) {
    if (e instanceof ResourceNotFoundException) return false;
    throw e;
  }
}

/**
 * Taking over an EKS managed add-on: its objects are always kept (preserve), so the action's own
 * crdPolicy decides about the CRDs (deleting the add-on without preserve deletes them too).
 */
async function releaseManagedAddon(deps: HandlerDependencies, clusterName: string, definition: AddonDefinition): Promise<void> {
  const name = definition.eksAddonName;
  if (Date.now() > deps.deadline) throw new Error(`Out of time before deleting the EKS add-on ${name}; nothing was changed`);
  deps.log({ step: 'deleteAddon', addon: name, preserve: true });
  await deps.eks.send(new DeleteAddonCommand({ clusterName, addonName: name, preserve: true }));
  const pollMs = 5000;
  while (await isManagedAddon(deps, clusterName, definition)) {
    if (Date.now() + pollMs > deps.deadline) throw new Error(`The EKS add-on ${name} was still being deleted when time ran out`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function kubeClient(deps: HandlerDependencies, clusterName: string, cluster: ClusterAccess): Promise<KubeClient> {
  const token = deps.kubernetesToken
    ? await deps.kubernetesToken(clusterName)
    : await eksToken({ clusterName, region: deps.region, credentials: deps.credentials });
  return new KubeClient(
    { endpoint: cluster.endpoint, caData: cluster.caData, token, requestTimeoutMs: deps.requestTimeoutMs },
    { deadline: deps.deadline, onRetry: (info) => deps.log({ step: 'retry', ...info }) },
  );
}

async function runAction(
  deps: HandlerDependencies, props: ParsedProperties, cluster: ClusterAccess, action: Action, dryRun: boolean,
  options: { releaseAddon: boolean } = { releaseAddon: true },
): Promise<RunResult> {
  let managedAddon = await isManagedAddon(deps, props.clusterName, props.addon);
  deps.log({ step: 'describeAddon', addon: props.addon.eksAddonName, managed: managedAddon });
  const client = await kubeClient(deps, props.clusterName, cluster);
  try {
    // Fail closed: nothing is written while a write the handler's admission policies forbid is not refused.
    if (props.probe && action.type !== 'INSPECT' && !dryRun) {
      await waitForPoliciesInForce(client, props.probe, { timeoutMs: Math.min(POLICY_WAIT_MS, deps.deadline - Date.now()), log: deps.log });
    }
    const runOptions = { addon: props.addon, action, ifOwnedByOthers: props.ifOwnedByOthers, deadline: deps.deadline, log: deps.log };
    if (managedAddon && options.releaseAddon && props.ifOwnedByOthers === 'TAKE_OVER' && action.type !== 'INSPECT' && !dryRun) {
      // Everything that can stop the action is checked before the add-on goes: the cluster answers,
      // the objects are as expected, and the API server accepts every planned write.
      const checked = await run(client, { ...runOptions, facts: { managedAddon }, dryRun: true });
      const refusals = checked.preflight.filter((p) => !p.accepted);
      if (refusals.length > 0) throw new PreflightRefusedError(refusals, checked.plan.writes.length);
      await releaseManagedAddon(deps, props.clusterName, props.addon);
      managedAddon = false;
    }
    const result = await run(client, { ...runOptions, dryRun, facts: { managedAddon } });
    deps.log({ step: 'done', action: action.type, changed: result.changed, requests: client.requests, dryRun });
    return result;
  } catch (e) {
    if (unreachable(e)) throw new ClusterUnreachableError(props.clusterName, cluster.endpoint, e);
    throw e;
  } finally {
    client.close();
  }
}

/**
 * The access check: between the manifest of the admission policies and the one that grants the
 * handler its RBAC. It succeeds once a write the policies always forbid, made as the handler, is
 * refused by them; it fails (and the grants are never applied) if that is not seen in time.
 */
async function onAccessCheckEvent(event: CloudFormationCustomResourceEvent, deps: HandlerDependencies): Promise<HandlerResponse> {
  const raw = (event.ResourceProperties ?? {}) as Partial<AccessCheckResourceProperties>;
  const probe = probeOf(raw);
  const clusterName = raw.ClusterName;
  deps.log({ step: 'event', requestType: event.RequestType, cluster: clusterName, accessCheck: probe });
  const physicalResourceId = `${clusterName}/access-check`;
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId, Data: {} };
  if (!clusterName || !probe) throw new Error('Invalid properties: ClusterName, ProbeNamespace, ProbeName and PolicyMarker are required');
  const cluster = await describeCluster(deps, clusterName);
  if (!cluster) throw new Error(`EKS cluster "${clusterName}" does not exist in ${deps.region}`);
  const client = await kubeClient(deps, clusterName, cluster);
  try {
    const timeoutMs = Math.min(ACCESS_CHECK_WAIT_MS, deps.deadline - Date.now());
    const attempts = await waitForPoliciesInForce(client, probe, { timeoutMs, log: deps.log });
    return { PhysicalResourceId: physicalResourceId, Data: { Attempts: String(attempts) } };
  } catch (e) {
    if (unreachable(e)) throw new ClusterUnreachableError(clusterName, cluster.endpoint, e);
    throw e;
  } finally {
    client.close();
  }
}

/** The value at a dotted path, or undefined. */
function valueAt(values: unknown, path: string): unknown {
  return path.split('.').reduce<unknown>((v, key) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined), values);
}

/** Reads and checks the chart values resource's properties. */
export function parseChartValuesProperties(raw: Partial<ChartValuesResourceProperties> | undefined) {
  const props = raw ?? {};
  const problems: string[] = [];
  if (!props.ClusterName) problems.push('ClusterName is required');
  const addon = addonNamed(props.Addon ?? VPC_CNI.name);
  const withChart = ADDONS.filter((a) => a.chart).map((a) => a.name);
  if (!addon?.chart) problems.push(`Addon "${props.Addon}" must be one of ${withChart.join(', ')} (the add-ons with a chart)`);
  const part = Number(props.Part);
  const parts = Number(props.Parts);
  if (!Number.isInteger(parts) || parts < 1) problems.push(`Parts "${props.Parts}" must be a whole number of at least 1`);
  if (!Number.isInteger(part) || part < 0 || part > parts) problems.push(`Part "${props.Part}" must be a whole number from 0 to Parts`);
  let userValues: Record<string, unknown> = {};
  try {
    userValues = JSON.parse(props.UserValues ?? '{}');
    if (typeof userValues !== 'object' || userValues === null || Array.isArray(userValues)) problems.push('UserValues must be a JSON object');
  } catch {
    problems.push('UserValues is not JSON');
  }
  if (problems.length > 0) throw new Error(`Invalid properties: ${problems.join('; ')}`);
  return {
    clusterName: props.ClusterName!,
    addon: addon!,
    part,
    parts,
    userValues,
    version: props.Version || undefined,
    expectedDigest: props.ExpectedDigest,
  };
}

/**
 * The add-on's chart values that reproduce what runs, with the user's values merged over them (the
 * chart's fixed paths keep theirs). The JSON text goes out in parts (CloudFormation limits each
 * response to 4,096 bytes); part 0 is the summary the others check their digest against, so a change
 * between reads cannot splice two different documents into one.
 */
async function onChartValuesEvent(event: CloudFormationCustomResourceEvent, deps: HandlerDependencies): Promise<HandlerResponse> {
  const props = parseChartValuesProperties(event.ResourceProperties as Partial<ChartValuesResourceProperties>);
  const { addon } = props;
  const chart = addon.chart!;
  // The VPC CNI's keeps the id of the resources deployed before there were other add-ons.
  const physicalResourceId = `${props.clusterName}/${addon === VPC_CNI ? 'vpc-cni' : addon.name}-chart-values/${props.part}`;
  deps.log({ step: 'event', requestType: event.RequestType, cluster: props.clusterName, addon: addon.name, chartValuesPart: props.part });
  if (event.RequestType === 'Delete') return { PhysicalResourceId: event.PhysicalResourceId, Data: {} };

  const cluster = await describeCluster(deps, props.clusterName);
  if (!cluster) throw new Error(`EKS cluster "${props.clusterName}" does not exist in ${deps.region}`);
  const client = await kubeClient(deps, props.clusterName, cluster);
  let observation;
  try {
    observation = await observe(client, addon, {});
  } catch (e) {
    if (unreachable(e)) throw new ClusterUnreachableError(props.clusterName, cluster.endpoint, e);
    throw e;
  } finally {
    client.close();
  }
  // The presets install the release EKS's objects are adopted into.
  const derived = chart.valuesToInstall(observation, { releaseName: addon.defaultReleaseName, chartVersion: props.version });
  if (!derived.running) {
    throw new Error(`Cluster "${props.clusterName}" has no ${addon.workload.name} ${addon.workload.kind} in ${addon.namespace}: `
      + `there is no running ${addon.title.replace(/^the /, '')} whose values could be derived`);
  }
  const version = derived.chartVersion;
  if (!version) throw new Error(`${derived.notes.join('; ')}: give the chart version to install (version)`);
  // Credentials the cluster holds must not move into the HelmChart resource (its kubectl provider logs
  // its properties) unless the user puts them there: a value the user gives is the user's choice.
  const leaking = pathsWithUrlCredentials(derived.values).filter((p) => valueAt(props.userValues, p) === undefined);
  if (leaking.length > 0) {
    throw new Error(`${capitalized(addon.title)} of cluster "${props.clusterName}" runs with credentials in a URL (${leaking.join(', ')}). `
      + 'The chart values would carry them into the HelmChart resource, whose kubectl provider logs its properties, so nothing was installed. '
      + `Give ${leaking.join(', ')} in the preset's values yourself (then it is your choice what the template holds), `
      + 'or take the credentials out of the URL (a proxy that authenticates otherwise).');
  }
  const values = valuesWithFixed(derived.values, props.userValues, chart.fixedValuePaths);
  const json = JSON.stringify(values);
  const digest = createHash('sha256').update(json).digest('hex').slice(0, 16);
  const pieces = splitForResponse(json, CHART_VALUES_PART_BUDGET);
  // Only their size and digest: the values copy the workload's env as it runs, credentials included.
  deps.log({
    step: 'chartValues',
    addon: addon.name,
    part: props.part,
    version,
    installedVersion: derived.version,
    bytes: Buffer.byteLength(json),
    pieces: pieces.length,
    digest,
    notes: derived.notes,
    changes: derived.changes,
  });
  if (pieces.length > props.parts) {
    throw new Error(`The ${chart.name} chart values of cluster "${props.clusterName}" take ${Buffer.byteLength(json)} bytes, more than `
      + `${props.parts} custom resource responses can carry (CloudFormation limits each to 4,096 bytes). Give version and values `
      + `yourself: cdk-vpc-cni-ownership values${addon === VPC_CNI ? '' : ` --addon ${addon.name}`} prints the values that reproduce the running install.`);
  }
  if (props.part > 0 && props.expectedDigest && props.expectedDigest !== digest) {
    throw new Error(`${capitalized(addon.title)} of cluster "${props.clusterName}" changed while its chart values were read (digest ${digest}, expected `
      + `${props.expectedDigest}); nothing was installed. Deploy again.`);
  }
  if (props.part > 0) {
    return {
      PhysicalResourceId: physicalResourceId,
      Data: { [CHART_VALUES_ATTRIBUTE.chunk]: pieces[props.part - 1] ?? '', [CHART_VALUES_ATTRIBUTE.digest]: digest },
      NoEcho: true,
    };
  }
  const summary: Record<string, string> = {
    [CHART_VALUES_ATTRIBUTE.version]: version,
    [CHART_VALUES_ATTRIBUTE.installedVersion]: derived.version ?? '',
    [CHART_VALUES_ATTRIBUTE.digest]: digest,
    [CHART_VALUES_ATTRIBUTE.bytes]: String(Buffer.byteLength(json)),
  };
  const notesBudget = DATA_BUDGET - serializedBytes({ ...summary, [CHART_VALUES_ATTRIBUTE.notes]: '' });
  return {
    PhysicalResourceId: physicalResourceId,
    Data: { ...summary, [CHART_VALUES_ATTRIBUTE.notes]: boundedMessage([...derived.changes, ...derived.notes].join('\n'), notesBudget) },
    NoEcho: true,
  };
}

const capitalized = (text: string) => text.charAt(0).toUpperCase() + text.slice(1);
