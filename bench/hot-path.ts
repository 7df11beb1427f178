// The /metrics hot path alone, in this process: the index pass over N shim
// bodies (scrape time) and the relabelled lines written from it (answer
// time), without sockets, gzip or the HTTP server. The minimum over rounds
// is the figure to compare two versions by (`node bench/hot-path.ts [N]` in
// each; alternate the runs): on a shared machine it moves by a few percent
// where `npm run bench` moves by twenty.

import { ChunkPool } from '../src/buffers/chunk-pool.ts';
import { createShimPayload } from '../src/demo/payload.ts';
import { ChunkWriter } from '../src/scrape/chunk-writer.ts';
import { relabelShimBody, sandboxLabelText, writeSampleLines, type IndexedBody } from '../src/scrape/relabel.ts';

const n = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 40);
const bodies = Array.from({ length: n }, (_, i) => Buffer.from(createShimPayload(`${i.toString(16).padStart(8, '0')}${'5a'.repeat(28)}`)()));
const labels = sandboxLabelText('f'.repeat(64), { uid: '0000-1', name: 'pod-1', namespace: 'ns-1' });
const pool = new ChunkPool(64 * 1024);
let index = Infinity;
let write = Infinity;
for (let r = 0; r < rounds + 5; r++) {
  const t0 = performance.now();
  const indexed: IndexedBody[] = bodies.map((b) => relabelShimBody(b, labels).index);
  const t1 = performance.now();
  for (const ix of indexed) {
    const w = new ChunkWriter(pool);
    for (let j = 0; j < ix.runs.length; j += 3) writeSampleLines(ix, ix.runs[j + 1]!, ix.runs[j + 2]!, ix.heads[ix.runs[j]!]!.prefixed, w);
    w.finish();
  }
  const t2 = performance.now();
  if (r >= 5) {
    index = Math.min(index, t1 - t0);
    write = Math.min(write, t2 - t1);
  }
}
console.log(`${n} bodies of ${(bodies[0]!.length / 1000).toFixed(1)} kB, min of ${rounds} rounds: index ${index.toFixed(1)} ms, write ${write.toFixed(1)} ms`);
