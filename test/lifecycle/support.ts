// What the lifecycle and reliability tests share: a simulated Kata host
// (sandbox roots in a temp dir, fake shims on their real unix sockets, a fake
// CRI server) the daemon can reach, the daemon as a child process (`node
// src/bin.ts …`), and measurements (open fds, heap after GC, free ports).

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FakeCriServer } from '../support/fake-cri.ts';
import { startFakeShim, type FakeShim, type FakeShimBehaviour, type FakeShimBehaviourName } from '../support/fake-shim.ts';
import { createShimPayload } from '../../src/demo/payload.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = path.join(REPO, 'src', 'bin.ts');

/** The family every test shim serves: its value is how many /metrics requests that shim answered. */
export const SCRAPES_FAMILY = 'kata_test_shim_scrapes';

export interface HostOptions {
  readonly sandboxes?: number;
  readonly behaviour?: FakeShimBehaviour | FakeShimBehaviourName;
  /** Also serve the realistic demo payload (hundreds of series) after the counter. */
  readonly fullPayload?: boolean;
  /**
   * Also serve a gauge whose few series carry label values of this many KiB
   * in all: big batches (what a leak would show) at little CPU cost.
   */
  readonly padKiB?: number;
}

export interface Host {
  readonly dir: string;
  readonly roots: readonly string[];
  readonly runtimeEndpoint: string;
  readonly ids: readonly string[];
  readonly shims: readonly FakeShim[];
  readonly cri: FakeCriServer;
  /** /metrics requests answered per shim so far (the counter's last value). */
  readonly answered: () => number[];
  /** Flags pointing a daemon at this host. */
  readonly flags: readonly string[];
  stop(): Promise<void>;
}

export async function startHost(options: HostOptions = {}): Promise<Host> {
  // Short: a unix socket path must stay under 108 bytes.
  const dir = await mkdtemp(path.join(tmpdir(), 'kl-'));
  const roots = [path.join(dir, 'sbs'), path.join(dir, 'kata')];
  for (const r of roots) await mkdir(r, { recursive: true });
  const n = options.sandboxes ?? 2;
  const ids = Array.from({ length: n }, (_, i) => `${(i + 1).toString(16).padStart(2, '0')}${'ab'.repeat(31)}`);
  const counts = ids.map(() => 0);
  const shims: FakeShim[] = [];
  const pad = padding(options.padKiB ?? 0);
  for (const [i, id] of ids.entries()) {
    const payload = options.fullPayload ? createShimPayload(id) : undefined;
    shims.push(
      await startFakeShim({
        socketPath: path.join(roots[0]!, id, 'shim-monitor.sock'),
        behaviour: options.behaviour ?? 'ok',
        metrics: () => {
          counts[i]!++;
          const head = `# HELP ${SCRAPES_FAMILY} Requests this shim answered.\n# TYPE ${SCRAPES_FAMILY} counter\n${SCRAPES_FAMILY} ${counts[i]}\n`;
          return head + pad + (payload ? payload() : '');
        },
      }),
    );
  }
  const socketPath = path.join(dir, 'cri.sock');
  const cri = await FakeCriServer.start({
    socketPath,
    pods: ids.map((id, i) => ({ id, name: `pod-${i}`, uid: `uid-${i}`, namespace: 'test' })),
  });
  const runtimeEndpoint = `unix://${socketPath}`;
  return {
    dir,
    roots,
    runtimeEndpoint,
    ids,
    shims,
    cri,
    answered: () => [...counts],
    flags: hostFlags({ roots, runtimeEndpoint }),
    async stop() {
      await Promise.all(shims.map((s) => s.close()));
      await cri.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Flags pointing a command or the daemon at these roots and CRI endpoint (the host's, unless given). */
export function hostFlags(host: { readonly roots: readonly string[]; readonly runtimeEndpoint: string }, runtimeEndpoint = host.runtimeEndpoint): string[] {
  return [...host.roots.flatMap((r) => ['-sandbox-root', r]), '-runtime-endpoint', runtimeEndpoint];
}

function padding(kib: number): string {
  if (kib <= 0) return '';
  const series = 8;
  const value = 'p'.repeat(Math.ceil((kib * 1024) / series));
  let out = '# HELP kata_test_padding Big label values.\n# TYPE kata_test_padding gauge\n';
  for (let i = 0; i < series; i++) out += `kata_test_padding{n="${i}",pad="${value}"} ${i}\n`;
  return out;
}

/** Fast CRI and retry timings, as YAML under receivers.kata_monitor. */
export const FAST_RECEIVER = `    cri: { first_lookup_delay: 100ms, resync_interval: 200ms, timeout: 1s }
    root_retry_interval: 200ms`;

export async function writeConfig(host: Host, name: string, yaml: string): Promise<string> {
  const file = path.join(host.dir, name);
  await writeFile(file, yaml);
  return file;
}

// ------------------------------------------------------------------ child

export interface Child {
  readonly proc: ChildProcess;
  readonly pid: number;
  stderr(): string;
  stdout(): string;
  /** The URL from "kata-monitor serving on URL"; rejects if the child exits first. */
  readonly serving: Promise<string>;
  /** Exit code (or signal name) once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>;
  /** Kills it for good if it is still running (test cleanup). */
  kill(): Promise<void>;
}

const SERVING = /kata-monitor serving on (\S+?)(?:"|\s|$)/;

export function spawnDaemon(args: readonly string[], env: Readonly<Record<string, string>> = {}): Child {
  const proc = spawn(process.execPath, [CLI, ...args], {
    cwd: REPO,
    // Only what the daemon needs: no OTEL_* of the test runner leaks in.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; at: number }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal, at: Date.now() })),
  );
  const serving = new Promise<string>((resolve, reject) => {
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => {
      err += c;
      const m = SERVING.exec(err);
      if (m?.[1]) resolve(m[1]);
    });
    void exited.then((e) => reject(new Error(`daemon exited (${e.code ?? e.signal}) before serving:\n${err}`)));
  });
  serving.catch(() => {});
  return {
    proc,
    pid: proc.pid!,
    stderr: () => err,
    stdout: () => out,
    serving,
    exited,
    kill: async () => {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGKILL');
        await exited;
      }
    },
  };
}

/** Runs the CLI to completion (it must exit on its own within `timeoutMs`). */
export async function runCli(args: readonly string[], env: Readonly<Record<string, string>> = {}, timeoutMs = 15_000) {
  const child = spawnDaemon(args, env);
  const timer = setTimeout(() => child.proc.kill('SIGKILL'), timeoutMs);
  const e = await child.exited;
  clearTimeout(timer);
  return { code: e.code, signal: e.signal, stderr: child.stderr(), stdout: child.stdout() };
}

// ------------------------------------------------------------ measurements

/** A port that was free a moment ago (listen on 0, close). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Listens on 127.0.0.1:port: resolves the server if the port is free, rejects (EADDRINUSE) if not. */
export function occupy(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

export function closeServer(s: Server): Promise<void> {
  return new Promise((resolve) => s.close(() => resolve()));
}

/** Open file descriptors of a process (Linux /proc). */
export function openFds(pid: number | 'self' = 'self'): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as (options?: { type: 'major'; execution: 'sync' }) => void;

/**
 * JS heap plus ArrayBuffer memory (request bodies and queued batches live
 * there) after full collections, the lowest of several samples: a push in
 * progress holds a snapshot's translation and encoding for a moment, and the
 * floor between pushes is what a leak would raise. (Other external memory,
 * zlib's native buffers above all, swings by megabytes and is left out.)
 */
export async function settledHeap(samples = 10): Promise<number> {
  let floor = Infinity;
  for (let s = 0; s < samples; s++) {
    if (s > 0) await sleep(37);
    gc();
    await new Promise((r) => setImmediate(r));
    gc();
    const m = process.memoryUsage();
    floor = Math.min(floor, m.heapUsed + m.arrayBuffers);
  }
  return floor;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

export async function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

/** The value of one series in Prometheus text (`name{labels} value` with these labels among them). */
export function sampleValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)/.exec(line);
    if (!m || m[1] !== name) continue;
    const body = m[2] ?? '';
    if (Object.entries(labels).every(([k, v]) => body.includes(`${k}="${v}"`))) return Number(m[3]);
  }
  return undefined;
}
