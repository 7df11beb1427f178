// A bounded queue in front of one exporter: batches wait here while the
// backend is down and go out in order once it is back. One request at a time
// (so a slow or hanging backend never accumulates sockets), exponential
// backoff between failed attempts, and every loss counted by reason.

import { DEFAULTS } from '../config/defaults.ts';
import type { QueueConfig, RetryConfig } from '../config/types.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import type { OtlpRequest } from './model.ts';
import type { SendResult } from './otlp-http.ts';

export interface Batch {
  /** One OTLP request: protobuf already, or the object model the exporter encodes at each attempt. */
  readonly request: OtlpRequest;
  readonly points: number;
}

export type DropReason = 'overflow' | 'rejected' | 'expired' | 'retry_disabled' | 'shutdown';
export const DROP_REASONS: readonly DropReason[] = ['overflow', 'rejected', 'expired', 'retry_disabled', 'shutdown'];

export interface QueueStatus {
  /** Batches waiting, the one in flight included. */
  readonly depth: number;
  /** Their data points. */
  readonly queuedPoints: number;
  /** In batches (sizer requests) or data points (sizer items). */
  readonly capacity: number;
  readonly sizer: 'requests' | 'items';
  readonly inFlight: boolean;
  readonly sentBatches: number;
  readonly sentPoints: number;
  readonly failedSends: number;
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
  /** One attempt (a rejection counts as a permanent failure). */
  readonly send: (request: OtlpRequest) => Promise<SendResult>;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** Randomisation of each backoff, ±fraction (default 0.2; tests use 0). */
  readonly jitter?: number;
}

const BACKOFF_MULTIPLIER = DEFAULTS.retryMultiplier;

interface Item {
  readonly batch: Batch;
  firstAttemptAt: number | undefined;
}

export class ExportQueue {
  readonly capacity: number;
  readonly #opts: ExportQueueOptions;
  readonly #log: Logger;
  readonly #now: () => number;
  readonly #items: Item[] = [];
  readonly #sizer: 'requests' | 'items';
  #inFlight: Item | undefined;
  /** Ends the attempt in flight without waiting for its answer (shutdown). */
  #abandon: ((r: SendResult) => void) | undefined;
  #pumping = false;
  /** The current (or last) run of #pump. */
  #pumped: Promise<void> = Promise.resolve();
  #closed = false;
  #failures = 0;
  #wake: (() => void) | undefined;
  #retryTimer: NodeJS.Timeout | undefined;
  #nextRetryAt: number | undefined;
  #idle: (() => void)[] = [];
  readonly #stats = {
    sentBatches: 0,
    sentPoints: 0,
    failedSends: 0,
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

  get depth(): number {
    return this.#items.length;
  }

  /** What a batch counts for against the capacity. */
  #weight(batch: Batch): number {
    return this.#sizer === 'items' ? batch.points : 1;
  }

  /** Adds a batch; when full, drops per the policy. Returns false if the new batch was the one dropped. */
  enqueue(batch: Batch): boolean {
    if (this.#closed) {
      this.#drop(batch, 'shutdown');
      return false;
    }
    const weight = this.#weight(batch);
    // A batch larger than the whole queue could never be held: it goes, not the others.
    if (weight > this.capacity) {
      this.#drop(batch, 'overflow');
      return false;
    }
    let used = 0;
    for (const i of this.#items) used += this.#weight(i.batch);
    while (used + weight > this.capacity) {
      // The batch on the wire is never pulled back; "oldest" means the oldest still waiting.
      const victim = this.#opts.queue.dropPolicy === 'oldest' ? this.#items.findIndex((i) => i !== this.#inFlight) : -1;
      if (victim < 0) {
        this.#drop(batch, 'overflow');
        return false;
      }
      const [old] = this.#items.splice(victim, 1);
      if (old) {
        used -= this.#weight(old.batch);
        this.#drop(old.batch, 'overflow');
      }
    }
    this.#items.push({ batch, firstAttemptAt: undefined });
    if (!this.#pumping) {
      this.#pumping = true;
      this.#pumped = this.#pump();
    }
    return true;
  }

  status(): QueueStatus {
    const s = this.#stats;
    return {
      depth: this.#items.length,
      queuedPoints: this.#items.reduce((n, i) => n + i.batch.points, 0),
      capacity: this.capacity,
      sizer: this.#sizer,
      inFlight: this.#inFlight !== undefined,
      sentBatches: s.sentBatches,
      sentPoints: s.sentPoints,
      failedSends: s.failedSends,
      droppedBatches: { ...s.droppedBatches },
      droppedPoints: { ...s.droppedPoints },
      consecutiveFailures: this.#failures,
      ...(s.lastSuccessAt !== undefined && { lastSuccessAt: s.lastSuccessAt }),
      ...(s.lastError !== undefined && { lastError: s.lastError }),
      ...(s.lastErrorAt !== undefined && { lastErrorAt: s.lastErrorAt }),
      ...(this.#nextRetryAt !== undefined && { nextRetryAt: this.#nextRetryAt }),
    };
  }

  /**
   * Tries to deliver everything queued within `withinMs` (a pending backoff is
   * cut short). Resolves true when the queue emptied, false at the deadline.
   */
  async forceFlush(withinMs: number): Promise<boolean> {
    if (this.#items.length === 0) return true;
    this.#wakeUp();
    let timer: NodeJS.Timeout | undefined;
    const idle = new Promise<boolean>((resolve) => this.#idle.push(() => resolve(true)));
    const late = new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(false), Math.max(0, withinMs));
    });
    const ok = await Promise.race([idle, late]);
    clearTimeout(timer);
    return ok;
  }

  /**
   * Flushes within `withinMs`, then stops: what is left is dropped and counted
   * as `shutdown`, the batch on the wire too (its answer is not waited for).
   */
  async shutdown(withinMs: number): Promise<boolean> {
    const ok = await this.forceFlush(withinMs);
    this.#closed = true;
    this.#wakeUp();
    for (const item of this.#items.splice(0)) if (item !== this.#inFlight) this.#drop(item.batch, 'shutdown');
    this.#abandon?.({ kind: 'retryable', error: 'shut down with the request on the wire' });
    await this.#pumped;
    return ok;
  }

  #drop(batch: Batch, reason: DropReason): void {
    this.#stats.droppedBatches[reason]++;
    this.#stats.droppedPoints[reason] += batch.points;
    this.#log.warn('OTLP batch dropped', { reason, points: batch.points, queued: this.#items.length });
  }

  #remove(item: Item): void {
    const i = this.#items.indexOf(item);
    if (i >= 0) this.#items.splice(i, 1);
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
      if (this.#closed) for (const item of this.#items.splice(0)) this.#drop(item.batch, 'shutdown');
      if (this.#items.length === 0) {
        const idle = this.#idle;
        this.#idle = [];
        for (const f of idle) f();
      }
    }
  }

  async #attempt(item: Item): Promise<void> {
    const now = this.#now();
    item.firstAttemptAt ??= now;
    this.#inFlight = item;
    let result: SendResult;
    try {
      result = await new Promise<SendResult>((resolve, reject) => {
        this.#abandon = resolve;
        this.#opts.send(item.batch.request).then(resolve, reject);
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
      this.#failures = 0;
      s.sentBatches++;
      s.sentPoints += item.batch.points;
      s.lastSuccessAt = this.#now();
      return;
    }
    s.failedSends++;
    s.lastError = result.error;
    s.lastErrorAt = this.#now();
    if (result.kind === 'permanent') {
      this.#remove(item);
      this.#log.error('OTLP export rejected', { error: result.error, points: item.batch.points });
      this.#drop(item.batch, 'rejected');
      return;
    }
    if (this.#closed) {
      // Shut down while this one was on the wire (shutdown() left it to finish): it is lost.
      this.#remove(item);
      this.#drop(item.batch, 'shutdown');
      return;
    }
    this.#failures++;
    const { retry } = this.#opts;
    if (!retry.enabled) {
      this.#remove(item);
      this.#drop(item.batch, 'retry_disabled');
      return;
    }
    if (retry.maxElapsedMs > 0 && this.#now() - item.firstAttemptAt >= retry.maxElapsedMs) {
      this.#remove(item);
      this.#drop(item.batch, 'expired');
      return;
    }
    const delay = this.#backoff(result.retryAfterMs);
    this.#log.warn('OTLP export failed; will retry', { error: result.error, retryInMs: Math.round(delay), queued: this.#items.length });
    await this.#sleep(delay);
  }

  #backoff(retryAfterMs: number | undefined): number {
    const { initialIntervalMs, maxIntervalMs } = this.#opts.retry;
    if (retryAfterMs !== undefined) return Math.min(Math.max(retryAfterMs, initialIntervalMs), maxIntervalMs);
    const base = Math.min(initialIntervalMs * BACKOFF_MULTIPLIER ** (this.#failures - 1), maxIntervalMs);
    const j = this.#opts.jitter ?? 0.2;
    return Math.max(0, base * (1 + (Math.random() * 2 - 1) * j));
  }

  #sleep(ms: number): Promise<void> {
    if (this.#closed) return Promise.resolve();
    this.#nextRetryAt = this.#now() + ms;
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(this.#retryTimer);
        this.#retryTimer = undefined;
        this.#wake = undefined;
        this.#nextRetryAt = undefined;
        resolve();
      };
      this.#wake = done;
      this.#retryTimer = setTimeout(done, ms);
    });
  }

  #wakeUp(): void {
    this.#wake?.();
  }
}

function zeroes(): Record<DropReason, number> {
  return { overflow: 0, rejected: 0, expired: 0, retry_disabled: 0, shutdown: 0 };
}
