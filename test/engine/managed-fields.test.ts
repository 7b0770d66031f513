import { handOver, ManagedFieldsEntry, unionFieldSets } from '../../src/engine';

const eks: ManagedFieldsEntry = {
  manager: 'eks',
  operation: 'Apply',
  apiVersion: 'apps/v1',
  time: '2026-01-01T00:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:metadata': { 'f:labels': { 'f:k8s-app': {} } }, 'f:spec': { 'f:selector': {} } },
};
const helm: ManagedFieldsEntry = {
  manager: 'helm',
  operation: 'Apply',
  apiVersion: 'apps/v1',
  time: '2026-02-01T00:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:metadata': { 'f:annotations': { 'f:meta.helm.sh/release-name': {} } } },
};
const user: ManagedFieldsEntry = {
  manager: 'kubectl-set',
  operation: 'Update',
  apiVersion: 'apps/v1',
  time: '2026-03-01T00:00:00Z',
  fieldsType: 'FieldsV1',
  fieldsV1: { 'f:spec': { 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"aws-node"}': { 'f:env': { 'k:{"name":"X"}': { '.': {}, 'f:name': {} } } } } } } } },
};

test('unionFieldSets unites nested sets', () => {
  expect(unionFieldSets({ 'f:a': { 'f:b': {} } }, { 'f:a': { 'f:c': {} }, 'f:d': {} }))
    .toEqual({ 'f:a': { 'f:b': {}, 'f:c': {} }, 'f:d': {} });
});

test('an eks entry becomes the new manager\'s Apply entry; other managers are untouched', () => {
  expect(handOver([eks, user], ['eks'], 'argocd-controller')).toEqual([
    { ...eks, manager: 'argocd-controller' },
    user,
  ]);
});

test('merges into an existing entry of the new manager with the same operation and version, keeping the newest time', () => {
  const out = handOver([eks, helm, user], ['eks'], 'helm');
  expect(out).toHaveLength(2);
  expect(out[0]).toEqual({
    ...eks,
    manager: 'helm',
    time: helm.time,
    fieldsV1: { 'f:metadata': { 'f:labels': { 'f:k8s-app': {} }, 'f:annotations': { 'f:meta.helm.sh/release-name': {} } }, 'f:spec': { 'f:selector': {} } },
  });
  expect(out[1]).toBe(user);
});

test('entries of another version or subresource stay separate; an Update entry of the installer becomes Apply', () => {
  const status: ManagedFieldsEntry = { ...eks, operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': {} } };
  const v1beta1: ManagedFieldsEntry = { ...eks, apiVersion: 'apps/v1beta1' };
  const out = handOver([eks, status, v1beta1], ['eks'], 'helm');
  expect(out.map((e) => [e.manager, e.operation, e.apiVersion, e.subresource])).toEqual([
    ['helm', 'Apply', 'apps/v1', undefined],
    ['helm', 'Apply', 'apps/v1', 'status'],
    ['helm', 'Apply', 'apps/v1beta1', undefined],
  ]);
});

test('does not change its input', () => {
  const input = [eks, helm];
  const copy = JSON.parse(JSON.stringify(input));
  handOver(input, ['eks'], 'helm');
  expect(input).toEqual(copy);
});
