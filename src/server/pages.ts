// Text and HTML pages: upstream's index and sandbox list, byte-compatible in
// their text form, and a status page for browsers. Every value printed into
// HTML is escaped: sandbox ids and pod names come from other people.

import type { SandboxEntry } from '../discovery/registry.ts';
import type { ExporterStatus } from '../export-contract.ts';
import type { SandboxScrape } from '../scrape/snapshot.ts';

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

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function indexText(endpoints: readonly Endpoint[]): string {
  const width = Math.max(...endpoints.map((e) => e.path.length)) + 3;
  let out = 'Available HTTP endpoints:\n';
  for (const e of endpoints) out += `${e.path.padEnd(width)}: ${e.desc}\n`;
  return out;
}

export function indexHtmlList(endpoints: readonly Endpoint[], heading: 'h1' | 'h2' = 'h1'): string {
  let out = `<${heading}>Available HTTP endpoints:</${heading}>\n<ul>`;
  for (const e of endpoints) {
    const p = escapeHtml(e.path);
    const inner = e.link ? `<b><a href='${p}'>${p}</a></b>: ${escapeHtml(e.desc)}\n` : `<b>${p}</b>: ${escapeHtml(e.desc)}\n`;
    out += `<li>${inner}</li>`;
  }
  return out + '</ul>';
}

export function sandboxesText(entries: readonly SandboxEntry[]): string {
  let out = '';
  for (const e of entries) out += e.id + '\n';
  return out;
}

export function sandboxesHtml(entries: readonly SandboxEntry[]): string {
  let out = '<h1>Sandbox list</h1>\n<ul>\n';
  for (const e of entries) {
    const h = escapeHtml(e.id);
    const q = escapeHtml(encodeURIComponent(e.id));
    out += `<li>${h}: <a href='/debug/pprof/?sandbox=${q}'>pprof</a>, <a href='/metrics?sandbox=${q}'>metrics</a>, <a href='/agent-url?sandbox=${q}'>agent-url</a></li>\n`;
  }
  return out + '</ul>\n';
}

export interface StatusView {
  readonly version: string;
  readonly now: number;
  readonly sandboxes: readonly SandboxEntry[];
  /** The last scrape of each sandbox, by id. */
  readonly lastScrape: ReadonlyMap<string, SandboxScrape>;
  readonly cri: { readonly endpoint: string; readonly connected: boolean; readonly lastError?: string; readonly pending: number };
  readonly watchedRoots: readonly string[];
  readonly roots: readonly string[];
  readonly exporters: readonly ExporterStatus[];
  readonly endpoints: readonly Endpoint[];
}

const STYLE = `body{font-family:system-ui,sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
th,td{border:1px solid #ccc;padding:.25em .6em;text-align:left;font-size:.9em;white-space:nowrap}td.msg{white-space:normal}th{background:#f3f3f3}
td.num{text-align:right;font-variant-numeric:tabular-nums}.ok{color:#176f2c}.fail{color:#b00020}code{font-size:.9em}`;

function ago(now: number, at: number | undefined): string {
  if (at === undefined) return 'never';
  const s = Math.max(0, Math.round((now - at) / 1000));
  return `${s}s ago`;
}

/** The HTML status page served at / for browsers; it keeps upstream's endpoint list. */
export function statusHtml(v: StatusView): string {
  const rows = v.sandboxes
    .map((e) => {
      const s = v.lastScrape.get(e.id);
      const result = !s ? '<td>not scraped yet</td>' : s.error ? `<td class="fail">failed (${escapeHtml(s.error.kind)})</td>` : '<td class="ok">ok</td>';
      const q = escapeHtml(encodeURIComponent(e.id));
      return (
        `<tr data-sandbox="${escapeHtml(e.id)}"><td><code>${escapeHtml(e.id)}</code></td><td>${escapeHtml(e.metadata.name)}</td>` +
        `<td>${escapeHtml(e.metadata.namespace)}</td><td><code>${escapeHtml(e.metadata.uid)}</code></td>${result}<td>${s ? ago(v.now, s.at) : ''}</td>` +
        `<td class="num">${s ? s.durationMs.toFixed(1) : ''}</td><td class="num">${s ? s.sampleCount : ''}</td>` +
        `<td class="msg">${s?.error ? escapeHtml(s.error.message) : ''}</td>` +
        `<td><a href="/metrics?sandbox=${q}">metrics</a> <a href="/debug/pprof/?sandbox=${q}">pprof</a></td></tr>`
      );
    })
    .join('\n');
  const exporters = v.exporters.length
    ? `<table id="exporters"><tr><th>exporter</th><th>endpoint</th><th>last push</th><th>queue</th><th>failed sends</th><th>dropped batches</th><th>last error</th></tr>\n${v.exporters
        .map(
          (x) =>
            `<tr><td>${escapeHtml(x.name)}</td><td>${escapeHtml(x.endpoint)}</td><td>${ago(v.now, x.lastSuccessAt)}</td>` +
            `<td class="num">${x.queueDepth}/${x.queueCapacity}${x.queueUnit === 'points' ? ' points' : ''}</td><td class="num">${x.failedSends}</td>` +
            `<td class="num">${x.droppedBatches}</td><td class="msg">${escapeHtml(x.lastError ?? '')}</td></tr>`,
        )
        .join('\n')}</table>`
    : '<p>No OTLP exporters configured.</p>';
  const roots = v.roots.map((r) => `<code>${escapeHtml(r)}</code> ${v.watchedRoots.includes(r) ? '(watched)' : '(missing, retrying)'}`).join(', ');
  return `<!doctype html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>kata-monitor</title><style>${STYLE}</style></head><body>
<h1>kata-monitor ${escapeHtml(v.version)}</h1>
<p>Sandbox roots: ${roots}. CRI <code>${escapeHtml(v.cri.endpoint)}</code>: ${
    v.cri.connected ? '<span class="ok">reachable</span>' : `<span class="fail">unreachable</span> ${escapeHtml(v.cri.lastError ?? '')}`
  }; ${v.cri.pending} sandbox(es) waiting for pod metadata.</p>
<h2>Sandboxes (${v.sandboxes.length})</h2>
<table id="sandboxes"><tr><th>sandbox</th><th>pod</th><th>namespace</th><th>pod uid</th><th>last scrape</th><th>when</th><th>ms</th><th>series</th><th>error</th><th></th></tr>
${rows}</table>
<h2>Exporters</h2>
${exporters}
${indexHtmlList(v.endpoints, 'h2')}
</body></html>
`;
}
