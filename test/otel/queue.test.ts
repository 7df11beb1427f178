import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { QueueConfig, RetryConfig } from '../../src/config/types.ts';
import { OtlpHttpExporter, queueFamilies } from '../../src/otel/exporters.ts';
import { startReceiver, type Behaviour, type Receiver } from './support/receiver.ts';
import { seqs, tiny, until } from './support/tiny.ts';

const FAST_RETRY: RetryConfig = { enabled: true, initialIntervalMs: 20, maxIntervalMs: 40, maxElapsedMs: 0 };
/**
 * exporter-base retries a retryable answer itself when its backoff (1 s
 * ±20 %, then ×1.5) fits in what is left of the timeout: below 800 ms it never
 * does, so every failure here reaches the queue.
 */
const NO_LIBRARY_RETRY_MS = 500;

async function setup(
  behaviour: Behaviour,
  opts: { queue?: Partial<QueueConfig>; retry?: Partial<RetryConfig>; timeoutMs?: number } = {},
): Promise<{ rx: Receiver; ex: OtlpHttpExporter; [Symbol.asyncDispose](): Promise<void> }> {
  const rx = await startReceiver(behaviour);
  const ex = new OtlpHttpExporter(
    {
      name: 'q',
      endpoint: rx.url,
      encoding: 'proto',
      compression: 'none',
      headers: {},
      timeoutMs: opts.timeoutMs ?? NO_LIBRARY_RETRY_MS,
      retry: { ...FAST_RETRY, ...opts.retry },
      queue: { enabled: true, sizer: 'requests', size: 10, dropPolicy: 'oldest', ...opts.queue },
    },
    { env: {}, jitter: 0 },
  );
  return {
    rx,
    ex,
    [Symbol.asyncDispose]: async () => {
      await ex.shutdown(0);
      await rx.close();
    },
  };
}

const delivered = (rx: Receiver) => rx.received.flatMap((r) => seqs(r.request));

describe('export queue', () => {
  it('holds batches through a 503 outage and delivers all of them, in order, once the backend is back', async () => {
    let down = true;
    await using env = await setup(() => (down ? { status: 503 } : {}));
    const { rx, ex } = env;
    for (let i = 1; i <= 5; i++) ex.export(tiny(i));
    await until(() => ex.status().failedSends >= 3, 3000, 'a few failed attempts');
    assert.equal(rx.received.length, 0);
    assert.equal(ex.status().depth, 5);
    down = false;
    assert.equal(await ex.forceFlush(3000), true);
    assert.deepEqual(delivered(rx), [1, 2, 3, 4, 5]);
    const s = ex.status();
    assert.equal(s.sentBatches, 5);
    assert.equal(s.sentPoints, 5);
    assert.equal(s.depth, 0);
    assert.equal(Object.values(s.droppedBatches).reduce((a, b) => a + b, 0), 0);
    assert.ok(s.lastSuccessAt !== undefined);
    // Every attempt is a request, one batch at a time, never two at once.
    assert.equal(rx.inFlight.max, 1);
  });

  it('on overflow drops the oldest waiting batches and counts them', async () => {
    let down = true;
    await using env = await setup(() => (down ? { status: 503 } : {}), { queue: { size: 3 }, retry: { initialIntervalMs: 200, maxIntervalMs: 200 } });
    const { rx, ex } = env;
    ex.export(tiny(1));
    await until(() => ex.status().failedSends === 1 && !ex.status().inFlight, 3000, 'first failure');
    for (let i = 2; i <= 6; i++) ex.export(tiny(i));
    const s = ex.status();
    assert.equal(s.depth, 3);
    assert.equal(s.droppedBatches.overflow, 3);
    assert.equal(s.droppedPoints.overflow, 3);
    down = false;
    assert.equal(await ex.forceFlush(3000), true);
    assert.deepEqual(delivered(rx), [4, 5, 6]);
  });

  it('with drop policy "newest" keeps the oldest and refuses new batches', async () => {
    await using env = await setup(() => ({ status: 503 }), { queue: { size: 2, dropPolicy: 'newest' }, retry: { initialIntervalMs: 500, maxIntervalMs: 500 } });
    const { ex } = env;
    assert.equal(ex.export(tiny(1)), true);
    assert.equal(ex.export(tiny(2)), true);
    assert.equal(ex.export(tiny(3)), false);
    assert.equal(ex.status().droppedBatches.overflow, 1);
  });

  it('against a hanging backend: each attempt ends at the timeout, one request at a time, the queue does not grow', async () => {
    await using env = await setup(() => ({ hang: true }), { timeoutMs: 100, queue: { size: 3 } });
    const { rx, ex } = env;
    const started = Date.now();
    for (let i = 1; i <= 3; i++) ex.export(tiny(i));
    await until(() => ex.status().failedSends >= 3, 3000, 'three timeouts');
    const elapsed = Date.now() - started;
    // 3 attempts × 100 ms timeout + 2 backoffs of ≥ 20 ms
    assert.ok(elapsed >= 300, `elapsed ${elapsed} ms`);
    assert.equal(rx.inFlight.max, 1);
    for (let i = 4; i <= 10; i++) ex.export(tiny(i));
    const s = ex.status();
    assert.equal(s.depth, 3);
    assert.equal(s.droppedBatches.overflow, 7);
    assert.match(s.lastError ?? '', /no answer within 100 ms/);
    assert.ok(rx.attempts.every((a) => a.status === 'hung'));
  });

  it('drops a batch the backend rejects (400) and goes on with the next', async () => {
    await using env = await setup((n) => (n === 0 ? { status: 400 } : {}));
    const { rx, ex } = env;
    ex.export(tiny(1));
    ex.export(tiny(2));
    assert.equal(await ex.forceFlush(2000), true);
    assert.deepEqual(delivered(rx), [2]);
    assert.equal(ex.status().droppedBatches.rejected, 1);
    assert.match(ex.status().lastError ?? '', /HTTP 400/);
  });

  it('gives up on a batch after retry.maxElapsedMs', async () => {
    await using env = await setup(() => ({ status: 503 }), { retry: { maxElapsedMs: 60 } });
    const { ex } = env;
    ex.export(tiny(1));
    await until(() => ex.status().droppedBatches.expired === 1, 3000, 'expiry');
    assert.equal(ex.status().depth, 0);
  });

  it('honours Retry-After from a 429', async () => {
    await using env = await setup((n) => (n === 0 ? { status: 429, retryAfter: '1' } : {}), { retry: { initialIntervalMs: 10, maxIntervalMs: 5000 } });
    const { rx, ex } = env;
    ex.export(tiny(1));
    await until(() => ex.status().nextRetryAt !== undefined, 2000, 'a scheduled retry');
    const s = ex.status();
    assert.ok(s.nextRetryAt! - (s.lastErrorAt ?? 0) >= 900, 'waits about a second');
    assert.equal(await ex.forceFlush(2000), true, 'forceFlush cuts the wait short');
    assert.deepEqual(delivered(rx), [1]);
  });

  it('forceFlush returns false at its deadline while the backend stays down; shutdown counts what is left', async () => {
    await using env = await setup(() => ({ status: 503 }));
    const { ex } = env;
    ex.export(tiny(1));
    ex.export(tiny(2));
    const t0 = Date.now();
    assert.equal(await ex.forceFlush(150), false);
    assert.ok(Date.now() - t0 < 400);
    assert.equal(await ex.shutdown(50), false);
    assert.equal(ex.status().droppedBatches.shutdown, 2);
    assert.equal(ex.export(tiny(3)), false);
  });

  it('leaves a 503 to exporter-base\'s own retry when it fits in the timeout: one attempt for the queue, two requests', async () => {
    await using env = await setup((n) => (n === 0 ? { status: 503 } : {}), { timeoutMs: 3000 });
    const { rx, ex } = env;
    ex.export(tiny(1));
    assert.equal(await ex.forceFlush(4000), true);
    assert.deepEqual(
      rx.attempts.map((a) => a.status),
      [503, 200],
    );
    assert.ok(rx.attempts[1]!.at - rx.attempts[0]!.at >= 700, 'after exporter-base\'s backoff (1 s ±20 %)');
    assert.equal(ex.status().failedSends, 0);
    assert.equal(ex.status().sentBatches, 1);
  });

  it('with sizer "items" it holds data points, not batches: the oldest waiting batches go until a new one fits', async () => {
    let down = true;
    await using env = await setup(() => (down ? { status: 503 } : {}), { queue: { sizer: 'items', size: 10 }, retry: { initialIntervalMs: 200, maxIntervalMs: 200 } });
    const { rx, ex } = env;
    ex.export(tiny(1, 4));
    await until(() => ex.status().failedSends === 1 && !ex.status().inFlight, 3000, 'first failure');
    assert.equal(ex.export(tiny(2, 4)), true);
    assert.equal(ex.status().queuedPoints, 8);
    // 8 + 4 > 10: batch 1 (waiting for its retry) makes room.
    assert.equal(ex.export(tiny(3, 4)), true);
    const s = ex.status();
    assert.equal(s.depth, 2);
    assert.equal(s.queuedPoints, 8);
    assert.equal(s.capacity, 10);
    assert.equal(s.droppedBatches.overflow, 1);
    assert.equal(s.droppedPoints.overflow, 4);
    down = false;
    assert.equal(await ex.forceFlush(3000), true);
    assert.deepEqual([...new Set(delivered(rx))], [2, 3]);
  });

  it('with sizer "items" a batch larger than the whole queue is dropped and the others kept', async () => {
    await using env = await setup(() => ({ status: 503 }), { queue: { sizer: 'items', size: 10 }, retry: { initialIntervalMs: 500, maxIntervalMs: 500 } });
    const { ex } = env;
    assert.equal(ex.export(tiny(1, 3)), true);
    assert.equal(ex.export(tiny(2, 11)), false);
    const s = ex.status();
    assert.equal(s.depth, 1);
    assert.equal(s.droppedPoints.overflow, 11);
    const fams = new Map(queueFamilies([ex]).map((f) => [f.name, f]));
    const scalar = (name: string): number => {
      const m = fams.get(name)?.metrics[0];
      assert.ok(m && m.kind === 'scalar', name);
      return m.value;
    };
    assert.equal(scalar('kata_monitor_otlp_queue_points'), 3);
    assert.equal(scalar('kata_monitor_otlp_queue_capacity_points'), 10);
    assert.equal(scalar('kata_monitor_otlp_queue_capacity_batches'), 0);
  });

  it('without a queue only the batch being sent is held, whatever the sizer', async () => {
    await using env = await setup(() => ({ status: 503 }), { queue: { enabled: false, sizer: 'items', size: 10 }, retry: { initialIntervalMs: 500, maxIntervalMs: 500 } });
    const { ex } = env;
    assert.equal(ex.export(tiny(1, 50)), true);
    assert.equal(ex.status().depth, 1);
  });

  it('publishes its state as kata_monitor_otlp_* families', async () => {
    await using env = await setup((n) => (n === 0 ? { status: 503 } : {}));
    const { ex } = env;
    ex.export(tiny(1));
    ex.export(tiny(2));
    assert.equal(await ex.forceFlush(2000), true);
    const fams = new Map(queueFamilies([ex]).map((f) => [f.name, f]));
    const value = (name: string, reason?: string) => {
      const f = fams.get(name);
      assert.ok(f, name);
      const m = f.metrics.find((x) => !reason || x.labels.some((l) => l.name === 'reason' && l.value === reason));
      assert.ok(m && m.kind === 'scalar');
      assert.deepEqual(m.labels[0], { name: 'exporter', value: 'q' });
      return m.value;
    };
    assert.equal(value('kata_monitor_otlp_queue_batches'), 0);
    assert.equal(value('kata_monitor_otlp_queue_capacity_batches'), 10);
    assert.equal(value('kata_monitor_otlp_sent_batches_total'), 2);
    assert.equal(value('kata_monitor_otlp_sent_points_total'), 2);
    assert.equal(value('kata_monitor_otlp_failed_sends_total'), 1);
    assert.equal(value('kata_monitor_otlp_dropped_batches_total', 'overflow'), 0);
    assert.ok(value('kata_monitor_otlp_last_success_timestamp_seconds') > 1.7e9);
    assert.equal(fams.get('kata_monitor_otlp_sent_batches_total')?.type, 'counter');
  });
});
