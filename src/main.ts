// Wiring and lifecycle: the receiver (discovery → CRI metadata → scrape) →
// serve / export. Everything is started here and stopped here, in reverse
// order.

import { createApp } from './server/app.ts';
import type { AppDeps } from './server/deps.ts';
import { listen } from './server/http-server.ts';
import type { ExporterRow, ExportingFactory } from './export-contract.ts';
import type { Config } from './components.ts';
import type { Logger } from './log/logger.ts';
import { packageVersion } from './package-info.ts';
import { Receiver } from './receiver/receiver.ts';

export interface Daemon extends Pick<Receiver, 'registry' | 'scraper' | 'history'> {
  readonly url: string;
  readonly address: string;
  /** The exporters' state, as the status page shows it. */
  exporters(): readonly ExporterRow[];
  /** Graceful stop within `deadlineMs` (default: the config's shutdownTimeoutMs). */
  stop(deadlineMs?: number): Promise<void>;
}

/** `extras.demoNote`: a line about the demo for the status page (its churn), when the demo runs. */
export async function startDaemon(config: Config, logger: Logger, exportingFactory?: ExportingFactory<Config>, extras: { readonly demoNote?: string } = {}): Promise<Daemon> {
  const rc = config.receiver;
  const roots = rc.discovery.sandboxRoots;
  const receiver = new Receiver(rc, logger);
  const { registry, scraper, selfMetrics, history, watcher, sync } = receiver;
  const exporting = exportingFactory?.({ config, source: scraper, selfMetrics, logger });
  if (exporting) selfMetrics.addSource(exporting.selfFamilies);

  registry.on('added', (e) => logger.info('sandbox cache: added pod', { pod: e.id, root: e.root }));
  registry.on('removed', (e) => logger.info('sandbox cache: removed pod', { pod: e.id }));

  let listening = false;
  const deps: AppDeps = {
    ...rc, // its server, shim, limits and collectionIntervalMs
    registry,
    source: scraper,
    selfMetrics,
    history,
    roots,
    logger: logger.child({ source: 'http' }),
    version: packageVersion(),
    ...extras,
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
    cri: () => ({ endpoint: rc.cri.runtimeEndpoint, ...sync.status() }),
    watchedRoots: () => watcher.watchedRoots(),
    exporters: () => exporting?.status() ?? [],
    extraRoutes: exporting?.routes ?? [],
  };

  const server = await listen(createApp(deps), rc.server).catch((err: unknown) => {
    receiver.cri.close();
    throw err;
  });
  listening = true;
  await receiver.start();
  await exporting?.start().catch(async (err: unknown) => {
    await server.close(0);
    await receiver.stop();
    throw err;
  });
  // Nobody may ask for a while (no Prometheus yet, no pipeline): the daemon scrapes on its own then, so that
  // its scrape health and status page stay current.
  scraper.startIdleLoop(rc.collectionIntervalMs);
  logger.info('kata-monitor listening', { address: server.address, roots: roots.join(','), runtime_endpoint: rc.cri.runtimeEndpoint });

  let stopping: Promise<void> | undefined;
  return {
    url: server.url,
    address: server.address,
    registry,
    scraper,
    history,
    exporters: deps.exporters,
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
        await receiver.stop();
      })();
      return stopping;
    },
  };
}
