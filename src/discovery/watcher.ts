// Keeps the registry equal to the set of directories directly under each
// sandbox root. chokidar is only the doorbell: any event under a root triggers
// a readdir of that root, and the readdir is the truth. That makes bursts,
// reordered or lost events harmless (a level, not edges), costs one readdir
// per burst (see sync coalescing below), and lets one code path serve the
// initial sync, every event, and the periodic safety-net reconcile.
//
// Decisions:
// - A sandbox is a real directory (lstat semantics): files and symlinks are
//   ignored, even symlinks to directories. Kata creates real directories, and
//   following a link would let any directory on the host pose as a sandbox.
//   (Upstream is inconsistent here: its initial sync skips links, its create
//   event follows them.) A root itself may be a link (/var/run → /run): it is
//   resolved when attached, and re-resolved if it changes.
// - A chokidar watcher exists only while its root exists, with depth 0: one
//   inotify watch per root, none per sandbox (measured in the tests). A root
//   that is missing is looked for again every rootRetryIntervalMs rather than
//   through chokidar's watch-the-parent fallback, which would put a watch on
//   /run for as long as a runtime is not installed.
// - The same tick re-reads every watched root, and compares the root's inode
//   with the one attached, so a missed event or a root replaced behind our
//   back is corrected within one interval.

import { readdir, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { watch, type FSWatcher } from 'chokidar';
import type { SandboxRegistry } from './registry.ts';
import { silentLogger, type Logger } from '../log/logger.ts';

/** What discovery is configured with (receivers.kata_monitor: sandbox_roots, root_retry_interval). */
export interface DiscoveryConfig {
  /** Watched in this order; the first that holds a sandbox's socket wins. */
  readonly sandboxRoots: readonly string[];
  /** How often a missing root is looked for again. */
  readonly rootRetryIntervalMs: number;
}

export interface SandboxWatcherOptions {
  readonly registry: SandboxRegistry;
  /** Absolute paths, e.g. /run/vc/sbs and /run/kata. */
  readonly roots: readonly string[];
  /** How often a missing root is looked for and a watched root re-read (upstream: 60 s). */
  readonly rootRetryIntervalMs: number;
  readonly logger?: Logger;
}

class RootState {
  readonly root: string;
  watcher: FSWatcher | undefined;
  /** The root with symlinks resolved: what chokidar watches and names in events. */
  watchPath: string;
  /** Watched and its initial sync done: what watchedRoots() reports. */
  synced = false;
  /** Identity of the directory we attached to, to notice a replaced root. */
  ino = 0;
  dev = 0;
  /** Bumped on every attach and detach: results of older async work are dropped. */
  generation = 0;
  attaching: Promise<void> | undefined;
  syncing: Promise<void> | undefined;
  /** An event arrived while a sync was running: run once more. */
  dirty = false;
  /** Last reason the root could not be watched; logged at warn only when it changes. */
  reason: string | undefined;
  /** Ends the wait for chokidar's 'ready' when the watcher is closed first (it would never come). */
  cancelReady: (() => void) | undefined;

  constructor(root: string) {
    this.root = root;
    this.watchPath = root;
  }
}

export class SandboxWatcher {
  readonly #registry: SandboxRegistry;
  readonly #states: RootState[];
  readonly #intervalMs: number;
  readonly #log: Logger;
  readonly #closing = new Set<Promise<void>>();
  #timer: NodeJS.Timeout | undefined;
  #started = false;
  #stopped = false;

  constructor(options: SandboxWatcherOptions) {
    this.#registry = options.registry;
    this.#intervalMs = options.rootRetryIntervalMs;
    if (!(this.#intervalMs > 0)) throw new RangeError(`rootRetryIntervalMs must be > 0, got ${this.#intervalMs}`);
    this.#log = (options.logger ?? silentLogger).child({ source: 'discovery' });
    const unique = [...new Set(options.roots.map((r) => path.resolve(r)))];
    this.#states = unique.map((root) => new RootState(root));
  }

  /** Attaches every root that exists and syncs it; resolves when those are in the registry. */
  async start(): Promise<void> {
    if (this.#started) throw new Error('SandboxWatcher.start() called twice: create a new watcher instead');
    this.#started = true;
    await Promise.all(this.#states.map((s) => this.#attach(s)));
    if (this.#stopped) return;
    const missing = this.#states.filter((s) => !s.watcher).map((s) => s.root);
    if (missing.length === this.#states.length && missing.length > 0) {
      this.#log.warn(`no sandbox root available yet; looking again every ${this.#intervalMs / 1000} s`, { roots: missing });
    }
    // Not a reason to keep the process alive on its own: the server is.
    this.#timer = setInterval(() => void this.resync(), this.#intervalMs).unref();
  }

  /** Closes every watcher. The registry is left as it is. */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    // Closing first also ends an attach still waiting for chokidar's 'ready'.
    for (const s of this.#states) this.#closeWatcher(s);
    await Promise.allSettled(this.#states.map((s) => s.attaching));
    await Promise.allSettled(this.#states.map((s) => s.syncing));
    await Promise.allSettled([...this.#closing]);
  }

  /** Roots currently watched, in configuration order (for /readyz). */
  watchedRoots(): string[] {
    return this.#states.filter((s) => s.synced).map((s) => s.root);
  }

  /** Re-reads every watched root now, and looks for the missing ones (the periodic tick); resolves when done. */
  async resync(): Promise<void> {
    // A root still attaching is waited for, not checked: its inode is not known yet.
    await Promise.all(this.#states.map((s) => (s.watcher && !s.attaching ? this.#checkRoot(s) : this.#attach(s))));
  }

  #attach(s: RootState): Promise<void> {
    if (this.#stopped || s.watcher || s.attaching) return s.attaching ?? Promise.resolve();
    s.attaching = this.#doAttach(s).finally(() => {
      s.attaching = undefined;
    });
    return s.attaching;
  }

  async #doAttach(s: RootState): Promise<void> {
    let st;
    let watchPath: string;
    try {
      st = await stat(s.root);
      if (!st.isDirectory()) throw Object.assign(new Error(`${s.root} is not a directory`), { code: 'ENOTDIR' });
      // chokidar with followSymlinks: false reports nothing inside a root that is itself a link.
      watchPath = await realpath(s.root);
    } catch (err) {
      const reason = errorCode(err);
      if (s.reason !== reason) {
        this.#log.warn(`cannot watch sandbox root, looking again every ${this.#intervalMs / 1000} s`, { root: s.root, reason });
      }
      s.reason = reason;
      return;
    }
    if (this.#stopped) return;
    const generation = ++s.generation;
    s.watchPath = watchPath;
    const w = watch(watchPath, {
      depth: 0,
      ignoreInitial: true, // our own readdir does the initial sync
      atomic: false, // no 100 ms hold-back of unlink events
      followSymlinks: false,
      persistent: true,
    });
    w.on('all', (event, p) => this.#onEvent(s, generation, event, p));
    w.on('error', (err) => {
      this.#log.warn('sandbox root watch error; re-reading the root', { root: s.root, error: err });
      if (s.generation === generation) void this.#sync(s);
    });
    s.watcher = w;
    await new Promise<void>((resolve) => {
      s.cancelReady = resolve;
      w.once('ready', resolve);
    });
    s.cancelReady = undefined;
    if (this.#stopped || s.generation !== generation) return;
    s.ino = st.ino;
    s.dev = st.dev;
    await this.#sync(s);
    if (this.#stopped || s.generation !== generation) return;
    if (s.reason !== undefined) this.#log.info('sandbox root available again', { root: s.root });
    else this.#log.debug('watching sandbox root', { root: s.root, sandboxes: this.#registry.idsUnder(s.root).length });
    s.reason = undefined;
    s.synced = true;
  }

  #onEvent(s: RootState, generation: number, event: string, p: string): void {
    if (s.generation !== generation || this.#stopped) return;
    if (p === s.watchPath && (event === 'unlinkDir' || event === 'unlink')) {
      void this.#reattach(s, 'ENOENT');
      return;
    }
    void this.#sync(s);
  }

  /** Re-read the root, detecting a root that was removed or replaced since attach. */
  async #checkRoot(s: RootState): Promise<void> {
    const generation = s.generation;
    let reason: string | undefined;
    try {
      const st = await stat(s.root);
      if (!st.isDirectory()) reason = 'ENOTDIR';
      else if (st.ino !== s.ino || st.dev !== s.dev) reason = 'replaced';
    } catch (err) {
      reason = errorCode(err);
    }
    if (this.#stopped || s.generation !== generation || !s.watcher) return;
    if (reason !== undefined) {
      await this.#reattach(s, reason);
      return;
    }
    await this.#sync(s);
  }

  /**
   * At most one readdir per root in flight; events during it cause exactly one
   * more, so the last read always starts after the last event. A sync joined by
   * a new attach reruns for it (the generation check drops the stale read).
   */
  #sync(s: RootState): Promise<void> {
    if (s.syncing) {
      s.dirty = true;
      return s.syncing;
    }
    s.syncing = (async () => {
      do {
        s.dirty = false;
        await this.#syncOnce(s);
      } while (s.dirty && !this.#stopped);
    })().finally(() => {
      s.syncing = undefined;
    });
    return s.syncing;
  }

  async #syncOnce(s: RootState): Promise<void> {
    if (!s.watcher) return; // detached: the next attach syncs
    const generation = s.generation;
    let present: Set<string>;
    try {
      const entries = await readdir(s.root, { withFileTypes: true });
      present = new Set(entries.filter((e) => e.isDirectory()).map((e) => e.name));
    } catch (err) {
      if (this.#stopped || s.generation !== generation) return;
      const code = errorCode(err);
      if (code === 'ENOENT' || code === 'ENOTDIR') {
        void this.#reattach(s, code);
      } else {
        this.#log.error('cannot read sandbox root; keeping the sandboxes known so far', { root: s.root, error: err });
      }
      return;
    }
    if (this.#stopped || s.generation !== generation) return;
    const known = new Set(this.#registry.idsUnder(s.root));
    for (const id of known) {
      if (present.has(id)) continue;
      this.#registry.remove(id, s.root);
      this.#log.info('sandbox removed', { sandbox: id, root: s.root });
    }
    for (const id of present) {
      if (known.has(id)) continue;
      this.#registry.add(id, s.root);
      this.#log.info('sandbox added', { sandbox: id, root: s.root });
    }
  }

  /** Drops a root that went away or changed, with its sandboxes, and attaches it again: it may already be back (rm -rf && mkdir). */
  #reattach(s: RootState, reason: string): Promise<void> {
    if (!s.watcher) return Promise.resolve();
    s.generation++;
    this.#closeWatcher(s);
    const gone = this.#registry.removeRoot(s.root);
    s.reason = reason;
    this.#log.warn(`sandbox root went away, looking again every ${this.#intervalMs / 1000} s`, {
      root: s.root,
      reason,
      removed: gone.length,
    });
    return this.#attach(s);
  }

  #closeWatcher(s: RootState): void {
    const w = s.watcher;
    if (!w) return;
    s.watcher = undefined;
    s.synced = false;
    s.cancelReady?.();
    const closing = w.close().catch((err: unknown) => {
      this.#log.debug('closing a sandbox root watcher failed', { root: s.root, error: err });
    });
    this.#closing.add(closing);
    void closing.finally(() => this.#closing.delete(closing));
  }
}

function errorCode(err: unknown): string {
  if (err && typeof err === 'object' && 'code' in err && typeof err.code === 'string') return err.code;
  return err instanceof Error ? err.message : String(err);
}
