// The resolved configuration: what the YAML file (collector-shaped) and
// kata-monitor's flags turn into after defaults, substitution and validation.
// Durations are milliseconds, sizes bytes. Every stage takes its own slice.

import type { LogFormat, LogLevel } from '../log/logger.ts';

export interface TlsConfig {
  readonly certFile: string;
  readonly keyFile: string;
}

export type AuthConfig =
  | { readonly type: 'basic'; readonly username: string; readonly password: string }
  | { readonly type: 'bearer'; readonly token: string };

/** The HTTP server that answers kata-monitor's endpoints. */
export interface ServerConfig {
  /** host:port, as upstream's --listen-address. */
  readonly listenAddress: string;
  readonly tls?: TlsConfig;
  readonly auth?: AuthConfig;
  /** Answer OpenMetrics when a client prefers it. Off: upstream never does. */
  readonly openMetrics: boolean;
  /** zlib level for gzip answers (1 fastest … 9 smallest). */
  readonly gzipLevel: number;
}

export interface DiscoveryConfig {
  /** Watched in this order; the first that holds a sandbox's socket wins. */
  readonly sandboxRoots: readonly string[];
  /** How often a missing root is looked for again. */
  readonly rootRetryIntervalMs: number;
}

export interface CriConfig {
  /** unix:///path, tcp://host:port, or a bare path (deprecated). */
  readonly runtimeEndpoint: string;
  /** Per ListPodSandbox call. */
  readonly timeoutMs: number;
  /** Retry period for sandboxes still missing metadata (upstream: 5 s). */
  readonly resyncIntervalMs: number;
  /** Delay before a new sandbox is first looked up (upstream: 5 s). */
  readonly firstLookupDelayMs: number;
}

export interface ShimConfig {
  readonly timeoutMs: number;
  readonly maxBodyBytes: number;
  /** Shims scraped at once. */
  readonly concurrency: number;
}

/** receivers.kata_monitor */
export interface KataMonitorReceiverConfig {
  readonly server: ServerConfig;
  readonly discovery: DiscoveryConfig;
  readonly cri: CriConfig;
  readonly shim: ShimConfig;
  /** Scrape period of the push (OTLP) path. */
  readonly collectionIntervalMs: number;
}

export type FilterMatch = { readonly prefixes: readonly string[]; readonly regexps: readonly RegExp[] };

export type ProcessorConfig =
  | { readonly type: 'filter'; readonly name: string; readonly include?: FilterMatch; readonly exclude?: FilterMatch }
  | {
      readonly type: 'resource';
      readonly name: string;
      readonly attributes: readonly {
        readonly key: string;
        readonly action: 'insert' | 'update' | 'upsert' | 'delete';
        readonly value?: string | number | boolean;
      }[];
    }
  | { readonly type: 'batch'; readonly name: string; readonly sendBatchMaxSize: number };

export interface RetryConfig {
  readonly enabled: boolean;
  readonly initialIntervalMs: number;
  readonly maxIntervalMs: number;
  /** Give up on one batch after this long (0: never, it stays queued). */
  readonly maxElapsedMs: number;
}

export interface QueueConfig {
  readonly enabled: boolean;
  /** What `size` counts (the collector's names): batches ('requests') or data points ('items'). */
  readonly sizer: 'requests' | 'items';
  /** Batches, or data points, held while the backend is unreachable. */
  readonly size: number;
  /** What goes when the queue is full. */
  readonly dropPolicy: 'oldest' | 'newest';
}

export type ExporterConfig =
  | {
      readonly type: 'otlphttp';
      readonly name: string;
      // endpoint, encoding, compression and timeoutMs are absent when the file
      // does not set them: OTEL_EXPORTER_OTLP_[METRICS_]* environment variables
      // then apply, then DEFAULTS (resolved by otel/otlp-http.ts).
      /** Full URL of the metrics path, e.g. http://collector:4318/v1/metrics. */
      readonly endpoint?: string;
      readonly encoding?: 'proto' | 'json';
      readonly compression?: 'gzip' | 'none';
      /** From the file; merged over OTEL_EXPORTER_OTLP_[METRICS_]HEADERS per name. */
      readonly headers: Readonly<Record<string, string>>;
      readonly timeoutMs?: number;
      readonly retry: RetryConfig;
      readonly queue: QueueConfig;
    }
  | {
      /** @opentelemetry/exporter-prometheus on our server, OTel naming. */
      readonly type: 'prometheus';
      readonly name: string;
      readonly path: string;
    };

export interface PipelineConfig {
  readonly name: string;
  readonly receivers: readonly string[];
  readonly processors: readonly ProcessorConfig[];
  readonly exporters: readonly ExporterConfig[];
}

export interface TelemetryConfig {
  readonly logs: { readonly level: LogLevel; readonly encoding: LogFormat };
  /** Extra resource attributes for every exported metric. */
  readonly resource: Readonly<Record<string, string>>;
}

export interface Config {
  readonly receiver: KataMonitorReceiverConfig;
  readonly pipelines: readonly PipelineConfig[];
  readonly telemetry: TelemetryConfig;
  /** Run simulated shims and a simulated CRI server (no Kata host needed). */
  readonly demo: boolean;
  /** service.shutdown_timeout: on SIGTERM, in-flight answers and the final OTLP push get this long. */
  readonly shutdownTimeoutMs: number;
}
