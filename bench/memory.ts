// Where a scrape's memory goes, in-process: `node --expose-gc bench/memory.ts [N]`.
// Prints V8 heap and ArrayBuffer figures at idle, at the highest point of a
// fan-out, with one snapshot held, and while an answer is written from it.
// The /metrics figures of issue #6 come from bench/daemon.ts (its own process);
// this is the microscope used to decide what to change.

import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { fork } from 'node:child_process';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { SandboxRegistry } from '../src/discovery/registry.ts';
import { createLogger } from '../src/log/logger.ts';
import { Scraper } from '../src/scrape/scraper.ts';
import type { Snapshot } from '../src/scrape/snapshot.ts';
import { ChunkPool } from '../src/buffers/chunk-pool.ts';
import { familyChunks, mergeSnapshot } from '../src/scrape/merge.ts';
import { createShimPayload } from '../src/demo/payload.ts';
import { RECEIVER_DEFAULTS } from '../src/receiver/config.ts';
import { startStaticShim, type StaticShim } from './daemon.ts';

const MiB = 1024 * 1024;
const id = (i: number): string => `${i.toString(16).padStart(8, '0')}${'5a'.repeat(28)}`;

// The shims live in a child process, so that their buffers stay out of the figures.
if (process.argv[2] === 'shims') {
  const [, , , root, count] = process.argv;
  const shims: StaticShim[] = [];
  for (let i = 0; i < Number(count); i++) {
    await mkdir(path.join(root!, id(i)));
    shims.push(await startStaticShim(path.join(root!, id(i), 'shim-monitor.sock'), Buffer.from(createShimPayload(id(i))())));
  }
  process.send?.('ready');
  process.once('disconnect', () => void Promise.all(shims.map((s) => s.close())));
} else {
  await measure();
}

async function measure(): Promise<void> {
const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 300);

interface Mem {
  rss: number;
  heapUsed: number;
  heapCommitted: number;
  arrayBuffers: number;
}
function mem(): Mem {
  const m = process.memoryUsage();
  return { rss: m.rss / MiB, heapUsed: m.heapUsed / MiB, heapCommitted: getHeapStatistics().total_physical_size / MiB, arrayBuffers: m.arrayBuffers / MiB };
}
function row(label: string, m: Mem, base?: Mem): string {
  const d = (k: keyof Mem): string => `${m[k].toFixed(1)}${base ? ` (${m[k] - base[k] >= 0 ? '+' : ''}${(m[k] - base[k]).toFixed(1)})` : ''}`;
  return `| ${label} | ${d('rss')} | ${d('heapUsed')} | ${d('heapCommitted')} | ${d('arrayBuffers')} |`;
}
const maxOf = (a: Mem, b: Mem): Mem => ({ rss: Math.max(a.rss, b.rss), heapUsed: Math.max(a.heapUsed, b.heapUsed), heapCommitted: Math.max(a.heapCommitted, b.heapCommitted), arrayBuffers: Math.max(a.arrayBuffers, b.arrayBuffers) });

const dir = await mkdtemp(path.join(tmpdir(), 'km-'));
const root = path.join(dir, 'sbs');
await mkdir(root);
const registry = new SandboxRegistry([root]);
const host = fork(fileURLToPath(import.meta.url), ['shims', root, String(n)], { execArgv: [] });
await new Promise((resolve) => host.once('message', resolve));
for (let i = 0; i < n; i++) {
  registry.add(id(i), root);
  registry.setMetadata(id(i), { uid: `0000-${i}`, name: `pod-${i}`, namespace: `ns-${i % 7}` });
}
const scraper = new Scraper({ registry, roots: [root], shim: { timeoutMs: 3000, maxBodyBytes: 64 * MiB, concurrency: 32 }, limits: RECEIVER_DEFAULTS.limits, logger: createLogger({ level: 'error' }) });
const pool = new ChunkPool();
const answer = (s: Snapshot): number => {
  let bytes = 0;
  for (const c of familyChunks(mergeSnapshot(s).families, pool)) {
    bytes += c.length;
    pool.give(c);
  }
  return bytes;
};

// Warm up: code compiled, pools filled.
// As the /metrics route reads: through read(), which frees each snapshot when done.
for (let i = 0; i < 3; i++) await scraper.read(answer);
const settle = async (): Promise<void> => {
  // ArrayBuffers are freed by a sweeper after the GC: let it finish.
  for (let i = 0; i < 3; i++) {
    gc();
    await new Promise((r) => setTimeout(r, 50));
  }
};
await settle();
const idle = mem();

let peak = idle;
const sampler = setInterval(() => (peak = maxOf(peak, mem())), 1);
let held = idle;
let writePeak = idle;
let bytes = 0;
await scraper.read(async (snapshot) => {
  clearInterval(sampler);
  peak = maxOf(peak, mem());
  await settle();
  held = mem();
  writePeak = held;
  for (const c of familyChunks(mergeSnapshot(snapshot).families, pool)) {
    bytes += c.length;
    pool.give(c);
    writePeak = maxOf(writePeak, mem());
  }
});
await settle();
const released = mem();

console.log(`\n${n} sandboxes, ${bytes / 1e6} MB answer; MiB (change from idle)\n`);
console.log('| point | RSS | V8 heap used | V8 heap committed | ArrayBuffers |');
console.log('|---|---|---|---|---|');
console.log(row('idle (after GC)', idle));
console.log(row('highest during the fan-out', peak, idle));
console.log(row('one snapshot held (after GC)', held, idle));
console.log(row('highest while writing the answer', writePeak, idle));
console.log(row('after the reader is done (after GC)', released, idle));
host.disconnect();
await new Promise((r) => host.once('exit', r));
await rm(dir, { recursive: true, force: true });
}
