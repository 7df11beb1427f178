// What a push hands its exporters: one OTLP ExportMetricsServiceRequest per
// batch, in each form an exporter of the pipeline asked for, made by one walk
// of the snapshot (translate/walk.ts).

import type { InstrumentationScope } from '@opentelemetry/core';
import type { OtelResourceMetrics } from './translate/points-sink.ts';

/** The instrumentation scope of every metric we export. */
export const SCOPE: InstrumentationScope = { name: 'kata-otel-monitor' };

export type Encoding = 'proto' | 'json';

/** Which forms of a push's requests its exporters need. */
export interface Forms {
  readonly proto: boolean;
  readonly protoGzip: boolean;
  readonly json: boolean;
  readonly jsonGzip: boolean;
  readonly points: boolean;
}

export const NO_FORMS: Forms = { proto: false, protoGzip: false, json: false, jsonGzip: false, points: false };

/** What one exporter needs: its encoding, gzipped or not, or the objects. */
export function formsOf(need: { readonly encoding: Encoding | 'points'; readonly gzip?: boolean }): Forms {
  if (need.encoding === 'points') return { ...NO_FORMS, points: true };
  const gzip = need.gzip === true;
  return need.encoding === 'proto' ? { ...NO_FORMS, proto: !gzip, protoGzip: gzip } : { ...NO_FORMS, json: !gzip, jsonGzip: gzip };
}

export function unionForms(a: Forms, b: Forms): Forms {
  return { proto: a.proto || b.proto, protoGzip: a.protoGzip || b.protoGzip, json: a.json || b.json, jsonGzip: a.jsonGzip || b.jsonGzip, points: a.points || b.points };
}

type RequestForms = { readonly proto?: Uint8Array; readonly protoGzip?: Uint8Array; readonly json?: Uint8Array; readonly jsonGzip?: Uint8Array; readonly objects?: OtelResourceMetrics };

/** One request, in the forms made for it. */
export class OtlpRequest {
  readonly points: number;
  readonly #forms: RequestForms;

  constructor(points: number, forms: RequestForms) {
    this.points = points;
    this.#forms = forms;
  }

  /** The request's bytes in `encoding`, gzipped or not: one of the forms its exporters asked for. */
  bytes(encoding: Encoding, gzip: boolean): Uint8Array {
    const f = this.#forms;
    const bytes = encoding === 'proto' ? (gzip ? f.protoGzip : f.proto) : gzip ? f.jsonGzip : f.json;
    if (bytes) return bytes;
    throw new Error(`internal error: no ${gzip ? 'gzipped ' : ''}${encoding} form of this OTLP request was made`);
  }

  /** The request as the SDK's objects (the debug exporter's form). */
  objects(): OtelResourceMetrics {
    if (!this.#forms.objects) throw new Error('internal error: no object form of this OTLP request was made');
    return this.#forms.objects;
  }
}
