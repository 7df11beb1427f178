// What the OTel push keeps between pushes: `node --expose-gc bench/otel-memory.ts [N]`.
// The translator (translate/walk.ts, shared by every pipeline and pull
// endpoint) holds the start-time state of cumulative series (start-times.ts:
// per sandbox and family, 32 bytes a series) and nothing of the snapshots
// it walked: each push brings a fresh snapshot that is dropped once
// encoded, as the daemon does. This prints what stays (V8 heap plus array
// buffers) after three pushes of N sandboxes (default 300), and the size of
// one push in protobuf and OTLP/JSON, gzipped as the exporters queue it.

import { getHeapStatistics } from 'node:v8';
import { planOf } from '../src/otel/processors/plan.ts';
import { NO_FORMS } from '../src/otel/requests.ts';
import { buildResource } from '../src/otel/resource.ts';
import { encodeSnapshot } from '../src/otel/translate/encode.ts';
import { Translator } from '../src/otel/translate/walk.ts';
import { bodies, snapshotOf } from './otel.ts';

const gc = (globalThis as { gc?: () => void }).gc;
if (!gc) throw new Error('run with node --expose-gc');
const n = Number(process.argv[2] ?? 300);
const MiB = 1048576;
const usedMiB = (): number => {
  gc();
  gc();
  return (getHeapStatistics().used_heap_size + process.memoryUsage().arrayBuffers) / MiB;
};

const bs = bodies(n);
const plan = planOf(buildResource({ instanceId: 'bench', hostName: 'bench', env: {} }), [{ type: 'batch', name: 'batch', sendBatchMaxSize: 8192 }]);

/** One push: a fresh snapshot read by two pipelines (protobuf and OTLP/JSON) and the pull endpoint, then dropped. */
async function push(translator: Translator, r: number): Promise<{ proto: number; json: number; points: number }> {
  const snap = snapshotOf(bs, 1_700_000_000_000 + r * 60_000);
  const forms = [{ ...NO_FORMS, protoGzip: true }, { ...NO_FORMS, jsonGzip: true }, { ...NO_FORMS, points: true }];
  const [p, j, o] = await Promise.all(forms.map((f) => encodeSnapshot(translator, snap, plan, f)));
  return {
    proto: p!.requests.reduce((s, q) => s + q.bytes('proto', true).length, 0),
    json: j!.requests.reduce((s, q) => s + q.bytes('json', true).length, 0),
    points: o!.points,
  };
}

const holder: { translator?: Translator } = { translator: new Translator() };
let sizes = { proto: 0, json: 0, points: 0 };
for (let r = 0; r < 3; r++) sizes = await push(holder.translator!, r);
// What the translator holds: the heap with it, less the heap once it is dropped.
const withIt = usedMiB();
delete holder.translator;
const kept = withIt - usedMiB();
console.log(
  `${n} sandboxes (${sizes.points} data points a push): translator state kept between pushes ${kept.toFixed(1)} MiB (heap and buffers); ` +
    `one push ${(sizes.proto / 1e6).toFixed(1)} MB protobuf, ${(sizes.json / 1e6).toFixed(1)} MB OTLP/JSON, gzipped`,
);
