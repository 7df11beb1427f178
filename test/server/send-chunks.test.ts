// Writing a large answer: every chunk handed back once sent, and a client
// that stops reading abandoned at the stall deadline instead of holding the
// answer (and the snapshot behind it) for as long as it keeps the socket.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import { ClientGoneError, sendChunks } from '../../src/server/send-chunks.ts';

const CHUNK = 64 * 1024;
const COUNT = 200; // 12.8 MB: more than the socket buffers and our 1 MiB ahead

function* chunks(): Generator<Buffer> {
  for (let i = 0; i < COUNT; i++) yield Buffer.alloc(CHUNK, 97 + (i % 26));
}

async function serve(handler: (res: ServerResponse) => Promise<void>): Promise<{ port: number; close(): Promise<void> }> {
  const server = createServer((_req, res) => void handler(res));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const a = server.address();
  return {
    port: typeof a === 'object' && a ? a.port : 0,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

test('a client that reads gets every byte, and every chunk is handed back', async () => {
  let released = 0;
  const server = await serve((res) => sendChunks(res, chunks(), { release: () => released++, stallMs: 2000 }));
  try {
    const body = await fetch(`http://127.0.0.1:${server.port}/`).then((r) => r.arrayBuffer());
    assert.equal(body.byteLength, CHUNK * COUNT);
    assert.equal(released, COUNT);
  } finally {
    await server.close();
  }
});

test('a client that stops reading is dropped at the stall deadline', async () => {
  let outcome: unknown;
  const settled = new Promise<void>((resolve) => {
    void serve(async (res) => {
      try {
        await sendChunks(res, chunks(), { stallMs: 300 });
        outcome = 'sent';
      } catch (err) {
        outcome = err;
      }
      resolve();
    }).then((s) => {
      const socket = connect(s.port, '127.0.0.1', () => {
        socket.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
        socket.pause(); // never reads
      });
      socket.on('error', () => {});
      void settled.then(() => {
        socket.destroy();
        return s.close();
      });
    });
  });
  await settled;
  assert.ok(outcome instanceof ClientGoneError, String(outcome));
  assert.match((outcome as Error).message, /took no bytes for 300 ms/);
});
