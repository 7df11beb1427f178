// Measures the OTel push for N sandboxes: the one walk of a snapshot's
// scanned bodies (translate/walk.ts) into each sink a pipeline may ask for —
// protobuf (plain, gzipped), OTLP/JSON (plain, gzipped), the SDK's objects
// (points: the pull endpoint, the debug exporter) — in requests of 8,192
// points, as a batch processor of that size cuts them. Bodies are scanned at
// scrape time (for /metrics too), so the scan is measured apart; each round
// brings a fresh snapshot (new bodies, as every push does) to a translator
// that has seen the previous ones (start times tracked).
// Targets at 100 sandboxes: protobuf no slower than before the rewrite
// (38–75 ms CPU), OTLP/JSON no slower than that either.
// Run alone: node bench/otel.ts [sandboxes] [rounds]

import { readFileSync } from 'node:fs';
import { formatFloat } from '../src/exposition/float.ts';
import { scanBody } from '../src/exposition/scan.ts';
import { planOf } from '../src/otel/processors/plan.ts';
import { NO_FORMS, type Forms } from '../src/otel/requests.ts';
import { buildResource } from '../src/otel/resource.ts';
import { encodeSnapshot } from '../src/otel/translate/encode.ts';
import { Translator } from '../src/otel/translate/walk.ts';
import { RECEIVER_DEFAULTS } from '../src/receiver/config.ts';
import { shimPrefix } from '../src/scrape/relabel.ts';
import type { SandboxScrape, Snapshot } from '../src/scrape/snapshot.ts';

export interface SinkResult {
  readonly name: string;
  /** Medians over the rounds, milliseconds: wall clock, and process CPU (all threads, so GC helpers count). */
  readonly wallMs: number;
  readonly cpuMs: number;
  readonly minCpuMs: number;
  readonly maxCpuMs: number;
  readonly requests: number;
  /** Bytes of one push's requests in this form (0 for the objects). */
  readonly bytes: number;
}

export interface OtelBenchResult {
  readonly sandboxes: number;
  readonly rounds: number;
  readonly dataPoints: number;
  /** Scanning the bodies (at scrape time, not part of the push), median ms. */
  readonly scanMs: number;
  readonly sinks: readonly SinkResult[];
}

const FIXTURES = new URL('../test/fixtures/', import.meta.url);

/** Each sandbox gets the fixture body with values scaled differently. */
export function bodies(n: number): Buffer[] {
  const a = readFileSync(new URL('shim-metrics-a.prom', FIXTURES), 'utf8');
  const b = readFileSync(new URL('shim-metrics-b.prom', FIXTURES), 'utf8');
  return Array.from({ length: n }, (_, i) => {
    const base = i % 2 === 0 ? a : b;
    const f = 1 + i / 97;
    // Written as a shim's Go encoder writes them (counts whole, floats in Go's layout): canonical, as real bodies are.
    return Buffer.from(
      base.replace(/^([^#\s]\S*?(?:\{[^}]*\})?) (\S+)$/gm, (line, series: string, value: string) => {
        const v = Number(value);
        if (!Number.isFinite(v)) return line;
        const whole = /^[^{ ]*_(count|bucket)\b/.test(series);
        return `${series} ${formatFloat(whole ? Math.round(v * f) : Math.round(v * f * 1000) / 1000)}`;
      }),
    );
  });
}

/** A snapshot of these bodies, scanned as the scraper scans them (copies: a scan may keep its body). */
export function snapshotOf(bs: readonly Buffer[], at: number): Snapshot {
  const sandboxes: SandboxScrape[] = bs.map((body, i) => {
    const id = `${i.toString(16).padStart(8, '0')}c0ffee${'0'.repeat(50)}`;
    const metadata = { uid: `0b5e${i}-uid-1234-5678-9abc`, name: `pod-${i}`, namespace: 'default' };
    const scan = scanBody(Buffer.from(body), { limits: RECEIVER_DEFAULTS.limits, prefix: shimPrefix });
    return { sandbox: { id, root: '/run/vc/sbs', metadata, metadataKnown: true, discoveredAt: 0 }, durationMs: 2, at, scan, sampleCount: scan.samples };
  });
  return { startedAt: at - 5, finishedAt: at, reason: 'push', sandboxes };
}

export const SINKS: readonly { readonly name: string; readonly forms: Forms }[] = [
  { name: 'protobuf', forms: { ...NO_FORMS, proto: true } },
  { name: 'protobuf gzip', forms: { ...NO_FORMS, protoGzip: true } },
  { name: 'OTLP/JSON', forms: { ...NO_FORMS, json: true } },
  { name: 'OTLP/JSON gzip', forms: { ...NO_FORMS, jsonGzip: true } },
  { name: 'points (SDK objects)', forms: { ...NO_FORMS, points: true } },
];

const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] ?? NaN;

export async function benchOtel(sandboxes = 100, rounds = 15, only?: (name: string) => boolean): Promise<OtelBenchResult> {
  const bs = bodies(sandboxes);
  const plan = planOf(buildResource({ instanceId: 'bench', hostName: 'bench', env: {} }), [{ type: 'batch', name: 'batch', sendBatchMaxSize: 8192 }]);
  const warmup = 3;
  const scan: number[] = [];
  const sinks: SinkResult[] = [];
  let dataPoints = 0;
  for (const sink of SINKS) {
    if (only && !only(sink.name)) continue;
    const translator = new Translator();
    const wall: number[] = [];
    const cpu: number[] = [];
    let requests = 0;
    let bytes = 0;
    for (let r = 0; r < warmup + rounds; r++) {
      const t0 = performance.now();
      const snap = snapshotOf(bs, 1_700_000_000_000 + r * 60_000);
      if (r >= warmup) scan.push(performance.now() - t0);
      const c0 = process.cpuUsage();
      const t = performance.now();
      const pushed = await encodeSnapshot(translator, snap, plan, sink.forms);
      const w = performance.now() - t;
      const c = process.cpuUsage(c0);
      if (r >= warmup) {
        wall.push(w);
        cpu.push((c.user + c.system) / 1000);
      }
      if (pushed.errors.length > 0) throw new Error(pushed.errors[0]);
      dataPoints = pushed.points;
      requests = pushed.requests.length;
      const f = sink.forms;
      bytes = f.points ? 0 : pushed.requests.reduce((n, q) => n + q.bytes(f.proto || f.protoGzip ? 'proto' : 'json', f.protoGzip || f.jsonGzip).length, 0);
    }
    sinks.push({ name: sink.name, wallMs: median(wall), cpuMs: median(cpu), minCpuMs: Math.min(...cpu), maxCpuMs: Math.max(...cpu), requests, bytes });
  }
  return { sandboxes, rounds, dataPoints, scanMs: median(scan), sinks };
}

if (import.meta.main) {
  const n = Number(process.argv[2] ?? 100);
  const rounds = Number(process.argv[3] ?? 15);
  const filter = process.env['BENCH_SINKS'];
  const r = await benchOtel(n, rounds, filter ? (name) => filter.split(',').some((s) => name.startsWith(s)) : undefined);
  const f = (x: number) => x.toFixed(1);
  console.log(`OTel push, ${r.sandboxes} sandboxes, ${r.dataPoints} data points, requests of ≤ 8,192 points, median of ${r.rounds} rounds`);
  console.log(`  scan of the bodies (at scrape time, not the push's)  ${f(r.scanMs)} ms`);
  for (const s of r.sinks) {
    const size = s.bytes > 0 ? `, ${(s.bytes / 1e6).toFixed(2)} MB` : '';
    console.log(`  ${s.name.padEnd(22)} ${f(s.wallMs).padStart(6)} ms wall, ${f(s.cpuMs).padStart(6)} ms CPU (${f(s.minCpuMs)}–${f(s.maxCpuMs)}), ${s.requests} requests${size}`);
  }
}
