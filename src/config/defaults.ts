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
  otlpEncoding: 'proto',
  /** As the collector's otlphttp exporter. */
  otlpCompression: 'gzip',
  otlpTimeoutMs: 10_000,
  retryEnabled: true,
  retryInitialIntervalMs: 1_000,
  retryMaxIntervalMs: 30_000,
  /** 0: a batch is retried until it is sent or pushed out of the bounded queue. */
  retryMaxElapsedMs: 0,
  queueEnabled: true,
  /** Batches: 25 minutes of outage at the default 15 s interval. */
  queueSize: 100,
  queueDropPolicy: 'oldest',
  prometheusPath: '/otel/metrics',
  logLevel: 'info',
  /** logrus' text format, as upstream. */
  logEncoding: 'text',
} as const;
