import { KubeApiError, KubeClient } from './kube-client';
import { AddonDefinition } from './objects';
import { observe } from './observe';
import { plan as makePlan, PlanOptions } from './plan';
import { recoveryCopyObject } from './recovery';
import { Action, ClusterFacts, KubeObject, Observation, Owner, Plan, PreflightResult, Write } from './types';

/** One structured event per step, for logs (never carries credentials). */
export type EngineLog = (event: { step: string; [key: string]: unknown }) => void;

export interface RunOptions extends PlanOptions {
  /** The add-on to act on. */
  readonly addon: AddonDefinition;
  readonly action: Action;
  readonly facts?: ClusterFacts;
  /** Stop after the plan and its preflight: nothing is written. */
  readonly dryRun?: boolean;
  /**
   * Look up Helm's release records (Secrets and ConfigMaps in kube-system). Default: only for an adopt
   * that asks for it (`readReleaseRecords`).
   */
  readonly lookUpReleaseRecords?: boolean;
  /** How many times to re-read and re-plan after a 409 Conflict. Default 3. */
  readonly maxConflictRetries?: number;
  readonly log?: EngineLog;
  /** Epoch milliseconds after which no new read or write starts (the caller's own time limit). */
  readonly deadline?: number;
  /** Called before each real write; tests use it to change the cluster concurrently. */
  readonly beforeWrite?: (write: Write) => Promise<void> | void;
}

export interface RunResult {
  /** The owner before this run changed anything. */
  readonly previousOwner: Owner;
  /** The observation the last plan was made from. */
  readonly observation: Observation;
  /** The plan that was executed (or, for dry-run, would be). */
  readonly plan: Plan;
  /** What the API server said of each planned write, sent with `dryRun=All` before any real write. */
  readonly preflight: readonly PreflightResult[];
  /** Ids of the add-on's objects this run changed, deleted or re-created. */
  readonly changed: readonly string[];
  /** The id of the recovery copy this run wrote before deleting, if it wrote one. */
  readonly recoveryCopy?: string;
  readonly dryRun: boolean;
  /** Plans made: 1, plus one per 409 Conflict. */
  readonly attempts: number;
}

/** A write failed: says what was done and what was not, so the next run (which converges) is easy to reason about. */
export class PartialApplyError extends Error {
  constructor(readonly done: readonly string[], readonly notDone: readonly string[], readonly cause: unknown) {
    super(`${cause instanceof Error ? cause.message : String(cause)}\n`
      + `Done: ${done.length ? done.join(', ') : 'nothing'}. Not done: ${notDone.join(', ')}. Running again continues from here.`);
    this.name = 'PartialApplyError';
  }
}

/** The API server refused planned writes in the preflight: nothing was written. */
export class PreflightRefusedError extends Error {
  constructor(readonly refusals: readonly PreflightResult[], readonly planned: number) {
    super(`The API server refused ${refusals.length} of ${planned} planned write${planned === 1 ? '' : 's'} in a dry run; nothing was changed:\n`
      + refusals.map((r) => `- ${r.verb} ${r.objectId}: ${r.refusal}`).join('\n'));
    this.name = 'PreflightRefusedError';
  }
}

/** The API server kept managedFields entries a hand-over removes: the fields would stay with their old manager. */
export class HandOverNotKeptError extends Error {
  constructor(readonly objectId: string, readonly managers: readonly string[]) {
    super(`${objectId}: the API server kept managedFields entries of ${managers.map((m) => `"${m}"`).join(', ')} after the hand-over; `
      + 'their fields would stay theirs, so a server-side apply tool would conflict with them or keep their values');
    this.name = 'HandOverNotKeptError';
  }
}

/** The longest part of an API server's answer quoted in a refusal: the log has the rest. */
const MAX_REASON = 300;

/**
 * Observe → plan → preflight (every planned write with `dryRun=All`, together) → (unless dry-run, and
 * only when every write was accepted) execute. A 409 re-observes and re-plans, a bounded number of times.
 */
export async function run(client: KubeClient, options: RunOptions): Promise<RunResult> {
  const log: EngineLog = options.log ?? (() => {});
  const facts = options.facts ?? {};
  const action = options.action;
  const maxAttempts = 1 + (options.maxConflictRetries ?? 3);
  const countCustomResources = action.type === 'INSPECT' || (action.type === 'REMOVE' && action.crdPolicy === 'DELETE_IF_UNUSED');
  const observeOptions = {
    countCustomResources,
    lookUpReleaseRecords: options.lookUpReleaseRecords ?? (action.type === 'ADOPT' && action.readReleaseRecords === true),
    newOwner: action.type === 'ADOPT' ? action.fieldManager : undefined,
    readRecoveryCopy: action.type === 'INSPECT' || action.type === 'REMOVE' || (action.type === 'RESTORE' && action.recreate !== false),
  };
  const addon = options.addon;
  const inObjectOrder = (ids: readonly string[]) => {
    const index = (id: string) => addon.objects.findIndex((o) => o.id === id);
    return ids.filter((id) => index(id) >= 0).sort((a, b) => index(a) - index(b));
  };
  const copyId = recoveryCopyObject(addon).id;
  let recoveryCopy: string | undefined;
  const changed: string[] = [];
  // Objects whose write ended in a conflict: it may be our own write whose answer was lost (a retry
  // after a timeout or reset then meets our own new resourceVersion). If the next plan finds them
  // done, this run changed them.
  const uncertain = new Map<string, Write['verb']>();
  let previousOwner: Owner | undefined;
  let waited = 0;

  const checkDeadline = (next: string) => {
    if (options.deadline !== undefined && Date.now() > options.deadline) {
      throw new Error(`Out of time before ${next}; stopping so the caller can report it.`);
    }
  };
  const isConflict = (e: unknown) => e instanceof KubeApiError && e.status === 409;

  for (let attempt = 1; ; attempt++) {
    checkDeadline('reading the cluster');
    const observation = await observe(client, addon, facts, observeOptions);
    previousOwner ??= observation.owner;
    log({
      step: 'observe',
      attempt,
      owner: observation.owner.kind,
      ownerDescription: observation.owner.description,
      objects: observation.objects.map((s) => ({ id: s.object.id, present: !!s.live, owner: s.owner.kind, managers: s.managers })),
    });
    const plan = makePlan(observation, action, options);
    // A write whose answer was a conflict counts as done only when this fresh observation shows its effect.
    for (const [id, verb] of uncertain) {
      if (!changed.includes(id) && effectSeen(observation, plan, id, verb)) changed.push(id);
    }
    uncertain.clear();
    // Objects still being deleted are re-created once gone: wait for them (bounded), then plan again.
    const canWait = !options.dryRun && waited < MAX_WAIT_FOR_DELETION_MS
      && (options.deadline === undefined || Date.now() + DELETION_POLL_MS < options.deadline);
    if (plan.waitingFor && canWait) {
      if (waited === 0) log({ step: 'wait', for: plan.waitingFor, reason: 'still being deleted; re-created once gone' });
      await new Promise((r) => setTimeout(r, DELETION_POLL_MS));
      waited += DELETION_POLL_MS;
      attempt--;
      continue;
    }
    log({ step: 'plan', action: action.type, writes: plan.writes.map((w) => `${w.verb} ${w.objectId}: ${w.reason}`), notes: plan.notes, skipped: plan.skipped });
    const result = (preflight: readonly PreflightResult[] = []): RunResult => ({
      previousOwner: previousOwner!,
      observation,
      plan,
      preflight,
      changed: inObjectOrder(changed),
      dryRun: !!options.dryRun,
      attempts: attempt,
      ...recoveryCopy ? { recoveryCopy } : {},
    });
    if (plan.writes.length === 0) return result();

    // The API server checks the whole plan (RBAC, admission webhooks and policies, validation,
    // preconditions) before anything is changed.
    checkDeadline('the preflight');
    const checks = await Promise.all(plan.writes.map((w) => preflightOne(client, w, plan.writes)));
    const preflight = checks.map((c) => c.result);
    const conflicts = checks.filter((c) => c.conflict);
    if (conflicts.length > 0 && attempt < maxAttempts) {
      log({ step: 'conflict', attempt, during: 'preflight', detail: conflicts.map((c) => c.conflict!.message), next: 're-read and re-plan' });
      continue;
    }
    log({
      step: 'preflight',
      accepted: preflight.filter((p) => p.accepted).map((p) => `${p.verb} ${p.objectId}`),
      refused: preflight.filter((p) => !p.accepted).map((p) => `${p.verb} ${p.objectId}: ${p.refusal}`),
      unchecked: preflight.filter((p) => p.uncheckedBecause).map((p) => `${p.verb} ${p.objectId}: ${p.uncheckedBecause}`),
    });
    if (options.dryRun) return result(preflight);
    const refusals = preflight.filter((p) => !p.accepted);
    if (refusals.length > 0) throw new PreflightRefusedError(refusals, plan.writes.length);

    const apply = async (write: Write) => {
      checkDeadline(`${write.verb} ${write.objectId}`);
      await options.beforeWrite?.(write);
      const applied = await execute(client, write, false);
      log({ step: 'write', verb: write.verb, object: write.objectId, reason: write.reason, result: applied ? 'done' : 'already gone' });
      if (applied && write.objectId === copyId) recoveryCopy = write.objectId;
      else if (applied && !changed.includes(write.objectId)) changed.push(write.objectId);
    };
    // Adopt's writes are independent, so they go out together; remove keeps its order (DaemonSet first).
    const failures: { write: Write; error: unknown }[] = [];
    if (action.type === 'ADOPT') {
      const settled = await Promise.allSettled(plan.writes.map(apply));
      settled.forEach((s, i) => s.status === 'rejected' && failures.push({ write: plan.writes[i], error: s.reason }));
    } else {
      for (const write of plan.writes) {
        try {
          await apply(write);
        } catch (error) {
          failures.push({ write, error });
          break;
        }
      }
    }
    if (failures.length === 0) return result(preflight);

    if (failures.every((f) => isConflict(f.error)) && attempt < maxAttempts) {
      log({ step: 'conflict', attempt, detail: failures.map((f) => (f.error as Error).message), next: 're-read and re-plan' });
      for (const f of failures) uncertain.set(f.write.objectId, f.write.verb);
      continue;
    }
    const done = new Set(changed);
    const cause = failures.find((f) => !isConflict(f.error))?.error ?? failures[0].error;
    // The recovery copy, when written, is done too (it is no object of the add-on's, so not in `changed`).
    throw new PartialApplyError([...recoveryCopy ? [recoveryCopy] : [], ...inObjectOrder(changed)],
      plan.writes.map((w) => w.objectId).filter((id) => !done.has(id) && id !== recoveryCopy), cause);
  }
}

/** How long a restore waits for objects that are still being deleted (a CRD's clean-up takes seconds). */
const MAX_WAIT_FOR_DELETION_MS = 30_000;
const DELETION_POLL_MS = 250;

/**
 * Whether a fresh observation shows the effect of a write whose answer was lost to a conflict: a
 * deleted object is gone or being deleted, a created one exists, a patched one needs no write any more
 * (and the plan was made, not skipped).
 */
function effectSeen(observation: Observation, plan: Plan, id: string, verb: Write['verb']): boolean {
  const live = observation.objects.find((s) => s.object.id === id)?.live;
  switch (verb) {
    case 'DELETE': return !live || !!live.metadata.deletionTimestamp;
    case 'APPLY': return !!live;
    case 'PATCH': return !!live && !plan.skipped && !plan.writes.some((w) => w.objectId === id);
  }
}

/** One write sent with `dryRun=All`: accepted, refused (with the API server's reason), or a conflict to re-plan on. */
async function preflightOne(
  client: KubeClient, write: Write, writes: readonly Write[],
): Promise<{ result: PreflightResult; conflict?: KubeApiError }> {
  const base = { objectId: write.objectId, verb: write.verb };
  try {
    await execute(client, write, true);
    return { result: { ...base, accepted: true } };
  } catch (e) {
    const role = roleCreatedBefore(write, writes);
    if (role && e instanceof KubeApiError && e.status === 404) {
      // The dry run of the role stored nothing, so RBAC cannot find it for the binding: checked when written, after the role.
      return { result: { ...base, accepted: true, uncheckedBecause: `its role ${role} is re-created by this plan first; the API server checks it when it is written` } };
    }
    if (e instanceof KubeApiError && e.status === 409) return { result: { ...base, accepted: false, refusal: refusalOf(write, e) }, conflict: e };
    if (e instanceof KubeApiError || e instanceof HandOverNotKeptError) return { result: { ...base, accepted: false, refusal: refusalOf(write, e) } };
    throw e;
  }
}

/** The role (`ClusterRole/name`) a binding's creation refers to when an earlier write of the same plan creates that role. */
function roleCreatedBefore(write: Write, writes: readonly Write[]): string | undefined {
  const body = write.body as KubeObject;
  if (write.verb !== 'APPLY' || !['ClusterRoleBinding', 'RoleBinding'].includes(body.kind ?? '') || !body.roleRef) return undefined;
  const before = writes.slice(0, writes.indexOf(write));
  const role = before.find((w) => w.verb === 'APPLY' && (w.body as KubeObject).kind === body.roleRef.kind
    && (w.body as KubeObject).metadata?.name === body.roleRef.name && (w.body as KubeObject).metadata?.namespace === body.metadata.namespace);
  return role ? `${body.roleRef.kind}/${body.roleRef.name}` : undefined;
}

/** The API server's reason, bounded, and what would let the write through. */
function refusalOf(write: Write, e: Error): string {
  const detail = e instanceof KubeApiError ? `${e.status} ${e.reason}: ${e.detail}` : e.message;
  const bounded = detail.length > MAX_REASON ? `${detail.slice(0, MAX_REASON)}… (${detail.length} characters; the handler's log has all)` : detail;
  return `${bounded}. ${hintFor(write, e)}`;
}

function hintFor(write: Write, e: Error): string {
  const text = e instanceof KubeApiError ? e.detail : e.message;
  const verb = write.verb.toLowerCase();
  if (e instanceof HandOverNotKeptError) return 'Check for a mutating webhook that rewrites managedFields';
  if (/attempting to grant RBAC permissions not currently held/.test(text)) {
    return 'Kubernetes lets only a writer that holds every rule of a role (or binding\'s role) change it: '
      + 'grant the handler the rules listed above (the library\'s adopt RBAC holds the rules the aws-vpc-cni chart grants aws-node)';
  }
  if (/ValidatingAdmissionPolicy/.test(text)) return 'Exempt the handler\'s user or group in that policy\'s binding, or change the policy';
  if (/admission webhook/.test(text)) return 'Exempt the handler\'s user or group from that admission webhook, or change its policy';
  if (e instanceof KubeApiError && e.status === 403) return `Grant the handler "${verb}" on ${write.objectId} (see VpcCniOwnership.rbacManifest() or PreinstalledAddonOwnership.rbacManifest())`;
  if (e instanceof KubeApiError && e.status === 409) return 'The object changed meanwhile; running again re-plans';
  if (e instanceof KubeApiError && e.status === 422) return 'The change is not valid for this object';
  return 'See the handler\'s log';
}

/** Applies one write (or, with `dryRun`, has the API server check it); `false` when a DELETE found the object already gone. */
async function execute(client: KubeClient, write: Write, dryRun: boolean): Promise<boolean> {
  if (write.verb === 'DELETE') return client.delete(write.path, write.body, { dryRun });
  if (write.verb === 'APPLY') {
    await client.apply(write.path, write.body, write.fieldManager!, { dryRun });
    return true;
  }
  const answer = await client.patch<KubeObject>(write.path, write.body, write.fieldManager!, { dryRun });
  if (write.handsOver) {
    const kept = (answer?.metadata?.managedFields ?? []).map((m) => m.manager ?? '').filter((m) => write.handsOver!.includes(m));
    if (kept.length > 0) throw new HandOverNotKeptError(write.objectId, [...new Set(kept)]);
  }
  return true;
}
