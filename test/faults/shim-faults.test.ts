// One broken shim among healthy ones, through the real daemon: the daemon keeps
// serving, the other sandboxes' data is intact, the failure is visible in the
// log (naming the sandbox and the cause) and in metrics, and neither file
// descriptors nor memory stay behind.

import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { FakeShimBehaviour, FakeShimBehaviourName } from '../support/fake-shim.ts';
import { assertNoLeak, eventually, findLog, podFor, sampleValue, sandboxSamplesIntact, startHarness, type Harness } from './support.ts';

const GOOD = ['aaaa-good-go', 'bbbb-good-rs'];
const BAD = 'cccc-bad';

/** A harness with two healthy sandboxes (one per root); the caller adds the broken one. */
async function withHealthyNeighbours(t: TestContext): Promise<Harness> {
  const h = await startHarness();
  t.after(() => h.stop());
  await h.addShim(GOOD[0]!, 'ok', 0);
  await h.addShim(GOOD[1]!, 'ok', 1);
  return h;
}

async function assertFaultIsolated(h: Harness, reason: string): Promise<void> {
  for (const id of [...GOOD, BAD]) await h.known(id);
  const text = await h.metrics();

  // (a) the daemon keeps serving
  const list = await h.get('/sandboxes');
  assert.equal(list.status, 200);
  assert.deepEqual(list.text.split('\n').filter(Boolean).sort(), [...GOOD, BAD].sort());
  assert.equal((await h.get('/healthz')).status, 200);

  // (b) the other sandboxes' data is intact, with their CRI labels
  for (const id of GOOD) {
    assert.ok(sandboxSamplesIntact(text, id), `samples of ${id} intact:\n${text.split('\n').filter((l) => l.includes(id)).join('\n')}`);
    assert.equal(sampleValue(text, 'kata_monitor_sandbox_scrape_up', { sandbox_id: id }), 1);
  }
  assert.ok(!text.split('\n').some((l) => !l.startsWith('kata_monitor_') && l.includes(`sandbox_id="${BAD}"`)), 'no sample of the broken sandbox');

  // (c) the failure is visible: metrics …
  assert.equal(sampleValue(text, 'kata_monitor_sandbox_scrape_up', { sandbox_id: BAD }), 0);
  assert.ok((sampleValue(text, 'kata_monitor_scrape_failed_count') ?? 0) >= 1);
  assert.ok((sampleValue(text, 'kata_monitor_sandbox_scrape_errors_count', { reason }) ?? 0) >= 1, `errors_count{reason="${reason}"}`);
  assert.equal(sampleValue(text, 'kata_monitor_running_shim_count'), 3);
  // … and a log line naming the sandbox and the cause
  const line = findLog(h.logs, (l) => l.sandbox_id === BAD && l.reason === reason);
  assert.ok(line, `a log line for ${BAD} with reason ${reason}; got:\n${h.logs.filter((l) => l.level !== 'debug').map((l) => JSON.stringify(l)).join('\n')}`);
  assert.equal(line.level, 'warning');
  assert.equal(typeof line.error, 'string');

  // (d) repeated failing scrapes leave no fd or memory behind
  await assertNoLeak(
    async () => {
      for (let i = 0; i < 5; i++) await h.metrics();
    },
    async () => void (await h.metrics()),
  );
}

function shimFault(name: string, behaviour: FakeShimBehaviour | FakeShimBehaviourName, reason: string): void {
  test(name, async (t) => {
    const h = await withHealthyNeighbours(t);
    await h.addShim(BAD, behaviour);
    await assertFaultIsolated(h, reason);
  });
}

describe('a broken shim costs only its own sandbox', { timeout: 60_000 }, () => {
  shimFault('1. a slow shim that answers after the timeout: timeout', { kind: 'slow', delayMs: 1500 }, 'timeout');
  shimFault('2. a hung shim that accepts and never answers: timeout', 'hang', 'timeout');
  shimFault('3. a garbage body: malformed', 'garbage', 'malformed');
  shimFault('4. a 100 MB stream over the size cap: too-large, not buffered', { kind: 'huge', bytes: 100 * 1024 * 1024 }, 'too-large');
  shimFault('5. a shim that closes the connection mid-body: closed', 'close-mid-body', 'closed');
  shimFault('a shim answering HTTP 500: status', 'status-500', 'status');

  test('6a. a sandbox directory without a socket: no-socket', async (t) => {
    const h = await withHealthyNeighbours(t);
    await mkdir(path.join(h.roots[0]!, BAD));
    h.pods.set(BAD, podFor(BAD));
    h.cri().setPods([...h.pods.values()]);
    await assertFaultIsolated(h, 'no-socket');
  });

  test('6b. a regular file where the socket should be: no-socket', async (t) => {
    const h = await withHealthyNeighbours(t);
    await mkdir(path.join(h.roots[0]!, BAD));
    await writeFile(path.join(h.roots[0]!, BAD, 'shim-monitor.sock'), 'not a socket');
    h.pods.set(BAD, podFor(BAD));
    h.cri().setPods([...h.pods.values()]);
    await assertFaultIsolated(h, 'no-socket');
  });

  test('7. a sandbox directory removed during a scrape: no error logged, gone from the output', async (t) => {
    const h = await startHarness({ shimTimeout: '2s' });
    t.after(() => h.stop());
    await h.addShim(GOOD[0]!, 'ok', 0);
    const leaving = await h.addShim(BAD, { kind: 'slow', delayMs: 600 });
    await h.known(GOOD[0]!);
    await h.known(BAD);

    const answer = h.get('/metrics');
    await eventually(() => leaving.requests > 0, 3000, 'the scrape reaching the leaving shim');
    // Kata removes the directory and the shim exits: here the directory goes
    // first (discovery notices), then the shim drops the connection mid-scrape.
    await rm(path.join(h.roots[0]!, BAD), { recursive: true, force: true });
    await eventually(() => !h.daemon.registry.has(BAD), 3000, 'discovery noticing the removal');
    await leaving.close();
    const r = await answer;

    assert.equal(r.status, 200);
    assert.ok(sandboxSamplesIntact(r.text, GOOD[0]!));
    assert.ok(!r.text.includes(BAD), `the removed sandbox is not in the output:\n${r.text.split('\n').filter((l) => l.includes(BAD)).join('\n')}`);
    const noisy = h.logs.filter((l) => (l.level === 'warning' || l.level === 'error') && JSON.stringify(l).includes(BAD));
    assert.deepEqual(noisy, [], 'no warning or error about a sandbox that is gone');
    assert.equal(sampleValue(await h.metrics(), 'kata_monitor_running_shim_count'), 1);
  });

});

test('a family typed differently in one sandbox is left out for that sandbox only, and said in the log; the answer goes on', async (t) => {
  const h = await withHealthyNeighbours(t);
  // kata_hypervisor_fds is a gauge in the healthy shims' bodies; here a counter. Go's encoder would stop the answer there.
  const odd = 'zzzz-odd-type';
  await h.addShim(odd, 'ok', 0, '# TYPE kata_hypervisor_fds counter\nkata_hypervisor_fds 9\n# TYPE kata_agent_scrape_count counter\nkata_agent_scrape_count 4\n');
  for (const id of [...GOOD, odd]) await h.known(id);
  const text = await h.metrics();
  assert.match(text, /^# TYPE kata_hypervisor_fds gauge$/m);
  assert.equal(sampleValue(text, 'kata_hypervisor_fds', { sandbox_id: odd }), undefined, 'the odd sandbox\'s sample is left out');
  for (const id of GOOD) assert.equal(sampleValue(text, 'kata_hypervisor_fds', { sandbox_id: id }), 7);
  assert.equal(sampleValue(text, 'kata_agent_scrape_count', { sandbox_id: odd }), 4, 'its other families are served');
  assert.equal(sampleValue(text, 'kata_monitor_sandbox_scrape_up', { sandbox_id: odd }), 1);
  const line = findLog(h.logs, (l) => l.family === 'kata_hypervisor_fds' && l.sandbox === odd);
  assert.ok(line, 'a log line names the family and the sandbox');
  assert.equal(line.level, 'warning');
  assert.deepEqual([line.type, line.expected], ['counter', 'gauge']);
});
