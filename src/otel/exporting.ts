// Plugs the OTel side into the daemon (main.ts's ExportingFactory): one
// translator shared by every pipeline and pull endpoint, a push loop per
// pipeline, `prometheus` exporters as extra routes, and the exporters' state
// as self metrics and status rows (with their recent push intervals, for the
// status page's charts).

import type { ServiceConfig } from '../config/types.ts';
import type { ExporterPoint, ExporterRow, Exporting, ExportingFactory, ExtraRoute } from '../export-contract.ts';
import type { Logger } from '../log/logger.ts';
import { packageVersion } from '../package-info.ts';
import { pushBounded } from '../scrape/ring.ts';
import type { ExporterConfig, ExtensionConfig, ProcessorConfig } from './config.ts';
import { debugExporter } from './exporters/debug/exporter.ts';
import { QueuedExporter, type Exporter, type ExporterStatus } from './exporters/exporter.ts';
import { fileExporter } from './exporters/file/exporter.ts';
import type { ExportQueueOptions, QueueForm } from './exporters/helper/queue.ts';
import { grpcTransport } from './exporters/otlp/transport.ts';
import { HttpTransport } from './exporters/otlphttp/transport.ts';
import { createPrometheusEndpoint, snapshotProducer, type PrometheusEndpoint } from './exporters/prometheus/endpoint.ts';
import { fileStorage } from './extensions/file_storage/storage.ts';
import { Pipeline } from './pipeline.ts';
import { planOf } from './processors/plan.ts';
import { buildResource } from './resource.ts';
import { exporterFamilies } from './self-metrics.ts';
import { Translator } from './translate/walk.ts';

export interface ExportingOptions extends Pick<ExportQueueOptions, 'now' | 'jitter'> {
  /** Where the node-name variables of the resource come from; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Where the debug exporter writes its blocks (default stderr). */
  readonly write?: (text: string) => void;
}

/** What the export side reads of the configuration. */
export type ExportingConfig = Omit<ServiceConfig<{ readonly collectionIntervalMs: number }, ProcessorConfig, ExporterConfig, ExtensionConfig>, 'shutdownTimeoutMs'>;

/** The factory, reading the environment from `options.env`. */
export const makeExporting =
  (options: ExportingOptions = {}): ExportingFactory<ExportingConfig> =>
  ({ config, source, selfMetrics, logger }): Exporting => {
    const env = options.env ?? process.env;
    const log = logger.child({ source: 'otel' });
    const resource = buildResource({ attributes: config.telemetry.resource, serviceVersion: packageVersion(), env });
    const translator = new Translator({ selfFamilies: () => selfMetrics.families() });
    const storages = new Map(config.extensions.map((x) => [x.name, fileStorage(x)]));
    const pipelines: Pipeline[] = [];
    const routes: ExtraRoute[] = [];
    const endpoints: PrometheusEndpoint[] = [];
    for (const p of config.pipelines) {
      const plan = planOf(resource, p.processors);
      const plog = log.child({ pipeline: p.name });
      const exporters: Exporter[] = [];
      for (const e of p.exporters) {
        if (e.type === 'prometheus') {
          const ep = createPrometheusEndpoint({ producer: snapshotProducer(source, translator, plan), resource: plan.resource });
          endpoints.push(ep);
          routes.push({ path: e.path, desc: 'Metrics in OpenTelemetry Prometheus naming (exporter-prometheus)', handler: ep.handle });
        } else {
          exporters.push(exporterOf(e, p.name, plog.child({ exporter: e.name }), storages, options));
        }
      }
      pipelines.push(new Pipeline({ name: p.name, plan, exporters, source, translator, intervalMs: config.receiver.collectionIntervalMs, logger: plog }));
    }
    const exporters = pipelines.flatMap((p) => p.exporters);
    const statuses = (): ExporterStatus[] => exporters.map((e) => e.status());
    const history = exporterHistory(() => statuses().map(row), options.now);

    return {
      routes,
      selfFamilies: () => exporterFamilies(statuses()),
      status: () => statuses().map(row).map((r) => ({ ...r, history: history.of(r.name) })),
      start: async () => {
        for (const s of storages.values()) await s.start();
        for (const e of exporters) await e.start();
        for (const p of pipelines) p.start();
        history.start(config.receiver.collectionIntervalMs);
        log.info('OTLP push started', { pipelines: pipelines.filter((p) => p.pushes).length, exporters: exporters.length, pullEndpoints: routes.map((r) => r.path) });
      },
      shutdown: async (deadlineMs) => {
        history.stop();
        const flushed = await Promise.all(pipelines.map((p) => p.shutdown(deadlineMs)));
        await Promise.all(endpoints.map((e) => e.shutdown()));
        if (!flushed.every(Boolean)) log.warn('OTLP shutdown: some batches were not delivered before the deadline');
      },
    };
  };

export const createExporting: ExportingFactory<ExportingConfig> = makeExporting();

function exporterOf(e: Exclude<ExporterConfig, { type: 'prometheus' }>, pipeline: string, logger: Logger, storages: ReadonlyMap<string, ReturnType<typeof fileStorage>>, options: ExportingOptions): Exporter {
  if (e.type === 'debug') return debugExporter(e, pipeline, logger, options.write ?? ((text) => void process.stderr.write(text)), options.now);
  if (e.type === 'file') return fileExporter(e, pipeline, logger);
  const transport = e.protocol === 'grpc' ? grpcTransport(e) : new HttpTransport(e);
  const storage = e.queue.storage === undefined ? undefined : storages.get(e.queue.storage);
  // As the collector names a queue's storage: by kind, type, name and signal (and pipeline: one instance each); the store makes it a file name.
  const owner = `exporter_${e.name}_${pipeline}`;
  const store = storage && ((form: QueueForm) => storage.queue(owner, form, logger));
  return new QueuedExporter({ config: e, pipeline, transport, store, logger, now: options.now, jitter: options.jitter });
}

/** A status row, before its history. */
type Row = Omit<ExporterRow, 'history'>;

function row(s: ExporterStatus): Row {
  const q = s.queue;
  const lastError = q?.lastError ?? s.written?.lastError;
  return {
    name: `${s.pipeline}/${s.id}`,
    endpoint: s.endpoint,
    queueDepth: q?.used ?? 0,
    queueCapacity: q?.capacity ?? 0,
    queueUnit: q?.sizer === 'items' ? 'points' : q?.sizer === 'bytes' ? 'bytes' : 'batches',
    persistent: q?.persistent ?? false,
    sentPoints: q?.sentPoints ?? s.written?.points ?? 0,
    failedSends: q?.failedSends ?? s.written?.failures ?? 0,
    droppedBatches: q ? Object.values(q.droppedBatches).reduce((a, b) => a + b, 0) : 0,
    ...(q?.lastSuccessAt !== undefined && { lastSuccessAt: q.lastSuccessAt }),
    ...(lastError !== undefined && { lastError }),
  };
}

/** Each row sampled once per collection interval: queue depth, and what was sent, failed and dropped since the sample before. */
function exporterHistory(rows: () => readonly Row[], now: () => number = Date.now) {
  const rings = new Map<string, ExporterPoint[]>();
  const last = new Map<string, Row>();
  let timer: NodeJS.Timeout | undefined;
  const sample = (): void => {
    const at = now();
    for (const r of rows()) {
      const before = last.get(r.name);
      let ring = rings.get(r.name);
      if (!ring) rings.set(r.name, (ring = []));
      pushBounded(ring, {
        at,
        queueDepth: r.queueDepth,
        sentPoints: r.sentPoints - (before?.sentPoints ?? 0),
        failedSends: r.failedSends - (before?.failedSends ?? 0),
        droppedBatches: r.droppedBatches - (before?.droppedBatches ?? 0),
      });
      last.set(r.name, r);
    }
  };
  return {
    start: (intervalMs: number): void => {
      timer = setInterval(sample, intervalMs).unref();
    },
    stop: (): void => clearInterval(timer),
    of: (name: string): readonly ExporterPoint[] => rings.get(name) ?? [],
  };
}
