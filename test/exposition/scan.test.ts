// The one grammar (src/exposition/scan.ts): what Go's expfmt.TextParser
// (prometheus/common v0.62, what kata-monitor runs on every shim body)
// accepts and refuses, with its messages and line numbers; the model it
// builds (parseFamilies); and the index a scan leaves (scanBody): where each
// sample's parts sit, the families as heads, the runs of their samples.
// Where Go's behaviour is surprising it is asserted as Go has it: the
// differential test (test/interop/expfmt-differential.test.ts) checks the
// same against Go itself on many thousands of bodies.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_LIMITS, ScanError, parseFamilies, scanBody, type ScannedBody } from '../../src/exposition/scan.ts';
import { Sample, roleOf, sampleTimestamp, sampleValue, specialValue } from '../../src/exposition/samples.ts';
import type { Metric, MetricFamily } from '../../src/exposition/model.ts';
import { FIXTURES, fixture, parseText as parse } from '../support/fixtures.ts';

function only(families: readonly MetricFamily[]): MetricFamily {
  assert.equal(families.length, 1);
  return families[0]!;
}

function firstMetric(text: string): Metric {
  return only(parse(text)).metrics[0]!;
}

function value(text: string): number {
  const m = firstMetric(text);
  assert.equal(m.kind, 'scalar');
  return m.value;
}

/**
 * Asserts that a body is refused, by the scan and by the model alike, with a
 * ScanError at `line` ('malformed') whose message matches `pattern`.
 */
function rejects(text: string | Buffer, line: number, pattern: RegExp): void {
  const body = typeof text === 'string' ? Buffer.from(text) : text;
  for (const [what, run] of [
    ['scanBody', () => scanBody(body)],
    ['parseFamilies', () => parseFamilies(body)],
  ] as const) {
    assert.throws(run, (err: unknown) => {
      assert.ok(err instanceof ScanError, `${what}: expected ScanError, got ${String(err)}`);
      assert.equal(err.line, line, `${what}: line of "${err.message}"`);
      assert.equal(err.reason, 'malformed');
      assert.ok(err.message.startsWith(`line ${line}: `), err.message);
      assert.match(err.message, pattern);
      return true;
    });
  }
}

// ---- the model: parseFamilies ----

test('both shim fixtures parse into 70 families and 903 samples with the expected types', () => {
  for (const name of FIXTURES) {
    const families = parseFamilies(fixture(name));
    assert.equal(families.length, 70, name);
    // Lines the model writes back: buckets (+Inf included) or quantiles, then _sum and _count.
    const lines = families.flatMap((f) => f.metrics).reduce((n, m) => n + (m.kind === 'scalar' ? 1 : m.kind === 'histogram' ? m.buckets.length + 2 : m.quantiles.length + 2), 0);
    assert.deepEqual([lines, scanBody(fixture(name)).samples], [903, 903], name);
    const types = new Map<string, number>();
    for (const f of families) types.set(f.type, (types.get(f.type) ?? 0) + 1);
    assert.deepEqual(Object.fromEntries(types), { summary: 1, gauge: 60, counter: 7, histogram: 2 }, name);
  }
});

test('a gauge with HELP, TYPE and labels in wire order', () => {
  const text = '# HELP temp Temperature.\n# TYPE temp gauge\ntemp{zone="b",host="x"} 21.5\ntemp{zone="a",host="y"} -3\n';
  assert.deepEqual(parse(text), [
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
  const f = only(parse('plain 1\n'));
  assert.equal(f.type, 'untyped');
  assert.ok(!('help' in f));
  assert.equal(only(parse('# TYPE u untyped\nu 2\n')).type, 'untyped');
});

test('TYPE values are case-insensitive, as Go upper-cases them', () => {
  assert.equal(only(parse('# TYPE c COUNTER\nc 1\n')).type, 'counter');
  assert.equal(only(parse('# TYPE c Gauge\nc 1\n')).type, 'gauge');
});

test('HELP and TYPE may come in either order', () => {
  const a = parse('# TYPE x counter\n# HELP x Things.\nx 1\n');
  const b = parse('# HELP x Things.\n# TYPE x counter\nx 1\n');
  assert.deepEqual(a, b);
  assert.equal(only(a).help, 'Things.');
});

test('HELP after the samples of its family is accepted (Go allows it)', () => {
  assert.equal(only(parse('x 1\n# HELP x late\n')).help, 'late');
});

test('comment keywords are found after any blanks; the HELP text starts after the blanks that follow the name', () => {
  assert.equal(only(parse('#  \tHELP x a\nx 1\n')).help, 'a');
  assert.equal(only(parse('# HELP x\tsomething\nx 1\n')).help, 'something');
  assert.equal(only(parse('# HELP x  two  blanks \nx 1\n')).help, 'two  blanks ');
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
  const f = only(parse('# HELP x a\\\\b\\nc \\"q\\" "raw"\nx 1\n'));
  assert.equal(f.help, 'a\\b\nc "q" "raw"');
});

test('special float values and exponents', () => {
  assert.ok(Number.isNaN(value('x NaN\n')));
  assert.ok(Number.isNaN(value('x nan\n')));
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

test('optional int64 timestamps, with a sign if written so, as strconv.ParseInt reads them', () => {
  assert.equal(firstMetric('x 1 1704917810932\n').timestampMs, 1704917810932);
  assert.equal(firstMetric('x 1 -5\n').timestampMs, -5);
  assert.equal(firstMetric('x 1 +5\n').timestampMs, 5);
  assert.equal(firstMetric('x 1 007\n').timestampMs, 7);
  assert.equal(firstMetric('x 1 9223372036854775807\n').timestampMs, 9223372036854775807n, 'exact beyond 2^53');
  assert.ok(!('timestampMs' in firstMetric('x 1\n')));
});

test('whitespace: leading blanks, tabs between tokens, blanks inside braces, a comma before the brace', () => {
  const m = firstMetric('  \tx { a = "1" , b="2" , }\t 3 \t 4\n');
  assert.deepEqual(m, { kind: 'scalar', labels: [{ name: 'a', value: '1' }, { name: 'b', value: '2' }], value: 3, timestampMs: 4 });
  assert.equal(value('x{a="1"}3\n'), 3);
  assert.deepEqual(firstMetric('x{} 1\n').labels, []);
});

test('comments and blank lines are skipped', () => {
  const fams = parse('# just a comment\n\n   \n#\n# HELP\n# TYPE\nx 1\n# another one\n\ny 2\n   ');
  assert.deepEqual(
    fams.map((f) => f.name),
    ['x', 'y'],
  );
});

test('families with no samples are dropped; order is the order of first appearance', () => {
  const text = '# HELP b B.\n# TYPE empty gauge\n# HELP a A.\na 1\nb 2\nc 3\n# TYPE nothing counter\n';
  assert.deepEqual(
    parse(text).map((f) => f.name),
    ['b', 'a', 'c'],
  );
  assert.deepEqual(parse(''), []);
  assert.deepEqual(parse('# TYPE x gauge\n'), []);
  // c_total is not c: counter c has no samples, c_total is a family of its own.
  assert.deepEqual(
    parse('# TYPE c counter\nc_total 1\n').map((f) => `${f.name}:${f.type}`),
    ['c_total:untyped'],
  );
});

test('samples of one family separated by another family are merged into the first', () => {
  const fams = parse('a 1\nb 2\na{x="y"} 3\n');
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
  assert.deepEqual(parse(text), [
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

test('histogram grouping ignores label order, as Go groups by signature; the first line gives the labels', () => {
  const text = '# TYPE h histogram\nh_bucket{a="1",b="2",le="+Inf"} 1\nh_sum{b="2",a="1"} 1\nh_count{b="2",a="1"} 1\n';
  const f = only(parse(text));
  assert.equal(f.metrics.length, 1);
  assert.deepEqual(f.metrics[0]?.labels, [
    { name: 'a', value: '1' },
    { name: 'b', value: '2' },
  ]);
});

test('label sets that only differ in a crafted value stay separate groups', () => {
  const text = '# TYPE h histogram\nh_count{a="x=1:y"} 1\nh_count{a="x",b="y"} 2\n';
  assert.equal(only(parse(text)).metrics.length, 2);
});

test('summaries: quantiles, _sum and _count', () => {
  const text = ['# TYPE gc summary', 'gc{quantile="0"} 1e-05', 'gc{quantile="0.5"} 4e-05', 'gc{quantile="1"} NaN', 'gc_sum 0.025', 'gc_count 571', ''].join('\n');
  const m = only(parse(text)).metrics[0];
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

test("histogram/summary counts are truncated to integers like Go's uint64(value)", () => {
  const m = firstMetric('# TYPE h histogram\nh_bucket{le="1"} 2.9\nh_count 3.7\n');
  assert.equal(m.kind, 'histogram');
  assert.deepEqual(m.buckets, [{ upperBound: 1, cumulativeCount: 2 }]);
  assert.equal(m.count, 3);
  assert.equal(m.sum, 0, 'no _sum line: 0, as Go leaves it');
});

test('a histogram sample without le, or a summary sample without quantile, is accepted and its value dropped, as Go does', () => {
  const h = firstMetric('# TYPE h histogram\nh_bucket{a="b"} 1\n');
  assert.deepEqual(h, { kind: 'histogram', labels: [{ name: 'a', value: 'b' }], buckets: [], sum: 0, count: 0 });
  const s = firstMetric('# TYPE s summary\ns 1\n');
  assert.deepEqual(s, { kind: 'summary', labels: [], quantiles: [], sum: 0, count: 0 });
  // A NaN bound counts as none: the line's value is dropped too.
  const nan = firstMetric('# TYPE h histogram\nh_bucket{le="NaN"} 5\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n');
  assert.ok(nan.kind === 'histogram');
  assert.deepEqual(nan.buckets, [{ upperBound: Infinity, cumulativeCount: 1 }]);
});

test('a repeated le or quantile is no duplicate label for Go: the last one wins', () => {
  const h = firstMetric('# TYPE h histogram\nh_bucket{le="1",le="2"} 1\n');
  assert.ok(h.kind === 'histogram');
  assert.deepEqual(h.buckets, [{ upperBound: 2, cumulativeCount: 1 }]);
  const s = firstMetric('# TYPE s summary\ns{quantile="0.5",quantile="0.9"} 1\ns_sum 1\ns_count 1\n');
  assert.ok(s.kind === 'summary');
  assert.deepEqual(s.quantiles, [{ quantile: 0.9, value: 1 }]);
});

test('_sum/_count of a name that is not a summary or histogram are families of their own', () => {
  const fams = parse('# TYPE x gauge\nx 1\nx_sum 2\nx_count 3\nx_bucket 4\n');
  assert.deepEqual(
    fams.map((f) => `${f.name}:${f.type}`),
    ['x:gauge', 'x_sum:untyped', 'x_count:untyped', 'x_bucket:untyped'],
  );
});

test('`le` on a non-histogram and `quantile` on a non-summary are ordinary labels', () => {
  assert.deepEqual(firstMetric('x{le="1"} 1\n').labels, [{ name: 'le', value: '1' }]);
  assert.deepEqual(firstMetric('# TYPE x gauge\nx{quantile="a"} 1\n').labels, [{ name: 'quantile', value: 'a' }]);
});

test('gauge_histogram is a known TYPE: its samples are read, but the family is left out (Go cannot encode it)', () => {
  assert.deepEqual(parse('# TYPE g gauge_histogram\n'), []);
  assert.deepEqual(parse('# TYPE g gauge_histogram\ng{le="1"} 1\nother 2\n').map((f) => f.name), ['other']);
  // As in Go, only a histogram family claims the _bucket name; here it is a family of its own.
  assert.deepEqual(
    parse('# TYPE g gauge_histogram\ng_bucket{le="1"} 1\n').map((f) => `${f.name}:${f.type}`),
    ['g_bucket:untyped'],
  );
});

test('quoted (UTF-8) names are accepted, as Go v0.62 accepts them, and come out escaped with underscores', () => {
  assert.deepEqual(parse('{"utf8.name"} 1\n'), [{ name: 'utf8_name', type: 'untyped', metrics: [{ kind: 'scalar', labels: [], value: 1 }] }]);
  assert.deepEqual(firstMetric('x{"a.b"="c"} 1\n').labels, [{ name: 'a_b', value: 'c' }]);
  assert.deepEqual(firstMetric('{"x.y",a="1"} 1\n').labels, [{ name: 'a', value: '1' }]);
});

test("a line starting with '{' may name its metric among the labels, anywhere", () => {
  for (const text of ['{x,a="1"} 1\n', '{a="1",x} 1\n']) {
    assert.deepEqual(parse(text), [{ name: 'x', type: 'untyped', metrics: [{ kind: 'scalar', labels: [{ name: 'a', value: '1' }], value: 1 }] }], text);
  }
  assert.deepEqual(parse('{x} 1\n'), [{ name: 'x', type: 'untyped', metrics: [{ kind: 'scalar', labels: [], value: 1 }] }]);
});

test('a body without a final newline after whitespace only is fine', () => {
  assert.equal(parse('x 1\n  \t').length, 1);
});

test('every sample keeps its own label values, whatever it shares with the previous line', () => {
  const [m1, m2] = only(parse('x{a="same",b="v1"} 1\nx{a="same",b="v2"} 2\n')).metrics;
  assert.deepEqual(m1?.labels, [
    { name: 'a', value: 'same' },
    { name: 'b', value: 'v1' },
  ]);
  assert.deepEqual(m2?.labels, [
    { name: 'a', value: 'same' },
    { name: 'b', value: 'v2' },
  ]);
});

test('sample values convert exactly as Number() does: short and long mantissas, exponents, signs; bounds too', () => {
  const values = [
    '0', '-0', '0.0', '-0.0', '7', '00012', '12345.678', '0.1', '0.30000000000000004', '123456789012345', '999999999999999',
    '1234567890123456', '9007199254740993', '18446744073709551615', '4.101001596e+09', '1.769938e+07', '8.90474992338568e-05',
    '1.6682515279389917e-05', '1e22', '1e23', '1.5E-22', '3e-23', '.5', '5.', '.5e1', '5.e-1', '2.2250738585072014e-308',
    '5e-324', '1.7976931348623157e308', '0.000001234', '-12.5e3', '1e-400',
  ];
  for (const v of values) {
    assert.ok(Object.is(value(`x ${v}\n`), Number(v)), `value ${v}`);
    const h = only(parse(`# TYPE h histogram\nh_bucket{le="${v}"} 1\n`)).metrics[0];
    assert.ok(h?.kind === 'histogram' && Object.is(h.buckets[0]?.upperBound, Number(v)), `le ${v}`);
  }
});

test('names, label values and HELP are UTF-8 text', () => {
  const text = '# HELP x café \u010a\u0122\u015c \u{1F600}\nx{a="\u010a\u0122\u015c",b="\u{1F600}"} 1\n';
  const f = only(parse(text));
  assert.equal(f.help, 'café \u010a\u0122\u015c \u{1F600}');
  assert.deepEqual(f.metrics[0]?.labels, [
    { name: 'a', value: '\u010a\u0122\u015c' },
    { name: 'b', value: '\u{1F600}' },
  ]);
  // HELP is not checked for UTF-8 (Go does not); a label value is.
  assert.equal(only(parseFamilies(Buffer.from('# HELP x \xff\nx 1\n', 'latin1'))).help, '\ufffd');
  rejects(Buffer.from('x{a="\xff"} 1\n', 'latin1'), 1, /invalid label value/);
});

// ---- malformed input: a ScanError naming the line, with Go's message ----

test('invalid sample value', () => {
  rejects('# HELP foo x\nfoo 1\nfoo abc\n', 3, /expected float as value, got "abc"/);
  rejects('foo 0x10\n', 1, /expected float as value, got "0x10"/);
  rejects('foo 1_000\n', 1, /expected float as value, got "1_000"/);
  rejects('foo 1e400\n', 1, /expected float as value, got "1e400"/); // overflow is ErrRange in Go
  rejects('foo +NaN\n', 1, /expected float as value, got "\+NaN"/);
  rejects('foo 1\r\n', 1, /expected float as value, got "1\\r"/);
});

test('missing value', () => {
  rejects('a 1\nfoo\n', 2, /expected float as value, got ""/);
  rejects('foo{a="b"}\n', 1, /expected float as value, got ""/);
});

test('second HELP / second TYPE / TYPE after samples', () => {
  rejects('# HELP x a\n# HELP x b\nx 1\n', 2, /second HELP line for metric name "x"/);
  rejects('# TYPE x gauge\n# TYPE x gauge\n', 2, /second TYPE line for metric name "x"/);
  rejects('x 1\n# TYPE x gauge\n', 2, /TYPE reported after samples/);
});

test('unknown metric type, including trailing blanks or a CR after the type (Go reads the rest of the line)', () => {
  rejects('# TYPE x gaugeish\n', 1, /unknown metric type "gaugeish"/);
  rejects('# TYPE x gauge \n', 1, /unknown metric type "gauge "/);
  rejects('# TYPE m gauge\r\nm 1\n', 1, /unknown metric type "gauge\\r"/);
});

test('bad metric names', () => {
  rejects('1abc 1\n', 1, /invalid metric name$/);
  rejects('ok 1\n-x 1\n', 2, /invalid metric name$/);
  rejects('<html><body>oops</body></html>\n', 1, /invalid metric name$/);
  rejects('\u00e9 1\n', 1, /invalid metric name$/);
  rejects('# HELP 1x help\n', 1, /invalid metric name in comment/);
  rejects('# TYPE x-y gauge\n', 1, /invalid metric name in comment/);
});

test('bad label names', () => {
  rejects('x{1a="b"} 1\n', 1, /invalid label name for metric "x"/);
  rejects('x{\u00e9="1"} 1\n', 1, /invalid label name for metric "x"/);
  rejects('x{a-b="c"} 1\n', 1, /expected '=' after label name, found "-"/);
  rejects('x{__name__="y"} 1\n', 1, /label name "__name__" is reserved/);
});

test('unterminated or malformed label values', () => {
  rejects('x{a="b} 1\n', 1, /label value "b} 1" contains unescaped new-line/);
  rejects('ok 1\nx{a="b', 2, /unexpected end of input stream/);
  rejects('x{a=b} 1\n', 1, /expected '"' at start of label value, found "b"/);
  rejects('x{a="b" c="d"} 1\n', 1, /unexpected end of label value "b"/);
  rejects('x{a="b"\n', 1, /unexpected end of label value "b"/);
  rejects('x{a="\\t"} 1\n', 1, /invalid escape sequence '\\t'/);
});

test('invalid HELP escape', () => {
  rejects('# HELP x bad \\t escape\nx 1\n', 1, /invalid escape sequence '\\t'/);
});

test('duplicate label names', () => {
  rejects('x{a="1",a="2"} 1\n', 1, /duplicate label names for metric "x"/);
});

test('junk after the timestamp, bad timestamps, a blank after the value', () => {
  rejects('x 1 2 3\n', 1, /spurious string after timestamp: " 3"/);
  rejects('x 1 2 \n', 1, /spurious string after timestamp: " "/);
  rejects('x 1 1.5\n', 1, /expected integer as timestamp, got "1.5"/);
  rejects('x 1 9223372036854775808\n', 1, /expected integer as timestamp, got "9223372036854775808"/);
  rejects('x 1 \n', 1, /expected integer as timestamp, got ""/);
});

test('le and quantile must be floats where they are the bounds of a histogram or summary', () => {
  rejects('# TYPE h histogram\nh_bucket{le="x"} 1\n', 2, /expected float as value for 'le' label, got "x"/);
  rejects('# TYPE h histogram\nh_bucket{le=" 4"} 1\n', 2, /expected float as value for 'le' label, got " 4"/);
  rejects('# TYPE h histogram\nh_bucket{le="x",a="1"} 1\n', 2, /expected float as value for 'le' label, got "x"/);
  rejects('# TYPE h histogram\nh_bucket{le="1e"} 1\n', 2, /expected float as value for 'le' label, got "1e"/);
  rejects('# TYPE s summary\ns{quantile="p50"} 1\n', 2, /expected float as value for 'quantile' label, got "p50"/);
});

test('a last line without its newline is an error, as in Go', () => {
  rejects('x 1\ny 2', 2, /unexpected end of input stream/);
  rejects('x 1\n# HELP y', 2, /unexpected end of input stream/);
  rejects('# just a comment', 1, /unexpected end of input stream/);
});

test('the line number counts blank and comment lines', () => {
  rejects('\n\n# c\n\nx 1\nx oops\n', 6, /expected float as value, got "oops"/);
});

test('malformed decimals are invalid values, named as written', () => {
  for (const v of ['1.2.3', '1e', '1e+', '-', '.', '-.', '1-2', '+-1', '1ee5', '0x1p3', '1e400', '-1e400', '--1']) {
    rejects(`x ${v}\n`, 1, new RegExp(`expected float as value, got "${v.replace(/[.+]/g, '\\$&')}"`));
  }
});

test('ScanError is an Error with a stable name, the line, and why', () => {
  try {
    scanBody(Buffer.from('x y\n'));
    assert.fail('no error');
  } catch (err) {
    assert.ok(err instanceof Error);
    assert.ok(err instanceof ScanError);
    assert.equal(err.name, 'ScanError');
    assert.equal(err.message, 'line 1: expected float as value, got "y"');
    assert.equal(err.line, 1);
    assert.equal(err.reason, 'malformed');
  }
});

// ---- the index: scanBody ----

const HIST =
  '# HELP h H.\n# TYPE h histogram\nh_bucket{a="1",le="0.5"} 1 7\nh_bucket{a="1",le="+Inf"} 2 7\nh_sum{a="1"} 3.5 7\nh_count{a="1"} 2 7\n' +
  '# TYPE s summary\ns{quantile="0.99"} 4\ns_sum 5\ns_count 6\nb 2\ngo_x 1\n';

/** Each sample of a scan as the text of its parts (undefined: absent). */
function parts(scan: ScannedBody): Record<string, string | undefined>[] {
  const { body } = scan;
  const s = new Sample();
  const text = (from: number, to: number): string | undefined => (from < 0 ? undefined : body.toString('latin1', from, to));
  const out = [];
  for (let r = 0; r < scan.samples; r++) {
    s.read(scan.rec, r);
    out.push({ name: text(s.ns, s.ne), labels: text(s.ls, s.le), special: text(s.ss, s.se), value: text(s.vs, s.ve), timestamp: text(s.ts, s.te) });
  }
  return out;
}

test('the index says where each sample’s name, labels (le/quantile apart), value and timestamp sit, in body order', () => {
  const scan = scanBody(Buffer.from(HIST));
  assert.equal(scan.samples, 9);
  assert.deepEqual(parts(scan), [
    { name: 'h_bucket', labels: 'a="1"', special: 'le="0.5"', value: '1', timestamp: '7' },
    { name: 'h_bucket', labels: 'a="1"', special: 'le="+Inf"', value: '2', timestamp: '7' },
    { name: 'h_sum', labels: 'a="1"', special: undefined, value: '3.5', timestamp: '7' },
    { name: 'h_count', labels: 'a="1"', special: undefined, value: '2', timestamp: '7' },
    { name: 's', labels: undefined, special: 'quantile="0.99"', value: '4', timestamp: undefined },
    { name: 's_sum', labels: undefined, special: undefined, value: '5', timestamp: undefined },
    { name: 's_count', labels: undefined, special: undefined, value: '6', timestamp: undefined },
    { name: 'b', labels: undefined, special: undefined, value: '2', timestamp: undefined },
    { name: 'go_x', labels: undefined, special: undefined, value: '1', timestamp: undefined },
  ]);
});

test('a sample’s value, timestamp, bound and role are read from the index', () => {
  const scan = scanBody(Buffer.from(HIST));
  const s = new Sample();
  const at = (r: number): Sample => s.read(scan.rec, r);
  assert.equal(sampleValue(scan.body, at(2)), 3.5);
  assert.equal(sampleTimestamp(scan.body, at(2)), 7);
  assert.equal(sampleTimestamp(scan.body, at(7)), undefined);
  assert.equal(specialValue(scan.body, at(0)), 0.5);
  assert.equal(specialValue(scan.body, at(1)), Infinity);
  assert.equal(specialValue(scan.body, at(4)), 0.99);
  assert.deepEqual(
    [0, 1, 2, 3, 4, 5, 6].map((r) => roleOf(scan.body, at(r), true)),
    ['special', 'special', 'sum', 'count', 'special', 'sum', 'count'],
  );
  assert.equal(roleOf(scan.body, at(7), false), 'value');
});

test('heads: the families sorted by final name (prefix included), with HELP/TYPE lines as Go writes them; order: the body’s order', () => {
  const scan = scanBody(Buffer.from(HIST), { prefix: (name) => (name.startsWith('go_') ? 'kata_shim_' : '') });
  assert.deepEqual(
    scan.heads.map((h) => [h.name, h.type, h.help, h.header.toString(), h.prefix.toString()]),
    [
      ['b', 'untyped', undefined, '# TYPE b untyped\n', ''],
      ['h', 'histogram', 'H.', '# HELP h H.\n# TYPE h histogram\n', ''],
      ['kata_shim_go_x', 'untyped', undefined, '# TYPE kata_shim_go_x untyped\n', 'kata_shim_'],
      ['s', 'summary', undefined, '# TYPE s summary\n', ''],
    ],
  );
  assert.deepEqual(
    [...scan.order].map((k) => scan.heads[k]!.name),
    ['h', 's', 'b', 'kata_shim_go_x'],
  );
  // Runs as (head, from, to), grouped by head in heads order.
  assert.deepEqual([...scan.runs], [0, 7, 8, 1, 0, 4, 2, 8, 9, 3, 4, 7]);
});

test('a HELP with escapes: the head keeps the text as Go writes it back, and the help as text', () => {
  const head = scanBody(Buffer.from('# HELP x a\\\\b\\nc \\"q\\"\nx 1\n')).heads[0]!;
  assert.equal(head.header.toString(), '# HELP x a\\\\b\\nc "q"\n# TYPE x untyped\n');
  assert.equal(head.help, 'a\\b\nc "q"');
});

test('families without samples have no head; a TYPE in any case is written lower-case', () => {
  const scan = scanBody(Buffer.from('zz 1\n# HELP empty Nothing.\n# TYPE empty gauge\n# TYPE aa GAUGE\naa 2 1700000000000\n'));
  assert.deepEqual(
    scan.heads.map((h) => h.header.toString()),
    ['# TYPE aa gauge\n', '# TYPE zz untyped\n'],
  );
});

test('a family whose samples are not contiguous is one head with several runs', () => {
  const scan = scanBody(Buffer.from('a 1\nb 2\na{x="2"} 3\n'));
  assert.deepEqual(
    scan.heads.map((h) => h.name),
    ['a', 'b'],
  );
  assert.deepEqual([...scan.runs], [0, 0, 1, 0, 2, 3, 1, 1, 2]);
});

test('the index is 16-bit for ordinary bodies, and 32-bit when a sample line is 64 KiB or longer, read alike', () => {
  const ordinary = scanBody(fixture('shim-metrics-a.prom'));
  assert.ok(ordinary.rec instanceof Uint16Array);

  const long = 'v'.repeat(70_000);
  const body = Buffer.from(`# TYPE h histogram\nh_bucket{big="${long}",le="1"} 1\nh_bucket{big="${long}",le="+Inf"} 2\nh_sum{big="${long}"} 3 1700000000000\nh_count{big="${long}"} 2 1700000000000\nafter{a="1"} 5\n`);
  // Timestamps on some lines of the series only: Go gives the series one (the last read) and writes it on every line.
  const wide = scanBody(body);
  assert.ok(wide.rec instanceof Int32Array);
  assert.deepEqual(
    parts(wide).map((p) => [p.name, p.labels?.length, p.special, p.value, p.timestamp]),
    [
      ['h_bucket', long.length + 6, 'le="1"', '1', '1700000000000'],
      ['h_bucket', long.length + 6, 'le="+Inf"', '2', '1700000000000'],
      ['h_sum', long.length + 6, undefined, '3', '1700000000000'],
      ['h_count', long.length + 6, undefined, '2', '1700000000000'],
      ['after', 5, undefined, '5', undefined],
    ],
  );
  // The long line after ordinary ones (a canonical body): the samples before it are read alike too.
  const later = Buffer.from(`# TYPE g gauge\ng{a="1"} 1 5\ng 2\ng{big="${long}"} 3\ng{b="2"} 4\n`);
  const mixed = scanBody(later);
  assert.equal(mixed.normalized, false);
  assert.ok(mixed.rec instanceof Int32Array);
  assert.deepEqual(
    parts(mixed).map((p) => [p.name, p.labels?.slice(0, 10), p.value, p.timestamp]),
    [
      ['g', 'a="1"', '1', '5'],
      ['g', undefined, '2', undefined],
      ['g', 'big="vvvvv', '3', undefined],
      ['g', 'b="2"', '4', undefined],
    ],
  );
});

test('a body with more samples than the scratch index holds is indexed whole', () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => `big{i="${i}"} ${i}\n`);
  const scan = scanBody(Buffer.from(`# TYPE big gauge\n${lines.join('')}`));
  assert.equal(scan.samples, 20_000);
  assert.deepEqual([...scan.runs], [0, 0, 20_000]);
  const p = parts(scan);
  assert.deepEqual(p[19_999], { name: 'big', labels: 'i="19999"', special: undefined, value: '19999', timestamp: undefined });
});

test('a scan does not depend on the scans before it (scratch records and heads are shared between scans)', () => {
  const a = fixture('shim-metrics-a.prom');
  const b = fixture('shim-metrics-b.prom');
  const huge = Buffer.from(`# TYPE big gauge\n${Array.from({ length: 20_000 }, (_, i) => `big{i="${i}"} ${i}\n`).join('')}`);
  const small = Buffer.from('# TYPE x counter\nx{a="b"} 1\n');
  const view = (s: ScannedBody): unknown => ({ parts: parts(s), heads: s.heads.map((h) => h.header.toString()), runs: [...s.runs], order: [...s.order] });
  const alone = new Map([a, b, small].map((body) => [body, view(scanBody(body))]));
  for (const [previous, body] of [
    [a, a],
    [b, a],
    [a, b],
    [huge, a],
    [a, small],
    [huge, small],
  ] as const) {
    scanBody(previous);
    assert.deepEqual(view(scanBody(body)), alone.get(body));
  }
  assert.throws(() => scanBody(Buffer.from('x 1\nx y\n')), ScanError);
  assert.deepEqual(view(scanBody(small)), alone.get(small), 'a refused body leaves nothing behind');
});

test('scanBody without options has no limits and no prefix', () => {
  const scan = scanBody(Buffer.from('go_x 1\n'));
  assert.equal(scan.heads[0]!.name, 'go_x');
  assert.equal(scan.heads[0]!.prefix.length, 0);
  assert.deepEqual(NO_LIMITS, { sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 });
});
