// The push loop of one `service.pipelines` entry: every interval, read a
// snapshot, walk it once into the forms its exporters need, and hand each
// request to every exporter. Pushes never overlap; a slow one delays the next.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log/logger.ts';
import type { SnapshotSource } from '../scrape/snapshot.ts';
import type { Exporter } from './exporters/exporter.ts';
import { NO_FORMS, unionForms, type Forms } from './requests.ts';
import { encodeSnapshot } from './translate/encode.ts';
import type { Plan, Translator } from './translate/walk.ts';

export interface PipelineOptions {
  readonly name: string;
  readonly plan: Plan;
  readonly exporters: readonly Exporter[];
  readonly source: SnapshotSource;
  /** Shared by every pipeline and the pull endpoints: start times advance once per scrape. */
  readonly translator: Translator;
  readonly intervalMs: number;
  readonly logger: Logger;
}

export interface PushResult {
  readonly at: number;
  readonly durationMs: number;
  readonly dataPoints: number;
  readonly requests: number;
  readonly errors: readonly string[];
}

export class Pipeline {
  readonly name: string;
  readonly exporters: readonly Exporter[];
  readonly #opts: PipelineOptions;
  readonly #forms: Forms;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #current: Promise<PushResult> | undefined;

  constructor(options: PipelineOptions) {
    this.#opts = options;
    this.name = options.name;
    this.exporters = options.exporters;
    this.#forms = options.exporters.reduce((f, e) => unionForms(f, e.forms), NO_FORMS);
  }

  /** Whether it has anything to push to (a pipeline of pull exporters has not). */
  get pushes(): boolean {
    return Object.values(this.#forms).some(Boolean);
  }

  /** Pushes now, then every interval. */
  start(): void {
    if (this.#running || !this.pushes) return;
    this.#running = true;
    this.#tick();
  }

  /** No further pushes; a push in progress completes. */
  stop(): void {
    this.#running = false;
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const started = Date.now();
    void this.push().finally(() => {
      if (!this.#running) return;
      const wait = Math.max(0, started + this.#opts.intervalMs - Date.now());
      this.#timer = setTimeout(() => this.#tick(), wait);
    });
  }

  /** One push; concurrent callers share it. Never rejects. */
  push(): Promise<PushResult> {
    this.#current ??= this.#push().finally(() => {
      this.#current = undefined;
    });
    return this.#current;
  }

  async #push(): Promise<PushResult> {
    const at = Date.now();
    const errors: string[] = [];
    let dataPoints = 0;
    let requests = 0;
    try {
      const { source, translator, plan } = this.#opts;
      // The walk copies what it keeps: the snapshot's bodies are freed once it is done.
      const pushed = await source.read((snapshot) => encodeSnapshot(translator, snapshot, plan, this.#forms), 'push');
      errors.push(...pushed.errors);
      for (const r of pushed.requests) {
        dataPoints += r.points;
        requests++;
        for (const e of this.exporters) e.export(r);
      }
    } catch (e) {
      errors.push(`push not encoded: ${e instanceof Error ? e.message : String(e)}`);
    }
    const result: PushResult = { at, durationMs: Date.now() - at, dataPoints, requests, errors };
    const log = this.#opts.logger;
    if (errors.length > 0) log.warn('OTLP push incomplete', { errors: errors.length, first: errors[0], dataPoints });
    else log.debug('OTLP push queued', { dataPoints, requests, durationMs: result.durationMs });
    return result;
  }

  /** For SIGTERM: stop, push once more, and give the exporters the rest of `withinMs`; true when nothing was left behind. */
  async shutdown(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    const running = this.#running;
    this.stop();
    if (running) await Promise.race([this.push(), sleep(Math.max(0, deadline - Date.now()), undefined, { ref: false })]);
    const results = await Promise.all(this.exporters.map((e) => e.shutdown(Math.max(0, deadline - Date.now()))));
    return results.every(Boolean);
  }
}
