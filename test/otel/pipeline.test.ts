import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PipelineConfig, ProcessorConfig } from '../../src/config/types.ts';
import type { Snapshot, SnapshotSource } from '../../src/scrape/snapshot.ts';
import { countDataPoints } from '../../src/otel/model.ts';
import { IndexEncoder } from '../../src/otel/index-encoder.ts';
import { Pipeline } from '../../src/otel/pipeline.ts';
import { applyProcessors } from '../../src/otel/processors.ts';
import { SnapshotMetricProducer } from '../../src/otel/producer.ts';
import { buildResource } from '../../src/otel/resource.ts';
import { Translator } from '../../src/otel/translate.ts';
import { BODY_A, BODY_B, snapshot } from './support/fixtures.ts';
import { attrMap, flatten, startReceiver } from './support/receiver.ts';
import { until } from './support/tiny.ts';

/** A SnapshotSource over fixture bodies; counts scrapes. */
function fakeSource(): SnapshotSource & { scrapes: number } {
  let last: Snapshot | undefined;
  const src = {
    scrapes: 0,
    scrape: async () => {
      src.scrapes++;
      last = snapshot(Date.now(), [
        { id: 'sb-a', body: BODY_A, metadata: { uid: 'u1', name: 'p1', namespace: 'ns' } },
        { id: 'sb-b', body: BODY_B },
      ]);
      return last;
    },
    read: async <T>(reader: (s: Snapshot) => Promise<T> | T): Promise<T> => reader(await src.scrape()),
    latest: () => last,
  };
  return src;
}

function translator(): Translator {
  return new Translator({ resource: buildResource({ instanceId: 'i', hostName: 'h', env: {}, attributes: { 'deployment.environment': 'dev' } }) });
}

const EXPORTER = (endpoint: string) =>
  ({
    type: 'otlphttp',
    name: 'otlphttp',
    endpoint,
    encoding: 'proto',
    compression: 'gzip',
    headers: {},
    timeoutMs: 1000,
    retry: { enabled: true, initialIntervalMs: 20, maxIntervalMs: 40, maxElapsedMs: 0 },
    queue: { enabled: true, sizer: 'requests', size: 10, dropPolicy: 'oldest' },
  }) as const;

describe('processors', () => {
  const tr = translator().translate(snapshot(1000, [{ id: 'a', body: BODY_A }]));
  const rm = tr.resourceMetrics;
  const names = (r: typeof rm) => r.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.descriptor.name));

  it('filter: include by prefix or regexp, then exclude', () => {
    const p: ProcessorConfig = {
      type: 'filter',
      name: 'filter',
      include: { prefixes: ['kata_agent_'], regexps: [/^kata_shim_go_gc_/] },
      exclude: { prefixes: [], regexps: [/rss|virtual/g] },
    };
    const out = applyProcessors(rm, [p]);
    assert.equal(out.length, 1);
    const kept = names(out[0]!);
    assert.ok(kept.includes('kata_agent_scrape_count'));
    assert.ok(kept.includes('kata_shim_go_gc_duration_seconds'));
    assert.ok(!kept.some((n) => /rss|virtual/.test(n)));
    assert.ok(kept.every((n) => n.startsWith('kata_agent_') || n.startsWith('kata_shim_go_gc_')));
  });

  it('resource: insert only adds, update only changes, upsert sets, delete removes', () => {
    const p: ProcessorConfig = {
      type: 'resource',
      name: 'resource',
      attributes: [
        { key: 'service.name', action: 'insert', value: 'ignored' },
        { key: 'cluster', action: 'insert', value: 'c1' },
        { key: 'host.name', action: 'update', value: 'renamed' },
        { key: 'absent', action: 'update', value: 'x' },
        { key: 'tier', action: 'upsert', value: 3 },
        { key: 'service.instance.id', action: 'delete' },
      ],
    };
    const [out] = applyProcessors(rm, [p]);
    assert.deepEqual(out!.resource.attributes, {
      'service.name': 'kata-monitor',
      'host.name': 'renamed',
      'deployment.environment': 'dev',
      cluster: 'c1',
      tier: 3,
    });
  });

  it('batch: splits into requests of at most sendBatchMaxSize points, losing and reordering none', () => {
    const out = applyProcessors(rm, [{ type: 'batch', name: 'batch', sendBatchMaxSize: 100 }]);
    assert.equal(out.length, Math.ceil(tr.dataPoints / 100));
    assert.ok(out.every((r) => countDataPoints(r) <= 100));
    const flat = (rs: (typeof rm)[]) => rs.flatMap((r) => r.scopeMetrics.flatMap((s) => s.metrics.flatMap((m) => m.dataPoints.map((p) => `${m.descriptor.name} ${JSON.stringify(p.attributes)}`))));
    assert.deepEqual(flat(out), flat([rm]));
  });
});

describe('pipeline', () => {
  for (const path of ['the object model', 'the protobuf path (index encoder)'] as const) {
    it(`pushes every interval: scrape → translate → processors → each exporter, over the wire, through ${path}`, async () => {
      const rx = await startReceiver();
      const source = fakeSource();
      const config: PipelineConfig = {
        name: 'metrics',
        receivers: ['kata_monitor'],
        processors: [
          { type: 'filter', name: 'filter', include: { prefixes: ['kata_agent_scrape_count', 'kata_shim_go_gc_duration'], regexps: [] } },
          { type: 'resource', name: 'resource', attributes: [{ key: 'k8s.cluster.name', action: 'upsert', value: 'lab' }] },
          { type: 'batch', name: 'batch', sendBatchMaxSize: 3 },
        ],
        exporters: [EXPORTER(rx.url), { type: 'prometheus', name: 'prometheus', path: '/otel/metrics' }],
      };
      const encoder = path === 'the object model' ? {} : { encoder: new IndexEncoder() };
      const pipeline = new Pipeline({ config, producer: new SnapshotMetricProducer({ source, translator: translator() }), collectionIntervalMs: 60, env: {}, ...encoder });
      try {
        assert.equal(pipeline.exporters.length, 1, 'the prometheus exporter is a pull endpoint, not part of the push');
        pipeline.start();
        // 4 points a push (scrape_count and gc summary × 2 sandboxes), batches of ≤ 3 → 2 requests a push
        await rx.waitFor(4, 3000);
        pipeline.stop();
        assert.ok(source.scrapes >= 2);
        const first = rx.received.slice(0, 2).flatMap((r) => flatten(r.request));
        assert.deepEqual(first.map((p) => `${p.metric}/${p.attrs['sandbox_id']}`).sort(), [
          'kata_agent_scrape_count/sb-a',
          'kata_agent_scrape_count/sb-b',
          'kata_shim_go_gc_duration_seconds/sb-a',
          'kata_shim_go_gc_duration_seconds/sb-b',
        ]);
        assert.ok(rx.received.every((r) => r.gzip && flatten(r.request).length <= 3));
        assert.equal(attrMap(rx.received[0]!.request.resourceMetrics[0]!.resource?.attributes)['k8s.cluster.name'], 'lab');
        const st = pipeline.status();
        assert.equal(st.lastPush?.dataPoints, 4);
        assert.equal(st.lastPush?.requests, 2);
        assert.deepEqual(st.lastPush?.errors, []);
        assert.equal(pipeline.families().find((f) => f.name === 'kata_monitor_otlp_sent_batches_total')?.metrics[0]?.labels[1]?.value, 'metrics');
      } finally {
        await pipeline.shutdown(200);
        await rx.close();
      }
    });
  }

  it('on shutdown pushes once more and flushes what the outage held back', async () => {
    let down = true;
    const rx = await startReceiver(() => (down ? { status: 503 } : {}));
    const config: PipelineConfig = {
      name: 'p',
      receivers: [],
      processors: [{ type: 'filter', name: 'f', include: { prefixes: ['kata_agent_scrape_count'], regexps: [] } }],
      exporters: [EXPORTER(rx.url)],
    };
    const pipeline = new Pipeline({ config, producer: new SnapshotMetricProducer({ source: fakeSource(), translator: translator() }), collectionIntervalMs: 10_000, env: {} });
    pipeline.start();
    await until(() => pipeline.status().exporters[0]!.failedSends >= 1, 2000, 'a failed send');
    down = false;
    assert.equal(await pipeline.shutdown(2000), true);
    // the start-up push and the final one
    assert.equal(rx.received.length, 2);
    await rx.close();
  });

  it('reports a failing snapshot source as a push error instead of throwing', async () => {
    const source: SnapshotSource = { scrape: () => Promise.reject(new Error('registry gone')), read: () => Promise.reject(new Error('registry gone')), latest: () => undefined };
    const config: PipelineConfig = { name: 'p', receivers: [], processors: [], exporters: [] };
    const pipeline = new Pipeline({ config, producer: new SnapshotMetricProducer({ source, translator: translator() }), collectionIntervalMs: 1000 });
    const r = await pipeline.push();
    assert.equal(r.dataPoints, 0);
    assert.match(r.errors[0] ?? '', /no snapshot: registry gone/);
    // The protobuf path says so too.
    const direct = new Pipeline({ config: { ...config, exporters: [EXPORTER('http://127.0.0.1:9/')] }, producer: new SnapshotMetricProducer({ source, translator: translator() }), encoder: new IndexEncoder(), collectionIntervalMs: 1000, env: {} });
    const d = await direct.push();
    assert.equal(d.dataPoints, 0);
    assert.match(d.errors[0] ?? '', /push not encoded: registry gone/);
    await direct.shutdown(100);
  });
});
