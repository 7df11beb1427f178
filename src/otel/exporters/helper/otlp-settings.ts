// The settings of an OTLP exporter (`otlp`, `otlphttp`), read once at config
// load: the file's keys, else the OTEL_EXPORTER_OTLP_[METRICS_]* variables as
// the SDKs read them, else the defaults. A variable that applies and cannot
// be used is a configuration error naming it.

import { readFileSync } from 'node:fs';
import { leaf, optional, type Field, type KeyTree, type Reader } from '../../../config/reader.ts';
import type { ComponentSection } from '../../../config/types.ts';
import { packageVersion } from '../../../package-info.ts';
import { HELPER_KEYS, readQueue, readRetry, TIMEOUT_DEFAULT_MS, type QueueConfig, type RetryConfig } from './config.ts';

export interface TlsClientConfig {
  /** Plaintext (no TLS at all). */
  readonly insecure: boolean;
  readonly caFile?: string;
  readonly certFile?: string;
  readonly keyFile?: string;
  /** TLS without checking the server's certificate. */
  readonly insecureSkipVerify: boolean;
  readonly serverNameOverride?: string;
}

/** A resolved OTLP exporter: what its transport and its queue need. */
export interface OtlpExporterConfig {
  /** The component type the file used. */
  readonly type: 'otlp' | 'otlphttp';
  readonly name: string;
  /** `otlphttp` speaks gRPC when OTEL_EXPORTER_OTLP_PROTOCOL=grpc and the file left the protocol open. */
  readonly protocol: 'grpc' | 'http';
  /** HTTP: the full URL of the metrics path. gRPC: http(s)://host:port (https: TLS). */
  readonly url: string;
  readonly encoding: 'proto' | 'json';
  readonly compression: 'gzip' | 'none';
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
  readonly tls: TlsClientConfig;
  readonly retry: RetryConfig;
  readonly queue: QueueConfig;
}

/** What both transports send as their User-Agent. */
export const USER_AGENT = `kata-otel-monitor/${packageVersion()}`;

const TLS_KEYS = { insecure: leaf, ca_file: leaf, cert_file: leaf, key_file: leaf, insecure_skip_verify: leaf, server_name_override: leaf } satisfies KeyTree;

export const OTLP_KEYS = { endpoint: leaf, compression: leaf, headers: leaf, tls: TLS_KEYS, ...HELPER_KEYS } satisfies KeyTree;

/** The variable that applies: OTEL_EXPORTER_OTLP_METRICS_<name> when set (not blank), else OTEL_EXPORTER_OTLP_<name>. */
export function otlpVariable(env: ComponentSection['env'], name: string): { readonly key: string; readonly value: string; readonly metrics: boolean } | undefined {
  for (const metrics of [true, false]) {
    const key = `OTEL_EXPORTER_OTLP_${metrics ? 'METRICS_' : ''}${name}`;
    const value = env[key]?.trim();
    if (value) return { key, value, metrics };
  }
  return undefined;
}

/** The parts common to both OTLP exporters: compression, headers, timeout, TLS, retry and queue. */
export function readCommon(r: Reader, s: ComponentSection): Pick<OtlpExporterConfig, 'compression' | 'headers' | 'timeoutMs' | 'tls' | 'retry' | 'queue'> {
  return {
    compression: readCompression(r, s),
    headers: readHeaders(r, s),
    timeoutMs: readTimeout(r, s),
    tls: readTls(r, s),
    retry: readRetry(r, s.entries),
    queue: readQueue(r, s.entries),
  };
}

function readCompression(r: Reader, { field, entries: m, env }: ComponentSection): 'gzip' | 'none' {
  const file = r.oneOf(m.get('compression'), ['gzip', 'none'] as const);
  if (file !== undefined || m.has('compression')) return file ?? 'gzip';
  const v = otlpVariable(env, 'COMPRESSION');
  if (v && v.value !== 'gzip' && v.value !== 'none') r.error(field, `${v.key}: ${JSON.stringify(v.value)} is not supported (use gzip or none)`);
  // As the collector's OTLP exporters (the OTLP specification's default is none).
  return v?.value === 'none' ? 'none' : 'gzip';
}

function readTimeout(r: Reader, { field, entries: m, env }: ComponentSection): number {
  const file = r.duration(m.get('timeout'), 1);
  if (file !== undefined) return file;
  const v = otlpVariable(env, 'TIMEOUT');
  if (!v) return TIMEOUT_DEFAULT_MS;
  const ms = Number(v.value);
  if (ms > 0 && Number.isFinite(ms)) return ms;
  return r.error(field, `${v.key}: ${JSON.stringify(v.value)} is not a positive number of milliseconds`) ?? TIMEOUT_DEFAULT_MS;
}

/** OTEL_EXPORTER_OTLP_HEADERS, then _METRICS_HEADERS, then the file's, merged per name (`k1=v1,k2=v2`, percent-decoded). */
function readHeaders(r: Reader, { field, entries: m, env }: ComponentSection): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const key of ['OTEL_EXPORTER_OTLP_HEADERS', 'OTEL_EXPORTER_OTLP_METRICS_HEADERS']) {
    for (const part of (env[key] ?? '').split(',')) {
      if (!part.trim()) continue;
      const eq = part.indexOf('=');
      const name = eq > 0 ? part.slice(0, eq).trim() : '';
      let value: string | undefined;
      try {
        value = eq > 0 ? decodeURIComponent(part.slice(eq + 1).trim()) : undefined;
      } catch {
        value = undefined;
      }
      if (!name || !value || !isHeaderName(name)) r.error(field, `${key}: ${JSON.stringify(part.trim())} is not key=value (values percent-encoded)`);
      else headers[name] = value;
    }
  }
  for (const { key, field: f } of r.map(m.get('headers'))?.all() ?? []) {
    if (!isHeaderName(key)) r.error(f, `invalid HTTP header name "${key}"`);
    const v = r.string(f);
    if (v !== undefined && /[\r\n]/.test(v)) r.error(f, 'a header value must not contain a line break');
    else if (v !== undefined) headers[key] = v;
  }
  return headers;
}

function isHeaderName(name: string): boolean {
  return /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name);
}

function readTls(r: Reader, { field, entries: m, env }: ComponentSection): TlsClientConfig {
  const t = r.map(m.get('tls'), TLS_KEYS);
  const file = (key: string): string | undefined => (t ? r.string(t.get(key), { nonEmpty: true }) : undefined);
  // The certificate variables apply to what the file does not set, as the SDKs read them.
  const fromEnv = (name: string): string | undefined => otlpVariable(env, name)?.value;
  const insecureVar = otlpVariable(env, 'INSECURE');
  if (insecureVar && !/^(true|false)$/i.test(insecureVar.value)) r.error(field, `${insecureVar.key}: ${JSON.stringify(insecureVar.value)} is not true or false`);
  const caFile = file('ca_file') ?? fromEnv('CERTIFICATE');
  const certFile = file('cert_file') ?? fromEnv('CLIENT_CERTIFICATE');
  const keyFile = file('key_file') ?? fromEnv('CLIENT_KEY');
  if ((certFile === undefined) !== (keyFile === undefined)) r.error(t ? t.get(certFile === undefined ? 'cert_file' : 'key_file') : field, 'cert_file and key_file go together (a client certificate and its key)');
  return {
    insecure: (t && r.bool(t.get('insecure'))) ?? insecureVar?.value.toLowerCase() === 'true',
    ...optional('caFile', caFile),
    ...optional('certFile', certFile),
    ...optional('keyFile', keyFile),
    insecureSkipVerify: (t && r.bool(t.get('insecure_skip_verify'))) ?? false,
    ...optional('serverNameOverride', file('server_name_override')),
  };
}

/** The certificate files the TLS settings name, read; throws naming the key of one that cannot be read. */
export function tlsFiles(tls: TlsClientConfig): { readonly ca?: Buffer; readonly cert?: Buffer; readonly key?: Buffer } {
  const read = (file: string | undefined, key: string): Buffer | undefined => {
    if (file === undefined) return undefined;
    try {
      return readFileSync(file);
    } catch (e) {
      throw new Error(`tls.${key}: cannot read ${file}: ${(e as Error).message}`);
    }
  };
  return { ...optional('ca', read(tls.caFile, 'ca_file')), ...optional('cert', read(tls.certFile, 'cert_file')), ...optional('key', read(tls.keyFile, 'key_file')) };
}

/** An endpoint from the file or the environment, checked (http, https, or for gRPC host:port); undefined after an error. */
export function checkUrl(r: Reader, at: Field, text: string, grpc: boolean, what = 'endpoint'): string | undefined {
  if (grpc && /^([^/:]+|\[[0-9A-Fa-f:.]+\]):\d+$/.test(text)) return text; // host:port
  const u = URL.parse(text);
  if (!u) return r.error(at, `invalid ${what} "${text}" (expected ${grpc ? 'host:port, ' : ''}http://host:port or https://host:port)`);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return r.error(at, `invalid ${what} "${text}": the scheme must be http or https`);
  return text;
}
