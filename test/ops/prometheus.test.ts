// A real Prometheus (Debian's `prometheus`, 2.x) scrapes the daemon: the
// series arrive with the sandbox and pod labels, counters keep the names the
// shims gave them (Prometheus asks for OpenMetrics first; the daemon answers
// text 0.0.4 as upstream, so nothing gets a `_total`). And `promtool check
// metrics` accepts the daemon's /metrics.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo, type DemoEnvironment } from '../../src/demo/environment.ts';
import type { Daemon } from '../../src/main.ts';
import { eventually, startTestDaemon } from '../support/daemon.ts';
import { PROMETHEUS, PROMTOOL, startPrometheus, type Series } from './prometheus-harness.ts';
import { requireBinary, run } from './support.ts';

/** The demo and the daemon, once every sandbox has its pod metadata. */
async function startMonitoredDemo(t: TestContext): Promise<{ demo: DemoEnvironment; daemon: Daemon }> {
  const demo = await startDemo({ sandboxes: 3 });
  t.after(() => demo.stop());
  const daemon = await startTestDaemon({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint });
  t.after(() => daemon.stop());
  await eventually(() => {
    const list = daemon.registry.list();
    return list.length === demo.ids().length && list.every((e) => e.metadataKnown);
  }, 10_000, 'sandboxes with CRI metadata');
  return { demo, daemon };
}

test('Prometheus scrapes the daemon: relabelled series with pod labels, counter names without _total', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, PROMETHEUS, 'prometheus')) return;
  const { demo, daemon } = await startMonitoredDemo(t);

  const prom = await startPrometheus(
    t,
    [
      'global:',
      '  scrape_interval: 1s',
      '  scrape_timeout: 1s',
      '  evaluation_interval: 1s',
      'scrape_configs:',
      '  - job_name: kata-monitor',
      '    metrics_path: /metrics',
      '    static_configs:',
      `      - targets: ['${daemon.address}']`,
      '',
    ].join('\n'),
  );
  const diag = (): string => `\nprometheus stderr:\n${prom.stderr()}`;
  const query = (promql: string): Promise<Series[]> => prom.query(promql);

  const ids = demo.ids().sort();
  // Every sandbox's goroutines, with all four labels the daemon adds.
  const goroutines = await eventually(async () => {
    const r = await query('kata_shim_go_goroutines');
    return r.length === ids.length ? r : undefined;
  }, 30_000, 'kata_shim_go_goroutines for every sandbox').catch((err: Error) => {
    throw new Error(err.message + diag());
  });

  // The target is healthy: Prometheus parsed what the daemon served.
  const targets = (await (await fetch(`${prom.url}/api/v1/targets`)).json()) as { data: { activeTargets: { health: string; lastError: string; scrapeUrl: string }[] } };
  assert.equal(targets.data.activeTargets.length, 1);
  assert.equal(targets.data.activeTargets[0]!.health, 'up', targets.data.activeTargets[0]!.lastError);
  assert.equal(targets.data.activeTargets[0]!.scrapeUrl, `${daemon.url}/metrics`);

  const pods = new Map(demo.pods().map((p) => [p.id, p]));
  const checkPodLabels = (series: Series[], what: string): void => {
    assert.deepEqual(series.map((s) => s.metric.sandbox_id).sort(), ids, `${what}: one series per sandbox`);
    for (const s of series) {
      const pod = pods.get(s.metric.sandbox_id!)!;
      assert.equal(s.metric.cri_uid, pod.uid, what);
      assert.equal(s.metric.cri_name, pod.name, what);
      assert.equal(s.metric.cri_namespace, pod.namespace, what);
      assert.equal(s.metric.job, 'kata-monitor');
      assert.equal(s.metric.instance, daemon.address);
    }
  };
  checkPodLabels(goroutines, 'kata_shim_go_goroutines');
  // The shim's own go_* became kata_shim_go_*: nothing left under the old name.
  assert.deepEqual(await query('go_goroutines'), []);
  checkPodLabels(await query('kata_hypervisor_fds'), 'kata_hypervisor_fds');

  // Counters keep their names: upstream's, and the shims' agent counter.
  const scrapeCount = await query('kata_monitor_scrape_count');
  assert.equal(scrapeCount.length, 1);
  assert.ok(Number(scrapeCount[0]!.value[1]) > 0);
  checkPodLabels(await query('kata_agent_scrape_count'), 'kata_agent_scrape_count');
  assert.deepEqual(await query('{__name__=~"kata_monitor_scrape_count_total|kata_monitor_scrape_failed_count_total|kata_agent_scrape_count_total"}'), []);
  // A counter already named *_total is not doubled either.
  assert.ok((await query('kata_shim_go_memstats_mallocs_total')).length === ids.length);
  assert.deepEqual(await query('{__name__=~".*_total_total"}'), []);
  // Histograms arrive whole.
  assert.equal((await query('kata_monitor_scrape_durations_histogram_milliseconds_bucket')).length, 11);
  assert.equal((await query('up{job="kata-monitor"}'))[0]?.value[1], '1');
});

// promtool's lint rules (Prometheus naming conventions) flag names that
// upstream kata-monitor and the Kata shims chose; renaming them would break
// every dashboard, so those findings are expected. What counts as an error:
// a non-zero exit status other than 3 (promtool's "lint problems found"), any
// "error" output (a parse failure: promtool could not read the exposition),
// or a lint finding of another kind.
const ACCEPTED_LINT = [
  'counter metrics should have "_total" suffix', // kata_monitor_scrape_count, kata_agent_scrape_count…
  'non-histogram and non-summary metrics should not have "_count" suffix', // the same, and kata_monitor_running_shim_count
  'metric name should not include type \'histogram\'', // *_durations_histogram_milliseconds
  'use base unit "seconds" instead of "milliseconds"', // the same
];

test('promtool check metrics finds no error in /metrics (only upstream naming lint)', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, PROMTOOL, 'prometheus')) return;
  const { daemon } = await startMonitoredDemo(t);
  await fetch(`${daemon.url}/metrics`); // the first scrape fills the histogram
  const body = await (await fetch(`${daemon.url}/metrics`)).text();
  assert.match(body, /cri_name="[^"]+"/);

  const { code, out } = await run(PROMTOOL, ['check', 'metrics'], { input: body, timeoutMs: 30_000 });

  assert.ok(code === 0 || code === 3, `promtool exit status ${code}:\n${out}`);
  const lines = out.split('\n').filter((l) => l.trim() !== '');
  assert.deepEqual(lines.filter((l) => /error/i.test(l)), [], 'promtool errors');
  const unexpected = lines.filter((l) => !ACCEPTED_LINT.some((a) => l.endsWith(' ' + a)));
  assert.deepEqual(unexpected, [], 'lint findings other than upstream names');
  // Flagged names are upstream's (kata_monitor_*) or the shims' (kata_*): never one we made up.
  for (const l of lines) assert.match(l, /^kata_[a-z_]+ /, l);
});
