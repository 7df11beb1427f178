// The fan-out: every registered sandbox's shim is asked for /metrics, at most
// `concurrency` at a time, each bounded by the shim timeout and size cap. A
// failure stays with its sandbox. Callers arriving while a fan-out is in
// flight join it, so N concurrent readers cost each shim one request.

import type { SandboxEntry, SandboxRegistry } from '../discovery/registry.ts';
import type { ShimConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import { shimGet, ShimError } from '../shim/client.ts';
import { shimSocketCandidates } from '../shim/socket-path.ts';
import { mapLimit } from './map-limit.ts';
import { relabelShimBody, RelabelError, sandboxLabelText } from './relabel.ts';
import type { SandboxScrape, ScrapeFailure, Snapshot, SnapshotSource } from './snapshot.ts';

export interface ScraperOptions {
  readonly registry: SandboxRegistry;
  /** Sandbox roots in lookup order (Go runtime first). */
  readonly roots: readonly string[];
  readonly shim: ShimConfig;
  readonly logger: Logger;
  /** Keep each shim's raw body in the snapshot (the OTel path parses it). */
  readonly keepBodies?: boolean;
  /** Called once per finished fan-out (self-metrics, status page). */
  readonly onSnapshot?: (snapshot: Snapshot) => void;
}

export class Scraper implements SnapshotSource {
  readonly #opts: ScraperOptions;
  #inflight: Promise<Snapshot> | undefined;
  #latest: Snapshot | undefined;
  /** Fan-outs actually run (joined callers do not count). */
  fanouts = 0;

  constructor(opts: ScraperOptions) {
    this.#opts = opts;
  }

  latest(): Snapshot | undefined {
    return this.#latest;
  }

  scrape(): Promise<Snapshot> {
    this.#inflight ??= this.#run().finally(() => {
      this.#inflight = undefined;
    });
    return this.#inflight;
  }

  async #run(): Promise<Snapshot> {
    this.fanouts++;
    const { registry, shim } = this.#opts;
    const startedAt = Date.now();
    const entries = registry.list();
    const results = await mapLimit(entries, shim.concurrency, (entry) => this.#scrapeOne(entry));
    // A sandbox removed while we asked it is gone: do not report it (upstream
    // likewise skips sandboxes that left the cache).
    const sandboxes = results.filter((r) => registry.has(r.sandbox.id));
    const snapshot: Snapshot = { startedAt, finishedAt: Date.now(), sandboxes };
    this.#latest = snapshot;
    this.#opts.onSnapshot?.(snapshot);
    return snapshot;
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
        const { families, sampleCount } = relabelShimBody(body, sandboxLabelText(entry.id, entry.metadata));
        return done(this.#opts.keepBodies ? { body, families, sampleCount } : { families, sampleCount });
      }
    } catch (err) {
      if (err instanceof ShimError) failure = { kind: err.kind, message: err.message };
      else if (err instanceof RelabelError) failure = { kind: 'malformed', message: `malformed metrics body: ${err.message}` };
      else failure = { kind: 'connect', message: err instanceof Error ? err.message : String(err) };
    }
    if (this.#opts.registry.has(entry.id)) {
      logger.warn('failed to get metrics for sandbox', { sandbox_id: entry.id, reason: failure.kind, error: failure.message });
    }
    return done({ error: failure });
  }
}

/** The sandbox's own root first, then the others in configured order. */
function prioritise(roots: readonly string[], first: string): readonly string[] {
  return roots[0] === first ? roots : [first, ...roots.filter((r) => r !== first)];
}
