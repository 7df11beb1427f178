// The protobuf sink: ExportMetricsServiceRequest messages (field numbers
// from proto/opentelemetry/proto/**), one request per batch. Label values are
// copied from the body as they are; each sandbox's attributes are one
// pre-encoded block.

import type { Resource } from '@opentelemetry/resources';
import type { AttributeValue } from '@opentelemetry/api';
import { ProtobufWriter, varintSize, WIRE_I64, WIRE_LEN, WIRE_VARINT } from '../../wire/protobuf-writer.ts';
import { labelNameEnd, labelValueEnd, unescapeLabelValue } from '../../exposition/label-block.ts';
import { SCOPE } from '../requests.ts';
import { ByteSink } from './byte-sink.ts';
import { isOurLabel, memo, type MetricHead, type MetricKind, type OtlpSink, type SandboxAttributes } from './sink.ts';

// Bytes reserved for the length of each kind of message, what it usually
// needs (a wrong guess costs moving that message's content): the request-wide
// ones hold megabytes, a metric up to megabytes, a data point ~250 bytes.
const LEN_OUTER = 4;
const LEN_METRIC = 3;
const LEN_POINT = 2;

/** Per kind: the Metric field of its data, and what follows its points (aggregation_temporality CUMULATIVE, is_monotonic true). */
const KIND: Readonly<Record<MetricKind, { readonly field: number; readonly tail: Uint8Array }>> = {
  gauge: { field: 5, tail: new Uint8Array(0) },
  sum: { field: 7, tail: Uint8Array.of((2 << 3) | WIRE_VARINT, 2, (3 << 3) | WIRE_VARINT, 1) },
  histogram: { field: 9, tail: Uint8Array.of((2 << 3) | WIRE_VARINT, 2) },
  summary: { field: 11, tail: new Uint8Array(0) },
};

export class ProtoSink extends ByteSink<ProtobufWriter> implements OtlpSink {
  readonly #resource: Uint8Array;
  readonly #scope: Uint8Array;
  /** Each sandbox's attributes as KeyValues of fields 7 and 9. */
  readonly #block = memo((sb: SandboxAttributes) => {
    const keyValues = (field: number): Uint8Array => bytesOf((w) => {
      for (const [k, v] of sb.pairs) writeKeyValue(w, field, k, v);
    });
    return { f7: keyValues(7), f9: keyValues(9) };
  });
  /** Nanoseconds since epoch of a time in ms, as fixed64's two 32-bit words. */
  readonly #nanos = memo((ms: number): [number, number] => {
    const ns = BigInt.asUintN(64, BigInt(Math.round(ms)) * 1_000_000n);
    return [Number(ns & 0xffffffffn), Number(ns >> 32n)];
  });
  #rmMark = 0;
  #smMark = 0;
  #metric: { readonly head: Uint8Array; readonly field: number; readonly tail: Uint8Array } | undefined;
  #metricMark = -1;
  #dataMark = -1;
  #pointMark = 0;

  constructor(resource: Resource, forms: { readonly plain: boolean; readonly gzip: boolean }) {
    super('proto', forms, (size) => new ProtobufWriter(size));
    this.#resource = bytesOf((w) => {
      const m = w.open(1);
      for (const [k, v] of Object.entries(resource.attributes)) if (v !== undefined) writeKeyValue(w, 1, k, v);
      w.end(m);
    });
    this.#scope = bytesOf((w) => {
      const m = w.open(1);
      w.tag(1, WIRE_LEN);
      w.string(SCOPE.name);
      w.end(m);
    });
  }

  begin(m: MetricHead): void {
    this.end();
    const head = bytesOf((h) => {
      h.tag(1, WIRE_LEN);
      h.string(m.name);
      if (m.description) {
        h.tag(2, WIRE_LEN);
        h.string(m.description);
      }
    });
    this.#metric = { head, ...KIND[m.kind] };
  }

  number(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, value: number): void {
    const w = this.#point(startMs, timeMs);
    w.tag(4, WIRE_I64);
    w.double(value);
    this.#pointEnd(w, 7, b, ls, le, sb);
  }

  histogram(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, bounds: readonly number[], counts: readonly number[], n: number): void {
    const w = this.#point(startMs, timeMs);
    countSum(w, count, sum);
    const c = w.open(6);
    for (let j = 0; j <= n; j++) w.count(counts[j]!);
    w.end(c);
    if (n > 0) {
      const e = w.open(7);
      for (let j = 0; j < n; j++) w.double(bounds[j]!);
      w.end(e);
    }
    this.#pointEnd(w, 9, b, ls, le, sb);
  }

  summary(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, quantiles: readonly number[], values: readonly number[], n: number): void {
    const w = this.#point(startMs, timeMs);
    countSum(w, count, sum);
    for (let j = 0; j < n; j++) {
      const q = w.open(6);
      w.tag(1, WIRE_I64);
      w.double(quantiles[j]!);
      w.tag(2, WIRE_I64);
      w.double(values[j]!);
      w.end(q);
    }
    this.#pointEnd(w, 7, b, ls, le, sb);
  }

  end(): void {
    if (this.#metricMark < 0) return;
    const w = this.w!;
    w.raw(this.#metric!.tail);
    w.end(this.#dataMark, LEN_METRIC);
    w.end(this.#metricMark, LEN_METRIC);
    this.#metricMark = -1;
  }

  protected openRequest(w: ProtobufWriter): void {
    this.#rmMark = w.open(1, LEN_OUTER);
    w.raw(this.#resource);
    this.#smMark = w.open(2, LEN_OUTER);
    w.raw(this.#scope);
  }

  protected closeRequest(w: ProtobufWriter): void {
    w.end(this.#smMark, LEN_OUTER);
    w.end(this.#rmMark, LEN_OUTER);
  }

  /** Opens a data point (the request and metric as needed) and writes its times; the caller writes its value, then #pointEnd(). */
  #point(startMs: number, timeMs: number): ProtobufWriter {
    const w = this.request();
    if (this.#metricMark < 0) {
      const m = this.#metric!;
      this.#metricMark = w.open(2, LEN_METRIC);
      w.raw(m.head);
      this.#dataMark = w.open(m.field, LEN_METRIC);
    }
    this.#pointMark = w.open(1, LEN_POINT);
    const s = this.#nanos(startMs);
    w.tag(2, WIRE_I64);
    w.fixed64(s[0], s[1]);
    const t = this.#nanos(timeMs);
    w.tag(3, WIRE_I64);
    w.fixed64(t[0], t[1]);
    return w;
  }

  /** Writes the point's attributes (KeyValues of `field`, 7 or 9) and closes it. */
  #pointEnd(w: ProtobufWriter, field: 7 | 9, b: Buffer, ls: number, le: number, sb: SandboxAttributes): void {
    writeLabels(w, field, b, ls, le);
    const block = this.#block(sb);
    w.raw(field === 7 ? block.f7 : block.f9);
    w.end(this.#pointMark, LEN_POINT);
  }
}

/** A histogram's or summary's count (4) and sum (5). */
function countSum(w: ProtobufWriter, count: number, sum: number): void {
  w.tag(4, WIRE_I64);
  w.count(count);
  w.tag(5, WIRE_I64);
  w.double(sum);
}

/** A KeyValue of `field`: key and an AnyValue. */
function writeKeyValue(w: ProtobufWriter, field: number, key: string, v: AttributeValue): void {
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
 * A point's own labels (b[s, e), those ours do not replace) as KeyValues of
 * `field`: copied as they are (UTF-8, checked by the scan) unless escaped.
 * Walked inline, not with a callback: this runs for every label of every point.
 */
function writeLabels(w: ProtobufWriter, field: number, b: Buffer, s: number, e: number): void {
  let i = s;
  while (i < e) {
    const ns = i;
    const ne = labelNameEnd(b, ns, e);
    const vs = ne + 2;
    const ve = labelValueEnd(b, vs, e);
    i = ve + 2; // the quote and the comma
    if (isOurLabel(b, ns, ne)) continue;
    const nl = ne - ns;
    const vl = ve - vs;
    const any = 1 + varintSize(vl) + vl;
    const kv = 1 + varintSize(nl) + nl + 1 + varintSize(any) + any;
    w.ensure(kv + 6);
    const start = w.pos;
    w.tag(field, WIRE_LEN);
    w.varint(kv);
    w.tag(1, WIRE_LEN);
    w.varint(nl);
    const plain = copyPlain(w, b, ns, ne);
    w.tag(2, WIRE_LEN);
    w.varint(any);
    w.tag(1, WIRE_LEN);
    w.varint(vl);
    if (!plain || !copyPlain(w, b, vs, ve)) {
      w.pos = start;
      writeKeyValue(w, field, b.toString('latin1', ns, ne), unescapeLabelValue(b, vs, ve));
    }
  }
}

/** Copies b[s, e) unless it holds an escape (then the position is left as it was and false returned). */
function copyPlain(w: ProtobufWriter, b: Buffer, s: number, e: number): boolean {
  const out = w.buf;
  let o = w.pos;
  for (let k = s; k < e; k++) {
    const c = b[k]!;
    if (c === 92 /* \ */) return false;
    out[o++] = c;
  }
  w.pos = o;
  return true;
}

function bytesOf(write: (w: ProtobufWriter) => void): Uint8Array {
  const w = new ProtobufWriter(256);
  write(w);
  return w.buf.slice(0, w.pos);
}
