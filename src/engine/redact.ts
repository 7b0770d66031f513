/**
 * Every URL in `text` with its userinfo (`user:password@`) replaced by `…@`, so a message or log line
 * can name a proxy (or any URL) without its credentials. Up to the last `@` before a space or quote:
 * a password with an unencoded `/` or `@` (a URL the parser rejects) is cut out too.
 */
export function withoutUrlCredentials(text: string): string {
  return text.replace(/\b([a-z][a-z0-9+.-]*:\/\/)[^\s"'<>`]*@/gi, '$1…@');
}
