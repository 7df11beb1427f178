// The debug exporter's layouts against the collector's own debug exporter:
// the daemon (the CLI, scraping the demo environment) pushes over otlphttp to
// the real OpenTelemetry Collector (test/interop/otelcol, with core's debug
// exporter) and shows the same requests with its own debug exporter. What the
// two print for each request must be the same text, line for line: the
// collector formats what it decoded from the wire, we format what we sent.

import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDemo, type DemoEnvironment } from '../../src/demo/environment.ts';
import { startFakeShim, type FakeShim } from '../support/fake-shim.ts';
import { hostFlags, spawnDaemon, until } from '../lifecycle/support.ts';
import { pipelineYaml } from '../otel/exporters/harness.ts';
import { startCollector } from './support/collector.ts';

/** Values whose text is easy to get wrong: Go's %v and %f of them are what the collector prints. */
const EDGE_BODY = `# HELP kata_edge_gauge Special and awkward values.
# TYPE kata_edge_gauge gauge
kata_edge_gauge{v="nan"} NaN
kata_edge_gauge{v="inf"} +Inf
kata_edge_gauge{v="-inf"} -Inf
kata_edge_gauge{v="min"} 5e-324
kata_edge_gauge{v="max"} 1.7976931348623157e+308
kata_edge_gauge{v="big"} 123456789
kata_edge_gauge{v="million"} 1e6
kata_edge_gauge{v="small"} 0.00001234
kata_edge_gauge{v="tenth"} 0.1
kata_edge_gauge{v="neg"} -2.5
kata_edge_gauge{v="zero"} -0
kata_edge_gauge{v="text",quote="say \\"hi\\"",utf8="ünï 😀"} 1
# HELP kata_edge_big_total Past 2^53.
# TYPE kata_edge_big_total counter
kata_edge_big_total 9007199254740993
# HELP kata_edge_summary No observations yet.
# TYPE kata_edge_summary summary
kata_edge_summary{quantile="0.5"} NaN
kata_edge_summary{quantile="0.99"} 1e-07
kata_edge_summary_sum 0
kata_edge_summary_count 0
# HELP kata_edge_histogram Only the +Inf bucket, and one with fractional bounds.
# TYPE kata_edge_histogram histogram
kata_edge_histogram_bucket{le="+Inf"} 3
kata_edge_histogram_sum 1.5
kata_edge_histogram_count 3
kata_edge_histogram_bucket{k="b",le="0.005"} 1
kata_edge_histogram_bucket{k="b",le="2500000"} 2
kata_edge_histogram_bucket{k="b",le="+Inf"} 2
kata_edge_histogram_sum{k="b"} 1e+300
kata_edge_histogram_count{k="b"} 2
# TYPE kata_edge_untyped untyped
kata_edge_untyped 42 1700000000123
`;

let demo: DemoEnvironment;
let dir: string;
let edge: FakeShim;
before(async () => {
  demo = await startDemo({ sandboxes: 2 });
  dir = mkdtempSync(path.join(tmpdir(), 'debug-interop-'));
  // One more sandbox (no pod metadata) serving the awkward values.
  edge = await startFakeShim({ socketPath: path.join(demo.roots[0]!, 'ed'.repeat(32), 'shim-monitor.sock'), metrics: () => EDGE_BODY });
});
after(async () => {
  await edge.close();
  await demo.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Our blocks: the daemon's stderr without its JSON log lines, cut where each request starts. */
function ourBlocks(stderr: string): string[] {
  const text = stderr
    .split('\n')
    .filter((l) => !l.startsWith('{') && !l.startsWith('(node:') && !l.startsWith('(Use `node'))
    .join('\n');
  return text.split(/^(?=ResourceMetrics #0)/m).filter((b) => b.startsWith('ResourceMetrics')).map((b) => b.trimEnd());
}

/** The collector's: stdout is each entry's message; the count lines ("Metrics\t{…}") separate the requests. */
function theirBlocks(stdout: string): { counts: string[]; blocks: string[] } {
  const counts = [...stdout.matchAll(/^Metrics\t(\{.*\})$/gm)].map((m) => m[1]!);
  const blocks = stdout.split(/^Metrics\t.*$/m).map((b) => b.trim()).filter((b) => b !== '');
  return { counts, blocks };
}

function firstDifference(a: string, b: string): string {
  const x = a.split('\n');
  const y = b.split('\n');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    if (x[i] !== y[i]) return `line ${i + 1}:\n  ours:   ${JSON.stringify(x[i])}\n  theirs: ${JSON.stringify(y[i])}`;
  }
  return 'none';
}

describe('debug exporter: the collector\'s layouts', () => {
  for (const verbosity of ['normal', 'detailed'] as const) {
    it(`verbosity ${verbosity}: the same text as the collector's debug exporter prints for the same requests`, async (t) => {
      const collector = await startCollector(t, { debug: verbosity });
      if (!collector) return;
      const config = path.join(dir, `${verbosity}.yaml`);
      writeFileSync(config, pipelineYaml({ otlphttp: `endpoint: ${collector.httpEndpoint}`, debug: `verbosity: ${verbosity}` }));
      const daemon = spawnDaemon(['-config', config, '-log-format', 'json', ...hostFlags(demo), '-listen-address=127.0.0.1:0']);
      try {
        await daemon.serving;
        await until(() => collector.requests().length >= 1, 20_000, 'the first push at the collector');
        // SIGTERM: a final push, with the pods' metadata by now.
        daemon.proc.kill('SIGTERM');
        assert.equal((await daemon.exited).code, 0, daemon.stderr());
        await collector.stop();
      } finally {
        await daemon.kill();
      }
      const ours = ourBlocks(daemon.stderr());
      const theirs = theirBlocks(collector.stdout());
      assert.equal(theirs.blocks.length, 2, `the collector showed both requests:\n${collector.stderr()}`);
      assert.equal(ours.length, theirs.blocks.length, 'one block per request on each side');
      assert.ok(ours.every((b) => b.includes('kata_edge_gauge')), 'the awkward values are in every request');
      for (let k = 0; k < ours.length; k++) {
        assert.ok(ours[k] === theirs.blocks[k], `request ${k}, first difference at ${firstDifference(ours[k]!, theirs.blocks[k]!)}`);
      }
      // The count lines agree too (ours in the log, with snake_case keys).
      const lines = daemon.stderr().split('\n').filter((l) => l.includes('"msg":"MetricsExporter"')).map((l) => JSON.parse(l) as Record<string, number>);
      assert.deepEqual(
        lines.map((l) => ({ 'resource metrics': l['resource_metrics'], metrics: l['metrics'], 'data points': l['data_points'] })),
        theirs.counts.map((c) => JSON.parse(c) as unknown),
      );
    });
  }
});
