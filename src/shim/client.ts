// HTTP/1.1 GET to one shim over its unix socket: the scrape hot path (300
// sandboxes a scrape) and the transport under the /debug/* proxy.
//
// Upstream dials `<root>/<id>/shim-monitor.sock` with no keep-alive and a 3 s
// timeout. We keep that, and add what a daemon facing many shims needs: one
// deadline covering connect + headers + body (a shim that accepts and never
// answers, or trickles bytes, fails at the deadline), a size cap enforced as
// bytes arrive, typed failures, and the socket destroyed on every failure.
//
// The answer (status line, headers, a Content-Length, chunked or until-close
// body) is parsed here on a bare socket. Measured: 100 sequential-ish GETs of a
// 72 kB shim body cost ~27–44 ms of CPU through node:http's
// ClientRequest/IncomingMessage machinery and ~8–13 ms on a bare socket.

import type { IncomingHttpHeaders } from 'node:http';
import { connect, type Socket } from 'node:net';
import { BodyCollector } from './body-collector.ts';
import { stat } from 'node:fs/promises';
import { keepHiddenClass } from '../buffers/hidden-class.ts';
/** What talking to shims is configured with (receivers.kata_monitor: shim.*). */
export interface ShimConfig {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  /** Shims scraped at once. */
  readonly concurrency: number;
}
/** The failures a shim exchange can end in; `kind` is stable for metrics and tests. */
export type ShimErrorKind =
  | 'no-socket' // neither <root>/<id>/shim-monitor.sock exists, or it is not a socket
  | 'connect' // the socket refused or reset the connection
  | 'timeout' // no complete answer within the shim timeout
  | 'too-large' // the body passed the size cap
  | 'closed' // the shim closed the connection mid-body
  | 'status'; // a non-200 answer

export class ShimError extends Error {
  override readonly name = 'ShimError';
  readonly kind: ShimErrorKind;
  /** The socket the failure happened on; undefined for 'no-socket'. */
  readonly socketPath: string | undefined;
  /** The HTTP status, for kind 'status'. */
  readonly status: number | undefined;
  constructor(kind: ShimErrorKind, message: string, socketPath?: string, status?: number, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.kind = kind;
    this.socketPath = socketPath;
    this.status = status;
  }
}

export interface ShimRequestOptions {
  /** One deadline for connect, headers and the whole body. */
  readonly timeoutMs: number;
  /** The exchange fails as soon as more body bytes than this have arrived. */
  readonly maxBytes: number;
  /**
   * Cancels the exchange. An `AbortSignal.timeout()` reason becomes a
   * ShimError of kind 'timeout'; any other reason is rethrown as is, as fetch
   * does, since the caller that aborted knows why.
   */
  readonly signal?: AbortSignal;
}

export interface ShimGetOptions extends ShimRequestOptions {
  /** 'ok' (default): anything but 200 fails with kind 'status'. 'any': every status is returned. */
  readonly accept?: 'ok' | 'any';
}

export interface ShimResponse<Body = Buffer> {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  /** A stream errors with a ShimError if the deadline, the size cap or the shim cuts it short. */
  readonly body: Body;
  /** The candidate that answered. */
  readonly socketPath: string;
}

/**
 * GET `path` from the first candidate socket that accepts the connection,
 * buffering the body. Missing sockets (ENOENT, or a path that is not a
 * socket) and refused connections move on to the next candidate.
 */
export function shimGet(socketPaths: readonly string[], path: string, opts: ShimGetOptions): Promise<ShimResponse> {
  return new Promise<ShimResponse>((resolve, reject) => {
    let status = 0;
    let headers: IncomingHttpHeaders = {};
    let from = '';
    const collected = new BodyCollector();
    new Exchange(socketPaths, path, opts, {
      head(s, h, socketPath) {
        status = s;
        headers = h;
        from = socketPath;
      },
      data: (chunk) => collected.append(chunk),
      end() {
        const body = collected.finish();
        if (status !== 200 && opts.accept !== 'any') {
          reject(new ShimError('status', `shim ${from}: answered HTTP ${status}${snippet(body)}`, from, status));
          return;
        }
        resolve({ status, headers, body, socketPath: from });
      },
      fail(err) {
        collected.release();
        reject(err);
      },
    });
  });
}

/**
 * GET `path` and hand the body on as a web stream, with backpressure: the
 * shim is read only as fast as the consumer reads. Resolves when the headers
 * arrive (any status); the deadline and the size cap keep running over the
 * body. Cancelling the stream destroys the connection.
 */
export function shimStream(socketPaths: readonly string[], path: string, opts: ShimRequestOptions): Promise<ShimResponse<ReadableStream<Uint8Array>>> {
  return new Promise((resolve, reject) => {
    let controller: ReadableStreamDefaultController<Uint8Array> | undefined;
    const handle = new Exchange(socketPaths, path, opts, {
      head(status, headers, socketPath) {
        const body = new ReadableStream<Uint8Array>({
          start: (c) => void (controller = c),
          pull: () => handle.resume(),
          cancel: () => void handle.cancel(),
        });
        resolve({ status, headers, body, socketPath });
      },
      data(chunk) {
        controller!.enqueue(new Uint8Array(chunk));
        if ((controller!.desiredSize ?? 0) <= 0) handle.pause();
      },
      end: () => controller!.close(),
      fail(err) {
        if (controller) controller.error(err);
        else reject(err);
      },
    });
  });
}

/** What an exchange reports: head, then data, then end; or fail instead, at any point (once). */
interface Sink {
  head(status: number, headers: IncomingHttpHeaders, socketPath: string): void;
  /** A view of the shared read buffer: copy what is kept before returning. */
  data(chunk: Buffer): void;
  end(): void;
  fail(err: unknown): void;
}

/**
 * Every exchange reads into this one buffer (net's `onread`): reads are
 * handled one at a time, so reading allocates nothing. Node's default (a
 * fresh 64 KiB per read, shrunk to the bytes read) left the malloc heap
 * fragmented long after a scrape of 300 shims. What outlives a read is copied.
 */
const READ_BUFFER = Buffer.allocUnsafeSlow(64 * 1024);
const CRLF = Buffer.from('\r\n');
const HEADER_END = Buffer.from('\r\n\r\n');
/** Status line and headers together; a shim answers with a handful. */
const MAX_HEAD_BYTES = 64 * 1024;
const NO_HEAD = Buffer.alloc(0);
const NEXT_CANDIDATE = new Set(['ENOENT', 'ENOTDIR', 'ECONNREFUSED', 'ENOTSOCK']);

type BodyMode = { kind: 'length'; left: number } | { kind: 'chunked'; left: number; state: 'size' | 'data' | 'data-crlf' | 'trailer' } | { kind: 'close' };

/** One GET, tried on each candidate socket in turn until one answers. */
class Exchange {
  readonly #paths: readonly string[];
  readonly #path: string;
  readonly #opts: ShimRequestOptions;
  readonly #sink: Sink;
  readonly #timer: NodeJS.Timeout;
  #done = false;
  #index = 0;
  /** The first candidate with a socket nobody listens on, with the error code. */
  #refused: { path: string; code: string } | undefined;
  /** The candidate being asked, and its connection (undefined once that attempt is over). */
  #current: string | undefined;
  #socket: Socket | undefined;
  /** The answer's head as read so far; undefined once parsed. */
  #head: Buffer | undefined;
  /** Set once the head is parsed: the request has an answer. */
  #mode: BodyMode | undefined;
  /** Bytes of a chunked body not yet consumed (a size line split across reads). */
  #pending: Buffer | undefined;
  #received = 0;

  constructor(socketPaths: readonly string[], path: string, opts: ShimRequestOptions, sink: Sink) {
    this.#paths = socketPaths;
    this.#path = path;
    this.#opts = opts;
    this.#sink = sink;
    keepHiddenClass(this);
    // The deadline is the backstop for every other path: whatever happened
    // before (an event that never came, a sink that threw), it destroys the
    // connection and settles. Nothing but finishing or cancel() clears it.
    this.#timer = setTimeout(() => {
      this.#finish(new ShimError('timeout', `shim ${this.#current ?? socketPaths[0] ?? '?'}: no complete answer within ${opts.timeoutMs} ms`, this.#current));
    }, opts.timeoutMs);
    if (opts.signal?.aborted) {
      // Defer so the caller's promise wiring is in place, as with any other failure.
      queueMicrotask(this.#onAbort);
    } else {
      opts.signal?.addEventListener('abort', this.#onAbort, { once: true });
      this.#attempt();
    }
  }

  /** Stops quietly: destroys the connection, reports nothing to the sink. False when already over. */
  cancel(): boolean {
    if (this.#done) return false;
    this.#done = true;
    clearTimeout(this.#timer);
    this.#opts.signal?.removeEventListener('abort', this.#onAbort);
    this.#socket?.destroy();
    this.#socket = undefined;
    return true;
  }

  /** Stops reading the shim until resume() (backpressure). */
  pause(): void {
    this.#socket?.pause();
  }

  resume(): void {
    this.#socket?.resume();
  }

  #finish(err?: unknown): void {
    if (!this.cancel()) return;
    if (err === undefined) {
      try {
        this.#sink.end();
        return;
      } catch (e) {
        // A sink that throws (e.g. a stream already errored) must still settle.
        err = e;
      }
    }
    try {
      this.#sink.fail(err);
    } catch {
      // The sink is already settled; nothing more to tell.
    }
  }

  readonly #onAbort = (): void => {
    const reason: unknown = this.#opts.signal?.reason;
    if (reason instanceof DOMException && reason.name === 'TimeoutError') {
      this.#finish(new ShimError('timeout', `shim ${this.#current ?? this.#paths[0] ?? '?'}: request cancelled by its deadline`, this.#current, undefined, reason));
    } else {
      this.#finish(reason ?? new DOMException('This operation was aborted', 'AbortError'));
    }
  };

  #attempt(): void {
    const socketPath = this.#paths[this.#index++];
    if (socketPath === undefined) {
      const first = this.#refused;
      if (first) {
        this.#finish(new ShimError('connect', `shim ${first.path}: connection refused (${first.code}): no process listens on the socket (a shim that exited?)`, first.path));
      } else {
        const list = this.#paths.length === 0 ? '(no candidate paths)' : this.#paths.join(' or ');
        this.#finish(new ShimError('no-socket', `no shim socket at ${list} (sandbox stopped or deleted?)`));
      }
      return;
    }
    this.#current = socketPath;
    // Node's http client refuses these characters in a path too.
    if (/[^\x21-\x7e]/.test(this.#path)) {
      const err = Object.assign(new TypeError(`Request path contains unescaped characters: ${JSON.stringify(this.#path)}`), { code: 'ERR_UNESCAPED_CHARACTERS' });
      queueMicrotask(() => this.#lost(err));
      return;
    }
    this.#head = NO_HEAD;
    this.#mode = undefined;
    this.#pending = undefined;
    this.#received = 0;
    // A fresh socket and `Connection: close`, as upstream's DisableKeepAlives:
    // a shim is asked once per scrape.
    const s = connect({
      path: socketPath,
      onread: {
        buffer: READ_BUFFER,
        callback: (n: number, buf: Uint8Array): boolean => {
          if (s === this.#socket) this.#onData(Buffer.from(buf.buffer, buf.byteOffset, n));
          return true;
        },
      },
    });
    this.#socket = s;
    s.once('connect', () => s.write(`GET ${this.#path} HTTP/1.1\r\nHost: shim\r\nConnection: close\r\n\r\n`));
    s.on('end', () => {
      if (s !== this.#socket) return;
      if (this.#mode?.kind === 'close') this.#finish();
      else this.#lost(undefined);
    });
    s.on('error', (e) => s === this.#socket && this.#lost(e));
    s.on('close', () => s === this.#socket && this.#lost(undefined));
  }

  /** The attempt failed with `e`, or the connection ended early (before an answer: as node:http says it). */
  #lost(e: NodeJS.ErrnoException | undefined): void {
    if (this.#done) return;
    const socketPath = this.#current!;
    if (this.#mode) {
      this.#finish(new ShimError('closed', `shim ${socketPath}: connection closed after ${this.#received} body bytes, before the answer was complete`, socketPath, undefined, e));
      return;
    }
    const err = e ?? Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    const code = err.code ?? '';
    if (NEXT_CANDIDATE.has(code)) {
      this.#socket = undefined;
      this.#next(socketPath, code);
    } else if (code === 'ECONNRESET' || code === 'EPIPE') {
      this.#finish(new ShimError('closed', `shim ${socketPath}: connection closed before an answer (${code})`, socketPath, undefined, err));
    } else {
      this.#finish(new ShimError('connect', `shim ${socketPath}: cannot connect: ${err.message}`, socketPath, undefined, err));
    }
  }

  // ECONNREFUSED means a socket file nobody listens on, or a path that is not
  // a socket at all: only the latter is "no socket". Checked on failure only,
  // so the hot path costs no extra syscall.
  #next(socketPath: string, code: string): void {
    if (code !== 'ECONNREFUSED') {
      this.#attempt();
      return;
    }
    stat(socketPath).then(
      (st) => {
        if (this.#done) return;
        if (st.isSocket()) this.#refused ??= { path: socketPath, code };
        this.#attempt();
      },
      () => {
        if (!this.#done) this.#attempt();
      },
    );
  }

  #onData(chunk: Buffer): void {
    if (this.#done) return;
    if (this.#head !== undefined) {
      const head = this.#head.length === 0 ? chunk : Buffer.concat([this.#head, chunk]);
      const end = head.indexOf(HEADER_END);
      if (end < 0) {
        if (head.length > MAX_HEAD_BYTES) this.#lost(Object.assign(new Error('answer headers too large'), { code: 'HPE_HEADER_OVERFLOW' }));
        else this.#head = Buffer.from(head); // a copy: `chunk` is the shared read buffer
        return;
      }
      this.#head = undefined;
      this.#parseHead(head.toString('latin1', 0, end));
      if (this.#done) return;
      const rest = head.subarray(end + HEADER_END.length);
      if (rest.length > 0) this.#body(rest);
      else if (this.#mode?.kind === 'length' && this.#mode.left === 0) this.#finish();
      return;
    }
    this.#body(chunk);
  }

  /** Sets the body mode and reports the head; fails when it is not HTTP or declares too large a body. */
  #parseHead(text: string): void {
    const lines = text.split('\r\n');
    const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(lines[0] ?? '');
    if (!m) {
      this.#lost(Object.assign(new Error(`not an HTTP answer: ${JSON.stringify((lines[0] ?? '').slice(0, 40))}`), { code: 'HPE_INVALID_CONSTANT' }));
      return;
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
    const declared = Number(cl);
    if (te !== undefined && /chunked/i.test(te)) this.#mode = { kind: 'chunked', left: 0, state: 'size' };
    else if (cl !== undefined && /^\d+$/.test(cl)) this.#mode = { kind: 'length', left: declared };
    else this.#mode = { kind: 'close' };
    const socketPath = this.#current!;
    const { maxBytes } = this.#opts;
    if (declared > maxBytes) {
      this.#finish(new ShimError('too-large', `shim ${socketPath}: answer of ${declared} bytes is over the ${maxBytes}-byte limit`, socketPath));
      return;
    }
    try {
      this.#sink.head(Number(m[1]), headers, socketPath);
    } catch (e) {
      this.#finish(e);
    }
  }

  #body(data: Buffer): void {
    const mode = this.#mode!;
    if (mode.kind === 'close') {
      this.#data(data);
      return;
    }
    if (mode.kind === 'length') {
      const take = Math.min(mode.left, data.length);
      if (take > 0) {
        mode.left -= take;
        this.#data(take === data.length ? data : data.subarray(0, take));
      }
      if (mode.left === 0) this.#finish();
      return;
    }
    this.#chunked(mode, this.#pending ? Buffer.concat([this.#pending, data]) : data);
  }

  #chunked(mode: Extract<BodyMode, { kind: 'chunked' }>, data: Buffer): void {
    this.#pending = undefined;
    let i = 0;
    while (i < data.length && !this.#done) {
      if (mode.state === 'size' || mode.state === 'trailer') {
        const eol = data.indexOf(CRLF, i);
        if (eol < 0) {
          this.#pending = Buffer.from(data.subarray(i)); // a copy, as the read buffer is reused
          return;
        }
        const line = data.toString('latin1', i, eol);
        i = eol + 2;
        if (mode.state === 'trailer') {
          if (line === '') this.#finish();
          continue;
        }
        const size = parseInt(line.split(';')[0]!.trim(), 16);
        if (!Number.isFinite(size) || size < 0) {
          this.#lost(Object.assign(new Error(`invalid chunk size ${JSON.stringify(line.slice(0, 20))}`), { code: 'HPE_INVALID_CHUNK_SIZE' }));
          return;
        }
        if (size === 0) mode.state = 'trailer';
        else {
          mode.left = size;
          mode.state = 'data';
        }
      } else if (mode.state === 'data') {
        const take = Math.min(mode.left, data.length - i);
        this.#data(data.subarray(i, i + take));
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

  /** Body bytes: counted against the size cap, then handed to the sink. */
  #data(chunk: Buffer): void {
    if (this.#done) return;
    this.#received += chunk.length;
    if (this.#received > this.#opts.maxBytes) {
      this.#finish(new ShimError('too-large', `shim ${this.#current}: answer passed the ${this.#opts.maxBytes}-byte limit`, this.#current));
      return;
    }
    try {
      this.#sink.data(chunk);
    } catch (e) {
      this.#finish(e);
    }
  }
}

/** The start of an error body, on one line, for the operator reading the log. */
function snippet(body: Buffer): string {
  if (body.length === 0) return '';
  const text = body.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ').trim();
  return text ? `: ${text}${body.length > 200 ? '…' : ''}` : '';
}
