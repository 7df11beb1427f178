// The protobuf writer under the OTLP encoder (src/wire/protobuf-writer.ts),
// checked against protobufjs' writer: same bytes for the same fields.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import protobuf from 'protobufjs';
import { ProtobufWriter, WIRE_LEN } from '../../src/wire/protobuf-writer.ts';

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
