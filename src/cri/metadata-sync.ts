// Fills the registry's CRI metadata (uid, name, namespace) from the container
// runtime, with upstream's timing: a new sandbox is looked up
// firstLookupDelayMs after discovery saw it (the runtime may not list the pod
// yet when the directory appears), and sandboxes still missing metadata are
// retried every resyncIntervalMs.
//
// Differences from upstream, on purpose:
// - one ListPodSandbox call at start(), so the sandboxes that were already
//   running when the daemon started get their labels without waiting and
//   status() says at once whether the runtime is reachable;
// - a failed call is retried at the next interval (upstream stops retrying
//   until the next sandbox appears);
// - each sandbox has its own due time, so one appearing just before a retry
//   is not looked up early; one call answers every pending sandbox anyway.
//
// Nothing here is on the scrape path: readers only read the registry.

import type { SandboxEntry, SandboxRegistry } from '../discovery/registry.ts';
import type { CriClient } from './client.ts';
import { silentLogger, type Logger } from '../log/logger.ts';

export interface MetadataSyncOptions {
  readonly registry: SandboxRegistry;
  readonly cri: Pick<CriClient, 'listReadyPodSandboxes'>;
  readonly firstLookupDelayMs: number;
  readonly resyncIntervalMs: number;
  readonly logger?: Logger;
}

interface Health {
  /** The last ListPodSandbox call succeeded (false before the first one ends). */
  readonly connected: boolean;
  /** ms since epoch of the last successful call. */
  readonly lastSuccessAt?: number;
  /** Message of the last failed call, while the runtime is failing. */
  readonly lastError?: string;
}

export interface MetadataSyncStatus extends Health {
  /** Sandboxes still waiting for metadata. */
  readonly pending: number;
}

export class MetadataSync {
  readonly #opts: MetadataSyncOptions;
  readonly #log: Logger;
  /** Pending sandbox id → when it is next due for a lookup (ms since epoch). */
  readonly #due = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #timerAt = Infinity;
  #inFlight: Promise<void> | undefined;
  #running = false;
  #health: Health = { connected: false };
  /** When the runtime is next asked even with nothing pending, so that its health stays known. */
  #healthAt = Infinity;

  constructor(options: MetadataSyncOptions) {
    this.#opts = options;
    if (!(options.firstLookupDelayMs >= 0)) throw new RangeError(`firstLookupDelayMs must be >= 0, got ${options.firstLookupDelayMs}`);
    if (!(options.resyncIntervalMs > 0)) throw new RangeError(`resyncIntervalMs must be > 0, got ${options.resyncIntervalMs}`);
    this.#log = (options.logger ?? silentLogger).child({ source: 'cri' });
  }

  /** Starts following the registry and makes a first call without waiting for it. */
  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#opts.registry.on('added', this.#onAdded);
    this.#opts.registry.on('removed', this.#onGone);
    this.#opts.registry.on('metadata', this.#onGone);
    // Already running when we start: looked up now, not firstLookupDelayMs later.
    const now = Date.now();
    this.#healthAt = now;
    for (const e of this.#opts.registry.list()) if (!e.metadataKnown) this.#due.set(e.id, now);
    void this.#run();
  }

  /** Stops the timer and waits for a call in flight (bounded by the client's deadline). */
  async stop(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    this.#opts.registry.off('added', this.#onAdded);
    this.#opts.registry.off('removed', this.#onGone);
    this.#opts.registry.off('metadata', this.#onGone);
    this.#clearTimer();
    this.#due.clear();
    await this.#inFlight;
  }

  status(): MetadataSyncStatus {
    return { ...this.#health, pending: this.#due.size };
  }

  /** One lookup now for every pending sandbox (tests, and a manual refresh). */
  syncNow(): Promise<void> {
    if (!this.#running) return Promise.resolve();
    const now = Date.now();
    for (const id of this.#due.keys()) this.#due.set(id, now);
    return this.#run();
  }

  readonly #onAdded = (e: SandboxEntry): void => {
    if (e.metadataKnown) return;
    this.#due.set(e.id, e.discoveredAt + this.#opts.firstLookupDelayMs);
    this.#schedule();
  };

  readonly #onGone = (e: SandboxEntry): void => {
    if (this.#due.delete(e.id)) this.#schedule(); // no call for a sandbox that is gone
  };

  /** Arms the timer for the earliest due sandbox (or health check), unless a call is in flight (it re-arms when done). */
  #schedule(): void {
    if (!this.#running || this.#inFlight) return;
    let next = this.#healthAt;
    for (const at of this.#due.values()) if (at < next) next = at;
    if (next === this.#timerAt) return;
    this.#clearTimer();
    if (next === Infinity) return;
    this.#timerAt = next;
    this.#timer = setTimeout(() => void this.#run(), Math.max(0, next - Date.now())); // #run() clears it
  }

  #clearTimer(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Infinity;
  }

  #run(): Promise<void> {
    if (this.#inFlight) return this.#inFlight;
    this.#clearTimer();
    this.#inFlight = this.#lookup().finally(() => {
      this.#inFlight = undefined;
      // Without pending sandboxes, every 6 resync intervals (30 s by default): cheap, and kata_monitor_cri_up stays true to the runtime.
      this.#healthAt = Date.now() + 6 * this.#opts.resyncIntervalMs;
      this.#schedule();
    });
    return this.#inFlight;
  }

  async #lookup(): Promise<void> {
    const startedAt = Date.now();
    // An answer can only speak for sandboxes that existed when it was asked for.
    const asked = new Set(this.#due.keys());
    const due = [...this.#due].filter(([, at]) => at <= startedAt).map(([id]) => id);
    let pods;
    try {
      pods = await this.#opts.cri.listReadyPodSandboxes();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      if (this.#health.connected || this.#health.lastError === undefined) {
        this.#log.error(`failed to get sandboxes metadata; retrying every ${this.#opts.resyncIntervalMs / 1000} s`, { error: message, pending: this.#due.size });
      } else {
        this.#log.debug('failed to get sandboxes metadata', { error: message, pending: this.#due.size });
      }
      this.#health = { ...this.#health, connected: false, lastError: message };
      this.#postpone(due);
      return;
    }
    if (!this.#health.connected && this.#health.lastError !== undefined) this.#log.info('CRI runtime reachable again');
    this.#health = { connected: true, lastSuccessAt: Date.now() };
    if (!this.#running) return;
    // Every sandbox pending when we asked, due or not: the answer is already here.
    for (const pod of pods) {
      if (!asked.has(pod.id) || !this.#due.has(pod.id)) continue; // a runc pod, one known or removed meanwhile, or one newer than the call
      const { uid, name, namespace } = pod.metadata;
      this.#opts.registry.setMetadata(pod.id, pod.metadata); // emits 'metadata' → no longer pending
      this.#due.delete(pod.id);
      this.#log.debug('synced kata pod', { sandbox: pod.id, 'cri-uid': uid, 'cri-name': name, 'cri-namespace': namespace });
    }
    this.#postpone(due);
    if (this.#due.size > 0) this.#log.debug(`${this.#due.size} sandboxes still miss metadata`, { sandboxes: [...this.#due.keys()] });
  }

  /** Sandboxes that were due and are still pending: next look in one interval. */
  #postpone(ids: readonly string[]): void {
    const at = Date.now() + this.#opts.resyncIntervalMs;
    for (const id of ids) if (this.#due.has(id)) this.#due.set(id, at);
  }
}
