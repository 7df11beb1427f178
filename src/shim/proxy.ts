// kata-monitor's /debug/* endpoints: Go's expvar and net/http/pprof of one
// shim, forwarded with the original path and query, with upstream's header
// rules (pprof.go). Only the paths Go's pprof package serves are forwarded.
//
// Differences from upstream, on purpose:
// - the shim's status is passed on (upstream always answers 200 once the shim
//   answered, so `go tool pprof` could not tell a 404 "Unknown profile");
// - bodies are streamed with a deadline of `seconds` + the shim timeout and a
//   size cap (upstream has no deadline past the dial);
// - the sandbox id put into the index links is URL-escaped.

import type { IncomingHttpHeaders } from 'node:http';
import type { Logger } from '../log/logger.ts';
import { ShimError, shimGet, shimStream, type ShimRequestOptions } from './client.ts';

/** Go's runtime/pprof profiles, served by pprof.Index under /debug/pprof/NAME. */
export const PPROF_PROFILES: readonly string[] = Object.freeze(['allocs', 'block', 'goroutine', 'heap', 'mutex', 'threadcreate']);

const INDEX = '/debug/pprof/';
const PATHS: ReadonlySet<string> = new Set(['/debug/vars', ...['', 'cmdline', 'profile', 'symbol', 'trace', ...PPROF_PROFILES].map((p) => INDEX + p)]);

export function isProxiedDebugPath(pathname: string): boolean {
  return PATHS.has(pathname);
}

/** The longest `seconds` honoured in the deadline. */
const MAX_SECONDS = 600;
/** Profiles take `seconds`; these are Go's defaults when it is absent. */
const DEFAULT_SECONDS: Readonly<Record<string, number>> = { '/debug/pprof/profile': 30, '/debug/pprof/trace': 1 };

/** `timeoutMs`: the normal shim timeout (3 s upstream), which profiles extend by their `seconds`; `signal`: the client went away. */
export interface ProxyOptions extends ShimRequestOptions {
  readonly logger?: Logger;
}

const TEXT = 'text/plain; charset=utf-8';

/**
 * Forward `pathAndQuery` (the request's raw path and query string, e.g.
 * `/debug/pprof/heap?sandbox=ID&debug=1`) to the shim behind `socketPaths`.
 * `sandboxId` goes into the index page's links. Never rejects: failures are
 * answered as upstream answers them.
 */
export async function proxyDebugRequest(
  socketPaths: readonly string[],
  sandboxId: string,
  pathAndQuery: string,
  opts: ProxyOptions,
): Promise<Response> {
  const q = pathAndQuery.indexOf('?');
  const pathname = q < 0 ? pathAndQuery : pathAndQuery.slice(0, q);
  if (!PATHS.has(pathname)) {
    // What Go's mux / pprof.Index would answer; the shim is never asked.
    return serveError(404, pathname.startsWith(INDEX) ? 'Unknown profile' : '404 page not found');
  }
  const uri = `http://shim${pathAndQuery}`;
  const log = opts.logger;
  const request: ShimRequestOptions = { ...opts, timeoutMs: opts.timeoutMs + deadlineSeconds(pathname, pathAndQuery, q) * 1000 };
  log?.debug('proxy request to shim', { uri, sockets: socketPaths.join(',') });

  try {
    if (pathname === INDEX) {
      const res = await shimGet(socketPaths, pathAndQuery, { ...request, accept: 'any' });
      return new Response(addSandboxToLinks(res.body.toString('utf8'), sandboxId), { status: res.status, headers: answerHeaders(pathname, res.headers) });
    }
    const res = await shimStream(socketPaths, pathAndQuery, request);
    return new Response(res.body, { status: validStatus(res.status), headers: answerHeaders(pathname, res.headers) });
  } catch (err) {
    if (err instanceof ShimError && err.kind === 'no-socket') {
      log?.error('failed to get shim monitor address', { error: err.message });
      return serveError(400, 'sandbox may be stopped or deleted');
    }
    if (err instanceof ShimError && (err.kind === 'too-large' || err.kind === 'closed' || (err.kind === 'timeout' && pathname === INDEX))) {
      // The shim answered but the body did not arrive whole (only the buffered index gets here).
      log?.error(`failed proxying ${uri}`, { error: err.message });
      return serveError(500, 'error retrieving resource');
    }
    const socket = err instanceof ShimError && err.socketPath !== undefined ? err.socketPath : (socketPaths[0] ?? '');
    log?.error(`failed to request ${uri}`, { error: err instanceof Error ? err.message : String(err) });
    return serveError(500, `failed to request ${uri} through unix://${socket}`);
  }
}

/** The shim's /agent-url answer (e.g. `vsock://1234:1024`), as the shim wrote it. */
export async function getAgentUrl(socketPaths: readonly string[], opts: ShimRequestOptions): Promise<string> {
  return (await shimGet(socketPaths, '/agent-url', opts)).body.toString('utf8');
}

/**
 * Upstream's rewrite of the pprof index: `<a href='NAME?K=V'>` becomes
 * `<a href='NAME?sandbox=ID&K=V'>`, so the links come back through us.
 */
export function addSandboxToLinks(html: string, sandboxId: string): string {
  // encodeURIComponent leaves ' alone, which would end a single-quoted href.
  const sb = encodeURIComponent(sandboxId).replaceAll("'", '%27');
  return html.replace(/<a href=(['"])(\w+)\?(\w+=\w+)['"]>/g, (_m, quote: string, name: string, kv: string) => `<a href=${quote}${name}?sandbox=${sb}&${kv}${quote}>`);
}

function answerHeaders(pathname: string, shim: IncomingHttpHeaders): Headers {
  const h = new Headers({ 'X-Content-Type-Options': 'nosniff' });
  // Defaults first; the shim's own values win, as in upstream.
  if (pathname === '/debug/pprof/symbol') h.set('Content-Type', TEXT);
  if (pathname === '/debug/pprof/trace') {
    h.set('Content-Type', 'application/octet-stream');
    h.set('Content-Disposition', 'attachment; filename="trace"');
  }
  if (shim['content-type']) h.set('Content-Type', shim['content-type']);
  if (shim['content-disposition']) h.set('Content-Disposition', shim['content-disposition']);
  return h;
}

/** Go's pprof serveError: plain text, X-Go-Pprof, no attachment, a newline. */
function serveError(status: number, text: string): Response {
  return new Response(text + '\n', {
    status,
    headers: { 'Content-Type': TEXT, 'X-Go-Pprof': '1', 'X-Content-Type-Options': 'nosniff' },
  });
}

/** Seconds the shim may legitimately spend before finishing its answer. */
function deadlineSeconds(pathname: string, pathAndQuery: string, q: number): number {
  // Named profiles take `seconds` too (delta profiles); the rest default to none.
  const raw = q < 0 ? null : new URLSearchParams(pathAndQuery.slice(q + 1)).get('seconds');
  const n = raw === null ? Number.NaN : Number(raw);
  const seconds = Number.isFinite(n) && n > 0 ? n : (DEFAULT_SECONDS[pathname] ?? 0);
  return Math.min(seconds, MAX_SECONDS);
}

function validStatus(status: number): number {
  return status >= 200 && status <= 599 ? status : 502;
}
