// Snapshots built from the shim fixtures: plain data shaped like the
// scraper's output (SandboxScrape with the raw body and the registry entry).

import { readFileSync } from 'node:fs';
import type { CriMetadata, SandboxEntry } from '../../../src/discovery/registry.ts';
import type { SandboxScrape, Snapshot } from '../../../src/scrape/snapshot.ts';
import { relabelShimBody, sandboxLabelText } from '../../../src/scrape/relabel.ts';

const here = new URL('../../fixtures/', import.meta.url);
export const BODY_A = readFileSync(new URL('shim-metrics-a.prom', here), 'utf8');
export const BODY_B = readFileSync(new URL('shim-metrics-b.prom', here), 'utf8');

export interface FakeSandbox {
  readonly id: string;
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

export function snapshot(at: number, sandboxes: readonly FakeSandbox[]): Snapshot {
  const scrapes = sandboxes.map((s): SandboxScrape => {
    const sandbox = sandboxEntry(s.id, s.metadata);
    if (s.body === undefined) return { sandbox, durationMs: 1, at, sampleCount: 0, error: { kind: 'connect', message: 'refused' } };
    const body = Buffer.from(s.body);
    // As the scraper does: the index, or why there is none.
    try {
      const { index, sampleCount } = relabelShimBody(body, sandboxLabelText(s.id, sandbox.metadata));
      return { sandbox, durationMs: 1, at, body, index, sampleCount };
    } catch (e) {
      return { sandbox, durationMs: 1, at, body, sampleCount: 0, error: { kind: 'malformed', message: e instanceof Error ? e.message : String(e) } };
    }
  });
  return { startedAt: at - 1, finishedAt: at, sandboxes: scrapes };
}

/** A body with every sample value scaled, so that sandboxes differ. */
export function scaledBody(body: string, factor: number): string {
  return body.replace(/^([^#\s][^\s]*(?:\{[^}]*\})?) (\S+)$/gm, (line, series: string, value: string) => {
    const v = Number(value);
    return Number.isFinite(v) ? `${series} ${v * factor}` : line;
  });
}
