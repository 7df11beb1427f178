import type { SandboxRegistry } from '../discovery/registry.ts';
import type { ServerConfig, ShimConfig } from '../config/types.ts';
import type { Logger } from '../log/logger.ts';
import type { SelfMetrics } from '../scrape/self-metrics.ts';
import type { SnapshotSource } from '../scrape/snapshot.ts';
import type { ExporterStatus, ExtraRoute } from '../export-contract.ts';

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
  readonly roots: readonly string[];
  readonly server: ServerConfig;
  readonly shim: ShimConfig;
  readonly logger: Logger;
  readonly version: string;
  readonly readiness: () => Readonly<Record<string, HealthCheck>>;
  readonly cri: () => { readonly endpoint: string; readonly connected: boolean; readonly lastError?: string; readonly pending: number };
  readonly watchedRoots: () => readonly string[];
  readonly exporters: () => readonly ExporterStatus[];
  readonly extraRoutes?: readonly ExtraRoute[];
}
