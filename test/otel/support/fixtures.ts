// Snapshots built from the shim fixtures: plain data shaped like the
// scraper's output (a SandboxScrape with the scanned body, or the reason
// there is none, and the registry entry), scanned as the scraper scans.

import type { CriMetadata, SandboxEntry } from '../../../src/discovery/registry.ts';
import { ScanError, scanBody } from '../../../src/exposition/scan.ts';
import { RECEIVER_DEFAULTS } from '../../../src/receiver/config.ts';
import { shimPrefix } from '../../../src/scrape/relabel.ts';
import type { SandboxScrape, Snapshot, SnapshotSource } from '../../../src/scrape/snapshot.ts';
import { fixture } from '../../support/fixtures.ts';

export const BODY_A = fixture('shim-metrics-a.prom').toString();
export const BODY_B = fixture('shim-metrics-b.prom').toString();

export interface FakeSandbox {
  readonly id: string;
  /** Undefined: the shim did not answer. */
  readonly body?: string;
  readonly metadata?: CriMetadata;
}

export function sandboxEntry(id: string, metadata?: CriMetadata): SandboxEntry {
  return {
    id,
    root: '/run/vc/sbs',
    metadata: metadata ?? { uid: '', name: '', namespace: '' },
    metadataKnown: metadata !== undefined,
    discoveredAt: 0,
  };
}

/** One sandbox's scrape as the scraper makes it: the scan (with the default limits), or why there is none. */
export function scrapeOf(s: FakeSandbox, at: number): SandboxScrape {
  const sandbox = sandboxEntry(s.id, s.metadata);
  if (s.body === undefined) return { sandbox, durationMs: 1, at, sampleCount: 0, error: { kind: 'connect', message: 'refused' } };
  try {
    const scan = scanBody(Buffer.from(s.body), { limits: RECEIVER_DEFAULTS.limits, prefix: shimPrefix });
    return { sandbox, durationMs: 1, at, scan, sampleCount: scan.samples };
  } catch (e) {
    if (!(e instanceof ScanError)) throw e;
    return { sandbox, durationMs: 1, at, sampleCount: 0, error: { kind: e.reason, message: `malformed metrics body: ${e.message}` } };
  }
}

export function snapshot(at: number, sandboxes: readonly FakeSandbox[]): Snapshot {
  return { startedAt: at - 1, finishedAt: at, reason: 'push', sandboxes: sandboxes.map((s) => scrapeOf(s, at)) };
}

/** A SnapshotSource over `make`: a fresh snapshot per read, reads counted with their reason. */
export function fakeSource(make: () => Snapshot): SnapshotSource & { reads: string[] } {
  let last: Snapshot | undefined;
  const reads: string[] = [];
  return {
    reads,
    read: async <T>(reader: (s: Snapshot) => Promise<T> | T, reason: Snapshot['reason'] = 'metrics request'): Promise<T> => {
      reads.push(reason);
      last = make();
      return reader(last);
    },
    latest: () => last,
  };
}

/** A body with every sample value scaled, so that sandboxes differ. */
export function scaledBody(body: string, factor: number): string {
  return body.replace(/^([^#\s][^\s]*(?:\{[^}]*\})?) (\S+)$/gm, (line, series: string, value: string) => {
    const v = Number(value);
    return Number.isFinite(v) ? `${series} ${v * factor}` : line;
  });
}
