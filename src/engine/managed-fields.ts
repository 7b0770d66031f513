/**
 * Server-side apply bookkeeping: `metadata.managedFields` entries and the field sets they own.
 * Pure functions; the engine uses them to hand the `eks` manager's fields to a new owner.
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

/** A `FieldsV1` trie: keys like `f:metadata`, `k:{"name":"x"}`, `v:...`, `.`; leaves are `{}`. */
export interface FieldSet { [key: string]: FieldSet }

/** The union of two field sets. */
export function unionFieldSets(a: FieldSet = {}, b: FieldSet = {}): FieldSet {
  const out: FieldSet = {};
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    out[key] = unionFieldSets(a[key], b[key]);
  }
  return out;
}

/** Entries that belong together: same manager, operation, API version and subresource. */
function entryKey(e: ManagedFieldsEntry): string {
  return JSON.stringify([e.manager, e.operation, e.apiVersion, e.subresource ?? '']);
}

/**
 * Hands every entry of the managers `from` to manager `to` as an Apply entry (keeping API version
 * and subresource), so that `to`'s next server-side apply owns those fields: it keeps the ones it
 * sets and removes the ones it stops setting. An entry `to` already has with the same key absorbs
 * it (field sets united, newest time kept). Entries of other managers are returned unchanged.
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
