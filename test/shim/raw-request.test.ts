// The lean transport behind shimGet: HTTP/1.1 framing as shims send it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { shimGet, ShimError } from '../../src/shim/client.ts';

const OPTS = { timeoutMs: 2000, maxBytes: 1 << 20 };

/** A socket server that answers every connection with `writes`, pausing between them. */
async function withAnswer(writes: readonly string[], fn: (path: string) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kraw-'));
  const path = join(dir, 's.sock');
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('error', () => {});
    s.once('data', async () => {
      for (const w of writes) {
        s.write(w);
        await new Promise((r) => setTimeout(r, 5));
      }
      s.end();
    });
  });
  await new Promise<void>((r) => server.listen(path, r));
  try {
    await fn(path);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a chunked answer, with sizes, data and CRLFs split across reads, arrives whole', async () => {
  const writes = ['HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n', '\r\n5', '\r\nhel', 'lo\r', '\n6;ext=1\r\n worl', 'd\r\n0\r\n', 'X-Trailer: 1\r\n\r\n'];
  await withAnswer(writes, async (p) => {
    const r = await shimGet([p], '/metrics', OPTS);
    assert.equal(r.status, 200);
    assert.equal(r.body.toString(), 'hello world');
  });
});

test('a Content-Length answer ends at its length; headers are lower-cased', async () => {
  await withAnswer(['HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nab', 'cde'], async (p) => {
    const r = await shimGet([p], '/metrics', OPTS);
    assert.equal(r.body.toString(), 'abcde');
    assert.equal(r.headers['content-type'], 'text/plain');
  });
});

test('an answer without length or chunking is read until the shim closes', async () => {
  await withAnswer(['HTTP/1.0 200 OK\r\n\r\nuntil', ' close'], async (p) => {
    assert.equal((await shimGet([p], '/metrics', OPTS)).body.toString(), 'until close');
  });
});

test('a Content-Length answer cut short is closed; a non-HTTP answer is refused', async () => {
  await withAnswer(['HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort'], async (p) => {
    await assert.rejects(shimGet([p], '/metrics', OPTS), (e: unknown) => e instanceof ShimError && e.kind === 'closed');
  });
  await withAnswer(['SSH-2.0-OpenSSH\r\n\r\n'], async (p) => {
    await assert.rejects(shimGet([p], '/metrics', OPTS), (e: unknown) => e instanceof ShimError && /not an HTTP answer/.test(e.message));
  });
});

test('many exchanges at once share one read buffer and each gets its own body intact', async () => {
  // Every shim trickles a distinct 150 kB body (more than one 64 KiB piece) in
  // small chunked writes, so that reads of different sockets interleave.
  const dir = mkdtempSync(join(tmpdir(), 'kraw-'));
  const bodies = Array.from({ length: 20 }, (_, i) => Buffer.alloc(150_000, String.fromCharCode(97 + i)));
  const servers = await Promise.all(
    bodies.map(
      (body, i) =>
        new Promise<ReturnType<typeof createServer>>((resolve) => {
          const server = createServer((s) => {
            s.on('error', () => {});
            s.once('data', async () => {
              s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n');
              for (let at = 0; at < body.length; at += 7_000) {
                const part = body.subarray(at, at + 7_000);
                s.write(`${part.length.toString(16)}\r\n`);
                s.write(part);
                s.write('\r\n');
                await new Promise((r) => setImmediate(r));
              }
              s.end('0\r\n\r\n');
            });
          });
          server.listen(join(dir, `${i}.sock`), () => resolve(server));
        }),
    ),
  );
  try {
    const answers = await Promise.all(bodies.map((_, i) => shimGet([join(dir, `${i}.sock`)], '/metrics', OPTS)));
    answers.forEach((a, i) => assert.ok(a.body.equals(bodies[i]!), `body ${i} intact`));
  } finally {
    await Promise.all(servers.map((s) => new Promise((r) => s.close(r))));
    rmSync(dir, { recursive: true, force: true });
  }
});
