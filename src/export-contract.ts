// The contract between the daemon and its export side (otel/): what main.ts
// asks of it and what the HTTP layer shows of it. Kept apart so that otel/
// and server/, siblings in the data flow, import neither each other nor main.

import type { MetricFamily } from './exposition/model.ts';
import type { Logger } from './log/logger.ts';
import type { SnapshotSource } from './scrape/snapshot.ts';
import type { SelfMetrics } from './scrape/self-metrics.ts';

/** A route the export side adds to the HTTP server (e.g. /otel/metrics). */
export interface ExtraRoute {
  readonly path: string;
  readonly desc: string;
  readonly handler: (req: Request) => Promise<Response>;
}

/** One exporter at one push interval, for the status page's charts. */
export interface ExporterPoint {
  readonly at: number;
  /** In the row's queueUnit, when sampled. */
  readonly queueDepth: number;
  /** Since the previous point. */
  readonly sentPoints: number;
  readonly failedSends: number;
  readonly droppedBatches: number;
}

/** One exporter's state, as the status page shows it. */
export interface ExporterRow {
  /** pipeline/exporter id */
  readonly name: string;
  readonly endpoint: string;
  /** In queueUnit. */
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly queueUnit: 'batches' | 'points' | 'bytes';
  readonly persistent: boolean;
  readonly sentPoints: number;
  readonly lastSuccessAt?: number;
  readonly lastError?: string;
  readonly failedSends: number;
  readonly droppedBatches: number;
  /** The recent push intervals, oldest first. */
  readonly history: readonly ExporterPoint[];
}

/** What the OTel side plugs in; main does not know its internals. */
export interface Exporting {
  readonly routes: readonly ExtraRoute[];
  readonly selfFamilies: () => readonly MetricFamily[];
  readonly status: () => readonly ExporterRow[];
  /** Starts the extensions, the exporters (restoring persistent queues) and the push loops; rejects when one cannot start. */
  start(): Promise<void>;
  /** Stops the push loops, attempting a final flush within the deadline. */
  shutdown(deadlineMs: number): Promise<void>;
}

/** Builds the export side from (its slice of) the configuration. */
export type ExportingFactory<C> = (parts: { readonly config: C; readonly source: SnapshotSource; readonly selfMetrics: SelfMetrics; readonly logger: Logger }) => Exporting;
