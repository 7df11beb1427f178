import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ParseError, parseText, reparseText } from '../../src/exposition/parse-text.ts';
import { sampleCount, type Metric, type MetricFamily } from '../../src/exposition/model.ts';

const fixture = (name: string): string => readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8');


function only(families: readonly MetricFamily[]): MetricFamily {
  assert.equal(families.length, 1);
  return families[0] as MetricFamily;
}

function firstMetric(text: string): Metric {
  return only(parseText(text)).metrics[0] as Metric;
}

function value(text: string): number {
  const m = firstMetric(text);
  assert.equal(m.kind, 'scalar');
  return m.value;
}

/** Asserts that parsing throws a ParseError at `line` whose message matches `pattern`. */
function rejects(text: string, line: number, pattern: RegExp): void {
  assert.throws(
    () => parseText(text),
    (err: unknown) => {
      assert.ok(err instanceof ParseError, `expected ParseError, got ${String(err)}`);
      assert.equal(err.line, line, `line of "${err.message}"`);
      assert.ok(err.message.startsWith(`line ${line}: `), err.message);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

test('both shim fixtures parse into 70 families and 903 samples with the expected types', () => {
  for (const name of ['shim-metrics-a.prom', 'shim-metrics-b.prom']) {
    const families = parseText(fixture(name));
    assert.equal(families.length, 70, name);
    assert.equal(sampleCount(families), 903, name);
    const types = new Map<string, number>();
    for (const f of families) types.set(f.type, (types.get(f.type) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(types), { summary: 1, gauge: 60, counter: 7, histogram: 2 }, name);
  }
});

test('a gauge with HELP, TYPE and labels in wire order', () => {
  const text = '# HELP temp Temperature.\n# TYPE temp gauge\ntemp{zone="b",host="x"} 21.5\ntemp{zone="a",host="y"} -3\n';
  assert.deepEqual(parseText(text), [
    {
      name: 'temp',
      help: 'Temperature.',
      type: 'gauge',
      metrics: [
        { kind: 'scalar', labels: [{ name: 'zone', value: 'b' }, { name: 'host', value: 'x' }], value: 21.5 },
        { kind: 'scalar', labels: [{ name: 'zone', value: 'a' }, { name: 'host', value: 'y' }], value: -3 },
      ],
    },
  ]);
});

test('a family without TYPE is untyped and has no help key', () => {
  const f = only(parseText('plain 1\n'));
  assert.equal(f.type, 'untyped');
  assert.ok(!('help' in f));
  assert.equal(only(parseText('# TYPE u untyped\nu 2\n')).type, 'untyped');
});

test('TYPE values are case-insensitive, as Go upper-cases them', () => {
  assert.equal(only(parseText('# TYPE c COUNTER\nc 1\n')).type, 'counter');
});

test('HELP and TYPE may come in either order', () => {
  const a = parseText('# TYPE x counter\n# HELP x Things.\nx 1\n');
  const b = parseText('# HELP x Things.\n# TYPE x counter\nx 1\n');
  assert.deepEqual(a, b);
  assert.equal(only(a).help, 'Things.');
});

test('HELP after the samples of its family is accepted (Go allows it)', () => {
  assert.equal(only(parseText('x 1\n# HELP x late\n')).help, 'late');
});

test('label value escapes: backslash, quote, newline', () => {
  const m = firstMetric('x{a="back\\\\slash",b="say \\"hi\\"",c="two\\nlines",d=""} 1\n');
  assert.deepEqual(m.labels, [
    { name: 'a', value: 'back\\slash' },
    { name: 'b', value: 'say "hi"' },
    { name: 'c', value: 'two\nlines' },
    { name: 'd', value: '' },
  ]);
});

test('HELP escapes: backslash and newline (and \\" as Go v0.62 also reads it)', () => {
  const f = only(parseText('# HELP x a\\\\b\\nc \\"q\\" "raw"\nx 1\n'));
  assert.equal(f.help, 'a\\b\nc "q" "raw"');
});

test('special float values and exponents', () => {
  assert.ok(Number.isNaN(value('x NaN\n')));
  assert.equal(value('x +Inf\n'), Infinity);
  assert.equal(value('x -Inf\n'), -Infinity);
  assert.equal(value('x Inf\n'), Infinity);
  assert.equal(value('x inf\n'), Infinity);
  assert.equal(value('x -infinity\n'), -Infinity);
  assert.equal(value('x 1.5e3\n'), 1500);
  assert.equal(value('x 1E-3\n'), 0.001);
  assert.equal(value('x +7\n'), 7);
  assert.equal(value('x .5\n'), 0.5);
  assert.equal(value('x 5.\n'), 5);
  assert.ok(Object.is(value('x -0\n'), -0));
  assert.equal(value('x 1.8446744073709552e+19\n'), 18446744073709552000);
  assert.equal(value('x 9007199254740993\n'), 9007199254740992); // rounded like strconv.ParseFloat
  assert.equal(value('x 123456789012345\n'), 123456789012345);
  assert.equal(value('x 1e-400\n'), 0); // underflow is not an error in Go
});

test('optional int64 timestamps', () => {
  const m = firstMetric('x 1 1704917810932\n');
  assert.equal(m.timestampMs, 1704917810932);
  assert.equal(firstMetric('x 1 -5\n').timestampMs, -5);
  assert.ok(!('timestampMs' in firstMetric('x 1\n')));
});

test('whitespace: leading blanks, tabs between tokens, blanks inside braces', () => {
  const m = firstMetric('  \tx { a = "1" , b="2" , }\t 3 \t 4\n');
  assert.deepEqual(m, { kind: 'scalar', labels: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }], value: 3, timestampMs: 4 });
  assert.equal(value('x{a="1"}3\n'), 3);
});

test('comments and blank lines are skipped', () => {
  const fams = parseText('# just a comment\n\n   \n#\n# HELP\n# TYPE\nx 1\n# another one\n\ny 2\n   ');
  assert.deepEqual(
    fams.map((f) => f.name),
    ['x', 'y'],
  );
});

test('families with no samples are dropped; order is the order of first appearance', () => {
  const text = '# HELP b B.\n# TYPE empty gauge\n# HELP a A.\na 1\nb 2\nc 3\n# TYPE nothing counter\n';
  assert.deepEqual(
    parseText(text).map((f) => f.name),
    ['b', 'a', 'c'],
  );
  assert.deepEqual(parseText(''), []);
  assert.deepEqual(parseText('# TYPE x gauge\n'), []);
});

test('samples of one family separated by another family are merged into the first', () => {
  const fams = parseText('a 1\nb 2\na{x="y"} 3\n');
  assert.deepEqual(
    fams.map((f) => [f.name, f.metrics.length]),
    [
      ['a', 2],
      ['b', 1],
    ],
  );
});

test('histograms: buckets, _sum and _count grouped by label set without le', () => {
  const text = [
    '# HELP rpc_ms RPC latency.',
    '# TYPE rpc_ms histogram',
    'rpc_ms_bucket{action="a",le="1"} 0',
    'rpc_ms_bucket{action="a",le="2.5"} 2',
    'rpc_ms_bucket{action="a",le="+Inf"} 3',
    'rpc_ms_sum{action="a"} 4.5',
    'rpc_ms_count{action="a"} 3',
    'rpc_ms_bucket{le="1",action="b"} 1',
    'rpc_ms_count{action="b"} 1',
    'rpc_ms_sum{action="b"} 0.25',
    '',
  ].join('\n');
  assert.deepEqual(parseText(text), [
    {
      name: 'rpc_ms',
      help: 'RPC latency.',
      type: 'histogram',
      metrics: [
        {
          kind: 'histogram',
          labels: [{ name: 'action', value: 'a' }],
          buckets: [
            { upperBound: 1, cumulativeCount: 0 },
            { upperBound: 2.5, cumulativeCount: 2 },
            { upperBound: Infinity, cumulativeCount: 3 },
          ],
          sum: 4.5,
          count: 3,
        },
        {
          kind: 'histogram',
          labels: [{ name: 'action', value: 'b' }],
          buckets: [{ upperBound: 1, cumulativeCount: 1 }],
          sum: 0.25,
          count: 1,
        },
      ],
    },
  ]);
});

test('histogram grouping ignores label order, as Go groups by signature', () => {
  const text = '# TYPE h histogram\nh_bucket{a="1",b="2",le="+Inf"} 1\nh_sum{b="2",a="1"} 1\nh_count{b="2",a="1"} 1\n';
  const f = only(parseText(text));
  assert.equal(f.metrics.length, 1);
  assert.deepEqual(f.metrics[0]?.labels, [
    { name: 'a', value: '1' },
    { name: 'b', value: '2' },
  ]);
});

test('label sets that only differ in a crafted value stay separate groups', () => {
  const text = '# TYPE h histogram\nh_count{a="x=1:y"} 1\nh_count{a="x",b="y"} 2\n';
  assert.equal(only(parseText(text)).metrics.length, 2);
});

test('summaries: quantiles, _sum and _count', () => {
  const text = [
    '# TYPE gc summary',
    'gc{quantile="0"} 1e-05',
    'gc{quantile="0.5"} 4e-05',
    'gc{quantile="1"} NaN',
    'gc_sum 0.025',
    'gc_count 571',
    '',
  ].join('\n');
  const m = only(parseText(text)).metrics[0];
  assert.deepEqual(m, {
    kind: 'summary',
    labels: [],
    quantiles: [
      { quantile: 0, value: 1e-5 },
      { quantile: 0.5, value: 4e-5 },
      { quantile: 1, value: NaN },
    ],
    sum: 0.025,
    count: 571,
  });
});

test('histogram/summary counts are truncated to integers like Go\'s uint64(value)', () => {
  const m = firstMetric('# TYPE h histogram\nh_bucket{le="1"} 2.9\nh_count 3.7\n');
  assert.equal(m.kind, 'histogram');
  assert.deepEqual(m.buckets, [{ upperBound: 1, cumulativeCount: 2 }]);
  assert.equal(m.count, 3);
});

test('_sum/_count of a name that is not a summary or histogram are families of their own', () => {
  const fams = parseText('# TYPE x gauge\nx 1\nx_sum 2\nx_count 3\nx_bucket 4\n');
  assert.deepEqual(
    fams.map((f) => `${f.name}:${f.type}`),
    ['x:gauge', 'x_sum:untyped', 'x_count:untyped', 'x_bucket:untyped'],
  );
});

test('`le` on a non-histogram and `quantile` on a non-summary are ordinary labels', () => {
  assert.deepEqual(firstMetric('x{le="1"} 1\n').labels, [{ name: 'le', value: '1' }]);
  assert.deepEqual(firstMetric('# TYPE x gauge\nx{quantile="a"} 1\n').labels, [{ name: 'quantile', value: 'a' }]);
});

test('a body without a final newline after whitespace only is fine', () => {
  assert.equal(parseText('x 1\n  \t').length, 1);
});

test('repeated strings are shared, yet every sample keeps its own values', () => {
  const fams = parseText('x{a="same",b="v1"} 1\nx{a="same",b="v2"} 2\n');
  const [m1, m2] = only(fams).metrics;
  assert.deepEqual(m1?.labels, [
    { name: 'a', value: 'same' },
    { name: 'b', value: 'v1' },
  ]);
  assert.deepEqual(m2?.labels, [
    { name: 'a', value: 'same' },
    { name: 'b', value: 'v2' },
  ]);
});

// --- malformed input: always a ParseError naming the line ---

test('invalid sample value', () => {
  rejects('# HELP foo x\nfoo 1\nfoo abc\n', 3, /invalid value "abc" for sample "foo"/);
  rejects('foo 0x10\n', 1, /invalid value "0x10"/);
  rejects('foo 1_000\n', 1, /invalid value "1_000"/);
  rejects('foo 1e400\n', 1, /invalid value "1e400"/); // overflow is ErrRange in Go
  rejects('foo +NaN\n', 1, /invalid value/);
  rejects('foo 1\r\n', 1, /invalid value "1\r"/);
});

test('missing value', () => {
  rejects('a 1\nfoo\n', 2, /missing value for sample "foo"/);
  rejects('foo{a="b"}\n', 1, /missing value/);
});

test('second HELP / second TYPE / TYPE after samples', () => {
  rejects('# HELP x a\n# HELP x b\nx 1\n', 2, /second HELP line for metric name "x"/);
  rejects('# TYPE x gauge\n# TYPE x gauge\n', 2, /second TYPE line for metric name "x"/);
  rejects('x 1\n# TYPE x gauge\n', 2, /TYPE reported after samples/);
});

test('unknown metric type, including trailing blanks after the type (Go reads the rest of the line)', () => {
  rejects('# TYPE x gaugeish\n', 1, /unknown metric type "gaugeish"/);
  rejects('# TYPE x gauge \n', 1, /unknown metric type "gauge "/);
});

test('gauge_histogram is a known TYPE but its samples cannot be parsed', () => {
  assert.deepEqual(parseText('# TYPE g gauge_histogram\n'), []);
  rejects('# TYPE g gauge_histogram\ng{le="1"} 1\n', 2, /unexpected type gauge_histogram for metric name "g"/);
  // As in Go, only a histogram family claims the _bucket name; here it is a family of its own.
  assert.deepEqual(
    parseText('# TYPE g gauge_histogram\ng_bucket{le="1"} 1\n').map((f) => `${f.name}:${f.type}`),
    ['g_bucket:untyped'],
  );
});

test('bad metric names', () => {
  rejects('1abc 1\n', 1, /invalid metric name/);
  rejects('ok 1\n-x 1\n', 2, /invalid metric name/);
  rejects('# HELP 1x help\n', 1, /invalid metric name in HELP line/);
  rejects('# TYPE x-y gauge\n', 1, /invalid metric name in TYPE line/);
  rejects('{"utf8.name"} 1\n', 1, /quoted \(UTF-8\) metric names are not supported/);
});

test('bad label names', () => {
  rejects('x{1a="b"} 1\n', 1, /invalid label name for metric "x"/);
  rejects('x{a-b="c"} 1\n', 1, /expected '=' after label name "a"/);
  rejects('x{__name__="y"} 1\n', 1, /"__name__" is reserved/);
  rejects('x{"a.b"="c"} 1\n', 1, /quoted \(UTF-8\) label names/);
});

test('unterminated or malformed label values', () => {
  rejects('x{a="b} 1\n', 1, /unescaped new-line/);
  rejects('ok 1\nx{a="b', 2, /unexpected end of input/);
  rejects('x{a=b} 1\n', 1, /expected '"' at start of label value/);
  rejects('x{a="b" c="d"} 1\n', 1, /unexpected "c" after label value "b"/);
  rejects('x{a="\\t"} 1\n', 1, /invalid escape sequence '\\t'/);
  rejects('x{a="b"\n', 1, /unexpected "\n"|expected ','/);
});

test('invalid HELP escape', () => {
  rejects('# HELP x bad \\t escape\n', 1, /invalid escape sequence '\\t' in HELP/);
});

test('duplicate label names', () => {
  rejects('x{a="1",a="2"} 1\n', 1, /duplicate label name "a" for metric "x"/);
  rejects('# TYPE h histogram\nh_bucket{le="1",le="2"} 1\n', 2, /duplicate label name "le"/);
});

test('junk after the timestamp, bad timestamps, trailing whitespace', () => {
  rejects('x 1 2 3\n', 1, /spurious string after timestamp: " 3"/);
  rejects('x 1 2 \n', 1, /spurious string after timestamp/);
  rejects('x 1 1.5\n', 1, /expected integer as timestamp, got "1.5"/);
  rejects('x 1 9223372036854775808\n', 1, /expected integer as timestamp/);
  rejects('x 1 \n', 1, /trailing whitespace after the value of sample "x"/);
});

test('histogram samples need a parsable le; summary samples a parsable quantile', () => {
  rejects('# TYPE h histogram\nh_bucket{a="b"} 1\n', 2, /missing "le" label on histogram sample "h_bucket"/);
  rejects('# TYPE h histogram\nh_bucket{le="x"} 1\n', 2, /expected float as value for 'le' label, got "x"/);
  rejects('# TYPE s summary\ns 1\n', 2, /missing "quantile" label on summary sample "s"/);
  rejects('# TYPE s summary\ns{quantile="p50"} 1\n', 2, /expected float as value for 'quantile' label, got "p50"/);
});

test('a last line without its newline is an error, as in Go', () => {
  rejects('x 1\ny 2', 2, /unexpected end of input/);
  rejects('x 1\n# HELP y', 2, /unexpected end of input/);
  rejects('# just a comment', 1, /unexpected end of input/);
});

test('the line number counts blank and comment lines', () => {
  rejects('\n\n# c\n\nx 1\nx oops\n', 6, /invalid value "oops"/);
});

test('ParseError is an Error with a stable name', () => {
  try {
    parseText('x y\n');
    assert.fail('no error');
  } catch (err) {
    assert.ok(err instanceof Error);
    assert.equal((err as Error).name, 'ParseError');
    assert.equal((err as Error).message, 'line 1: invalid value "y" for sample "x"');
  }
});

// --- values: plain decimals are converted in place, the rest by the general path ---

test('sample values convert exactly as Number() does: short and long mantissas, exponents, signs', () => {
  const values = [
    '0', '-0', '0.0', '-0.0', '7', '00012', '12345.678', '0.1', '0.30000000000000004', '123456789012345', '999999999999999',
    '1234567890123456', '9007199254740993', '18446744073709551615', '4.101001596e+09', '1.769938e+07', '8.90474992338568e-05',
    '1.6682515279389917e-05', '1e22', '1e23', '1.5E-22', '3e-23', '.5', '5.', '.5e1', '5.e-1', '2.2250738585072014e-308',
    '5e-324', '1.7976931348623157e308', '0.000001234', '-12.5e3', '1e-400',
  ];
  for (const v of values) {
    assert.ok(Object.is(value(`x ${v}\n`), Number(v)), `value ${v}`);
    const h = only(parseText(`# TYPE h histogram\nh_bucket{le="${v}"} 1\n`)).metrics[0];
    assert.ok(h?.kind === 'histogram' && Object.is(h.buckets[0]?.upperBound, Number(v)), `le ${v}`);
  }
});

test('malformed decimals are still invalid values, named as written', () => {
  for (const v of ['1.2.3', '1e', '1e+', '-', '.', '-.', '1-2', '+-1', '1ee5', '0x1p3', '1e400', '-1e400', '--1']) {
    rejects(`x ${v}\n`, 1, new RegExp(`invalid value "${v.replace(/[.+]/g, '\\$&')}" for sample "x"`));
  }
  rejects('# TYPE h histogram\nh_bucket{le="1e"} 1\n', 2, /expected float as value for 'le' label, got "1e"/);
});

// --- characters beyond ASCII: the scanner reads UTF-16 code units ---

test('label values and HELP keep characters beyond ASCII, whatever their low byte', () => {
  // U+010A ends in 0x0A (a newline's byte), U+0122 in 0x22 ('"'), U+015C in 0x5C ('\'): none is one.
  const f = only(parseText('# HELP x caf\u00e9 \u010a\u0122\u015c \u{1F600}\nx{a="\u010a\u0122\u015c",b="\u{1F600}\ud800"} 1\n'));
  assert.equal(f.help, 'caf\u00e9 \u010a\u0122\u015c \u{1F600}');
  assert.deepEqual(f.metrics[0]?.labels, [
    { name: 'a', value: '\u010a\u0122\u015c' },
    { name: 'b', value: '\u{1F600}\ud800' },
  ]);
  rejects('\u00e9 1\n', 1, /invalid metric name starting with "\u00e9"/);
  rejects('x{\u00e9="1"} 1\n', 1, /invalid label name for metric "x"/);
});

// --- reparseText: a body parsed against the previous parse of the same shim ---

const fixtureA = fixture('shim-metrics-a.prom');
const fixtureB = fixture('shim-metrics-b.prom');

test('reparseText gives what parseText gives, whatever the previous parse', () => {
  for (const [text, previous] of [
    [fixtureA, fixtureA],
    [fixtureB, fixtureA],
    [fixtureA, fixtureB],
    [fixtureA, 'other{a="1"} 1\n'],
    ['# TYPE x counter\nx{a="b"} 1\n', fixtureA],
  ] as const) {
    assert.deepEqual(reparseText(text, parseText(previous)), parseText(text));
  }
});

test('reparseText shares the labels of the series that did not change', () => {
  const before = parseText(fixtureA);
  const after = reparseText(fixtureB, before);
  const guestA = before.find((f) => f.name === 'kata_guest_meminfo')!;
  const guestB = after.find((f) => f.name === 'kata_guest_meminfo')!;
  assert.ok(guestB.metrics.length > 10);
  guestB.metrics.forEach((m, i) => assert.equal(m.labels, guestA.metrics[i]?.labels, `meminfo series ${i}`));
  const histA = before.find((f) => f.name === 'kata_shim_rpc_durations_histogram_milliseconds')!;
  const histB = after.find((f) => f.name === 'kata_shim_rpc_durations_histogram_milliseconds')!;
  histB.metrics.forEach((m, i) => assert.equal(m.labels, histA.metrics[i]?.labels, `histogram series ${i}`));
});

test('reparseText reads what changed: values, labels, a series moved, help', () => {
  const before = parseText('# HELP x Things.\n# TYPE x gauge\nx{a="1",b="p"} 1\nx{a="2",b="p"} 2\n');
  const text = '# HELP x Other things.\n# TYPE x gauge\nx{a="2",b="p"} 20\nx{a="1",b="q"} 10\nx{a="3",b="p"} 30\n';
  const after = reparseText(text, before);
  assert.deepEqual(after, parseText(text));
  assert.equal(only(after).help, 'Other things.');
  assert.notEqual(only(after).metrics[0]?.labels, only(before).metrics[0]?.labels);
});

test('reparseText applies escapes, and their errors, even where the previous text looked the same once unescaped', () => {
  // The previous HELP and value were written with escapes; the same characters unescaped are not the same text.
  const before = parseText('# HELP x a\\\\b\nx{v="q\\\\n"} 1\n');
  assert.equal(only(before).help, 'a\\b');
  assert.deepEqual(reparseText('# HELP x a\\\\b\nx{v="q\\\\n"} 2\n', before), parseText('# HELP x a\\\\b\nx{v="q\\\\n"} 2\n'));
  assert.throws(() => reparseText('# HELP x a\\b\nx 1\n', before), /line 1: invalid escape sequence '\\b' in HELP/);
  assert.throws(() => reparseText('# HELP x ok\nx{v="q\\n} 1\n', before), ParseError);
});

test('reparseText reports the errors parseText reports, at the same lines', () => {
  const previous = parseText(fixtureA);
  for (const bad of [fixtureA.replace('kata_guest_load{item="load1"}', 'kata_guest_load{item="load1"'), fixtureA + 'x 1 2 3\n', fixtureA.slice(0, -1)]) {
    let expected: unknown;
    try {
      parseText(bad);
    } catch (e) {
      expected = e;
    }
    assert.ok(expected instanceof ParseError);
    assert.throws(
      () => reparseText(bad, previous),
      (e: unknown) => e instanceof ParseError && e.message === expected.message && e.line === expected.line,
    );
  }
});
