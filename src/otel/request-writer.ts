// Writes a stream of metrics and data points as OTLP requests of at most
// `max` points each (the batch processor's send_batch_max_size), one
// ExportMetricsServiceRequest per batch: resource, scope, then the metrics,
// a metric cut across requests where a batch fills up (as splitBatches does
// with the object model, and as OTLP allows).

import { ProtobufWriter } from '../wire/protobuf-writer.ts';
import { gzipSync } from 'node:zlib';
import { EncodedRequest, GZIP_LEVEL, type OtelMetricData } from './model.ts';
import { LEN_METRIC, LEN_OUTER, Times, writeMetric, writeResource, writeResourceSchema, writeScope, writeScopeSchema, type MetricFrame } from './otlp-encode.ts';
import type { Resource } from '@opentelemetry/resources';
import type { InstrumentationScope } from '@opentelemetry/core';

/** Requests of a push are alike from one push to the next: start at the last size. */
let sizeHint = 256 * 1024;

/** Which forms of each request to keep: as protobuf, gzipped, or both (exporters differ). */
export interface RequestForms {
  readonly proto: boolean;
  readonly gzip: boolean;
}

export class RequestWriter {
  readonly requests: EncodedRequest[] = [];
  readonly #max: number;
  readonly #forms: RequestForms;
  /** A writer whose bytes were not handed out: the next request is written in it. */
  #spare: ProtobufWriter | undefined;
  readonly #resource: Uint8Array;
  readonly #scope: Uint8Array;
  readonly #scopeTail: Uint8Array;
  readonly #resourceTail: Uint8Array;
  #w: ProtobufWriter | undefined;
  #times = new Times();
  #rmMark = 0;
  #smMark = 0;
  #points = 0;
  #frame: MetricFrame | undefined;
  /** The frame's metric is open in the current request: its marks. */
  #metricMark = -1;
  #dataMark = -1;

  /** `max` <= 0: one request for everything. */
  constructor(resource: Resource, scope: InstrumentationScope, max: number, forms: RequestForms) {
    this.#max = max > 0 ? max : Infinity;
    this.#forms = forms;
    this.#resource = bytesOf((w) => writeResource(w, resource));
    this.#scope = bytesOf((w) => writeScope(w, scope));
    this.#scopeTail = bytesOf((w) => writeScopeSchema(w, scope));
    this.#resourceTail = bytesOf((w) => writeResourceSchema(w, resource));
  }

  /** The request's memo (times, shared attribute blocks): reset with each request. */
  get times(): Times {
    return this.#times;
  }

  /** A metric in the object model (the daemon's own families), cut where batches fill. */
  metric(m: OtelMetricData): void {
    this.end();
    this.#frame = undefined;
    let offset = 0;
    const n = m.dataPoints.length;
    while (offset < n) {
      const w = this.#room();
      const take = Math.min(this.#max - this.#points, n - offset);
      writeMetric(w, this.#times, take === n ? m : ({ ...m, dataPoints: m.dataPoints.slice(offset, offset + take) } as OtelMetricData));
      this.#points += take;
      offset += take;
    }
  }

  /** Starts a metric whose points follow through point(). */
  begin(frame: MetricFrame): void {
    this.end();
    this.#frame = frame;
  }

  /** The writer to put one data point on (as field 1 of the data message). */
  point(): ProtobufWriter {
    const w = this.#room();
    if (this.#metricMark < 0) {
      const f = this.#frame!;
      this.#metricMark = w.open(2, LEN_METRIC);
      w.raw(f.head);
      this.#dataMark = w.open(f.dataField, LEN_METRIC);
    }
    this.#points++;
    return w;
  }

  /** Ends the current metric. */
  end(): void {
    if (this.#metricMark >= 0) {
      const w = this.#w!;
      w.raw(this.#frame!.tail);
      w.end(this.#dataMark, LEN_METRIC);
      w.end(this.#metricMark, LEN_METRIC);
      this.#metricMark = -1;
    }
  }

  /** Ends the last request; `requests` is complete. */
  finish(): EncodedRequest[] {
    this.#close();
    return this.requests;
  }

  /** A request with room for one more point. */
  #room(): ProtobufWriter {
    if (this.#w && this.#points >= this.#max) this.#close();
    if (!this.#w) {
      const w = (this.#w = this.#spare ?? new ProtobufWriter(sizeHint));
      this.#spare = undefined;
      w.pos = 0;
      this.#rmMark = w.open(1, LEN_OUTER);
      w.raw(this.#resource);
      this.#smMark = w.open(2, LEN_OUTER);
      w.raw(this.#scope);
      this.#points = 0;
    }
    return this.#w;
  }

  #close(): void {
    const w = this.#w;
    if (!w) return;
    this.end();
    w.raw(this.#scopeTail);
    w.end(this.#smMark, LEN_OUTER);
    w.raw(this.#resourceTail);
    w.end(this.#rmMark, LEN_OUTER);
    sizeHint = Math.max(64 * 1024, Math.ceil(w.pos * 1.05));
    const raw = w.buf.subarray(0, w.pos);
    const gzip = this.#forms.gzip ? gzipSync(raw, { level: GZIP_LEVEL }) : undefined;
    let proto: Uint8Array | undefined;
    // Kept gzipped only, the protobuf is done with: its buffer serves the next request.
    this.#spare = w;
    if (this.#forms.proto) {
      if (w.pos >= w.buf.length * 0.75) {
        proto = raw;
        this.#spare = undefined;
      } else {
        proto = w.buf.slice(0, w.pos);
      }
    }
    this.requests.push(new EncodedRequest(this.#points, { ...(proto && { proto }), ...(gzip && { gzip }) }));
    this.#w = undefined;
    this.#times = new Times();
  }
}

function bytesOf(write: (w: ProtobufWriter) => void): Uint8Array {
  const w = new ProtobufWriter(256);
  write(w);
  return w.buf.slice(0, w.pos);
}
