// Prometheus text format 0.0.4 parser with the acceptance rules of Go's
// expfmt.TextParser (prometheus/common v0.62), which is what kata-monitor runs
// on every shim body. It is a hand-written scanner over char codes (a typed
// array copy of the text, see charCodes): a push cycle parses megabytes, so
// the hot path slices only what it keeps and reuses strings that repeat from
// the previous line, or from the previous parse of the same shim (reparseText).
//
// Deliberate differences from Go, all stricter, none silent:
// - a histogram/summary sample that is neither _sum, _count nor carries
//   `le`/`quantile` is an error (Go drops its value without a word);
// - a repeated `le`/`quantile` label is a duplicate label (Go lets the last win);
// - quoted UTF-8 names (`{"name"}`, `{"label"="v"}`) are rejected: no shim
//   writes them and the encoders only produce legacy names.

import { decimalAt } from './decimal.ts';
import { Buffer } from 'node:buffer';
import { endianness } from 'node:os';
import type { Bucket, Label, MetricFamily, MetricType, Quantile } from './model.ts';
import { BACKSLASH, COMMA, DOT, EQ, HASH, LBRACE, MINUS, NL, PLUS, QUOTE, RBRACE, SP, TAB, isLabelNameChar, isLabelNameStart, isMetricNameChar, isMetricNameStart } from './chars.ts';

/** Malformed text: `line` is 1-based, the message names the line and the fault. */
export class ParseError extends Error {
  readonly line: number;
  constructor(line: number, detail: string) {
    super(`line ${line}: ${detail}`);
    this.name = 'ParseError';
    this.line = line;
  }
}


// Go's TYPE values (matched case-insensitively, as Go upper-cases the token).
// gauge_histogram is a valid TYPE there but no sample of it can be parsed.
type DeclaredType = MetricType | 'gauge_histogram';
const TYPES: ReadonlyMap<string, DeclaredType> = new Map<string, DeclaredType>([
  ['COUNTER', 'counter'],
  ['GAUGE', 'gauge'],
  ['SUMMARY', 'summary'],
  ['UNTYPED', 'untyped'],
  ['HISTOGRAM', 'histogram'],
  ['GAUGE_HISTOGRAM', 'gauge_histogram'],
]);

// Mutable twins of the model's readonly shapes, filled while parsing.
interface ScalarBuild {
  kind: 'scalar';
  labels: readonly Label[];
  value: number;
  timestampMs?: number;
}
interface HistogramBuild {
  kind: 'histogram';
  labels: readonly Label[];
  buckets: Bucket[];
  sum: number;
  count: number;
  timestampMs?: number;
}
interface SummaryBuild {
  kind: 'summary';
  labels: readonly Label[];
  quantiles: Quantile[];
  sum: number;
  count: number;
  timestampMs?: number;
}
type GroupBuild = HistogramBuild | SummaryBuild;

interface FamilyBuild {
  name: string;
  help: string | undefined;
  type: DeclaredType | undefined;
  metrics: (ScalarBuild | GroupBuild)[];
  /** Histogram/summary metrics by label set (le/quantile excluded), as Go groups them. */
  groups: Map<string, GroupBuild> | undefined;
  /** The group the previous line went to: consecutive lines usually share it. */
  lastGroup: GroupBuild | undefined;
  /** This family in the previous parse of the same source, if given. */
  before: MetricFamily | undefined;
}

/** What a sample's name resolves to: its family and which series it feeds. */
const ROLE_PLAIN = 0;
const ROLE_SUM = 1;
const ROLE_COUNT = 2;


/**
 * Parses a text 0.0.4 body into families in order of first appearance.
 * Families without samples are dropped, as Go does. Throws ParseError.
 */
export function parseText(text: string): MetricFamily[] {
  return parse(text, undefined);
}

/**
 * parseText for a source parsed before (a shim writes the same series in the
 * same order every time): a metric whose labels equal those of the metric at
 * the same place in `previous` gets that labels array, and its label values
 * those strings, instead of new copies. The result is equal either way; this
 * one is made with about a quarter less garbage, and the translator then
 * recognises an unchanged series by its labels array (measured: ~10 ms less
 * CPU per 100-sandbox push, though reparsing alone is no faster).
 */
export function reparseText(text: string, previous: readonly MetricFamily[]): MetricFamily[] {
  return parse(text, previous);
}

function parse(text: string, previous: readonly MetricFamily[] | undefined): MetricFamily[] {
  const len = text.length;
  const codes = charCodes(text);
  // A plain decimal of more than 15 digits: Number() reads it; overflow is Go's ErrRange, worded by the general path.
  const longDecimal = (start: number, end: number): number => {
    const v = Number(text.slice(start, end));
    return v === Infinity || v === -Infinity ? NaN : v;
  };
  const before = previous && new Map(previous.map((f) => [f.name, f]));
  const byName = new Map<string, FamilyBuild>();
  const order: FamilyBuild[] = [];
  let line = 0;
  let pos = 0;

  // The last few raw sample names → family and role, so that a histogram's
  // _bucket/_sum/_count cycle resolves without slicing. Comment lines can
  // change how a name resolves (a TYPE makes foo_sum part of foo), so they
  // clear it.
  const CACHE = 4;
  const cacheStart: number[] = new Array<number>(CACHE).fill(0);
  const cacheLen: number[] = new Array<number>(CACHE).fill(-1);
  const cacheFam: (FamilyBuild | undefined)[] = new Array<FamilyBuild | undefined>(CACHE).fill(undefined);
  const cacheRole: number[] = new Array<number>(CACHE).fill(ROLE_PLAIN);
  let cacheSize = 0;
  let cacheNext = 0;
  let lastRole = ROLE_PLAIN;

  // The previous sample's name: most lines repeat it, and comparing against
  // it while scanning checks the name in one pass (-1: none to compare with).
  let prevNameStart = 0;
  let prevNameLen = -1;
  let prevFam: FamilyBuild | undefined;
  let prevRole = ROLE_PLAIN;

  // Label scratch for the current line (cur) and the previous one (prev),
  // swapped per line: a name or value the previous line had at the same
  // index is reused when the text repeats it (it mostly does).
  let cur = newScratch();
  let prev = newScratch();
  /** The labels of the last scalar sample: repeated Label objects are shared, not copied. */
  let lastLabels: readonly Label[] = [];

  function fail(detail: string): never {
    throw new ParseError(line, detail);
  }
  function eof(): never {
    throw new ParseError(line, 'unexpected end of input (the last line must end with a newline)');
  }

  function familyFor(name: string): FamilyBuild {
    let f = byName.get(name);
    if (f === undefined) {
      const was = before?.get(name);
      // The previous parse's name: what the result keeps should not hold on to this text.
      f = { name: was?.name ?? name, help: undefined, type: undefined, metrics: [], groups: undefined, lastGroup: undefined, before: was };
      byName.set(name, f);
      order.push(f);
    }
    return f;
  }

  /** The family of the sample name text[start, end), its role in lastRole: the recent names first, then Go's rules. */
  function resolveAt(start: number, end: number): FamilyBuild {
    const n = end - start;
    for (let k = 0; k < cacheSize; k++) {
      if (cacheLen[k] === n && sameAt(codes, start, cacheStart[k] as number, n)) {
        lastRole = cacheRole[k] as number;
        return cacheFam[k] as FamilyBuild;
      }
    }
    const fam = resolveUncached(own(text.slice(start, end)));
    cacheStart[cacheNext] = start;
    cacheLen[cacheNext] = n;
    cacheFam[cacheNext] = fam;
    cacheRole[cacheNext] = lastRole;
    cacheNext = (cacheNext + 1) % CACHE;
    if (cacheSize < CACHE) cacheSize++;
    return fam;
  }

  function resolveUncached(name: string): FamilyBuild {
    lastRole = ROLE_PLAIN;
    const exact = byName.get(name);
    if (exact !== undefined) return exact;
    const n = name.length;
    const isCount = n > 6 && name.endsWith('_count');
    const isSum = !isCount && n > 4 && name.endsWith('_sum');
    if (isCount || isSum) {
      const base = byName.get(name.slice(0, n - (isCount ? 6 : 4)));
      if (base !== undefined && (base.type === 'summary' || base.type === 'histogram')) {
        lastRole = isCount ? ROLE_COUNT : ROLE_SUM;
        return base;
      }
    } else if (n > 7 && name.endsWith('_bucket')) {
      const base = byName.get(name.slice(0, n - 7));
      if (base !== undefined && base.type === 'histogram') return base;
    }
    return familyFor(name);
  }

  /** Go's strconv.ParseFloat(s, 64) minus hex/underscore forms (expfmt rejects p, P, _). */
  function parseGoFloat(s: string): number | undefined {
    const n = s.length;
    if (n === 0) return undefined;
    let i = 0;
    let c = s.charCodeAt(0);
    const signed = c === PLUS || c === MINUS;
    if (signed) {
      i = 1;
      c = s.charCodeAt(1);
    }
    if (c === 73 || c === 105 /* I i */) {
      const rest = s.slice(i).toLowerCase();
      if (rest === 'inf' || rest === 'infinity') return s.charCodeAt(0) === MINUS ? -Infinity : Infinity;
      return undefined;
    }
    if (c === 78 || c === 110 /* N n */) {
      return !signed && s.toLowerCase() === 'nan' ? NaN : undefined;
    }
    let digits = 0;
    while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
      i++;
      digits++;
    }
    if (i < n && s.charCodeAt(i) === DOT) {
      i++;
      while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) {
        i++;
        digits++;
      }
    }
    if (digits === 0) return undefined;
    if (i < n && (s.charCodeAt(i) | 0x20) === 101 /* e */) {
      i++;
      if (i < n && ((c = s.charCodeAt(i)) === PLUS || c === MINUS)) i++;
      const expStart = i;
      while (i < n && (c = s.charCodeAt(i)) >= 48 && c <= 57) i++;
      if (i === expStart) return undefined;
    }
    if (i !== n) return undefined;
    const v = Number(s);
    // Go reports overflow as an error (ErrRange); underflow to 0 is fine.
    return v === Infinity || v === -Infinity ? undefined : v;
  }

  /** Go's strconv.ParseInt(s, 10, 64). */
  function parseTimestamp(s: string): number | undefined {
    const n = s.length;
    let i = 0;
    const c0 = s.charCodeAt(0);
    if (c0 === PLUS || c0 === MINUS) i = 1;
    if (i === n) return undefined;
    for (let j = i; j < n; j++) {
      const c = s.charCodeAt(j);
      if (c < 48 || c > 57) return undefined;
    }
    if (n - i > 18) {
      const big = BigInt(s);
      if (big > 9223372036854775807n || big < -9223372036854775808n) return undefined;
    }
    return Number(s);
  }

  /** An `le` or `quantile` label's value as a float, or the error naming it. */
  function specialFloat(lname: string, lvalue: string): number {
    const f = parseGoFloat(lvalue);
    if (f === undefined) fail(`expected float as value for '${lname}' label, got "${lvalue}"`);
    return f;
  }

  /**
   * Reads a label value starting after its opening quote; leaves pos after
   * the closing quote. Returns an existing string rather than a new slice
   * when the text repeats it: `like` (the previous parse's value, if any) or
   * the previous line's value at index `k` (-1: none).
   */
  function readLabelValue(k: number, like?: string): string {
    const start = pos;
    let p = pos;
    let c = 0;
    while (p < len) {
      c = codes[p]!;
      if (c === QUOTE || c === BACKSLASH || c === NL) break;
      p++;
    }
    pos = p;
    if (p >= len) eof();
    if (c === QUOTE) {
      const n = p - start;
      pos = p + 1;
      // A string with an escaped character never equals unescaped text: no false match.
      if (like !== undefined && like.length === n && text.startsWith(like, start)) return like;
      if (k >= 0 && k < prev.n) {
        const pv = prev.values[k] as string;
        if (pv.length === n && text.startsWith(pv, start)) return pv;
      }
      return own(text.slice(start, p));
    }
    if (c === NL) fail(`label value "${text.slice(start, pos)}" contains an unescaped new-line`);
    // Escapes present: the rare slow path.
    let out = text.slice(start, pos);
    for (;;) {
      if (pos >= len) eof();
      c = codes[pos]!;
      if (c === QUOTE) {
        pos++;
        return out;
      }
      if (c === NL) fail(`label value "${out}" contains an unescaped new-line`);
      if (c === BACKSLASH) {
        if (pos + 1 >= len) eof();
        const e = codes[pos + 1]!;
        if (e === BACKSLASH) out += '\\';
        else if (e === QUOTE) out += '"';
        else if (e === 110 /* n */) out += '\n';
        else fail(`invalid escape sequence '\\${text[pos + 1]}' in label value`);
        pos += 2;
      } else {
        const runStart = pos;
        while (pos < len && (c = codes[pos]!) !== QUOTE && c !== BACKSLASH && c !== NL) pos++;
        out += text.slice(runStart, pos);
      }
    }
  }

  function skipBlanks(): number {
    while (pos < len) {
      const c = codes[pos]!;
      if (c !== SP && c !== TAB) return c;
      pos++;
    }
    return eof();
  }

  function parseComment(): void {
    // pos is just after '#'.
    cacheSize = 0;
    prevNameLen = -1;
    let c = skipBlanks();
    if (c === NL) {
      pos++;
      return;
    }
    const kwStart = pos;
    while (pos < len && (c = codes[pos]!) !== SP && c !== TAB && c !== NL) pos++;
    if (pos >= len) eof();
    if (c === NL) {
      pos++;
      return;
    }
    const keyword = text.slice(kwStart, pos);
    if (keyword !== 'HELP' && keyword !== 'TYPE') {
      const nl = text.indexOf('\n', pos);
      if (nl < 0) eof();
      pos = nl + 1;
      return;
    }
    c = skipBlanks();
    const nameStart = pos;
    if (isMetricNameStart(c)) {
      pos++;
      while (pos < len && isMetricNameChar((c = codes[pos]!))) pos++;
      if (pos >= len) eof();
    } else if (c === QUOTE) {
      fail('quoted (UTF-8) metric names are not supported');
    }
    if (c === NL) {
      // "# HELP" / "# HELP foo" with nothing after: not an error in Go.
      pos++;
      return;
    }
    if (c !== SP && c !== TAB) fail(`invalid metric name in ${keyword} line`);
    const name = own(text.slice(nameStart, pos));
    const fam = resolveUncached(name);
    c = skipBlanks();
    if (c === NL) {
      pos++;
      return;
    }
    if (keyword === 'HELP') {
      if (fam.help !== undefined) fail(`second HELP line for metric name "${fam.name}"`);
      fam.help = readHelp(fam.before?.help);
    } else {
      if (fam.type !== undefined) {
        fail(`second TYPE line for metric name "${fam.name}", or TYPE reported after samples`);
      }
      const nl = text.indexOf('\n', pos);
      if (nl < 0) eof();
      const token = text.slice(pos, nl);
      const t = TYPES.get(token.toUpperCase());
      if (t === undefined) fail(`unknown metric type "${token}"`);
      fam.type = t;
      pos = nl + 1;
    }
  }

  /** Rest of a HELP line, with Go's escapes: \\, \n and \". */
  function readHelp(was: string | undefined): string {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) eof();
    if (was !== undefined && was.length === nl - pos && was.indexOf('\\') < 0 && text.startsWith(was, pos)) {
      pos = nl + 1;
      return was; // the previous parse's, written without escapes
    }
    const raw = own(text.slice(pos, nl));
    pos = nl + 1;
    if (raw.indexOf('\\') < 0) return raw;
    let out = '';
    for (let i = 0; i < raw.length; i++) {
      const ch = raw[i];
      if (ch !== '\\') {
        out += ch;
        continue;
      }
      const e = raw[++i];
      if (e === '\\') out += '\\';
      else if (e === 'n') out += '\n';
      else if (e === '"') out += '"';
      else fail(`invalid escape sequence '\\${e ?? ''}' in HELP`);
    }
    return out;
  }

  function parseSample(): void {
    const nameStart = pos;
    let c = codes[pos]!;
    let fam: FamilyBuild;
    let role: number;
    // The previous sample's name, compared while scanning: its characters
    // were checked then, so a match needs no class lookups (measured: ~5 %
    // less parse time on bench/otel.ts bodies).
    let p = nameStart;
    if (prevNameLen > 0) {
      const end = Math.min(len, nameStart + prevNameLen);
      const d = prevNameStart - nameStart;
      while (p < end && codes[p]! === codes[p + d]!) p++;
    }
    if (p - nameStart === prevNameLen && !isMetricNameChar((c = codes[p]!))) {
      fam = prevFam as FamilyBuild;
      role = prevRole;
    } else {
      if (p === nameStart) {
        if (!isMetricNameStart(c)) {
          if (c === LBRACE || c === QUOTE) fail('quoted (UTF-8) metric names are not supported');
          fail(`invalid metric name starting with "${text[pos]}"`);
        }
        p++;
      }
      while (p < len && isMetricNameChar((c = codes[p]!))) p++;
      fam = resolveAt(nameStart, p);
      role = lastRole;
      prevNameStart = nameStart;
      prevNameLen = p - nameStart;
      prevFam = fam;
      prevRole = role;
    }
    pos = p;
    if (pos >= len) eof();
    const nameLen = pos - nameStart;
    if (fam.type === undefined) fam.type = 'untyped';
    const type = fam.type;
    if (type === 'gauge_histogram') fail(`unexpected type gauge_histogram for metric name "${fam.name}"`);
    const isHistogram = type === 'histogram';
    const isSummary = type === 'summary';

    if (c === SP || c === TAB) c = skipBlanks();

    // The labels this sample likely has: those at its place in the previous parse.
    const likeLabels = fam.before !== undefined && !isHistogram && !isSummary ? fam.before.metrics[fam.metrics.length]?.labels : undefined;

    // Labels into the scratch; le/quantile go to `special`.
    const swap = prev;
    prev = cur;
    cur = swap;
    cur.n = 0;
    let special = NaN;
    let hasSpecial = false;
    if (c === LBRACE) {
      pos++;
      for (;;) {
        c = skipBlanks();
        if (c === RBRACE) {
          pos++;
          break;
        }
        const lnStart = pos;
        if (!isLabelNameStart(c)) {
          if (c === QUOTE) fail('quoted (UTF-8) label names are not supported');
          fail(`invalid label name for metric "${fam.name}"`);
        }
        p = pos + 1;
        while (p < len && isLabelNameChar((c = codes[p]!))) p++;
        pos = p;
        if (p >= len) eof();
        const lnLen = p - lnStart;
        const k = cur.n;
        let lname: string;
        const likeName = likeLabels?.[k]?.name;
        const prevName = k < prev.n ? prev.names[k] : undefined;
        if (likeName !== undefined && likeName.length === lnLen && text.startsWith(likeName, lnStart)) {
          lname = likeName;
        } else if (prevName !== undefined && prevName.length === lnLen && text.startsWith(prevName, lnStart)) {
          lname = prevName;
        } else {
          lname = own(text.slice(lnStart, p));
        }
        if (c === SP || c === TAB) c = skipBlanks();
        if (c !== EQ) fail(`expected '=' after label name "${lname}", found "${text[pos]}"`);
        pos++;
        if (lname === '__name__') fail('label name "__name__" is reserved');
        c = skipBlanks();
        if (c !== QUOTE) fail(`expected '"' at start of label value for "${lname}", found "${text[pos]}"`);
        pos++;
        // The value as written, for messages; undefined while only its offsets are known.
        let lvalue: string | undefined;
        const vStart = pos;
        if ((isHistogram && lname === 'le') || (isSummary && lname === 'quantile')) {
          p = pos;
          while (p < len && (c = codes[p]!) !== QUOTE && c !== BACKSLASH && c !== NL) p++;
          let f: number;
          if (p < len && c === QUOTE) {
            // No escapes: converted where it stands, sliced only for the general path.
            pos = p + 1;
            if (hasSpecial) fail(`duplicate label name "${lname}" for metric "${fam.name}"`);
            f = decimalAt(codes, vStart, p, longDecimal);
            if (Number.isNaN(f)) f = specialFloat(lname, (lvalue = text.slice(vStart, p)));
          } else {
            lvalue = readLabelValue(-1);
            if (hasSpecial) fail(`duplicate label name "${lname}" for metric "${fam.name}"`);
            f = specialFloat(lname, lvalue);
          }
          special = f;
          hasSpecial = true;
        } else {
          lvalue = readLabelValue(k, likeLabels?.[k]?.value);
          for (let j = 0; j < k; j++) {
            if (cur.names[j] === lname) fail(`duplicate label name "${lname}" for metric "${fam.name}"`);
          }
          cur.names[k] = lname;
          cur.values[k] = lvalue;
          cur.n = k + 1;
        }
        c = skipBlanks();
        if (c === COMMA) {
          pos++;
          continue;
        }
        if (c === RBRACE) {
          pos++;
          break;
        }
        fail(`unexpected "${text[pos]}" after label value "${lvalue ?? text.slice(vStart, pos - 1)}" (expected ',' or '}')`);
      }
      c = skipBlanks();
    }

    // The value: a plain decimal is converted in place (most are), anything
    // else (Inf, NaN, '+', long mantissas, errors) by the general path.
    const valStart = pos;
    p = pos;
    while (p < len && (c = codes[p]!) !== SP && c !== TAB && c !== NL) p++;
    pos = p;
    if (p >= len) eof();
    let value = decimalAt(codes, valStart, p, longDecimal);
    if (Number.isNaN(value)) {
      if (p === valStart) fail(`missing value for sample "${text.slice(nameStart, nameStart + nameLen)}"`);
      const token = text.slice(valStart, p);
      const f = parseGoFloat(token);
      if (f === undefined) {
        fail(`invalid value "${token}" for sample "${text.slice(nameStart, nameStart + nameLen)}"`);
      }
      value = f as number;
    }

    let timestamp: number | undefined;
    if (c !== NL) {
      c = skipBlanks();
      const tsStart = pos;
      while (pos < len && (c = codes[pos]!) !== SP && c !== TAB && c !== NL) pos++;
      if (pos >= len) eof();
      const token = text.slice(tsStart, pos);
      if (token === '') fail(`trailing whitespace after the value of sample "${text.slice(nameStart, nameStart + nameLen)}"`);
      timestamp = parseTimestamp(token);
      if (timestamp === undefined) {
        fail(`expected integer as timestamp, got "${token}" for sample "${text.slice(nameStart, nameStart + nameLen)}"`);
      }
      if (c !== NL) {
        const nl = text.indexOf('\n', pos);
        if (nl < 0) eof();
        fail(`spurious string after timestamp: "${text.slice(pos, nl)}"`);
      }
    }
    pos++; // the newline

    if (!isHistogram && !isSummary) {
      const labels = labelsOf(lastLabels, likeLabels);
      lastLabels = labels;
      const m: ScalarBuild =
        timestamp === undefined
          ? { kind: 'scalar', labels, value }
          : { kind: 'scalar', labels, value, timestampMs: timestamp };
      fam.metrics.push(m);
      return;
    }

    if (role === ROLE_PLAIN && !hasSpecial) {
      fail(
        `missing "${isHistogram ? 'le' : 'quantile'}" label on ${type} sample "${text.slice(nameStart, nameStart + nameLen)}"`,
      );
    }
    const g = groupFor(fam, isHistogram);
    if (timestamp !== undefined) g.timestampMs = timestamp;
    if (role === ROLE_COUNT) {
      g.count = Math.trunc(value); // Go stores uint64(value)
    } else if (role === ROLE_SUM) {
      g.sum = value;
    } else if (g.kind === 'histogram') {
      g.buckets.push({ upperBound: special, cumulativeCount: Math.trunc(value) });
    } else {
      g.quantiles.push({ quantile: special, value });
    }
  }

  /**
   * The current line's labels as model objects: `same` itself when they
   * equal it (the previous parse's, unchanged), else a new array in which
   * those equal to the label at the same index in `like` (the previous line's:
   * consecutive samples mostly repeat a label) are that object. The model is
   * readonly, so sharing saves allocations and changes nothing.
   */
  function labelsOf(like: readonly Label[], same: readonly Label[] | undefined): readonly Label[] {
    const n = cur.n;
    if (same !== undefined && same.length === n && isScratch(same)) return same;
    const labels: Label[] = new Array(n);
    for (let j = 0; j < n; j++) {
      const name = cur.names[j] as string;
      const value = cur.values[j] as string;
      const l = like[j];
      labels[j] = l !== undefined && l.name === name && l.value === value ? l : { name, value };
    }
    return labels;
  }

  /** Whether `labels` are the current line's. */
  function isScratch(labels: readonly Label[]): boolean {
    for (let j = 0; j < labels.length; j++) {
      const l = labels[j] as Label;
      if (l.name !== cur.names[j] || l.value !== cur.values[j]) return false;
    }
    return true;
  }

  /** The histogram/summary metric for the current line's label set (order-insensitive, as Go's signature). */
  function groupFor(fam: FamilyBuild, isHistogram: boolean): GroupBuild {
    const n = cur.n;
    const last = fam.lastGroup;
    if (last !== undefined && last.labels.length === n) {
      let same = true;
      for (let j = 0; j < n; j++) {
        const l = last.labels[j] as Label;
        if (l.name !== cur.names[j] || l.value !== cur.values[j]) {
          same = false;
          break;
        }
      }
      if (same) return last;
    }
    const key = signature();
    let groups = fam.groups;
    if (groups === undefined) groups = fam.groups = new Map();
    let g = groups.get(key);
    if (g === undefined) {
      const labels = labelsOf(last?.labels ?? [], fam.before?.metrics[fam.metrics.length]?.labels);
      g = isHistogram
        ? { kind: 'histogram', labels, buckets: [], sum: 0, count: 0 }
        : { kind: 'summary', labels, quantiles: [], sum: 0, count: 0 };
      groups.set(key, g);
      fam.metrics.push(g);
    }
    fam.lastGroup = g;
    return g;
  }

  function signature(): string {
    const { names, values, n } = cur;
    const idx = [...Array(n).keys()];
    idx.sort((a, b) => ((names[a] as string) < (names[b] as string) ? -1 : 1));
    let key = '';
    // Length-prefixed so that no value can forge another label set.
    for (const j of idx) key += `${names[j] as string}=${(values[j] as string).length}:${values[j] as string}`;
    return key;
  }

  while (pos < len) {
    line++;
    let c = codes[pos]!;
    while (c === SP || c === TAB) {
      if (++pos >= len) break;
      c = codes[pos]!;
    }
    if (pos >= len) break; // trailing blanks: fine, as in Go
    if (c === NL) {
      pos++;
    } else if (c === HASH) {
      pos++;
      parseComment();
    } else {
      parseSample();
    }
  }

  const out: MetricFamily[] = [];
  for (const f of order) {
    if (f.metrics.length === 0) continue;
    const type = f.type as MetricType; // set by the first sample; gauge_histogram never gets one
    out.push(f.help === undefined ? { name: f.name, type, metrics: f.metrics } : { name: f.name, help: f.help, type, metrics: f.metrics });
  }
  return out;
}

/** The char codes of texts up to this long reuse one buffer (shim bodies are ~100 K); longer ones get their own. */
const KEEP_CHARS = 1 << 20;
let kept = Buffer.alloc(0);
const LITTLE_ENDIAN = endianness() === 'LE';

/**
 * The text's UTF-16 code units, what text.charCodeAt returns, plus a 0 at
 * index text.length: no character the scanner looks for, as charCodeAt's NaN
 * past the end is not, so reads one past the end stay in range. Scanning
 * reads these rather than calling charCodeAt, which costs about twice a
 * typed-array load here; the parser compares names and values character by
 * character (measured: ~20 % less parse time). One native copy fills them.
 * The array is reused: it is valid until the next call (parsing is synchronous).
 */
function charCodes(text: string): Uint16Array {
  const n = text.length + 1;
  let buf = kept;
  if (buf.length < 2 * n) {
    buf = Buffer.allocUnsafeSlow(2 * Math.max(n + (n >> 1), 1 << 16));
    if (n <= KEEP_CHARS) kept = buf;
  }
  buf.write(text, 0, 'utf16le');
  if (!LITTLE_ENDIAN) buf.subarray(0, 2 * text.length).swap16();
  const codes = new Uint16Array(buf.buffer, buf.byteOffset, n);
  codes[text.length] = 0;
  return codes;
}

/** One line's labels, le/quantile excepted: names[0, n) and values[0, n). */
interface LabelScratch {
  names: string[];
  values: string[];
  n: number;
}

function newScratch(): LabelScratch {
  return { names: [], values: [], n: 0 };
}

/** Whether codes[a, a+n) and codes[b, b+n) are the same. */
function sameAt(codes: Uint16Array, a: number, b: number, n: number): boolean {
  for (let i = n - 1; i >= 0; i--) if (codes[a + i]! !== codes[b + i]!) return false;
  return true;
}

// Powers of ten exact as doubles (10^22 is the last).

/** `s` in a string of its own: a slice of the body's text would keep the whole text alive as long as the model keeps it. */
function own(s: string): string {
  return s.length < 13 ? s : (s + ' ').slice(0, -1);
}
