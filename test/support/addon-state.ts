/**
 * An add-on's live objects for before/after comparisons in the real-API-server tests: every object
 * of a definition by id, and what an object runs as (what restore must give back).
 */
import { AddonDefinition, KubeClient, KubeObject, objectPath } from '../../src/engine';

/** Every object of the add-on as it is now (undefined where absent), by id. */
export async function snapshotOf(client: KubeClient, addon: AddonDefinition): Promise<Record<string, KubeObject | undefined>> {
  const out: Record<string, KubeObject | undefined> = {};
  for (const o of addon.objects) out[o.id] = await client.get<KubeObject>(objectPath(o));
  return out;
}

/** What restore must give back: the spec (and a ConfigMap's data, a binding's roleRef and subjects, a role's rules), labels, annotations. */
export function asRun(live: KubeObject | undefined) {
  if (!live) return undefined;
  const annotations = { ...live.metadata.annotations };
  delete annotations['deprecated.daemonset.template.generation'];
  delete annotations['deployment.kubernetes.io/revision'];
  return {
    labels: live.metadata.labels, annotations, spec: live.spec, data: live.data, roleRef: live.roleRef, subjects: live.subjects, rules: live.rules,
  };
}
