// Discovery and CRI faults through the real daemon: bursts of sandboxes, roots
// that are missing or replaced, a CRI runtime that is down, flaps or hangs.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { status } from '@grpc/grpc-js';
import { fdCounts } from '../discovery/helpers.ts';
import { eventually, findLog, openFds, samples, sampleValue, sandboxSamplesIntact, startHarness } from './support.ts';

const listed = async (h: { get(p: string): Promise<{ status: number; text: string }> }): Promise<string[]> => {
  const r = await h.get('/sandboxes');
  assert.equal(r.status, 200);
  return r.text.split('\n').filter(Boolean);
};

describe('discovery faults', { timeout: 60_000 }, () => {
  test('8. 1,000 sandboxes created and removed in a burst: the registry follows the directories, no watcher or fd leak', async (t) => {
    const h = await startHarness();
    t.after(() => h.stop());
    await h.metrics();
    const fd0 = openFds();
    const watches0 = fdCounts().inotifyWatches;
    const ids = Array.from({ length: 1000 }, (_, i) => `burst-${String(i).padStart(4, '0')}`);

    await Promise.all(ids.map((id, i) => mkdir(path.join(h.roots[i % 2]!, id))));
    await eventually(async () => (await listed(h)).length === 1000, 10_000, '1,000 sandboxes listed');
    assert.deepEqual(await listed(h), ids);
    // Sandboxes without shims: the daemon still answers, every one 'no-socket'.
    const text = await h.metrics();
    assert.equal(sampleValue(text, 'kata_monitor_running_shim_count'), 1000);
    // 'no-socket' each (a loaded machine may turn a few into 'timeout': the count is what matters).
    const failed = samples(text, 'kata_monitor_sandbox_scrape_errors_count').reduce((n, l) => n + Number(l.slice(l.lastIndexOf(' ') + 1)), 0);
    assert.equal(failed, 1000);
    assert.ok((sampleValue(text, 'kata_monitor_sandbox_scrape_errors_count', { reason: 'no-socket' }) ?? 0) > 0);
    assert.equal(samples(text, 'kata_monitor_sandbox_scrape_up').filter((l) => l.endsWith(' 0')).length, 1000);

    await Promise.all(ids.filter((_, i) => i % 3 === 0).map((id, i) => rm(path.join(h.roots[(i * 3) % 2]!, id), { recursive: true })));
    const left = ids.filter((_, i) => i % 3 !== 0);
    await eventually(async () => (await listed(h)).length === left.length, 10_000, 'the first removals');
    assert.deepEqual(await listed(h), left);

    await Promise.all(left.map((id) => rm(path.join(h.roots[ids.indexOf(id) % 2]!, id), { recursive: true })));
    await eventually(async () => (await listed(h)).length === 0, 10_000, 'every sandbox gone');
    assert.equal(h.daemon.registry.list().length, 0);
    assert.equal(fdCounts().inotifyWatches, watches0, 'one inotify watch per root, none per sandbox');
    await eventually(() => openFds() <= fd0, 5000, `fds back to ${fd0}`);
  });

  test('12. roots missing at start are picked up once created', async (t) => {
    const h = await startHarness({ rootsExist: false });
    t.after(() => h.stop());
    assert.deepEqual(await listed(h), []);
    assert.equal((await h.get('/readyz')).status, 200);
    assert.ok(findLog(h.logs, (l) => l.level === 'warning' && /sandbox root/.test(l.msg)), 'the missing roots are logged');
    await h.metrics();

    await h.addShim('late-go', 'ok', 0); // creates <root>/<id> (and the root)
    await h.addShim('late-rs', 'ok', 1);
    await h.known('late-go');
    await h.known('late-rs');
    const text = await h.metrics();
    assert.ok(sandboxSamplesIntact(text, 'late-go'));
    assert.ok(sandboxSamplesIntact(text, 'late-rs'));
  });

  test('13. a root removed and re-created: its sandboxes go, then come back; the other root is untouched', async (t) => {
    const h = await startHarness();
    t.after(() => h.stop());
    await h.addShim('stays-rs', 'ok', 1);
    const go = await h.addShim('flaps-go', 'ok', 0);
    await h.known('stays-rs');
    await h.known('flaps-go');

    await go.close();
    await rm(h.roots[0]!, { recursive: true, force: true });
    await eventually(async () => (await listed(h)).join() === 'stays-rs', 5000, 'the removed root’s sandbox gone');
    let text = await h.metrics();
    assert.ok(sandboxSamplesIntact(text, 'stays-rs'));
    assert.ok(!text.includes('flaps-go'));

    await h.addShim('flaps-go', 'ok', 0);
    await eventually(async () => (await listed(h)).join() === 'flaps-go,stays-rs', 5000, 'the re-created root watched again');
    await h.known('flaps-go');
    text = await h.metrics();
    assert.ok(sandboxSamplesIntact(text, 'flaps-go'));
    assert.ok(sandboxSamplesIntact(text, 'stays-rs'));
  });
});

describe('CRI faults', { timeout: 60_000 }, () => {
  test('9. CRI down at start: the daemon starts and serves, retries, and the labels appear once CRI is up', async (t) => {
    const h = await startHarness({ criUp: false });
    t.after(() => h.stop());
    await h.addShim('early', 'ok', 0);
    await eventually(async () => (await listed(h)).includes('early'), 5000, 'the sandbox listed');
    const before = await h.metrics();
    assert.match(before, /kata_hypervisor_fds\{sandbox_id="early",cri_uid="",cri_name="",cri_namespace=""\} 7/);
    assert.equal((await h.get('/readyz')).status, 200, 'CRI is informational for readiness');
    await eventually(() => findLog(h.logs, (l) => l.level === 'error' && /metadata/.test(l.msg)), 3000, 'the CRI failure logged');

    await h.startCri();
    await h.known('early');
    assert.ok(sandboxSamplesIntact(await h.metrics(), 'early'));
  });

  test('10. CRI going down later and coming back; failing calls; known labels are kept meanwhile', async (t) => {
    const h = await startHarness();
    t.after(() => h.stop());
    await h.addShim('known-a', 'ok', 0);
    await h.known('known-a');

    await h.cri().stop();
    await h.addShim('new-b', 'ok', 0);
    await eventually(async () => (await listed(h)).includes('new-b'), 5000, 'new-b listed');
    await eventually(() => findLog(h.logs, (l) => l.level === 'error' && /metadata/.test(l.msg)), 3000, 'the CRI failure logged');
    let text = await h.metrics();
    assert.ok(sandboxSamplesIntact(text, 'known-a'), 'labels already known are kept');
    assert.match(text, /sandbox_id="new-b",cri_uid="",cri_name="",cri_namespace=""/);

    await h.cri().restart();
    await h.known('new-b');
    assert.ok(sandboxSamplesIntact(await h.metrics(), 'new-b'));

    h.cri().failWith({ code: status.INTERNAL, message: 'runtime is confused' });
    await h.addShim('new-c', 'ok', 1);
    await eventually(() => h.logs.some((l) => String(l.error ?? '').includes('runtime is confused')), 3000, 'the failing call logged');
    text = await h.metrics();
    assert.match(text, /sandbox_id="new-c",cri_uid="",cri_name="",cri_namespace=""/);
    h.cri().failWith(undefined);
    await h.known('new-c');
    text = await h.metrics();
    for (const id of ['known-a', 'new-b', 'new-c']) assert.ok(sandboxSamplesIntact(text, id), id);
  });

  test('11. a CRI slower than its timeout: calls time out, /metrics answers while CRI hangs', async (t) => {
    const h = await startHarness();
    t.after(() => h.stop());
    h.cri().delayMs = 3000; // CRI timeout is 300 ms
    await h.addShim('waits', 'ok', 0);
    await eventually(async () => (await listed(h)).includes('waits'), 5000, 'listed');
    await eventually(() => h.cri().calls > 0, 3000, 'a CRI call in flight');
    const callsBefore = h.cri().calls;
    const r = await h.get('/metrics');
    assert.equal(r.status, 200);
    assert.match(r.text, /kata_hypervisor_fds\{sandbox_id="waits",cri_uid="",cri_name="",cri_namespace=""\} 7/);
    await eventually(() => h.logs.some((l) => /did not answer within 300 ms/.test(String(l.error ?? ''))), 3000, 'the CRI timeout logged');
    await eventually(() => h.cri().calls > callsBefore, 3000, 'calls retried after the timeout');

    h.cri().delayMs = 0;
    await h.known('waits');
    assert.ok(sandboxSamplesIntact(await h.metrics(), 'waits'));
  });
});
