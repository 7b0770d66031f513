/**
 * What somebody applied to a live object, by its managedFields: the parts their field sets cover,
 * not the defaults the API server filled in; and whether a part is the install's (an applier's, a
 * handed-over manager's, ours) rather than an imperative addition on top. Every add-on's value
 * derivation reads objects through this.
 */
import { fieldKey, FieldSet, fieldSetOf, ownsPath, project } from '../engine/managed-fields';
import { managerRole } from '../engine/managers';
import { KubeObject } from '../engine/types';

export interface AppliedView {
  /** The live object, cut down to the fields any writer other than the system owns. */
  readonly applied: any;
  /** Whether the install (not an imperative edit) owns this field path (`['f:spec', 'f:replicas']`). */
  installed(path: readonly string[]): boolean;
}

/** `installers`: managers of imperative edits an adopt hands over, and the manager the install is handed to. */
export function appliedView(live: KubeObject, installers: readonly string[]): AppliedView {
  const entries = live.metadata.managedFields ?? [];
  // Objects written before managedFields existed (or stripped of them): take them as they are.
  if (entries.length === 0) return { applied: live, installed: () => true };
  const written: FieldSet = fieldSetOf(entries, (e) => managerRole(e) !== 'SYSTEM');
  // Our own writes count as the install's: we only ever add the disable key (left out by name), but
  // writing into an atomic map (nodeSelector) makes us the owner of all of it.
  const installer: FieldSet = fieldSetOf(entries, (e) => ['APPLIER', 'OURS'].includes(managerRole(e)) || installers.includes(e.manager ?? ''));
  return { applied: project(live, written), installed: (path) => ownsPath(installer, path) };
}

/** The entries of a map that the install wrote; the rest are customisations (noted). */
export function installedEntries(
  map: Record<string, string> | undefined, path: readonly string[], view: AppliedView, what: string, notes: string[],
  include: (key: string) => boolean = () => true,
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(map ?? {})) {
    if (!include(key)) continue;
    if (view.installed([...path, fieldKey(key)])) out[key] = value;
    else notes.push(`${what} ${key} was added by an imperative edit: kept as a customisation, not in the values`);
  }
  return out;
}

/** The registry part of an image reference (before the first `/`), when it names a host. */
export function registryOf(reference: string | undefined): string | undefined {
  const first = reference?.split('/')[0];
  return first && /[.:]/.test(first) ? first : undefined;
}
