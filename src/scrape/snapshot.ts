import type { SandboxEntry } from '../discovery/registry.ts';
import type { ScanFailure, ScannedBody } from '../exposition/scan.ts';
import type { ShimErrorKind } from '../shim/client.ts';

/** Why one sandbox's scrape failed; stable for metrics and tests (a shim failure, a malformed body, a limit passed). */
export type ScrapeErrorKind = ShimErrorKind | ScanFailure;

export interface ScrapeFailure {
  readonly kind: ScrapeErrorKind;
  readonly message: string;
}

export interface SandboxScrape {
  readonly sandbox: SandboxEntry;
  readonly durationMs: number;
  /** ms since epoch at which the scrape finished. */
  readonly at: number;
  /** Present when the scrape succeeded: the body (as Go would write it) and where its samples are. */
  readonly scan?: ScannedBody;
  readonly sampleCount: number;
  readonly error?: ScrapeFailure;
}

export interface Snapshot {
  readonly startedAt: number;
  readonly finishedAt: number;
  /** What started the fan-out: a /metrics request, a push, the idle loop, a one-shot command. */
  readonly reason: 'metrics request' | 'push' | 'idle' | 'command';
  /** Sorted by sandbox id. */
  readonly sandboxes: readonly SandboxScrape[];
}

/**
 * Where readers (the /metrics route, the OTel push loop) get snapshots from:
 * a fan-out already in flight is joined instead of starting another, so
 * concurrent readers cost the shims one request each.
 */
export interface SnapshotSource {
  /**
   * Runs `reader` on a snapshot (joining a fan-out in flight). The scraped
   * data (bodies and their index) is freed as soon as the last reader
   * returns, so `reader` must copy whatever it keeps beyond its return.
   */
  read<T>(reader: (snapshot: Snapshot) => Promise<T> | T, reason?: Snapshot['reason']): Promise<T>;
  /** The outcome of the last completed fan-out (durations, counts, errors), without the scraped data. */
  latest(): Snapshot | undefined;
}
