// The daemon's own families, named and helped as upstream's Go registry
// writes them (kata_monitor_*), plus per-sandbox scrape health, which upstream
// lacks. Upstream gathers its registry sorted by name and then prefixes the
// Go/process collectors with kata_monitor_, so process families come last.

import { readFileSync, readdirSync } from 'node:fs';
import type { Label, Metric, MetricFamily } from '../exposition/model.ts';
import { packageVersion } from '../package-info.ts';
import { sandboxLabels } from './relabel.ts';
import type { SandboxScrape, ScrapeErrorKind, Snapshot } from './snapshot.ts';

/** Upstream: prometheus.ExponentialBuckets(1, 2, 10). */
const SCRAPE_DURATION_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512] as const;

export class SelfMetrics {
  scrapeCount = 0;
  scrapeFailedCount = 0;
  readonly #bucketCounts = new Array<number>(SCRAPE_DURATION_BUCKETS.length).fill(0);
  #durationCount = 0;
  #durationSum = 0;
  /** Failed scrapes per sandbox and cause; a sandbox's counts go when it leaves. */
  readonly #errors = new Map<string, Map<ScrapeErrorKind, number>>();
  #snapshot: Snapshot | undefined;
  /** Extra families from other stages (e.g. the OTLP queues), appended in name order. */
  readonly #extra: (() => readonly MetricFamily[])[] = [];

  /** Upstream observes whole milliseconds (integer division). */
  observeRequestDuration(ms: number): void {
    const v = Math.floor(ms);
    for (let i = 0; i < SCRAPE_DURATION_BUCKETS.length; i++) if (v <= SCRAPE_DURATION_BUCKETS[i]!) this.#bucketCounts[i]!++;
    this.#durationCount++;
    this.#durationSum += v;
  }

  /** Records a finished fan-out: failed sandboxes count as failed scrapes. */
  recordSnapshot(snapshot: Snapshot): void {
    this.#snapshot = snapshot;
    for (const sb of snapshot.sandboxes) {
      if (!sb.error) continue;
      this.scrapeFailedCount++;
      let kinds = this.#errors.get(sb.sandbox.id);
      if (!kinds) this.#errors.set(sb.sandbox.id, (kinds = new Map()));
      kinds.set(sb.error.kind, (kinds.get(sb.error.kind) ?? 0) + 1);
    }
    const present = new Set(snapshot.sandboxes.map((sb) => sb.sandbox.id));
    for (const id of this.#errors.keys()) if (!present.has(id)) this.#errors.delete(id);
  }

  addSource(source: () => readonly MetricFamily[]): void {
    this.#extra.push(source);
  }

  families(): MetricFamily[] {
    const own: MetricFamily[] = [
      BUILD_INFO,
      gauge('kata_monitor_running_shim_count', 'Running shim count(running sandboxes).', this.#snapshot?.sandboxes.length ?? 0),
      counter('kata_monitor_scrape_count', 'Scape count.', this.scrapeCount),
      {
        name: 'kata_monitor_scrape_durations_histogram_milliseconds',
        help: 'Time used to scrape from shims',
        type: 'histogram',
        metrics: [
          {
            kind: 'histogram',
            labels: [],
            buckets: SCRAPE_DURATION_BUCKETS.map((b, i) => ({ upperBound: b, cumulativeCount: this.#bucketCounts[i]! })),
            sum: this.#durationSum,
            count: this.#durationCount,
          },
        ],
      },
      counter('kata_monitor_scrape_failed_count', 'Failed scape count.', this.scrapeFailedCount),
      ...this.#sandboxHealth(),
    ];
    for (const src of this.#extra) own.push(...src());
    own.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    return [...own, ...processFamilies()];
  }

  #sandboxHealth(): MetricFamily[] {
    const sandboxes = this.#snapshot?.sandboxes ?? [];
    if (sandboxes.length === 0) return [];
    // The sandbox families' four labels, so that an alert on a failing scrape names the pod.
    const labels = sandboxes.map((sb) => sandboxLabels(sb.sandbox.id, sb.sandbox.metadata));
    const perSandbox = (name: string, help: string, value: (sb: SandboxScrape) => number): MetricFamily => ({
      name,
      help,
      type: 'gauge',
      metrics: sandboxes.map((sb, i) => scalar(labels[i]!, value(sb))),
    });
    const errors: Metric[] = [];
    for (const [i, sb] of sandboxes.entries()) {
      const kinds = this.#errors.get(sb.sandbox.id);
      if (!kinds) continue;
      for (const [kind, n] of [...kinds].sort(([a], [b]) => (a < b ? -1 : 1))) errors.push(scalar([...labels[i]!, { name: 'reason', value: kind }], n));
    }
    const out: MetricFamily[] = [];
    if (errors.length > 0) out.push({ name: 'kata_monitor_sandbox_scrape_errors_count', help: 'Failed scrapes of the sandbox by cause.', type: 'counter', metrics: errors });
    out.push(
      perSandbox('kata_monitor_sandbox_scrape_duration_seconds', 'Duration of the last metrics request to the sandbox shim.', (sb) => sb.durationMs / 1000),
      perSandbox('kata_monitor_sandbox_scrape_samples', 'Samples the sandbox shim returned in the last scrape.', (sb) => sb.sampleCount),
      perSandbox('kata_monitor_sandbox_scrape_up', '1 if the last metrics request to the sandbox shim succeeded, 0 otherwise.', (sb) => (sb.error ? 0 : 1)),
    );
    return out;
  }
}

// Constant 1, the build in its labels: `* on() group_left(version) kata_monitor_build_info` shows which version runs where.
const BUILD_INFO: MetricFamily = {
  name: 'kata_monitor_build_info',
  help: 'A metric with a constant 1 value labeled by the version of kata-monitor and of Node.js it runs on.',
  type: 'gauge',
  metrics: [scalar([{ name: 'version', value: packageVersion() }, { name: 'nodejs_version', value: process.versions.node }], 1)],
};

function scalar(labels: Label[], value: number): Metric {
  return { kind: 'scalar', labels, value };
}

/** A one-series gauge family. */
export function gauge(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: 'gauge', metrics: [scalar([], value)] };
}

function counter(name: string, help: string, value: number): MetricFamily {
  return { name, help, type: 'counter', metrics: [scalar([], value)] };
}

// USER_HZ: 100 on every Linux architecture Kata runs on.
const CLOCK_TICKS = 100;
let bootTime: number | undefined;

/** Go's process collector, as kata_monitor_process_*; Linux /proc, silently partial elsewhere. */
function processFamilies(): MetricFamily[] {
  const cpu = process.cpuUsage();
  const out = [counter('kata_monitor_process_cpu_seconds_total', 'Total user and system CPU time spent in seconds.', (cpu.user + cpu.system) / 1e6)];
  const maxFds = orUndefined(readMaxFds);
  if (maxFds !== undefined) out.push(gauge('kata_monitor_process_max_fds', 'Maximum number of open file descriptors.', maxFds));
  const fds = orUndefined(() => readdirSync('/proc/self/fd').length);
  if (fds !== undefined) out.push(gauge('kata_monitor_process_open_fds', 'Number of open file descriptors.', fds));
  out.push(gauge('kata_monitor_process_resident_memory_bytes', 'Resident memory size in bytes.', process.memoryUsage.rss()));
  const stat = orUndefined(readStat);
  if (stat) bootTime ??= orUndefined(readBootTime);
  const start = stat && bootTime !== undefined ? bootTime + stat.startTicks / CLOCK_TICKS : undefined;
  out.push(
    gauge(
      'kata_monitor_process_start_time_seconds',
      'Start time of the process since unix epoch in seconds.',
      start ?? Math.round((Date.now() / 1000 - process.uptime()) * 100) / 100,
    ),
  );
  if (stat) out.push(gauge('kata_monitor_process_virtual_memory_bytes', 'Virtual memory size in bytes.', stat.vsize));
  return out;
}

/** The /proc reads: undefined where they fail (not Linux, no /proc). */
function orUndefined<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

function readStat(): { vsize: number; startTicks: number } {
  const s = readFileSync('/proc/self/stat', 'utf8');
  // Fields after the parenthesised command name, which may itself hold spaces.
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return { startTicks: Number(f[19]), vsize: Number(f[20]) };
}

function readBootTime(): number | undefined {
  const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
  return m ? Number(m[1]) : undefined;
}

function readMaxFds(): number | undefined {
  const m = /^Max open files\s+(\d+|unlimited)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
  if (!m) return undefined;
  return m[1] === 'unlimited' ? Infinity : Number(m[1]);
}
