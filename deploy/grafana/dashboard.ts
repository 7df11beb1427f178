// Writes kata-monitor-dashboard.json, the Grafana dashboard for kata-monitor,
// from the panel list below, so that every query is written once, with the
// same label selectors, and laid out without overlaps. Run after editing:
//   node deploy/grafana/dashboard.ts
// test/ops/dashboard.test.ts fails while the JSON differs from what this
// writes, or when a sandbox query lacks the node/namespace/pod selectors;
// test/ops/live-queries.test.ts runs every query against a real Prometheus
// scraping the daemon and fails on any that returns nothing.
//
// Grafana JSON model, schemaVersion 39 (Grafana 10.x/11.x import it as is).
// Variables: datasource (a Prometheus), job, node, namespace (the pods'
// cri_namespace), pod (cri_name); every sandbox query filters on all of them,
// every daemon query on job and node.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const TARGET = path.join(here, 'kata-monitor-dashboard.json');

// ---- selectors --------------------------------------------------------------

/** Label matchers of every query on the daemon's own series. */
export const DAEMON_MATCHERS = 'job=~"$job", node=~"$node"';
/** Label matchers of every query on a sandbox's series (also the daemon's per-sandbox ones). */
export const SANDBOX_MATCHERS = `${DAEMON_MATCHERS}, cri_namespace=~"$namespace", cri_name=~"$pod"`;

const d = (extra?: string): string => `{${DAEMON_MATCHERS}${extra ? ', ' + extra : ''}}`;
const sb = (extra?: string): string => `{${SANDBOX_MATCHERS}${extra ? ', ' + extra : ''}}`;
const RATE = '$__rate_interval';
const POD = '{{cri_namespace}}/{{cri_name}}';
const BY_POD = 'cri_namespace, cri_name';

// ---- panel model ------------------------------------------------------------

type Obj = Record<string, unknown>;
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' } as const;

interface Target {
  readonly expr: string;
  readonly legend?: string;
  /** Instant query in table format (table panels). */
  readonly table?: boolean;
}

type PanelType = 'timeseries' | 'stat' | 'state-timeline' | 'table';

/** Unset: type 'timeseries', h 8, w the row's w. */
interface PanelSpec {
  readonly type?: PanelType;
  readonly title: string;
  readonly description: string;
  readonly targets: readonly Target[];
  readonly w?: number;
  readonly h?: number;
  readonly unit?: string;
  readonly min?: number;
  readonly max?: number;
  readonly decimals?: number;
  /** Text shown when the query returns nothing (a healthy "nothing to show"). */
  readonly noValue?: string;
  /** Absolute thresholds: [value, color] after a green base. */
  readonly thresholds?: readonly (readonly [number, string])[];
  /** Draw the thresholds as lines/areas on a time series. */
  readonly thresholdStyle?: 'line' | 'area' | 'dashed';
  readonly mappings?: readonly Obj[];
  readonly axisLabel?: string;
  readonly stack?: boolean;
  readonly legendRight?: boolean;
  readonly transformations?: readonly Obj[];
  readonly overrides?: readonly Obj[];
  readonly graphMode?: 'area' | 'none';
}

interface RowSpec {
  readonly title: string;
  readonly collapsed: boolean;
  /** Width of its panels that set none (default 12). */
  readonly w?: number;
  readonly panels: readonly PanelSpec[];
}

const UP_DOWN: Obj[] = [
  {
    type: 'value',
    options: {
      '0': { text: 'down', color: 'red', index: 0 },
      '1': { text: 'up', color: 'green', index: 1 },
    },
  },
];

/** Hides the bookkeeping columns of an instant table and renames the value columns. */
function organize(rename: Record<string, string>, extraHidden: readonly string[] = []): Obj {
  const hidden = ['Time', '__name__', 'job', 'instance', 'namespace', 'pod', 'container', 'endpoint', 'cri_uid', ...extraHidden];
  return {
    id: 'organize',
    options: {
      excludeByName: Object.fromEntries(hidden.map((h) => [h, true])),
      indexByName: {},
      renameByName: { node: 'node', cri_namespace: 'namespace', cri_name: 'pod', sandbox_id: 'sandbox', ...rename },
    },
  };
}

const unitOverride = (field: string, unit: string): Obj => ({
  matcher: { id: 'byName', options: field },
  properties: [{ id: 'unit', value: unit }],
});

// ---- the panels ---------------------------------------------------------------

/** histogram_quantile over a histogram's buckets with the given selector. */
const quantiles = (family: string, selector: string, by: string, legend: string, qs: readonly number[] = [0.5, 0.9, 0.99]): Target[] =>
  qs.map((q) => ({
    expr: `histogram_quantile(${q}, sum by (${by}le) (rate(${family}_bucket${selector}[${RATE}])))`,
    legend: `p${Math.round(q * 100)}${legend ? ' ' + legend : ''}`,
  }));

const vcpus = `count by (${BY_POD}) (kata_guest_cpu_time${sb('cpu!="total", item="idle"')})`;
const cpuTotalRate = `sum by (${BY_POD}) (rate(kata_guest_cpu_time${sb('cpu="total", item!~"guest|guest_nice"')}[${RATE}]))`;

export const ROWS: readonly RowSpec[] = [
  {
    title: 'Overview',
    collapsed: false,
    panels: [
      {
        type: 'stat',
        title: 'Kata sandboxes',
        description: 'Sandboxes (Kata pods) kata-monitor found on the selected nodes (kata_monitor_running_shim_count).',
        targets: [{ expr: `sum(kata_monitor_running_shim_count${d()})` }],
        w: 4,
        h: 4,
      },
      {
        type: 'stat',
        title: 'Sandboxes scraped',
        description: "Selected sandboxes whose shim answered kata-monitor's last metrics request.",
        targets: [{ expr: `sum(kata_monitor_sandbox_scrape_up${sb()})` }],
        w: 4,
        h: 4,
      },
      {
        type: 'stat',
        title: 'Sandboxes failing',
        description: "Selected sandboxes whose shim did not answer kata-monitor's last metrics request: their kata_* series are missing. The row \"Sandbox scrape health\" says which and why.",
        targets: [{ expr: `sum(1 - kata_monitor_sandbox_scrape_up${sb()})` }],
        thresholds: [[1, 'red']],
        w: 4,
        h: 4,
      },
      {
        type: 'stat',
        title: 'Without pod metadata',
        description: 'Sandboxes the CRI runtime has not (yet) named: their series have empty cri_* labels and match only when namespace and pod are "All". A few seconds after a sandbox starts this is normal; for longer, see the alert KataSandboxesWithoutPodMetadata.',
        targets: [{ expr: `sum(kata_monitor_sandboxes_pending_metadata${d()})` }],
        thresholds: [[1, 'orange']],
        w: 4,
        h: 4,
      },
      {
        type: 'stat',
        title: 'CRI runtime reachable',
        description: "Whether kata-monitor's last ListPodSandbox call to the node's container runtime succeeded, on every selected node (the lowest value). kata-monitor calls it when a sandbox needs its pod metadata.",
        targets: [{ expr: `min(kata_monitor_cri_up${d()})` }],
        mappings: [{ type: 'value', options: { '0': { text: 'NO', color: 'red', index: 0 }, '1': { text: 'yes', color: 'green', index: 1 } } }],
        graphMode: 'none',
        w: 4,
        h: 4,
      },
      {
        type: 'stat',
        title: 'kata-monitor down',
        description: 'kata-monitor daemons that Prometheus failed to scrape last time (up == 0).',
        targets: [{ expr: `sum(1 - up${d()})` }],
        thresholds: [[1, 'red']],
        w: 4,
        h: 4,
      },
      {
        type: 'table',
        title: 'Sandboxes',
        description: 'One row per selected sandbox: whether it was scraped, its vCPUs and memory as the guest sees them, and what it costs on the host (hypervisor and shim resident memory, the pod overhead the shim computes).',
        targets: [
          { expr: `max by (node, ${BY_POD}, sandbox_id) (kata_monitor_sandbox_scrape_up${sb()})`, table: true },
          { expr: `count by (node, ${BY_POD}, sandbox_id) (kata_guest_cpu_time${sb('cpu!="total", item="idle"')})`, table: true },
          { expr: `max by (node, ${BY_POD}, sandbox_id) (kata_guest_meminfo${sb('item="mem_total"')})`, table: true },
          { expr: `max by (node, ${BY_POD}, sandbox_id) (kata_hypervisor_proc_status${sb('item="vmrss"')})`, table: true },
          { expr: `max by (node, ${BY_POD}, sandbox_id) (kata_shim_process_resident_memory_bytes${sb()})`, table: true },
          { expr: `max by (node, ${BY_POD}, sandbox_id) (kata_shim_pod_overhead_memory_in_bytes${sb()})`, table: true },
        ],
        transformations: [
          { id: 'merge', options: {} },
          organize({
            'Value #A': 'scraped',
            'Value #B': 'vCPUs',
            'Value #C': 'guest memory',
            'Value #D': 'hypervisor RSS',
            'Value #E': 'shim RSS',
            'Value #F': 'pod overhead memory',
          }),
        ],
        overrides: [
          unitOverride('guest memory', 'bytes'),
          unitOverride('hypervisor RSS', 'bytes'),
          unitOverride('shim RSS', 'bytes'),
          unitOverride('pod overhead memory', 'bytes'),
          { matcher: { id: 'byName', options: 'scraped' }, properties: [{ id: 'mappings', value: UP_DOWN }, { id: 'custom.cellOptions', value: { type: 'color-text' } }] },
        ],
        w: 24,
      },
    ],
  },
  {
    title: 'Sandbox scrape health (kata-monitor → shims)',
    collapsed: false,
    panels: [
      {
        type: 'state-timeline',
        title: 'Sandbox scrape status',
        description: "Whether each sandbox's shim answered kata-monitor's metrics request (kata_monitor_sandbox_scrape_up).",
        targets: [{ expr: `kata_monitor_sandbox_scrape_up${sb()}`, legend: POD }],
        mappings: UP_DOWN,
      },
      {
        title: 'Scrape failures per sandbox and reason',
        description: 'Failed metrics requests to each shim, by reason: no-socket (no shim-monitor.sock), connect, timeout (slower than shim.timeout), too-large (over shim.max_body_bytes), closed, status (not 200), malformed (not Prometheus text), and the *_limit reasons.',
        targets: [{ expr: `sum by (node, ${BY_POD}, reason) (rate(kata_monitor_sandbox_scrape_errors_count${sb()}[${RATE}]))`, legend: `${POD} {{reason}}` }],
        unit: 'cps',
        noValue: 'no failed scrape',
      },
      {
        type: 'table',
        title: 'Failing sandboxes now',
        description: "Sandboxes whose shim did not answer kata-monitor's last request. Their failures by reason are in the table beside.",
        targets: [{ expr: `kata_monitor_sandbox_scrape_up${sb()} == 0`, table: true }],
        transformations: [organize({}, ['Value'])],
        noValue: 'every sandbox answered',
        h: 6,
      },
      {
        type: 'table',
        title: 'Scrape failures in the time range',
        description: 'Failed metrics requests per sandbox and reason over the dashboard\'s time range (increase of kata_monitor_sandbox_scrape_errors_count; a sandbox\'s very first failure is not counted, as for any counter that starts with it).',
        targets: [{ expr: `sum by (node, ${BY_POD}, sandbox_id, reason) (increase(kata_monitor_sandbox_scrape_errors_count${sb()}[$__range])) > 0`, table: true }],
        transformations: [organize({ Value: 'failures' })],
        decimals: 0,
        noValue: 'no failed scrape in the time range',
        h: 6,
      },
      {
        title: 'Shim answer time per sandbox',
        description: 'How long the last metrics request to each shim took (kata_monitor_sandbox_scrape_duration_seconds). A shim slower than shim.timeout (3 s) fails with reason timeout.',
        targets: [{ expr: `kata_monitor_sandbox_scrape_duration_seconds${sb()}`, legend: POD }],
        unit: 's',
      },
      {
        title: 'Samples per sandbox',
        description: 'Samples each shim returned in its last answer (kata_monitor_sandbox_scrape_samples): series the sandbox adds to every Prometheus scrape.',
        targets: [{ expr: `kata_monitor_sandbox_scrape_samples${sb()}`, legend: POD }],
        unit: 'short',
      },
    ],
  },
  {
    title: 'kata-monitor daemon',
    collapsed: false,
    panels: [
      {
        title: '/metrics answer time',
        description: 'Quantiles of the time kata-monitor takes to answer /metrics, shims included (kata_monitor_scrape_durations_histogram_milliseconds). The highest bucket is 512 ms: slower answers show as 512. Compare with the scrape timeout.',
        targets: quantiles('kata_monitor_scrape_durations_histogram_milliseconds', d(), 'node, ', '{{node}}'),
        unit: 'ms',
        w: 8,
      },
      {
        title: 'Requests and failed sandbox scrapes',
        description: '/metrics requests answered (kata_monitor_scrape_count) and failed shim requests within them (kata_monitor_scrape_failed_count), per second.',
        targets: [
          { expr: `sum by (node) (rate(kata_monitor_scrape_count${d()}[${RATE}]))`, legend: 'requests {{node}}' },
          { expr: `sum by (node) (rate(kata_monitor_scrape_failed_count${d()}[${RATE}]))`, legend: 'failed sandbox scrapes {{node}}' },
        ],
        unit: 'reqps',
        w: 8,
      },
      {
        title: 'Sandboxes per node',
        description: 'Kata sandboxes kata-monitor found on each node (kata_monitor_running_shim_count) and those still waiting for their pod metadata from the CRI runtime (kata_monitor_sandboxes_pending_metadata).',
        targets: [
          { expr: `kata_monitor_running_shim_count${d()}`, legend: 'sandboxes {{node}}' },
          { expr: `kata_monitor_sandboxes_pending_metadata${d()}`, legend: 'without pod metadata {{node}}' },
        ],
        unit: 'short',
        w: 8,
      },
      {
        type: 'state-timeline',
        title: 'CRI runtime reachable',
        description: "Whether kata-monitor's last ListPodSandbox call to the node's container runtime succeeded (kata_monitor_cri_up).",
        targets: [{ expr: `kata_monitor_cri_up${d()}`, legend: '{{node}}' }],
        mappings: UP_DOWN,
        h: 6,
      },
      {
        type: 'state-timeline',
        title: 'kata-monitor scraped by Prometheus',
        description: 'Whether Prometheus could scrape each kata-monitor (up).',
        targets: [{ expr: `up${d()}`, legend: '{{node}}' }],
        mappings: UP_DOWN,
        h: 6,
      },
      {
        title: 'kata-monitor CPU',
        description: "CPU used by each kata-monitor process, in cores (kata_monitor_process_cpu_seconds_total). The line is the DaemonSet's limit (200m).",
        targets: [{ expr: `rate(kata_monitor_process_cpu_seconds_total${d()}[${RATE}])`, legend: '{{node}}' }],
        unit: 'short',
        axisLabel: 'cores',
        thresholds: [[0.2, 'red']],
        thresholdStyle: 'dashed',
        min: 0,
        w: 6,
      },
      {
        title: 'kata-monitor memory (RSS)',
        description: "Resident memory of each kata-monitor process (kata_monitor_process_resident_memory_bytes). The line is the DaemonSet's limit (300Mi).",
        targets: [{ expr: `kata_monitor_process_resident_memory_bytes${d()}`, legend: '{{node}}' }],
        unit: 'bytes',
        thresholds: [[300 * 2 ** 20, 'red']],
        thresholdStyle: 'dashed',
        min: 0,
        w: 6,
      },
      {
        title: 'kata-monitor open files',
        description: 'Open file descriptors of each kata-monitor process (kata_monitor_process_open_fds), a share of its limit.',
        targets: [{ expr: `kata_monitor_process_open_fds${d()} / kata_monitor_process_max_fds${d()}`, legend: '{{node}}' }],
        unit: 'percentunit',
        min: 0,
        w: 6,
      },
      {
        title: 'Prometheus scrape of kata-monitor',
        description: 'How long Prometheus took to scrape each kata-monitor (scrape_duration_seconds) — it must stay under the scrape timeout — and restarts of the daemon (changes of kata_monitor_process_start_time_seconds).',
        targets: [
          { expr: `scrape_duration_seconds${d()}`, legend: 'scrape duration {{node}}' },
          { expr: `changes(kata_monitor_process_start_time_seconds${d()}[$__range])`, legend: 'restarts in the time range {{node}}' },
        ],
        unit: 's',
        overrides: [{ matcher: { id: 'byRegexp', options: '^restarts.*' }, properties: [{ id: 'unit', value: 'short' }, { id: 'custom.axisPlacement', value: 'right' }] }],
        w: 6,
      },
    ],
  },
  {
    title: 'OTLP push',
    collapsed: true,
    w: 8,
    panels: [
      {
        title: 'Queue fill',
        description: 'How full each exporter\'s sending queue is: batches over capacity (sizer: requests) or points over capacity (sizer: items). When full, batches are dropped; above 80 % for 5 minutes, KataMonitorOTLPQueueNearlyFull fires.',
        targets: [
          {
            expr: `(kata_monitor_otlp_queue_batches${d()} / (kata_monitor_otlp_queue_capacity_batches${d()} > 0)) or (kata_monitor_otlp_queue_points${d()} / (kata_monitor_otlp_queue_capacity_points${d()} > 0))`,
            legend: '{{node}} {{exporter}}',
          },
        ],
        unit: 'percentunit',
        min: 0,
        max: 1,
        thresholds: [[0.8, 'red']],
        thresholdStyle: 'dashed',
      },
      {
        title: 'Queue depth and capacity (batches)',
        description: 'Batches waiting in each exporter\'s queue (the one being sent included) and, for a queue counted in batches (sizer: requests), its capacity.',
        targets: [
          { expr: `kata_monitor_otlp_queue_batches${d()}`, legend: 'queued {{node}} {{exporter}}' },
          { expr: `kata_monitor_otlp_queue_capacity_batches${d()} > 0`, legend: 'capacity {{node}} {{exporter}}' },
        ],
        unit: 'short',
      },
      {
        title: 'Queue depth and capacity (points)',
        description: 'Data points in the batches waiting in each exporter\'s queue and, for a queue counted in points (sizer: items), its capacity.',
        targets: [
          { expr: `kata_monitor_otlp_queue_points${d()}`, legend: 'queued {{node}} {{exporter}}' },
          { expr: `kata_monitor_otlp_queue_capacity_points${d()} > 0`, legend: 'capacity {{node}} {{exporter}}' },
        ],
        unit: 'short',
      },
      {
        title: 'Sent',
        description: 'Data points and batches the backends accepted, per second, all selected nodes together.',
        targets: [
          { expr: `sum by (exporter, pipeline) (rate(kata_monitor_otlp_sent_points_total${d()}[${RATE}]))`, legend: 'points {{exporter}} ({{pipeline}})' },
          { expr: `sum by (exporter, pipeline) (rate(kata_monitor_otlp_sent_batches_total${d()}[${RATE}]))`, legend: 'batches {{exporter}} ({{pipeline}})' },
        ],
        unit: 'cps',
      },
      {
        title: 'Failed sends',
        description: 'OTLP requests that failed (every retry counts), per second. Failures are retried while the batch stays queued; kata-monitor\'s log has the errors.',
        targets: [{ expr: `sum by (node, exporter) (rate(kata_monitor_otlp_failed_sends_total${d()}[${RATE}]))`, legend: '{{node}} {{exporter}}' }],
        unit: 'reqps',
      },
      {
        title: 'Dropped, by reason',
        description: 'Data points and batches given up on, per second: overflow (queue full), rejected (a permanent error from the backend), expired (retried beyond max_elapsed_time), retry_disabled, shutdown. Dropped data never reaches the backend.',
        targets: [
          { expr: `sum by (exporter, reason) (rate(kata_monitor_otlp_dropped_points_total${d()}[${RATE}]))`, legend: 'points {{exporter}} {{reason}}' },
          { expr: `sum by (exporter, reason) (rate(kata_monitor_otlp_dropped_batches_total${d()}[${RATE}]))`, legend: 'batches {{exporter}} {{reason}}' },
        ],
        unit: 'cps',
      },
      {
        title: 'Since the last accepted batch',
        description: 'Time since each exporter\'s backend last accepted a batch (kata_monitor_otlp_last_success_timestamp_seconds); an exporter that never succeeded has no line. Grows by the push interval between pushes.',
        targets: [{ expr: `time() - (kata_monitor_otlp_last_success_timestamp_seconds${d()} > 0)`, legend: '{{node}} {{exporter}}' }],
        unit: 's',
        min: 0,
        w: 24,
        h: 6,
      },
    ],
  },
  {
    title: 'Guest (inside the VM)',
    collapsed: false,
    w: 8,
    panels: [
      {
        title: 'Guest CPU busy',
        description: 'Share of the guest\'s CPU time not idle or waiting for I/O, all vCPUs together (kata_guest_cpu_time, cpu="total"; guest/guest_nice are left out, the kernel counts them in user too).',
        targets: [
          {
            expr: `1 - sum by (${BY_POD}) (rate(kata_guest_cpu_time${sb('cpu="total", item=~"idle|iowait"')}[${RATE}])) / ${cpuTotalRate}`,
            legend: POD,
          },
        ],
        unit: 'percentunit',
        min: 0,
        max: 1,
      },
      {
        title: 'Guest CPU by mode',
        description: 'Share of the guest\'s CPU time spent in each mode other than idle (user, system, iowait, steal: time the host did not run the vCPUs, …).',
        targets: [
          {
            expr: `sum by (${BY_POD}, item) (rate(kata_guest_cpu_time${sb('cpu="total", item!~"idle|guest|guest_nice"')}[${RATE}])) / ignoring (item) group_left ${cpuTotalRate}`,
            legend: `${POD} {{item}}`,
          },
        ],
        unit: 'percentunit',
        min: 0,
        stack: true,
      },
      {
        title: 'Guest load per vCPU',
        description: 'The guest\'s 1-minute load average divided by its online vCPUs: above 1, tasks wait for a CPU.',
        targets: [{ expr: `sum by (${BY_POD}) (kata_guest_load${sb('item="load1"')}) / ${vcpus}`, legend: POD }],
        unit: 'short',
        min: 0,
      },
      {
        title: 'Guest load average',
        description: 'The guest kernel\'s 1, 5 and 15 minute load averages (kata_guest_load).',
        targets: [{ expr: `kata_guest_load${sb('item=~"load1|load5|load15"')}`, legend: `${POD} {{item}}` }],
        unit: 'short',
        min: 0,
      },
      {
        title: 'Guest vCPUs and tasks',
        description: 'Online vCPUs (CPU hot-plug follows the containers\' limits) and the guest\'s runnable and total tasks (kata_guest_tasks cur and max).',
        targets: [
          { expr: vcpus, legend: `${POD} vCPUs` },
          { expr: `kata_guest_tasks${sb()}`, legend: `${POD} tasks {{item}}` },
        ],
        unit: 'short',
        min: 0,
      },
      {
        title: 'Guest OOM kills and major page faults',
        description: 'Processes the guest kernel killed for lack of memory (kata_guest_vm_stat oom_kill, increase) and major page faults per second (pgmajfault): a guest short of memory reads pages back from disk.',
        targets: [
          { expr: `increase(kata_guest_vm_stat${sb('item="oom_kill"')}[${RATE}])`, legend: `${POD} OOM kills` },
          { expr: `rate(kata_guest_vm_stat${sb('item="pgmajfault"')}[${RATE}])`, legend: `${POD} major faults/s` },
        ],
        unit: 'short',
        min: 0,
      },
      {
        title: 'Guest memory used',
        description: 'Guest memory in use: MemTotal − MemAvailable (kata_guest_meminfo). Memory hot-plug follows the containers\' limits.',
        targets: [
          {
            expr: `max by (${BY_POD}) (kata_guest_meminfo${sb('item="mem_total"')}) - max by (${BY_POD}) (kata_guest_meminfo${sb('item="mem_available"')})`,
            legend: `${POD} used`,
          },
          { expr: `kata_guest_meminfo${sb('item="mem_total"')}`, legend: `${POD} total` },
        ],
        unit: 'bytes',
        min: 0,
      },
      {
        title: 'Guest memory available',
        description: 'MemAvailable over MemTotal in the guest: near 0 the guest reclaims cache, swaps if it can, and then OOM-kills.',
        targets: [
          {
            expr: `max by (${BY_POD}) (kata_guest_meminfo${sb('item="mem_available"')}) / max by (${BY_POD}) (kata_guest_meminfo${sb('item="mem_total"')})`,
            legend: POD,
          },
        ],
        unit: 'percentunit',
        min: 0,
        max: 1,
        thresholds: [[0.1, 'red']],
      },
      {
        title: 'Guest memory by kind',
        description: 'Where the guest\'s memory goes (kata_guest_meminfo): anonymous pages (processes), page cache, buffers, shared memory (tmpfs), slab, page tables, kernel stacks, free.',
        targets: [
          {
            expr: `kata_guest_meminfo${sb('item=~"anon_pages|cached|buffers|shmem|slab|page_tables|kernel_stack|mem_free"')}`,
            legend: `${POD} {{item}}`,
          },
        ],
        unit: 'bytes',
        min: 0,
      },
      {
        title: 'Guest network traffic',
        description: 'Bytes per second received and sent by the guest\'s interfaces (kata_guest_netdev_stat), loopback left out.',
        targets: [
          { expr: `sum by (${BY_POD}, interface) (rate(kata_guest_netdev_stat${sb('interface!="lo", item="recv_bytes"')}[${RATE}]))`, legend: `${POD} {{interface}} received` },
          { expr: `sum by (${BY_POD}, interface) (rate(kata_guest_netdev_stat${sb('interface!="lo", item="sent_bytes"')}[${RATE}]))`, legend: `${POD} {{interface}} sent` },
        ],
        unit: 'Bps',
        min: 0,
        w: 12,
      },
      {
        title: 'Guest network errors and drops',
        description: 'Packets per second the guest\'s interfaces dropped or got errors on, by direction (kata_guest_netdev_stat *_errs, *_drop).',
        targets: [
          {
            expr: `sum by (${BY_POD}, interface, item) (rate(kata_guest_netdev_stat${sb('interface!="lo", item=~"recv_errs|recv_drop|sent_errs|sent_drop"')}[${RATE}]))`,
            legend: `${POD} {{interface}} {{item}}`,
          },
        ],
        unit: 'pps',
        min: 0,
        w: 12,
      },
      {
        title: 'Guest disk throughput',
        description: 'Bytes per second read and written by the guest\'s block devices (kata_guest_diskstat sectors × 512). Partitions are counted in their disk too.',
        targets: [
          { expr: `sum by (${BY_POD}, disk) (rate(kata_guest_diskstat${sb('item="sectors_read"')}[${RATE}])) * 512`, legend: `${POD} {{disk}} read` },
          { expr: `sum by (${BY_POD}, disk) (rate(kata_guest_diskstat${sb('item="sectors_written"')}[${RATE}])) * 512`, legend: `${POD} {{disk}} written` },
        ],
        unit: 'Bps',
        min: 0,
      },
      {
        title: 'Guest disk operations',
        description: 'Reads and writes completed per second by the guest\'s block devices (kata_guest_diskstat reads, writes).',
        targets: [{ expr: `sum by (${BY_POD}, disk, item) (rate(kata_guest_diskstat${sb('item=~"reads|writes"')}[${RATE}]))`, legend: `${POD} {{disk}} {{item}}` }],
        unit: 'iops',
        min: 0,
      },
      {
        title: 'Guest disk busy',
        description: 'Share of time each guest block device had I/O in flight (kata_guest_diskstat time_in_progress, milliseconds per second).',
        targets: [{ expr: `sum by (${BY_POD}, disk) (rate(kata_guest_diskstat${sb('item="time_in_progress"')}[${RATE}])) / 1000`, legend: `${POD} {{disk}}` }],
        unit: 'percentunit',
        min: 0,
      },
    ],
  },
  {
    title: 'Hypervisor (the VMM process on the host)',
    collapsed: true,
    w: 8,
    panels: [
      {
        title: 'Hypervisor CPU',
        description: 'CPU used by the hypervisor process (QEMU, Cloud Hypervisor, Firecracker, Dragonball): the vCPUs\' work plus the device emulation, in cores (kata_hypervisor_proc_stat utime + stime, clock ticks of 1/100 s).',
        targets: [{ expr: `sum by (${BY_POD}) (rate(kata_hypervisor_proc_stat${sb('item=~"utime|stime"')}[${RATE}])) / 100`, legend: POD }],
        unit: 'short',
        axisLabel: 'cores',
        min: 0,
      },
      {
        title: 'Hypervisor memory (RSS)',
        description: 'Resident memory of the hypervisor process on the host (kata_hypervisor_proc_status vmrss): the guest\'s touched memory plus the VMM\'s own.',
        targets: [{ expr: `kata_hypervisor_proc_status${sb('item="vmrss"')}`, legend: POD }],
        unit: 'bytes',
        min: 0,
      },
      {
        title: 'Hypervisor threads and open files',
        description: 'Threads (kata_hypervisor_threads) and open file descriptors (kata_hypervisor_fds) of the hypervisor process.',
        targets: [
          { expr: `kata_hypervisor_threads${sb()}`, legend: `${POD} threads` },
          { expr: `kata_hypervisor_fds${sb()}`, legend: `${POD} fds` },
        ],
        unit: 'short',
        min: 0,
      },
      {
        title: 'Hypervisor network traffic (host side)',
        description: 'Bytes per second through the interfaces of the pod\'s network namespace on the host (kata_hypervisor_netdev): the pod\'s veth and the tap device that the VM uses carry the same traffic.',
        targets: [
          { expr: `sum by (${BY_POD}, interface) (rate(kata_hypervisor_netdev${sb('interface!="lo", item="recv_bytes"')}[${RATE}]))`, legend: `${POD} {{interface}} received` },
          { expr: `sum by (${BY_POD}, interface) (rate(kata_hypervisor_netdev${sb('interface!="lo", item="sent_bytes"')}[${RATE}]))`, legend: `${POD} {{interface}} sent` },
        ],
        unit: 'Bps',
        min: 0,
      },
      {
        title: 'Hypervisor storage I/O',
        description: 'Bytes per second the hypervisor process read from and wrote to storage on the host (kata_hypervisor_io_stat readbytes, writebytes): the guest\'s disk I/O that is not virtio-fs.',
        targets: [{ expr: `sum by (${BY_POD}, item) (rate(kata_hypervisor_io_stat${sb('item=~"readbytes|writebytes"')}[${RATE}]))`, legend: `${POD} {{item}}` }],
        unit: 'Bps',
        min: 0,
      },
      {
        title: 'Hypervisor context switches',
        description: 'Voluntary and involuntary context switches of the hypervisor process per second (kata_hypervisor_proc_status): many involuntary ones mean its vCPU threads compete for host CPUs.',
        targets: [
          {
            expr: `sum by (${BY_POD}, item) (rate(kata_hypervisor_proc_status${sb('item=~"voluntary_ctxt_switches|nonvoluntary_ctxt_switches"')}[${RATE}]))`,
            legend: `${POD} {{item}}`,
          },
        ],
        unit: 'cps',
        min: 0,
      },
    ],
  },
  {
    title: 'Shim (containerd-shim-kata-v2)',
    collapsed: true,
    w: 8,
    panels: [
      {
        title: 'Shim memory',
        description: 'Resident memory of each sandbox\'s shim process (kata_shim_process_resident_memory_bytes) and the Go heap in use within it (kata_shim_go_memstats_heap_inuse_bytes).',
        targets: [
          { expr: `kata_shim_process_resident_memory_bytes${sb()}`, legend: `${POD} RSS` },
          { expr: `kata_shim_go_memstats_heap_inuse_bytes${sb()}`, legend: `${POD} Go heap` },
        ],
        unit: 'bytes',
        min: 0,
      },
      {
        title: 'Shim CPU',
        description: 'CPU used by each shim process, in cores (kata_shim_process_cpu_seconds_total).',
        targets: [{ expr: `rate(kata_shim_process_cpu_seconds_total${sb()}[${RATE}])`, legend: POD }],
        unit: 'short',
        axisLabel: 'cores',
        min: 0,
      },
      {
        title: 'Pod overhead',
        description: 'The pod overhead the shim measures: the sandbox\'s CPU (percent of a CPU) and memory on the host beyond what its containers use (kata_shim_pod_overhead_cpu, kata_shim_pod_overhead_memory_in_bytes). Compare with the RuntimeClass overhead.',
        targets: [
          { expr: `kata_shim_pod_overhead_memory_in_bytes${sb()}`, legend: `${POD} memory` },
          { expr: `kata_shim_pod_overhead_cpu${sb()}`, legend: `${POD} CPU %` },
        ],
        unit: 'bytes',
        overrides: [{ matcher: { id: 'byRegexp', options: '.* CPU %$' }, properties: [{ id: 'unit', value: 'percent' }, { id: 'custom.axisPlacement', value: 'right' }] }],
        min: 0,
      },
      {
        title: 'Shim API latency (p99) by call',
        description: '99th percentile of the time the shim takes to serve containerd\'s calls (create, start, exec, wait, state, …), selected sandboxes together (kata_shim_rpc_durations_histogram_milliseconds).',
        targets: quantiles('kata_shim_rpc_durations_histogram_milliseconds', sb(), 'action, ', '{{action}}', [0.99]),
        unit: 'ms',
        min: 0,
      },
      {
        title: 'Shim → agent RPC latency (p99) by call',
        description: '99th percentile of the shim\'s ttRPC calls to the kata-agent in the guest (kata_shim_agent_rpc_durations_histogram_milliseconds), selected sandboxes together: slow ones point at a busy guest or a slow VM exit path.',
        targets: quantiles('kata_shim_agent_rpc_durations_histogram_milliseconds', sb(), 'action, ', '{{action}}', [0.99]),
        unit: 'ms',
        min: 0,
      },
      {
        title: 'Shim and agent calls per second',
        description: 'Calls per second served by the shims (containerd → shim) and made to the agents (shim → agent), by call, selected sandboxes together.',
        targets: [
          { expr: `sum by (action) (rate(kata_shim_rpc_durations_histogram_milliseconds_count${sb()}[${RATE}]))`, legend: 'shim {{action}}' },
          { expr: `sum by (action) (rate(kata_shim_agent_rpc_durations_histogram_milliseconds_count${sb()}[${RATE}]))`, legend: 'agent {{action}}' },
        ],
        unit: 'reqps',
        min: 0,
      },
      {
        title: 'Shim goroutines, threads and open files',
        description: 'Goroutines (kata_shim_go_goroutines), OS threads (kata_shim_threads) and open file descriptors (kata_shim_fds) of each shim: a steady climb is a leak.',
        targets: [
          { expr: `kata_shim_go_goroutines${sb()}`, legend: `${POD} goroutines` },
          { expr: `kata_shim_threads${sb()}`, legend: `${POD} threads` },
          { expr: `kata_shim_fds${sb()}`, legend: `${POD} fds` },
        ],
        unit: 'short',
        min: 0,
        w: 24,
      },
    ],
  },
  {
    title: 'Agent (kata-agent in the guest)',
    collapsed: true,
    w: 8,
    panels: [
      {
        title: 'Agent memory (RSS)',
        description: 'Resident memory of the kata-agent process in each guest (kata_agent_process_resident_memory_bytes).',
        targets: [{ expr: `kata_agent_process_resident_memory_bytes${sb()}`, legend: POD }],
        unit: 'bytes',
        min: 0,
      },
      {
        title: 'Agent CPU',
        description: 'CPU used by the kata-agent in each guest, in guest cores (kata_agent_process_cpu_seconds_total).',
        targets: [{ expr: `rate(kata_agent_process_cpu_seconds_total${sb()}[${RATE}])`, legend: POD }],
        unit: 'short',
        axisLabel: 'cores',
        min: 0,
      },
      {
        title: 'Agent open files',
        description: 'Open file descriptors of the kata-agent (kata_agent_process_open_fds): it holds some for every container process and stream.',
        targets: [{ expr: `kata_agent_process_open_fds${sb()}`, legend: POD }],
        unit: 'short',
        min: 0,
      },
      {
        title: 'Agent I/O',
        description: 'Bytes per second the kata-agent process read from and wrote to storage in the guest (kata_agent_io_stat read_bytes, write_bytes).',
        targets: [{ expr: `sum by (${BY_POD}, item) (rate(kata_agent_io_stat${sb('item=~"read_bytes|write_bytes"')}[${RATE}]))`, legend: `${POD} {{item}}` }],
        unit: 'Bps',
        min: 0,
        w: 12,
      },
      {
        title: 'Agent metrics requests',
        description: 'How often each agent was asked for its metrics (kata_agent_scrape_count): once per shim scrape, so it follows kata-monitor\'s request rate; a flat line while the shim is scraped means the agent does not answer.',
        targets: [{ expr: `rate(kata_agent_scrape_count${sb()}[${RATE}])`, legend: POD }],
        unit: 'reqps',
        min: 0,
        w: 12,
      },
    ],
  },
];

// ---- JSON model -----------------------------------------------------------------

function fieldConfig(p: PanelSpec, type: PanelType): Obj {
  const defaults: Obj = {};
  if (p.unit) defaults.unit = p.unit;
  if (p.min !== undefined) defaults.min = p.min;
  if (p.max !== undefined) defaults.max = p.max;
  if (p.decimals !== undefined) defaults.decimals = p.decimals;
  if (p.noValue) defaults.noValue = p.noValue;
  defaults.mappings = p.mappings ?? [];
  defaults.thresholds = {
    mode: 'absolute',
    steps: [{ color: 'green', value: null }, ...(p.thresholds ?? []).map(([value, color]) => ({ color, value }))],
  };
  defaults.color = { mode: type === 'timeseries' ? 'palette-classic' : 'thresholds' };
  if (type === 'timeseries') {
    defaults.custom = {
      drawStyle: 'line',
      lineWidth: 1,
      fillOpacity: p.stack ? 30 : 0,
      showPoints: 'never',
      spanNulls: false,
      axisLabel: p.axisLabel ?? '',
      axisPlacement: 'auto',
      stacking: { mode: p.stack ? 'normal' : 'none', group: 'A' },
      thresholdsStyle: { mode: p.thresholdStyle ?? 'off' },
    };
  } else if (type === 'state-timeline') {
    defaults.custom = { fillOpacity: 80, lineWidth: 0 };
  } else if (type === 'table') {
    defaults.custom = { align: 'auto', cellOptions: { type: 'auto' }, inspect: false };
  }
  return { defaults, overrides: p.overrides ?? [] };
}

function options(p: PanelSpec, type: PanelType): Obj {
  switch (type) {
    case 'stat':
      return {
        reduceOptions: { calcs: ['lastNotNull'], fields: '', values: false },
        colorMode: 'background',
        graphMode: p.graphMode ?? 'area',
        justifyMode: 'auto',
        orientation: 'auto',
        textMode: 'auto',
        showPercentChange: false,
        wideLayout: true,
      };
    case 'state-timeline':
      return {
        showValue: 'never',
        mergeValues: true,
        alignValue: 'left',
        rowHeight: 0.9,
        legend: { showLegend: false, displayMode: 'list', placement: 'bottom' },
        tooltip: { mode: 'single', sort: 'none' },
      };
    case 'table':
      return { showHeader: true, cellHeight: 'sm', footer: { show: false, reducer: ['sum'], fields: '' } };
    case 'timeseries':
      return {
        legend: { showLegend: true, displayMode: 'table', placement: 'bottom', calcs: ['lastNotNull', 'max'] },
        tooltip: { mode: 'multi', sort: 'desc' },
      };
  }
}

function targets(p: PanelSpec): Obj[] {
  return p.targets.map((t, i) => ({
    datasource: DATASOURCE,
    editorMode: 'code',
    expr: t.expr,
    legendFormat: t.legend ?? '__auto',
    range: !t.table,
    instant: t.table === true,
    ...(t.table ? { format: 'table' } : {}),
    refId: String.fromCharCode(65 + i),
  }));
}

function queryVariable(name: string, label: string, query: string, description: string, multi: boolean): Obj {
  return {
    name,
    label,
    description,
    type: 'query',
    datasource: DATASOURCE,
    definition: query,
    query: { query, refId: `${name}-variable`, qryType: 1 },
    refresh: 2,
    regex: '',
    sort: 1,
    hide: 0,
    skipUrlSync: false,
    multi,
    includeAll: multi,
    ...(multi ? { allValue: '.*' } : {}),
    options: [],
  };
}

export function buildDashboard(): Obj {
  let id = 0;
  let y = 0;
  const top: Obj[] = [];
  for (const row of ROWS) {
    const rowPanel: Obj = { type: 'row', id: ++id, title: row.title, collapsed: row.collapsed, gridPos: { h: 1, w: 24, x: 0, y }, panels: [] };
    top.push(rowPanel);
    y += 1;
    const children: Obj[] = [];
    let x = 0;
    let lineHeight = 0;
    for (const p of row.panels) {
      const type = p.type ?? 'timeseries';
      const w = p.w ?? row.w ?? 12;
      const h = p.h ?? 8;
      if (x + w > 24) {
        y += lineHeight;
        x = 0;
        lineHeight = 0;
      }
      children.push({
        type,
        id: ++id,
        title: p.title,
        description: p.description,
        datasource: DATASOURCE,
        gridPos: { h, w, x, y },
        fieldConfig: fieldConfig(p, type),
        options: options(p, type),
        targets: targets(p),
        ...(p.transformations ? { transformations: p.transformations } : {}),
      });
      x += w;
      lineHeight = Math.max(lineHeight, h);
    }
    y += lineHeight;
    if (row.collapsed) {
      rowPanel.panels = children;
      // A collapsed row takes one line; its panels keep their places for when it opens.
      y = (rowPanel.gridPos as { y: number }).y + 1;
    } else top.push(...children);
  }

  return {
    annotations: {
      list: [
        {
          builtIn: 1,
          datasource: { type: 'grafana', uid: '-- Grafana --' },
          enable: true,
          hide: true,
          iconColor: 'rgba(0, 211, 255, 1)',
          name: 'Annotations & Alerts',
          type: 'dashboard',
        },
      ],
    },
    description: 'Kata Containers sandboxes (guest, hypervisor, shim, agent) and the kata-monitor daemon that collects them (kata-otel-monitor). Source: deploy/grafana/dashboard.ts.',
    editable: true,
    fiscalYearStartMonth: 0,
    graphTooltip: 1,
    id: null,
    links: [],
    panels: top,
    refresh: '1m',
    schemaVersion: 39,
    tags: ['kata-containers', 'kata-monitor'],
    templating: {
      list: [
        {
          name: 'datasource',
          label: 'Data source',
          type: 'datasource',
          query: 'prometheus',
          regex: '',
          hide: 0,
          includeAll: false,
          multi: false,
          refresh: 1,
          skipUrlSync: false,
          options: [],
        },
        queryVariable('job', 'Job', 'label_values(kata_monitor_running_shim_count, job)', 'The scrape job of kata-monitor (the PodMonitor names it kata-monitor).', false),
        queryVariable('node', 'Node', 'label_values(kata_monitor_running_shim_count{job=~"$job"}, node)', 'Nodes running kata-monitor.', true),
        queryVariable(
          'namespace',
          'Namespace',
          'label_values(kata_monitor_sandbox_scrape_up{job=~"$job", node=~"$node"}, cri_namespace)',
          'Namespaces of the Kata pods (cri_namespace). "All" also matches sandboxes still without pod metadata.',
          true,
        ),
        queryVariable(
          'pod',
          'Pod',
          'label_values(kata_monitor_sandbox_scrape_up{job=~"$job", node=~"$node", cri_namespace=~"$namespace"}, cri_name)',
          'Kata pods (cri_name).',
          true,
        ),
      ],
    },
    time: { from: 'now-1h', to: 'now' },
    timepicker: {},
    timezone: '',
    title: 'Kata Containers / kata-monitor',
    uid: 'kata-monitor',
    version: 1,
    weekStart: '',
  };
}

export function renderDashboard(): string {
  return JSON.stringify(buildDashboard(), null, 2) + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(TARGET, renderDashboard());
  process.stdout.write(`wrote ${path.relative(process.cwd(), TARGET)}\n`);
}
