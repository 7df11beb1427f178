import type { SandboxRegistry } from '../discovery/registry.ts';
import type { ServerConfig } from './config.ts';
import type { ShimConfig } from '../shim/client.ts';
import type { Logger } from '../log/logger.ts';
import type { SelfMetrics } from '../scrape/self-metrics.ts';
import type { SnapshotSource } from '../scrape/snapshot.ts';
import type { ScrapeHistory } from '../scrape/history.ts';
import type { ScanLimits } from '../exposition/scan.ts';
import type { ExporterRow, ExtraRoute } from '../export-contract.ts';

export interface HealthCheck {
  readonly ok: boolean;
  readonly detail: string;
  /** A failing check that does not make the daemon unready (e.g. CRI). */
  readonly informational?: boolean;
}

/** What the HTTP layer reads; every stage below it is reached through here. */
export interface AppDeps {
  readonly registry: SandboxRegistry;
  readonly source: SnapshotSource;
  readonly selfMetrics: SelfMetrics;
  /** The recent scrapes, for the status page's charts. */
  readonly history: ScrapeHistory;
  readonly roots: readonly string[];
  readonly server: ServerConfig;
  readonly shim: ShimConfig;
  /** What a sandbox's body may bring, shown on the status page. */
  readonly limits: ScanLimits;
  /** How often the idle loop scrapes and the pipelines push. */
  readonly collectionIntervalMs: number;
  /** The demo's churn, said on the status page when the demo runs. */
  readonly demoNote?: string;
  readonly logger: Logger;
  readonly version: string;
  readonly readiness: () => Readonly<Record<string, HealthCheck>>;
  readonly cri: () => { readonly endpoint: string; readonly connected: boolean; readonly lastError?: string; readonly pending: number };
  readonly watchedRoots: () => readonly string[];
  readonly exporters: () => readonly ExporterRow[];
  readonly extraRoutes?: readonly ExtraRoute[];
}
