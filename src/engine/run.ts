import { KubeApiError, KubeClient } from './kube-client';
import { CNI_OBJECTS } from './objects';
import { observe } from './observe';
import { plan as makePlan, PlanOptions } from './plan';
import { Action, ClusterFacts, Observation, Owner, Plan, Write } from './types';

/** One structured event per step, for logs (never carries credentials). */
export type EngineLog = (event: { step: string; [key: string]: unknown }) => void;

export interface RunOptions extends PlanOptions {
  readonly action: Action;
  readonly facts?: ClusterFacts;
  /** Stop after the plan. */
  readonly dryRun?: boolean;
  /** How many times to re-read and re-plan after a 409 Conflict. Default 3. */
  readonly maxConflictRetries?: number;
  readonly log?: EngineLog;
  /** Epoch milliseconds after which no new read or write starts (the caller's own time limit). */
  readonly deadline?: number;
  /** Called before each write; tests use it to change the cluster concurrently. */
  readonly beforeWrite?: (write: Write) => Promise<void> | void;
}

export interface RunResult {
  /** The owner before this run changed anything. */
  readonly previousOwner: Owner;
  /** The observation the last plan was made from. */
  readonly observation: Observation;
  /** The plan that was executed (or, for dry-run, would be). */
  readonly plan: Plan;
  /** Ids of the objects this run changed or deleted. */
  readonly changed: readonly string[];
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

/** Observe → plan → (unless dry-run) execute; a 409 re-observes and re-plans, a bounded number of times. */
export async function run(client: KubeClient, options: RunOptions): Promise<RunResult> {
  const log: EngineLog = options.log ?? (() => {});
  const facts = options.facts ?? {};
  const maxAttempts = 1 + (options.maxConflictRetries ?? 3);
  const countCustomResources = options.action.type === 'INSPECT'
    || (options.action.type === 'REMOVE' && options.action.crdPolicy === 'DELETE_IF_UNUSED');
  const changed: string[] = [];
  // Objects whose write ended in a conflict: it may be our own write whose answer was lost (a retry
  // after a timeout or reset then meets our own new resourceVersion). If the next plan finds them
  // done, this run changed them.
  const uncertain = new Set<string>();
  let previousOwner: Owner | undefined;

  const checkDeadline = (next: string) => {
    if (options.deadline !== undefined && Date.now() > options.deadline) {
      throw new Error(`Out of time before ${next}; stopping so the caller can report it.`);
    }
  };

  for (let attempt = 1; ; attempt++) {
    checkDeadline('reading the cluster');
    const observation = await observe(client, facts, { countCustomResources });
    previousOwner ??= observation.owner;
    log({
      step: 'observe',
      attempt,
      owner: observation.owner.kind,
      ownerDescription: observation.owner.description,
      objects: observation.objects.map((s) => ({ id: s.object.id, present: !!s.live, owner: s.owner.kind, managers: s.managers })),
    });
    const plan = makePlan(observation, options.action, options);
    for (const id of uncertain) {
      if (!plan.writes.some((w) => w.objectId === id) && !changed.includes(id)) changed.push(id);
    }
    uncertain.clear();
    log({ step: 'plan', action: options.action.type, writes: plan.writes.map((w) => `${w.verb} ${w.objectId}: ${w.reason}`), notes: plan.notes, skipped: plan.skipped });
    const result = (): RunResult => ({
      previousOwner: previousOwner!, observation, plan, changed: inObjectOrder(changed), dryRun: !!options.dryRun, attempts: attempt,
    });
    if (options.dryRun || plan.writes.length === 0) return result();

    const apply = async (write: Write) => {
      checkDeadline(`${write.verb} ${write.objectId}`);
      await options.beforeWrite?.(write);
      const applied = await execute(client, write);
      log({ step: 'write', verb: write.verb, object: write.objectId, reason: write.reason, result: applied ? 'done' : 'already gone' });
      if (applied && !changed.includes(write.objectId)) changed.push(write.objectId);
    };
    // Adopt's writes are independent, so they go out together; remove keeps its order (DaemonSet first).
    const failures: { write: Write; error: unknown }[] = [];
    if (options.action.type === 'ADOPT') {
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
    if (failures.length === 0) return result();

    const isConflict = (e: unknown) => e instanceof KubeApiError && e.status === 409;
    if (failures.every((f) => isConflict(f.error)) && attempt < maxAttempts) {
      log({ step: 'conflict', attempt, detail: failures.map((f) => (f.error as Error).message), next: 're-read and re-plan' });
      for (const f of failures) uncertain.add(f.write.objectId);
      continue;
    }
    const done = new Set(changed);
    const cause = failures.find((f) => !isConflict(f.error))?.error ?? failures[0].error;
    throw new PartialApplyError(inObjectOrder(changed), plan.writes.map((w) => w.objectId).filter((id) => !done.has(id)), cause);
  }
}

/** Object ids in the order of the one object list, whatever order the writes finished in. */
function inObjectOrder(ids: readonly string[]): string[] {
  const index = (id: string) => CNI_OBJECTS.findIndex((o) => o.id === id);
  return [...ids].sort((a, b) => index(a) - index(b));
}

/** Applies one write; `false` when a DELETE found the object already gone. */
async function execute(client: KubeClient, write: Write): Promise<boolean> {
  if (write.verb === 'DELETE') return client.delete(write.path, write.body);
  await client.patch(write.path, write.body, write.fieldManager!);
  return true;
}
