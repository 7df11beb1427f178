// Families of the same name from several sandboxes become one family: one
// HELP/TYPE (the first sandbox's, in id order) followed by every sandbox's
// samples. Families are sorted by name, sandboxes by id, so two scrapes of the
// same state give the same bytes (upstream's order follows a Go map: random).

import type { MetricType } from '../exposition/model.ts';
import type { Snapshot } from './snapshot.ts';

export interface MergedFamily {
  readonly name: string;
  readonly type: MetricType;
  readonly header: Buffer;
  /** Sample blocks, sandbox after sandbox, each ending in "\n". */
  readonly parts: readonly Buffer[];
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
  const byName = new Map<string, { name: string; type: MetricType; header: Buffer; parts: Buffer[]; sampleCount: number }>();
  const conflicts: { family: string; sandboxId: string; type: MetricType; expected: MetricType }[] = [];
  for (const sb of snapshot.sandboxes) {
    if (!sb.families) continue;
    for (const f of sb.families) {
      const m = byName.get(f.name);
      if (!m) {
        byName.set(f.name, { name: f.name, type: f.type, header: f.header, parts: [...f.chunks], sampleCount: f.sampleCount });
      } else if (m.type !== f.type) {
        // Go's encoder would refuse the mixed family and cut the response short.
        conflicts.push({ family: f.name, sandboxId: sb.sandbox.id, type: f.type, expected: m.type });
      } else {
        m.parts.push(...f.chunks);
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

/** Recycles the 64 KiB buffers /metrics answers are packed into. */
export class ChunkPool {
  readonly size: number;
  readonly #free: Buffer[] = [];
  readonly #max: number;
  constructor(size = 64 * 1024, max = 16) {
    this.size = size;
    this.#max = max;
  }
  take(): Buffer {
    return this.#free.pop() ?? Buffer.allocUnsafeSlow(this.size);
  }
  give(b: Buffer): void {
    // Only whole pool buffers come back (a final short chunk is a view of one).
    const whole = b.byteOffset === 0 && b.buffer.byteLength === this.size ? Buffer.from(b.buffer, 0, this.size) : undefined;
    if (whole && this.#free.length < this.#max) this.#free.push(whole);
  }
}

/**
 * The bytes of the given families, packed into pool chunks (one copy; a
 * write per 7,000 small views would cost more than the copy).
 */
export function* familyChunks(families: readonly MergedFamily[], pool: ChunkPool = new ChunkPool()): Generator<Buffer> {
  const size = pool.size;
  let buf = pool.take();
  let o = 0;
  for (const f of families) {
    for (const part of [f.header, ...f.parts]) {
      let s = 0;
      while (s < part.length) {
        const n = Math.min(part.length - s, size - o);
        part.copy(buf, o, s, s + n);
        o += n;
        s += n;
        if (o === size) {
          yield buf;
          buf = pool.take();
          o = 0;
        }
      }
    }
  }
  if (o > 0) yield buf.subarray(0, o);
  else pool.give(buf);
}
