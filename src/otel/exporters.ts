// OTLP/HTTP exporters as the pipeline sees them: queue a request, deliver it
// with retry through the SDK exporter (otlp-http.ts: exporter-base's node-http
// transport, our serializer, summaries included). Their state is published as
// kata_monitor_otlp_* families for /metrics and as a status object for a
// status page.

import { DEFAULTS } from '../config/defaults.ts';
import type { ExporterConfig, QueueConfig, RetryConfig } from '../config/types.ts';
import type { Label, Metric, MetricFamily } from '../exposition/model.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import { requestPoints, type OtlpRequest } from './model.ts';
import { OtlpMetricExporter, resolveOtlpHttpSettings, type OtlpHttpOptions, type OtlpHttpSettings } from './otlp-http.ts';
import { DROP_REASONS, ExportQueue, type QueueStatus } from './queue.ts';

/** What the config loader gives an exporter that sets nothing (src/config/defaults.ts). */
export const DEFAULT_RETRY: RetryConfig = {
  enabled: DEFAULTS.retryEnabled,
  initialIntervalMs: DEFAULTS.retryInitialIntervalMs,
  maxIntervalMs: DEFAULTS.retryMaxIntervalMs,
  maxElapsedMs: DEFAULTS.retryMaxElapsedMs,
};
/** Batches, not points: at the default 15 s interval, 100 cover an outage of 25 min. */
export const DEFAULT_QUEUE: QueueConfig = { enabled: DEFAULTS.queueEnabled, sizer: DEFAULTS.queueSizer, size: DEFAULTS.queueSize, dropPolicy: DEFAULTS.queueDropPolicy };

export interface OtlpHttpExporterConfig extends OtlpHttpOptions {
  readonly name: string;
  readonly retry?: RetryConfig;
  readonly queue?: QueueConfig;
}

export interface ExporterDeps {
  readonly env?: Readonly<Record<string, string | undefined>>;
  readonly logger?: Logger;
  readonly now?: () => number;
  /** Backoff randomisation (default 0.2). */
  readonly jitter?: number;
  /** Labels this exporter's self metrics, so one exporter name in two pipelines stays two series. */
  readonly pipeline?: string;
}

export interface ExporterStatus extends QueueStatus {
  readonly name: string;
  readonly pipeline?: string;
  readonly url: string;
  readonly encoding: OtlpHttpSettings['encoding'];
  readonly compression: OtlpHttpSettings['compression'];
}

export class OtlpHttpExporter {
  readonly name: string;
  readonly pipeline: string | undefined;
  readonly settings: OtlpHttpSettings;
  readonly #sdk: OtlpMetricExporter;
  readonly #queue: ExportQueue;
  readonly #log: Logger;

  /** Throws OtlpConfigError when the config and environment do not make a usable endpoint. */
  constructor(config: OtlpHttpExporterConfig, deps: ExporterDeps = {}) {
    this.name = config.name;
    this.pipeline = deps.pipeline;
    this.settings = resolveOtlpHttpSettings(config, deps.env);
    this.#log = (deps.logger ?? silentLogger).child({ exporter: config.name });
    this.#sdk = new OtlpMetricExporter(this.settings);
    this.#queue = new ExportQueue({
      queue: config.queue ?? DEFAULT_QUEUE,
      retry: config.retry ?? DEFAULT_RETRY,
      send: (request) => this.#sdk.send(request),
      logger: this.#log,
      ...(deps.now && { now: deps.now }),
      ...(deps.jitter !== undefined && { jitter: deps.jitter }),
    });
  }

  /** Queues one OTLP request; false if the queue had to drop it. */
  export(request: OtlpRequest): boolean {
    const points = requestPoints(request);
    if (points === 0) return true;
    return this.#queue.enqueue({ request, points });
  }

  status(): ExporterStatus {
    const { url, encoding, compression } = this.settings;
    return { name: this.name, ...(this.pipeline !== undefined && { pipeline: this.pipeline }), url, encoding, compression, ...this.#queue.status() };
  }

  forceFlush(withinMs: number): Promise<boolean> {
    return this.#queue.forceFlush(withinMs);
  }

  /**
   * The queue's shutdown (which does not wait for an answer past `withinMs`),
   * then the SDK exporter's: its connection is cut, so it ends at once, unless
   * exporter-base is between retries of its own (at most its timeout).
   */
  async shutdown(withinMs: number): Promise<boolean> {
    const ok = await this.#queue.shutdown(withinMs);
    void this.#sdk.shutdown().catch((e: unknown) => this.#log.debug('OTLP exporter shutdown', { error: String(e) }));
    return ok;
  }
}

/** The otlphttp exporters of a pipeline; `prometheus` ones are pull endpoints the server mounts. */
export function createOtlpExporters(configs: readonly ExporterConfig[], deps: ExporterDeps = {}): OtlpHttpExporter[] {
  const out: OtlpHttpExporter[] = [];
  for (const c of configs) if (c.type === 'otlphttp') out.push(new OtlpHttpExporter(c, deps));
  return out;
}

function exporterLabels(s: ExporterStatus): Label[] {
  const labels: Label[] = [{ name: 'exporter', value: s.name }];
  if (s.pipeline !== undefined) labels.push({ name: 'pipeline', value: s.pipeline });
  return labels;
}

/**
 * Queue state as kata_monitor_otlp_* families, one series per exporter. Call
 * it once with the exporters of all pipelines (one family per name).
 */
export function queueFamilies(exporters: Iterable<OtlpHttpExporter>): MetricFamily[] {
  const list = [...exporters];
  const per = (name: string, help: string, type: 'gauge' | 'counter', value: (s: ExporterStatus) => number): MetricFamily => ({
    name,
    help,
    type,
    metrics: list.map((e) => {
      const s = e.status();
      return { kind: 'scalar', labels: exporterLabels(s), value: value(s) } satisfies Metric;
    }),
  });
  const byReason = (name: string, help: string, pick: (s: ExporterStatus) => Readonly<Record<string, number>>): MetricFamily => ({
    name,
    help,
    type: 'counter',
    metrics: list.flatMap((e) => {
      const s = e.status();
      const counts = pick(s);
      return DROP_REASONS.map(
        (reason): Metric => ({ kind: 'scalar', labels: [...exporterLabels(s), { name: 'reason', value: reason }], value: counts[reason] ?? 0 }),
      );
    }),
  });
  if (list.length === 0) return [];
  return [
    per('kata_monitor_otlp_queue_batches', 'OTLP batches waiting to be sent (including the one in flight).', 'gauge', (s) => s.depth),
    per('kata_monitor_otlp_queue_points', 'Data points in the OTLP batches waiting to be sent (including the one in flight).', 'gauge', (s) => s.queuedPoints),
    per('kata_monitor_otlp_queue_capacity_batches', 'Most OTLP batches the queue holds before dropping (sizer: requests; 0 when it counts points).', 'gauge', (s) => (s.sizer === 'requests' ? s.capacity : 0)),
    per('kata_monitor_otlp_queue_capacity_points', 'Most data points the queue holds before dropping (sizer: items; 0 when it counts batches).', 'gauge', (s) => (s.sizer === 'items' ? s.capacity : 0)),
    per('kata_monitor_otlp_sent_batches_total', 'OTLP batches the backend accepted.', 'counter', (s) => s.sentBatches),
    per('kata_monitor_otlp_sent_points_total', 'Data points in OTLP batches the backend accepted.', 'counter', (s) => s.sentPoints),
    per('kata_monitor_otlp_failed_sends_total', 'OTLP requests that failed (each retry counts).', 'counter', (s) => s.failedSends),
    byReason('kata_monitor_otlp_dropped_batches_total', 'OTLP batches given up on, by reason.', (s) => s.droppedBatches),
    byReason('kata_monitor_otlp_dropped_points_total', 'Data points in OTLP batches given up on, by reason.', (s) => s.droppedPoints),
    per(
      'kata_monitor_otlp_last_success_timestamp_seconds',
      'When the backend last accepted a batch (0: never).',
      'gauge',
      (s) => (s.lastSuccessAt ?? 0) / 1000,
    ),
  ];
}
