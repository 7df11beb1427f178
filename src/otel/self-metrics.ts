// The exporters' state as kata_monitor_otlp_* families for /metrics (and the
// push itself): one series per exporter and pipeline. Queued exporters show
// their queue; those that write at once (debug, file) what they wrote.

import type { Label, Metric, MetricFamily } from '../exposition/model.ts';
import type { ExporterStatus } from './exporters/exporter.ts';
import { DROP_REASONS, type QueueStatus } from './exporters/helper/queue.ts';

function labelsOf(s: ExporterStatus): Label[] {
  return [
    { name: 'exporter', value: s.id },
    { name: 'pipeline', value: s.pipeline },
  ];
}

/** Makes families of one series per exporter of `of`, valued from what `part` picks of its status. */
function perExporter<S extends ExporterStatus, P>(of: readonly S[], part: (s: S) => P): (name: string, help: string, type: 'gauge' | 'counter', value: (p: P) => number) => MetricFamily {
  return (name, help, type, value) => ({
    name,
    help,
    type,
    metrics: of.map((s): Metric => ({ kind: 'scalar', labels: labelsOf(s), value: value(part(s)) })),
  });
}

/** A family per figure; none for a kind of exporter the pipelines do not have (queued, or writing at once). */
export function exporterFamilies(statuses: readonly ExporterStatus[]): MetricFamily[] {
  const queued = statuses.filter((s): s is ExporterStatus & { queue: QueueStatus } => s.queue !== undefined);
  const writers = statuses.filter((s): s is ExporterStatus & { written: NonNullable<ExporterStatus['written']> } => s.written !== undefined);
  const per = perExporter(queued, (s) => s.queue);
  const wrote = perExporter(writers, (s) => s.written);
  const byReason = (name: string, help: string, pick: (q: QueueStatus) => Readonly<Record<string, number>>): MetricFamily => ({
    name,
    help,
    type: 'counter',
    metrics: queued.flatMap((s) => DROP_REASONS.map((reason): Metric => ({ kind: 'scalar', labels: [...labelsOf(s), { name: 'reason', value: reason }], value: pick(s.queue)[reason] ?? 0 }))),
  });
  return [
    per('kata_monitor_otlp_queue_batches', 'OTLP batches waiting to be sent (including the one in flight).', 'gauge', (q) => q.depth),
    per('kata_monitor_otlp_queue_points', 'Data points in the OTLP batches waiting to be sent (including the one in flight).', 'gauge', (q) => q.queuedPoints),
    per('kata_monitor_otlp_queue_bytes', 'Bytes of the OTLP batches waiting to be sent, as queued (gzipped when the exporter compresses).', 'gauge', (q) => q.queuedBytes),
    per('kata_monitor_otlp_queue_capacity_batches', 'Most OTLP batches the queue holds before dropping (sizer requests; 0 with another sizer).', 'gauge', (q) => (q.sizer === 'requests' ? q.capacity : 0)),
    per('kata_monitor_otlp_queue_capacity_points', 'Most data points the queue holds before dropping (sizer items; 0 with another sizer).', 'gauge', (q) => (q.sizer === 'items' ? q.capacity : 0)),
    per('kata_monitor_otlp_queue_capacity_bytes', 'Most bytes the queue holds before dropping (sizer bytes; 0 with another sizer).', 'gauge', (q) => (q.sizer === 'bytes' ? q.capacity : 0)),
    per('kata_monitor_otlp_queue_persistent', '1 when the queue is kept on disk (file_storage) and survives a restart.', 'gauge', (q) => (q.persistent ? 1 : 0)),
    per('kata_monitor_otlp_sent_batches_total', 'OTLP batches the backend accepted.', 'counter', (q) => q.sentBatches),
    per('kata_monitor_otlp_sent_points_total', 'Data points in OTLP batches the backend accepted.', 'counter', (q) => q.sentPoints),
    per('kata_monitor_otlp_rejected_points_total', 'Data points the backend rejected in answers that otherwise succeeded (OTLP partial success).', 'counter', (q) => q.rejectedPoints),
    per('kata_monitor_otlp_failed_sends_total', 'OTLP requests that failed (each retry counts).', 'counter', (q) => q.failedSends),
    per('kata_monitor_otlp_queue_corrupt_batches_total', 'Batches of a persistent queue found unreadable on disk, set aside and not sent.', 'counter', (q) => q.corruptBatches),
    byReason('kata_monitor_otlp_dropped_batches_total', 'OTLP batches given up on, by reason.', (q) => q.droppedBatches),
    byReason('kata_monitor_otlp_dropped_points_total', 'Data points in OTLP batches given up on, by reason.', (q) => q.droppedPoints),
    per('kata_monitor_otlp_last_success_timestamp_seconds', 'When the backend last accepted a batch (0: never).', 'gauge', (q) => (q.lastSuccessAt ?? 0) / 1000),
    wrote('kata_monitor_otlp_written_points_total', 'Data points the debug and file exporters wrote.', 'counter', (w) => w.points),
    wrote('kata_monitor_otlp_write_failures_total', 'Requests the debug and file exporters failed to write (a full disk, a removed directory).', 'counter', (w) => w.failures),
  ].filter((f) => f.metrics.length > 0);
}
