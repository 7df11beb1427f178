// The OTLP/HTTP transport: the OpenTelemetry exporter packages, carrying our
// bytes. `OtlpMetricExporter` is an OTLPMetricExporterBase
// (@opentelemetry/exporter-metrics-otlp-http) on the node-http export delegate
// of @opentelemetry/otlp-exporter-base, configured by convertLegacyHttpOptions
// (which reads OTEL_EXPORTER_OTLP_[METRICS_]*), serializing with
// otlp-encode.ts so that summaries travel. The export queue (queue.ts) sits in
// front: `send()` is one of its attempts, the library's ExportResult turned
// into retryable / permanent.

import { subscribe } from 'node:diagnostics_channel';
import type { Agent, ClientRequest, IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporterBase } from '@opentelemetry/exporter-metrics-otlp-http';
import { CompressionAlgorithm, OTLPExporterError } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate, getSharedConfigurationFromEnvironment } from '@opentelemetry/otlp-exporter-base/node-http';
import {
  JsonMetricsSerializer,
  ProtobufMetricsSerializer,
  type IExportMetricsServiceResponse,
  type ISerializer,
} from '@opentelemetry/otlp-transformer';
import { AggregationTemporality, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { DEFAULTS } from '../config/defaults.ts';
import { packageVersion } from '../package-info.ts';
import { gzipSync } from 'node:zlib';
import { EncodedRequest, GZIP_LEVEL, requestPoints, type OtlpRequest } from './model.ts';
import { CONTENT_TYPES, encodeRequest, type OtlpEncoding } from './otlp-encode.ts';

/** A configuration error that names the offending setting. */
export class OtlpConfigError extends Error {
  readonly key: string;
  constructor(key: string, detail: string) {
    super(`${key}: ${detail}`);
    this.name = 'OtlpConfigError';
    this.key = key;
  }
}

/** What the YAML may say; anything absent falls back to OTEL_EXPORTER_OTLP_* env vars, then defaults. */
export interface OtlpHttpOptions {
  readonly endpoint?: string;
  readonly encoding?: OtlpEncoding;
  readonly compression?: 'gzip' | 'none';
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
}

/** node-http's configuration as exporter-base resolved it (its type is not exported by name). */
export type OtlpTransportConfig = ReturnType<typeof convertLegacyHttpOptions>;

export interface OtlpHttpSettings {
  readonly url: string;
  readonly encoding: OtlpEncoding;
  readonly compression: 'gzip' | 'none';
  readonly timeoutMs: number;
  /** What exporter-base resolved (its `headers()`, async as it keeps them, include the Content-Type). */
  readonly transport: OtlpTransportConfig;
}

type Env = Readonly<Record<string, string | undefined>>;

const SIGNAL = 'METRICS';
const RESOURCE_PATH = 'v1/metrics';
const ENV_PREFIX = 'OTEL_EXPORTER_OTLP_';
const COMPRESSION: Readonly<Record<'gzip' | 'none', CompressionAlgorithm>> = { gzip: CompressionAlgorithm.GZIP, none: CompressionAlgorithm.NONE };

/**
 * Precedence per setting: config, then OTEL_EXPORTER_OTLP_METRICS_*, then
 * OTEL_EXPORTER_OTLP_*, then DEFAULTS. exporter-base does the reading
 * (convertLegacyHttpOptions: the METRICS endpoint as written, the generic one
 * + `v1/metrics`; headers generic, then METRICS, then config; timeout;
 * compression); the protocol is ours, as it picks our serializer's encoding.
 * Where exporter-base would warn and ignore a bad value (or, for an endpoint,
 * fall back to localhost), this throws OtlpConfigError first.
 */
export function resolveOtlpHttpSettings(options: OtlpHttpOptions, env: Env = process.env): OtlpHttpSettings {
  const endpoint = options.endpoint || undefined;
  if (endpoint !== undefined) checkUrl('endpoint', endpoint);
  const encoding = options.encoding ?? encodingFromEnv(env);
  checkEnvironment(env, { endpoint: endpoint === undefined, compression: options.compression === undefined, timeout: options.timeoutMs === undefined });
  const transport = withOtlpEnvironment(env, () => {
    const fromEnv = getSharedConfigurationFromEnvironment(SIGNAL);
    // Our DEFAULTS go in as "user" values only where neither config nor environment speaks.
    return convertLegacyHttpOptions(
      {
        url: endpoint ?? (effective(env, 'ENDPOINT') ? undefined : DEFAULTS.otlpEndpoint),
        headers: { ...options.headers },
        timeoutMillis: options.timeoutMs ?? fromEnv.timeoutMillis ?? DEFAULTS.otlpTimeoutMs,
        compression: COMPRESSION[options.compression ?? fromEnv.compression ?? DEFAULTS.otlpCompression],
        userAgent: `kata-otel-monitor/${packageVersion()}`,
        // One export at a time (the queue's); a second would be refused, not queued.
        concurrencyLimit: 1,
      },
      SIGNAL,
      RESOURCE_PATH,
      { 'Content-Type': CONTENT_TYPES[encoding] },
    );
  });
  checkUrl('endpoint', transport.url);
  return { url: transport.url, encoding, compression: transport.compression, timeoutMs: transport.timeoutMillis, transport };
}

/** The variable that applies: the METRICS one when set (not blank), else the generic one. */
function effective(env: Env, name: string): { readonly key: string; readonly value: string } | undefined {
  for (const key of [`${ENV_PREFIX}${SIGNAL}_${name}`, `${ENV_PREFIX}${name}`]) {
    const value = env[key]?.trim();
    if (value) return { key, value };
  }
  return undefined;
}

function encodingFromEnv(env: Env): OtlpEncoding {
  const p = effective(env, 'PROTOCOL');
  if (p === undefined) return DEFAULTS.otlpEncoding;
  if (p.value === 'http/protobuf') return 'proto';
  if (p.value === 'http/json') return 'json';
  throw new OtlpConfigError(p.key, `${JSON.stringify(p.value)} is not supported (use http/protobuf or http/json; grpc is not implemented)`);
}

/**
 * What exporter-base would only warn about (through an unset diag logger) and
 * ignore, for the variables that apply (`applies`: the file does not set it).
 */
function checkEnvironment(env: Env, applies: { readonly endpoint: boolean; readonly compression: boolean; readonly timeout: boolean }): void {
  const endpoint = applies.endpoint ? effective(env, 'ENDPOINT') : undefined;
  if (endpoint && !URL.canParse(endpoint.value)) throw new OtlpConfigError(endpoint.key, `not a URL: ${JSON.stringify(endpoint.value)}`);
  const compression = applies.compression ? effective(env, 'COMPRESSION') : undefined;
  if (compression && compression.value !== 'gzip' && compression.value !== 'none') {
    throw new OtlpConfigError(compression.key, `${JSON.stringify(compression.value)} is not supported (use gzip or none)`);
  }
  const timeout = applies.timeout ? effective(env, 'TIMEOUT') : undefined;
  if (timeout && !(Number(timeout.value) > 0 && Number.isFinite(Number(timeout.value)))) {
    throw new OtlpConfigError(timeout.key, `${JSON.stringify(timeout.value)} is not a positive number of milliseconds`);
  }
  // Both header variables apply (merged); exporter-base skips entries it cannot parse.
  for (const key of [`${ENV_PREFIX}HEADERS`, `${ENV_PREFIX}${SIGNAL}_HEADERS`]) {
    for (const part of (env[key] ?? '').split(',')) {
      if (!part.trim()) continue;
      const eq = part.indexOf('=');
      let ok = eq > 0 && part.slice(0, eq).trim() !== '' && part.slice(eq + 1).trim() !== '';
      try {
        if (ok) decodeURIComponent(part);
      } catch {
        ok = false;
      }
      if (!ok) throw new OtlpConfigError(key, `${JSON.stringify(part.trim())} is not key=value (values percent-encoded)`);
    }
  }
}

function checkUrl(key: string, url: string): void {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OtlpConfigError(key, `not a URL: ${JSON.stringify(url)} (expected e.g. http://collector:4318/v1/metrics)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new OtlpConfigError(key, `scheme ${parsed.protocol} is not supported (use http:// or https://)`);
  }
}

/**
 * exporter-base reads process.env, while the daemon is built against a given
 * environment (the CLI's, a test's). Runs `read` (synchronous: the library
 * reads every variable, and the certificate files they name, while building
 * its configuration) with process.env's OTEL_EXPORTER_OTLP_* variables
 * replaced by `env`'s, then puts them back.
 */
function withOtlpEnvironment<T>(env: Env, read: () => T): T {
  if (env === process.env) return read();
  const saved: [string, string | undefined][] = [];
  const keys = new Set([...Object.keys(process.env), ...Object.keys(env)].filter((k) => k.startsWith(ENV_PREFIX)));
  for (const k of keys) {
    saved.push([k, process.env[k]]);
    const v = env[k];
    if (v === undefined) delete process.env[k];
    else process.env[k] = v;
  }
  try {
    return read();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

// ------------------------------------------------------------ the exporter

export type SendResult =
  | { readonly kind: 'ok' }
  /** Worth trying again later: 429/502/503/504, connection errors, timeouts. */
  | { readonly kind: 'retryable'; readonly error: string; readonly retryAfterMs?: number; readonly status?: number }
  /** The backend refused this data (other 4xx/5xx): retrying would not help. */
  | { readonly kind: 'permanent'; readonly error: string; readonly status?: number };

/** The OTLP specification's retryable statuses (exporter-base's too). */
const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);

/**
 * The serializer exporter-base calls: ours, so summaries travel. `gzip`: it
 * compresses too (exporter-base is then told not to), as encoded requests
 * are queued compressed already. The SDK's deserializer reads the answer
 * (partial success).
 */
function otlpSerializer(encoding: OtlpEncoding, gzip: boolean): ISerializer<ResourceMetrics, IExportMetricsServiceResponse> {
  const answers = encoding === 'json' ? JsonMetricsSerializer : ProtobufMetricsSerializer;
  return {
    serializeRequest: (rm) => {
      const r = rm as unknown as OtlpRequest;
      if (r instanceof EncodedRequest) {
        if (encoding !== 'proto') throw new Error('a protobuf-encoded request was queued to an OTLP/JSON exporter');
        return r.wire(gzip);
      }
      const bytes = encodeRequest([r], encoding);
      return gzip ? gzipSync(bytes, { level: GZIP_LEVEL }) : bytes;
    },
    deserializeResponse: (data) => answers.deserializeResponse(data),
  };
}

/** exporter-base's count of what a request carries (for its own telemetry): ours knows encoded requests. */
const POINTS_HELPER = { name: 'metric_data_point' as const, countItems: (rm: ResourceMetrics) => requestPoints(rm as unknown as OtlpRequest) };

/**
 * An SDK PushMetricExporter (export, forceFlush, shutdown, temporality) whose
 * requests carry our encoding, plus `send()` for the queue. A retryable
 * failure has already been retried by exporter-base within the timeout.
 */
export class OtlpMetricExporter extends OTLPMetricExporterBase {
  readonly settings: OtlpHttpSettings;
  readonly #connections: Connections;

  constructor(settings: OtlpHttpSettings) {
    const connections = new Connections();
    const { transport } = settings;
    const agentFactory: OtlpTransportConfig['agentFactory'] = async (protocol) => connections.adopt(await transport.agentFactory(protocol));
    // A protobuf exporter gets requests gzipped already (index-encoder.ts): the transport sends
    // its bytes as they are, labelled. JSON keeps exporter-base's compression, a stream off the event loop.
    const gzip = settings.compression === 'gzip' && settings.encoding === 'proto';
    const wire: OtlpTransportConfig = gzip
      ? { ...transport, agentFactory, compression: CompressionAlgorithm.NONE, headers: async () => ({ ...(await transport.headers()), 'Content-Encoding': 'gzip' }) }
      : { ...transport, agentFactory };
    super(
      createOtlpHttpExportDelegate(wire, otlpSerializer(settings.encoding, gzip), 'otlp_http_metric_exporter', POINTS_HELPER, undefined),
      // Our data is cumulative; setting it also keeps OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE out.
      { temporalityPreference: AggregationTemporality.CUMULATIVE },
    );
    this.settings = settings;
    this.#connections = connections;
  }

  /** One attempt of the queue's; never rejects unless serializing throws. */
  send(request: OtlpRequest): Promise<SendResult> {
    return new Promise<SendResult>((resolve) => {
      this.#connections.answer = undefined;
      // The SDK's ResourceMetrics knows no summaries; our serializer does.
      this.export(request as unknown as ResourceMetrics, (result) => resolve(classify(result, this.#connections.answer, this.settings.timeoutMs)));
    });
  }

  /** Cuts what is on the wire and refuses new connections (without exporter-base retrying), then the SDK shutdown. */
  override shutdown(): Promise<void> {
    this.#connections.close();
    return super.shutdown();
  }
}

/**
 * ExportResult → SendResult. exporter-base reports a refused request as an
 * OTLPExporterError whose `code` is the HTTP status; a retryable answer
 * (429/502/503/504) as one without a code, its status and Retry-After lost,
 * which is why `answer` (the last HTTP answer, seen on the diagnostics
 * channel) is consulted; network errors and timeouts carry no status at all.
 */
function classify(result: ExportResult, answer: HttpAnswer | undefined, timeoutMs: number): SendResult {
  if (result.code === ExportResultCode.SUCCESS) return { kind: 'ok' };
  const e = result.error;
  const code = e instanceof OTLPExporterError ? e.code : undefined;
  if (code !== undefined && !RETRYABLE_STATUS.has(code)) {
    const body = e instanceof OTLPExporterError ? (e.data ?? '').trim() : '';
    return { kind: 'permanent', status: code, error: `HTTP ${code}${body ? `: ${body.length > 200 ? body.slice(0, 200) + '…' : body}` : ''}` };
  }
  const status = code ?? answer?.status;
  if (status !== undefined && RETRYABLE_STATUS.has(status)) {
    const retryAfterMs = parseRetryAfter(answer?.retryAfter);
    return { kind: 'retryable', status, error: `HTTP ${status}`, ...(retryAfterMs !== undefined && { retryAfterMs }) };
  }
  if (answer === undefined && e?.message === 'Request timed out') return { kind: 'retryable', error: `no answer within ${timeoutMs} ms` };
  const errno = (e as NodeJS.ErrnoException | undefined)?.code;
  return { kind: 'retryable', error: `${typeof errno === 'string' ? `${errno}: ` : ''}${e?.message ?? 'export failed'}` };
}

function parseRetryAfter(v: string | undefined): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}

// ------------------------------------------------------------ connections

interface HttpAnswer {
  readonly status: number;
  readonly retryAfter?: string;
}

/** Agents of live exporters → where their requests' answers go. */
const listeners = new WeakMap<object, (answer: HttpAnswer | undefined) => void>();
let subscribed = false;

/** Node's built-in HTTP client channels: a request starts (forget the last answer), an answer's head arrives. */
function subscribeOnce(): void {
  if (subscribed) return;
  subscribed = true;
  const agentOf = (m: unknown): object | undefined => ((m as { request?: ClientRequest & { agent?: Agent } }).request?.agent ?? undefined);
  subscribe('http.client.request.start', (m) => {
    const a = agentOf(m);
    if (a) listeners.get(a)?.(undefined);
  });
  subscribe('http.client.response.finish', (m) => {
    const a = agentOf(m);
    const res = (m as { response?: IncomingMessage }).response;
    if (!a || !res) return;
    const retryAfter = res.headers['retry-after'];
    listeners.get(a)?.({ status: res.statusCode ?? 0, ...(retryAfter !== undefined && { retryAfter }) });
  });
}

/**
 * The exporter's agent (made by exporter-base's own factory, so the
 * certificate variables still apply): one socket, since the queue sends one
 * request at a time; its answers recorded; and a close that cuts open sockets
 * and refuses new ones with an error exporter-base does not retry.
 */
class Connections {
  answer: HttpAnswer | undefined;
  readonly #sockets = new Set<Duplex>();
  #agent: Agent | undefined;
  #closed = false;

  adopt(agent: Agent): Agent {
    subscribeOnce();
    agent.maxSockets = 1;
    const create = agent.createConnection.bind(agent);
    agent.createConnection = (options, callback) => {
      if (this.#closed) {
        callback?.(closedError(), undefined as unknown as Duplex);
        return undefined;
      }
      const socket = create(options, callback);
      if (socket) {
        this.#sockets.add(socket);
        socket.once('close', () => this.#sockets.delete(socket));
      }
      return socket;
    };
    listeners.set(agent, (answer) => {
      this.answer = answer;
    });
    this.#agent = agent;
    return agent;
  }

  close(): void {
    this.#closed = true;
    for (const s of this.#sockets) s.destroy(closedError());
    this.#sockets.clear();
    this.#agent?.destroy();
  }
}

function closedError(): Error {
  return Object.assign(new Error('exporter shut down'), { code: 'ERR_KATA_EXPORTER_SHUTDOWN' });
}
