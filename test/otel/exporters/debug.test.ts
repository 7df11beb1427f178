// The `debug` exporter, with the collector's keys: a log line per request
// with its counts (basic), plus a line per data point (normal) or every
// field of every point (detailed), sampled per second as the collector's
// zap sampler does (sampling_initial, sampling_thereafter). The layouts are
// compared with the collector's own in test/interop/collector-debug.test.ts;
// here: the daemon as the CLI runs it, and the daemon in process with a
// clock the test holds.

import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostFlags, spawnDaemon } from '../../lifecycle/support.ts';
import { flatten, startReceiver } from '../support/receiver.ts';
import { logged, pipelineYaml, startDemo, startPushing, until, type DemoEnvironment, type LogLine } from './harness.ts';

let demo: DemoEnvironment;
let dir: string;
before(async () => {
  demo = await startDemo({ sandboxes: 2 });
  dir = mkdtempSync(path.join(tmpdir(), 'debug-exporter-'));
});
after(async () => {
  await demo.stop();
  rmSync(dir, { recursive: true, force: true });
});

const countLines = (lines: readonly LogLine[]): LogLine[] => logged(lines, 'MetricsExporter');

describe('debug exporter', () => {
  it('basic, through the CLI: one log line per push with its resource metrics, metrics and data points, every push (identical counts too)', async () => {
    const receiver = await startReceiver();
    const config = path.join(dir, 'basic.yaml');
    writeFileSync(config, pipelineYaml({ debug: 'verbosity: basic', otlphttp: `metrics_endpoint: ${receiver.url}` }, { interval: '200ms' }));
    const d = spawnDaemon(['-config', config, '-log-format', 'json', ...hostFlags(demo), '-listen-address=127.0.0.1:0']);
    try {
      await d.serving;
      await until(() => receiver.received.length >= 4, 'four pushes');
      d.proc.kill('SIGTERM');
      assert.equal((await d.exited).code, 0, d.stderr());
      const lines = d.stderr().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as LogLine);
      const counts = countLines(lines);
      // The final push at SIGTERM reached both exporters.
      assert.equal(counts.length, receiver.received.length, 'a line for every request, though the counts repeat (the log\'s once-a-minute rule does not hide them)');
      counts.forEach((l, k) => {
        const sent = receiver.received[k]!.request;
        assert.equal(l['level'], 'info');
        assert.equal(l['resource_metrics'], 1);
        assert.equal(l['metrics'], sent.resourceMetrics[0]!.scopeMetrics[0]!.metrics.length, `push ${k}: metrics`);
        assert.equal(l['data_points'], flatten(sent).length, `push ${k}: data points`);
        assert.equal(l['request'], k + 1);
      });
      assert.equal(d.stderr().split('\n').filter((l) => l !== '' && !l.startsWith('{')).length, 0, 'basic writes nothing but log lines');
    } finally {
      await d.kill();
      await receiver.close();
    }
  });

  it('normal: a line per resource and scope, then one per data point, summaries and histograms included', async () => {
    const p = await startPushing(demo, pipelineYaml({ debug: 'verbosity: normal' }));
    try {
      const line = await until(() => countLines(p.lines)[0], 'the first push shown');
      const text = p.written[0]!;
      const rows = text.trimEnd().split('\n');
      assert.match(rows[0]!, /^ResourceMetrics #0 service\.name=kata-monitor /);
      assert.equal(rows[1], 'ScopeMetrics #0 kata-otel-monitor');
      const points = rows.slice(2);
      assert.equal(points.length, line['data_points'], 'one line per data point');
      for (const r of points) assert.match(r, /^[a-zA-Z_:][a-zA-Z0-9_:]*\{[^]*\} \S/);
      assert.ok(points.some((r) => /^kata_shim_go_gc_duration_seconds\{.*\} count=\d+ sum=\d+\.\d{6} q0=\S+ q0\.25=/.test(r)), 'a summary');
      assert.ok(points.some((r) => /^kata_monitor_scrape_durations_histogram_milliseconds\{\} count=\d+ sum=\S+ le1=\d+ le2=\d+ .* le512=\d+ \d+$/.test(r)), 'a histogram');
    } finally {
      await p.stop();
    }
  });

  it('detailed: every metric with its descriptor and every data point with its fields', async () => {
    const p = await startPushing(demo, pipelineYaml({ debug: 'verbosity: detailed' }));
    try {
      const line = await until(() => countLines(p.lines)[0], 'the first push shown');
      const text = p.written[0]!;
      assert.equal((text.match(/^Metric #\d+$/gm) ?? []).length, line['metrics']);
      assert.equal((text.match(/^(Number|Histogram|Summary)DataPoints #\d+$/gm) ?? []).length, line['data_points']);
      assert.match(text, /^Resource attributes:\n {5}-> service\.name: Str\(kata-monitor\)$/m);
      assert.match(text, /^StartTimestamp: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d(\.\d+)? \+0000 UTC$/m);
      assert.match(text, /^ {5}-> DataType: Summary\n(.*\n)*?QuantileValue #0: Quantile \d+\.\d{6}, Value \S+$/m);
      assert.match(text, /^ {5}-> DataType: Sum\n {5}-> IsMonotonic: true\n {5}-> AggregationTemporality: Cumulative$/m);
      assert.match(text, /^ExplicitBounds #0: 1\.000000\n(ExplicitBounds #\d+: \S+\n)*Buckets #0, Count: \d+$/m);
    } finally {
      await p.stop();
    }
  });

  it('sampling_initial requests in a second are shown, then one in sampling_thereafter; the next second starts over', async () => {
    let clock = Date.parse('2030-01-01T00:00:00.000Z');
    const out = path.join(dir, 'sampling.jsonl');
    // A batch processor cuts each push into many requests; a file exporter counts them.
    const yaml = `receivers:
  kata_monitor:
    collection_interval: 1h
processors:
  batch:
    send_batch_max_size: 40
exporters:
  debug:
    sampling_initial: 2
    sampling_thereafter: 3
  file:
    path: ${out}
service:
  pipelines:
    metrics: { receivers: [kata_monitor], processors: [batch], exporters: [debug, file] }
`;
    const p = await startPushing(demo, yaml, { now: () => clock });
    /** Request numbers (1-based, from `from`+1) a second of `count` requests shows: the first two, then every third. */
    const shown = (from: number, count: number): number[] =>
      Array.from({ length: count }, (_, k) => k + 1)
        .filter((i) => i <= 2 || (i - 2) % 3 === 0)
        .map((i) => from + i);
    try {
      // One push is handed to the exporters in one go: once a line shows, the whole push has been shown.
      const first = (await until(() => countLines(p.lines).length > 0 && countLines(p.lines), 'the first push shown')).map((l) => l['request'] as number);
      // A second later (the final push at stop): the count starts over.
      clock += 1000;
      await p.stop();
      const second = countLines(p.lines)
        .slice(first.length)
        .map((l) => l['request'] as number);
      const total = readFileSync(out, 'utf8').split('\n').filter(Boolean).length;
      const n1 = second[0]! - 1; // the second push's first request is always shown
      assert.ok(n1 >= 10, `${n1} requests in the first push`);
      assert.deepEqual(first, shown(0, n1), 'first second: requests 1, 2, then 5, 8, 11…');
      assert.deepEqual(second, shown(n1, total - n1), 'next second: its first two, then every third');
    } finally {
      await p.stop();
    }
  });
});
