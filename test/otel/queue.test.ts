// The sending queue (exporters/helper/queue.ts) with batches in memory and
// the real OTLP/HTTP transport, against a real receiver scripted to fail:
// retry and backoff, Retry-After, drop policies, the three sizers, retry
// disabled, max_elapsed_time, partial success, and what shutdown counts.
// Delays are observed as the queue schedules them (status, log records),
// never by timing the test.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Logger } from '../../src/log/logger.ts';
import type { QueueConfig, RetryConfig } from '../../src/otel/exporters/helper/config.ts';
import { ExportQueue, memoryStore, type QueueStatus } from '../../src/otel/exporters/helper/queue.ts';
import { HttpTransport } from '../../src/otel/exporters/otlphttp/transport.ts';
import { exporterFamilies } from '../../src/otel/self-metrics.ts';
import { freePort } from '../lifecycle/support.ts';
import { recordingLogger } from '../support/logger.ts';
import { httpConfig } from './support/exporters.ts';
import { startReceiver, type Behaviour, type Receiver } from './support/receiver.ts';
import { seqs, tiny, until } from './support/tiny.ts';

interface Setup {
  readonly rx: Receiver;
  readonly q: ExportQueue;
  [Symbol.asyncDispose](): Promise<void>;
}

interface Options {
  readonly queue?: Partial<QueueConfig>;
  readonly retry?: Partial<RetryConfig>;
  readonly timeoutMs?: number;
  readonly compression?: 'gzip' | 'none';
  readonly encoding?: 'proto' | 'json';
  readonly now?: () => number;
  readonly jitter?: number;
  readonly logger?: Logger;
}

function queueFor(url: string, o: Options = {}): ExportQueue {
  const config = httpConfig(url, { timeoutMs: o.timeoutMs ?? 1000, queue: o.queue ?? {}, retry: o.retry ?? {}, compression: o.compression ?? 'none', encoding: o.encoding ?? 'proto' });
  return new ExportQueue({
    queue: config.queue,
    retry: config.retry,
    store: memoryStore({ encoding: config.encoding, gzip: config.compression === 'gzip' }),
    transport: new HttpTransport(config),
    ...(o.logger && { logger: o.logger }),
    ...(o.now && { now: o.now }),
    jitter: o.jitter ?? 0,
  });
}

async function setup(behaviour: Behaviour, o: Options = {}): Promise<Setup> {
  const rx = await startReceiver(behaviour);
  const q = queueFor(rx.url, o);
  return {
    rx,
    q,
    [Symbol.asyncDispose]: async () => {
      await q.shutdown(0);
      await rx.close();
    },
  };
}

const delivered = (rx: Receiver) => rx.received.flatMap((r) => seqs(r.request));
const dropped = (s: QueueStatus) => Object.values(s.droppedBatches).reduce((a, b) => a + b, 0);
const idle = (q: ExportQueue) => () => !q.status().inFlight;

describe('export queue: retry and order', () => {
  it('holds batches through a 503 outage and delivers all of them, in order, once the backend is back', async () => {
    let down = true;
    await using env = await setup(() => (down ? { status: 503 } : {}));
    const { rx, q } = env;
    for (let i = 1; i <= 5; i++) q.enqueue(tiny(i));
    await until(() => q.status().failedSends >= 3, 5000, 'a few failed attempts');
    assert.equal(rx.received.length, 0);
    assert.equal(q.status().depth, 5);
    down = false;
    assert.equal(await q.forceFlush(5000), true);
    assert.deepEqual(delivered(rx), [1, 2, 3, 4, 5]);
    const s = q.status();
    assert.deepEqual([s.sentBatches, s.sentPoints, s.depth, dropped(s), s.consecutiveFailures], [5, 5, 0, 0, 0]);
    assert.ok(s.lastSuccessAt !== undefined);
    assert.match(s.lastError ?? '', /^HTTP 503: scripted 503$/);
    // Every attempt is one request, one batch at a time, never two at once.
    assert.equal(rx.attempts.length, s.failedSends + s.sentBatches);
    assert.equal(rx.inFlight.max, 1);
  });

  it('makes exactly one request per attempt: a 503 then a 200 is one failed send and one sent batch', async () => {
    await using env = await setup((n) => (n === 0 ? { status: 503 } : {}));
    const { rx, q } = env;
    q.enqueue(tiny(1));
    assert.equal(await q.forceFlush(5000), true);
    assert.deepEqual(
      rx.attempts.map((a) => a.status),
      [503, 200],
    );
    assert.deepEqual([q.status().failedSends, q.status().sentBatches], [1, 1]);
  });

  it('retries 429, 502, 503 and 504, and network errors; drops a batch any other status rejects and goes on with the next', async () => {
    const statuses = [429, 502, 504, 400];
    await using env = await setup((n) => (n < statuses.length ? { status: statuses[n]! } : {}));
    const { rx, q } = env;
    q.enqueue(tiny(1));
    q.enqueue(tiny(2));
    assert.equal(await q.forceFlush(5000), true);
    // 1 was tried at 429, 502, 504, then rejected with 400; 2 went through.
    assert.deepEqual(delivered(rx), [2]);
    const s = q.status();
    assert.deepEqual([s.droppedBatches.rejected, s.droppedPoints.rejected, s.failedSends], [1, 1, 4]);
    assert.match(s.lastError ?? '', /HTTP 400/);

    // Nobody listening: a network error, retried.
    const port = await freePort();
    const refused = queueFor(`http://127.0.0.1:${port}/v1/metrics`);
    refused.enqueue(tiny(3));
    await until(() => refused.status().failedSends >= 2, 5000, 'retried connection errors');
    assert.match(refused.status().lastError ?? '', /ECONNREFUSED/);
    assert.equal(refused.status().depth, 1);
    assert.equal(await refused.shutdown(0), false);
    assert.equal(refused.status().droppedBatches.shutdown, 1);
  });

  it('backs off exponentially from initial_interval by multiplier up to max_interval, and resets after a success', async () => {
    const { logger, records } = recordingLogger('warn');
    let fail = 5;
    await using env = await setup(() => (fail-- > 0 ? { status: 503 } : {}), { retry: { initialIntervalMs: 10, maxIntervalMs: 50, multiplier: 2 }, logger });
    const { q } = env;
    q.enqueue(tiny(1));
    assert.equal(await q.forceFlush(5000), true);
    fail = 2;
    q.enqueue(tiny(2));
    assert.equal(await q.forceFlush(5000), true);
    const waits = records.filter((r) => r.msg === 'OTLP export failed; will retry').map((r) => r['retryInMs']);
    assert.deepEqual(waits, [10, 20, 40, 50, 50, 10, 20]);
  });

  it('randomises each wait within ± randomization_factor', async () => {
    const { logger, records } = recordingLogger('warn');
    let fail = 12;
    const rx = await startReceiver(() => (fail-- > 0 ? { status: 503 } : {}));
    const config = httpConfig(rx.url, { retry: { initialIntervalMs: 20, maxIntervalMs: 20, randomizationFactor: 0.5 } });
    const q = new ExportQueue({ queue: config.queue, retry: config.retry, store: memoryStore({ encoding: 'proto', gzip: false }), transport: new HttpTransport(config), logger });
    try {
      q.enqueue(tiny(1));
      assert.equal(await q.forceFlush(10_000), true);
      const waits = records.filter((r) => r.msg === 'OTLP export failed; will retry').map((r) => r['retryInMs'] as number);
      assert.equal(waits.length, 12);
      assert.ok(waits.every((w) => w >= 10 && w <= 30), waits.join(' '));
      assert.ok(new Set(waits).size > 1, 'not all the same');
    } finally {
      await q.shutdown(0);
      await rx.close();
    }
  });

  it('waits as long as Retry-After asks (seconds or an HTTP date), beyond max_interval too, never less than its own backoff', async () => {
    const clock = 1_000_000;
    const inAnHour = Date.now() + 3_600_000;
    const answers: { status: number; retryAfter: string; wait: (ms: number) => boolean }[] = [
      { status: 429, retryAfter: '1', wait: (ms) => ms === 1000 },
      { status: 503, retryAfter: '60', wait: (ms) => ms === 60_000 },
      // An HTTP date has whole seconds, and is read when the answer comes: a little less than the hour.
      { status: 503, retryAfter: new Date(inAnHour).toUTCString(), wait: (ms) => ms > 3_500_000 && ms <= 3_600_000 },
      { status: 503, retryAfter: '0', wait: (ms) => ms === 10 },
    ];
    for (const [i, a] of answers.entries()) {
      await using env = await setup(() => ({ status: a.status, retryAfter: a.retryAfter }), { retry: { initialIntervalMs: 10, maxIntervalMs: 5000 }, now: () => clock });
      const { q } = env;
      q.enqueue(tiny(1));
      await until(() => q.status().nextRetryAt !== undefined, 5000, 'a scheduled retry');
      const s = q.status();
      assert.ok(a.wait(s.nextRetryAt! - s.lastErrorAt!), `answer ${i}: waits ${s.nextRetryAt! - s.lastErrorAt!} ms`);
    }
  });

  it('forceFlush cuts a pending wait short', async () => {
    let n = 0;
    await using env = await setup(() => (n++ === 0 ? { status: 429, retryAfter: '3600' } : {}), { retry: { initialIntervalMs: 10, maxIntervalMs: 3_600_000 } });
    const { rx, q } = env;
    q.enqueue(tiny(1));
    await until(() => q.status().nextRetryAt !== undefined, 5000, 'the hour-long wait');
    assert.equal(await q.forceFlush(5000), true);
    assert.deepEqual(delivered(rx), [1]);
  });

  it('gives up on a batch after max_elapsed_time since its first attempt', async () => {
    let clock = 0;
    await using env = await setup(() => ({ status: 503 }), { retry: { maxElapsedMs: 60 }, now: () => clock });
    const { q } = env;
    q.enqueue(tiny(1));
    await until(() => q.status().failedSends >= 2, 5000, 'a retry');
    assert.equal(q.status().depth, 1);
    clock = 60;
    await until(() => q.status().droppedBatches.expired === 1, 5000, 'expiry');
    assert.deepEqual([q.status().depth, q.status().droppedPoints.expired], [0, 1]);
  });

  it('with retry disabled, drops a batch at its first retryable failure', async () => {
    await using env = await setup((n) => (n === 0 ? { status: 503 } : {}), { retry: { enabled: false } });
    const { rx, q } = env;
    q.enqueue(tiny(1));
    q.enqueue(tiny(2));
    assert.equal(await q.forceFlush(5000), true);
    assert.deepEqual(delivered(rx), [2]);
    assert.deepEqual([q.status().droppedBatches.retry_disabled, q.status().failedSends], [1, 1]);
  });

  it('against a hanging backend: each attempt ends at the timeout, one request at a time, the queue does not grow', async () => {
    await using env = await setup(() => ({ hang: true }), { timeoutMs: 100, queue: { size: 3 } });
    const { rx, q } = env;
    for (let i = 1; i <= 3; i++) q.enqueue(tiny(i));
    await until(() => q.status().failedSends >= 3, 5000, 'three timeouts');
    assert.equal(rx.inFlight.max, 1);
    for (let i = 4; i <= 10; i++) q.enqueue(tiny(i));
    const s = q.status();
    assert.deepEqual([s.depth, s.droppedBatches.overflow], [3, 7]);
    assert.equal(s.lastError, 'no answer within 100 ms');
    assert.ok(rx.attempts.every((a) => a.status === 'hung'));
  });

  for (const encoding of ['proto', 'json'] as const) {
    it(`counts the points a backend rejects in a partial success (${encoding}), the batch sent`, async () => {
      const { logger, records } = recordingLogger('warn');
      await using env = await setup(() => ({ partial: { rejectedDataPoints: 3, errorMessage: 'too old' } }), { encoding, logger });
      const { q } = env;
      q.enqueue(tiny(1, 5));
      assert.equal(await q.forceFlush(5000), true);
      const s = q.status();
      assert.deepEqual([s.sentBatches, s.sentPoints, s.rejectedPoints, s.failedSends], [1, 5, 3, 0]);
      assert.ok(records.some((r) => r.msg === 'OTLP export partly rejected by the backend' && r['rejected_data_points'] === 3 && r['error'] === 'too old'));
    });
  }
});

describe('export queue: bounds and drop policies', () => {
  it('on overflow drops the oldest waiting batch (never the one on the wire) and counts it', async () => {
    let down = true;
    await using env = await setup(() => (down ? { status: 503 } : {}), { queue: { size: 3 }, retry: { initialIntervalMs: 5000, maxIntervalMs: 5000 } });
    const { rx, q } = env;
    q.enqueue(tiny(1));
    await until(() => q.status().failedSends === 1 && idle(q)(), 5000, 'first failure');
    for (let i = 2; i <= 6; i++) q.enqueue(tiny(i));
    const s = q.status();
    assert.deepEqual([s.depth, s.droppedBatches.overflow, s.droppedPoints.overflow], [3, 3, 3]);
    down = false;
    assert.equal(await q.forceFlush(5000), true);
    assert.deepEqual(delivered(rx), [4, 5, 6]);
  });

  it('a batch dropped for room while its payload is read for an attempt (a persistent store reads it from disk) is not sent as well', async () => {
    const rx = await startReceiver(() => ({}));
    // The memory store, but the first batch's payload waits (as a file being read) until the test opens the gate.
    let open!: () => void;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const memory = memoryStore({ encoding: 'proto', gzip: false });
    let first = true;
    let reading = false;
    const store = {
      ...memory,
      add: (request: Parameters<typeof memory.add>[0]) => {
        const batch = memory.add(request);
        if (!first) return batch;
        first = false;
        return { ...batch, payload: async () => ((reading = true), await gate, batch.payload()) };
      },
    };
    const config = httpConfig(rx.url, { timeoutMs: 1000, queue: { size: 1 }, retry: {}, compression: 'none', encoding: 'proto' });
    const q = new ExportQueue({ queue: config.queue, retry: config.retry, store, transport: new HttpTransport(config), jitter: 0 });
    try {
      assert.equal(q.enqueue(tiny(1)), true);
      await until(() => reading, 5000, "the first batch's payload being read");
      assert.equal(q.enqueue(tiny(2)), true, 'room made: the oldest waiting batch goes');
      open();
      assert.equal(await q.forceFlush(5000), true);
      assert.deepEqual(delivered(rx), [2]);
      const s = q.status();
      assert.deepEqual([s.sentBatches, s.droppedBatches.overflow, s.droppedBatches.storage], [1, 1, 0], 'each batch counted once');
    } finally {
      open();
      await q.shutdown(0);
      await rx.close();
    }
  });

  it('with drop policy "newest" keeps what it holds and refuses new batches', async () => {
    await using env = await setup(() => ({ status: 503 }), { queue: { size: 2, dropPolicy: 'newest' }, retry: { initialIntervalMs: 500, maxIntervalMs: 500 } });
    const { q } = env;
    assert.equal(q.enqueue(tiny(1)), true);
    assert.equal(q.enqueue(tiny(2)), true);
    assert.equal(q.enqueue(tiny(3, 4)), false);
    assert.deepEqual([q.status().droppedBatches.overflow, q.status().droppedPoints.overflow, q.status().depth], [1, 4, 2]);
  });

  it('with sizer "items" it holds data points, not batches: the oldest waiting batches go until a new one fits', async () => {
    let down = true;
    await using env = await setup(() => (down ? { status: 503 } : {}), { queue: { sizer: 'items', size: 10 }, retry: { initialIntervalMs: 5000, maxIntervalMs: 5000 } });
    const { rx, q } = env;
    q.enqueue(tiny(1, 4));
    await until(() => q.status().failedSends === 1 && idle(q)(), 5000, 'first failure');
    assert.equal(q.enqueue(tiny(2, 4)), true);
    assert.equal(q.status().queuedPoints, 8);
    // 8 + 4 > 10: batch 1 (waiting for its retry) makes room.
    assert.equal(q.enqueue(tiny(3, 4)), true);
    const s = q.status();
    assert.deepEqual([s.depth, s.queuedPoints, s.capacity, s.sizer, s.droppedBatches.overflow, s.droppedPoints.overflow], [2, 8, 10, 'items', 1, 4]);
    down = false;
    assert.equal(await q.forceFlush(5000), true);
    assert.deepEqual([...new Set(delivered(rx))], [2, 3]);
  });

  it('with sizer "items" drops a batch larger than the whole queue and keeps the others', async () => {
    await using env = await setup(() => ({ status: 503 }), { queue: { sizer: 'items', size: 10 }, retry: { initialIntervalMs: 500, maxIntervalMs: 500 } });
    const { q } = env;
    assert.equal(q.enqueue(tiny(1, 3)), true);
    assert.equal(q.enqueue(tiny(2, 11)), false);
    assert.deepEqual([q.status().depth, q.status().droppedPoints.overflow], [1, 11]);
  });

  for (const compression of ['none', 'gzip'] as const) {
    it(`with sizer "bytes" it holds bytes of the batches as queued (compression ${compression})`, async () => {
      const rx = await startReceiver(() => ({ status: 503 }));
      const batches = [1, 2, 3].map((i) => tiny(i, 20));
      const size = batches.map((b) => b.bytes('proto', compression === 'gzip').length);
      const q = queueFor(rx.url, { compression, queue: { sizer: 'bytes', size: size[0]! + size[1]! + 10 }, retry: { initialIntervalMs: 500, maxIntervalMs: 500 } });
      try {
        assert.equal(q.enqueue(batches[0]!), true);
        assert.equal(q.enqueue(batches[1]!), true);
        assert.deepEqual([q.status().queuedBytes, q.status().depth, q.status().capacity], [size[0]! + size[1]!, 2, size[0]! + size[1]! + 10]);
        // A third does not fit: the oldest waiting batch goes (the first may be on the wire: then the second).
        assert.equal(q.enqueue(batches[2]!), true);
        assert.equal(q.status().droppedBatches.overflow, 1);
        assert.equal(q.status().depth, 2);
        // A batch larger than the whole queue is refused.
        assert.equal(q.enqueue(tiny(4, 2000)), false);
        assert.equal(q.status().droppedBatches.overflow, 2);
      } finally {
        await q.shutdown(0);
        await rx.close();
      }
    });
  }

  it('without a queue only the batch being sent is held, whatever the sizer', async () => {
    await using env = await setup(() => ({ status: 503 }), { queue: { enabled: false, sizer: 'items', size: 10 }, retry: { initialIntervalMs: 500, maxIntervalMs: 500 } });
    const { q } = env;
    assert.equal(q.enqueue(tiny(1, 50)), true);
    assert.deepEqual([q.status().depth, q.status().capacity, q.status().sizer], [1, 1, 'requests']);
    assert.equal(q.enqueue(tiny(2)), true);
    assert.equal(q.status().depth, 1);
  });
});

describe('export queue: shutdown and its own metrics', () => {
  it('forceFlush returns false at its deadline while the backend stays down; shutdown counts what is left, and refuses more', async () => {
    await using env = await setup(() => ({ status: 503 }));
    const { q } = env;
    q.enqueue(tiny(1));
    q.enqueue(tiny(2, 3));
    assert.equal(await q.forceFlush(150), false);
    assert.equal(await q.shutdown(50), false);
    const s = q.status();
    assert.deepEqual([s.droppedBatches.shutdown, s.droppedPoints.shutdown, s.depth], [2, 4, 0]);
    assert.equal(q.enqueue(tiny(3)), false);
    assert.equal(q.status().droppedBatches.shutdown, 3);
  });

  it('does not wait for an answer at shutdown: the batch on the wire is counted as left behind', async () => {
    await using env = await setup(() => ({ hang: true }), { timeoutMs: 60_000 });
    const { rx, q } = env;
    q.enqueue(tiny(1));
    await until(() => rx.attempts.length === 1, 5000, 'the request on the wire');
    assert.equal(await q.shutdown(0), false);
    assert.deepEqual([q.status().droppedBatches.shutdown, q.status().depth, q.status().inFlight], [1, 0, false]);
  });

  it('delivers what it holds within the shutdown deadline when the backend answers', async () => {
    await using env = await setup((n) => (n < 2 ? { status: 503 } : {}));
    const { rx, q } = env;
    for (let i = 1; i <= 3; i++) q.enqueue(tiny(i));
    assert.equal(await q.shutdown(5000), true);
    assert.deepEqual(delivered(rx), [1, 2, 3]);
    assert.equal(dropped(q.status()), 0);
  });

  it('publishes its state as kata_monitor_otlp_* families, one series per exporter and pipeline; writers (debug, file) their writes', async () => {
    await using env = await setup((n) => (n === 0 ? { status: 503 } : {}));
    const { q } = env;
    q.enqueue(tiny(1));
    q.enqueue(tiny(2, 2));
    assert.equal(await q.forceFlush(5000), true);
    const statuses = [
      { id: 'otlphttp/a', pipeline: 'metrics', endpoint: 'x', queue: q.status() },
      { id: 'otlphttp/a', pipeline: 'metrics/other', endpoint: 'x', queue: { ...q.status(), sizer: 'items' as const } },
      { id: 'file', pipeline: 'metrics', endpoint: '/var/log/m.jsonl', written: { requests: 3, points: 7, failures: 1, lastError: 'ENOSPC' } },
    ];
    const fams = new Map(exporterFamilies(statuses).map((f) => [f.name, f]));
    const value = (name: string, series = 0, reason?: string): number => {
      const f = fams.get(name);
      assert.ok(f, name);
      const ms = reason ? f.metrics.filter((m) => m.labels.some((l) => l.name === 'reason' && l.value === reason)) : f.metrics;
      const m = ms[series];
      assert.ok(m && m.kind === 'scalar', name);
      return m.value;
    };
    const first = fams.get('kata_monitor_otlp_sent_batches_total')!;
    assert.deepEqual(
      first.metrics.map((m) => m.labels),
      [
        [
          { name: 'exporter', value: 'otlphttp/a' },
          { name: 'pipeline', value: 'metrics' },
        ],
        [
          { name: 'exporter', value: 'otlphttp/a' },
          { name: 'pipeline', value: 'metrics/other' },
        ],
      ],
      'exporters without a queue have none of these series',
    );
    assert.equal(first.type, 'counter');
    assert.equal(value('kata_monitor_otlp_queue_batches'), 0);
    assert.equal(value('kata_monitor_otlp_queue_capacity_batches'), 10);
    assert.equal(value('kata_monitor_otlp_queue_capacity_points'), 0);
    assert.equal(value('kata_monitor_otlp_queue_capacity_batches', 1), 0);
    assert.equal(value('kata_monitor_otlp_queue_capacity_points', 1), 10);
    assert.equal(value('kata_monitor_otlp_sent_batches_total'), 2);
    assert.equal(value('kata_monitor_otlp_sent_points_total'), 3);
    assert.equal(value('kata_monitor_otlp_failed_sends_total'), 1);
    assert.equal(value('kata_monitor_otlp_queue_persistent'), 0);
    assert.equal(value('kata_monitor_otlp_dropped_batches_total', 0, 'overflow'), 0);
    assert.equal(fams.get('kata_monitor_otlp_dropped_batches_total')!.metrics.length, 2 * 6, 'every reason, for each series');
    assert.ok(value('kata_monitor_otlp_last_success_timestamp_seconds') > 1.7e9);
    // Exporters that write at once: what they wrote and failed to, and no queue series.
    assert.deepEqual(fams.get('kata_monitor_otlp_written_points_total')!.metrics.map((m) => m.labels[0]!.value), ['file']);
    assert.equal(value('kata_monitor_otlp_written_points_total'), 7);
    assert.equal(value('kata_monitor_otlp_write_failures_total'), 1);
  });
});
