// Prometheus text format 0.0.4 parser with the acceptance rules of Go's
// expfmt.TextParser (prometheus/common v0.62), which is what kata-monitor runs
// on every shim body. It is a hand-written scanner over char codes: a push
// cycle parses megabytes, so the hot path slices only what it keeps and
// reuses strings that repeat from the previous line.
//
// Deliberate differences from Go, all stricter, none silent:
// - a histogram/summary sample that is neither _sum, _count nor carries
//   `le`/`quantile` is an error (Go drops its value without a word);
// - a repeated `le`/`quantile` label is a duplicate label (Go lets the last win);
// - quoted UTF-8 names (`{"name"}`, `{"label"="v"}`) are rejected: no shim
//   writes them and the encoders only produce legacy names.

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
  labels: Label[];
  value: number;
  timestampMs?: number;
}
interface HistogramBuild {
  kind: 'histogram';
  labels: Label[];
  buckets: Bucket[];
  sum: number;
  count: number;
  timestampMs?: number;
}
interface SummaryBuild {
  kind: 'summary';
  labels: Label[];
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
  const len = text.length;
  const byName = new Map<string, FamilyBuild>();
  const order: FamilyBuild[] = [];
  let line = 0;
  let pos = 0;

  // The last few raw sample names → family and role, so that a histogram's
  // _bucket/_sum/_count cycle resolves without slicing. Comment lines can
  // change how a name resolves (a TYPE makes foo_sum part of foo), so they
  // clear it.
  const CACHE = 4;
  const cacheRaw: string[] = new Array<string>(CACHE).fill('');
  const cacheFam: (FamilyBuild | undefined)[] = new Array<FamilyBuild | undefined>(CACHE).fill(undefined);
  const cacheRole: number[] = new Array<number>(CACHE).fill(ROLE_PLAIN);
  let cacheSize = 0;
  let cacheNext = 0;
  let lastRole = ROLE_PLAIN;

  // Label scratch for the current line; names/values of the previous line
  // are reused when the text repeats them (it mostly does).
  let nNames: string[] = [];
  let nValues: string[] = [];
  let pNames: string[] = [];
  let pValues: string[] = [];
  let nLabels = 0;
  let pLabels = 0;

  function fail(detail: string): never {
    throw new ParseError(line, detail);
  }
  function eof(): never {
    throw new ParseError(line, 'unexpected end of input (the last line must end with a newline)');
  }

  function familyFor(name: string): FamilyBuild {
    let f = byName.get(name);
    if (f === undefined) {
      f = { name, help: undefined, type: undefined, metrics: [], groups: undefined, lastGroup: undefined };
      byName.set(name, f);
      order.push(f);
    }
    return f;
  }

  /** Go's setOrCreateCurrentMF: foo_sum/foo_count/foo_bucket join a summary or histogram foo. */
  function resolve(name: string): FamilyBuild {
    const fam = resolveUncached(name);
    cacheRaw[cacheNext] = name;
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

  /** Reads a label value starting after its opening quote; leaves pos after the closing quote. */
  function readLabelValue(prev: string | undefined): string {
    const start = pos;
    let c = 0;
    while (pos < len) {
      c = text.charCodeAt(pos);
      if (c === QUOTE || c === BACKSLASH || c === NL) break;
      pos++;
    }
    if (pos >= len) eof();
    if (c === QUOTE) {
      const n = pos - start;
      pos++;
      if (prev !== undefined && prev.length === n && text.startsWith(prev, start)) return prev;
      return text.slice(start, start + n);
    }
    if (c === NL) fail(`label value "${text.slice(start, pos)}" contains an unescaped new-line`);
    // Escapes present: the rare slow path.
    let out = text.slice(start, pos);
    for (;;) {
      if (pos >= len) eof();
      c = text.charCodeAt(pos);
      if (c === QUOTE) {
        pos++;
        return out;
      }
      if (c === NL) fail(`label value "${out}" contains an unescaped new-line`);
      if (c === BACKSLASH) {
        if (pos + 1 >= len) eof();
        const e = text.charCodeAt(pos + 1);
        if (e === BACKSLASH) out += '\\';
        else if (e === QUOTE) out += '"';
        else if (e === 110 /* n */) out += '\n';
        else fail(`invalid escape sequence '\\${text[pos + 1]}' in label value`);
        pos += 2;
      } else {
        const runStart = pos;
        while (pos < len && (c = text.charCodeAt(pos)) !== QUOTE && c !== BACKSLASH && c !== NL) pos++;
        out += text.slice(runStart, pos);
      }
    }
  }

  function skipBlanks(): number {
    while (pos < len) {
      const c = text.charCodeAt(pos);
      if (c !== SP && c !== TAB) return c;
      pos++;
    }
    return eof();
  }

  function parseComment(): void {
    // pos is just after '#'.
    cacheSize = 0;
    let c = skipBlanks();
    if (c === NL) {
      pos++;
      return;
    }
    const kwStart = pos;
    while (pos < len && (c = text.charCodeAt(pos)) !== SP && c !== TAB && c !== NL) pos++;
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
      while (pos < len && isMetricNameChar((c = text.charCodeAt(pos)))) pos++;
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
    const name = text.slice(nameStart, pos);
    const fam = resolveUncached(name);
    c = skipBlanks();
    if (c === NL) {
      pos++;
      return;
    }
    if (keyword === 'HELP') {
      if (fam.help !== undefined) fail(`second HELP line for metric name "${fam.name}"`);
      fam.help = readHelp();
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
  function readHelp(): string {
    const nl = text.indexOf('\n', pos);
    if (nl < 0) eof();
    const raw = text.slice(pos, nl);
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
    let c = text.charCodeAt(pos);
    if (!(isMetricNameStart(c))) {
      if (c === LBRACE || c === QUOTE) fail('quoted (UTF-8) metric names are not supported');
      fail(`invalid metric name starting with "${text[pos]}"`);
    }
    pos++;
    while (pos < len && isMetricNameChar((c = text.charCodeAt(pos)))) pos++;
    if (pos >= len) eof();
    const nameLen = pos - nameStart;
    let fam: FamilyBuild | undefined;
    let role = ROLE_PLAIN;
    for (let k = 0; k < cacheSize; k++) {
      const raw = cacheRaw[k] as string;
      if (raw.length === nameLen && text.startsWith(raw, nameStart)) {
        fam = cacheFam[k];
        role = cacheRole[k] as number;
        break;
      }
    }
    if (fam === undefined) {
      fam = resolve(text.slice(nameStart, pos));
      role = lastRole;
    }
    if (fam.type === undefined) fam.type = 'untyped';
    const type = fam.type;
    if (type === 'gauge_histogram') fail(`unexpected type gauge_histogram for metric name "${fam.name}"`);
    const isHistogram = type === 'histogram';
    const isSummary = type === 'summary';

    if (c === SP || c === TAB) c = skipBlanks();

    // Labels into scratch arrays; le/quantile go to `special`.
    const tmpN = pNames;
    const tmpV = pValues;
    pNames = nNames;
    pValues = nValues;
    nNames = tmpN;
    nValues = tmpV;
    pLabels = nLabels;
    nLabels = 0;
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
        pos++;
        while (pos < len && isLabelNameChar((c = text.charCodeAt(pos)))) pos++;
        if (pos >= len) eof();
        const lnLen = pos - lnStart;
        const k = nLabels;
        const prevName = k < pLabels ? pNames[k] : undefined;
        let lname: string;
        if (prevName !== undefined && prevName.length === lnLen && text.startsWith(prevName, lnStart)) {
          lname = prevName;
        } else {
          lname = text.slice(lnStart, pos);
        }
        if (c === SP || c === TAB) c = skipBlanks();
        if (c !== EQ) fail(`expected '=' after label name "${lname}", found "${text[pos]}"`);
        pos++;
        if (lname === '__name__') fail('label name "__name__" is reserved');
        c = skipBlanks();
        if (c !== QUOTE) fail(`expected '"' at start of label value for "${lname}", found "${text[pos]}"`);
        pos++;
        const isSpecial = (isHistogram && lname === 'le') || (isSummary && lname === 'quantile');
        const lvalue = readLabelValue(isSpecial ? undefined : k < pLabels ? pValues[k] : undefined);
        if (isSpecial) {
          if (hasSpecial) fail(`duplicate label name "${lname}" for metric "${fam.name}"`);
          const f = parseGoFloat(lvalue);
          if (f === undefined) fail(`expected float as value for '${lname}' label, got "${lvalue}"`);
          special = f as number;
          hasSpecial = true;
        } else {
          for (let j = 0; j < k; j++) {
            if (nNames[j] === lname) fail(`duplicate label name "${lname}" for metric "${fam.name}"`);
          }
          nNames[k] = lname;
          nValues[k] = lvalue;
          nLabels = k + 1;
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
        fail(`unexpected "${text[pos]}" after label value "${lvalue}" (expected ',' or '}')`);
      }
      c = skipBlanks();
    }

    // The value, with an integer fast path (most samples are small integers).
    const valStart = pos;
    let value: number;
    let i = pos;
    let neg = false;
    if (i < len && text.charCodeAt(i) === MINUS) {
      neg = true;
      i++;
    }
    const digStart = i;
    let acc = 0;
    c = -1;
    while (i < len) {
      c = text.charCodeAt(i);
      if (c < 48 || c > 57) break;
      acc = acc * 10 + (c - 48);
      i++;
    }
    if (i >= len) eof();
    if ((c === SP || c === NL || c === TAB) && i > digStart && i - digStart <= 15) {
      value = neg ? -acc : acc;
      pos = i;
    } else {
      while (i < len && (c = text.charCodeAt(i)) !== SP && c !== TAB && c !== NL) i++;
      if (i >= len) eof();
      pos = i;
      if (i === valStart) fail(`missing value for sample "${text.slice(nameStart, nameStart + nameLen)}"`);
      const token = text.slice(valStart, i);
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
      while (pos < len && (c = text.charCodeAt(pos)) !== SP && c !== TAB && c !== NL) pos++;
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
      const labels: Label[] = new Array(nLabels);
      for (let j = 0; j < nLabels; j++) labels[j] = { name: nNames[j] as string, value: nValues[j] as string };
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

  /** The histogram/summary metric for the current line's label set (order-insensitive, as Go's signature). */
  function groupFor(fam: FamilyBuild, isHistogram: boolean): GroupBuild {
    const last = fam.lastGroup;
    if (last !== undefined && last.labels.length === nLabels) {
      let same = true;
      for (let j = 0; j < nLabels; j++) {
        const l = last.labels[j] as Label;
        if (l.name !== nNames[j] || l.value !== nValues[j]) {
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
      const labels: Label[] = new Array(nLabels);
      for (let j = 0; j < nLabels; j++) labels[j] = { name: nNames[j] as string, value: nValues[j] as string };
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
    const idx = [...Array(nLabels).keys()];
    idx.sort((a, b) => ((nNames[a] as string) < (nNames[b] as string) ? -1 : 1));
    let key = '';
    // Length-prefixed so that no value can forge another label set.
    for (const j of idx) key += `${nNames[j] as string}=${(nValues[j] as string).length}:${nValues[j] as string}`;
    return key;
  }

  while (pos < len) {
    line++;
    let c = text.charCodeAt(pos);
    while (c === SP || c === TAB) {
      if (++pos >= len) break;
      c = text.charCodeAt(pos);
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
