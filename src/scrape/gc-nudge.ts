// Each fan-out leaves garbage in V8's old generation (what lived through the
// scrape: sockets, promises, the merge), which V8 by its own heuristics
// collects only once the heap has grown well past its live size. The big
// buffers are freed explicitly when a snapshot's last reader is done
// (Scraper.read), which also asks for a major GC a moment later, off the
// request's path: that keeps the rest (answers written, pushes translated)
// near one scrape's worth. Measured at 300 sandboxes (`npm run bench`): peak RSS
// 139 MiB with the nudge, 174 MiB without; it costs one major GC (~20-30 ms
// at 300 sandboxes) per answer. Collecting only after 6 MiB of growth saved
// little CPU and gave back ~10 MiB of peak, so it is not done.

import v8 from 'node:v8';
import vm from 'node:vm';

type GcFn = (options?: { type?: 'major' | 'minor'; execution?: 'sync' | 'async' }) => void | Promise<void>;

let gcFn: GcFn | undefined | null = null;

function gc(): GcFn | undefined {
  if (gcFn === null) {
    try {
      // The flag exposes `gc` to contexts created from now on.
      v8.setFlagsFromString('--expose-gc');
      gcFn = vm.runInNewContext('gc') as GcFn;
    } catch {
      gcFn = undefined;
    }
  }
  return gcFn;
}

let pending: NodeJS.Timeout | undefined;

/** Schedules one major GC `delayMs` from now (coalesced; never keeps the process alive). */
export function nudgeGc(delayMs = 250): void {
  if (pending) return;
  pending = setTimeout(() => {
    pending = undefined;
    void gc()?.({ type: 'major', execution: 'async' });
  }, delayMs);
  pending.unref();
}
