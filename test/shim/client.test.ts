import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ShimError, shimGet, shimStream } from '../../src/shim/client.ts';
import { startFakeShim, type FakeShim } from '../support/fake-shim.ts';
import { eventually, makeStaleSocket, makeTempDir, openFdCount, rejectsWith, startRawServer } from './helpers.ts';

/**
 * A web stream's chunks through its reader (a test with lib "dom" in the
 * program gives ReadableStream the DOM's type, which is not async-iterable).
 */
async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    reader.releaseLock();
  }
}

const BODY = '# TYPE kata_shim_fds gauge\nkata_shim_fds 12\n';
const OPTS = { timeoutMs: 1000, maxBytes: 1 << 20 };

describe('shimGet', { timeout: 30_000 }, () => {
  const tmp = makeTempDir('kshim-c-');
  const sock = (name: string): string => join(tmp.dir, name, 'shim-monitor.sock');
  let shim: FakeShim;

  before(async () => {
    shim = await startFakeShim({ socketPath: sock('good'), metrics: () => BODY });
  });
  after(async () => {
    await shim.close();
    tmp.cleanup();
  });

  async function shimError(p: Promise<unknown>): Promise<ShimError> {
    const err = await rejectsWith(p);
    assert.ok(err instanceof ShimError, `expected a ShimError, got ${String(err)}`);
    return err;
  }

  async function withShim(name: string, behaviour: Parameters<typeof startFakeShim>[0]['behaviour'], fn: (s: FakeShim) => Promise<void>): Promise<void> {
    const s = await startFakeShim({ socketPath: sock(name), metrics: () => BODY, behaviour });
    try {
      await fn(s);
    } finally {
      await s.close();
    }
  }

  test('returns status, headers, the body and the socket that answered', async () => {
    const res = await shimGet([shim.socketPath], '/metrics', OPTS);
    assert.equal(res.status, 200);
    assert.equal(res.body.toString(), BODY);
    assert.equal(res.socketPath, shim.socketPath);
    assert.equal(res.headers['content-type'], 'text/plain; version=0.0.4; charset=utf-8');
  });

  test('sends Host: shim and Connection: close, as upstream', async () => {
    const path = sock('raw-host');
    mkdirSync(join(path, '..'), { recursive: true });
    let head = '';
    const server = await startRawServer(path, (s) => {
      s.once('data', (d) => {
        head = d.toString();
        s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
      });
    });
    try {
      assert.equal((await shimGet([path], '/agent-url', OPTS)).body.toString(), 'ok');
      assert.match(head, /^GET \/agent-url HTTP\/1\.1\r\n/);
      assert.match(head, /\r\nHost: shim\r\n/i);
      assert.match(head, /\r\nConnection: close\r\n/i);
    } finally {
      await server.close();
    }
  });

  test('falls back to the second root when the first has no socket', async () => {
    const res = await shimGet([join(tmp.dir, 'absent', 'shim-monitor.sock'), shim.socketPath], '/metrics', OPTS);
    assert.equal(res.socketPath, shim.socketPath);
    assert.equal(res.body.toString(), BODY);
  });

  test('falls back past a stale socket nobody listens on', async () => {
    const stale = sock('stale-then-good');
    mkdirSync(join(stale, '..'), { recursive: true });
    makeStaleSocket(stale);
    const res = await shimGet([stale, shim.socketPath], '/metrics', OPTS);
    assert.equal(res.socketPath, shim.socketPath);
  });

  test('no socket under any root is no-socket, naming every path tried', async () => {
    const a = join(tmp.dir, 'none-a', 'shim-monitor.sock');
    const b = join(tmp.dir, 'none-b', 'shim-monitor.sock');
    const err = await shimError(shimGet([a, b], '/metrics', OPTS));
    assert.equal(err.kind, 'no-socket');
    assert.ok(err.message.includes(a) && err.message.includes(b), err.message);
  });

  test('a regular file where the socket should be is no-socket', async () => {
    const file = sock('regular-file');
    mkdirSync(join(file, '..'), { recursive: true });
    writeFileSync(file, 'not a socket');
    const err = await shimError(shimGet([file], '/metrics', OPTS));
    assert.equal(err.kind, 'no-socket');
    assert.ok(err.message.includes(file));
  });

  test('a socket that refuses connections is connect, naming the socket', async () => {
    const stale = sock('stale');
    mkdirSync(join(stale, '..'), { recursive: true });
    makeStaleSocket(stale);
    const err = await shimError(shimGet([stale], '/metrics', OPTS));
    assert.equal(err.kind, 'connect');
    assert.equal(err.socketPath, stale);
    assert.match(err.message, /connection refused/);
  });

  test('a shim slower than the timeout is timeout, at the deadline', async () => {
    await withShim('slow', { kind: 'slow', delayMs: 2000 }, async (s) => {
      const t0 = performance.now();
      const err = await shimError(shimGet([s.socketPath], '/metrics', { ...OPTS, timeoutMs: 150 }));
      const took = performance.now() - t0;
      assert.equal(err.kind, 'timeout');
      assert.equal(err.message, `shim ${s.socketPath}: no complete answer within 150 ms`);
      assert.ok(took >= 140 && took < 600, `took ${took} ms`);
    });
  });

  test('a shim slower than usual but within the timeout answers', async () => {
    await withShim('slow-ok', { kind: 'slow', delayMs: 50 }, async (s) => {
      const res = await shimGet([s.socketPath], '/metrics', OPTS);
      assert.equal(res.body.toString(), BODY);
    });
  });

  test('a shim that accepts and never answers is timeout, and its connection is dropped', async () => {
    await withShim('hang', 'hang', async (s) => {
      const before = openFdCount();
      const err = await shimError(shimGet([s.socketPath], '/metrics', { ...OPTS, timeoutMs: 100 }));
      assert.equal(err.kind, 'timeout');
      assert.ok(await eventually(() => openFdCount() <= before), 'the connection is closed on both ends');
    });
  });

  test('a shim that trickles bytes past the deadline is timeout', async () => {
    const path = sock('trickle');
    mkdirSync(join(path, '..'), { recursive: true });
    const server = await startRawServer(path, (s) => {
      s.resume();
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      const t = setInterval(() => (s.destroyed ? clearInterval(t) : s.write('x')), 20);
      s.on('close', () => clearInterval(t));
    });
    try {
      const t0 = performance.now();
      const err = await shimError(shimGet([path], '/metrics', { ...OPTS, timeoutMs: 200 }));
      assert.equal(err.kind, 'timeout');
      assert.ok(performance.now() - t0 < 600);
    } finally {
      await server.close();
    }
  });

  test('garbage is not the client’s business: the body is returned as sent', async () => {
    await withShim('garbage', 'garbage', async (s) => {
      const res = await shimGet([s.socketPath], '/metrics', OPTS);
      assert.equal(res.status, 200);
      assert.match(res.body.toString(), /this is not Prometheus text/);
    });
  });

  test('a 100 MB stream fails as too-large as soon as the cap is passed, without leaking fds', async () => {
    await withShim('huge', 'huge', async (s) => {
      const before = openFdCount();
      const rss = process.memoryUsage().rss;
      const t0 = performance.now();
      const err = await shimError(shimGet([s.socketPath], '/metrics', { timeoutMs: 5000, maxBytes: 1 << 20 }));
      const took = performance.now() - t0;
      assert.equal(err.kind, 'too-large');
      assert.match(err.message, /1048576-byte limit/);
      assert.ok(took < 1000, `took ${took} ms`);
      assert.ok(process.memoryUsage().rss - rss < 50 * 1024 * 1024, 'the body was not buffered');
      assert.ok(await eventually(() => openFdCount() <= before), `fds: ${openFdCount()} > ${before}`);
    });
  });

  test('an announced Content-Length over the cap fails before any body is read', async () => {
    await withShim('huge-declared', { kind: 'huge', declareLength: true }, async (s) => {
      const err = await shimError(shimGet([s.socketPath], '/metrics', { timeoutMs: 5000, maxBytes: 1 << 20 }));
      assert.equal(err.kind, 'too-large');
      assert.match(err.message, /answer of 104857600 bytes/);
    });
  });

  test('a connection closed before Content-Length is reached is closed', async () => {
    await withShim('mid-body', 'close-mid-body', async (s) => {
      const err = await shimError(shimGet([s.socketPath], '/metrics', OPTS));
      assert.equal(err.kind, 'closed');
      assert.match(err.message, /before the answer was complete/);
    });
  });

  test('a chunked body that is never terminated is closed', async () => {
    const path = sock('chunked-cut');
    mkdirSync(join(path, '..'), { recursive: true });
    const server = await startRawServer(path, (s) => {
      s.resume(); // read the request, or this end never sees EOF and never closes
      s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n');
    });
    try {
      const err = await shimError(shimGet([path], '/metrics', OPTS));
      assert.equal(err.kind, 'closed');
    } finally {
      await server.close();
    }
  });

  test('a non-200 answer is status, with the start of the shim’s message', async () => {
    await withShim('status', 'status-500', async (s) => {
      const err = await shimError(shimGet([s.socketPath], '/metrics', OPTS));
      assert.equal(err.kind, 'status');
      assert.equal(err.status, 500);
      assert.match(err.message, /answered HTTP 500: failed to get sandbox metrics/);
      const any = await shimGet([s.socketPath], '/metrics', { ...OPTS, accept: 'any' });
      assert.equal(any.status, 500);
    });
  });

  test('an AbortSignal.timeout() is a timeout; another abort rejects with its reason', async () => {
    await withShim('abort', 'hang', async (s) => {
      const t = await shimError(shimGet([s.socketPath], '/metrics', { ...OPTS, signal: AbortSignal.timeout(50) }));
      assert.equal(t.kind, 'timeout');
      const ac = new AbortController();
      const reason = new Error('server shutting down');
      setTimeout(() => ac.abort(reason), 20);
      assert.equal(await rejectsWith(shimGet([s.socketPath], '/metrics', { ...OPTS, signal: ac.signal })), reason);
    });
  });

  test('100 sequential GETs leave no descriptor behind', async () => {
    const before = openFdCount();
    for (let i = 0; i < 100; i++) await shimGet([shim.socketPath], '/metrics', OPTS);
    assert.ok(await eventually(() => openFdCount() <= before), `fds: ${openFdCount()} > ${before}`);
  });
});

describe('shimStream', { timeout: 30_000 }, () => {
  const tmp = makeTempDir('kshim-s-');
  let shim: FakeShim;
  before(async () => {
    shim = await startFakeShim({ socketPath: join(tmp.dir, 'sb', 'shim-monitor.sock'), metrics: () => BODY, secondMs: 200 });
  });
  after(async () => {
    await shim.close();
    tmp.cleanup();
  });

  test('resolves at the headers and delivers the body as it arrives', async () => {
    const t0 = performance.now();
    const res = await shimStream([shim.socketPath], '/debug/pprof/trace?seconds=1', OPTS);
    assert.ok(performance.now() - t0 < 150, 'headers come before the trace window ends');
    assert.equal(res.headers['content-type'], 'application/octet-stream');
    let chunks = 0;
    let bytes = 0;
    for await (const chunk of chunksOf(res.body)) {
      chunks++;
      bytes += chunk.length;
    }
    assert.ok(chunks > 1, `${chunks} chunks`);
    assert.equal(bytes, 16 + 10 * 1024); // the trace header, then ten 1 KiB chunks
  });

  test('the size cap errors the stream and drops the connection', async () => {
    const before = openFdCount();
    const res = await shimStream([shim.socketPath], '/debug/pprof/trace?seconds=1', { timeoutMs: 2000, maxBytes: 2048 });
    const err = await rejectsWith((async () => {
      for await (const _ of chunksOf(res.body)) void _;
    })());
    assert.ok(err instanceof ShimError && err.kind === 'too-large', String(err));
    assert.ok(await eventually(() => openFdCount() <= before));
  });

  test('cancelling the stream drops the connection', async () => {
    const before = openFdCount();
    const res = await shimStream([shim.socketPath], '/debug/pprof/trace?seconds=2', OPTS);
    await res.body.cancel();
    assert.ok(await eventually(() => openFdCount() <= before), `fds: ${openFdCount()} > ${before}`);
  });
});
