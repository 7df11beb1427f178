import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  encodeFamilyOpenMetrics,
  encodeOpenMetrics,
  formatOpenMetricsFloat,
} from '../../src/exposition/encode-openmetrics.ts';
import { parseFamilies } from '../../src/exposition/scan.ts';
import { FIXTURES, fixture } from '../support/fixtures.ts';
import type { MetricFamily } from '../../src/exposition/model.ts';
import { readOpenMetrics } from './openmetrics-reader.ts';
import { sampleFamilies } from './sample-families.ts';

/** What an OpenMetrics round trip can preserve: counters are named <name>_total. */
function asOpenMetricsSees(families: readonly MetricFamily[]): MetricFamily[] {
  return families.map((f) => (f.type === 'counter' && !f.name.endsWith('_total') ? { ...f, name: f.name + '_total' } : f));
}

test('floats always carry a dot or an exponent, as Go\'s writeOpenMetricsFloat', () => {
  assert.equal(formatOpenMetricsFloat(1), '1.0');
  assert.equal(formatOpenMetricsFloat(0), '0.0');
  assert.equal(formatOpenMetricsFloat(-0), '0.0');
  assert.equal(formatOpenMetricsFloat(-1), '-1.0');
  assert.equal(formatOpenMetricsFloat(42), '42.0');
  assert.equal(formatOpenMetricsFloat(0.25), '0.25');
  assert.equal(formatOpenMetricsFloat(1e6), '1e+06');
  assert.equal(formatOpenMetricsFloat(NaN), 'NaN');
  assert.equal(formatOpenMetricsFloat(Infinity), '+Inf');
  assert.equal(formatOpenMetricsFloat(-Infinity), '-Inf');
});

test('counters: metadata without _total, samples with it, whether or not the name had it', () => {
  const families: MetricFamily[] = [
    { name: 'kata_agent_scrape_count', help: 'Scrapes.', type: 'counter', metrics: [{ kind: 'scalar', labels: [], value: 3 }] },
    {
      name: 'process_cpu_seconds_total',
      type: 'counter',
      metrics: [{ kind: 'scalar', labels: [{ name: 'a', value: 'b' }], value: 0.5 }],
    },
  ];
  assert.equal(
    encodeOpenMetrics(families),
    [
      '# HELP kata_agent_scrape_count Scrapes.',
      '# TYPE kata_agent_scrape_count counter',
      'kata_agent_scrape_count_total 3.0',
      '# TYPE process_cpu_seconds counter',
      'process_cpu_seconds_total{a="b"} 0.5',
      '# EOF',
      '',
    ].join('\n'),
  );
});

test('untyped becomes unknown; HELP escapes quotes too', () => {
  const families: MetricFamily[] = [
    { name: 'u', help: 'say "hi"\\\n', type: 'untyped', metrics: [{ kind: 'scalar', labels: [], value: 1 }] },
    { name: 'size', type: 'gauge', metrics: [{ kind: 'scalar', labels: [], value: 2 }] },
  ];
  assert.equal(
    encodeOpenMetrics(families),
    [
      '# HELP u say \\"hi\\"\\\\\\n',
      '# TYPE u unknown',
      'u 1.0',
      '# TYPE size gauge',
      'size 2.0',
      '# EOF',
      '',
    ].join('\n'),
  );
});

test('histograms and summaries: integer counts, float bounds, synthesized +Inf, timestamps in seconds', () => {
  const families: MetricFamily[] = [
    {
      name: 'lat',
      type: 'histogram',
      metrics: [
        {
          kind: 'histogram',
          labels: [{ name: 'op', value: 'r' }],
          buckets: [{ upperBound: 1, cumulativeCount: 2 }],
          sum: 3,
          count: 4,
          timestampMs: 1500,
        },
      ],
    },
    {
      name: 'q',
      type: 'summary',
      metrics: [{ kind: 'summary', labels: [], quantiles: [{ quantile: 0.5, value: 7 }], sum: 8, count: 9 }],
    },
  ];
  assert.equal(
    encodeOpenMetrics(families),
    [
      '# TYPE lat histogram',
      'lat_bucket{op="r",le="1.0"} 2 1.5',
      'lat_bucket{op="r",le="+Inf"} 4 1.5',
      'lat_sum{op="r"} 3.0 1.5',
      'lat_count{op="r"} 4 1.5',
      '# TYPE q summary',
      'q{quantile="0.5"} 7.0',
      'q_sum 8.0',
      'q_count 9',
      '# EOF',
      '',
    ].join('\n'),
  );
});

test('an empty body is just # EOF; a family without metrics is left out', () => {
  assert.equal(encodeOpenMetrics([]), '# EOF\n');
  assert.equal(encodeFamilyOpenMetrics({ name: 'e', type: 'gauge', metrics: [] }), '');
});

test('round trip through an independent OpenMetrics reader', () => {
  const families = sampleFamilies();
  assert.deepEqual(readOpenMetrics(encodeOpenMetrics(families)), asOpenMetricsSees(families));
  for (const name of FIXTURES) {
    const parsed = parseFamilies(fixture(name));
    assert.deepEqual(readOpenMetrics(encodeOpenMetrics(parsed)), asOpenMetricsSees(parsed), name);
  }
});

test('a gauge foo and a counter foo_total share the metadata name foo (as with Go; the fixtures have four such pairs)', () => {
  const om = encodeOpenMetrics(parseFamilies(fixture('shim-metrics-a.prom')));
  const typeLines = om.split('\n').filter((l) => l.startsWith('# TYPE go_memstats_alloc_bytes '));
  assert.deepEqual(typeLines, ['# TYPE go_memstats_alloc_bytes gauge', '# TYPE go_memstats_alloc_bytes counter']);
});
