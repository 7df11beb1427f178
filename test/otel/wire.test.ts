// A push on the wire: the walk's requests through an otlphttp exporter (its
// queue and the real HttpTransport) to a real OTLP/HTTP receiver, which
// decodes them with protobufjs over proto/ (or as OTLP/JSON), for each
// encoding and compression.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { packageVersion } from '../../src/package-info.ts';
import { planOf } from '../../src/otel/processors/plan.ts';
import { buildResource } from '../../src/otel/resource.ts';
import type { OtlpRequest } from '../../src/otel/requests.ts';
import { encodeSnapshot, type EncodedPush } from '../../src/otel/translate/encode.ts';
import { Translator } from '../../src/otel/translate/walk.ts';
import { BODY_A, BODY_B, snapshot } from './support/fixtures.ts';
import { httpConfig, httpExporter } from './support/exporters.ts';
import { attrMap, flatten, startReceiver, type FlatPoint, type Receiver } from './support/receiver.ts';

const META = { uid: 'uid-1', name: 'nginx-1', namespace: 'web' };
const T0 = 1_700_000_000_000;
const ALL = { proto: true, protoGzip: true, json: true, jsonGzip: true, points: false };

/** The third push of one sandbox: A, A, then B (lower counters: a restart, so start times move to T0 + 10 s). */
async function thirdPush(): Promise<EncodedPush> {
  const t = new Translator();
  const plan = planOf(buildResource({ instanceId: 'inst-1', hostName: 'node-a', env: { K8S_NODE_NAME: 'worker-1' } }), []);
  await encodeSnapshot(t, snapshot(T0, [{ id: 'sb1', body: BODY_A, metadata: META }]), plan, ALL);
  await encodeSnapshot(t, snapshot(T0 + 10_000, [{ id: 'sb1', body: BODY_A, metadata: META }]), plan, ALL);
  return encodeSnapshot(t, snapshot(T0 + 20_000, [{ id: 'sb1', body: BODY_B, metadata: META }]), plan, ALL);
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
      let push: EncodedPush;
      let exporter: ReturnType<typeof httpExporter>;

      before(async () => {
        rx = await startReceiver();
        push = await thirdPush();
        exporter = httpExporter(httpConfig(rx.url, { name: 'otlphttp/test', encoding, compression, headers: { authorization: 'Bearer t0k3n' } }));
        assert.equal(push.requests.length, 1);
        assert.equal(exporter.export(push.requests[0]!), true);
        assert.equal(await exporter.forceFlush(2000), true);
        points = flatten(rx.received[0]!.request);
      });
      after(async () => {
        await exporter.shutdown(100);
        await rx.close();
      });

      it('sends the content type of its encoding, gzip when it compresses, the configured headers and our user agent', () => {
        const r = rx.received[0]!;
        assert.equal(r.encoding, encoding);
        assert.equal(r.gzip, compression === 'gzip');
        assert.equal(r.headers['authorization'], 'Bearer t0k3n');
        assert.equal(r.headers['content-type'], encoding === 'proto' ? 'application/x-protobuf' : 'application/json');
        assert.equal(r.headers['user-agent'], `kata-otel-monitor/${packageVersion()}`);
        assert.equal(r.path, '/v1/metrics');
      });

      it('carries every data point, and counts them as sent', async () => {
        assert.equal(points.length, push.points);
        assert.equal(exporter.status().queue?.sentPoints, push.points);
        assert.equal(exporter.status().queue?.sentBatches, 1);
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

describe('headers', () => {
  it('the Content-Type is the encoding’s, whatever the configured headers say', async () => {
    const rx = await startReceiver();
    const e = httpExporter(httpConfig(rx.url, { encoding: 'json', headers: { 'content-type': 'text/plain', 'Content-Type': 'text/html', 'x-tenant': 'a' } }));
    try {
      e.export((await thirdPush()).requests[0]!);
      assert.equal(await e.forceFlush(2000), true);
      assert.equal(rx.received[0]?.headers['content-type'], 'application/json');
      assert.equal(rx.received[0]?.headers['x-tenant'], 'a');
    } finally {
      await e.shutdown(100);
      await rx.close();
    }
  });
});

describe('several exporters at once', () => {
  it('delivers the same data to each, in each one’s encoding, from one walk', async () => {
    const rxs = await Promise.all([startReceiver(), startReceiver(), startReceiver()]);
    const exporters = [
      httpExporter(httpConfig(rxs[0]!.url, { name: 'a', encoding: 'proto', compression: 'gzip' })),
      httpExporter(httpConfig(rxs[1]!.url, { name: 'b', encoding: 'json', compression: 'none' })),
      httpExporter(httpConfig(rxs[2]!.url, { name: 'c', encoding: 'json', compression: 'gzip' })),
    ];
    try {
      const push = await thirdPush();
      const request: OtlpRequest = push.requests[0]!;
      for (const e of exporters) assert.equal(e.export(request), true);
      assert.deepEqual(await Promise.all(exporters.map((e) => e.forceFlush(2000))), [true, true, true]);
      const [a, b, c] = rxs.map((r) => flatten(r.received[0]!.request));
      assert.deepEqual(b, a);
      assert.deepEqual(c, a);
      for (const e of exporters) assert.equal(e.status().queue?.sentPoints, push.points);
    } finally {
      await Promise.all(exporters.map((e) => e.shutdown(100)));
      await Promise.all(rxs.map((r) => r.close()));
    }
  });
});
