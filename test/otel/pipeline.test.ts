// A `service.pipelines` entry at work (src/otel/pipeline.ts): every interval
// it reads a snapshot, walks it once with its processors into the forms its
// exporters need, and hands each request to every exporter; here the
// exporters are real otlphttp exporters sending to real receivers. Then the
// export side as the daemon builds it from YAML (exporting.ts).

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultFlags } from '../../src/cli/flags.ts';
import { parseConfig } from '../../src/components.ts';
import type { Exporter } from '../../src/otel/exporters/exporter.ts';
import { makeExporting } from '../../src/otel/exporting.ts';
import { Pipeline } from '../../src/otel/pipeline.ts';
import type { ProcessorConfig } from '../../src/otel/processors/plan.ts';
import { buildResource } from '../../src/otel/resource.ts';
import { exporterFamilies } from '../../src/otel/self-metrics.ts';
import { Translator } from '../../src/otel/translate/walk.ts';
import { SelfMetrics } from '../../src/scrape/self-metrics.ts';
import type { Snapshot, SnapshotSource } from '../../src/scrape/snapshot.ts';
import { BODY_A, BODY_B, fakeSource, snapshot, type FakeSandbox } from './support/fixtures.ts';
import { recordingLogger } from '../support/logger.ts';
import { httpConfig, httpExporter } from './support/exporters.ts';
import { plan as planWith } from './support/otlp.ts';
import { attrMap, flatten, startReceiver } from './support/receiver.ts';
import { until } from './support/tiny.ts';

const SANDBOXES: FakeSandbox[] = [
  { id: 'sb-a', body: BODY_A, metadata: { uid: 'u1', name: 'p1', namespace: 'ns' } },
  { id: 'sb-b', body: BODY_B },
];

/** A fresh snapshot of SANDBOXES, as a source reads one. */
const fresh = (): Snapshot => snapshot(Date.now(), SANDBOXES);

const resource = buildResource({ instanceId: 'i', hostName: 'h', env: {}, attributes: { 'deployment.environment': 'dev' } });

function pipeline(o: { name?: string; processors?: ProcessorConfig[]; exporters: Exporter[]; source: SnapshotSource; translator?: Translator; intervalMs?: number; logger?: ReturnType<typeof recordingLogger>['logger'] }): Pipeline {
  return new Pipeline({
    name: o.name ?? 'metrics',
    plan: planWith(o.processors ?? [], resource),
    exporters: o.exporters,
    source: o.source,
    translator: o.translator ?? new Translator(),
    intervalMs: o.intervalMs ?? 60_000,
    logger: o.logger ?? recordingLogger('warn').logger,
  });
}

const SMALL: ProcessorConfig[] = [
  { type: 'filter', name: 'filter', include: { prefixes: ['kata_agent_scrape_count', 'kata_shim_go_gc_duration'], regexps: [] } },
  { type: 'resource', name: 'resource', attributes: [{ key: 'k8s.cluster.name', action: 'upsert', value: 'lab' }] },
  { type: 'batch', name: 'batch', sendBatchMaxSize: 3 },
];

describe('pipeline', () => {
  it('pushes at once and then every interval: snapshot → walk with its processors → each exporter, in its own encoding, over the wire', async () => {
    const [rp, rj] = await Promise.all([startReceiver(), startReceiver()]);
    const source = fakeSource(fresh);
    const exporters = [httpExporter(httpConfig(rp.url, { name: 'otlphttp/proto', compression: 'gzip' })), httpExporter(httpConfig(rj.url, { name: 'otlphttp/json', encoding: 'json' }))];
    const p = pipeline({ processors: SMALL, exporters, source, intervalMs: 60 });
    try {
      p.start();
      // 4 points a push (scrape_count and the GC summary × 2 sandboxes), batches of ≤ 3 → 2 requests a push
      await Promise.all([rp.waitFor(4), rj.waitFor(4)]);
      p.stop();
      assert.ok(source.reads.length >= 2 && source.reads.every((r) => r === 'push'), source.reads.join());
      for (const rx of [rp, rj]) {
        const first = rx.received.slice(0, 2).flatMap((r) => flatten(r.request));
        assert.deepEqual(first.map((q) => `${q.metric}/${q.attrs['sandbox_id']}`).sort(), [
          'kata_agent_scrape_count/sb-a',
          'kata_agent_scrape_count/sb-b',
          'kata_shim_go_gc_duration_seconds/sb-a',
          'kata_shim_go_gc_duration_seconds/sb-b',
        ]);
        assert.deepEqual(
          rx.received.slice(0, 2).map((r) => flatten(r.request).length),
          [3, 1],
        );
        assert.deepEqual(attrMap(rx.received[0]!.request.resourceMetrics[0]!.resource?.attributes), {
          'service.name': 'kata-monitor',
          'service.instance.id': 'i',
          'host.name': 'h',
          'deployment.environment': 'dev',
          'k8s.cluster.name': 'lab',
        });
      }
      assert.ok(rp.received.every((r) => r.gzip && r.encoding === 'proto'));
      assert.ok(rj.received.every((r) => !r.gzip && r.encoding === 'json'));
      assert.deepEqual(flatten(rj.received[0]!.request), flatten(rp.received[0]!.request));
      const last = await p.push();
      assert.deepEqual([last.dataPoints, last.requests, last.errors], [4, 2, []]);
      const sent = exporterFamilies(p.exporters.map((e) => e.status())).find((f) => f.name === 'kata_monitor_otlp_sent_batches_total');
      assert.deepEqual(
        sent?.metrics.map((m) => m.labels.map((l) => l.value)),
        [
          ['otlphttp/proto', 'metrics'],
          ['otlphttp/json', 'metrics'],
        ],
      );
    } finally {
      await p.shutdown(200);
      await Promise.all([rp.close(), rj.close()]);
    }
  });

  it('pipelines sharing the translator see the same start times for the snapshot they both push', async () => {
    const [ra, rb] = await Promise.all([startReceiver(), startReceiver()]);
    let current = snapshot(1_000_000, [{ id: 'a', body: '# TYPE c counter\nc 5\n' }]);
    const source = fakeSource(() => current);
    const translator = new Translator();
    const pa = pipeline({ name: 'a', exporters: [httpExporter(httpConfig(ra.url), 'a')], source, translator });
    const pb = pipeline({ name: 'b', exporters: [httpExporter(httpConfig(rb.url, { encoding: 'json' }), 'b')], source, translator });
    try {
      const starts = async (): Promise<string[]> => {
        await pa.push();
        await pb.push();
        await Promise.all([pa.exporters[0]!, pb.exporters[0]!].map((e) => (e as ReturnType<typeof httpExporter>).forceFlush(2000)));
        return [ra, rb].map((r) => flatten(r.received.at(-1)!.request)[0]!.point.startTimeUnixNano ?? '');
      };
      assert.deepEqual(await starts(), [String(1_000_000n * 1_000_000n), String(1_000_000n * 1_000_000n)]);
      current = snapshot(2_000_000, [{ id: 'a', body: '# TYPE c counter\nc 2\n' }]);
      // The counter fell: restarted after the look at 1,000,000 ms, for both.
      assert.deepEqual(await starts(), [String(1_000_000n * 1_000_000n), String(1_000_000n * 1_000_000n)]);
      current = snapshot(3_000_000, [{ id: 'a', body: '# TYPE c counter\nc 1\n' }]);
      assert.deepEqual(await starts(), [String(2_000_000n * 1_000_000n), String(2_000_000n * 1_000_000n)]);
    } finally {
      await Promise.all([pa.shutdown(100), pb.shutdown(100)]);
      await Promise.all([ra.close(), rb.close()]);
    }
  });

  it('shares one push between concurrent callers, and sends nothing for a push without points', async () => {
    const rx = await startReceiver();
    const source = fakeSource(fresh);
    const p = pipeline({ processors: [{ type: 'filter', name: 'filter', include: { prefixes: ['no_such_metric'], regexps: [] } }], exporters: [httpExporter(httpConfig(rx.url))], source });
    try {
      const [a, b] = await Promise.all([p.push(), p.push()]);
      assert.equal(a, b);
      assert.deepEqual(source.reads, ['push']);
      assert.deepEqual([a.dataPoints, a.requests, a.errors], [0, 0, []]);
      assert.equal(await (p.exporters[0] as ReturnType<typeof httpExporter>).forceFlush(1000), true);
      assert.equal(rx.attempts.length, 0);
    } finally {
      await p.shutdown(100);
      await rx.close();
    }
  });

  it('has nothing to push without exporters that push, and does not read snapshots then', () => {
    const source = fakeSource(fresh);
    const p = pipeline({ exporters: [], source });
    assert.equal(p.pushes, false);
    p.start();
    assert.deepEqual(source.reads, []);
  });

  it('on shutdown pushes once more and flushes what the outage held back', async () => {
    let down = true;
    const rx = await startReceiver(() => (down ? { status: 503 } : {}));
    const exporter = httpExporter(httpConfig(rx.url));
    const p = pipeline({ processors: [{ type: 'filter', name: 'f', include: { prefixes: ['kata_agent_scrape_count'], regexps: [] } }], exporters: [exporter], source: fakeSource(fresh), intervalMs: 10_000 });
    p.start();
    await until(() => (exporter.status().queue?.failedSends ?? 0) >= 1, 5000, 'a failed send');
    down = false;
    assert.equal(await p.shutdown(5000), true);
    // the start-up push and the final one
    assert.equal(rx.received.length, 2);
    await rx.close();
  });

  it('reports a failing snapshot source as a push error instead of throwing, and logs the push as incomplete', async () => {
    const { logger, records } = recordingLogger('warn');
    const source: SnapshotSource = { read: () => Promise.reject(new Error('registry gone')), latest: () => undefined };
    const p = pipeline({ exporters: [httpExporter(httpConfig('http://127.0.0.1:9/v1/metrics'))], source, logger });
    const r = await p.push();
    assert.deepEqual([r.dataPoints, r.requests, r.errors], [0, 0, ['push not encoded: registry gone']]);
    assert.ok(records.some((x) => x.msg === 'OTLP push incomplete' && x['first'] === 'push not encoded: registry gone'));
    await p.shutdown(100);
  });

  it('pushes what it could translate when the walk reports errors', async () => {
    const rx = await startReceiver();
    const { logger, records } = recordingLogger('warn');
    const source = fakeSource(() =>
      snapshot(1000, [
        { id: 'a', body: '# TYPE x counter\nx 1\n' },
        { id: 'b', body: '# TYPE x gauge\nx 2\n' },
      ]),
    );
    const exporter = httpExporter(httpConfig(rx.url));
    const p = pipeline({ exporters: [exporter], source, logger });
    try {
      const r = await p.push();
      assert.deepEqual([r.dataPoints, r.errors], [1, ['family x is a gauge in sandbox b but a counter elsewhere; skipped there']]);
      assert.equal(await exporter.forceFlush(2000), true);
      assert.equal(flatten(rx.received[0]!.request).length, 1);
      assert.ok(records.some((x) => x.msg === 'OTLP push incomplete'));
    } finally {
      await p.shutdown(100);
      await rx.close();
    }
  });
});

describe('the export side as the daemon builds it from YAML (makeExporting)', () => {
  it('pushes each pipeline to its exporters; a prometheus exporter is a pull route, not part of the push', async () => {
    const rx = await startReceiver();
    const yaml = [
      'receivers:',
      '  kata_monitor:',
      '    collection_interval: 1h',
      'processors:',
      '  filter:',
      '    include: { prefixes: [kata_agent_scrape_count] }',
      'exporters:',
      `  otlphttp: { metrics_endpoint: "${rx.url}", compression: none }`,
      '  prometheus: {}',
      'service:',
      '  telemetry: { resource: { deployment.environment: lab } }',
      '  pipelines:',
      '    metrics:',
      '      receivers: [kata_monitor]',
      '      processors: [filter]',
      '      exporters: [otlphttp, prometheus]',
    ].join('\n');
    const parsed = parseConfig(yaml, { flags: defaultFlags(), explicitFlags: new Set(), env: {} });
    assert.ok(parsed.ok, parsed.ok ? '' : parsed.errors.join('\n'));
    const source = fakeSource(fresh);
    const exporting = makeExporting({ env: { NODE_NAME: 'worker-7' } })({ config: parsed.config, source, selfMetrics: new SelfMetrics(), logger: recordingLogger('warn').logger });
    try {
      assert.deepEqual(
        exporting.routes.map((r) => r.path),
        ['/otel/metrics'],
      );
      await exporting.start();
      await rx.waitFor(1);
      const points = flatten(rx.received[0]!.request);
      assert.deepEqual(
        points.map((q) => `${q.metric}/${q.attrs['sandbox_id']}`),
        ['kata_agent_scrape_count/sb-a', 'kata_agent_scrape_count/sb-b'],
      );
      const res = attrMap(rx.received[0]!.request.resourceMetrics[0]!.resource?.attributes);
      assert.deepEqual([res['service.name'], res['k8s.node.name'], res['deployment.environment']], ['kata-monitor', 'worker-7', 'lab']);
      assert.deepEqual(
        exporting.status().map((r) => r.name),
        ['metrics/otlphttp'],
      );
      const text = await (await exporting.routes[0]!.handler(new Request('http://localhost/otel/metrics'))).text();
      assert.match(text, /^kata_agent_scrape_count_total\{.*sandbox_id="sb-a".*\} 1361$/m);
      assert.doesNotMatch(text, /go_gc_duration/, 'the filter applies to the pull route too');
    } finally {
      await exporting.shutdown(1000);
      await rx.close();
    }
  });
});
