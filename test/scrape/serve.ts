// The /metrics hot path without sockets, for the specs of test/scrape: each
// sandbox's body scanned as the scraper scans it (scanBody with the shim
// prefix), merged into a snapshot and written by familyChunks, as the
// /metrics route writes it.

import type { CriMetadata } from '../../src/discovery/registry.ts';
import { ChunkPool } from '../../src/buffers/chunk-pool.ts';
import { scanBody, type ScanLimits } from '../../src/exposition/scan.ts';
import { familyChunks, mergeSnapshot } from '../../src/scrape/merge.ts';
import { shimPrefix } from '../../src/scrape/relabel.ts';
import type { SandboxScrape, Snapshot } from '../../src/scrape/snapshot.ts';

export interface ServedSandbox {
  readonly id: string;
  readonly meta: CriMetadata;
  readonly body: Buffer | string;
}

export const NO_META: CriMetadata = { uid: '', name: '', namespace: '' };

/** A snapshot of these sandboxes (sorted by id, as the scraper sorts them), each body scanned. */
export function snapshotOf(sandboxes: readonly ServedSandbox[], limits?: ScanLimits): Snapshot {
  const scrapes: SandboxScrape[] = [...sandboxes]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((sb) => {
      const scan = scanBody(typeof sb.body === 'string' ? Buffer.from(sb.body) : sb.body, { prefix: shimPrefix, ...(limits && { limits }) });
      const sandbox = { id: sb.id, root: '/run/vc/sbs', metadata: sb.meta, metadataKnown: true, discoveredAt: 0 };
      return { sandbox, durationMs: 1, at: 0, scan, sampleCount: scan.samples };
    });
  return { startedAt: 0, finishedAt: 0, reason: 'metrics request', sandboxes: scrapes };
}

/** What /metrics writes for these sandboxes (their families only), as bytes. */
export function servedBytes(sandboxes: readonly ServedSandbox[]): Buffer {
  return Buffer.concat([...familyChunks(mergeSnapshot(snapshotOf(sandboxes)).families, new ChunkPool(4096))]);
}

/** What /metrics writes for these sandboxes, as text. */
export function served(sandboxes: readonly ServedSandbox[]): string {
  return servedBytes(sandboxes).toString('utf8');
}

/** What /metrics writes for one body of sandbox `S` (no CRI metadata yet). */
export function servedOne(body: Buffer | string): string {
  return served([{ id: 'S', meta: NO_META, body }]);
}

/** The four labels kata-monitor appends for sandbox `S` without CRI metadata, as written. */
export const S = 'sandbox_id="S",cri_uid="",cri_name="",cri_namespace=""';
