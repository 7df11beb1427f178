import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'node:http';
import { startFakeShim, type FakeShim } from '../support/fake-shim.ts';
import { shimGet } from '../../src/shim/client.ts';
import { eventually, makeTempDir, openFdCount } from '../shim/helpers.ts';

const OPTS = { timeoutMs: 1000, maxBytes: 1 << 20, accept: 'any' as const };

describe('startFakeShim', () => {
  const tmp = makeTempDir('kshim-f-');
  let shim: FakeShim;
  let n = 0;

  before(async () => {
    // The socket's directory is created, as a real sandbox directory would be.
    shim = await startFakeShim({ socketPath: join(tmp.dir, 'sbx', 'shim-monitor.sock'), metrics: () => `# TYPE up gauge\nup ${++n}\n` });
  });
  after(async () => {
    await shim.close();
    tmp.cleanup();
  });

  const get = (path: string) => shimGet([shim.socketPath], path, OPTS);

  test('serves /metrics as Prometheus text 0.0.4, asking the payload every time, and counts the requests', async () => {
    const before = shim.requests;
    const a = await get('/metrics');
    const b = await get('/metrics');
    assert.equal(a.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
    assert.notEqual(a.body.toString(), b.body.toString());
    assert.equal(shim.requests, before + 2);
    await get('/agent-url');
    assert.equal(shim.requests, before + 2, 'only /metrics requests count');
  });

  test('serves /agent-url as the shim does: a vsock URL, no newline', async () => {
    assert.match((await get('/agent-url')).body.toString(), /^vsock:\/\/\d+:1024$/);
  });

  test("serves Go's expvar and pprof endpoints", async () => {
    const vars = await get('/debug/vars');
    assert.equal(vars.headers['content-type'], 'application/json; charset=utf-8');
    const json = JSON.parse(vars.body.toString()) as { cmdline: string[]; memstats: Record<string, number> };
    assert.equal(json.cmdline.at(-1), 'sbx');
    assert.ok(json.memstats.NumGC! > 0);

    const index = (await get('/debug/pprof/')).body.toString();
    for (const name of ['allocs', 'block', 'goroutine', 'heap', 'mutex', 'threadcreate', 'profile', 'trace', 'cmdline']) {
      assert.ok(index.includes(`<a href='${name}?debug=1'>`), name);
    }
    assert.equal((await get('/debug/pprof/cmdline')).body.toString().split('\0').at(-1), 'sbx');
    assert.equal((await get('/debug/pprof/symbol')).body.toString(), 'num_symbols: 1\n');
    assert.match((await get('/debug/pprof/heap?debug=1')).body.toString(), /^heap profile: /);
    const heap = await get('/debug/pprof/heap');
    assert.equal(heap.headers['content-disposition'], 'attachment; filename="heap"');
    assert.equal((await get('/debug/pprof/nope')).status, 404);
    assert.equal((await get('/nope')).status, 404);
  });

  test('switches behaviour on demand', async () => {
    shim.setBehaviour('status-500');
    assert.equal((await get('/metrics')).status, 500);
    shim.setBehaviour('garbage');
    assert.match((await get('/metrics')).body.toString(), /not Prometheus/);
    shim.setBehaviour({ kind: 'slow', delayMs: 60 });
    const t0 = performance.now();
    assert.equal((await get('/metrics')).status, 200);
    assert.ok(performance.now() - t0 >= 55);
    shim.setBehaviour('ok');
  });

  test('huge respects backpressure: a client that stops reading stops the stream', async () => {
    shim.setBehaviour({ kind: 'huge', bytes: 100 * 1024 * 1024 });
    try {
      const rss = process.memoryUsage().rss;
      let received = 0;
      await new Promise<void>((resolve, reject) => {
        const req = request({ socketPath: shim.socketPath, path: '/metrics', agent: false }, (res) => {
          res.once('data', (c: Buffer) => {
            received += c.length;
            res.pause();
            // A paused reader: a server ignoring backpressure would buffer 100 MB meanwhile.
            setTimeout(() => {
              req.destroy();
              resolve();
            }, 200);
          });
        });
        req.on('error', (e) => (received > 0 ? undefined : reject(e)));
        req.end();
      });
      assert.ok(received > 0);
      assert.ok(process.memoryUsage().rss - rss < 40 * 1024 * 1024, 'the server did not queue the body in memory');
    } finally {
      shim.setBehaviour('ok');
    }
  });

  test('close() drops hung connections and removes the socket file', async () => {
    const s = await startFakeShim({ socketPath: join(tmp.dir, 'hung', 'shim-monitor.sock'), metrics: () => '', behaviour: 'hang' });
    const fds = openFdCount();
    const pending = shimGet([s.socketPath], '/metrics', { timeoutMs: 5000, maxBytes: 1024 }).catch((e: unknown) => e);
    await eventually(() => s.requestsByPath.get('/metrics') === 1);
    const t0 = performance.now();
    await s.close();
    assert.ok(performance.now() - t0 < 500, 'close does not wait for the hung request');
    assert.equal(existsSync(s.socketPath), false);
    const err = await pending;
    assert.ok(err instanceof Error);
    assert.ok(await eventually(() => openFdCount() < fds), 'the listening socket and the connection are gone');
  });
});
