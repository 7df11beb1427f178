import { test } from 'node:test';
import assert from 'node:assert/strict';
import { acceptsGzip, negotiate, parseAccept } from '../../src/exposition/negotiate.ts';

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const PROTO = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
const OM1 = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
const OM0 = 'application/openmetrics-text; version=0.0.1; charset=utf-8';
const PB_ACCEPT = 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited';

// Accept headers as Prometheus sends them (scrape/scrape.go acceptHeader and
// config.DefaultScrapeProtocols / DefaultProtoFirstScrapeProtocols).
const PROM_2_42 = 'application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1';
const PROM_2_49 = 'application/openmetrics-text;version=1.0.0;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
const PROM_2_49_NATIVE = `${PB_ACCEPT};q=0.5,application/openmetrics-text;version=1.0.0;q=0.4,application/openmetrics-text;version=0.0.1;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1`;
const PROM_3_0 = 'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1';
const PROM_3_0_NATIVE = `${PB_ACCEPT};q=0.6,${PROM_3_0}`;
const PROM_3_UNDERSCORES = 'application/openmetrics-text;version=1.0.0;escaping=underscores;q=0.6,application/openmetrics-text;version=0.0.1;q=0.5,text/plain;version=1.0.0;escaping=underscores;q=0.4,text/plain;version=0.0.4;q=0.3,*/*;q=0.2';
const PROM_3_3 = 'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.6,application/openmetrics-text;version=0.0.1;escaping=allow-utf-8;q=0.5,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.4,text/plain;version=0.0.4;escaping=allow-utf-8;q=0.3,*/*;q=0.2';
const BROWSER = 'text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,*/*;q=0.8';

type Row = readonly [label: string, accept: string | undefined, upstream: string, withOpenMetrics: string];

// upstream: what kata-monitor (expfmt.Negotiate, v0.62) answers;
// withOpenMetrics: our opt-in (expfmt.NegotiateIncludingOpenMetrics).
const TABLE: readonly Row[] = [
  ['no Accept header', undefined, `${TEXT}; escaping=underscores`, `${TEXT}; escaping=underscores`],
  ['empty Accept header', '', `${TEXT}; escaping=underscores`, `${TEXT}; escaping=underscores`],
  ['curl */*', '*/*', `${TEXT}; escaping=underscores`, `${TEXT}; escaping=underscores`],
  ['browser', BROWSER, `${TEXT}; escaping=underscores`, `${TEXT}; escaping=underscores`],
  ['Prometheus 2.42', PROM_2_42, `${TEXT}; escaping=underscores`, `${OM1}; escaping=underscores`],
  ['Prometheus 2.49-2.55 default', PROM_2_49, `${TEXT}; escaping=underscores`, `${OM1}; escaping=underscores`],
  ['Prometheus 2.49-2.55 native histograms', PROM_2_49_NATIVE, `${PROTO}; escaping=underscores`, `${PROTO}; escaping=underscores`],
  // Upstream echoes the escaping that Prometheus 3 asked for on the entries it passed over.
  ['Prometheus 3.0', PROM_3_0, `${TEXT}; escaping=allow-utf-8`, `${OM1}; escaping=allow-utf-8`],
  ['Prometheus 3.0 native histograms', PROM_3_0_NATIVE, `${PROTO}; escaping=underscores`, `${PROTO}; escaping=underscores`],
  ['Prometheus 3.x, underscores', PROM_3_UNDERSCORES, `${TEXT}; escaping=underscores`, `${OM1}; escaping=underscores`],
  ['Prometheus 3.3', PROM_3_3, `${TEXT}; escaping=allow-utf-8`, `${OM1}; escaping=allow-utf-8`],
  ['protobuf alone', PB_ACCEPT, `${PROTO}; escaping=underscores`, `${PROTO}; escaping=underscores`],
  ['protobuf with spaces, as expfmt writes it', PROTO, `${PROTO}; escaping=underscores`, `${PROTO}; escaping=underscores`],
  ['protobuf text encoding is not served', `${PB_ACCEPT.replace('delimited', 'text')},text/plain;q=0.1`, `${TEXT}; escaping=underscores`, `${TEXT}; escaping=underscores`],
  ['protobuf without proto=', 'application/vnd.google.protobuf;encoding=delimited', `${TEXT}; escaping=underscores`, `${TEXT}; escaping=underscores`],
  ['text/plain version 1.0.0 only', 'text/plain;version=1.0.0', `${TEXT}; escaping=underscores`, `${TEXT}; escaping=underscores`],
  ['bare openmetrics → 0.0.1', 'application/openmetrics-text', `${TEXT}; escaping=underscores`, `${OM0}; escaping=underscores`],
  ['openmetrics 0.0.1 first', 'application/openmetrics-text;version=0.0.1,text/plain;q=0.5', `${TEXT}; escaping=underscores`, `${OM0}; escaping=underscores`],
  ['unknown escaping is ignored', 'text/plain;escaping=klingon', `${TEXT}; escaping=underscores`, `${TEXT}; escaping=underscores`],
  ['escaping=dots on the match', 'text/plain;version=0.0.4;escaping=dots', `${TEXT}; escaping=dots`, `${TEXT}; escaping=dots`],
  ['escaping on an entry after the match is not seen', 'text/plain,application/json;escaping=values;q=0.5', `${TEXT}; escaping=underscores`, `${TEXT}; escaping=underscores`],
  ['text preferred over protobuf by q', `text/plain;q=0.9,${PB_ACCEPT};q=0.5`, `${TEXT}; escaping=underscores`, `${TEXT}; escaping=underscores`],
  ['q order beats header order', `text/plain;q=0.2,${PB_ACCEPT};q=0.5`, `${PROTO}; escaping=underscores`, `${PROTO}; escaping=underscores`],
];

test('negotiation table: real scraper, curl and browser Accept headers', () => {
  for (const [label, accept, upstream, withOm] of TABLE) {
    const plain = negotiate(accept, { openMetrics: false });
    assert.equal(plain.contentType, upstream, label);
    assert.equal(plain.format, upstream.startsWith('application/vnd') ? 'protobuf' : 'text', label);
    const om = negotiate(accept, { openMetrics: true });
    assert.equal(om.contentType, withOm, `${label} (openMetrics)`);
    assert.equal(
      om.format,
      withOm.startsWith('application/vnd') ? 'protobuf' : withOm.startsWith('application/openmetrics') ? 'openmetrics' : 'text',
      label,
    );
  }
});

test('without the opt-in OpenMetrics is never chosen, even when it is all the client asks for', () => {
  assert.equal(negotiate('application/openmetrics-text;version=1.0.0', { openMetrics: false }).format, 'text');
});

test('goautoneg ordering: q descending, stable, and a concrete type outranks */* whatever the q', () => {
  const order = (h: string): string[] => parseAccept(h).map((a) => `${a.type}/${a.subtype}`);
  assert.deepEqual(order('a/x;q=0.1,b/y;q=0.9,c/z;q=0.9'), ['b/y', 'c/z', 'a/x']);
  assert.deepEqual(order('*/*;q=0.9,text/plain;q=0.1'), ['text/plain', '*/*']);
  assert.deepEqual(order('text/*;q=0.9,text/plain;q=0.1'), ['text/plain', 'text/*']);
});

test('goautoneg parsing: q as float32, bad q is 0, params trimmed, malformed ranges skipped', () => {
  const [a] = parseAccept('text/plain ; q=0.3; version = 0.0.4');
  assert.equal(a?.q, Math.fround(0.3));
  assert.equal(a?.params.get('version'), '0.0.4');
  assert.equal(parseAccept('text/plain;q=high')[0]?.q, 0);
  assert.equal(parseAccept('text/plain;q= 0.5')[0]?.q, 0); // Go does not trim the q value
  assert.equal(parseAccept('text/plain;q=0.5 ;v=1')[0]?.q, 0);
  assert.deepEqual(parseAccept('text,a/b/c,*,text/'), [{ type: '*', subtype: '*', q: 1, params: new Map() }]);
  assert.equal(parseAccept('text/plain;novalue;k=;x=1=2;y=3')[0]?.params.size, 1);
});

test('acceptsGzip follows kata-monitor: a part equal to gzip or starting with "gzip;"', () => {
  const cases: readonly (readonly [string | undefined, boolean])[] = [
    [undefined, false],
    ['', false],
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['deflate, gzip', true],
    ['  gzip  ', true],
    ['gzip;q=1.0, identity; q=0.5, *;q=0', true],
    ['gzip;q=0', true], // upstream does not read q
    ['x-gzip', false],
    ['gzipped', false],
    ['GZIP', false],
    ['br, deflate', false],
    ['*', false],
  ];
  for (const [header, want] of cases) assert.equal(acceptsGzip(header), want, String(header));
});
