// Families of the same name from several sandboxes become one family: one
// HELP/TYPE (the first sandbox's, in id order) followed by every sandbox's
// samples. Families are sorted by name, sandboxes by id, so two scrapes of the
// same state give the same bytes (upstream's order follows a Go map: random).

import type { MetricType } from '../exposition/model.ts';
import type { FamilyHead, ScannedBody } from '../exposition/scan.ts';
import { writeSamples } from '../exposition/samples.ts';
import { ChunkPool } from '../buffers/chunk-pool.ts';
import { ChunkWriter } from '../buffers/chunk-writer.ts';
import { sandboxLabelText } from './relabel.ts';
import type { Snapshot } from './snapshot.ts';

/** One sandbox's body in a merge: its scan, and the labels its samples get. */
export interface MergeSource {
  readonly scan: ScannedBody;
  /** sandboxLabelText() of the sandbox. */
  readonly labels: Buffer;
}

export interface MergedFamily {
  /** The first sandbox's HELP/TYPE lines. */
  readonly head: FamilyHead;
  /** The snapshot's sources, shared by every family of one merge. */
  readonly srcs: readonly MergeSource[];
  /** Sample runs, sandbox after sandbox, as (index into srcs, index into its heads, from, to). */
  readonly parts: Int32Array;
}

export interface MergeResult {
  readonly families: readonly MergedFamily[];
  /** Families dropped from a sandbox because their TYPE disagreed with the first sandbox's. */
  readonly conflicts: readonly { readonly family: string; readonly sandboxId: string; readonly type: MetricType; readonly expected: MetricType }[];
}

const cache = new WeakMap<Snapshot, MergeResult>();
const EMPTY = new Int32Array(0);

export function mergeSnapshot(snapshot: Snapshot): MergeResult {
  const hit = cache.get(snapshot);
  if (hit) return hit;
  const srcs: MergeSource[] = [];
  // Two passes, counting the runs of each family, then placing them: each family's parts are allocated once, at their size.
  const byName = new Map<string, { head: FamilyHead; srcs: MergeSource[]; parts: Int32Array; at: number }>();
  const conflicts: { family: string; sandboxId: string; type: MetricType; expected: MetricType }[] = [];
  for (const sb of snapshot.sandboxes) {
    const scan = sb.scan;
    if (!scan) continue;
    srcs.push({ scan, labels: sandboxLabelText(sb.sandbox.id, sb.sandbox.metadata) });
    const { heads, runs } = scan;
    for (let j = 0; j < runs.length; j += 3) {
      const head = heads[runs[j]!]!;
      const m = byName.get(head.name);
      if (!m) {
        byName.set(head.name, { head, srcs, parts: EMPTY, at: 4 });
      } else if (m.head.type !== head.type) {
        // Go's encoder would refuse the mixed family and cut the response short.
        // Reported once per family and sandbox, however many runs it has.
        const last = conflicts[conflicts.length - 1];
        if (!last || last.family !== head.name || last.sandboxId !== sb.sandbox.id) conflicts.push({ family: head.name, sandboxId: sb.sandbox.id, type: head.type, expected: m.head.type });
      } else {
        m.at += 4;
      }
    }
  }
  for (const m of byName.values()) {
    m.parts = new Int32Array(m.at);
    m.at = 0;
  }
  for (let s = 0; s < srcs.length; s++) {
    const { heads, runs } = srcs[s]!.scan;
    for (let j = 0; j < runs.length; j += 3) {
      const k = runs[j]!;
      const m = byName.get(heads[k]!.name)!;
      if (m.head.type !== heads[k]!.type) continue;
      const { parts, at } = m;
      parts[at] = s;
      parts[at + 1] = k;
      parts[at + 2] = runs[j + 1]!;
      parts[at + 3] = runs[j + 2]!;
      m.at = at + 4;
    }
  }
  const families = [...byName.values()].sort((a, b) => (a.head.name < b.head.name ? -1 : a.head.name > b.head.name ? 1 : 0));
  const result: MergeResult = { families, conflicts };
  cache.set(snapshot, result);
  return result;
}

/** The relabelled text of the given families, in pool buffers (give them back when sent). */
export function* familyChunks(families: readonly MergedFamily[], pool: ChunkPool = new ChunkPool()): Generator<Buffer> {
  const w = new ChunkWriter(pool);
  for (const f of families) {
    w.bytes(f.head.header);
    const { parts, srcs } = f;
    for (let j = 0; j < parts.length; j += 4) {
      const src = srcs[parts[j]!]!;
      // Each run with its own head's prefix: go_x renamed kata_shim_go_x merges with a kata_shim_go_x written as such.
      writeSamples(src.scan, parts[j + 2]!, parts[j + 3]!, src.scan.heads[parts[j + 1]!]!.prefix, src.labels, w);
      if (w.filled) yield* w.drain();
    }
  }
  yield* w.finish();
}
