// The hot path must write what upstream writes: kata-monitor parses each
// shim body with expfmt, appends the four labels to every metric, renames
// go_*/process_* families, merges families by name and encodes them with
// expfmt's text encoder. The model (parseFamilies, Go's parser's result) and
// the Go-compatible encoder (checked byte for byte against the fixtures in
// test/exposition) follow that path step by step; the hot path (one scan at
// scrape time, samples copied from the index at answer time) must agree
// with it exactly. (Go itself is the referee in
// test/interop/expfmt-differential.test.ts.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFamilies } from '../../src/exposition/scan.ts';
import { encodeText } from '../../src/exposition/encode-text.ts';
import type { MetricFamily } from '../../src/exposition/model.ts';
import { shimPrefix } from '../../src/scrape/relabel.ts';
import type { CriMetadata } from '../../src/discovery/registry.ts';
import { served } from './serve.ts';
import { fixture } from '../support/fixtures.ts';

interface Sb {
  readonly id: string;
  readonly meta: CriMetadata;
  readonly body: Buffer;
}

/** Upstream's path, on the model. */
function upstream(sandboxes: readonly Sb[]): string {
  const merged = new Map<string, MetricFamily>();
  for (const sb of sandboxes) {
    const extra = [
      { name: 'sandbox_id', value: sb.id },
      { name: 'cri_uid', value: sb.meta.uid },
      { name: 'cri_name', value: sb.meta.name },
      { name: 'cri_namespace', value: sb.meta.namespace },
    ];
    for (const f of parseFamilies(sb.body)) {
      const name = shimPrefix(f.name) + f.name;
      const metrics = f.metrics.map((m) => ({ ...m, labels: [...m.labels, ...extra] }));
      const prev = merged.get(name);
      merged.set(name, prev ? { ...prev, metrics: [...prev.metrics, ...metrics] } : { ...f, name, metrics });
    }
  }
  return encodeText([...merged.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
}

/** Ours: scan at scrape time, merge, write. */
function ours(sandboxes: readonly Sb[]): string {
  return served(sandboxes);
}

const A: Sb = { id: 'a'.repeat(64), meta: { uid: '3f1e-uid', name: 'nginx-1', namespace: 'web' }, body: fixture('shim-metrics-a.prom') };
const B: Sb = { id: 'b'.repeat(64), meta: { uid: '', name: '', namespace: '' }, body: fixture('shim-metrics-b.prom') };

test('one sandbox: the hot path writes exactly what parse → relabel → encode writes', () => {
  assert.equal(ours([A]), upstream([A]));
});

test('two sandboxes, one without CRI metadata yet: merged families are byte-identical too', () => {
  assert.equal(ours([A, B]), upstream([A, B]));
});

test('label values that need escaping, le and quantile not last, no TYPE lines: still identical', () => {
  const body = Buffer.from(
    '# HELP odd_total An odd \\\\ help\\nline.\n# TYPE odd_total counter\nodd_total{path="C:\\\\x",q="say \\"hi\\""} 1\n' +
      '# TYPE lat histogram\nlat_bucket{le="0.1",op="r"} 1\nlat_bucket{op="r",le="+Inf"} 2\nlat_sum{op="r"} 0.3\nlat_count{op="r"} 2\n' +
      '# TYPE q summary\nq{quantile="0.5",k="v"} 3\nq_sum{k="v"} 4\nq_count{k="v"} 5\nplain_untyped 7\n',
  );
  const sb: Sb = { id: 'weird"id', meta: { uid: 'u\\1', name: 'line\nbreak', namespace: 'ns' }, body };
  assert.equal(ours([sb]), upstream([sb]));
});

test('bodies Go would rewrite (blanks, spellings, histogram lines out of order, a missing +Inf bucket): still identical', () => {
  const body = Buffer.from(
    '# HELP go_lat Latency.\n# TYPE go_lat histogram\ngo_lat_sum{op="r"}  0.30 1700000000000\ngo_lat_bucket{op="r",le="0.10"} 1\ngo_lat_count{op="r"} 2.0\n' +
      '# TYPE g gauge\n g{a="1" , } 1e3\ng{a="2"} +Inf\ng{a="3"} -0\n' +
      '# TYPE q summary\nq_count 5\nq{quantile="0.50"} 3 +7\nq_sum 4\n',
  );
  const sb: Sb = { id: 'c'.repeat(64), meta: { uid: 'u', name: 'n', namespace: 'ns' }, body };
  assert.equal(ours([A, sb]), upstream([A, sb]));
});
