// What a queued data point costs while the backend is down:
// `node --expose-gc bench/queue-memory.ts [pushes] [sandboxes]`.
//
// The daemon in process (startDaemon with the CLI's exporting) scrapes the
// demo environment and pushes every 100 ms to an OTLP/HTTP backend that
// answers 503, so every batch stays queued. Between two points of the
// outage the queue grows by many batches; the growth of V8's heap plus array
// buffers after full collections, divided by the growth of
// kata_monitor_otlp_queue_points, is what one queued point costs. Run for:
// the in-memory queue with compression gzip (batches kept gzipped) and none
// (kept as protobuf), and the persistent queue (file_storage: batches on
// disk, only their metadata in memory).

import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { defaultFlags, type FlagName } from '../src/cli/flags.ts';
import { parseConfig } from '../src/components.ts';
import { startDemo } from '../src/demo/environment.ts';
import { silentLogger } from '../src/log/logger.ts';
import { startDaemon } from '../src/main.ts';
import { makeExporting } from '../src/otel/exporting.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const PUSHES = Number(process.argv[2] ?? 200);
const SANDBOXES = Number(process.argv[3] ?? 4);

const used = async (): Promise<number> => {
  let floor = Infinity;
  // The lowest of many samples: one taken between two pushes holds no snapshot or request in the making.
  for (let k = 0; k < 25; k++) {
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
    floor = Math.min(floor, getHeapStatistics().used_heap_size + process.memoryUsage().arrayBuffers);
    await new Promise((r) => setTimeout(r, 37));
  }
  return floor;
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

// The backend: every request answered 503, bodies not kept.
const backend = createServer((req, res) => {
  req.resume();
  req.on('end', () => res.writeHead(503).end());
});
await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
const url = `http://127.0.0.1:${(backend.address() as { port: number }).port}/v1/metrics`;

const demo = await startDemo({ sandboxes: SANDBOXES });
const storageRoot = mkdtempSync(path.join(tmpdir(), 'queue-memory-'));

interface Case {
  readonly name: string;
  readonly exporter: string;
  readonly storage?: boolean;
}

const CASES: Case[] = [
  { name: 'in memory, compression gzip', exporter: 'compression: gzip' },
  { name: 'in memory, compression none', exporter: 'compression: none' },
  { name: 'file_storage, compression gzip', exporter: 'compression: gzip\n    sending_queue: { storage: file_storage, queue_size: 100000 }', storage: true },
];

function sample(text: string, name: string): number {
  const m = new RegExp(`^${name}\\{[^}]*\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : NaN;
}

console.log(`${SANDBOXES} sandboxes, a push every 100 ms to a backend answering 503\n`);
for (const c of CASES) {
  const dir = path.join(storageRoot, c.name.replace(/\W+/g, '-'));
  const yaml = `receivers:
  kata_monitor:
    collection_interval: 100ms
    cri: { first_lookup_delay: 100ms, resync_interval: 200ms, timeout: 1s }
exporters:
  otlphttp:
    metrics_endpoint: ${url}
    retry_on_failure: { initial_interval: 1s, max_interval: 1s }
    ${c.exporter.includes('sending_queue') ? '' : 'sending_queue: { queue_size: 100000 }\n    '}${c.exporter}
${c.storage ? `extensions:\n  file_storage:\n    directory: ${dir}\n    create_directory: true\n` : ''}service:
${c.storage ? '  extensions: [file_storage]\n' : ''}  pipelines:
    metrics: { receivers: [kata_monitor], exporters: [otlphttp] }
`;
  const flags = { ...defaultFlags(), listenAddress: '127.0.0.1:0', sandboxRoots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint };
  const r = parseConfig(yaml, { flags, explicitFlags: new Set<FlagName>(['listen-address', 'sandbox-root', 'runtime-endpoint']), env: {} });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  const daemon = await startDaemon(r.config, silentLogger, makeExporting({ env: {} }));
  const queue = async (): Promise<{ points: number; bytes: number; batches: number }> => {
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    return { points: sample(text, 'kata_monitor_otlp_queue_points'), bytes: sample(text, 'kata_monitor_otlp_queue_bytes'), batches: sample(text, 'kata_monitor_otlp_queue_batches') };
  };
  const waitBatches = async (n: number): Promise<void> => {
    while ((await queue()).batches < n) await sleep(50);
  };
  // Warm up (pod metadata in, every code path taken), then two measurements.
  await waitBatches(Math.max(10, PUSHES / 5));
  const q1 = await queue();
  const h1 = await used();
  await waitBatches(PUSHES);
  const q2 = await queue();
  const h2 = await used();
  const points = q2.points - q1.points;
  const perPoint = (h2 - h1) / points;
  const disk = c.storage ? readdirSync(dir, { recursive: true }).map((f) => path.join(dir, String(f))).filter((f) => f.endsWith('.batch')).reduce((n, f) => n + statSync(f).size, 0) : 0;
  console.log(
    `${c.name.padEnd(32)} ${String(q2.batches).padStart(5)} batches, ${String(q2.points).padStart(7)} points queued; ` +
      `memory ${perPoint.toFixed(1)} B a point (${((h2 - h1) / (q2.batches - q1.batches) / 1024).toFixed(1)} KiB a batch); ` +
      `queued bytes ${(q2.bytes / q2.points).toFixed(1)} B a point${c.storage ? `; on disk ${(disk / q2.points).toFixed(1)} B a point` : ''}`,
  );
  await daemon.stop(100);
}

await demo.stop();
backend.close();
rmSync(storageRoot, { recursive: true, force: true });
