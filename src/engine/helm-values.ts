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
