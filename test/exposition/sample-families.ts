// A small model covering every metric kind and the awkward values, shaped as
// parseFamilies produces it (so text round trips can deep-equal it): histograms
// end in +Inf, counts are integers, help/timestamp keys only when present.

import type { MetricFamily } from '../../src/exposition/model.ts';

export function sampleFamilies(): MetricFamily[] {
  return [
    {
      name: 'kata_agent_scrape_count',
      help: 'Metrics scrape count',
      type: 'counter',
      metrics: [{ kind: 'scalar', labels: [], value: 71 }],
    },
    {
      name: 'process_cpu_seconds_total',
      help: 'Total user and system CPU time spent in seconds.',
      type: 'counter',
      metrics: [{ kind: 'scalar', labels: [{ name: 'sandbox_id', value: 'abc' }], value: 12.34 }],
    },
    {
      name: 'kata_guest_meminfo',
      help: 'Statistics about memory usage: "quoted", back\\slash,\nsecond line.',
      type: 'gauge',
      metrics: [
        { kind: 'scalar', labels: [{ name: 'item', value: 'mem_total' }], value: 2.062696448e9 },
        { kind: 'scalar', labels: [{ name: 'item', value: 'odd "value" \\ with\nnewline' }], value: -0.5 },
        { kind: 'scalar', labels: [{ name: 'item', value: '' }], value: NaN },
        { kind: 'scalar', labels: [{ name: 'item', value: 'inf' }], value: Infinity, timestampMs: 1704917810932 },
        { kind: 'scalar', labels: [{ name: 'item', value: 'neg_inf' }], value: -Infinity, timestampMs: -42 },
        { kind: 'scalar', labels: [{ name: 'item', value: 'tiny' }], value: 5e-324 },
        { kind: 'scalar', labels: [{ name: 'item', value: 'big' }], value: 1.8446744073709552e19 },
        { kind: 'scalar', labels: [{ name: 'item', value: 'ünïcödé ✓' }], value: 1e21 },
      ],
    },
    {
      name: 'untyped_thing',
      type: 'untyped',
      metrics: [{ kind: 'scalar', labels: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }], value: 3 }],
    },
    {
      name: 'kata_shim_rpc_durations_histogram_milliseconds',
      help: 'RPC latency distributions.',
      type: 'histogram',
      metrics: [
        {
          kind: 'histogram',
          labels: [{ name: 'action', value: 'create' }],
          buckets: [
            { upperBound: 1, cumulativeCount: 0 },
            { upperBound: 2.5, cumulativeCount: 3 },
            { upperBound: 1e6, cumulativeCount: 9 },
            { upperBound: Infinity, cumulativeCount: 10 },
          ],
          sum: 1234.5,
          count: 10,
        },
        {
          kind: 'histogram',
          labels: [],
          buckets: [{ upperBound: Infinity, cumulativeCount: 0 }],
          sum: 0,
          count: 0,
          timestampMs: 1000,
        },
      ],
    },
    {
      name: 'go_gc_duration_seconds',
      help: 'A summary of the pause duration of garbage collection cycles.',
      type: 'summary',
      metrics: [
        {
          kind: 'summary',
          labels: [],
          quantiles: [
            { quantile: 0, value: 1.6682515279389917e-5 },
            { quantile: 0.5, value: 4.036907484330826e-5 },
            { quantile: 1, value: NaN },
          ],
          sum: 0.02540286876604194,
          count: 571,
        },
        {
          kind: 'summary',
          labels: [{ name: 'pool', value: 'x' }],
          quantiles: [],
          sum: 1,
          count: 2,
        },
      ],
    },
  ];
}
