import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { relabelShimBody as relabelBytes, RelabelError, sandboxLabelText, shimFamilyName, writeSampleLines } from '../../src/scrape/relabel.ts';
import { ChunkPool } from '../../src/buffers/chunk-pool.ts';
import { ChunkWriter } from '../../src/scrape/chunk-writer.ts';

/** The relabeller on text, its families' bytes as text: what the specs below read. */
function relabelShimBody(body: string, labels: string | Buffer) {
  const r = relabelBytes(Buffer.from(body), typeof labels === 'string' ? Buffer.from(labels) : labels);
  return {
    sampleCount: r.sampleCount,
    families: r.index.heads.map((head, k) => {
      const w = new ChunkWriter(new ChunkPool(256));
      let sampleCount = 0;
      const { runs } = r.index;
      for (let j = 0; j < runs.length; j += 3) {
        if (runs[j] !== k) continue;
        writeSampleLines(r.index, runs[j + 1]!, runs[j + 2]!, head.prefixed, w);
        sampleCount += runs[j + 2]! - runs[j + 1]!;
      }
      return { name: head.name, type: head.type, header: head.header.toString(), sampleCount, samples: Buffer.concat(w.finish()).toString() };
    }),
  };
}

const LABELS = sandboxLabelText('sb1', { uid: 'u-1', name: 'pod-a', namespace: 'default' });
const fixture = readFileSync(new URL('../fixtures/shim-metrics-a.prom', import.meta.url), 'utf8');

test('every sample gets the four sandbox labels appended, in upstream order', () => {
  const { families } = relabelShimBody('# HELP a_gauge A.\n# TYPE a_gauge gauge\na_gauge{x="1"} 3\na_gauge 4\n', LABELS);
  assert.equal(families.length, 1);
  assert.equal(
    families[0]!.samples,
    'a_gauge{x="1",sandbox_id="sb1",cri_uid="u-1",cri_name="pod-a",cri_namespace="default"} 3\n' +
      'a_gauge{sandbox_id="sb1",cri_uid="u-1",cri_name="pod-a",cri_namespace="default"} 4\n',
  );
  assert.equal(families[0]!.header, '# HELP a_gauge A.\n# TYPE a_gauge gauge\n');
});

test('go_* and process_* families are renamed kata_shim_*, others are not', () => {
  assert.equal(shimFamilyName('go_goroutines'), 'kata_shim_go_goroutines');
  assert.equal(shimFamilyName('process_open_fds'), 'kata_shim_process_open_fds');
  assert.equal(shimFamilyName('kata_agent_x'), 'kata_agent_x');
  assert.equal(shimFamilyName('golang_x'), 'golang_x');
  const { families } = relabelShimBody('# HELP go_goroutines G.\n# TYPE go_goroutines gauge\ngo_goroutines 12\n', LABELS);
  assert.equal(families[0]!.name, 'kata_shim_go_goroutines');
  assert.match(families[0]!.header, /^# HELP kata_shim_go_goroutines G\.\n# TYPE kata_shim_go_goroutines gauge\n$/);
  assert.match(families[0]!.samples, /^kata_shim_go_goroutines\{sandbox_id="sb1",/);
});

test('histogram le and summary quantile labels stay last, as Go re-encodes them', () => {
  const body =
    '# TYPE h histogram\nh_bucket{a="1",le="0.5"} 1\nh_bucket{le="+Inf",a="1"} 2\nh_sum{a="1"} 3\nh_count{a="1"} 2\n' +
    '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n';
  const { families } = relabelShimBody(body, 'sandbox_id="x"');
  const [h, s] = families;
  assert.equal(
    h!.samples,
    'h_bucket{a="1",sandbox_id="x",le="0.5"} 1\nh_bucket{a="1",sandbox_id="x",le="+Inf"} 2\nh_sum{a="1",sandbox_id="x"} 3\nh_count{a="1",sandbox_id="x"} 2\n',
  );
  assert.equal(s!.samples, 's{sandbox_id="x",quantile="0.5"} 1\ns_sum{sandbox_id="x"} 2\ns_count{sandbox_id="x"} 3\n');
});

test('families without TYPE are untyped; families without samples are dropped; output is sorted by name', () => {
  const { families } = relabelShimBody('zz 1\n# HELP empty Nothing.\n# TYPE empty gauge\naa 2 1700000000000\n', 'sandbox_id="x"');
  assert.deepEqual(
    families.map((f) => [f.name, f.type, f.header]),
    [
      ['aa', 'untyped', '# TYPE aa untyped\n'],
      ['zz', 'untyped', '# TYPE zz untyped\n'],
    ],
  );
  assert.equal(families[0]!.samples, 'aa{sandbox_id="x"} 2 1700000000000\n');
});

test('label values with escapes pass through, and our own label values are escaped', () => {
  const labels = sandboxLabelText('id', { uid: 'a"b', name: 'c\\d', namespace: 'e\nf' });
  assert.equal(labels.toString(), 'sandbox_id="id",cri_uid="a\\"b",cri_name="c\\\\d",cri_namespace="e\\nf"');
  const { families } = relabelShimBody('m{v="q\\"u,o}te"} 1\n', 'sandbox_id="x"');
  assert.equal(families[0]!.samples, 'm{v="q\\"u,o}te",sandbox_id="x"} 1\n');
});

test('special values and exponents are accepted as written, Inf and NaN in any case as Go takes them', () => {
  const { families } = relabelShimBody('m{a="1"} NaN\nm{a="2"} +Inf\nm{a="3"} -Inf\nm{a="5"} nan\nm{a="6"} INFINITY\nm{a="4"} 1.8446744073709552e+19\n', 'l="v"');
  assert.equal(families[0]!.sampleCount, 6);
  assert.match(families[0]!.samples, /1\.8446744073709552e\+19\n$/);
});

for (const [what, body, line] of [
  ['a bad value', 'ok 1\nm abc\n', 2],
  ['an unterminated label value', 'm{a="x} 1\n', 1],
  ['a bad label name', 'm{1a="x"} 1\n', 1],
  ['junk after the timestamp', 'm 1 2 3\n', 1],
  ['a second HELP', '# HELP m a\n# HELP m b\nm 1\n', 2],
  ['an unknown type', '# TYPE m gauges\nm 1\n', 1],
  ['a histogram bucket without le', '# TYPE h histogram\nh_bucket{a="1"} 1\n', 2],
  ['a bad escape', 'm{a="\\t"} 1\n', 1],
  ['an HTML page', '<html><body>oops</body></html>\n', 1],
  // Go's parser has no CRLF: the CR ends up in the value (or type) token.
  ['CRLF line ends', 'm 1\r\n', 1],
  ['a CR after a TYPE', '# TYPE m gauge\r\nm 1\n', 1],
  ['trailing blanks after a TYPE', '# TYPE m gauge \nm 1\n', 1],
  ['an escape HELP does not know', '# HELP m a \\t b\nm 1\n', 1],
  ['an le that is no float', '# TYPE h histogram\nh_bucket{le=" 4"} 1\n', 2],
  ['an le not last that is no float', '# TYPE h histogram\nh_bucket{le="x",a="1"} 1\n', 2],
  ['a quantile that is no float', '# TYPE s summary\ns{quantile="half"} 1\n', 2],
  ['a value that overflows a float', 'm 1e400\n', 1],
] as const) {
  test(`a body with ${what} is rejected with its line number`, () => {
    assert.throws(
      () => relabelShimBody(body, 'l="v"'),
      (err: unknown) => err instanceof RelabelError && err.line === line && err.message.startsWith(`line ${line}: `),
    );
  });
}

test('what Go accepts is accepted and written as Go writes it: blanks before the labels and around le, HELP blanks and escapes, bare HELP/TYPE comments', () => {
  const body =
    '# HELP\n# HELP m\n# HELP m  two  blanks \\" quoted\n# TYPE m counter\nm {a="1"} 1\n' +
    '# TYPE h histogram\nh_bucket{a="1", le="0.5" } 1\nh_bucket{a="1",le="+Inf",} 2\nh_sum{a="1"} 1\nh_count{a="1"} 2\n';
  const { families } = relabelShimBody(body, 'l="v"');
  const [h, m] = families;
  assert.equal(m!.header, '# HELP m two  blanks " quoted\n# TYPE m counter\n'); // \" read, a plain quote written
  assert.equal(m!.samples, 'm{a="1",l="v"} 1\n');
  assert.equal(h!.samples, 'h_bucket{a="1",l="v",le="0.5"} 1\nh_bucket{a="1",l="v",le="+Inf"} 2\nh_sum{a="1",l="v"} 1\nh_count{a="1",l="v"} 2\n');
});

test('the shared fixture relabels completely: 70 families, 903 samples, every sample labelled', () => {
  const { families, sampleCount } = relabelShimBody(fixture, LABELS);
  assert.equal(families.length, 70);
  assert.equal(sampleCount, 903);
  const lines = families.flatMap((f) => f.samples.split('\n').filter(Boolean));
  assert.equal(lines.length, 903);
  for (const l of lines) assert.ok(l.includes('sandbox_id="sb1",cri_uid="u-1",cri_name="pod-a",cri_namespace="default"'), l);
  assert.ok(families.every((f, i) => i === 0 || families[i - 1]!.name < f.name), 'sorted by name');
  assert.ok(!families.some((f) => f.name.startsWith('go_') || f.name.startsWith('process_')));
});

test('a TYPE in any case is taken, and written lower-case, as Go does', () => {
  const { families } = relabelShimBody('# TYPE m GAUGE\nm 1\n', 'l="v"');
  assert.equal(families[0]!.type, 'gauge');
  assert.equal(families[0]!.header, '# TYPE m gauge\n');
});

test('sandboxes writing the same family share one head; a different HELP or TYPE gets its own', () => {
  const body = '# HELP shared_total S.\n# TYPE shared_total counter\nshared_total 1\n';
  const a = relabelBytes(Buffer.from(body), LABELS).index.heads[0]!;
  const b = relabelBytes(Buffer.from(body.replace(' 1\n', ' 2\n')), LABELS).index.heads[0]!;
  assert.equal(a, b, 'one object for both sandboxes');
  const c = relabelBytes(Buffer.from(body.replace('S.', 'Other help.')), LABELS).index.heads[0]!;
  assert.notEqual(c, a);
  assert.equal(c.header.toString(), '# HELP shared_total Other help.\n# TYPE shared_total counter\n');
  const d = relabelBytes(Buffer.from('# TYPE shared_total gauge\nshared_total 1\n'), LABELS).index.heads[0]!;
  assert.equal(d.header.toString(), '# TYPE shared_total gauge\n');
});

test('a family whose samples are not contiguous is one family with several runs', () => {
  const { index } = relabelBytes(Buffer.from('a 1\nb 2\na{x="2"} 3\n'), Buffer.from('l="v"'));
  assert.deepEqual(index.heads.map((h) => h.name), ['a', 'b']);
  assert.deepEqual([...index.runs], [0, 0, 1, 0, 2, 3, 1, 1, 2]);
});

test('the index is 16-bit for ordinary bodies, and 32-bit when a sample line is 64 KiB or longer, with the same output', () => {
  const ordinary = relabelBytes(Buffer.from(fixture), LABELS);
  assert.ok(ordinary.index.rec instanceof Uint16Array);

  const long = 'v'.repeat(70_000);
  const body = `# TYPE h histogram\nh_bucket{big="${long}",le="1"} 1\nh_bucket{le="+Inf",big="${long}"} 2\nh_sum 3 1700000000000\nh_count 2\nafter{a="1"} 5\n`;
  const wide = relabelBytes(Buffer.from(body), Buffer.from('l="v"'));
  assert.ok(wide.index.rec instanceof Int32Array);
  const { families } = relabelShimBody(body, 'l="v"');
  assert.equal(
    families.map((f) => f.samples).join(''),
    'after{a="1",l="v"} 5\n' + `h_bucket{big="${long}",l="v",le="1"} 1\nh_bucket{big="${long}",l="v",le="+Inf"} 2\nh_sum{l="v"} 3 1700000000000\nh_count{l="v"} 2\n`,
  );
});

test('a body with more samples than the scratch index holds is indexed whole', () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => `big{i="${i}"} ${i}\n`).join('');
  const { families, sampleCount } = relabelShimBody(`# TYPE big gauge\n${lines}`, 'l="v"');
  assert.equal(sampleCount, 20_000);
  assert.equal(families[0]!.samples, lines.replace(/"\} /g, '",l="v"} '));
});
