// The /metrics benchmark of issue #6: N simulated shims on unix sockets and a
// simulated CRI server in this process, the daemon as its own process, then
// 1 warm-up + 10 sequential GET /metrics, plain and gzip. CPU comes from
// /proc/<pid>/stat, peak RSS from VmHWM, so the figures are the daemon's own.

import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer as createHttpServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { FakeCriServer, type FakePod } from '../src/demo/fake-cri.ts';
import { createServer, type Server, type Socket } from 'node:net';
import { createShimPayload } from '../src/demo/payload.ts';
import { packagePath } from '../src/package-info.ts';

export interface DaemonBenchRow {
  readonly sandboxes: number;
  readonly wallPlainMedian: number;
  readonly wallPlainMax: number;
  readonly wallGzipMedian: number;
  readonly wallGzipMax: number;
  readonly cpuPerScrapeMs: number;
  readonly idleRssMiB: number;
  /**
   * The anonymous part of idle RSS (heap, stacks, malloc): the rest is pages
   * of the node executable mapped from disk, shared and reclaimable.
   */
  readonly idleAnonMiB: number;
  readonly peakRssMiB: number;
  readonly bytesPlain: number;
  readonly bytesGzip: number;
  /** /sandboxes answered during a scrape of this size. */
  readonly sandboxesDuringScrapeMs: number;
  readonly labelledOk: boolean;
}

const TICK_MS = 10; // USER_HZ = 100

/** The V8 flags the bin's shebang, the image and the DaemonSet run the daemon with. */
const SHIPPED_NODE_FLAGS = '--max-semi-space-size=2 --expose-gc';
/** The DaemonSet's NODE_OPTIONS (deploy/kubernetes/daemonset.yaml). */
const DAEMONSET_NODE_FLAGS = '--max-old-space-size=192 --max-semi-space-size=2 --expose-gc';

/** BENCH_SMAPS=FILE: /proc/<pid>/smaps after the last scrape, to FILE.<N>. */
/** BENCH_STDOUT=FILE: the daemon's stdout (e.g. --trace-gc output) appended to FILE. */
/** BENCH_ENV="K=V K2=V2": extra environment for the daemon (e.g. malloc tuning experiments). */
function envFromBench(): Record<string, string> {
  return Object.fromEntries((process.env.BENCH_ENV ?? '').split(' ').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
}

/** What the daemon runs against: N static shims, a CRI server, the daemon as its own process. */
export interface BenchHost {
  readonly base: string;
  readonly child: ChildProcess;
  /** OTLP requests the sink received. */
  readonly pushes: () => number;
  /** Prints the daemon's log (it is shown only when a run fails, or with BENCH_LOG_LEVEL). */
  readonly showLog: () => void;
  readonly stop: () => Promise<void>;
}

export interface BenchHostOptions {
  /** Push OTLP at this interval (e.g. '3s') to a sink in this process, as the DaemonSet's configuration does. */
  readonly otlpInterval?: string | undefined;
  readonly nodeFlags?: string;
}

export async function startBenchHost(n: number, options: BenchHostOptions = {}): Promise<BenchHost> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kb-'));
  const root = path.join(dir, 'sbs');
  await mkdir(root);
  const shims: StaticShim[] = [];
  const pods: FakePod[] = [];
  for (let i = 0; i < n; i++) {
    const id = `${i.toString(16).padStart(8, '0')}${'5a'.repeat(28)}`;
    await mkdir(path.join(root, id));
    // One realistic body per shim, fixed across requests: the daemon is measured, not the generator.
    const body = Buffer.from(createShimPayload(id)());
    shims.push(await startStaticShim(path.join(root, id, 'shim-monitor.sock'), body));
    pods.push({ id, name: `pod-${i}`, uid: `0000-${i}`, namespace: `ns-${i % 7}` });
  }
  const cri = await FakeCriServer.start({ socketPath: path.join(dir, 'cri.sock'), pods });
  const config = path.join(dir, 'config.yaml');
  const otlpInterval = options.otlpInterval;
  const sink = otlpInterval ? await startOtlpSink() : undefined;
  await writeFile(
    config,
    'receivers:\n  kata_monitor:\n    cri:\n      first_lookup_delay: 100ms\n      resync_interval: 500ms\n' +
      (sink
        ? // As config/kata-monitor.yaml: batches of at most 8192 points, a queue bounded in points.
          `    collection_interval: ${otlpInterval}\nprocessors:\n  batch:\n    send_batch_max_size: 8192\n` +
          `exporters:\n  otlphttp:\n    endpoint: http://127.0.0.1:${sink.port}/v1/metrics\n    timeout: 500ms\n    retry_on_failure: { initial_interval: 100ms, max_interval: 500ms }\n    sending_queue: { sizer: items, queue_size: 2000000 }\n` +
          'service:\n  pipelines:\n    metrics:\n      receivers: [kata_monitor]\n      processors: [batch]\n      exporters: [otlphttp]\n'
        : ''),
  );
  const port = 20000 + Math.floor(Math.random() * 20000);
  const child = spawn(
    process.execPath,
    [...(options.nodeFlags ?? process.env.BENCH_NODE_FLAGS ?? SHIPPED_NODE_FLAGS).split(' ').filter(Boolean), packagePath('dist', 'src', 'bin.js'), `-listen-address=127.0.0.1:${port}`, `-sandbox-root=${root}`, `-runtime-endpoint=unix://${path.join(dir, 'cri.sock')}`, `-config=${config}`, (process.env.BENCH_LOG_LEVEL ? `-log-level=${process.env.BENCH_LOG_LEVEL}` : '-log-level=error')],
    { stdio: ['ignore', process.env.BENCH_STDOUT ? openSync(process.env.BENCH_STDOUT, 'a') : 'ignore', 'pipe'], env: { ...process.env, ...envFromBench() } },
  );
  let log = '';
  child.stderr?.on('data', (d: Buffer) => {
    if (process.env.BENCH_LOG_LEVEL) process.stderr.write(d);
    else log = (log + d.toString()).slice(-20_000);
  });
  const base = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await Promise.all(shims.map((s) => s.close()));
    await cri.stop();
    await sink?.close();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(async () => (await get(base + '/sandboxes')).body.toString().split('\n').filter(Boolean).length === n, 30_000);
  } catch (err) {
    process.stderr.write(log);
    await stop();
    throw err;
  }
  return { base, child, pushes: () => sink?.requests() ?? 0, showLog: () => process.stderr.write(log), stop };
}

/** Until every sandbox's samples carry their CRI labels. */
async function labelled(base: string, n: number): Promise<void> {
  await waitFor(async () => {
    const text = (await get(base + '/metrics?filter_family=kata_hypervisor_fds')).body.toString();
    return (text.match(/cri_name="pod-/g) ?? []).length === n || n === 0;
  }, 30_000);
}

export async function benchDaemon(n: number, requests = 10): Promise<DaemonBenchRow> {
  // BENCH_OTLP=<interval>: also push OTLP.
  const host = await startBenchHost(n, { otlpInterval: process.env.BENCH_OTLP });
  const { base, child } = host;
  try {
    // Idle: every sandbox known, nothing scraped yet.
    await new Promise((r) => setTimeout(r, 500));
    const idleRss = await status(child, 'VmRSS');
    const idleAnon = await status(child, 'RssAnon');
    await labelled(base, n);
    const plain: number[] = [];
    const gz: number[] = [];
    let bytesPlain = 0;
    let bytesGzip = 0;
    let lastPlain: Buffer = Buffer.alloc(0);
    await get(base + '/metrics');
    const cpu0 = await cpuMs(child);
    for (let i = 0; i < requests; i++) {
      const t0 = performance.now();
      const r = await get(base + '/metrics');
      plain.push(performance.now() - t0);
      bytesPlain = r.body.length;
      lastPlain = r.body;
    }
    const cpu1 = await cpuMs(child);
    await get(base + '/metrics', true);
    for (let i = 0; i < requests; i++) {
      const t0 = performance.now();
      const r = await get(base + '/metrics', true);
      gz.push(performance.now() - t0);
      bytesGzip = r.body.length;
      if (i === 0) gunzipSync(r.body); // it is valid gzip
    }
    // Event loop responsiveness: /sandboxes while a full scrape runs.
    const scrape = get(base + '/metrics');
    await new Promise((r) => setTimeout(r, 5));
    const t0 = performance.now();
    await get(base + '/sandboxes');
    const during = performance.now() - t0;
    await scrape;
    const peak = await status(child, 'VmHWM');
    if (process.env.BENCH_SMAPS) await writeFile(`${process.env.BENCH_SMAPS}.${n}`, await readFile(`/proc/${child.pid}/smaps`, 'utf8'));
    if (process.env.BENCH_MALLOC_STATS) execFileSync('gdb', ['-p', String(child.pid), '-batch', '-ex', 'call (void)malloc_stats()'], { stdio: 'ignore' });
    return {
      sandboxes: n,
      wallPlainMedian: median(plain),
      wallPlainMax: Math.max(...plain),
      wallGzipMedian: median(gz),
      wallGzipMax: Math.max(...gz),
      cpuPerScrapeMs: (cpu1 - cpu0) / requests,
      idleRssMiB: idleRss / 1024,
      idleAnonMiB: idleAnon / 1024,
      peakRssMiB: peak / 1024,
      bytesPlain,
      bytesGzip,
      sandboxesDuringScrapeMs: during,
      labelledOk: everySampleLabelled(lastPlain.toString(), n),
    };
  } catch (err) {
    host.showLog();
    throw err;
  } finally {
    await host.stop();
  }
}

export interface SteadyRow {
  readonly sandboxes: number;
  readonly seconds: number;
  readonly scrapes: number;
  readonly pushes: number;
  /** Average CPU over the run, in millicores (Kubernetes' unit). */
  readonly millicores: number;
  readonly peakRssMiB: number;
}

/**
 * The daemon as the DaemonSet runs it (its NODE_OPTIONS, its OTLP push every
 * 30 s) with Prometheus asking for /metrics (gzip) every 15 s, for `seconds`:
 * average CPU and peak RSS against the container's limits (200m, 300Mi).
 */
export async function benchSteady(n: number, seconds = 120, scrapeEveryMs = 15_000, pushEvery = '30s'): Promise<SteadyRow> {
  const host = await startBenchHost(n, { otlpInterval: pushEvery, nodeFlags: DAEMONSET_NODE_FLAGS });
  try {
    await labelled(host.base, n);
    const cpu0 = await cpuMs(host.child);
    const t0 = performance.now();
    const pushes0 = host.pushes();
    let scrapes = 0;
    while (performance.now() - t0 < seconds * 1000) {
      const next = t0 + (scrapes + 1) * scrapeEveryMs;
      await get(host.base + '/metrics', true);
      scrapes++;
      await new Promise((r) => setTimeout(r, Math.max(0, Math.min(next, t0 + seconds * 1000) - performance.now())));
    }
    const wall = performance.now() - t0;
    const cpu = (await cpuMs(host.child)) - cpu0;
    return { sandboxes: n, seconds: wall / 1000, scrapes, pushes: host.pushes() - pushes0, millicores: (cpu / wall) * 1000, peakRssMiB: (await status(host.child, 'VmHWM')) / 1024 };
  } catch (err) {
    host.showLog();
    throw err;
  } finally {
    await host.stop();
  }
}

/** Accepts OTLP requests and drops them, counting them. */
/** BENCH_OTLP_OUTAGE=1: the sink answers 503 to everything, so the exporter's queue fills as in a collector outage. */
async function startOtlpSink(): Promise<{ port: number; requests(): number; close(): Promise<void> }> {
  const outage = Boolean(process.env.BENCH_OTLP_OUTAGE);
  let requests = 0;
  const server = createHttpServer((req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      if (outage) res.statusCode = 503;
      else requests++;
      res.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return {
    port: typeof address === 'object' && address ? address.port : 0,
    requests: () => requests,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

export interface StaticShim {
  close(): Promise<void>;
}

/**
 * A shim that answers every request with one prebuilt HTTP answer, framed as
 * Go's net/http frames a large handler output (chunked, 4 KiB chunks). All N
 * shims live in this process: with the demo's node:http shims, serving 300
 * bodies cost this process more CPU than the daemon's scrape of them, and the
 * harness, not the daemon, set the pace.
 */
export async function startStaticShim(socketPath: string, body: Buffer): Promise<StaticShim> {
  const parts: Buffer[] = [Buffer.from('HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\nTransfer-Encoding: chunked\r\n\r\n')];
  for (let i = 0; i < body.length; i += 4096) {
    const chunk = body.subarray(i, Math.min(body.length, i + 4096));
    parts.push(Buffer.from(chunk.length.toString(16) + '\r\n'), chunk, Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  const answer = Buffer.concat(parts);
  const sockets = new Set<Socket>();
  const server: Server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => {});
    s.once('data', () => s.end(answer));
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** Every sample line of a sandbox family carries sandbox_id and filled cri_* labels. */
function everySampleLabelled(text: string, n: number): boolean {
  let sandboxLines = 0;
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#') || line.startsWith('kata_monitor_')) continue;
    sandboxLines++;
    if (!/sandbox_id="[0-9a-f]{64}",cri_uid="0000-\d+",cri_name="pod-\d+",cri_namespace="ns-\d"/.test(line)) return false;
  }
  return sandboxLines >= n * 900;
}

function get(url: string, gzip = false): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: gzip ? { 'Accept-Encoding': 'gzip' } : {}, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > until) throw new Error(`daemon not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function cpuMs(child: ChildProcess): Promise<number> {
  const s = await readFile(`/proc/${child.pid}/stat`, 'utf8');
  const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * TICK_MS;
}

/** A /proc/<pid>/status field in KiB. */
async function status(child: ChildProcess, field: string): Promise<number> {
  const s = await readFile(`/proc/${child.pid}/status`, 'utf8');
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(s);
  return m ? Number(m[1]) : NaN;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
