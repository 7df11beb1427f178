import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { addSandboxToLinks, getAgentUrl, isProxiedDebugPath, proxyDebugRequest } from '../../src/shim/proxy.ts';
import { ShimError } from '../../src/shim/client.ts';
import { startFakeShim, type FakeShim } from '../support/fake-shim.ts';
import { eventually, makeTempDir, openFdCount, rejectsWith } from './helpers.ts';

const OPTS = { timeoutMs: 1000, maxBytes: 1 << 20 };
const ID = 'sb1';

describe('proxyDebugRequest', () => {
  const tmp = makeTempDir('kshim-p-');
  let shim: FakeShim;
  // A shim that sets no Content-Type / Content-Disposition of its own.
  let bare: Server;
  const barePath = join(tmp.dir, 'bare', 'shim-monitor.sock');

  before(async () => {
    shim = await startFakeShim({ socketPath: join(tmp.dir, ID, 'shim-monitor.sock'), metrics: () => '', secondMs: 300, agentUrl: 'vsock://1234:1024' });
    mkdirSync(join(tmp.dir, 'bare'));
    bare = createServer((_req, res) => res.end('raw bytes'));
    await new Promise<void>((r) => bare.listen(barePath, r));
  });
  after(async () => {
    await shim.close();
    bare.closeAllConnections();
    await new Promise((r) => bare.close(r));
    tmp.cleanup();
  });

  const proxy = (path: string, opts = OPTS, sockets = [shim.socketPath]): Promise<Response> => proxyDebugRequest(sockets, ID, path, opts);

  test("forwards Go's pprof and expvar paths with the original query", async () => {
    for (const path of ['/debug/vars', '/debug/pprof/cmdline', '/debug/pprof/symbol', '/debug/pprof/heap?debug=1', '/debug/pprof/goroutine?debug=2', '/debug/pprof/allocs', '/debug/pprof/threadcreate', '/debug/pprof/block', '/debug/pprof/mutex']) {
      const res = await proxy(`${path}${path.includes('?') ? '&' : '?'}sandbox=${ID}`);
      assert.equal(res.status, 200, path);
      assert.equal(shim.lastUrl, `${path}${path.includes('?') ? '&' : '?'}sandbox=${ID}`);
      await res.arrayBuffer();
    }
  });

  test('refuses every other path without asking the shim', async () => {
    const before = shim.lastUrl;
    const cases: [string, string][] = [
      ['/debug/pprof/../../metrics', 'Unknown profile\n'],
      ['/debug/pprof/unknown', 'Unknown profile\n'],
      ['/debug/pprof/%68eap', 'Unknown profile\n'],
      ['/debug/pprof', '404 page not found\n'],
      ['/debug/vars/x', '404 page not found\n'],
      ['/metrics', '404 page not found\n'],
      ['/agent-url', '404 page not found\n'],
    ];
    for (const [path, text] of cases) {
      assert.equal(isProxiedDebugPath(path), false, path);
      const res = await proxy(`${path}?sandbox=${ID}`);
      assert.equal(res.status, 404, path);
      assert.equal(await res.text(), text);
    }
    assert.equal(shim.lastUrl, before, 'the shim saw none of them');
  });

  test("always sets nosniff and passes on the shim's Content-Type and Content-Disposition", async () => {
    const vars = await proxy('/debug/vars?sandbox=sb1');
    assert.equal(vars.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(vars.headers.get('content-type'), 'application/json; charset=utf-8');
    const body = JSON.parse(await vars.text()) as { cmdline: string[]; memstats: Record<string, number> };
    assert.ok(Array.isArray(body.cmdline) && typeof body.memstats.HeapAlloc === 'number');

    const heap = await proxy('/debug/pprof/heap?sandbox=sb1');
    assert.equal(heap.headers.get('content-type'), 'application/octet-stream');
    assert.equal(heap.headers.get('content-disposition'), 'attachment; filename="heap"');
    assert.deepEqual([...new Uint8Array(await heap.arrayBuffer()).subarray(0, 2)], [0x1f, 0x8b]);
  });

  test('symbol defaults to text/plain and trace to an attachment, when the shim sets neither', async () => {
    const symbol = await proxy('/debug/pprof/symbol', OPTS, [barePath]);
    assert.equal(symbol.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(symbol.headers.get('x-content-type-options'), 'nosniff');
    await symbol.text();
    const trace = await proxy('/debug/pprof/trace', OPTS, [barePath]);
    assert.equal(trace.headers.get('content-type'), 'application/octet-stream');
    assert.equal(trace.headers.get('content-disposition'), 'attachment; filename="trace"');
    assert.equal(await trace.text(), 'raw bytes');
    const cmdline = await proxy('/debug/pprof/cmdline', OPTS, [barePath]);
    assert.equal(cmdline.headers.get('content-disposition'), null);
    await cmdline.text();
  });

  test('the index page links come back through us with sandbox=ID', async () => {
    const res = await proxy('/debug/pprof/?sandbox=sb1');
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    const html = await res.text();
    assert.match(html, /<a href='heap\?sandbox=sb1&debug=1'>heap<\/a>/);
    assert.match(html, /<a href="goroutine\?sandbox=sb1&debug=2">full goroutine stack dump<\/a>/);
    assert.doesNotMatch(html, /href='\w+\?debug=/);
  });

  test('link rewriting follows upstream: one K=V query, either quote, anything else untouched', () => {
    assert.equal(addSandboxToLinks(`<a href='allocs?debug=1'>allocs</a>`, 'abc'), `<a href='allocs?sandbox=abc&debug=1'>allocs</a>`);
    assert.equal(addSandboxToLinks(`<a href="goroutine?debug=2">x</a>`, 'abc'), `<a href="goroutine?sandbox=abc&debug=2">x</a>`);
    for (const untouched of [`<a href='heap'>`, `<a href='a/b?x=1'>`, `<a href='heap?x=1&y=2'>`, `<a class=x href='heap?debug=1'>`]) {
      assert.equal(addSandboxToLinks(untouched, 'abc'), untouched);
    }
    // The id is escaped: it cannot break out of the attribute.
    assert.equal(addSandboxToLinks(`<a href='heap?debug=1'>`, "a'b&$1"), `<a href='heap?sandbox=a%27b%26%241&debug=1'>`);
  });

  test('a profile may take its `seconds` on top of the normal timeout', async () => {
    // The fake answers the CPU profile after 1 × 300 ms; the normal timeout is 100 ms.
    const res = await proxy('/debug/pprof/profile?seconds=1&sandbox=sb1', { ...OPTS, timeoutMs: 100 });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-disposition'), 'attachment; filename="profile"');
    assert.ok((await res.arrayBuffer()).byteLength > 0);
  });

  test('a trace is streamed, not buffered: the answer starts before the shim finishes', async () => {
    const t0 = performance.now();
    const res = await proxy('/debug/pprof/trace?seconds=1&sandbox=sb1');
    const headersAfter = performance.now() - t0;
    const bytes = (await res.arrayBuffer()).byteLength;
    const doneAfter = performance.now() - t0;
    assert.ok(headersAfter < 100, `headers after ${headersAfter} ms`);
    assert.ok(doneAfter >= 250, `body done after ${doneAfter} ms`);
    assert.equal(bytes, 16 + 10 * 1024);
  });

  test('a streamed body over the size cap is cut off', async () => {
    const before = openFdCount();
    const res = await proxy('/debug/pprof/trace?seconds=1&sandbox=sb1', { ...OPTS, maxBytes: 4096 });
    const err = await rejectsWith(res.arrayBuffer());
    assert.ok(err instanceof ShimError && err.kind === 'too-large', String(err));
    assert.ok(await eventually(() => openFdCount() <= before));
  });

  test('no socket: 400 "sandbox may be stopped or deleted", as upstream', async () => {
    const res = await proxy('/debug/vars?sandbox=sb1', OPTS, [join(tmp.dir, 'gone', 'shim-monitor.sock')]);
    assert.equal(res.status, 400);
    assert.equal(await res.text(), 'sandbox may be stopped or deleted\n');
    assert.equal(res.headers.get('content-type'), 'text/plain; charset=utf-8');
    assert.equal(res.headers.get('x-go-pprof'), '1');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  });

  test('an unreachable shim: 500 naming the URI and the socket, as upstream', async () => {
    shim.setBehaviour('hang');
    try {
      const res = await proxy('/debug/vars?sandbox=sb1', { ...OPTS, timeoutMs: 100 });
      assert.equal(res.status, 500);
      assert.equal(await res.text(), `failed to request http://shim/debug/vars?sandbox=sb1 through unix://${shim.socketPath}\n`);
      assert.equal(res.headers.get('content-disposition'), null);
    } finally {
      shim.setBehaviour('ok');
    }
  });

  test("the shim's own error status is passed on", async () => {
    const bad = await proxy('/debug/pprof/profile?seconds=x&sandbox=sb1');
    assert.equal(bad.status, 400);
    assert.equal(await bad.text(), 'bad seconds\n');
    shim.setBehaviour('status-500');
    try {
      const failed = await proxy('/debug/pprof/cmdline?sandbox=sb1');
      assert.equal(failed.status, 500);
      assert.match(await failed.text(), /failed to get sandbox metrics/);
    } finally {
      shim.setBehaviour('ok');
    }
  });

  test('getAgentUrl returns the shim’s answer as written', async () => {
    assert.equal(await getAgentUrl([shim.socketPath], OPTS), 'vsock://1234:1024');
  });

  test('getAgentUrl fails with a typed error when the shim does', async () => {
    shim.setBehaviour('status-500');
    try {
      const err = await rejectsWith(getAgentUrl([shim.socketPath], OPTS));
      assert.ok(err instanceof ShimError && err.kind === 'status');
    } finally {
      shim.setBehaviour('ok');
    }
  });
});
