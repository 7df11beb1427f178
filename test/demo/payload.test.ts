import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createShimPayload } from '../../src/demo/payload.ts';
import { formatFloat } from '../../src/exposition/float.ts';
import { parseFamilies, scanBody } from '../../src/exposition/scan.ts';
import { fixture } from '../support/fixtures.ts';

const FIXTURE_A = fixture('shim-metrics-a.prom').toString();

interface Sample {
  readonly series: string;
  readonly name: string;
  readonly labels: string;
  readonly token: string;
  readonly value: number;
}

interface Parsed {
  readonly comments: string[];
  readonly types: Map<string, string>;
  readonly samples: Sample[];
  readonly bySeries: Map<string, number>;
}

/** Just enough of the text format to check what the generator promises. */
function parse(text: string): Parsed {
  const comments: string[] = [];
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  assert.ok(text.endsWith('\n'), 'a body ends with a newline');
  for (const line of text.slice(0, -1).split('\n')) {
    if (line.startsWith('#')) {
      comments.push(line);
      const m = /^# TYPE (\S+) (\S+)$/.exec(line);
      if (m) types.set(m[1]!, m[2]!);
      continue;
    }
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const token = m[3]!;
    const value = token === '+Inf' ? Infinity : Number(token);
    assert.ok(!Number.isNaN(value), line);
    samples.push({ series: m[1]! + (m[2] ?? ''), name: m[1]!, labels: m[2] ?? '', token, value });
  }
  return { comments, types, samples, bySeries: new Map(samples.map((s) => [s.series, s.value])) };
}

function familyOf(name: string, types: Map<string, string>): [string, string] {
  for (const suffix of ['', '_bucket', '_sum', '_count']) {
    const base = suffix && name.endsWith(suffix) ? name.slice(0, -suffix.length) : name;
    const t = types.get(base);
    if (t) return [base, t];
  }
  return [name, 'untyped'];
}

describe('createShimPayload', () => {
  test('keeps the fixture’s families, series and HELP/TYPE lines', () => {
    const fixture = parse(FIXTURE_A);
    const body = parse(createShimPayload('s', { fixture: 'a' })());
    assert.deepEqual(body.comments, fixture.comments);
    assert.deepEqual(body.samples.map((s) => s.series), fixture.samples.map((s) => s.series));
    assert.equal(body.types.size, 70);
    assert.equal(body.samples.length, 903);
  });

  test('writes every value as Go does (strconv g, shortest)', () => {
    const next = createShimPayload(7);
    for (let i = 0; i < 20; i++) {
      for (const s of parse(next()).samples) {
        assert.equal(s.token, formatFloat(s.value), s.series);
      }
    }
  });

  test('bodies change between calls; the same seed repeats, another seed differs', () => {
    const a = createShimPayload('sb-1');
    const first = a();
    assert.notEqual(a(), first);
    assert.equal(createShimPayload('sb-1')(), first);
    assert.notEqual(createShimPayload('sb-2')(), first);
  });

  test('over many calls counters never decrease and every non-zero one grows; histograms and summaries stay consistent', () => {
    for (const seed of ['a', 'b', 42]) {
      const next = createShimPayload(seed);
      let prev = parse(next());
      const grew = new Set<string>();
      const live = new Set(prev.samples.filter((s) => prev.types.get(s.name) === 'counter' && s.value > 0).map((s) => s.name));
      for (let i = 0; i < 60; i++) {
        const cur = parse(next());
        checkConsistent(cur);
        for (const s of cur.samples) {
          const [family, type] = familyOf(s.name, cur.types);
          const before = prev.bySeries.get(s.series)!;
          const monotonic = type === 'counter' || s.name.endsWith('_count') || s.name.endsWith('_bucket') || (type === 'histogram' && s.name.endsWith('_sum'));
          if (monotonic) assert.ok(s.value >= before, `${s.series} went from ${before} to ${s.value}`);
          if (type === 'counter' && s.value > before) grew.add(family);
        }
        prev = cur;
      }
      // go_memstats_lookups_total stays 0, as in a real Go process.
      assert.deepEqual([...grew].sort(), [...live].sort());
      assert.ok(live.size >= 6);
    }
  });

  test('gauges wander around their recorded value, constants stay put', () => {
    const next = createShimPayload('g', { fixture: 'a' });
    const fixture = parse(FIXTURE_A).bySeries;
    const seen = new Map<string, Set<number>>();
    for (let i = 0; i < 30; i++) {
      const body = parse(next());
      for (const s of body.samples) {
        if (familyOf(s.name, body.types)[1] !== 'gauge') continue;
        const orig = fixture.get(s.series)!;
        assert.ok(Math.abs(s.value - orig) <= Math.abs(orig) * 0.2, `${s.series}: ${s.value} vs ${orig}`);
        if (!seen.has(s.series)) seen.set(s.series, new Set());
        seen.get(s.series)!.add(s.value);
      }
    }
    assert.equal(seen.get('go_info{version="go1.23.4"}')!.size, 1);
    assert.equal(seen.get('process_start_time_seconds')!.size, 1);
    assert.ok(seen.get('go_memstats_heap_alloc_bytes')!.size > 5, 'a busy gauge moves');
    assert.ok([...seen.get('go_goroutines')!].every(Number.isInteger), 'integer gauges stay integers');
  });

  test('every body is as Go writes it (the scan keeps it as it is) and reads as 70 consistent families', () => {
    const next = createShimPayload('parser');
    for (let i = 0; i < 10; i++) {
      const body = Buffer.from(next());
      assert.equal(scanBody(body).normalized, false, 'canonical: served without rewriting');
      const families = parseFamilies(body);
      assert.equal(families.length, 70);
      for (const f of families) {
        for (const m of f.metrics) {
          if (m.kind === 'histogram') assert.equal(m.buckets.at(-1)?.cumulativeCount, m.count, f.name);
          if (m.kind === 'summary') assert.deepEqual(m.quantiles.map((q) => q.value), m.quantiles.map((q) => q.value).sort((a, b) => a - b));
        }
      }
    }
  });
});

/** Buckets cumulative with +Inf == _count; quantiles ordered by quantile. */
function checkConsistent(p: Parsed): void {
  const buckets = new Map<string, number[]>();
  const quantiles = new Map<string, number[]>();
  for (const s of p.samples) {
    const [family, type] = familyOf(s.name, p.types);
    if (type === 'histogram' && s.name.endsWith('_bucket')) {
      const key = family + s.labels.replace(/,?le="[^"]*"/, '');
      buckets.set(key, [...(buckets.get(key) ?? []), s.value]);
    } else if (type === 'histogram' && s.name.endsWith('_count')) {
      const key = family + s.labels;
      const bs = buckets.get(key.replace('{}', ''))!;
      assert.ok(bs, `buckets of ${key}`);
      for (let i = 1; i < bs.length; i++) assert.ok(bs[i]! >= bs[i - 1]!, `${key} buckets are cumulative`);
      assert.equal(bs.at(-1), s.value, `${key}: +Inf bucket equals _count`);
    } else if (type === 'summary' && s.labels.includes('quantile=')) {
      quantiles.set(family, [...(quantiles.get(family) ?? []), s.value]);
    }
  }
  for (const [family, qs] of quantiles) {
    for (let i = 1; i < qs.length; i++) assert.ok(qs[i]! >= qs[i - 1]!, `${family} quantiles are ordered`);
  }
}
