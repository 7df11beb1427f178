// A snapshot's memory, and its one owner: what a fan-out scraped (bodies and
// their index, ~10 MB at 300 sandboxes) lives exactly as long as the
// snapshot's readers. The last one to finish frees it at once rather than
// leaving it to the next major GC, so back-to-back scrapes reuse that memory
// instead of growing the heap by a second snapshot; and a major GC is asked
// for a moment later, off the request's path, for what the readers left on
// the V8 heap (answers written, pushes encoded).
//
// The GC is only asked for when the process was started with --expose-gc
// (the bin, the image and the DaemonSet do): Node documents turning V8 flags
// on after start-up as unsafe. Measured at 300 sandboxes (`npm run bench`):
// see docs/performance.md.

import { freeNow } from '../buffers/free-now.ts';
import { releaseBody } from '../shim/body-collector.ts';
import type { Snapshot } from './snapshot.ts';

type GcFn = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void | Promise<void>;

const gc = (globalThis as { gc?: GcFn }).gc;
let pending: NodeJS.Timeout | undefined;

/**
 * Frees what a snapshot's sandboxes hold (bodies, index) now, and asks for a
 * major GC shortly. Nothing may read them afterwards: they read as empty.
 */
export function releaseSnapshot(snapshot: Snapshot): void {
  for (const sb of snapshot.sandboxes) {
    const scan = sb.scan;
    if (!scan) continue;
    freeNow(scan.rec.buffer);
    releaseBody(scan.body);
  }
  nudgeGc();
}

/** Schedules one major GC `delayMs` from now (coalesced; never keeps the process alive). */
export function nudgeGc(delayMs = 250): void {
  if (!gc || pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    void gc({ type: 'major', execution: 'async' });
  }, delayMs);
  pending.unref();
}
