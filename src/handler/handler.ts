import {
  DeleteAddonCommand, DescribeAddonCommand, DescribeClusterCommand, EKSClient, ResourceNotFoundException,
} from '@aws-sdk/client-eks';
import { AwsCredentialIdentityProvider } from '@smithy/types';
import type { CloudFormationCustomResourceEvent } from 'aws-lambda';
import { eksToken } from './eks-token';
import { ATTRIBUTE, OwnershipResourceProperties } from '../contract';
import {
  Action, actionProblems, KubeClient, KubeNetworkError, OWNED_BY_OTHERS, OwnedByOthers, PartialApplyError, run, RunResult,
} from '../engine';

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

/** The name of the VPC CNI in the EKS add-on API. */
const VPC_CNI_ADDON = 'vpc-cni';
/** CloudFormation responses hold at most 4 KB in all; keep the plan attribute well below. */
const MAX_PLAN_ATTRIBUTE = 2500;

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
}

interface ParsedProperties {
  readonly clusterName: string;
  readonly action: Action;
  readonly ifOwnedByOthers: OwnedByOthers;
  readonly dryRun: boolean;
}

/** Reads and checks the custom resource's properties; throws naming the property before anything is done. */
export function parseProperties(raw: Partial<OwnershipResourceProperties> | undefined): ParsedProperties {
  const props = raw ?? {};
  if (!props.ClusterName) throw new Error('Property ClusterName is required');
  let action: Action;
  try {
    action = JSON.parse(props.Action ?? '');
  } catch {
    throw new Error(`Property Action is not JSON: ${props.Action}`);
  }
  const problems = actionProblems(action).map((p) => `Action: ${p}`);
  const ifOwnedByOthers = (props.IfOwnedByOthers ?? 'FAIL') as OwnedByOthers;
  if (!OWNED_BY_OTHERS.includes(ifOwnedByOthers)) problems.push(`IfOwnedByOthers "${ifOwnedByOthers}" must be one of ${OWNED_BY_OTHERS.join(', ')}`);
  if (problems.length > 0) throw new Error(`Invalid properties: ${problems.join('; ')}`);
  return { clusterName: props.ClusterName, action, ifOwnedByOthers, dryRun: props.DryRun === 'true' };
}

/**
 * The custom resource's onEvent: Create and Update run the action; Delete restores a disabled
 * VPC CNI and leaves adopted or removed ones as they are (see the README).
 */
export async function onEvent(event: CloudFormationCustomResourceEvent, deps: HandlerDependencies): Promise<HandlerResponse> {
  const props = parseProperties(event.ResourceProperties as any);
  const physicalResourceId = `${props.clusterName}/vpc-cni-ownership`;
  deps.log({ step: 'event', requestType: event.RequestType, cluster: props.clusterName, action: props.action.type, dryRun: props.dryRun });

  if (event.RequestType === 'Delete') {
    // Adopt and remove are not undone (README). A disable is; so is one an earlier Update left behind
    // when it moved to a dry-run, which writes nothing and so could not restore.
    if (props.action.type !== 'DISABLE' && !props.dryRun) {
      deps.log({ step: 'delete', result: `nothing to undo for ${props.action.type}` });
      return { PhysicalResourceId: event.PhysicalResourceId, Data: {} };
    }
    const cluster = await describeCluster(deps, props.clusterName);
    if (!cluster) {
      deps.log({ step: 'delete', result: 'the cluster no longer exists; nothing to restore' });
      return { PhysicalResourceId: event.PhysicalResourceId, Data: {} };
    }
    try {
      await restore(deps, props, cluster);
    } catch (e) {
      // A stack delete must not hang on a cluster that no longer answers (often it is being deleted too).
      if (!(e instanceof ClusterUnreachableError)) throw e;
      deps.log({ step: 'delete', result: 'the cluster endpoint does not answer; nothing restored', detail: (e as Error).message });
    }
    return { PhysicalResourceId: event.PhysicalResourceId, Data: {} };
  }

  const cluster = await describeCluster(deps, props.clusterName);
  if (!cluster) throw new Error(`EKS cluster "${props.clusterName}" does not exist in ${deps.region}`);

  // Leaving DISABLE for another action: give the DaemonSet its nodeSelector back first.
  if (event.RequestType === 'Update' && !props.dryRun && props.action.type !== 'DISABLE') {
    const old = parseProperties(event.OldResourceProperties as any);
    if (old.action.type === 'DISABLE' && old.clusterName === props.clusterName && !old.dryRun) {
      await restore(deps, props, cluster);
    }
  }

  const result = await runAction(deps, props, cluster, props.action, props.dryRun);
  return {
    PhysicalResourceId: physicalResourceId,
    Data: {
      [ATTRIBUTE.previousOwner]: result.previousOwner.kind,
      [ATTRIBUTE.previousOwnerDescription]: result.previousOwner.description,
      [ATTRIBUTE.changedObjects]: result.changed.join(','),
      [ATTRIBUTE.plan]: planAttribute(result),
    },
  };
}

/** The plan as JSON that always parses: writes beyond the size limit are counted, not cut mid-string. */
export function planAttribute(result: Pick<RunResult, 'plan'>, maxLength = MAX_PLAN_ATTRIBUTE): string {
  const writes = result.plan.writes.map((w) => `${w.verb} ${w.objectId}: ${w.reason}`);
  const render = (kept: number) => JSON.stringify({
    writes: writes.slice(0, kept),
    ...(kept < writes.length ? { moreWrites: writes.length - kept } : {}),
    notes: result.plan.notes,
    skipped: result.plan.skipped,
  });
  let kept = writes.length;
  while (kept > 0 && render(kept).length > maxLength) kept--;
  return render(kept);
}

/**
 * Removes our nodeSelector key. It is ours whoever owns the DaemonSet now, so the guard does not
 * apply, and an EKS managed add-on is never deleted for it.
 */
async function restore(deps: HandlerDependencies, props: ParsedProperties, cluster: ClusterAccess): Promise<RunResult> {
  return runAction(deps, { ...props, ifOwnedByOthers: 'TAKE_OVER' }, cluster, { type: 'RESTORE' }, false, { releaseAddon: false });
}

interface ClusterAccess {
  readonly endpoint: string;
  readonly caData: string;
}

async function describeCluster(deps: HandlerDependencies, name: string): Promise<ClusterAccess | undefined> {
  try {
    const { cluster } = await deps.eks.send(new DescribeClusterCommand({ name }));
    if (!cluster?.endpoint || !cluster.certificateAuthority?.data) {
      throw new Error(`EKS cluster "${name}" has no endpoint or certificate authority yet (status ${cluster?.status})`);
    }
    deps.log({ step: 'describeCluster', cluster: name, status: cluster.status });
    return { endpoint: cluster.endpoint, caData: Buffer.from(cluster.certificateAuthority.data, 'base64').toString('utf8') };
  } catch (e) {
    if (e instanceof ResourceNotFoundException) return undefined;
    throw e;
  }
}

async function isManagedAddon(deps: HandlerDependencies, clusterName: string): Promise<boolean> {
  try {
    const { addon } = await deps.eks.send(new DescribeAddonCommand({ clusterName, addonName: VPC_CNI_ADDON }));
    return !!addon;
  } catch (e) {
    if (e instanceof ResourceNotFoundException) return false;
    throw e;
  }
}

/**
 * Taking over an EKS managed add-on goes through the EKS API first: REMOVE deletes it with its
 * objects; ADOPT and DISABLE delete only the add-on and keep the objects for the engine.
 */
async function releaseManagedAddon(deps: HandlerDependencies, clusterName: string, action: Action): Promise<void> {
  const preserve = action.type !== 'REMOVE';
  if (Date.now() > deps.deadline) throw new Error(`Out of time before deleting the EKS add-on ${VPC_CNI_ADDON}; nothing was changed`);
  deps.log({ step: 'deleteAddon', addon: VPC_CNI_ADDON, preserve });
  await deps.eks.send(new DeleteAddonCommand({ clusterName, addonName: VPC_CNI_ADDON, preserve }));
  const pollMs = 5000;
  while (await isManagedAddon(deps, clusterName)) {
    if (Date.now() + pollMs > deps.deadline) throw new Error(`The EKS add-on ${VPC_CNI_ADDON} was still being deleted when time ran out`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

async function runAction(
  deps: HandlerDependencies, props: ParsedProperties, cluster: ClusterAccess, action: Action, dryRun: boolean,
  options: { releaseAddon: boolean } = { releaseAddon: true },
): Promise<RunResult> {
  let managedAddon = await isManagedAddon(deps, props.clusterName);
  deps.log({ step: 'describeAddon', addon: VPC_CNI_ADDON, managed: managedAddon });
  if (managedAddon && options.releaseAddon && props.ifOwnedByOthers === 'TAKE_OVER' && action.type !== 'INSPECT' && !dryRun) {
    await releaseManagedAddon(deps, props.clusterName, action);
    managedAddon = false;
  }
  const token = deps.kubernetesToken
    ? await deps.kubernetesToken(props.clusterName)
    : await eksToken({ clusterName: props.clusterName, region: deps.region, credentials: deps.credentials });
  const client = new KubeClient(
    { endpoint: cluster.endpoint, caData: cluster.caData, token, requestTimeoutMs: deps.requestTimeoutMs },
    { deadline: deps.deadline, onRetry: (info) => deps.log({ step: 'retry', ...info }) },
  );
  try {
    const result = await run(client, {
      action,
      dryRun,
      facts: { managedAddon },
      ifOwnedByOthers: props.ifOwnedByOthers,
      deadline: deps.deadline,
      log: deps.log,
    });
    deps.log({ step: 'done', action: action.type, changed: result.changed, requests: client.requests, dryRun });
    return result;
  } catch (e) {
    if (unreachable(e)) throw new ClusterUnreachableError(props.clusterName, cluster.endpoint, e);
    throw e;
  } finally {
    client.close();
  }
}
