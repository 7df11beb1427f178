// The HTTP side under load and under attack: concurrent /metrics readers share
// one fan-out; hostile query strings and paths never reach the filesystem
// outside the roots nor a shim path upstream does not serve.

import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { startFakeShim, type FakeShim } from '../support/fake-shim.ts';
import { eventually, sandboxSamplesIntact, shimBody, startHarness, type HttpAnswer } from './support.ts';

/** A shim that holds every /metrics answer until released: the fan-out stays in flight as long as we want. */
async function startGatedShim(socketPath: string, id: string): Promise<{ requests: () => number; hold: () => void; release: () => void; close: () => Promise<void> }> {
  let requests = 0;
  const held: ServerResponse[] = [];
  let open = true;
  const answer = (res: ServerResponse): void => {
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' });
    res.end(shimBody(id));
  };
  const server = createServer((_req: IncomingMessage, res: ServerResponse) => {
    requests++;
    if (open) answer(res);
    else held.push(res);
  });
  await mkdir(path.dirname(socketPath), { recursive: true });
  await new Promise<void>((r) => server.listen(socketPath, r));
  return {
    requests: () => requests,
    hold() {
      open = false;
    },
    release() {
      open = true;
      for (const res of held.splice(0)) answer(res);
    },
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

function assertShortCleanError(r: HttpAnswer, statuses: readonly number[]): void {
  assert.ok(statuses.includes(r.status), `status ${r.status}: ${r.text.slice(0, 120)}`);
  assert.ok(r.body.length < 300, `a short message, got ${r.body.length} bytes`);
  // No raw control characters echoed back (only the final newline).
  assert.ok(!/[\x00-\x09\x0b-\x1f\x7f]/.test(r.text), JSON.stringify(r.text));
  assert.ok(!r.text.slice(0, -1).includes('\n'), `one line: ${JSON.stringify(r.text)}`);
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
}

describe('HTTP side', { timeout: 60_000 }, () => {
  test('14. 50 concurrent /metrics requests are served by one shim fan-out', async (t) => {
    const h = await startHarness({ shimTimeout: '10s' });
    t.after(() => h.stop());
    const ids = ['gate-a', 'gate-b', 'gate-c'];
    const gates = await Promise.all(ids.map((id, i) => startGatedShim(path.join(h.roots[i % 2]!, id, 'shim-monitor.sock'), id)));
    t.after(() => Promise.all(gates.map((g) => g.close())));
    for (const id of ids) h.pods.set(id, { id, name: `pod-${id}`, uid: `uid-${id}`, namespace: 'faults' });
    h.cri().setPods([...h.pods.values()]);
    for (const id of ids) await h.known(id);
    await h.metrics(); // warm-up

    // Hold the next fan-out open until all 50 readers have joined it.
    for (const g of gates) g.hold();
    const before = gates.map((g) => g.requests());
    const fanouts0 = h.daemon.scraper.fanouts;
    const answers = Array.from({ length: 50 }, () => h.get('/metrics'));
    await eventually(() => gates.every((g, i) => g.requests() === before[i]! + 1), 5000, 'the fan-out reaching every shim');
    await new Promise((r) => setTimeout(r, 500)); // every reader is in by now: the handler does nothing before joining
    for (const g of gates) g.release();
    const results = await Promise.all(answers);
    // Every reader writes the whole shared snapshot, however early the others finish
    // (the snapshot's buffers are freed only when the last reader is done).
    const sandboxLines = (text: string): string => text.split('\n').filter((l) => l.includes('sandbox_id=')).join('\n');
    const first = sandboxLines(results[0]!.text);
    for (const id of ids) assert.ok(first.includes(`sandbox_id="${id}"`), id);
    for (const r of results) {
      assert.equal(r.status, 200);
      assert.equal(sandboxLines(r.text), first);
    }
    assert.deepEqual(gates.map((g, i) => g.requests() - before[i]!), [1, 1, 1], 'each shim asked once');
    assert.equal(h.daemon.scraper.fanouts - fanouts0, 1, 'one fan-out for 50 readers');
  });

  test('15. hostile query strings: 400/404, a short clean message, nothing touched outside the roots', async (t) => {
    const h = await startHarness();
    t.after(() => h.stop());
    const good = 'hostile-good';
    const shim = await h.addShim(good, 'ok', 0);
    await h.known(good);
    // Decoys where a query value joined into a path would land:
    // <dir>/vc/sbs/../../decoy, <dir>/kata/../decoy and <dir>/vc/decoy.
    const decoys: FakeShim[] = [];
    for (const p of [path.join(h.dir, 'decoy'), path.join(h.dir, 'vc', 'decoy'), path.join(h.dir, 'etc')]) {
      decoys.push(await startFakeShim({ socketPath: path.join(p, 'shim-monitor.sock'), metrics: () => 'decoy_reached 1\n' }));
    }
    t.after(() => Promise.all(decoys.map((d) => d.close())));

    const hostile = [
      '../../decoy',
      '../decoy',
      '..%2f..%2fdecoy',
      '%2e%2e%2f%2e%2e%2fdecoy',
      '%2e%2e/%2e%2e/etc',
      '../../etc',
      '..',
      '.',
      '/',
      'x'.repeat(10_240),
      '%00',
      `${good}%00`,
      'a%0ab',
      'a%0d%0aSet-Cookie:%20x=1',
      '%1b[31mred',
      'not-a-sandbox',
      '%ff%fe',
      '%',
    ];
    const routes: { path: string; statuses: number[] }[] = [
      { path: '/metrics', statuses: [404] },
      { path: '/agent-url', statuses: [400] },
      { path: '/debug/vars', statuses: [400] },
      { path: '/debug/pprof/', statuses: [400] },
      { path: '/debug/pprof/heap', statuses: [400] },
      { path: '/debug/pprof/cmdline', statuses: [400] },
    ];
    for (const route of routes) {
      for (const v of hostile) {
        const r = await h.get(`${route.path}?sandbox=${v}`);
        assertShortCleanError(r, route.statuses);
        assert.ok(!r.text.includes('decoy_reached'));
      }
      // Repeated parameters: the first one counts (Go's Query().Get), and it is hostile.
      assertShortCleanError(await h.get(`${route.path}?sandbox=../../decoy&sandbox=${good}`), route.statuses);
      // An empty value is "missing", not an id.
      const empty = await h.get(`${route.path}?sandbox=`);
      assert.ok(empty.status >= 200 && empty.status < 500, `${route.path}?sandbox= → ${empty.status}`);
    }
    for (const d of decoys) assert.equal([...d.requestsByPath.values()].reduce((a, b) => a + b, 0), 0, `decoy ${d.socketPath} reached`);

    // The daemon still serves, and the real sandbox is fine.
    const requestsBefore = shim.requests;
    assert.ok(sandboxSamplesIntact(await h.metrics(), good));
    assert.ok(shim.requests > requestsBefore);
    const raw = await h.get(`/metrics?sandbox=${good}&sandbox=../../decoy`);
    assert.equal(raw.status, 200);
    assert.match(raw.text, /kata_hypervisor_fds 7/);
  });

  test('19. the pprof proxy forwards only the paths upstream serves', async (t) => {
    const h = await startHarness();
    t.after(() => h.stop());
    const id = 'pprof-target';
    const shim = await h.addShim(id, 'ok', 0);
    await h.known(id);
    const forwarded = (): number => [...shim.requestsByPath].filter(([p]) => p !== '/metrics').reduce((a, [, n]) => a + n, 0);

    const refused = [
      '/debug/pprof/unknown',
      '/debug/vars/x',
      '/debug/pprof/cmdline/extra',
      '/debug/pprof/heap/',
      '/debug/pprofx',
      '/debug/pprof/..%2f..%2fmetrics',
      '/debug/pprof/heap%00',
      '/debug/pprof/heap%2f..%2fgoroutine',
    ];
    for (const p of refused) {
      const r = await h.get(`${p}?sandbox=${id}`);
      // Refused (404/400), or, for paths outside /debug/pprof/, upstream's "/" catch-all index.
      const index = r.status === 200 && r.text.startsWith('Available HTTP endpoints:');
      assert.ok(r.status === 404 || r.status === 400 || index, `${p} → ${r.status}: ${r.text.slice(0, 80)}`);
      assert.equal(r.headers['x-content-type-options'], 'nosniff', p);
      assert.ok(!/[\x00-\x09\x0b-\x1f]/.test(r.text), p);
    }
    assert.equal(forwarded(), 0, `forwarded to the shim: ${JSON.stringify([...shim.requestsByPath])}`);

    // Dot segments are resolved before routing (as by Go's mux, which redirects
    // to the clean path): they can only land on a route of ours, never make the
    // proxy forward a path upstream does not serve.
    // (%2e%2e is a dot segment to the WHATWG URL parser too.)
    for (const p of ['/debug/pprof/../../metrics', '/debug/pprof/%2e%2e/%2e%2e/metrics', '/debug/pprof/../vars/../pprof/x']) {
      const dotted = await h.get(`${p}?sandbox=${id}`);
      assert.ok([200, 301, 400, 404].includes(dotted.status), `${p} → ${dotted.status}`);
    }
    assert.equal(forwarded(), 0, `forwarded to the shim: ${JSON.stringify([...shim.requestsByPath])}`);

    // And the legitimate ones still go through.
    const heap = await h.get(`/debug/pprof/heap?sandbox=${id}&debug=1`);
    assert.equal(heap.status, 200);
    assert.equal(shim.requestsByPath.get('/debug/pprof/heap'), 1);
  });
});
