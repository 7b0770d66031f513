/**
 * Whether the admission policies that limit the handler are in force for it, seen the only way the
 * API server shows it: a write the policies always refuse (a dry-run patch of the probe ConfigMap,
 * which the handler's RBAC allows) is refused, with the policies' digest in the message. RBAC and
 * admission policies each take effect through their own informers, on their own schedules: until the
 * refusal is seen, the handler is not granted anything (the construct's order) and writes nothing
 * (the handler's own check).
 */
import { OWN_FIELD_MANAGER } from './helm';
import { KubeApiError, KubeClient } from './kube-client';
import { resourcePath } from './objects';

export interface PolicyProbeTarget {
  readonly namespace: string;
  readonly name: string;
  /** What the refusal's message contains when the expected policies are in force. */
  readonly marker: string;
}

/** What one probe saw. */
export type ProbeOutcome =
  /** Refused by the expected policies. */
  | 'IN_FORCE'
  /** The forbidden write was accepted: no policy holds the handler (yet). */
  | 'ACCEPTED'
  /** Refused, but not by the expected policies: by RBAC (its binding not loaded yet), or by older policies. */
  | 'REFUSED_OTHERWISE'
  /** The probe ConfigMap does not exist. */
  | 'NO_PROBE';

/** The policies were not seen in force in time: nothing was written. */
export class PolicyNotInForceError extends Error {
  constructor(readonly outcome: ProbeOutcome, readonly attempts: number, seconds: number, detail: string) {
    super(`The admission policies that limit the handler were not seen in force (${attempts} probe${attempts === 1 ? '' : 's'} in ${seconds} s; `
      + `last: ${describe(outcome)}${detail ? `: ${detail}` : ''}). Nothing was changed: the handler acts only once a write they forbid is refused. `
      + 'Check that the ValidatingAdmissionPolicies and their bindings the construct applies exist and are unchanged, and that '
      + 'the cluster runs Kubernetes 1.30 or later; then deploy again.');
    this.name = 'PolicyNotInForceError';
  }
}

function describe(outcome: ProbeOutcome): string {
  switch (outcome) {
    case 'ACCEPTED': return 'a dry-run write they forbid was ACCEPTED';
    case 'REFUSED_OTHERWISE': return 'refused, but not by these policies';
    case 'NO_PROBE': return 'the probe ConfigMap is missing';
    case 'IN_FORCE': return 'in force';
  }
}

/** One probe: a dry-run merge patch of a label on the probe ConfigMap. */
export async function probePolicies(client: KubeClient, target: PolicyProbeTarget): Promise<{ outcome: ProbeOutcome; detail: string }> {
  const path = resourcePath('v1', 'configmaps', target.namespace, target.name);
  try {
    await client.patch(path, { metadata: { labels: { 'cdk-vpc-cni-ownership/probe': 'x' } } }, OWN_FIELD_MANAGER, { dryRun: true });
    return { outcome: 'ACCEPTED', detail: '' };
  } catch (e) {
    if (!(e instanceof KubeApiError)) throw e;
    if (e.status === 404) return { outcome: 'NO_PROBE', detail: `${target.namespace}/${target.name}` };
    if (e.status === 403 && e.detail.includes(target.marker)) return { outcome: 'IN_FORCE', detail: '' };
    if (e.status === 403 || e.status === 422) return { outcome: 'REFUSED_OTHERWISE', detail: e.detail.slice(0, 300) };
    throw e;
  }
}

export interface WaitOptions {
  /** How long to keep probing. */
  readonly timeoutMs: number;
  /** Between probes. Default 250 ms. */
  readonly intervalMs?: number;
  readonly log?: (event: { step: string; [key: string]: unknown }) => void;
}

/** Probes until the policies are in force; fails closed (PolicyNotInForceError) when time runs out. */
export async function waitForPoliciesInForce(client: KubeClient, target: PolicyProbeTarget, options: WaitOptions): Promise<number> {
  const started = Date.now();
  const interval = options.intervalMs ?? 250;
  for (let attempt = 1; ; attempt++) {
    const { outcome, detail } = await probePolicies(client, target);
    if (outcome === 'IN_FORCE') {
      options.log?.({ step: 'policies', inForce: true, attempts: attempt, ms: Date.now() - started });
      return attempt;
    }
    if (attempt === 1 || outcome === 'ACCEPTED') options.log?.({ step: 'policies', inForce: false, outcome, attempt });
    if (Date.now() - started + interval > options.timeoutMs) {
      throw new PolicyNotInForceError(outcome, attempt, Math.round((Date.now() - started) / 1000), detail);
    }
    await new Promise((r) => setTimeout(r, interval));
  }
}
