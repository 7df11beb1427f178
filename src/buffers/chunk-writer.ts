// Answers are written into recycled 64 KiB buffers: a 17 MB /metrics body
// reuses a few of them instead of allocating 17 MB per request.

import type { ChunkPool } from './chunk-pool.ts';
import { keepHiddenClass } from './hidden-class.ts';

/** Appends into pool buffers; full ones collect in `done` until drained. */
export class ChunkWriter {
  readonly #pool: ChunkPool;
  #buf: Buffer;
  /** Write position in the current buffer (callers advance it after reserve()). */
  offset = 0;
  #done: Buffer[] = [];

  constructor(pool: ChunkPool) {
    this.#pool = pool;
    this.#buf = pool.take();
    keepHiddenClass(this);
  }

  /** The current buffer, with at least `n` bytes free from `offset`. */
  reserve(n: number): Buffer {
    if (this.offset + n <= this.#buf.length) return this.#buf;
    if (this.offset > 0) this.#done.push(this.#buf.subarray(0, this.offset));
    else this.#pool.give(this.#buf);
    // A line longer than a pool buffer (huge label values) gets its own.
    this.#buf = n <= this.#pool.size ? this.#pool.take() : Buffer.allocUnsafe(n);
    this.offset = 0;
    return this.#buf;
  }

  bytes(b: Buffer): void {
    let s = 0;
    while (s < b.length) {
      const room = this.#buf.length - this.offset;
      if (room === 0) {
        this.reserve(Math.min(b.length - s, this.#pool.size));
        continue;
      }
      const n = Math.min(room, b.length - s);
      b.copy(this.#buf, this.offset, s, s + n);
      this.offset += n;
      s += n;
    }
  }

  /** Whether a buffer is full, for drain(). */
  get filled(): boolean {
    return this.#done.length > 0;
  }

  /** Buffers filled so far (ownership passes to the caller). */
  drain(): Buffer[] {
    const d = this.#done;
    this.#done = [];
    return d;
  }

  /** Everything, including the partly filled buffer. */
  finish(): Buffer[] {
    if (this.offset > 0) this.#done.push(this.#buf.subarray(0, this.offset));
    else this.#pool.give(this.#buf);
    this.offset = 0;
    return this.drain();
  }
}
