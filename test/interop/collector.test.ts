// Interop with the real OpenTelemetry Collector: the daemon as the CLI runs
// it (`node src/cli.ts -config FILE`, scraping the demo environment's
// simulated shims and CRI) pushes through ONE pipeline to TWO exporters: a
// collector built from the collector's own Go modules (otlp receiver → file
// exporter, test/interop/otelcol) and our test receiver, which records
// exactly what was sent. Whatever the collector decoded, validated and wrote
// back must be what the receiver got, point for point.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, it, type TestContext } from 'node:test';
import { startDemo } from '../../src/demo/environment.ts';
import { startFakeShim } from '../support/fake-shim.ts';
import { hostFlags, sampleValue, sleep, spawnDaemon, until } from '../lifecycle/support.ts';
import { startReceiver, type Receiver } from '../otel/support/receiver.ts';
import { startCollector, type Collector } from './support/collector.ts';
import { diffPoints, points, seriesKey, type Point } from './support/points.ts';

/**
 * Requests the receiver must have accepted before the daemon is stopped: the
 * first push and two more, so start times carry over (and at least one with
 * the pods' CRI metadata as attributes).
 */
const PUSHES = 3;
/** A summary family every demo shim serves. */
const SUMMARY_FAMILY = 'kata_shim_go_gc_duration_seconds';

interface Run {
  /** What the receiver got, one entry per request. */
  readonly sent: Point[];
  readonly sentRequests: number;
  /** What the collector wrote, one line per request. */
  readonly written: Point[];
  readonly writtenRequests: number;
  /** How the requests went over the wire, as the receiver saw them (the collector got the same settings). */
  readonly wire: readonly string[];
  /**
   * Between two pushes: the points the daemon counts as accepted by the
   * collector (kata_monitor_otlp_sent_points_total on /metrics), and the
   * points in the collector's file at that moment.
   */
  readonly quiet: { readonly accepted: number | undefined; readonly written: number };
  readonly daemonLog: string;
  readonly collectorLog: string;
}

/** Exporter id → its settings, one `key: value` a line. */
type Exporters = Readonly<Record<string, string>>;

/**
 * The daemon pushing to the collector and to the receiver with the same
 * settings, until the receiver has PUSHES requests; then the daemon is
 * stopped (SIGTERM: a final push to both) and then the collector (its file
 * exporter flushes). Undefined when the test was skipped (no Go).
 */
async function pushToCollector(
  t: TestContext,
  exporters: (collector: Collector, receiver: Receiver) => Exporters,
  options: { readonly extraShimBody?: string } = {},
): Promise<Run | undefined> {
  const collector = await startCollector(t);
  if (!collector) return undefined;
  const demo = await startDemo({ sandboxes: 2 });
  t.after(() => demo.stop());
  if (options.extraShimBody !== undefined) {
    // One more sandbox (without pod metadata) whose shim serves this body.
    const body = options.extraShimBody;
    const shim = await startFakeShim({ socketPath: path.join(demo.roots[0]!, 'ed'.repeat(32), 'shim-monitor.sock'), metrics: () => body });
    t.after(() => shim.close());
  }
  const receiver = await startReceiver();
  t.after(() => receiver.close());

  const dir = mkdtempSync(path.join(tmpdir(), 'interop-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const configFile = path.join(dir, 'config.yaml');
  const ids = exporters(collector, receiver);
  writeFileSync(
    configFile,
    `receivers:
  kata_monitor:
    collection_interval: 1s
    root_retry_interval: 200ms
    cri: { first_lookup_delay: 100ms, resync_interval: 200ms, timeout: 1s }
exporters:
${Object.entries(ids)
  .map(([id, settings]) => `  ${id}:\n${settings.replace(/^/gm, '    ')}`)
  .join('\n')}
service:
  shutdown_timeout: 5s
  pipelines:
    metrics:
      receivers: [kata_monitor]
      exporters: [${Object.keys(ids).join(', ')}]
`,
  );
  const daemon = spawnDaemon([...hostFlags(demo), '-listen-address=127.0.0.1:0', '-config', configFile]);
  t.after(() => daemon.kill());
  const url = await daemon.serving;

  const withPodMetadata = (r: Receiver['received'][number]): boolean => points([r.request]).some((p) => 'k8s.pod.name' in p.attributes);
  try {
    await until(() => receiver.received.length >= PUSHES && receiver.received.some(withPodMetadata), 30_000, `${PUSHES} pushes, one with pod metadata`);
  } catch (e) {
    throw new Error(`${(e as Error).message}\ndaemon:\n${daemon.stderr()}\ncollector:\n${collector.stderr()}`);
  }
  const quiet = await quietCount(url, Object.keys(ids).find((id) => id.endsWith('/collector'))!, collector);
  daemon.proc.kill('SIGTERM');
  const exit = await daemon.exited;
  assert.equal(exit.code, 0, `the daemon exits 0 on SIGTERM (stderr: ${daemon.stderr()})`);
  await collector.stop();

  const written = collector.requests();
  return {
    sent: points(receiver.received.map((r) => r.request)),
    sentRequests: receiver.received.length,
    written: points(written),
    writtenRequests: written.length,
    wire: [...new Set(receiver.received.map((r) => `${r.encoding}${r.gzip ? '+gzip' : ''}`))],
    quiet,
    daemonLog: daemon.stderr(),
    collectorLog: collector.stderr(),
  };
}

/**
 * The daemon's count of points the collector accepted and the points in the
 * collector's file, once they agree (a push in flight makes them differ for
 * a moment), or as they stand after a few seconds.
 */
async function quietCount(url: string, exporterId: string, collector: Collector): Promise<Run['quiet']> {
  let last: Run['quiet'] = { accepted: undefined, written: 0 };
  for (const end = Date.now() + 5000; Date.now() < end; await sleep(50)) {
    const text = await (await fetch(`${url}/metrics`)).text();
    last = { accepted: sampleValue(text, 'kata_monitor_otlp_sent_points_total', { exporter: exporterId }), written: points(collector.requests()).length };
    if (last.accepted === last.written) break;
  }
  return last;
}

/** Two otlphttp exporters with one set of settings, one to the collector and one to the receiver. */
function otlphttpPair(encoding: 'proto' | 'json', compression: 'gzip' | 'none') {
  const settings = `encoding: ${encoding}\ncompression: ${compression}\ntimeout: 5s`;
  return (collector: Collector, receiver: Receiver): Exporters => ({
    'otlphttp/collector': `endpoint: ${collector.httpEndpoint}\n${settings}`,
    // A full URL, used as written.
    'otlphttp/receiver': `metrics_endpoint: ${receiver.url}\n${settings}`,
  });
}

function assertCollectorWroteWhatWasSent(run: Run): void {
  const context = `\n--- daemon log ---\n${tail(run.daemonLog)}\n--- collector log ---\n${tail(run.collectorLog)}`;

  // Accepted whole: no request refused, split or merged, nothing logged as a problem on either side.
  assert.ok(run.sentRequests >= PUSHES, `the receiver got ${run.sentRequests} requests`);
  assert.equal(run.writtenRequests, run.sentRequests, `one line in the collector's file per request sent${context}`);
  assert.doesNotMatch(run.daemonLog, /OTLP (export rejected|export failed|push incomplete|batch dropped)|not delivered/, 'the daemon reports no failed push');
  assert.doesNotMatch(run.collectorLog, /\t(warn|error)\t/, `the collector logs no warning or error${context}`);

  // Point for point, matched by metric name + attributes + time: everything else equal too.
  assert.ok(run.sent.length > 0, 'points were sent');
  const diff = diffPoints(run.sent, run.written);
  assert.deepEqual(diff.missing.slice(0, 5), [], `every point sent was written once, none added (${diff.missing.length} keys differ)${context}`);
  for (const c of diff.changed.slice(0, 3)) assert.deepEqual(c.actual, c.expected, `point ${c.key} as written by the collector`);
  assert.equal(diff.changed.length, 0, `${diff.changed.length} points changed on the way`);
  assert.equal(run.written.length, run.sent.length);
  // An independent count, should both decoders skip the same thing alike.
  assert.equal(run.quiet.written, run.quiet.accepted, 'the collector wrote as many points as the daemon counts as accepted');

  assertEveryKindArrived(run.written);
  assertStartTimesCarriedOver(run.written);
}

/** The demo data has every kind of metric the daemon sends: each must come out of the collector. */
function assertEveryKindArrived(written: readonly Point[]): void {
  const byType = Map.groupBy(written, (p) => p.type);
  assert.ok(byType.get('gauge')?.some((p) => p.value !== undefined), 'gauges with values');
  assert.ok(
    byType.get('sum')?.some((p) => p.monotonic === true && p.temporality === 2),
    'monotonic cumulative sums (Prometheus counters)',
  );
  const histogram = byType.get('histogram')?.find((p) => (p.explicitBounds?.length ?? 0) > 0 && BigInt(p.count ?? 0) > 0n);
  assert.ok(histogram, 'histograms with explicit bounds and observations');
  assert.equal(histogram.temporality, 2, 'cumulative histograms');
  assert.equal(histogram.bucketCounts?.length, histogram.explicitBounds!.length + 1, 'one bucket count more than bounds');
  assert.equal(
    histogram.bucketCounts!.reduce((a, b) => a + BigInt(b), 0n),
    BigInt(histogram.count!),
    'bucket counts add up to the count',
  );
  assert.ok(histogram.sum !== undefined, 'histograms carry their sum');

  assert.ok(
    written.some((p) => p.attributes['k8s.pod.name']?.startsWith('string:') && p.attributes['k8s.pod.name'] !== 'string:'),
    'point attributes with the pods\' CRI metadata',
  );

  const summaries = written.filter((p) => p.metric === SUMMARY_FAMILY);
  assert.ok(summaries.length > 0, `${SUMMARY_FAMILY} arrived`);
  for (const s of summaries) {
    assert.equal(s.type, 'summary', `${SUMMARY_FAMILY} is a summary`);
    assert.ok((s.quantiles?.length ?? 0) > 0, 'with quantile values');
    assert.deepEqual(
      s.quantiles!.map((q) => q.quantile),
      [...s.quantiles!.map((q) => q.quantile)].sort((a, b) => a - b),
      'quantiles in order',
    );
  }
}

/** Cumulative series seen in several pushes keep one start time, before each point's time. */
function assertStartTimesCarriedOver(written: readonly Point[]): void {
  const cumulative = written.filter((p) => p.temporality === 2 || p.type === 'summary');
  let carried = 0;
  for (const [key, series] of Map.groupBy(cumulative, seriesKey)) {
    for (const p of series) assert.ok(BigInt(p.start) > 0n && BigInt(p.start) <= BigInt(p.time), `${key}: start ${p.start} ≤ time ${p.time}`);
    if (new Set(series.map((p) => p.time)).size < 2) continue;
    assert.equal(new Set(series.map((p) => p.start)).size, 1, `${key}: one start time across pushes`);
    carried++;
  }
  assert.ok(carried > 0, 'some cumulative series were pushed more than once');
}

/**
 * A shim body with the values that are easy to get wrong on the way: they
 * must come out of the collector as they went in.
 */
const EDGE_BODY = `# HELP kata_edge_gauge Special values.
# TYPE kata_edge_gauge gauge
kata_edge_gauge{v="nan"} NaN
kata_edge_gauge{v="inf"} +Inf
kata_edge_gauge{v="-inf"} -Inf
kata_edge_gauge{v="min"} 5e-324
kata_edge_gauge{v="max"} 1.7976931348623157e+308
kata_edge_gauge{v="text",path="C:\\\\dir\\\\file",quote="say \\"hi\\"",nl="a\\nb",utf8="ünï 😀 中文"} 1
# HELP kata_edge_big_total Past 2^53.
# TYPE kata_edge_big_total counter
kata_edge_big_total 9007199254740993
# HELP kata_edge_summary No observations yet: NaN quantiles.
# TYPE kata_edge_summary summary
kata_edge_summary{quantile="0.5"} NaN
kata_edge_summary{quantile="0.99"} NaN
kata_edge_summary_sum 0
kata_edge_summary_count 0
# HELP kata_edge_histogram Only the +Inf bucket.
# TYPE kata_edge_histogram histogram
kata_edge_histogram_bucket{le="+Inf"} 3
kata_edge_histogram_sum 1.5
kata_edge_histogram_count 3
# TYPE kata_edge_untyped untyped
kata_edge_untyped 42 1700000000000
`;

function assertEdgeValuesArrived(written: readonly Point[]): void {
  const gauge = (v: string): number | undefined => {
    const p = written.find((x) => x.metric === 'kata_edge_gauge' && x.attributes['v'] === `string:${v}`);
    return p?.value && 'double' in p.value ? p.value.double : undefined;
  };
  assert.ok(Number.isNaN(gauge('nan')), 'NaN');
  assert.equal(gauge('inf'), Infinity);
  assert.equal(gauge('-inf'), -Infinity);
  assert.equal(gauge('min'), 5e-324);
  assert.equal(gauge('max'), Number.MAX_VALUE);
  const text = written.find((x) => x.metric === 'kata_edge_gauge' && x.attributes['v'] === 'string:text');
  assert.deepEqual(
    { path: text?.attributes['path'], quote: text?.attributes['quote'], nl: text?.attributes['nl'], utf8: text?.attributes['utf8'] },
    { path: 'string:C:\\dir\\file', quote: 'string:say "hi"', nl: 'string:a\nb', utf8: 'string:ünï 😀 中文' },
    'label values unescaped once, UTF-8 intact',
  );
  const big = written.find((x) => x.metric === 'kata_edge_big_total');
  assert.deepEqual(big?.value, { double: 9007199254740992 }, 'a counter past 2^53 as the nearest double');
  const summary = written.find((x) => x.metric === 'kata_edge_summary');
  assert.equal(summary?.type, 'summary');
  assert.deepEqual(summary.quantiles, [{ quantile: 0.5, value: NaN }, { quantile: 0.99, value: NaN }], 'NaN quantiles kept');
  const histogram = written.find((x) => x.metric === 'kata_edge_histogram');
  assert.deepEqual(
    { bounds: histogram?.explicitBounds, buckets: histogram?.bucketCounts, count: histogram?.count, sum: histogram?.sum },
    { bounds: [], buckets: ['3'], count: '3', sum: 1.5 },
    'a histogram of the +Inf bucket alone: no bounds, one bucket',
  );
  const untyped = written.filter((x) => x.metric === 'kata_edge_untyped');
  assert.ok(untyped.length > 0 && untyped.every((p) => p.type === 'gauge' && p.time === '1700000000000000000'), 'untyped as a gauge, at its own timestamp');
}

function tail(text: string, lines = 30): string {
  return text.split('\n').slice(-lines).join('\n');
}

describe('pushing to a real OpenTelemetry Collector (otlp receiver → file exporter)', () => {
  for (const encoding of ['proto', 'json'] as const) {
    for (const compression of ['gzip', 'none'] as const) {
      it(`otlphttp, encoding ${encoding}, compression ${compression}: the collector accepts every request and writes every data point as sent`, async (t) => {
        const run = await pushToCollector(t, otlphttpPair(encoding, compression));
        if (!run) return;
        assert.deepEqual(run.wire, [`${encoding}${compression === 'gzip' ? '+gzip' : ''}`], 'the requests were encoded as configured');
        assertCollectorWroteWhatWasSent(run);
      });
    }
  }

  for (const encoding of ['proto', 'json'] as const) {
    it(`otlphttp, encoding ${encoding}: special values (NaN, ±Inf, integers past 2^53, escaped and non-ASCII label values, empty summaries) arrive as sent`, async (t) => {
      const run = await pushToCollector(t, otlphttpPair(encoding, 'gzip'), { extraShimBody: EDGE_BODY });
      if (!run) return;
      assertCollectorWroteWhatWasSent(run);
      assertEdgeValuesArrived(run.written);
    });
  }

  for (const compression of ['gzip', 'none'] as const) {
    it(`otlp (gRPC), compression ${compression}: the collector accepts every request and writes every data point as sent`, async (t) => {
      const run = await pushToCollector(t, (collector, receiver) => ({
        'otlp/collector': `endpoint: ${collector.grpcEndpoint}\ntls: { insecure: true }\ncompression: ${compression}\ntimeout: 5s`,
        // The receiver records what was sent: the same protobuf request, over HTTP.
        'otlphttp/receiver': `metrics_endpoint: ${receiver.url}\nencoding: proto\ncompression: ${compression}\ntimeout: 5s`,
      }));
      if (!run) return;
      assertCollectorWroteWhatWasSent(run);
    });
  }

  it('otlp (gRPC): special values (NaN, ±Inf, integers past 2^53, escaped and non-ASCII label values, empty summaries) arrive as sent', async (t) => {
    const run = await pushToCollector(
      t,
      (collector, receiver) => ({
        'otlp/collector': `endpoint: ${collector.grpcEndpoint}\ntls: { insecure: true }\ntimeout: 5s`,
        'otlphttp/receiver': `metrics_endpoint: ${receiver.url}\nencoding: proto\ntimeout: 5s`,
      }),
      { extraShimBody: EDGE_BODY },
    );
    if (!run) return;
    assertCollectorWroteWhatWasSent(run);
    assertEdgeValuesArrived(run.written);
  });
});
