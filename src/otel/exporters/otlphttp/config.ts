// The `otlphttp` exporter (OTLP over HTTP, protobuf or JSON): its keys,
// defaults and validation (README.md lists them).

import type { ComponentSection, ComponentType } from '../../../config/types.ts';
import type { Field, Reader } from '../../../config/reader.ts';
import { storageUse } from '../helper/config.ts';
import { checkUrl, OTLP_KEYS, otlpVariable, readCommon, type OtlpExporterConfig } from '../helper/otlp-settings.ts';
import { grpcConfig } from '../otlp/config.ts';

/** The OTLP specification's HTTP endpoint. */
export const HTTP_DEFAULT_ENDPOINT = 'http://localhost:4318/v1/metrics';

export const otlphttpExporter: ComponentType<OtlpExporterConfig> = {
  keys: { ...OTLP_KEYS, metrics_endpoint: {}, encoding: {} },
  read(r, s) {
    const m = s.entries;
    const common = readCommon(r, s);
    const encoding = r.oneOf(m.get('encoding'), ['proto', 'json'] as const);
    // The protocol is open when the file sets neither the encoding nor an endpoint:
    // OTEL_EXPORTER_OTLP_[METRICS_]PROTOCOL then chooses, gRPC included (as the SDKs do).
    const open = encoding === undefined && !m.has('encoding') && !m.has('endpoint') && !m.has('metrics_endpoint');
    const protocol = open ? protocolFromEnv(r, s) : encoding ?? 'proto';
    if (protocol === 'grpc') return grpcConfig(r, s, 'otlphttp', common);
    return { type: 'otlphttp', name: s.id, protocol: 'http', url: httpUrl(r, s) ?? HTTP_DEFAULT_ENDPOINT, encoding: protocol, ...common };
  },
  extensions: storageUse,
};

function protocolFromEnv(r: Reader, s: ComponentSection): 'proto' | 'json' | 'grpc' {
  const v = otlpVariable(s.env, 'PROTOCOL');
  if (v === undefined || v.value === 'http/protobuf') return 'proto';
  if (v.value === 'http/json') return 'json';
  if (v.value === 'grpc') return 'grpc';
  return r.error(s.field, `${v.key}: ${JSON.stringify(v.value)} is not supported (use http/protobuf, http/json or grpc)`) ?? 'proto';
}

/**
 * As the collector's: `endpoint` gets /v1/metrics appended, `metrics_endpoint` is used as written;
 * likewise OTEL_EXPORTER_OTLP_ENDPOINT and OTEL_EXPORTER_OTLP_METRICS_ENDPOINT; else undefined.
 */
function httpUrl(r: Reader, s: ComponentSection): string | undefined {
  const m = s.entries;
  const full = r.string(m.get('metrics_endpoint'), { nonEmpty: true });
  const base = r.string(m.get('endpoint'), { nonEmpty: true });
  if (full !== undefined) {
    if (base !== undefined) r.warn(m.get('endpoint'), 'ignored: metrics_endpoint is set');
    return checkUrl(r, m.get('metrics_endpoint'), full, false);
  }
  if (base !== undefined) return withMetricsPath(r, m.get('endpoint'), base, true);
  const v = otlpVariable(s.env, 'ENDPOINT');
  if (v === undefined) return undefined;
  const url = checkUrl(r, s.field, v.value, false, `endpoint (${v.key})`);
  return url === undefined || v.metrics ? url : withMetricsPath(r, s.field, url, false);
}

function withMetricsPath(r: Reader, at: Field, base: string, fromFile: boolean): string | undefined {
  const url = checkUrl(r, at, base, false);
  if (url === undefined) return undefined;
  const u = new URL(url);
  if (u.pathname.endsWith('/v1/metrics')) {
    if (fromFile) r.warn(at, 'already ends with /v1/metrics: used as is (endpoint is a base URL; write metrics_endpoint for a full one)');
    return url;
  }
  u.pathname = `${u.pathname.replace(/\/+$/, '')}/v1/metrics`;
  return u.toString();
}
