// The sending queue and retry of one exporter, as the collector's
// exporterhelper does them, in front of its transport: batches wait here
// while the backend is down and go out in order once it is back. One request
// at a time (a slow or hanging backend never accumulates sockets),
// exponential backoff between failed attempts, and every loss counted by
// reason. Where batches are kept is the store's business: memory, or disk
// (extensions/file_storage), which outlives the process.

import { silentLogger, type Logger } from '../../../log/logger.ts';
import type { Encoding, OtlpRequest } from '../../requests.ts';
import type { PartialSuccess } from './answers.ts';
import type { QueueConfig, RetryConfig, Sizer } from './config.ts';

/** How a queue keeps its batches: the form its transport sends. */
export interface QueueForm {
  readonly encoding: Encoding;
  readonly gzip: boolean;
}

export interface Payload extends QueueForm {
  readonly bytes: Uint8Array;
}

/** One batch in a queue: what it counts for, and its bytes. */
export interface QueuedBatch {
  readonly points: number;
  readonly bytes: number;
  /** Settles once the batch is stored (on disk for a persistent store); it is not sent before. */
  readonly stored: Promise<void>;
  payload(): Promise<Payload>;
  /** The batch is done with (delivered or dropped): a persistent store deletes it. */
  discard(): void;
}

export interface BatchStore {
  /** The bytes a request's batch would take, in the form the transport sends (the `bytes` sizer's weight). */
  sizeOf(request: OtlpRequest): number;
  /** The batch of one request, in the form the transport sends. */
  add(request: OtlpRequest): QueuedBatch;
  /** Settles once every batch added so far is stored, and every discarded one gone (a persistent store). */
  flush?(): Promise<void>;
  /** What a previous run left, oldest first (a persistent store). */
  restore(): Promise<readonly QueuedBatch[]>;
  /** Whether what is left at shutdown survives it (then it is not counted as lost). */
  readonly persistent: boolean;
  /** Stored batches found unreadable and set aside. */
  readonly corrupt: number;
}

export type SendResult =
  | { readonly kind: 'ok'; readonly partial?: PartialSuccess }
  /** Worth trying again later: the backend is down, overloaded or slow. */
  | { readonly kind: 'retryable'; readonly error: string; readonly retryAfterMs?: number }
  /** The backend refused this data: retrying would not help. */
  | { readonly kind: 'permanent'; readonly error: string };

/** One attempt: exactly one request to the backend. */
export interface Transport {
  send(payload: Payload): Promise<SendResult>;
  /** Cuts what is on the wire and refuses new requests. */
  close(): void;
}

export type DropReason = 'overflow' | 'rejected' | 'expired' | 'retry_disabled' | 'shutdown' | 'storage';
export const DROP_REASONS: readonly DropReason[] = ['overflow', 'rejected', 'expired', 'retry_disabled', 'shutdown', 'storage'];

export interface QueueStatus {
  /** Batches waiting, the one in flight included. */
  readonly depth: number;
  readonly queuedPoints: number;
  readonly queuedBytes: number;
  /** What the queue holds, in the sizer's unit. */
  readonly used: number;
  /** In the sizer's unit. */
  readonly capacity: number;
  readonly sizer: Sizer;
  readonly persistent: boolean;
  readonly inFlight: boolean;
  readonly sentBatches: number;
  readonly sentPoints: number;
  readonly failedSends: number;
  /** Data points the backend said it rejected in answers that otherwise succeeded (partial success). */
  readonly rejectedPoints: number;
  /** Stored batches found unreadable (persistent queues), set aside and not sent. */
  readonly corruptBatches: number;
  readonly droppedBatches: Readonly<Record<DropReason, number>>;
  readonly droppedPoints: Readonly<Record<DropReason, number>>;
  /** ms since epoch */
  readonly lastSuccessAt?: number;
  readonly lastError?: string;
  readonly lastErrorAt?: number;
  readonly consecutiveFailures: number;
  readonly nextRetryAt?: number;
}

export interface ExportQueueOptions {
  readonly queue: QueueConfig;
  readonly retry: RetryConfig;
  readonly store: BatchStore;
  readonly transport: Transport;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** Overrides retry.randomizationFactor (tests use 0). */
  readonly jitter?: number;
}

interface Item {
  readonly batch: QueuedBatch;
  firstAttemptAt: number | undefined;
}

export class ExportQueue {
  readonly capacity: number;
  readonly #opts: ExportQueueOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #items: Item[] = [];
  readonly #sizer: Sizer;
  #used = 0;
  #inFlight: Item | undefined;
  /** Ends the attempt in flight without waiting for its answer (shutdown). */
  #abandon: ((r: SendResult) => void) | undefined;
  #pumping = false;
  #pumped: Promise<void> = Promise.resolve();
  #closed = false;
  #failures = 0;
  #wake: (() => void) | undefined;
  #nextRetryAt: number | undefined;
  readonly #stats = {
    sentBatches: 0,
    sentPoints: 0,
    failedSends: 0,
    rejectedPoints: 0,
    droppedBatches: zeroes(),
    droppedPoints: zeroes(),
    lastSuccessAt: undefined as number | undefined,
    lastError: undefined as string | undefined,
    lastErrorAt: undefined as number | undefined,
  };

  constructor(options: ExportQueueOptions) {
    this.#opts = options;
    this.#log = options.logger ?? silentLogger;
    this.#now = options.now ?? Date.now;
    // Without a queue there is still the batch being sent (or retried), whatever its size.
    this.#sizer = options.queue.enabled ? options.queue.sizer : 'requests';
    this.capacity = options.queue.enabled ? Math.max(1, options.queue.size) : 1;
  }

  /** Takes in what a persistent store kept from a previous run, oldest first, within the bound. */
  async restore(): Promise<void> {
    for (const batch of await this.#opts.store.restore()) {
      const weight = this.#weight(batch);
      if (this.#makeRoom(weight, 'restored')) this.#push(batch, weight);
      else this.#drop(batch, 'overflow');
    }
  }

  /**
   * Queues one request; false if it was the one dropped (the queue is full,
   * or shut down). Room is made before the request is stored: a persistent
   * queue never holds more than its bound on disk, not even for a moment.
   */
  enqueue(request: OtlpRequest): boolean {
    if (this.#closed) {
      this.#dropCounted(request.points, 'shutdown');
      return false;
    }
    const weight = this.#sizer === 'items' ? request.points : this.#sizer === 'bytes' ? this.#opts.store.sizeOf(request) : 1;
    if (!this.#makeRoom(weight, 'new')) {
      this.#dropCounted(request.points, 'overflow');
      return false;
    }
    this.#push(this.#opts.store.add(request), weight);
    return true;
  }

  /** Drops what has to go for `weight` more to fit; false when the newcomer is the one to go. */
  #makeRoom(weight: number, from: 'new' | 'restored'): boolean {
    // A batch larger than the whole queue could never be held: it goes, not the others.
    if (weight > this.capacity) return false;
    while (this.#used + weight > this.capacity) {
      // The batch on the wire is never pulled back; "oldest" means the oldest still waiting.
      const victim = this.#opts.queue.dropPolicy === 'oldest' || from === 'restored' ? this.#items.findIndex((i) => i !== this.#inFlight) : -1;
      if (victim < 0) return false;
      const [old] = this.#items.splice(victim, 1);
      this.#used -= this.#weight(old!.batch);
      this.#drop(old!.batch, 'overflow');
    }
    return true;
  }

  #push(batch: QueuedBatch, weight: number): void {
    this.#items.push({ batch, firstAttemptAt: undefined });
    this.#used += weight;
    if (!this.#pumping) {
      this.#pumping = true;
      this.#pumped = this.#pump();
    }
  }

  /** What a batch counts for against the capacity. */
  #weight(batch: QueuedBatch): number {
    return this.#sizer === 'items' ? batch.points : this.#sizer === 'bytes' ? batch.bytes : 1;
  }

  status(): QueueStatus {
    const s = this.#stats;
    let points = 0;
    let bytes = 0;
    let used = 0;
    for (const i of this.#items) {
      points += i.batch.points;
      bytes += i.batch.bytes;
      used += this.#weight(i.batch);
    }
    return {
      depth: this.#items.length,
      queuedPoints: points,
      queuedBytes: bytes,
      used,
      capacity: this.capacity,
      sizer: this.#sizer,
      persistent: this.#opts.store.persistent,
      inFlight: this.#inFlight !== undefined,
      sentBatches: s.sentBatches,
      sentPoints: s.sentPoints,
      failedSends: s.failedSends,
      rejectedPoints: s.rejectedPoints,
      corruptBatches: this.#opts.store.corrupt,
      droppedBatches: { ...s.droppedBatches },
      droppedPoints: { ...s.droppedPoints },
      consecutiveFailures: this.#failures,
      ...(s.lastSuccessAt !== undefined && { lastSuccessAt: s.lastSuccessAt }),
      ...(s.lastError !== undefined && { lastError: s.lastError }),
      ...(s.lastErrorAt !== undefined && { lastErrorAt: s.lastErrorAt }),
      ...(this.#nextRetryAt !== undefined && { nextRetryAt: this.#nextRetryAt }),
    };
  }

  /** Tries to deliver everything queued within `withinMs` (a pending backoff is cut short); true when the queue emptied. */
  async forceFlush(withinMs: number): Promise<boolean> {
    if (this.#items.length === 0) return true;
    this.#wake?.();
    let timer: NodeJS.Timeout | undefined;
    // Batches waiting means a pump is running; it ends once none is left (sent, dropped, or left at shutdown).
    const idle = this.#pumped.then(() => true);
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, withinMs));
    });
    const ok = await Promise.race([idle, late]);
    clearTimeout(timer);
    return ok;
  }

  /**
   * Flushes within `withinMs`, then stops. What is left is dropped and
   * counted as `shutdown` (the batch on the wire too: its answer is not
   * waited for), unless the store persists it for the next run. A
   * persistent queue whose backend is failing does not wait: what it holds
   * is on disk and goes out after the restart (the collector's persistent
   * queue does not drain at shutdown either).
   */
  async shutdown(withinMs: number): Promise<boolean> {
    const store = this.#opts.store;
    const ok = store.persistent && this.#failures > 0 ? true : await this.forceFlush(withinMs);
    this.#closed = true;
    this.#wake?.();
    for (const item of this.#items.splice(0)) if (item !== this.#inFlight) this.#leave(item.batch);
    this.#abandon?.({ kind: 'retryable', error: 'shut down with the request on the wire' });
    await this.#pumped;
    this.#opts.transport.close();
    // Every batch handed to a persistent store is on disk before the process may exit.
    await store.flush?.();
    return ok;
  }

  /** A batch left behind at shutdown: kept on disk by a persistent store, else lost. */
  #leave(batch: QueuedBatch): void {
    if (!this.#opts.store.persistent) this.#drop(batch, 'shutdown');
  }

  #drop(batch: QueuedBatch, reason: DropReason): void {
    batch.discard();
    this.#dropCounted(batch.points, reason);
  }

  #dropCounted(points: number, reason: DropReason): void {
    this.#stats.droppedBatches[reason]++;
    this.#stats.droppedPoints[reason] += points;
    this.#log.warn('OTLP batch dropped', { reason, points, queued: this.#items.length });
  }

  #remove(item: Item): void {
    const i = this.#items.indexOf(item);
    if (i >= 0) {
      this.#items.splice(i, 1);
      this.#used -= this.#weight(item.batch);
    }
  }

  async #pump(): Promise<void> {
    try {
      while (!this.#closed) {
        const item = this.#items[0];
        if (!item) break;
        await this.#attempt(item);
      }
    } finally {
      this.#pumping = false;
      // Not always empty after shutdown(): a restore() that finishes after it (a stop during start-up) adds batches.
      if (this.#closed) for (const item of this.#items.splice(0)) this.#leave(item.batch);
    }
  }

  async #attempt(item: Item): Promise<void> {
    const { batch } = item;
    let payload: Payload;
    try {
      await batch.stored;
      payload = await batch.payload();
    } catch (e) {
      if (!this.#items.includes(item)) return; // dropped meanwhile (a persistent store deleted its file): counted then
      this.#remove(item);
      this.#log.error('OTLP batch not stored, or unreadable from its storage', { error: e instanceof Error ? e.message : String(e), points: batch.points });
      this.#drop(batch, 'storage');
      return;
    }
    // Dropped for room while its payload was read: it counts as dropped, and is not sent as well.
    if (!this.#items.includes(item)) return;
    item.firstAttemptAt ??= this.#now();
    this.#inFlight = item;
    let result: SendResult;
    try {
      result = await new Promise<SendResult>((resolve, reject) => {
        this.#abandon = resolve;
        this.#opts.transport.send(payload).then(resolve, reject);
      });
    } catch (e) {
      result = { kind: 'permanent', error: e instanceof Error ? e.message : String(e) };
    } finally {
      this.#inFlight = undefined;
      this.#abandon = undefined;
    }
    const s = this.#stats;
    if (result.kind === 'ok') {
      this.#remove(item);
      batch.discard();
      this.#failures = 0;
      s.sentBatches++;
      s.sentPoints += batch.points;
      s.lastSuccessAt = this.#now();
      if (result.partial) {
        s.rejectedPoints += result.partial.rejectedDataPoints;
        this.#log.warn('OTLP export partly rejected by the backend', { rejected_data_points: result.partial.rejectedDataPoints, error: result.partial.errorMessage, points: batch.points });
      }
      return;
    }
    s.failedSends++;
    s.lastError = result.error;
    s.lastErrorAt = this.#now();
    if (result.kind === 'permanent') {
      // The backend answered: it is up, so the next batch starts from initial_interval again.
      this.#failures = 0;
      this.#remove(item);
      this.#log.error('OTLP export rejected', { error: result.error, points: batch.points });
      this.#drop(batch, 'rejected');
      return;
    }
    if (this.#closed) {
      // Shut down while this one was on the wire: kept for the next run, or lost.
      this.#remove(item);
      this.#leave(batch);
      return;
    }
    this.#failures++;
    const { retry } = this.#opts;
    if (!retry.enabled) {
      this.#remove(item);
      this.#drop(batch, 'retry_disabled');
      return;
    }
    if (retry.maxElapsedMs > 0 && this.#now() - item.firstAttemptAt >= retry.maxElapsedMs) {
      this.#remove(item);
      this.#drop(batch, 'expired');
      return;
    }
    const delay = this.#backoff(result.retryAfterMs);
    this.#log.warn('OTLP export failed; will retry', { error: result.error, retryInMs: Math.round(delay), queued: this.#items.length });
    await this.#sleep(delay);
  }

  /**
   * The wait before the next attempt: exponential backoff, randomised; a
   * delay the backend asked for (Retry-After, gRPC RetryInfo) when longer,
   * beyond max_interval too, as the collector's retry sender does.
   */
  #backoff(retryAfterMs: number | undefined): number {
    const { initialIntervalMs, maxIntervalMs, multiplier, randomizationFactor } = this.#opts.retry;
    const base = Math.min(initialIntervalMs * multiplier ** (this.#failures - 1), maxIntervalMs);
    const j = this.#opts.jitter ?? randomizationFactor;
    const backoff = Math.max(0, base * (1 + (Math.random() * 2 - 1) * j));
    return retryAfterMs === undefined ? backoff : Math.max(backoff, retryAfterMs);
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#nextRetryAt = this.#now() + ms;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#wake = undefined;
        this.#nextRetryAt = undefined;
        resolve();
      };
      this.#wake = done;
      const timer = setTimeout(done, ms);
    });
  }
}

function zeroes(): Record<DropReason, number> {
  return { overflow: 0, rejected: 0, expired: 0, retry_disabled: 0, shutdown: 0, storage: 0 };
}

/** Batches kept in memory: the request itself, shared by the exporters that queue it. */
export function memoryStore(form: QueueForm): BatchStore {
  const STORED = Promise.resolve();
  return {
    persistent: false,
    corrupt: 0,
    sizeOf: (request) => request.bytes(form.encoding, form.gzip).length,
    add: (request) => {
      const bytes = request.bytes(form.encoding, form.gzip);
      return { points: request.points, bytes: bytes.length, stored: STORED, payload: () => Promise.resolve({ bytes, ...form }), discard: () => undefined };
    },
    restore: () => Promise.resolve([]),
  };
}
