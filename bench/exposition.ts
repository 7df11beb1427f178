// Exposition throughput at kata-monitor scale: the two shim fixtures turned
// into N distinct sandbox bodies (values varied per sandbox), scanned one
// body at a time as the scrape path does (scanBody: validation and index) and
// read into the model (parseFamilies, what protobuf and OpenMetrics answers
// start from), then merged into one /metrics-sized model (the four sandbox
// labels appended) and encoded in each format.
//
//   node bench/exposition.ts [sandboxes] [runs]

import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { encodeOpenMetrics } from '../src/exposition/encode-openmetrics.ts';
import { encodeProtobufDelimited } from '../src/exposition/encode-protobuf.ts';
import { encodeText } from '../src/exposition/encode-text.ts';
import type { Metric, MetricFamily } from '../src/exposition/model.ts';
import { parseFamilies, scanBody } from '../src/exposition/scan.ts';
import { shimPrefix } from '../src/scrape/relabel.ts';
import { RECEIVER_DEFAULTS } from '../src/receiver/config.ts';

export interface BenchRow {
  readonly name: string;
  /** Input bytes (scan, parse) or output bytes (encoders) per run. */
  readonly bytes: number;
  readonly samples: number;
  readonly medianMs: number;
  readonly mbPerSec: number;
  readonly samplesPerSec: number;
}

export interface ExpositionBenchOptions {
  readonly sandboxes?: number;
  readonly runs?: number;
}


/**
 * Sandbox i's copy of a body: every value moved a little, integers kept
 * integral (as real gauges of bytes and counts are) and counts cumulative.
 */
function vary(families: readonly MetricFamily[], i: number): MetricFamily[] {
  const f = 1 + i / 997;
  const move = (v: number): number => (Number.isInteger(v) ? v + i : v * f);
  return families.map((fam) => ({
    ...fam,
    metrics: fam.metrics.map((m): Metric => {
      if (m.kind === 'scalar') return { ...m, value: move(m.value) };
      if (m.kind === 'histogram') {
        return { ...m, buckets: m.buckets.map((b) => ({ ...b, cumulativeCount: b.cumulativeCount + i })), sum: m.sum * f, count: m.count + i };
      }
      return { ...m, quantiles: m.quantiles.map((q) => ({ ...q, value: q.value * f })), sum: m.sum * f, count: m.count + i };
    }),
  }));
}

/** kata-monitor's merge: same-named families joined, sandbox labels appended in upstream's order. */
function merge(perSandbox: readonly MetricFamily[][]): MetricFamily[] {
  const byName = new Map<string, { name: string; help?: string; type: MetricFamily['type']; metrics: Metric[] }>();
  perSandbox.forEach((families, i) => {
    const extra = [
      { name: 'sandbox_id', value: `${i.toString(16).padStart(8, '0')}c0ffee${'0'.repeat(50)}` },
      { name: 'cri_uid', value: `uid-${i}` },
      { name: 'cri_name', value: `pod-${i}` },
      { name: 'cri_namespace', value: 'default' },
    ];
    for (const fam of families) {
      let target = byName.get(fam.name);
      if (target === undefined) {
        target = { name: fam.name, type: fam.type, metrics: [], ...(fam.help === undefined ? {} : { help: fam.help }) };
        byName.set(fam.name, target);
      }
      for (const m of fam.metrics) target.metrics.push({ ...m, labels: [...m.labels, ...extra] });
    }
  });
  return [...byName.values()];
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

function measure(name: string, runs: number, bytes: number, samples: number, fn: () => void): BenchRow {
  fn(); // warm-up
  fn();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  const medianMs = median(times);
  return {
    name,
    bytes,
    samples,
    medianMs,
    mbPerSec: bytes / 1e6 / (medianMs / 1e3),
    samplesPerSec: samples / (medianMs / 1e3),
  };
}

export async function runExpositionBench(options: ExpositionBenchOptions = {}): Promise<BenchRow[]> {
  const sandboxes = options.sandboxes ?? 100;
  const runs = options.runs ?? 9;
  const fixtures = ['shim-metrics-a.prom', 'shim-metrics-b.prom'].map((n) => parseFamilies(readFileSync(new URL(`../test/fixtures/${n}`, import.meta.url))));
  const bodies: Buffer[] = [];
  for (let i = 0; i < sandboxes; i++) bodies.push(Buffer.from(encodeText(vary(fixtures[i % 2] as MetricFamily[], i))));
  const inBytes = bodies.reduce((n, b) => n + b.length, 0);
  const parsed = bodies.map((b) => parseFamilies(b));
  const samples = bodies.reduce((n, b) => n + scanBody(b).samples, 0);
  const merged = merge(parsed);

  let sink = 0; // keeps results observable so nothing is optimised away
  const rows: BenchRow[] = [];
  const scanOptions = { limits: RECEIVER_DEFAULTS.limits, prefix: shimPrefix };
  rows.push(
    measure(`scan text (${sandboxes} bodies)`, runs, inBytes, samples, () => {
      for (const b of bodies) sink += scanBody(b, scanOptions).samples;
    }),
  );
  rows.push(
    measure(`parse text → model (${sandboxes} bodies)`, runs, inBytes, samples, () => {
      for (const b of bodies) sink += parseFamilies(b).length;
    }),
  );
  const textBytes = Buffer.byteLength(encodeText(merged));
  rows.push(
    measure('encode text → bytes', runs, textBytes, samples, () => {
      sink += Buffer.from(encodeText(merged)).length;
    }),
  );
  const omBytes = Buffer.byteLength(encodeOpenMetrics(merged));
  rows.push(
    measure('encode openmetrics → bytes', runs, omBytes, samples, () => {
      sink += Buffer.from(encodeOpenMetrics(merged)).length;
    }),
  );
  const pbBytes = encodeProtobufDelimited(merged).length;
  rows.push(
    measure('encode protobuf', runs, pbBytes, samples, () => {
      sink += encodeProtobufDelimited(merged).length;
    }),
  );
  if (sink < 0) console.log(sink);
  return rows;
}

export function formatBenchTable(rows: readonly BenchRow[]): string {
  const header = ['', 'MB', 'samples', 'median ms', 'MB/s', 'samples/s'];
  const body = rows.map((r) => [
    r.name,
    (r.bytes / 1e6).toFixed(2),
    String(r.samples),
    r.medianMs.toFixed(1),
    r.mbPerSec.toFixed(0),
    `${(r.samplesPerSec / 1e6).toFixed(2)} M`,
  ]);
  const all = [header, ...body];
  const widths = header.map((_, c) => Math.max(...all.map((row) => (row[c] as string).length)));
  return all
    .map((row) => row.map((cell, c) => (c === 0 ? cell.padEnd(widths[c] as number) : cell.padStart(widths[c] as number))).join('  '))
    .join('\n');
}

if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  const sandboxes = Number(process.argv[2] ?? 100);
  const runs = Number(process.argv[3] ?? 9);
  const rows = await runExpositionBench({ sandboxes, runs });
  console.log(formatBenchTable(rows));
}
