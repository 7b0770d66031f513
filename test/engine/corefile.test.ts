/** The Corefile parser the CoreDNS values are derived with, and the comparison of two Corefiles by their directives. */
import { chartCorefile, corefileDirectives, parseCorefile } from '../../src/addons';
import { parseServerKey } from '../../src/addons/corefile';

const EKS = `.:53 {
    errors
    health {
        lameduck 5s
      }
    ready
    kubernetes cluster.local in-addr.arpa ip6.arpa {
      pods insecure
      fallthrough in-addr.arpa ip6.arpa
    }
    prometheus :9153
    forward . /etc/resolv.conf
    cache 30
    loop
    reload
    loadbalance
}
`;

test('EKS\'s Corefile: one server block, its directives with arguments and blocks', () => {
  const corefile = parseCorefile(EKS);
  expect(corefile.globals).toEqual([]);
  expect(corefile.servers).toHaveLength(1);
  expect(corefile.servers[0].keys).toEqual(['.:53']);
  expect(corefile.servers[0].directives.slice(0, 4)).toEqual([
    { name: 'errors', args: '' },
    { name: 'health', args: '', block: 'lameduck 5s' },
    { name: 'ready', args: '' },
    { name: 'kubernetes', args: 'cluster.local in-addr.arpa ip6.arpa', block: 'pods insecure\nfallthrough in-addr.arpa ip6.arpa' },
  ]);
});

test('quotes, placeholders, one-line blocks, nested blocks, comments, several keys, top-level imports', () => {
  const corefile = parseCorefile(`# managed by hand
import /etc/coredns/custom/*.override
example.org:5353 example.net:5353 {
    # answers for the lab
    template IN A example.org {
      match "^(.*)\\.example\\.org\\.$"
      answer "{{ .Name }} 60 IN A 10.0.0.1"
    }
    forward . {$UPSTREAM} { max_fails 3 }
    log
}
tls://secure.example:853 {
    tls /etc/tls/cert.pem /etc/tls/key.pem
    forward . 192.0.2.53
}
`);
  expect(corefile.comments).toBe(2);
  expect(corefile.globals).toEqual([{ name: 'import', args: '/etc/coredns/custom/*.override' }]);
  expect(corefile.servers[0].keys).toEqual(['example.org:5353', 'example.net:5353']);
  expect(corefile.servers[0].directives).toEqual([
    { name: 'template', args: 'IN A example.org', block: 'match "^(.*)\\.example\\.org\\.$"\nanswer "{{ .Name }} 60 IN A 10.0.0.1"' },
    { name: 'forward', args: '. {$UPSTREAM}', block: 'max_fails 3' },
    { name: 'log', args: '' },
  ]);
  expect(parseServerKey('tls://secure.example:853')).toEqual({ scheme: 'tls://', zone: 'secure.example', port: '853' });
  expect(parseServerKey('.')).toEqual({ scheme: '', zone: '.', port: '' });
});

test('snippets are recognised (the chart cannot render them); unbalanced braces are errors naming the line', () => {
  expect(parseCorefile('(common) {\n  errors\n}\n.:53 {\n  import common\n}\n').snippets).toEqual(['common']);
  expect(() => parseCorefile('.:53 {\n  errors\n')).toThrow(/Corefile line 1: the block of .:53 is not closed/);
  expect(() => parseCorefile('.:53 {\n  health {\n    lameduck 5s\n')).toThrow(/Corefile line 2: the block of health is not closed/);
  expect(() => parseCorefile('.:53 {\n  health {\n    lameduck 5s\n}\n')).toThrow(/Corefile line 1: the block of .:53 is not closed/);
  expect(() => parseCorefile('errors }\n')).toThrow(/Corefile line 1: a brace outside a server block/);
});

test('directives compare by what CoreDNS does: layout, comments, default scheme and port, a trailing dot do not count; a changed argument does', () => {
  const same = 'dns://.:53 {\n  # layout differs\n  errors\n  health {\n    lameduck 5s\n  }\n  ready\n  kubernetes cluster.local in-addr.arpa ip6.arpa {\n    pods insecure\n'
    + '    fallthrough in-addr.arpa ip6.arpa\n  }\n  prometheus :9153\n  forward . /etc/resolv.conf\n  cache 30\n  loop\n  reload\n  loadbalance\n}\n';
  expect(corefileDirectives(parseCorefile(same))).toEqual(corefileDirectives(parseCorefile(EKS)));
  expect(corefileDirectives(parseCorefile(EKS.replace('cache 30', 'cache 60')))).not.toEqual(corefileDirectives(parseCorefile(EKS)));
  expect(corefileDirectives(parseCorefile(EKS.replace('.:53', 'example.org:53')))).toEqual(corefileDirectives(parseCorefile(EKS.replace('.:53', 'example.org.'))));
});

test('chartCorefile: the layout the coredns chart renders from servers (checked against the real chart: docs/takeover.md)', () => {
  const text = chartCorefile({
    extraConfig: { import: { parameters: '/opt/*.conf' } },
    servers: [{ zones: [{ zone: '.', use_tcp: true }], port: 53, plugins: [{ name: 'errors' }, { name: 'health', configBlock: 'lameduck 5s' }, { name: 'cache', parameters: 30 }] }],
  });
  expect(text).toBe('import /opt/*.conf\n.:53 {\n    errors\n    health {\n        lameduck 5s\n    }\n    cache 30\n}');
});
