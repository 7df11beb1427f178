// Shared by the fault-injection tests: the real daemon (startDaemon through
// test/support/daemon.ts) against fake shims and a fake CRI server we control,
// with its log captured, an HTTP client that keeps no pooled sockets (so fd
// counts mean something), and small readers for the exposition text.

import { mkdtemp, mkdir, rm } from 'node:fs/promises';
import { readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FakeCriServer, type FakePod } from '../support/fake-cri.ts';
import { startFakeShim, type FakeShim, type FakeShimBehaviour, type FakeShimBehaviourName } from '../support/fake-shim.ts';
import { createLogger } from '../../src/log/logger.ts';
import { startDaemon, type Daemon } from '../../src/main.ts';
import { eventually, testConfig } from '../support/daemon.ts';

export { eventually };

/** A small, valid shim body: a gauge, a counter and a go_ family (renamed kata_shim_go_*). */
export function shimBody(id: string): string {
  return (
    '# HELP kata_hypervisor_fds Open FDs for hypervisor.\n# TYPE kata_hypervisor_fds gauge\nkata_hypervisor_fds 7\n' +
    '# HELP kata_agent_scrape_count Metrics scrape count\n# TYPE kata_agent_scrape_count counter\nkata_agent_scrape_count 3\n' +
    `# HELP go_goroutines Number of goroutines.\n# TYPE go_goroutines gauge\ngo_goroutines{shim="${id.length}"} 12\n`
  );
}

export function podFor(id: string): FakePod {
  const short = id.replace(/[^A-Za-z0-9-]/g, '').slice(0, 20) || 'x';
  return { id, name: `pod-${short}`, uid: `uid-${short}`, namespace: 'faults' };
}

export interface LogLine {
  readonly level: string;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface HarnessOptions {
  /** Extra YAML lines under receivers.kata_monitor (no indentation). */
  readonly receiverYaml?: string;
  /** Shim timeout (default 300ms). */
  readonly shimTimeout?: string;
  /** CRI server started with the daemon (default true). */
  readonly criUp?: boolean;
  /** Create the sandbox roots before the daemon starts (default true). */
  readonly rootsExist?: boolean;
}

export interface Harness {
  readonly dir: string;
  /** Go-runtime root, runtime-rs root. */
  readonly roots: readonly string[];
  readonly criSocket: string;
  readonly daemon: Daemon;
  readonly logs: LogLine[];
  readonly shims: Map<string, FakeShim>;
  readonly pods: Map<string, FakePod>;
  /** The CRI server, once started. */
  cri(): FakeCriServer;
  startCri(): Promise<FakeCriServer>;
  /** A sandbox directory with a fake shim in it (serving `body`, default shimBody(id)), and its pod in CRI. */
  addShim(id: string, behaviour?: FakeShimBehaviour | FakeShimBehaviourName, rootIndex?: number, body?: string): Promise<FakeShim>;
  /** Waits until the daemon lists the sandbox and knows its pod metadata. */
  known(id: string): Promise<void>;
  get(pathAndQuery: string, headers?: Record<string, string>): Promise<HttpAnswer>;
  metrics(): Promise<string>;
  stop(): Promise<void>;
}

export async function startHarness(o: HarnessOptions = {}): Promise<Harness> {
  const dir = await mkdtemp(path.join(tmpdir(), 'kf-'));
  const roots = [path.join(dir, 'vc', 'sbs'), path.join(dir, 'kata')];
  if (o.rootsExist ?? true) for (const r of roots) await mkdir(r, { recursive: true });
  const criSocket = path.join(dir, 'cri.sock');
  const shims = new Map<string, FakeShim>();
  const pods = new Map<string, FakePod>();
  let cri: FakeCriServer | undefined;
  const startCri = async (): Promise<FakeCriServer> => {
    cri = await FakeCriServer.start({ socketPath: criSocket, pods: [...pods.values()] });
    return cri;
  };
  if (o.criUp ?? true) await startCri();

  const logs: LogLine[] = [];
  const logger = createLogger({
    level: 'debug',
    format: 'json',
    write: (line) => {
      logs.push(JSON.parse(line) as LogLine);
    },
  });
  const receiver = [
    'root_retry_interval: 100ms',
    'cri:',
    '  first_lookup_delay: 50ms',
    '  resync_interval: 100ms',
    '  timeout: 300ms',
    'shim:',
    `  timeout: ${o.shimTimeout ?? '300ms'}`,
    '  max_body_bytes: 1MiB',
    ...(o.receiverYaml ? o.receiverYaml.split('\n') : []),
  ];
  const yaml = `receivers:\n  kata_monitor:\n${receiver.map((l) => '    ' + l).join('\n')}\n`;
  const config = testConfig({ roots, runtimeEndpoint: `unix://${criSocket}`, yaml });
  const daemon = await startDaemon(config, logger);
  const tls = config.receiver.server.tls !== undefined;

  const h: Harness = {
    dir,
    roots,
    criSocket,
    daemon,
    logs,
    shims,
    pods,
    cri: () => {
      if (!cri) throw new Error('CRI not started');
      return cri;
    },
    startCri,
    async addShim(id, behaviour = 'ok', rootIndex = 0, body = shimBody(id)) {
      const shim = await startFakeShim({ socketPath: path.join(roots[rootIndex]!, id, 'shim-monitor.sock'), metrics: () => body, behaviour });
      shims.set(id, shim);
      pods.set(id, podFor(id));
      cri?.setPods([...pods.values()]);
      return shim;
    },
    async known(id) {
      await eventually(() => daemon.registry.get(id)?.metadataKnown, 5000, `CRI metadata of ${id}`);
    },
    get: (p, headers) => httpGet(`${daemon.url}${p}`, headers, tls),
    async metrics() {
      const r = await h.get('/metrics');
      if (r.status !== 200) throw new Error(`/metrics answered ${r.status}: ${r.text.slice(0, 200)}`);
      return r.text;
    },
    async stop() {
      await daemon.stop(3000);
      await Promise.all([...shims.values()].map((s) => s.close()));
      await cri?.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
  return h;
}

export interface HttpAnswer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  readonly text: string;
}

/**
 * GET with a fresh connection (agent: false: no pooled socket stays open) and
 * a 5 s bound. The path is sent as given, dot segments and all.
 */
export function httpGet(url: string, headers: Record<string, string> = {}, insecureTls = false, timeoutMs = 5000): Promise<HttpAnswer> {
  const u = new URL(url);
  const rawPath = url.slice(url.indexOf('/', url.indexOf('//') + 2));
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      { host: u.hostname, port: u.port, path: rawPath, method: 'GET', agent: false, headers, ...(insecureTls ? { rejectUnauthorized: false } : {}) },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          clearTimeout(t);
          const body = Buffer.concat(chunks);
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
        });
        res.on('error', (e) => {
          clearTimeout(t);
          reject(e);
        });
      },
    );
    const t = setTimeout(() => req.destroy(new Error(`GET ${rawPath}: no answer within ${timeoutMs} ms`)), timeoutMs);
    req.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
    req.end();
  });
}

/** Sample lines of family `name` (exact name, with or without labels). */
export function samples(text: string, name: string): string[] {
  return text.split('\n').filter((l) => l.startsWith(name + '{') || l.startsWith(name + ' '));
}

/** The value of the first sample of `name` carrying every label in `labels`, or undefined. */
export function sampleValue(text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const l of samples(text, name)) {
    if (want.every((w) => l.includes(w))) return Number(l.slice(l.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** The sandbox's relabelled samples, each checked for its four labels with CRI metadata. */
export function sandboxSamplesIntact(text: string, id: string): boolean {
  const pod = podFor(id);
  const mine = text.split('\n').filter((l) => !l.startsWith('#') && l.includes(`sandbox_id="${id}"`) && !l.startsWith('kata_monitor_'));
  const full = `sandbox_id="${id}",cri_uid="${pod.uid}",cri_name="${pod.name}",cri_namespace="${pod.namespace}"`;
  return (
    mine.length === 3 &&
    mine.every((l) => l.includes(full)) &&
    mine.some((l) => l.startsWith('kata_hypervisor_fds{')) &&
    mine.some((l) => l.startsWith('kata_shim_go_goroutines{'))
  );
}

export function findLog(logs: readonly LogLine[], pred: (l: LogLine) => boolean): LogLine | undefined {
  return logs.find(pred);
}

export function openFds(): number {
  return readdirSync('/proc/self/fd').length;
}

let gcFn: (() => void) | undefined;
/** heapUsed after a full GC (the GC is exposed at run time: no test flags needed). */
export function heapAfterGc(): number {
  if (!gcFn) {
    setFlagsFromString('--expose-gc');
    gcFn = runInNewContext('gc') as () => void;
  }
  gcFn();
  gcFn();
  return process.memoryUsage().heapUsed;
}

/**
 * Warm up (lazily opened fds and caches into the baseline), take the
 * baseline, run `load`, then wait for fds and heap to come back.
 */
export async function assertNoLeak(load: () => Promise<void>, warmUp: () => Promise<void>): Promise<void> {
  await warmUp();
  await warmUp();
  const fd0 = openFds();
  const heap0 = heapAfterGc();
  await load();
  await eventually(() => openFds() <= fd0, 5000, `fds back to ${fd0} (now ${openFds()})`);
  const grown = heapAfterGc() - heap0;
  if (grown > 16 * 1024 * 1024) throw new Error(`heap grew by ${(grown / 1048576).toFixed(1)} MiB`);
}
