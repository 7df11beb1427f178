import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { OtlpHttpExporter } from '../../src/otel/exporters.ts';
import type { OtelMetricData, OtelResourceMetrics } from '../../src/otel/model.ts';
import { buildResource } from '../../src/otel/resource.ts';
import { Translator } from '../../src/otel/translate.ts';
import { BODY_A, BODY_B, scaledBody, snapshot } from './support/fixtures.ts';
import { attrMap, flatten, startReceiver, type FlatPoint, type Receiver } from './support/receiver.ts';

const RETRY = { enabled: true, initialIntervalMs: 20, maxIntervalMs: 50, maxElapsedMs: 0 };
const QUEUE = { enabled: true, sizer: 'requests' as const, size: 10, dropPolicy: 'oldest' as const };
const META = { uid: 'uid-1', name: 'nginx-1', namespace: 'web' };
const T0 = 1_700_000_000_000;

function translation() {
  const t = new Translator({ resource: buildResource({ instanceId: 'inst-1', hostName: 'node-a', env: { K8S_NODE_NAME: 'worker-1' } }) });
  t.translate(snapshot(T0, [{ id: 'sb1', body: BODY_A, metadata: META }]));
  t.translate(snapshot(T0 + 10_000, [{ id: 'sb1', body: BODY_A, metadata: META }]));
  // B has lower counters than A: a restart, so start times move to T0 + 10 s.
  return t.translate(snapshot(T0 + 20_000, [{ id: 'sb1', body: BODY_B, metadata: META }]));
}

function find(points: FlatPoint[], metric: string, attrs: Record<string, string> = {}): FlatPoint {
  const p = points.find((x) => x.metric === metric && Object.entries(attrs).every(([k, v]) => x.attrs[k] === v));
  assert.ok(p, `point of ${metric} ${JSON.stringify(attrs)}`);
  return p;
}

const NS = (ms: number) => String(BigInt(ms) * 1_000_000n);

for (const encoding of ['proto', 'json'] as const) {
  for (const compression of ['none', 'gzip'] as const) {
    describe(`OTLP/HTTP on the wire: ${encoding}, compression ${compression}`, () => {
      let rx: Receiver;
      let points: FlatPoint[];
      let exporter: OtlpHttpExporter;
      const tr = translation();

      before(async () => {
        rx = await startReceiver();
        exporter = new OtlpHttpExporter(
          { name: 'otlphttp/test', endpoint: rx.url, encoding, compression, headers: { authorization: 'Bearer t0k3n' }, timeoutMs: 2000, retry: RETRY, queue: QUEUE },
          { env: {} },
        );
        assert.equal(exporter.export(tr.resourceMetrics), true);
        await rx.waitFor(1);
        points = flatten(rx.received[0]!.request);
      });
      after(async () => {
        await exporter.shutdown(100);
        await rx.close();
      });

      it('sends the configured content type, encoding and headers', () => {
        const r = rx.received[0]!;
        assert.equal(r.encoding, encoding);
        assert.equal(r.gzip, compression === 'gzip');
        assert.equal(r.headers['authorization'], 'Bearer t0k3n');
        assert.equal(r.headers['content-type'], encoding === 'proto' ? 'application/x-protobuf' : 'application/json');
      });

      it('carries every data point', () => {
        assert.equal(points.length, tr.dataPoints);
      });

      it('carries the resource and scope', () => {
        const rm = rx.received[0]!.request.resourceMetrics[0]!;
        assert.deepEqual(attrMap(rm.resource?.attributes), {
          'service.name': 'kata-monitor',
          'service.instance.id': 'inst-1',
          'host.name': 'node-a',
          'k8s.node.name': 'worker-1',
        });
        assert.equal(rm.scopeMetrics[0]?.scope?.name, 'kata-otel-monitor');
      });

      it('sends counters as monotonic cumulative sums with a value, names unchanged', () => {
        const p = find(points, 'kata_agent_scrape_count');
        assert.equal(p.type, 'sum');
        assert.equal(p.sum?.isMonotonic, true);
        assert.equal(p.sum?.aggregationTemporality, 2);
        assert.equal(p.point.asDouble, 1285);
        assert.equal(p.description, 'Metrics scrape count');
      });

      it('sends start times: reset counters restart, growing ones keep their first sighting', () => {
        const reset = find(points, 'kata_agent_scrape_count').point;
        assert.equal(reset.startTimeUnixNano, NS(T0 + 10_000));
        assert.equal(reset.timeUnixNano, NS(T0 + 20_000));
        assert.equal(find(points, 'kata_shim_go_gc_duration_seconds').point.startTimeUnixNano, NS(T0));
      });

      it('sends gauges with their labels and the sandbox / k8s attributes', () => {
        const p = find(points, 'kata_shim_go_info');
        assert.equal(p.type, 'gauge');
        assert.equal(p.point.asDouble, 1);
        assert.deepEqual(p.attrs, {
          version: p.attrs['version'],
          sandbox_id: 'sb1',
          cri_uid: 'uid-1',
          cri_name: 'nginx-1',
          cri_namespace: 'web',
          'k8s.pod.uid': 'uid-1',
          'k8s.pod.name': 'nginx-1',
          'k8s.namespace.name': 'web',
        });
      });

      it('sends histograms with explicit bounds and de-cumulated bucket counts', () => {
        const p = find(points, 'kata_shim_rpc_durations_histogram_milliseconds', { action: 'close_io' });
        assert.equal(p.type, 'histogram');
        assert.equal(p.temporality, 2);
        assert.deepEqual(p.point.explicitBounds, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512]);
        const counts = (p.point.bucketCounts ?? []).map(Number);
        assert.equal(counts.length, 11);
        assert.equal(
          counts.reduce((a, b) => a + b, 0),
          Number(p.point.count),
        );
      });

      it('sends summaries as OTLP Summary points with quantiles, sum and count', () => {
        const p = find(points, 'kata_shim_go_gc_duration_seconds');
        assert.equal(p.type, 'summary');
        assert.equal(p.point.count, '3339');
        assert.equal(p.point.sum, 0.21702837573894534);
        assert.deepEqual(
          (p.point.quantileValues ?? []).map((q) => [q.quantile ?? 0, q.value]),
          [
            [0, 2.970507265068591e-5],
            [0.25, 6.258489825725652e-5],
            [0.5, 0.0001201379377422043],
            [0.75, 0.00024693504711625577],
            [1, 0.000604586209966636],
          ],
        );
      });
    });
  }
}

describe('several exporters at once', () => {
  it('delivers the same data to each, in each one’s encoding', async () => {
    const [a, b] = await Promise.all([startReceiver(), startReceiver()]);
    const common = { headers: {}, timeoutMs: 2000, retry: RETRY, queue: QUEUE, compression: 'none' as const };
    const ea = new OtlpHttpExporter({ name: 'a', endpoint: a.url, encoding: 'proto', ...common }, { env: {} });
    const eb = new OtlpHttpExporter({ name: 'b', endpoint: b.url, encoding: 'json', ...common }, { env: {} });
    try {
      const tr = translation();
      ea.export(tr.resourceMetrics);
      eb.export(tr.resourceMetrics);
      assert.deepEqual(await Promise.all([ea.forceFlush(2000), eb.forceFlush(2000)]), [true, true]);
      assert.deepEqual(flatten(a.received[0]!.request), flatten(b.received[0]!.request));
      assert.equal(ea.status().sentPoints, tr.dataPoints);
      assert.equal(eb.status().sentPoints, tr.dataPoints);
    } finally {
      await Promise.all([ea.shutdown(100), eb.shutdown(100)]);
      await Promise.all([a.close(), b.close()]);
    }
  });
});

describe('protobuf encoder: a push of 20 sandboxes', () => {
  it('decodes to the points its OTLP/JSON carries (2.4 MB: message lengths of 1 to 4 bytes)', async () => {
    const { encodeProto, encodeJson } = await import('../../src/otel/otlp-encode.ts');
    const { decodeProto, decodeJson } = await import('./support/receiver.ts');
    const t = new Translator({ resource: buildResource({ instanceId: 'inst-1', hostName: 'node-a', env: {} }) });
    const sandboxes = (at: number) =>
      snapshot(
        at,
        Array.from({ length: 20 }, (_, i) => ({ id: `sb${i}`, body: scaledBody(i % 2 ? BODY_B : BODY_A, 1 + i / 10 + at / 1e5), metadata: { ...META, name: `pod-${i}` } })),
      );
    t.translate(sandboxes(T0));
    const tr = t.translate(sandboxes(T0 + 10_000)); // the second push: attributes and labels reused
    const proto = encodeProto([tr.resourceMetrics]);
    assert.ok(proto.length > 2_097_152, `${proto.length} bytes`);
    const points = flatten(decodeProto(proto));
    assert.equal(points.length, tr.dataPoints);
    assert.deepEqual(points, flatten(decodeJson(new TextDecoder().decode(encodeJson([tr.resourceMetrics])))));
    assert.equal(find(points, 'kata_agent_scrape_count', { sandbox_id: 'sb19' }).attrs['cri_name'], 'pod-19');
  });
});

describe('protobuf encoder: shared sandbox attributes', () => {
  it('still encodes exactly the attributes present when a point’s attributes were edited after translation', async () => {
    const { encodeProto } = await import('../../src/otel/otlp-encode.ts');
    const { decodeProto } = await import('./support/receiver.ts');
    const tr = translation();
    const m = tr.resourceMetrics.scopeMetrics[0]!.metrics.find((x) => x.descriptor.name === 'kata_shim_go_info')!;
    const p = m.dataPoints[0]!;
    const edited = { ...p.attributes, extra: 'x', cri_name: 'changed' };
    delete (edited as Record<string, unknown>)['k8s.pod.uid'];
    const edited1 = { ...m, dataPoints: [{ ...p, attributes: edited }] } as OtelMetricData;
    const rm: OtelResourceMetrics = { resource: tr.resourceMetrics.resource, scopeMetrics: [{ scope: { name: 's' }, metrics: [edited1] }] };
    const got = flatten(decodeProto(encodeProto([rm])))[0]!.attrs;
    assert.deepEqual(got, Object.fromEntries(Object.entries(edited)));
  });
});
