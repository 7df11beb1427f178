// The recent past of the scrape loop, for the status page's charts: per
// sandbox its last scrapes (duration, series, outcome), and the last
// fan-outs (when, why, how long). Bounded rings; a sandbox that leaves
// takes its history with it.

import { pushBounded as push } from './ring.ts';
import type { Snapshot } from './snapshot.ts';

export interface SandboxPoint {
  readonly at: number;
  readonly durationMs: number;
  readonly samples: number;
  readonly ok: boolean;
}

export interface FanOutPoint {
  readonly startedAt: number;
  readonly durationMs: number;
  readonly reason: Snapshot['reason'];
  readonly sandboxes: number;
  readonly failed: number;
}

export class ScrapeHistory {
  readonly #sandboxes = new Map<string, SandboxPoint[]>();
  readonly #fanOuts: FanOutPoint[] = [];

  record(snapshot: Snapshot): void {
    const present = new Set<string>();
    let failed = 0;
    for (const s of snapshot.sandboxes) {
      present.add(s.sandbox.id);
      if (s.error) failed++;
      let ring = this.#sandboxes.get(s.sandbox.id);
      if (!ring) this.#sandboxes.set(s.sandbox.id, (ring = []));
      push(ring, { at: s.at, durationMs: s.durationMs, samples: s.sampleCount, ok: !s.error });
    }
    for (const id of this.#sandboxes.keys()) if (!present.has(id)) this.#sandboxes.delete(id);
    push(this.#fanOuts, { startedAt: snapshot.startedAt, durationMs: snapshot.finishedAt - snapshot.startedAt, reason: snapshot.reason, sandboxes: snapshot.sandboxes.length, failed });
  }

  sandbox(id: string): readonly SandboxPoint[] {
    return this.#sandboxes.get(id) ?? [];
  }

  fanOuts(): readonly FanOutPoint[] {
    return this.#fanOuts;
  }
}
