// The one translation of scraped Prometheus data into OTLP (the rules:
// ../README.md, "Data model"). One walk of a snapshot's scanned bodies (and
// the daemon's own families) writes to each sink; start times, bucket
// de-cumulation and the processors happen here and nowhere else.

import { setImmediate } from 'node:timers/promises';
import type { Resource } from '@opentelemetry/resources';
import type { MetricFamily, MetricType } from '../../exposition/model.ts';
import { encodeText } from '../../exposition/encode-text.ts';
import { hashBytes } from '../../exposition/label-block.ts';
import { roleOf, Sample, sampleTimestamp, sampleValue, specialValue } from '../../exposition/samples.ts';
import { scanBody, type FamilyHead, type ScannedBody } from '../../exposition/scan.ts';
import type { Snapshot } from '../../scrape/snapshot.ts';
import { StartTimes } from './start-times.ts';
import { NO_SANDBOX, podAttributes, type MetricKind, type OtlpSink, type SandboxAttributes } from './sink.ts';

/** What a pipeline's processors make of a push: which metrics, on which resource, in batches of how many points. */
export interface Plan {
  readonly resource: Resource;
  readonly keep: (metricName: string) => boolean;
  /** Points per request; 0: no limit. */
  readonly maxPoints: number;
}

/** One body the walk reads: a sandbox's, or the daemon's own families'. */
interface Source {
  readonly id: string;
  /** The same number for every reader of this scrape: start times advance once per scrape. */
  readonly scrape: number;
  readonly scan: ScannedBody;
  readonly attributes: SandboxAttributes;
  /** When it was scraped, ms since epoch: the time of points without a timestamp of their own. */
  readonly at: number;
}

interface Family {
  readonly head: FamilyHead;
  /** Per source having it: source index, family index in that source. */
  readonly parts: number[];
}

/** How long a walk runs before letting the event loop in (a 300-sandbox push is ~150 ms of work). */
const SLICE_MS = 10;

export class Translator {
  readonly #starts = new StartTimes();
  readonly #selfFamilies: (() => readonly MetricFamily[]) | undefined;
  readonly #now: () => number;
  /** The daemon's own families as of each snapshot: every reader of one snapshot sees the same. */
  readonly #self = new WeakMap<Snapshot, Source | string>();
  /** A number per scrape walked, kept by start times in its stead: the scrape would keep the last snapshot's bodies alive. */
  readonly #scrapes = new WeakMap<object, number>();
  #scrapeCount = 0;
  #lastSnapshot: WeakRef<Snapshot> | undefined;
  #running: Promise<unknown> = Promise.resolve();

  constructor(options: { readonly selfFamilies?: () => readonly MetricFamily[]; readonly now?: () => number } = {}) {
    this.#selfFamilies = options.selfFamilies;
    this.#now = options.now ?? Date.now;
  }

  /** Writes one snapshot to every sink (in turn, point by point) as `plan` says; one walk at a time, each letting /metrics and /sandboxes answer meanwhile. */
  translate(snapshot: Snapshot, plan: Plan, sinks: readonly OtlpSink[]) {
    const run = this.#running.then(() => this.#walk(snapshot, plan, sinks));
    this.#running = run.catch(() => undefined);
    return run;
  }

  /** The points of each batch (request) written, in order, and what could not be. */
  async #walk(snapshot: Snapshot, plan: Plan, sinks: readonly OtlpSink[]): Promise<{ batches: number[]; errors: string[] }> {
    const errors: string[] = [];
    const sources = this.#sources(snapshot, errors);
    const families = familiesOf(sources, errors);
    const sample = new Sample();
    const series = new Series();
    const batches: number[] = [];
    let inBatch = 0;
    const max = plan.maxPoints > 0 ? plan.maxPoints : Infinity;
    let slice = performance.now();
    const room = (): void => {
      if (inBatch === max) {
        for (let k = 0; k < sinks.length; k++) sinks[k]!.cut();
        batches.push(inBatch);
        inBatch = 0;
      }
      inBatch++;
    };

    for (const f of families) {
      const { head } = f;
      if (!plan.keep(head.name)) continue;
      const kind = kindOf(head.type);
      const metric = { name: head.name, description: head.help ?? '', kind };
      for (let k = 0; k < sinks.length; k++) sinks[k]!.begin(metric);
      for (let j = 0; j < f.parts.length; ) {
        const src = sources[f.parts[j]!]!;
        const { body, rec, runs } = src.scan;
        const starts = kind !== 'gauge' ? this.#starts.family(src.id, src.scrape, head.name) : undefined;
        // A source's parts are together; two of one name (go_x and kata_shim_go_x) share their start times.
        for (; j < f.parts.length && sources[f.parts[j]!] === src; j += 2) {
          const family = f.parts[j + 1]!;
          for (let o = src.scan.runStarts[family]!; o < src.scan.runStarts[family + 1]!; o += 3) {
            for (let r = runs[o + 1]!; r < runs[o + 2]!; r++) {
              sample.read(rec, r);
              const ms = sampleTimestamp(body, sample) ?? src.at;
              const value = sampleValue(body, sample);
              if (kind === 'gauge' || kind === 'sum') {
                room();
                const start = starts ? starts.start(hashBytes(body, sample.ls, sample.le), value, ms) : ms;
                for (let k = 0; k < sinks.length; k++) sinks[k]!.number(body, sample.ls, sample.le, src.attributes, start, ms, value, sample.vs, sample.ve);
                continue;
              }
              const role = roleOf(body, sample, true);
              if (role === 'special') series.add(specialValue(body, sample), value);
              else if (role === 'sum') series.sum = value;
              else {
                // _count ends a series (canonical text: buckets or quantiles, _sum, _count).
                room();
                series.count = value;
                series.emit(sinks, kind, body, sample, src.attributes, starts, ms);
              }
            }
          }
        }
        starts?.done();
        if (performance.now() - slice > SLICE_MS) {
          await setImmediate();
          slice = performance.now();
        }
      }
      for (let k = 0; k < sinks.length; k++) sinks[k]!.end();
    }
    if (inBatch > 0) batches.push(inBatch);
    return { batches, errors };
  }

  /** The snapshot's bodies to read: the daemon's own families first, then each scraped sandbox. */
  #sources(snapshot: Snapshot, errors: string[]): Source[] {
    if (this.#lastSnapshot?.deref() !== snapshot) {
      this.#lastSnapshot = new WeakRef(snapshot);
      this.#starts.keepOnly(['', ...snapshot.sandboxes.map((s) => s.sandbox.id)]);
    }
    const out: Source[] = [];
    const self = this.#selfSource(snapshot);
    if (typeof self === 'string') errors.push(self);
    else if (self) out.push(self);
    for (const s of snapshot.sandboxes) {
      if (!s.scan) continue;
      out.push({ id: s.sandbox.id, scrape: this.#scrapeId(s), scan: s.scan, attributes: podAttributes(s.sandbox.id, s.sandbox.metadata), at: s.at });
    }
    return out;
  }

  #scrapeId(scrape: object): number {
    let id = this.#scrapes.get(scrape);
    if (id === undefined) this.#scrapes.set(scrape, (id = ++this.#scrapeCount));
    return id;
  }

  /** The daemon's own families, written as text and scanned like a shim's body, once per snapshot. */
  #selfSource(snapshot: Snapshot): Source | string | undefined {
    if (!this.#selfFamilies) return undefined;
    let self = this.#self.get(snapshot);
    if (!self) {
      try {
        const scan = scanBody(Buffer.from(encodeText(this.#selfFamilies())));
        self = { id: '', scrape: this.#scrapeId(scan), scan, attributes: NO_SANDBOX, at: this.#now() };
      } catch (e) {
        self = `self metrics unavailable: ${e instanceof Error ? e.message : String(e)}`;
      }
      this.#self.set(snapshot, self);
    }
    return self;
  }
}

/** A histogram's or summary's series being gathered from its lines. */
class Series {
  readonly bounds: number[] = [];
  readonly values: number[] = [];
  readonly #counts: number[] = [];
  sum = 0;
  count = 0;

  add(bound: number, value: number): void {
    this.bounds.push(bound);
    this.values.push(value);
  }

  /** Writes the series' point and starts afresh. */
  emit(sinks: readonly OtlpSink[], kind: MetricKind, body: Buffer, s: Sample, attrs: SandboxAttributes, starts: StartTimes | undefined, ms: number): void {
    const start = starts ? starts.start(hashBytes(body, s.ls, s.le), this.count, ms) : ms;
    if (kind === 'summary') {
      for (let k = 0; k < sinks.length; k++) sinks[k]!.summary(body, s.ls, s.le, attrs, start, ms, this.count, this.sum, this.bounds, this.values, this.bounds.length);
    } else {
      // Explicit bounds without +Inf; counts de-cumulated from `le`, the last bucket what the count leaves.
      // Cumulative counts should never fall; if a shim's do, they are clamped rather than sent negative.
      let prev = 0;
      let n = 0;
      for (; n < this.bounds.length && this.bounds[n] !== Infinity; n++) {
        const cum = this.values[n]!;
        this.#counts[n] = Math.max(0, cum - prev);
        prev = Math.max(prev, cum);
      }
      this.#counts[n] = Math.max(0, this.count - prev);
      // The bounds before +Inf: the first n.
      for (let k = 0; k < sinks.length; k++) sinks[k]!.histogram(body, s.ls, s.le, attrs, start, ms, this.count, this.sum, this.bounds, this.#counts, n);
    }
    this.bounds.length = 0;
    this.values.length = 0;
    this.sum = 0;
    this.count = 0;
  }
}

function kindOf(type: MetricType): MetricKind {
  return type === 'counter' ? 'sum' : type === 'histogram' || type === 'summary' ? type : 'gauge';
}

/** The metrics of a walk, in the order their families are first met. */
function familiesOf(sources: readonly Source[], errors: string[]): Family[] {
  const byName = new Map<string, Family>();
  for (let s = 0; s < sources.length; s++) {
    const { scan, id } = sources[s]!;
    for (const k of scan.order) {
      const head = scan.heads[k]!;
      const f = byName.get(head.name);
      if (!f) byName.set(head.name, { head, parts: [s, k] });
      else if (kindOf(f.head.type) === kindOf(head.type)) f.parts.push(s, k);
      else errors.push(`family ${head.name} is a ${head.type} in sandbox ${id || '(self)'} but a ${f.head.type} elsewhere; skipped there`);
    }
  }
  return [...byName.values()];
}
