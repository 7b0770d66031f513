/**
 * Kubernetes lets only a writer that holds every rule of a role create or change a binding to it
 * (RBAC's escalation check). The rules the handler holds for kube-proxy's binding must therefore
 * cover the REAL API server's own system:node-proxier, rule by rule.
 */
import { KUBE_PROXY } from '../../src/addons';
import { KubeClient, PolicyRule } from '../../src/engine';
import { connection } from '../support/cluster';

const admin = new KubeClient(connection());
afterAll(() => admin.close());

/** Every (apiGroup, resource, verb) a list of rules grants. */
function grants(rules: readonly PolicyRule[]): Set<string> {
  const out = new Set<string>();
  for (const r of rules) {
    for (const g of r.apiGroups ?? []) for (const res of r.resources ?? []) for (const v of r.verbs) out.add(`${g}/${res}/${v}`);
  }
  return out;
}

test('kube-proxy: the held rules cover every rule of the API server\'s system:node-proxier, which the handler never writes', async () => {
  const role = await admin.get<{ rules: PolicyRule[] }>(`/apis/rbac.authorization.k8s.io/v1/clusterroles/${KUBE_PROXY.neverTouch[0].name}`);
  expect(role).toBeDefined();
  const live = grants(role!.rules);
  expect(live.size).toBeGreaterThan(5);
  const held = grants(KUBE_PROXY.bindingRoleRules);
  expect([...live].filter((g) => !held.has(g))).toEqual([]);
});
