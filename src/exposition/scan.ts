// The Prometheus text format 0.0.4, as Go's expfmt.TextParser (prometheus/
// common v0.62, what kata-monitor runs on every shim body) reads it: the one
// implementation of the grammar in this project. Its states are the methods
// below, over the body's bytes, with Go's state carried from line to line
// (the current family, the grouping labels of histograms and summaries), so
// that what Go accepts is accepted and what Go refuses is refused, quirks
// included.
//
// One pass does two things. It records where each sample's name, labels,
// value and timestamp sit (the index the /metrics writer, the model and the
// OTLP walk read), and it notices whether Go's re-encoding would write the
// body exactly as it is: a body Go's encoder wrote (every shim's) is, so its
// samples can be copied. A body that is not (blanks, other spellings of a
// number, histogram lines out of order…) is read again into the model, as Go
// reads it, written as Go writes it, and that text is indexed instead: the
// index only ever points into canonical text.

import { isUtf8 } from 'node:buffer';
import { BACKSLASH, COMMA, EQ, HASH, LBRACE, NL, QUOTE, RBRACE, SP, TAB, isLabelNameChar, isLabelNameStart, isMetricNameChar, isMetricNameStart } from './chars.ts';
import { goFloatTextIsCanonical, goUint64, isGoIntText, parseGoFloat, parseGoInt } from './float.ts';
import type { Label, Metric, MetricFamily, MetricType } from './model.ts';
import { encodeText } from './encode-text.ts';
import { hashBytes, labelNameEnd, labelValueEnd, unescapeLabelValue } from './label-block.ts';
import { keepHiddenClass } from '../buffers/hidden-class.ts';

/** Why a body was refused: its text, or one of the limits on what a scrape may bring. */
export type ScanFailure = 'malformed' | 'sample_limit' | 'label_limit' | 'label_name_length_limit' | 'label_value_length_limit';

export class ScanError extends Error {
  override readonly name = 'ScanError';
  /** 1-based; 0 when the fault is the body as a whole. */
  readonly line: number;
  readonly reason: ScanFailure;
  constructor(line: number, message: string, reason: ScanFailure = 'malformed') {
    super(line > 0 ? `line ${line}: ${message}` : message);
    this.line = line;
    this.reason = reason;
  }
}

/** Limits on one body, as Prometheus has for a scrape; 0 means none. */
export interface ScanLimits {
  /** Samples (lines) in the body. */
  readonly sampleLimit: number;
  /** Labels on one sample, le/quantile included. */
  readonly labelLimit: number;
  /** Bytes of one label name. */
  readonly labelNameLengthLimit: number;
  /** Bytes of one label value, unescaped. */
  readonly labelValueLengthLimit: number;
}

export const NO_LIMITS: ScanLimits = { sampleLimit: 0, labelLimit: 0, labelNameLengthLimit: 0, labelValueLengthLimit: 0 };

type DeclaredType = MetricType | 'gauge_histogram';

/** A TYPE line's word, upper-cased (Go compares it so), → its type. */
const TYPES = new Map((['counter', 'gauge', 'summary', 'untyped', 'histogram', 'gauge_histogram'] as const).map((t): [string, DeclaredType] => [t.toUpperCase(), t]));

/**
 * A family as Go's parser keeps it while reading. The objects outlive a scan
 * (see `table`): a scan claims one by setting `gen`, and resets it then.
 */
interface Fam {
  /** Its name as Go keys it: the bytes as a binary (latin1) string. */
  readonly name: string;
  /** The scan that holds it as a family; in any other scan it is not one (yet). */
  gen: number;
  /**
   * The scan in which a name like this one plus _sum, _count or _bucket was a
   * family: in that scan such names are looked up, not inferred.
   */
  suffixedGen: number;
  /** Where an unquoted occurrence of the name sits in the body (-1: none), for comparing without a string. */
  nameStart: number;
  nameEnd: number;
  type: DeclaredType | undefined;
  /**
   * The HELP text as Go's encoder writes it back (escapes of \\ and \n kept,
   * \" unescaped): the body's bytes [hs, he), or `helpCopy` where they differ
   * from it; hs -1: none.
   */
  hs: number;
  he: number;
  helpCopy: Buffer | undefined;
  /** Its place in the scan's body order, and how many runs of records its samples fill (see segScratch). */
  ord: number;
  nsegs: number;
  /** Histograms and summaries: the series being checked for Go's layout (one object, reused), and the series seen. */
  open: OpenSeries | undefined;
  series: OpenSeries | undefined;
  seen: Set<number> | undefined;
  /** Model mode: its metrics, in Go's order. */
  metrics: MetricBuild[] | undefined;
  /** finish(): its head, kept for the next scan while prefix, type and HELP stay the same. */
  head: FamilyHead | undefined;
  headPrefix: string;
  headHelp: Buffer | undefined;
  /** finish(): its place among the families kept, then in name order, and where its runs go. */
  rank: number;
  at: number;
}

function newFam(name: string): Fam {
  return { name, gen: -1, suffixedGen: -1, nameStart: -1, nameEnd: -1, type: undefined, hs: -1, he: -1, helpCopy: undefined, ord: 0, nsegs: 0, open: undefined, series: undefined, seen: undefined, metrics: undefined, head: undefined, headPrefix: '', headHelp: undefined, rank: 0, at: 0 };
}

/**
 * Families by name across scans: a host's shims bring the same ~100 names on
 * every scrape, so their objects (and heads) are reused rather than built per
 * body, which kept the young generation busy. Bounded: a shim inventing
 * names only makes the table start over.
 */
const table = new Map<string, Fam>();
const EMPTY_VIEW = new DataView(new ArrayBuffer(0));
const TABLE_MAX = 4096;
let generation = 0;

/** The histogram or summary series whose lines are being checked against the order Go writes them in. */
interface OpenSeries {
  /** Its label block (le/quantile excepted): [start, end) in the body. */
  ls: number;
  le: number;
  /** Its timestamp's text, [start, end), -1: none. */
  ts: number;
  te: number;
  /** 0: buckets/quantiles, 1: _sum seen, 2: _count seen (complete). */
  stage: number;
  infSeen: boolean;
}

/**
 * A metric of the model being built, mutable as Go's dto.Metric is while
 * parsing, with a field per type: a quirk of lines that start with '{' can
 * put one metric in two families, each setting its own field.
 */
interface MetricBuild {
  labels: Label[];
  counter: number | undefined;
  gauge: number | undefined;
  untyped: number | undefined;
  timestampMs: number | bigint | undefined;
  histogram: { buckets: { upperBound: number; cumulativeCount: number }[]; sum: number; count: number } | undefined;
  summary: { quantiles: { quantile: number; value: number }[]; sum: number; count: number } | undefined;
}

const SUFFIXES = ['_sum', '_count', '_bucket'];

/** The types as Go's encoder writes them, by length: what nearly every TYPE line holds. */
const TYPE_WORDS: readonly (readonly [Buffer, MetricType])[] = (['counter', 'gauge', 'histogram', 'summary', 'untyped'] as const).map((t) => [Buffer.from(t), t]);

/** The type b[p, e) names when it is one of TYPE_WORDS exactly, else undefined. */
function typeWord(b: Buffer, p: number, e: number): MetricType | undefined {
  for (let i = 0; i < TYPE_WORDS.length; i++) {
    const word = TYPE_WORDS[i]![0];
    if (word.length !== e - p) continue;
    let k = 0;
    while (k < word.length && b[p + k] === word[k]) k++;
    if (k === word.length) return TYPE_WORDS[i]![1];
  }
  return undefined;
}

/** How a sample name relates to its family. */
const ROLE_OWN = 0; // the family's own name
const ROLE_BUCKET = 1; // <histogram>_bucket
const ROLE_SUM = 2;
const ROLE_COUNT = 3;

// One record per sample: where its parts sit in the (canonical) body.
export const REC = 10;
export const R_NS = 0; // name start
export const R_NE = 1; // name end
export const R_IS = 2; // inner labels (le/quantile excepted) start, -1: none
export const R_KE = 3; // inner labels end
export const R_SS = 4; // le/quantile pair start (`le="…"`), -1: none
export const R_SE = 5; // le/quantile pair end
export const R_VS = 6; // value start
export const R_VE = 7; // value end
export const R_TS = 8; // timestamp start, -1: none
export const R_TE = 9; // timestamp end

/** A family of a scanned body, as written: final name, type and its HELP/TYPE lines. */
export interface FamilyHead {
  /** Final name (with the prefix the scan was asked to give it). */
  readonly name: string;
  readonly type: MetricType;
  /** HELP as text (for OTLP descriptions), undefined when the body had none. */
  readonly help: string | undefined;
  /** `# HELP …` and `# TYPE …` lines with the final name, as Go writes them. */
  readonly header: Buffer;
  /** Written before each sample's name (`kata_shim_`), or empty. */
  readonly prefix: Buffer;
}

/** A validated body in canonical text, and where its samples are. */
export interface ScannedBody {
  /** The body, or Go's re-encoding of it when it was not canonical. */
  readonly body: Buffer;
  /** REC int32 per sample, or (nearly always) NARROW uint16: see NARROW. */
  readonly rec: Int32Array | Uint16Array;
  /** The body's families, sorted by final name. */
  readonly heads: readonly FamilyHead[];
  /** `heads` indices in the order the body brings its families (first HELP, TYPE or sample line). */
  readonly order: Uint32Array;
  /** Runs of samples as (family, from, to) triples, grouped by family in `heads` order. */
  readonly runs: Int32Array;
  /** Where each family's triples start in `runs`, by `heads` index, then where the last ends. */
  readonly runStarts: Int32Array;
  readonly samples: number;
  /** Whether the body had to be re-encoded (it was not as Go writes it). */
  readonly normalized: boolean;
}

export interface ScanOptions {
  readonly limits?: ScanLimits;
  /** A prefix for a family's final name (and its samples' names), '' for none. */
  readonly prefix?: (name: string) => string;
}

/**
 * Validates and indexes one body. Throws ScanError where Go's parser would
 * fail, or a limit is passed.
 */
export function scanBody(body: Buffer, options: ScanOptions = {}): ScannedBody {
  const limits = options.limits ?? NO_LIMITS;
  const first = new Scanner(body, limits, 'check');
  first.run();
  if (first.canonical) return first.finish(options.prefix, false);
  // Go would rewrite it: read it as Go does, write it as Go does, and index
  // that text as the encoder laid it out (Go's own output is not always
  // something Go's parser reads back the same: a family x_bucket beside a
  // histogram x, a label repeated by a quirk of '{' lines).
  const model = new Scanner(body, NO_LIMITS, 'model');
  model.run();
  const families = model.families();
  const again = new Scanner(Buffer.from(encodeText(families), 'latin1'), NO_LIMITS, 'trusted');
  again.run();
  // The prefix is decided on the names as Go read them (before escaping), as kata-monitor does.
  const sourceNames = model.sourceNames;
  const prefix = options.prefix;
  return again.finish(prefix && ((_name, k) => prefix(sourceNames[k]!)), true);
}

/**
 * The body as Go's parser reads it, in the model: families in order of first
 * appearance, without those that have no samples; names, label values and
 * HELP texts as UTF-8. Throws ScanError.
 */
export function parseFamilies(body: Buffer): MetricFamily[] {
  const s = new Scanner(body, NO_LIMITS, 'model');
  s.run();
  const families = s.families();
  // Bytes read as latin1 are the UTF-8 text itself where they are ASCII (nearly always): only the others are decoded.
  const text = (x: string): string => (NOT_ASCII.test(x) ? Buffer.from(x, 'latin1').toString('utf8') : x);
  const label = (l: Label): Label => (NOT_ASCII.test(l.name) || NOT_ASCII.test(l.value) ? { name: text(l.name), value: text(l.value) } : l);
  return families.map((f) => ({
    ...f,
    name: text(f.name),
    ...(f.help !== undefined && { help: text(f.help) }),
    metrics: f.metrics.map((m) => (m.labels.some((l) => NOT_ASCII.test(l.name) || NOT_ASCII.test(l.value)) ? { ...m, labels: m.labels.map(label) } : m)),
  }));
}

const NOT_ASCII = /[^\x00-\x7f]/;

const EMPTY = Buffer.alloc(0);

/**
 * What a scan is for: `check` validates as Go does and indexes while the
 * text stays canonical; `model` builds Go's families and metrics;
 * `trusted` indexes text Go's encoder wrote, family block by family block
 * (a sample belongs to the family of the TYPE line above it).
 */
type Mode = 'check' | 'model' | 'trusted';

class Scanner {
  #b: Buffer;
  /** The body's bytes read four at a time, for comparing names and label blocks. */
  #v: DataView;
  readonly #n: number;
  readonly #limits: ScanLimits;
  /** Model mode: build Go's families and metrics (for re-encoding or the object model). */
  readonly #model: boolean;
  readonly #trusted: boolean;
  /** Trusted mode: the HELP line just read, for the TYPE line that follows it. */
  #pendingHelp: Buffer | undefined;
  /** This scan's generation (see Fam.gen). */
  readonly #gen: number;
  /** Whether the body is exactly what Go's encoder would write for it. */
  canonical = true;

  // Go's parser state, carried across lines as Go carries it.
  readonly #order: Fam[] = [];
  #cur: Fam | undefined;
  #metric: MetricBuild | undefined;
  /** A metric exists (record mode's stand-in for Go's currentMetric pointer). */
  #hasMetric = false;
  #role = ROLE_OWN;
  /** Go's currentLabels (undefined: a nil map), for grouping histogram and summary lines. */
  #sig: Map<string, string> | undefined;
  /** Whether Go's currentLabels map exists at all (record mode keeps no map: it reads a series' labels from its bytes). */
  #sigMade = false;
  #quantile = NaN;
  #bucket = NaN;
  readonly #groups = new Map<string, MetricBuild>();
  #line = 0;

  // The current line's labels (le/quantile excepted): names by offset, or by string when quoted.
  #labelCount = 0;
  readonly #ln: number[] = [];
  readonly #lnEnd: number[] = [];
  readonly #lnText: (string | undefined)[] = [];
  readonly #pairs: Label[] = [];
  /** The line's labels, le/quantile included (for the label limit). */
  #allLabels = 0;
  /** The le/quantile pair of the line: [start, end) of `name="value"`, -1: none. */
  #ss = -1;
  #se = -1;
  #specials = 0;
  /** Position of the last label block's closing brace (set by #labels). */
  #rb = -1;
  // The last token read by a name or value reader: its end, whether it was
  // quoted, and its text when that is not the bytes as they are (quotes, escapes).
  #end = 0;
  #quoted = false;
  #text: string | undefined;

  // The index: 16-bit records (see NARROW) until a part lies 64 KiB or more past its sample's name, 32-bit ones from then on.
  #narrow: Uint16Array = scratch16;
  #rec: Int32Array | undefined;
  #r = 0;
  #openFam: Fam | undefined;
  #openStart = 0;
  /** Runs of records closed so far, in segScratch. */
  #nSegs = 0;
  #samples = 0;
  // The name last resolved to a family (Go's setOrCreateCurrentMF). Never cleared: a name's family
  // never changes once found (types are set once, before samples, and a name that resolved to its
  // base is never created as a family).
  #cacheStart = -1;
  #cacheEnd = -1;
  #cacheFam: Fam | undefined;
  #cacheRole = ROLE_OWN;

  constructor(body: Buffer, limits: ScanLimits, mode: Mode) {
    this.#b = body;
    this.#v = new DataView(body.buffer, body.byteOffset, body.length);
    this.#n = body.length;
    this.#limits = limits;
    this.#model = mode === 'model';
    this.#trusted = mode === 'trusted';
    if (table.size > TABLE_MAX) table.clear();
    this.#gen = ++generation;
    keepHiddenClass(this);
  }

  /** The scan is over: the body is not kept with the scanner (keepHiddenClass). */
  #release(): void {
    this.#b = EMPTY;
    this.#v = EMPTY_VIEW;
  }

  /** The family of this name in this scan, if there is one. */
  #live(name: string): Fam | undefined {
    const f = table.get(name);
    return f !== undefined && f.gen === this.#gen ? f : undefined;
  }

  /** The table's entry for a name, made if missing; not claimed. */
  #entry(name: string): Fam {
    let f = table.get(name);
    if (f === undefined) table.set(name, (f = newFam(name)));
    return f;
  }

  /** Makes `name` a family of this scan, reset to nothing known; the body order lists it. */
  #claim(name: string, start: number, end: number): Fam {
    let f = this.#entry(name);
    // Trusted text may bring a name twice (two names Go escapes alike): the second is a family of its own.
    if (f.gen === this.#gen) f = newFam(name);
    f.gen = this.#gen;
    f.nameStart = start;
    f.nameEnd = end;
    f.type = undefined;
    f.hs = -1;
    f.helpCopy = undefined;
    f.ord = this.#order.length;
    f.nsegs = 0;
    f.open = undefined;
    f.seen?.clear();
    f.metrics = this.#model ? [] : undefined;
    this.#order.push(f);
    return f;
  }

  #fail(message: string, reason: ScanFailure = 'malformed'): never {
    this.#release();
    throw new ScanError(this.#line, message, reason);
  }

  #eof(): never {
    this.#fail('unexpected end of input stream (the last line must end with a newline)');
  }

  /** Go's startOfLine, line after line. */
  run(): void {
    const b = this.#b;
    const n = this.#n;
    let p = 0;
    while (p < n) {
      this.#line++;
      const start = p;
      while (p < n && (b[p] === SP || b[p] === TAB)) p++;
      if (p >= n) break; // blanks at the end: fine
      const c = b[p];
      if (c === HASH) p = this.#comment(p + 1);
      else if (c === NL) p++;
      else {
        if (p !== start) this.canonical = false;
        p = this.#sample(p, c === LBRACE);
      }
    }
    // A series without its _sum or _count: Go writes them (as 0).
    for (const f of this.#order) if (f.open && f.open.stage !== 2) this.canonical = false;
  }

  /** Go's startComment; p is just after '#'. Returns the start of the next line. */
  #comment(p: number): number {
    const b = this.#b;
    const n = this.#n;
    p = this.#blanks(p);
    if (b[p] === NL) return p + 1;
    const kw = p;
    while (p < n && b[p] !== SP && b[p] !== TAB && b[p] !== NL) p++;
    if (p >= n) this.#eof();
    if (b[p] === NL) return p + 1;
    const isHelp = p - kw === 4 && b[kw] === 72 && b[kw + 1] === 69 && b[kw + 2] === 76 && b[kw + 3] === 80;
    const isType = p - kw === 4 && b[kw] === 84 && b[kw + 1] === 89 && b[kw + 2] === 80 && b[kw + 3] === 69;
    if (!isHelp && !isType) return this.#lineEnd(p) + 1;
    p = this.#blanks(p);
    const ns = p;
    const named = this.#metricName(p);
    if (named) p = this.#end;
    if (b[p] === NL) return p + 1;
    if (!named || (b[p] !== SP && b[p] !== TAB)) this.#fail(`invalid metric name in comment`);
    if (this.#trusted) return this.#trustedComment(isHelp, ns, p);
    const fam = this.#family(ns);
    p = this.#blanks(p);
    if (b[p] === NL) return p + 1;
    const e = this.#lineEnd(p);
    if (isHelp) {
      if (fam.hs >= 0) this.#fail(`second HELP line for metric name ${JSON.stringify(fam.name)}`);
      fam.helpCopy = this.#help(p, e);
      fam.hs = p;
      fam.he = e;
    } else {
      if (fam.type !== undefined) this.#fail(`second TYPE line for metric name ${JSON.stringify(fam.name)}, or TYPE reported after samples`);
      fam.type = typeWord(b, p, e) ?? this.#typeToken(p, e);
    }
    return e + 1;
  }

  /** The type of a TYPE line whose rest, b[p, e), is not one of the words as Go writes them. */
  #typeToken(p: number, e: number): DeclaredType {
    // Go reads the rest of the line dropping backslashes (no escapes here, yet a backslash is not kept).
    const token = this.#b.toString('latin1', p, e).replaceAll('\\', '');
    const t = TYPES.get(token.toUpperCase());
    if (t === undefined) this.#fail(`unknown metric type ${JSON.stringify(token)}`);
    return t;
  }

  /**
   * A HELP or TYPE line of text Go's encoder wrote, name [ns, ne): HELP is
   * kept for the TYPE line that follows, which starts a family of its own.
   */
  #trustedComment(isHelp: boolean, ns: number, ne: number): number {
    const b = this.#b;
    const p = this.#blanks(ne);
    const e = this.#lineEnd(p);
    if (isHelp) {
      this.#pendingHelp = this.#help(p, e) ?? b.subarray(p, e);
      return e + 1;
    }
    const f = this.#claim(b.toString('latin1', ns, ne), ns, ne);
    f.type = TYPES.get(b.toString('latin1', p, e).toUpperCase());
    if (this.#pendingHelp !== undefined) {
      f.hs = 0;
      f.helpCopy = this.#pendingHelp;
    }
    this.#pendingHelp = undefined;
    this.#cur = f;
    return e + 1;
  }

  /**
   * Checks the HELP text b[s, e): escapes \\, \n and \" only. Returns it as
   * Go's encoder writes it back (\" as a plain quote) where that differs
   * from the bytes, else undefined.
   */
  #help(s: number, e: number): Buffer | undefined {
    const b = this.#b;
    let quotes = 0;
    for (let i = s; i < e; i++) {
      if (b[i] !== BACKSLASH) continue;
      const c = b[++i];
      if (i >= e || (c !== BACKSLASH && c !== 110 /* n */ && c !== QUOTE)) {
        this.#fail(`invalid escape sequence '\\${i >= e ? '\\n' : String.fromCharCode(c!)}'`);
      }
      if (c === QUOTE) quotes++;
    }
    if (quotes === 0) return undefined;
    const out = Buffer.allocUnsafe(e - s - quotes);
    let o = 0;
    for (let i = s; i < e; i++) {
      if (b[i] === BACKSLASH && b[i + 1] === QUOTE) continue;
      out[o++] = b[i]!;
      if (b[i] === BACKSLASH) out[o++] = b[++i]!;
    }
    return out;
  }

  /** One sample line from its first non-blank byte; returns the start of the next line. */
  #sample(p: number, braces: boolean): number {
    const b = this.#b;
    const ns = p;
    let ne = p;
    this.#labelCount = 0;
    this.#allLabels = 0;
    this.#ss = -1;
    this.#specials = 0;
    if (this.#model) this.#pairs.length = 0;
    let lb = -1;
    let rb = -1;
    if (!braces) {
      // Go's readingMetricName.
      if (!this.#sampleName(p)) this.#fail('invalid metric name');
      ne = this.#end;
      if (this.#quoted) this.canonical = false;
      this.#newMetric();
      p = ne;
      const c = b[p];
      if (c === SP || c === TAB) {
        p = this.#blanks(p);
        if (b[p] === LBRACE || p !== ne + 1 || c !== SP) this.canonical = false;
      } else if (c !== LBRACE) {
        this.canonical = false;
      }
    } else {
      this.canonical = false;
    }
    // Go's readingLabels.
    this.#resetGrouping();
    if (b[p] === LBRACE) {
      lb = p;
      p = this.#labels(p + 1, braces);
      rb = this.#rb;
      const q = p;
      p = this.#blanks(p);
      if (p !== q + 1 || b[q] !== SP) this.canonical = false;
    }
    return this.#value(p, ns, ne, lb, rb);
  }

  /**
   * The sample's name from p (false: not a name), and its family (Go's
   * setOrCreateCurrentMF). Most names are the previous sample's, or the
   * current family's with a _bucket/_sum/_count suffix: their bytes are
   * compared with those names (validated already) as they are read.
   */
  #sampleName(p: number): boolean {
    const b = this.#b;
    const n = this.#n;
    if (this.#trusted) {
      const f = this.#cur!;
      if (!this.#metricName(p)) return false;
      this.#role = suffixRole(b, f, p + f.nameEnd - f.nameStart, this.#end);
      return true;
    }
    if (this.#cacheFam !== undefined) {
      const cs = this.#cacheStart;
      const len = this.#cacheEnd - cs;
      const c = b[p + len]!;
      if (p + len < n && !isMetricNameChar(c) && c !== QUOTE && sameRun(this.#v, b, p, cs, len)) {
        this.#plain(p + len);
        this.#role = this.#cacheRole;
        this.#cur = this.#cacheFam;
        return true;
      }
    }
    const f = this.#cur;
    if (f !== undefined && f.nameStart >= 0 && f.suffixedGen !== this.#gen) {
      const fs = f.nameStart;
      const fl = f.nameEnd - fs;
      if (p + fl <= n && sameRun(this.#v, b, p, fs, fl)) {
        let q = p + fl;
        while (q < n && isMetricNameChar(b[q]!)) q++;
        if (q >= n) this.#eof();
        const role = b[q] === QUOTE ? -1 : suffixRole(b, f, p + fl, q);
        if (role >= 0) {
          this.#plain(q);
          this.#role = role;
          this.#remember(p, q, f);
          return true;
        }
      }
    }
    if (!this.#metricName(p)) return false;
    this.#family(p);
    return true;
  }

  /**
   * Go's setOrCreateCurrentMF for the name just read from p (#sampleName has
   * tried the fast paths already; HELP/TYPE lines are too rare for them).
   */
  #family(p: number): Fam {
    if (this.#quoted) return this.#resolve(this.#text!, -1, -1);
    const q = this.#end;
    // The name of the line before (a TYPE line after its HELP line): no string needed.
    const cs = this.#cacheStart;
    if (this.#cacheFam !== undefined && q - p === this.#cacheEnd - cs && sameRun(this.#v, this.#b, p, cs, q - p)) {
      this.#role = this.#cacheRole;
      return (this.#cur = this.#cacheFam);
    }
    const fam = this.#resolve(this.#b.toString('latin1', p, q), p, q);
    this.#remember(p, q, fam);
    return fam;
  }

  #remember(s: number, e: number, f: Fam): void {
    this.#cacheStart = s;
    this.#cacheEnd = e;
    this.#cacheFam = f;
    this.#cacheRole = this.#role;
  }

  /**
   * Go's readTokenAsMetricName from p: [a-zA-Z_:][a-zA-Z0-9_:]*, where a '"'
   * opens a quoted part that may hold anything, with escapes. False when p
   * starts no name (Go's empty token); the name ends at #end.
   */
  #metricName(p: number): boolean {
    const b = this.#b;
    const n = this.#n;
    const start = p;
    const c = b[p]!;
    this.#plain(p);
    if (p >= n || (!isMetricNameStart(c) && c !== QUOTE)) return false;
    if (c !== QUOTE) {
      p++;
      while (p < n && isMetricNameChar(b[p]!)) p++;
      if (p >= n) this.#eof();
      this.#plain(p);
      if (b[p] !== QUOTE) return true;
    }
    this.#quotedToken(start, true);
    return true;
  }

  /** A token of plain bytes ending at `end`. */
  #plain(end: number): void {
    this.#end = end;
    this.#quoted = false;
    this.#text = undefined;
  }

  /**
   * The slow path of Go's name readers, from p: plain name characters, and
   * quoted parts where any byte goes (escapes \\, \n, \" only). It ends after
   * a closing quote, or at a byte that cannot continue the name (a blank,
   * for a name outside quotes). Sets #end, #quoted and #text.
   */
  #quotedToken(p: number, metric: boolean): void {
    const b = this.#b;
    const n = this.#n;
    let text = '';
    let quoted = false;
    this.#quoted = true;
    for (;;) {
      if (p >= n) this.#eof();
      let c = b[p]!;
      if (c === BACKSLASH && quoted) {
        c = b[++p]!;
        if (p >= n) this.#eof();
        if (c === BACKSLASH || c === QUOTE) text += String.fromCharCode(c);
        else if (c === 110) text += '\n';
        else this.#fail(`invalid escape sequence '\\${String.fromCharCode(c)}'`);
      } else if (c === QUOTE) {
        quoted = !quoted;
        if (!quoted) {
          this.#end = p + 1;
          this.#text = text;
          return;
        }
      } else if (c === NL) {
        this.#fail(`${metric ? 'metric' : 'label'} name ${JSON.stringify(text)} contains unescaped new-line`);
      } else {
        text += String.fromCharCode(c);
      }
      p++;
      if (p >= n) this.#eof();
      const next = b[p]!;
      if (!quoted && (next === SP || (!(metric ? isMetricNameChar(next) : isLabelNameChar(next)) && next !== QUOTE))) {
        this.#end = p;
        this.#text = text;
        return;
      }
    }
  }

  /** Go's setOrCreateCurrentMF: the family a name belongs to, with Go's _sum/_count/_bucket rules; sets #role. */
  #resolve(name: string, start: number, end: number): Fam {
    this.#role = ROLE_OWN;
    let f = this.#live(name);
    if (f) return (this.#cur = f);
    const len = name.length;
    const isCount = len > 6 && name.endsWith('_count');
    const isSum = !isCount && len > 4 && name.endsWith('_sum');
    if (isCount || isSum) {
      f = this.#live(name.slice(0, len - (isCount ? 6 : 4)));
      if (f && (f.type === 'summary' || f.type === 'histogram')) {
        this.#role = isCount ? ROLE_COUNT : ROLE_SUM;
        return (this.#cur = f);
      }
    } else if (len > 7 && name.endsWith('_bucket')) {
      f = this.#live(name.slice(0, len - 7));
      if (f && f.type === 'histogram') {
        this.#role = ROLE_BUCKET;
        return (this.#cur = f);
      }
    }
    f = this.#claim(name, start, end);
    for (let i = 0; i < SUFFIXES.length; i++) {
      const suffix = SUFFIXES[i]!;
      if (len > suffix.length && name.endsWith(suffix)) {
        const bf = this.#entry(name.slice(0, -suffix.length));
        bf.suffixedGen = this.#gen;
      }
    }
    return (this.#cur = f);
  }

  /** The rest of Go's readingMetricName: the family gets its type if it had none, and a new metric starts. */
  #newMetric(): void {
    const f = this.#cur!;
    f.type ??= 'untyped';
    this.#hasMetric = true;
    if (this.#model) this.#metric = { labels: [], counter: undefined, gauge: undefined, untyped: undefined, timestampMs: undefined, histogram: undefined, summary: undefined };
  }

  /** Go's readingLabels: histograms and summaries start their grouping labels afresh. */
  #resetGrouping(): void {
    const t = this.#cur?.type;
    if (t === 'summary' || t === 'histogram') {
      this.#sigMade = true;
      if (this.#model) this.#sig = new Map([['__name__', this.#cur!.name]]);
      this.#quantile = NaN;
      this.#bucket = NaN;
    }
  }

  /** Go's startLabelName and startLabelValue, from just after '{'; returns the position after '}'. */
  #labels(p: number, braces: boolean): number {
    const b = this.#b;
    const limits = this.#limits;
    let nameSeen = false;
    let afterComma = false;
    for (;;) {
      let q: number;
      if (b[p] === SP || b[p] === TAB) {
        p = this.#blanks(p);
        this.canonical = false;
      }
      if (b[p] === RBRACE) {
        if (afterComma || this.#allLabels === 0) this.canonical = false;
        return this.#closeLabels(p);
      }
      // Go's readTokenAsLabelName: [a-zA-Z_][a-zA-Z0-9_]*, quoted parts as in metric names.
      const nameStart = p;
      const c = b[p]!;
      if (isLabelNameStart(c)) {
        q = p + 1;
        while (q < this.#n && isLabelNameChar(b[q]!)) q++;
        if (q >= this.#n) this.#eof();
        if (b[q] === QUOTE) this.#quotedToken(p, false);
        else this.#plain(q);
      } else if (c === QUOTE) {
        this.#quotedToken(p, false);
      } else {
        this.#fail(`invalid label name for metric ${JSON.stringify(this.#cur?.name ?? '')}`);
      }
      const nameEnd = this.#end;
      const nameText = this.#text;
      if (this.#quoted) this.canonical = false;
      p = nameEnd;
      if (b[p] === SP || b[p] === TAB) {
        p = this.#blanks(p);
        this.canonical = false;
      }
      if (b[p] !== EQ) {
        if (!braces) this.#fail(`expected '=' after label name, found ${JSON.stringify(String.fromCharCode(b[p]!))}`);
        // A line that starts with '{': a name without '=' is the metric's name.
        if (nameSeen) this.#fail(`multiple metric names for metric ${JSON.stringify(this.#cur?.name ?? '')}`);
        if (b[p] !== COMMA && b[p] !== RBRACE) this.#fail(`unexpected end of metric name ${JSON.stringify(String.fromCharCode(b[p]!))}`);
        this.#resolve(nameText ?? b.toString('latin1', nameStart, nameEnd), -1, -1);
        this.#newMetric();
        nameSeen = true;
        if (b[p] === RBRACE) return this.#closeLabels(p);
        p++;
        afterComma = true;
        continue;
      }
      p++; // '='
      if (this.#nameIs(nameStart, nameEnd, nameText, '__name__')) this.#fail('label name "__name__" is reserved');
      const type = this.#cur?.type;
      // In text Go wrote, le/quantile is the encoder's own only on bucket and quantile lines.
      const special =
        ((type === 'summary' && this.#nameIs(nameStart, nameEnd, nameText, 'quantile')) || (type === 'histogram' && this.#nameIs(nameStart, nameEnd, nameText, 'le'))) &&
        !(this.#trusted && (this.#role === ROLE_SUM || this.#role === ROLE_COUNT));
      this.#allLabels++;
      if (limits.labelLimit > 0 && this.#allLabels > limits.labelLimit) this.#fail(`more than ${limits.labelLimit} labels on one sample (label_limit)`, 'label_limit');
      const nameLength = nameText !== undefined ? nameText.length : nameEnd - nameStart;
      if (limits.labelNameLengthLimit > 0 && nameLength > limits.labelNameLengthLimit) {
        this.#fail(`label name of ${nameLength} bytes, over the limit of ${limits.labelNameLengthLimit} (label_name_length_limit)`, 'label_name_length_limit');
      }
      if (!special && !this.#trusted) this.#addName(nameStart, nameEnd, nameText);
      if (b[p] === SP || b[p] === TAB) {
        p = this.#blanks(p);
        this.canonical = false;
      }
      if (b[p] !== QUOTE) this.#fail(`expected '"' at start of label value, found ${JSON.stringify(String.fromCharCode(b[p]!))}`);
      const vs = p + 1;
      this.#labelValue(vs);
      const ve = this.#end;
      const valueText = this.#text;
      p = ve + 1;
      if (special) {
        const v = valueText !== undefined ? parseGoFloat(Buffer.from(valueText, 'latin1'), 0, valueText.length) : parseGoFloat(b, vs, ve);
        if (v === undefined) {
          this.#fail(`expected float as value for '${type === 'summary' ? 'quantile' : 'le'}' label, got ${JSON.stringify(valueText ?? b.toString('latin1', vs, ve))}`);
        }
        if (type === 'summary') this.#quantile = v;
        else this.#bucket = v;
        // A NaN bound is taken for none: Go keeps the line's series and drops its value.
        if (this.#specials++ > 0 || valueText !== undefined || !goFloatTextIsCanonical || v !== v) this.canonical = false;
        this.#ss = nameStart;
        this.#se = p;
      } else {
        if (this.#ss >= 0) this.canonical = false; // le/quantile not last
        if (this.#model) {
          const name = nameText ?? b.toString('latin1', nameStart, nameEnd);
          const value = valueText ?? b.toString('latin1', vs, ve);
          if (type === 'summary' || type === 'histogram') this.#group(name, value);
          this.#pairs.push({ name, value });
        } else if ((type === 'summary' || type === 'histogram') && !this.#sigMade) {
          this.#group('', '');
        }
      }
      if (b[p] === SP || b[p] === TAB) {
        p = this.#blanks(p);
        this.canonical = false;
      }
      if (b[p] === COMMA) {
        p++;
        afterComma = true;
        continue;
      }
      if (b[p] === RBRACE) {
        if (!this.#cur) this.#fail('invalid metric name');
        return this.#closeLabels(p);
      }
      this.#fail(`unexpected end of label value ${JSON.stringify(valueText ?? b.toString('latin1', vs, ve))}`);
    }
  }

  /** Whether the label name just read (bytes [s, e), or `text` when quoted) is `what`. */
  #nameIs(s: number, e: number, text: string | undefined, what: string): boolean {
    if (text !== undefined) return text === what;
    if (e - s !== what.length) return false;
    for (let k = 0; k < what.length; k++) if (this.#b[s + k] !== what.charCodeAt(k)) return false;
    return true;
  }

  /** A grouping label of a histogram or summary line (Go's currentLabels; a nil map makes Go's parser crash). */
  #group(name: string, value: string): void {
    if (!this.#sigMade) this.#fail("Go's parser crashes on this line (grouping labels of a line that starts with '{')");
    this.#sig?.set(name, value);
  }

  /** Go's labels close at the '}' at p: the pairs go to the current metric (a '{' line without a name: the last one). */
  #closeLabels(p: number): number {
    if (!this.#hasMetric) this.#fail("Go's parser crashes on this line (labels without a metric)");
    if (this.#model) this.#metric!.labels.push(...this.#pairs);
    this.#rb = p;
    return p + 1;
  }

  /** Records a label name of the line, failing on a duplicate (le/quantile of histograms/summaries excepted, as in Go). */
  #addName(s: number, e: number, text: string | undefined): void {
    const b = this.#b;
    const k = this.#labelCount;
    for (let j = 0; j < k; j++) {
      const other = this.#lnText[j];
      let same: boolean;
      if (text === undefined && other === undefined) {
        const os = this.#ln[j]!;
        const len = this.#lnEnd[j]! - os;
        same = len === e - s;
        for (let i = 0; same && i < len; i++) same = b[s + i] === b[os + i];
      } else {
        same = (text ?? b.toString('latin1', s, e)) === (other ?? b.toString('latin1', this.#ln[j]!, this.#lnEnd[j]!));
      }
      if (same) this.#fail(`duplicate label names for metric ${JSON.stringify(this.#cur?.name ?? '')}`);
    }
    this.#ln[k] = s;
    this.#lnEnd[k] = e;
    this.#lnText[k] = text;
    this.#labelCount = k + 1;
  }

  /**
   * A label value from just after its opening quote: escapes \\, \" and \n,
   * no raw newline, valid UTF-8 (Go checks). Sets #end to the closing quote,
   * and #text to the unescaped value when there were escapes.
   */
  #labelValue(p: number): void {
    const b = this.#b;
    const n = this.#n;
    const start = p;
    let escapes = 0;
    let high = false;
    for (;;) {
      let c = b[p]!;
      // Plain ASCII runs first: most values are nothing else.
      while (c !== QUOTE && c !== BACKSLASH && c !== NL && c < 128 && p < n) c = b[++p]!;
      if (p >= n) this.#eof();
      if (c === QUOTE) break;
      if (c === NL) this.#fail(`label value ${JSON.stringify(b.toString('latin1', start, p))} contains unescaped new-line`);
      if (c === BACKSLASH) {
        if (p + 1 >= n) this.#eof();
        const e = b[p + 1]!;
        if (e !== BACKSLASH && e !== QUOTE && e !== 110) this.#fail(`invalid escape sequence '\\${String.fromCharCode(e)}'`);
        escapes++;
        p += 2;
        continue;
      }
      if (c > 127) high = true;
      p++;
    }
    const max = this.#limits.labelValueLengthLimit;
    if (max > 0 && p - start - escapes > max) {
      this.#fail(`label value of ${p - start - escapes} bytes, over the limit of ${max} (label_value_length_limit)`, 'label_value_length_limit');
    }
    let text: string | undefined;
    if (escapes > 0) {
      text = '';
      for (let i = start; i < p; i++) {
        let c = b[i]!;
        if (c === BACKSLASH) c = b[++i] === 110 ? NL : b[i]!;
        text += String.fromCharCode(c);
      }
    }
    if (high && !isUtf8(text === undefined ? b.subarray(start, p) : Buffer.from(text, 'latin1'))) {
      this.#fail(`invalid label value ${JSON.stringify(b.toString('utf8', start, p))} (not UTF-8)`);
    }
    this.#end = p;
    this.#text = text;
  }

  /** Go's readingValue and startTimestamp; p is at the value's first byte. Returns the start of the next line. */
  #value(p: number, ns: number, ne: number, lb: number, rb: number): number {
    const b = this.#b;
    const n = this.#n;
    const f = this.#cur!;
    const metric = this.#groupMetric(f);
    const vs = p;
    while (p < n && b[p] !== SP && b[p] !== TAB && b[p] !== NL) p++;
    if (p >= n) this.#eof();
    const ve = p;
    const v = parseGoFloat(b, vs, ve);
    const asGoWrites = goFloatTextIsCanonical;
    if (v === undefined) this.#fail(`expected float as value, got ${JSON.stringify(b.toString('latin1', vs, ve))}`);
    // Go's parser sets an error for a gauge histogram's sample and carries on (the next line overwrites it);
    // its encoder then refuses the family, which the model leaves out.
    if (f.type === 'gauge_histogram') this.canonical = false;
    let ts = -1;
    let te = -1;
    if (b[p] !== NL) {
      const q = p;
      p = this.#blanks(p);
      ts = p;
      while (p < n && b[p] !== SP && b[p] !== TAB && b[p] !== NL) p++;
      if (p >= n) this.#eof();
      te = p;
      const t = parseGoInt(b, ts, te);
      if (t === undefined) this.#fail(`expected integer as timestamp, got ${JSON.stringify(b.toString('latin1', ts, te))}`);
      if (ts !== q + 1 || b[q] !== SP || !isGoIntText(b, ts, te)) this.canonical = false;
      // After the timestamp Go reads to the line's end dropping backslashes: anything else is an error.
      const e = this.#lineEnd(p);
      for (let i = p; i < e; i++) if (b[i] !== BACKSLASH) this.#fail(`spurious string after timestamp: ${JSON.stringify(b.toString('latin1', p, e).replaceAll('\\', ''))}`);
      if (e > p) this.canonical = false;
      // Exact beyond 2^53, where Go's int64 and a double part.
      if (metric) metric.timestampMs = Number.isSafeInteger(t) ? t : BigInt(b.toString('latin1', ts, te));
    }
    if (metric) this.#store(f, metric, v);
    this.#samples++;
    const limit = this.#limits.sampleLimit;
    if (limit > 0 && this.#samples > limit) this.#fail(`more than ${limit} samples (sample_limit)`, 'sample_limit');
    if (this.#trusted) this.canonical = true;
    else if (!asGoWrites) this.canonical = false;
    // (The model needs no index: what is canonical does not matter to it.)
    else if (this.canonical && !this.#model && (f.type === 'histogram' || f.type === 'summary')) this.#series(f, lb, rb, v, ts, te);
    if (this.canonical && !this.#model) this.#record(f, ns, ne, lb, rb, vs, ve, ts, te);
    return p + 1;
  }

  /** Model mode: the metric this line feeds (Go: a histogram/summary line joins the metric of its label set). */
  #groupMetric(f: Fam): MetricBuild | undefined {
    if (!this.#model) return undefined;
    let m = this.#metric!;
    if (f.type === 'summary' || f.type === 'histogram') {
      // No map yet (a '{' line whose name is inside the braces, after a line that made none): Go reads its nil map as empty.
      const key = (f.type === 'summary' ? 's' : 'h') + (this.#sig ? signature(this.#sig) : '');
      const had = this.#groups.get(key);
      if (had) m = this.#metric = had;
      else {
        this.#groups.set(key, m);
        f.metrics!.push(m);
      }
    } else {
      f.metrics!.push(m);
    }
    return m;
  }

  /** Model mode: the value goes where Go puts it (a family without a type yet counts as a counter there, as GetType() says). */
  #store(f: Fam, m: MetricBuild, v: number): void {
    switch (f.type ?? 'counter') {
      case 'summary': {
        const s = (m.summary ??= { quantiles: [], sum: 0, count: 0 });
        if (this.#role === ROLE_COUNT) s.count = goUint64(v);
        else if (this.#role === ROLE_SUM) s.sum = v;
        else if (this.#quantile === this.#quantile) s.quantiles.push({ quantile: this.#quantile, value: v });
        break;
      }
      case 'histogram': {
        const h = (m.histogram ??= { buckets: [], sum: 0, count: 0 });
        if (this.#role === ROLE_COUNT) h.count = goUint64(v);
        else if (this.#role === ROLE_SUM) h.sum = v;
        else if (this.#bucket === this.#bucket) h.buckets.push({ upperBound: this.#bucket, cumulativeCount: goUint64(v) });
        break;
      }
      case 'counter':
        m.counter = v;
        break;
      case 'gauge':
        m.gauge = v;
        break;
      case 'untyped':
        m.untyped = v;
        break;
      case 'gauge_histogram':
        break;
    }
  }

  /**
   * Whether this histogram or summary line is where Go's encoder writes it:
   * a series is its buckets (or quantiles), then _sum, then _count, all with
   * the same labels and timestamp, and counts are whole numbers.
   */
  #series(f: Fam, lb: number, rb: number, v: number, ts: number, te: number): void {
    const b = this.#b;
    const type = f.type;
    const role = this.#role;
    const hasSpecial = this.#ss >= 0;
    // A histogram's buckets are <name>_bucket{…,le=…}, a summary's quantiles <name>{…,quantile=…}; _sum/_count carry neither.
    const sampleOk = type === 'histogram' ? role === ROLE_BUCKET : role === ROLE_OWN;
    if (hasSpecial ? !sampleOk : role !== ROLE_SUM && role !== ROLE_COUNT) {
      this.canonical = false;
      return;
    }
    const integral = role === ROLE_COUNT || (type === 'histogram' && role === ROLE_BUCKET);
    if (integral && goUint64(v) !== v) {
      this.canonical = false;
      return;
    }
    // The series' labels: the block less the trailing le/quantile pair.
    const ls = lb < 0 ? 0 : lb + 1;
    const le = lb < 0 ? 0 : hasSpecial ? Math.max(ls, this.#ss - 1) : rb;
    let s = f.open;
    if (s && s.stage === 2) s = f.open = undefined;
    if (s && !(le - ls === s.le - s.ls && sameRun(this.#v, b, s.ls, ls, le - ls))) {
      this.canonical = false; // a series ended before its _sum and _count
      return;
    }
    if (!s) {
      // Go writes a histogram's buckets (+Inf at least) first; a summary may have no quantiles.
      if (!hasSpecial && (type === 'histogram' || role !== ROLE_SUM)) {
        this.canonical = false;
        return;
      }
      const sig = blockIdentity(b, ls, le);
      f.seen ??= new Set();
      if (f.seen.has(sig)) {
        this.canonical = false; // the series comes back: Go joins it with the first
        return;
      }
      f.seen.add(sig);
      s = f.open = f.series ??= { ls, le, ts, te, stage: 0, infSeen: false };
      s.ls = ls;
      s.le = le;
      s.ts = ts;
      s.te = te;
      s.stage = 0;
      s.infSeen = false;
    }
    if (!(ts < 0 ? s.ts < 0 : s.ts >= 0 && te - ts === s.te - s.ts && sameRun(this.#v, b, s.ts, ts, te - ts))) {
      this.canonical = false; // Go writes one timestamp on every line of a series
      return;
    }
    if (hasSpecial) {
      if (s.stage !== 0) this.canonical = false;
      else if (type === 'histogram' && this.#bucket === Infinity) s.infSeen = true;
    } else if (role === ROLE_SUM) {
      if (s.stage !== 0 || (type === 'histogram' && !s.infSeen)) this.canonical = false;
      else s.stage = 1;
    } else if (s.stage !== 1) {
      this.canonical = false;
    } else {
      s.stage = 2;
    }
  }

  #record(f: Fam, ns: number, ne: number, lb: number, rb: number, vs: number, ve: number, ts: number, te: number): void {
    if (this.#openFam !== f) {
      this.#closeRun();
      this.#openFam = f;
      this.#openStart = this.#r;
    }
    const hasSpecial = this.#ss >= 0 && (f.type === 'histogram' || f.type === 'summary');
    const is = lb < 0 ? -1 : lb + 1;
    const ke = lb < 0 ? -1 : hasSpecial ? this.#ss - 1 : rb;
    const inner = is >= 0 && ke > is;
    const ss = hasSpecial ? this.#ss : -1;
    const se = hasSpecial ? this.#se : 0;
    const r = this.#r;
    // Every part follows the name and ends by the value's end, or the timestamp's.
    if (this.#rec === undefined && (ts < 0 ? ve : te) - ns < NONE16) {
      const at = r * NARROW;
      let out = this.#narrow;
      if (at + NARROW > out.length) out = this.#narrow = scratch16 = grown16(out);
      out[at] = ns & 0xffff;
      out[at + 1] = ns >>> 16;
      out[at + 2] = ne - ns;
      out[at + 3] = inner ? is - ns : NONE16;
      out[at + 4] = inner ? ke - ns : 0;
      out[at + 5] = hasSpecial ? ss - ns : NONE16;
      out[at + 6] = hasSpecial ? se - ns : 0;
      out[at + 7] = vs - ns;
      out[at + 8] = ve - ns;
      out[at + 9] = ts < 0 ? NONE16 : ts - ns;
      out[at + 10] = ts < 0 ? 0 : te - ns;
    } else {
      const at = r * REC;
      let rec = this.#rec ?? this.#widen();
      if (at + REC > rec.length) rec = this.#rec = scratch = grown(rec);
      rec[at + R_NS] = ns;
      rec[at + R_NE] = ne;
      rec[at + R_IS] = inner ? is : -1;
      rec[at + R_KE] = inner ? ke : 0;
      rec[at + R_SS] = ss;
      rec[at + R_SE] = se;
      rec[at + R_VS] = vs;
      rec[at + R_VE] = ve;
      rec[at + R_TS] = ts;
      rec[at + R_TE] = ts < 0 ? 0 : te;
    }
    this.#r = r + 1;
  }

  /** Ends the run of records of the family that had the last samples. */
  #closeRun(): void {
    const f = this.#openFam;
    if (f === undefined) return;
    const at = this.#nSegs * 3;
    if (at + 3 > segScratch.length) segScratch = grown(segScratch);
    segScratch[at] = f.ord;
    segScratch[at + 1] = this.#openStart;
    segScratch[at + 2] = this.#r;
    this.#nSegs++;
    f.nsegs++;
  }

  /** Switches the index to 32-bit records, those written so far included. */
  #widen(): Int32Array {
    const records = this.#r;
    let rec = scratch;
    while (rec.length < (records + 1) * REC) rec = new Int32Array(rec.length * 2);
    const narrow = this.#narrow;
    for (let r = 0; r < records; r++) {
      const o = r * NARROW;
      const at = r * REC;
      const ns = narrow[o]! + narrow[o + 1]! * 0x10000;
      const di = narrow[o + 3]!;
      const ds = narrow[o + 5]!;
      const dt = narrow[o + 9]!;
      rec[at + R_NS] = ns;
      rec[at + R_NE] = ns + narrow[o + 2]!;
      rec[at + R_IS] = di === NONE16 ? -1 : ns + di;
      rec[at + R_KE] = di === NONE16 ? 0 : ns + narrow[o + 4]!;
      rec[at + R_SS] = ds === NONE16 ? -1 : ns + ds;
      rec[at + R_SE] = ds === NONE16 ? 0 : ns + narrow[o + 6]!;
      rec[at + R_VS] = ns + narrow[o + 7]!;
      rec[at + R_VE] = ns + narrow[o + 8]!;
      rec[at + R_TS] = dt === NONE16 ? -1 : ns + dt;
      rec[at + R_TE] = dt === NONE16 ? 0 : ns + narrow[o + 10]!;
    }
    return (this.#rec = scratch = rec);
  }

  #blanks(p: number): number {
    const b = this.#b;
    while (p < this.#n && (b[p] === SP || b[p] === TAB)) p++;
    if (p >= this.#n) this.#eof();
    return p;
  }

  /** The newline ending the line at or after p. */
  #lineEnd(p: number): number {
    const e = this.#b.indexOf(NL, p);
    if (e < 0) this.#eof();
    return e;
  }

  /**
   * The model mode's result: Go's families with their metrics, less what
   * Go's encoder would refuse to write (and cut upstream's /metrics short
   * at): families without samples or a name, gauge histograms, and a family
   * holding a metric without a value of its type.
   */
  families(): MetricFamily[] {
    const out: MetricFamily[] = [];
    this.sourceNames.length = 0;
    for (const f of this.#order) {
      const ms = f.metrics!;
      if (ms.length === 0 || f.type === 'gauge_histogram' || f.name === '') continue;
      const type = f.type ?? 'counter';
      const metrics: Metric[] = [];
      for (const m of ms) {
        const ts = m.timestampMs === undefined ? {} : { timestampMs: m.timestampMs };
        const labels = escapeLabelNames(m.labels);
        const value = type === 'counter' ? m.counter : type === 'gauge' ? m.gauge : m.untyped;
        if (type === 'histogram' && m.histogram) metrics.push({ kind: 'histogram', labels, ...m.histogram, ...ts });
        else if (type === 'summary' && m.summary) metrics.push({ kind: 'summary', labels, ...m.summary, ...ts });
        else if (type !== 'histogram' && type !== 'summary' && value !== undefined) metrics.push({ kind: 'scalar', labels, value, ...ts });
        else break;
      }
      if (metrics.length < ms.length) continue;
      this.sourceNames.push(f.name);
      const help = this.#helpOf(f);
      out.push({ name: escapeName(f.name), type, ...(help !== undefined && { help: unescapeHelp(help) }), metrics });
    }
    this.#release();
    return out;
  }

  #helpOf(f: Fam): Buffer | undefined {
    return f.hs < 0 ? undefined : (f.helpCopy ?? this.#b.subarray(f.hs, f.he));
  }

  /** The names of families()' families as Go's parser read them (unescaped). */
  readonly sourceNames: string[] = [];

  /** Record mode's result; `prefixOf` gets each family's name and its place among the body's families. */
  finish(prefixOf: ((name: string, k: number) => string) | undefined, normalized: boolean): ScannedBody {
    this.#closeRun();
    const kept: Fam[] = [];
    for (let k = 0; k < this.#order.length; k++) {
      const f = this.#order[k]!;
      if (f.nsegs === 0) continue; // Go drops families without samples
      this.#head(f, prefixOf?.(f.name, k) ?? '');
      f.rank = kept.length;
      kept.push(f);
    }
    kept.sort(byHeadName);
    // The runs grouped by family in name order, each family's in body order: a counting sort.
    const order = new Uint32Array(kept.length);
    const runStarts = new Int32Array(kept.length + 1);
    let o = 0;
    for (let k = 0; k < kept.length; k++) {
      const f = kept[k]!;
      order[f.rank] = k;
      f.rank = k;
      f.at = runStarts[k] = o;
      o += f.nsegs * 3;
    }
    runStarts[kept.length] = o;
    const runs = new Int32Array(o);
    for (let j = 0; j < this.#nSegs * 3; j += 3) {
      const f = this.#order[segScratch[j]!]!;
      const at = f.at;
      runs[at] = f.rank;
      runs[at + 1] = segScratch[j + 1]!;
      runs[at + 2] = segScratch[j + 2]!;
      f.at = at + 3;
    }
    const rec = this.#rec === undefined ? this.#narrow.slice(0, this.#r * NARROW) : this.#rec.slice(0, this.#r * REC);
    // A huge body's records are not kept around for the next one.
    if (scratch.length > SCRATCH_KEEP) scratch = new Int32Array(SCRATCH_KEEP);
    if (scratch16.length > SCRATCH_KEEP16) scratch16 = new Uint16Array(SCRATCH_KEEP16);
    if (segScratch.length > SEGS_KEEP) segScratch = new Int32Array(SEGS_KEEP);
    const body = this.#b;
    this.#release();
    return { body, rec, heads: kept.map(headOf), runs, runStarts, order, samples: this.#r, normalized };
  }

  /**
   * Sets f.head: the `# HELP`/`# TYPE` lines with the final name, as Go
   * writes them. The one the family had is kept while it still fits, so
   * every sandbox whose shim writes a family shares its head: 300 sandboxes
   * bring ~70 distinct heads, not 21,000.
   */
  #head(f: Fam, prefix: string): void {
    const type = f.type as MetricType;
    const h = f.head;
    const help = f.headHelp;
    if (h !== undefined && h.type === type && f.headPrefix === prefix) {
      if (f.hs < 0 ? help === undefined : help !== undefined && (f.helpCopy ? help.equals(f.helpCopy) : this.#b.compare(help, 0, help.length, f.hs, f.he) === 0)) return;
    }
    const full = prefix + f.name;
    const bytes = this.#helpOf(f);
    const kept = bytes && Buffer.from(bytes);
    f.headPrefix = prefix;
    f.headHelp = kept;
    f.head = {
      name: full,
      type,
      help: kept === undefined ? undefined : unescapeLabelValue(kept, 0, kept.length),
      header: Buffer.concat([
        kept === undefined ? EMPTY : Buffer.concat([Buffer.from(`# HELP ${full} `, 'latin1'), kept, NEWLINE]),
        Buffer.from(`# TYPE ${full} ${type}\n`, 'latin1'),
      ]),
      prefix: prefix === '' ? EMPTY : Buffer.from(prefix, 'latin1'),
    };
  }
}

const headOf = (f: Fam): FamilyHead => f.head!;
const byHeadName = (a: Fam, b: Fam): number => (a.head!.name < b.head!.name ? -1 : a.head!.name > b.head!.name ? 1 : 0);

/** Go's LabelsToSignature, as a key: the labels sorted by name, length-prefixed so that no value forges another set. */
function signature(labels: ReadonlyMap<string, string>): string {
  let key = '';
  for (const name of [...labels.keys()].sort()) {
    const v = labels.get(name)!;
    key += `${name.length}:${name}=${v.length}:${v};`;
  }
  return key;
}

/**
 * A canonical label block's identity regardless of the order of its pairs
 * (as Go's grouping signature): a sum of per-pair hashes. Two series taken
 * for one by a collision only send the body down the slower exact path.
 */
function blockIdentity(b: Buffer, s: number, e: number): number {
  let sum = 0;
  for (let i = s; i < e; ) {
    const ve = labelValueEnd(b, labelNameEnd(b, i, e) + 2, e);
    sum = (sum + hashBytes(b, i, ve + 1)) % 2 ** 52;
    i = ve + 2;
  }
  return sum;
}

/**
 * The role of a name that is family `f`'s name followed by b[s, e), by Go's
 * rules when no family has that name itself (no sibling family): -1 when it
 * is not one of f's samples.
 */
function suffixRole(b: Buffer, f: Fam, s: number, e: number): number {
  const n = e - s;
  if (n === 0) return ROLE_OWN;
  const t = f.type;
  if (t !== 'summary' && t !== 'histogram') return -1;
  if (b[s] !== 95 /* _ */) return -1;
  if (n === 4 && b[s + 1] === 115 && b[s + 2] === 117 && b[s + 3] === 109) return ROLE_SUM;
  if (n === 6 && b[s + 1] === 99 && b[s + 2] === 111 && b[s + 3] === 117 && b[s + 4] === 110 && b[s + 5] === 116) return ROLE_COUNT;
  if (n === 7 && t === 'histogram' && b[s + 1] === 98 && b[s + 2] === 117 && b[s + 3] === 99 && b[s + 4] === 107 && b[s + 5] === 101 && b[s + 6] === 116) return ROLE_BUCKET;
  return -1;
}

/** Whether b[as, as + len) and b[bs, bs + len), both within the body, hold the same bytes: compared four at a time. */
function sameRun(v: DataView, b: Buffer, as: number, bs: number, len: number): boolean {
  let k = 0;
  for (; k + 4 <= len; k += 4) if (v.getUint32(as + k) !== v.getUint32(bs + k)) return false;
  for (; k < len; k++) if (b[as + k] !== b[bs + k]) return false;
  return true;
}

/** A legacy name ([a-zA-Z_:][a-zA-Z0-9_:]*) as it is; any other as Go's underscore escaping writes it (per rune). */
function escapeName(name: string): string {
  let legacy = name.length > 0;
  for (let i = 0; legacy && i < name.length; i++) {
    const c = name.charCodeAt(i);
    legacy = i === 0 ? isMetricNameStart(c) : isMetricNameChar(c);
  }
  if (legacy || name === '') return name;
  let out = '';
  let i = 0;
  for (const ch of Buffer.from(name, 'latin1').toString('utf8')) {
    const c = ch.codePointAt(0)!;
    out += (i === 0 ? isMetricNameStart(c) : isMetricNameChar(c)) && c < 128 ? ch : '_';
    i++;
  }
  return out;
}

function escapeLabelNames(labels: readonly Label[]): Label[] {
  return labels.map((l) => {
    const name = escapeName(l.name);
    return name === l.name ? l : { name, value: l.value };
  });
}

/** The model's HELP is the text as Go holds it (escapes undone); the head's bytes keep \\ and \n escaped. */
function unescapeHelp(raw: Buffer): string {
  const s = raw.toString('latin1');
  return s.includes('\\') ? s.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c)) : s;
}

const NEWLINE = Buffer.from('\n');

// ---------------------------------------------------------------- the index

/**
 * The index a snapshot keeps: per sample the name's start as two uint16
 * (low, high) and nine uint16 offsets from it (NONE16: absent). 22 bytes a
 * sample instead of 40. A body with a sample line of 64 KiB or more keeps
 * the int32 layout.
 */
export const NARROW = 11;
export const NONE16 = 0xffff;

/** Scratch records: 8,192 samples' worth (a shim body has ~900) is kept between bodies, in either layout. */
const SCRATCH_KEEP = 8192 * REC;
const SCRATCH_KEEP16 = 8192 * NARROW;
let scratch: Int32Array = new Int32Array(SCRATCH_KEEP);
let scratch16: Uint16Array = new Uint16Array(SCRATCH_KEEP16);
/** Runs of records as (family's place in the body order, from, to), in body order. */
const SEGS_KEEP = 1024 * 3;
let segScratch: Int32Array = new Int32Array(SEGS_KEEP);

function grown(rec: Int32Array): Int32Array {
  const next = new Int32Array(rec.length * 2);
  next.set(rec);
  return next;
}

function grown16(rec: Uint16Array): Uint16Array {
  const next = new Uint16Array(rec.length * 2);
  next.set(rec);
  return next;
}
