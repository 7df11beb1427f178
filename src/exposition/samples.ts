// Reading a scanned body (scan.ts): the public way into its index, for the
// /metrics writer, the model and the OTLP walk. The body is canonical text
// (as Go's encoder writes it), so a label block is `a="x",b="y"` exactly and
// a histogram's series is its buckets (le last), then _sum, then _count.

import { COMMA, LBRACE, NL, QUOTE, RBRACE, SP } from './chars.ts';
import { parseGoFloat, parseGoInt } from './float.ts';
import { NARROW, NONE16, REC, R_IS, R_KE, R_NE, R_NS, R_SE, R_SS, R_TE, R_TS, R_VE, R_VS, type ScannedBody } from './scan.ts';
import type { ChunkWriter } from '../buffers/chunk-writer.ts';

/** Where one sample's parts sit in its body: start and end offsets, -1 starts for absent parts. */
export class Sample {
  /** Name. */
  ns = 0;
  ne = 0;
  /** Labels as written, le/quantile excepted (`a="x",b="y"`); both -1: none. */
  ls = -1;
  le = -1;
  /** The le/quantile pair (`le="0.5"`); -1: none. */
  ss = -1;
  se = 0;
  /** Value. */
  vs = 0;
  ve = 0;
  /** Timestamp; -1: none. */
  ts = -1;
  te = 0;

  /** Loads record `r` of `rec` (either layout). */
  read(rec: Int32Array | Uint16Array, r: number): this {
    if (rec instanceof Uint16Array) {
      const at = r * NARROW;
      const ns = rec[at]! + rec[at + 1]! * 0x10000;
      this.ns = ns;
      this.ne = ns + rec[at + 2]!;
      const di = rec[at + 3]!;
      this.ls = di === NONE16 ? -1 : ns + di;
      this.le = di === NONE16 ? -1 : ns + rec[at + 4]!;
      const ds = rec[at + 5]!;
      this.ss = ds === NONE16 ? -1 : ns + ds;
      this.se = ns + rec[at + 6]!;
      this.vs = ns + rec[at + 7]!;
      this.ve = ns + rec[at + 8]!;
      const dt = rec[at + 9]!;
      this.ts = dt === NONE16 ? -1 : ns + dt;
      this.te = ns + rec[at + 10]!;
    } else {
      const at = r * REC;
      this.ns = rec[at + R_NS]!;
      this.ne = rec[at + R_NE]!;
      this.ls = rec[at + R_IS]!;
      this.le = this.ls < 0 ? -1 : rec[at + R_KE]!;
      this.ss = rec[at + R_SS]!;
      this.se = rec[at + R_SE]!;
      this.vs = rec[at + R_VS]!;
      this.ve = rec[at + R_VE]!;
      this.ts = rec[at + R_TS]!;
      this.te = rec[at + R_TE]!;
    }
    return this;
  }
}

/** The sample's value (the body is validated: always a number). */
export function sampleValue(body: Buffer, s: Sample): number {
  return parseGoFloat(body, s.vs, s.ve)!;
}

/** The sample's timestamp in ms, or undefined. */
export function sampleTimestamp(body: Buffer, s: Sample): number | undefined {
  return s.ts < 0 ? undefined : parseGoInt(body, s.ts, s.te);
}

/** The value of the le/quantile pair (`le="…"`), which is a number in canonical text. */
export function specialValue(body: Buffer, s: Sample): number {
  const q = body.indexOf(QUOTE, s.ss);
  return parseGoFloat(body, q + 1, s.se - 1)!;
}

/** How a sample feeds its point: a bucket or quantile (it has le/quantile), _sum, _count, or a plain value. */
export type Role = 'special' | 'sum' | 'count' | 'value';

/** The role of sample `s`: in canonical text buckets and quantiles carry their label, _sum and _count end in their suffix. */
export function roleOf(body: Buffer, s: Sample, histogramOrSummary: boolean): Role {
  if (!histogramOrSummary) return 'value';
  if (s.ss >= 0) return 'special';
  return body[s.ne - 1] === 116 /* _coun t */ ? 'count' : 'sum';
}

/**
 * Writes records [from, to) of `src` to `w` as Go writes them after
 * kata-monitor's parse → append labels → encode: `prefix` before each name,
 * `labels` (pairs, without braces) appended after the sample's own and
 * before its le/quantile, values and timestamps as written.
 */
export function writeSamples(src: ScannedBody, from: number, to: number, prefix: Buffer, labels: Buffer, w: ChunkWriter): void {
  const { body, rec } = src;
  const ll = labels.length;
  const pl = prefix.length;
  const s = PARTS;
  for (let r = from; r < to; r++) {
    s.read(rec, r);
    const { ns, ne, ls, le, ss, se, vs, ve, ts, te } = s;
    const len = pl + (ne - ns) + (ls >= 0 ? le - ls + 1 : 0) + ll + (ss >= 0 ? se - ss + 1 : 0) + (ve - vs) + (ts >= 0 ? te - ts + 1 : 0) + 4;
    const out = w.reserve(len);
    let o = w.offset;
    if (pl > 0) {
      out.set(prefix, o);
      o += pl;
    }
    o = copy(body, ns, ne, out, o);
    if (ls >= 0 || ll > 0 || ss >= 0) {
      out[o++] = LBRACE;
      let sep = false;
      if (ls >= 0) {
        o = copy(body, ls, le, out, o);
        sep = true;
      }
      if (ll > 0) {
        if (sep) out[o++] = COMMA;
        out.set(labels, o);
        o += ll;
        sep = true;
      }
      if (ss >= 0) {
        if (sep) out[o++] = COMMA;
        o = copy(body, ss, se, out, o);
      }
      out[o++] = RBRACE;
    }
    out[o++] = SP;
    o = copy(body, vs, ve, out, o);
    if (ts >= 0) {
      out[o++] = SP;
      o = copy(body, ts, te, out, o);
    }
    out[o++] = NL;
    w.offset = o;
  }
}

const PARTS = new Sample();

function copy(src: Buffer, s: number, e: number, dst: Buffer, o: number): number {
  // Lines are short: a plain loop beats Buffer#copy's per-call overhead.
  if (e - s > 96) return o + src.copy(dst, o, s, e);
  for (let k = s; k < e; k++) dst[o++] = src[k]!;
  return o;
}
