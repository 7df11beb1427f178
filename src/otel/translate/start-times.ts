// Start times of cumulative series (the rules: ../README.md, "Data model"; the
// layout: README.md, "Start times"). One Float64Array per sandbox and family:
// 32 bytes a series, where an object per series cost ~620 B (93 MiB at 300
// sandboxes). Shims write the same series in the same order: a series is
// looked for at its position first.

const S = 4;

/** Per family, its series' (identity, start, last value, last time). */
interface SandboxStarts {
  /** The scrape `next` is being filled from (0: none yet): every family in `next` is as of it. */
  scrape: number;
  prev: Map<string, Float64Array>;
  next: Map<string, Float64Array>;
}

export class StartTimes {
  #sandboxes = new Map<string, SandboxStarts>();
  // The family being walked, one at a time (the walk runs to completion between awaits).
  /** Where its state is filled before it is copied out at its exact size. */
  #fill = new Float64Array(256 * S);
  #state!: SandboxStarts;
  #family = '';
  /** This scrape's state when another reader already advanced it: read, not filled. */
  #advanced: Float64Array | undefined;
  /** The last scrape's state, when this reader advances it. */
  #prev: Float64Array | undefined;
  #n = 0;
  #byIdentity: Map<number, number> | undefined;

  /** A new snapshot holds these sandboxes: the others are forgotten (they may come back with new series). */
  keepOnly(ids: readonly string[]): void {
    const keep = new Set(ids);
    for (const id of this.#sandboxes.keys()) if (!keep.has(id)) this.#sandboxes.delete(id);
  }

  /** Starts on a family's series in one sandbox's scrape: start() for each series in order, then done(). */
  family(sandboxId: string, scrape: number, family: string): this {
    let st = this.#sandboxes.get(sandboxId);
    if (!st) this.#sandboxes.set(sandboxId, (st = { scrape: 0, prev: new Map(), next: new Map() }));
    if (st.scrape !== scrape) {
      st.prev = st.next;
      st.next = new Map();
      st.scrape = scrape;
    }
    this.#state = st;
    this.#family = family;
    this.#advanced = st.next.get(family);
    this.#prev = this.#advanced ? undefined : st.prev.get(family);
    this.#n = 0;
    this.#byIdentity = undefined;
    return this;
  }

  /** The start of the next series: `value` is what must not go down (a counter's value, a histogram's or summary's count). */
  start(id: number, value: number, ms: number): number {
    const i = this.#n++;
    if (this.#advanced) {
      const d = this.#advanced;
      const j = i * S < d.length && d[i * S] === id ? i : this.#find(d, id);
      return j >= 0 ? d[j * S + 1]! : ms;
    }
    const fill = this.#grown(i + 1);
    const prev = this.#prev;
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

  /** The family's series are all seen: this scrape's state is kept. */
  done(): void {
    if (!this.#advanced) this.#state.next.set(this.#family, this.#fill.slice(0, this.#n * S));
  }

  #grown(n: number): Float64Array {
    if (n * S > this.#fill.length) {
      const grown = new Float64Array(Math.max(n * S, this.#fill.length * 2));
      grown.set(this.#fill);
      this.#fill = grown;
    }
    return this.#fill;
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
