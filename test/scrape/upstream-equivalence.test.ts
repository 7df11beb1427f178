// The hot path must write what upstream writes: kata-monitor parses each
// shim body with expfmt, appends the four labels to every metric, renames
// go_*/process_* families, merges families by name and encodes them with
// expfmt's text encoder. Our exact parser and Go-compatible encoder (checked
// byte for byte against the fixtures in test/exposition) model that path;
// the byte-level relabeller must agree with it exactly.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseText } from '../../src/exposition/parse-text.ts';
import { encodeText } from '../../src/exposition/encode-text.ts';
import type { MetricFamily } from '../../src/exposition/model.ts';
import { relabelShimBody, sandboxLabelText, shimFamilyName } from '../../src/scrape/relabel.ts';
import { ChunkPool } from '../../src/buffers/chunk-pool.ts';
import { familyChunks, mergeSnapshot } from '../../src/scrape/merge.ts';
import type { SandboxScrape, Snapshot } from '../../src/scrape/snapshot.ts';
import type { CriMetadata } from '../../src/discovery/registry.ts';

const fixture = (name: string): Buffer => readFileSync(new URL(`../fixtures/${name}`, import.meta.url));

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
    for (const f of parseText(sb.body.toString('utf8'))) {
      const name = shimFamilyName(f.name);
      const metrics = f.metrics.map((m) => ({ ...m, labels: [...m.labels, ...extra] }));
      const prev = merged.get(name);
      merged.set(name, prev ? { ...prev, metrics: [...prev.metrics, ...metrics] } : { ...f, name, metrics });
    }
  }
  return encodeText([...merged.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)));
}

/** Ours: index at scrape time, merge, write. */
function ours(sandboxes: readonly Sb[]): string {
  const scrapes: SandboxScrape[] = sandboxes.map((sb) => {
    const { index, sampleCount } = relabelShimBody(sb.body, sandboxLabelText(sb.id, sb.meta));
    const entry = { id: sb.id, root: '/run/vc/sbs', metadata: sb.meta, metadataKnown: true, discoveredAt: 0 };
    return { sandbox: entry, durationMs: 1, at: 0, index, sampleCount };
  });
  const snapshot: Snapshot = { startedAt: 0, finishedAt: 0, sandboxes: scrapes };
  return Buffer.concat([...familyChunks(mergeSnapshot(snapshot).families, new ChunkPool(4096))]).toString('utf8');
}

const A: Sb = { id: 'a'.repeat(64), meta: { uid: '3f1e-uid', name: 'nginx-1', namespace: 'web' }, body: fixture('shim-metrics-a.prom') };
const B: Sb = { id: 'b'.repeat(64), meta: { uid: '', name: '', namespace: '' }, body: fixture('shim-metrics-b.prom') };

test('one sandbox: the byte-level relabeller writes exactly what parse → relabel → encode writes', () => {
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
