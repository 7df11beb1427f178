// Seeded shim bodies for the expfmt differential test: realistic bodies cut
// from what real Kata shims serve (test/fixtures, and the demo payload that
// ticks them), then damaged by 1–3 mutations of the kinds a scanner gets
// wrong: bytes, value spellings, escapes, blanks, timestamps, comments,
// duplicated or missing lines, TYPE/HELP, label names, sample names.
//
// Everything comes from one PRNG, so a (seed, case) pair replays exactly.
// Bodies are cut to a few whole families (and a few whole series of big
// histograms) so that a failing case is small enough to read.

import { createShimPayload } from '../../../src/demo/payload.ts';
import { FIXTURES, fixture } from '../../support/fixtures.ts';

// ---- PRNG -----------------------------------------------------------------

/** mulberry32: small, fast, good enough for test data, identical everywhere. */
export class Rng {
  #a: number;
  constructor(seed: number) {
    this.#a = seed >>> 0;
  }
  next(): number {
    this.#a = (this.#a + 0x6d2b79f5) | 0;
    let t = Math.imul(this.#a ^ (this.#a >>> 15), 1 | this.#a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(xs: readonly T[]): T {
    if (xs.length === 0) throw new Error('pick from nothing');
    return xs[this.int(xs.length)]!;
  }
}

/** The PRNG of one case: cases replay one by one, whatever ran before them. */
export function caseRng(seed: number, caseNo: number): Rng {
  let h = (seed ^ Math.imul(caseNo + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return new Rng((h ^ (h >>> 16)) >>> 0);
}

// ---- realistic bodies -----------------------------------------------------

/** A family as the shim wrote it: HELP/TYPE lines, then its series (a histogram series is all its lines). */
interface Family {
  readonly name: string;
  readonly type: string;
  readonly head: readonly string[];
  readonly series: readonly (readonly string[])[];
}

/** One family of the current (possibly already mutated) lines, as line indices. */
interface FamilyView {
  readonly name: string;
  type: string;
  help: number | undefined;
  typeLine: number | undefined;
  readonly samples: number[];
  readonly series: Map<string, number[]>;
}

/** Families of `lines` as a shim writes them; lines that do not parse as samples are left out. */
function view(lines: readonly string[]): FamilyView[] {
  const byName = new Map<string, FamilyView>();
  const order: FamilyView[] = [];
  const get = (name: string): FamilyView => {
    let f = byName.get(name);
    if (!f) {
      f = { name, type: 'untyped', help: undefined, typeLine: undefined, samples: [], series: new Map() };
      byName.set(name, f);
      order.push(f);
    }
    return f;
  };
  let cur: FamilyView | undefined;
  lines.forEach((line, i) => {
    const meta = /^# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*)(?: (.*))?$/.exec(line);
    if (meta) {
      cur = get(meta[2]!);
      if (meta[1] === 'HELP') cur.help ??= i;
      else if (cur.typeLine === undefined) {
        cur.typeLine = i;
        cur.type = meta[3] ?? '';
      }
      return;
    }
    const s = parseSample(line);
    if (!s) return;
    const f = cur && belongs(s.name, cur) ? cur : get(s.name);
    cur = f;
    f.samples.push(i);
    const grouped = f.type === 'histogram' || f.type === 'summary';
    const key = grouped ? s.labels.filter((l) => l.name !== 'le' && l.name !== 'quantile').map((l) => `${l.name}=${l.value}`).join(',') : String(i);
    const series = f.series.get(key) ?? [];
    series.push(i);
    f.series.set(key, series);
  });
  return order;
}

function belongs(sampleName: string, f: FamilyView): boolean {
  if (sampleName === f.name) return true;
  if (f.type === 'histogram') return [`${f.name}_bucket`, `${f.name}_sum`, `${f.name}_count`].includes(sampleName);
  if (f.type === 'summary') return [`${f.name}_sum`, `${f.name}_count`].includes(sampleName);
  return false;
}

function splitFamilies(text: string): Family[] {
  const lines = text.split('\n').filter((l) => l !== '');
  return view(lines).map((f) => ({
    name: f.name,
    type: f.type,
    head: [f.help, f.typeLine].filter((i): i is number => i !== undefined).sort((a, b) => a - b).map((i) => lines[i]!),
    series: [...f.series.values()].map((idx) => idx.map((i) => lines[i]!)),
  }));
}

/** The recorded bodies, and bodies the demo payload made from them (other values, Go's formatting). */
function sourceBodies(seed: number): Family[][] {
  const bodies = FIXTURES.map((name) => fixture(name).toString());
  for (let i = 0; i < 6; i++) {
    const next = createShimPayload(`${seed}:${i}`, { fixture: i % 2 === 0 ? 'a' : 'b' });
    let body = next();
    for (let t = i % 3; t > 0; t--) body = next();
    bodies.push(body);
  }
  return bodies.map(splitFamilies);
}

/**
 * A few whole families of one source (names given, or chosen), big ones cut
 * to a few whole series. Histograms and summaries, 3 families in 70, are
 * drawn more often than that: most of the parser's special cases are theirs.
 */
function cut(rng: Rng, source: readonly Family[], names: ReadonlySet<string> | undefined, maxFamilies: number): string[] {
  const chosen = names ? source.filter((f) => names.has(f.name)) : choose(rng, source, 1 + rng.int(maxFamilies));
  const lines: string[] = [];
  for (const f of chosen) {
    lines.push(...f.head);
    const series = f.series.length > 3 ? pickSome(rng, f.series, 1 + rng.int(3)) : f.series;
    for (const s of series) lines.push(...s);
  }
  return lines;
}

function choose(rng: Rng, source: readonly Family[], k: number): Family[] {
  const some = pickSome(rng, source, k);
  if (rng.chance(0.4) && !some.some((f) => f.type === 'histogram' || f.type === 'summary')) {
    const grouped = source.filter((f) => f.type === 'histogram' || f.type === 'summary');
    if (grouped.length > 0) some[rng.int(some.length)] = rng.pick(grouped);
  }
  return source.filter((f) => some.includes(f));
}

function shuffle<T>(rng: Rng, xs: readonly T[]): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [out[i], out[j]] = [out[j]!, out[i]!];
  }
  return out;
}

/** k distinct elements, in their original order. */
function pickSome<T>(rng: Rng, xs: readonly T[], k: number): T[] {
  return shuffle(
    rng,
    xs.map((_, i) => i),
  )
    .slice(0, Math.min(k, xs.length))
    .sort((a, b) => a - b)
    .map((i) => xs[i]!);
}

// ---- sample lines ---------------------------------------------------------

interface Label {
  name: string;
  /** As written between the quotes (escapes kept). */
  value: string;
}

interface Sample {
  name: string;
  labels: Label[];
  value: string;
  ts: string | undefined;
}

/** Blanks a sample line can have where Go's encoder writes none (or one). */
interface Spacing {
  lead: string;
  afterName: string;
  afterOpen: string;
  beforeEq: string;
  afterEq: string;
  afterComma: string;
  beforeClose: string;
  beforeValue: string;
  beforeTs: string;
  trail: string;
}

const PLAIN: Spacing = { lead: '', afterName: '', afterOpen: '', beforeEq: '', afterEq: '', afterComma: '', beforeClose: '', beforeValue: ' ', beforeTs: ' ', trail: '' };

/** A sample line as Go's encoder writes them (already mutated lines usually do not parse). */
function parseSample(line: string): Sample | undefined {
  const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!m) return undefined;
  let i = m[0].length;
  const labels: Label[] = [];
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const n = /^([a-zA-Z_][a-zA-Z0-9_]*)="/.exec(line.slice(i));
      if (!n) return undefined;
      i += n[0].length;
      let v = '';
      while (i < line.length && line[i] !== '"') {
        if (line[i] === '\\') v += line[i++];
        v += line[i++] ?? '';
      }
      if (line[i] !== '"') return undefined;
      i++;
      labels.push({ name: n[1]!, value: v });
      if (line[i] === ',') i++;
      else if (line[i] !== '}') return undefined;
    }
    i++;
  }
  const r = /^ (\S+)(?: (\S+))?$/.exec(line.slice(i));
  if (!r) return undefined;
  return { name: m[0], labels, value: r[1]!, ts: r[2] };
}

function renderSample(s: Sample, sp: Spacing = PLAIN): string {
  let out = sp.lead + s.name;
  if (s.labels.length > 0) {
    out += sp.afterName + '{' + sp.afterOpen;
    out += s.labels.map((l) => `${l.name}${sp.beforeEq}=${sp.afterEq}"${l.value}"`).join(',' + sp.afterComma);
    out += sp.beforeClose + '}';
  }
  out += sp.beforeValue + s.value;
  if (s.ts !== undefined) out += sp.beforeTs + s.ts;
  return out + sp.trail;
}

// ---- mutations ------------------------------------------------------------

export const MUTATION_CLASSES = [
  'characters',
  'values',
  'labels',
  'blanks',
  'timestamps',
  'comments',
  'lines',
  'types',
  'label-names',
  'sample-names',
] as const;
export type MutationClass = (typeof MUTATION_CLASSES)[number];

/** What one mutation did: `tag` is class/operation (for grouping), `detail` says where and what. */
export interface Mutation {
  readonly tag: string;
  readonly detail: string;
}

interface Ctx {
  readonly rng: Rng;
  readonly lines: string[];
}

/** A line mutation: edits ctx.lines, or returns undefined when the body has nothing it applies to. */
type LineMutation = (ctx: Ctx) => Mutation | undefined;

const SPECIAL_BYTES: readonly (readonly number[])[] = [
  [0x22], // "
  [0x5c], // \
  [0x7b], // {
  [0x7d], // }
  [0x2c], // ,
  [0x3d], // =
  [0x23], // #
  [0x09], // tab
  [0x20], // space
  [0x0d], // CR
  [0x0a], // newline
  [0x00], // NUL
  [0x2e], // .
  [0x2d], // -
  [0x2b], // +
  [0x65], // e
  [0x30], // 0
  [0xc3, 0xa9], // é
  [0xe2, 0x82, 0xac], // €
  [0xf0, 0x9f, 0x99, 0x82], // 🙂
  [0xc3], // a UTF-8 sequence cut short
  [0xff], // never UTF-8
];

const VALUES = [
  '1.0', '1e3', '1E+03', '.5', '5.', '-0', '+5', '0x10', '1_000', 'inf', '+Inf', '-inf', 'Infinity', '-Infinity', 'nan', 'NaN', '-NaN',
  'Inf', '+inf', '1e400', '-1e400', '1e-400', '4.9e-324', '1.7976931348623157e308', '1'.repeat(40), '0.' + '3'.repeat(30), '',
  '0', '1', '-1', '+0', '007', '1e-7', '1e+21', '1e21', '123456789012345678', '9007199254740993', '0x1p3', '1p3', '.', '-', '+', 'e5',
  '1e', '1.2.3', '١', '0.1', '2.5', '-2.5', '100', '1000000', '1e6', '0.000001', '18446744073709551616',
];
const BOUNDS = ['1.0', '1e0', '01', '+Inf', '+inf', 'inf', 'Inf', 'Infinity', '-Inf', 'NaN', '1e400', '.5', '0.50', '5e-1', '-0', '', 'abc', '1_0', '0x1', ' 1', '1 ', '0.99', '1e-3'];
const COUNTS = ['2.5', '-1', '-0.5', '1e20', '1e19', 'NaN', '+Inf', '-Inf', '18446744073709551615', '18446744073709551616', '9.3e18', '1.5e3'];
const LABEL_VALUES = [
  'a\\\\b', 'say \\"hi\\"', 'two\\nlines', 'bad\\tescape', 'bad\\x41', 'bad\\u00e9', 'bad\\a', 'raw\ttab', 'ünïcödé', '日本語', '🙂', '',
  'trailing\\\\', 'a}b', 'a,b', 'a=b', '#x', ' lead', 'trail ', 'a\\', 'quote"inside', 'a\rb', '{}', 'x'.repeat(300),
];
const HELP_TEXTS = [
  'with \\\\ backslash', 'with \\n newline', 'with \\" quote', 'bad \\t escape', 'trailing \\', 'raw " quote', 'ünïcödé', '', ' ',
  '  leading spaces', 'trailing spaces  ', 'tab\tinside', 'a\rb', '{a="b"} 1', '# nested',
];
const BLANKS = [' ', '  ', '\t', ' \t'];
const TIMESTAMPS = [
  '1700000000000', '0', '-1', '-1700000000000', '9223372036854775807', '9223372036854775808', '-9223372036854775808', '-9223372036854775809',
  '1.5', '1e3', '+5', '0x10', 'abc', '007', '1_000', '١', '+Inf', 'NaN',
];
const VALID_TIMESTAMPS = ['1700000000000', '0', '-1', '1700000000123', '9223372036854775807'];
const TYPES = ['counter', 'gauge', 'histogram', 'summary', 'untyped', 'gauge_histogram', 'GAUGE', 'Counter', 'HISTOGRAM', 'Summary', 'info', 'stateset', 'unknown', 'counter ', 'gaugehistogram'];
const LABEL_NAMES = ['__name__', '1abc', 'a-b', 'a.b', '_', '__meta', 'le', 'quantile', 'A', 'ü', 'a b', '', '"a.b"', '"quoted"', 'sandbox_id', 'cri_name'];

/** Indices of lines that parse as samples, optionally filtered. */
function samples(ctx: Ctx, keep: (s: Sample, i: number) => boolean = () => true): number[] {
  const out: number[] = [];
  ctx.lines.forEach((line, i) => {
    const s = parseSample(line);
    if (s && keep(s, i)) out.push(i);
  });
  return out;
}

function pickSample(ctx: Ctx, keep?: (s: Sample, i: number) => boolean): [number, Sample] | undefined {
  const idx = samples(ctx, keep);
  if (idx.length === 0) return undefined;
  const i = ctx.rng.pick(idx);
  return [i, parseSample(ctx.lines[i]!)!];
}

function families(ctx: Ctx, keep: (f: FamilyView) => boolean = () => true): FamilyView[] {
  return view(ctx.lines).filter(keep);
}

/** A histogram or summary series (its line indices, in order) and its family. */
function pickGroupSeries(ctx: Ctx, type?: 'histogram' | 'summary'): [FamilyView, number[]] | undefined {
  const fs = families(ctx, (f) => (type ? f.type === type : f.type === 'histogram' || f.type === 'summary') && f.series.size > 0);
  if (fs.length === 0) return undefined;
  const f = ctx.rng.pick(fs);
  return [f, ctx.rng.pick([...f.series.values()])];
}

function m(tag: string, detail: string): Mutation {
  return { tag, detail };
}

const short = (s: string): string => JSON.stringify(s.length > 60 ? s.slice(0, 57) + '…' : s);

function setLine(ctx: Ctx, i: number, line: string): void {
  ctx.lines[i] = line;
}

function insertLine(ctx: Ctx, at: number, line: string): void {
  ctx.lines.splice(at, 0, line);
}

const values: LineMutation[] = [
  (ctx) => {
    const p = pickSample(ctx);
    if (!p) return undefined;
    const [i, s] = p;
    const v = ctx.rng.pick(VALUES);
    setLine(ctx, i, renderSample({ ...s, value: v }));
    return m('values/spelling', `line ${i + 1}: value ${short(s.value)} → ${short(v)}`);
  },
  (ctx) => {
    // The same number, spelled as Go would not: Go re-encodes it, a byte copier keeps it.
    const p = pickSample(ctx, (s) => Number.isFinite(Number(s.value)) && s.value !== '');
    if (!p) return undefined;
    const [i, s] = p;
    const n = Number(s.value);
    const [mantissa = '', exponent] = s.value.split(/(?=[eE])/);
    const zeros = mantissa.includes('.') ? `${mantissa}00${exponent ?? ''}` : `${mantissa}.0${exponent ?? ''}`;
    const v = ctx.rng.pick([n.toExponential(), n.toExponential().toUpperCase(), zeros, `+${s.value}`, `0${s.value}`, String(n), n.toPrecision(21)]);
    setLine(ctx, i, renderSample({ ...s, value: v }));
    return m('values/respell', `line ${i + 1}: value ${short(s.value)} → ${short(v)}`);
  },
  (ctx) => {
    const p = pickSample(ctx, (s) => s.labels.some((l) => l.name === 'le' || l.name === 'quantile'));
    if (!p) return undefined;
    const [i, s] = p;
    const b = ctx.rng.pick(BOUNDS);
    const labels = s.labels.map((l) => (l.name === 'le' || l.name === 'quantile' ? { ...l, value: b } : l));
    setLine(ctx, i, renderSample({ ...s, labels }));
    return m('values/bound', `line ${i + 1}: le/quantile → ${short(b)}`);
  },
  (ctx) => {
    // Go stores bucket counts and _count as uint64(value).
    const p = pickSample(ctx, (s) => /_(bucket|count)$/.test(s.name));
    if (!p) return undefined;
    const [i, s] = p;
    const v = ctx.rng.pick(COUNTS);
    setLine(ctx, i, renderSample({ ...s, value: v }));
    return m('values/count', `line ${i + 1}: ${s.name} value ${short(s.value)} → ${short(v)}`);
  },
];

const labels: LineMutation[] = [
  (ctx) => {
    const p = pickSample(ctx, (s) => s.labels.length > 0);
    if (!p) return undefined;
    const [i, s] = p;
    const k = ctx.rng.int(s.labels.length);
    const v = ctx.rng.pick(LABEL_VALUES);
    setLine(ctx, i, renderSample({ ...s, labels: s.labels.map((l, j) => (j === k ? { ...l, value: v } : l)) }));
    return m('labels/value', `line ${i + 1}: ${s.labels[k]!.name} value → ${short(v)}`);
  },
  (ctx) => {
    const p = pickSample(ctx);
    if (!p) return undefined;
    const [i, s] = p;
    const v = ctx.rng.pick(LABEL_VALUES);
    const at = ctx.rng.int(s.labels.length + 1);
    const ls = [...s.labels];
    ls.splice(at, 0, { name: 'extra', value: v });
    setLine(ctx, i, renderSample({ ...s, labels: ls }));
    return m('labels/add', `line ${i + 1}: extra=${short(v)} at label ${at + 1}`);
  },
];

const blanks: LineMutation[] = [
  (ctx) => {
    const p = pickSample(ctx);
    if (!p) return undefined;
    const [i, s] = p;
    const keys = (Object.keys(PLAIN) as (keyof Spacing)[]).filter((k) => {
      if (s.labels.length === 0) return !['afterName', 'afterOpen', 'beforeEq', 'afterEq', 'afterComma', 'beforeClose'].includes(k);
      if (k === 'afterComma') return s.labels.length > 1;
      return k !== 'beforeTs' || s.ts !== undefined;
    });
    const k = ctx.rng.pick(keys);
    const b = ctx.rng.pick(BLANKS);
    setLine(ctx, i, renderSample(s, { ...PLAIN, [k]: k === 'beforeValue' || k === 'beforeTs' ? ' ' + b : b }));
    return m(`blanks/${k}`, `line ${i + 1}: ${short(b)} ${k}`);
  },
  (ctx) => {
    const at = ctx.rng.int(ctx.lines.length + 1);
    const b = ctx.rng.pick(['', ' ', '\t', '  \t']);
    insertLine(ctx, at, b);
    return m('blanks/blank-line', `blank line ${short(b)} before line ${at + 1}`);
  },
  (ctx) => {
    const metas = ctx.lines.map((l, i) => [l, i] as const).filter(([l]) => /^# (HELP|TYPE) /.test(l));
    if (metas.length === 0) return undefined;
    const [line, i] = ctx.rng.pick(metas);
    const [, kw = '', name = '', ...rest] = line.split(' ');
    const tail = rest.join(' ');
    const variants = [
      `#  ${kw} ${name} ${tail}`,
      `#\t${kw} ${name} ${tail}`,
      `# ${kw}  ${name} ${tail}`,
      `# ${kw} ${name}  ${tail}`,
      `# ${kw} ${name}\t${tail}`,
      `# ${kw} ${name} ${tail} `,
      ` # ${kw} ${name} ${tail}`,
      `\t# ${kw} ${name} ${tail}`,
    ];
    const v = ctx.rng.pick(variants);
    setLine(ctx, i, v);
    return m(`blanks/${kw.toLowerCase()}-line`, `line ${i + 1}: ${short(v)}`);
  },
  (ctx) => {
    for (let i = 0; i < ctx.lines.length; i++) ctx.lines[i] += '\r';
    return m('blanks/crlf', 'every line ends in CR LF');
  },
];

const timestamps: LineMutation[] = [
  (ctx) => {
    const p = pickSample(ctx);
    if (!p) return undefined;
    const [i, s] = p;
    const ts = ctx.rng.pick(TIMESTAMPS);
    setLine(ctx, i, renderSample({ ...s, ts }));
    return m('timestamps/one', `line ${i + 1}: timestamp ${short(ts)}`);
  },
  (ctx) => {
    const g = pickGroupSeries(ctx);
    if (!g) return undefined;
    const [f, idx] = g;
    const ts = ctx.rng.pick(VALID_TIMESTAMPS);
    for (const i of idx) setLine(ctx, i, renderSample({ ...parseSample(ctx.lines[i]!)!, ts }));
    return m(`timestamps/${f.type}-all`, `lines ${idx[0]! + 1}–${idx[idx.length - 1]! + 1} (${f.name}): timestamp ${ts} on every line`);
  },
  (ctx) => {
    const g = pickGroupSeries(ctx);
    if (!g) return undefined;
    const [f, idx] = g;
    const some = pickSome(ctx.rng, idx, 1 + ctx.rng.int(Math.max(1, idx.length - 1)));
    const ts = ctx.rng.pick(VALID_TIMESTAMPS);
    for (const i of some) setLine(ctx, i, renderSample({ ...parseSample(ctx.lines[i]!)!, ts }));
    return m(`timestamps/${f.type}-some`, `${f.name}: timestamp ${ts} on lines ${some.map((i) => i + 1).join(',')} only`);
  },
  (ctx) => {
    const g = pickGroupSeries(ctx);
    if (!g) return undefined;
    const [f, idx] = g;
    idx.forEach((i, k) => setLine(ctx, i, renderSample({ ...parseSample(ctx.lines[i]!)!, ts: String(1700000000000 + k) })));
    return m(`timestamps/${f.type}-differ`, `${f.name}: a different timestamp on each line ${idx[0]! + 1}–${idx[idx.length - 1]! + 1}`);
  },
  (ctx) => {
    const p = pickSample(ctx, (s) => s.ts !== undefined);
    if (!p) return undefined;
    const [i, s] = p;
    setLine(ctx, i, renderSample({ ...s, ts: undefined }));
    return m('timestamps/remove', `line ${i + 1}: timestamp ${short(s.ts!)} removed`);
  },
  (ctx) => {
    const p = pickSample(ctx);
    if (!p) return undefined;
    const [i, s] = p;
    const extra = ctx.rng.pick(['1 2', '1 x', '1\t2', '1 #']);
    setLine(ctx, i, renderSample({ ...s, ts: extra }));
    return m('timestamps/extra-token', `line ${i + 1}: ${short(extra)} after the value`);
  },
];

const comments: LineMutation[] = [
  (ctx) => {
    const fs = families(ctx);
    const n = fs.length > 0 ? ctx.rng.pick(fs).name : 'some_metric';
    const c = ctx.rng.pick([
      '#', '# ', '#  ', '# just a comment', '#comment', '# HELP', '# HELP ', '# TYPE', '# TYPE ', `# HELP ${n}`, `# HELP ${n} `, `# TYPE ${n}`,
      `# TYPE ${n} `, `#HELP ${n} text`, `#TYPE ${n} counter`, `# help ${n} text`, `# type ${n} gauge`, '# HELP not_here help for a family not here',
      '# TYPE not_here counter', '# EOF', `# UNIT ${n} seconds`, `# HELP ${n}{a="b"} text`, `# HELP ${n}! text`, '# HELP "quoted.name" text',
      `# TYPE ${n} counter extra`, `# HELP 1${n} text`,
    ]);
    const at = ctx.rng.int(ctx.lines.length + 1);
    insertLine(ctx, at, c);
    return m('comments/insert', `${short(c)} before line ${at + 1}`);
  },
  (ctx) => {
    const hs = ctx.lines.map((l, i) => [l, i] as const).filter(([l]) => /^# HELP \S+ /.test(l));
    if (hs.length === 0) return undefined;
    const [line, i] = ctx.rng.pick(hs);
    const name = line.split(' ')[2]!;
    const t = ctx.rng.pick(HELP_TEXTS);
    setLine(ctx, i, `# HELP ${name} ${t}`);
    return m('comments/help-text', `line ${i + 1}: HELP text ${short(t)}`);
  },
];

const lines: LineMutation[] = [
  (ctx) => {
    if (ctx.lines.length === 0) return undefined;
    const i = ctx.rng.int(ctx.lines.length);
    const at = ctx.rng.chance(0.5) ? i + 1 : ctx.rng.int(ctx.lines.length + 1);
    insertLine(ctx, at, ctx.lines[i]!);
    return m('lines/duplicate', `line ${i + 1} ${short(ctx.lines[i]!)} again before line ${at + 1}`);
  },
  (ctx) => {
    if (ctx.lines.length === 0) return undefined;
    const i = ctx.rng.int(ctx.lines.length);
    const [gone] = ctx.lines.splice(i, 1);
    return m('lines/remove', `line ${i + 1} ${short(gone ?? '')} removed`);
  },
  (ctx) => {
    // The lines a histogram or summary cannot do without (Go fills them in).
    const g = pickGroupSeries(ctx);
    if (!g) return undefined;
    const [f, idx] = g;
    const parts: readonly (readonly [string, string])[] =
      f.type === 'histogram'
        ? [['inf-bucket', 'le="+Inf"'], ['sum', '_sum{'], ['count', '_count{']]
        : [['quantile', 'quantile="'], ['sum', '_sum{'], ['count', '_count{']];
    const [part, marker] = ctx.rng.pick(parts);
    const i = idx.find((j) => ctx.lines[j]!.includes(marker) || ctx.lines[j]!.includes(marker.replace('{', ' ')));
    if (i === undefined) return undefined;
    const [gone] = ctx.lines.splice(i, 1);
    return m(`lines/${f.type}-without-${part}`, `line ${i + 1} ${short(gone ?? '')} removed`);
  },
  (ctx) => {
    const g = pickGroupSeries(ctx);
    if (!g) return undefined;
    const [f, idx] = g;
    const shuffled = shuffle(ctx.rng, idx.map((i) => ctx.lines[i]!));
    idx.forEach((i, k) => setLine(ctx, i, shuffled[k]!));
    return m(`lines/${f.type}-reordered`, `${f.name}: lines ${idx[0]! + 1}–${idx[idx.length - 1]! + 1} reordered`);
  },
  (ctx) => {
    const s = samples(ctx);
    if (s.length === 0) return undefined;
    const i = ctx.rng.pick(s);
    const [line] = ctx.lines.splice(i, 1);
    ctx.lines.push(line!);
    return m('lines/moved-to-end', `line ${i + 1} ${short(line!)} moved to the end`);
  },
  (ctx) => {
    const g = pickGroupSeries(ctx);
    if (!g) return undefined;
    const [f, idx] = g;
    const copy = idx.map((i) => ctx.lines[i]!);
    ctx.lines.splice(idx[idx.length - 1]! + 1, 0, ...copy);
    return m(`lines/${f.type}-series-twice`, `${f.name}: lines ${idx[0]! + 1}–${idx[idx.length - 1]! + 1} written twice`);
  },
];

const types: LineMutation[] = [
  (ctx) => {
    const fs = families(ctx, (f) => f.samples.length > 0);
    if (fs.length === 0) return undefined;
    const f = ctx.rng.pick(fs);
    const t = ctx.rng.pick(TYPES);
    if (f.typeLine !== undefined) setLine(ctx, f.typeLine, `# TYPE ${f.name} ${t}`);
    else insertLine(ctx, f.samples[0]!, `# TYPE ${f.name} ${t}`);
    return m('types/change', `${f.name}: TYPE ${f.type} → ${short(t)}`);
  },
  (ctx) => {
    const fs = families(ctx, (f) => f.typeLine !== undefined || f.help !== undefined);
    if (fs.length === 0) return undefined;
    const f = ctx.rng.pick(fs);
    const i = ctx.rng.pick([f.typeLine, f.help].filter((x): x is number => x !== undefined));
    const line = ctx.lines[i]!;
    const again = line.startsWith('# TYPE') && ctx.rng.chance(0.5) ? `# TYPE ${f.name} ${ctx.rng.pick(TYPES)}` : line;
    const at = ctx.rng.chance(0.5) ? i + 1 : (f.samples[f.samples.length - 1] ?? i) + 1;
    insertLine(ctx, at, again);
    return m(`types/second-${line.startsWith('# TYPE') ? 'type' : 'help'}`, `${short(again)} again before line ${at + 1}`);
  },
  (ctx) => {
    const fs = families(ctx, (f) => f.typeLine !== undefined && f.samples.length > 0);
    if (fs.length === 0) return undefined;
    const f = ctx.rng.pick(fs);
    const [line] = ctx.lines.splice(f.typeLine!, 1);
    const after = f.samples[ctx.rng.int(f.samples.length)]!; // indices shifted by one: lands after that sample
    insertLine(ctx, after, line!);
    return m('types/type-after-samples', `${f.name}: TYPE line moved after a sample`);
  },
  (ctx) => {
    const fs = families(ctx, (f) => f.typeLine !== undefined || f.help !== undefined);
    if (fs.length === 0) return undefined;
    const f = ctx.rng.pick(fs);
    const which = f.typeLine !== undefined && (f.help === undefined || ctx.rng.chance(0.6)) ? 'type' : 'help';
    ctx.lines.splice(which === 'type' ? f.typeLine! : f.help!, 1);
    return m(`types/no-${which}`, `${f.name}: ${which.toUpperCase()} line removed`);
  },
  (ctx) => {
    const fs = families(ctx, (f) => f.help !== undefined && f.samples.length > 0 && f.help < f.samples[0]!);
    if (fs.length === 0) return undefined;
    const f = ctx.rng.pick(fs);
    const last = f.samples[f.samples.length - 1]!;
    const line = ctx.lines[f.help!]!;
    insertLine(ctx, last + 1, line);
    ctx.lines.splice(f.help!, 1);
    return m('types/help-after-samples', `${f.name}: HELP line moved after its samples`);
  },
];

const labelNames: LineMutation[] = [
  (ctx) => {
    const p = pickSample(ctx, (s) => s.labels.length > 0);
    if (!p) return undefined;
    const [i, s] = p;
    const k = ctx.rng.int(s.labels.length);
    const n = ctx.rng.pick(LABEL_NAMES);
    setLine(ctx, i, renderSample({ ...s, labels: s.labels.map((l, j) => (j === k ? { ...l, name: n } : l)) }));
    return m('label-names/rename', `line ${i + 1}: label ${s.labels[k]!.name} → ${short(n)}`);
  },
  (ctx) => {
    const p = pickSample(ctx, (s) => s.labels.length > 0);
    if (!p) return undefined;
    const [i, s] = p;
    const l = ctx.rng.pick(s.labels);
    const copy = ctx.rng.chance(0.5) ? l : { ...l, value: 'other' };
    setLine(ctx, i, renderSample({ ...s, labels: [...s.labels, copy] }));
    return m(`label-names/duplicate${l.name === 'le' || l.name === 'quantile' ? `-${l.name}` : ''}`, `line ${i + 1}: ${l.name} twice`);
  },
  (ctx) => {
    const p = pickSample(ctx);
    if (!p) return undefined;
    const [i, s] = p;
    const wrong = ctx.rng.pick([
      { name: 'le', value: '0.5' },
      { name: 'quantile', value: '0.5' },
      { name: 'le', value: '+Inf' },
    ]);
    setLine(ctx, i, renderSample({ ...s, labels: [...s.labels, wrong] }));
    return m(`label-names/${wrong.name}-added`, `line ${i + 1} (${s.name}): ${wrong.name}="${wrong.value}" added`);
  },
  (ctx) => {
    const p = pickSample(ctx, (s) => s.labels.length > 1 && ['le', 'quantile'].includes(s.labels[s.labels.length - 1]!.name));
    if (!p) return undefined;
    const [i, s] = p;
    const last = s.labels[s.labels.length - 1]!;
    setLine(ctx, i, renderSample({ ...s, labels: [last, ...s.labels.slice(0, -1)] }));
    return m(`label-names/${last.name}-first`, `line ${i + 1}: ${last.name} moved first`);
  },
  (ctx) => {
    const p = pickSample(ctx, (s) => s.labels.some((l) => l.name === 'le' || l.name === 'quantile'));
    if (!p) return undefined;
    const [i, s] = p;
    setLine(ctx, i, renderSample({ ...s, labels: s.labels.filter((l) => l.name !== 'le' && l.name !== 'quantile') }));
    return m('label-names/bound-removed', `line ${i + 1}: le/quantile removed`);
  },
  (ctx) => {
    const p = pickSample(ctx);
    if (!p) return undefined;
    const [i, s] = p;
    const inner = s.labels.map((l) => `${l.name}="${l.value}"`).join(',');
    const v = ctx.rng.pick([
      `${s.name}{${inner}${inner ? ',' : ''}} ${s.value}`,
      `${s.name}{} ${s.value}`,
      `${s.name}{,} ${s.value}`,
      `${s.name}{a} ${s.value}`,
      `${s.name}{a=} ${s.value}`,
      `${s.name}{a=1} ${s.value}`,
      `${s.name}{a='1'} ${s.value}`,
      `${s.name}{"a.b"="1"} ${s.value}`,
      `${s.name}{${inner}${inner ? ',' : ''}"a.b"="1"} ${s.value}`,
      `${s.name}{${inner} ${s.value}`,
      `${s.name}${inner}} ${s.value}`,
    ]);
    setLine(ctx, i, v);
    return m('label-names/braces', `line ${i + 1}: ${short(v)}`);
  },
];

const sampleNames: LineMutation[] = [
  (ctx) => {
    const p = pickSample(ctx, (s) => !/_(bucket|sum|count)$/.test(s.name));
    if (!p) return undefined;
    const [i, s] = p;
    const suffix = ctx.rng.pick(['_bucket', '_sum', '_count', '_total', '_created']);
    setLine(ctx, i, renderSample({ ...s, name: s.name + suffix }));
    return m(`sample-names/suffix${suffix}`, `line ${i + 1}: ${s.name} → ${s.name}${suffix}`);
  },
  (ctx) => {
    const p = pickSample(ctx, (s) => /_(bucket|sum|count)$/.test(s.name));
    if (!p) return undefined;
    const [i, s] = p;
    const base = s.name.replace(/_(bucket|sum|count)$/, '');
    const to = ctx.rng.pick([base, `${base}_sum`, `${base}_count`, `${base}_bucket`, `${base}_total`].filter((n) => n !== s.name));
    setLine(ctx, i, renderSample({ ...s, name: to }));
    return m('sample-names/other-suffix', `line ${i + 1}: ${s.name} → ${to}`);
  },
  (ctx) => {
    const at = ctx.rng.int(ctx.lines.length + 1);
    const line = ctx.rng.pick(['orphan_metric 1', 'orphan_metric{a="b"} 2', 'orphan_metric_total 3', 'go_orphan 4', 'process_orphan{x="y"} 5']);
    insertLine(ctx, at, line);
    return m('sample-names/untyped-sample', `${short(line)} before line ${at + 1}`);
  },
  (ctx) => {
    const p = pickSample(ctx);
    const fs = families(ctx);
    if (!p || fs.length < 2) return undefined;
    const [i, s] = p;
    const other = ctx.rng.pick(fs.filter((f) => !s.name.startsWith(f.name)).map((f) => f.name).concat(['x']));
    setLine(ctx, i, renderSample({ ...s, name: other }));
    return m('sample-names/other-family', `line ${i + 1}: ${s.name} → ${other}`);
  },
  (ctx) => {
    // The UTF-8 syntax of prometheus/common ≥ 0.60: the name inside the braces, maybe quoted.
    const p = pickSample(ctx);
    if (!p) return undefined;
    const [i, s] = p;
    const inner = s.labels.map((l) => `,${l.name}="${l.value}"`).join('');
    const v = ctx.rng.pick([
      `{${s.name}${inner}} ${s.value}`,
      `{"${s.name}"${inner}} ${s.value}`,
      `"${s.name}"{${inner.slice(1)}} ${s.value}`,
      `{"${s.name}.x"${inner}} ${s.value}`,
      `{${inner.slice(1)}} ${s.value}`,
      `{} ${s.value}`,
    ]);
    setLine(ctx, i, v);
    return m('sample-names/name-in-braces', `line ${i + 1}: ${short(v)}`);
  },
  (ctx) => {
    const p = pickSample(ctx);
    if (!p) return undefined;
    const [i, s] = p;
    const to = ctx.rng.pick([`${s.name}:x`, `1${s.name}`, `${s.name}-x`, `${s.name}.x`, `:${s.name}`, `${s.name}ü`]);
    setLine(ctx, i, renderSample({ ...s, name: to }));
    return m('sample-names/odd-name', `line ${i + 1}: ${s.name} → ${short(to)}`);
  },
  (ctx) => {
    // go_x next to kata_shim_go_x: one name after upstream's rename.
    const fs = families(ctx, (f) => /^(go_|process_|kata_shim_go_|kata_shim_process_)/.test(f.name) && f.samples.length > 0);
    if (fs.length === 0) return undefined;
    const f = ctx.rng.pick(fs);
    const to = f.name.startsWith('kata_shim_') ? f.name.slice('kata_shim_'.length) : `kata_shim_${f.name}`;
    const block = [f.help, f.typeLine, ...f.samples].filter((x): x is number => x !== undefined).sort((a, b) => a - b);
    const renamed = block.map((i) => ctx.lines[i]!.replace(f.name, to));
    ctx.lines.push(...renamed);
    return m('sample-names/renamed-twin', `${f.name} copied as ${to}`);
  },
];

const LINE_MUTATIONS: Readonly<Record<Exclude<MutationClass, 'characters'>, readonly LineMutation[]>> = {
  values,
  labels,
  blanks,
  timestamps,
  comments,
  lines,
  types,
  'label-names': labelNames,
  'sample-names': sampleNames,
};

/** One byte inserted, deleted or replaced, mostly on sample lines. */
function characters(rng: Rng, body: Buffer): [Buffer, Mutation] {
  if (body.length === 0) return [Buffer.from(rng.pick(SPECIAL_BYTES)), m('characters/insert', 'into the empty body')];
  // A random line, then a random place in it (its newline included).
  const starts = [0];
  for (let i = body.indexOf(0x0a); i >= 0 && i + 1 < body.length; i = body.indexOf(0x0a, i + 1)) starts.push(i + 1);
  const line = rng.int(starts.length);
  const from = starts[line]!;
  const to = line + 1 < starts.length ? starts[line + 1]! : body.length;
  const at = from + rng.int(Math.max(1, to - from));
  const bytes = rng.chance(0.8) ? rng.pick(SPECIAL_BYTES) : [0x20 + rng.int(95)];
  const op = rng.pick(['insert', 'delete', 'replace'] as const);
  const shown = JSON.stringify(Buffer.from(bytes).toString('latin1'));
  const where = `line ${line + 1} column ${at - from + 1}`;
  switch (op) {
    case 'insert':
      return [Buffer.concat([body.subarray(0, at), Buffer.from(bytes), body.subarray(at)]), m('characters/insert', `${shown} inserted at ${where}`)];
    case 'delete':
      return [Buffer.concat([body.subarray(0, at), body.subarray(at + 1)]), m('characters/delete', `${JSON.stringify(body.subarray(at, at + 1).toString('latin1'))} deleted at ${where}`)];
    case 'replace':
      return [Buffer.concat([body.subarray(0, at), Buffer.from(bytes), body.subarray(at + 1)]), m('characters/replace', `${where} → ${shown}`)];
  }
}

// ---- the generator --------------------------------------------------------

export interface GeneratedBody {
  readonly body: Buffer;
  /** Empty for a realistic, unmutated body. */
  readonly mutations: readonly Mutation[];
}

export interface Metadata {
  readonly id: string;
  readonly uid: string;
  readonly name: string;
  readonly namespace: string;
}

export class BodyGenerator {
  readonly #sources: Family[][];

  constructor(seed: number) {
    this.#sources = sourceBodies(seed);
  }

  /** One shim body: a few families of a real one, mutated 1–3 times (about one in ten left as it is). */
  body(rng: Rng): GeneratedBody {
    const realistic = rng.chance(0.1);
    const lines = cut(rng, rng.pick(this.#sources), undefined, realistic ? 6 : 4);
    return realistic ? { body: join(lines), mutations: [] } : mutate(rng, lines);
  }

  /** Two bodies with the same families (other values, other series): what the merge sees. */
  pair(rng: Rng): [GeneratedBody, GeneratedBody] {
    const first = rng.pick(this.#sources);
    const names = new Set(choose(rng, first, 1 + rng.int(4)).map((f) => f.name));
    const one = (): GeneratedBody => {
      const lines = cut(rng, rng.pick(this.#sources), names, 0);
      return rng.chance(0.4) ? { body: join(lines), mutations: [] } : mutate(rng, lines);
    };
    return [one(), one()];
  }
}

function join(lines: readonly string[]): Buffer {
  return Buffer.from(lines.length > 0 ? lines.join('\n') + '\n' : '');
}

function mutate(rng: Rng, start: readonly string[]): GeneratedBody {
  const ctx: Ctx = { rng, lines: [...start] };
  const done: Mutation[] = [];
  let bytes = 0;
  const count = 1 + rng.int(3);
  for (let tries = 0; done.length + bytes < count && tries < 20; tries++) {
    const cls = rng.pick(MUTATION_CLASSES);
    if (cls === 'characters') {
      bytes++; // applied to the bytes, after the line edits
      continue;
    }
    const r = rng.pick(LINE_MUTATIONS[cls])(ctx);
    if (r) done.push(r);
  }
  let body = join(ctx.lines);
  for (let k = 0; k < bytes; k++) {
    const [b, r] = characters(rng, body);
    body = b;
    done.push(r);
  }
  return { body, mutations: done };
}

// ---- sandbox metadata -----------------------------------------------------

const hex = (rng: Rng, n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[rng.int(16)]).join('');

const POD_NAMES = ['nginx-7c79c4bf97-xk2lp', 'coredns-5d78c9869d-4wq2j', 'redis-0', 'etcd-control-plane', 'kata-demo', 'batch-job-28374650-9xzqk'];
const NAMESPACES = ['default', 'kube-system', 'web', 'monitoring', 'team-a'];
/** Pod names whose label values Go escapes (or that look like syntax). */
const AWKWARD_NAMES = ['say "hi"', 'back\\slash', 'new\nline', 'tab\there', 'café-ü', '日本', '{a="b"}', 'a,b=c', 'trailing\\', '"', '\\n', ''];

/** A sandbox as the CRI reports it: sometimes without metadata yet, sometimes with a name that needs escaping. */
export function sandboxMetadata(rng: Rng): Metadata {
  const id = hex(rng, 64);
  const r = rng.next();
  if (r < 0.1) return { id, uid: '', name: '', namespace: '' };
  const uid = `${hex(rng, 8)}-${hex(rng, 4)}-4${hex(rng, 3)}-${rng.pick(['8', '9', 'a', 'b'])}${hex(rng, 3)}-${hex(rng, 12)}`;
  const name = r < 0.2 ? rng.pick(AWKWARD_NAMES) : rng.pick(POD_NAMES);
  return { id, uid, name, namespace: rng.pick(NAMESPACES) };
}
