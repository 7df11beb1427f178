// Content negotiation for /metrics, the one place that decides the format.
// It reproduces prometheus/common v0.62 expfmt.Negotiate (what kata-monitor
// calls) over munnerz/goautoneg's Accept parsing, quirks included:
// - entries are ordered by goautoneg's comparator (higher q first, and a
//   concrete type before `*`, even against a higher q), applied as Go's
//   sort.Sort does for short slices: an insertion sort. Go switches to
//   pdqsort beyond 12 entries; no scraper sends that many;
// - q is parsed as a float32 and an unparsable q counts as 0;
// - an `escaping=` parameter on any entry examined up to and including the
//   match sets the answer's escaping, default `underscores`;
// - text/plain matches with version 0.0.4 or none; everything else falls back
//   to text.
// Go would also answer `encoding=text` / `compact-text` protobuf requests with
// protobuf text formats; we do not produce those, so such entries are skipped.
// OpenMetrics is considered only when opts.openMetrics (Go's
// NegotiateIncludingOpenMetrics), with its version 0.0.1/1.0.0 echoed.

export type ExpositionFormat = 'text' | 'openmetrics' | 'protobuf';

export interface Negotiated {
  readonly format: ExpositionFormat;
  /** The Content-Type header value, escaping parameter included. */
  readonly contentType: string;
}

export interface AcceptEntry {
  readonly type: string;
  readonly subtype: string;
  readonly q: number;
  readonly params: ReadonlyMap<string, string>;
}

const TEXT = 'text/plain; version=0.0.4; charset=utf-8';
const PROTO_DELIM = 'application/vnd.google.protobuf; proto=io.prometheus.client.MetricFamily; encoding=delimited';
const OPENMETRICS_1 = 'application/openmetrics-text; version=1.0.0; charset=utf-8';
const OPENMETRICS_0 = 'application/openmetrics-text; version=0.0.1; charset=utf-8';
const ESCAPINGS = new Set(['allow-utf-8', 'underscores', 'dots', 'values']);

/** Picks the /metrics format for an Accept header, as kata-monitor (expfmt v0.62) does. */
export function negotiate(acceptHeader: string | undefined, opts: { openMetrics: boolean }): Negotiated {
  let escaping = 'underscores';
  for (const ac of parseAccept(acceptHeader ?? '')) {
    const esc = ac.params.get('escaping');
    if (esc !== undefined && ESCAPINGS.has(esc)) escaping = esc;
    const ver = ac.params.get('version') ?? '';
    if (
      ac.type === 'application' &&
      ac.subtype === 'vnd.google.protobuf' &&
      ac.params.get('proto') === 'io.prometheus.client.MetricFamily' &&
      ac.params.get('encoding') === 'delimited'
    ) {
      return { format: 'protobuf', contentType: `${PROTO_DELIM}; escaping=${escaping}` };
    }
    if (ac.type === 'text' && ac.subtype === 'plain' && (ver === '0.0.4' || ver === '')) {
      return { format: 'text', contentType: `${TEXT}; escaping=${escaping}` };
    }
    if (
      opts.openMetrics &&
      ac.type === 'application' &&
      ac.subtype === 'openmetrics-text' &&
      (ver === '1.0.0' || ver === '0.0.1' || ver === '')
    ) {
      return {
        format: 'openmetrics',
        contentType: `${ver === '1.0.0' ? OPENMETRICS_1 : OPENMETRICS_0}; escaping=${escaping}`,
      };
    }
  }
  return { format: 'text', contentType: `${TEXT}; escaping=${escaping}` };
}

/** kata-monitor's gzipAccepted: a comma-separated part that is `gzip` or starts with `gzip;`. */
export function acceptsGzip(acceptEncoding: string | undefined): boolean {
  if (acceptEncoding === undefined) return false;
  for (const raw of acceptEncoding.split(',')) {
    const part = raw.trim();
    if (part === 'gzip' || part.startsWith('gzip;')) return true;
  }
  return false;
}

/** goautoneg.ParseAccept: entries in preference order. */
export function parseAccept(header: string): AcceptEntry[] {
  const entries: AcceptEntry[] = [];
  if (header === '') return entries;
  for (const rawPart of header.split(',')) {
    const part = trimSpaces(rawPart);
    const semi = part.indexOf(';');
    const mediaRange = semi < 0 ? part : part.slice(0, semi);
    const slash = mediaRange.indexOf('/');
    const type = trimSpaces(slash < 0 ? mediaRange : mediaRange.slice(0, slash));
    let subtype: string;
    const rest = slash < 0 ? '' : mediaRange.slice(slash + 1);
    if (rest === '') {
      // Only a bare `*` may omit the subtype.
      if (type !== '*') continue;
      subtype = '*';
    } else {
      // Go splits once more on '/' and gives up only if text follows it.
      const extra = rest.indexOf('/');
      if (extra >= 0 && extra < rest.length - 1) continue;
      subtype = trimSpaces(extra < 0 ? rest : rest.slice(0, extra));
    }
    let q = 1;
    const params = new Map<string, string>();
    if (semi >= 0) {
      for (const p of part.slice(semi + 1).split(';')) {
        const eq = p.indexOf('=');
        if (eq < 0 || eq === p.length - 1) continue; // no value
        let value = p.slice(eq + 1);
        const extra = value.indexOf('=');
        if (extra >= 0) {
          if (extra < value.length - 1) continue; // `k=a=b`
          value = value.slice(0, extra); // Go keeps `k=a=` as `a`
        }
        const key = trimSpaces(p.slice(0, eq));
        if (key === 'q') q = parseQ(value);
        else params.set(key, trimSpaces(value));
      }
    }
    entries.push({ type, subtype, q, params });
  }
  // Go's insertion sort (sort.Sort on <= 12 elements) with goautoneg's Less.
  for (let i = 1; i < entries.length; i++) {
    for (let j = i; j > 0 && less(entries[j] as AcceptEntry, entries[j - 1] as AcceptEntry); j--) {
      const t = entries[j] as AcceptEntry;
      entries[j] = entries[j - 1] as AcceptEntry;
      entries[j - 1] = t;
    }
  }
  return entries;
}

function less(a: AcceptEntry, b: AcceptEntry): boolean {
  if (a.q > b.q) return true;
  if (a.type !== '*' && b.type === '*') return true;
  if (a.subtype !== '*' && b.subtype === '*') return true;
  return false;
}

/** goautoneg trims spaces only, not tabs. */
const trimSpaces = (s: string): string => s.replace(/^ +| +$/g, '');

/** strconv.ParseFloat(v, 32) with the error ignored: 0 on bad syntax, ±Inf on overflow. */
function parseQ(v: string): number {
  if (/^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/.test(v)) return Math.fround(Number(v));
  const lower = v.toLowerCase();
  if (/^[+-]?inf(?:inity)?$/.test(lower)) return lower.startsWith('-') ? -Infinity : Infinity;
  if (lower === 'nan') return NaN;
  return 0;
}
