// Reliability of the OTLP push, with the real daemon (startDaemon + the
// exporting the CLI plugs in) scraping fake shims on unix sockets and pushing
// to real OTLP receivers on 127.0.0.1 that fail on cue:
//   16. a backend answering 503 for seconds, then recovering;
//   17. a backend that accepts and never answers.
// Each: the daemon keeps serving /metrics, the failure shows in a log line and
// in kata_monitor_otlp_* metrics, what arrives is exactly what the queue
// policy says, and fds and heap come back to where they were.
//
// Delivery is at least once, as OTLP promises: an attempt the client gave up
// on (its timeout) may still have been accepted by the backend, and the
// batch is sent again. So every batch arrives at least once and in order; a
// batch arrives twice only right after an attempt of it timed out (counted
// from the daemon's kata_monitor_otlp_failed_sends_total and its log),
// never otherwise. Under CPU load this happens; on an idle machine it
// rarely does.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultFlags, type FlagName } from '../../src/cli/flags.ts';
import { parseConfig, type Config } from '../../src/components.ts';
import { createLogger, type Logger } from '../../src/log/logger.ts';
import { startDaemon, type Daemon } from '../../src/main.ts';
import type { ExportingFactory } from '../../src/export-contract.ts';
import { createExporting } from '../../src/otel/exporting.ts';
import type { Snapshot, SnapshotSource } from '../../src/scrape/snapshot.ts';
import { flatten, onlyMetrics, startReceiver, type DecodedRequest, type Receiver } from '../otel/support/receiver.ts';
import { FAST_RECEIVER, openFds, sampleValue, SCRAPES_FAMILY, settledHeap, startHost, until, type Host } from './support.ts';

/**
 * Heap may wander this much after GC with nothing held (measured: about
 * 0.5 MB, code compiled for paths first taken during the fault). The batches
 * are the demo payload of several sandboxes (hundreds of KB each), so a queue
 * that kept what it should have dropped would show well above it.
 */
const HEAP_SLACK = 4 * 1024 * 1024;
/** An fd or two may be a keep-alive socket that was not yet replaced. */
const FD_SLACK = 2;

interface LogLine {
  level: string;
  msg: string;
  /** Requests that had reached the exporter's receiver when the line was written (see `arrivals`). */
  arrived?: number;
  [k: string]: unknown;
}

/**
 * Every line the daemon logs, without the rate limit: the retry lines are
 * counted. (The CLI's rate limit writes the first line of each kind at once,
 * so whatever one line here shows, the daemon's log shows too.) Each line
 * notes how many requests its exporter's receiver had got by then.
 */
function captureLogger(): { logger: Logger; lines: LogLine[]; arrivals: Map<string, Receiver> } {
  const lines: LogLine[] = [];
  const arrivals = new Map<string, Receiver>();
  const logger = createLogger({
    level: 'info',
    format: 'json',
    write: (l) => {
      const line = JSON.parse(l) as LogLine;
      const r = arrivals.get(String(line['exporter']));
      if (r) line.arrived = r.attempts.length;
      lines.push(line);
    },
  });
  return { logger, lines, arrivals };
}

const RETRY_LINE = 'OTLP export failed; will retry';

/** The value of the test shims' counter for one sandbox in a snapshot body. */
function counterIn(snapshot: Snapshot, id: string): number | undefined {
  const s = snapshot.sandboxes.find((x) => x.sandbox.id === id);
  const m = s?.scan && new RegExp(`^${SCRAPES_FAMILY} (\\d+)$`, 'm').exec(s.scan.body.toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

/** The same counter in a received OTLP request. */
function counterInRequest(req: DecodedRequest, id: string): number | undefined {
  const p = flatten(req).find((x) => x.metric === SCRAPES_FAMILY && x.attrs['sandbox_id'] === id);
  return p?.point.asDouble;
}

/**
 * The batches one receiver accepted, in arrival order: the receiver's
 * request index and the test shims' counter of the first sandbox (which
 * push it is).
 */
function accepted(receiver: Receiver, id: string): { n: number; key: number }[] {
  const bodies = new Map(receiver.bodies.map((b) => [b.n, b.request]));
  return receiver.attempts
    .filter((a) => typeof a.status === 'number' && a.status >= 200 && a.status < 300)
    .sort((a, b) => a.n - b.n)
    .map((a) => {
      const body = bodies.get(a.n);
      const key = body && counterInRequest(body, id);
      assert.ok(key !== undefined, `accepted request ${a.n} carries the counter of ${id}`);
      return { n: a.n, key };
    });
}

/**
 * At-least-once delivery, in order: the distinct batches arrive in the
 * order they were made, the copies of one batch one after the other, and
 * each copy after the first is justified by a timed-out attempt of it: a
 * timeout logged after the previous copy reached the receiver and before
 * this one did. (The line notes how many requests had reached the receiver
 * when it was written: a copy the backend accepted after the client had
 * given up reaches it only just after the timeout, never later than the
 * attempt that follows, which waits for its backoff.) Each timeout
 * justifies one copy at most. Returns the distinct batches and the number
 * of duplicates.
 */
function assertAtLeastOnceInOrder(copies: readonly { n: number; key: number }[], timeouts: readonly LogLine[]): { distinct: number[]; duplicates: number } {
  const keys = copies.map((c) => c.key);
  assert.deepEqual(keys, [...keys].sort((a, b) => a - b), 'batches arrive in the order they were made, the copies of one batch together');
  const free = timeouts.map((l) => l.arrived ?? -1).sort((a, b) => a - b);
  let duplicates = 0;
  for (let i = 1; i < copies.length; i++) {
    const prev = copies[i - 1]!;
    const cur = copies[i]!;
    if (cur.key !== prev.key) continue;
    duplicates++;
    const t = free.findIndex((a) => a >= prev.n && a <= cur.n);
    assert.ok(t >= 0, `batch ${cur.key} arrived twice (requests ${prev.n} and ${cur.n}) with no timed-out attempt in between (timeouts logged at arrivals ${free.join(',') || 'none'})`);
    free.splice(t, 1);
  }
  return { distinct: [...new Set(keys)], duplicates };
}

/**
 * The exporting the CLI uses, fed through a snapshot source that records
 * which snapshot each push took (a push is identified by the first shim's
 * counter in it). /metrics keeps using the real scraper.
 */
function recordingExporting(id: string, pushes: { key: number; at: number }[]): ExportingFactory<Config> {
  return (parts) => {
    const real = parts.source;
    const source: SnapshotSource = {
      read: (reader, reason) =>
        real.read((s) => {
          const key = counterIn(s, id);
          if (key !== undefined) pushes.push({ key, at: Date.now() });
          return reader(s);
        }, reason),
      latest: () => real.latest(),
    };
    return createExporting({ ...parts, source });
  };
}

async function startInProcess(host: Host, yaml: string, logger: Logger, exporting: ExportingFactory<Config>): Promise<Daemon> {
  const flags = { ...defaultFlags(), listenAddress: '127.0.0.1:0', sandboxRoots: host.roots, runtimeEndpoint: host.runtimeEndpoint };
  const explicit = new Set<FlagName>(['listen-address', 'sandbox-root', 'runtime-endpoint']);
  const r = parseConfig(yaml, { flags, explicitFlags: explicit, env: {} });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return startDaemon(r.config, logger, exporting);
}

async function getMetrics(daemon: Daemon): Promise<string> {
  const res = await fetch(`${daemon.url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

const base = (r: Receiver): string => r.url.replace(/\/v1\/metrics$/, '');

/** The receivers keep only what the assertions read: their memory is not the daemon's. */
const startSlimReceiver = (): Promise<Receiver> =>
  startReceiver(() => ({}), { keep: onlyMetrics((n) => n === SCRAPES_FAMILY || n === 'kata_monitor_otlp_dropped_batches_total') });

describe('16. an OTLP backend answering 503 for seconds, then recovering', () => {
  const CAPACITY = 4;
  let host: Host;
  let receiver: Receiver;
  let daemon: Daemon | undefined;
  const pushes: { key: number; at: number }[] = [];
  const { logger, lines, arrivals } = captureLogger();

  before(async () => {
    host = await startHost({ sandboxes: 2, fullPayload: true, padKiB: 256 });
    receiver = await startSlimReceiver();
    arrivals.set('otlphttp', receiver);
    daemon = await startInProcess(
      host,
      `receivers:
  kata_monitor:
    collection_interval: 200ms
${FAST_RECEIVER}
    # The padding's label values are KiB long: over the default limit of 128 bytes.
    label_value_length_limit: 0
exporters:
  otlphttp:
    endpoint: ${base(receiver)}
    # Short, so that an outage of seconds is many attempts: each 503 goes
    # back to the queue, whose policy is what this test watches.
    timeout: 700ms
    retry_on_failure: { initial_interval: 50ms, max_interval: 100ms }
    sending_queue: { queue_size: ${CAPACITY}, drop_policy: oldest }
service:
  pipelines:
    metrics: { receivers: [kata_monitor], exporters: [otlphttp] }
`,
      logger,
      recordingExporting(host.ids[0]!, pushes),
    );
  });

  after(async () => {
    await daemon?.stop(2000);
    await receiver?.close();
    await host?.stop();
  });

  it('queues through the outage, drops the oldest beyond the bound (counted, logged), delivers the rest at least once, in order, after recovery', async (t) => {
    const d = daemon!;
    const id = host.ids[0]!;
    const depth = (text: string) => sampleValue(text, 'kata_monitor_otlp_queue_batches', { exporter: 'otlphttp' });
    const overflow = (text: string) => sampleValue(text, 'kata_monitor_otlp_dropped_batches_total', { exporter: 'otlphttp', reason: 'overflow' });
    const failedSends = (text: string) => sampleValue(text, 'kata_monitor_otlp_failed_sends_total', { exporter: 'otlphttp' });
    const retryLines = () => lines.filter((l) => l.msg === RETRY_LINE && l['exporter'] === 'otlphttp');
    const isTimeout = (l: LogLine) => l['error'] === 'no answer within 700 ms';

    // Warm up (pushes delivered, /metrics asked: fetch's own code loads then), then the baseline.
    await receiver.waitFor(3, 10_000);
    for (let i = 0; i < 3; i++) await getMetrics(d);
    const fdsBefore = openFds();
    const heapBefore = await settledHeap();

    // The outage: seconds of 503 with retries every 50–150 ms.
    receiver.behave(() => ({ status: 503 }));
    const outageAt = Date.now();
    const arrivedBefore = receiver.attempts.length;

    // While it lasts the daemon serves /metrics, and the queue fills to its bound and overflows.
    const during = await until(
      async () => {
        const text = await getMetrics(d);
        return depth(text) === CAPACITY && (overflow(text) ?? 0) >= 3 ? text : undefined;
      },
      15_000,
      'a full queue that overflowed',
    );
    assert.ok(sampleValue(during, SCRAPES_FAMILY, { sandbox_id: id }) !== undefined, '/metrics still carries the shims\' data');
    assert.ok((failedSends(during) ?? 0) >= 3);
    assert.equal(sampleValue(during, 'kata_monitor_otlp_queue_capacity_batches', { exporter: 'otlphttp' }), CAPACITY);
    // The head batch is retried again and again while it lasts.
    await until(() => receiver.attempts.filter((a) => a.status === 503).length >= 5, 15_000, 'five attempts answered 503');

    // Recovery.
    receiver.behave(() => ({}));
    const recoveredAt = Date.now();
    await until(() => pushes.some((p) => p.at > recoveredAt + 300 && receiver.received.some((r) => counterInRequest(r.request, id) === p.key)), 10_000, 'a push made after recovery to arrive');
    // Drained: at most the batch of the push under way.
    const after = await until(async () => {
      const text = await getMetrics(d);
      return (depth(text) ?? 99) <= 1 ? text : undefined;
    }, 10_000, 'the queue to drain');
    const droppedOverflow = overflow(after) ?? -1;
    for (const reason of ['rejected', 'expired', 'retry_disabled', 'shutdown', 'storage']) {
      assert.equal(sampleValue(after, 'kata_monitor_otlp_dropped_batches_total', { exporter: 'otlphttp', reason }), 0, reason);
    }
    // Every failed attempt is counted and logged, and is a 503 or a timeout (under CPU load a
    // 700 ms timeout can fire while the answer waits to be read).
    const failedLogged = retryLines().length;
    const failedCounted = failedSends(await getMetrics(d)) ?? -1;
    assert.ok(failedCounted >= failedLogged && failedCounted <= retryLines().length, `failed sends: ${failedCounted} counted, ${failedLogged}…${retryLines().length} logged`);
    assert.deepEqual(retryLines().filter((l) => !/^HTTP 503/.test(String(l['error'])) && !isTimeout(l)), [], 'every failure a 503 or a timeout');

    // Back to baseline once drained.
    assert.ok(openFds() <= fdsBefore + FD_SLACK, `fds: ${openFds()} now, ${fdsBefore} before the outage`);
    const heapAfter = await settledHeap();
    assert.ok(heapAfter <= heapBefore + HEAP_SLACK, `heap: ${heapAfter} after recovery, ${heapBefore} before the outage`);

    // Stop (the final flush goes to a healthy backend) so that every push is accounted for.
    await d.stop(5000);
    daemon = undefined;

    const pushed = pushes.map((p) => p.key);
    assert.equal(new Set(pushed).size, pushed.length, 'each push took its own snapshot');
    // At least once, in order; a second copy only after a timed-out attempt.
    const copies = accepted(receiver, id);
    const { distinct: delivered, duplicates } = assertAtLeastOnceInOrder(copies, retryLines().filter(isTimeout));
    t.diagnostic(`${copies.length} batches accepted, ${duplicates} of them again after a timed-out attempt (${retryLines().filter(isTimeout).length} timeouts)`);
    assert.ok(delivered.every((k) => pushed.includes(k)));

    // What is missing: exactly the drops (overflow, plus what a slow final
    // flush left at stop), all from the outage, the oldest ones. The one
    // exception the policy allows: the batch on the wire when the queue
    // overflowed is not pulled back (it must have been tried).
    const drops = (reason: string) => lines.filter((l) => l.msg === 'OTLP batch dropped' && l['exporter'] === 'otlphttp' && l['reason'] === reason).length;
    assert.equal(drops('overflow'), droppedOverflow, 'every overflow drop counted is logged');
    const atStop = pushed.filter((k) => !delivered.includes(k) && pushes.find((p) => p.key === k)!.at >= recoveredAt);
    assert.equal(atStop.length, drops('shutdown'), 'a batch made after the recovery is missing only when dropped at stop');
    const missing = pushed.filter((k) => !delivered.includes(k) && !atStop.includes(k));
    assert.equal(missing.length, droppedOverflow, 'every other missing batch is counted as an overflow drop');
    const index = (k: number) => pushed.indexOf(k);
    const first = index(missing[0]!);
    const last = index(missing[missing.length - 1]!);
    const holes = pushed.slice(first, last + 1).filter((k) => delivered.includes(k));
    assert.ok(holes.length <= 1, `missing batches form one run of consecutive pushes (holes: ${holes.join(',')})`);
    const firstAfterOutage = copies.find((c) => c.n >= arrivedBefore)?.key;
    for (const h of holes) {
      const tried = receiver.bodies.some((b) => counterInRequest(b.request, id) === h && receiver.attempts.find((a) => a.n === b.n)?.status === 503);
      assert.ok(tried, `batch ${h}, kept while older ones were dropped, was the one on the wire`);
      assert.equal(h, firstAfterOutage, 'and it is the first one delivered after the outage');
    }
    const lastMissingPushAt = pushes[last]!.at;
    assert.ok(lastMissingPushAt < recoveredAt, 'only batches made before the recovery are missing');
    // Everything newer than the dropped run arrived: the last CAPACITY batches of the outage and all that followed.
    assert.deepEqual(
      delivered.filter((k) => index(k) > last),
      pushed.slice(last + 1).filter((k) => !atStop.includes(k)),
    );
    // Those that waited: made while the backend refused, delivered after it
    // recovered. (Not necessarily CAPACITY of them: pushes made after the
    // recovery but before the next retry still push the oldest out.)
    const waited = pushes.filter((p, i) => (i > last || holes.includes(p.key)) && p.at > outageAt && p.at < recoveredAt);
    assert.ok(waited.length >= 1, 'batches made during the outage waited in the queue and arrived after it');
    for (const p of waited) {
      const got = receiver.received.find((r) => counterInRequest(r.request, id) === p.key);
      assert.ok(got && got.at >= recoveredAt, `batch ${p.key} arrived after the recovery`);
    }

    // The failure is in the log: the retries and the drops.
    assert.ok(lines.some((l) => l.level === 'warning' || l.level === 'warn'));
    assert.ok(retryLines().some((l) => /^HTTP 503/.test(String(l['error']))), 'a retry line naming the 503');
    assert.ok(lines.some((l) => l.msg === 'OTLP batch dropped' && l['reason'] === 'overflow'), 'a drop line naming the overflow');
    // …and travels with the data: the batches carry the queue's own metrics.
    const otlpDrops = receiver.received.flatMap((r) => flatten(r.request)).filter((p) => p.metric === 'kata_monitor_otlp_dropped_batches_total' && p.attrs['reason'] === 'overflow');
    assert.ok(otlpDrops.some((p) => (p.point.asDouble ?? 0) > 0));
  });
});

describe('17. an OTLP backend that accepts and never answers', () => {
  const CAPACITY = 3;
  const TIMEOUT_MS = 300;
  let host: Host;
  let hanging: Receiver;
  let healthy: Receiver;
  let daemon: Daemon | undefined;
  const { logger, lines, arrivals } = captureLogger();

  before(async () => {
    host = await startHost({ sandboxes: 2, fullPayload: true, padKiB: 256 });
    hanging = await startSlimReceiver();
    arrivals.set('otlphttp/hang', hanging);
    // Only counts what it gets.
    healthy = await startReceiver(() => ({}), { decode: false });
    daemon = await startInProcess(
      host,
      `receivers:
  kata_monitor:
    collection_interval: 150ms
${FAST_RECEIVER}
    # The padding's label values are KiB long: over the default limit of 128 bytes.
    label_value_length_limit: 0
exporters:
  otlphttp/hang:
    endpoint: ${base(hanging)}
    timeout: ${TIMEOUT_MS}ms
    retry_on_failure: { initial_interval: 20ms, max_interval: 50ms }
    sending_queue: { queue_size: ${CAPACITY} }
  otlphttp/ok:
    endpoint: ${base(healthy)}
service:
  pipelines:
    metrics: { receivers: [kata_monitor], exporters: [otlphttp/hang, otlphttp/ok] }
`,
      logger,
      createExporting,
    );
  });

  after(async () => {
    await daemon?.stop(2000);
    await hanging?.close();
    await healthy?.close();
    await host?.stop();
  });

  it('times out each send, one connection at a time, without piling up memory; the other exporter and /metrics carry on', async (t) => {
    const d = daemon!;
    await hanging.waitFor(2, 10_000);
    await healthy.waitFor(2, 10_000);
    for (let i = 0; i < 3; i++) await getMetrics(d);
    const fdsBefore = openFds();
    const heapBefore = await settledHeap();

    hanging.behave(() => ({ hang: true }));
    const hangAt = Date.now();
    const attemptsBefore = hanging.attempts.length;
    const healthyBefore = healthy.received.length;
    const pushesWanted = healthyBefore + 10;
    // A while of hanging: the healthy exporter keeps delivering every push meanwhile.
    await healthy.waitFor(pushesWanted, 20_000);
    const text = await getMetrics(d);
    const elapsed = Date.now() - hangAt;
    const hungAttempts = hanging.attempts.length - attemptsBefore;

    // No pile-up: one request, one connection at a time, each cut at the timeout.
    assert.equal(hanging.inFlight.max, 1, 'requests at once at the hanging backend');
    assert.equal(hanging.connections.max, 1, 'connections at once at the hanging backend');
    assert.ok(hanging.connections.now <= 1);
    assert.ok(hungAttempts >= 2, `${hungAttempts} attempts hung`);
    assert.ok(hungAttempts <= Math.ceil(elapsed / TIMEOUT_MS) + 1, `${hungAttempts} attempts in ${elapsed} ms: each waited for its ${TIMEOUT_MS} ms timeout`);
    assert.ok(hanging.connections.total <= attemptsBefore + hungAttempts + 1, 'a timed-out request takes its connection with it (no reuse of a hung socket, no extra ones)');
    assert.ok(healthy.inFlight.max <= 1 && healthy.connections.max <= 1);

    // Visible: metrics…
    const hang = { exporter: 'otlphttp/hang', pipeline: 'metrics' };
    assert.equal(sampleValue(text, 'kata_monitor_otlp_queue_batches', hang), CAPACITY);
    assert.ok((sampleValue(text, 'kata_monitor_otlp_failed_sends_total', hang) ?? 0) >= 2);
    assert.ok((sampleValue(text, 'kata_monitor_otlp_dropped_batches_total', { ...hang, reason: 'overflow' }) ?? 0) > 0);
    assert.equal(sampleValue(text, 'kata_monitor_otlp_failed_sends_total', { exporter: 'otlphttp/ok' }), 0);
    assert.ok(sampleValue(text, SCRAPES_FAMILY, { sandbox_id: host.ids[0]! }) !== undefined, '/metrics still serves the shims\' data');
    // …and the log.
    const timedOut = (l: LogLine) => l.msg === RETRY_LINE && l['exporter'] === 'otlphttp/hang' && l['error'] === `no answer within ${TIMEOUT_MS} ms`;
    const timeouts = lines.filter((l) => l.msg === RETRY_LINE && l['exporter'] === 'otlphttp/hang');
    assert.ok(timeouts.length > 0 && timeouts.every(timedOut));

    // Memory stays bounded while it hangs (the queue is bounded; hung sockets are destroyed).
    const heapHanging = await settledHeap();
    const batchBytes = Math.max(...healthy.received.map((r) => r.rawBytes));
    const bound = heapBefore + CAPACITY * batchBytes + HEAP_SLACK;
    assert.ok(heapHanging <= bound, `heap while hanging: ${heapHanging}, before: ${heapBefore}, at most ${CAPACITY} queued batches of ${batchBytes} bytes`);

    // Recovery: the queue drains, fds and heap come back.
    hanging.behave(() => ({}));
    await until(async () => (sampleValue(await getMetrics(d), 'kata_monitor_otlp_queue_batches', hang) ?? 99) <= 1, 10_000, 'the hanging exporter\'s queue to drain');
    await until(() => hanging.connections.now <= 1 && openFds() <= fdsBefore + FD_SLACK, 5000, `fds back to ${fdsBefore} (+${FD_SLACK})`);
    const heapAfter = await settledHeap();
    assert.ok(heapAfter <= heapBefore + HEAP_SLACK, `heap after recovery: ${heapAfter}, before: ${heapBefore}`);
    // Delivered in order after recovery, at least once; twice only after a timed-out attempt.
    const copies = accepted(hanging, host.ids[0]!);
    const { duplicates } = assertAtLeastOnceInOrder(copies, lines.filter(timedOut));
    t.diagnostic(`${copies.length} batches accepted by the once hanging backend, ${duplicates} of them again after a timed-out attempt`);
  });
});
