// The protobuf writer under the OTLP protobuf sink (src/otel/translate/proto-sink.ts)
// and the Prometheus protobuf encoder (src/wire/protobuf-writer.ts), checked
// against protobufjs' writer: same bytes for the same fields.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { ProtobufWriter, WIRE_I64, WIRE_LEN, WIRE_VARINT } from '../../src/wire/protobuf-writer.ts';

const bytes = (w: ProtobufWriter): Buffer => Buffer.from(w.bytes());

/** Field 1 holding field 2 (a string of n bytes), both length-delimited, written by protobufjs. */
function reference(n: number): Buffer {
  const inner = protobuf.Writer.create().uint32((2 << 3) | WIRE_LEN).string('x'.repeat(n)).finish();
  return Buffer.from(protobuf.Writer.create().uint32((1 << 3) | WIRE_LEN).bytes(inner).finish());
}

describe('ProtobufWriter', () => {
  // Lengths around each varint size boundary: 1, 2, 3 and 4 bytes.
  const sizes = [0, 1, 124, 125, 126, 127, 128, 16_379, 16_380, 16_383, 16_384, 2_097_148, 2_097_152, 2_200_000];

  for (const reserved of [1, 2, 3, 4]) {
    it(`writes minimal lengths whatever it reserved for them (${reserved} byte${reserved > 1 ? 's' : ''})`, () => {
      for (const n of sizes) {
        const w = new ProtobufWriter(16);
        const outer = w.open(1, reserved);
        const inner = w.open(2, 5 - reserved);
        w.raw(Buffer.from('x'.repeat(n)));
        w.end(inner, 5 - reserved);
        w.end(outer, reserved);
        assert.ok(bytes(w).equals(reference(n)), `content of ${n} bytes`);
      }
    });
  }

  it('writes varints (int64 two’s complement for negatives), doubles, and counts as fixed64', () => {
    const ints = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 32 + 5, 2 ** 53 - 1, -1, -300];
    const w = new ProtobufWriter(4);
    const ref = protobuf.Writer.create();
    for (const v of ints) {
      w.tag(3, WIRE_VARINT);
      w.varint(v);
      ref.uint32((3 << 3) | WIRE_VARINT).int64(v);
    }
    for (const v of [0, -0, 1.5, -2.25e-300, Infinity, -Infinity, NaN, Number.MAX_VALUE]) {
      w.tag(4, WIRE_I64);
      w.double(v);
      ref.uint32((4 << 3) | WIRE_I64).double(v);
    }
    for (const v of [0, 7, 2 ** 32, 2 ** 53 + 2, 2 ** 63]) {
      w.tag(5, WIRE_I64);
      w.count(v);
      ref.uint32((5 << 3) | WIRE_I64).fixed64(BigInt(v).toString() as unknown as number);
    }
    assert.ok(bytes(w).equals(Buffer.from(ref.finish())));
  });

  it('writes strings as UTF-8: ASCII, beyond it, astral, and a lone surrogate as U+FFFD', () => {
    for (const s of ['', 'kata_guest_meminfo', 'café', 'x'.repeat(200) + 'é', '\u{1F600} pod', 'a\ud800b']) {
      const w = new ProtobufWriter(4);
      w.tag(1, WIRE_LEN);
      w.string(s);
      const utf8 = Buffer.from(s, 'utf8');
      const expected = Buffer.from(protobuf.Writer.create().uint32((1 << 3) | WIRE_LEN).bytes(utf8).finish());
      assert.ok(bytes(w).equals(expected), JSON.stringify(s));
    }
  });
});
