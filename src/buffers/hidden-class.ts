// V8 forgets the hidden class of a class whose instances have all died by a
// major GC, and with it every optimized function that relied on it. The hot
// path's per-scrape objects (scanners, writers, body collectors, shim exchanges) all die
// between scrapes, and the daemon asks for a major GC after each scrape, so
// the hot path was optimized anew on every scrape (`--trace-deopt`: "embedded
// weak objects cleared"), at a quarter of a scrape's CPU. Keeping the last
// instance of each such class alive keeps its hidden class.

const kept = new Map<unknown, object>();

/** Keeps `instance` (the newest of its class) alive; it should hold little once its work is done. */
export function keepHiddenClass(instance: object): void {
  kept.set(instance.constructor, instance);
}
