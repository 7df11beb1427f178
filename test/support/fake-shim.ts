// The demo's simulated shim (src/demo/fake-shim.ts) with what tests need on
// top: faults on demand, switched at any time, and request counters.

import type { ServerResponse } from 'node:http';
import {
  PROM_TEXT,
  TEXT,
  send,
  startFakeShim as startShim,
  type FakeShim as Shim,
  type FakeShimOptions as ShimOptions,
} from '../../src/demo/fake-shim.ts';

export type FakeShimBehaviour =
  | { readonly kind: 'ok' }
  /** Answers after `delayMs`. */
  | { readonly kind: 'slow'; readonly delayMs: number }
  /** Accepts the connection, reads the request, never answers. */
  | { readonly kind: 'hang' }
  /** A 200 answer whose body is not Prometheus text. */
  | { readonly kind: 'garbage' }
  /**
   * Streams `bytes` (default 100 MB) chunk by chunk, respecting backpressure;
   * chunked unless `declareLength` announces the size up front.
   */
  | { readonly kind: 'huge'; readonly bytes?: number; readonly declareLength?: boolean }
  /** Announces the full Content-Length, sends half, closes the connection. */
  | { readonly kind: 'close-mid-body' }
  | { readonly kind: 'status-500' };

export type FakeShimBehaviourName = FakeShimBehaviour['kind'];

export interface FakeShimOptions extends Omit<ShimOptions, 'respond'> {
  /** Applies to every path. Default 'ok'. */
  readonly behaviour?: FakeShimBehaviour | FakeShimBehaviourName;
}

export interface FakeShim extends Shim {
  /** How many /metrics requests arrived (whatever the behaviour). */
  readonly requests: number;
  /** Requests per path (without query), all behaviours. */
  readonly requestsByPath: ReadonlyMap<string, number>;
  /** The last request's path and query, as received. */
  readonly lastUrl: string | undefined;
  setBehaviour(behaviour: FakeShimBehaviour | FakeShimBehaviourName): void;
}

const HUGE_DEFAULT = 100 * 1024 * 1024;
const HUGE_CHUNK = Buffer.alloc(64 * 1024, '# padding that is not a metric\n');

export async function startFakeShim(options: FakeShimOptions): Promise<FakeShim> {
  let behaviour = normalise(options.behaviour ?? 'ok');
  let metricsRequests = 0;
  const byPath = new Map<string, number>();
  let lastUrl: string | undefined;
  const timers = new Set<NodeJS.Timeout>();

  const shim = await startShim({
    ...options,
    respond(req, res, answer) {
      lastUrl = req.url;
      const { pathname } = new URL(req.url ?? '/', 'http://shim');
      byPath.set(pathname, (byPath.get(pathname) ?? 0) + 1);
      if (pathname === '/metrics') metricsRequests++;
      const b = behaviour;
      switch (b.kind) {
        case 'hang':
          return;
        case 'slow': {
          const t = setTimeout(() => {
            timers.delete(t);
            answer();
          }, b.delayMs);
          timers.add(t);
          return;
        }
        case 'garbage':
          send(res, 200, TEXT, '<html><body>502 Bad Gateway: this is not Prometheus text {{{ \u0000\n');
          return;
        case 'status-500':
          send(res, 500, TEXT, 'failed to get sandbox metrics: rpc error: code = Unavailable\n');
          return;
        case 'close-mid-body': {
          const body = Buffer.from(options.metrics());
          res.writeHead(200, { 'Content-Type': PROM_TEXT, 'Content-Length': body.length });
          // Flush half, then drop the connection: the client sees a short body.
          res.write(body.subarray(0, body.length >> 1), () => res.socket?.destroy());
          return;
        }
        case 'huge':
          streamHuge(res, b.bytes ?? HUGE_DEFAULT, b.declareLength ?? false);
          return;
        case 'ok':
          answer();
          return;
      }
    },
  });

  return {
    socketPath: shim.socketPath,
    get requests() {
      return metricsRequests;
    },
    requestsByPath: byPath,
    get lastUrl() {
      return lastUrl;
    },
    setBehaviour(next) {
      behaviour = normalise(next);
    },
    close() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return shim.close();
    },
  };
}

function normalise(b: FakeShimBehaviour | FakeShimBehaviourName): FakeShimBehaviour {
  if (typeof b !== 'string') return b;
  switch (b) {
    case 'slow':
      return { kind: 'slow', delayMs: 5000 };
    case 'huge':
      return { kind: 'huge' };
    default:
      return { kind: b };
  }
}

function streamHuge(res: ServerResponse, total: number, declareLength: boolean): void {
  res.writeHead(200, declareLength ? { 'Content-Type': PROM_TEXT, 'Content-Length': total } : { 'Content-Type': PROM_TEXT });
  let sent = 0;
  const pump = (): void => {
    while (sent < total && !res.destroyed) {
      const n = Math.min(HUGE_CHUNK.length, total - sent);
      sent += n;
      if (!res.write(n === HUGE_CHUNK.length ? HUGE_CHUNK : HUGE_CHUNK.subarray(0, n))) {
        res.once('drain', pump);
        return;
      }
    }
    if (!res.destroyed) res.end();
  };
  pump();
}
