// The kata_monitor receiver, assembled: discovery of the sandbox roots, the
// CRI metadata sync, the scraper and the daemon's own metrics. The daemon
// (main.ts) runs it until SIGTERM; the one-shot commands (cli/commands.ts)
// start it, scrape once and stop it.

import { CriClient } from '../cri/client.ts';
import { MetadataSync } from '../cri/metadata-sync.ts';
import { SandboxRegistry } from '../discovery/registry.ts';
import { SandboxWatcher } from '../discovery/watcher.ts';
import type { Logger } from '../log/logger.ts';
import { Scraper } from '../scrape/scraper.ts';
import { gauge, SelfMetrics } from '../scrape/self-metrics.ts';
import { ScrapeHistory } from '../scrape/history.ts';
import type { ReceiverConfig } from './config.ts';

export class Receiver {
  readonly config: ReceiverConfig;
  readonly registry: SandboxRegistry;
  readonly watcher: SandboxWatcher;
  readonly cri: CriClient;
  readonly sync: MetadataSync;
  readonly scraper: Scraper;
  readonly selfMetrics = new SelfMetrics();
  /** The last scrapes of each sandbox and the last fan-outs, for the status page. */
  readonly history = new ScrapeHistory();

  constructor(config: ReceiverConfig, logger: Logger) {
    this.config = config;
    const roots = config.discovery.sandboxRoots;
    this.registry = new SandboxRegistry(roots);
    this.watcher = new SandboxWatcher({ registry: this.registry, roots, rootRetryIntervalMs: config.discovery.rootRetryIntervalMs, logger });
    this.cri = new CriClient({ endpoint: config.cri.runtimeEndpoint, timeoutMs: config.cri.timeoutMs });
    this.sync = new MetadataSync({ ...config.cri, registry: this.registry, cri: this.cri, logger });
    this.scraper = new Scraper({
      registry: this.registry,
      roots,
      shim: config.shim,
      limits: config.limits,
      logger: logger.child({ source: 'scrape' }),
      onSnapshot: (s) => {
        this.selfMetrics.recordSnapshot(s);
        this.history.record(s);
      },
    });
    this.selfMetrics.addSource(() => {
      const c = this.sync.status();
      return [
        gauge('kata_monitor_cri_up', '1 if the last call to the CRI runtime (ListPodSandbox) succeeded, 0 otherwise.', c.connected ? 1 : 0),
        gauge('kata_monitor_sandboxes_pending_metadata', 'Sandboxes whose pod metadata (cri_* labels) the CRI runtime has not given yet.', c.pending),
      ];
    });
  }

  /** Watches the roots (their sandboxes are in the registry when this resolves) and starts the metadata sync. */
  async start(): Promise<void> {
    await this.watcher.start();
    this.sync.start();
  }

  async stop(): Promise<void> {
    this.scraper.stopIdleLoop();
    await this.sync.stop();
    await this.watcher.stop();
    this.cri.close();
  }
}
