// A lean HTTP/1.1 GET over a unix socket for the scrape's hot path: one
// request, `Connection: close`, the answer's status line, headers and body
// (Content-Length, chunked, or until close) parsed here. Measured: 100
// sequential-ish GETs of a 72 kB shim body cost ~27–44 ms of CPU through
// node:http's ClientRequest/IncomingMessage machinery and ~8–13 ms on a bare
// socket. It mimics the small part of ClientRequest / IncomingMessage that
// client.ts's exchange() uses, so deadline, size cap, candidate fallback and
// error classification stay in one place.

import { EventEmitter } from 'node:events';
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
 * 'data' listener's job, see RawResponse).
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);
const HEADER_END = Buffer.from('\r\n\r\n');
/** Status line and headers together; a shim answers with a handful. */
const MAX_HEAD_BYTES = 64 * 1024;

/** Emits 'data' with views of the shared read buffer: a listener copies what it keeps before returning. */
export class RawResponse extends EventEmitter {
  statusCode = 0;
  headers: IncomingHttpHeaders = {};
  /** The whole body arrived (as IncomingMessage#complete). */
  complete = false;
  readonly #req: RawRequest;
  constructor(req: RawRequest) {
    super();
    this.#req = req;
  }
  destroy(): void {
    this.#req.destroy();
  }
}

type BodyMode = { kind: 'length'; left: number } | { kind: 'chunked'; left: number; state: 'size' | 'data' | 'data-crlf' | 'trailer' } | { kind: 'close' };

export class RawRequest extends EventEmitter {
  socket: Socket | undefined;
  #head: Buffer | undefined = Buffer.alloc(0);
  #res: RawResponse | undefined;
  #mode: BodyMode | undefined;
  /** Bytes of a chunked body not yet consumed (a size line split across reads). */
  #pending: Buffer | undefined;
  #ended = false;
  readonly #socketPath: string;
  readonly #path: string;

  constructor(socketPath: string, path: string) {
    super();
    this.#socketPath = socketPath;
    this.#path = path;
  }

  /** Connects and sends the request (ClientRequest#end). */
  end(): void {
    // Node's http client refuses these characters in a path too.
    if (/[^\x21-\x7e]/.test(this.#path)) {
      queueMicrotask(() => this.emit('error', Object.assign(new TypeError(`Request path contains unescaped characters: ${JSON.stringify(this.#path)}`), { code: 'ERR_UNESCAPED_CHARACTERS' })));
      return;
    }
    const s = connect({
      path: this.#socketPath,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          this.#onData(Buffer.from(buf.buffer, buf.byteOffset, n));
          return true;
        },
      },
    });
    this.socket = s;
    s.once('connect', () => s.write(`GET ${this.#path} HTTP/1.1\r\nHost: shim\r\nConnection: close\r\n\r\n`));
    s.on('end', () => this.#onEnd());
    s.on('error', (e) => this.#fail(e));
    s.on('close', () => {
      if (this.#res && !this.#ended) {
        this.#ended = true;
        this.#res.emit('close');
      }
    });
  }

  destroy(): void {
    this.socket?.destroy();
  }

  #fail(e: Error): void {
    if (this.#ended) return;
    if (this.#res) {
      this.#ended = true;
      this.#res.emit('error', e);
    } else {
      this.emit('error', e);
    }
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
      if (!this.#parseHead(head.toString('latin1', 0, end))) return;
      const rest = head.subarray(end + HEADER_END.length);
      this.emit('response', this.#res);
      if (rest.length > 0) this.#body(rest);
      else if (this.#mode?.kind === 'length' && this.#mode.left === 0) this.#complete();
      return;
    }
    this.#body(chunk);
  }

  #parseHead(text: string): boolean {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
    if (!m) {
      this.#fail(Object.assign(new Error(`not an HTTP answer: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`), { code: 'HPE_INVALID_CONSTANT' }));
      return false;
    }
    const res = new RawResponse(this);
    res.statusCode = Number(m[1]);
    const headers: Record<string, string> = {};
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i]!;
      const colon = line.indexOf(':');
      if (colon <= 0) continue;
      const name = line.slice(0, colon).trim().toLowerCase();
      const value = line.slice(colon + 1).trim();
      headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
    }
    res.headers = headers;
    this.#res = res;
    const te = headers['transfer-encoding'];
    const cl = headers['content-length'];
    if (te !== undefined && /chunked/i.test(te)) this.#mode = { kind: 'chunked', left: 0, state: 'size' };
    else if (cl !== undefined && /^\d+$/.test(cl)) this.#mode = { kind: 'length', left: Number(cl) };
    else this.#mode = { kind: 'close' };
    return true;
  }

  #body(data: Buffer): void {
    const mode = this.#mode!;
    if (mode.kind === 'close') {
      this.#res!.emit('data', data);
      return;
    }
    if (mode.kind === 'length') {
      const take = Math.min(mode.left, data.length);
      if (take > 0) {
        mode.left -= take;
        this.#res!.emit('data', take === data.length ? data : data.subarray(0, take));
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
        this.#res!.emit('data', data.subarray(i, i + take));
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
    const res = this.#res!;
    res.complete = true;
    this.socket?.destroy();
    res.emit('end');
  }

  #onEnd(): void {
    if (this.#ended) return;
    if (this.#res && this.#mode?.kind === 'close') {
      this.#complete();
      return;
    }
    if (!this.#res) {
      this.#fail(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
      return;
    }
    // The connection ended before the body was whole.
    this.#ended = true;
    this.#res.emit('close');
  }
}
