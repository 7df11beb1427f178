// The Grafana dashboard (deploy/grafana/kata-monitor-dashboard.json) as a
// file, edited as Grafana exports it: a well-formed Grafana JSON model whose every panel uses the datasource variable, lies on the grid
// without overlapping another, and whose every query filters on the job,
// node, namespace and pod variables as its series allow. That the queries
// return data is test/ops/live-queries.test.ts's part (a real Prometheus).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { analyze, type Matcher } from './promql.ts';
import { ROOT, type Obj } from './support.ts';

const FILE = path.join(ROOT, 'deploy', 'grafana', 'kata-monitor-dashboard.json');

const text = readFileSync(FILE, 'utf8');
const dashboard = JSON.parse(text) as Obj;

/** Every panel that is not a row, with the row it sits in. */
function panels(): { row: string; collapsed: boolean; panel: Obj }[] {
  const out: { row: string; collapsed: boolean; panel: Obj }[] = [];
  let row = '';
  let collapsed = false;
  for (const p of dashboard.panels as Obj[]) {
    if (p.type === 'row') {
      row = p.title;
      collapsed = p.collapsed === true;
      for (const c of (p.panels ?? []) as Obj[]) out.push({ row, collapsed: true, panel: c });
    } else out.push({ row, collapsed, panel: p });
  }
  return out;
}

/** `{a=~"$a", b=~"$b"}` text → matchers. */
const matchersOf = (m: string): Matcher[] => analyze(`x{${m}}`).selectors[0]!.matchers as Matcher[];
const DAEMON = matchersOf('job=~"$job", node=~"$node"');
const SANDBOX = matchersOf('job=~"$job", node=~"$node", cri_namespace=~"$namespace", cri_name=~"$pod"');

/** Series that carry the sandbox labels (sandbox_id, cri_*): the shims' families and the daemon's per-sandbox ones. */
const isSandboxFamily = (name: string): boolean => /^kata_(agent|guest|hypervisor|shim)_/.test(name) || name.startsWith('kata_monitor_sandbox_');

test('a Grafana dashboard model: schema 39, uid, title, tags, time range, refresh', () => {
  assert.equal(dashboard.schemaVersion, 39);
  assert.equal(dashboard.uid, 'kata-monitor');
  assert.ok(dashboard.uid.length <= 40, 'Grafana uids are at most 40 characters');
  assert.equal(dashboard.id, null, 'no id: Grafana assigns one on import');
  assert.match(dashboard.title, /kata/i);
  assert.ok(dashboard.tags.includes('kata-containers'));
  assert.deepEqual(dashboard.time, { from: 'now-1h', to: 'now' });
  assert.match(dashboard.refresh, /^\d+[smh]$/);
});

test('variables: a Prometheus datasource, then job, node, namespace and pod from label_values(), each narrowing the next', () => {
  const vars = dashboard.templating.list as Obj[];
  assert.deepEqual(vars.map((v) => v.name), ['datasource', 'job', 'node', 'namespace', 'pod']);
  const [ds, job, node, namespace, pod] = vars as [Obj, Obj, Obj, Obj, Obj];
  assert.equal(ds.type, 'datasource');
  assert.equal(ds.query, 'prometheus');
  const queryOf = (v: Obj): string => {
    assert.equal(v.type, 'query', `${v.name} is a query variable`);
    assert.deepEqual(v.datasource, { type: 'prometheus', uid: '${datasource}' }, `${v.name} queries the selected datasource`);
    assert.equal(v.definition, v.query.query);
    const m = /^label_values\((.+),\s*([a-z_]+)\)$/.exec(v.query.query as string);
    assert.ok(m, `${v.name}: label_values(selector, label)`);
    return v.query.query as string;
  };
  assert.match(queryOf(job), /^label_values\(kata_monitor_running_shim_count, job\)$/);
  assert.match(queryOf(node), /\{job=~"\$job"\}, node\)$/);
  assert.match(queryOf(namespace), /job=~"\$job", node=~"\$node"\}, cri_namespace\)$/);
  assert.match(queryOf(pod), /job=~"\$job", node=~"\$node", cri_namespace=~"\$namespace"\}, cri_name\)$/);
  assert.equal(job.multi, false);
  for (const v of [node, namespace, pod]) {
    assert.equal(v.multi, true, `${v.name} multi-value`);
    assert.equal(v.includeAll, true, `${v.name} has All`);
    // All = .*, so that "All" also shows sandboxes whose pod metadata is not known yet (empty cri_* labels).
    assert.equal(v.allValue, '.*', `${v.name} All matches empty labels too`);
    assert.equal(v.refresh, 2, `${v.name} refreshes with the time range`);
  }
});

test('every panel has a title, a description, the datasource variable and targets with unique refIds; ids are unique', () => {
  const ids = [...(dashboard.panels as Obj[]).filter((p) => p.type === 'row'), ...panels().map((p) => p.panel)].map((p) => p.id as number);
  assert.ok(ids.every((id) => Number.isInteger(id) && id > 0), 'integer ids');
  assert.equal(new Set(ids).size, ids.length, 'unique panel ids');
  for (const { row, panel } of panels()) {
    const where = `${row} / ${panel.title}`;
    assert.ok(panel.title, `a panel in ${row} has no title`);
    assert.ok((panel.description ?? '').length > 20, `${where}: a description that says what it shows`);
    assert.ok(['timeseries', 'stat', 'state-timeline', 'table'].includes(panel.type), `${where}: type ${panel.type}`);
    assert.deepEqual(panel.datasource, { type: 'prometheus', uid: '${datasource}' }, `${where}: the datasource variable`);
    assert.ok(panel.targets.length > 0, `${where}: targets`);
    const refIds = (panel.targets as Obj[]).map((t) => t.refId);
    assert.equal(new Set(refIds).size, refIds.length, `${where}: unique refIds`);
    for (const t of panel.targets as Obj[]) {
      assert.deepEqual(t.datasource, { type: 'prometheus', uid: '${datasource}' }, `${where} ${t.refId}: datasource`);
      assert.ok(typeof t.expr === 'string' && t.expr.length > 0, `${where} ${t.refId}: expr`);
      if (panel.type === 'table') assert.equal(t.format, 'table', `${where}: a table panel asks for tables`);
    }
  }
  // Titles are how failures and people find panels: unique within a row.
  const seen = new Set<string>();
  for (const { row, panel } of panels()) {
    const key = `${row} / ${panel.title}`;
    assert.ok(!seen.has(key), `duplicate panel title ${key}`);
    seen.add(key);
  }
});

test('panels lie on the 24-column grid without overlapping (collapsed rows among themselves)', () => {
  const overlap = (a: Obj, b: Obj): boolean => a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h;
  const check = (items: Obj[], where: string): void => {
    for (const it of items) {
      const g = it.gridPos;
      assert.ok(Number.isInteger(g.x) && Number.isInteger(g.y) && g.w > 0 && g.h > 0, `${where} ${it.title}: gridPos`);
      assert.ok(g.x >= 0 && g.x + g.w <= 24, `${where} ${it.title}: within 24 columns`);
    }
    for (let i = 0; i < items.length; i++) {
      for (let j = i + 1; j < items.length; j++) assert.ok(!overlap(items[i]!.gridPos, items[j]!.gridPos), `${where}: "${items[i]!.title}" overlaps "${items[j]!.title}"`);
    }
  };
  check(dashboard.panels as Obj[], 'top level');
  for (const r of (dashboard.panels as Obj[]).filter((p) => p.type === 'row' && p.collapsed)) {
    check(r.panels, `row ${r.title}`);
    for (const c of r.panels as Obj[]) assert.ok(c.gridPos.y > r.gridPos.y, `row ${r.title}: ${c.title} lies below its row`);
  }
});

test('every sandbox query filters on job, node, namespace and pod; every other query on job and node', () => {
  const problems: string[] = [];
  for (const { row, panel } of panels()) {
    for (const t of panel.targets as Obj[]) {
      const where = `${row} / ${panel.title} ${t.refId}: ${t.expr}`;
      const { selectors } = analyze(t.expr);
      assert.ok(selectors.length > 0, `${where}: no selector`);
      for (const s of selectors) {
        if (!s.name) {
          problems.push(`${where}: a selector without a metric name`);
          continue;
        }
        const required = isSandboxFamily(s.name) ? SANDBOX : DAEMON;
        for (const m of required) {
          if (!s.matchers.some((x) => x.label === m.label && x.op === m.op && x.value === m.value)) problems.push(`${where}: ${s.name} lacks ${m.label}${m.op}"${m.value}"`);
        }
        if (!s.name.startsWith('kata_') && !['up', 'scrape_duration_seconds'].includes(s.name)) problems.push(`${where}: unexpected metric ${s.name}`);
      }
      // The variables are only ever used as regexes (they may hold "a|b" or ".*").
      for (const v of ['job', 'node', 'namespace', 'pod']) {
        if (new RegExp(`[^~]=\\s*"\\$${v}"`).test(t.expr)) problems.push(`${where}: $${v} with = instead of =~`);
      }
      // rate/increase windows follow Grafana's interval.
      for (const m of t.expr.matchAll(/\[([^\]]+)\]/g)) if (!['$__rate_interval', '$__range'].includes(m[1]!)) problems.push(`${where}: fixed range [${m[1]}]`);
    }
  }
  assert.deepEqual(problems, []);
});

test('the rows cover the sandbox families and the daemon\'s own health', () => {
  const rows = (dashboard.panels as Obj[]).filter((p) => p.type === 'row').map((r) => r.title as string);
  for (const want of [/overview/i, /scrape health/i, /daemon/i, /OTLP/, /guest/i, /hypervisor/i, /shim/i, /agent/i]) assert.ok(rows.some((r) => want.test(r)), `a row ${want}: ${rows.join(', ')}`);
  const used = new Set<string>();
  for (const { panel } of panels()) for (const t of panel.targets as Obj[]) for (const s of analyze(t.expr).selectors) used.add(s.name!);
  const required = [
    // The daemon.
    'up',
    'kata_monitor_running_shim_count',
    'kata_monitor_scrape_count',
    'kata_monitor_scrape_failed_count',
    'kata_monitor_scrape_durations_histogram_milliseconds_bucket',
    'kata_monitor_process_cpu_seconds_total',
    'kata_monitor_process_resident_memory_bytes',
    'kata_monitor_process_open_fds',
    'kata_monitor_cri_up',
    'kata_monitor_sandboxes_pending_metadata',
    // Per sandbox, by the daemon.
    'kata_monitor_sandbox_scrape_up',
    'kata_monitor_sandbox_scrape_duration_seconds',
    'kata_monitor_sandbox_scrape_samples',
    'kata_monitor_sandbox_scrape_errors_count',
    // OTLP.
    'kata_monitor_otlp_queue_batches',
    'kata_monitor_otlp_queue_points',
    'kata_monitor_otlp_queue_capacity_batches',
    'kata_monitor_otlp_queue_capacity_points',
    'kata_monitor_otlp_sent_batches_total',
    'kata_monitor_otlp_sent_points_total',
    'kata_monitor_otlp_failed_sends_total',
    'kata_monitor_otlp_dropped_batches_total',
    'kata_monitor_otlp_dropped_points_total',
    'kata_monitor_otlp_last_success_timestamp_seconds',
    // The guest.
    'kata_guest_cpu_time',
    'kata_guest_diskstat',
    'kata_guest_load',
    'kata_guest_meminfo',
    'kata_guest_netdev_stat',
    'kata_guest_tasks',
    'kata_guest_vm_stat',
    // The hypervisor.
    'kata_hypervisor_fds',
    'kata_hypervisor_io_stat',
    'kata_hypervisor_netdev',
    'kata_hypervisor_proc_stat',
    'kata_hypervisor_proc_status',
    'kata_hypervisor_threads',
    // The shim.
    'kata_shim_process_resident_memory_bytes',
    'kata_shim_process_cpu_seconds_total',
    'kata_shim_go_memstats_heap_inuse_bytes',
    'kata_shim_rpc_durations_histogram_milliseconds_bucket',
    'kata_shim_agent_rpc_durations_histogram_milliseconds_bucket',
    'kata_shim_pod_overhead_cpu',
    'kata_shim_pod_overhead_memory_in_bytes',
    // The agent.
    'kata_agent_process_resident_memory_bytes',
    'kata_agent_process_cpu_seconds_total',
    'kata_agent_io_stat',
  ];
  assert.deepEqual(required.filter((n) => !used.has(n)), [], 'families no panel shows');
});
