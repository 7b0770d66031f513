import { CommandLine } from './args';
import { ManagedAddonCheck } from './eks-addon';
import { InterruptedError, InterruptSignal } from './interrupt';
import { installedVersionOf, VPC_CNI } from '../addons';
import {
  formatObservation, formatPlan, Observation, OwnedByOthersError, PartialApplyError, PreflightRefusedError, PreflightResult, RunResult,
  UnexpectedClusterStateError, withoutUrlCredentials,
} from '../engine';

/** Everything a command did, for either output format. */
export interface Report {
  readonly line: CommandLine;
  readonly context?: string;
  readonly server?: string;
  /** Whether vpc-cni is an EKS managed add-on, and who said so; absent when the command stopped before asking. */
  readonly addon?: ManagedAddonCheck;
  readonly result?: RunResult;
  readonly requests?: Readonly<Record<string, number>>;
  readonly exitCode?: number;
  readonly error?: Error;
  /** A signal that came after the run's last write had started: the run finished all the same. */
  readonly interrupted?: InterruptSignal;
}

/** A dry run's preflight found writes the API server would refuse: the real run would stop before its first write. */
export class DryRunRefusedError extends Error {
  constructor(readonly refusals: readonly PreflightResult[], planned: number) {
    super(`The API server would refuse ${refusals.length} of ${planned} planned write${planned === 1 ? '' : 's'} `
      + `(${refusals.map((r) => `${r.verb} ${r.objectId}`).join(', ')}); the plan says why. Nothing was written.`);
    this.name = 'DryRunRefusedError';
  }
}

const managedAddonNote = (name: string) => `Whether ${name} is an EKS managed add-on was not checked: only the EKS API knows `
  + `(aws eks describe-addon --cluster-name CLUSTER --addon-name ${name}). If it is, pass --managed-addon.`;

/** From the cluster alone, an EKS managed add-on looks exactly like the bootstrap install: say what is known, where it matters. */
function notes(report: Report): string[] {
  const { addon } = report;
  const owner = report.result?.previousOwner.kind;
  const cluster = addon?.clusterName ? ` of cluster "${addon.clusterName}"` : '';
  const name = report.line.addon.eksAddonName;
  const out: string[] = [];
  if (addon?.unknownReason) out.push(`The EKS API could not tell whether ${name} is a managed add-on: ${addon.unknownReason}`);
  if (addon?.source === 'eks-api' && (owner === 'EKS_BOOTSTRAP' || owner === 'EKS_MANAGED_ADDON')) {
    out.push(addon.managedAddon
      ? `The EKS API (aws eks describe-addon) says ${name} is a managed add-on${cluster}.`
      : `The EKS API (aws eks describe-addon) has no ${name} add-on${cluster}: this is the bootstrap install.`);
  }
  if (!report.line.managedAddon && addon?.source !== 'eks-api' && owner === 'EKS_BOOTSTRAP') out.push(managedAddonNote(name));
  return out;
}

/**
 * The installed version and image registry: the VPC CNI's as an aws-vpc-cni chart version, the
 * others' as their image tag (e.g. `v1.33.3-minimal-eksbuild.2`).
 */
export function installedOf(observation: Observation): { readonly version?: string; readonly imageRegistry?: string } {
  if (observation.addon === VPC_CNI) return installedVersionOf(observation);
  const workload = observation.objects.find((s) => s.object.id === observation.addon.workload.id)?.live;
  const image: string | undefined = workload?.spec?.template?.spec?.containers?.[0]?.image;
  const match = image ? /^(.*?)\/[^:@]+(?::([^@]+))?/.exec(image) : null;
  return match ? { version: match[2], imageRegistry: match[1] } : {};
}

/** One line per add-on for `inspect` of all three: name, owner, version, then the owner in words. */
export function summaryLine(report: Report): string {
  const name = report.line.addon.name.padEnd(11);
  if (!report.result) return `${name} ERROR  ${report.error?.message.split('\n')[0] ?? ''}`;
  const { version } = installedOf(report.result.observation);
  const owner = report.result.previousOwner;
  return `${name} ${owner.kind.padEnd(18)} ${(version ?? '-').padEnd(28)} ${owner.description}`;
}

/** The installed version, as inspect shows it. */
function installedLines(result: RunResult): string[] {
  const addon = result.observation.addon;
  if (addon !== VPC_CNI) {
    const { version, imageRegistry } = installedOf(result.observation);
    if (!version && !imageRegistry) return [`Installed ${addon.name}: none (no ${addon.workload.kind} ${addon.workload.name})`];
    return [`Installed ${addon.name}: ${version ?? 'unknown'}`, `Image registry: ${imageRegistry ?? 'unknown'}`];
  }
  if (!result.observation.objects.some((s) => s.object.kind === 'DaemonSet' && s.live)) return ['Installed VPC CNI: none (no aws-node DaemonSet)'];
  const { version, imageRegistry } = installedVersionOf(result.observation);
  return [
    `Installed VPC CNI: ${version ?? 'unknown (neither the aws-node image tag nor the helm.sh/chart label says)'}`,
    `Image registry: ${imageRegistry ?? 'unknown'}`,
  ];
}

/** The engine's notes name the construct's properties; this CLI's options where they differ. */
const OPTION_OF_PROPERTY: Record<string, string> = { deletePolicyEndpointCrd: '--delete-policy-endpoint-crd', handOver: '--hand-over' };

function inCliTerms(note: string): string {
  return note.replace(/\b(deletePolicyEndpointCrd|handOver)\b/g, (property) => OPTION_OF_PROPERTY[property]);
}

/** The plan; in a dry run, each write with what the API server said of it in the preflight. */
function planLines(result: RunResult): string {
  const plan = { ...result.plan, notes: result.plan.notes.map(inCliTerms) };
  return formatPlan(plan, result.dryRun ? result.preflight : []);
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
    lines.push(formatObservation(result.observation), ...installedLines(result));
  } else {
    // The per-object table is inspect's; an action shows whom it found, then what it writes.
    lines.push(`Owner: ${result.previousOwner.kind}: ${result.previousOwner.description}`, '', planLines(result));
    lines.push(outcomeLine(result, line.command));
  }
  lines.push('', ...notes(report), requestSummary(report.requests));
  return lines.join('\n');
}

/** What the action did, or (dry run) whether it would go through. */
function outcomeLine(result: RunResult, command: string): string {
  const refused = result.preflight.filter((p) => !p.accepted).length;
  if (result.dryRun && refused > 0) {
    return `Dry run: nothing was written. The API server would refuse ${refused} of ${result.plan.writes.length} writes, `
      + `so "${command}" would stop before its first write.`;
  }
  if (result.dryRun) return `Dry run: nothing was written. Run "${command}" without --dry-run to apply it.`;
  if (result.changed.length > 0) return `Changed ${result.changed.length} object${result.changed.length === 1 ? '' : 's'}: ${result.changed.join(', ')}`;
  return 'Changed nothing.';
}

/** A stable JSON document for scripts; present whatever the exit code. */
export function renderJson(report: Report): Record<string, unknown> {
  const { line, result, error } = report;
  const installed = result ? installedOf(result.observation) : {};
  return {
    command: line.command,
    addon: line.addon.name,
    action: line.action,
    dryRun: line.dryRun,
    ifOwnedByOthers: line.ifOwnedByOthers,
    context: report.context,
    server: report.server,
    exitCode: report.exitCode,
    // The EKS API's fact: true (--managed-addon, or the EKS API has it), false (the EKS API has none), null when unknown.
    managedAddon: report.addon?.managedAddon ?? (line.managedAddon ? true : null),
    managedAddonSource: report.addon?.source ?? (line.managedAddon ? 'flag' : 'unknown'),
    owner: result?.previousOwner,
    installedVersion: installed.version ?? null,
    imageRegistry: installed.imageRegistry ?? null,
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
      writes: result.plan.writes.map((w) => ({
        verb: w.verb,
        object: w.objectId,
        reason: w.reason,
        ...preflightJson(result.preflight.find((p) => p.objectId === w.objectId && p.verb === w.verb)),
      })),
      notes: result.plan.notes.map(inCliTerms),
      ...(result.plan.skipped ? { skipped: result.plan.skipped } : {}),
    },
    changed: result?.changed,
    requests: report.requests,
    notes: notes(report),
    ...(report.interrupted ? { interrupted: report.interrupted } : {}),
    ...(error ? { error: errorJson(error) } : {}),
  };
}

/** What the API server said of a write in the preflight (none when nothing was sent). */
function preflightJson(check: PreflightResult | undefined): Record<string, unknown> {
  if (!check) return {};
  return { preflight: { accepted: check.accepted, ...(check.refusal ? { refusal: check.refusal } : {}) } };
}

/** A real run the preflight stopped: each refused write on its own lines, and whose identity needs what. */
export function preflightRefusalText(e: PreflightRefusedError, context: string | undefined): string {
  return [
    `The API server refused ${e.refusals.length} of ${e.planned} planned writes in the preflight (each sent first with dryRun=All); nothing was changed.`,
    'Refused:',
    ...e.refusals.map((r) => `  ${r.verb} ${r.objectId}\n    ${r.refusal}`),
    `The writes are made as the user of context "${context}": grant it (or exempt it) what each refusal names; "the handler" is that user here.`,
  ].join('\n');
}

function errorJson(e: Error): Record<string, unknown> {
  const base = { kind: e.name.replace(/Error$/, ''), message: withoutUrlCredentials(e.message) };
  if (e instanceof OwnedByOthersError) return { ...base, owner: e.owner };
  if (e instanceof UnexpectedClusterStateError) return { ...base, problems: e.problems };
  if (e instanceof InterruptedError) return { ...base, signal: e.signal, done: [] };
  if (e instanceof PartialApplyError) {
    return { ...base, done: e.done, notDone: e.notDone, ...(e.cause instanceof InterruptedError ? { signal: e.cause.signal } : {}) };
  }
  if (e instanceof PreflightRefusedError || e instanceof DryRunRefusedError) return { ...base, refusals: e.refusals };
  return base;
}
