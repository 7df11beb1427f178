// The sending queue and retry of one exporter, as the collector's
// exporterhelper (README.md): batches wait here while the backend is down,
// one request at a time, every loss counted by reason. Where batches are kept
// is the store's business: memory, or disk (extensions/file_storage).

import { setTimeout as sleep } from 'node:timers/promises';
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
  /** The form its batches take, the one the transport sends (the `bytes` sizer weighs it). */
  readonly form: QueueForm;
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

export const DROP_REASONS = ['overflow', 'rejected', 'expired', 'retry_disabled', 'shutdown', 'storage'] as const;
export type DropReason = (typeof DROP_REASONS)[number];

export type QueueStatus = ReturnType<ExportQueue['status']>;

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
  /** rejectedPoints: data points the backend said it rejected in answers that otherwise succeeded (partial success). */
  readonly #counts = { sentBatches: 0, sentPoints: 0, failedSends: 0, rejectedPoints: 0 };
  readonly #droppedBatches = zeroes();
  readonly #droppedPoints = zeroes();
  /** Each set once it happened (ms since epoch). */
  readonly #last: { lastSuccessAt?: number; lastError?: string; lastErrorAt?: number } = {};

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

  /** Queues one request; false if it was the one dropped. Room is made first: a persistent queue never holds more than its bound. */
  enqueue(request: OtlpRequest): boolean {
    if (this.#closed) {
      this.#dropCounted(request.points, 'shutdown');
      return false;
    }
    const { form } = this.#opts.store;
    const weight = this.#sizer === 'items' ? request.points : this.#sizer === 'bytes' ? request.bytes(form.encoding, form.gzip).length : 1;
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

  #weight(batch: QueuedBatch): number {
    return this.#sizer === 'items' ? batch.points : this.#sizer === 'bytes' ? batch.bytes : 1;
  }

  status() {
    let points = 0;
    let bytes = 0;
    for (const i of this.#items) {
      points += i.batch.points;
      bytes += i.batch.bytes;
    }
    return {
      /** Batches waiting, the one in flight included. */
      depth: this.#items.length,
      queuedPoints: points,
      queuedBytes: bytes,
      /** What the queue holds, and can, in the sizer's unit. */
      used: this.#used,
      capacity: this.capacity,
      sizer: this.#sizer,
      persistent: this.#opts.store.persistent,
      inFlight: this.#inFlight !== undefined,
      ...this.#counts,
      /** Stored batches found unreadable (persistent queues), set aside and not sent. */
      corruptBatches: this.#opts.store.corrupt,
      droppedBatches: { ...this.#droppedBatches },
      droppedPoints: { ...this.#droppedPoints },
      consecutiveFailures: this.#failures,
      ...this.#last,
      ...(this.#nextRetryAt !== undefined && { nextRetryAt: this.#nextRetryAt }),
    };
  }

  /** Tries to deliver everything queued within `withinMs` (a pending backoff is cut short); true when the queue emptied. */
  async forceFlush(withinMs: number): Promise<boolean> {
    if (this.#items.length === 0) return true;
    this.#wake?.();
    const late = new AbortController();
    const timeout = sleep(Math.max(0, withinMs), false, { signal: late.signal }).catch(() => false);
    // Batches waiting means a pump is running; it ends once none is left (sent, dropped, or left at shutdown).
    const ok = await Promise.race([this.#pumped.then(() => true), timeout]);
    late.abort();
    return ok;
  }

  /**
   * Flushes within `withinMs`, then stops; what is left is dropped as `shutdown` unless the store
   * persists it. A persistent queue whose backend is failing does not wait (the collector's neither).
   */
  async shutdown(withinMs: number): Promise<boolean> {
    const store = this.#opts.store;
    const ok = store.persistent && this.#failures > 0 ? true : await this.forceFlush(withinMs);
    this.#closed = true;
    this.#wake?.();
    for (const item of this.#items.splice(0)) if (item !== this.#inFlight) this.#leave(item.batch);
    this.#used = 0;
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
    this.#droppedBatches[reason]++;
    this.#droppedPoints[reason] += points;
    this.#log.warn('OTLP batch dropped', { reason, points, queued: this.#items.length });
  }

  /** Takes a batch out of the queue, and drops it for `reason`. */
  #giveUp(item: Item, reason: DropReason): void {
    this.#remove(item);
    this.#drop(item.batch, reason);
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
      for (let item = this.#items[0]; item && !this.#closed; item = this.#items[0]) await this.#attempt(item);
    } finally {
      this.#pumping = false;
      // Not always empty after shutdown(): a restore() that finishes after it (a stop during start-up) adds batches.
      if (this.#closed) {
        for (const item of this.#items.splice(0)) this.#leave(item.batch);
        this.#used = 0;
      }
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
      this.#log.error('OTLP batch not stored, or unreadable from its storage', { error: e instanceof Error ? e.message : String(e), points: batch.points });
      return this.#giveUp(item, 'storage');
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
    const s = this.#counts;
    if (result.kind === 'ok') {
      this.#remove(item);
      batch.discard();
      this.#failures = 0;
      s.sentBatches++;
      s.sentPoints += batch.points;
      this.#last.lastSuccessAt = this.#now();
      if (result.partial) {
        s.rejectedPoints += result.partial.rejectedDataPoints;
        this.#log.warn('OTLP export partly rejected by the backend', { rejected_data_points: result.partial.rejectedDataPoints, error: result.partial.errorMessage, points: batch.points });
      }
      return;
    }
    s.failedSends++;
    this.#last.lastError = result.error;
    this.#last.lastErrorAt = this.#now();
    if (result.kind === 'permanent') {
      // The backend answered: it is up, so the next batch starts from initial_interval again.
      this.#failures = 0;
      this.#log.error('OTLP export rejected', { error: result.error, points: batch.points });
      return this.#giveUp(item, 'rejected');
    }
    if (this.#closed) {
      // Shut down while this one was on the wire: kept for the next run, or lost.
      this.#remove(item);
      this.#leave(batch);
      return;
    }
    this.#failures++;
    const { retry } = this.#opts;
    if (!retry.enabled) return this.#giveUp(item, 'retry_disabled');
    if (retry.maxElapsedMs > 0 && this.#now() - item.firstAttemptAt >= retry.maxElapsedMs) return this.#giveUp(item, 'expired');
    const delay = this.#backoff(result.retryAfterMs);
    this.#log.warn('OTLP export failed; will retry', { error: result.error, retryInMs: Math.round(delay), queued: this.#items.length });
    await this.#sleep(delay);
  }

  /** Exponential backoff, randomised; a delay the backend asked for when longer, beyond max_interval too (as the collector). */
  #backoff(retryAfterMs: number | undefined): number {
    const { initialIntervalMs, maxIntervalMs, multiplier, randomizationFactor } = this.#opts.retry;
    const base = Math.min(initialIntervalMs * multiplier ** (this.#failures - 1), maxIntervalMs);
    const j = this.#opts.jitter ?? randomizationFactor;
    const backoff = Math.max(0, base * (1 + (Math.random() * 2 - 1) * j));
    return retryAfterMs === undefined ? backoff : Math.max(backoff, retryAfterMs);
  }

  /** A wait that #wake cuts short. */
  async #sleep(ms: number): Promise<void> {
    if (this.#closed) return;
    const wake = new AbortController();
    this.#wake = () => wake.abort();
    this.#nextRetryAt = this.#now() + ms;
    await sleep(ms, undefined, { signal: wake.signal }).catch(() => undefined);
    this.#wake = undefined;
    this.#nextRetryAt = undefined;
  }
}

function zeroes(): Record<DropReason, number> {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
}

/** Batches kept in memory: the request itself, shared by the exporters that queue it. */
export function memoryStore(form: QueueForm): BatchStore {
  const STORED = Promise.resolve();
  return {
    persistent: false,
    corrupt: 0,
    form,
    add: (request) => {
      const bytes = request.bytes(form.encoding, form.gzip);
      return { points: request.points, bytes: bytes.length, stored: STORED, payload: () => Promise.resolve({ bytes, ...form }), discard: () => undefined };
    },
    restore: () => Promise.resolve([]),
  };
}
