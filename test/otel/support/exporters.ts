// OTLP/HTTP exporters as the daemon builds them (a sending queue in front of
// the real HttpTransport), configured in code for tests that are about the
// queue or the wire rather than the YAML.

import { silentLogger, type Logger } from '../../../src/log/logger.ts';
import { QueuedExporter } from '../../../src/otel/exporters/exporter.ts';
import { QUEUE_DEFAULTS, RETRY_DEFAULTS, type QueueConfig, type RetryConfig } from '../../../src/otel/exporters/helper/config.ts';
import type { OtlpExporterConfig } from '../../../src/otel/exporters/helper/otlp-settings.ts';
import { HttpTransport } from '../../../src/otel/exporters/otlphttp/transport.ts';

export interface HttpOptions {
  readonly name?: string;
  readonly encoding?: 'proto' | 'json';
  readonly compression?: 'gzip' | 'none';
  readonly headers?: Readonly<Record<string, string>>;
  readonly timeoutMs?: number;
  readonly retry?: Partial<RetryConfig>;
  readonly queue?: Partial<QueueConfig>;
}

/** Retries that are quick enough for tests. */
export const FAST_RETRY: Partial<RetryConfig> = { initialIntervalMs: 20, maxIntervalMs: 40 };

/** An otlphttp exporter's resolved configuration, sending to `url`. */
export function httpConfig(url: string, o: HttpOptions = {}): OtlpExporterConfig {
  return {
    type: 'otlphttp',
    name: o.name ?? 'otlphttp',
    protocol: 'http',
    url,
    encoding: o.encoding ?? 'proto',
    compression: o.compression ?? 'none',
    headers: o.headers ?? {},
    timeoutMs: o.timeoutMs ?? 2000,
    tls: { insecure: false, insecureSkipVerify: false },
    retry: { ...RETRY_DEFAULTS, ...FAST_RETRY, ...o.retry },
    queue: { ...QUEUE_DEFAULTS, size: 10, ...o.queue },
  };
}

export function httpExporter(config: OtlpExporterConfig, pipeline = 'metrics', logger: Logger = silentLogger): QueuedExporter {
  return new QueuedExporter({ config, pipeline, transport: new HttpTransport(config), logger, jitter: 0 });
}

