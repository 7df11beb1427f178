// What kata-monitor does to a shim's samples on their way to /metrics, as
// the hot path does it: the body scanned once at scrape time (scanBody with
// the shim prefix), each family's runs of samples written with the prefix of
// their head and the four sandbox labels (writeSamples), families merged by
// name across sandboxes and written one HELP/TYPE each (familyChunks).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScanError, scanBody } from '../../src/exposition/scan.ts';
import { writeSamples } from '../../src/exposition/samples.ts';
import { SHIM_PREFIX, sandboxLabelText, shimPrefix } from '../../src/scrape/relabel.ts';
import { mergeSnapshot } from '../../src/scrape/merge.ts';
import { ChunkPool } from '../../src/buffers/chunk-pool.ts';
import { ChunkWriter } from '../../src/buffers/chunk-writer.ts';
import { NO_META, S, served, servedOne, snapshotOf } from './serve.ts';
import { fixture } from '../support/fixtures.ts';

/** One body relabelled, family by family (heads order): its header and its sample lines. */
function relabel(body: string, labels: string | Buffer) {
  const scan = scanBody(Buffer.from(body), { prefix: shimPrefix });
  const extra = typeof labels === 'string' ? Buffer.from(labels) : labels;
  return {
    samples: scan.samples,
    families: scan.heads.map((head, k) => {
      const w = new ChunkWriter(new ChunkPool(256));
      let sampleCount = 0;
      const { runs } = scan;
      for (let j = 0; j < runs.length; j += 3) {
        if (runs[j] !== k) continue;
        writeSamples(scan, runs[j + 1]!, runs[j + 2]!, head.prefix, extra, w);
        sampleCount += runs[j + 2]! - runs[j + 1]!;
      }
      return { name: head.name, type: head.type, header: head.header.toString(), sampleCount, samples: Buffer.concat(w.finish()).toString() };
    }),
  };
}

const LABELS = sandboxLabelText('sb1', { uid: 'u-1', name: 'pod-a', namespace: 'default' });

test('every sample gets the four sandbox labels appended, in upstream order', () => {
  const { families } = relabel('# HELP a_gauge A.\n# TYPE a_gauge gauge\na_gauge{x="1"} 3\na_gauge 4\n', LABELS);
  assert.equal(families.length, 1);
  assert.equal(
    families[0]!.samples,
    'a_gauge{x="1",sandbox_id="sb1",cri_uid="u-1",cri_name="pod-a",cri_namespace="default"} 3\n' +
      'a_gauge{sandbox_id="sb1",cri_uid="u-1",cri_name="pod-a",cri_namespace="default"} 4\n',
  );
  assert.equal(families[0]!.header, '# HELP a_gauge A.\n# TYPE a_gauge gauge\n');
});

test('without labels to add, a sample line is written as it came', () => {
  const { families } = relabel('# TYPE a gauge\na{x="1"} 3 1700000000000\na 4\n', '');
  assert.equal(families[0]!.samples, 'a{x="1"} 3 1700000000000\na 4\n');
});

test('go_* and process_* families are renamed kata_shim_*, others are not', () => {
  assert.equal(SHIM_PREFIX, 'kata_shim_');
  assert.equal(shimPrefix('go_goroutines'), 'kata_shim_');
  assert.equal(shimPrefix('process_open_fds'), 'kata_shim_');
  assert.equal(shimPrefix('kata_agent_x'), '');
  assert.equal(shimPrefix('golang_x'), '');
  assert.equal(shimPrefix('processes'), '');
  const { families } = relabel('# HELP go_goroutines G.\n# TYPE go_goroutines gauge\ngo_goroutines 12\n', LABELS);
  assert.equal(families[0]!.name, 'kata_shim_go_goroutines');
  assert.equal(families[0]!.header, '# HELP kata_shim_go_goroutines G.\n# TYPE kata_shim_go_goroutines gauge\n');
  assert.match(families[0]!.samples, /^kata_shim_go_goroutines\{sandbox_id="sb1",/);
});

test('the prefix is decided on the name as Go read it: a quoted "go.x" is no go_* family, though Go writes it go_x', () => {
  assert.equal(servedOne('{"go.x"} 1\n'), `# TYPE go_x untyped\ngo_x{${S}} 1\n`);
  assert.equal(servedOne('{"go_x"} 1\n'), `# TYPE kata_shim_go_x untyped\nkata_shim_go_x{${S}} 1\n`);
});

test('histogram le and summary quantile labels stay last, after the sandbox labels, as Go re-encodes them', () => {
  const body =
    '# TYPE h histogram\nh_bucket{a="1",le="0.5"} 1\nh_bucket{le="+Inf",a="1"} 2\nh_sum{a="1"} 3\nh_count{a="1"} 2\n' +
    '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 2\ns_count 3\n';
  const { families } = relabel(body, 'sandbox_id="x"');
  const [h, s] = families;
  assert.equal(
    h!.samples,
    'h_bucket{a="1",sandbox_id="x",le="0.5"} 1\nh_bucket{a="1",sandbox_id="x",le="+Inf"} 2\nh_sum{a="1",sandbox_id="x"} 3\nh_count{a="1",sandbox_id="x"} 2\n',
  );
  assert.equal(s!.samples, 's{sandbox_id="x",quantile="0.5"} 1\ns_sum{sandbox_id="x"} 2\ns_count{sandbox_id="x"} 3\n');
});

test('families without TYPE are untyped; families without samples are dropped; output is sorted by name', () => {
  const { families } = relabel('zz 1\n# HELP empty Nothing.\n# TYPE empty gauge\naa 2 1700000000000\n', 'sandbox_id="x"');
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
  const { families } = relabel('m{v="q\\"u,o}te"} 1\n', 'sandbox_id="x"');
  assert.equal(families[0]!.samples, 'm{v="q\\"u,o}te",sandbox_id="x"} 1\n');
});

test('special values and exponents are accepted; Inf and NaN in any case are written as Go writes them', () => {
  const { families } = relabel('m{a="1"} NaN\nm{a="2"} +Inf\nm{a="3"} -Inf\nm{a="5"} nan\nm{a="6"} INFINITY\nm{a="4"} 1.8446744073709552e+19\n', 'l="v"');
  assert.equal(families[0]!.sampleCount, 6);
  assert.equal(
    families[0]!.samples,
    'm{a="1",l="v"} NaN\nm{a="2",l="v"} +Inf\nm{a="3",l="v"} -Inf\nm{a="5",l="v"} NaN\nm{a="6",l="v"} +Inf\nm{a="4",l="v"} 1.8446744073709552e+19\n',
  );
});

for (const [what, body, line] of [
  ['a bad value', 'ok 1\nm abc\n', 2],
  ['an unterminated label value', 'm{a="x} 1\n', 1],
  ['a bad label name', 'm{1a="x"} 1\n', 1],
  ['junk after the timestamp', 'm 1 2 3\n', 1],
  ['a second HELP', '# HELP m a\n# HELP m b\nm 1\n', 2],
  ['an unknown type', '# TYPE m gauges\nm 1\n', 1],
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
  ['a label value that is not UTF-8', Buffer.from('m{a="\xff"} 1\n', 'latin1'), 1],
] as const) {
  test(`a body with ${what} is rejected with its line number`, () => {
    assert.throws(
      () => scanBody(typeof body === 'string' ? Buffer.from(body) : body, { prefix: shimPrefix }),
      (err: unknown) => err instanceof ScanError && err.reason === 'malformed' && err.line === line && err.message.startsWith(`line ${line}: `),
    );
  });
}

test('what Go accepts is accepted and written as Go writes it: blanks before the labels and around le, HELP blanks and escapes, bare HELP/TYPE comments', () => {
  const body =
    '# HELP\n# HELP m\n# HELP m  two  blanks \\" quoted\n# TYPE m counter\nm {a="1"} 1\n' +
    '# TYPE h histogram\nh_bucket{a="1", le="0.5" } 1\nh_bucket{a="1",le="+Inf",} 2\nh_sum{a="1"} 1\nh_count{a="1"} 2\n';
  const { families } = relabel(body, 'l="v"');
  const [h, m] = families;
  assert.equal(m!.header, '# HELP m two  blanks " quoted\n# TYPE m counter\n'); // \" read, a plain quote written
  assert.equal(m!.samples, 'm{a="1",l="v"} 1\n');
  assert.equal(h!.samples, 'h_bucket{a="1",l="v",le="0.5"} 1\nh_bucket{a="1",l="v",le="+Inf"} 2\nh_sum{a="1",l="v"} 1\nh_count{a="1",l="v"} 2\n');
});

test('the shared fixture relabels completely: 70 families, 903 samples, every sample labelled', () => {
  const { families, samples } = relabel(fixture('shim-metrics-a.prom').toString(), LABELS);
  assert.equal(families.length, 70);
  assert.equal(samples, 903);
  const lines = families.flatMap((f) => f.samples.split('\n').filter(Boolean));
  assert.equal(lines.length, 903);
  for (const l of lines) assert.ok(l.includes('sandbox_id="sb1",cri_uid="u-1",cri_name="pod-a",cri_namespace="default"'), l);
  assert.ok(
    families.every((f, i) => i === 0 || families[i - 1]!.name < f.name),
    'sorted by name',
  );
  assert.ok(!families.some((f) => f.name.startsWith('go_') || f.name.startsWith('process_')));
});

test('a TYPE in any case is taken, and written lower-case, as Go does', () => {
  const { families } = relabel('# TYPE m GAUGE\nm 1\n', 'l="v"');
  assert.equal(families[0]!.type, 'gauge');
  assert.equal(families[0]!.header, '# TYPE m gauge\n');
});

test('sandboxes writing the same family share one head; a different HELP or TYPE gets its own', () => {
  const body = '# HELP shared_total S.\n# TYPE shared_total counter\nshared_total 1\n';
  const head = (text: string) => scanBody(Buffer.from(text), { prefix: shimPrefix }).heads[0]!;
  const a = head(body);
  const b = head(body.replace(' 1\n', ' 2\n'));
  assert.equal(a, b, 'one object for both sandboxes');
  const c = head(body.replace('S.', 'Other help.'));
  assert.notEqual(c, a);
  assert.equal(c.header.toString(), '# HELP shared_total Other help.\n# TYPE shared_total counter\n');
  const d = head('# TYPE shared_total gauge\nshared_total 1\n');
  assert.equal(d.header.toString(), '# TYPE shared_total gauge\n');
});

test('a family whose samples are not contiguous is written as one family, its runs in body order', () => {
  const { families } = relabel('a 1\nb 2\na{x="2"} 3\n', 'l="v"');
  assert.deepEqual(
    families.map((f) => [f.name, f.samples]),
    [
      ['a', 'a{l="v"} 1\na{x="2",l="v"} 3\n'],
      ['b', 'b{l="v"} 2\n'],
    ],
  );
});

test('a sample line of 64 KiB or longer is written whole (the index then holds 32-bit offsets)', () => {
  const long = 'v'.repeat(70_000);
  const body = `# TYPE h histogram\nh_bucket{big="${long}",le="1"} 1\nh_bucket{le="+Inf",big="${long}"} 2\nh_sum{big="${long}"} 3\nh_count{big="${long}"} 2\nafter{a="1"} 5\n`;
  assert.ok(scanBody(Buffer.from(body)).rec instanceof Int32Array);
  const { families } = relabel(body, 'l="v"');
  assert.equal(
    families.map((f) => f.samples).join(''),
    'after{a="1",l="v"} 5\n' + `h_bucket{big="${long}",l="v",le="1"} 1\nh_bucket{big="${long}",l="v",le="+Inf"} 2\nh_sum{big="${long}",l="v"} 3\nh_count{big="${long}",l="v"} 2\n`,
  );
});

test('a body with more samples than the scratch index holds is written whole', () => {
  const lines = Array.from({ length: 20_000 }, (_, i) => `big{i="${i}"} ${i}\n`).join('');
  const { families, samples } = relabel(`# TYPE big gauge\n${lines}`, 'l="v"');
  assert.equal(samples, 20_000);
  assert.equal(families[0]!.samples, lines.replace(/"\} /g, '",l="v"} '));
});

// ---- the merge: one family per name across sandboxes and within a body ----

test('families of the same name from several sandboxes are one family: the first sandbox’s HELP/TYPE, then each sandbox’s samples in id order', () => {
  const a = { id: 'a', meta: { uid: 'ua', name: 'pa', namespace: 'n' }, body: '# HELP f First.\n# TYPE f gauge\nf 1\n' };
  const b = { id: 'b', meta: NO_META, body: '# HELP f Second.\n# TYPE f gauge\nf 2\n# TYPE g counter\ng 3\n' };
  assert.equal(
    served([b, a]),
    '# HELP f First.\n# TYPE f gauge\n' +
      'f{sandbox_id="a",cri_uid="ua",cri_name="pa",cri_namespace="n"} 1\n' +
      'f{sandbox_id="b",cri_uid="",cri_name="",cri_namespace=""} 2\n' +
      '# TYPE g counter\ng{sandbox_id="b",cri_uid="",cri_name="",cri_namespace=""} 3\n',
  );
});

test('go_x and kata_shim_go_x in one body are one family kata_shim_go_x: each run written with its own head’s prefix', () => {
  const body = '# HELP go_x G.\n# TYPE go_x gauge\ngo_x 1\n# HELP kata_shim_go_x K.\n# TYPE kata_shim_go_x gauge\nkata_shim_go_x 2\ngo_x{a="b"} 3\n';
  const scan = snapshotOf([{ id: 'S', meta: NO_META, body }]).sandboxes[0]!.scan!;
  assert.deepEqual(
    scan.heads.map((h) => [h.name, h.prefix.toString()]),
    [
      ['kata_shim_go_x', 'kata_shim_'],
      ['kata_shim_go_x', ''],
    ],
  );
  const merged = mergeSnapshot(snapshotOf([{ id: 'S', meta: NO_META, body }])).families;
  assert.equal(merged.length, 1);
  // Upstream merges the two families in Go map order, either way round; ours takes the body's order: the HELP of the
  // family first in the body, then go_x's samples (both its runs), then kata_shim_go_x's.
  assert.equal(servedOne(body), `# HELP kata_shim_go_x G.\n# TYPE kata_shim_go_x gauge\nkata_shim_go_x{${S}} 1\nkata_shim_go_x{a="b",${S}} 3\nkata_shim_go_x{${S}} 2\n`);
});

test('go_x in one sandbox and kata_shim_go_x in another merge too', () => {
  const a = { id: 'a', meta: NO_META, body: '# TYPE go_x gauge\ngo_x 1\n' };
  const b = { id: 'b', meta: NO_META, body: '# TYPE kata_shim_go_x gauge\nkata_shim_go_x 2\n' };
  assert.equal(
    served([a, b]),
    '# TYPE kata_shim_go_x gauge\nkata_shim_go_x{sandbox_id="a",cri_uid="",cri_name="",cri_namespace=""} 1\n' +
      'kata_shim_go_x{sandbox_id="b",cri_uid="",cri_name="",cri_namespace=""} 2\n',
  );
});

test('a family whose TYPE disagrees with the first sandbox’s is left out for that sandbox, and reported once', () => {
  const a = { id: 'a', meta: NO_META, body: '# TYPE f gauge\nf 1\n' };
  const b = { id: 'b', meta: NO_META, body: '# TYPE f counter\nf 2\nx 1\nf{k="v"} 3\n' };
  const merge = mergeSnapshot(snapshotOf([a, b]));
  assert.deepEqual(merge.conflicts, [{ family: 'f', sandboxId: 'b', type: 'counter', expected: 'gauge' }]);
  assert.equal(
    served([a, b]),
    '# TYPE f gauge\nf{sandbox_id="a",cri_uid="",cri_name="",cri_namespace=""} 1\n# TYPE x untyped\nx{sandbox_id="b",cri_uid="",cri_name="",cri_namespace=""} 1\n',
  );
});
