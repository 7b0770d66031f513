/**
 * CoreDNS's Corefile (the Caddyfile syntax): server blocks (keys such as `.:53` or
 * `tls://example.org:853`, then `{`), each a list of plugin directives (a name, arguments, and an
 * optional block), top-level lines outside any block (`import`), and snippets (`(name) { … }`).
 * Parsed to carry a running Corefile into the coredns chart's `servers` values, and to compare two
 * Corefiles by their directives (whitespace and comments aside). Pure; no CoreDNS code.
 */

/** One plugin directive: `kubernetes cluster.local in-addr.arpa { pods insecure }`. */
export interface CorefileDirective {
  readonly name: string;
  /** The arguments as written (quotes kept), one space apart. */
  readonly args: string;
  /** The block's lines as written, indentation made relative; undefined without a block. */
  readonly block?: string;
}

/** One server block: its keys and its directives. */
export interface CorefileServer {
  readonly keys: readonly string[];
  readonly directives: readonly CorefileDirective[];
}

export interface Corefile {
  /** Lines outside any block (e.g. `import /etc/coredns/custom/*.server`). */
  readonly globals: readonly CorefileDirective[];
  readonly servers: readonly CorefileServer[];
  /** Names of snippets defined with `(name) { … }`. */
  readonly snippets: readonly string[];
  /** Comment lines at the top level or between directives (comments inside a directive's block stay in its block). */
  readonly comments: number;
}

/** A key split the way CoreDNS reads it: `dns://.:53` → scheme `dns://`, zone `.`, port `53`. */
export interface ServerKey {
  /** As written (empty: none). */
  readonly scheme: string;
  readonly zone: string;
  /** As written (empty: the scheme's default). */
  readonly port: string;
}

export class CorefileSyntaxError extends Error {
  constructor(line: number, message: string) {
    super(`Corefile line ${line}: ${message}`);
    this.name = 'CorefileSyntaxError';
  }
}

interface Line {
  readonly number: number;
  readonly text: string;
  readonly tokens: readonly string[];
}

/** Splits one line into tokens: whitespace-separated, "quoted" and `backquoted` strings kept whole, a # token starts a comment. */
function tokenize(text: string): string[] {
  const tokens: string[] = [];
  let i = 0;
  while (i < text.length) {
    if (/\s/.test(text[i])) {
      i++;
      continue;
    }
    if (text[i] === '#') break;
    let token = '';
    while (i < text.length && !/\s/.test(text[i])) {
      const quote = text[i];
      if (quote === '"' || quote === '`') {
        token += text[i++];
        while (i < text.length && text[i] !== quote) {
          if (quote === '"' && text[i] === '\\' && i + 1 < text.length) token += text[i++];
          token += text[i++];
        }
        if (i < text.length) token += text[i++];
      } else {
        token += text[i++];
      }
    }
    tokens.push(token);
  }
  return tokens;
}

/** The lines of a block, dedented by their common indentation, blank lines at either end left out. */
function dedent(lines: readonly string[]): string {
  const trimmed = lines.map((l) => l.replace(/\s+$/, ''));
  while (trimmed.length > 0 && trimmed[0] === '') trimmed.shift();
  while (trimmed.length > 0 && trimmed[trimmed.length - 1] === '') trimmed.pop();
  const indents = trimmed.filter((l) => l !== '').map((l) => /^\s*/.exec(l)![0].length);
  const common = indents.length > 0 ? Math.min(...indents) : 0;
  return trimmed.map((l) => l.slice(common)).join('\n');
}

/** Net brace depth a line's tokens open (`{` +1, `}` -1); braces inside a token (`{$ENV}`) do not count. */
const depthOf = (tokens: readonly string[]) => tokens.filter((t) => t === '{').length - tokens.filter((t) => t === '}').length;

export function parseCorefile(text: string): Corefile {
  const lines: Line[] = text.split('\n').map((t, i) => ({ number: i + 1, text: t, tokens: tokenize(t) }));
  const globals: CorefileDirective[] = [];
  const servers: CorefileServer[] = [];
  const snippets: string[] = [];
  let comments = 0;
  let i = 0;

  /** A directive on `lines[i]`, with its block if it opens one; moves `i` past it. */
  const directive = (line: Line): CorefileDirective => {
    const tokens = line.tokens;
    const opens = tokens.indexOf('{');
    if (opens < 0) {
      i++;
      return { name: tokens[0], args: tokens.slice(1).join(' ') };
    }
    const head = tokens.slice(0, opens);
    if (head.length === 0) throw new CorefileSyntaxError(line.number, 'a block without a directive');
    const rest = tokens.slice(opens + 1);
    if (depthOf(tokens) === 0 && rest[rest.length - 1] === '}') {
      // The whole block on one line: `health { lameduck 5s }`.
      i++;
      return { name: head[0], args: head.slice(1).join(' '), block: rest.slice(0, -1).join(' ') };
    }
    if (rest.length > 0) throw new CorefileSyntaxError(line.number, `text after "{" of ${head[0]}`);
    let depth = 1;
    const body: string[] = [];
    i++;
    for (; i < lines.length; i++) {
      const inner = lines[i];
      depth += depthOf(inner.tokens);
      if (depth === 0) {
        if (inner.tokens.length !== 1) throw new CorefileSyntaxError(inner.number, `text next to the "}" that closes ${head[0]}`);
        i++;
        return { name: head[0], args: head.slice(1).join(' '), block: dedent(body) };
      }
      body.push(inner.text);
    }
    throw new CorefileSyntaxError(line.number, `the block of ${head[0]} is not closed`);
  };

  while (i < lines.length) {
    const line = lines[i];
    if (line.tokens.length === 0) {
      if (line.text.trim().startsWith('#')) comments++;
      i++;
      continue;
    }
    const tokens = line.tokens;
    if (tokens[tokens.length - 1] !== '{') {
      if (tokens.includes('{') || tokens.includes('}')) throw new CorefileSyntaxError(line.number, 'a brace outside a server block');
      globals.push(directive(line));
      continue;
    }
    const keys = tokens.slice(0, -1).flatMap((k) => k.split(',')).filter((k) => k !== '');
    if (keys.length === 0) throw new CorefileSyntaxError(line.number, 'a server block without keys');
    const snippet = keys.length === 1 && /^\(.+\)$/.exec(keys[0]);
    const directives: CorefileDirective[] = [];
    i++;
    for (; ;) {
      if (i >= lines.length) throw new CorefileSyntaxError(line.number, `the block of ${keys.join(' ')} is not closed`);
      const inner = lines[i];
      if (inner.tokens.length === 0) {
        if (inner.text.trim().startsWith('#')) comments++;
        i++;
        continue;
      }
      if (inner.tokens[0] === '}') {
        if (inner.tokens.length !== 1) throw new CorefileSyntaxError(inner.number, 'text after the "}" that closes a server block');
        i++;
        break;
      }
      directives.push(directive(inner));
    }
    if (snippet) snippets.push(keys[0].slice(1, -1));
    else servers.push({ keys, directives });
  }
  return { globals, servers, snippets, comments };
}

/** `[scheme://]zone[:port]`; an IPv6 reverse zone or a CIDR keeps its colons only inside the zone when no port follows. */
export function parseServerKey(key: string): ServerKey {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(key)?.[0] ?? '';
  const rest = key.slice(scheme.length);
  const port = /:(\d+)$/.exec(rest);
  return { scheme, zone: port ? rest.slice(0, port.index) : rest, port: port?.[1] ?? '' };
}

const DEFAULT_PORTS: Record<string, string> = { 'dns://': '53', 'tls://': '853', 'grpc://': '443', 'https://': '443', 'quic://': '853' };

/** A key as CoreDNS serves it: scheme and port spelled out, the zone fully qualified and lower case. */
function normalizedKey(key: string): string {
  const { scheme, zone, port } = parseServerKey(key);
  const s = (scheme || 'dns://').toLowerCase();
  const z = zone === '' ? '.' : zone.toLowerCase().replace(/\.?$/, '.');
  return `${s}${z}:${port || DEFAULT_PORTS[s] || '53'}`;
}

/** A block's directives as token lines, comments and layout aside. */
function blockTokens(block: string | undefined): string[][] | undefined {
  if (block === undefined) return undefined;
  return block.split('\n').map(tokenize).filter((t) => t.length > 0);
}

/**
 * What a Corefile makes CoreDNS do, for comparison: its top-level lines, and per server block its
 * keys as CoreDNS reads them and its directives with their arguments and blocks (as tokens).
 * Whitespace, comments and the spelling of default schemes and ports do not count.
 */
export function corefileDirectives(corefile: Corefile): unknown {
  return {
    globals: corefile.globals.map((d) => [d.name, ...tokenize(d.args)]),
    snippets: [...corefile.snippets],
    servers: corefile.servers.map((s) => ({
      keys: s.keys.map(normalizedKey),
      directives: s.directives.map((d) => ({ name: d.name, args: tokenize(d.args), block: blockTokens(d.block) })),
    })),
  };
}
