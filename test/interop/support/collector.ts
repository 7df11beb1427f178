// The real OpenTelemetry Collector as a test peer: the minimal build of
// test/interop/otelcol (otlp receiver → file exporter) run with a generated
// config on free 127.0.0.1 ports. What it received comes back as the JSON
// lines its file exporter wrote: one ExportMetricsServiceRequest per line,
// in pdata's OTLP/JSON (see OtlpJsonRequest below for its quirks).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import { stopChild } from '../../ops/support.ts';
import { goPeer } from './go.ts';

// ------------------------------------------------------------ OTLP/JSON

/**
 * A value as pdata's JSON marshaler writes it: 64-bit integers (intValue,
 * counts, bucket counts, timestamps) are decimal strings; doubles are
 * numbers, except NaN and ±Infinity, which are the strings "NaN",
 * "Infinity", "-Infinity"; enums are numbers.
 */
export type JsonDouble = number | 'NaN' | 'Infinity' | '-Infinity';

export interface OtlpJsonAnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string;
  doubleValue?: JsonDouble;
  arrayValue?: { values?: OtlpJsonAnyValue[] };
  kvlistValue?: { values?: OtlpJsonKeyValue[] };
  bytesValue?: string;
}
export interface OtlpJsonKeyValue {
  key: string;
  value?: OtlpJsonAnyValue;
}

/**
 * A data point of any kind. Fields holding their type's zero value are left
 * out by the collector (a 0 count or sum, a start time of 0, a quantile of
 * 0 with value 0 written as `{}`), except the value oneof (`asDouble: 0`).
 */
export interface OtlpJsonPoint {
  attributes?: OtlpJsonKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  asDouble?: JsonDouble;
  asInt?: string;
  count?: string;
  sum?: JsonDouble;
  bucketCounts?: string[];
  explicitBounds?: JsonDouble[];
  min?: JsonDouble;
  max?: JsonDouble;
  quantileValues?: { quantile?: JsonDouble; value?: JsonDouble }[];
  flags?: number;
}
export interface OtlpJsonMetric {
  name?: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints?: OtlpJsonPoint[] };
  sum?: { dataPoints?: OtlpJsonPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints?: OtlpJsonPoint[]; aggregationTemporality?: number };
  exponentialHistogram?: { dataPoints?: unknown[]; aggregationTemporality?: number };
  summary?: { dataPoints?: OtlpJsonPoint[] };
}
export interface OtlpJsonRequest {
  resourceMetrics?: {
    resource?: { attributes?: OtlpJsonKeyValue[] };
    schemaUrl?: string;
    scopeMetrics?: { scope?: { name?: string; version?: string; attributes?: OtlpJsonKeyValue[] }; metrics?: OtlpJsonMetric[]; schemaUrl?: string }[];
  }[];
}

// ------------------------------------------------------------ the process

export interface Collector {
  /** host:port of the OTLP/gRPC receiver (for an `otlp` exporter). */
  readonly grpcEndpoint: string;
  /** Base URL of the OTLP/HTTP receiver (for an `otlphttp` exporter's endpoint; /v1/metrics is appended). */
  readonly httpEndpoint: string;
  /** The JSON lines file the file exporter writes. */
  readonly outputFile: string;
  /** The collector's log so far (its console encoding): for failure messages. */
  stderr(): string;
  /** What its debug exporter wrote (with CollectorOptions.debug): the message of each entry, then its fields. */
  stdout(): string;
  /** Every export request written so far; a line still being written is left for later. */
  requests(): OtlpJsonRequest[];
  /** SIGTERM (the file exporter flushes and closes), SIGKILL if it is still running after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export interface CollectorOptions {
  /** How long start-up may take (default 20 s). */
  readonly readyTimeoutMs?: number;
  /**
   * Also a debug exporter of this verbosity in the pipeline, writing to
   * stdout (use_internal_logger: false: each entry's message, then its
   * fields; no time or level), every request shown (no sampling).
   */
  readonly debug?: 'basic' | 'normal' | 'detailed';
}

/**
 * The collector binary (built by goPeer) running on free ports, stopped (and
 * its files removed) when the test ends. Undefined when the test was skipped
 * for lack of Go.
 */
export async function startCollector(t: TestContext, options: CollectorOptions = {}): Promise<Collector | undefined> {
  const binary = await goPeer(t, 'otelcol', 'otelcol');
  if (!binary) return undefined;
  const dir = mkdtempSync(path.join(tmpdir(), 'otelcol-'));
  const stops: (() => Promise<void>)[] = [];
  // One hook, so that the process is gone before its files are.
  t.after(async () => {
    for (const stop of stops) await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  // A free port can be taken between our probe and the collector's bind: try again then.
  for (let attempt = 1; ; attempt++) {
    try {
      return await launch(binary, dir, options.readyTimeoutMs ?? 20_000, stops, options.debug);
    } catch (e) {
      if (!(e instanceof PortTaken) || attempt >= 3) throw e;
    }
  }
}

class PortTaken extends Error {}

async function launch(binary: string, dir: string, readyTimeoutMs: number, stops: (() => Promise<void>)[], debug: CollectorOptions['debug']): Promise<Collector> {
  const [grpcPort, httpPort] = await freePorts(2);
  const outputFile = path.join(dir, `metrics-${httpPort}.jsonl`);
  const configFile = path.join(dir, `config-${httpPort}.yaml`);
  writeFileSync(configFile, collectorConfig(grpcPort!, httpPort!, outputFile, debug));

  const proc = spawn(binary, [`--config=${configFile}`], {
    // No OTEL_* of the test runner leaks in.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  let out = '';
  proc.stderr!.setEncoding('utf8').on('data', (c: string) => (log += c));
  proc.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  const stop = async (graceMs = 10_000): Promise<void> => {
    await stopChild(proc, graceMs);
  };
  stops.push(() => stop());

  try {
    await waitReady(proc, exited, grpcPort!, httpPort!, readyTimeoutMs, () => log);
  } catch (e) {
    await stop(0);
    if (/address already in use/.test(log)) throw new PortTaken(log);
    throw e;
  }
  return {
    grpcEndpoint: `127.0.0.1:${grpcPort}`,
    httpEndpoint: `http://127.0.0.1:${httpPort}`,
    outputFile,
    stderr: () => log,
    stdout: () => out,
    requests: () => readRequests(outputFile),
    stop,
  };
}

function collectorConfig(grpcPort: number, httpPort: number, outputFile: string, debug: CollectorOptions['debug']): string {
  return `receivers:
  otlp:
    protocols:
      grpc: { endpoint: "127.0.0.1:${grpcPort}" }
      http: { endpoint: "127.0.0.1:${httpPort}" }
exporters:
  file:
    path: ${JSON.stringify(outputFile)}
    format: json
    # The default (1 s) would keep what arrived in a buffer that long.
    flush_interval: 50ms
${debug ? `  debug:\n    verbosity: ${debug}\n    use_internal_logger: false\n    sampling_initial: 1000000\n` : ''}service:
  telemetry:
    # Its own metrics would listen on :8888, once per collector running.
    metrics: { level: none }
    logs: { level: info }
  pipelines:
    metrics: { receivers: [otlp], exporters: [file${debug ? ', debug' : ''}] }
`;
}

/**
 * Ready when both receivers answer: the service starts exporters before
 * receivers, so a listening receiver has its pipeline behind it. The HTTP
 * receiver answers GET /v1/metrics with 405 without touching the pipeline.
 */
async function waitReady(proc: ChildProcess, exited: Promise<void>, grpcPort: number, httpPort: number, timeoutMs: number, log: () => string): Promise<void> {
  const end = Date.now() + timeoutMs;
  let gone = false;
  void exited.then(() => (gone = true));
  for (;;) {
    if (gone) throw new Error(`otelcol exited (${proc.exitCode ?? proc.signalCode}) before it was ready:\n${log()}`);
    if ((await httpAnswers(httpPort)) && (await tcpAccepts(grpcPort))) return;
    if (Date.now() > end) throw new Error(`otelcol not ready after ${timeoutMs} ms:\n${log()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function httpAnswers(port: number): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/metrics`, { signal: AbortSignal.timeout(1000) });
    await res.body?.cancel();
    return true;
  } catch {
    return false;
  }
}

function tcpAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createConnection({ host: '127.0.0.1', port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/** Ports that were free a moment ago (all held open at once, so they differ). */
async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: n }, () => {
      const s = createServer();
      return new Promise<typeof s>((resolve, reject) => {
        s.once('error', reject);
        s.listen(0, '127.0.0.1', () => resolve(s));
      });
    }),
  );
  const ports = servers.map((s) => (s.address() as { port: number }).port);
  await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  return ports;
}

/** The complete lines of the file exporter's output, parsed. */
export function readRequests(file: string): OtlpJsonRequest[] {
  if (!existsSync(file)) return [];
  const text = readFileSync(file, 'utf8');
  // The exporter flushes a buffer, not lines: the tail may be half a line.
  const complete = text.slice(0, text.lastIndexOf('\n') + 1);
  return complete
    .split('\n')
    .filter((line) => line !== '')
    .map((line) => JSON.parse(line) as OtlpJsonRequest);
}
