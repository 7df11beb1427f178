// Every default in one place; the example YAML file documents the same values
// (a test holds them together).

import { DEFAULT_LISTEN_ADDRESS, DEFAULT_RUNTIME_ENDPOINT, DEFAULT_SANDBOX_ROOTS } from '../cli/flags.ts';

export const DEFAULTS = {
  listenAddress: DEFAULT_LISTEN_ADDRESS,
  runtimeEndpoint: DEFAULT_RUNTIME_ENDPOINT,
  sandboxRoots: DEFAULT_SANDBOX_ROOTS,
  /** Upstream retries every 60 s; a stat every 5 s is cheap and finds Kata sooner after install. */
  rootRetryIntervalMs: 5_000,
  collectionIntervalMs: 15_000,
  openMetrics: false,
  /** Fastest level: /metrics bodies are text that compresses well even at 1. */
  gzipLevel: 1,
  demo: false,
  criTimeoutMs: 2_000,
  /** Upstream's values. */
  criResyncIntervalMs: 5_000,
  criFirstLookupDelayMs: 5_000,
  /** Upstream's shim client timeout. */
  shimTimeoutMs: 3_000,
  shimMaxBodyBytes: 64 * 1024 * 1024,
  /** Enough to scrape a densely packed node in one or two rounds without a burst of hundreds of sockets. */
  shimConcurrency: 32,
  /** 0: batches are not split. */
  batchSendMaxSize: 0,
  /**
   * otlphttp settings that OTEL_EXPORTER_OTLP_[METRICS_]* environment variables
   * may supply: used only when neither the file nor the environment says.
   * The OTLP exporter specification's endpoint and timeout.
   */
  otlpEndpoint: 'http://localhost:4318/v1/metrics',
  otlpEncoding: 'proto',
  /** As the collector's otlphttp exporter (the OTLP specification's default is none). */
  otlpCompression: 'gzip',
  otlpTimeoutMs: 10_000,
  /** The collector's exporterhelper retry defaults (initial 5 s, ×1.5, max 30 s)… */
  retryEnabled: true,
  retryInitialIntervalMs: 5_000,
  /** Not configurable: each wait is the previous one × 1.5 (±20 % jitter), capped at max_interval. */
  retryMultiplier: 1.5,
  retryMaxIntervalMs: 30_000,
  /**
   * …except this one (the collector: 5 min). 0: a batch is retried until it is
   * sent or pushed out of the bounded queue; the queue's bound, not a timer,
   * decides what an outage loses.
   */
  retryMaxElapsedMs: 0,
  queueEnabled: true,
  /** Batches: 25 minutes of outage at the default 15 s interval. */
  queueSize: 100,
  /** As the collector: queue_size counts batches. The DaemonSet's file counts points, which bounds memory. */
  queueSizer: 'requests',
  queueDropPolicy: 'oldest',
  prometheusPath: '/otel/metrics',
  /** SIGTERM: in-flight answers and a final OTLP push get this long (the DaemonSet's grace period is 30 s). */
  shutdownTimeoutMs: 10_000,
  logLevel: 'info',
  /** logrus' text format, as upstream. */
  logEncoding: 'text',
} as const;
