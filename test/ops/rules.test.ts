// The Prometheus alert rules: deploy/prometheus/kata-monitor-rules.yaml passes
// `promtool check rules`, its unit tests (kata-monitor-rules.test.yaml) pass
// `promtool test rules` and cover every alert both ways (fires, with its
// labels and rendered annotations; stays quiet on healthy or transient
// series), the PrometheusRule for the Operator is the same rules, and every
// alert has a severity, a summary and a description, documented in
// deploy/grafana/README.md. That the expressions work against real data is
// test/ops/live-queries.test.ts's part.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { renderPrometheusRule } from '../../deploy/kubernetes/sync-prometheusrule.ts';
import { PROMTOOL } from './prometheus-harness.ts';
import { requireBinary, ROOT, run, type Obj } from './support.ts';

const RULES = path.join(ROOT, 'deploy', 'prometheus', 'kata-monitor-rules.yaml');
const RULES_TEST = path.join(ROOT, 'deploy', 'prometheus', 'kata-monitor-rules.test.yaml');
const PROMETHEUS_RULE = path.join(ROOT, 'deploy', 'kubernetes', 'prometheusrule.yaml');
const README = path.join(ROOT, 'deploy', 'grafana', 'README.md');

const rulesText = readFileSync(RULES, 'utf8');
const rulesDoc = parse(rulesText) as { groups: { name: string; rules: Obj[] }[] };
const alerts = rulesDoc.groups.flatMap((g) => g.rules).filter((r) => r.alert);

/** The alerts the brief asks for, each with what it watches. */
const REQUIRED: Record<string, RegExp> = {
  KataSandboxScrapeFailing: /kata_monitor_sandbox_scrape_up == 0/,
  KataSandboxScrapeErrors: /kata_monitor_sandbox_scrape_errors_count/,
  KataMonitorCRIUnreachable: /kata_monitor_cri_up == 0/,
  KataSandboxesWithoutPodMetadata: /kata_monitor_sandboxes_pending_metadata > 0/,
  KataMonitorOTLPPointsDropped: /kata_monitor_otlp_dropped_points_total/,
  KataMonitorOTLPQueueNearlyFull: /kata_monitor_otlp_queue_capacity/,
  KataMonitorOTLPExportStalled: /kata_monitor_otlp_last_success_timestamp_seconds/,
  KataMonitorDown: /^up\{job="kata-monitor"\} == 0$/,
  KataMonitorAbsent: /^absent\(up\{job="kata-monitor"\}\)$/,
};

test('promtool check rules accepts the rules file', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, PROMTOOL, 'prometheus')) return;
  const { code, out } = await run(PROMTOOL, ['check', 'rules', RULES], { cwd: ROOT, timeoutMs: 60_000 });
  assert.equal(code, 0, out);
  assert.match(out, new RegExp(`SUCCESS: ${alerts.length} rules found`), out);
});

test('promtool test rules: every unit test passes', { timeout: 60_000 }, async (t) => {
  if (!requireBinary(t, PROMTOOL, 'prometheus')) return;
  const { code, out } = await run(PROMTOOL, ['test', 'rules', RULES_TEST], { cwd: ROOT, timeoutMs: 60_000 });
  assert.equal(code, 0, out);
  assert.match(out, /SUCCESS/, out);
});

test('the unit tests cover every alert: where it fires (labels and annotations checked) and where it must not', () => {
  const doc = parse(readFileSync(RULES_TEST, 'utf8')) as { rule_files: string[]; tests: { alert_rule_test?: { alertname: string; exp_alerts?: Obj[] }[] }[] };
  assert.deepEqual(doc.rule_files, [path.basename(RULES)]);
  const cases = doc.tests.flatMap((t) => t.alert_rule_test ?? []);
  for (const a of alerts) {
    const mine = cases.filter((c) => c.alertname === a.alert);
    const firing = mine.filter((c) => (c.exp_alerts ?? []).length > 0);
    assert.ok(firing.length > 0, `${a.alert}: a case where it fires`);
    assert.ok(mine.some((c) => (c.exp_alerts ?? []).length === 0), `${a.alert}: a case where it does not fire`);
    for (const c of firing) {
      for (const e of c.exp_alerts!) {
        assert.equal(e.exp_labels?.severity, a.labels.severity, `${a.alert}: expected labels include the severity`);
        assert.deepEqual(Object.keys(e.exp_annotations ?? {}).sort(), Object.keys(a.annotations).sort(), `${a.alert}: every annotation is checked`);
      }
    }
  }
  const unknown = cases.map((c) => c.alertname).filter((n) => !alerts.some((a) => a.alert === n));
  assert.deepEqual(unknown, [], 'unit tests for alerts that do not exist');
});

test('the alerts the operations need are there, each with a severity, a summary and a description', () => {
  const names = alerts.map((a) => a.alert);
  assert.equal(new Set(names).size, names.length, 'unique alert names');
  for (const [name, watches] of Object.entries(REQUIRED)) {
    const a = alerts.find((x) => x.alert === name);
    assert.ok(a, `alert ${name}`);
    assert.match(a.expr.trim(), watches, `${name} watches ${watches}`);
  }
  for (const a of alerts) {
    assert.ok(['critical', 'warning', 'info'].includes(a.labels?.severity), `${a.alert}: severity critical, warning or info`);
    assert.ok(typeof a.annotations?.summary === 'string' && a.annotations.summary.length > 10, `${a.alert}: summary`);
    assert.ok(a.annotations.summary.length <= 120 && !a.annotations.summary.includes('\n'), `${a.alert}: a one-line summary`);
    assert.ok(typeof a.annotations?.description === 'string' && a.annotations.description.length > 100, `${a.alert}: a description that says what to do`);
    assert.deepEqual(Object.keys(a).filter((k) => !['alert', 'expr', 'for', 'labels', 'annotations'].includes(k)), [], `${a.alert}: known keys`);
    if (a.for !== undefined) assert.match(a.for, /^\d+[smh]$/, `${a.alert}: for`);
  }
  // Alerts on per-sandbox series say which pod.
  for (const a of alerts.filter((x) => /kata_monitor_sandbox_/.test(x.expr))) {
    assert.match(a.annotations.summary, /\$labels\.cri_namespace \}\}\/\{\{ \$labels\.cri_name/, `${a.alert}: the summary names namespace/pod`);
  }
});

test('prometheusrule.yaml is the rules file as a PrometheusRule (sync-prometheusrule.ts)', () => {
  const text = readFileSync(PROMETHEUS_RULE, 'utf8');
  assert.equal(text, renderPrometheusRule(rulesText), 'prometheusrule.yaml is stale: run `node deploy/kubernetes/sync-prometheusrule.ts`');
  const obj = parse(text) as Obj;
  assert.equal(obj.apiVersion, 'monitoring.coreos.com/v1');
  assert.equal(obj.kind, 'PrometheusRule');
  assert.deepEqual(obj.spec, rulesDoc, 'the same groups, rules, labels and annotations');
});

test('deploy/grafana/README.md explains every alert', () => {
  const readme = readFileSync(README, 'utf8');
  for (const a of alerts) assert.match(readme, new RegExp(`^#+ .*\\b${a.alert}\\b`, 'm'), `a section on ${a.alert}`);
});
