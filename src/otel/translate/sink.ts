// What the walk (walk.ts) writes to: one OTLP encoding of metrics and data
// points (protobuf, OTLP/JSON or the SDK's objects). The walk translates once;
// a sink only writes what it is given. A point's attributes are its own
// labels, b[ls, le) of its body (a canonical label block), then its sandbox's.

import { PENDING_METADATA, type CriMetadata } from '../../discovery/registry.ts';
import { sandboxLabels } from '../../scrape/relabel.ts';

/** OTLP's metric kinds: counters become monotonic cumulative sums, gauges and untyped gauges. */
export type MetricKind = 'gauge' | 'sum' | 'histogram' | 'summary';

export interface MetricHead {
  readonly name: string;
  /** The family's HELP. */
  readonly description: string;
  readonly kind: MetricKind;
}

/** A sandbox's attributes, the same object for all its points of one walk (sinks cache their rendering by it). */
export interface SandboxAttributes {
  readonly pairs: readonly (readonly [string, string])[];
}

export interface OtlpSink {
  /** A metric whose points follow. */
  begin(metric: MetricHead): void;
  /**
   * A gauge or sum point. b[vs, ve) is the value as the body writes it (Go's
   * formatting: a JSON number when finite), `value` what it reads as.
   */
  number(b: Buffer, ls: number, le: number, sandbox: SandboxAttributes, startMs: number, timeMs: number, value: number, vs: number, ve: number): void;
  /** A histogram point: `counts` has one more entry than `bounds` (the +Inf bucket); the first `n` bounds are used. */
  histogram(b: Buffer, ls: number, le: number, sandbox: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, bounds: readonly number[], counts: readonly number[], n: number): void;
  /** A summary point: the first `n` quantiles and their values. */
  summary(b: Buffer, ls: number, le: number, sandbox: SandboxAttributes, startMs: number, timeMs: number, count: number, sum: number, quantiles: readonly number[], values: readonly number[], n: number): void;
  end(): void;
  /** The request is full (the batch processor's size): the next point starts another, its metric opened again. */
  cut(): void;
}

/** Labels a sandbox's attributes replace: ours win over a shim label of the same name, as on /metrics. */
const OURS = new Set(sandboxLabels('', PENDING_METADATA).map((l) => l.name));

/** Whether the label name b[ns, ne) is one of the four a sandbox's attributes carry. */
export function isOurLabel(b: Buffer, ns: number, ne: number): boolean {
  const c = b[ns];
  const n = ne - ns;
  return (c === 115 /* s */ ? n === 10 : c === 99 /* c */ && (n === 7 || n === 8 || n === 13)) && OURS.has(b.toString('latin1', ns, ne));
}

/** The four kata-monitor labels (always, as on /metrics), then the k8s.* semantic-convention keys when known. */
export function podAttributes(id: string, m: CriMetadata): SandboxAttributes {
  const pairs = sandboxLabels(id, m).map((l): [string, string] => [l.name, l.value]);
  if (m.uid) pairs.push(['k8s.pod.uid', m.uid]);
  if (m.name) pairs.push(['k8s.pod.name', m.name]);
  if (m.namespace) pairs.push(['k8s.namespace.name', m.namespace]);
  return { pairs };
}

/** The daemon's own families carry no sandbox. */
export const NO_SANDBOX: SandboxAttributes = { pairs: [] };

/** `make` once per key, for what a sink renders per time or sandbox: a few recur on thousands of points, mostly the last again. */
export function memo<K, V>(make: (key: K) => V): (key: K) => V {
  const made = new Map<K, V>();
  let lastKey: K | undefined;
  let last: V | undefined;
  return (key) => {
    if (key !== lastKey) {
      last = made.get(key);
      if (last === undefined) made.set(key, (last = make(key)));
      lastKey = key;
    }
    return last as V;
  };
}
