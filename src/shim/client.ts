// HTTP/1.1 GET to one shim over its unix socket: the scrape hot path (300
// sandboxes a scrape) and the transport under the /debug/* proxy.
//
// Upstream dials `<root>/<id>/shim-monitor.sock` with no keep-alive and a 3 s
// timeout. We keep that, and add what a daemon facing many shims needs: one
// deadline covering connect + headers + body (a shim that accepts and never
// answers, or trickles bytes, fails at the deadline), a size cap enforced as
// bytes arrive, typed failures, and the socket destroyed on every failure.

import type { IncomingHttpHeaders } from 'node:http';
import { RawRequest } from './raw-request.ts';
import { BodyCollector } from './body-collector.ts';
import { stat } from 'node:fs/promises';

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
    exchange(socketPaths, path, opts, {
      head(s, h, socketPath) {
        status = s;
        headers = h;
        from = socketPath;
      },
      data(chunk) {
        // The transport reuses its read buffer: copy now.
        collected.append(chunk);
      },
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

/** shimGet for a 200 answer, decoded as UTF-8. */
export async function shimGetText(socketPaths: readonly string[], path: string, opts: ShimRequestOptions): Promise<string> {
  const res = await shimGet(socketPaths, path, { ...opts, accept: 'ok' });
  return res.body.toString('utf8');
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
    const handle = exchange(socketPaths, path, opts, {
      head(status, headers, socketPath) {
        const body = new ReadableStream<Uint8Array>({
          start(c) {
            controller = c;
          },
          pull() {
            handle.resume();
          },
          cancel() {
            handle.cancel();
          },
        });
        resolve({ status, headers, body, socketPath });
      },
      data(chunk) {
        // A copy: the transport reuses its read buffer.
        controller!.enqueue(new Uint8Array(chunk));
        if ((controller!.desiredSize ?? 0) <= 0) handle.pause();
      },
      end() {
        controller!.close();
      },
      fail(err) {
        if (controller) controller.error(err);
        else reject(err);
      },
    });
  });
}

interface Sink {
  head(status: number, headers: IncomingHttpHeaders, socketPath: string): void;
  data(chunk: Buffer): void;
  end(): void;
  fail(err: unknown): void;
}

interface Handle {
  /** Stop quietly: destroys the connection, reports nothing to the sink. */
  cancel(): void;
  /** Stop reading the shim until resume() (backpressure). */
  pause(): void;
  resume(): void;
}

const NEXT_CANDIDATE = new Set(['ENOENT', 'ENOTDIR', 'ECONNREFUSED', 'ENOTSOCK']);

function exchange(socketPaths: readonly string[], path: string, opts: ShimRequestOptions, sink: Sink): Handle {
  let done = false;
  let req: RawRequest | undefined;
  let current: string | undefined;
  let index = 0;
  /** Candidates with a socket nobody listens on, with the error code. */
  const refused: { path: string; code: string }[] = [];
  const { signal, timeoutMs, maxBytes } = opts;

  const finish = (err?: unknown): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    if (err === undefined) {
      try {
        sink.end();
        return;
      } catch (e) {
        // A sink that throws (e.g. a stream already errored) must still settle.
        err = e;
      }
    }
    req?.destroy();
    try {
      sink.fail(err);
    } catch {
      // The sink is already settled; nothing more to tell.
    }
  };

  // The deadline is the backstop for every other path: whatever happened
  // before (an event that never came, a handler that threw), it destroys the
  // connection and settles. Nothing but finish() and cancel() clears it.
  const timer = setTimeout(() => {
    finish(new ShimError('timeout', `shim ${current ?? socketPaths[0] ?? '?'}: no complete answer within ${timeoutMs} ms`, current));
  }, timeoutMs);

  const onAbort = (): void => {
    const reason: unknown = signal?.reason;
    if (reason instanceof DOMException && reason.name === 'TimeoutError') {
      finish(new ShimError('timeout', `shim ${current ?? socketPaths[0] ?? '?'}: request cancelled by its deadline`, current, undefined, reason));
    } else {
      finish(reason ?? new DOMException('This operation was aborted', 'AbortError'));
    }
  };

  const giveUp = (): void => {
    const first = refused[0];
    if (first) {
      finish(new ShimError('connect', `shim ${first.path}: connection refused (${first.code}): no process listens on the socket (a shim that exited?)`, first.path));
    } else {
      const list = socketPaths.length === 0 ? '(no candidate paths)' : socketPaths.join(' or ');
      finish(new ShimError('no-socket', `no shim socket at ${list} (sandbox stopped or deleted?)`));
    }
  };

  const attempt = (): void => {
    const socketPath = socketPaths[index++];
    if (socketPath === undefined) {
      giveUp();
      return;
    }
    current = socketPath;
    let received = 0;
    // A fresh socket and `Connection: close`, as upstream's DisableKeepAlives:
    // a shim is asked once per scrape.
    req = new RawRequest(socketPath, path, {
      head(status, headers) {
        const declared = Number(headers['content-length']);
        if (declared > maxBytes) {
          finish(new ShimError('too-large', `shim ${socketPath}: answer of ${declared} bytes is over the ${maxBytes}-byte limit`, socketPath));
          return;
        }
        try {
          sink.head(status, headers, socketPath);
        } catch (e) {
          finish(e);
        }
      },
      data(chunk) {
        if (done) return;
        received += chunk.length;
        if (received > maxBytes) {
          finish(new ShimError('too-large', `shim ${socketPath}: answer passed the ${maxBytes}-byte limit`, socketPath));
          return;
        }
        try {
          sink.data(chunk);
        } catch (e) {
          finish(e);
        }
      },
      end: () => finish(),
      error(e) {
        if (done) return;
        const code = e.code ?? '';
        if (NEXT_CANDIDATE.has(code)) {
          classifyAndContinue(socketPath, code);
        } else if (code === 'ECONNRESET' || code === 'EPIPE') {
          finish(new ShimError('closed', `shim ${socketPath}: connection closed before an answer (${code})`, socketPath, undefined, e));
        } else {
          finish(new ShimError('connect', `shim ${socketPath}: cannot connect: ${e.message}`, socketPath, undefined, e));
        }
      },
      closed: (e) => finish(new ShimError('closed', `shim ${socketPath}: connection closed after ${received} body bytes, before the answer was complete`, socketPath, undefined, e)),
    });
  };

  // ECONNREFUSED means a socket file nobody listens on, or a path that is not
  // a socket at all: only the latter is "no socket". Checked on failure only,
  // so the hot path costs no extra syscall.
  const classifyAndContinue = (socketPath: string, code: string): void => {
    if (code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENOTSOCK') {
      attempt();
      return;
    }
    stat(socketPath).then(
      (st) => {
        if (done) return;
        if (st.isSocket()) refused.push({ path: socketPath, code });
        attempt();
      },
      () => {
        if (!done) attempt();
      },
    );
  };

  if (signal?.aborted) {
    // Defer so the caller's promise wiring is in place, as with any other failure.
    queueMicrotask(onAbort);
  } else {
    signal?.addEventListener('abort', onAbort, { once: true });
    attempt();
  }

  return {
    cancel() {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      req?.destroy();
    },
    pause: () => req?.pause(),
    resume: () => req?.resume(),
  };
}

/** The start of an error body, on one line, for the operator reading the log. */
function snippet(body: Buffer): string {
  if (body.length === 0) return '';
  const text = body.subarray(0, 200).toString('utf8').replace(/\s+/g, ' ').trim();
  return text ? `: ${text}${body.length > 200 ? '…' : ''}` : '';
}
