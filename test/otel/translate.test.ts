import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValueType } from '@opentelemetry/api';
import { hrTimeToMilliseconds } from '@opentelemetry/core';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { MetricFamily } from '../../src/exposition/model.ts';
import { isSummary, type OtelMetricData, type OtelResourceMetrics } from '../../src/otel/model.ts';
import { buildResource } from '../../src/otel/resource.ts';
import { Translator } from '../../src/otel/translate.ts';
import { BODY_A, BODY_B, snapshot } from './support/fixtures.ts';

const META = { uid: 'uid-1', name: 'nginx-1', namespace: 'web' };
const resource = buildResource({ instanceId: 'test', hostName: 'node-a', env: {} });

function metric(rm: OtelResourceMetrics, name: string): OtelMetricData {
  const m = rm.scopeMetrics.flatMap((s) => s.metrics).find((x) => x.descriptor.name === name);
  assert.ok(m, `metric ${name} present`);
  return m;
}

const ms = hrTimeToMilliseconds;

describe('translate: Prometheus families → OTel metric data', () => {
  const t = new Translator({ resource });
  const rm = t.translate(snapshot(1_700_000_000_000, [{ id: 'sb1', body: BODY_A, metadata: META }])).resourceMetrics;

  it('turns a counter without _total into a monotonic cumulative Sum with its name unchanged', () => {
    const m = metric(rm, 'kata_agent_scrape_count');
    assert.equal(m.dataPointType, DataPointType.SUM);
    assert.ok(m.dataPointType === DataPointType.SUM && m.isMonotonic);
    assert.equal(m.aggregationTemporality, AggregationTemporality.CUMULATIVE);
    assert.equal(m.dataPoints[0]?.value, 1361);
    assert.equal(m.descriptor.description, 'Metrics scrape count');
    assert.equal(m.descriptor.valueType, ValueType.DOUBLE);
  });

  it('keeps _total counters as written and renames go_*/process_* to kata_shim_*', () => {
    assert.equal(metric(rm, 'kata_shim_process_cpu_seconds_total').dataPoints[0]?.value, 178.04);
    assert.equal(metric(rm, 'kata_shim_go_memstats_frees_total').dataPointType, DataPointType.SUM);
    assert.ok(!rm.scopeMetrics[0]!.metrics.some((m) => m.descriptor.name.startsWith('go_') || m.descriptor.name.startsWith('process_')));
  });

  it('turns gauges into Gauges, with the shim labels as attributes', () => {
    const m = metric(rm, 'kata_shim_go_info');
    assert.equal(m.dataPointType, DataPointType.GAUGE);
    assert.equal(m.dataPoints[0]?.value, 1);
    assert.equal(m.dataPoints[0]?.attributes['version'], 'go1.23.4');
  });

  it('adds the kata-monitor sandbox labels and the k8s semantic-convention attributes to every point', () => {
    for (const m of rm.scopeMetrics[0]!.metrics) {
      for (const p of m.dataPoints) {
        assert.equal(p.attributes['sandbox_id'], 'sb1');
        assert.equal(p.attributes['cri_uid'], 'uid-1');
        assert.equal(p.attributes['cri_name'], 'nginx-1');
        assert.equal(p.attributes['cri_namespace'], 'web');
        assert.equal(p.attributes['k8s.pod.uid'], 'uid-1');
        assert.equal(p.attributes['k8s.pod.name'], 'nginx-1');
        assert.equal(p.attributes['k8s.namespace.name'], 'web');
      }
    }
  });

  it('leaves k8s.* out while CRI metadata is unknown, but keeps the empty cri_* labels as /metrics does', () => {
    const t2 = new Translator({ resource });
    const r = t2.translate(snapshot(1, [{ id: 'sb9', body: BODY_A }])).resourceMetrics;
    const attrs = metric(r, 'kata_agent_scrape_count').dataPoints[0]!.attributes;
    assert.deepEqual(Object.fromEntries(Object.entries(attrs)), { sandbox_id: 'sb9', cri_uid: '', cri_name: '', cri_namespace: '' });
  });

  it('de-cumulates histogram buckets, drops +Inf from the bounds, keeps sum and count, no min/max', () => {
    const m = metric(rm, 'kata_shim_rpc_durations_histogram_milliseconds');
    assert.equal(m.dataPointType, DataPointType.HISTOGRAM);
    const p = m.dataPoints.find((x) => x.attributes['action'] === 'close_io');
    assert.ok(p);
    const h = p.value as { buckets: { boundaries: number[]; counts: number[] }; sum: number; count: number; min?: number; max?: number };
    assert.deepEqual(h.buckets.boundaries, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
    // cumulative 3,3,3,4,4,4,4,4,4,4 (+Inf 4) → per bucket
    assert.deepEqual(h.buckets.counts, [3, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
    assert.equal(h.sum, 6);
    assert.equal(h.count, 4);
    assert.equal(h.min, undefined);
    assert.equal(h.max, undefined);
  });

  it('turns summaries into our Summary extension with quantiles, sum and count', () => {
    const m = metric(rm, 'kata_shim_go_gc_duration_seconds');
    assert.ok(isSummary(m));
    const v = m.dataPoints[0]!.value;
    assert.equal(v.count, 571);
    assert.equal(v.sum, 0.02540286876604194);
    assert.deepEqual(
      v.quantiles.map((q) => q.quantile),
      [0, 0.25, 0.5, 0.75, 1],
    );
    assert.equal(v.quantiles[2]?.value, 4.036907484330826e-5);
  });

  it('sets the resource: service.name kata-monitor, instance id, host name, node name from the environment', () => {
    const r = buildResource({ instanceId: 'i-1', hostName: 'h', env: { NODE_NAME: 'worker-3' }, attributes: { 'deployment.environment': 'prod' } });
    assert.deepEqual(r.attributes, {
      'service.name': 'kata-monitor',
      'service.instance.id': 'i-1',
      'host.name': 'h',
      'k8s.node.name': 'worker-3',
      'deployment.environment': 'prod',
    });
  });
});

describe('translate: merging and self metrics', () => {
  it('merges one family from several sandboxes into one metric', () => {
    const t = new Translator({ resource });
    const rm = t.translate(snapshot(1000, [{ id: 'a', body: BODY_A }, { id: 'b', body: BODY_B }, { id: 'dead' }])).resourceMetrics;
    const m = metric(rm, 'kata_agent_scrape_count');
    assert.deepEqual(
      m.dataPoints.map((p) => [p.attributes['sandbox_id'], p.value]),
      [
        ['a', 1361],
        ['b', 1285],
      ],
    );
  });

  it('puts the daemon’s own families first, without sandbox attributes', () => {
    const own: MetricFamily[] = [
      { name: 'kata_monitor_running_shim_count', help: 'Running shims', type: 'gauge', metrics: [{ kind: 'scalar', labels: [], value: 2 }] },
    ];
    const t = new Translator({ resource, extraFamilies: () => own, now: () => 5000 });
    const rm = t.translate(snapshot(1000, [{ id: 'a', body: BODY_A }])).resourceMetrics;
    const first = rm.scopeMetrics[0]!.metrics[0]!;
    assert.equal(first.descriptor.name, 'kata_monitor_running_shim_count');
    assert.deepEqual(first.dataPoints[0]?.attributes, {});
    assert.equal(ms(first.dataPoints[0]!.endTime), 5000);
  });

  it('reports an unparsable body as an error and still translates the other sandboxes', () => {
    const t = new Translator({ resource });
    const r = t.translate(snapshot(1000, [{ id: 'bad', body: 'this is { not prometheus\n' }, { id: 'good', body: BODY_A }]));
    assert.equal(r.errors.length, 1);
    assert.match(r.errors[0]!.message, /sandbox bad: unparsable/);
    assert.equal(metric(r.resourceMetrics, 'kata_agent_scrape_count').dataPoints.length, 1);
  });

  it('reports a family whose type differs between sandboxes and keeps the first', () => {
    const t = new Translator({ resource });
    const gaugeBody = '# TYPE kata_agent_scrape_count gauge\nkata_agent_scrape_count 3\n';
    const r = t.translate(snapshot(1000, [{ id: 'a', body: BODY_A }, { id: 'b', body: gaugeBody }]));
    assert.equal(metric(r.resourceMetrics, 'kata_agent_scrape_count').dataPointType, DataPointType.SUM);
    assert.match(r.errors[0]!.message, /kata_agent_scrape_count is a gauge in sandbox b/);
  });

  it('parses each sandbox body once however many times its snapshot is translated', () => {
    let parses = 0;
    const t = new Translator({
      resource,
      parse: (text) => {
        parses++;
        return text ? [{ name: 'x', type: 'gauge', metrics: [{ kind: 'scalar', labels: [], value: 1 }] }] : [];
      },
    });
    const snap = snapshot(1000, [{ id: 'a', body: 'x 1\n' }, { id: 'b', body: 'x 1\n' }]);
    const first = t.translate(snap);
    assert.equal(t.translate(snap), first);
    assert.equal(parses, 2);
  });
});

describe('translate: start times', () => {
  const at = (t: Translator, when: number, body: string) => t.translate(snapshot(when, [{ id: 'sb', body }])).resourceMetrics;
  const counter = (n: number) => `# TYPE c counter\nc ${n}\n# TYPE h histogram\nh_bucket{le="1"} ${n}\nh_bucket{le="+Inf"} ${n}\nh_sum ${n}\nh_count ${n}\n# TYPE g gauge\ng ${n}\n`;

  it('starts a series when it is first seen and keeps that start while it grows', () => {
    const t = new Translator({ resource });
    at(t, 10_000, counter(5));
    const rm = at(t, 20_000, counter(7));
    const p = metric(rm, 'c').dataPoints[0]!;
    assert.equal(ms(p.startTime), 10_000);
    assert.equal(ms(p.endTime), 20_000);
    assert.equal(ms(metric(rm, 'h').dataPoints[0]!.startTime), 10_000);
  });

  it('restarts a counter (and a histogram by its count) that went down, from the previous observation', () => {
    const t = new Translator({ resource });
    at(t, 10_000, counter(5));
    at(t, 20_000, counter(9));
    const rm = at(t, 30_000, counter(2));
    assert.equal(ms(metric(rm, 'c').dataPoints[0]!.startTime), 20_000);
    assert.equal(ms(metric(rm, 'h').dataPoints[0]!.startTime), 20_000);
    const later = at(t, 40_000, counter(3));
    assert.equal(ms(metric(later, 'c').dataPoints[0]!.startTime), 20_000);
  });

  it('detects the reset in real shim data: sandbox body A then B (lower counters)', () => {
    const t = new Translator({ resource });
    at(t, 10_000, BODY_A);
    at(t, 20_000, BODY_A);
    const rm = at(t, 30_000, BODY_B);
    // kata_agent_scrape_count 1361 → 1285: restarted; the GC summary's count 571 → 3339: still growing.
    assert.equal(ms(metric(rm, 'kata_agent_scrape_count').dataPoints[0]!.startTime), 20_000);
    assert.equal(ms(metric(rm, 'kata_shim_go_gc_duration_seconds').dataPoints[0]!.startTime), 10_000);
  });

  it('forgets series that vanished: one that comes back starts anew', () => {
    const t = new Translator({ resource });
    at(t, 10_000, counter(5));
    at(t, 20_000, '# TYPE other counter\nother 1\n');
    const rm = at(t, 30_000, counter(6));
    assert.equal(ms(metric(rm, 'c').dataPoints[0]!.startTime), 30_000);
    assert.equal(t.trackedSeries, 2);
  });

  it('gives gauges their observation time as start (OTLP ignores it)', () => {
    const t = new Translator({ resource });
    at(t, 10_000, counter(5));
    const p = metric(at(t, 20_000, counter(6)), 'g').dataPoints[0]!;
    assert.equal(ms(p.startTime), 20_000);
  });
});

describe('translate: state kept from one push to the next', () => {
  const META2 = { uid: 'uid-2', name: 'nginx-2', namespace: 'web' };
  const points = (rm: OtelResourceMetrics, name: string) => metric(rm, name).dataPoints;

  it('reuses each series’ attributes object while its labels and the sandbox metadata stay the same', () => {
    const t = new Translator({ resource });
    const first = t.translate(snapshot(10_000, [{ id: 'sb', body: BODY_A, metadata: META }])).resourceMetrics;
    const second = t.translate(snapshot(20_000, [{ id: 'sb', body: BODY_B, metadata: META }])).resourceMetrics;
    const a = points(first, 'kata_guest_meminfo');
    const b = points(second, 'kata_guest_meminfo');
    assert.equal(b.length, a.length);
    b.forEach((p, i) => assert.equal(p.attributes, a[i]!.attributes));
    assert.notDeepEqual(
      b.map((p) => p.value),
      a.map((p) => p.value),
    );
  });

  it('builds them anew when the CRI metadata changes, keeping start times', () => {
    const t = new Translator({ resource });
    t.translate(snapshot(10_000, [{ id: 'sb', body: BODY_A }]));
    const rm = t.translate(snapshot(20_000, [{ id: 'sb', body: BODY_A, metadata: META2 }])).resourceMetrics;
    const p = points(rm, 'kata_agent_scrape_count')[0]!;
    assert.deepEqual(Object.fromEntries(Object.entries(p.attributes)), {
      sandbox_id: 'sb',
      cri_uid: 'uid-2',
      cri_name: 'nginx-2',
      cri_namespace: 'web',
      'k8s.pod.uid': 'uid-2',
      'k8s.pod.name': 'nginx-2',
      'k8s.namespace.name': 'web',
    });
    assert.equal(ms(p.startTime), 10_000);
    assert.equal(points(rm, 'kata_guest_meminfo').find((x) => x.attributes['item'] === 'active')?.attributes['cri_name'], 'nginx-2');
  });

  it('finds a series that moved within its family, and starts the ones it never saw', () => {
    const t = new Translator({ resource });
    const body = (order: string[], n: number) => `# TYPE h histogram\n${order.map((a) => `h_bucket{action="${a}",le="+Inf"} ${n}\nh_sum{action="${a}"} ${n}\nh_count{action="${a}"} ${n}\n`).join('')}`;
    t.translate(snapshot(10_000, [{ id: 'sb', body: body(['a', 'b', 'c'], 5) }]));
    const rm = t.translate(snapshot(20_000, [{ id: 'sb', body: body(['c', 'new', 'a', 'b'], 6) }])).resourceMetrics;
    assert.deepEqual(
      points(rm, 'h').map((p) => [p.attributes['action'], ms(p.startTime)]),
      [
        ['c', 10_000],
        ['new', 20_000],
        ['a', 10_000],
        ['b', 10_000],
      ],
    );
  });

  it('parses each sandbox’s body against its previous parse, and a body of the sandbox only against its own', () => {
    const seen: (readonly MetricFamily[] | undefined)[] = [];
    const t = new Translator({
      resource,
      parse: (text, previous) => {
        seen.push(previous);
        return [{ name: 'x', type: 'gauge', metrics: [{ kind: 'scalar', labels: [], value: text.length }] }];
      },
    });
    t.translate(snapshot(1000, [{ id: 'a', body: 'x 1\n' }]));
    t.translate(snapshot(2000, [{ id: 'a', body: 'x 22\n' }, { id: 'b', body: 'x 3\n' }]));
    assert.equal(seen.length, 3);
    assert.equal(seen[0], undefined);
    assert.deepEqual(seen[1], [{ name: 'x', type: 'gauge', metrics: [{ kind: 'scalar', labels: [], value: 4 }] }]);
    assert.equal(seen[2], undefined);
  });

  it('starts a series anew when its family turns from gauge into counter', () => {
    const t = new Translator({ resource });
    t.translate(snapshot(10_000, [{ id: 'sb', body: '# TYPE c gauge\nc 5\n' }]));
    const rm = t.translate(snapshot(20_000, [{ id: 'sb', body: '# TYPE c counter\nc 7\n' }])).resourceMetrics;
    assert.equal(ms(points(rm, 'c')[0]!.startTime), 20_000);
    assert.equal(t.trackedSeries, 1);
  });
});
