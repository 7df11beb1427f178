// Families of the same name from several sandboxes become one family: one
// HELP/TYPE (the first sandbox's, in id order) followed by every sandbox's
// samples. Families are sorted by name, sandboxes by id, so two scrapes of the
// same state give the same bytes (upstream's order follows a Go map: random).

import type { MetricType } from '../exposition/model.ts';
import type { Snapshot } from './snapshot.ts';
import { ChunkPool } from '../buffers/chunk-pool.ts';
import { ChunkWriter } from './chunk-writer.ts';
import { writeSampleLines, type FamilyHead, type IndexedBody } from './relabel.ts';


export interface MergedFamily {
  readonly name: string;
  readonly type: MetricType;
  /** The first sandbox's HELP/TYPE lines. */
  readonly head: FamilyHead;
  /** The snapshot's indexed bodies, shared by every family of one merge. */
  readonly srcs: readonly IndexedBody[];
  /** Sample runs, sandbox after sandbox, as (index into srcs, from, to) triples. */
  readonly parts: readonly number[];
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
  const srcs: IndexedBody[] = [];
  const byName = new Map<string, { name: string; type: MetricType; head: FamilyHead; srcs: IndexedBody[]; parts: number[]; sampleCount: number }>();
  const conflicts: { family: string; sandboxId: string; type: MetricType; expected: MetricType }[] = [];
  for (const sb of snapshot.sandboxes) {
    const src = sb.index;
    if (!src) continue;
    const s = srcs.length;
    srcs.push(src);
    const { heads, runs } = src;
    for (let j = 0; j < runs.length; j += 3) {
      const head = heads[runs[j]!]!;
      const from = runs[j + 1]!;
      const to = runs[j + 2]!;
      const m = byName.get(head.name);
      if (!m) {
        byName.set(head.name, { name: head.name, type: head.type, head, srcs, parts: [s, from, to], sampleCount: to - from });
      } else if (m.type !== head.type) {
        // Go's encoder would refuse the mixed family and cut the response short.
        // Reported once per family and sandbox, however many runs it has.
        const last = conflicts[conflicts.length - 1];
        if (!last || last.family !== head.name || last.sandboxId !== sb.sandbox.id) conflicts.push({ family: head.name, sandboxId: sb.sandbox.id, type: head.type, expected: m.type });
      } else {
        m.parts.push(s, from, to);
        m.sampleCount += to - from;
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
    w.bytes(f.head.header);
    const { parts, srcs } = f;
    for (let j = 0; j < parts.length; j += 3) {
      writeSampleLines(srcs[parts[j]!]!, parts[j + 1]!, parts[j + 2]!, f.head.prefixed, w);
      yield* w.drain();
    }
  }
  yield* w.finish();
}
