// A bounded history: the status page's charts keep the last HISTORY_LENGTH
// points of each series, dropping the oldest.

/** Points kept per series: at the default 15 s interval, a quarter of an hour. */
const HISTORY_LENGTH = 60;

export function pushBounded<T>(ring: T[], v: T, length = HISTORY_LENGTH): void {
  ring.push(v);
  if (ring.length > length) ring.shift();
}
