// The `otlp` exporter (OTLP over gRPC, the collector's default exporter):
// its keys, defaults and validation (README.md lists them).

import type { ComponentSection, ComponentType } from '../../../config/types.ts';
import type { Reader } from '../../../config/reader.ts';
import { storageUse } from '../helper/config.ts';
import { checkUrl, OTLP_KEYS, otlpVariable, readCommon, type OtlpExporterConfig, type TlsClientConfig } from '../helper/otlp-settings.ts';

/** The OTLP specification's gRPC endpoint, plaintext as the SDKs default it. */
export const GRPC_DEFAULT_ENDPOINT = 'http://localhost:4317';

export const otlpExporter: ComponentType<OtlpExporterConfig> = {
  keys: { ...OTLP_KEYS, balancer_name: {} },
  read(r, s) {
    const m = s.entries;
    if (m.has('balancer_name')) r.warn(m.get('balancer_name'), 'ignored: one connection to the endpoint, one request at a time');
    return grpcConfig(r, s, 'otlp', readCommon(r, s));
  },
  extensions: storageUse,
};

/** An exporter speaking gRPC: `otlp`, or `otlphttp` when OTEL_EXPORTER_OTLP_PROTOCOL says grpc. */
export function grpcConfig(r: Reader, s: ComponentSection, type: OtlpExporterConfig['type'], common: ReturnType<typeof readCommon>): OtlpExporterConfig {
  return { type, name: s.id, protocol: 'grpc', url: grpcUrl(r, s, common.tls) ?? GRPC_DEFAULT_ENDPOINT, encoding: 'proto', ...common };
}

/**
 * The gRPC endpoint as http(s)://host:port, the scheme saying plaintext or
 * TLS (README.md, "TLS or plaintext"): from the file, else from
 * OTEL_EXPORTER_OTLP_[METRICS_]ENDPOINT (its path unused), else undefined.
 */
function grpcUrl(r: Reader, s: ComponentSection, tls: TlsClientConfig): string | undefined {
  const m = s.entries;
  const file = r.string(m.get('endpoint'), { nonEmpty: true });
  const variable = file === undefined ? otlpVariable(s.env, 'ENDPOINT') : undefined;
  const text = file ?? variable?.value;
  if (text === undefined) return undefined;
  const at = file !== undefined ? m.get('endpoint') : s.field;
  const checked = checkUrl(r, at, text, true, variable ? `endpoint (${variable.key})` : 'endpoint');
  if (checked === undefined) return undefined;
  const scheme = /^https?:\/\//.test(checked) ? new URL(checked).protocol : undefined;
  const host = scheme ? new URL(checked).host : checked;
  if (variable) return `${scheme ?? (tls.insecure ? 'http:' : 'https:')}//${host}`;
  const plaintext = scheme === 'http:' || (scheme === undefined && tls.insecure && tls.caFile === undefined);
  return `${plaintext ? 'http' : 'https'}://${host}`;
}
