// The /metrics hot path alone, in this process: the scan of N shim bodies
// (scrape time: scanBody validates each body as Go's parser does, with the
// default scrape limits, and records where each sample's parts sit) and the
// relabelled lines written from the index (answer time: writeSamples with
// the kata_shim_ prefix and the four sandbox labels), without sockets, gzip
// or the HTTP server. The minimum over rounds is the figure to compare two
// versions by (`node bench/hot-path.ts [N] [rounds]` in each; alternate the
// runs): on a shared machine it moves by a few percent where `npm run bench`
// moves by twenty.

import { ChunkPool } from '../src/buffers/chunk-pool.ts';
import { createShimPayload } from '../src/demo/payload.ts';
import { ChunkWriter } from '../src/buffers/chunk-writer.ts';
import { scanBody, type ScannedBody } from '../src/exposition/scan.ts';
import { writeSamples } from '../src/exposition/samples.ts';
import { sandboxLabelText, shimPrefix } from '../src/scrape/relabel.ts';
import { RECEIVER_DEFAULTS } from '../src/receiver/config.ts';

const n = Number(process.argv[2] ?? 100);
const rounds = Number(process.argv[3] ?? 40);
const bodies = Array.from({ length: n }, (_, i) => Buffer.from(createShimPayload(`${i.toString(16).padStart(8, '0')}${'5a'.repeat(28)}`)()));
const labels = sandboxLabelText('f'.repeat(64), { uid: '0000-1', name: 'pod-1', namespace: 'ns-1' });
const options = { limits: RECEIVER_DEFAULTS.limits, prefix: shimPrefix };
const pool = new ChunkPool(64 * 1024);
let index = Infinity;
let write = Infinity;
let bytes = 0;
for (let r = 0; r < rounds + 5; r++) {
  const t0 = performance.now();
  const scans: ScannedBody[] = bodies.map((b) => scanBody(b, options));
  const t1 = performance.now();
  bytes = 0;
  for (const scan of scans) {
    const w = new ChunkWriter(pool);
    const { runs, heads } = scan;
    for (let j = 0; j < runs.length; j += 3) writeSamples(scan, runs[j + 1]!, runs[j + 2]!, heads[runs[j]!]!.prefix, labels, w);
    for (const c of w.finish()) bytes += c.length;
  }
  const t2 = performance.now();
  if (r >= 5) {
    index = Math.min(index, t1 - t0);
    write = Math.min(write, t2 - t1);
  }
}
console.log(`${n} bodies of ${(bodies[0]!.length / 1000).toFixed(1)} kB, min of ${rounds} rounds: index ${index.toFixed(1)} ms, write ${write.toFixed(1)} ms (${(bytes / 1e6).toFixed(1)} MB written)`);
