// Writes a body made of many chunks to the socket with backpressure, and
// hands each chunk back (`release`) once the socket is done with it, so a
// 17 MB answer reuses a few 64 KiB buffers instead of allocating 17 MB of
// garbage per request. A client that goes away stops the loop.

import { once } from 'node:events';
import type { ServerResponse } from 'node:http';

export interface SendOptions {
  /** Called with each chunk once the socket is done with it. */
  readonly release?: (chunk: Buffer) => void;
}

export class ClientGoneError extends Error {
  override readonly name = 'ClientGoneError';
}

export async function sendChunks(res: ServerResponse, chunks: Iterable<Buffer> | AsyncIterable<Buffer>, opts: SendOptions = {}): Promise<void> {
  let gone = false;
  const onClose = (): void => {
    gone = !res.writableFinished;
    res.emit('drain'); // wake a waiting loop
  };
  res.once('close', onClose);
  try {
    for await (const chunk of chunks) {
      if (gone || res.destroyed) throw new ClientGoneError('client closed the connection mid-answer');
      const release = opts.release;
      const ok = res.write(chunk, release ? () => release(chunk) : undefined);
      if (!ok) await once(res, 'drain');
    }
    if (gone || res.destroyed) throw new ClientGoneError('client closed the connection mid-answer');
    res.end();
    if (!res.writableFinished) await once(res, 'finish');
  } finally {
    res.off('close', onClose);
  }
}
