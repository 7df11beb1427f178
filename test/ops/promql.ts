// Just enough PromQL lexing for the operations tests: the vector selectors of
// an expression (metric name and label matchers) and the labels its grouping
// clauses name. Prometheus itself checks that the expressions parse (the
// query API, promtool); this finds what they refer to, so that a test can
// check each name against what a real Prometheus holds.

export interface Matcher {
  readonly label: string;
  readonly op: '=' | '!=' | '=~' | '!~';
  readonly value: string;
}

export interface Selector {
  /** The metric name, from before the braces or from a __name__="…" matcher. */
  readonly name: string | undefined;
  readonly matchers: readonly Matcher[];
  /** The selector as instant-vector PromQL (no range, no offset). */
  readonly text: string;
}

type Token =
  | { readonly kind: 'ident'; readonly text: string }
  | { readonly kind: 'matchers'; readonly matchers: Matcher[] }
  | { readonly kind: 'punct'; readonly text: string }
  | { readonly kind: 'other' };

const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const KEYWORDS = new Set(['and', 'or', 'unless', 'bool', 'offset', 'inf', 'nan', 'atan2', ...GROUPING]);
const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);

function readString(s: string, i: number): { value: string; end: number } {
  const quote = s[i]!;
  let value = '';
  let j = i + 1;
  while (j < s.length && s[j] !== quote) {
    if (s[j] === '\\' && quote !== '`') {
      const c = s[j + 1];
      value += c === 'n' ? '\n' : c === 't' ? '\t' : (c ?? '');
      j += 2;
    } else value += s[j++];
  }
  if (j >= s.length) throw new Error(`unterminated string at ${i}: ${s}`);
  return { value, end: j + 1 };
}

function readMatchers(s: string, i: number): { matchers: Matcher[]; end: number } {
  const matchers: Matcher[] = [];
  let j = i + 1;
  for (;;) {
    while (/[\s,]/.test(s[j] ?? '')) j++;
    if (s[j] === '}') return { matchers, end: j + 1 };
    const name = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(j));
    if (!name) throw new Error(`bad label matcher at ${j}: ${s}`);
    j += name[0].length;
    while (/\s/.test(s[j] ?? '')) j++;
    const op = /^(=~|!~|!=|=)/.exec(s.slice(j));
    if (!op) throw new Error(`bad matcher operator at ${j}: ${s}`);
    j += op[0].length;
    while (/\s/.test(s[j] ?? '')) j++;
    if (!/["'`]/.test(s[j] ?? '')) throw new Error(`matcher value is not a string at ${j}: ${s}`);
    const str = readString(s, j);
    matchers.push({ label: name[0], op: op[0] as Matcher['op'], value: str.value });
    j = str.end;
  }
}

function tokenize(s: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < s.length) {
    const c = s[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '#') {
      while (i < s.length && s[i] !== '\n') i++; // a comment
    } else if (c === '"' || c === "'" || c === '`') {
      i = readString(s, i).end;
      out.push({ kind: 'other' });
    } else if (c === '{') {
      const m = readMatchers(s, i);
      out.push({ kind: 'matchers', matchers: m.matchers });
      i = m.end;
    } else if (c === '[') {
      const close = s.indexOf(']', i);
      if (close < 0) throw new Error(`unterminated range at ${i}: ${s}`);
      i = close + 1;
      out.push({ kind: 'other' });
    } else if (/[a-zA-Z_:]/.test(c)) {
      const m = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(s.slice(i))!;
      out.push({ kind: 'ident', text: m[0] });
      i += m[0].length;
    } else if (/[0-9.]/.test(c)) {
      const m = /^(0x[0-9a-fA-F]+|(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?)([a-zA-Z]+\d*)*/.exec(s.slice(i))!;
      i += m[0].length;
      out.push({ kind: 'other' });
    } else if (c === '$') {
      const m = /^\$[a-zA-Z_][a-zA-Z0-9_]*/.exec(s.slice(i));
      i += m ? m[0].length : 1;
      out.push({ kind: 'other' });
    } else {
      out.push({ kind: 'punct', text: c });
      i++;
    }
  }
  return out;
}

/** Skips a parenthesised list starting at tokens[i] ('('); returns the index after ')' and the names in it. */
function skipList(tokens: readonly Token[], i: number): { next: number; names: string[] } {
  const names: string[] = [];
  let j = i + 1;
  while (j < tokens.length) {
    const t = tokens[j]!;
    if (t.kind === 'punct' && t.text === ')') return { next: j + 1, names };
    if (t.kind === 'ident') names.push(t.text);
    j++;
  }
  throw new Error('unterminated label list');
}

function selectorText(name: string | undefined, matchers: readonly Matcher[]): string {
  const m = matchers.map((x) => `${x.label}${x.op}${JSON.stringify(x.value)}`).join(', ');
  return `${name ?? ''}{${m}}`;
}

export interface Analysis {
  readonly selectors: Selector[];
  /** Label names in by/without/on/ignoring/group_left/group_right lists. */
  readonly groupingLabels: string[];
}

export function analyze(expr: string): Analysis {
  const tokens = tokenize(expr);
  const selectors: Selector[] = [];
  const groupingLabels: string[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i]!;
    const next = tokens[i + 1];
    const opensList = next?.kind === 'punct' && next.text === '(';
    if (t.kind === 'ident') {
      const word = t.text.toLowerCase();
      if (GROUPING.has(word)) {
        if (opensList) {
          const list = skipList(tokens, i + 1);
          groupingLabels.push(...list.names);
          i = list.next - 1;
        }
        continue;
      }
      if (KEYWORDS.has(word)) continue;
      if (opensList) continue; // a function call
      if (AGGREGATIONS.has(word) && next?.kind === 'ident' && GROUPING.has(next.text.toLowerCase())) continue; // sum by (…) (…)
      const matchers = next?.kind === 'matchers' ? next.matchers : [];
      if (next?.kind === 'matchers') i++;
      selectors.push({ name: t.text, matchers, text: selectorText(t.text, matchers) });
    } else if (t.kind === 'matchers') {
      const name = t.matchers.find((m) => m.label === '__name__' && m.op === '=')?.value;
      const rest = t.matchers.filter((m) => !(m.label === '__name__' && m.op === '='));
      selectors.push({ name, matchers: t.matchers, text: selectorText(name, rest) });
    }
  }
  return { selectors, groupingLabels };
}

/** Label names used in `{{label}}` placeholders of a Grafana legend format. */
export function legendLabels(legend: string): string[] {
  return [...legend.matchAll(/\{\{\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\}\}/g)].map((m) => m[1]!);
}

/** Label names a Prometheus template reads from $labels (`$labels.x`, `index $labels "x"`). */
export function templateLabels(template: string): string[] {
  return [
    ...[...template.matchAll(/\$labels\.([a-zA-Z_][a-zA-Z0-9_]*)/g)].map((m) => m[1]!),
    ...[...template.matchAll(/index\s+\$labels\s+"([^"]+)"/g)].map((m) => m[1]!),
  ];
}
