// Text and HTML pages: upstream's index and sandbox list, byte-compatible in
// their text form, and a status page for browsers. Every value printed into
// HTML is escaped: sandbox ids and pod names come from other people.

import type { SandboxEntry } from '../discovery/registry.ts';
import type { ExporterPoint, ExporterRow } from '../export-contract.ts';
import type { FanOutPoint, SandboxPoint } from '../scrape/history.ts';
import type { SandboxScrape } from '../scrape/snapshot.ts';
import type { AppDeps } from './deps.ts';
import { outcomeStrip, sparkline, type Outcome } from './sparkline.ts';

export interface Endpoint {
  readonly path: string;
  readonly desc: string;
  /** Linked from the HTML index (upstream links /metrics and /sandboxes). */
  readonly link?: boolean;
}

/** Upstream's endpoints, in upstream's order and words. */
export const UPSTREAM_ENDPOINTS: readonly Endpoint[] = [
  { path: '/metrics', desc: 'Get metrics from sandboxes.', link: true },
  { path: '/sandboxes', desc: 'List all Kata Containers sandboxes.', link: true },
  { path: '/agent-url', desc: 'Get sandbox agent URL.' },
  { path: '/debug/vars', desc: 'Golang pprof `/debug/vars` endpoint for kata runtime shim process.' },
  { path: '/debug/pprof/', desc: 'Golang pprof `/debug/pprof/` endpoint for kata runtime shim process.' },
  { path: '/debug/pprof/cmdline', desc: 'Golang pprof `/debug/pprof/cmdline` endpoint for kata runtime shim process.' },
  { path: '/debug/pprof/profile', desc: 'Golang pprof `/debug/pprof/profile` endpoint for kata runtime shim process.' },
  { path: '/debug/pprof/symbol', desc: 'Golang pprof `/debug/pprof/symbol` endpoint for kata runtime shim process.' },
  { path: '/debug/pprof/trace', desc: 'Golang pprof `/debug/pprof/trace` endpoint for kata runtime shim process.' },
];

/** Upstream: true when one comma-separated Accept entry is exactly "text/html". */
export function wantsHtml(accept: string | undefined): boolean {
  return accept !== undefined && accept.split(',').some((f) => f === 'text/html');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function indexText(endpoints: readonly Endpoint[]): string {
  const width = Math.max(...endpoints.map((e) => e.path.length)) + 3;
  let out = 'Available HTTP endpoints:\n';
  for (const e of endpoints) out += `${e.path.padEnd(width)}: ${e.desc}\n`;
  return out;
}

function indexHtmlList(endpoints: readonly Endpoint[]): string {
  const items = endpoints.map((e) => {
    const p = escapeHtml(e.path);
    return `<li><b>${e.link ? `<a href='${p}'>${p}</a>` : p}</b>: ${escapeHtml(e.desc)}\n</li>`;
  });
  return `<h2>Available HTTP endpoints:</h2>\n<ul>${items.join('')}</ul>`;
}

export function sandboxesText(entries: readonly SandboxEntry[]): string {
  return entries.map((e) => `${e.id}\n`).join('');
}

/** Upstream's list, each sandbox followed by its pod (namespace/name) once CRI has named it. */
export function sandboxesHtml(entries: readonly SandboxEntry[]): string {
  let out = '<h1>Sandbox list</h1>\n<ul>\n';
  for (const e of entries) {
    const h = escapeHtml(e.id);
    const q = escapeHtml(encodeURIComponent(e.id));
    const pod = e.metadataKnown ? ` (pod ${escapeHtml(`${e.metadata.namespace}/${e.metadata.name}`)})` : '';
    out += `<li>${h}${pod}: <a href='/debug/pprof/?sandbox=${q}'>pprof</a>, <a href='/metrics?sandbox=${q}'>metrics</a>, <a href='/agent-url?sandbox=${q}'>agent-url</a></li>\n`;
  }
  return out + '</ul>\n';
}

// Fits 1280 px: long values are cut with an ellipsis (the full text stays in
// the page: on hover, in a selection, in a copy), messages wrap.
const STYLE = `body{font-family:system-ui,sans-serif;margin:1em 1.5em;color:#222;font-size:14px}
table{border-collapse:collapse;margin:.4em 0 1.2em}th,td{border:1px solid #ddd;padding:.2em .45em;text-align:left;white-space:nowrap;vertical-align:middle}
th{background:#f3f3f3;font-weight:600}td.num{text-align:right;font-variant-numeric:tabular-nums}td.msg{white-space:normal;max-width:18em;font-size:.85em}
.msg span{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:3;overflow:hidden;overflow-wrap:anywhere}
.cut{display:inline-block;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;vertical-align:bottom}.id{max-width:13ch;font-family:monospace}.pod{max-width:22ch}.ns{max-width:14ch}.ep{max-width:22ch}
.ok{color:#2e7d32}.fail{color:#b00020}.muted{color:#666}.note{background:#fff8e1;border:1px solid #f0d98c;padding:.4em .7em}svg.spark{vertical-align:middle;display:block}a.copy{font-size:.85em;margin-left:.2em}
h1{font-size:1.4em;margin:.2em 0}h2{font-size:1.15em;margin:.8em 0 .2em}p{margin:.3em 0}`;

function ago(now: number, at: number | undefined): string {
  return at === undefined ? 'never' : `${Math.max(0, Math.round((now - at) / 1000))}s ago`;
}

/** A message cut to three lines on screen, whole on hover. */
function msg(text: string | undefined): string {
  if (!text) return '<td class="msg"></td>';
  const h = escapeHtml(text);
  return `<td class="msg"><span title="${h}">${h}</span></td>`;
}

/** 300ms, 15s, 2m30s: how an interval was configured. */
function interval(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  return s < 60 ? `${s}s` : `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
}

function cut(text: string, cls: string): string {
  const h = escapeHtml(text);
  return `<span class="cut ${cls}" title="${h}">${h}</span>`;
}

const REASONS: Record<FanOutPoint['reason'], string> = {
  'metrics request': 'a /metrics request',
  push: 'an OTLP push',
  idle: 'the idle loop',
  command: 'a command',
};

function sandboxRow(e: SandboxEntry, s: SandboxScrape | undefined, points: readonly SandboxPoint[], now: number): string {
  const id = escapeHtml(e.id);
  const q = escapeHtml(encodeURIComponent(e.id));
  const anchor = escapeHtml(`sandbox-${encodeURIComponent(e.id)}`);
  const result = !s ? '<td class="muted">waiting</td>' : s.error ? `<td class="fail">${escapeHtml(s.error.kind)}</td>` : '<td class="ok">ok</td>';
  const failed = points.map((p) => !p.ok);
  const pod = e.metadataKnown
    ? `<td>${cut(e.metadata.name, 'pod')}</td><td>${cut(e.metadata.namespace, 'ns')}</td>`
    : '<td class="muted" colspan="2">not named by CRI yet</td>';
  return (
    `<tr id="${anchor}" data-sandbox="${id}" data-pod-uid="${escapeHtml(e.metadata.uid)}">` +
    `<td>${cut(e.id, 'id')}<a class="copy" href="#${anchor}" title="link to this sandbox">#</a></td>${pod}${result}` +
    `<td>${s ? ago(now, s.at) : ''}</td><td class="num">${s ? s.durationMs.toFixed(1) : ''}</td><td class="num">${s ? s.sampleCount : ''}</td>` +
    `<td class="chart">${sparkline(points.map((p) => p.durationMs), `${id}: scrape duration in ms`, failed)}</td>` +
    `<td class="chart">${sparkline(points.map((p) => p.samples), `${id}: samples`, failed)}</td>` +
    msg(s?.error?.message) +
    `<td><a href="/metrics?sandbox=${q}">metrics</a> <a href="/debug/pprof/?sandbox=${q}">pprof</a></td></tr>`
  );
}

function outcomeOf(p: ExporterPoint): Outcome {
  if (p.droppedBatches > 0) return 'dropped';
  if (p.failedSends > 0) return 'failed';
  return p.sentPoints > 0 ? 'ok' : 'idle';
}

function exporterRow(x: ExporterRow, now: number): string {
  const name = escapeHtml(x.name);
  const unit = x.queueUnit === 'batches' ? '' : ` ${x.queueUnit}`;
  return (
    `<tr data-exporter="${name}"><td>${name}</td><td>${cut(x.endpoint, 'ep')}</td><td>${ago(now, x.lastSuccessAt)}</td>` +
    `<td class="num">${x.queueDepth}/${x.queueCapacity}${unit}${x.persistent ? ' (disk)' : ''}</td>` +
    `<td class="chart">${sparkline(x.history.map((p) => p.queueDepth), `${name}: queue depth${escapeHtml(unit)}`)}</td>` +
    `<td class="chart">${outcomeStrip(x.history.map(outcomeOf), `${name}: push intervals`)}</td>` +
    `<td class="num">${x.sentPoints}</td><td class="num">${x.failedSends}</td><td class="num">${x.droppedBatches}</td>` +
    `${msg(x.lastError)}</tr>`
  );
}

function scrapeLoop(fanOuts: readonly FanOutPoint[], collectionIntervalMs: number, now: number): string {
  const every = interval(collectionIntervalMs);
  const last = fanOuts[fanOuts.length - 1];
  const said = last
    ? `last scraped ${ago(now, last.startedAt)}, for ${REASONS[last.reason]}: ${last.sandboxes} sandbox(es) in ${last.durationMs.toFixed(0)} ms, ${last.failed} failed.`
    : 'not scraped yet.';
  const chart = sparkline(fanOuts.map((f) => f.durationMs), 'whole scrape duration in ms', fanOuts.map((f) => f.failed > 0));
  return `<p id="scrape-loop">Scrape loop: ${said} Shims are scraped when /metrics is asked or a push is due, and every ${every} when neither happens. ${chart}</p>`;
}

/** The HTML status page served at / for browsers, from the daemon's parts; it keeps upstream's endpoint list. */
export function statusHtml(deps: AppDeps, endpoints: readonly Endpoint[]): string {
  const now = Date.now();
  const last = new Map((deps.source.latest()?.sandboxes ?? []).map((s) => [s.sandbox.id, s]));
  const sandboxes = deps.registry.list();
  const xs = deps.exporters();
  const cri = deps.cri();
  const l = deps.limits;
  const limit = (n: number, what: string): string => (n > 0 ? `${n} ${what}` : `no limit on ${what}`);
  const rows = sandboxes.map((e) => sandboxRow(e, last.get(e.id), deps.history.sandbox(e.id), now)).join('\n');
  const exporters = xs.length
    ? `<table id="exporters"><tr><th>exporter</th><th>endpoint</th><th>last delivery</th><th>queue</th><th>queue depth</th><th>pushes</th><th title="data points delivered">sent</th><th title="attempts that failed">failed</th><th title="batches dropped">dropped</th><th>last error</th></tr>\n${xs.map((x) => exporterRow(x, now)).join('\n')}</table>`
    : '<p>No OTLP exporters configured (see otel-config.example.yaml).</p>';
  const watched = deps.watchedRoots();
  const roots = deps.roots.map((r) => `<code>${escapeHtml(r)}</code> ${watched.includes(r) ? '(watched)' : '(missing, retrying)'}`).join(', ');
  const refresh = Math.max(5, Math.round(deps.collectionIntervalMs / 1000));
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><meta http-equiv="refresh" content="${refresh}"><title>kata-monitor</title><style>${STYLE}</style></head><body>
<h1>kata-monitor ${escapeHtml(deps.version)}</h1>
${deps.demoNote !== undefined ? `<p class="note" id="demo-note">${escapeHtml(deps.demoNote)}</p>\n` : ''}<p>Sandbox roots: ${roots}. CRI <code>${escapeHtml(cri.endpoint)}</code>: ${
    cri.connected ? '<span class="ok">reachable</span>' : `<span class="fail">unreachable</span> ${escapeHtml(cri.lastError ?? '')}`
  }; ${cri.pending} sandbox(es) waiting for pod metadata.</p>
${scrapeLoop(deps.history.fanOuts(), deps.collectionIntervalMs, now)}
<p id="limits" class="muted">Per sandbox, a body may bring ${limit(l.sampleLimit, 'samples')}, ${limit(l.labelLimit, 'labels a sample')}, label names of ${limit(l.labelNameLengthLimit, 'bytes')} and values of ${limit(l.labelValueLengthLimit, 'bytes')}; over a limit its scrape fails as a whole. This page refreshes every ${refresh}s.</p>
<h2>Sandboxes (${sandboxes.length})</h2>
<table id="sandboxes"><tr><th>sandbox</th><th>pod</th><th>namespace</th><th>scrape</th><th>when</th><th>ms</th><th>samples</th><th>duration</th><th>samples</th><th>error</th><th></th></tr>
${rows}</table>
<h2>Exporters</h2>
${exporters}
${indexHtmlList(endpoints)}
</body></html>
`;
}
