// The HTML status page at "/" as a browser sees it: headless Chromium (Debian's
// `chromium`) driven by playwright-core loads it from the real daemon serving
// simulated shims and a simulated CRI server. A sandbox whose id (and so its
// pod name) is an HTML tag must show as text, never become an element.
// A screenshot is left in test-output/status-page.png.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { startDemo } from '../../src/demo/environment.ts';
import type { ExporterStatus, Exporting, ExportingFactory } from '../../src/export-contract.ts';
import { eventually, startTestDaemon } from '../support/daemon.ts';
import { requireBinary } from './support.ts';

const CHROMIUM = '/usr/bin/chromium';
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCREENSHOT = path.join(ROOT, 'test-output', 'status-page.png');

/** A legal directory name (no "/" or NUL) that is also an HTML element. */
const EVIL_ID = '<img src=x onerror=alert(1)>';

// The exporters section renders whatever the OTel side reports; a fixed report
// keeps this test about the page (the push itself is tested under test/otel).
const EXPORTERS: ExporterStatus[] = [
  { name: 'otlphttp/primary', endpoint: 'http://otel-collector.observability:4318/v1/metrics', queueDepth: 0, queueCapacity: 100, queueUnit: 'batches', lastSuccessAt: Date.now() - 2000, failedSends: 0, droppedBatches: 0 },
  { name: 'otlphttp/vendor', endpoint: 'https://otlp.example.com/v1/metrics', queueDepth: 7, queueCapacity: 20, queueUnit: 'batches', failedSends: 3, droppedBatches: 1, lastError: 'HTTP 503 <script>alert(2)</script>' },
];
const stubExporting: ExportingFactory = () =>
  ({ routes: [], selfFamilies: () => [], status: () => EXPORTERS, start() {}, async shutdown() {} }) satisfies Exporting;

test('the status page lists sandboxes with pod metadata and scrape results, the exporters, and escapes everything', { timeout: 90_000 }, async (t) => {
  if (!requireBinary(t, CHROMIUM, 'chromium')) return;

  const demo = await startDemo({ sandboxes: 4 });
  t.after(() => demo.stop());
  await demo.addSandbox(EVIL_ID);
  const daemon = await startTestDaemon({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint, exporting: stubExporting });
  t.after(() => daemon.stop());

  const ids = demo.ids();
  assert.ok(ids.includes(EVIL_ID));
  // Every sandbox discovered, named by CRI, and scraped without error.
  await eventually(async () => {
    const entries = daemon.registry.list();
    if (entries.length !== ids.length || !entries.every((e) => e.metadataKnown)) return false;
    await (await fetch(`${daemon.url}/metrics`)).text(); // a scrape
    const last = daemon.scraper.latest()?.sandboxes ?? [];
    return ids.every((id) => last.some((s) => s.sandbox.id === id && s.sandbox.metadataKnown && !s.error));
  }, 15_000, 'all sandboxes scraped with their CRI metadata');

  const browser: Browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    timeout: 30_000,
  });
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.message());
    void d.dismiss();
  });
  const requests: string[] = [];
  page.on('request', (r) => requests.push(r.url()));

  const response = await page.goto(daemon.url + '/', { waitUntil: 'load' });
  assert.equal(response?.status(), 200);
  assert.match((await response!.allHeaders())['content-type'] ?? '', /^text\/html/);
  assert.match(await page.title(), /kata-monitor/);

  // The sandbox table: one row per sandbox, with its pod's name and namespace.
  const rows = await page.$$eval('#sandboxes tr[data-sandbox]', (trs) =>
    trs.map((tr) => ({ key: tr.getAttribute('data-sandbox'), cells: [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '') })),
  );
  assert.deepEqual(rows.map((r) => r.cells[0]).sort(), [...ids].sort());
  for (const row of rows) {
    const id = row.cells[0]!;
    assert.equal(row.key, id, 'the data attribute holds the id verbatim');
    const pod = demo.pods().find((p) => p.id === id);
    assert.ok(pod, `CRI knows ${id}`);
    assert.equal(row.cells[1], pod.name);
    assert.equal(row.cells[2], pod.namespace);
    assert.equal(row.cells[3], pod.uid);
    assert.equal(row.cells[4], 'ok', `${id} scraped`);
    assert.match(row.cells[5]!, /^\d+s ago$/, 'when it was scraped');
    assert.ok(Number(row.cells[6]) >= 0, `${id}: scrape duration in ms`);
    assert.ok(Number(row.cells[7]) > 0, `${id} has series`);
  }
  assert.match(await page.locator('h2', { hasText: 'Sandboxes' }).innerText(), new RegExp(`\\(${ids.length}\\)`));

  // The exporters section.
  const exporters = await page.$$eval('#exporters tr', (trs) => trs.slice(1).map((tr) => [...tr.querySelectorAll('td')].map((td) => td.textContent ?? '')));
  assert.equal(exporters.length, 2);
  assert.equal(exporters[0]![0], 'otlphttp/primary');
  assert.match(exporters[0]![2]!, /^\d+s ago$/);
  assert.equal(exporters[1]![0], 'otlphttp/vendor');
  assert.equal(exporters[1]![2], 'never');
  assert.ok(exporters[1]!.includes('7/20'), 'queue depth / capacity');
  assert.ok(exporters[1]!.includes('HTTP 503 <script>alert(2)</script>'), 'the error shown as text');

  // Nothing injected: no element from the id, the pod name or the error; no script ran.
  assert.equal(await page.locator('img').count(), 0);
  assert.equal(await page.locator('script').count(), 0);
  assert.deepEqual(dialogs, []);
  const evilRow = page.locator('#sandboxes tr[data-sandbox]').filter({ hasText: EVIL_ID });
  assert.equal(await evilRow.count(), 1);
  assert.equal(await evilRow.locator('td code').first().textContent(), EVIL_ID);
  // Its links carry the id percent-encoded.
  const hrefs = await evilRow.locator('a').evaluateAll((as) => as.map((a) => a.getAttribute('href')));
  assert.ok(hrefs.includes(`/metrics?sandbox=${encodeURIComponent(EVIL_ID)}`), JSON.stringify(hrefs));
  // No external assets: the page loads itself and nothing else.
  assert.deepEqual(requests.filter((u) => !u.startsWith(daemon.url)), []);
  assert.deepEqual(requests, [daemon.url + '/']);

  // The endpoint list keeps upstream's entries.
  const endpoints = await page.locator('li b').allTextContents();
  for (const p of ['/metrics', '/sandboxes', '/agent-url', '/healthz', '/readyz']) assert.ok(endpoints.includes(p), p);

  await mkdir(path.dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
});
