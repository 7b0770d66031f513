/**
 * Table-driven cluster histories of one add-on, on the real API server: for each history (how its
 * objects came to be), who owns it, and what adopt, remove and disable do: refused with nothing
 * written, or exactly these objects changed (adopted with Helm's metadata and no "eks" field left;
 * removed after a recovery copy; disabled), and converged (the same action again writes nothing).
 */
import { snapshotOf } from './addon-state';
import { Action, AddonDefinition, KubeClient, KubeObject, objectPath, OwnedByOthersError, OwnerKind, recoveryCopyObject, run, RunResult } from '../../src/engine';

export type Outcome = 'REFUSED' | { readonly changed: readonly string[] };

export interface AddonHistory {
  readonly name: string;
  /** Makes the cluster's state, with the real kubectl and helm. */
  readonly make: () => unknown;
  /** The EKS API reports the add-on as a managed add-on. */
  readonly managedAddon?: boolean;
  readonly owner: OwnerKind;
  readonly ownerDescription?: RegExp;
  readonly adopt: Outcome;
  readonly remove: Outcome;
  readonly disable: Outcome;
}

export interface HistoryOptions {
  readonly admin: KubeClient;
  readonly addon: AddonDefinition;
  /** Every object of the add-on gone, before each history is made. */
  readonly reset: () => Promise<void>;
  readonly adopt: Extract<Action, { type: 'ADOPT' }>;
  /** More checks after an action that changed objects (`before`: the objects before it). */
  readonly after?: (action: 'adopt' | 'remove' | 'disable', before: Record<string, KubeObject | undefined>, changed: readonly string[]) => Promise<void>;
}

export function describeHistories(histories: readonly AddonHistory[], options: HistoryOptions): void {
  const { admin, addon } = options;
  const copy = recoveryCopyObject(addon);
  const actions: Record<'adopt' | 'remove' | 'disable', Action> = {
    adopt: options.adopt,
    remove: { type: 'REMOVE', crdPolicy: 'KEEP' },
    disable: { type: 'DISABLE' },
  };
  const snapshot = () => snapshotOf(admin, addon);

  describe.each(histories.map((h) => [h.name, h]))(`${addon.title} history: %s`, (_name, history) => {
    const engine = (action: Action, extra: { dryRun?: boolean; ifOwnedByOthers?: 'TAKE_OVER' } = {}) =>
      run(admin, { addon, action, facts: { managedAddon: history.managedAddon }, ...extra });

    beforeEach(async () => {
      await options.reset();
      await history.make();
    });

    test('owner (an adopt that reads Helm\'s release records)', async () => {
      const { previousOwner } = await engine({ ...options.adopt, readReleaseRecords: true }, { dryRun: true, ifOwnedByOthers: 'TAKE_OVER' });
      expect(previousOwner.kind).toBe(history.owner);
      if (history.ownerDescription) expect(previousOwner.description).toMatch(history.ownerDescription);
    });

    test('owner without reading Helm\'s release records (the handler\'s default): a release is known by its annotations only', async () => {
      const { previousOwner } = await engine(options.adopt, { dryRun: true, ifOwnedByOthers: 'TAKE_OVER' });
      expect(previousOwner.kind).toBe(['HELM_RELEASE', 'HELM_ADOPTED'].includes(history.owner) ? 'HELM_ANNOTATED' : history.owner);
    });

    test.each(Object.keys(actions).map((a) => [a]))('%s', async (name) => {
      const key = name as keyof typeof actions;
      const outcome = history[key];
      const before = await snapshot();
      if (outcome === 'REFUSED') {
        const error = await engine(actions[key]).then(() => undefined, (e) => e);
        expect(error).toBeInstanceOf(OwnedByOthersError);
        // What was seen, and which option overrides it.
        expect(error.message).toMatch(new RegExp(`Refusing to ${name} ${addon.title}: it is owned by .*TAKE_OVER`));
        expect(await snapshot()).toEqual(before);
        expect(await admin.get(objectPath(copy))).toBeUndefined();
        return;
      }
      const result: RunResult = await engine(actions[key]);
      expect(result.changed).toEqual(outcome.changed);
      if (outcome.changed.length > 0) {
        const after = await snapshot();
        if (key === 'adopt') {
          for (const id of outcome.changed) {
            expect(after[id]!.metadata.annotations?.['meta.helm.sh/release-name']).toBe(options.adopt.releaseName);
            expect((after[id]!.metadata.managedFields ?? []).map((m) => m.manager)).not.toContain('eks');
          }
        }
        if (key === 'remove') {
          expect(result.recoveryCopy).toBe(copy.id);
          for (const id of outcome.changed) expect(after[id]).toBeUndefined();
        }
        await options.after?.(key, before, outcome.changed);
      }
      // Converged: the same action again writes nothing.
      expect((await engine(actions[key])).plan.writes).toEqual([]);
    });
  });
}
