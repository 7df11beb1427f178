// A simulated Kata shim: a real HTTP server on a unix socket answering what
// the shim's management server answers (metrics, agent-url, Go's expvar and
// net/http/pprof). Used by the demo mode, the benchmark and (with faults on
// demand, test/support/fake-shim.ts) the tests, so it must be cheap per
// request and never leak connections.

import { once } from 'node:events';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { mkdir, rm } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { gzipSync } from 'node:zlib';
import { PPROF_PROFILES } from '../shim/proxy.ts';

export interface FakeShimOptions {
  readonly socketPath: string;
  /** The /metrics body, asked for on every request. */
  readonly metrics: () => string | Buffer;
  /** The /agent-url answer. Default vsock://<cid>:1024 with a cid from the socket path. */
  readonly agentUrl?: string;
  /** Unit of the pprof `seconds` parameter in ms; tests shrink it. Default 1000. */
  readonly secondMs?: number;
  /** Sees every request first: answers it itself, or calls `answer` (now or later) for the shim's own answer. */
  readonly respond?: (req: IncomingMessage, res: ServerResponse, answer: () => void) => void;
}

export interface FakeShim {
  readonly socketPath: string;
  /** Stops listening, drops open connections (hung ones too), removes the socket file. */
  close(): Promise<void>;
}

export const TEXT = 'text/plain; charset=utf-8';
export const PROM_TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const CMDLINE = ['/opt/kata/bin/containerd-shim-kata-v2', '-namespace', 'k8s.io', '-address', '/run/containerd/containerd.sock', '-publish-binary', '/usr/bin/containerd', '-id'];

export async function startFakeShim(options: FakeShimOptions): Promise<FakeShim> {
  const { socketPath, metrics } = options;
  const secondMs = options.secondMs ?? 1000;
  const agentUrl = options.agentUrl ?? `vsock://${cidFor(socketPath)}:1024`;
  const id = basename(dirname(socketPath)); // the directory holding the socket is the sandbox id
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, fn: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  const server = createServer((req, res) => {
    const answer = (): void => route(new URL(req.url ?? '/', 'http://shim'), req, res);
    if (options.respond) options.respond(req, res, answer);
    else answer();
  });

  function route(url: URL, req: IncomingMessage, res: ServerResponse): void {
    if (res.destroyed) return;
    const p = url.pathname;
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, TEXT, 'Method Not Allowed\n');
    if (p === '/metrics') return send(res, 200, PROM_TEXT, metrics());
    // Go's fmt.Fprint: no newline; content type sniffed as text.
    if (p === '/agent-url') return send(res, 200, TEXT, agentUrl);
    if (p === '/debug/vars') return send(res, 200, 'application/json; charset=utf-8', expvar(id));
    if (p === '/debug/pprof/') return send(res, 200, 'text/html; charset=utf-8', pprofIndex());
    if (p === '/debug/pprof/cmdline') return send(res, 200, TEXT, [...CMDLINE, id].join('\x00'), true);
    if (p === '/debug/pprof/symbol') return send(res, 200, TEXT, 'num_symbols: 1\n', true);
    if (p === '/debug/pprof/profile' || p === '/debug/pprof/trace') {
      const cpu = p === '/debug/pprof/profile';
      const seconds = secondsParam(url, cpu ? 30 : 1);
      if (seconds === undefined) return send(res, 400, TEXT, 'bad seconds\n', true);
      // Go's CPU profile answers only at the end of the sampling window.
      if (cpu) return later(seconds * secondMs, () => attachment(res, 'profile', fakeProfile('cpu', id)));
      // The execution tracer streams while it runs: one chunk every tenth of the window.
      attachment(res, 'trace');
      res.write('go 1.23 trace\x00\x00\x00');
      let left = 10;
      const tick = (): void => {
        if (res.destroyed) return;
        if (left-- === 0) {
          res.end();
          return;
        }
        res.write(Buffer.alloc(1024, left));
        later((seconds * secondMs) / 10, tick);
      };
      later((seconds * secondMs) / 10, tick);
      return;
    }
    const name = p.startsWith('/debug/pprof/') ? p.slice('/debug/pprof/'.length) : undefined;
    if (name !== undefined) {
      if (!PPROF_PROFILES.includes(name)) return send(res, 404, TEXT, 'Unknown profile\n', true);
      if (url.searchParams.get('debug') === '1') {
        return send(res, 200, TEXT, `${name} profile: total 3\n1 @ 0x43a1b5 0x4067cf 0x46a9e1\n#\t0x43a1b4\truntime.gopark+0xd4\n`, true);
      }
      return attachment(res, name, fakeProfile(name, id));
    }
    send(res, 404, TEXT, '404 page not found\n', true);
  }

  await mkdir(dirname(socketPath), { recursive: true });
  await rm(socketPath, { force: true });
  server.listen(socketPath);
  await once(server, 'listening');

  let closing: Promise<void> | undefined;
  return {
    socketPath,
    close() {
      closing ??= (async () => {
        for (const t of timers) clearTimeout(t);
        timers.clear();
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await closed;
        await rm(socketPath, { force: true });
      })();
      return closing;
    },
  };
}

export function send(res: ServerResponse, status: number, contentType: string, body: string | Buffer, nosniff = false): void {
  if (res.destroyed) return;
  const headers: Record<string, string | number> = { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body) };
  if (nosniff) headers['X-Content-Type-Options'] = 'nosniff';
  res.writeHead(status, headers);
  res.end(body);
}

/** A pprof download: headers now, and the body when it is given (the caller streams it otherwise). */
function attachment(res: ServerResponse, name: string, body?: Buffer): void {
  if (res.destroyed) return;
  res.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Disposition': `attachment; filename="${name}"`, 'X-Content-Type-Options': 'nosniff' });
  if (body) res.end(body);
}

function secondsParam(url: URL, def: number): number | undefined {
  const s = url.searchParams.get('seconds');
  if (s === null || s === '') return def;
  const n = Number(s);
  return Number.isInteger(n) && n > 0 ? n : undefined;
}

function cidFor(socketPath: string): number {
  let h = 0;
  for (let i = 0; i < socketPath.length; i++) h = (h * 31 + socketPath.charCodeAt(i)) >>> 0;
  return 3 + (h % 100000);
}

/** Shaped like Go's expvar handler: cmdline and memstats, one key per line. */
function expvar(id: string): string {
  const memstats = {
    Alloc: 2214411,
    TotalAlloc: 4101001596,
    Sys: 65081206,
    Lookups: 0,
    Mallocs: 298733627,
    Frees: 160800591,
    HeapAlloc: 2214411,
    HeapSys: 36293065,
    HeapIdle: 1403602,
    HeapInuse: 1301663,
    HeapReleased: 5210875,
    HeapObjects: 51828,
    StackInuse: 655360,
    StackSys: 1474560,
    NextGC: 7888517,
    NumGC: 571,
    GCCPUFraction: 0.0000890474992338568,
  };
  return `{\n"cmdline": ${JSON.stringify([...CMDLINE, id])},\n"memstats": ${JSON.stringify(memstats)}\n}\n`;
}

/** Go's index lists the profiles, cmdline, profile and trace by name, with how many of each are live. */
function pprofIndex(): string {
  const counts: Readonly<Record<string, number>> = { allocs: 27, goroutine: 39, heap: 27, threadcreate: 10 };
  const rows = [...PPROF_PROFILES, 'cmdline', 'profile', 'trace']
    .sort()
    .map((name) => `<tr><td>${counts[name] ?? 0}</td><td><a href='${name}?debug=1'>${name}</a></td></tr>\n`)
    .join('');
  return `<html>
<head>
<title>/debug/pprof/</title>
</head>
<body>
/debug/pprof/<br>
<br>
Types of profiles available:
<table>
<thead><td>Count</td><td>Profile</td></thead>
${rows}</table>
<a href="goroutine?debug=2">full goroutine stack dump</a>
<br>
</body>
</html>
`;
}

/** Not a real pprof protobuf, but gzip like one, so tools see the right magic. */
function fakeProfile(kind: string, id: string): Buffer {
  return gzipSync(Buffer.from(`fake ${kind} profile of shim ${id}\n`));
}
