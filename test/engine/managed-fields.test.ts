import { entryKey, handOver, ManagedFieldsEntry, ownsPath, project, unionFieldSets } from '../../src/engine';

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

test('the API server keys Apply entries by manager and subresource: another API version merges, a subresource stays apart', () => {
  const status: ManagedFieldsEntry = { ...eks, operation: 'Update', subresource: 'status', fieldsV1: { 'f:status': {} } };
  const v1beta1: ManagedFieldsEntry = { ...eks, apiVersion: 'apps/v1beta1', fieldsV1: { 'f:spec': { 'f:minReadySeconds': {} } } };
  const out = handOver([eks, status, v1beta1], ['eks'], 'helm');
  expect(out.map((e) => [e.manager, e.operation, e.apiVersion, e.subresource])).toEqual([
    ['helm', 'Apply', 'apps/v1', undefined],
    ['helm', 'Apply', 'apps/v1', 'status'],
  ]);
  expect(out[0].fieldsV1).toEqual({ 'f:metadata': { 'f:labels': { 'f:k8s-app': {} } }, 'f:spec': { 'f:selector': {}, 'f:minReadySeconds': {} } });
  // Update entries stay keyed by API version too.
  expect(entryKey({ ...user, apiVersion: 'apps/v1' })).not.toBe(entryKey({ ...user, apiVersion: 'apps/v1beta1' }));
  expect(entryKey({ ...helm, apiVersion: 'apps/v1' })).toBe(entryKey({ ...helm, apiVersion: 'apps/v1beta1' }));
});

test('the union keeps ownership of a field itself: a leaf on one side and children on the other give "." and the children', () => {
  expect(unionFieldSets({ 'f:labels': {} }, { 'f:labels': { 'f:team': {} } })).toEqual({ 'f:labels': { '.': {}, 'f:team': {} } });
  expect(unionFieldSets({ 'f:labels': { 'f:team': {} } }, { 'f:labels': {} })).toEqual({ 'f:labels': { 'f:team': {}, '.': {} } });
  expect(unionFieldSets({ 'f:a': { '.': {}, 'f:b': {} } }, { 'f:a': { 'f:c': {} } })).toEqual({ 'f:a': { '.': {}, 'f:b': {}, 'f:c': {} } });
  expect(unionFieldSets({}, {})).toEqual({});
  // Handing over keeps it: the new owner then owns the labels map itself as well as the key.
  const labelsOwner: ManagedFieldsEntry = { ...helm, fieldsV1: { 'f:metadata': { 'f:labels': {} } } };
  expect(handOver([{ ...eks, fieldsV1: { 'f:metadata': { 'f:labels': { 'f:k8s-app': {} } } } }, labelsOwner], ['eks'], 'helm')[0].fieldsV1)
    .toEqual({ 'f:metadata': { 'f:labels': { '.': {}, 'f:k8s-app': {} } } });
});

test('project keeps what the field set covers: map keys, keyed list items, whole values under a leaf', () => {
  const live = {
    metadata: { name: 'aws-node', labels: { a: '1', b: '2' } },
    spec: {
      revisionHistoryLimit: 10,
      template: { spec: { containers: [{ name: 'aws-node', image: 'x', terminationMessagePath: '/dev/termination-log', env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }], tolerations: [{ operator: 'Exists' }] } },
    },
  };
  const set = {
    'f:metadata': { 'f:labels': { 'f:a': {} } },
    'f:spec': { 'f:template': { 'f:spec': { 'f:tolerations': {}, 'f:containers': { 'k:{"name":"aws-node"}': { '.': {}, 'f:name': {}, 'f:image': {}, 'f:env': { 'k:{"name":"B"}': { '.': {}, 'f:name': {}, 'f:value': {} } } } } } } },
  };
  expect(project(live, set)).toEqual({
    metadata: { labels: { a: '1' } },
    spec: { template: { spec: { tolerations: [{ operator: 'Exists' }], containers: [{ name: 'aws-node', image: 'x', env: [{ name: 'B', value: '2' }] }] } } },
  });
});

test('ownsPath: a path the set reaches, or one below a leaf (an atomic map is owned whole)', () => {
  const set = { 'f:spec': { 'f:nodeSelector': {}, 'f:env': { 'k:{"name":"A"}': { '.': {} } } } };
  expect(ownsPath(set, ['f:spec', 'f:nodeSelector', 'f:pool'])).toBe(true);
  expect(ownsPath(set, ['f:spec', 'f:env', 'k:{"name":"A"}'])).toBe(true);
  expect(ownsPath(set, ['f:spec', 'f:env', 'k:{"name":"B"}'])).toBe(false);
  expect(ownsPath(set, ['f:metadata'])).toBe(false);
});

test('does not change its input', () => {
  const input = [eks, helm];
  const copy = JSON.parse(JSON.stringify(input));
  handOver(input, ['eks'], 'helm');
  expect(input).toEqual(copy);
});
