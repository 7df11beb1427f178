// Keeps a repeated message (same level, text and fields) to one line per
// interval: a broken shim scraped every 15 s, or a missing root retried every
// 5 s, should not bury everything else. The line that gets through after a
// quiet period carries `suppressed=N`, the number of copies not written.

import { jsonText } from './format.ts';

export interface RateLimitOptions {
  /** At most one line per key within this many milliseconds. */
  readonly intervalMs: number;
}

/** Keys remembered at most; the least recently seen are forgotten first. */
const MAX_KEYS = 10_000;

interface Entry {
  lastWritten: number;
  suppressed: number;
}

type Verdict = { readonly write: false } | { readonly write: true; readonly suppressed: number };

export class RateLimiter {
  readonly #interval: number;
  // Map order is recency order: an entry is re-inserted whenever it is seen.
  readonly #entries = new Map<string, Entry>();

  constructor(options: RateLimitOptions) {
    this.#interval = options.intervalMs;
  }

  check(level: string, msg: string, fields: Readonly<Record<string, unknown>>, now: number): Verdict {
    const key = this.#key(level, msg, fields);
    const entry = this.#entries.get(key);
    this.#entries.delete(key);
    if (entry && now - entry.lastWritten < this.#interval) {
      entry.suppressed++;
      this.#entries.set(key, entry);
      return { write: false };
    }
    const suppressed = entry?.suppressed ?? 0;
    this.#entries.set(key, { lastWritten: now, suppressed: 0 });
    if (this.#entries.size > MAX_KEYS) this.#entries.delete(this.#entries.keys().next().value!);
    return { write: true, suppressed };
  }

  #key(level: string, msg: string, fields: Readonly<Record<string, unknown>>): string {
    const parts = [level, msg];
    for (const k of Object.keys(fields).sort()) {
      const v = fields[k];
      parts.push(k, v instanceof Error ? v.message : typeof v === 'string' ? v : jsonText(v));
    }
    return JSON.stringify(parts);
  }
}
