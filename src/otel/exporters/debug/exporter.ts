// The debug exporter, as the collector's (README.md): what a push would
// send, in the log, in the collector's text layouts (text.ts), sampled as the
// collector samples.

import type { Logger } from '../../../log/logger.ts';
import { formsOf, type OtlpRequest } from '../../requests.ts';
import type { Exporter, ExporterStatus } from '../exporter.ts';
import type { DebugConfig } from './config.ts';
import { detailedText, normalText } from './text.ts';

export class DebugExporter implements Exporter {
  readonly id: string;
  readonly pipeline: string;
  readonly forms = formsOf({ encoding: 'points' });
  readonly #config: DebugConfig;
  readonly #log: Logger;
  /** Where detailed output goes (a block of lines; stderr in the daemon). */
  readonly #write: (text: string) => void;
  #second = 0;
  #inSecond = 0;
  #requests = 0;
  #points = 0;
  readonly #now: () => number;

  constructor(config: DebugConfig, pipeline: string, logger: Logger, write: (text: string) => void, now: () => number = Date.now) {
    this.id = config.name;
    this.pipeline = pipeline;
    this.#config = config;
    this.#log = logger;
    this.#write = write;
    this.#now = now;
  }

  export(request: OtlpRequest): boolean {
    this.#requests++;
    this.#points += request.points;
    if (!this.#sampled()) return true;
    const rm = request.objects();
    const metrics = rm.scopeMetrics.reduce((n, sm) => n + sm.metrics.length, 0);
    // `request` (the running count) keeps each line distinct: the log writes an identical line once a minute at most, and every push must show.
    this.#log.info('MetricsExporter', { resource_metrics: 1, metrics, data_points: request.points, request: this.#requests });
    if (this.#config.verbosity === 'normal') this.#write(normalText(rm));
    else if (this.#config.verbosity === 'detailed') this.#write(detailedText(rm));
    return true;
  }

  #sampled(): boolean {
    const second = Math.floor(this.#now() / 1000);
    if (second !== this.#second) {
      this.#second = second;
      this.#inSecond = 0;
    }
    const n = ++this.#inSecond;
    const { samplingInitial, samplingThereafter } = this.#config;
    return n <= samplingInitial || (n - samplingInitial) % samplingThereafter === 0;
  }

  async start(): Promise<void> {}

  status(): ExporterStatus {
    return { id: this.id, pipeline: this.pipeline, endpoint: 'log', written: { requests: this.#requests, points: this.#points, failures: 0 } };
  }

  async shutdown(): Promise<boolean> {
    return true;
  }
}
