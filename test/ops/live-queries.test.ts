// The dashboard and the alert rules against real data. The demo's simulated
// shims and CRI server, one more sandbox whose shim answers 500, the daemon
// with two OTLP exporters (one to a test receiver, one to a closed port with
// a tiny queue, so that sends fail and batches overflow), and a real
// Prometheus scraping it every second with the labels the PodMonitor gives
// (its relabelings, as the Prometheus Operator renders them), plus a second
// "node" whose kata-monitor is down. Then:
//
// - every variable query of the dashboard finds the demo's nodes, namespaces
//   and pods;
// - every target of every panel, with the variables set to "All" and to the
//   values the variable queries found, returns at least one series, every
//   label its legend shows is on every series, and every vector selector in
//   it matches something on its own (so a typo in one side of an `or`, or a
//   label value, does not hide behind the other);
// - every alert expression parses, names metrics Prometheus has, and every
//   label its annotations read is on the series; loaded as a rule file, every
//   rule evaluates without error, the alerts that the simulated faults should
//   raise are raised (pending or firing) with their pod, node, exporter and
//   reason, and the others are not; then the CRI runtime fails and a new
//   sandbox comes, and the CRI and pod-metadata alerts are raised;
// - every metric and label name in the promtool unit tests' input series is
//   one that Prometheus really has, so the unit tests test real names.
//
// Failures name the panel and the expression. Without Prometheus (outside CI)
// the test is skipped, but the first test here still checks every metric
// name against the daemon's own /metrics.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { status as grpcStatus } from '@grpc/grpc-js';
import { parse } from 'yaml';
import { startDemo, type DemoEnvironment } from '../../src/demo/environment.ts';
import { startFakeShim } from '../support/fake-shim.ts';
import type { Daemon } from '../../src/main.ts';
import { createExporting } from '../../src/otel/exporting.ts';
import { eventually, startTestDaemon } from '../support/daemon.ts';
import { startReceiver, type Receiver } from '../otel/support/receiver.ts';
import { freePort } from '../lifecycle/support.ts';
import { requireBinary, ROOT, type Obj } from './support.ts';
import { PROMETHEUS, startPrometheus, type ApiAlert, type Prometheus, type Series } from './prometheus-harness.ts';
import { analyze, legendLabels, templateLabels } from './promql.ts';

const DASHBOARD_FILE = path.join(ROOT, 'deploy', 'grafana', 'kata-monitor-dashboard.json');
const RULES_FILE = path.join(ROOT, 'deploy', 'prometheus', 'kata-monitor-rules.yaml');
const RULES_TEST_FILE = path.join(ROOT, 'deploy', 'prometheus', 'kata-monitor-rules.test.yaml');
const PODMONITOR_FILE = path.join(ROOT, 'deploy', 'kubernetes', 'podmonitor.yaml');

// ---- what the files hold -------------------------------------------------------

interface PanelTarget {
  readonly panel: string;
  readonly refId: string;
  readonly expr: string;
  readonly legend: string;
}

function dashboardTargets(dashboard: Obj): PanelTarget[] {
  const out: PanelTarget[] = [];
  const walk = (panels: Obj[]): void => {
    for (const p of panels) {
      if (p.type === 'row') walk(p.panels ?? []);
      else for (const t of p.targets ?? []) out.push({ panel: p.title, refId: t.refId, expr: t.expr, legend: t.legendFormat ?? '' });
    }
  };
  walk(dashboard.panels);
  return out;
}

interface AlertRule {
  readonly alert: string;
  readonly expr: string;
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
}

function alertRules(): AlertRule[] {
  const rules = parse(readFileSync(RULES_FILE, 'utf8')) as { groups: { rules: AlertRule[] }[] };
  return rules.groups.flatMap((g) => g.rules).filter((r) => r.alert);
}

/** The metric and label names of the promtool unit tests' input series. */
function unitTestSeries(): { series: string; name: string; labels: string[] }[] {
  const doc = parse(readFileSync(RULES_TEST_FILE, 'utf8')) as { tests: { input_series: { series: string }[] }[] };
  return doc.tests.flatMap((t) =>
    t.input_series.map((s) => {
      const [sel] = analyze(s.series).selectors;
      assert.ok(sel?.name, `input series ${s.series} has a metric name`);
      return { series: s.series, name: sel.name, labels: sel.matchers.map((m) => m.label) };
    }),
  );
}

const dashboard = JSON.parse(readFileSync(DASHBOARD_FILE, 'utf8')) as Obj;
const targets = dashboardTargets(dashboard);

/** Series Prometheus makes itself for every target. */
const PROMETHEUS_SERIES = new Set(['up', 'scrape_duration_seconds', 'scrape_samples_scraped', 'scrape_samples_post_metric_relabeling', 'scrape_series_added']);

// ---- the simulated node --------------------------------------------------------

const BROKEN_ID = 'b0'.repeat(32);
const BROKEN_POD = { id: BROKEN_ID, name: 'broken-shim-0', uid: '5e1d7a0c-0b4e-4f6a-a7c2-1d9e8f7a6b5c', namespace: 'payments' };

interface Environment {
  readonly demo: DemoEnvironment;
  readonly daemon: Daemon;
  readonly receiver: Receiver;
}

/** The demo (3 sandboxes + one whose shim answers 500) and the daemon with two OTLP exporters. */
async function startEnvironment(t: TestContext): Promise<Environment> {
  const demo = await startDemo({ sandboxes: 3 });
  t.after(() => demo.stop());
  const broken = await startFakeShim({ socketPath: path.join(demo.roots[0]!, BROKEN_ID, 'shim-monitor.sock'), metrics: () => '', behaviour: 'status-500' });
  t.after(() => broken.close());
  demo.cri.setPods([...demo.pods(), demo.runcPod, BROKEN_POD]);

  const receiver = await startReceiver(() => ({}), { decode: false });
  t.after(() => receiver.close());
  const closedPort = await freePort();
  const yaml = `receivers:
  kata_monitor:
    collection_interval: 1s
    root_retry_interval: 200ms
    cri: { first_lookup_delay: 100ms, resync_interval: 200ms, timeout: 1s }
    # The default: a healthy shim that answers slowly on a busy CI machine must not count as a failure.
    shim: { timeout: 3s }
exporters:
  otlphttp/collector:
    endpoint: ${receiver.url}
    sending_queue: { sizer: items, queue_size: 1000000 }
  otlphttp/unreachable:
    endpoint: http://127.0.0.1:${closedPort}
    timeout: 500ms
    retry_on_failure: { initial_interval: 100ms, max_interval: 200ms }
    sending_queue: { queue_size: 2 }
service:
  shutdown_timeout: 1s
  pipelines:
    metrics: { receivers: [kata_monitor], exporters: [otlphttp/collector, otlphttp/unreachable] }
`;
  const daemon = await startTestDaemon({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint, yaml, exporting: createExporting });
  t.after(() => daemon.stop(1000));
  await eventually(
    () => {
      const list = daemon.registry.list();
      return list.length === demo.ids().length + 1 && list.every((e) => e.metadataKnown);
    },
    10_000,
    'every sandbox with its pod metadata',
  );
  return { demo, daemon, receiver };
}

// ---- the scrape configuration a PodMonitor becomes -----------------------------

const sanitize = (label: string): string => label.replace(/[^a-zA-Z0-9_]/g, '_');

/**
 * The scrape job the Prometheus Operator renders from podmonitor.yaml, for
 * static targets that carry the __meta_kubernetes_* labels that Kubernetes
 * service discovery would give them: the selector and port checks, the
 * namespace/pod/container/endpoint labels, the job from jobLabel, and the
 * PodMonitor's own relabelings.
 */
function podMonitorJob(podMonitor: Obj, pods: { address: string; node: string; name: string }[]): Obj {
  const endpoint = podMonitor.spec.podMetricsEndpoints[0] as Obj;
  const selector = podMonitor.spec.selector.matchLabels as Record<string, string>;
  const podLabels = { 'app.kubernetes.io/name': 'kata-monitor', 'app.kubernetes.io/part-of': 'kata-containers' };
  const relabel: Obj[] = [];
  for (const [k, v] of Object.entries(selector)) {
    relabel.push({ action: 'keep', source_labels: [`__meta_kubernetes_pod_label_${sanitize(k)}`, `__meta_kubernetes_pod_labelpresent_${sanitize(k)}`], regex: `(${v});true` });
  }
  relabel.push({ action: 'keep', source_labels: ['__meta_kubernetes_pod_container_port_name'], regex: endpoint.port });
  relabel.push({ source_labels: ['__meta_kubernetes_namespace'], target_label: 'namespace' });
  relabel.push({ source_labels: ['__meta_kubernetes_pod_container_name'], target_label: 'container' });
  relabel.push({ source_labels: ['__meta_kubernetes_pod_name'], target_label: 'pod' });
  relabel.push({ target_label: 'job', replacement: `${podMonitor.metadata.namespace}/${podMonitor.metadata.name}` });
  if (podMonitor.spec.jobLabel) {
    relabel.push({ source_labels: [`__meta_kubernetes_pod_label_${sanitize(podMonitor.spec.jobLabel)}`], target_label: 'job', regex: '(.+)', replacement: '${1}' });
  }
  relabel.push({ target_label: 'endpoint', replacement: endpoint.port });
  for (const r of (endpoint.relabelings ?? []) as Obj[]) {
    const out: Obj = {};
    for (const [k, v] of Object.entries(r)) out[k.replace(/[A-Z]/g, (c) => '_' + c.toLowerCase())] = v;
    relabel.push(out);
  }
  return {
    job_name: `podMonitor/${podMonitor.metadata.namespace}/${podMonitor.metadata.name}/0`,
    metrics_path: endpoint.path ?? '/metrics',
    honor_labels: endpoint.honorLabels ?? false,
    static_configs: pods.map((p) => ({
      targets: [p.address],
      labels: {
        __meta_kubernetes_namespace: podMonitor.metadata.namespace,
        __meta_kubernetes_pod_name: p.name,
        __meta_kubernetes_pod_node_name: p.node,
        __meta_kubernetes_pod_container_name: 'kata-monitor',
        __meta_kubernetes_pod_container_port_name: endpoint.port,
        ...Object.fromEntries(Object.entries(podLabels).flatMap(([k, v]) => [[`__meta_kubernetes_pod_label_${sanitize(k)}`, v], [`__meta_kubernetes_pod_labelpresent_${sanitize(k)}`, 'true']])),
      },
    })),
    relabel_configs: relabel,
  };
}

// ---- variables -------------------------------------------------------------------

const escapeRegex = (s: string): string => s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');

interface Values {
  readonly job: string;
  readonly node: string;
  readonly namespace: string;
  readonly pod: string;
}

/** Replaces Grafana's variables, as Grafana does before sending a query. */
function substitute(expr: string, v: Values): string {
  return expr
    .replaceAll('$__rate_interval', '10s')
    .replaceAll('$__interval', '5s')
    .replaceAll('$__range', '1m')
    .replace(/\$\{?(job|node|namespace|pod)\}?\b/g, (_m, name: keyof Values) => v[name]);
}

function variableQuery(name: string): { selector: string; label: string } {
  const v = (dashboard.templating.list as Obj[]).find((x) => x.name === name);
  assert.ok(v, `variable ${name}`);
  const q = typeof v.query === 'string' ? v.query : v.query.query;
  const m = /^label_values\((.*),\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*\)$/s.exec(q);
  assert.ok(m, `variable ${name}: label_values(selector, label), got ${q}`);
  return { selector: m[1]!, label: m[2]! };
}

async function runVariable(prom: Prometheus, name: string, v: Values): Promise<string[]> {
  const { selector, label } = variableQuery(name);
  return prom.labelValues(label, [substitute(selector, v)]);
}

const multi = (values: readonly string[]): string => (values.length === 1 ? escapeRegex(values[0]!) : `(${values.map(escapeRegex).join('|')})`);

// ---- checks ------------------------------------------------------------------------

/** Every problem of every panel target, as "panel / refId: expr — problem". */
async function checkTargets(prom: Prometheus, v: Values, mode: string): Promise<string[]> {
  const problems: string[] = [];
  const selectorResults = new Map<string, Promise<Series[]>>();
  for (const t of targets) {
    const expr = substitute(t.expr, v);
    const where = `[${mode}] panel "${t.panel}" ${t.refId}: ${expr}`;
    let result: Series[];
    try {
      result = await prom.query(expr);
    } catch (err) {
      problems.push(`${where} — ${(err as Error).message}`);
      continue;
    }
    if (result.length === 0) problems.push(`${where} — no series`);
    for (const label of t.legend === '__auto' ? [] : legendLabels(t.legend)) {
      const without = result.filter((s) => !s.metric[label]);
      if (without.length > 0) problems.push(`${where} — legend {{${label}}} is empty on ${without.length} of ${result.length} series`);
    }
    for (const sel of analyze(expr).selectors) {
      if (!selectorResults.has(sel.text)) selectorResults.set(sel.text, prom.query(sel.text).catch(() => []));
      if ((await selectorResults.get(sel.text)!).length === 0) problems.push(`${where} — its selector ${sel.text} matches nothing`);
    }
  }
  return problems;
}

const sortedKey = (labels: Record<string, string>, keys: readonly string[]): string => keys.map((k) => `${k}=${labels[k] ?? ''}`).join(',');

function findAlert(alerts: readonly ApiAlert[], name: string, labels: Record<string, string>): ApiAlert | undefined {
  return alerts.find((a) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v));
}

// ---- the tests -------------------------------------------------------------------------

test('every metric the dashboard, the rules and their unit tests name is one the daemon serves (or Prometheus makes)', { timeout: 60_000 }, async (t) => {
  const { daemon } = await startEnvironment(t);
  await fetch(`${daemon.url}/metrics`);
  const body = await eventually(async () => {
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    return /^kata_monitor_sandbox_scrape_errors_count\{/m.test(text) && /^kata_monitor_otlp_dropped_points_total\{/m.test(text) ? text : undefined;
  }, 10_000, 'scrape errors and OTLP families in /metrics');
  const served = new Set<string>();
  for (const line of body.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    served.add(/^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)![0]);
  }
  const missing: string[] = [];
  const check = (name: string | undefined, where: string): void => {
    if (name && !served.has(name) && !PROMETHEUS_SERIES.has(name)) missing.push(`${name} (${where})`);
  };
  for (const tg of targets) for (const s of analyze(tg.expr).selectors) check(s.name, `panel "${tg.panel}" ${tg.refId}`);
  for (const name of ['job', 'node', 'namespace', 'pod']) for (const s of analyze(variableQuery(name).selector).selectors) check(s.name, `variable ${name}`);
  for (const r of alertRules()) for (const s of analyze(r.expr).selectors) check(s.name, `alert ${r.alert}`);
  for (const s of unitTestSeries()) check(s.name, `unit test input ${s.series}`);
  assert.deepEqual(missing, [], 'metric names nobody serves');
});

test('dashboard panels and alert rules against a real Prometheus scraping the daemon', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, PROMETHEUS, 'prometheus')) return;
  const started = Date.now();
  const { demo, daemon } = await startEnvironment(t);

  const podMonitor = parse(readFileSync(PODMONITOR_FILE, 'utf8')) as Obj;
  const downPort = await freePort(); // nobody listens: node-b's kata-monitor is down
  const job = podMonitorJob(podMonitor, [
    { address: daemon.address, node: 'kata-node-a', name: 'kata-monitor-a1b2c' },
    { address: `127.0.0.1:${downPort}`, node: 'kata-node-b', name: 'kata-monitor-d3e4f' },
  ]);
  const config = {
    global: { scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
    rule_files: [RULES_FILE],
    scrape_configs: [job],
  };
  const prom = await startPrometheus(t, JSON.stringify(config, null, 2)); // JSON is YAML
  const diag = (): string => `\nprometheus stderr:\n${prom.stderr()}`;

  // Enough scrapes for rate() over 10 s, a push accepted, an overflow counted.
  await eventually(
    async () => {
      await sleep(200);
      const [scrapes, success, dropped, errors] = await Promise.all([
        prom.query('count_over_time(kata_monitor_scrape_count[10s]) >= 4'),
        prom.query('kata_monitor_otlp_last_success_timestamp_seconds{exporter="otlphttp/collector"} > 0'),
        prom.query('kata_monitor_otlp_dropped_points_total{exporter="otlphttp/unreachable", reason="overflow"} > 0'),
        prom.query('count_over_time(kata_monitor_sandbox_scrape_errors_count{reason="status"}[10s]) >= 3'),
      ]);
      return scrapes.length === 1 && success.length === 1 && dropped.length === 1 && errors.length === 1;
    },
    30_000,
    'scrapes, an accepted push, an overflow and scrape errors in Prometheus',
  ).catch((err: Error) => {
    throw new Error(err.message + diag());
  });
  t.diagnostic(`data ready after ${Date.now() - started} ms`);

  const demoPods = [...demo.pods(), BROKEN_POD];

  await t.test('the variables find the job, the node, the namespaces and the pods', async () => {
    const all: Values = { job: 'kata-monitor', node: '.*', namespace: '.*', pod: '.*' };
    assert.deepEqual(await runVariable(prom, 'job', all), ['kata-monitor'], 'the PodMonitor names the job kata-monitor (jobLabel), as the rules expect');
    assert.deepEqual(await runVariable(prom, 'node', all), ['kata-node-a'], 'the PodMonitor relabeling gives the node');
    const namespaces = await runVariable(prom, 'namespace', all);
    for (const p of demoPods) assert.ok(namespaces.includes(p.namespace!), `namespace ${p.namespace} in ${namespaces}`);
    const pods = await runVariable(prom, 'pod', all);
    for (const p of demoPods) assert.ok(pods.includes(p.name!), `pod ${p.name} in ${pods}`);
  });

  await t.test(`every panel target (${targets.length}) returns series, with its legend labels, and each of its selectors matches`, async () => {
    // "All" everywhere (allValue .*), then every value each variable query finds, as Grafana sends a multi-value selection.
    const all: Values = { job: 'kata-monitor', node: '.*', namespace: '.*', pod: '.*' };
    const jobValue = (await runVariable(prom, 'job', all))[0]!;
    const nodes = await runVariable(prom, 'node', { ...all, job: jobValue });
    const namespaces = await runVariable(prom, 'namespace', { ...all, job: jobValue, node: multi(nodes) });
    const pods = await runVariable(prom, 'pod', { job: jobValue, node: multi(nodes), namespace: multi(namespaces), pod: '.*' });
    const selected: Values = { job: escapeRegex(jobValue), node: multi(nodes), namespace: multi(namespaces), pod: multi(pods) };
    let problems: string[] = [];
    // Retried for a few seconds: a rate() may miss its second sample right after start.
    await eventually(
      async () => {
        problems = [...(await checkTargets(prom, all, 'All')), ...(await checkTargets(prom, selected, 'each value'))];
        return problems.length === 0;
      },
      15_000,
      'every panel target to return data',
    ).catch(() => undefined);
    assert.deepEqual(problems, [], `panel targets without data:\n${problems.join('\n')}`);
  });

  const rules = alertRules();
  const names = new Set(await prom.labelValues('__name__'));

  await t.test('every alert expression parses, names metrics and labels Prometheus has, and its annotations read labels the series carry', async () => {
    const problems: string[] = [];
    for (const r of rules) {
      try {
        await prom.query(r.expr);
      } catch (err) {
        problems.push(`${r.alert}: ${r.expr} — ${(err as Error).message}`);
        continue;
      }
      const labelsOnSeries = new Set<string>();
      for (const sel of analyze(r.expr).selectors) {
        if (!sel.name || !names.has(sel.name)) {
          problems.push(`${r.alert}: metric ${sel.name ?? sel.text} does not exist in Prometheus`);
          continue;
        }
        const present = await prom.seriesLabelNames(sel.name);
        for (const l of present) labelsOnSeries.add(l);
        for (const m of sel.matchers) if (!present.has(m.label)) problems.push(`${r.alert}: ${sel.name} has no label ${m.label}`);
      }
      if (/^\s*absent\(/.test(r.expr)) continue; // its labels are the selector's equality matchers
      for (const text of Object.values(r.annotations)) {
        for (const l of templateLabels(text)) if (!labelsOnSeries.has(l)) problems.push(`${r.alert}: annotation reads $labels.${l}, which its series do not have`);
      }
    }
    assert.deepEqual(problems, []);
  });

  await t.test('the unit tests\' input series use metric and label names Prometheus really has', async () => {
    const problems: string[] = [];
    const labelNames = new Map<string, Set<string>>();
    for (const s of unitTestSeries()) {
      if (!names.has(s.name)) {
        problems.push(`${s.series}: no metric ${s.name}`);
        continue;
      }
      if (!labelNames.has(s.name)) labelNames.set(s.name, await prom.seriesLabelNames(s.name));
      for (const l of s.labels) if (!labelNames.get(s.name)!.has(l)) problems.push(`${s.series}: ${s.name} has no label ${l}`);
    }
    assert.deepEqual(problems, []);
  });

  await t.test('loaded as a rule file, every rule evaluates; the simulated faults raise their alerts and nothing else', async () => {
    const expected: [string, Record<string, string>][] = [
      ['KataSandboxScrapeFailing', { cri_name: BROKEN_POD.name, cri_namespace: BROKEN_POD.namespace, sandbox_id: BROKEN_ID, node: 'kata-node-a' }],
      ['KataSandboxScrapeErrors', { cri_name: BROKEN_POD.name, reason: 'status', node: 'kata-node-a' }],
      ['KataMonitorOTLPPointsDropped', { exporter: 'otlphttp/unreachable', pipeline: 'metrics', reason: 'overflow', node: 'kata-node-a' }],
      ['KataMonitorOTLPQueueNearlyFull', { exporter: 'otlphttp/unreachable', node: 'kata-node-a' }],
      ['KataMonitorOTLPExportStalled', { exporter: 'otlphttp/unreachable', node: 'kata-node-a' }],
      ['KataMonitorDown', { node: 'kata-node-b', job: 'kata-monitor' }],
    ];
    let alerts: ApiAlert[] = [];
    await eventually(
      async () => {
        alerts = await prom.alerts();
        return expected.every(([name, labels]) => findAlert(alerts, name, labels));
      },
      20_000,
      'the expected alerts',
    ).catch(() => undefined);
    const summary = (): string => alerts.map((a) => `${a.labels.alertname} ${a.state} ${JSON.stringify(a.labels)}`).join('\n');
    for (const [name, labels] of expected) assert.ok(findAlert(alerts, name, labels), `${name} ${JSON.stringify(labels)} is raised; active:\n${summary()}`);

    // Nothing else: healthy sandboxes, the working exporter, the CRI and node-a's daemon raise nothing.
    const unexpected = alerts.filter((a) => !expected.some(([name, labels]) => a.labels.alertname === name && Object.entries(labels).every(([k, v]) => a.labels[k] === v)));
    assert.deepEqual(unexpected.map((a) => `${a.labels.alertname} ${sortedKey(a.labels, ['node', 'cri_name', 'exporter', 'reason'])}`), [], 'alerts nobody expected');

    // Rendered annotations: every label they read is there; the never-succeeded exporter says so.
    for (const a of alerts) {
      const rule = rules.find((r) => r.alert === a.labels.alertname)!;
      assert.equal(a.labels.severity, rule.labels.severity);
      for (const [key, text] of Object.entries(rule.annotations)) {
        for (const l of templateLabels(text)) assert.ok(a.labels[l], `${a.labels.alertname}: ${key} reads $labels.${l}, empty on ${JSON.stringify(a.labels)}`);
        assert.doesNotMatch(a.annotations[key] ?? '', /<no value>|%!|error calling/, `${a.labels.alertname} ${key}: ${a.annotations[key]}`);
      }
    }
    assert.match(findAlert(alerts, 'KataMonitorOTLPExportStalled', { exporter: 'otlphttp/unreachable' })!.annotations.description!, /since kata-monitor started/);
    assert.match(findAlert(alerts, 'KataSandboxScrapeFailing', { sandbox_id: BROKEN_ID })!.annotations.summary!, /payments\/broken-shim-0/);

    const evaluated = await prom.rules();
    assert.equal(evaluated.filter((r) => r.type === 'alerting').length, rules.length, 'every alert is loaded');
    for (const r of evaluated) {
      assert.equal(r.health, 'ok', `${r.name}: ${r.lastError}`);
      assert.ok(!r.lastError, `${r.name}: ${r.lastError}`);
    }
  });

  await t.test('the CRI runtime fails while a sandbox starts: KataMonitorCRIUnreachable and KataSandboxesWithoutPodMetadata are raised', async () => {
    demo.cri.failWith({ code: grpcStatus.UNAVAILABLE, message: 'test: the CRI runtime is down' });
    await demo.addSandbox();
    let alerts: ApiAlert[] = [];
    await eventually(
      async () => {
        alerts = await prom.alerts();
        return findAlert(alerts, 'KataMonitorCRIUnreachable', { node: 'kata-node-a' }) && findAlert(alerts, 'KataSandboxesWithoutPodMetadata', { node: 'kata-node-a' });
      },
      20_000,
      'the CRI alerts',
    ).catch((err: Error) => {
      throw new Error(`${err.message}; active:\n${alerts.map((a) => `${a.labels.alertname} ${JSON.stringify(a.labels)}`).join('\n')}${diag()}`);
    });
    const pending = findAlert(alerts, 'KataSandboxesWithoutPodMetadata', { node: 'kata-node-a' })!;
    assert.match(pending.annotations.description!, /^1 Kata sandbox\(es\) on node kata-node-a /);
  });

  t.diagnostic(`live checks done ${Date.now() - started} ms after start`);
});
