// Reads protobuf messages field by field: for the few small answers we
// decode (OTLP partial success, gRPC status details), where a schema-driven
// decoder would be more than the job.

import { WIRE_I64, WIRE_LEN, WIRE_VARINT } from './protobuf-writer.ts';

const WIRE_I32 = 5;

export class ProtobufReader {
  readonly #buf: Uint8Array;
  #pos = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
  }

  /** The next field's number and wire type, or undefined at the end. Throws on malformed input. */
  next(): { readonly field: number; readonly wire: number } | undefined {
    if (this.#pos >= this.#buf.length) return undefined;
    const tag = this.varint();
    return { field: Math.floor(tag / 8), wire: tag % 8 };
  }

  /** A varint as a number (exact up to 2^53). */
  varint(): number {
    let v = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.#pos >= this.#buf.length) throw new Error('truncated varint');
      const b = this.#buf[this.#pos++]!;
      v += (b & 0x7f) * scale;
      if (b < 0x80) return v;
      scale *= 128;
    }
    throw new Error('varint too long');
  }

  /** A length-delimited field's bytes. */
  bytes(): Uint8Array {
    const n = this.varint();
    if (this.#pos + n > this.#buf.length) throw new Error('truncated field');
    const out = this.#buf.subarray(this.#pos, this.#pos + n);
    this.#pos += n;
    return out;
  }

  string(): string {
    return new TextDecoder().decode(this.bytes());
  }

  /** Each length-delimited `field` in what is left, as a reader of its own; other fields are skipped. */
  *messages(field: number): Generator<ProtobufReader> {
    for (let f = this.next(); f; f = this.next()) {
      if (f.field === field && f.wire === WIRE_LEN) yield new ProtobufReader(this.bytes());
      else this.skip(f.wire);
    }
  }

  /** Skips a field's value of the given wire type. */
  skip(wire: number): void {
    if (wire === WIRE_VARINT) this.varint();
    else if (wire === WIRE_LEN) this.bytes();
    else if (wire === WIRE_I64) this.#advance(8);
    else if (wire === WIRE_I32) this.#advance(4);
    else throw new Error(`unsupported wire type ${wire}`);
  }

  #advance(n: number): void {
    if (this.#pos + n > this.#buf.length) throw new Error('truncated field');
    this.#pos += n;
  }
}
