// Each exporter's recent push intervals, for the status page: sampled once per collection
// interval, as queue depth and what was sent, failed and dropped since the sample before.

import type { ExporterPoint, ExporterRow } from '../export-contract.ts';
import { pushBounded } from '../scrape/ring.ts';

type Totals = Omit<ExporterRow, 'history'>;

export class ExporterHistory {
  readonly #rings = new Map<string, ExporterPoint[]>();
  readonly #last = new Map<string, Totals>();
  readonly #rows: () => readonly Totals[];
  readonly #now: () => number;
  #timer: NodeJS.Timeout | undefined;

  constructor(rows: () => readonly Totals[], now: () => number = Date.now) {
    this.#rows = rows;
    this.#now = now;
  }

  start(intervalMs: number): void {
    this.#timer = setInterval(() => this.sample(), intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  sample(): void {
    const at = this.#now();
    for (const r of this.#rows()) {
      const before = this.#last.get(r.name);
      let ring = this.#rings.get(r.name);
      if (!ring) this.#rings.set(r.name, (ring = []));
      pushBounded(ring, {
        at,
        queueDepth: r.queueDepth,
        sentPoints: r.sentPoints - (before?.sentPoints ?? 0),
        failedSends: r.failedSends - (before?.failedSends ?? 0),
        droppedBatches: r.droppedBatches - (before?.droppedBatches ?? 0),
      });
      this.#last.set(r.name, r);
    }
  }

  of(name: string): readonly ExporterPoint[] {
    return this.#rings.get(name) ?? [];
  }
}
