// The one transport to shims: a lean HTTP/1.1 GET over a unix socket, one
// request, `Connection: close`, the answer's status line, headers and body
// (Content-Length, chunked, or until close) parsed here. Measured: 100
// sequential-ish GETs of a 72 kB shim body cost ~27–44 ms of CPU through
// node:http's ClientRequest/IncomingMessage machinery and ~8–13 ms on a bare
// socket. Deadline, size cap, candidate fallback and error classification
// stay in client.ts's exchange(), which this reports to (RawHandler).

import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';

const CRLF = Buffer.from('\r\n');
/**
 * Every exchange reads into this one buffer (net's `onread`): a read is
 * handled before the next one starts, so one buffer serves all sockets, and
 * reading costs no allocation. Node's default gives each read a fresh 64 KiB
 * allocation shrunk to the bytes read, which at 300 shims left the malloc
 * heap fragmented long after the scrape. Whatever outlives the read is
 * copied: the partial head, a split chunk-size line, and the body (the
 * handler's job, see RawHandler.data).
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);
const HEADER_END = Buffer.from('\r\n\r\n');
/** Status line and headers together; a shim answers with a handful. */
const MAX_HEAD_BYTES = 64 * 1024;

/** What a request reports: head, then data, then one of end, error or closed (once). Nothing after destroy(). */
export interface RawHandler {
  head(status: number, headers: IncomingHttpHeaders): void;
  /** A view of the shared read buffer: copy what is kept before returning. */
  data(chunk: Buffer): void;
  /** The whole body arrived. */
  end(): void;
  /** No answer: the connection failed (`err.code` says how, as node:http's codes would). */
  error(err: NodeJS.ErrnoException): void;
  /** The connection closed, or failed with `err`, before the body was whole. */
  closed(err: Error | undefined): void;
}

type BodyMode = { kind: 'length'; left: number } | { kind: 'chunked'; left: number; state: 'size' | 'data' | 'data-crlf' | 'trailer' } | { kind: 'close' };

export class RawRequest {
  #socket: Socket | undefined;
  #head: Buffer | undefined = Buffer.alloc(0);
  /** Set once the head is parsed: the request has an answer. */
  #mode: BodyMode | undefined;
  /** Bytes of a chunked body not yet consumed (a size line split across reads). */
  #pending: Buffer | undefined;
  #ended = false;
  readonly #handler: RawHandler;

  /** Connects and sends the request; `handler` hears the answer. */
  constructor(socketPath: string, path: string, handler: RawHandler) {
    this.#handler = handler;
    // Node's http client refuses these characters in a path too.
    if (/[^\x21-\x7e]/.test(path)) {
      queueMicrotask(() => this.#fail(Object.assign(new TypeError(`Request path contains unescaped characters: ${JSON.stringify(path)}`), { code: 'ERR_UNESCAPED_CHARACTERS' })));
      return;
    }
    const s = connect({
      path: socketPath,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          this.#onData(Buffer.from(buf.buffer, buf.byteOffset, n));
          return true;
        },
      },
    });
    this.#socket = s;
    s.once('connect', () => s.write(`GET ${path} HTTP/1.1\r\nHost: shim\r\nConnection: close\r\n\r\n`));
    s.on('end', () => {
      if (this.#mode?.kind === 'close') this.#complete();
      else this.#fail(undefined);
    });
    s.on('error', (e) => this.#fail(e));
    s.on('close', () => this.#fail(undefined));
  }

  /** Stops reading the socket until resume() (backpressure). */
  pause(): void {
    this.#socket?.pause();
  }

  resume(): void {
    this.#socket?.resume();
  }

  destroy(): void {
    this.#ended = true;
    this.#socket?.destroy();
  }

  /** Without `e`: the connection ended early (before an answer, as node:http says it). */
  #fail(e: NodeJS.ErrnoException | undefined): void {
    if (this.#ended) return;
    this.#ended = true;
    if (this.#mode) this.#handler.closed(e);
    else this.#handler.error(e ?? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
  }

  #onData(chunk: Buffer): void {
    if (this.#ended) return;
    if (this.#head !== undefined) {
      const head = this.#head.length === 0 ? chunk : Buffer.concat([this.#head, chunk]);
      const end = head.indexOf(HEADER_END);
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) this.#fail(Object.assign(new Error('answer headers too large'), { code: 'HPE_HEADER_OVERFLOW' }));
        else this.#head = Buffer.from(head); // a copy: `chunk` is the shared read buffer
        return;
      }
      this.#head = undefined;
      if (!this.#parseHead(head.toString('latin1', 0, end)) || this.#ended) return;
      const rest = head.subarray(end + HEADER_END.length);
      if (rest.length > 0) this.#body(rest);
      else if (this.#mode?.kind === 'length' && this.#mode.left === 0) this.#complete();
      return;
    }
    this.#body(chunk);
  }

  /** Sets the body mode and reports the head; false (and failed) when it is not HTTP. */
  #parseHead(text: string): boolean {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
    if (!m) {
      this.#fail(Object.assign(new Error(`not an HTTP answer: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`), { code: 'HPE_INVALID_CONSTANT' }));
      return false;
    }
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined && /chunked/i.test(te)) this.#mode = { kind: 'chunked', left: 0, state: 'size' };
    else if (cl !== undefined && /^\d+$/.test(cl)) this.#mode = { kind: 'length', left: Number(cl) };
    else this.#mode = { kind: 'close' };
    this.#handler.head(Number(m[1]), headers);
    return true;
  }
  #body(data: Buffer): void {
    const mode = this.#mode!;
    if (mode.kind === 'close') {
      this.#handler.data(data);
      return;
    }
    if (mode.kind === 'length') {
      const take = Math.min(mode.left, data.length);
      if (take > 0) {
        mode.left -= take;
        this.#handler.data(take === data.length ? data : data.subarray(0, take));
      }
      if (mode.left === 0) this.#complete();
      return;
    }
    this.#chunked(mode, this.#pending ? Buffer.concat([this.#pending, data]) : data);
  }

  #chunked(mode: Extract<BodyMode, { kind: 'chunked' }>, data: Buffer): void {
    this.#pending = undefined;
    let i = 0;
    while (i < data.length && !this.#ended) {
      if (mode.state === 'size' || mode.state === 'trailer') {
        const eol = data.indexOf(CRLF, i);
        if (eol < 0) {
          this.#pending = Buffer.from(data.subarray(i)); // a copy, as the read buffer is reused
          return;
        }
        const line = data.toString('latin1', i, eol);
        i = eol + 2;
        if (mode.state === 'trailer') {
          if (line === '') this.#complete();
          continue;
        }
        const size = parseInt(line.split(';')[0]!.trim(), 16);
        if (!Number.isFinite(size) || size < 0) {
          this.#fail(Object.assign(new Error(`invalid chunk size ${JSON.stringify(line.slice(0, 20))}`), { code: 'HPE_INVALID_CHUNK_SIZE' }));
          return;
        }
        if (size === 0) mode.state = 'trailer';
        else {
          mode.left = size;
          mode.state = 'data';
        }
      } else if (mode.state === 'data') {
        const take = Math.min(mode.left, data.length - i);
        this.#handler.data(data.subarray(i, i + take));
        mode.left -= take;
        i += take;
        if (mode.left === 0) mode.state = 'data-crlf';
      } else {
        // The CRLF after a chunk's data.
        if (data.length - i < 2) {
          this.#pending = Buffer.from(data.subarray(i));
          return;
        }
        i += 2;
        mode.state = 'size';
      }
    }
  }

  #complete(): void {
    if (this.#ended) return;
    this.#ended = true;
    this.#socket?.destroy();
    this.#handler.end();
  }
}
