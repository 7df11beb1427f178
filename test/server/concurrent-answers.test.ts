// Answers are written from a shared pool of buffers, handed back once the
// socket is done with them. Concurrent answers, read at different speeds,
// plain and gzip, must each arrive whole: a buffer reused too early would
// show as a stray byte, a broken line or a label of another sandbox.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { startDemo } from '../../src/demo/environment.ts';
import { eventually, startTestDaemon } from '../support/daemon.ts';
import { parseText } from '../support/fixtures.ts';

function fetchSlowly(url: string, gzip: boolean, pauseMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    request(url, { agent: false, headers: gzip ? { 'Accept-Encoding': 'gzip' } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => {
        chunks.push(c);
        if (pauseMs > 0) {
          res.pause();
          setTimeout(() => res.resume(), pauseMs);
        }
      });
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve((gzip ? gunzipSync(body) : body).toString('utf8'));
      });
      res.on('error', reject);
    })
      .on('error', reject)
      .end();
  });
}

test('concurrent answers, read at different speeds, plain and gzip, each arrive whole and well-formed', async (t) => {
  const demo = await startDemo({ sandboxes: 6 });
  const daemon = await startTestDaemon({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint });
  t.after(async () => {
    await daemon.stop();
    await demo.stop();
  });
  await eventually(async () => (await (await fetch(`${daemon.url}/sandboxes`)).text()).split('\n').filter(Boolean).length === 6, 5000, 'six sandboxes');

  const pods = new Map(demo.pods().map((p) => [p.id, p]));
  /** Every series of an answer, by identity (values change between fan-outs). */
  const seriesOf = (text: string): string[] => {
    const keys: string[] = [];
    for (const f of parseText(text)) {
      for (const m of f.metrics) {
        const l = Object.fromEntries(m.labels.map((x) => [x.name, x.value]));
        const pod = pods.get(l['sandbox_id'] ?? '');
        assert.ok(pod, `${f.name}: a sample of an unknown sandbox ${JSON.stringify(l['sandbox_id'])}`);
        assert.equal(l['cri_name'], pod.name, f.name);
        assert.equal(l['cri_uid'], pod.uid, f.name);
        assert.equal(m.labels.filter((x) => x.name === 'sandbox_id').length, 1, f.name);
        keys.push(f.name + JSON.stringify(m.labels) + m.kind);
      }
    }
    return keys;
  };
  await eventually(async () => !(await (await fetch(`${daemon.url}/metrics?filter_family=kata_hypervisor_fds`)).text()).includes('cri_name=""'), 5000, 'CRI labels');

  let reference: string[] | undefined;
  for (let round = 0; round < 3; round++) {
    // Sandbox families only: the daemon's own counters differ between answers.
    const url = `${daemon.url}/metrics?filter_family=kata_`;
    const answers = await Promise.all(Array.from({ length: 16 }, (_, i) => fetchSlowly(url, i % 2 === 1, i % 4 === 0 ? 0 : (i % 3) * 3)));
    for (const a of answers) {
      const keys = seriesOf(a); // parses: any stray or overwritten byte fails here
      reference ??= keys;
      assert.deepEqual(keys, reference, 'the same series in the same order in every answer');
    }
  }
});

test('the answer pool takes back only its own buffers, never Node\'s shared Buffer slab', async () => {
  const { ChunkPool } = await import('../../src/buffers/chunk-pool.ts');
  const pool = new ChunkPool(Buffer.poolSize);
  // A small Buffer.from() lives in Node's shared slab, which has the pool's size on Node 24.
  const small = Buffer.from('x'.repeat(100));
  pool.give(Buffer.from(small.buffer, 0, small.buffer.byteLength));
  const taken = pool.take();
  assert.notEqual(taken.buffer, small.buffer, 'the shared slab was not adopted');
  pool.give(taken.subarray(0, 10));
  assert.equal(pool.take().buffer, taken.buffer, 'a view of its own buffer comes back whole');
});
