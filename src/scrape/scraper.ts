// The fan-out: every registered sandbox's shim is asked for /metrics, at most
// `concurrency` at a time, each bounded by the shim timeout and size cap. A
// failure stays with its sandbox. Callers arriving while a fan-out is in
// flight join it, so N concurrent readers cost each shim one request.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxEntry, SandboxRegistry } from '../discovery/registry.ts';
import type { ShimConfig } from '../shim/client.ts';
import type { Logger } from '../log/logger.ts';
import { shimGet, ShimError } from '../shim/client.ts';
import { shimSocketsFor } from '../shim/socket-path.ts';
import { ScanError, scanBody, type ScanLimits } from '../exposition/scan.ts';
import { releaseBody } from '../shim/body-collector.ts';
import { nudgeGc, releaseSnapshot } from './lifetime.ts';
import { shimPrefix } from './relabel.ts';
import type { SandboxScrape, ScrapeFailure, Snapshot, SnapshotSource } from './snapshot.ts';

export interface ScraperOptions {
  readonly registry: SandboxRegistry;
  /** Sandbox roots in lookup order (Go runtime first). */
  readonly roots: readonly string[];
  readonly shim: ShimConfig;
  /** What one sandbox's body may bring (guest-controlled data). */
  readonly limits: ScanLimits;
  readonly logger: Logger;
  /** Called once per finished fan-out with its outcome (no data): self-metrics, status page. */
  readonly onSnapshot?: (snapshot: Snapshot) => void;
}

/** One fan-out and who reads it. */
interface FanOut {
  readonly result: Promise<Snapshot>;
  /** Readers (read()) not yet done with the snapshot. */
  readers: number;
}

export class Scraper implements SnapshotSource {
  readonly #opts: ScraperOptions;
  #inflight: FanOut | undefined;
  #latest: Snapshot | undefined;
  /** Fan-outs actually run (joined callers do not count). */
  fanouts = 0;
  #lastStartedAt = 0;
  #idle: NodeJS.Timeout | undefined;

  constructor(opts: ScraperOptions) {
    this.#opts = opts;
  }

  latest(): Snapshot | undefined {
    return this.#latest;
  }

  async read<T>(reader: (snapshot: Snapshot) => Promise<T> | T, reason: Snapshot['reason'] = 'metrics request'): Promise<T> {
    const fanOut = this.#join(reason);
    fanOut.readers++;
    let snapshot: Snapshot | undefined;
    try {
      snapshot = await fanOut.result;
      return await reader(snapshot);
    } finally {
      // The last reader frees the snapshot (lifetime.ts); a fan-out still
      // open to joiners is left alone.
      if (--fanOut.readers === 0 && this.#inflight !== fanOut && snapshot) releaseSnapshot(snapshot);
    }
  }

  /**
   * Scrapes on its own when no fan-out started within `intervalMs` (no
   * Prometheus, no pipeline yet), so that scrape health stays current.
   */
  startIdleLoop(intervalMs: number): void {
    this.stopIdleLoop();
    // The first one an interval after start, as any later one: discovery and CRI have had their time.
    const since = Math.max(this.#lastStartedAt, Date.now());
    const tick = (): void => {
      const wait = Math.max(this.#lastStartedAt, since) + intervalMs - Date.now();
      if (wait <= 0) void this.read(() => undefined, 'idle').catch(() => undefined);
      this.#idle = setTimeout(tick, wait > 0 ? wait : intervalMs).unref();
    };
    this.#idle = setTimeout(tick, intervalMs).unref();
  }

  stopIdleLoop(): void {
    clearTimeout(this.#idle);
    this.#idle = undefined;
  }

  #join(reason: Snapshot['reason']): FanOut {
    if (this.#inflight) return this.#inflight;
    this.#lastStartedAt = Date.now();
    const fanOut: FanOut = {
      result: this.#run(reason).finally(() => {
        if (this.#inflight === fanOut) this.#inflight = undefined;
      }),
      readers: 0,
    };
    this.#inflight = fanOut;
    return fanOut;
  }

  async #run(reason: Snapshot['reason']): Promise<Snapshot> {
    this.fanouts++;
    const { registry, shim } = this.#opts;
    const startedAt = Date.now();
    const entries = registry.list();
    const results = await mapLimit(entries, shim.concurrency, (entry) => this.#guarded(entry));
    // A sandbox removed while we asked it is gone: do not report it (upstream
    // likewise skips sandboxes that left the cache).
    const sandboxes = results.filter((r): r is SandboxScrape => r !== undefined && registry.has(r.sandbox.id));
    const snapshot: Snapshot = { startedAt, finishedAt: Date.now(), reason, sandboxes };
    // Also nudged here, not only when the readers are done: the GC then runs
    // while this fan-out's answers are written, before the next one fills
    // the heap again (peak RSS at 300 sandboxes: 139-150 MiB with this
    // nudge, 151-153 without, `npm run bench`).
    if (this.#latest) nudgeGc();
    // What is kept between fan-outs is the per-sandbox outcome, not the data:
    // the bodies and their index live only as long as the readers of this
    // snapshot (read() frees them when the last one is done).
    this.#latest = { ...snapshot, sandboxes: snapshot.sandboxes.map(({ scan: _s, ...outcome }) => outcome) };
    this.#opts.onSnapshot?.(this.#latest);
    return snapshot;
  }

  /**
   * Defence in depth: the shim client's own deadline settles every exchange,
   * but should it ever fail to, this timer (a little above the shim timeout)
   * settles the sandbox as 'timeout' so one sandbox can never stall the
   * fan-out, and every /metrics reader joined to it. Undefined: the sandbox went away.
   */
  #guarded(entry: SandboxEntry): Promise<SandboxScrape | undefined> {
    const { shim, logger } = this.#opts;
    const t0 = performance.now();
    const done = (fields: Partial<SandboxScrape>): SandboxScrape => ({
      sandbox: entry,
      durationMs: performance.now() - t0,
      at: Date.now(),
      sampleCount: 0,
      ...fields,
    });
    const limitMs = shim.timeoutMs + Math.max(100, Math.ceil(shim.timeoutMs / 10));
    let timer: NodeJS.Timeout | undefined;
    const backstop = new Promise<SandboxScrape>((resolve) => {
      timer = setTimeout(() => {
        const failure: ScrapeFailure = { kind: 'timeout', message: `sandbox ${entry.id}: scrape did not settle within ${limitMs} ms (shim timeout ${shim.timeoutMs} ms)` };
        if (this.#opts.registry.has(entry.id)) {
          logger.warn('failed to get metrics for sandbox', { sandbox_id: entry.id, reason: failure.kind, error: failure.message });
        }
        resolve(done({ error: failure }));
      }, limitMs);
    });
    return Promise.race([this.#scrapeOne(entry, done), backstop]).finally(() => clearTimeout(timer));
  }

  async #scrapeOne(entry: SandboxEntry, done: (fields: Partial<SandboxScrape>) => SandboxScrape): Promise<SandboxScrape | undefined> {
    const { roots, shim, logger } = this.#opts;
    let failure: ScrapeFailure;
    let body: Buffer | undefined;
    try {
      const candidates = shimSocketsFor(entry, roots);
      body = (await shimGet(candidates, '/metrics', { timeoutMs: shim.timeoutMs, maxBytes: shim.maxBodyBytes })).body;
      const scan = scanBody(body, { limits: this.#opts.limits, prefix: shimPrefix });
      // A body Go would rewrite is indexed in its rewritten form: the one read off the socket can go now.
      if (scan.body !== body) releaseBody(body);
      return done({ scan, sampleCount: scan.samples });
    } catch (err) {
      if (body) releaseBody(body);
      if (err instanceof ShimError) failure = { kind: err.kind, message: err.message };
      else if (err instanceof ScanError) failure = { kind: err.reason, message: err.reason === 'malformed' ? `malformed metrics body: ${err.message}` : `over a scrape limit: ${err.message}` };
      else failure = { kind: 'connect', message: err instanceof Error ? err.message : String(err) };
    }
    const result = done({ error: failure });
    // A sandbox being removed fails first (its shim exits) and leaves the
    // registry a moment later, when discovery sees the directory go. Only on
    // failure, one stat tells the two apart: no error for a sandbox that left.
    if (!this.#opts.registry.has(entry.id) || !(await isDirectory(join(entry.root, entry.id)))) {
      logger.debug('sandbox went away during its scrape', { sandbox_id: entry.id, reason: failure.kind });
      return undefined;
    }
    logger.warn('failed to get metrics for sandbox', { sandbox_id: entry.id, reason: failure.kind, error: failure.message });
    return result;
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** Runs `fn` over `items` with at most `limit` in flight; results keep input order. */
async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return results;
}
