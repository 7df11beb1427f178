import type { SandboxEntry } from '../discovery/registry.ts';
import type { IndexedBody } from './relabel.ts';

/** Why one sandbox's scrape failed; `kind` is stable for metrics and tests. */
export type ScrapeErrorKind =
  | 'no-socket' // neither <root>/<id>/shim-monitor.sock exists, or it is not a socket
  | 'connect' // the socket refused or reset the connection
  | 'timeout' // no complete answer within the shim timeout
  | 'too-large' // the body passed the size cap
  | 'closed' // the shim closed the connection mid-body
  | 'status' // a non-200 answer
  | 'malformed'; // the body is not Prometheus text

export interface ScrapeFailure {
  readonly kind: ScrapeErrorKind;
  readonly message: string;
}

export interface SandboxScrape {
  readonly sandbox: SandboxEntry;
  readonly durationMs: number;
  /** ms since epoch at which the scrape finished. */
  readonly at: number;
  /** The shim's body, untouched (the OTel path parses it; the index points into it). */
  readonly body?: Buffer;
  /** Present when the scrape succeeded: the body's families and where their samples sit. */
  readonly index?: IndexedBody;
  readonly sampleCount: number;
  readonly error?: ScrapeFailure;
}

export interface Snapshot {
  readonly startedAt: number;
  readonly finishedAt: number;
  /** Sorted by sandbox id. */
  readonly sandboxes: readonly SandboxScrape[];
}

/**
 * Where readers (the /metrics route, the OTel push loop) get snapshots from.
 * `scrape()` joins a fan-out already in flight instead of starting another,
 * so concurrent readers cost the shims one request each.
 */
export interface SnapshotSource {
  /** A snapshot for callers that keep it as long as they like (the GC frees it). */
  scrape(): Promise<Snapshot>;
  /**
   * Runs `reader` on a snapshot (joining a fan-out in flight). The scraped
   * data (bodies and their index) is freed as soon as the last reader
   * returns, so `reader` must copy whatever it keeps beyond its return.
   */
  read<T>(reader: (snapshot: Snapshot) => Promise<T> | T): Promise<T>;
  /** The outcome of the last completed fan-out (durations, counts, errors), without the scraped data. */
  latest(): Snapshot | undefined;
}
