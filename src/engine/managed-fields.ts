/**
 * Server-side apply bookkeeping: `metadata.managedFields` entries and the field sets they own.
 * Pure functions; the engine uses them to hand fields to a new owner and to read which parts of a
 * live object somebody applied (as opposed to what the API server defaulted).
 */

export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string;
  fieldsType?: string;
  fieldsV1?: FieldSet;
  subresource?: string;
}

/**
 * A `FieldsV1` trie: keys like `f:metadata`, `k:{"name":"x"}`, `v:...`, `i:0`, `.`; leaves are `{}`.
 * An empty set owns the field itself; a non-empty one owns only its children, unless it holds `.`.
 */
export interface FieldSet { [key: string]: FieldSet }

/** The key FieldsV1 uses for "this field itself" inside a non-empty set. */
const SELF = '.';

/**
 * The union of two field sets. Where one side owns a field itself (an empty set, or one with `.`)
 * and the other owns children of it, the union owns both: the field itself is kept as `.`, since a
 * non-empty set without `.` would own the children only.
 */
export function unionFieldSets(a: FieldSet | undefined, b: FieldSet | undefined): FieldSet {
  if (a === undefined) return { ...b };
  if (b === undefined) return { ...a };
  const aKeys = Object.keys(a);
  const bKeys = Object.keys(b);
  if (aKeys.length === 0 && bKeys.length === 0) return {};
  const out: FieldSet = {};
  for (const key of new Set([...aKeys, ...bKeys])) {
    out[key] = key in a && key in b ? unionFieldSets(a[key], b[key]) : { ...(a[key] ?? b[key]) };
  }
  // A leaf on one side is ownership of the field itself: keep it in the now non-empty set.
  if (aKeys.length === 0 || bKeys.length === 0) out[SELF] = {};
  return out;
}

/**
 * How the API server keys managedFields entries: an Apply entry by manager and subresource (a
 * manager has one Apply entry whatever the API version it applied with); an Update entry by
 * manager, API version and subresource.
 */
export function entryKey(e: ManagedFieldsEntry): string {
  return e.operation === 'Apply'
    ? JSON.stringify(['Apply', e.manager, e.subresource ?? ''])
    : JSON.stringify(['Update', e.manager, e.apiVersion, e.subresource ?? '']);
}

/**
 * Hands every entry of the managers `from` to manager `to` as an Apply entry (keeping the
 * subresource), so that `to`'s next server-side apply owns those fields: it keeps the ones it
 * sets and removes the ones it stops setting. Entries that end up with the same key as the API
 * server counts them (see `entryKey`) are merged: field sets united, newest time kept. Entries
 * of other managers are returned unchanged.
 */
export function handOver(entries: readonly ManagedFieldsEntry[], from: readonly string[], to: string): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  const byKey = new Map<string, ManagedFieldsEntry>();
  for (const e of entries) {
    const entry = from.includes(e.manager ?? '') ? { ...e, manager: to, operation: 'Apply' } : e;
    if (entry.manager !== to) {
      out.push(entry);
      continue;
    }
    const key = entryKey(entry);
    const existing = byKey.get(key);
    if (!existing) {
      const copy = { ...entry };
      byKey.set(key, copy);
      out.push(copy);
      continue;
    }
    existing.fieldsV1 = unionFieldSets(existing.fieldsV1, entry.fieldsV1);
    if ((entry.time ?? '') > (existing.time ?? '')) existing.time = entry.time;
  }
  return out;
}

/** `manager/Operation` for each entry, for logs and tests. */
export function describeManagers(entries: readonly ManagedFieldsEntry[] = []): string[] {
  return entries.map((e) => `${e.manager}/${e.operation}${e.subresource ? `(${e.subresource})` : ''}`);
}

/** The union of the field sets of the entries that `include` selects (subresource entries never: they own status). */
export function fieldSetOf(entries: readonly ManagedFieldsEntry[], include: (e: ManagedFieldsEntry) => boolean): FieldSet {
  let set: FieldSet | undefined;
  for (const e of entries) {
    if (e.subresource || !include(e)) continue;
    set = set === undefined ? { ...e.fieldsV1 } : unionFieldSets(set, e.fieldsV1 ?? {});
  }
  return set ?? {};
}

/** The key of a field of a map or struct: `f:name`. */
export const fieldKey = (name: string) => `f:${name}`;

/** The key of an item of a list keyed by `name` (containers, env, volumes): `k:{"name":"x"}`. */
export const namedItemKey = (name: string) => `k:${JSON.stringify({ name })}`;

/**
 * Whether `set` owns the path (keys as they appear in FieldsV1): reaches it, or owns a field above
 * it as a leaf (an atomic map or list, such as a pod's nodeSelector, is owned whole).
 */
export function ownsPath(set: FieldSet, path: readonly string[]): boolean {
  let node: FieldSet = set;
  for (const [i, key] of path.entries()) {
    if (i > 0 && Object.keys(node).length === 0) return true;
    const next: FieldSet | undefined = node[key];
    if (next === undefined) return false;
    node = next;
  }
  return true;
}

/**
 * The part of `value` that `set` covers: what the managers of `set` wrote, without what nobody
 * manages (defaults the API server filled in). A leaf covers the whole value below it.
 */
export function project(value: unknown, set: FieldSet): unknown {
  const keys = Object.keys(set).filter((k) => k !== SELF);
  if (keys.length === 0 && Object.keys(set).length === 0) return value;
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    value.forEach((item, index) => {
      const covering = keys.filter((k) => itemMatches(k, item, index));
      if (covering.length === 0) return;
      out.push(project(item, covering.map((k) => set[k]).reduce((a, b) => unionFieldSets(a, b))));
    });
    return out;
  }
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of keys) {
      if (!key.startsWith('f:')) continue;
      const name = key.slice(2);
      if (name in (value as Record<string, unknown>)) out[name] = project((value as Record<string, unknown>)[name], set[key]);
    }
    return out;
  }
  return value;
}

/** Whether a list item is the one a `k:`, `v:` or `i:` key of FieldsV1 names. */
function itemMatches(key: string, item: unknown, index: number): boolean {
  if (key.startsWith('i:')) return Number(key.slice(2)) === index;
  if (key.startsWith('v:')) return deepEqual(JSON.parse(key.slice(2)), item);
  if (key.startsWith('k:')) {
    if (item === null || typeof item !== 'object') return false;
    const fields = JSON.parse(key.slice(2)) as Record<string, unknown>;
    return Object.entries(fields).every(([k, v]) => deepEqual((item as Record<string, unknown>)[k], v));
  }
  return false;
}

/** Structural equality of JSON values (key order does not matter). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const ak = Object.keys(a as object);
  const bk = Object.keys(b as object);
  return ak.length === bk.length && ak.every((k) => deepEqual((a as any)[k], (b as any)[k]));
}
