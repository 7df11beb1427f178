// A shim body assembled from the reads of its socket, which arrive in one
// buffer shared by every exchange (client.ts): copied at once into recycled
// 64 KiB pieces, and at the end into one Buffer of exactly the body's size.
// One allocation per body instead of one per read plus the concatenation, so
// the reads no longer leave the allocator's heap riddled with holes that
// outlive the scrape (peak RSS, `npm run bench` at 300 sandboxes).

import { ChunkPool } from '../buffers/chunk-pool.ts';
import { freeNow } from '../buffers/free-now.ts';
import { keepHiddenClass } from '../buffers/hidden-class.ts';

/** Enough pieces for the default fan-out of 32 shims with ~70 kB bodies in flight; more are allocated and dropped. */
const pieces = new ChunkPool(64 * 1024, 64);

/** Bodies built here: only these are ever released (freed early) by releaseBody. */
const owned = new WeakSet<ArrayBufferLike>();

/**
 * Frees a body from BodyCollector#finish now, without waiting for the GC
 * (the memory is reused by the next scrape at once). The Buffer reads as
 * empty afterwards. Any other Buffer is left alone.
 */
export function releaseBody(body: Buffer): void {
  if (!owned.delete(body.buffer)) return;
  freeNow(body.buffer);
}

export class BodyCollector {
  readonly #pieces: Buffer[] = [];
  /** Bytes in the last piece. */
  #fill = 0;
  size = 0;

  constructor() {
    keepHiddenClass(this);
  }

  /** Copies `bytes` (a view that is only valid during this call). */
  append(bytes: Uint8Array): void {
    let s = 0;
    while (s < bytes.length) {
      let last = this.#pieces[this.#pieces.length - 1];
      if (!last || this.#fill === last.length) {
        last = pieces.take();
        this.#pieces.push(last);
        this.#fill = 0;
      }
      const n = Math.min(last.length - this.#fill, bytes.length - s);
      last.set(bytes.subarray(s, s + n), this.#fill);
      this.#fill += n;
      s += n;
    }
    this.size += bytes.length;
  }

  /** The body in a Buffer of its own; the collector is empty afterwards. */
  finish(): Buffer {
    const out = Buffer.allocUnsafeSlow(this.size);
    owned.add(out.buffer);
    let at = 0;
    for (let i = 0; i < this.#pieces.length; i++) {
      const p = this.#pieces[i]!;
      const n = i === this.#pieces.length - 1 ? this.#fill : p.length;
      p.copy(out, at, 0, n);
      at += n;
    }
    this.release();
    return out;
  }

  /** Gives the pieces back without building the body (a failed exchange). */
  release(): void {
    for (const p of this.#pieces) pieces.give(p);
    this.#pieces.length = 0;
    this.#fill = 0;
    this.size = 0;
  }
}
