// The OTLP/JSON sink: ExportMetricsServiceRequest in the proto3 JSON mapping with OTLP's rules
// (enums as integers, 64-bit integers as strings, non-finite doubles as "NaN"/"Infinity"), one
// request per batch. ~670 bytes a point, nearly all copied: fixed pieces and each sandbox's
// attributes are bytes made once; label names and values, and gauge and sum values, come from the
// body as they are (the text format's escapes \\, \", \n are JSON's too).

import type { Resource } from '@opentelemetry/resources';
import type { AttributeValue } from '@opentelemetry/api';
import { labelNameEnd, labelValueEnd, unescapeLabelValue } from '../../exposition/label-block.ts';
import { SCOPE } from '../requests.ts';
import { ByteSink } from './byte-sink.ts';
import { isOurLabel, memo, type MetricHead, type OtlpSink, type SandboxAttributes } from './sink.ts';

const ascii = (s: string): Uint8Array => Buffer.from(s, 'latin1');

/** What follows a metric's points, by kind. */
const TAIL = {
  gauge: ascii(']}}'),
  sum: ascii('],"aggregationTemporality":2,"isMonotonic":true}}'),
  histogram: ascii('],"aggregationTemporality":2}}'),
  summary: ascii(']}}'),
} as const;

const POINT_OPEN = ascii('{"attributes":[');
const KEY_FIRST = ascii('{"key":"');
const KEY_NEXT = ascii(',{"key":"');
const KEY_VALUE = ascii('","value":{"stringValue":"');
const VALUE_END = ascii('"}}');
const START = ascii('],"startTimeUnixNano":');
const TIME = ascii(',"timeUnixNano":');
const AS_DOUBLE = ascii(',"asDouble":');
const COUNT = ascii(',"count":"');
const SUM = ascii('","sum":');
const BUCKET_COUNTS = ascii(',"bucketCounts":[');
const EXPLICIT_BOUNDS = ascii('],"explicitBounds":[');
const QUANTILE_VALUES = ascii(',"quantileValues":[');
const QUANTILE = ascii('{"quantile":');
const VALUE = ascii(',"value":');
const NAN = ascii('"NaN"');
const INF = ascii('"Infinity"');
const NEG_INF = ascii('"-Infinity"');
const UINT64_MAX = ascii('18446744073709551615');
const REQUEST_END = ascii(']}]}]}');
const COMMA = 44;
const QUOTE = 34;

export class JsonSink extends ByteSink<ByteWriter> implements OtlpSink {
  readonly #head: Uint8Array;
  /** `"<ns>"` of a time in ms. */
  readonly #nanos = memo((ms: number) => ascii(`"${BigInt.asUintN(64, BigInt(Math.round(ms)) * 1_000_000n)}"`));
  readonly #block = memo((sb: SandboxAttributes) => Buffer.from(sb.pairs.map(([k, v]) => keyValue(k, v)).join(',')));
  #metric: { readonly head: Uint8Array; readonly tail: Uint8Array } | undefined;
  /** Points of the open metric in this request (0: the metric is not open here yet). */
  #inMetric = 0;
  #metrics = 0;
  /** The explicit bounds last written, and their JSON (a family's series share theirs). */
  #bounds: number[] = [];
  #boundsJson: Uint8Array = new Uint8Array(0);

  constructor(resource: Resource, forms: { readonly plain: boolean; readonly gzip: boolean }) {
    super('json', forms, (size) => new ByteWriter(size));
    const attrs = Object.entries(resource.attributes)
      .filter((e): e is [string, AttributeValue] => e[1] !== undefined)
      .map(([k, v]) => keyValue(k, v))
      .join(',');
    this.#head = Buffer.from(`{"resourceMetrics":[{"resource":{"attributes":[${attrs}]},"scopeMetrics":[{"scope":${JSON.stringify(SCOPE)},"metrics":[`);
  }

  begin(m: MetricHead): void {
    this.end();
    const head = `{"name":${JSON.stringify(m.name)}${m.description ? `,"description":${JSON.stringify(m.description)}` : ''},"${m.kind}":{"dataPoints":[`;
    this.#metric = { head: Buffer.from(head), tail: TAIL[m.kind] };
  }

  number(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, value: number, vs: number, ve: number): void {
    const w = this.#point(b, ls, le, sb, startMs, timeMs);
    w.put(AS_DOUBLE);
    // A finite value is written as the body has it: Go's shortest form (canonical text) is a JSON number of
    // the same double. Its first byte is checked all the same (a digit, or a minus and a digit).
    const c = b[vs]!;
    if (Number.isFinite(value) && (isDigit(c) || (c === 45 /* - */ && isDigit(b[vs + 1]!)))) w.copy(b, vs, ve);
    else w.double(value);
    w.byte(125 /* } */);
  }

  histogram(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, bounds: readonly number[], counts: readonly number[], n: number): void {
    const w = this.#point(b, ls, le, sb, startMs, timeMs);
    countSum(w, count, sum);
    w.put(BUCKET_COUNTS);
    for (let j = 0; j <= n; j++) {
      if (j > 0) w.byte(COMMA);
      w.byte(QUOTE);
      w.uint(counts[j]!);
      w.byte(QUOTE);
    }
    w.put(EXPLICIT_BOUNDS);
    w.raw(this.#boundsOf(bounds, n));
    w.byte(93 /* ] */);
    w.byte(125 /* } */);
  }

  summary(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, quantiles: readonly number[], values: readonly number[], n: number): void {
    const w = this.#point(b, ls, le, sb, startMs, timeMs);
    countSum(w, count, sum);
    w.put(QUANTILE_VALUES);
    for (let j = 0; j < n; j++) {
      if (j > 0) w.byte(COMMA);
      w.put(QUANTILE);
      w.double(quantiles[j]!);
      w.put(VALUE);
      w.double(values[j]!);
      w.byte(125 /* } */);
    }
    w.byte(93 /* ] */);
    w.byte(125 /* } */);
  }

  end(): void {
    if (this.#inMetric === 0) return;
    this.w!.put(this.#metric!.tail);
    this.#inMetric = 0;
  }

  protected openRequest(w: ByteWriter): void {
    w.put(this.#head);
    this.#metrics = 0;
  }

  protected closeRequest(w: ByteWriter): void {
    w.put(REQUEST_END);
  }

  /** Opens the request and the metric as needed, writes a point's attributes and times; the caller adds the rest. */
  #point(b: Buffer, ls: number, le: number, sb: SandboxAttributes, startMs: number, timeMs: number): ByteWriter {
    const w = this.request();
    if (this.#inMetric === 0) {
      if (this.#metrics++ > 0) w.byte(COMMA);
      w.raw(this.#metric!.head);
    } else {
      w.byte(COMMA);
    }
    this.#inMetric++;
    w.put(POINT_OPEN);
    const labelled = ls < le && writeLabels(w, b, ls, le);
    const block = this.#block(sb);
    if (block.length > 0) {
      if (labelled) w.byte(COMMA);
      w.raw(block);
    }
    w.put(START);
    w.raw(this.#nanos(startMs));
    w.put(TIME);
    w.raw(this.#nanos(timeMs));
    return w;
  }

  /** The JSON of the first `n` bounds (without brackets), remade only when they differ from the last ones. */
  #boundsOf(bounds: readonly number[], n: number): Uint8Array {
    const last = this.#bounds;
    let same = last.length === n;
    for (let j = 0; same && j < n; j++) same = Object.is(last[j], bounds[j]);
    if (!same) {
      this.#bounds = bounds.slice(0, n);
      const w = new ByteWriter(16 * n + 16);
      for (let j = 0; j < n; j++) {
        if (j > 0) w.byte(COMMA);
        w.double(bounds[j]!);
      }
      this.#boundsJson = Buffer.from(w.bytes());
    }
    return this.#boundsJson;
  }
}

/**
 * A point's own labels of a canonical block b[s, e) as KeyValues; false
 * when it wrote none (all were ours). Names are [a-zA-Z_][a-zA-Z0-9_]*.
 */
function writeLabels(w: ByteWriter, b: Buffer, s: number, e: number): boolean {
  let first = true;
  let i = s;
  while (i < e) {
    const ns = i;
    const ne = labelNameEnd(b, ns, e);
    const vs = ne + 2;
    const ve = labelValueEnd(b, vs, e);
    i = ve + 2; // the quote and the comma
    if (isOurLabel(b, ns, ne)) continue;
    w.put(first ? KEY_FIRST : KEY_NEXT);
    first = false;
    w.copy(b, ns, ne);
    w.put(KEY_VALUE);
    if (!w.copyText(b, vs, ve)) {
      // A control character (a tab, say) is written raw in the text format but escaped in JSON.
      w.put(Buffer.from(JSON.stringify(unescapeLabelValue(b, vs, ve)).slice(1, -1)));
    }
    w.put(VALUE_END);
  }
  return !first;
}

/** A histogram's or summary's count and sum. */
function countSum(w: ByteWriter, count: number, sum: number): void {
  w.put(COUNT);
  w.uint(count);
  w.put(SUM);
  w.double(sum);
}

function isDigit(c: number): boolean {
  return c >= 48 && c <= 57;
}

function keyValue(key: string, v: AttributeValue): string {
  return `{"key":${JSON.stringify(key)},"value":${JSON.stringify(anyValue(v))}}`;
}

function anyValue(v: AttributeValue): Record<string, unknown> {
  if (typeof v === 'string') return { stringValue: v };
  if (typeof v === 'boolean') return { boolValue: v };
  if (typeof v === 'number') return Number.isSafeInteger(v) ? { intValue: String(v) } : { doubleValue: Number.isFinite(v) ? v : String(v) };
  return { stringValue: Array.isArray(v) ? v.join(',') : String(v) };
}

/** 10^k, k = 0…15: how many digits an integer has. */
const POW10 = Array.from({ length: 16 }, (_, k) => 10 ** k);

/** Bytes appended to one growing buffer. */
class ByteWriter {
  buf: Buffer;
  pos = 0;
  constructor(size: number) {
    this.buf = Buffer.allocUnsafe(size);
  }
  #room(n: number): Buffer {
    if (this.pos + n > this.buf.length) {
      const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
      this.buf.copy(grown, 0, 0, this.pos);
      this.buf = grown;
    }
    return this.buf;
  }
  byte(c: number): void {
    this.#room(1)[this.pos++] = c;
  }
  put(b: Uint8Array): void {
    this.copy(b, 0, b.length);
  }
  raw(b: Uint8Array): void {
    this.#room(b.length).set(b, this.pos);
    this.pos += b.length;
  }
  copy(b: Uint8Array, s: number, e: number): void {
    const buf = this.#room(e - s);
    let p = this.pos;
    for (let k = s; k < e; k++) buf[p++] = b[k]!;
    this.pos = p;
  }
  /** Copies b[s, e) unless it holds a control character (then writes nothing and returns false). */
  copyText(b: Buffer, s: number, e: number): boolean {
    const buf = this.#room(e - s);
    let p = this.pos;
    for (let k = s; k < e; k++) {
      const c = b[k]!;
      if (c < 0x20) return false;
      buf[p++] = c;
    }
    this.pos = p;
    return true;
  }
  /** A double in proto3 JSON: a number, or "NaN", "Infinity", "-Infinity". */
  double(v: number): void {
    if (Number.isSafeInteger(v)) {
      if (v < 0 || (v === 0 && 1 / v < 0)) {
        this.byte(45 /* - */);
        this.#digits(-v);
      } else this.#digits(v);
    } else if (Number.isFinite(v)) {
      const s = String(v);
      const buf = this.#room(s.length);
      let p = this.pos;
      for (let i = 0; i < s.length; i++) buf[p++] = s.charCodeAt(i);
      this.pos = p;
    } else {
      this.put(v !== v ? NAN : v > 0 ? INF : NEG_INF);
    }
  }
  /** A uint64 count's decimal digits (counts are whole; above 2^64 - 1 clamped, as the protobuf sink does). */
  uint(n: number): void {
    if (!(n > 0)) this.byte(48);
    else if (n <= Number.MAX_SAFE_INTEGER) this.#digits(Math.round(n));
    else if (n >= 18446744073709551616) this.put(UINT64_MAX);
    else this.put(ascii(BigInt(Math.round(n)).toString()));
  }
  /** A whole number in [0, 2^53). */
  #digits(v: number): void {
    let n = 1;
    while (n < 16 && v >= POW10[n]!) n++;
    const buf = this.#room(n);
    let p = this.pos + n;
    this.pos = p;
    do {
      const q = Math.floor(v / 10);
      buf[--p] = 48 + (v - q * 10);
      v = q;
    } while (v > 0);
  }
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
