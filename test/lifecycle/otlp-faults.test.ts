// Reliability of the OTLP push, with the real daemon (startDaemon + the
// exporting the CLI plugs in) scraping fake shims on unix sockets and pushing
// to real OTLP receivers on 127.0.0.1 that fail on cue:
//   16. a backend answering 503 for seconds, then recovering;
//   17. a backend that accepts and never answers.
// Each: the daemon keeps serving /metrics, the failure shows in a log line and
// in kata_monitor_otlp_* metrics, what arrives is exactly what the queue
// policy says, and fds and heap come back to where they were.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { defaultFlags, type FlagName } from '../../src/cli/flags.ts';
import { parseConfig } from '../../src/config/load.ts';
import { createLogger, DEFAULT_RATE_LIMIT, type Logger } from '../../src/log/logger.ts';
import { startDaemon, type Daemon } from '../../src/main.ts';
import type { ExportingFactory } from '../../src/export-contract.ts';
import { createExporting } from '../../src/otel/exporting.ts';
import type { Scraper } from '../../src/scrape/scraper.ts';
import type { Snapshot, SnapshotSource } from '../../src/scrape/snapshot.ts';
import { flatten, onlyMetrics, startReceiver, type DecodedRequest, type Receiver } from '../otel/support/receiver.ts';
import { FAST_RECEIVER, openFds, sampleValue, SCRAPES_FAMILY, settledHeap, sleep, startHost, until, type Host } from './support.ts';

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
  [k: string]: unknown;
}

function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  // The daemon's own rate limit, as the CLI sets it: a failure must still show.
  const logger = createLogger({ level: 'info', format: 'json', rateLimit: DEFAULT_RATE_LIMIT, write: (l) => lines.push(JSON.parse(l) as LogLine) });
  return { logger, lines };
}

/** The value of the test shims' counter for one sandbox in a snapshot body. */
function counterIn(snapshot: Snapshot, id: string): number | undefined {
  const s = snapshot.sandboxes.find((x) => x.sandbox.id === id);
  const m = s?.body && new RegExp(`^${SCRAPES_FAMILY} (\\d+)$`, 'm').exec(s.body.toString('utf8'));
  return m ? Number(m[1]) : undefined;
}

/** The same counter in a received OTLP request. */
function counterInRequest(req: DecodedRequest, id: string): number | undefined {
  const p = flatten(req).find((x) => x.metric === SCRAPES_FAMILY && x.attrs['sandbox_id'] === id);
  return p?.point.asDouble;
}

/**
 * The exporting the CLI uses, fed through a scraper wrapper that records
 * which snapshot each push took (a push is identified by the first shim's
 * counter in it). /metrics keeps using the real scraper.
 */
function recordingExporting(id: string, pushes: { key: number; at: number }[]): ExportingFactory {
  return (parts) => {
    const real = parts.scraper;
    const record = (s: Snapshot): void => {
      const key = counterIn(s, id);
      if (key !== undefined) pushes.push({ key, at: Date.now() });
    };
    const source: SnapshotSource = {
      scrape: async () => {
        const s = await real.scrape();
        record(s);
        return s;
      },
      read: (reader) =>
        real.read((s) => {
          record(s);
          return reader(s);
        }),
      latest: () => real.latest(),
    };
    return createExporting({ ...parts, scraper: source as unknown as Scraper });
  };
}

async function startInProcess(host: Host, yaml: string, logger: Logger, exporting: ExportingFactory): Promise<Daemon> {
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
  const { logger, lines } = captureLogger();

  before(async () => {
    host = await startHost({ sandboxes: 2, fullPayload: true, padKiB: 256 });
    receiver = await startSlimReceiver();
    daemon = await startInProcess(
      host,
      `receivers:
  kata_monitor:
    collection_interval: 200ms
${FAST_RECEIVER}
exporters:
  otlphttp:
    endpoint: ${base(receiver)}
    # Under exporter-base's first retry of its own (1 s ±20 %, only taken
    # within the timeout): each 503 goes back to the queue, whose policy is
    # what this test watches.
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

  it('queues through the outage, drops the oldest beyond the bound (counted, logged), delivers the rest in order after recovery', async () => {
    const d = daemon!;
    const id = host.ids[0]!;
    const depth = (text: string) => sampleValue(text, 'kata_monitor_otlp_queue_batches', { exporter: 'otlphttp' });
    const overflow = (text: string) => sampleValue(text, 'kata_monitor_otlp_dropped_batches_total', { exporter: 'otlphttp', reason: 'overflow' });

    // Warm up (pushes delivered, /metrics asked: fetch's own code loads then), then the baseline.
    await receiver.waitFor(3, 10_000);
    for (let i = 0; i < 3; i++) await getMetrics(d);
    const fdsBefore = openFds();
    const heapBefore = await settledHeap();

    // The outage: seconds of 503 with retries every 50–200 ms.
    receiver.behave(() => ({ status: 503 }));
    const outageAt = Date.now();
    const deliveredBefore = receiver.received.length;

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
    assert.ok((sampleValue(during, 'kata_monitor_otlp_failed_sends_total', { exporter: 'otlphttp' }) ?? 0) >= 3);
    assert.equal(sampleValue(during, 'kata_monitor_otlp_queue_capacity_batches', { exporter: 'otlphttp' }), CAPACITY);
    await sleep(Math.max(0, outageAt + 2500 - Date.now()));
    const retried = receiver.attempts.filter((a) => a.status === 503).length;
    assert.ok(retried >= 5, `the head batch was retried (${retried} attempts answered 503)`);

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
    for (const reason of ['rejected', 'expired', 'retry_disabled', 'shutdown']) {
      assert.equal(sampleValue(after, 'kata_monitor_otlp_dropped_batches_total', { exporter: 'otlphttp', reason }), 0, reason);
    }

    // Back to baseline once drained.
    assert.ok(openFds() <= fdsBefore + FD_SLACK, `fds: ${openFds()} now, ${fdsBefore} before the outage`);
    const heapAfter = await settledHeap();
    assert.ok(heapAfter <= heapBefore + HEAP_SLACK, `heap: ${heapAfter} after recovery, ${heapBefore} before the outage`);

    // Stop (the final flush goes to a healthy backend) so that every push is accounted for.
    await d.stop(5000);
    daemon = undefined;

    const pushed = pushes.map((p) => p.key);
    const delivered = receiver.received.map((r) => counterInRequest(r.request, id)).filter((k) => k !== undefined);
    assert.equal(new Set(pushed).size, pushed.length, 'each push took its own snapshot');
    assert.deepEqual(
      delivered,
      [...delivered].sort((a, b) => a - b),
      'delivered in push order',
    );
    assert.equal(new Set(delivered).size, delivered.length, 'nothing delivered twice');
    assert.ok(delivered.every((k) => pushed.includes(k)));

    // What is missing: exactly the overflow count, all from the outage, the
    // oldest ones. The one exception the policy allows: the batch on the wire
    // when the queue overflowed is not pulled back (it must have been tried).
    const missing = pushed.filter((k) => !delivered.includes(k));
    assert.equal(missing.length, droppedOverflow, 'every missing batch is counted as an overflow drop');
    const index = (k: number) => pushed.indexOf(k);
    const first = index(missing[0]!);
    const last = index(missing[missing.length - 1]!);
    const holes = pushed.slice(first, last + 1).filter((k) => delivered.includes(k));
    assert.ok(holes.length <= 1, `missing batches form one run of consecutive pushes (holes: ${holes.join(',')})`);
    for (const h of holes) {
      const tried = receiver.bodies.some((b) => counterInRequest(b.request, id) === h && receiver.attempts.find((a) => a.n === b.n)?.status === 503);
      assert.ok(tried, `batch ${h}, kept while older ones were dropped, was the one on the wire`);
      assert.equal(h, delivered[deliveredBefore], 'and it is the first one delivered after the outage');
    }
    const lastMissingPushAt = pushes[last]!.at;
    assert.ok(lastMissingPushAt < recoveredAt, 'only batches made before the recovery are missing');
    // Everything newer than the dropped run arrived: the last CAPACITY batches of the outage and all that followed.
    assert.deepEqual(
      delivered.filter((k) => index(k) > last),
      pushed.slice(last + 1),
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
    const failed = lines.filter((l) => l.msg === 'OTLP export failed; will retry');
    assert.ok(failed.length > 0 && failed.every((l) => /^HTTP 503/.test(String(l['error']))), 'a retry line naming the 503');
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
  const { logger, lines } = captureLogger();

  before(async () => {
    host = await startHost({ sandboxes: 2, fullPayload: true, padKiB: 256 });
    hanging = await startSlimReceiver();
    // Only counts what it gets.
    healthy = await startReceiver(() => ({}), { decode: false });
    daemon = await startInProcess(
      host,
      `receivers:
  kata_monitor:
    collection_interval: 150ms
${FAST_RECEIVER}
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

  it('times out each send, one connection at a time, without piling up memory; the other exporter and /metrics carry on', async () => {
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
    const timeouts = lines.filter((l) => l.msg === 'OTLP export failed; will retry' && l['exporter'] === 'otlphttp/hang');
    assert.ok(timeouts.length > 0 && timeouts.every((l) => l['error'] === `no answer within ${TIMEOUT_MS} ms`));

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
    // Delivered in order after recovery, without duplicates.
    const keys = hanging.received.map((r) => counterInRequest(r.request, host.ids[0]!)).filter((k) => k !== undefined);
    assert.deepEqual(keys, [...new Set(keys)].sort((a, b) => a - b));
  });
});
