// The protobuf sink: ExportMetricsServiceRequest messages (field numbers
// from proto/opentelemetry/proto/**), written as the walk goes, one request
// per batch. Label values are copied from the body as they are when plain
// ASCII; each sandbox's attributes are one pre-encoded block. Requests are
// gzipped (level 1) as they are closed when the exporters want that, and
// only the forms asked for are kept.

import { gzipSync } from 'node:zlib';
import type { Resource } from '@opentelemetry/resources';
import type { AttributeValue } from '@opentelemetry/api';
import { ProtobufWriter, WIRE_I64, WIRE_LEN, WIRE_VARINT } from '../../wire/protobuf-writer.ts';
import { unescapeLabelValue } from '../../exposition/label-block.ts';
import { GZIP_LEVEL, type Scope } from '../requests.ts';
import { isOurLabel, type MetricHead, type MetricKind, type OtlpSink, type SandboxAttributes } from './sink.ts';

/** One closed request: plain and/or gzipped protobuf, and its data points. */
export interface ProtoRequest {
  readonly points: number;
  readonly proto?: Uint8Array;
  readonly gzip?: Uint8Array;
}

// Bytes reserved for the length of each kind of message, what it usually
// needs (a wrong guess costs moving that message's content): the request-wide
// ones hold megabytes, a metric up to megabytes, a data point ~250 bytes.
const LEN_OUTER = 4;
const LEN_METRIC = 3;
const LEN_POINT = 2;

const DATA_FIELD: Readonly<Record<MetricKind, number>> = { gauge: 5, sum: 7, histogram: 9, summary: 11 };

/**
 * Pushes are alike: a request starts in a buffer the size of the largest of
 * the last push (the last request of a push is usually the smallest), so
 * that it is neither grown nor copied out of a buffer it barely fills.
 */
let sizeHint = 256 * 1024;

export class ProtoSink implements OtlpSink {
  readonly #forms: { readonly proto: boolean; readonly gzip: boolean };
  readonly #requests: ProtoRequest[] = [];
  readonly #resource: Uint8Array;
  readonly #scope: Uint8Array;
  /** Each sandbox's attributes as KeyValues of fields 7 and 9. */
  readonly #blocks = new WeakMap<SandboxAttributes, { readonly f7: Uint8Array; readonly f9: Uint8Array }>();
  readonly #times = new Map<number, [number, number]>();
  #w: ProtobufWriter | undefined;
  /** A writer whose bytes were not handed out: the next request is written in it. */
  #spare: ProtobufWriter | undefined;
  #rmMark = 0;
  #smMark = 0;
  #points = 0;
  /** The largest request of this push so far, with 5 % to spare. */
  #largest = 0;
  #metric: { readonly head: Uint8Array; readonly field: number; readonly tail: Uint8Array } | undefined;
  #metricMark = -1;
  #dataMark = -1;

  constructor(resource: Resource, scope: Scope, forms: { readonly proto: boolean; readonly gzip: boolean }) {
    this.#forms = forms;
    this.#resource = bytesOf((w) => {
      const m = w.open(1);
      for (const [k, v] of Object.entries(resource.attributes)) if (v !== undefined) writeKeyValue(w, 1, k, v);
      w.end(m);
    });
    this.#scope = bytesOf((w) => {
      const m = w.open(1);
      w.tag(1, WIRE_LEN);
      w.string(scope.name);
      if (scope.version) {
        w.tag(2, WIRE_LEN);
        w.string(scope.version);
      }
      w.end(m);
    });
  }

  begin(m: MetricHead): void {
    this.end();
    const h = new ProtobufWriter(128);
    h.tag(1, WIRE_LEN);
    h.string(m.name);
    if (m.description) {
      h.tag(2, WIRE_LEN);
      h.string(m.description);
    }
    const t = new ProtobufWriter(8);
    if (m.kind === 'sum' || m.kind === 'histogram') {
      t.tag(2, WIRE_VARINT);
      t.varint(2); // AGGREGATION_TEMPORALITY_CUMULATIVE
    }
    if (m.kind === 'sum') {
      t.tag(3, WIRE_VARINT);
      t.varint(1); // is_monotonic
    }
    this.#metric = { head: h.bytes(), field: DATA_FIELD[m.kind], tail: t.bytes() };
  }

  number(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, value: number, _vs?: number, _ve?: number): void {
    const w = this.#point();
    const mark = w.open(1, LEN_POINT);
    this.#stamps(w, startMs, timeMs);
    w.tag(4, WIRE_I64);
    w.double(value);
    writeLabels(w, 7, b, ls, le);
    w.raw(this.#block(sb).f7);
    w.end(mark, LEN_POINT);
  }

  histogram(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, bounds: readonly number[], counts: readonly number[], n: number): void {
    const w = this.#point();
    const mark = w.open(1, LEN_POINT);
    this.#stamps(w, startMs, timeMs);
    w.tag(4, WIRE_I64);
    w.count(count);
    w.tag(5, WIRE_I64);
    w.double(sum);
    const c = w.open(6);
    for (let j = 0; j <= n; j++) w.count(counts[j]!);
    w.end(c);
    if (n > 0) {
      const e = w.open(7);
      for (let j = 0; j < n; j++) w.double(bounds[j]!);
      w.end(e);
    }
    writeLabels(w, 9, b, ls, le);
    w.raw(this.#block(sb).f9);
    w.end(mark, LEN_POINT);
  }

  summary(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, quantiles: readonly number[], values: readonly number[], n: number): void {
    const w = this.#point();
    const mark = w.open(1, LEN_POINT);
    this.#stamps(w, startMs, timeMs);
    w.tag(4, WIRE_I64);
    w.count(count);
    w.tag(5, WIRE_I64);
    w.double(sum);
    for (let j = 0; j < n; j++) {
      const q = w.open(6);
      w.tag(1, WIRE_I64);
      w.double(quantiles[j]!);
      w.tag(2, WIRE_I64);
      w.double(values[j]!);
      w.end(q);
    }
    writeLabels(w, 7, b, ls, le);
    w.raw(this.#block(sb).f7);
    w.end(mark, LEN_POINT);
  }

  end(): void {
    if (this.#metricMark < 0) return;
    const w = this.#w!;
    w.raw(this.#metric!.tail);
    w.end(this.#dataMark, LEN_METRIC);
    w.end(this.#metricMark, LEN_METRIC);
    this.#metricMark = -1;
  }

  cut(): void {
    const w = this.#w;
    if (!w) return;
    this.end();
    w.end(this.#smMark, LEN_OUTER);
    w.end(this.#rmMark, LEN_OUTER);
    this.#largest = Math.max(this.#largest, Math.ceil(w.pos * 1.05));
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
    this.#requests.push({ points: this.#points, ...(proto && { proto }), ...(gzip && { gzip }) });
    this.#w = undefined;
  }

  /** Closes the last request; the requests written. */
  finish(): ProtoRequest[] {
    this.cut();
    if (this.#largest > 0) sizeHint = Math.max(64 * 1024, this.#largest);
    return this.#requests;
  }

  /** The writer to put one data point on (field 1 of the metric's data), the request and metric opened as needed. */
  #point(): ProtobufWriter {
    let w = this.#w;
    if (!w) {
      w = this.#w = this.#spare ?? new ProtobufWriter(Math.max(sizeHint, this.#largest));
      this.#spare = undefined;
      w.pos = 0;
      this.#rmMark = w.open(1, LEN_OUTER);
      w.raw(this.#resource);
      this.#smMark = w.open(2, LEN_OUTER);
      w.raw(this.#scope);
      this.#points = 0;
    }
    if (this.#metricMark < 0) {
      const m = this.#metric!;
      this.#metricMark = w.open(2, LEN_METRIC);
      w.raw(m.head);
      this.#dataMark = w.open(m.field, LEN_METRIC);
    }
    this.#points++;
    return w;
  }

  #stamps(w: ProtobufWriter, startMs: number, timeMs: number): void {
    const s = this.#nanos(startMs);
    w.tag(2, WIRE_I64);
    w.fixed64(s[0], s[1]);
    const t = this.#nanos(timeMs);
    w.tag(3, WIRE_I64);
    w.fixed64(t[0], t[1]);
  }

  /** Nanoseconds since epoch of a time in ms, as fixed64's two 32-bit words. */
  #nanos(ms: number): [number, number] {
    let words = this.#times.get(ms);
    if (!words) {
      const ns = BigInt.asUintN(64, BigInt(Math.round(ms)) * 1_000_000n);
      this.#times.set(ms, (words = [Number(ns & 0xffffffffn), Number(ns >> 32n)]));
    }
    return words;
  }

  #block(sb: SandboxAttributes): { readonly f7: Uint8Array; readonly f9: Uint8Array } {
    let b = this.#blocks.get(sb);
    if (!b) {
      const keyValues = (field: number): Uint8Array => bytesOf((w) => {
        for (const [k, v] of sb.pairs) writeKeyValue(w, field, k, v);
      });
      this.#blocks.set(sb, (b = { f7: keyValues(7), f9: keyValues(9) }));
    }
    return b;
  }
}

/** A KeyValue of `field`: key and an AnyValue. */
export function writeKeyValue(w: ProtobufWriter, field: number, key: string, v: AttributeValue): void {
  const mark = w.open(field);
  w.tag(1, WIRE_LEN);
  w.string(key);
  const vm = w.open(2);
  if (typeof v === 'string') {
    w.tag(1, WIRE_LEN);
    w.string(v);
  } else if (typeof v === 'boolean') {
    w.tag(2, WIRE_VARINT);
    w.varint(v ? 1 : 0);
  } else if (typeof v === 'number') {
    if (Number.isSafeInteger(v)) {
      w.tag(3, WIRE_VARINT);
      w.varint(v);
    } else {
      w.tag(4, WIRE_I64);
      w.double(v);
    }
  } else if (Array.isArray(v)) {
    w.tag(1, WIRE_LEN);
    w.string(v.join(','));
  }
  w.end(vm);
  w.end(mark);
}

/**
 * A point's own labels (b[s, e), canonical, those ours do not replace) as
 * KeyValues of `field`. Values are copied as they are (UTF-8, checked by the
 * scan) unless they hold an escape; those go through a string, unescaped.
 * Walked inline rather than with a callback per label: this runs for every
 * label of every point.
 */
function writeLabels(w: ProtobufWriter, field: number, b: Buffer, s: number, e: number): void {
  let i = s;
  while (i < e) {
    const ns = i;
    while (b[i] !== 61 /* = */) i++;
    const ne = i;
    const vs = i + 2;
    i = vs;
    let escaped = false;
    while (b[i] !== 34 /* " */) {
      if (b[i] === 92 /* \ */) {
        escaped = true;
        i++;
      }
      i++;
    }
    const ve = i;
    i += 2; // the quote and the comma
    if (isOurLabel(b, ns, ne)) continue;
    if (escaped) {
      writeKeyValue(w, field, b.toString('latin1', ns, ne), unescapeLabelValue(b, vs, ve));
      continue;
    }
    const nl = ne - ns;
    const vl = ve - vs;
    const any = 1 + varintSize(vl) + vl;
    const kv = 1 + varintSize(nl) + nl + 1 + varintSize(any) + any;
    w.ensure(kv + 6);
    w.tag(field, WIRE_LEN);
    w.varint(kv);
    w.tag(1, WIRE_LEN);
    w.varint(nl);
    copyInto(w, b, ns, ne);
    w.tag(2, WIRE_LEN);
    w.varint(any);
    w.tag(1, WIRE_LEN);
    w.varint(vl);
    copyInto(w, b, vs, ve);
  }
}

function copyInto(w: ProtobufWriter, b: Buffer, s: number, e: number): void {
  const out = w.buf;
  let o = w.pos;
  for (let k = s; k < e; k++) out[o++] = b[k]!;
  w.pos = o;
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function bytesOf(write: (w: ProtobufWriter) => void): Uint8Array {
  const w = new ProtobufWriter(256);
  write(w);
  return w.buf.slice(0, w.pos);
}
