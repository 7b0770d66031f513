import { Observation, Plan, PreflightResult } from './types';

/** A fixed-width table; the last column may be long. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]))).join('  ')).join('\n');
}

/** The owner, then one row per object of the add-on: present, owner, field managers; then the recovery copy. */
export function formatObservation(observation: Observation): string {
  const rows = [['OBJECT', 'OWNER', 'FIELD MANAGERS']];
  for (const s of observation.objects) {
    const extra = s.customResources === undefined ? '' : ` (${s.customResources} custom resources)`;
    const owner = s.live?.metadata.deletionTimestamp ? `${s.owner.kind} (being deleted)` : s.owner.kind;
    rows.push([s.object.id, owner, (s.managers.join(', ') || '-') + extra]);
  }
  const copy = observation.recoveryCopy;
  const problems = [...observation.objects.flatMap((s) => s.problems), ...copy?.problems ?? []];
  return [
    `Owner: ${observation.owner.kind}: ${observation.owner.description}`,
    table(rows),
    ...copy ? [`Recovery copy: ${copy.id} keeps ${copy.objects.map((o) => o.id).join(', ') || 'nothing'} (restore re-creates what is absent)`] : [],
    ...problems.map((p) => `PROBLEM: ${p}`),
  ].join('\n');
}

/**
 * One line per write with its reason (and, given the preflight, what the API server said of it);
 * notes; or why nothing is to be done.
 */
export function formatPlan(plan: Plan, preflight: readonly PreflightResult[] = []): string {
  const lines = plan.writes.flatMap((w, i) => {
    const check = preflight.find((p) => p.objectId === w.objectId && p.verb === w.verb);
    const answer = !check ? [] : [check.accepted ? '   accepted by the API server' : `   REFUSED by the API server: ${check.refusal}`];
    return [`${i + 1}. ${w.verb} ${w.objectId}: ${w.reason}`, ...answer];
  });
  if (plan.skipped) lines.push(`Skipped: ${plan.skipped}`);
  else if (plan.writes.length === 0) lines.push('Nothing to do: the cluster is already there.');
  lines.push(...plan.notes.map((n) => `Note: ${n}`));
  return `Plan for ${plan.action.type}:\n${lines.join('\n')}`;
}
