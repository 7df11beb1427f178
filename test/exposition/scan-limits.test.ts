// The limits on what one shim body may bring, as Prometheus has them for a
// scrape (sample_limit, label_limit, label_name_length_limit,
// label_value_length_limit): the guest writes part of every body, so a body
// over a limit is refused as a whole, with the limit's name as the reason.
// 0 turns a limit off. The limits apply to the body as it came off the
// socket, before any normalization.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { NO_LIMITS, ScanError, scanBody, type ScanFailure, type ScanLimits } from '../../src/exposition/scan.ts';
import { RECEIVER_DEFAULTS } from '../../src/receiver/config.ts';
import { FIXTURES, fixture } from '../support/fixtures.ts';

function limits(l: Partial<ScanLimits>): ScanLimits {
  return { ...NO_LIMITS, ...l };
}

function scan(text: string, l: Partial<ScanLimits>) {
  return scanBody(Buffer.from(text), { limits: limits(l) });
}

/** Asserts the body is refused for `reason`, at `line`, with a message matching `pattern`. */
function refused(text: string, l: Partial<ScanLimits>, reason: ScanFailure, line: number, pattern: RegExp): void {
  assert.throws(
    () => scan(text, l),
    (err: unknown) => {
      assert.ok(err instanceof ScanError, String(err));
      assert.equal(err.reason, reason, err.message);
      assert.equal(err.line, line, err.message);
      assert.ok(err.message.startsWith(`line ${line}: `), err.message);
      assert.match(err.message, pattern);
      return true;
    },
  );
}

const lines = (n: number, make: (i: number) => string): string => Array.from({ length: n }, (_, i) => make(i)).join('');

// ---- sample_limit ----

test('sample_limit: a body with as many samples as the limit is taken; one more and the whole body is refused', () => {
  const body = '# HELP g G.\n# TYPE g gauge\n' + lines(5, (i) => `g{i="${i}"} ${i}\n`);
  assert.equal(scan(body, { sampleLimit: 5 }).samples, 5);
  refused(body, { sampleLimit: 4 }, 'sample_limit', 7, /^line 7: more than 4 samples \(sample_limit\)$/);
});

test('sample_limit counts sample lines (each bucket, _sum and _count), not comments, blank lines or families', () => {
  const body = '# TYPE h histogram\n\n# a comment\nh_bucket{le="1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 3\nh_count 2\n# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 1\ns_count 1\n';
  assert.equal(scan(body, { sampleLimit: 7 }).samples, 7);
  refused(body, { sampleLimit: 6 }, 'sample_limit', 11, /more than 6 samples/);
});

test('sample_limit counts the lines of the body as it came, not of what Go would write for it', () => {
  // Go would add the +Inf bucket: three lines in, four out.
  const body = '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 3\nh_count 2\n';
  const s = scan(body, { sampleLimit: 3 });
  assert.ok(s.normalized);
  assert.equal(s.samples, 4);
});

test('sample_limit 0 is no limit', () => {
  const body = '# TYPE big gauge\n' + lines(30_000, (i) => `big{i="${i}"} ${i}\n`);
  assert.equal(scan(body, { sampleLimit: 0 }).samples, 30_000);
});

// ---- label_limit ----

test('label_limit: labels per sample, le and quantile included; the sandbox labels added later are not the body’s', () => {
  assert.equal(scan('x{a="1",b="2",c="3"} 1\n', { labelLimit: 3 }).samples, 1);
  refused('ok{a="1"} 1\nx{a="1",b="2",c="3",d="4"} 1\n', { labelLimit: 3 }, 'label_limit', 2, /^line 2: more than 3 labels on one sample \(label_limit\)$/);
  const hist = '# TYPE h histogram\nh_bucket{a="1",b="2",le="+Inf"} 1\nh_sum{a="1",b="2"} 1\nh_count{a="1",b="2"} 1\n';
  assert.equal(scan(hist, { labelLimit: 3 }).samples, 3);
  refused(hist, { labelLimit: 2 }, 'label_limit', 2, /more than 2 labels/);
  const summary = '# TYPE s summary\ns{a="1",quantile="0.5"} 1\ns_sum{a="1"} 1\ns_count{a="1"} 1\n';
  refused(summary, { labelLimit: 1 }, 'label_limit', 2, /more than 1 labels/);
});

test('label_limit 0 is no limit', () => {
  const many = `x{${lines(200, (i) => `l${i}="v",`)}} 1\n`;
  assert.equal(scan(many, { labelLimit: 0 }).samples, 1);
  refused(many, { labelLimit: 199 }, 'label_limit', 1, /more than 199 labels/);
});

// ---- label_name_length_limit ----

test('label_name_length_limit: bytes of a label name; as long as the limit is taken, longer is refused', () => {
  const at = (n: number): string => `x{${'n'.repeat(n)}="v"} 1\n`;
  assert.equal(scan(at(10), { labelNameLengthLimit: 10 }).samples, 1);
  refused(at(11), { labelNameLengthLimit: 10 }, 'label_name_length_limit', 1, /^line 1: label name of 11 bytes, over the limit of 10 \(label_name_length_limit\)$/);
  // le counts like any other name.
  refused('# TYPE h histogram\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n', { labelNameLengthLimit: 1 }, 'label_name_length_limit', 2, /label name of 2 bytes/);
});

test('label_name_length_limit measures a quoted name as Go reads it (quotes and escapes undone)', () => {
  assert.equal(scan('x{"a.b"="v"} 1\n', { labelNameLengthLimit: 3 }).samples, 1);
  refused('x{"a.bc"="v"} 1\n', { labelNameLengthLimit: 3 }, 'label_name_length_limit', 1, /label name of 4 bytes/);
});

test('label_name_length_limit 0 is no limit', () => {
  assert.equal(scan(`x{${'n'.repeat(5000)}="v"} 1\n`, { labelNameLengthLimit: 0 }).samples, 1);
});

// ---- label_value_length_limit ----

test('label_value_length_limit: bytes of a value once unescaped (UTF-8 bytes, not characters)', () => {
  assert.equal(scan('x{a="0123456789"} 1\n', { labelValueLengthLimit: 10 }).samples, 1);
  refused('x{a="0123456789A"} 1\n', { labelValueLengthLimit: 10 }, 'label_value_length_limit', 1, /^line 1: label value of 11 bytes, over the limit of 10 \(label_value_length_limit\)$/);
  // `a\"b\\c\n` is six bytes of text: a " b \ c and a newline.
  assert.equal(scan('x{a="a\\"b\\\\c\\n"} 1\n', { labelValueLengthLimit: 6 }).samples, 1);
  refused('x{a="a\\"b\\\\c\\n"} 1\n', { labelValueLengthLimit: 5 }, 'label_value_length_limit', 1, /label value of 6 bytes/);
  // é is two bytes.
  refused('x{a="éé"} 1\n', { labelValueLengthLimit: 3 }, 'label_value_length_limit', 1, /label value of 4 bytes/);
});

test('label_value_length_limit 0 is no limit', () => {
  assert.equal(scan(`x{a="${'v'.repeat(100_000)}"} 1\n`, { labelValueLengthLimit: 0 }).samples, 1);
});

// ---- together ----

test('the first fault in body order is the one reported, a limit or malformed text alike', () => {
  const l = { sampleLimit: 1, labelLimit: 1 };
  refused('x 1\nx 2\nx y\n', l, 'sample_limit', 2, /sample_limit/);
  refused('x y\nx 1\nx 2\n', l, 'malformed', 1, /expected float as value/);
  refused('x{a="1",b="2"} 1\nx 2\n', l, 'label_limit', 1, /label_limit/);
});

test('a body Go would rewrite is held to the limits as it came', () => {
  // Blanks and spellings Go would change do not matter; the labels do.
  refused('x { a = "1" , b = "2" } 1.0\n', { labelLimit: 1 }, 'label_limit', 1, /label_limit/);
  refused('x{a="toolong"}  01\n', { labelValueLengthLimit: 3 }, 'label_value_length_limit', 1, /label value of 7 bytes/);
});

test('the shim fixtures are well within the default limits; NO_LIMITS turns every limit off', () => {
  const defaults = RECEIVER_DEFAULTS.limits;
  assert.deepEqual(defaults, { sampleLimit: 20_000, labelLimit: 30, labelNameLengthLimit: 128, labelValueLengthLimit: 128 });
  for (const name of FIXTURES) assert.equal(scanBody(fixture(name), { limits: defaults }).samples, 903, name);
  assert.deepEqual(NO_LIMITS, { sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 });
});
