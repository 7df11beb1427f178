// The HTML status page at "/" as an operator's browser sees it: headless
// Chromium (Debian's `chromium`) driven by playwright-core, at 1280×800,
// loads it from the real daemon serving simulated shims and a simulated CRI
// server, with two real OTLP/HTTP exporters (one receiver accepts, one
// answers 503). A screenshot is left in test-output/status-page.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startDemo } from '../../src/demo/environment.ts';
import { makeExporting } from '../../src/otel/exporting.ts';
import { silentLogger } from '../../src/log/logger.ts';
import { startDaemon } from '../../src/main.ts';
import { eventually, startTestDaemon, testConfig } from '../support/daemon.ts';
import { startReceiver } from '../otel/support/receiver.ts';
import { requireBinary, ROOT } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT = path.join(ROOT, 'test-output', 'status-page.png');

/** A legal directory name (no "/" or NUL) that is also an HTML element. */
const EVIL_ID = '<img src=x onerror=alert(1)>';
/** What real ids look like: 64 hex digits. */
const LONG_ID = 'f'.repeat(8) + '0123456789abcdef'.repeat(3) + 'e'.repeat(8);
/** The longest pod name and namespace Kubernetes allows. */
const LONG_POD = 'a-very-long-deployment-name-with-a-replicaset-hash-7f9c8d6b5-x2k'.slice(0, 63);
const LONG_NS = 'team-observability-and-platform-engineering-long-namespace-name'.slice(0, 63);

async function launch(): Promise<Browser> {
  return chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
}

/** Console errors and uncaught page errors, collected for the whole visit. */
function watchErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  page.on('pageerror', (e) => errors.push(e.message));
  return errors;
}

test('the status page: every sandbox named by its pod with charts of its scrapes, the exporters with queue and push history, all within 1280 px', { timeout: 120_000 }, async (t) => {
  if (!requireBinary(t, CHROMIUM, 'chromium')) return;

  const demo = await startDemo({ sandboxes: 4 });
  t.after(() => demo.stop());
  await demo.addSandbox(EVIL_ID);
  await demo.addSandbox(LONG_ID);
  // A sandbox directory whose shim is gone: its scrape fails, with a message.
  const broken = 'deadbeef'.repeat(8);
  await mkdir(path.join(demo.roots[0]!, broken));
  demo.cri.setPods([
    ...demo.pods().map((p) => (p.id === LONG_ID ? { ...p, name: LONG_POD, namespace: LONG_NS } : p)),
    { id: broken, name: 'broken-shim', uid: '00000000-0000-4000-8000-000000000001', namespace: 'default' },
    demo.runcPod,
  ]);

  const good = await startReceiver();
  t.after(() => good.close());
  const down = await startReceiver(() => ({ status: 503 }));
  t.after(() => down.close());
  const yaml = `receivers:
  kata_monitor:
    collection_interval: 300ms
    cri: { first_lookup_delay: 100ms, resync_interval: 200ms, timeout: 1s }
    root_retry_interval: 200ms
    shim: { timeout: 1s }
exporters:
  otlphttp/primary:
    endpoint: ${good.url}
  otlphttp/vendor:
    endpoint: ${down.url}
    retry_on_failure: { initial_interval: 50ms, max_interval: 100ms }
    sending_queue: { queue_size: 20 }
service:
  pipelines:
    metrics:
      receivers: [kata_monitor]
      exporters: [otlphttp/primary, otlphttp/vendor]
`;
  const daemon = await startTestDaemon({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint, yaml, exporting: makeExporting({ env: {} }) });
  t.after(() => daemon.stop());

  const ids = [...demo.ids(), broken];
  // Every sandbox named by CRI and scraped several times (the idle loop and the pushes), the pushes both delivered and refused.
  await eventually(() => {
    const entries = daemon.registry.list();
    if (entries.length !== ids.length || !entries.every((e) => e.metadataKnown)) return false;
    const rows = daemon.exporters();
    return ids.every((id) => daemon.history.sandbox(id).length >= 4) && good.received.length >= 2 && rows.every((r) => r.history.length >= 3) && down.attempts.length >= 2;
  }, 30_000, 'several scrapes of every named sandbox and several push intervals');

  const browser = await launch();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
  const errors = watchErrors(page);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));

  const response = await fetch(daemon.url + '/', { headers: { accept: 'text/html' } });
  assert.equal(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html/);
  // The page refreshes itself every few seconds: the browser gets its text without the refresh, so
  // that a refresh on a loaded machine cannot reload the page under the checks.
  const html = await response.text();
  const refresh = /<meta http-equiv="refresh" content="(\d+)">/.exec(html);
  assert.ok(refresh, 'it refreshes itself');
  await page.setContent(html.replace(refresh[0], ''), { waitUntil: 'load' });
  assert.match(await page.title(), /kata-monitor/);

  await mkdir(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });

  // Fits the window: no horizontal scrollbar.
  const widths = await page.$eval('html', (html) => ({ scroll: html.scrollWidth, client: html.clientWidth }));
  assert.ok(widths.scroll <= widths.client, `page ${widths.scroll} px wide in a ${widths.client} px window`);

  // One row per sandbox, named by its pod; the id kept whole in the text (copyable), cut on screen, whole on hover.
  const rows = await page.$$eval('#sandboxes tr[data-sandbox]', (trs) =>
    trs.map((tr) => ({
      key: tr.getAttribute('data-sandbox'),
      anchor: tr.id,
      idTitle: tr.querySelector('.id')?.getAttribute('title'),
      idShownWidth: tr.querySelector('.id')?.clientWidth ?? 0,
      idFullWidth: tr.querySelector('.id')?.scrollWidth ?? 0,
      link: tr.querySelector('a.copy')?.getAttribute('href'),
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
      podTitle: tr.querySelector('.pod')?.getAttribute('title'),
      charts: [...tr.querySelectorAll('svg.spark')].map((svg) => ({ title: svg.querySelector('title')?.textContent ?? '', lines: svg.querySelectorAll('polyline').length })),
    })),
  );
  assert.deepEqual(rows.map((r) => r.key).sort(), [...ids].sort());
  for (const row of rows) {
    const id = row.key!;
    assert.equal(row.cells[0], id + '#', 'the id whole in the text, then its link');
    assert.equal(row.idTitle, id, 'the whole id on hover');
    assert.equal(row.link, `#${row.anchor}`, 'a link to the row');
    const pod = id === broken ? { name: 'broken-shim', namespace: 'default' } : demo.pods().find((p) => p.id === id);
    assert.ok(pod, `CRI knows ${id}`);
    assert.equal(row.cells[1], id === LONG_ID ? LONG_POD : pod.name);
    assert.equal(row.cells[2], id === LONG_ID ? LONG_NS : pod.namespace);
    assert.equal(row.charts.length, 2, `${id}: a duration chart and a samples chart`);
    assert.ok(row.charts.every((c) => c.lines === 1), `${id}: lines over several scrapes`);
    assert.match(row.charts[0]!.title, /scrape duration in ms: last [\d.]+, min [\d.]+, max [\d.]+ over \d+/);
    if (id === broken) {
      assert.notEqual(row.cells[3], 'ok');
      assert.ok(row.cells[9]!.length > 0, 'the error said');
    } else {
      assert.equal(row.cells[3], 'ok', `${id} scraped`);
      assert.ok(Number(row.cells[6]) > 0, `${id} has samples`);
    }
  }
  const long = rows.find((r) => r.key === LONG_ID)!;
  assert.ok(long.idShownWidth < long.idFullWidth, 'a 64-digit id is cut on screen');
  assert.equal(long.podTitle, LONG_POD);

  // The scrape loop says when it last ran and why.
  assert.match(await page.locator('#scrape-loop').innerText(), /last scraped \d+s ago, for (the idle loop|an OTLP push|a \/metrics request): 7 sandbox\(es\) in \d+ ms, 1 failed/);
  assert.match(await page.locator('#limits').innerText(), /20000 samples, 30 labels a sample/);

  // The exporters: queue depth charted, each push interval coloured by its outcome.
  const exporters = await page.$$eval('#exporters tr[data-exporter]', (trs) =>
    trs.map((tr) => ({
      cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? ''),
      depthChart: tr.querySelectorAll('svg.spark')[0]?.querySelector('title')?.textContent ?? '',
      outcomes: tr.querySelectorAll('svg.spark')[1]?.querySelector('title')?.textContent ?? '',
      bars: tr.querySelectorAll('svg.spark')[1]?.querySelectorAll('rect').length ?? 0,
    })),
  );
  assert.deepEqual(exporters.map((x) => x.cells[0]), ['metrics/otlphttp/primary', 'metrics/otlphttp/vendor']);
  const [primary, vendor] = exporters;
  assert.match(primary!.cells[2]!, /^\d+s ago$/, 'delivered recently');
  assert.match(primary!.outcomes, /push intervals: [1-9]\d* ok/);
  assert.ok(primary!.bars >= 3);
  assert.equal(vendor!.cells[2], 'never');
  assert.match(vendor!.outcomes, /[1-9]\d* failed/);
  assert.match(vendor!.depthChart, /queue depth: last \d+/);
  assert.match(vendor!.cells[9]!, /503/);

  // Nothing injected: no element from the id or the pod name; no script ran, none loaded.
  assert.equal(await page.locator('img').count(), 0);
  assert.equal(await page.locator('script').count(), 0);
  assert.deepEqual(dialogs, []);
  assert.deepEqual(requests, [], 'the page loads nothing');
  assert.deepEqual(errors, [], 'no console errors');

  // It keeps upstream's endpoint list.
  const endpoints = await page.locator('li b').allTextContents();
  for (const p of ['/metrics', '/sandboxes', '/agent-url', '/healthz', '/readyz']) assert.ok(endpoints.includes(p), p);


  // /sandboxes in a browser names the pods too.
  const list = await page.goto(daemon.url + '/sandboxes');
  assert.equal(list?.status(), 200);
  const items = await page.locator('li').allTextContents();
  const named = demo.pods().find((p) => p.id !== LONG_ID && p.id !== EVIL_ID)!;
  assert.ok(items.some((i) => i.startsWith(`${named.id} (pod ${named.namespace}/${named.name}): pprof`)), items.join('\n'));
  assert.deepEqual(errors, []);
});

test('the status page says what the demo does to its sandboxes', { timeout: 60_000 }, async (t) => {
  const demo = await startDemo({ sandboxes: 1, churnMs: 60_000 });
  t.after(() => demo.stop());
  const daemon = await startDaemon(testConfig({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint }), silentLogger, undefined, { demoNote: `Demo: ${demo.churnNote}.` });
  t.after(() => daemon.stop());
  const html = await (await fetch(daemon.url + '/', { headers: { accept: 'text/html' } })).text();
  assert.match(html, /<p class="note" id="demo-note">Demo: every 60 s the oldest simulated sandbox is replaced by a new one/);
});
