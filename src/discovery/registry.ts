import { EventEmitter } from 'node:events';

/** What the container manager told us about a pod; empty strings until known. */
export interface CriMetadata {
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
}

export const PENDING_METADATA: CriMetadata = Object.freeze({ uid: '', name: '', namespace: '' });

export interface SandboxEntry {
  readonly id: string;
  /** The sandbox root the directory was found under (e.g. /run/vc/sbs). */
  readonly root: string;
  readonly metadata: CriMetadata;
  /** False until CRI returned this pod; the sync loop retries these. */
  readonly metadataKnown: boolean;
  /** ms since epoch when discovery first saw the directory. */
  readonly discoveredAt: number;
}

export interface RegistryEvents {
  added: [SandboxEntry];
  removed: [SandboxEntry];
  metadata: [SandboxEntry];
}

/**
 * The single source of truth for which sandboxes exist. Discovery adds and
 * removes, the CRI sync fills metadata, the scraper and the HTTP routes read.
 * A sandbox present under both roots is kept once, with the Go-runtime root
 * preferred (upstream resolves the socket in that order).
 */
export class SandboxRegistry extends EventEmitter<RegistryEvents> {
  readonly #entries = new Map<string, SandboxEntry>();
  /** Roots each id was seen under, so removal from one root keeps the other. */
  readonly #roots = new Map<string, string[]>();
  readonly #rootOrder: readonly string[];
  #sorted: SandboxEntry[] | undefined;

  constructor(rootOrder: readonly string[] = []) {
    super();
    this.#rootOrder = rootOrder;
  }

  has(id: string): boolean {
    return this.#entries.has(id);
  }

  get(id: string): SandboxEntry | undefined {
    return this.#entries.get(id);
  }

  /** Entries sorted by id: the stable order /metrics and /sandboxes use. */
  list(): readonly SandboxEntry[] {
    this.#sorted ??= [...this.#entries.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    return this.#sorted;
  }

  /** Returns true when the id is new. */
  add(id: string, root: string, now: number = Date.now()): boolean {
    const roots = this.#roots.get(id) ?? [];
    if (!roots.includes(root)) {
      roots.push(root);
      roots.sort((a, b) => this.#rank(a) - this.#rank(b));
      this.#roots.set(id, roots);
    }
    const existing = this.#entries.get(id);
    if (existing) {
      if (existing.root !== roots[0]) this.#set({ ...existing, root: roots[0]! });
      return false;
    }
    const entry: SandboxEntry = { id, root: roots[0]!, metadata: PENDING_METADATA, metadataKnown: false, discoveredAt: now };
    this.#set(entry);
    this.emit('added', entry);
    return true;
  }

  /** Removes the id as seen under `root` (or under every root when omitted). Returns true when it is gone. */
  remove(id: string, root?: string): boolean {
    const entry = this.#entries.get(id);
    if (!entry) return false;
    const roots = (this.#roots.get(id) ?? []).filter((r) => root !== undefined && r !== root);
    if (roots.length > 0) {
      this.#roots.set(id, roots);
      if (entry.root !== roots[0]) this.#set({ ...entry, root: roots[0]! });
      return false;
    }
    this.#roots.delete(id);
    this.#entries.delete(id);
    this.#sorted = undefined;
    this.emit('removed', entry);
    return true;
  }

  /** The ids seen under `root`, in the order they were first seen. */
  idsUnder(root: string): string[] {
    return [...this.#roots].filter(([, roots]) => roots.includes(root)).map(([id]) => id);
  }

  /** Drops every sandbox found under `root` (the root itself went away); returns those now gone from every root. */
  removeRoot(root: string): string[] {
    return this.idsUnder(root).filter((id) => this.remove(id, root));
  }

  setMetadata(id: string, metadata: CriMetadata): void {
    const entry = this.#entries.get(id);
    if (!entry) return;
    const next = { ...entry, metadata: { uid: metadata.uid, name: metadata.name, namespace: metadata.namespace }, metadataKnown: true };
    this.#set(next);
    this.emit('metadata', next);
  }

  #set(entry: SandboxEntry): void {
    this.#entries.set(entry.id, entry);
    this.#sorted = undefined;
  }

  #rank(root: string): number {
    const i = this.#rootOrder.indexOf(root);
    return i < 0 ? this.#rootOrder.length : i;
  }
}
