// Shim bodies are copied out of the shared read buffer into recycled pieces,
// then into one Buffer of the body's exact size, which can be freed early.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { BodyCollector, releaseBody } from '../../src/shim/body-collector.ts';

test('a body built from many reads is the bytes in order, in a Buffer of its exact size', () => {
  const c = new BodyCollector();
  const expected: Buffer[] = [];
  const scratch = Buffer.alloc(10_000);
  for (let i = 0; i < 30; i++) {
    // The same scratch buffer each time, as the transport's read buffer.
    scratch.fill(i);
    c.append(scratch.subarray(0, 9_000 + i));
    expected.push(Buffer.alloc(9_000 + i, i));
  }
  const body = c.finish();
  assert.ok(body.equals(Buffer.concat(expected)));
  assert.equal(body.buffer.byteLength, body.length, 'no slack kept');
  assert.equal(c.size, 0, 'the collector is empty afterwards');
});

test('an empty body is an empty Buffer', () => {
  assert.equal(new BodyCollector().finish().length, 0);
});

test('releaseBody frees a collected body at once, and leaves any other Buffer alone', () => {
  const c = new BodyCollector();
  c.append(Buffer.from('kata_hypervisor_fds 42\n'));
  const body = c.finish();
  releaseBody(body);
  assert.equal(body.length, 0, 'reads as empty once released');
  releaseBody(body); // twice is harmless

  const other = Buffer.from('not collected');
  releaseBody(other);
  assert.equal(other.toString(), 'not collected');
});

test('released pieces serve the next body', () => {
  const a = new BodyCollector();
  a.append(Buffer.alloc(100_000, 1));
  a.release();
  const b = new BodyCollector();
  b.append(Buffer.from('fresh'));
  assert.equal(b.finish().toString(), 'fresh');
});
