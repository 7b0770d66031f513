/** Helm values: a nested map, as `helm install --values` takes it. */
export type HelmValues = { [key: string]: any };

/**
 * `override` over `base`: nested plain maps are merged, anything else (lists, scalars, null, tokens)
 * replaces, as Helm does with two values files.
 */
export function mergeValues(base: HelmValues, override: HelmValues): HelmValues {
  const merged: HelmValues = { ...base };
  for (const [key, value] of Object.entries(override)) {
    merged[key] = isPlainMap(merged[key]) && isPlainMap(value) ? mergeValues(merged[key], value) : value;
  }
  return merged;
}

export function isPlainMap(value: unknown): value is HelmValues {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

/** The value at a dotted path (`image.tag`), or undefined. */
export function valueAt(values: HelmValues, path: string): unknown {
  return path.split('.').reduce<any>((node, key) => (isPlainMap(node) ? node[key] : undefined), values);
}

/** Sets `value` at a dotted path, creating maps on the way. */
export function setAt(values: HelmValues, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = values;
  for (const key of keys.slice(0, -1)) {
    if (!isPlainMap(node[key])) node[key] = {};
    node = node[key];
  }
  node[keys[keys.length - 1]] = value;
}

/**
 * The user's values merged over the derived ones (as Helm merges two values files), then the fixed
 * paths set back to their derived value: what must not change wins over what the user asked.
 */
export function valuesWithFixed(derived: HelmValues, user: HelmValues, fixedPaths: readonly string[]): HelmValues {
  const merged = JSON.parse(JSON.stringify(mergeValues(derived, user)));
  for (const path of fixedPaths) {
    const value = valueAt(derived, path);
    if (value !== undefined) setAt(merged, path, value);
  }
  return merged;
}
