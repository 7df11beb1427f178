// One OTLP/HTTP POST, and where its settings come from. Deliberately no
// retries here: the export queue (queue.ts) owns retry and backoff, so one
// attempt is exactly one request bounded by the timeout.

import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { promisify } from 'node:util';
import { gzip as gzipCb } from 'node:zlib';
import { DEFAULTS } from '../config/defaults.ts';
import { CONTENT_TYPES, type OtlpEncoding } from './otlp-encode.ts';

const gzip = promisify(gzipCb);

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

export interface OtlpHttpSettings {
  readonly url: string;
  readonly encoding: OtlpEncoding;
  readonly compression: 'gzip' | 'none';
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

export const DEFAULT_ENDPOINT: string = DEFAULTS.otlpEndpoint;
export const DEFAULT_TIMEOUT_MS: number = DEFAULTS.otlpTimeoutMs;

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Precedence per setting: config, then OTEL_EXPORTER_OTLP_METRICS_*, then
 * OTEL_EXPORTER_OTLP_*, then DEFAULTS (src/config/defaults.ts: the spec's
 * endpoint and timeout, the collector's gzip). Headers merge in that order
 * (a config header replaces an env header of the same name). As the spec says,
 * OTEL_EXPORTER_OTLP_ENDPOINT is a base URL that gets `v1/metrics` appended,
 * while the METRICS one is used as given.
 */
export function resolveOtlpHttpSettings(options: OtlpHttpOptions, env: Env = process.env): OtlpHttpSettings {
  const get = (name: string): string | undefined => {
    const v = env[`OTEL_EXPORTER_OTLP_METRICS_${name}`]?.trim() || undefined;
    return v ?? (env[`OTEL_EXPORTER_OTLP_${name}`]?.trim() || undefined);
  };
  let url = options.endpoint;
  if (!url) {
    const specific = env['OTEL_EXPORTER_OTLP_METRICS_ENDPOINT']?.trim();
    const base = env['OTEL_EXPORTER_OTLP_ENDPOINT']?.trim();
    url = specific || (base ? base.replace(/\/*$/, '/') + 'v1/metrics' : DEFAULT_ENDPOINT);
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new OtlpConfigError('endpoint', `not a URL: ${JSON.stringify(url)} (expected e.g. http://collector:4318/v1/metrics)`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new OtlpConfigError('endpoint', `scheme ${parsed.protocol} is not supported (use http:// or https://)`);
  }

  let encoding = options.encoding;
  if (!encoding) {
    const protocol = get('PROTOCOL');
    if (protocol === undefined) encoding = DEFAULTS.otlpEncoding;
    else if (protocol === 'http/protobuf') encoding = 'proto';
    else if (protocol === 'http/json') encoding = 'json';
    else throw new OtlpConfigError('OTEL_EXPORTER_OTLP_PROTOCOL', `${JSON.stringify(protocol)} is not supported (use http/protobuf or http/json; grpc is not implemented)`);
  }

  let compression = options.compression;
  if (!compression) {
    const c = get('COMPRESSION');
    if (c !== undefined && c !== 'gzip' && c !== 'none') throw new OtlpConfigError('OTEL_EXPORTER_OTLP_COMPRESSION', `${JSON.stringify(c)} is not supported (use gzip or none)`);
    compression = c ?? DEFAULTS.otlpCompression;
  }

  let timeoutMs = options.timeoutMs;
  if (timeoutMs === undefined) {
    const t = get('TIMEOUT');
    if (t !== undefined) {
      timeoutMs = Number(t);
      if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new OtlpConfigError('OTEL_EXPORTER_OTLP_TIMEOUT', `${JSON.stringify(t)} is not a positive number of milliseconds`);
    } else timeoutMs = DEFAULT_TIMEOUT_MS;
  }

  const headers = {
    ...parseHeaderList(env['OTEL_EXPORTER_OTLP_HEADERS'], 'OTEL_EXPORTER_OTLP_HEADERS'),
    ...parseHeaderList(env['OTEL_EXPORTER_OTLP_METRICS_HEADERS'], 'OTEL_EXPORTER_OTLP_METRICS_HEADERS'),
    ...options.headers,
  };
  return { url: parsed.toString(), encoding, compression, headers, timeoutMs };
}

/** `k1=v1,k2=v2`, values percent-decoded (W3C Baggage-like, as the spec says). */
function parseHeaderList(text: string | undefined, key: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!text) return out;
  for (const part of text.split(',')) {
    if (!part.trim()) continue;
    const eq = part.indexOf('=');
    if (eq <= 0) throw new OtlpConfigError(key, `${JSON.stringify(part.trim())} is not key=value`);
    try {
      out[decodeURIComponent(part.slice(0, eq).trim())] = decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      throw new OtlpConfigError(key, `${JSON.stringify(part.trim())} has a bad percent-encoding`);
    }
  }
  return out;
}

export type SendResult =
  | { readonly kind: 'ok'; readonly status: number }
  /** Worth trying again later: 429/502/503/504, connection errors, timeouts. */
  | { readonly kind: 'retryable'; readonly error: string; readonly retryAfterMs?: number; readonly status?: number }
  /** The backend refused this data (other 4xx/5xx): retrying would not help. */
  | { readonly kind: 'permanent'; readonly error: string; readonly status?: number };

const RETRYABLE_STATUS = new Set([429, 502, 503, 504]);
const MAX_ANSWER_BYTES = 64 * 1024;

/** A client for one endpoint: one keep-alive connection, since the queue sends one request at a time. */
export class OtlpHttpClient {
  readonly settings: OtlpHttpSettings;
  readonly #agent: HttpAgent;
  readonly #https: boolean;

  constructor(settings: OtlpHttpSettings) {
    this.settings = settings;
    this.#https = settings.url.startsWith('https:');
    this.#agent = this.#https ? new HttpsAgent({ keepAlive: true, maxSockets: 1 }) : new HttpAgent({ keepAlive: true, maxSockets: 1 });
  }

  /** Compresses as configured; the queue keeps the result so retries do not redo it. */
  async prepare(body: Uint8Array): Promise<Uint8Array> {
    return this.settings.compression === 'gzip' ? new Uint8Array(await gzip(body)) : body;
  }

  /** One POST of an already prepared body; never rejects. */
  send(body: Uint8Array): Promise<SendResult> {
    const s = this.settings;
    const headers: Record<string, string | number> = {
      ...s.headers,
      'content-type': CONTENT_TYPES[s.encoding],
      'content-length': body.length,
      'user-agent': 'kata-otel-monitor',
    };
    if (s.compression === 'gzip') headers['content-encoding'] = 'gzip';
    return new Promise<SendResult>((resolve) => {
      let settled = false;
      const settle = (r: SendResult): void => {
        if (!settled) {
          settled = true;
          resolve(r);
        }
      };
      const req = (this.#https ? httpsRequest : httpRequest)(s.url, { method: 'POST', headers, agent: this.#agent }, (res) => {
        readAnswer(res, (text) => settle(classify(res, text)));
      });
      // Covers connect, upload and answer: a hanging backend costs timeoutMs, then the socket is gone.
      const timer = setTimeout(() => {
        settle({ kind: 'retryable', error: `no answer within ${s.timeoutMs} ms` });
        req.destroy();
      }, s.timeoutMs);
      req.on('close', () => clearTimeout(timer));
      req.on('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        settle({ kind: 'retryable', error: `${e.code ?? 'error'}: ${e.message}` });
      });
      req.end(body);
    });
  }

  close(): void {
    this.#agent.destroy();
  }
}

function readAnswer(res: IncomingMessage, done: (text: string) => void): void {
  const chunks: Buffer[] = [];
  let size = 0;
  res.on('data', (c: Buffer) => {
    size += c.length;
    if (size <= MAX_ANSWER_BYTES) chunks.push(c);
  });
  res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
  res.on('error', () => done(Buffer.concat(chunks).toString('utf8')));
}

function classify(res: IncomingMessage, text: string): SendResult {
  const status = res.statusCode ?? 0;
  if (status >= 200 && status < 300) return { kind: 'ok', status };
  const brief = text.length > 200 ? text.slice(0, 200) + '…' : text;
  const error = `HTTP ${status}${brief ? `: ${brief.trim()}` : ''}`;
  if (RETRYABLE_STATUS.has(status)) {
    const retryAfterMs = parseRetryAfter(res.headers['retry-after']);
    return retryAfterMs === undefined ? { kind: 'retryable', error, status } : { kind: 'retryable', error, status, retryAfterMs };
  }
  return { kind: 'permanent', error, status };
}

function parseRetryAfter(v: string | undefined): number | undefined {
  if (!v) return undefined;
  if (/^\d+$/.test(v.trim())) return Number(v.trim()) * 1000;
  const at = Date.parse(v);
  return Number.isNaN(at) ? undefined : Math.max(0, at - Date.now());
}
