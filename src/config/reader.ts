// Typed reading of a YAML document that keeps every value's key path and line,
// so each error can say where it is, and that collects errors instead of
// stopping at the first. The document is parsed with the failsafe schema (every
// scalar a string): types are decided here per key, after ${env:...}
// substitution, the way the collector decides them after expanding a value.

import { isAlias, isMap, isScalar, isSeq, Scalar, type Document, type LineCounter, type Node as YamlNode } from 'yaml';
import { substituteEnv, type Env } from './env.ts';
import { parseDuration, parseSize, type Parsed } from './units.ts';

/** Allowed keys of a mapping, recursively; `{}` is a leaf (or a free-form map). */
export interface KeyTree {
  readonly [key: string]: KeyTree;
}

/** A key without sub-keys, in a KeyTree. */
export const leaf = {} as const satisfies KeyTree;

/** One value in the document: where it is and its node (null: absent or null). */
export interface Field {
  readonly path: string;
  readonly line: number;
  readonly node: YamlNode | null;
}

export interface Entries {
  /** The value under `key` (a Field with a null node when absent). */
  get(key: string): Field;
  has(key: string): boolean;
  /** Every entry, in file order: for maps whose keys are ids or free-form. */
  all(): readonly { readonly key: string; readonly field: Field }[];
}

export class Reader {
  readonly errors: string[] = [];
  readonly warnings: string[] = [];
  readonly #doc: Document;
  readonly #lines: LineCounter;
  readonly #env: Env;

  constructor(doc: Document, lines: LineCounter, env: Env) {
    this.#doc = doc;
    this.#lines = lines;
    this.#env = env;
  }

  root(): Field {
    const node = this.#resolve(this.#doc.contents as YamlNode | null);
    return { path: '', line: node ? this.lineOf(node) : 1, node };
  }

  lineOf(node: YamlNode): number {
    return this.#lines.linePos(node.range?.[0] ?? 0).line;
  }

  /** Undefined, so that a read can `return r.error(…)`. */
  error(at: Pick<Field, 'path' | 'line'>, message: string): undefined {
    this.errors.push(`config error: ${at.path || '(top level)'} (line ${at.line}): ${message}`);
    return undefined;
  }

  warn(at: Pick<Field, 'path' | 'line'>, message: string): void {
    this.warnings.push(`config warning: ${at.path || '(top level)'} (line ${at.line}): ${message}`);
  }

  isNull(field: Field): boolean {
    const t = plainText(field.node);
    return field.node === null || (t !== undefined && NULLS.includes(t));
  }

  /**
   * A mapping whose keys must be in `keys` (unknown ones are errors with a
   * hint); pass no `keys` for ids and free-form maps. Absent → empty.
   */
  map(field: Field, keys?: KeyTree): Entries | undefined {
    const entries = new Map<string, Field>();
    const result: Entries = {
      get: (key) => {
        if (keys && !(key in keys)) throw new Error(`schema bug: ${field.path}.${key} is not declared`);
        return entries.get(key) ?? { path: join(field.path, key), line: field.line, node: null };
      },
      has: (key) => entries.has(key) && !this.isNull(entries.get(key)!),
      all: () => [...entries].map(([key, f]) => ({ key, field: f })),
    };
    if (this.isNull(field)) return result;
    const node = field.node;
    if (!isMap(node)) return this.error(field, `expected a mapping (key: value), got ${describe(node)}`);
    for (const pair of node.items) {
      const keyNode = this.#resolve(pair.key as YamlNode | null);
      if (!isScalar(keyNode)) {
        this.error(field, 'keys must be plain strings');
        continue;
      }
      const key = String(keyNode.value);
      const keyLine = this.lineOf(keyNode);
      const path = join(field.path, key);
      if (keys && !(key in keys)) {
        const allowed = Object.keys(keys);
        this.error({ path, line: keyLine }, `unknown key "${key}"${didYouMean(key, allowed)}; allowed: ${allowed.join(', ') || '(none)'}`);
        continue;
      }
      const value = this.#resolve(pair.value as YamlNode | null);
      // An empty value (`key:`) takes its key's line.
      entries.set(key, { path, line: value && plainText(value) !== '' ? this.lineOf(value) : keyLine, node: value });
    }
    return result;
  }

  /** A sequence; absent → undefined. */
  list(field: Field): Field[] | undefined {
    if (this.isNull(field)) return undefined;
    const node = field.node;
    if (!isSeq(node)) return this.error(field, `expected a list, got ${describe(node)}`);
    return node.items.map((item, i) => {
      const n = this.#resolve(item as YamlNode | null);
      return { path: `${field.path}[${i}]`, line: n ? this.lineOf(n) : field.line, node: n };
    });
  }

  /** A scalar's text after ${env:...} substitution; absent or null → undefined. */
  text(field: Field): string | undefined {
    if (this.isNull(field)) return undefined;
    const node = field.node;
    if (!isScalar(node)) return this.error(field, `expected a single value, got ${describe(node)}`);
    const result = substituteEnv(String(node.value), this.#env);
    if (!result.ok) {
      for (const e of result.errors) this.error(field, e);
      return undefined;
    }
    return result.value;
  }

  string(field: Field, opts: { nonEmpty?: boolean } = {}): string | undefined {
    const s = this.text(field);
    if (s !== undefined && opts.nonEmpty && s.trim() === '') return this.error(field, 'must not be empty');
    return s;
  }

  /** A list of strings; a single string is accepted as a list of one. */
  strings(field: Field): string[] | undefined {
    if (isScalar(field.node) && !this.isNull(field)) {
      const s = this.text(field);
      return s === undefined ? undefined : [s];
    }
    const items = this.list(field);
    if (!items) return undefined;
    const out: string[] = [];
    for (const item of items) {
      const s = this.text(item);
      if (s !== undefined) out.push(s);
      else if (this.isNull(item)) this.error(item, 'expected a string, got nothing');
    }
    return out;
  }

  oneOf<T extends string>(field: Field, values: readonly T[], aliases: Readonly<Record<string, T>> = {}): T | undefined {
    const s = this.#nonBlank(field);
    if (s === undefined) return undefined;
    const v = aliases[s] ?? s;
    if ((values as readonly string[]).includes(v)) return v as T;
    return this.error(field, `invalid value "${s}"${didYouMean(s, values)}; expected one of: ${values.join(', ')}`);
  }

  bool(field: Field): boolean | undefined {
    const s = this.#nonBlank(field);
    if (s === undefined) return undefined;
    const b = parseBool(s);
    if (b === undefined) this.error(field, `invalid boolean "${s}" (expected true or false)`);
    return b;
  }

  int(field: Field, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
    return this.#parsed(field, (s) => decimal(s, /^[+-]?\d+$/, 'integer'), min, max, String);
  }

  /** A decimal number in [min, max]. */
  number(field: Field, min: number, max: number): number | undefined {
    return this.#parsed(field, (s) => decimal(s, NUMBER, 'number'), min, max, String);
  }

  /** Milliseconds. */
  duration(field: Field, minMs: number): number | undefined {
    return this.#parsed(field, parseDuration, minMs, Number.MAX_SAFE_INTEGER, (ms) => `${ms}ms`);
  }

  /** Bytes. */
  size(field: Field, min: number): number | undefined {
    return this.#parsed(field, parseSize, min, Number.MAX_SAFE_INTEGER, (b) => `${b} bytes`);
  }

  /** A plain scalar as YAML's core schema would type it; quoted ones stay strings. */
  scalar(field: Field): string | number | boolean | undefined {
    const s = this.text(field);
    if (s === undefined) return undefined;
    if (plainText(field.node) === undefined) return s;
    return parseBool(s) ?? (NUMBER.test(s) ? Number(s) : s);
  }

  // An empty result after substitution (`${env:X:-}`) means "use the default",
  // as an empty value would after the collector re-parses it.
  #nonBlank(field: Field): string | undefined {
    const t = this.text(field)?.trim();
    return t === '' ? undefined : t;
  }

  /** The value `parse` makes of the field's text, if in [min, max]; `show` writes a number in the errors. */
  #parsed(field: Field, parse: (s: string) => Parsed<number>, min: number, max: number, show: (n: number) => string): number | undefined {
    const s = this.#nonBlank(field);
    if (s === undefined) return undefined;
    const parsed = parse(s);
    if (!parsed.ok) return this.error(field, parsed.reason);
    if (parsed.value < min) return this.error(field, `must be at least ${show(min)}, got ${show(parsed.value)}`);
    if (parsed.value > max) return this.error(field, `must be at most ${show(max)}, got ${show(parsed.value)}`);
    return parsed.value;
  }

  #resolve(node: YamlNode | null): YamlNode | null {
    if (node && isAlias(node)) return (node.resolve(this.#doc) as YamlNode | undefined) ?? null;
    return node;
  }
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`;
}

const NULLS = ['', '~', 'null', 'Null', 'NULL'];
const NUMBER = /^[+-]?(\d+|\d*\.\d+|\d+\.\d*)([eE][-+]?\d+)?$/;

function decimal(s: string, grammar: RegExp, what: string): Parsed<number> {
  return grammar.test(s) ? { ok: true, value: Number(s) } : { ok: false, reason: `invalid ${what} "${s}"` };
}

/** A plain (unquoted) scalar's text; undefined for any other node. */
function plainText(n: YamlNode | null): string | undefined {
  return isScalar(n) && n.type === Scalar.PLAIN ? String(n.value) : undefined;
}

/** YAML 1.2 core schema's booleans. */
function parseBool(s: string): boolean | undefined {
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  return undefined;
}

function describe(node: YamlNode | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return `"${String(node.value)}"`;
  return 'an unsupported node';
}

/** ` (did you mean "X"?)` with the closest candidate within a small edit distance, or ''. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = Infinity;
  let bestEdits = Infinity;
  for (const c of candidates) {
    const [w, k] = [word.toLowerCase(), c.toLowerCase()];
    const edits = editDistance(w, k);
    // One a prefix of the other ("protobuf"/"proto", "otlphttp/x"/"otlphttp") is a near miss too;
    // between near misses, the fewer edits win ("otlp_http" is "otlphttp", not "otlp").
    const d = Math.min(k.length, w.length) >= 3 && (w.startsWith(k) || k.startsWith(w)) ? Math.min(1, edits) : edits;
    if (d <= limit && (d < bestDistance || (d === bestDistance && edits < bestEdits))) {
      best = c;
      bestDistance = d;
      bestEdits = edits;
    }
  }
  return best === undefined ? '' : ` (did you mean "${best}"?)`;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      cur.push(Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost));
    }
    prev = cur;
  }
  return prev[b.length] ?? 0;
}

/** `{ key: value }` when value is defined, `{}` otherwise: keeps optional keys absent. */
export function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

/** `required(r, m, key)`: a non-empty string that must be there. */
export function required(r: Reader, m: Entries, key: string): string | undefined {
  if (!m.has(key)) return r.error(m.get(key), 'required');
  return r.string(m.get(key), { nonEmpty: true });
}
