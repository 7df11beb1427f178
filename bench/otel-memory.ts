// What the OTel push paths keep between pushes: `node --expose-gc bench/otel-memory.ts [N]`.
// The object-model translator (OTLP/JSON pipelines, the pull endpoint) holds,
// per sandbox, the previous parse and per-series state (start times, reused
// attribute objects); the protobuf pipelines' encoder holds start times in
// typed arrays. This prints what each retains (V8 heap plus array buffers)
// and the size of one push's protobuf for N sandboxes (default 300).

import { getHeapStatistics } from 'node:v8';
import { IndexEncoder } from '../src/otel/index-encoder.ts';
import { pushPlan } from '../src/otel/processors.ts';
import { Translator } from '../src/otel/translate.ts';
import { buildResource } from '../src/otel/resource.ts';
import { encodeProto } from '../src/otel/otlp-encode.ts';
import type { Translation } from '../src/otel/translate.ts';
import { bodies, snapshotOf } from './otel.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 300);
const heapMiB = (): number => {
  gc();
  gc();
  return getHeapStatistics().used_heap_size / 1048576;
};
const heapAndBuffersMiB = (): number => heapMiB() + process.memoryUsage().arrayBuffers / 1048576;

const bs = bodies(n);
const before = heapMiB();
const translator = new Translator({ resource: buildResource({ instanceId: 'bench', hostName: 'bench', env: {} }) });
let last: Translation | undefined;
for (let r = 0; r < 3; r++) last = translator.translate(snapshotOf(bs, 1_700_000_000_000 + r * 60_000));
const bytes = last ? encodeProto([last.resourceMetrics]).length : 0;
last = undefined;
const kept = heapMiB() - before;
console.log(`${n} sandboxes: translator state kept between pushes ${kept.toFixed(1)} MiB of V8 heap; one push ${(bytes / 1e6).toFixed(1)} MB of OTLP protobuf`);
void translator;

const resource = buildResource({ instanceId: 'bench', hostName: 'bench', env: {} });
const plan = { ...pushPlan(resource, [{ type: 'batch', name: 'batch', sendBatchMaxSize: 8192 }]), forms: { proto: false, gzip: true } };
const snaps = [0, 1, 2].map((r) => snapshotOf(bs, 1_700_000_000_000 + r * 60_000, true));
// The snapshots (bodies, index) stay alive throughout: what grows is the encoder's.
const base = heapAndBuffersMiB();
const encoder = new IndexEncoder();
let gzipped = 0;
for (const s of snaps) gzipped = (await encoder.encode(s, plan)).requests.reduce((sum, q) => sum + q.size, 0);
const held = heapAndBuffersMiB() - base;
console.log(`${n} sandboxes: protobuf encoder state kept between pushes ${held.toFixed(1)} MiB (heap and buffers); one push ${(gzipped / 1e6).toFixed(1)} MB gzipped`);
void encoder;
