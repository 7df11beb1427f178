// What the collector's exporterhelper gives every OTLP exporter: `timeout`,
// `retry_on_failure` and `sending_queue` (README.md lists them). Defaults are
// the collector's unless said otherwise here.

import { leaf, optional, type Entries, type Field, type KeyTree, type Reader } from '../../../config/reader.ts';

export type Sizer = 'requests' | 'items' | 'bytes';

export interface QueueConfig {
  readonly enabled: boolean;
  /** What `size` counts: batches, data points, or bytes of the encoded requests. */
  readonly sizer: Sizer;
  readonly size: number;
  /** What goes when the queue is full (ours: the collector blocks or refuses). */
  readonly dropPolicy: 'oldest' | 'newest';
  /** A file_storage extension's id: batches are kept on disk, across restarts. */
  readonly storage?: string;
}

export const RETRY_DEFAULTS = {
  enabled: true,
  initialIntervalMs: 5_000,
  maxIntervalMs: 30_000,
  /**
   * Give up on one batch after this long (0: never, it stays queued). Not the collector's 5 min: a batch is
   * retried until it is sent or pushed out of the bounded queue; the queue's bound, not a timer, decides what an outage loses.
   */
  maxElapsedMs: 0,
  multiplier: 1.5,
  /** Each wait is randomised by ± this fraction. */
  randomizationFactor: 0.5,
};

export type RetryConfig = Readonly<typeof RETRY_DEFAULTS>;

export const QUEUE_DEFAULTS: QueueConfig = { enabled: true, sizer: 'requests', size: 1000, dropPolicy: 'oldest' };

export const TIMEOUT_DEFAULT_MS = 10_000;

export const HELPER_KEYS = {
  timeout: leaf,
  retry_on_failure: { enabled: leaf, initial_interval: leaf, max_interval: leaf, max_elapsed_time: leaf, multiplier: leaf, randomization_factor: leaf },
  sending_queue: {
    enabled: leaf,
    sizer: leaf,
    queue_size: leaf,
    storage: leaf,
    num_consumers: leaf,
    block_on_overflow: leaf,
    wait_for_result: leaf,
    drop_policy: leaf,
  },
} satisfies KeyTree;

export function readRetry(r: Reader, m: Entries): RetryConfig {
  const retry = r.map(m.get('retry_on_failure'), HELPER_KEYS.retry_on_failure);
  const D = RETRY_DEFAULTS;
  const initialIntervalMs = (retry && r.duration(retry.get('initial_interval'), 1)) ?? D.initialIntervalMs;
  const maxIntervalMs = (retry && r.duration(retry.get('max_interval'), 1)) ?? D.maxIntervalMs;
  if (retry && maxIntervalMs < initialIntervalMs) r.error(retry.get('max_interval'), `must not be less than initial_interval (${initialIntervalMs}ms)`);
  const factor = retry && r.number(retry.get('randomization_factor'), 0, 1);
  return {
    enabled: (retry && r.bool(retry.get('enabled'))) ?? D.enabled,
    initialIntervalMs,
    maxIntervalMs,
    maxElapsedMs: (retry && r.duration(retry.get('max_elapsed_time'), 0)) ?? D.maxElapsedMs,
    multiplier: (retry && r.number(retry.get('multiplier'), 1, 100)) ?? D.multiplier,
    randomizationFactor: factor ?? D.randomizationFactor,
  };
}

export function readQueue(r: Reader, m: Entries): QueueConfig {
  const q = r.map(m.get('sending_queue'), HELPER_KEYS.sending_queue);
  const D = QUEUE_DEFAULTS;
  if (q) {
    // One request in flight per exporter keeps batches in order and a slow backend from piling up sockets.
    const consumers = r.int(q.get('num_consumers'), 1);
    if (consumers !== undefined && consumers > 1) r.warn(q.get('num_consumers'), 'ignored: each exporter sends one request at a time, in order');
    if (r.bool(q.get('block_on_overflow'))) r.error(q.get('block_on_overflow'), 'not supported: a push never waits for room; drop_policy says what goes when the queue is full');
    if (r.bool(q.get('wait_for_result'))) r.warn(q.get('wait_for_result'), 'ignored: a push hands its batches to the queue and goes on');
  }
  const storage = q && r.string(q.get('storage'), { nonEmpty: true });
  return {
    enabled: (q && r.bool(q.get('enabled'))) ?? D.enabled,
    sizer: (q && r.oneOf(q.get('sizer'), ['requests', 'items', 'bytes'] as const)) ?? D.sizer,
    size: (q && r.int(q.get('queue_size'), 1)) ?? D.size,
    dropPolicy: (q && r.oneOf(q.get('drop_policy'), ['oldest', 'newest'] as const)) ?? D.dropPolicy,
    ...optional('storage', storage),
  };
}

/** The extension a persistent queue uses, and where the file names it (an exporter's `extensions` for the loader's check). */
export function storageUse(r: Reader, { queue }: { readonly queue: QueueConfig }, { entries }: { readonly entries: Entries }): { readonly id: string; readonly at: Field }[] {
  if (queue.storage === undefined) return [];
  const q = r.map(entries.get('sending_queue'));
  return q ? [{ id: queue.storage, at: q.get('storage') }] : [];
}
