// What the byte sinks (proto-sink.ts, json-sink.ts) share: one writer per
// request, opened by its first point and closed by cut(), gzipped as it is
// closed when an exporter wants that, and its buffer handed out or reused for
// the next request.

import { gzipSync } from 'node:zlib';
import type { ProtobufWriter } from '../../wire/protobuf-writer.ts';

/**
 * zlib level of OTLP request bodies. Measured on a request of 8,192 points
 * (2.8 MB): level 1 650 MB/s to 18 B a point, level 6 (zlib's default)
 * 250 MB/s to 14 B a point. The CPU is worth more than the bytes here.
 */
const GZIP_LEVEL = 1;

/** One closed request, in the forms asked for. */
export interface ClosedRequest {
  readonly plain?: Uint8Array;
  readonly gzip?: Uint8Array;
}

/** What a sink writes a request with (ProtobufWriter, json-sink's ByteWriter): `bytes()` is buf[0, pos) as a view. */
type RequestWriter = Pick<ProtobufWriter, 'pos' | 'buf' | 'bytes'>;

/** Pushes are alike: a request starts in a buffer the size of the last push's largest, neither grown nor copied out of one it barely fills. */
const sizeHints = { proto: 256 * 1024, json: 256 * 1024 };

export abstract class ByteSink<W extends RequestWriter> {
  readonly #encoding: keyof typeof sizeHints;
  readonly #make: (size: number) => W;
  readonly #forms: { readonly plain: boolean; readonly gzip: boolean };
  readonly #requests: ClosedRequest[] = [];
  /** A writer whose bytes were not handed out: the next request is written in it. */
  #spare: W | undefined;
  /** The largest request of this push so far, with 5 % to spare. */
  #largest = 0;
  /** The request being written, if any. */
  protected w: W | undefined;

  constructor(encoding: keyof typeof sizeHints, forms: { readonly plain: boolean; readonly gzip: boolean }, make: (size: number) => W) {
    this.#encoding = encoding;
    this.#forms = forms;
    this.#make = make;
  }

  /** Ends the open metric, if any. */
  abstract end(): void;
  /** What starts a request, and what ends it after its last metric. */
  protected abstract openRequest(w: W): void;
  protected abstract closeRequest(w: W): void;

  /** The request's writer, opened if need be. */
  protected request(): W {
    let w = this.w;
    if (!w) {
      w = this.w = this.#spare ?? this.#make(Math.max(sizeHints[this.#encoding], this.#largest));
      this.#spare = undefined;
      w.pos = 0;
      this.openRequest(w);
    }
    return w;
  }

  cut(): void {
    const w = this.w;
    if (!w) return;
    this.end();
    this.closeRequest(w);
    this.w = undefined;
    this.#largest = Math.max(this.#largest, Math.ceil(w.pos * 1.05));
    const bytes = w.bytes();
    const gzip = this.#forms.gzip ? gzipSync(bytes, { level: GZIP_LEVEL }) : undefined;
    // Plain bytes are handed out as they are when they fill most of their buffer; else copied (a copy, not
    // a view), so the spare room is not kept alive. Unless handed out, the buffer serves the next request.
    const handOut = this.#forms.plain && w.pos >= w.buf.length * 0.75;
    const plain = handOut ? bytes : this.#forms.plain ? new Uint8Array(bytes) : undefined;
    this.#spare = handOut ? undefined : w;
    this.#requests.push({ plain, gzip });
  }

  /** The requests closed; the next push's first buffer is sized after the largest. */
  finish(): ClosedRequest[] {
    this.cut();
    if (this.#largest > 0) sizeHints[this.#encoding] = Math.max(64 * 1024, this.#largest);
    return this.#requests;
  }
}
