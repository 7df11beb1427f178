import { test } from 'node:test';
import assert from 'node:assert/strict';
import protobuf from 'protobufjs';
import { encodeProtobufDelimited } from '../../src/exposition/encode-protobuf.ts';
import { parseFamilies } from '../../src/exposition/scan.ts';
import { decodeProtobufDelimited } from '../support/prometheus-protobuf.ts';
import { FIXTURES, fixture } from '../support/fixtures.ts';
import type { Metric, MetricFamily } from '../../src/exposition/model.ts';
import { sampleFamilies } from './sample-families.ts';

const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

test('wire bytes of a minimal gauge family', () => {
  const bytes = encodeProtobufDelimited([{ name: 'up', type: 'gauge', metrics: [{ kind: 'scalar', labels: [], value: 1 }] }]);
  // len 19 | name=1 "up" | type=3 GAUGE(1) | metric=4 (11 bytes) { gauge=2 (9 bytes) { value=1 double 1.0 } }
  assert.equal(hex(bytes), '13' + '0a027570' + '1801' + '220b' + '1209' + '09000000000000f03f');
});

test('COUNTER (enum 0) is written explicitly, help only when present, timestamps as int64 field 6', () => {
  const bytes = encodeProtobufDelimited([
    { name: 'c', help: 'h', type: 'counter', metrics: [{ kind: 'scalar', labels: [{ name: 'a', value: 'b' }], value: 0, timestampMs: -1 }] },
  ]);
  // metric: label=1 {name "a", value "b"} | counter=3 {value 0.0} | timestamp_ms=6 varint(-1) as 10 bytes
  const metric = '0a06' + '0a0161' + '120162' + '1a09' + '090000000000000000' + '30' + 'ffffffffffffffffff01';
  const body = '0a0163' + '120168' + '1800' + '22' + (metric.length / 2).toString(16).padStart(2, '0') + metric;
  assert.equal(hex(bytes), (body.length / 2).toString(16).padStart(2, '0') + body);
});

test('long messages get multi-byte length prefixes', () => {
  const help = 'x'.repeat(300);
  const bytes = encodeProtobufDelimited([{ name: 'n', help, type: 'gauge', metrics: [{ kind: 'scalar', labels: [], value: 2 }] }]);
  const [decoded] = decodeProtobufDelimited(bytes);
  assert.equal(decoded?.help, help);
  assert.ok(bytes[0] !== undefined && bytes[0] >= 0x80, 'first length byte has the continuation bit');
});

test('round trip: decode(encode(x)) deep-equals x', () => {
  const families = sampleFamilies();
  assert.deepEqual(decodeProtobufDelimited(encodeProtobufDelimited(families)), families);
  for (const name of FIXTURES) {
    const parsed = parseFamilies(fixture(name));
    assert.deepEqual(decodeProtobufDelimited(encodeProtobufDelimited(parsed)), parsed, name);
  }
});

test('a histogram without a +Inf bucket stays without one', () => {
  const families: MetricFamily[] = [
    {
      name: 'h_seconds',
      type: 'histogram',
      metrics: [{ kind: 'histogram', labels: [], buckets: [{ upperBound: 0.1, cumulativeCount: 1 }], sum: 0.05, count: 3 }],
    },
  ];
  assert.deepEqual(decodeProtobufDelimited(encodeProtobufDelimited(families)), families);
});

test('large counts and timestamps survive as uint64/int64', () => {
  const families: MetricFamily[] = [
    {
      name: 's',
      type: 'summary',
      metrics: [{ kind: 'summary', labels: [], quantiles: [], sum: 1, count: 2 ** 60, timestampMs: 2 ** 52 + 1 }],
    },
  ];
  assert.deepEqual(decodeProtobufDelimited(encodeProtobufDelimited(families)), families);
});

// protobufjs writes fields in field-number order, as protobuf-go does: for the
// same presence its bytes must be ours, byte for byte.
test('bytes equal protobufjs encoding the same messages from our .proto', () => {
  const root = protobuf.loadSync(new URL('../../proto/prometheus/metrics.proto', import.meta.url).pathname);
  const T = root.lookupType('io.prometheus.client.MetricFamily');
  const typeNumber = { counter: 0, gauge: 1, summary: 2, untyped: 3, histogram: 4 } as const;
  const toProto = (f: MetricFamily): Record<string, unknown> => ({
    name: f.name,
    ...(f.help === undefined ? {} : { help: f.help }),
    type: typeNumber[f.type],
    metric: f.metrics.map((m: Metric) => {
      const base: Record<string, unknown> = { label: m.labels.map((l) => ({ name: l.name, value: l.value })) };
      if (m.timestampMs !== undefined) base['timestampMs'] = m.timestampMs;
      if (m.kind === 'scalar') base[f.type === 'counter' ? 'counter' : f.type === 'gauge' ? 'gauge' : 'untyped'] = { value: m.value };
      else if (m.kind === 'summary') {
        base['summary'] = { sampleCount: m.count, sampleSum: m.sum, quantile: m.quantiles.map((q) => ({ quantile: q.quantile, value: q.value })) };
      } else {
        base['histogram'] = {
          sampleCount: m.count,
          sampleSum: m.sum,
          bucket: m.buckets.map((b) => ({ cumulativeCount: b.cumulativeCount, upperBound: b.upperBound })),
        };
      }
      return base;
    }),
  });
  const families = [...parseFamilies(fixture('shim-metrics-a.prom')), ...sampleFamilies()];
  const theirs = Buffer.concat(families.map((f) => T.encodeDelimited(T.fromObject(toProto(f))).finish()));
  assert.equal(hex(encodeProtobufDelimited(families)), theirs.toString('hex'));
});

test('families over 16 KiB (3-byte length prefixes) and non-ASCII strings round trip', () => {
  const metrics: Metric[] = [];
  for (let i = 0; i < 3000; i++) metrics.push({ kind: 'scalar', labels: [{ name: 'sandbox_id', value: `ü-${i}-✓` }], value: i / 7 });
  const families: MetricFamily[] = [{ name: 'wide', help: 'Ünïcode help', type: 'gauge', metrics }];
  const bytes = encodeProtobufDelimited(families);
  assert.ok(bytes.length > 1 << 14);
  assert.equal((bytes[0] as number) & 0x80, 0x80);
  assert.equal((bytes[1] as number) & 0x80, 0x80);
  assert.equal((bytes[2] as number) & 0x80, 0);
  assert.deepEqual(decodeProtobufDelimited(bytes), families);
});
