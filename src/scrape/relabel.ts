// The /metrics hot path, in two halves. At scrape time, one pass over a
// shim's Prometheus text, on the bytes as they came off the socket, validates
// it, groups its lines into families and records where each sample's name,
// labels, value and timestamp sit (22 bytes per sample, no object and no
// string per sample). At answer time, `writeSampleLines` writes each sample
// with go_*/process_* renamed to kata_shim_* and the four sandbox labels
// appended. A snapshot thus holds the bodies (1x) and their index instead of
// the relabelled text (2.6x: the labels are longer than most samples).
//
// The output is what Go's expfmt writes after kata-monitor's parse → append
// labels → encode, for bodies Go's encoder wrote (all shims): HELP/TYPE once
// per family, `le`/`quantile` moved last, values and timestamps as written.
// Input Go's parser would reject is rejected here too, with the line number.

import type { CriMetadata } from '../discovery/registry.ts';
import type { MetricType } from '../exposition/model.ts';
import { escapeLabelValue } from '../exposition/encode-text.ts';
import { BACKSLASH, COMMA, CR, EQ, HASH, LBRACE, NL, QUOTE, RBRACE, SP, TAB, isLabelNameChar, isLabelNameStart, isMetricNameChar, isMetricNameStart } from '../exposition/chars.ts';
import type { ChunkWriter } from './chunk-writer.ts';
import { freeNow } from '../buffers/free-now.ts';

export class RelabelError extends Error {
  override readonly name = 'RelabelError';
  readonly line: number;
  constructor(line: number, message: string) {
    super(`line ${line}: ${message}`);
    this.line = line;
  }
}

export interface RelabelResult {
  readonly index: IndexedBody;
  readonly sampleCount: number;
}

const TYPES = new Set<string>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SHIM_PREFIX = Buffer.from('kata_shim_');

/** Renames upstream applies to the shim's runtime families. */
export function shimFamilyName(name: string): string {
  return needsPrefix(name) ? 'kata_shim_' + name : name;
}

function needsPrefix(name: string): boolean {
  return name.startsWith('go_') || name.startsWith('process_');
}

/** `sandbox_id="…",cri_uid="…",cri_name="…",cri_namespace="…"`, escaped, as bytes. */
export function sandboxLabelText(id: string, meta: CriMetadata): Buffer {
  return Buffer.from(
    `sandbox_id="${escapeLabelValue(id)}",cri_uid="${escapeLabelValue(meta.uid)}",` +
      `cri_name="${escapeLabelValue(meta.name)}",cri_namespace="${escapeLabelValue(meta.namespace)}"`,
  );
}

interface Fam {
  readonly name: string;
  /** Where the name's bytes sit in the body, for allocation-free matching. */
  nameStart: number;
  nameEnd: number;
  readonly prefixed: boolean;
  type: MetricType;
  typeSeen: boolean;
  help: string | undefined;
  /** [from, to) pairs of record indices. */
  readonly segs: number[];
  count: number;
}

const LE = Buffer.from('le="');

const QUANTILE = Buffer.from('quantile="');

/**
 * Relabels one shim body. `labels` is sandboxLabelText(): the four pairs,
 * without braces or commas around them.
 */
export function relabelShimBody(body: Buffer, labels: Buffer): RelabelResult {
  const n = body.length;
  // Records go to a scratch array reused by every body (this function runs
  // to completion, never two at once); what the snapshot keeps is the
  // narrowed copy made at the end. Line ends come from Buffer#indexOf: a
  // latin1 string copy searched with String#indexOf was as fast but put
  // 72 kB per body on the V8 heap (21 MB a 300-sandbox scrape), some of it
  // promoted to the old generation before it died.
  let rec: Int32Array = scratch;
  const overrides: Buffer[] = [];
  let r = 0; // records written

  const byName = new Map<string, Fam>();
  let cur: Fam | undefined; // the family the previous line belonged to
  let open: Fam | undefined; // the family whose record range is open
  let openStart = 0;
  let total = 0;
  let lineNo = 0;
  let p = 0;

  const family = (name: string, start: number, end: number): Fam => {
    let f = byName.get(name);
    if (!f) {
      f = { name, nameStart: start, nameEnd: end, prefixed: needsPrefix(name), type: 'untyped', typeSeen: false, help: undefined, segs: [], count: 0 };
      byName.set(name, f);
    }
    return f;
  };

  while (p < n) {
    let e = body.indexOf(NL, p);
    if (e < 0) e = n;
    lineNo++;
    // Go's parser has no CRLF: a CR is part of the token it ends (an invalid value, an unknown type).
    const le = e;
    const c0 = body[p];

    if (c0 === HASH) {
      const f = metaLine(body, p, le, lineNo, family);
      if (f) cur = f;
    } else if (le > p && !blank(body, p, le)) {
      let i = p;
      while (i < le && (body[i] === SP || body[i] === TAB)) i++;
      const ns = i;
      // Which family? Almost always the previous line's: its name's bytes,
      // already validated, are compared as the name is scanned, and only
      // the rest (a _bucket/_sum/_count suffix) is checked char by char.
      let f = cur;
      const fl = f ? prefixOf(body, f, ns, le) : 0;
      if (fl > 0) {
        i = ns + fl;
      } else if (i < le && isMetricNameStart(body[i]!)) {
        i++;
      }
      while (i < le && isMetricNameChar(body[i]!)) i++;
      const ne = i;
      if (ne === ns) throw new RelabelError(lineNo, `invalid metric name in sample ${snippet(body, p, le)}`);

      let suffix = fl > 0 ? suffixAfter(body, f!, ns + fl, ne) : NONE;
      if (suffix === NONE) {
        const name = body.toString('latin1', ns, ne);
        f = byName.get(name);
        suffix = f ? suffixOf(body, f, ns, ne) : NONE;
        if (suffix === NONE) {
          const base = baseName(name);
          const g = base === name ? undefined : byName.get(base);
          if (g && suffixOf(body, g, ns, ne) !== NONE) {
            f = g;
            suffix = suffixOf(body, g, ns, ne);
          } else {
            f = family(name, ns, ne);
            suffix = suffixOf(body, f, ns, ne);
            if (suffix === NONE) throw new RelabelError(lineNo, `sample ${JSON.stringify(name)} cannot be a sample of its own ${f.type} family`);
          }
        }
      }
      f = f!;
      cur = f;
      if (open !== f) {
        if (open) open.segs.push(openStart, r);
        open = f;
        openStart = r;
      }
      const at = r * REC;
      if (at + REC > rec.length) rec = scratch = grown(rec);
      rec[at + R_NS] = ns;
      rec[at + R_NE] = ne;
      rec[at + R_IS] = -1;
      rec[at + R_SS] = -1;
      rec[at + R_TS] = -1;

      // Go allows blanks between the name and its labels.
      let lb = i;
      while (lb < le && (body[lb] === SP || body[lb] === TAB)) lb++;
      if (lb < le && body[lb] === LBRACE) {
        i = lb;
        const is = i + 1;
        const ie = scanLabels(body, is, le, lineNo);
        i = ie + 1;
        let keepEnd = ie; // inner labels kept as they are: [is, keepEnd)
        if (suffix === BUCKET || suffix === QUANTILE_SAMPLE) {
          const key = suffix === BUCKET ? LE : QUANTILE;
          const sp = lastLabel(body, is, ie, key);
          if (sp >= 0) {
            // The pair ends at its closing quote: blanks or a comma after it are not written (Go writes `le="…"}`).
            let se = ie;
            while (body[se - 1] !== QUOTE) se--;
            specialFloat(body, sp + key.length, se - 1, key, lineNo);
            rec[at + R_SS] = sp;
            rec[at + R_SE] = se;
            keepEnd = sp > is ? sp - 1 : is; // drop the comma before it
          } else {
            // Unusual order (Go writes it last): rebuild the block once, via strings.
            const moved = moveLabelLast(body.toString('utf8', is, ie), key.toString('latin1', 0, key.length - 2), lineNo, f.type);
            rec[at + R_IS] = OVERRIDE;
            rec[at + R_KE] = overrides.length;
            overrides.push(Buffer.from(moved.rest), Buffer.from(moved.pair));
            keepEnd = -1;
          }
        }
        if (keepEnd >= 0) {
          // Trailing comma allowed by Go's parser: `{a="1",}`.
          let k = keepEnd;
          while (k > is && (body[k - 1] === SP || body[k - 1] === TAB)) k--;
          if (k > is && body[k - 1] === COMMA) k--;
          if (k > is) {
            rec[at + R_IS] = is;
            rec[at + R_KE] = k;
          }
        }
      } else if (suffix === BUCKET || suffix === QUANTILE_SAMPLE) {
        throw new RelabelError(lineNo, `${f.type} sample ${JSON.stringify(body.toString('latin1', ns, ne))} has no ${suffix === BUCKET ? 'le' : 'quantile'} label`);
      }

      // Value, then an optional timestamp; written with single spaces as Go does.
      while (i < le && (body[i] === SP || body[i] === TAB)) i++;
      const vs = i;
      while (i < le && body[i] !== SP && body[i] !== TAB) i++;
      if (!isFloat(body, vs, i)) {
        throw new RelabelError(lineNo, `invalid value ${snippet(body, vs, i)} for sample ${JSON.stringify(body.toString('latin1', ns, ne))}`);
      }
      rec[at + R_VS] = vs;
      rec[at + R_VE] = i;
      while (i < le && (body[i] === SP || body[i] === TAB)) i++;
      if (i < le) {
        const ts = i;
        if (body[i] === 45 /* - */) i++;
        const digits = i;
        while (i < le && body[i]! >= 48 && body[i]! <= 57) i++;
        if (i === digits || (i < le && body[i] !== SP && body[i] !== TAB)) {
          while (i < le && body[i] !== SP && body[i] !== TAB) i++;
          throw new RelabelError(lineNo, `invalid timestamp ${snippet(body, ts, i)}`);
        }
        rec[at + R_TS] = ts;
        rec[at + R_TE] = i;
        while (i < le && (body[i] === SP || body[i] === TAB)) i++;
        if (i < le) throw new RelabelError(lineNo, `unexpected text after timestamp: ${snippet(body, i, le)}`);
      }
      r++;
      f.count++;
      total++;
    }
    p = e + 1;
  }
  if (open) open.segs.push(openStart, r);
  // Families sorted by final name, their runs as (family, from, to) triples:
  // a handful of objects per sandbox instead of a few per family, so that a
  // snapshot puts little on the V8 heap for the GC to promote and trace.
  const kept: { readonly head: FamilyHead; readonly f: Fam; readonly seen: number }[] = [];
  for (const f of byName.values()) {
    if (f.count === 0) continue; // Go's parser drops families without samples
    kept.push({ head: familyHead(f.prefixed ? 'kata_shim_' + f.name : f.name, f.help, f.type, f.prefixed), f, seen: kept.length });
  }
  kept.sort((a, b) => (a.head.name < b.head.name ? -1 : a.head.name > b.head.name ? 1 : 0));
  // byName's order is the body's: where each family's first line (HELP, TYPE or sample) is.
  const order = new Uint32Array(kept.length);
  for (let k = 0; k < kept.length; k++) order[kept[k]!.seen] = k;
  let nRuns = 0;
  for (const { f } of kept) nRuns += f.segs.length / 2;
  const runs = new Int32Array(nRuns * 3);
  let o = 0;
  for (let k = 0; k < kept.length; k++) {
    const segs = kept[k]!.f.segs;
    for (let j = 0; j < segs.length; j += 2) {
      runs[o++] = k;
      runs[o++] = segs[j]!;
      runs[o++] = segs[j + 1]!;
    }
  }
  const index = narrowed(rec, r) ?? rec.slice(0, r * REC);
  // A huge body's records are not kept around for the next one.
  if (scratch.length > SCRATCH_KEEP) scratch = new Int32Array(SCRATCH_KEEP);
  return { index: { body, labels, rec: index, overrides, heads: kept.map((x) => x.head), runs, order }, sampleCount: total };
}

/**
 * Frees a body's index now rather than at the next major GC (the scraper
 * calls it when the last reader of a snapshot is done). The index reads as
 * empty afterwards.
 */
export function releaseIndex(src: IndexedBody): void {
  freeNow(src.rec.buffer);
  freeNow(src.runs.buffer);
}

/** A family as written: its final name, type and HELP/TYPE lines. */
export interface FamilyHead {
  /** Final name (kata_shim_* for renamed shim families). */
  readonly name: string;
  readonly type: MetricType;
  readonly help: string | undefined;
  /** `# HELP …` and `# TYPE …` lines with the final name. */
  readonly header: Buffer;
  /** Samples are written with the kata_shim_ prefix. */
  readonly prefixed: boolean;
}

/**
 * Heads shared by every sandbox whose shim writes the same family: the shims
 * of one host run the same runtime, so 300 sandboxes bring ~70 distinct heads,
 * not 21,000 (a Buffer and strings each). Looked up by name and compared
 * field by field, so a hit allocates nothing. Bounded: a shim inventing names
 * only makes the cache start over.
 */
const heads = new Map<string, FamilyHead>();
const MAX_HEADS = 4096;

function familyHead(name: string, help: string | undefined, type: MetricType, prefixed: boolean): FamilyHead {
  const hit = heads.get(name);
  if (hit && hit.help === help && hit.type === type && hit.prefixed === prefixed) return hit;
  if (heads.size >= MAX_HEADS) heads.clear();
  const text = (help === undefined ? '' : `# HELP ${name} ${help}\n`) + `# TYPE ${name} ${type}\n`;
  const head: FamilyHead = { name, type, help, header: Buffer.from(text), prefixed };
  heads.set(name, head);
  return head;
}

// One record per sample: where its parts sit in the body.
const REC = 10;
const R_NS = 0; // name start
const R_NE = 1; // name end
const R_IS = 2; // kept inner labels start, -1 none, OVERRIDE: rebuilt (R_KE indexes overrides)
const R_KE = 3; // kept inner labels end
const R_SS = 4; // le/quantile pair start, -1 none
const R_SE = 5; // le/quantile pair end
const R_VS = 6; // value start
const R_VE = 7; // value end
const R_TS = 8; // timestamp start, -1 none
const R_TE = 9; // timestamp end
const OVERRIDE = -2;

/**
 * The index a snapshot keeps: per sample the name's start as two uint16
 * (low, high) and nine uint16 offsets from it (NONE16: absent, OVERRIDE16:
 * rebuilt labels, R_KE then holding the override's index). 22 bytes a sample
 * instead of 40: 4.9 MB less at 300 sandboxes, which is what the peak RSS
 * target needed. A body with a sample line of 64 KiB or more, or that many
 * rebuilt label blocks, keeps the int32 layout.
 */
const NARROW = 11;

/** Scratch records: 8,192 samples' worth (a shim body has ~900) is kept between bodies. */
const SCRATCH_KEEP = 8192 * REC;
let scratch: Int32Array = new Int32Array(SCRATCH_KEEP);

function grown(rec: Int32Array): Int32Array {
  const next = new Int32Array(rec.length * 2);
  next.set(rec);
  return next;
}
const NONE16 = 0xffff;
const OVERRIDE16 = 0xfffe;

function narrowed(rec: Int32Array, records: number): Uint16Array | undefined {
  const out = new Uint16Array(records * NARROW);
  for (let r = 0; r < records; r++) {
    const a = r * REC;
    const o = r * NARROW;
    const ns = rec[a + R_NS]!;
    const is = rec[a + R_IS]!;
    const ss = rec[a + R_SS]!;
    const ts = rec[a + R_TS]!;
    // Offsets from ns (never negative: every part follows the name); an
    // absent part stores a marker for its start and 0 for its end.
    const ne = fit(rec[a + R_NE]! - ns);
    const di = is === -1 ? NONE16 : is === OVERRIDE ? OVERRIDE16 : fit(is - ns);
    const dk = is === -1 ? 0 : fit(is === OVERRIDE ? rec[a + R_KE]! : rec[a + R_KE]! - ns);
    const ds = ss === -1 ? NONE16 : fit(ss - ns);
    const de = ss === -1 ? 0 : fit(rec[a + R_SE]! - ns);
    const vs = fit(rec[a + R_VS]! - ns);
    const ve = fit(rec[a + R_VE]! - ns);
    const dt = ts === -1 ? NONE16 : fit(ts - ns);
    const dte = ts === -1 ? 0 : fit(rec[a + R_TE]! - ns);
    if ((ne | di | dk | ds | de | vs | ve | dt | dte) < 0) return undefined;
    out[o] = ns & 0xffff;
    out[o + 1] = ns >>> 16;
    out[o + 2] = ne;
    out[o + 3] = di;
    out[o + 4] = dk;
    out[o + 5] = ds;
    out[o + 6] = de;
    out[o + 7] = vs;
    out[o + 8] = ve;
    out[o + 9] = dt;
    out[o + 10] = dte;
  }
  return out;
}

/** `v` when it fits below the markers, else -1. */
function fit(v: number): number {
  return v >= 0 && v < OVERRIDE16 ? v : -1;
}

/** A validated body, its sample index and its families; what a snapshot keeps per sandbox. */
export interface IndexedBody {
  readonly body: Buffer;
  readonly labels: Buffer;
  /** REC int32 per sample, or (nearly always) the same in NARROW uint16 per sample: see narrowed(). */
  readonly rec: Int32Array | Uint16Array;
  /** Label blocks rebuilt at scrape time (le/quantile not last): rest, pair, rest, pair… */
  readonly overrides: readonly Buffer[];
  /** The body's families, sorted by final name. */
  readonly heads: readonly FamilyHead[];
  /** `heads` indices in the order the body brings its families (their first HELP, TYPE or sample line). */
  readonly order: Uint32Array;
  /**
   * Runs of samples as (family, from, to) triples: `heads[family]`'s samples
   * are records [from, to). Grouped by family, in `heads` order; usually one
   * run per family.
   */
  readonly runs: Int32Array;
}

/** Where one sample's parts sit: R_* offsets into the body (or, for R_KE of a rebuilt block, the override's index). */
export type SampleParts = Int32Array;
export const PART = { NS: R_NS, NE: R_NE, IS: R_IS, KE: R_KE, SS: R_SS, SE: R_SE, VS: R_VS, VE: R_VE, TS: R_TS, TE: R_TE } as const;
/** R_IS of a sample whose label block was rebuilt: its rest and pair are `overrides[R_KE]` and `overrides[R_KE + 1]`. */
export const REBUILT = OVERRIDE;

/** A scratch for readRecord's callers that run to completion. */
export function newParts(): SampleParts {
  return new Int32Array(REC);
}
const PARTS = newParts();

/** Record `r` of an index, either layout, into `out` as absolute offsets (-1: absent). */
export function readRecord(rec: Int32Array | Uint16Array, r: number, out: SampleParts): void {
  if (rec instanceof Uint16Array) {
    const at = r * NARROW;
    const ns = rec[at]! + rec[at + 1]! * 0x10000;
    out[R_NS] = ns;
    out[R_NE] = ns + rec[at + 2]!;
    const di = rec[at + 3]!;
    const is = di === NONE16 ? -1 : di === OVERRIDE16 ? OVERRIDE : ns + di;
    out[R_IS] = is;
    out[R_KE] = is === OVERRIDE ? rec[at + 4]! : ns + rec[at + 4]!;
    const ds = rec[at + 5]!;
    out[R_SS] = ds === NONE16 ? -1 : ns + ds;
    out[R_SE] = ns + rec[at + 6]!;
    out[R_VS] = ns + rec[at + 7]!;
    out[R_VE] = ns + rec[at + 8]!;
    const dt = rec[at + 9]!;
    out[R_TS] = dt === NONE16 ? -1 : ns + dt;
    out[R_TE] = ns + rec[at + 10]!;
  } else {
    const at = r * REC;
    for (let k = 0; k < REC; k++) out[k] = rec[at + k]!;
  }
}

/** Writes records [from, to) of `src` relabelled to `w` (`prefixed`: renamed kata_shim_*). */
export function writeSampleLines(src: IndexedBody, from: number, to: number, prefixed: boolean, w: ChunkWriter): void {
  const { body, labels, rec, overrides } = src;
  const ll = labels.length;
  const at = PARTS;
  for (let r = from; r < to; r++) {
    readRecord(rec, r, at);
    const ns = at[R_NS]!, ne = at[R_NE]!, is = at[R_IS]!, ke = at[R_KE]!, ss = at[R_SS]!, se = at[R_SE]!, vs = at[R_VS]!, ve = at[R_VE]!, ts = at[R_TS]!, te = at[R_TE]!;
    let rest: Buffer | undefined;
    let pair: Buffer | undefined;
    if (is === OVERRIDE) {
      rest = overrides[ke]!;
      pair = overrides[ke + 1]!;
    }
    const len =
      (prefixed ? SHIM_PREFIX.length : 0) +
      (ne - ns) +
      (is >= 0 ? ke - is + 1 : 0) +
      (rest ? rest.length + 1 + pair!.length + 1 : 0) +
      ll +
      (ss >= 0 ? se - ss + 1 : 0) +
      (ve - vs) +
      (ts >= 0 ? te - ts + 1 : 0) +
      4;
    const out = w.reserve(len);
    let o = w.offset;
    if (prefixed) {
      out.set(SHIM_PREFIX, o);
      o += SHIM_PREFIX.length;
    }
    o = copy(body, ns, ne, out, o);
    out[o++] = LBRACE;
    if (is >= 0) {
      o = copy(body, is, ke, out, o);
      out[o++] = COMMA;
    } else if (rest) {
      if (rest.length > 0) {
        out.set(rest, o);
        o += rest.length;
        out[o++] = COMMA;
      }
    }
    out.set(labels, o);
    o += ll;
    if (ss >= 0) {
      out[o++] = COMMA;
      o = copy(body, ss, se, out, o);
    } else if (pair) {
      out[o++] = COMMA;
      out.set(pair, o);
      o += pair.length;
    }
    out[o++] = RBRACE;
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

// What a sample name is relative to its family.
const NONE = 0;
const SELF = 1;
const BUCKET = 2;
const SUM_OR_COUNT = 3;
const QUANTILE_SAMPLE = 4;

const SUFFIX_BUCKET = Buffer.from('_bucket');
const SUFFIX_SUM = Buffer.from('_sum');
const SUFFIX_COUNT = Buffer.from('_count');

function suffixOf(body: Buffer, f: Fam, ns: number, ne: number): number {
  const fl = f.nameEnd - f.nameStart;
  if (ne - ns < fl) return NONE;
  for (let k = 0; k < fl; k++) if (body[ns + k] !== body[f.nameStart + k]) return NONE;
  return suffixAfter(body, f, ns + fl, ne);
}

/** Length of `f`'s name when body[ns…] starts with it (0 when not). */
function prefixOf(body: Buffer, f: Fam, ns: number, le: number): number {
  const fl = f.nameEnd - f.nameStart;
  if (ns + fl > le) return 0;
  for (let k = 0; k < fl; k++) if (body[ns + k] !== body[f.nameStart + k]) return 0;
  return fl;
}

/** What a sample name is to `f`, given that it starts with `f`'s name and the rest is body[s, ne). */
function suffixAfter(body: Buffer, f: Fam, s: number, ne: number): number {
  if (s === ne) return f.type === 'histogram' ? NONE : f.type === 'summary' ? QUANTILE_SAMPLE : SELF;
  if (f.type !== 'histogram' && f.type !== 'summary') return NONE;
  if (f.type === 'histogram' && matches(body, s, ne, SUFFIX_BUCKET)) return BUCKET;
  if (matches(body, s, ne, SUFFIX_SUM) || matches(body, s, ne, SUFFIX_COUNT)) return SUM_OR_COUNT;
  return NONE;
}

function matches(body: Buffer, s: number, e: number, what: Buffer): boolean {
  if (e - s !== what.length) return false;
  for (let k = 0; k < what.length; k++) if (body[s + k] !== what[k]) return false;
  return true;
}

function baseName(name: string): string {
  for (const s of ['_bucket', '_sum', '_count']) if (name.endsWith(s)) return name.slice(0, -s.length);
  return name;
}

/** Parses `# HELP name text` / `# TYPE name type`; other comments return undefined. */
function metaLine(body: Buffer, p: number, e: number, lineNo: number, family: (name: string, s: number, e: number) => Fam): Fam | undefined {
  let i = p + 1;
  while (i < e && (body[i] === SP || body[i] === TAB)) i++;
  const isHelp = body[i] === 72 && body[i + 1] === 69 && body[i + 2] === 76 && body[i + 3] === 80; // HELP
  const isType = body[i] === 84 && body[i + 1] === 89 && body[i + 2] === 80 && body[i + 3] === 69; // TYPE
  if ((!isHelp && !isType) || i + 4 >= e || (body[i + 4] !== SP && body[i + 4] !== TAB)) return undefined;
  i += 4;
  while (i < e && (body[i] === SP || body[i] === TAB)) i++;
  const ns = i;
  if (i < e && isMetricNameStart(body[i]!)) {
    i++;
    while (i < e && isMetricNameChar(body[i]!)) i++;
  }
  // `# HELP`, `# HELP foo`: nothing more on the line, a plain comment to Go.
  if (i === e) return undefined;
  if (i === ns || (body[i] !== SP && body[i] !== TAB)) {
    throw new RelabelError(lineNo, `invalid metric name in ${isHelp ? 'HELP' : 'TYPE'} line`);
  }
  const name = body.toString('latin1', ns, i);
  const f = family(name, ns, i);
  while (i < e && (body[i] === SP || body[i] === TAB)) i++; // Go skips every blank after the name
  if (i === e) return f; // `# HELP foo ` sets nothing, though the family now exists
  if (isHelp) {
    if (f.help !== undefined) throw new RelabelError(lineNo, `second HELP line for metric name ${JSON.stringify(name)}`);
    f.help = helpText(body, i, e, lineNo);
  } else {
    if (f.typeSeen) throw new RelabelError(lineNo, `second TYPE line for metric name ${JSON.stringify(name)}`);
    if (f.count > 0) throw new RelabelError(lineNo, `TYPE line for ${JSON.stringify(name)} after its samples`);
    // Go's parser takes the rest of the line as the type, in any case; its encoder writes it lower-case.
    const t = body.toString('latin1', i, e).toLowerCase();
    if (!TYPES.has(t)) throw new RelabelError(lineNo, `unknown metric type ${JSON.stringify(t)}`);
    f.type = t as MetricType;
    f.typeSeen = true;
  }
  return f;
}

/** Returns the index of the closing brace; validates names, quotes and escapes. */
function scanLabels(b: Buffer, i: number, end: number, lineNo: number): number {
  let expectName = true;
  for (;;) {
    while (i < end && (b[i] === SP || b[i] === TAB)) i++;
    if (i >= end) throw new RelabelError(lineNo, 'unterminated label set');
    let c = b[i]!;
    if (c === RBRACE) return i;
    if (!expectName) throw new RelabelError(lineNo, 'expected "," or "}" in label set');
    const ns = i;
    if (isLabelNameStart(c)) {
      i++;
      while (i < end && isLabelNameChar(b[i]!)) i++;
    }
    if (i === ns) throw new RelabelError(lineNo, `invalid label name at ${snippet(b, ns, Math.min(end, ns + 20))}`);
    while (i < end && (b[i] === SP || b[i] === TAB)) i++;
    if (b[i] !== EQ) throw new RelabelError(lineNo, `expected "=" after label name ${snippet(b, ns, i)}`);
    i++;
    while (i < end && (b[i] === SP || b[i] === TAB)) i++;
    if (b[i] !== QUOTE) throw new RelabelError(lineNo, `expected a quoted value for label ${snippet(b, ns, i)}`);
    i++;
    for (;;) {
      if (i >= end) throw new RelabelError(lineNo, 'unterminated label value');
      c = b[i]!;
      if (c === QUOTE) break;
      if (c === BACKSLASH) {
        const nx = b[i + 1];
        if (nx !== BACKSLASH && nx !== QUOTE && nx !== 110 /* n */) {
          throw new RelabelError(lineNo, `invalid escape sequence ${snippet(b, i, Math.min(end, i + 2))} in label value`);
        }
        i += 2;
        continue;
      }
      i++;
    }
    i++;
    while (i < end && (b[i] === SP || b[i] === TAB)) i++;
    if (b[i] === COMMA) {
      i++;
      expectName = true;
    } else {
      expectName = false;
    }
  }
}

/**
 * HELP text as Go's encoder writes it back: the parser takes the escapes
 * \\, \n and \" (any other is an error) and the encoder escapes only \ and
 * newline, so \" comes out as a plain quote; the rest is kept as written.
 */
function helpText(b: Buffer, s: number, e: number, lineNo: number): string {
  let quoted = false;
  for (let i = s; i < e; i++) {
    if (b[i] !== BACKSLASH) continue;
    const c = i + 1 < e ? b[++i] : undefined;
    if (c === QUOTE) quoted = true;
    else if (c !== BACKSLASH && c !== 110 /* n */) {
      throw new RelabelError(lineNo, `invalid escape sequence '\\${c === undefined ? '' : String.fromCharCode(c)}' in HELP`);
    }
  }
  const text = b.toString('utf8', s, e);
  return quoted ? text.replace(/\\(.)/g, (x, c: string) => (c === '"' ? '"' : x)) : text;
}

/** An `le`/`quantile` value, b[s, end), must be a float as Go parses it. */
function specialFloat(b: Buffer, s: number, end: number, key: Buffer, lineNo: number): void {
  if (!isFloat(b, s, end)) {
    throw new RelabelError(lineNo, `expected float as value for '${key.toString('latin1', 0, key.length - 2)}' label, got ${JSON.stringify(b.toString('utf8', s, end))}`);
  }
}

/** Start of `key="…"` when it is the block's last label (as Go writes it), else -1. */
function lastLabel(b: Buffer, is: number, ie: number, key: Buffer): number {
  let end = ie;
  while (end > is && (b[end - 1] === SP || b[end - 1] === TAB || b[end - 1] === COMMA)) end--;
  if (b[end - 1] !== QUOTE) return -1;
  const at = b.lastIndexOf(key, end - 2);
  if (at < is || (at > is && b[at - 1] !== COMMA)) return -1;
  // The value must close exactly at `end - 1`: no other quote unescaped in between.
  let i = at + key.length;
  while (i < end - 1) {
    if (b[i] === BACKSLASH) i += 2;
    else if (b[i] === QUOTE) return -1;
    else i++;
  }
  return i === end - 1 ? at : -1;
}

/** Slow path for a le/quantile label that is not last: split the (validated) block. */
function moveLabelLast(inner: string, key: string, lineNo: number, type: MetricType): { rest: string; pair: string } {
  const pairs: string[] = [];
  const re = /\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*,?/gy;
  let m: RegExpExecArray | null;
  let pair: string | undefined;
  while ((m = re.exec(inner)) !== null) {
    const text = `${m[1]}="${m[2]}"`;
    if (m[1] === key && pair === undefined) {
      const v = Buffer.from(m[2]!);
      if (!isFloat(v, 0, v.length)) throw new RelabelError(lineNo, `expected float as value for '${key}' label, got ${JSON.stringify(m[2])}`);
      pair = text;
    } else {
      pairs.push(text);
    }
  }
  if (pair === undefined) throw new RelabelError(lineNo, `${type} sample has no ${key} label`);
  return { rest: pairs.join(','), pair };
}

function copy(src: Buffer, s: number, e: number, dst: Buffer, o: number): number {
  // Lines are short: a plain loop beats Buffer#copy's per-call overhead.
  if (e - s > 96) return o + src.copy(dst, o, s, e);
  for (let k = s; k < e; k++) dst[o++] = src[k]!;
  return o;
}

function blank(b: Buffer, s: number, e: number): boolean {
  for (; s < e; s++) if (b[s] !== SP && b[s] !== TAB) return false;
  return true;
}

/** What Go's strconv.ParseFloat accepts from Prometheus writers: decimals, exponents, ±Inf, NaN. */
const NAN = Buffer.from('nan');
const INF = Buffer.from('inf');
const INFINITY = Buffer.from('infinity');

/** b[s, e) is `lower` (lower-case letters) in any case. */
function wordIs(b: Buffer, s: number, e: number, lower: Buffer): boolean {
  if (e - s !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) if ((b[s + k]! | 0x20) !== lower[k]) return false;
  return true;
}

function isFloat(b: Buffer, s: number, e: number): boolean {
  if (s >= e) return false;
  let i = s;
  const sign = b[i] === 43 || b[i] === 45;
  if (sign) i++;
  if (i >= e) return false;
  const c = b[i]!;
  if (c === 73 || c === 105 || c === 78 || c === 110) {
    // Inf, Infinity and NaN in any case, as Go's ParseFloat takes them (NaN without a sign); compared as bytes, no string.
    if (wordIs(b, i, e, NAN)) return !sign;
    return wordIs(b, i, e, INF) || wordIs(b, i, e, INFINITY);
  }
  let digits = 0;
  while (i < e && b[i]! >= 48 && b[i]! <= 57) {
    i++;
    digits++;
  }
  if (i < e && b[i] === 46) {
    i++;
    while (i < e && b[i]! >= 48 && b[i]! <= 57) {
      i++;
      digits++;
    }
  }
  if (digits === 0) return false;
  let exponent = false;
  if (i < e && (b[i] === 101 || b[i] === 69)) {
    i++;
    if (i < e && (b[i] === 43 || b[i] === 45)) i++;
    const es = i;
    while (i < e && b[i]! >= 48 && b[i]! <= 57) i++;
    if (i === es) return false;
    exponent = true;
  }
  if (i !== e) return false;
  // Go reports overflow (1e400) as an error, ErrRange; only an exponent or 309 digits can get there.
  return !(exponent || digits > 308) || Number.isFinite(Number(b.toString('latin1', s, e)));
}

function snippet(b: Buffer, s: number, e: number): string {
  const t = b.toString('utf8', s, Math.min(e, s + 60));
  return JSON.stringify(e - s > 60 ? t + '…' : t);
}
