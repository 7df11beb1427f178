// The fan-out: every registered sandbox's shim is asked for /metrics, at most
// `concurrency` at a time, each bounded by the shim timeout and size cap. A
// failure stays with its sandbox. Callers arriving while a fan-out is in
// flight join it, so N concurrent readers cost each shim one request.

import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { SandboxEntry, SandboxRegistry } from '../discovery/registry.ts';
import type { ShimConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { shimGet, ShimError } from '../shim/client.ts';
import { shimSocketCandidates } from '../shim/socket-path.ts';
import { mapLimit } from './map-limit.ts';
import { nudgeGc } from './gc-nudge.ts';
import { relabelShimBody, RelabelError, sandboxLabelText, releaseIndex } from './relabel.ts';
import { releaseBody } from '../shim/body-collector.ts';
import type { SandboxScrape, ScrapeFailure, Snapshot, SnapshotSource } from './snapshot.ts';

export interface ScraperOptions {
  readonly registry: SandboxRegistry;
  /** Sandbox roots in lookup order (Go runtime first). */
  readonly roots: readonly string[];
  readonly shim: ShimConfig;
  readonly logger: Logger;
  /** Called once per finished fan-out with its outcome (no data): self-metrics, status page. */
  readonly onSnapshot?: (snapshot: Snapshot) => void;
}

/** One fan-out and who reads it. */
interface FanOut {
  readonly result: Promise<Snapshot>;
  /** Readers (read()) not yet done with the snapshot. */
  readers: number;
  /** Handed out by scrape(), whose callers never say when they are done: left to the GC. */
  pinned: boolean;
}

export class Scraper implements SnapshotSource {
  readonly #opts: ScraperOptions;
  #inflight: FanOut | undefined;
  #latest: Snapshot | undefined;
  /** Failed scrapes of sandboxes whose directory was gone by then: removed, not broken. */
  readonly #gone = new WeakSet<SandboxScrape>();
  /** Fan-outs actually run (joined callers do not count). */
  fanouts = 0;

  constructor(opts: ScraperOptions) {
    this.#opts = opts;
  }

  latest(): Snapshot | undefined {
    return this.#latest;
  }

  scrape(): Promise<Snapshot> {
    const fanOut = this.#join();
    fanOut.pinned = true;
    return fanOut.result;
  }

  async read<T>(reader: (snapshot: Snapshot) => Promise<T> | T): Promise<T> {
    const fanOut = this.#join();
    fanOut.readers++;
    let snapshot: Snapshot | undefined;
    try {
      snapshot = await fanOut.result;
      return await reader(snapshot);
    } finally {
      // The last reader frees the bodies and their index at once, rather
      // than leaving them to the next major GC: back-to-back scrapes then
      // reuse that memory instead of growing the heap by a second snapshot.
      // A fan-out still open to joiners is left alone. What the readers left
      // on the V8 heap (answers written, a push translated) goes at the
      // major GC nudged for here.
      if (--fanOut.readers === 0 && !fanOut.pinned && this.#inflight !== fanOut && snapshot) {
        releaseSnapshotData(snapshot);
        nudgeGc();
      }
    }
  }

  #join(): FanOut {
    if (this.#inflight) return this.#inflight;
    const fanOut: FanOut = {
      result: this.#run().finally(() => {
        if (this.#inflight === fanOut) this.#inflight = undefined;
      }),
      readers: 0,
      pinned: false,
    };
    this.#inflight = fanOut;
    return fanOut;
  }

  async #run(): Promise<Snapshot> {
    this.fanouts++;
    const { registry, shim } = this.#opts;
    const startedAt = Date.now();
    const entries = registry.list();
    const results = await mapLimit(entries, shim.concurrency, (entry) => this.#guarded(entry));
    // A sandbox removed while we asked it is gone: do not report it (upstream
    // likewise skips sandboxes that left the cache).
    const sandboxes = results.filter((r) => registry.has(r.sandbox.id) && !this.#gone.has(r));
    const snapshot: Snapshot = { startedAt, finishedAt: Date.now(), sandboxes };
    // Also nudged here, not only when the readers are done: the GC then runs
    // while this fan-out's answers are written, before the next one fills
    // the heap again (peak RSS at 300 sandboxes: 139-150 MiB with this
    // nudge, 151-153 without, `npm run bench`).
    if (this.#latest) nudgeGc();
    // What is kept between fan-outs is the per-sandbox outcome, not the data:
    // the bodies and their index live only as long as the readers of this
    // snapshot (read() frees them when the last one is done).
    this.#latest = { ...snapshot, sandboxes: snapshot.sandboxes.map(({ index: _i, body: _b, ...outcome }) => outcome) };
    this.#opts.onSnapshot?.(this.#latest);
    return snapshot;
  }

  /**
   * Defence in depth: the shim client's own deadline settles every exchange,
   * but should it ever fail to, this timer (a little above the shim timeout)
   * settles the sandbox as 'timeout' so one sandbox can never stall the
   * fan-out, and every /metrics reader joined to it.
   */
  #guarded(entry: SandboxEntry): Promise<SandboxScrape> {
    const { shim, logger } = this.#opts;
    const t0 = performance.now();
    const limitMs = shim.timeoutMs + Math.max(100, Math.ceil(shim.timeoutMs / 10));
    let timer: NodeJS.Timeout | undefined;
    const backstop = new Promise<SandboxScrape>((resolve) => {
      timer = setTimeout(() => {
        const failure: ScrapeFailure = { kind: 'timeout', message: `sandbox ${entry.id}: scrape did not settle within ${limitMs} ms (shim timeout ${shim.timeoutMs} ms)` };
        if (this.#opts.registry.has(entry.id)) {
          logger.warn('failed to get metrics for sandbox', { sandbox_id: entry.id, reason: failure.kind, error: failure.message });
        }
        resolve({ sandbox: entry, durationMs: performance.now() - t0, at: Date.now(), sampleCount: 0, error: failure });
      }, limitMs);
    });
    return Promise.race([this.#scrapeOne(entry), backstop]).finally(() => clearTimeout(timer));
  }

  async #scrapeOne(entry: SandboxEntry): Promise<SandboxScrape> {
    const { roots, shim, logger } = this.#opts;
    const t0 = performance.now();
    const done = (fields: Partial<SandboxScrape>): SandboxScrape => ({
      sandbox: entry,
      durationMs: performance.now() - t0,
      at: Date.now(),
      sampleCount: 0,
      ...fields,
    });
    let failure: ScrapeFailure;
    try {
      const candidates = shimSocketCandidates(entry.id, prioritise(roots, entry.root));
      const res = await shimGet(candidates, '/metrics', { timeoutMs: shim.timeoutMs, maxBytes: shim.maxBodyBytes });
      if (res.status !== 200) {
        failure = { kind: 'status', message: `shim ${res.socketPath} answered HTTP ${res.status}` };
      } else {
        const body = res.body;
        const { index, sampleCount } = relabelShimBody(body, sandboxLabelText(entry.id, entry.metadata));
        return done({ body, index, sampleCount });
      }
    } catch (err) {
      if (err instanceof ShimError) failure = { kind: err.kind, message: err.message };
      else if (err instanceof RelabelError) failure = { kind: 'malformed', message: `malformed metrics body: ${err.message}` };
      else failure = { kind: 'connect', message: err instanceof Error ? err.message : String(err) };
    }
    const result = done({ error: failure });
    // A sandbox being removed fails first (its shim exits) and leaves the
    // registry a moment later, when discovery sees the directory go. Only on
    // failure, one stat tells the two apart: no error for a sandbox that left.
    if (!this.#opts.registry.has(entry.id) || !(await isDirectory(join(entry.root, entry.id)))) {
      this.#gone.add(result);
      logger.debug('sandbox went away during its scrape', { sandbox_id: entry.id, reason: failure.kind });
      return result;
    }
    logger.warn('failed to get metrics for sandbox', { sandbox_id: entry.id, reason: failure.kind, error: failure.message });
    return result;
  }
}

/**
 * Frees what a snapshot's sandboxes hold (bodies, index) now. Nothing may
 * read them afterwards: they read as empty.
 */
function releaseSnapshotData(snapshot: Snapshot): void {
  for (const sb of snapshot.sandboxes) {
    if (sb.index) releaseIndex(sb.index);
    if (sb.body) releaseBody(sb.body);
  }
}

async function isDirectory(p: string): Promise<boolean> {
  try {
    return (await stat(p)).isDirectory();
  } catch {
    return false;
  }
}

/** The sandbox's own root first, then the others in configured order. */
function prioritise(roots: readonly string[], first: string): readonly string[] {
  return roots[0] === first ? roots : [first, ...roots.filter((r) => r !== first)];
}
