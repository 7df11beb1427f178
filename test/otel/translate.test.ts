// The one translation of scraped Prometheus data into OTLP (translate/walk.ts),
// as the OpenTelemetry specification's Prometheus compatibility rules say.
// Every push here is written in every form (protobuf and OTLP/JSON, plain
// and gzipped, and the SDK's objects) and read back independently
// (support/otlp.ts checks that the forms carry the same data).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { MetricFamily } from '../../src/exposition/model.ts';
import { buildResource } from '../../src/otel/resource.ts';
import { Translator } from '../../src/otel/translate/walk.ts';
import { BODY_A, BODY_B, snapshot, type FakeSandbox } from './support/fixtures.ts';
import { attrs, metric, metricsOf, ns, plan, point, pointCount, pushAll, type Request } from './support/otlp.ts';

const META = { uid: 'uid-1', name: 'nginx-1', namespace: 'web' };
/** META as the attributes after sandbox_id: the cri_* labels, then the k8s.* keys. */
const META_ATTRS = [
  ['cri_uid', 'uid-1'],
  ['cri_name', 'nginx-1'],
  ['cri_namespace', 'web'],
  ['k8s.pod.uid', 'uid-1'],
  ['k8s.pod.name', 'nginx-1'],
  ['k8s.namespace.name', 'web'],
];
const T0 = 1_700_000_000_000;

async function push(t: Translator, at: number, sandboxes: readonly FakeSandbox[]): Promise<readonly Request[]> {
  const { push: p, requests } = await pushAll(t, snapshot(at, sandboxes));
  assert.deepEqual(p.errors, []);
  return requests;
}

describe('translation: Prometheus families → OTLP metrics', async () => {
  const rs = await push(new Translator(), T0, [{ id: 'sb1', body: BODY_A, metadata: META }]);

  it('turns a counter without _total into a monotonic cumulative sum, its name unchanged', () => {
    const m = metric(rs, 'kata_agent_scrape_count');
    assert.deepEqual([m.kind, m.monotonic, m.temporality, m.description], ['sum', true, 2, 'Metrics scrape count']);
    assert.equal(m.points[0]?.value, 1361);
    assert.ok(!metricsOf(rs).some((x) => x.name === 'kata_agent_scrape_count_total'));
  });

  it('keeps _total counters as written, and names go_*/process_* kata_shim_* as /metrics does', () => {
    assert.equal(point(rs, 'kata_shim_process_cpu_seconds_total').value, 178.04);
    assert.equal(metric(rs, 'kata_shim_go_memstats_frees_total').kind, 'sum');
    assert.ok(!metricsOf(rs).some((m) => m.name.startsWith('go_') || m.name.startsWith('process_')));
  });

  it('turns gauges into gauges, with the shim labels as attributes', () => {
    const m = metric(rs, 'kata_shim_go_info');
    assert.deepEqual([m.kind, m.temporality, m.monotonic], ['gauge', 0, false]);
    assert.equal(m.points[0]?.value, 1);
    assert.equal(attrs(m.points[0]!)['version'], 'go1.23.4');
  });

  it('turns untyped families into gauges', async () => {
    const r = await push(new Translator(), T0, [{ id: 'a', body: 'plain 3\n# TYPE typed untyped\ntyped{k="v"} 4\n' }]);
    assert.deepEqual(
      metricsOf(r).map((m) => [m.name, m.kind, m.points[0]?.value]),
      [
        ['plain', 'gauge', 3],
        ['typed', 'gauge', 4],
      ],
    );
  });

  it('gives every point the shim labels, then sandbox_id, cri_uid, cri_name, cri_namespace, then the k8s.* keys, in that order', () => {
    const expected = ['action', 'sandbox_id', 'cri_uid', 'cri_name', 'cri_namespace', 'k8s.pod.uid', 'k8s.pod.name', 'k8s.namespace.name'];
    assert.deepEqual(
      point(rs, 'kata_shim_rpc_durations_histogram_milliseconds', { action: 'close_io' }).attrs.map(([k]) => k),
      expected,
    );
    for (const m of metricsOf(rs)) {
      for (const p of m.points) {
        assert.deepEqual(p.attrs.slice(-7), [['sandbox_id', 'sb1'], ...META_ATTRS]);
      }
    }
  });

  it('leaves k8s.* out while CRI metadata is unknown, but keeps the empty cri_* labels as /metrics does', async () => {
    const r = await push(new Translator(), T0, [{ id: 'sb9', body: BODY_A }]);
    assert.deepEqual(point(r, 'kata_agent_scrape_count').attrs, [
      ['sandbox_id', 'sb9'],
      ['cri_uid', ''],
      ['cri_name', ''],
      ['cri_namespace', ''],
    ]);
  });

  it('lets our attributes win over shim labels of the same name (no duplicate keys)', async () => {
    const body = '# TYPE x gauge\nx{cri_name="evil",other="1",sandbox_id="forged"} 1\n';
    const r = await push(new Translator(), T0, [{ id: 'real', body, metadata: META }]);
    assert.deepEqual(point(r, 'x').attrs, [['other', '1'], ['sandbox_id', 'real'], ...META_ATTRS]);
  });

  it('de-cumulates histogram buckets from le, leaves +Inf out of the bounds, keeps sum and count (no min/max)', () => {
    const m = metric(rs, 'kata_shim_rpc_durations_histogram_milliseconds');
    assert.deepEqual([m.kind, m.temporality], ['histogram', 2]);
    const p = point(rs, m.name, { action: 'close_io' });
    assert.deepEqual(p.bounds, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
    // cumulative 3,3,3,4,4,4,4,4,4,4 (+Inf 4) → per bucket
    assert.deepEqual(p.buckets, ['3', '0', '0', '1', '0', '0', '0', '0', '0', '0', '0']);
    assert.deepEqual([p.sum, p.count], [6, '4']);
  });

  it('takes the +Inf bucket from the count, and clamps buckets when a shim’s cumulative counts fall', async () => {
    const body = [
      '# TYPE h histogram',
      'h_bucket{k="inf-from-count",le="1"} 2',
      'h_bucket{k="inf-from-count",le="+Inf"} 5',
      'h_sum{k="inf-from-count"} 3',
      'h_count{k="inf-from-count"} 7',
      'h_bucket{k="falling",le="1"} 5',
      'h_bucket{k="falling",le="2"} 3',
      'h_bucket{k="falling",le="4"} 6',
      'h_bucket{k="falling",le="+Inf"} 4',
      'h_sum{k="falling"} 1',
      'h_count{k="falling"} 4',
      'h_bucket{k="only-inf",le="+Inf"} 9',
      'h_sum{k="only-inf"} 2.5',
      'h_count{k="only-inf"} 9',
      '',
    ].join('\n');
    const r = await push(new Translator(), T0, [{ id: 'a', body }]);
    assert.deepEqual(point(r, 'h', { k: 'inf-from-count' }).buckets, ['2', '5']);
    const falling = point(r, 'h', { k: 'falling' });
    assert.deepEqual([falling.bounds, falling.buckets, falling.count], [[1, 2, 4], ['5', '0', '1', '0'], '4']);
    const only = point(r, 'h', { k: 'only-inf' });
    assert.deepEqual([only.bounds, only.buckets, only.count, only.sum], [[], ['9'], '9', 2.5]);
  });

  it('turns summaries into OTLP summaries with quantiles, sum and count', () => {
    const p = point(rs, 'kata_shim_go_gc_duration_seconds');
    assert.equal(metric(rs, 'kata_shim_go_gc_duration_seconds').kind, 'summary');
    assert.deepEqual([p.count, p.sum], ['571', 0.02540286876604194]);
    assert.deepEqual(
      p.quantiles?.map(([q]) => q),
      [0, 0.25, 0.5, 0.75, 1],
    );
    assert.equal(p.quantiles?.[2]?.[1], 4.036907484330826e-5);
  });

  it('carries label values with escapes, newlines, tabs, control characters and non-ASCII text exactly', async () => {
    const body = '# TYPE e gauge\ne{a="q\\"uote",b="back\\\\slash",c="new\\nline",d="tab\there",f="bell\u0007",u="héllo ✓ 😀",z=""} 1\n';
    const r = await push(new Translator(), T0, [{ id: 'a', body }]);
    assert.deepEqual(point(r, 'e').attrs.slice(0, 7), [
      ['a', 'q"uote'],
      ['b', 'back\\slash'],
      ['c', 'new\nline'],
      ['d', 'tab\there'],
      ['f', 'bell\u0007'],
      ['u', 'héllo ✓ 😀'],
      ['z', ''],
    ]);
  });

  it('carries NaN and ±Inf values, sums and quantiles in both encodings', async () => {
    const body = [
      '# TYPE g gauge',
      'g{v="nan"} NaN',
      'g{v="inf"} +Inf',
      'g{v="-inf"} -Inf',
      'g{v="big"} 1.7976931348623157e+308',
      'g{v="tiny"} 5e-324',
      'g{v="neg"} -0.000001234',
      '# TYPE h histogram',
      'h_bucket{le="+Inf"} 1',
      'h_sum +Inf',
      'h_count 1',
      '# TYPE s summary',
      's{quantile="0.5"} NaN',
      's{quantile="0.99"} -Inf',
      's_sum NaN',
      's_count 0',
      '',
    ].join('\n');
    const r = await push(new Translator(), T0, [{ id: 'a', body }]);
    assert.deepEqual(
      metric(r, 'g').points.map((p) => [attrs(p)['v'], p.value]),
      [
        ['nan', NaN],
        ['inf', Infinity],
        ['-inf', -Infinity],
        ['big', 1.7976931348623157e308],
        ['tiny', 5e-324],
        ['neg', -0.000001234],
      ],
    );
    assert.equal(point(r, 'h').sum, Infinity);
    const s = point(r, 's');
    assert.deepEqual([s.sum, s.count, s.quantiles], [
      NaN,
      '0',
      [
        [0.5, NaN],
        [0.99, -Infinity],
      ],
    ]);
  });

  it('writes counts beyond 2^53 exactly and clamps those beyond uint64 to its largest value', async () => {
    // A count Go reads as -1 becomes 2^64 (uint64 of a negative float); 2^60 is exact as a double.
    const body = '# TYPE h histogram\nh_bucket{k="big",le="+Inf"} 1152921504606846976\nh_sum{k="big"} 1\nh_count{k="big"} 1152921504606846976\nh_bucket{k="neg",le="+Inf"} 3\nh_sum{k="neg"} 1\nh_count{k="neg"} -1\n';
    const r = await push(new Translator(), T0, [{ id: 'a', body }]);
    assert.deepEqual([point(r, 'h', { k: 'big' }).count, point(r, 'h', { k: 'big' }).buckets], ['1152921504606846976', ['1152921504606846976']]);
    assert.equal(point(r, 'h', { k: 'neg' }).count, '18446744073709551615');
  });

  it('uses the time a sample carries, else the scrape’s', async () => {
    const r = await push(new Translator(), T0, [{ id: 'a', body: '# TYPE c counter\nc{t="own"} 1 1600000000123\nc{t="scrape"} 2\n' }]);
    const own = point(r, 'c', { t: 'own' });
    assert.deepEqual([own.start, own.time], [ns(1600000000123), ns(1600000000123)]);
    assert.equal(point(r, 'c', { t: 'scrape' }).time, ns(T0));
  });

  it('names the scope kata-otel-monitor and puts the plan’s resource on every request', () => {
    assert.deepEqual(rs[0]?.scope, { name: 'kata-otel-monitor' });
    assert.deepEqual(rs[0]?.resource, [
      ['service.name', 'kata-monitor'],
      ['host.name', 'node-1'],
    ]);
  });

  it('builds the resource: service.name kata-monitor, instance id, host name, node name from the environment, configured attributes last', () => {
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

describe('translation: sandboxes merged, the daemon’s own families, conflicts', () => {
  it('makes one metric of a family several sandboxes have, points sandbox by sandbox; a failed scrape adds nothing', async () => {
    const r = await push(new Translator(), 1000, [{ id: 'a', body: BODY_A }, { id: 'b', body: BODY_B }, { id: 'dead' }]);
    assert.deepEqual(
      metric(r, 'kata_agent_scrape_count').points.map((p) => [attrs(p)['sandbox_id'], p.value]),
      [
        ['a', 1361],
        ['b', 1285],
      ],
    );
    assert.equal(metricsOf(r).filter((m) => m.name === 'kata_agent_scrape_count').length, 1);
  });

  it('puts metrics in the order their families are first met: the daemon’s own first, without sandbox attributes, at the clock’s time', async () => {
    const own: MetricFamily[] = [
      { name: 'kata_monitor_running_shim_count', help: 'Running shims', type: 'gauge', metrics: [{ kind: 'scalar', labels: [], value: 2 }] },
      { name: 'kata_monitor_scrape_count', help: 'Scrapes', type: 'counter', metrics: [{ kind: 'scalar', labels: [{ name: 'kind', value: 'push' }], value: 7 }] },
    ];
    const t = new Translator({ selfFamilies: () => own, now: () => 5000 });
    const r = await push(t, 1000, [
      { id: 'a', body: '# TYPE z gauge\nz 1\n# TYPE y gauge\ny 1\n' },
      { id: 'b', body: '# TYPE x gauge\nx 1\n# TYPE y gauge\ny 2\n' },
    ]);
    assert.deepEqual(
      metricsOf(r).map((m) => m.name),
      ['kata_monitor_running_shim_count', 'kata_monitor_scrape_count', 'z', 'y', 'x'],
    );
    const first = point(r, 'kata_monitor_running_shim_count');
    assert.deepEqual([first.attrs, first.time, first.value], [[], ns(5000), 2]);
    assert.deepEqual(point(r, 'kata_monitor_scrape_count').attrs, [['kind', 'push']]);
    assert.deepEqual(metric(r, 'kata_monitor_running_shim_count').description, 'Running shims');
  });

  it('reports the daemon’s own families when they cannot be had, and pushes the sandboxes’', async () => {
    const t = new Translator({
      selfFamilies: () => {
        throw new Error('registry gone');
      },
    });
    const { push: p, requests } = await pushAll(t, snapshot(1000, [{ id: 'a', body: BODY_A }]));
    assert.deepEqual(p.errors, ['self metrics unavailable: registry gone']);
    assert.equal(point(requests, 'kata_agent_scrape_count').value, 1361);
  });

  it('skips a family typed differently in a later sandbox, there only, with an error; untyped and gauge are one kind', async () => {
    const { push: p, requests } = await pushAll(
      new Translator(),
      snapshot(1000, [
        { id: 'a', body: '# TYPE x counter\nx 1\n# TYPE g gauge\ng 1\n' },
        { id: 'b', body: '# TYPE x gauge\nx 2\n# TYPE g untyped\ng 2\n' },
        { id: 'c', body: '# TYPE x counter\nx 3\n' },
      ]),
    );
    assert.deepEqual(p.errors, ['family x is a gauge in sandbox b but a counter elsewhere; skipped there']);
    assert.deepEqual(
      metric(requests, 'x').points.map((q) => [attrs(q)['sandbox_id'], q.value]),
      [
        ['a', 1],
        ['c', 3],
      ],
    );
    assert.equal(metric(requests, 'g').points.length, 2);
    assert.equal(p.points, 4);
  });

  it('writes no request for a snapshot without data points', async () => {
    const { push: p, requests } = await pushAll(new Translator(), snapshot(1000, [{ id: 'dead' }]));
    assert.deepEqual([p.points, requests.length, p.errors], [0, 0, []]);
  });
});

describe('translation: start times', () => {
  const series = (n: number) =>
    `# TYPE c counter\nc ${n}\n# TYPE h histogram\nh_bucket{le="1"} ${n}\nh_bucket{le="+Inf"} ${n}\nh_sum ${n}\nh_count ${n}\n# TYPE s summary\ns{quantile="0.5"} 1\ns_sum ${n}\ns_count ${n}\n# TYPE g gauge\ng ${n}\n`;
  const at = (t: Translator, when: number, body: string, id = 'sb') => push(t, when, [{ id, body }]);
  const start = (r: readonly Request[], name: string, match: Record<string, string> = {}) => point(r, name, match).start;

  it('starts a series when it is first seen and keeps that start while it grows', async () => {
    const t = new Translator();
    await at(t, 10_000, series(5));
    const r = await at(t, 20_000, series(7));
    for (const name of ['c', 'h', 's']) assert.equal(start(r, name), ns(10_000), name);
    assert.equal(point(r, 'c').time, ns(20_000));
  });

  it('restarts a counter that went down, and a histogram or summary whose count did, from the previous observation', async () => {
    const t = new Translator();
    await at(t, 10_000, series(5));
    await at(t, 20_000, series(9));
    const r = await at(t, 30_000, series(2));
    for (const name of ['c', 'h', 's']) assert.equal(start(r, name), ns(20_000), name);
    const later = await at(t, 40_000, series(3));
    for (const name of ['c', 'h', 's']) assert.equal(start(later, name), ns(20_000), name);
  });

  it('detects the restart in real shim data: body A twice, then B (lower counters)', async () => {
    const t = new Translator();
    await at(t, 10_000, BODY_A);
    await at(t, 20_000, BODY_A);
    const r = await at(t, 30_000, BODY_B);
    // kata_agent_scrape_count 1361 → 1285: restarted; the GC summary's count 571 → 3339: still growing.
    assert.equal(start(r, 'kata_agent_scrape_count'), ns(20_000));
    assert.equal(start(r, 'kata_shim_go_gc_duration_seconds'), ns(10_000));
  });

  it('gives gauges their observation time as start', async () => {
    const t = new Translator();
    await at(t, 10_000, series(5));
    assert.equal(start(await at(t, 20_000, series(6)), 'g'), ns(20_000));
  });

  for (const size of [5, 80]) {
    it(`finds series that moved within their family (${size} series), and starts the ones it never saw`, async () => {
      const body = (order: number[], bump: number) => `# TYPE m counter\n${order.map((i) => `m{k="${i}"} ${10 + i + bump}`).join('\n')}\n`;
      const ids = Array.from({ length: size }, (_, i) => i);
      const t = new Translator();
      await at(t, 10_000, body(ids, 0));
      const moved = [size, ...ids.reverse()]; // one new, the others reversed
      const r = await at(t, 20_000, body(moved, 1));
      assert.deepEqual(
        metric(r, 'm').points.map((p) => [attrs(p)['k'], p.start]),
        moved.map((i) => [String(i), ns(i === size ? 20_000 : 10_000)]),
      );
    });
  }

  it('forgets series that vanished: one that comes back starts anew', async () => {
    const t = new Translator();
    await at(t, 10_000, series(5));
    await at(t, 20_000, '# TYPE other counter\nother 1\n');
    assert.equal(start(await at(t, 30_000, series(6)), 'c'), ns(30_000));
  });

  it('forgets the series of sandboxes that left; keeps those of a sandbox whose scrape failed once', async () => {
    const t = new Translator();
    await push(t, 10_000, [
      { id: 'leaves', body: series(5) },
      { id: 'fails', body: series(5) },
    ]);
    await push(t, 20_000, [{ id: 'fails' }]);
    const r = await push(t, 30_000, [
      { id: 'leaves', body: series(6) },
      { id: 'fails', body: series(6) },
    ]);
    assert.equal(start(r, 'c', { sandbox_id: 'leaves' }), ns(30_000));
    assert.equal(start(r, 'c', { sandbox_id: 'fails' }), ns(10_000));
  });

  it('keeps start times when a sandbox’s CRI metadata arrives, its points carrying the new attributes', async () => {
    const t = new Translator();
    await push(t, 10_000, [{ id: 'sb', body: BODY_A }]);
    const r = await push(t, 20_000, [{ id: 'sb', body: BODY_A, metadata: META }]);
    const p = point(r, 'kata_agent_scrape_count');
    assert.equal(p.start, ns(10_000));
    assert.equal(attrs(p)['k8s.pod.name'], 'nginx-1');
  });

  it('starts a series anew when its family turns from gauge into counter', async () => {
    const t = new Translator();
    await at(t, 10_000, '# TYPE c gauge\nc 5\n');
    assert.equal(start(await at(t, 20_000, '# TYPE c counter\nc 7\n'), 'c'), ns(20_000));
  });

  it('tracks the daemon’s own counters too', async () => {
    let n = 5;
    const own = (): MetricFamily[] => [{ name: 'kata_monitor_scrape_count', type: 'counter', metrics: [{ kind: 'scalar', labels: [], value: n }] }];
    let clock = 10_000;
    const t = new Translator({ selfFamilies: own, now: () => clock });
    await push(t, 10_000, []);
    clock = 20_000;
    n = 9;
    assert.equal(start(await push(t, 20_000, []), 'kata_monitor_scrape_count'), ns(10_000));
    clock = 30_000;
    n = 1; // the daemon restarted? then its counter starts after our last look
    assert.equal(start(await push(t, 30_000, []), 'kata_monitor_scrape_count'), ns(20_000));
  });

  it('advances once per snapshot however many pipelines walk it, one after the other or at once', async () => {
    const t = new Translator();
    const s1 = snapshot(1_000_000, [{ id: 'a', body: '# TYPE c counter\nc 5\n' }]);
    const s2 = snapshot(2_000_000, [{ id: 'a', body: '# TYPE c counter\nc 2\n' }]);
    const s3 = snapshot(3_000_000, [{ id: 'a', body: '# TYPE c counter\nc 1\n' }]);
    const startOf = async (s: typeof s1) => point((await pushAll(t, s)).requests, 'c').start;
    assert.equal(await startOf(s1), ns(1_000_000));
    // The counter fell: it restarted after our look at 1,000,000 ms. Every pipeline sees that.
    assert.equal(await startOf(s2), ns(1_000_000));
    assert.equal(await startOf(s2), ns(1_000_000));
    assert.deepEqual(await Promise.all([startOf(s3), startOf(s3), startOf(s3)]), [ns(2_000_000), ns(2_000_000), ns(2_000_000)]);
  });
});

describe('processors, as the walk applies them', () => {
  const translatorWithOwn = () =>
    new Translator({ selfFamilies: () => [{ name: 'kata_monitor_running_shim_count', type: 'gauge', metrics: [{ kind: 'scalar', labels: [], value: 1 }] }], now: () => T0 });
  const sandboxes = [
    { id: 'a', body: BODY_A, metadata: META },
    { id: 'b', body: BODY_B },
  ];

  it('filter: keeps names matching an include prefix or regexp, then leaves out those an exclude matches', async () => {
    const p = plan([{ type: 'filter', name: 'filter', include: { prefixes: ['kata_agent_'], regexps: [/^kata_shim_go_gc_/, /meminfo/] }, exclude: { prefixes: ['kata_agent_scrape'], regexps: [/(?:rss|virtual)/g] } }]);
    const { requests } = await pushAll(translatorWithOwn(), snapshot(T0, sandboxes), p);
    const names = new Set(metricsOf(requests).map((m) => m.name));
    assert.ok(names.has('kata_shim_go_gc_duration_seconds') && names.has('kata_guest_meminfo'));
    assert.ok(names.has('kata_agent_process_cpu_seconds_total'));
    assert.ok(![...names].some((n) => n.startsWith('kata_agent_scrape') || /rss|virtual/.test(n)));
    assert.ok([...names].every((n) => n.startsWith('kata_agent_') || n.startsWith('kata_shim_go_gc_') || n.includes('meminfo')));
    assert.ok(!names.has('kata_monitor_running_shim_count'), 'the daemon’s own families are filtered too');
  });

  it('filter: several filters must all keep a name', async () => {
    const p = plan([
      { type: 'filter', name: 'filter/1', include: { prefixes: ['kata_shim_'], regexps: [] } },
      { type: 'filter', name: 'filter/2', exclude: { prefixes: ['kata_shim_go_', 'kata_shim_process_'], regexps: [] } },
    ]);
    const { requests } = await pushAll(new Translator(), snapshot(T0, sandboxes), p);
    const names = metricsOf(requests).map((m) => m.name);
    assert.ok(names.includes('kata_shim_rpc_durations_histogram_milliseconds'));
    assert.ok(names.every((n) => n.startsWith('kata_shim_') && !/^kata_shim_(go|process)_/.test(n)), names.join(' '));
  });

  it('resource: insert only adds, update only changes, upsert sets, delete removes, in order', async () => {
    const resource = buildResource({ instanceId: 'i', hostName: 'h', env: {}, attributes: { 'deployment.environment': 'dev' } });
    const p = plan(
      [
        {
          type: 'resource',
          name: 'resource',
          attributes: [
            { key: 'service.name', action: 'insert', value: 'ignored' },
            { key: 'cluster', action: 'insert', value: 'c1' },
            { key: 'host.name', action: 'update', value: 'renamed' },
            { key: 'absent', action: 'update', value: 'x' },
            { key: 'tier', action: 'upsert', value: 3 },
            { key: 'ratio', action: 'upsert', value: 0.5 },
            { key: 'canary', action: 'upsert', value: true },
            { key: 'service.instance.id', action: 'delete' },
          ],
        },
        { type: 'resource', name: 'resource/2', attributes: [{ key: 'cluster', action: 'update', value: 'c2' }] },
      ],
      resource,
    );
    const { requests } = await pushAll(new Translator(), snapshot(T0, sandboxes), p);
    assert.deepEqual(Object.fromEntries(requests[0]!.resource), {
      'service.name': 'kata-monitor',
      'host.name': 'renamed',
      'deployment.environment': 'dev',
      cluster: 'c2',
      tier: 3,
      ratio: 0.5,
      canary: true,
    });
  });

  for (const max of [1, 97, 500, 1002]) {
    it(`batch: requests of exactly ${max} points (the last the rest), metrics cut across them, nothing lost or reordered`, async () => {
      const snap = () => snapshot(T0, sandboxes);
      const whole = (await pushAll(translatorWithOwn(), snap())).requests;
      const total = pointCount(whole[0]!);
      const { push: p, requests } = await pushAll(translatorWithOwn(), snap(), plan([{ type: 'batch', name: 'batch', sendBatchMaxSize: max }]));
      assert.equal(p.points, total);
      assert.equal(requests.length, Math.ceil(total / max));
      requests.forEach((r, i) => assert.equal(pointCount(r), i < requests.length - 1 ? max : total - max * (requests.length - 1), `request ${i}`));
      // Cut metrics keep their name, kind and description in each request.
      const flat = (rs: readonly Request[]) => rs.flatMap((r) => r.metrics.flatMap((m) => m.points.map((q) => JSON.stringify([m.name, m.kind, m.description, m.temporality, q]))));
      assert.deepEqual(flat(requests), flat(whole));
      for (const r of requests) assert.deepEqual(r.resource, whole[0]!.resource);
    });
  }

  it('batch: two batch processors cut once, at the smaller size; filters act before batching whatever their place', async () => {
    const p = plan([
      { type: 'batch', name: 'batch/big', sendBatchMaxSize: 100 },
      { type: 'batch', name: 'batch/small', sendBatchMaxSize: 7 },
      { type: 'filter', name: 'filter', include: { prefixes: ['kata_agent_scrape_count', 'kata_shim_go_gc_duration'], regexps: [] } },
    ]);
    const { requests } = await pushAll(new Translator(), snapshot(T0, [1, 2, 3, 4, 5, 6, 7, 8].map((i) => ({ id: `s${i}`, body: BODY_A }))), p);
    assert.deepEqual(
      requests.map((r) => pointCount(r)),
      [7, 7, 2],
    );
  });
});
