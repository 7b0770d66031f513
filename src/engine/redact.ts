/**
 * Every URL in `text` with its userinfo (`user:password@`) replaced by `…@`, so a message or log line
 * can name a proxy (or any URL) without its credentials. Up to the last `@` before a space or quote:
 * a password with an unencoded `/` or `@` (a URL the parser rejects) is cut out too.
 */
export function withoutUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s"'<>`]*@/gi, '$1…@');
}

/**
 * The dotted paths of the string values in `values` that hold a URL with userinfo (credentials), e.g.
 * `env.HTTPS_PROXY`; the values themselves are never returned.
 */
export function pathsWithUrlCredentials(values: unknown, at: readonly string[] = []): string[] {
  if (typeof values === 'string') return values !== withoutUrlCredentials(values) ? [at.join('.')] : [];
  if (Array.isArray(values)) return values.flatMap((v, i) => pathsWithUrlCredentials(v, [...at, String(i)]));
  if (values && typeof values === 'object') return Object.entries(values).flatMap(([k, v]) => pathsWithUrlCredentials(v, [...at, k]));
  return [];
}
