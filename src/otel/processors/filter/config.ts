// The filter processor: metrics kept or left out by name (README.md).

import type { ComponentType } from '../../../config/types.ts';
import { optional, type Field, type KeyTree, type Reader, leaf } from '../../../config/reader.ts';

export interface NameMatch {
  readonly prefixes: readonly string[];
  readonly regexps: readonly RegExp[];
}

export interface FilterConfig {
  readonly type: 'filter';
  readonly name: string;
  readonly include?: NameMatch;
  readonly exclude?: NameMatch;
}

const MATCH_KEYS = { prefixes: leaf, regexps: leaf } satisfies KeyTree;

export const filterProcessor: ComponentType<FilterConfig> = {
  keys: { include: MATCH_KEYS, exclude: MATCH_KEYS },
  read(r, { id, field, entries: m }) {
    if (!m.has('include') && !m.has('exclude')) r.error(field, 'a filter needs include or exclude');
    return { type: 'filter', name: id, ...optional('include', readMatch(r, m.get('include'))), ...optional('exclude', readMatch(r, m.get('exclude'))) };
  },
};

function readMatch(r: Reader, field: Field): NameMatch | undefined {
  const m = r.map(field, MATCH_KEYS);
  if (!m || r.isNull(field)) return undefined;
  const before = r.errors.length;
  const prefixes = r.strings(m.get('prefixes')) ?? [];
  const regexps: RegExp[] = [];
  for (const item of r.list(m.get('regexps')) ?? []) {
    const source = r.string(item, { nonEmpty: true });
    if (source === undefined) continue;
    const re = compileRegexp(source);
    if (typeof re === 'string') r.error(item, `invalid regular expression "${source}": ${re}`);
    else regexps.push(re);
  }
  if (prefixes.length === 0 && regexps.length === 0 && r.errors.length === before) r.error(field, 'needs prefixes or regexps');
  return { prefixes, regexps };
}

// JavaScript syntax, unanchored (like the collector's regexp match). A leading
// Go/RE2 flag group such as (?i) becomes a JavaScript flag.
function compileRegexp(source: string): RegExp | string {
  const flags = /^\(\?([ims]+)\)/.exec(source);
  try {
    return flags ? new RegExp(source.slice(flags[0].length), [...new Set(flags[1])].join('')) : new RegExp(source);
  } catch (err) {
    return err instanceof Error ? err.message.replace(/^Invalid regular expression: \/.*\/[a-z]*: /s, '') : String(err);
  }
}

/** Whether a metric name passes `include` and `exclude`. */
export function keepsName(f: FilterConfig, name: string): boolean {
  return (!f.include || matches(f.include, name)) && !(f.exclude && matches(f.exclude, name));
}

function matches(m: NameMatch, name: string): boolean {
  for (const p of m.prefixes) if (name.startsWith(p)) return true;
  for (const re of m.regexps) {
    re.lastIndex = 0; // a /g or /y regexp keeps state between test() calls
    if (re.test(name)) return true;
  }
  return false;
}
