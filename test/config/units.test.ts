import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { substituteEnv } from '../../src/config/env.ts';
import { parseDuration, parseSize } from '../../src/config/units.ts';

describe('durations (Go time.ParseDuration syntax, in milliseconds)', () => {
  const ok: [string, number][] = [
    ['5s', 5000],
    ['250ms', 250],
    ['1m', 60_000],
    ['1h', 3_600_000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['500us', 0.5],
    ['500µs', 0.5],
    ['1000000ns', 1],
    ['0', 0],
  ];
  for (const [text, ms] of ok) {
    it(`reads "${text}" as ${ms} ms`, () => assert.deepEqual(parseDuration(text), { ok: true, value: ms }));
  }
  it('refuses a bare number other than 0: Go would read nanoseconds', () => {
    const r = parseDuration('5');
    assert.equal(r.ok, false);
    assert.match(!r.ok ? r.reason : '', /invalid duration "5": a unit is required, e.g. "5s"/);
  });
  it('names an unknown unit', () => {
    assert.deepEqual(parseDuration('3x'), { ok: false, reason: 'invalid duration "3x": unknown unit "x" (use ns, us, ms, s, m or h)' });
    // Not a unit either: an object's own names (a lookup must not find them on the prototype).
    assert.deepEqual(parseDuration('5constructor'), { ok: false, reason: 'invalid duration "5constructor": unknown unit "constructor" (use ns, us, ms, s, m or h)' });
  });
  it('refuses text that is not a duration', () => {
    assert.equal(parseDuration('soon').ok, false);
    assert.equal(parseDuration('').ok, false);
    assert.equal(parseDuration('s').ok, false);
  });
});

describe('sizes (bytes)', () => {
  const ok: [string, number][] = [
    ['65536', 65536],
    ['64MiB', 64 * 1024 * 1024],
    ['512 KiB', 512 * 1024],
    ['1GB', 1e9],
    ['10kb', 10_000],
    ['2Gi', 2 * 1024 ** 3],
    ['100B', 100],
  ];
  for (const [text, bytes] of ok) {
    it(`reads "${text}" as ${bytes}`, () => assert.deepEqual(parseSize(text), { ok: true, value: bytes }));
  }
  it('names an unknown unit', () => {
    assert.match((parseSize('3 parsecs') as { reason: string }).reason, /unknown unit "parsecs"/);
    assert.match((parseSize('3 constructor') as { reason: string }).reason, /unknown unit "constructor"/);
    assert.match((parseSize('3 toStringb') as { reason: string }).reason, /unknown unit "toStringb"/);
  });
  it('refuses negative and malformed sizes', () => {
    assert.equal(parseSize('-1').ok, false);
    assert.equal(parseSize('MiB').ok, false);
  });
});

describe('${env:...} substitution', () => {
  const env = { HOST: 'collector', EMPTY: '' };
  it('replaces ${env:VAR} and ${VAR}', () => {
    assert.deepEqual(substituteEnv('http://${env:HOST}:4318/${HOST}', env), { ok: true, value: 'http://collector:4318/collector' });
  });
  it('uses the default only when the variable is unset, as the collector', () => {
    assert.deepEqual(substituteEnv('${env:MISSING:-fallback:1}', env), { ok: true, value: 'fallback:1' });
    assert.deepEqual(substituteEnv('${env:EMPTY:-fallback}', env), { ok: true, value: '' });
    assert.deepEqual(substituteEnv('${env:HOST:-fallback}', env), { ok: true, value: 'collector' });
  });
  it('turns $$ into $ and keeps a lone $', () => {
    assert.deepEqual(substituteEnv('$${env:HOST} costs $5', env), { ok: true, value: '${env:HOST} costs $5' });
  });
  it('names an unset variable', () => {
    assert.deepEqual(substituteEnv('${env:NOPE}', env), {
      ok: false,
      errors: ['environment variable "NOPE" is not set (write ${env:NOPE:-default} to give a default)'],
    });
  });
  it('reports every bad reference in a value', () => {
    const r = substituteEnv('${env:A}-${file:/x}-${env:1BAD}', env);
    assert.equal(r.ok, false);
    assert.deepEqual(!r.ok && r.errors, [
      'environment variable "A" is not set (write ${env:A:-default} to give a default)',
      'unsupported config provider "file" in "${file:/x}" (only env is supported)',
      'invalid environment variable name "1BAD" in "${env:1BAD}"',
    ]);
  });
  it('reports an unterminated reference', () => {
    assert.deepEqual(substituteEnv('${env:HOST', env), { ok: false, errors: ['unterminated "${" in "${env:HOST"'] });
  });
});
