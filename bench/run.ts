// `npm run bench`: the daemon's /metrics figures against upstream's (issue #6),
// then the exposition and OTLP hot paths. Targets are printed beside the
// figures; nothing here is a pass/fail test (these machines are noisy).
// `npm run bench -- 100` runs only the listed sandbox counts;
// `npm run bench -- steady [N]` only the steady-state run (BENCH_STEADY_SECONDS, default 120).

import { benchDaemon, benchSteady, type DaemonBenchRow } from './daemon.ts';

const UPSTREAM: Record<number, { plain: string; gzip: string; cpu: string; rss: string }> = {
  1: { plain: '5.8', gzip: '6.9', cpu: '3.3', rss: '15' },
  10: { plain: '28–32', gzip: '31–37', cpu: '—', rss: '21' },
  100: { plain: '228–257', gzip: '278–296', cpu: '362', rss: '100–107' },
  300: { plain: '710–735', gzip: '800–834', cpu: '—', rss: '287–318' },
};
const TARGET: Record<number, { plain?: number; gzip?: number; cpu?: number; rss?: number }> = {
  100: { plain: 115, gzip: 140, cpu: 180 },
  300: { plain: 360, rss: 150 },
};

const args = process.argv.slice(2);
const steadyOnly = args.includes('steady');
const counts = args.map(Number).filter((n) => n > 0);
const sizes = steadyOnly ? [] : counts.length > 0 ? counts : [1, 10, 100, 300];

const rows: DaemonBenchRow[] = [];
for (const n of sizes) {
  process.stderr.write(`benchmarking ${n} sandbox(es)…\n`);
  rows.push(await benchDaemon(n));
}

const f = (v: number, d = 1): string => v.toFixed(d);
const mark = (v: number, target: number | undefined): string => (target === undefined ? '' : v <= target ? ` ✓≤${target}` : ` ✗>${target}`);
console.log('\n## GET /metrics (daemon in its own process; 1 warm-up + 10 sequential requests; ms)\n');
console.log('| sandboxes | wall plain (median/max) | wall gzip (median/max) | CPU per scrape | idle RSS (anon) MiB | peak RSS MiB | body plain / gzip | /sandboxes during scrape | labels | upstream plain / gzip / CPU / RSS |');
console.log('|---|---|---|---|---|---|---|---|---|---|');
for (const r of rows) {
  const t = TARGET[r.sandboxes] ?? {};
  const u = UPSTREAM[r.sandboxes];
  console.log(
    `| ${r.sandboxes} | ${f(r.wallPlainMedian)} / ${f(r.wallPlainMax)}${mark(r.wallPlainMedian, t.plain)} | ${f(r.wallGzipMedian)} / ${f(r.wallGzipMax)}${mark(r.wallGzipMedian, t.gzip)} | ` +
      `${f(r.cpuPerScrapeMs)}${mark(r.cpuPerScrapeMs, t.cpu)} | ${f(r.idleRssMiB)}${mark(r.idleRssMiB, 60)} (${f(r.idleAnonMiB)}) | ${f(r.peakRssMiB)}${mark(r.peakRssMiB, t.rss)} | ` +
      `${(r.bytesPlain / 1e6).toFixed(2)} MB / ${(r.bytesGzip / 1e6).toFixed(2)} MB | ${f(r.sandboxesDuringScrapeMs)}${mark(r.sandboxesDuringScrapeMs, 50)} | ${r.labelledOk ? 'all labelled' : 'MISSING'} | ` +
      `${u ? `${u.plain} / ${u.gzip} / ${u.cpu} / ${u.rss}` : ''} |`,
  );
}

if (counts.length === 0 && !steadyOnly) {
  const { runExpositionBench, formatBenchTable } = await import('./exposition.ts');
  console.log('\n## Exposition: fixtures scaled to 100 sandboxes\n');
  console.log(formatBenchTable(await runExpositionBench({ sandboxes: 100 })));

  const { benchOtel } = await import('./otel.ts');
  const o = await benchOtel(100, 10);
  console.log(`\n## OTLP push at 100 sandboxes (${o.dataPoints} data points, requests of ≤ 8,192; median of 10; the scan of the bodies, at scrape time: ${f(o.scanMs)} ms)\n`);
  console.log('| form | CPU | wall | requests | bytes | target |');
  console.log('|---|---|---|---|---|---|');
  for (const s of o.sinks) {
    const target = s.name.startsWith('points') ? undefined : 75;
    console.log(`| ${s.name} | ${f(s.cpuMs)} ms${mark(s.cpuMs, target)} | ${f(s.wallMs)} ms | ${s.requests} | ${s.bytes > 0 ? `${(s.bytes / 1e6).toFixed(2)} MB` : ''} | ${target === undefined ? '' : '≤ 75 ms CPU (the protobuf push before the rewrite: 38–75)'} |`);
  }
}

if (steadyOnly || counts.length === 0) {
  const n = steadyOnly && counts.length > 0 ? counts[0]! : 300;
  const seconds = Number(process.env.BENCH_STEADY_SECONDS ?? 120);
  process.stderr.write(`steady state: ${n} sandboxes for ${seconds} s…\n`);
  const s = await benchSteady(n, seconds);
  console.log(`\n## Steady state as deployed (DaemonSet NODE_OPTIONS, GET /metrics gzip every 15 s, OTLP push every 30 s; ${f(s.seconds, 0)} s)\n`);
  console.log('| sandboxes | scrapes | OTLP requests delivered | CPU (average) | peak RSS | DaemonSet limits |');
  console.log('|---|---|---|---|---|---|');
  console.log(`| ${s.sandboxes} | ${s.scrapes} | ${s.pushes} | ${f(s.millicores, 0)} m${mark(s.millicores, 200)} | ${f(s.peakRssMiB)} MiB${mark(s.peakRssMiB, 300)} | 200m, 300Mi |`);
}
