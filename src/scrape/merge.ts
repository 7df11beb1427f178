// Families of the same name from several sandboxes become one family: one
// HELP/TYPE (the first sandbox's, in id order) followed by every sandbox's
// samples. Families are sorted by name, sandboxes by id, so two scrapes of the
// same state give the same bytes (upstream's order follows a Go map: random).

import type { MetricType } from '../exposition/model.ts';
import type { SampleLines, Snapshot } from './snapshot.ts';
import { ChunkPool } from '../buffers/chunk-pool.ts';
import { ChunkWriter } from './chunk-writer.ts';
import { writeSampleLines } from './relabel.ts';

export { ChunkPool } from '../buffers/chunk-pool.ts';

export interface MergedFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly header: Buffer;
  /** Sample runs, sandbox after sandbox. */
  readonly parts: readonly SampleLines[];
  readonly sampleCount: number;
}

export interface MergeResult {
  readonly families: readonly MergedFamily[];
  /** Families dropped from a sandbox because their TYPE disagreed with the first sandbox's. */
  readonly conflicts: readonly { readonly family: string; readonly sandboxId: string; readonly type: MetricType; readonly expected: MetricType }[];
}

const cache = new WeakMap<Snapshot, MergeResult>();

export function mergeSnapshot(snapshot: Snapshot): MergeResult {
  const hit = cache.get(snapshot);
  if (hit) return hit;
  const byName = new Map<string, { name: string; type: MetricType; header: Buffer; parts: SampleLines[]; sampleCount: number }>();
  const conflicts: { family: string; sandboxId: string; type: MetricType; expected: MetricType }[] = [];
  for (const sb of snapshot.sandboxes) {
    if (!sb.families) continue;
    for (const f of sb.families) {
      const m = byName.get(f.name);
      if (!m) {
        byName.set(f.name, { name: f.name, type: f.type, header: f.header, parts: [...f.lines], sampleCount: f.sampleCount });
      } else if (m.type !== f.type) {
        // Go's encoder would refuse the mixed family and cut the response short.
        conflicts.push({ family: f.name, sandboxId: sb.sandbox.id, type: f.type, expected: m.type });
      } else {
        m.parts.push(...f.lines);
        m.sampleCount += f.sampleCount;
      }
    }
  }
  const families = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const result: MergeResult = { families, conflicts };
  cache.set(snapshot, result);
  return result;
}

/**
 * Families selected by `filter_family` prefixes (upstream: strings.HasPrefix
 * per comma-separated entry). Each family is written once even when several
 * prefixes match it: upstream would repeat it, which Prometheus rejects.
 */
export function selectFamilies(families: readonly MergedFamily[], prefixes: readonly string[] | undefined): readonly MergedFamily[] {
  if (!prefixes || prefixes.length === 0) return families;
  return families.filter((f) => prefixes.some((p) => f.name.startsWith(p)));
}

/** The relabelled text of the given families, in pool buffers (give them back when sent). */
export function* familyChunks(families: readonly MergedFamily[], pool: ChunkPool = new ChunkPool()): Generator<Buffer> {
  const w = new ChunkWriter(pool);
  for (const f of families) {
    w.bytes(f.header);
    for (const part of f.parts) {
      writeSampleLines(part, w);
      yield* w.drain();
    }
  }
  yield* w.finish();
}
