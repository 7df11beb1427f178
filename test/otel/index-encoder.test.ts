// The protobuf push path (index-encoder.ts) against the object-model path
// (translate.ts + processors + otlp-encode.ts): for the same snapshots, the
// same requests, byte for byte, start times included.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { ProcessorConfig } from '../../src/config/types.ts';
import type { MetricFamily } from '../../src/exposition/model.ts';
import { IndexEncoder } from '../../src/otel/index-encoder.ts';
import { encodeProto } from '../../src/otel/otlp-encode.ts';
import { applyProcessors, pushPlan } from '../../src/otel/processors.ts';
import { Translator } from '../../src/otel/translate.ts';
import type { Snapshot } from '../../src/scrape/snapshot.ts';
import { BODY_A, BODY_B, scaledBody, snapshot, type FakeSandbox } from './support/fixtures.ts';
import { decodeProto } from './support/receiver.ts';

const RESOURCE = resourceFromAttributes({ 'service.name': 'kata-monitor', 'host.name': 'node-1' });
const META = (n: number) => ({ uid: `uid-${n}`, name: `pod-${n}`, namespace: n % 2 ? 'team-a' : 'team-b' });

function selfFamilies(n: number): MetricFamily[] {
  return [
    { name: 'kata_monitor_scrapes_total', help: 'Scrapes.', type: 'counter', metrics: [{ kind: 'scalar', labels: [], value: n }] },
    { name: 'kata_monitor_sandboxes', type: 'gauge', metrics: [{ kind: 'scalar', labels: [{ name: 'state', value: 'ready' }], value: 3 }] },
  ];
}

/** Both paths over the same snapshots; each step's requests as hex, for readable diffs. */
async function both(snapshots: readonly Snapshot[], processors: readonly ProcessorConfig[] = []): Promise<{ objects: string[][]; direct: string[][] }> {
  let tick = 0;
  const now = () => 1_700_000_000_000 + tick;
  const translator = new Translator({ resource: RESOURCE, extraFamilies: () => selfFamilies(tick), now });
  const encoder = new IndexEncoder({ extraFamilies: () => selfFamilies(tick), now });
  const plan = pushPlan(RESOURCE, processors);
  const objects: string[][] = [];
  const direct: string[][] = [];
  for (const snap of snapshots) {
    tick++;
    const t = translator.translate(snap);
    objects.push(applyProcessors(t.resourceMetrics, processors).map((rm) => Buffer.from(encodeProto([rm])).toString('hex')));
    direct.push((await encoder.encode(snap, plan)).requests.map((r) => Buffer.from(r.wire(false)).toString('hex')));
  }
  return { objects, direct };
}

function sandboxes(n: number, factor: number, body = BODY_A): FakeSandbox[] {
  return Array.from({ length: n }, (_, i) => ({ id: `sb${i}`, body: scaledBody(i % 2 ? BODY_B : body, factor + i), metadata: META(i) }));
}

describe('IndexEncoder: the same requests as the object-model path', () => {
  it('for realistic shim bodies over several pushes, values growing', async () => {
    const snaps = [1, 2, 3].map((k) => snapshot(1_700_000_000_000 + k * 30_000, sandboxes(4, k)));
    const { objects, direct } = await both(snaps);
    assert.equal(direct.length, 3);
    assert.ok(direct[0]![0]!.length > 10_000);
    assert.deepEqual(direct, objects);
  });

  it('with filter, resource and batch processors, batches cutting metrics', async () => {
    const processors: ProcessorConfig[] = [
      { type: 'filter', name: 'filter', include: { prefixes: ['kata_', 'go_'], regexps: [] }, exclude: { prefixes: [], regexps: [/_bucket$|gc_duration/] } },
      { type: 'resource', name: 'resource', attributes: [{ key: 'k8s.node.name', value: 'n1', action: 'upsert' }, { key: 'host.name', action: 'delete' }] },
      { type: 'batch', name: 'batch', sendBatchMaxSize: 97 },
    ];
    const snaps = [1, 2].map((k) => snapshot(1_700_000_000_000 + k * 30_000, sandboxes(3, k)));
    const { objects, direct } = await both(snaps, processors);
    assert.ok(direct[0]!.length > 5, 'cut into several requests');
    assert.deepEqual(direct, objects);
    const first = decodeProto(Buffer.from(direct[0]![0]!, 'hex'));
    const keys = (first.resourceMetrics[0]!.resource?.attributes ?? []).map((a) => a.key);
    assert.ok(keys.includes('k8s.node.name') && !keys.includes('host.name'));
  });

  it('when counters restart, sandboxes come and go, and metadata changes', async () => {
    const restart = BODY_A.replace(/^(kata_shim_rpc_durations_histogram_milliseconds_count\{[^}]*\}) \S+$/gm, '$1 0');
    const snaps = [
      snapshot(1_700_000_030_000, sandboxes(3, 5)),
      snapshot(1_700_000_060_000, [{ id: 'sb0', body: restart, metadata: META(0) }, { id: 'sb2', body: scaledBody(BODY_A, 9), metadata: { uid: 'new', name: 'renamed', namespace: 'x' } }]),
      snapshot(1_700_000_090_000, [{ id: 'sb0', body: scaledBody(BODY_A, 7), metadata: META(0) }, { id: 'sb1' }, { id: 'sb2', body: scaledBody(BODY_A, 9.5), metadata: META(2) }]),
      snapshot(1_700_000_120_000, sandboxes(3, 8)),
    ];
    const { objects, direct } = await both(snaps);
    assert.deepEqual(direct, objects);
  });

  it('for the unusual text Go accepts: escapes, le not last, series interleaved, timestamps, special values', async () => {
    const body = [
      '# HELP odd_total Counter with \\\\ and \\n in help.',
      '# TYPE odd_total counter',
      'odd_total{path="/a\\"b",uni="héllo"} 3 1700000000000',
      'odd_total{path="/c\\\\d",sandbox_id="forged"} +Inf',
      'odd_total 1e3',
      '# TYPE lat histogram',
      'lat_bucket{le="0.5",m="GET"} 1',
      'lat_bucket{m="PUT",le="0.5"} 2',
      'lat_bucket{le="+Inf",m="GET"} 4',
      'lat_bucket{m="PUT",le="+Inf"} 5',
      'lat_sum{m="GET"} 1.25',
      'lat_count{m="GET"} 4',
      'lat_sum{m="PUT"} 2.5',
      'lat_count{m="PUT"} 5',
      '# TYPE q summary',
      'q{quantile="0.5"} NaN',
      'q{quantile="0.99"} -Inf',
      'q_sum 0',
      'q_count 0',
      'g{ a = "1" , b="2", } -0.000001234 -5',
      'u 12345678901234567890',
      '',
    ].join('\n');
    const snaps = [1, 2].map((k) => snapshot(1_700_000_000_000 + k * 1000, [{ id: 'sb0', body, metadata: META(0) }]));
    const { objects, direct } = await both(snaps);
    assert.deepEqual(direct, objects);
  });

  it('when series move within their family between pushes (found by their labels, few or many)', async () => {
    const family = (n: number, order: 'up' | 'down', bump: number) => {
      const ids = Array.from({ length: n }, (_, i) => i);
      if (order === 'down') ids.reverse();
      return [`# TYPE moved_${n}_total counter`, ...ids.map((i) => `moved_${n}_total{k="${i}"} ${i === 3 ? 0 : 10 + i + bump}`)].join('\n');
    };
    const body = (order: 'up' | 'down', bump: number) => `${family(5, order, bump)}\n${family(80, order, bump)}\n`;
    const snaps = [
      snapshot(1_700_000_001_000, [{ id: 'sb0', body: body('up', 0), metadata: META(0) }]),
      snapshot(1_700_000_002_000, [{ id: 'sb0', body: body('down', 1), metadata: META(0) }]),
      snapshot(1_700_000_003_000, [{ id: 'sb0', body: body('up', 2), metadata: META(0) }]),
    ];
    const { objects, direct } = await both(snaps);
    assert.deepEqual(direct, objects);
    // Still from the first push: the series kept their start as they moved.
    const points = decodeProto(Buffer.from(direct[2]![0]!, 'hex')).resourceMetrics[0]!.scopeMetrics[0]!.metrics.flatMap((m) => m.sum?.dataPoints ?? []);
    assert.equal(points.length, 85 + 1); // and kata_monitor_scrapes_total
    assert.ok(points.filter((p) => p.attributes?.some((a) => a.key === 'k')).every((p) => p.startTimeUnixNano === String(1_700_000_001_000n * 1_000_000n)));
  });

  it('a family typed differently in another sandbox is skipped there, with an error', async () => {
    const encoder = new IndexEncoder();
    const snap = snapshot(1_700_000_000_000, [
      { id: 'a', body: '# TYPE x counter\nx 1\n' },
      { id: 'b', body: '# TYPE x gauge\nx 2\n' },
      { id: 'c', body: 'not prometheus text {\n' },
    ]);
    const out = await encoder.encode(snap, pushPlan(RESOURCE, []));
    assert.equal(out.dataPoints, 1);
    assert.deepEqual(
      out.errors.map((e) => e.message),
      ['family x is a gauge in sandbox b but a counter elsewhere; skipped there', `sandbox c: unparsable shim metrics: ${snap.sandboxes[2]!.error!.message}`],
    );
  });
});

describe('IndexEncoder: mutated shim bodies (seeded, so every run tries the same ones)', () => {
  // Edits that reach the corners of the text format: quotes, escapes, blanks, CRs,
  // le/quantile values, suffixes, new TYPE/HELP lines, odd numbers.
  const PIECES = ['"', '\\', '\n', ' ', ',', '{', '}', '=', 'le="1"', 'quantile="0.5"', '_sum', '_count', '_bucket', '# TYPE x histogram\n', '# HELP x h\n', 'é', '\r', 'NaN', '+Inf', '1e5', '-1', ' 123', 'a="b"', '\\n'];

  it("the index accepts what the parser accepts (by Go's rules), and then both paths write the same requests", async () => {
    let seed = 20261127;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    let accepted = 0;
    for (let k = 0; k < 250; k++) {
      let body = k % 2 ? BODY_B : BODY_A;
      for (let j = 1 + Math.floor(rnd() * 3); j > 0; j--) {
        const at = Math.floor(rnd() * body.length);
        const piece = PIECES[Math.floor(rnd() * PIECES.length)]!;
        body = body.slice(0, at) + piece + body.slice(rnd() < 0.5 ? at : at + 1 + Math.floor(rnd() * 5));
      }
      const snap = snapshot(1_700_000_000_000, [{ id: 'sb0', body, metadata: META(0) }]);
      const translation = new Translator({ resource: RESOURCE }).translate(snap);
      const indexed = snap.sandboxes[0]!.index !== undefined;
      assert.equal(indexed, translation.errors.length === 0, `mutation ${k}: index ${snap.sandboxes[0]!.error?.message ?? 'accepts'}; parser ${translation.errors[0]?.message ?? 'accepts'}`);
      if (!indexed) continue;
      accepted++;
      const pushed = await new IndexEncoder().encode(snap, pushPlan(RESOURCE, []));
      assert.deepEqual(pushed.errors, []);
      assert.equal(Buffer.from(pushed.requests[0]!.wire(false)).toString('hex'), Buffer.from(encodeProto([translation.resourceMetrics])).toString('hex'), `mutation ${k}`);
    }
    assert.ok(accepted > 20 && accepted < 200, `both accepted and rejected bodies were tried (${accepted} accepted)`);
  });
});

describe('IndexEncoder: request forms', () => {
  it('keeps requests gzipped when the exporters compress, the same bytes inside', async () => {
    const snap = snapshot(1_700_000_000_000, sandboxes(3, 1));
    const base = { ...pushPlan(RESOURCE, [{ type: 'batch', name: 'batch', sendBatchMaxSize: 500 }]) };
    const plain = (await new IndexEncoder().encode(snap, { ...base, forms: { proto: true, gzip: false } })).requests;
    const gzipped = (await new IndexEncoder().encode(snap, { ...base, forms: { proto: false, gzip: true } })).requests;
    const both = (await new IndexEncoder().encode(snap, { ...base, forms: { proto: true, gzip: true } })).requests;
    assert.ok(plain.length > 3);
    assert.equal(gzipped.length, plain.length);
    for (let i = 0; i < plain.length; i++) {
      const raw = Buffer.from(plain[i]!.wire(false));
      // Each request of its own, though one buffer wrote them all.
      assert.deepEqual(gunzipSync(gzipped[i]!.wire(true)), raw);
      assert.deepEqual(Buffer.from(gzipped[i]!.wire(false)), raw);
      assert.deepEqual(Buffer.from(both[i]!.wire(false)), raw);
    }
    const total = (rs: typeof plain) => rs.reduce((n, r) => n + r.size, 0);
    assert.ok(total(gzipped) < total(plain) / 5, 'compressed well');
  });
});

describe('IndexEncoder: series state', () => {
  it('advances once per snapshot however many pipelines encode it', async () => {
    const encoder = new IndexEncoder();
    const s1 = snapshot(1_000_000, [{ id: 'a', body: '# TYPE c counter\nc 5\n' }]);
    const s2 = snapshot(2_000_000, [{ id: 'a', body: '# TYPE c counter\nc 2\n' }]);
    const plan = pushPlan(RESOURCE, []);
    const start = async (snap: Snapshot) => decodeProto((await encoder.encode(snap, plan)).requests[0]!.wire(false)).resourceMetrics[0]!.scopeMetrics[0]!.metrics[0]!.sum!.dataPoints[0]!.startTimeUnixNano;
    assert.equal(await start(s1), String(1_000_000n * 1_000_000n));
    // The counter fell: it restarted after our look at 1,000,000 ms. Both pipelines see that.
    assert.equal(await start(s2), String(1_000_000n * 1_000_000n));
    assert.equal(await start(s2), String(1_000_000n * 1_000_000n));
    // Pipelines pushing at once: the encodes take turns, the state advances once.
    const s3 = snapshot(3_000_000, [{ id: 'a', body: '# TYPE c counter\nc 1\n' }]);
    assert.deepEqual(await Promise.all([start(s3), start(s3)]), [String(2_000_000n * 1_000_000n), String(2_000_000n * 1_000_000n)]);
  });
});
