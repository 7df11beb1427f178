// A deliberately small, strict OpenMetrics 1.0 reader for round-trip tests.
// It is independent of the encoder (regexes, not the encoder's helpers) and
// checks the rules the encoder must keep: metadata before samples, counters
// sampled as <name>_total, floats with '.' or an exponent, `# EOF` last.
// Counters come back named <name>_total (OpenMetrics cannot tell `foo` from
// `foo_total`); `unknown` comes back as untyped; timestamps as ms.

import type { Bucket, Label, Metric, MetricFamily, MetricType, Quantile } from '../../src/exposition/model.ts';

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: (\S+))?$/;
const LABEL = /^([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"(,|$)/;
const OM_FLOAT = /^(?:[+-]?(?:\d+\.\d*|\d*\.\d+|\d+(?:\.\d*)?e[+-]\d+)|NaN|[+-]Inf)$/;
const INT = /^\d+$/;

function unescape(s: string): string {
  return s.replace(/\\(.)/g, (_, c: string) => {
    if (c === 'n') return '\n';
    if (c === '\\' || c === '"') return c;
    throw new Error(`bad escape \\${c}`);
  });
}

function float(s: string, what: string): number {
  if (!OM_FLOAT.test(s)) throw new Error(`${what}: "${s}" is not an OpenMetrics float`);
  return s === 'NaN' ? NaN : s === '+Inf' ? Infinity : s === '-Inf' ? -Infinity : Number(s);
}

function count(s: string, what: string): number {
  if (!INT.test(s)) throw new Error(`${what}: "${s}" is not an integer count`);
  return Number(s);
}

interface Fam {
  name: string;
  meta: string;
  help?: string;
  type?: string;
  unit?: string;
  metrics: Metric[];
  byKey: Map<string, HistogramBuild | SummaryBuild>;
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

const SUFFIXES: Readonly<Record<string, readonly string[]>> = {
  counter: ['_total'],
  gauge: [''],
  unknown: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

/**
 * Families are blocks: metadata lines open a block (a new one when the name
 * changes or the current block already has samples), samples belong to the
 * open block and must be named <meta><suffix allowed by its type>.
 */
export function readOpenMetrics(body: string): MetricFamily[] {
  if (!body.endsWith('# EOF\n')) throw new Error('body must end with "# EOF\\n"');
  const lines = body.slice(0, -'# EOF\n'.length).split('\n');
  lines.pop(); // after the last newline
  const fams: Fam[] = [];
  let cur: Fam | undefined;

  for (const line of lines) {
    if (line === '' || line === '# EOF') throw new Error(`unexpected line "${line}" before the end`);
    const meta = /^# (HELP|TYPE|UNIT) ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (meta !== null) {
      const [, kind, name, rest] = meta as unknown as [string, string, string, string];
      if (cur === undefined || cur.meta !== name || cur.metrics.length > 0) {
        cur = { name, meta: name, metrics: [], byKey: new Map() };
        fams.push(cur);
      }
      const key = kind === 'HELP' ? 'help' : kind === 'TYPE' ? 'type' : 'unit';
      if (cur[key] !== undefined) throw new Error(`second ${kind} for ${name}`);
      cur[key] = kind === 'HELP' ? unescape(rest) : rest;
      continue;
    }
    const s = SAMPLE.exec(line);
    if (s === null) throw new Error(`not a sample: "${line}"`);
    if (cur?.type === undefined) throw new Error(`sample before any TYPE: "${line}"`);
    const fam = cur;
    const type = fam.type as string;
    const [, sampleName, labelText = '', valueText, tsText] = s as unknown as [string, string, string | undefined, string, string | undefined];
    const suffix = (SUFFIXES[type] ?? []).find((suf) => sampleName === fam.meta + suf);
    if (suffix === undefined) throw new Error(`sample "${sampleName}" does not belong to ${type} ${fam.meta}`);
    const labels: Label[] = [];
    let special: string | undefined;
    for (let rest = labelText; rest !== ''; ) {
      const l = LABEL.exec(rest);
      if (l === null) throw new Error(`bad labels in "${line}"`);
      const [all, name, raw] = l as unknown as [string, string, string];
      if ((type === 'histogram' && name === 'le') || (type === 'summary' && name === 'quantile')) special = raw;
      else labels.push({ name, value: unescape(raw) });
      rest = rest.slice(all.length);
    }
    const ts = tsText === undefined ? {} : { timestampMs: Math.round(float(tsText, 'timestamp') * 1000) };
    if (type === 'counter' || type === 'gauge' || type === 'unknown') {
      fam.metrics.push({ kind: 'scalar', labels, value: float(valueText, sampleName), ...ts });
      continue;
    }
    const key = JSON.stringify(labels);
    let g = fam.byKey.get(key);
    if (g === undefined) {
      g =
        type === 'histogram'
          ? { kind: 'histogram', labels, buckets: [], sum: 0, count: 0, ...ts }
          : { kind: 'summary', labels, quantiles: [], sum: 0, count: 0, ...ts };
      fam.byKey.set(key, g);
      fam.metrics.push(g);
    }
    if (suffix === '_sum') g.sum = float(valueText, sampleName);
    else if (suffix === '_count') g.count = count(valueText, sampleName);
    else if (special === undefined) throw new Error(`"${line}" lacks le/quantile`);
    else if (g.kind === 'histogram') {
      g.buckets.push({ upperBound: float(special, 'le'), cumulativeCount: count(valueText, sampleName) });
    } else {
      g.quantiles.push({ quantile: float(special, 'quantile'), value: float(valueText, sampleName) });
    }
  }
  return fams.map((f) => {
    const type: MetricType = f.type === 'unknown' ? 'untyped' : (f.type as MetricType);
    return {
      name: type === 'counter' ? f.meta + '_total' : f.meta,
      ...(f.help === undefined ? {} : { help: f.help }),
      type,
      ...(f.unit === undefined ? {} : { unit: f.unit }),
      metrics: f.metrics,
    };
  });
}
