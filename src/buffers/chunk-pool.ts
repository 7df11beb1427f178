// Fixed-size buffers handed out and taken back, so that hot paths which need
// scratch memory by the MiB (answers being written, shim bodies being read)
// reuse a few buffers instead of asking the allocator for new ones each time.

/** Recycles fixed-size (64 KiB by default) buffers. A buffer must be given back once, and not used after. */
export class ChunkPool {
  readonly size: number;
  readonly #free: Buffer[] = [];
  readonly #max: number;
  /**
   * The memory this pool handed out. Only that comes back: a look at sizes
   * alone would also take in Node's own 64 KiB Buffer slab (Buffer.poolSize
   * on Node 24) behind a small Buffer.from(), and hand memory that other
   * Buffers still use to the next writer.
   */
  readonly #mine = new WeakSet<ArrayBufferLike>();
  constructor(size = 64 * 1024, max = 24) {
    this.size = size;
    this.#max = max;
  }
  take(): Buffer {
    const reused = this.#free.pop();
    if (reused) return reused;
    const b = Buffer.allocUnsafeSlow(this.size);
    this.#mine.add(b.buffer);
    return b;
  }
  /** Takes back a buffer from take(), or a view of one (a final short chunk); ignores anything else. */
  give(b: Buffer): void {
    if (!this.#mine.has(b.buffer) || this.#free.length >= this.#max) return;
    this.#free.push(Buffer.from(b.buffer, 0, this.size));
  }
}
