// Wiring and lifecycle: discovery → CRI metadata → scrape → serve / export.
// Everything is started here and stopped here, in reverse order.

import { SandboxRegistry } from './discovery/registry.ts';
import { SandboxWatcher } from './discovery/watcher.ts';
import { CriClient } from './cri/client.ts';
import { MetadataSync } from './cri/metadata-sync.ts';
import { Scraper } from './scrape/scraper.ts';
import { SelfMetrics, gauge } from './scrape/self-metrics.ts';
import { createApp } from './server/app.ts';
import type { AppDeps } from './server/deps.ts';
import { listen, type RunningServer } from './server/http-server.ts';
import type { ExportingFactory } from './export-contract.ts';
import type { Config } from './config/types.ts';
import type { Logger } from './log/logger.ts';
import { packageVersion } from './package-info.ts';

export interface Daemon {
  readonly url: string;
  readonly address: string;
  readonly registry: SandboxRegistry;
  readonly scraper: Scraper;
  /** Graceful stop within `deadlineMs` (default: the config's shutdownTimeoutMs). */
  stop(deadlineMs?: number): Promise<void>;
}

export async function startDaemon(config: Config, logger: Logger, exportingFactory?: ExportingFactory): Promise<Daemon> {
  const rc = config.receiver;
  const roots = rc.discovery.sandboxRoots;
  const registry = new SandboxRegistry(roots);
  const watcher = new SandboxWatcher({ registry, roots, rootRetryIntervalMs: rc.discovery.rootRetryIntervalMs, logger });
  const cri = new CriClient({ endpoint: rc.cri.runtimeEndpoint, timeoutMs: rc.cri.timeoutMs, logger });
  const sync = new MetadataSync({
    registry,
    cri,
    firstLookupDelayMs: rc.cri.firstLookupDelayMs,
    resyncIntervalMs: rc.cri.resyncIntervalMs,
    logger,
  });
  const selfMetrics = new SelfMetrics();
  const scraper = new Scraper({
    registry,
    roots,
    shim: rc.shim,
    logger: logger.child({ source: 'scrape' }),
    onSnapshot: (s) => selfMetrics.recordSnapshot(s),
  });
  selfMetrics.addSource(() => {
    const c = sync.status();
    return [
      gauge('kata_monitor_cri_up', '1 if the last call to the CRI runtime (ListPodSandbox) succeeded, 0 otherwise.', c.connected ? 1 : 0),
      gauge('kata_monitor_sandboxes_pending_metadata', 'Sandboxes whose pod metadata (cri_* labels) the CRI runtime has not given yet.', c.pending),
    ];
  });
  const exporting = exportingFactory?.({ config, scraper, selfMetrics, logger });
  if (exporting) selfMetrics.addSource(exporting.selfFamilies);

  registry.on('added', (e) => logger.info('sandbox cache: added pod', { pod: e.id, root: e.root }));
  registry.on('removed', (e) => logger.info('sandbox cache: removed pod', { pod: e.id }));

  let listening = false;
  const deps: AppDeps = {
    registry,
    source: scraper,
    selfMetrics,
    roots,
    server: rc.server,
    shim: rc.shim,
    logger: logger.child({ source: 'http' }),
    version: packageVersion(),
    readiness: () => {
      const watched = watcher.watchedRoots();
      const c = sync.status();
      return {
        server: { ok: listening, detail: listening ? `listening on ${rc.server.listenAddress}` : 'not listening yet' },
        discovery: {
          ok: true,
          detail: `${watched.length} of ${roots.length} sandbox roots watched${watched.length < roots.length ? ' (missing ones are retried)' : ''}`,
        },
        cri: { ok: c.connected, informational: true, detail: c.connected ? 'reachable' : (c.lastError ?? 'no answer yet') },
      };
    },
    cri: () => {
      const c = sync.status();
      return { endpoint: rc.cri.runtimeEndpoint, connected: c.connected, pending: c.pending, ...(c.lastError ? { lastError: c.lastError } : {}) };
    },
    watchedRoots: () => watcher.watchedRoots(),
    exporters: () => exporting?.status() ?? [],
    extraRoutes: exporting?.routes ?? [],
  };

  let server: RunningServer;
  try {
    server = await listen(createApp(deps), rc.server);
  } catch (err) {
    cri.close();
    throw err;
  }
  listening = true;
  await watcher.start();
  sync.start();
  exporting?.start();
  logger.info('kata-monitor listening', { address: server.address, roots: roots.join(','), runtime_endpoint: rc.cri.runtimeEndpoint });

  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    address: server.address,
    registry,
    scraper,
    stop(deadlineMs = config.shutdownTimeoutMs) {
      stopping ??= (async () => {
        const until = Date.now() + deadlineMs;
        // In-flight answers complete; the final push gets what time is left.
        const closing = server.close(Math.max(0, deadlineMs / 2));
        // A keep-alive connection whose answer completes after close() began
        // is idle from then on: close it then, not at the end of the grace.
        const idle = setInterval(() => server.server.closeIdleConnections(), 50);
        try {
          await exporting?.shutdown(Math.max(0, until - Date.now()));
          await closing;
        } finally {
          clearInterval(idle);
        }
        listening = false;
        await sync.stop();
        await watcher.stop();
        cri.close();
      })();
      return stopping;
    },
  };
}
