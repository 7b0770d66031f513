import { CommandLine } from './args';
import {
  formatObservation, formatPlan, OwnedByOthersError, PartialApplyError, PreflightRefusedError, RunResult, UnexpectedClusterStateError,
} from '../engine';

/** Everything a command did, for either output format. */
export interface Report {
  readonly line: CommandLine;
  readonly context?: string;
  readonly server?: string;
  readonly result?: RunResult;
  readonly requests?: Readonly<Record<string, number>>;
  readonly exitCode?: number;
  readonly error?: Error;
}

const MANAGED_ADDON_NOTE = 'Whether vpc-cni is an EKS managed add-on was not checked: only the EKS API knows '
  + '(aws eks describe-addon --cluster-name CLUSTER --addon-name vpc-cni). If it is, pass --managed-addon.';

/** From the cluster alone, an EKS managed add-on looks exactly like the bootstrap install: say so where it matters. */
function notes(report: Report): string[] {
  return !report.line.managedAddon && report.result?.previousOwner.kind === 'EKS_BOOTSTRAP' ? [MANAGED_ADDON_NOTE] : [];
}

function requestSummary(requests: Readonly<Record<string, number>> = {}): string {
  const total = Object.values(requests).reduce((a, b) => a + b, 0);
  const byMethod = Object.entries(requests).map(([method, n]) => `${method} ${n}`).join(', ');
  return `${total} API request${total === 1 ? '' : 's'}${byMethod ? ` (${byMethod})` : ''}`;
}

/** The human-readable result: the observation, then the plan and what was written. */
export function renderTable(report: Report): string {
  const result = report.result!;
  const { line } = report;
  const lines = [`Context ${report.context} (${report.server})`, ''];
  if (line.command === 'inspect') {
    lines.push(formatObservation(result.observation));
  } else {
    // The per-object table is inspect's; an action shows whom it found, then what it writes.
    lines.push(`Owner: ${result.previousOwner.kind}: ${result.previousOwner.description}`, '', formatPlan(result.plan));
    if (result.dryRun) lines.push(`Dry run: nothing was written. Run "${line.command}" without --dry-run to apply it.`);
    else if (result.changed.length > 0) lines.push(`Changed ${result.changed.length} object${result.changed.length === 1 ? '' : 's'}: ${result.changed.join(', ')}`);
    else lines.push('Changed nothing.');
  }
  lines.push('', ...notes(report), requestSummary(report.requests));
  return lines.join('\n');
}

/** A stable JSON document for scripts; present whatever the exit code. */
export function renderJson(report: Report): Record<string, unknown> {
  const { line, result, error } = report;
  return {
    command: line.command,
    action: line.action,
    dryRun: line.dryRun,
    ifOwnedByOthers: line.ifOwnedByOthers,
    context: report.context,
    server: report.server,
    exitCode: report.exitCode,
    // The EKS API's fact: true when asserted with --managed-addon, null when unknown.
    managedAddon: line.managedAddon ? true : null,
    owner: result?.previousOwner,
    objects: result?.observation.objects.map((s) => ({
      id: s.object.id,
      present: !!s.live,
      owner: s.owner.kind,
      beingDeleted: !!s.live?.metadata.deletionTimestamp,
      managers: s.managers,
      ...(s.customResources === undefined ? {} : { customResources: s.customResources }),
      problems: s.problems,
    })),
    plan: result && {
      writes: result.plan.writes.map((w) => ({ verb: w.verb, object: w.objectId, reason: w.reason })),
      notes: result.plan.notes,
      ...(result.plan.skipped ? { skipped: result.plan.skipped } : {}),
    },
    changed: result?.changed,
    requests: report.requests,
    notes: notes(report),
    ...(error ? { error: errorJson(error) } : {}),
  };
}

function errorJson(e: Error): Record<string, unknown> {
  const base = { kind: e.name.replace(/Error$/, ''), message: e.message };
  if (e instanceof OwnedByOthersError) return { ...base, owner: e.owner };
  if (e instanceof UnexpectedClusterStateError) return { ...base, problems: e.problems };
  if (e instanceof PartialApplyError) return { ...base, done: e.done, notDone: e.notDone };
  if (e instanceof PreflightRefusedError) return { ...base, refusals: e.refusals };
  return base;
}
