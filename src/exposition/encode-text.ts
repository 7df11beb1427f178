// Text format 0.0.4, byte for byte as Go's expfmt.MetricFamilyToText writes it
// (prometheus/common v0.62): HELP only when present, then TYPE, then one line
// per sample; histograms get a synthesized `le="+Inf"` bucket when theirs
// lacks one; `le`/`quantile` go after the metric's own labels.
//
// Names are written as they are: the model only carries legacy names (the
// scanner escapes quoted UTF-8 names to them, as Go's parser does), so Go's
// quoting of UTF-8 names never applies.

import { formatFloat } from './float.ts';
import type { Label, Metric, MetricFamily } from './model.ts';

const NEEDS_ESCAPE = /[\\\n"]/;
const HELP_NEEDS_ESCAPE = /[\\\n]/;

/** Label value escaping: `\` → `\\`, `"` → `\"`, newline → `\n`. */
export function escapeLabelValue(v: string): string {
  if (!NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/[\\\n"]/g, (ch) => (ch === '\n' ? '\\n' : '\\' + ch));
}

/** HELP escaping in text 0.0.4: only `\` and newline (quotes stay as they are). */
function escapeHelp(v: string): string {
  if (!HELP_NEEDS_ESCAPE.test(v)) return v;
  return v.replace(/[\\\n]/g, (ch) => (ch === '\n' ? '\\n' : '\\\\'));
}

/** `l1="v1",l2="v2"` — no braces, empty for no labels. */
export function formatLabels(labels: readonly Label[]): string {
  let s = '';
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i] as Label;
    s += (i === 0 ? '' : ',') + l.name + '="' + escapeLabelValue(l.value) + '"';
  }
  return s;
}

/** Go's writeInt for timestamps: plain integer digits, never exponent form. */
export function formatTimestamp(ms: number | bigint): string {
  return typeof ms === 'bigint' || Number.isSafeInteger(ms) ? String(ms) : BigInt(Math.trunc(ms)).toString();
}

/**
 * One family as text; '' for a family with no metrics (Go refuses to encode
 * those; the parser never produces them).
 */
export function encodeFamilyText(f: MetricFamily): string {
  const metrics = f.metrics;
  if (metrics.length === 0) return '';
  const name = f.name;
  let out = f.help === undefined ? '' : '# HELP ' + name + ' ' + escapeHelp(f.help) + '\n';
  out += '# TYPE ' + name + ' ' + f.type + '\n';
  for (let i = 0; i < metrics.length; i++) out += encodeMetric(name, metrics[i] as Metric);
  return out;
}

/** Families in order, as one body. */
export function encodeText(families: readonly MetricFamily[]): string {
  let out = '';
  for (const f of families) out += encodeFamilyText(f);
  return out;
}

function encodeMetric(name: string, m: Metric): string {
  const ts = m.timestampMs === undefined ? '\n' : ' ' + formatTimestamp(m.timestampMs) + '\n';
  return encodeSamples(name, m, ts, TEXT_NUMBERS);
}

/** How one exposition format writes numbers. */
export interface NumberStyle {
  readonly value: (v: number) => string;
  /** Bucket and sample counts. */
  readonly count: (v: number) => string;
}

const TEXT_NUMBERS: NumberStyle = { value: formatFloat, count: formatFloat };

/**
 * The sample lines of one metric, shared by the text and OpenMetrics
 * encoders: scalars; histogram buckets (le last, +Inf added when missing),
 * _sum, _count; summary quantiles, _sum, _count. `ts` ends every line.
 */
export function encodeSamples(name: string, m: Metric, ts: string, num: NumberStyle): string {
  const labels = formatLabels(m.labels);
  if (m.kind === 'scalar') {
    return (labels === '' ? name + ' ' : name + '{' + labels + '} ') + num.value(m.value) + ts;
  }
  // `name_sum{labels} ` and the like; labels may be empty.
  const plain = labels === '' ? ' ' : '{' + labels + '} ';
  const open = labels === '' ? '{' : '{' + labels + ',';
  let out = '';
  if (m.kind === 'histogram') {
    const prefix = name + '_bucket' + open + 'le="';
    let infSeen = false;
    for (const b of m.buckets) {
      out += prefix + num.value(b.upperBound) + '"} ' + num.count(b.cumulativeCount) + ts;
      if (b.upperBound === Infinity) infSeen = true;
    }
    if (!infSeen) out += prefix + '+Inf"} ' + num.count(m.count) + ts;
  } else {
    const prefix = name + open + 'quantile="';
    for (const q of m.quantiles) out += prefix + num.value(q.quantile) + '"} ' + num.value(q.value) + ts;
  }
  return out + name + '_sum' + plain + num.value(m.sum) + ts + name + '_count' + plain + num.count(m.count) + ts;
}
