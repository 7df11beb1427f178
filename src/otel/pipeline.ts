// The push loop of one `service.pipelines` entry: every interval, take a
// snapshot (joining a fan-out /metrics may already have started), translate,
// run the processors, and hand each resulting request to every exporter's
// queue. Pushes never overlap; a slow one delays the next instead.
//
// When every exporter speaks protobuf (the usual case), the snapshot's index
// is encoded straight to requests (index-encoder.ts); otherwise it goes
// through the object model (translate.ts), which OTLP/JSON needs.

import type { PipelineConfig } from '../config/types.ts';
import type { MetricFamily } from '../exposition/model.ts';
import { silentLogger, type Logger } from '../log/logger.ts';
import { createOtlpExporters, queueFamilies, type ExporterDeps, type ExporterStatus, type OtlpHttpExporter } from './exporters.ts';
import type { IndexEncoder, PushPlan } from './index-encoder.ts';
import { countDataPoints } from './model.ts';
import { applyProcessors, pushPlan } from './processors.ts';
import type { SnapshotMetricProducer } from './producer.ts';

export interface PipelineOptions extends ExporterDeps {
  readonly config: PipelineConfig;
  /** Shared by all pipelines and the pull endpoint: one translation per snapshot. */
  readonly producer: SnapshotMetricProducer;
  readonly collectionIntervalMs: number;
  /** Defaults to the config's otlphttp exporters. */
  readonly exporters?: readonly OtlpHttpExporter[];
  /** The protobuf push path, shared by every pipeline; without it, all go through `producer`. */
  readonly encoder?: IndexEncoder;
}

export interface PushResult {
  readonly at: number;
  readonly durationMs: number;
  readonly dataPoints: number;
  readonly requests: number;
  readonly errors: readonly string[];
}

export interface PipelineStatus {
  readonly name: string;
  readonly running: boolean;
  readonly intervalMs: number;
  readonly pushes: number;
  readonly lastPush?: PushResult;
  readonly exporters: readonly ExporterStatus[];
}

export class Pipeline {
  readonly name: string;
  readonly exporters: readonly OtlpHttpExporter[];
  readonly #opts: PipelineOptions;
  readonly #log: Logger;
  /** Set when this pipeline takes the protobuf push path. */
  readonly #direct: { readonly encoder: IndexEncoder; readonly plan: PushPlan } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #running = false;
  #current: Promise<PushResult> | undefined;
  #pushes = 0;
  #last: PushResult | undefined;

  /** Throws OtlpConfigError for an unusable exporter configuration. */
  constructor(options: PipelineOptions) {
    this.#opts = options;
    this.name = options.config.name;
    this.#log = (options.logger ?? silentLogger).child({ pipeline: options.config.name });
    this.exporters = options.exporters ?? createOtlpExporters(options.config.exporters, { ...options, logger: this.#log, pipeline: options.config.name });
    const encoder = options.encoder;
    if (encoder && this.exporters.length > 0 && this.exporters.every((e) => e.settings.encoding === 'proto')) {
      const gzip = this.exporters.map((e) => e.settings.compression === 'gzip');
      const forms = { gzip: gzip.includes(true), proto: gzip.includes(false) };
      this.#direct = { encoder, plan: { ...pushPlan(options.producer.resource, options.config.processors), forms } };
    }
  }

  /** Pushes now, then every interval. */
  start(): void {
    if (this.#running) return;
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
      const wait = Math.max(0, started + this.#opts.collectionIntervalMs - Date.now());
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
      if (this.#direct) {
        const pushed = await this.#opts.producer.encode(this.#direct.encoder, this.#direct.plan);
        for (const e of pushed.errors) errors.push(e.message);
        for (const r of pushed.requests) {
          dataPoints += r.points;
          requests++;
          for (const ex of this.exporters) ex.export(r);
        }
        return this.#done(at, dataPoints, requests, errors);
      }
      const collected = await this.#opts.producer.collectAll();
      for (const e of collected.errors) errors.push(e instanceof Error ? e.message : String(e));
      const batches = applyProcessors(collected.resourceMetrics, this.#opts.config.processors);
      for (const rm of batches) {
        const n = countDataPoints(rm);
        if (n === 0) continue;
        dataPoints += n;
        requests++;
        for (const ex of this.exporters) ex.export(rm);
      }
    } catch (e) {
      errors.push(e instanceof Error ? e.message : String(e));
    }
    return this.#done(at, dataPoints, requests, errors);
  }

  #done(at: number, dataPoints: number, requests: number, errors: string[]): PushResult {
    const result: PushResult = { at, durationMs: Date.now() - at, dataPoints, requests, errors };
    this.#pushes++;
    this.#last = result;
    if (errors.length > 0) this.#log.warn('OTLP push incomplete', { errors: errors.length, first: errors[0], dataPoints });
    else this.#log.debug('OTLP push queued', { dataPoints, requests, durationMs: result.durationMs });
    return result;
  }

  /**
   * For SIGTERM: stop, push once more, and give the exporters the rest of
   * `withinMs` to deliver. True when everything queued was delivered.
   */
  async shutdown(withinMs: number): Promise<boolean> {
    const deadline = Date.now() + withinMs;
    this.stop();
    const final = this.push();
    await Promise.race([final, sleep(Math.max(0, deadline - Date.now()))]);
    const results = await Promise.all(this.exporters.map((e) => e.shutdown(Math.max(0, deadline - Date.now()))));
    return results.every(Boolean);
  }

  status(): PipelineStatus {
    return {
      name: this.name,
      running: this.#running,
      intervalMs: this.#opts.collectionIntervalMs,
      pushes: this.#pushes,
      ...(this.#last && { lastPush: this.#last }),
      exporters: this.exporters.map((e) => e.status()),
    };
  }

  /** kata_monitor_otlp_* families for this pipeline's exporters. */
  families(): MetricFamily[] {
    return queueFamilies(this.exporters);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}
