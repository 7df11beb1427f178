// The protobuf writer behind both hand-written encoders: the Prometheus
// delimited format (exposition/encode-protobuf.ts) and OTLP (otel/translate/proto-sink.ts).
// Hand-written because both encode tens of thousands of small messages per
// answer; nested lengths get reserved bytes, adjusted in place when needed.

export const WIRE_VARINT = 0;
export const WIRE_I64 = 1;
export const WIRE_LEN = 2;

const ENCODER = new TextEncoder();

export class ProtobufWriter {
  buf: Uint8Array;
  view: DataView;
  pos = 0;

  constructor(size: number) {
    this.buf = new Uint8Array(size);
    this.view = new DataView(this.buf.buffer);
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const b = new Uint8Array(size);
    b.set(this.buf.subarray(0, this.pos));
    this.buf = b;
    this.view = new DataView(b.buffer);
  }

  /** What has been written, as a view. */
  bytes(): Uint8Array {
    return this.buf.subarray(0, this.pos);
  }

  byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  tag(field: number, wire: number): void {
    this.varint((field << 3) | wire);
  }

  /** A varint of an integral double: exact for non-negatives up to 2^64; negatives as 64-bit two's complement (int64). */
  varint(v: number): void {
    if (!(v >= 0)) return this.varintBig(BigInt(Math.trunc(v))); // NaN too: BigInt throws, as it always did
    this.ensure(10);
    const buf = this.buf;
    let p = this.pos;
    if (v <= 0xffffffff) {
      while (v > 127) {
        buf[p++] = (v & 127) | 128;
        v >>>= 7;
      }
    } else {
      // The divisions are by powers of two: exact.
      while (v > 127) {
        buf[p++] = (v % 128) | 128;
        v = Math.floor(v / 128);
      }
    }
    buf[p++] = v;
    this.pos = p;
  }

  /** An int64 varint from a bigint (a timestamp read as one): negatives as 64-bit two's complement. */
  varintBig(v: bigint): void {
    this.ensure(10);
    let big = BigInt.asUintN(64, v);
    while (big > 127n) {
      this.buf[this.pos++] = Number(big & 127n) | 128;
      big >>= 7n;
    }
    this.buf[this.pos++] = Number(big);
  }

  /** uint64 from a model count: truncated, clamped to [0, 2^64-1]. */
  uint64(v: number): void {
    if (!(v > 0)) return this.byte(0); // also NaN
    if (v >= 18446744073709551616) {
      this.ensure(10);
      for (let i = 0; i < 9; i++) this.buf[this.pos++] = 0xff;
      this.buf[this.pos++] = 0x01;
      return;
    }
    this.varint(Math.trunc(v));
  }

  fixed64(lo: number, hi: number): void {
    this.ensure(8);
    this.view.setUint32(this.pos, lo, true);
    this.view.setUint32(this.pos + 4, hi, true);
    this.pos += 8;
  }

  /**
   * A count as fixed64: whole, clamped to [0, 2^64 - 1] (a histogram count Go
   * read as -1 is 2^64, which would wrap to 0).
   */
  count(n: number): void {
    if (n >= 18446744073709551616) return this.fixed64(0xffffffff, 0xffffffff);
    const v = n > 0 ? Math.round(n) : 0;
    this.fixed64(v >>> 0, Math.floor(v / 4294967296) >>> 0);
  }

  double(v: number): void {
    this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
  }

  /**
   * A length-prefixed UTF-8 string (no tag). ASCII, as label names and
   * values almost always are, is copied as it is checked (one pass over the
   * string instead of two); anything else is encoded by TextEncoder.
   */
  string(s: string): void {
    const n = s.length;
    const mark = this.pos;
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    let p = this.pos;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) {
        this.pos = mark;
        const bytes = ENCODER.encode(s);
        this.varint(bytes.length);
        this.raw(bytes);
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  /**
   * Starts a length-delimited value (no tag); returns the mark for end().
   * `reserved`: bytes set aside for the length, the varint size it is
   * expected to need (end() moves the content when it needs another).
   */
  begin(reserved = 1): number {
    this.ensure(reserved);
    const mark = this.pos;
    this.pos += reserved;
    return mark;
  }

  /** Opens a length-delimited field; returns the mark for end(). `reserved` as for begin(). */
  open(field: number, reserved = 1): number {
    this.tag(field, WIRE_LEN);
    return this.begin(reserved);
  }

  /**
   * Writes the length at the mark, moving the content when its varint needs
   * more or fewer bytes than `reserved` (which must be what begin() or
   * open() was given). A good guess saves moving the content: reserving 4
   * bytes for the 17 MB messages of a 100-sandbox push saves copying them.
   */
  end(mark: number, reserved = 1): void {
    const start = mark + reserved;
    const len = this.pos - start;
    const need = varintSize(len);
    if (need !== reserved) {
      if (need > reserved) this.ensure(need - reserved);
      this.buf.copyWithin(mark + need, start, this.pos);
      this.pos += need - reserved;
    }
    const buf = this.buf;
    let v = len;
    let p = mark;
    while (v > 127) {
      buf[p++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[p] = v;
  }
}

/** Bytes of the varint of a length (below 2^32). */
export function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}
