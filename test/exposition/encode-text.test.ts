import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeFamilyText, encodeText } from '../../src/exposition/encode-text.ts';
import { parseFamilies } from '../../src/exposition/scan.ts';
import { FIXTURES, fixture } from '../support/fixtures.ts';
import type { MetricFamily } from '../../src/exposition/model.ts';
import { sampleFamilies } from './sample-families.ts';

test('the Go-written fixtures re-encode byte for byte', () => {
  for (const name of FIXTURES) {
    const body = fixture(name);
    assert.equal(encodeText(parseFamilies(body)), body.toString(), name);
  }
});

test('HELP only when present, then TYPE, then samples', () => {
  const families: MetricFamily[] = [
    { name: 'a', help: 'With help.', type: 'gauge', metrics: [{ kind: 'scalar', labels: [], value: 1 }] },
    { name: 'b', type: 'counter', metrics: [{ kind: 'scalar', labels: [], value: 2 }] },
    { name: 'c', help: '', type: 'untyped', metrics: [{ kind: 'scalar', labels: [], value: 3 }] },
  ];
  assert.equal(
    encodeText(families),
    '# HELP a With help.\n# TYPE a gauge\na 1\n# TYPE b counter\nb 2\n# HELP c \n# TYPE c untyped\nc 3\n',
  );
});

test('label values and HELP are escaped as Go does (quotes only in label values)', () => {
  const f: MetricFamily = {
    name: 'x',
    help: 'a \\ b\nc "d"',
    type: 'gauge',
    metrics: [{ kind: 'scalar', labels: [{ name: 'l', value: 'q"\\\n' }], value: 1 }],
  };
  assert.equal(encodeFamilyText(f), '# HELP x a \\\\ b\\nc "d"\n# TYPE x gauge\nx{l="q\\"\\\\\\n"} 1\n');
});

test('values use Go formatting; -0 prints as 0; timestamps as integers', () => {
  const f: MetricFamily = {
    name: 'v',
    type: 'gauge',
    metrics: [
      { kind: 'scalar', labels: [{ name: 'i', value: '1' }], value: 1234567 },
      { kind: 'scalar', labels: [{ name: 'i', value: '2' }], value: -0 },
      { kind: 'scalar', labels: [{ name: 'i', value: '3' }], value: NaN, timestampMs: 1704917810932 },
      { kind: 'scalar', labels: [{ name: 'i', value: '4' }], value: -Infinity, timestampMs: -1 },
      { kind: 'scalar', labels: [{ name: 'i', value: '5' }], value: 0.00001 },
    ],
  };
  assert.equal(
    encodeFamilyText(f),
    [
      '# TYPE v gauge',
      'v{i="1"} 1.234567e+06',
      'v{i="2"} 0',
      'v{i="3"} NaN 1704917810932',
      'v{i="4"} -Inf -1',
      'v{i="5"} 1e-05',
      '',
    ].join('\n'),
  );
});

test('histogram: le last, formatted as a float; +Inf synthesized from count when missing', () => {
  const f: MetricFamily = {
    name: 'lat',
    help: 'Latency.',
    type: 'histogram',
    metrics: [
      {
        kind: 'histogram',
        labels: [{ name: 'op', value: 'read' }],
        buckets: [
          { upperBound: 0.5, cumulativeCount: 1 },
          { upperBound: 1e6, cumulativeCount: 4 },
        ],
        sum: 12.5,
        count: 5,
      },
      {
        kind: 'histogram',
        labels: [],
        buckets: [{ upperBound: Infinity, cumulativeCount: 2 }],
        sum: 0,
        count: 2,
        timestampMs: 7,
      },
    ],
  };
  assert.equal(
    encodeFamilyText(f),
    [
      '# HELP lat Latency.',
      '# TYPE lat histogram',
      'lat_bucket{op="read",le="0.5"} 1',
      'lat_bucket{op="read",le="1e+06"} 4',
      'lat_bucket{op="read",le="+Inf"} 5',
      'lat_sum{op="read"} 12.5',
      'lat_count{op="read"} 5',
      'lat_bucket{le="+Inf"} 2 7',
      'lat_sum 0 7',
      'lat_count 2 7',
      '',
    ].join('\n'),
  );
});

test('summary: quantile last, then _sum and _count', () => {
  const f: MetricFamily = {
    name: 'gc',
    type: 'summary',
    metrics: [
      {
        kind: 'summary',
        labels: [{ name: 'pool', value: 'p' }],
        quantiles: [
          { quantile: 0, value: 1.6682515279389917e-5 },
          { quantile: 0.99, value: 3 },
        ],
        sum: 0.25,
        count: 571,
      },
      { kind: 'summary', labels: [], quantiles: [], sum: 0, count: 0 },
    ],
  };
  assert.equal(
    encodeFamilyText(f),
    [
      '# TYPE gc summary',
      'gc{pool="p",quantile="0"} 1.6682515279389917e-05',
      'gc{pool="p",quantile="0.99"} 3',
      'gc_sum{pool="p"} 0.25',
      'gc_count{pool="p"} 571',
      'gc_sum 0',
      'gc_count 0',
      '',
    ].join('\n'),
  );
});

test('a family without metrics encodes to nothing', () => {
  assert.equal(encodeFamilyText({ name: 'e', type: 'gauge', metrics: [] }), '');
});

test('encodeText is the concatenation of encodeFamilyText', () => {
  const families = sampleFamilies();
  assert.equal(encodeText(families), families.map(encodeFamilyText).join(''));
});

test('round trip: parseFamilies(encodeText(x)) deep-equals x', () => {
  const families = sampleFamilies();
  assert.deepEqual(parseFamilies(Buffer.from(encodeText(families))), families);
  for (const name of FIXTURES) {
    const parsed = parseFamilies(fixture(name));
    assert.deepEqual(parseFamilies(Buffer.from(encodeText(parsed))), parsed, name);
  }
});
