// The one walk writes protobuf, OTLP/JSON and the SDK's objects; each form
// is decoded independently (protobufjs over proto/ for the bytes) and they
// must carry exactly the same data (support/otlp.ts pushAll checks it on
// every push here), for realistic and odd bodies, over several pushes, with
// processors, and for bodies mutated at random. What they carry is checked
// against the model Go's parser builds of the body (parseFamilies), an
// independent reading of the same text.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import type { MetricFamily } from '../../src/exposition/model.ts';
import { parseFamilies } from '../../src/exposition/scan.ts';
import { NO_FORMS, type Forms } from '../../src/otel/requests.ts';
import { encodeSnapshot } from '../../src/otel/translate/encode.ts';
import { Translator } from '../../src/otel/translate/walk.ts';
import { shimPrefix } from '../../src/scrape/relabel.ts';
import type { Snapshot } from '../../src/scrape/snapshot.ts';
import { BODY_A, BODY_B, scaledBody, snapshot, type FakeSandbox } from './support/fixtures.ts';
import { fromDecoded, metric, metricsOf, ns, plan, pointCount, pushAll, uint, type Metric, type Point, type Request } from './support/otlp.ts';
import { decodeProto } from './support/receiver.ts';

const META = (n: number) => ({ uid: `uid-${n}`, name: `pod-${n}`, namespace: n % 2 ? 'team-a' : 'team-b' });
const T0 = 1_700_000_000_000;

function sandboxes(n: number, factor: number, body = BODY_A): FakeSandbox[] {
  return Array.from({ length: n }, (_, i) => ({ id: `sb${i}`, body: scaledBody(i % 2 ? BODY_B : body, factor + i), metadata: META(i) }));
}

const selfFamilies = (n: number) => (): MetricFamily[] => [
  { name: 'kata_monitor_scrapes_total', help: 'Scrapes.', type: 'counter', metrics: [{ kind: 'scalar', labels: [], value: n }] },
  { name: 'kata_monitor_sandboxes', type: 'gauge', metrics: [{ kind: 'scalar', labels: [{ name: 'state', value: 'ready' }], value: 3 }] },
];

/** Pushes each snapshot in turn through one translator; every push's forms agree (pushAll). */
async function pushes(snapshots: readonly Snapshot[], processors: Parameters<typeof plan>[0] = []): Promise<(readonly Request[])[]> {
  let tick = 0;
  const t = new Translator({ selfFamilies: () => selfFamilies(tick)(), now: () => T0 + tick });
  const out: (readonly Request[])[] = [];
  for (const s of snapshots) {
    tick++;
    const { push, requests } = await pushAll(t, s, plan(processors));
    assert.deepEqual(push.errors, []);
    out.push(requests);
  }
  return out;
}

// What the model of a body says the first push of it must carry (one sandbox, no metadata).

const OURS = new Set(['sandbox_id', 'cri_uid', 'cri_name', 'cri_namespace']);

function expectedOf(families: readonly MetricFamily[], id: string, at: number): Metric[] {
  const sandbox: [string, string][] = [
    ['sandbox_id', id],
    ['cri_uid', ''],
    ['cri_name', ''],
    ['cri_namespace', ''],
  ];
  return families.map((f): Metric => {
    const kind = f.type === 'counter' ? 'sum' : f.type === 'histogram' || f.type === 'summary' ? f.type : 'gauge';
    const points = f.metrics.map((m): Point => {
      const time = ns(Number(m.timestampMs ?? at));
      const base = { attrs: [...m.labels.filter((l) => !OURS.has(l.name)).map((l) => [l.name, l.value] as const), ...sandbox], start: time, time };
      if (m.kind === 'scalar') return { ...base, value: m.value };
      if (m.kind === 'summary') return { ...base, count: uint(m.count), sum: m.sum, quantiles: m.quantiles.map((q) => [q.quantile, q.value] as const) };
      const bounds: number[] = [];
      const buckets: string[] = [];
      let prev = 0;
      for (const b of m.buckets) {
        if (b.upperBound === Infinity) break;
        bounds.push(b.upperBound);
        buckets.push(uint(Math.max(0, b.cumulativeCount - prev)));
        prev = Math.max(prev, b.cumulativeCount);
      }
      buckets.push(uint(Math.max(0, m.count - prev)));
      return { ...base, count: uint(m.count), sum: m.sum, buckets, bounds };
    });
    return { name: shimPrefix(f.name) + f.name, description: f.help ?? '', kind, temporality: kind === 'sum' || kind === 'histogram' ? 2 : 0, monotonic: kind === 'sum', points };
  });
}

describe('protobuf, OTLP/JSON and the objects carry the same data', () => {
  it('for realistic shim bodies over several pushes, values growing', async () => {
    const out = await pushes([1, 2, 3].map((k) => snapshot(T0 + k * 30_000, sandboxes(4, k))));
    assert.equal(out.length, 3);
    assert.equal(pointCount(out[0]![0]!), 4 * 501 + 2);
  });

  it('with filter, resource and batch processors, batches cutting metrics', async () => {
    const out = await pushes(
      [1, 2].map((k) => snapshot(T0 + k * 30_000, sandboxes(3, k))),
      [
        { type: 'filter', name: 'filter', include: { prefixes: ['kata_', 'go_'], regexps: [] }, exclude: { prefixes: [], regexps: [/_bucket$|gc_duration/] } },
        { type: 'resource', name: 'resource', attributes: [{ key: 'k8s.node.name', value: 'n1', action: 'upsert' }, { key: 'host.name', action: 'delete' }] },
        { type: 'batch', name: 'batch', sendBatchMaxSize: 97 },
      ],
    );
    assert.ok(out[0]!.length > 5, 'cut into several requests');
    const keys = out[0]![0]!.resource.map(([k]) => k);
    assert.ok(keys.includes('k8s.node.name') && !keys.includes('host.name'));
  });

  it('when counters restart, sandboxes come and go, and metadata changes', async () => {
    const restart = BODY_A.replace(/^(kata_shim_rpc_durations_histogram_milliseconds_count\{[^}]*\}) \S+$/gm, '$1 0');
    const out = await pushes([
      snapshot(T0 + 30_000, sandboxes(3, 5)),
      snapshot(T0 + 60_000, [
        { id: 'sb0', body: restart, metadata: META(0) },
        { id: 'sb2', body: scaledBody(BODY_A, 9), metadata: { uid: 'new', name: 'renamed', namespace: 'x' } },
      ]),
      snapshot(T0 + 90_000, [{ id: 'sb0', body: scaledBody(BODY_A, 7), metadata: META(0) }, { id: 'sb1' }, { id: 'sb2', body: scaledBody(BODY_A, 9.5), metadata: META(2) }]),
      snapshot(T0 + 120_000, sandboxes(3, 8)),
    ]);
    // sb0's histogram restarted at the second push: started anew after the first push's look.
    const h = metric(out[1]!, 'kata_shim_rpc_durations_histogram_milliseconds').points.filter((p) => p.attrs.some(([k, v]) => k === 'sandbox_id' && v === 'sb0'));
    assert.ok(h.length > 0 && h.every((p) => p.start === ns(T0 + 30_000)));
    // sb1 left after the first push and came back at the last: its series start there.
    const back = metric(out[3]!, 'kata_agent_scrape_count').points.find((p) => p.attrs.some(([k, v]) => k === 'sandbox_id' && v === 'sb1'));
    assert.equal(back?.start, ns(T0 + 120_000));
  });

  it('for the unusual text Go accepts: escapes, le not last, series interleaved, timestamps, special values, huge integers', async () => {
    const body = [
      '# HELP odd_total Counter with \\\\ and \\n in help, and "quotes".',
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
    const out = await pushes([1, 2].map((k) => snapshot(T0 + k * 1000, [{ id: 'sb0', body, metadata: META(0) }])));
    assert.deepEqual(
      metric(out[0]!, 'lat').points.map((p) => [p.attrs[0], p.buckets, p.count]),
      [
        [['m', 'GET'], ['1', '3'], '4'],
        [['m', 'PUT'], ['2', '3'], '5'],
      ],
    );
    assert.equal(metric(out[0]!, 'u').points[0]?.value, 12345678901234567890);
    assert.equal(metric(out[0]!, 'odd_total').description, 'Counter with \\ and \n in help, and "quotes".');
  });

  it('when series move within their family between pushes (found by their labels, few or many)', async () => {
    const family = (n: number, order: 'up' | 'down', bump: number) => {
      const ids = Array.from({ length: n }, (_, i) => i);
      if (order === 'down') ids.reverse();
      return [`# TYPE moved_${n}_total counter`, ...ids.map((i) => `moved_${n}_total{k="${i}"} ${i === 3 ? 0 : 10 + i + bump}`)].join('\n');
    };
    const body = (order: 'up' | 'down', bump: number) => `${family(5, order, bump)}\n${family(80, order, bump)}\n`;
    const out = await pushes([
      snapshot(T0 + 1000, [{ id: 'sb0', body: body('up', 0), metadata: META(0) }]),
      snapshot(T0 + 2000, [{ id: 'sb0', body: body('down', 1), metadata: META(0) }]),
      snapshot(T0 + 3000, [{ id: 'sb0', body: body('up', 2), metadata: META(0) }]),
    ]);
    // Still from the first push: the series kept their start as they moved.
    const moved = metricsOf(out[2]!).filter((m) => m.name.startsWith('moved_'));
    assert.equal(moved.reduce((n, m) => n + m.points.length, 0), 85);
    assert.ok(moved.every((m) => m.points.every((p) => p.start === ns(T0 + 1000))));
  });

  it('and what they carry is what the model of each body says (first push)', async () => {
    for (const body of [BODY_A, BODY_B, scaledBody(BODY_A, 2.5)]) {
      const { requests } = await pushAll(new Translator(), snapshot(T0, [{ id: 'sb', body }]));
      assert.deepStrictEqual(requests[0]!.metrics, expectedOf(parseFamilies(Buffer.from(body)), 'sb', T0));
    }
  });

  it('in a push of 20 sandboxes in one request (2.4 MB: message lengths of 1 to 4 bytes)', async () => {
    const { push, requests } = await pushAll(new Translator(), snapshot(T0, sandboxes(20, 1)));
    assert.equal(requests.length, 1);
    assert.ok(push.requests[0]!.bytes('proto', false).length > 2_097_152, 'a request beyond 2 MiB');
    assert.equal(metric(requests, 'kata_agent_scrape_count').points.find((p) => p.attrs.some(([, v]) => v === 'sb19'))?.attrs.find(([k]) => k === 'cri_name')?.[1], 'pod-19');
  });
});

describe('mutated shim bodies (seeded, so every run tries the same ones)', () => {
  // Edits that reach the corners of the text format: quotes, escapes, blanks, CRs,
  // le/quantile values, suffixes, new TYPE/HELP lines, odd numbers.
  const PIECES = ['"', '\\', '\n', ' ', ',', '{', '}', '=', 'le="1"', 'quantile="0.5"', '_sum', '_count', '_bucket', '# TYPE x histogram\n', '# HELP x h\n', 'é', '\r', 'NaN', '+Inf', '1e5', '-1', ' 123', 'a="b"', '\\n', '\t', 'go_', 'sandbox_id="x",'];

  it('every form carries what the model of the body says, whenever the scan accepts the body', async () => {
    let seed = 20261127;
    const rnd = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    let accepted = 0;
    let normalized = 0;
    for (let k = 0; k < 250; k++) {
      let body = k % 2 ? BODY_B : BODY_A;
      for (let j = 1 + Math.floor(rnd() * 3); j > 0; j--) {
        const at = Math.floor(rnd() * body.length);
        const piece = PIECES[Math.floor(rnd() * PIECES.length)]!;
        body = body.slice(0, at) + piece + body.slice(rnd() < 0.5 ? at : at + 1 + Math.floor(rnd() * 5));
      }
      const snap = snapshot(T0, [{ id: 'sb0', body }]);
      const scan = snap.sandboxes[0]!.scan;
      if (!scan) {
        assert.match(snap.sandboxes[0]!.error?.message ?? '', /malformed|limit/, `mutation ${k}`);
        continue;
      }
      accepted++;
      if (scan.normalized) normalized++;
      const { push, requests } = await pushAll(new Translator(), snap);
      assert.deepEqual(push.errors, [], `mutation ${k}`);
      const got = requests.flatMap((r) => r.metrics);
      assert.deepStrictEqual(got, expectedOf(parseFamilies(Buffer.from(body)), 'sb0', T0), `mutation ${k}: ${JSON.stringify(body.slice(0, 0))}`);
    }
    assert.ok(accepted > 20 && accepted < 240, `both accepted and rejected bodies were tried (${accepted} accepted)`);
    assert.ok(normalized > 5, `bodies Go would rewrite were among them (${normalized})`);
  });
});

describe('request forms', () => {
  const snap = () => snapshot(T0, sandboxes(3, 1));
  const batched = plan([{ type: 'batch', name: 'batch', sendBatchMaxSize: 500 }]);
  const bytesOf = async (forms: Forms, encoding: 'proto' | 'json', gzip: boolean) => (await encodeSnapshot(new Translator(), snap(), batched, forms)).requests.map((r) => Buffer.from(r.bytes(encoding, gzip)));

  for (const encoding of ['proto', 'json'] as const) {
    it(`${encoding}: gzipped only, plain only or both, the same bytes inside, each request its own though one buffer wrote them`, async () => {
      const f = (plain: boolean, gzip: boolean): Forms => ({ ...NO_FORMS, ...(encoding === 'proto' ? { proto: plain, protoGzip: gzip } : { json: plain, jsonGzip: gzip }) });
      const plain = await bytesOf(f(true, false), encoding, false);
      const zipped = await bytesOf(f(false, true), encoding, true);
      const both = await bytesOf(f(true, true), encoding, false);
      assert.ok(plain.length > 3);
      assert.equal(zipped.length, plain.length);
      const seen = new Set<string>();
      for (let i = 0; i < plain.length; i++) {
        assert.deepEqual(gunzipSync(zipped[i]!), plain[i]!, `request ${i}`);
        assert.deepEqual(both[i], plain[i], `request ${i}`);
        seen.add(plain[i]!.toString('base64'));
      }
      assert.equal(seen.size, plain.length, 'no request overwrote another');
      const total = (rs: Buffer[]) => rs.reduce((n, r) => n + r.length, 0);
      assert.ok(total(zipped) < total(plain) / 5, 'compressed well');
      // Only the forms asked for are made.
      const one = (await encodeSnapshot(new Translator(), snap(), batched, f(false, true))).requests[0]!;
      assert.throws(() => one.bytes(encoding, false), /internal error: no .*form of this OTLP request was made/);
    });
  }

  it('requests keep their bytes while later pushes are written (buffers are reused only when not handed out)', async () => {
    const t = new Translator();
    const first = await encodeSnapshot(t, snap(), batched, { ...NO_FORMS, proto: true, json: true });
    const copies = first.requests.map((r) => [Buffer.from(r.bytes('proto', false)), Buffer.from(r.bytes('json', false))]);
    for (let k = 1; k <= 3; k++) await encodeSnapshot(t, snapshot(T0 + k * 1000, sandboxes(3, k + 1)), batched, { ...NO_FORMS, proto: true, protoGzip: true, json: true, jsonGzip: true });
    first.requests.forEach((r, i) => {
      assert.deepEqual(Buffer.from(r.bytes('proto', false)), copies[i]![0]);
      assert.deepEqual(Buffer.from(r.bytes('json', false)), copies[i]![1]);
    });
    assert.deepEqual(fromDecoded(decodeProto(first.requests[0]!.bytes('proto', false))).metrics.length > 0, true);
  });

  it('asks for a form no exporter needed: an internal error, not wrong data', async () => {
    const r = (await encodeSnapshot(new Translator(), snap(), plan(), { ...NO_FORMS, proto: true })).requests[0]!;
    assert.throws(() => r.bytes('json', false), /no json form/);
    assert.throws(() => r.objects(), /no object form/);
  });
});
