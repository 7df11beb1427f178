// The contract between the daemon and its export side (otel/): what main.ts
// asks of it and what the HTTP layer shows of it. Kept apart so that otel/
// and server/, siblings in the data flow, import neither each other nor main.

import type { Config } from './config/types.ts';
import type { MetricFamily } from './exposition/model.ts';
import type { Logger } from './log/logger.ts';
import type { Scraper } from './scrape/scraper.ts';
import type { SelfMetrics } from './scrape/self-metrics.ts';

/** A route the export side adds to the HTTP server (e.g. /otel/metrics). */
export interface ExtraRoute {
  readonly path: string;
  readonly desc: string;
  readonly handler: (req: Request) => Promise<Response>;
}

/** One exporter's state, as the status page shows it. */
export interface ExporterStatus {
  readonly name: string;
  readonly endpoint: string;
  /** In queueUnit: batches waiting (sizer requests) or their data points (sizer items). */
  readonly queueDepth: number;
  readonly queueCapacity: number;
  readonly queueUnit: 'batches' | 'points';
  readonly lastSuccessAt?: number;
  readonly lastError?: string;
  readonly failedSends: number;
  readonly droppedBatches: number;
}

/** What the OTel side plugs in; main does not know its internals. */
export interface Exporting {
  readonly routes: readonly ExtraRoute[];
  readonly selfFamilies: () => readonly MetricFamily[];
  readonly status: () => readonly ExporterStatus[];
  start(): void;
  /** Stops the push loops, attempting a final flush within the deadline. */
  shutdown(deadlineMs: number): Promise<void>;
}

export type ExportingFactory = (parts: { config: Config; scraper: Scraper; selfMetrics: SelfMetrics; logger: Logger }) => Exporting;
