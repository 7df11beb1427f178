import { test } from 'node:test';
import assert from 'node:assert/strict';
import { gunzipSync } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { gzipParallel } from '../../src/server/parallel-gzip.ts';

async function gz(chunks: Buffer[], segmentBytes: number, parallel = 2): Promise<Buffer> {
  const out: Buffer[] = [];
  for await (const b of gzipParallel(chunks, { level: 1, segmentBytes, parallel })) out.push(Buffer.from(b));
  return Buffer.concat(out);
}

const text = (n: number): Buffer => Buffer.from(Array.from({ length: n }, (_, i) => `metric_${i % 97}{sandbox_id="x${i % 13}"} ${i}\n`).join(''));

for (const [what, chunks, seg] of [
  ['an empty body', [] as Buffer[], 1024],
  ['a body smaller than one segment', [text(10)], 64 * 1024],
  ['a body that ends exactly on a segment boundary', [Buffer.alloc(4096, 'a'), Buffer.alloc(4096, 'b')], 4096],
  ['many chunks across many segments', Array.from({ length: 50 }, (_, i) => text(200 + i)), 8192],
  ['incompressible bytes', [randomBytes(300_000)], 65536],
] as const) {
  test(`gzipParallel of ${what} is one standard gzip member of exactly the input`, async () => {
    const input = Buffer.concat(chunks);
    const out = await gz([...chunks], seg);
    assert.deepEqual(gunzipSync(out), input);
    assert.equal(out[0], 0x1f);
    assert.equal(out[1], 0x8b);
    assert.equal(out.readUInt32LE(out.length - 4), input.length >>> 0);
  });
}

test('gzipParallel gives every chunk back once it has been copied', async () => {
  const chunks = Array.from({ length: 20 }, (_, i) => text(100 + i));
  const released: Buffer[] = [];
  for await (const _ of gzipParallel(chunks, { level: 1, segmentBytes: 4096, release: (b) => released.push(b) })) void _;
  assert.equal(released.length, chunks.length);
  assert.ok(chunks.every((c, i) => released[i] === c));
});
