// A real OTLP/HTTP metrics receiver on 127.0.0.1 for the tests. It decodes
// protobuf with protobufjs from our proto/ subset (an encoder independent of
// ours) and OTLP/JSON through the same message types, gunzips, and answers
// as each test scripts it (status codes, Retry-After, hanging).

import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';

const PROTO_DIR = fileURLToPath(new URL('../../../proto/', import.meta.url));

/** These files of our proto/ subset, with what they import. */
export function loadProtos(...files: string[]): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => join(PROTO_DIR, target);
  root.loadSync(files, { keepCase: false });
  return root;
}

export const METRICS_SERVICE_PROTO = 'opentelemetry/proto/collector/metrics/v1/metrics_service.proto';
const ROOT = loadProtos(METRICS_SERVICE_PROTO);
export const RequestType = ROOT.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest');
const ResponseType = ROOT.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');

const TO_OBJECT: protobuf.IConversionOptions = { longs: String, enums: Number, arrays: true, defaults: false, oneofs: true };

/** The decoded request as a plain object (64-bit integers as decimal strings). */
export type DecodedRequest = { resourceMetrics: DecodedResourceMetrics[] };
export interface DecodedKeyValue {
  key: string;
  value: { stringValue?: string; intValue?: string; boolValue?: boolean; doubleValue?: number };
}
export interface DecodedResourceMetrics {
  resource?: { attributes?: DecodedKeyValue[] };
  scopeMetrics: { scope?: { name?: string; version?: string }; metrics: DecodedMetric[] }[];
}
export interface DecodedPoint {
  attributes?: DecodedKeyValue[];
  startTimeUnixNano?: string;
  timeUnixNano?: string;
  asDouble?: number;
  asInt?: string;
  count?: string;
  sum?: number;
  bucketCounts?: string[];
  explicitBounds?: number[];
  quantileValues?: { quantile?: number; value?: number }[];
}
export interface DecodedMetric {
  name: string;
  description?: string;
  unit?: string;
  gauge?: { dataPoints: DecodedPoint[] };
  sum?: { dataPoints: DecodedPoint[]; aggregationTemporality?: number; isMonotonic?: boolean };
  histogram?: { dataPoints: DecodedPoint[]; aggregationTemporality?: number };
  summary?: { dataPoints: DecodedPoint[] };
}

export function decodeProto(bytes: Uint8Array): DecodedRequest {
  return RequestType.toObject(RequestType.decode(bytes), TO_OBJECT) as DecodedRequest;
}

/** OTLP/JSON through protobufjs' JSON mapping: fails on unknown fields or wrong shapes. */
export function decodeJson(text: string): DecodedRequest {
  const parsed: unknown = JSON.parse(text);
  const err = RequestType.verify(RequestType.fromObject(parsed as Record<string, unknown>));
  if (err) throw new Error(`invalid OTLP/JSON: ${err}`);
  return RequestType.toObject(RequestType.fromObject(parsed as Record<string, unknown>), TO_OBJECT) as DecodedRequest;
}

export interface Received {
  readonly seq: number;
  /** The request's path (and query). */
  readonly path: string;
  readonly at: number;
  readonly headers: IncomingHttpHeaders;
  readonly encoding: 'proto' | 'json';
  readonly gzip: boolean;
  readonly request: DecodedRequest;
  readonly rawBytes: number;
}

/**
 * What to answer to the n-th request (0-based); default 200. `partial`: a
 * 2xx answer that says so many points were rejected (OTLP partial success).
 */
export type Behaviour = (
  n: number,
  req: IncomingMessage,
) => { status?: number; retryAfter?: string; hang?: boolean; delayMs?: number; partial?: { rejectedDataPoints: number; errorMessage: string } };

export interface Receiver {
  readonly url: string;
  readonly received: Received[];
  /** Every request, including those answered with an error. */
  readonly attempts: { n: number; at: number; status: number | 'hung' }[];
  /** Requests being handled right now, and the most at once. */
  readonly inFlight: { now: number; max: number };
  /** TCP connections the clients hold open right now, the most at once, and all ever accepted. */
  readonly connections: { now: number; max: number; total: number };
  /** Every request body as decoded (failed attempts too, when it decodes), in arrival order. */
  readonly bodies: { n: number; at: number; request: DecodedRequest }[];
  /** From now on; requests left hanging by the previous behaviour are cut. */
  behave(b: Behaviour): void;
  /** Resolves when `count` requests have been accepted (2xx). */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface ReceiverOptions {
  /**
   * What is kept of each decoded request (default: all of it). Tests that
   * measure the heap keep only the few points they look at, so that what the
   * receiver holds does not count as the daemon's memory.
   */
  readonly keep?: (request: DecodedRequest) => DecodedRequest;
  /** false: bodies are not decoded at all (requests count, `request` is empty): a cheap sink. */
  readonly decode?: boolean;
}

export async function startReceiver(behaviour: Behaviour = () => ({}), options: ReceiverOptions = {}): Promise<Receiver> {
  const keep = options.keep ?? ((r: DecodedRequest) => r);
  const decodeBody = options.decode === false ? (): DecodedRequest => ({ resourceMetrics: [] }) : decodeRequestBody;
  let behave = behaviour;
  const received: Received[] = [];
  const attempts: { n: number; at: number; status: number | 'hung' }[] = [];
  const inFlight = { now: 0, max: 0 };
  const connections = { now: 0, max: 0, total: 0 };
  const bodies: { n: number; at: number; request: DecodedRequest }[] = [];
  const hung = new Set<ServerResponse>();
  let waiters: (() => void)[] = [];
  let n = 0;

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    inFlight.now++;
    inFlight.max = Math.max(inFlight.max, inFlight.now);
    let done = false;
    const finish = (): void => {
      if (!done) {
        done = true;
        inFlight.now--;
      }
    };
    res.on('close', () => {
      finish();
      hung.delete(res);
    });
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const index = n++;
      try {
        bodies.push({ n: index, at: Date.now(), request: keep(decodeBody(Buffer.concat(chunks), req.headers)) });
      } catch {
        // not decodable: only 2xx answers insist on it (400 below)
      }
      const b = behave(index, req);
      if (b.hang) {
        attempts.push({ n: index, at: Date.now(), status: 'hung' });
        hung.add(res);
        return;
      }
      const answer = (): void => {
        const status = b.status ?? 200;
        attempts.push({ n: index, at: Date.now(), status });
        if (status >= 200 && status < 300) {
          try {
            let body = Buffer.concat(chunks);
            const gzip = req.headers['content-encoding'] === 'gzip';
            if (gzip) body = gunzipSync(body);
            const json = (req.headers['content-type'] ?? '').startsWith('application/json');
            const request = options.decode === false ? { resourceMetrics: [] } : keep(json ? decodeJson(body.toString('utf8')) : decodeProto(body));
            received.push({ seq: received.length, path: req.url ?? '', at: Date.now(), headers: req.headers, encoding: json ? 'json' : 'proto', gzip, request, rawBytes: body.length });
          } catch (e) {
            res.writeHead(400, { 'content-type': 'text/plain' }).end(String(e));
            return;
          }
          const json = (req.headers['content-type'] ?? '').startsWith('application/json');
          const reply = b.partial ? { partialSuccess: { rejectedDataPoints: String(b.partial.rejectedDataPoints), errorMessage: b.partial.errorMessage } } : {};
          if (json) res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(reply));
          else res.writeHead(status, { 'content-type': 'application/x-protobuf' }).end(ResponseType.encode(ResponseType.fromObject(reply)).finish());
          const w = waiters;
          waiters = [];
          for (const f of w) f();
          return;
        }
        const headers: Record<string, string> = { 'content-type': 'text/plain' };
        if (b.retryAfter !== undefined) headers['retry-after'] = b.retryAfter;
        res.writeHead(status, headers).end(`scripted ${status}`);
      };
      if (b.delayMs) setTimeout(answer, b.delayMs);
      else answer();
    });
  });
  server.on('connection', (socket) => {
    connections.now++;
    connections.total++;
    connections.max = Math.max(connections.max, connections.now);
    // Gone once the client has closed its side: a hung answer keeps our half
    // open, but that socket is no longer the client's.
    let gone = false;
    const leave = (): void => {
      if (!gone) {
        gone = true;
        connections.now--;
      }
    };
    socket.on('end', leave);
    socket.on('close', leave);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const addr = server.address();
  if (addr === null || typeof addr === 'string') throw new Error('receiver: no TCP address');
  return {
    url: `http://127.0.0.1:${addr.port}/v1/metrics`,
    received,
    attempts,
    inFlight,
    connections,
    bodies,
    behave: (b) => {
      behave = b;
      // Requests left hanging are cut now (their clients have usually given up already).
      for (const res of hung) res.destroy();
      hung.clear();
    },
    waitFor: (count, timeoutMs = 5000) =>
      new Promise<void>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`receiver: ${received.length}/${count} requests after ${timeoutMs} ms`)), timeoutMs);
        const check = (): void => {
          if (received.length >= count) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      }),
    close: async () => {
      for (const res of hung) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function decodeRequestBody(raw: Buffer, headers: IncomingHttpHeaders): DecodedRequest {
  const body = headers['content-encoding'] === 'gzip' ? gunzipSync(raw) : raw;
  return (headers['content-type'] ?? '').startsWith('application/json') ? decodeJson(body.toString('utf8')) : decodeProto(body);
}

/** A `keep` for ReceiverOptions: only the metrics whose names pass `test`. */
export function onlyMetrics(test: (name: string) => boolean): (request: DecodedRequest) => DecodedRequest {
  return (request) => ({
    resourceMetrics: request.resourceMetrics.map((rm) => ({
      scopeMetrics: rm.scopeMetrics.map((sm) => ({ metrics: sm.metrics.filter((m) => test(m.name)) })),
    })),
  });
}

/** Every data point of a request, flattened, with attributes as a string map. */
export interface FlatPoint {
  readonly metric: string;
  readonly type: 'gauge' | 'sum' | 'histogram' | 'summary';
  readonly description: string;
  readonly attrs: Readonly<Record<string, string>>;
  readonly point: DecodedPoint;
  readonly sum?: { aggregationTemporality?: number; isMonotonic?: boolean };
  readonly temporality?: number;
}

export function attrMap(kvs: readonly DecodedKeyValue[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of kvs ?? []) out[kv.key] = kv.value.stringValue ?? kv.value.intValue ?? String(kv.value.boolValue ?? kv.value.doubleValue);
  return out;
}

export function flatten(req: DecodedRequest): FlatPoint[] {
  const out: FlatPoint[] = [];
  for (const rm of req.resourceMetrics) {
    for (const sm of rm.scopeMetrics) {
      for (const m of sm.metrics) {
        const description = m.description ?? '';
        if (m.gauge) for (const p of m.gauge.dataPoints) out.push({ metric: m.name, type: 'gauge', description, attrs: attrMap(p.attributes), point: p });
        if (m.sum) for (const p of m.sum.dataPoints) out.push({ metric: m.name, type: 'sum', description, attrs: attrMap(p.attributes), point: p, sum: m.sum });
        if (m.histogram)
          for (const p of m.histogram.dataPoints)
            out.push({ metric: m.name, type: 'histogram', description, attrs: attrMap(p.attributes), point: p, temporality: m.histogram.aggregationTemporality });
        if (m.summary) for (const p of m.summary.dataPoints) out.push({ metric: m.name, type: 'summary', description, attrs: attrMap(p.attributes), point: p });
      }
    }
  }
  return out;
}
