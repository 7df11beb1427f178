// What a pipeline sees of an exporter, and the OTLP exporters (`otlp`,
// `otlphttp`): a sending queue (helper/queue.ts) in front of their transport.

import { formsOf, type Forms, type OtlpRequest } from '../requests.ts';
import type { OtlpExporterConfig } from './helper/otlp-settings.ts';
import { ExportQueue, memoryStore, type BatchStore, type ExportQueueOptions, type QueueForm, type QueueStatus } from './helper/queue.ts';

/** One exporter's state, for the self metrics and the status page. */
export interface ExporterStatus {
  /** Component id, e.g. otlp/backend. */
  readonly id: string;
  readonly pipeline: string;
  /** Where it sends or writes (an URL, a path, "log"). */
  readonly endpoint: string;
  /** OTLP exporters: their queue. */
  readonly queue?: QueueStatus;
  /** Points written by exporters without a queue (debug, file). */
  readonly written?: { readonly points: number; readonly failures: number; readonly lastError?: string };
}

export interface Exporter {
  readonly id: string;
  readonly pipeline: string;
  /** What it needs of a push's requests. */
  readonly forms: Forms;
  /** Takes one request; false when it had to drop it. */
  export(request: OtlpRequest): boolean;
  /** Before the first push (a persistent queue reads what the last run left). */
  start(): Promise<void>;
  status(): ExporterStatus;
  /** Delivers or writes what it holds within `withinMs`, then stops; true when nothing was left behind. */
  shutdown(withinMs: number): Promise<boolean>;
}

export interface QueuedExporterOptions extends Pick<ExportQueueOptions, 'transport' | 'logger' | 'now' | 'jitter'> {
  readonly config: OtlpExporterConfig;
  readonly pipeline: string;
  /** Where batches wait, in the form given: a file_storage queue, else memory. */
  readonly store?: (form: QueueForm) => BatchStore;
}

export class QueuedExporter implements Exporter {
  readonly id: string;
  readonly pipeline: string;
  readonly forms: Forms;
  readonly #queue: ExportQueue;
  readonly #endpoint: string;

  constructor(o: QueuedExporterOptions) {
    this.id = o.config.name;
    this.pipeline = o.pipeline;
    // Queued gzipped when compressing (~18 B a point instead of ~350): what lets a queue ride out an outage in little memory.
    const form: QueueForm = { encoding: o.config.encoding, gzip: o.config.compression === 'gzip' };
    this.forms = formsOf(form);
    this.#endpoint = o.config.url;
    this.#queue = new ExportQueue({ ...o, queue: o.config.queue, retry: o.config.retry, store: (o.store ?? memoryStore)(form) });
  }

  export(request: OtlpRequest): boolean {
    return request.points === 0 || this.#queue.enqueue(request);
  }

  async start(): Promise<void> {
    await this.#queue.restore();
  }

  status(): ExporterStatus {
    return { id: this.id, pipeline: this.pipeline, endpoint: this.#endpoint, queue: this.#queue.status() };
  }

  forceFlush(withinMs: number): Promise<boolean> {
    return this.#queue.forceFlush(withinMs);
  }

  shutdown(withinMs: number): Promise<boolean> {
    return this.#queue.shutdown(withinMs);
  }
}
