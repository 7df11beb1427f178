// 20. SIGTERM, as the kubelet sends it: the daemon as a child process
// (`node src/bin.ts …`) against slow fake shims and a real OTLP receiver.
// An answer in flight completes in full, a final OTLP push is attempted
// within service.shutdown_timeout, and the process exits 0 in bounded time,
// even when the OTLP backend never answers.

import assert from 'node:assert/strict';
import { after, afterEach, describe, it } from 'node:test';
import { startReceiver, type Receiver } from '../otel/support/receiver.ts';
import { parseText } from '../support/fixtures.ts';
import { closeServer, FAST_RECEIVER, occupy, SCRAPES_FAMILY, spawnDaemon, startHost, until, writeConfig, type Child, type Host } from './support.ts';

const SHIM_DELAY_MS = 1500;
/** service.shutdown_timeout in these tests. */
const DEADLINE_MS = 4000;
/** Process start-up and exit around the deadline (node, module loading): generous, never a speed claim. */
const EXIT_MARGIN_MS = 5000;

const children: Child[] = [];
afterEach(async () => {
  for (const c of children.splice(0)) await c.kill();
});

function config(receiver: Receiver, exporterYaml: string): string {
  return `receivers:
  kata_monitor:
    collection_interval: 1h          # one push at start; any other is the final flush
${FAST_RECEIVER}
    shim: { timeout: 5s }
exporters:
  otlphttp:
    endpoint: ${receiver.url.replace(/\/v1\/metrics$/, '')}
${exporterYaml}
service:
  shutdown_timeout: ${DEADLINE_MS}ms
  pipelines:
    metrics: { receivers: [kata_monitor], exporters: [otlphttp] }
`;
}

describe('20. SIGTERM', () => {
  let host: Host | undefined;
  let receiver: Receiver | undefined;
  after(async () => {
    await receiver?.close();
    await host?.stop();
  });

  it('during a scrape: the answer in flight completes in full, a final push reaches the backend, exit 0', async () => {
    host = await startHost({ sandboxes: 2, fullPayload: true, behaviour: { kind: 'slow', delayMs: SHIM_DELAY_MS } });
    receiver = await startReceiver();
    const file = await writeConfig(host, 'sigterm.yaml', config(receiver, '    timeout: 5s'));
    const child = spawnDaemon([...host.flags, '-listen-address=127.0.0.1:0', '-config', file]);
    children.push(child);
    const url = await child.serving;
    const port = Number(new URL(url).port);

    // The start-up push, then a reference answer (both wait for the slow shims).
    await receiver.waitFor(1, 20_000);
    const reference = await (await fetch(`${url}/metrics`)).text();
    const referenceFamilies = parseText(reference).map((f) => f.name);
    assert.ok(referenceFamilies.includes(SCRAPES_FAMILY));

    // A /metrics request held up by the slow shims…
    const before = host.shims.map((s) => s.requests);
    const answer = fetch(`${url}/metrics`);
    await until(() => host!.shims.every((s, i) => s.requests > before[i]!), 10_000, 'the scrape to reach the shims');
    // …when SIGTERM comes.
    const termAt = Date.now();
    child.proc.kill('SIGTERM');

    const res = await answer;
    assert.equal(res.status, 200);
    const body = await res.text();
    assert.ok(body.endsWith('\n'), 'the body is complete');
    const families = parseText(body);
    assert.deepEqual(
      families.map((f) => f.name),
      referenceFamilies,
      'every family of a normal answer',
    );
    const scrapes = families.find((f) => f.name === SCRAPES_FAMILY);
    assert.deepEqual(
      scrapes?.metrics.map((m) => m.labels.find((l) => l.name === 'sandbox_id')?.value).sort(),
      [...host.ids].sort(),
      'every sandbox\'s data',
    );

    const exit = await child.exited;
    assert.equal(exit.code, 0, `exit code (stderr: ${child.stderr()})`);
    assert.ok(exit.at - termAt <= DEADLINE_MS + EXIT_MARGIN_MS, `exited ${exit.at - termAt} ms after SIGTERM`);

    // The final flush: a second push, made after SIGTERM, accepted before the deadline.
    assert.equal(receiver.received.length, 2, 'the start-up push and the final one');
    const final = receiver.received[1]!;
    assert.ok(final.at >= termAt && final.at <= termAt + DEADLINE_MS, `final push ${final.at - termAt} ms after SIGTERM`);
    assert.match(child.stderr(), /msg="?stopping"? .*signal=SIGTERM/);
    assert.match(child.stderr(), /msg="?stopped"?/);
    assert.doesNotMatch(child.stderr(), /some batches were not delivered/);
    // Nothing left holding the port.
    await closeServer(await occupy(port));
  });

  it('with an OTLP backend that never answers: exit 0 within the deadline, the undelivered batch reported', async () => {
    host ??= await startHost({ sandboxes: 2 });
    for (const s of host.shims) s.setBehaviour('ok');
    await receiver?.close();
    receiver = await startReceiver(() => ({ hang: true }));
    // The request timeout is far beyond the deadline: only the deadline can end the wait.
    const file = await writeConfig(host, 'sigterm-hang.yaml', config(receiver, '    timeout: 1h'));
    const child = spawnDaemon([...host.flags, '-listen-address=127.0.0.1:0', '-config', file]);
    children.push(child);
    await child.serving;
    await until(() => receiver!.attempts.length >= 1, 20_000, 'the start-up push to hang at the backend');

    const termAt = Date.now();
    child.proc.kill('SIGTERM');
    const exit = await child.exited;
    assert.equal(exit.code, 0, `exit code (stderr: ${child.stderr()})`);
    assert.ok(exit.at - termAt >= DEADLINE_MS - 200, `it waited for the deadline (${exit.at - termAt} ms), not less`);
    assert.ok(exit.at - termAt <= DEADLINE_MS + EXIT_MARGIN_MS, `exited ${exit.at - termAt} ms after SIGTERM`);
    assert.match(child.stderr(), /OTLP shutdown: some batches were not delivered before the deadline/);
    assert.equal(receiver.received.length, 0);
    assert.ok(receiver.inFlight.max <= 1, 'one request at a time even while stopping');
  });
});
