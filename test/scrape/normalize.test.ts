// Canonical bodies and the others. A body exactly as Go's encoder writes it
// (every shim's) is kept as it came and its samples copied to /metrics; a
// body Go would write differently (blanks, another spelling of a number, a
// histogram's lines out of Go's order, a missing +Inf bucket…) is read as
// Go reads it, written as Go writes it, and that text is what is indexed
// and served: either way /metrics is what upstream kata-monitor writes.
// Every expected text below is what Go's expfmt (the oracle of
// test/interop) writes for the body.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scanBody } from '../../src/exposition/scan.ts';
import { writeSamples } from '../../src/exposition/samples.ts';
import { shimPrefix } from '../../src/scrape/relabel.ts';
import { ChunkPool } from '../../src/buffers/chunk-pool.ts';
import { ChunkWriter } from '../../src/buffers/chunk-writer.ts';
import { createShimPayload } from '../../src/demo/payload.ts';
import { S, servedOne } from './serve.ts';
import { FIXTURES, fixture } from '../support/fixtures.ts';

/** The body written back from its scan without labels or prefix, family by family in the body's order. */
function writtenBack(body: Buffer): Buffer {
  const scan = scanBody(body);
  const w = new ChunkWriter(new ChunkPool(4096));
  for (const k of scan.order) {
    w.bytes(scan.heads[k]!.header);
    for (let j = 0; j < scan.runs.length; j += 3) if (scan.runs[j] === k) writeSamples(scan, scan.runs[j + 1]!, scan.runs[j + 2]!, Buffer.alloc(0), Buffer.alloc(0), w);
  }
  return Buffer.concat(w.finish());
}

// ---- what Go wrote is kept as it came ----

test('a Go-written body is not copied or rewritten: the scan holds the very buffer it was given', () => {
  for (const name of FIXTURES) {
    const body = fixture(name);
    const scan = scanBody(body, { prefix: shimPrefix });
    assert.equal(scan.normalized, false, name);
    assert.equal(scan.body, body, name);
  }
});

test('a Go-written body is served byte for byte as it came: written back without labels it is the same bytes', () => {
  for (const body of [fixture('shim-metrics-a.prom'), fixture('shim-metrics-b.prom'), Buffer.from(createShimPayload('normalize')())]) {
    assert.ok(writtenBack(body).equals(body));
  }
});

test('with the sandbox labels, each line of a Go-written body is served as it came, labels inserted before le/quantile', () => {
  const body = fixture('shim-metrics-a.prom').toString();
  const served = servedOne(body);
  const samples = (text: string): string[] => text.split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const expected = samples(body).map((l) => {
    const m = /^([^{ ]+)(?:\{(.*)\})? (.*)$/.exec(l)!;
    const name = shimPrefix(m[1]!) + m[1]!;
    const labels = m[2] ?? '';
    const special = /(?:^|,)((?:le|quantile)="[^"]*")$/.exec(labels);
    const own = special ? labels.slice(0, labels.length - special[1]!.length).replace(/,$/, '') : labels;
    return `${name}{${[own, S, special?.[1]].filter((x) => x).join(',')}} ${m[3]}`;
  });
  assert.deepEqual(samples(served).sort(), expected.sort());
});

test('a canonical body keeps its sample lines even where its comments are not as Go writes them', () => {
  // HELP after TYPE, HELP after the samples, no TYPE, blanks and comments: only the sample lines are copied.
  const body = '# TYPE x gauge\n# HELP x h\nx 1\n\n# a comment\n#  HELP y late\ny 2\nz{a="1"} 3\n';
  const scan = scanBody(Buffer.from(body));
  assert.equal(scan.normalized, false);
  assert.equal(servedOne(body), `# HELP x h\n# TYPE x gauge\nx{${S}} 1\n# HELP y late\n# TYPE y untyped\ny{${S}} 2\n# TYPE z untyped\nz{a="1",${S}} 3\n`);
});

test('histogram buckets out of bound order, summaries without quantiles, _total beside a counter: all as Go writes them, kept', () => {
  for (const body of [
    '# TYPE h histogram\nh_bucket{le="2"} 1\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
    '# TYPE s summary\ns_sum 2\ns_count 1\n',
    '# TYPE c counter\nc 1\nc_total 2\n',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 1 5\nh_sum 2 5\nh_count 1 5\n',
  ]) {
    assert.equal(scanBody(Buffer.from(body)).normalized, false, body);
  }
});

// ---- what Go would write differently is served as Go writes it ----

/** [what, body, what Go writes for it (with sandbox S's labels)] */
const REWRITTEN: readonly (readonly [string, string, string])[] = [
  ['two blanks before the value', 'x  1\n', `# TYPE x untyped\nx{${S}} 1\n`],
  ['a blank before the name', ' x 1\n', `# TYPE x untyped\nx{${S}} 1\n`],
  ['a tab before the value', 'x\t1\n', `# TYPE x untyped\nx{${S}} 1\n`],
  ['blanks inside the braces', 'x { a = "1" , b="2" , } 3\n', `# TYPE x untyped\nx{a="1",b="2",${S}} 3\n`],
  ['no blank after the braces', 'x{a="1"}3\n', `# TYPE x untyped\nx{a="1",${S}} 3\n`],
  ['a comma before the brace', 'x{a="1",} 1\n', `# TYPE x untyped\nx{a="1",${S}} 1\n`],
  ['empty braces', 'x{} 1\n', `# TYPE x untyped\nx{${S}} 1\n`],
  ['two blanks before the timestamp', 'x 1  5\n', `# TYPE x untyped\nx{${S}} 1 5\n`],
  ['1.0', 'x 1.0\n', `# TYPE x untyped\nx{${S}} 1\n`],
  ['1.50', 'x 1.50\n', `# TYPE x untyped\nx{${S}} 1.5\n`],
  ['an exponent Go would not write', 'x 1e3\n', `# TYPE x untyped\nx{${S}} 1000\n`],
  ['a large number without exponent', 'x 100000000\n', `# TYPE x untyped\nx{${S}} 1e+08\n`],
  ['a small number without exponent', 'x 0.00001\n', `# TYPE x untyped\nx{${S}} 1e-05\n`],
  ['1e6', 'x 1e6\n', `# TYPE x untyped\nx{${S}} 1e+06\n`],
  ['a leading zero', 'x 01\n', `# TYPE x untyped\nx{${S}} 1\n`],
  ['-0', 'x -0\n', `# TYPE x untyped\nx{${S}} 0\n`],
  ['nan and INFINITY', 'm{a="5"} nan\nm{a="6"} INFINITY\n', `# TYPE m untyped\nm{a="5",${S}} NaN\nm{a="6",${S}} +Inf\n`],
  ['+5 as a timestamp', 'x 1 +5\n', `# TYPE x untyped\nx{${S}} 1 5\n`],
  ['05 as a timestamp', 'x 1 05\n', `# TYPE x untyped\nx{${S}} 1 5\n`],
  ['a quoted metric name', '{"utf8.name"} 1\n', `# TYPE utf8_name untyped\nutf8_name{${S}} 1\n`],
  ['a quoted label name', 'x{"a.b"="c"} 1\n', `# TYPE x untyped\nx{a_b="c",${S}} 1\n`],
  ['the name inside the braces', '{x,a="1"} 1\n', `# TYPE x untyped\nx{a="1",${S}} 1\n`],
  [
    "a histogram's name inside the braces after a line without labels (Go reads the grouping map it never made as empty)",
    '# TYPE h histogram\ng 1\n{h,le="1"} 1\n',
    `# TYPE g untyped\ng{${S}} 1\n# TYPE h histogram\nh_bucket{${S},le="1"} 1\nh_bucket{${S},le="+Inf"} 0\nh_sum{${S}} 0\nh_count{${S}} 0\n`,
  ],
  [
    "a histogram's name alone inside the braces after two TYPE lines",
    '# TYPE h histogram\n# TYPE g gauge\n{h} 1\n',
    `# TYPE h histogram\nh_bucket{${S},le="+Inf"} 0\nh_sum{${S}} 0\nh_count{${S}} 0\n`,
  ],
  [
    'a histogram without its +Inf bucket',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 2\nh_count 1\n',
    `# TYPE h histogram\nh_bucket{${S},le="1"} 1\nh_bucket{${S},le="+Inf"} 1\nh_sum{${S}} 2\nh_count{${S}} 1\n`,
  ],
  [
    '_sum before the buckets',
    '# TYPE h histogram\nh_sum 2\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 1\nh_count 1\n',
    `# TYPE h histogram\nh_bucket{${S},le="1"} 1\nh_bucket{${S},le="+Inf"} 1\nh_sum{${S}} 2\nh_count{${S}} 1\n`,
  ],
  [
    '_count before _sum',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_count 2\nh_sum 1\n',
    `# TYPE h histogram\nh_bucket{${S},le="+Inf"} 2\nh_sum{${S}} 1\nh_count{${S}} 2\n`,
  ],
  [
    'a histogram without _sum',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_count 2\n',
    `# TYPE h histogram\nh_bucket{${S},le="1"} 1\nh_bucket{${S},le="+Inf"} 2\nh_sum{${S}} 0\nh_count{${S}} 2\n`,
  ],
  [
    'a histogram without _count',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\n',
    `# TYPE h histogram\nh_bucket{${S},le="+Inf"} 2\nh_sum{${S}} 1\nh_count{${S}} 0\n`,
  ],
  [
    'a timestamp on some lines of a series only',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 2 5\nh_count 1\n',
    `# TYPE h histogram\nh_bucket{${S},le="+Inf"} 1 5\nh_sum{${S}} 2 5\nh_count{${S}} 1 5\n`,
  ],
  [
    'different timestamps on the lines of a series (the last one wins)',
    '# TYPE h histogram\nh_bucket{le="+Inf"} 2 1\nh_sum 1 2\nh_count 2 3\n',
    `# TYPE h histogram\nh_bucket{${S},le="+Inf"} 2 3\nh_sum{${S}} 1 3\nh_count{${S}} 2 3\n`,
  ],
  [
    'le not last',
    '# TYPE h histogram\nh_bucket{le="+Inf",a="1"} 1\nh_sum{a="1"} 2\nh_count{a="1"} 1\n',
    `# TYPE h histogram\nh_bucket{a="1",${S},le="+Inf"} 1\nh_sum{a="1",${S}} 2\nh_count{a="1",${S}} 1\n`,
  ],
  [
    'le written as 1.0',
    '# TYPE h histogram\nh_bucket{le="1.0"} 1\nh_bucket{le="+Inf"} 1\nh_sum 2\nh_count 1\n',
    `# TYPE h histogram\nh_bucket{${S},le="1"} 1\nh_bucket{${S},le="+Inf"} 1\nh_sum{${S}} 2\nh_count{${S}} 1\n`,
  ],
  [
    'a bucket count that is no whole number',
    '# TYPE h histogram\nh_bucket{le="1"} 1.5\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n',
    `# TYPE h histogram\nh_bucket{${S},le="1"} 1\nh_bucket{${S},le="+Inf"} 2\nh_sum{${S}} 1\nh_count{${S}} 2\n`,
  ],
  [
    'the labels of a series in another order on _sum and _count',
    '# TYPE h histogram\nh_bucket{a="1",b="2",le="+Inf"} 1\nh_sum{b="2",a="1"} 1\nh_count{b="2",a="1"} 1\n',
    `# TYPE h histogram\nh_bucket{a="1",b="2",${S},le="+Inf"} 1\nh_sum{a="1",b="2",${S}} 1\nh_count{a="1",b="2",${S}} 1\n`,
  ],
  [
    'a series that comes back after another one',
    '# TYPE h histogram\nh_bucket{a="1",le="+Inf"} 1\nh_sum{a="1"} 2\nh_count{a="1"} 1\nh_bucket{a="2",le="+Inf"} 1\nh_sum{a="2"} 2\nh_count{a="2"} 1\nh_bucket{a="1",le="+Inf"} 5\n',
    `# TYPE h histogram\nh_bucket{a="1",${S},le="+Inf"} 1\nh_bucket{a="1",${S},le="+Inf"} 5\nh_sum{a="1",${S}} 2\nh_count{a="1",${S}} 1\n` +
      `h_bucket{a="2",${S},le="+Inf"} 1\nh_sum{a="2",${S}} 2\nh_count{a="2",${S}} 1\n`,
  ],
  [
    'a histogram sample without le (its value is dropped)',
    '# TYPE h histogram\nh_bucket{a="b"} 1\n',
    `# TYPE h histogram\nh_bucket{a="b",${S},le="+Inf"} 0\nh_sum{a="b",${S}} 0\nh_count{a="b",${S}} 0\n`,
  ],
  [
    'a NaN bound (the bucket is dropped)',
    '# TYPE h histogram\nh_bucket{le="NaN"} 1\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n',
    `# TYPE h histogram\nh_bucket{${S},le="+Inf"} 1\nh_sum{${S}} 1\nh_count{${S}} 1\n`,
  ],
  [
    'le twice (the last wins)',
    '# TYPE h histogram\nh_bucket{le="1",le="2"} 1\n',
    `# TYPE h histogram\nh_bucket{${S},le="2"} 1\nh_bucket{${S},le="+Inf"} 0\nh_sum{${S}} 0\nh_count{${S}} 0\n`,
  ],
  [
    'a summary without _sum',
    '# TYPE s summary\ns{quantile="0.5"} 1\ns_count 1\n',
    `# TYPE s summary\ns{${S},quantile="0.5"} 1\ns_sum{${S}} 0\ns_count{${S}} 1\n`,
  ],
  [
    'a summary count that is no whole number',
    '# TYPE s summary\ns{quantile="0.5"} 2\ns_sum 2\ns_count 1.5\n',
    `# TYPE s summary\ns{${S},quantile="0.5"} 2\ns_sum{${S}} 2\ns_count{${S}} 1\n`,
  ],
  [
    'quantile not last',
    '# TYPE s summary\ns{quantile="0.5",a="1"} 1\ns_sum{a="1"} 1\ns_count{a="1"} 1\n',
    `# TYPE s summary\ns{a="1",${S},quantile="0.5"} 1\ns_sum{a="1",${S}} 1\ns_count{a="1",${S}} 1\n`,
  ],
  [
    'a summary sample without quantile (its value is dropped)',
    '# TYPE s summary\ns 1\n',
    `# TYPE s summary\ns_sum{${S}} 0\ns_count{${S}} 0\n`,
  ],
];

for (const [what, body, expected] of REWRITTEN) {
  test(`a body with ${what} is served as Go writes it`, () => {
    const scan = scanBody(Buffer.from(body), { prefix: shimPrefix });
    assert.equal(scan.normalized, true, 'Go would write it differently');
    assert.notEqual(scan.body, body);
    assert.equal(servedOne(body), expected);
  });
}

test('a rewritten body is indexed in the text Go writes for it, which is itself canonical', () => {
  const body = Buffer.from('# HELP h Lat.\n# TYPE h histogram\nh_sum{a="1"} 2 5\nh_bucket{a="1",le="1.0"} 1\nh_count{a="1"}  1\nx 1.0\n');
  const scan = scanBody(body);
  assert.ok(scan.normalized);
  const go = '# HELP h Lat.\n# TYPE h histogram\nh_bucket{a="1",le="1"} 1 5\nh_bucket{a="1",le="+Inf"} 1 5\nh_sum{a="1"} 2 5\nh_count{a="1"} 1 5\n# TYPE x untyped\nx 1\n';
  assert.equal(scan.body.toString(), go);
  assert.equal(scan.samples, 5);
  const again = scanBody(scan.body);
  assert.equal(again.normalized, false);
  assert.ok(writtenBack(scan.body).equals(scan.body));
});

test('a body Go would rewrite keeps the prefix decision of each family (go_* renamed), and its heads', () => {
  const scan = scanBody(Buffer.from('# HELP go_x G.\n# TYPE go_x gauge\ngo_x  1\nother 2.0\n'), { prefix: shimPrefix });
  assert.ok(scan.normalized);
  assert.deepEqual(
    scan.heads.map((h) => [h.name, h.header.toString(), h.prefix.toString()]),
    [
      ['kata_shim_go_x', '# HELP kata_shim_go_x G.\n# TYPE kata_shim_go_x gauge\n', 'kata_shim_'],
      ['other', '# TYPE other untyped\n', ''],
    ],
  );
});

// ---- where ours deliberately parts from upstream (the differential test notes these) ----

test('a family Go’s encoder refuses (a gauge histogram) is left out, and the rest is served (upstream cuts /metrics short there)', () => {
  assert.equal(servedOne('# TYPE g gauge_histogram\ng{le="1"} 1\nother 2\n'), `# TYPE other untyped\nother{${S}} 2\n`);
});

test("a '{' line without a name reuses the previous metric, as in Go; ours writes the sandbox labels once where Go repeats them", () => {
  assert.equal(servedOne('x{a="1"} 1\n{a="2"} 2\n'), `# TYPE x untyped\nx{a="1",a="2",${S}} 2\nx{a="1",a="2",${S}} 2\n`);
});
