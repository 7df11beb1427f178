// The OTLP push path when every exporter of a pipeline speaks protobuf: a
// snapshot's scrape index (scrape/relabel.ts) straight to encoded requests.
// The same data as translate.ts + otlp-encode.ts produce (the differential
// test holds them byte for byte), without their object model: no parse of
// the bodies into families, no attributes object or data point per series,
// and between pushes only what the start times need, per series 32 bytes in
// a Float64Array (the translator kept ~620 B per series in objects: 93 MiB at
// 300 sandboxes, what kept the push from fitting the DaemonSet's memory).
//
// Families come in the order the old path met them (the daemon's own, then
// each sandbox's in body order), a family's points sandbox by sandbox; label
// values are copied from the body as they are unless escaped.

import { setImmediate } from 'node:timers/promises';
import type { Attributes } from '@opentelemetry/api';
import type { InstrumentationScope } from '@opentelemetry/core';
import { emptyResource, type Resource } from '@opentelemetry/resources';
import type { MetricFamily, MetricType } from '../exposition/model.ts';
import { floatAt, intAt } from '../exposition/float-bytes.ts';
import { PART, REBUILT, newParts, readRecord, type IndexedBody, type SampleParts } from '../scrape/relabel.ts';
import type { CriMetadata } from '../discovery/registry.ts';
import type { SandboxScrape, Snapshot } from '../scrape/snapshot.ts';
import { BACKSLASH, COMMA, EQ, QUOTE, SP, TAB } from '../exposition/chars.ts';
import { ProtobufWriter, WIRE_I64, WIRE_LEN } from '../wire/protobuf-writer.ts';
import type { EncodedRequest, OtelMetricData } from './model.ts';
import { AggregationTemporality } from '@opentelemetry/sdk-metrics';
import { LEN_POINT, metricFrame, writeKeyValue, type MetricFrame } from './otlp-encode.ts';
import { RequestWriter, type RequestForms } from './request-writer.ts';
import { podAttributes, sameKind, SCOPE, TranslateError, Translator } from './translate.ts';

/** What a pipeline's processors make of a push: which metrics, on which resource, in batches of how many points. */
export interface PushPlan {
  readonly resource: Resource;
  readonly keep: (metricName: string) => boolean;
  /** Points per request; 0: no limit. */
  readonly maxPoints: number;
  /** Which forms of the requests the exporters need (default: protobuf only). */
  readonly forms?: RequestForms;
}

export interface EncodedPush {
  readonly requests: readonly EncodedRequest[];
  readonly errors: readonly TranslateError[];
  readonly dataPoints: number;
}

export interface IndexEncoderOptions {
  /** The daemon's own families (kata_monitor_*), first, without sandbox attributes. */
  readonly extraFamilies?: () => readonly MetricFamily[];
  readonly scope?: InstrumentationScope;
  readonly now?: () => number;
}

/**
 * Start-time state of one family's cumulative series in one sandbox, as of
 * one scrape: per point, in the order they were met, its identity (a hash of
 * its labels' bytes), start, last value and when that was seen.
 */
interface Starts {
  readonly scrape: SandboxScrape;
  readonly data: Float64Array;
}
const S = 4;

interface SandboxState {
  /** The scrape `next` is being filled for. */
  scrape: SandboxScrape | undefined;
  prev: Map<string, Starts>;
  next: Map<string, Starts>;
  /** The sandbox's attributes as KeyValues of field 7 and 9, and the metadata they were built from. */
  attrs7: Uint8Array;
  attrs9: Uint8Array;
  readonly meta: CriMetadata;
}

/** One exported family: where its samples are in each sandbox. */
interface Family {
  readonly name: string;
  readonly type: MetricType;
  readonly help: string | undefined;
  /** Per sandbox having it: scrape, then its record runs (from, to). */
  readonly parts: (SandboxScrape | number)[];
}

export class IndexEncoder {
  readonly #scope: InstrumentationScope;
  readonly #self: Translator | undefined;
  readonly #selfMemo = new WeakMap<Snapshot, { metrics: readonly OtelMetricData[]; errors: readonly TranslateError[] }>();
  #sandboxes = new Map<string, SandboxState>();
  #advancedFor: Snapshot | undefined;
  #running: Promise<void> = Promise.resolve();
  readonly #frames = new Map<string, MetricFrame>();

  constructor(options: IndexEncoderOptions = {}) {
    this.#scope = options.scope ?? SCOPE;
    const extra = options.extraFamilies;
    // The daemon's own families are few: the object model's translator does them.
    this.#self = extra && new Translator({ resource: emptyResource(), extraFamilies: extra, scope: this.#scope, ...(options.now && { now: options.now }) });
  }

  /**
   * One snapshot as requests. Encoding the same snapshot again (a second
   * pipeline) sees the same start times: series state advances once per
   * scrape. Encodes run one at a time, and each lets the event loop run
   * every few milliseconds (a push of 300 sandboxes takes ~150 ms), so that
   * /metrics and /sandboxes answer meanwhile.
   */
  encode(snapshot: Snapshot, plan: PushPlan): Promise<EncodedPush> {
    const run = this.#running.then(() => this.#encode(snapshot, plan));
    this.#running = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  async #encode(snapshot: Snapshot, plan: PushPlan): Promise<EncodedPush> {
    const errors: TranslateError[] = [];
    let slice = performance.now();
    const out = new RequestWriter(plan.resource, this.#scope, plan.maxPoints, plan.forms ?? { proto: true, gzip: false });
    if (this.#advancedFor !== snapshot) this.#forget(snapshot);

    for (const m of this.#selfMetrics(snapshot, errors)) if (plan.keep(m.descriptor.name)) out.metric(m);

    const enc = new PointEncoder(out);
    for (const f of families(snapshot, errors)) {
      if (!plan.keep(f.name)) continue;
      out.begin(this.#frame(f));
      const kind = f.type === 'histogram' || f.type === 'summary' ? f.type : 'scalar';
      const cumulative = f.type !== 'gauge' && f.type !== 'untyped';
      for (let k = 0; k < f.parts.length; ) {
        const scrape = f.parts[k++] as SandboxScrape;
        let end = k;
        while (end < f.parts.length && typeof f.parts[end] === 'number') end++;
        const state = this.#state(scrape);
        enc.sandbox(scrape, state, cumulative ? f.name : undefined);
        if (kind === 'scalar') {
          for (let j = k; j < end; j += 2) enc.scalars(f.parts[j] as number, f.parts[j + 1] as number);
        } else {
          enc.groups(f.parts, k, end, kind, f.name, errors);
        }
        enc.done();
        k = end;
        if (performance.now() - slice > SLICE_MS) {
          await setImmediate();
          slice = performance.now();
        }
      }
    }
    const requests = out.finish();
    let dataPoints = 0;
    for (const r of requests) dataPoints += r.points;
    return { requests, errors, dataPoints };
  }

  #selfMetrics(snapshot: Snapshot, errors: TranslateError[]): readonly OtelMetricData[] {
    if (!this.#self) return [];
    let t = this.#selfMemo.get(snapshot);
    if (!t) {
      // A snapshot of no sandboxes: just the daemon's own families.
      const r = this.#self.translate({ startedAt: snapshot.startedAt, finishedAt: snapshot.finishedAt, sandboxes: [] });
      t = { metrics: r.resourceMetrics.scopeMetrics[0]?.metrics ?? [], errors: r.errors };
      this.#selfMemo.set(snapshot, t);
    }
    errors.push(...t.errors);
    return t.metrics;
  }

  /** A new snapshot: sandboxes it does not have lose their state (as the translator's do). */
  #forget(snapshot: Snapshot): void {
    const kept = new Map<string, SandboxState>();
    for (const s of snapshot.sandboxes) {
      const st = this.#sandboxes.get(s.sandbox.id);
      if (st && s.index) kept.set(s.sandbox.id, st);
    }
    this.#sandboxes = kept;
    this.#advancedFor = snapshot;
  }

  #state(scrape: SandboxScrape): SandboxState {
    const { id, metadata: m } = scrape.sandbox;
    let st = this.#sandboxes.get(id);
    if (!st || st.meta.uid !== m.uid || st.meta.name !== m.name || st.meta.namespace !== m.namespace) {
      const attrs = podAttributes(scrape.sandbox);
      st = { scrape: undefined, prev: st?.prev ?? new Map(), next: st?.next ?? new Map(), attrs7: keyValues(attrs, 7), attrs9: keyValues(attrs, 9), meta: m };
      this.#sandboxes.set(id, st);
    }
    if (st.scrape !== scrape) {
      st.prev = st.next;
      st.next = new Map();
      st.scrape = scrape;
    }
    return st;
  }

  #frame(f: Family): MetricFrame {
    const key = `${f.type}\n${f.name}\n${f.help ?? ''}`;
    let frame = this.#frames.get(key);
    if (!frame) {
      if (this.#frames.size > 4096) this.#frames.clear();
      frame = frameOf(f);
      this.#frames.set(key, frame);
    }
    return frame;
  }
}

/** How long an encode runs before letting the event loop in. */
const SLICE_MS = 10;

/**
 * The snapshot's families in the order the object-model path meets them:
 * sandbox by sandbox, each sandbox's in body order; a family typed
 * differently in a later sandbox is left out there, with an error.
 */
function families(snapshot: Snapshot, errors: TranslateError[]): Family[] {
  const byName = new Map<string, Family>();
  for (const scrape of snapshot.sandboxes) {
    if (scrape.body === undefined) continue;
    const index = scrape.index;
    if (!index) {
      const why = scrape.error?.message ?? 'no index';
      errors.push(new TranslateError(`sandbox ${scrape.sandbox.id}: unparsable shim metrics: ${why}`, { sandboxId: scrape.sandbox.id }));
      continue;
    }
    const runsOf = runsByFamily(index);
    for (const k of index.order) {
      const head = index.heads[k]!;
      let f = byName.get(head.name);
      if (!f) {
        f = { name: head.name, type: head.type, help: head.help, parts: [] };
        byName.set(head.name, f);
      } else if (!sameKind(f.type, head.type)) {
        errors.push(
          new TranslateError(`family ${head.name} is a ${head.type} in sandbox ${scrape.sandbox.id} but a ${f.type} elsewhere; skipped there`, {
            sandboxId: scrape.sandbox.id,
            family: head.name,
          }),
        );
        continue;
      }
      f.parts.push(scrape, ...runsOf[k]!);
    }
  }
  return [...byName.values()];
}

/** Per family of the index, its runs' (from, to) pairs. */
function runsByFamily(index: IndexedBody): number[][] {
  const out: number[][] = index.heads.map(() => []);
  const runs = index.runs;
  for (let o = 0; o < runs.length; o += 3) out[runs[o]!]!.push(runs[o + 1]!, runs[o + 2]!);
  return out;
}

function frameOf(f: Family): MetricFrame {
  // The index keeps HELP as written (for /metrics); its text unescaped (\\, \n), as the parser gives it.
  const description = f.help?.replace(/\\([\\n"])/g, (_, c: string) => (c === 'n' ? '\n' : c));
  const kind = f.type === 'counter' ? 'sum' : f.type === 'histogram' || f.type === 'summary' ? f.type : 'gauge';
  return metricFrame({ name: f.name, ...(description !== undefined && { description }) }, kind, AggregationTemporality.CUMULATIVE, true);
}

function keyValues(attrs: Attributes, field: number): Uint8Array {
  const w = new ProtobufWriter(512);
  for (const k in attrs) writeKeyValue(w, field, k, attrs[k]!);
  return w.buf.slice(0, w.pos);
}

/** Shim labels that the sandbox's own attributes replace (ours win, as on /metrics). */
const OURS = ['sandbox_id', 'cri_uid', 'cri_name', 'cri_namespace'].map((s) => Buffer.from(s));

/** A histogram or summary point being gathered from its samples. */
interface Group {
  /** Where its labels (le/quantile excepted) are: buffer, start, end. */
  readonly buf: Buffer;
  readonly ls: number;
  readonly le: number;
  readonly bounds: number[];
  readonly values: number[];
  sum: number;
  count: number;
  ts: number | undefined;
}

/** Writes one family's points of one sandbox at a time. */
class PointEncoder {
  readonly #out: RequestWriter;
  readonly #parts: SampleParts = newParts();
  #scrape!: SandboxScrape;
  #index!: IndexedBody;
  #state!: SandboxState;
  /** A cumulative family's name (its start times are tracked), else undefined. */
  #family: string | undefined;
  /** Its state as of this scrape when another pipeline already advanced it: read, not filled. */
  #advanced: Starts | undefined;
  /** Its state as of the last scrape, when this encode advances it. */
  #prev: Starts | undefined;
  /** Points of this family in this sandbox so far, and the state being filled. */
  #n = 0;
  /** Where this family's state is filled before it is copied out at its exact size. */
  #fill: Float64Array = new Float64Array(256 * S);
  #byIdentity: Map<number, number> | undefined;

  constructor(out: RequestWriter) {
    this.#out = out;
  }

  /** `family`: the name of a cumulative family, whose start times are tracked. */
  sandbox(scrape: SandboxScrape, state: SandboxState, family: string | undefined): void {
    this.#scrape = scrape;
    this.#index = scrape.index!;
    this.#state = state;
    this.#family = family;
    const now = family === undefined ? undefined : state.next.get(family);
    this.#advanced = now?.scrape === scrape ? now : undefined;
    this.#prev = family === undefined || this.#advanced ? undefined : state.prev.get(family);
    this.#n = 0;
    this.#byIdentity = undefined;
  }

  done(): void {
    if (this.#family !== undefined && !this.#advanced) this.#state.next.set(this.#family, { scrape: this.#scrape, data: this.#fill.slice(0, this.#n * S) });
    this.#family = undefined;
  }

  scalars(from: number, to: number): void {
    const { body, rec, overrides } = this.#index;
    const p = this.#parts;
    const at = this.#scrape.at;
    for (let r = from; r < to; r++) {
      readRecord(rec, r, p);
      const value = floatAt(body, p[PART.VS]!, p[PART.VE]!);
      const ms = p[PART.TS]! >= 0 ? intAt(body, p[PART.TS]!, p[PART.TE]!) : at;
      let buf: Buffer = body;
      let ls = p[PART.IS]!;
      let le = p[PART.KE]!;
      if (ls === REBUILT) {
        buf = overrides[le]!;
        ls = 0;
        le = buf.length;
      } else if (ls < 0) {
        ls = le = 0;
      }
      const start = this.#family !== undefined ? this.#start(identity(buf, ls, le), value, ms) : ms;
      const w = this.#out.point();
      const mark = w.open(1, LEN_POINT);
      this.#times(w, start, ms);
      w.tag(4, WIRE_I64);
      w.double(value);
      writeLabels(w, 7, buf, ls, le);
      w.raw(this.#state.attrs7);
      w.end(mark, LEN_POINT);
    }
  }

  /** Histogram or summary points from records runs parts[k, end) (from, to pairs). */
  groups(parts: readonly (SandboxScrape | number)[], k: number, end: number, kind: 'histogram' | 'summary', family: string, errors: TranslateError[]): void {
    const { body, rec, overrides } = this.#index;
    const p = this.#parts;
    const groups: Group[] = [];
    let last: Group | undefined;
    let bySignature: Map<string, Group> | undefined;
    for (let j = k; j < end; j += 2) {
      for (let r = parts[j] as number; r < (parts[j + 1] as number); r++) {
        readRecord(rec, r, p);
        let buf: Buffer = body;
        let ls = p[PART.IS]!;
        let le = p[PART.KE]!;
        let special: Buffer | undefined;
        let ss = p[PART.SS]!;
        let se = p[PART.SE]!;
        if (ls === REBUILT) {
          buf = overrides[le]!;
          special = overrides[le + 1]!;
          ls = 0;
          le = buf.length;
          ss = 0;
          se = special.length;
        } else {
          if (ls < 0) ls = le = 0;
          if (ss >= 0) special = body;
        }
        // The group: the last one when its labels are the same bytes, else by signature (Go's grouping ignores label order).
        let g = last;
        if (!g || !sameBytes(g.buf, g.ls, g.le, buf, ls, le)) {
          if (!bySignature) {
            bySignature = new Map();
            for (const x of groups) bySignature.set(signature(x.buf, x.ls, x.le), x);
          }
          const sig = signature(buf, ls, le);
          g = bySignature.get(sig);
          if (!g) {
            g = { buf, ls, le, bounds: [], values: [], sum: 0, count: 0, ts: undefined };
            groups.push(g);
            bySignature.set(sig, g);
          }
        }
        last = g;
        const value = floatAt(body, p[PART.VS]!, p[PART.VE]!);
        if (p[PART.TS]! >= 0) g.ts = intAt(body, p[PART.TS]!, p[PART.TE]!);
        if (special) {
          const bound = specialValue(special, ss, se);
          if (bound === undefined) {
            errors.push(new TranslateError(`family ${family}: sandbox ${this.#scrape.sandbox.id}: unreadable ${kind === 'histogram' ? 'le' : 'quantile'} label`, { sandboxId: this.#scrape.sandbox.id, family }));
            continue;
          }
          g.bounds.push(bound);
          g.values.push(kind === 'histogram' ? Math.trunc(value) : value);
        } else if (body[p[PART.NE]! - 1] === 116 /* _coun t */) {
          g.count = Math.trunc(value); // Go stores uint64(value)
        } else {
          g.sum = value;
        }
      }
    }
    for (const g of groups) {
      const ms = g.ts ?? this.#scrape.at;
      const start = this.#family !== undefined ? this.#start(identity(g.buf, g.ls, g.le), g.count, ms) : ms;
      const w = this.#out.point();
      const mark = w.open(1, LEN_POINT);
      this.#times(w, start, ms);
      w.tag(4, WIRE_I64);
      w.count(g.count);
      w.tag(5, WIRE_I64);
      w.double(g.sum);
      if (kind === 'histogram') {
        writeBuckets(w, g);
        writeLabels(w, 9, g.buf, g.ls, g.le);
        w.raw(this.#state.attrs9);
      } else {
        for (let q = 0; q < g.bounds.length; q++) {
          const qm = w.open(6);
          w.tag(1, WIRE_I64);
          w.double(g.bounds[q]!);
          w.tag(2, WIRE_I64);
          w.double(g.values[q]!);
          w.end(qm);
        }
        writeLabels(w, 7, g.buf, g.ls, g.le);
        w.raw(this.#state.attrs7);
      }
      w.end(mark, LEN_POINT);
    }
  }

  #times(w: ProtobufWriter, startMs: number, ms: number): void {
    const times = this.#out.times;
    const s = times.ofMillis(startMs);
    w.tag(2, WIRE_I64);
    w.fixed64(s[0], s[1]);
    const e = times.ofMillis(ms);
    w.tag(3, WIRE_I64);
    w.fixed64(e[0], e[1]);
  }

  /**
   * A cumulative series' start: first seen, now; a decrease (its process
   * restarted after our last look), the time of that look. Found at its
   * position in the last scrape's list, or by its identity if it moved.
   */
  #start(id: number, value: number, ms: number): number {
    const i = this.#n++;
    if (this.#advanced) {
      const d = this.#advanced.data;
      return i * S < d.length && d[i * S] === id ? d[i * S + 1]! : (d[this.#find(d, id) * S + 1] ?? ms);
    }
    let fill = this.#fill;
    if ((i + 1) * S > fill.length) {
      const grown = new Float64Array(fill.length * 2);
      grown.set(fill);
      this.#fill = fill = grown;
    }
    const prev = this.#prev?.data;
    let start = ms;
    if (prev) {
      const j = i * S < prev.length && prev[i * S] === id ? i : this.#find(prev, id);
      if (j >= 0) {
        start = prev[j * S + 1]!;
        if (value < prev[j * S + 2]!) start = prev[j * S + 3]!;
      }
    }
    const o = i * S;
    fill[o] = id;
    fill[o + 1] = start;
    fill[o + 2] = value;
    fill[o + 3] = ms;
    return start;
  }

  #find(d: Float64Array, id: number): number {
    if (d.length <= 32 * S) {
      for (let j = 0; j < d.length; j += S) if (d[j] === id) return j / S;
      return -1;
    }
    if (!this.#byIdentity) {
      this.#byIdentity = new Map();
      for (let j = d.length - S; j >= 0; j -= S) this.#byIdentity.set(d[j]!, j / S);
    }
    return this.#byIdentity.get(id) ?? -1;
  }
}

/** Bucket counts de-cumulated and explicit bounds, +Inf's bucket from the count (translate.ts's pointValue). */
function writeBuckets(w: ProtobufWriter, g: Group): void {
  const c = w.open(6);
  let prev = 0;
  let n = 0;
  for (; n < g.bounds.length; n++) {
    if (g.bounds[n] === Infinity) break;
    const cum = g.values[n]!;
    w.count(Math.max(0, cum - prev));
    prev = Math.max(prev, cum);
  }
  w.count(Math.max(0, g.count - prev));
  w.end(c);
  if (n > 0) {
    const b = w.open(7);
    for (let j = 0; j < n; j++) w.double(g.bounds[j]!);
    w.end(b);
  }
}

/** `le="…"` / `quantile="…"` → its value as a float; undefined when unreadable. */
function specialValue(b: Buffer, s: number, e: number): number | undefined {
  const q = b.indexOf(QUOTE, s);
  if (q < 0 || q + 1 >= e) return undefined;
  const v = floatAt(b, q + 1, e - 1);
  if (Number.isNaN(v) && !isNaNText(b, q + 1, e - 1)) return undefined;
  return v;
}

function isNaNText(b: Buffer, s: number, e: number): boolean {
  return e - s === 3 && (b[s]! | 0x20) === 110 && (b[s + 1]! | 0x20) === 97 && (b[s + 2]! | 0x20) === 110;
}

/**
 * The label pairs in b[s, e) (validated by the scrape index) as KeyValues of
 * `field`, less those the sandbox's attributes replace. Plain ASCII values
 * are copied as they are; escaped or non-ASCII ones go through a string, so
 * that invalid UTF-8 becomes U+FFFD as it does on the object-model path.
 */
function writeLabels(w: ProtobufWriter, field: number, b: Buffer, s: number, e: number): void {
  let i = s;
  while (i < e) {
    while (i < e && (b[i] === SP || b[i] === TAB || b[i] === COMMA)) i++;
    if (i >= e) return;
    const ns = i;
    while (i < e && b[i] !== EQ && b[i] !== SP && b[i] !== TAB) i++;
    const ne = i;
    // Bounded though the index validated the block: a wrong offset must not run off the buffer.
    while (i < e && b[i] !== QUOTE) i++;
    const vs = ++i;
    let plain = true;
    while (i < e && b[i] !== QUOTE) {
      const c = b[i]!;
      if (c === BACKSLASH) {
        plain = false;
        i += 2;
      } else {
        if (c > 127) plain = false;
        i++;
      }
    }
    const ve = i++;
    if (isOurs(b, ns, ne)) continue;
    const nl = ne - ns;
    if (plain) {
      const vl = ve - vs;
      const any = 1 + varintSize(vl) + vl;
      const kv = 1 + varintSize(nl) + nl + 1 + varintSize(any) + any;
      w.ensure(kv + 6);
      w.tag(field, WIRE_LEN);
      w.varint(kv);
      w.tag(1, WIRE_LEN);
      w.varint(nl);
      copyInto(w, b, ns, ne);
      w.tag(2, WIRE_LEN);
      w.varint(any);
      w.tag(1, WIRE_LEN);
      w.varint(vl);
      copyInto(w, b, vs, ve);
    } else {
      const name = b.toString('latin1', ns, ne);
      writeKeyValue(w, field, name, unescape(b.toString('utf8', vs, ve)));
    }
  }
}

function copyInto(w: ProtobufWriter, b: Buffer, s: number, e: number): void {
  const out = w.buf;
  let o = w.pos;
  for (let k = s; k < e; k++) out[o++] = b[k]!;
  w.pos = o;
}

function unescape(v: string): string {
  return v.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
}

function isOurs(b: Buffer, s: number, e: number): boolean {
  const c = b[s];
  if (c !== 115 /* s */ && c !== 99 /* c */) return false;
  for (const o of OURS) {
    if (o.length !== e - s) continue;
    let k = 0;
    while (k < o.length && o[k] === b[s + k]) k++;
    if (k === o.length) return true;
  }
  return false;
}

function varintSize(n: number): number {
  return n < 0x80 ? 1 : n < 0x4000 ? 2 : n < 0x200000 ? 3 : n < 0x10000000 ? 4 : 5;
}

function sameBytes(a: Buffer, as: number, ae: number, b: Buffer, bs: number, be: number): boolean {
  if (ae - as !== be - bs) return false;
  for (let k = 0; k < ae - as; k++) if (a[as + k] !== b[bs + k]) return false;
  return true;
}

/** Label pairs sorted: the group key when a series' samples are not together. */
function signature(b: Buffer, s: number, e: number): string {
  const text = b.toString('utf8', s, e);
  const pairs = text.match(/[a-zA-Z_][a-zA-Z0-9_]*\s*=\s*"(?:[^"\\]|\\.)*"/g) ?? [];
  return pairs.map((x: string) => x.replace(/\s*=\s*/, '=')).sort().join(',');
}

/** A series' identity within its family: two 26-bit hashes of its labels' bytes, exact in a double. */
function identity(b: Buffer, s: number, e: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 5381;
  for (let k = s; k < e; k++) {
    const c = b[k]!;
    h1 = Math.imul(h1 ^ c, 0x01000193);
    h2 = (Math.imul(h2, 33) + c) | 0;
  }
  return (h1 >>> 6) * 0x4000000 + (h2 >>> 6);
}
