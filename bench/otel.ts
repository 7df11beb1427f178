// Measures the OTel push path for N sandboxes: parse + translate (a fresh
// snapshot each round, as every push brings new shim bodies) and OTLP
// protobuf serialisation, the object-model path (OTLP/JSON pipelines, the
// pull endpoint); then the protobuf pipelines' path, the scrape index encoded
// straight to requests of 8,192 points (index-encoder.ts; the index itself is
// built at scrape time, for /metrics). Target: ≤ 150 ms CPU for 100 sandboxes.
// Run alone: node bench/otel.ts [sandboxes] [rounds]

import { readFileSync } from 'node:fs';
import { parseText, reparseText } from '../src/exposition/parse-text.ts';
import { encodeJson, encodeProto } from '../src/otel/otlp-encode.ts';
import { buildResource } from '../src/otel/resource.ts';
import { Translator } from '../src/otel/translate.ts';
import type { MetricFamily } from '../src/exposition/model.ts';
import type { SandboxScrape, Snapshot } from '../src/scrape/snapshot.ts';
import { relabelShimBody, sandboxLabelText } from '../src/scrape/relabel.ts';
import { IndexEncoder } from '../src/otel/index-encoder.ts';
import { pushPlan } from '../src/otel/processors.ts';

export interface OtelBenchResult {
  readonly sandboxes: number;
  readonly rounds: number;
  readonly dataPoints: number;
  readonly protoBytes: number;
  readonly jsonBytes: number;
  /** Medians over the rounds, milliseconds. Parsing as translate does: against the sandbox's previous parse. */
  readonly parseMs: number;
  /** Parsing without a previous parse (a new sandbox, or the first push). */
  readonly firstParseMs: number;
  readonly translateMs: number;
  /** Translation alone, bodies already parsed. */
  readonly translateOnlyMs: number;
  readonly encodeProtoMs: number;
  readonly encodeJsonMs: number;
  /** translate (including parse) + protobuf, wall clock and process CPU (all threads, so GC helpers count). */
  readonly totalWallMs: number;
  readonly totalCpuMs: number;
  /** The protobuf pipelines' path: index → requests, wall and process CPU. */
  readonly directWallMs: number;
  readonly directCpuMs: number;
  readonly directBytes: number;
}

const FIXTURES = new URL('../test/fixtures/', import.meta.url);

/** Each sandbox gets the fixture body with values scaled differently. */
export function bodies(n: number): Buffer[] {
  const a = readFileSync(new URL('shim-metrics-a.prom', FIXTURES), 'utf8');
  const b = readFileSync(new URL('shim-metrics-b.prom', FIXTURES), 'utf8');
  return Array.from({ length: n }, (_, i) => {
    const base = i % 2 === 0 ? a : b;
    const f = 1 + i / 97;
    return Buffer.from(
      base.replace(/^([^#\s]\S*?(?:\{[^}]*\})?) (\S+)$/gm, (line, series: string, value: string) => {
        const v = Number(value);
        return Number.isFinite(v) ? `${series} ${Math.round(v * f * 1000) / 1000}` : line;
      }),
    );
  });
}

/** `indexed`: with the scrape index, as the scraper makes it. */
export function snapshotOf(bs: readonly Buffer[], at: number, indexed = false): Snapshot {
  const sandboxes: SandboxScrape[] = bs.map((body, i) => {
    const id = `${i.toString(16).padStart(8, '0')}c0ffee${'0'.repeat(50)}`;
    const metadata = { uid: `0b5e${i}-uid-1234-5678-9abc`, name: `pod-${i}`, namespace: 'default' };
    return {
      sandbox: { id, root: '/run/vc/sbs', metadata, metadataKnown: true, discoveredAt: 0 },
      durationMs: 2,
      at,
      body,
      sampleCount: 0,
      ...(indexed && { index: relabelShimBody(body, sandboxLabelText(id, metadata)).index }),
    };
  });
  return { startedAt: at - 5, finishedAt: at, sandboxes };
}

const median = (xs: number[]): number => [...xs].sort((p, q) => p - q)[Math.floor(xs.length / 2)] ?? NaN;

export async function benchOtel(sandboxes = 100, rounds = 15): Promise<OtelBenchResult> {
  const bs = bodies(sandboxes);
  const translator = new Translator({ resource: buildResource({ instanceId: 'bench', hostName: 'bench', env: {} }) });
  const parse: number[] = [];
  const firstParse: number[] = [];
  let previous = bs.map((b) => parseText(b.toString('utf8')));
  const only: number[] = [];
  const parsed = new Map<string, MetricFamily[]>();
  const preParsed = new Translator({
    resource: buildResource({ instanceId: 'bench', hostName: 'bench', env: {} }),
    parse: (text) => parsed.get(text) ?? parseText(text),
  });
  for (const b of bs) parsed.set(b.toString('utf8'), parseText(b.toString('utf8')));
  const translate: number[] = [];
  const proto: number[] = [];
  const json: number[] = [];
  const wall: number[] = [];
  const cpu: number[] = [];
  let dataPoints = 0;
  let protoBytes = 0;
  let jsonBytes = 0;
  const encoder = new IndexEncoder();
  const resource = buildResource({ instanceId: 'bench', hostName: 'bench', env: {} });
  const plan = pushPlan(resource, [{ type: 'batch', name: 'batch', sendBatchMaxSize: 8192 }]);
  const directWall: number[] = [];
  const directCpu: number[] = [];
  let directBytes = 0;
  const warmup = 3;
  for (let r = 0; r < warmup + rounds; r++) {
    const keep = r >= warmup;
    let t = performance.now();
    for (const b of bs) parseText(b.toString('utf8'));
    if (keep) firstParse.push(performance.now() - t);
    t = performance.now();
    previous = bs.map((b, i) => reparseText(b.toString('utf8'), previous[i]!));
    if (keep) parse.push(performance.now() - t);

    const snap = snapshotOf(bs, 1_700_000_000_000 + r * 60_000);
    const other = snapshotOf(bs, 1_700_000_000_000 + r * 60_000);
    t = performance.now();
    preParsed.translate(other);
    if (keep) only.push(performance.now() - t);

    const c0 = process.cpuUsage();
    t = performance.now();
    const tr = translator.translate(snap);
    const t1 = performance.now();
    const bytes = encodeProto([tr.resourceMetrics]);
    const t2 = performance.now();
    const c = process.cpuUsage(c0);
    const js = process.env["BENCH_NO_JSON"] ? new Uint8Array(0) : encodeJson([tr.resourceMetrics]);
    const t3 = performance.now();
    if (keep) {
      translate.push(t1 - t);
      proto.push(t2 - t1);
      json.push(t3 - t2);
      wall.push(t2 - t);
      cpu.push((c.user + c.system) / 1000);
    }
    dataPoints = tr.dataPoints;
    protoBytes = bytes.length;
    jsonBytes = js.length;

    const indexed = snapshotOf(bs, 1_700_000_000_000 + r * 60_000, true);
    const d0 = process.cpuUsage();
    t = performance.now();
    const pushed = await encoder.encode(indexed, plan);
    const dw = performance.now() - t;
    const dc = process.cpuUsage(d0);
    if (keep) {
      directWall.push(dw);
      directCpu.push((dc.user + dc.system) / 1000);
    }
    directBytes = pushed.requests.reduce((n, q) => n + q.size, 0);
  }
  return {
    sandboxes,
    rounds,
    dataPoints,
    protoBytes,
    jsonBytes,
    parseMs: median(parse),
    firstParseMs: median(firstParse),
    translateMs: median(translate),
    translateOnlyMs: median(only),
    encodeProtoMs: median(proto),
    encodeJsonMs: median(json),
    totalWallMs: median(wall),
    totalCpuMs: median(cpu),
    directWallMs: median(directWall),
    directCpuMs: median(directCpu),
    directBytes,
  };
}

if (import.meta.main) {
  const n = Number(process.argv[2] ?? 100);
  const rounds = Number(process.argv[3] ?? 15);
  const r = await benchOtel(n, rounds);
  const f = (x: number) => x.toFixed(1);
  console.log(`OTel push path, ${r.sandboxes} sandboxes, ${r.dataPoints} data points, median of ${r.rounds} rounds`);
  console.log(`  parse, first time          ${f(r.firstParseMs)} ms`);
  console.log(`  parse (part of translate)  ${f(r.parseMs)} ms  (against the previous parse)`);
  console.log(`  translate without parse    ${f(r.translateOnlyMs)} ms`);
  console.log(`  translate incl. parse      ${f(r.translateMs)} ms`);
  console.log(`  encode protobuf            ${f(r.encodeProtoMs)} ms  (${(r.protoBytes / 1e6).toFixed(2)} MB)`);
  console.log(`  encode JSON                ${f(r.encodeJsonMs)} ms  (${(r.jsonBytes / 1e6).toFixed(2)} MB)`);
  console.log(`  translate + protobuf       ${f(r.totalWallMs)} ms wall, ${f(r.totalCpuMs)} ms CPU (object model: OTLP/JSON, pull endpoint)`);
  console.log(`  index → protobuf requests  ${f(r.directWallMs)} ms wall, ${f(r.directCpuMs)} ms CPU (protobuf pipelines; target ≤ 150 ms CPU; ${(r.directBytes / 1e6).toFixed(2)} MB)`);
}
