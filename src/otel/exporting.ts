// Plugs the OTel side into the daemon (main.ts's ExportingFactory): one
// translator and producer shared by every pipeline and pull endpoint, a push
// loop per pipeline, `prometheus` exporters as extra routes, and the queues'
// state as self metrics and status rows.

import type { ExporterStatus as PageExporterStatus, Exporting, ExportingFactory, ExtraRoute } from '../export-contract.ts';
import { packageVersion } from '../package-info.ts';
import { queueFamilies } from './exporters.ts';
import { Pipeline } from './pipeline.ts';
import { SnapshotMetricProducer } from './producer.ts';
import { createPrometheusEndpoint, type PrometheusEndpoint } from './prometheus-endpoint.ts';
import { buildResource } from './resource.ts';
import { IndexEncoder } from './index-encoder.ts';
import { Translator } from './translate.ts';

export interface ExportingOptions {
  /** Where OTEL_EXPORTER_OTLP_* (and the node-name variables of the resource) come from; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** The factory, reading the environment from `options.env`. */
export const makeExporting =
  (options: ExportingOptions = {}): ExportingFactory =>
  (parts) =>
    build(parts, options);

export const createExporting: ExportingFactory = makeExporting();

function build({ config, scraper, selfMetrics, logger }: Parameters<ExportingFactory>[0], options: ExportingOptions): Exporting {
  const env = options.env ?? process.env;
  const log = logger.child({ source: 'otel' });
  const resource = buildResource({ attributes: config.telemetry.resource, serviceVersion: packageVersion(), env });
  // The daemon's own kata_monitor_* families (the OTLP queue families included) travel with the shims'.
  const translator = new Translator({ resource, extraFamilies: () => selfMetrics.families() });
  const producer = new SnapshotMetricProducer({ source: scraper, translator });
  // The protobuf pipelines' path: the same data, without the translator's per-series objects.
  const encoder = new IndexEncoder({ extraFamilies: () => selfMetrics.families() });
  const pipelines = config.pipelines.map(
    (p) => new Pipeline({ config: p, producer, encoder, collectionIntervalMs: config.receiver.collectionIntervalMs, logger: log, env }),
  );

  const endpoints = new Map<string, PrometheusEndpoint>();
  const routes: ExtraRoute[] = [];
  for (const p of config.pipelines) {
    for (const e of p.exporters) {
      if (e.type !== 'prometheus' || endpoints.has(e.path)) continue;
      const ep = createPrometheusEndpoint({ producer, resource });
      endpoints.set(e.path, ep);
      routes.push({ path: e.path, desc: 'Metrics in OpenTelemetry Prometheus naming (exporter-prometheus)', handler: ep.handle });
    }
  }
  const exporters = pipelines.flatMap((p) => p.exporters);

  return {
    routes,
    selfFamilies: () => queueFamilies(exporters),
    status: () =>
      exporters.map((e): PageExporterStatus => {
        const s = e.status();
        const dropped = Object.values(s.droppedBatches).reduce((a, b) => a + b, 0);
        return {
          name: s.pipeline !== undefined ? `${s.pipeline}/${s.name}` : s.name,
          endpoint: s.url,
          queueDepth: s.sizer === 'items' ? s.queuedPoints : s.depth,
          queueCapacity: s.capacity,
          queueUnit: s.sizer === 'items' ? 'points' : 'batches',
          failedSends: s.failedSends,
          droppedBatches: dropped,
          ...(s.lastSuccessAt !== undefined && { lastSuccessAt: s.lastSuccessAt }),
          ...(s.lastError !== undefined && { lastError: s.lastError }),
        };
      }),
    start: () => {
      for (const p of pipelines) p.start();
      log.info('OTLP push started', { pipelines: pipelines.length, exporters: exporters.length, pullEndpoints: routes.map((r) => r.path) });
    },
    shutdown: async (deadlineMs) => {
      const flushed = await Promise.all(pipelines.map((p) => p.shutdown(deadlineMs)));
      await Promise.all([...endpoints.values()].map((e) => e.shutdown()));
      if (!flushed.every(Boolean)) log.warn('OTLP shutdown: some batches were not delivered before the deadline');
    },
  };
}
