// kata-monitor's endpoints, as upstream answers them, through the real daemon
// against simulated shims and a simulated CRI server.

import { before, after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { startDemo, type DemoEnvironment } from '../../src/demo/environment.ts';
import type { Daemon } from '../../src/main.ts';
import { decodeProtobufDelimited } from '../support/prometheus-protobuf.ts';
import { makeExporting } from '../../src/otel/exporting.ts';
import { eventually, startTestDaemon } from '../support/daemon.ts';
import { parseText } from '../support/fixtures.ts';

interface Answer {
  readonly status: number;
  readonly headers: Record<string, string | string[] | undefined>;
  readonly body: Buffer;
  readonly text: string;
}

function get(url: string, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    request(url, { headers, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const body = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body, text: body.toString('utf8') });
      });
    })
      .on('error', reject)
      .end();
  });
}

describe('kata-monitor endpoints', () => {
  let demo: DemoEnvironment;
  let daemon: Daemon;
  let ids: string[];

  before(async () => {
    demo = await startDemo({ sandboxes: 3 });
    daemon = await startTestDaemon({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint });
    ids = demo.ids().sort();
    // Wait until every sandbox has its CRI labels.
    await eventually(async () => {
      const t = (await get(`${daemon.url}/metrics?filter_family=kata_hypervisor_fds`)).text;
      return ids.every((id) => new RegExp(`sandbox_id="${id}",cri_uid="[^"]+",cri_name="[^"]+"`).test(t));
    }, 5000, 'CRI metadata on every sandbox');
  });
  after(async () => {
    await daemon.stop();
    await demo.stop();
  });

  test('/metrics: own kata_monitor_* families first, then sandbox families sorted by name, text 0.0.4', async () => {
    const r = await get(`${daemon.url}/metrics`);
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/plain; version=0\.0\.4; charset=utf-8; escaping=underscores$/);
    assert.equal(r.headers['x-content-type-options'], 'nosniff');
    const families = parseText(r.text);
    const names = families.map((f) => f.name);
    const firstSandbox = names.findIndex((n) => !n.startsWith('kata_monitor_'));
    assert.ok(firstSandbox > 0, 'own families come first');
    assert.ok(names.slice(firstSandbox).every((n) => !n.startsWith('kata_monitor_')));
    const sandboxNames = names.slice(firstSandbox);
    assert.deepEqual(sandboxNames, [...sandboxNames].sort(), 'sandbox families sorted by name');
    assert.equal(new Set(names).size, names.length, 'each family once');
    for (const own of [
      'kata_monitor_running_shim_count',
      'kata_monitor_scrape_count',
      'kata_monitor_scrape_failed_count',
      'kata_monitor_scrape_durations_histogram_milliseconds',
      'kata_monitor_process_cpu_seconds_total',
      'kata_monitor_process_open_fds',
      'kata_monitor_process_resident_memory_bytes',
      'kata_monitor_process_start_time_seconds',
      'kata_monitor_sandbox_scrape_up',
    ]) {
      assert.ok(names.includes(own), own);
    }
    const hist = families.find((f) => f.name === 'kata_monitor_scrape_durations_histogram_milliseconds')!;
    assert.equal(hist.type, 'histogram');
    const m = hist.metrics[0]!;
    assert.ok(m.kind === 'histogram');
    assert.deepEqual(m.buckets.map((b) => b.upperBound), [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, Infinity]);
    assert.match(r.text, /^kata_monitor_running_shim_count 3$/m);
    // Counters keep the shim's names: no _total is added.
    assert.ok(names.includes('kata_agent_scrape_count') || names.some((n) => n.endsWith('_count')));
    assert.ok(!names.some((n) => n.endsWith('_total_total')));
    // go_* / process_* of the shims are renamed; every sandbox sample carries the four labels.
    assert.ok(!names.some((n) => n.startsWith('go_') || n.startsWith('process_')));
    assert.ok(names.includes('kata_shim_go_goroutines'));
    const goroutines = families.find((f) => f.name === 'kata_shim_go_goroutines')!;
    assert.deepEqual(
      goroutines.metrics.map((x) => x.labels.map((l) => l.name)),
      ids.map(() => ['sandbox_id', 'cri_uid', 'cri_name', 'cri_namespace']),
    );
    assert.deepEqual(goroutines.metrics.map((x) => x.labels[0]!.value), ids, 'sandboxes in id order');
  });

  test('/metrics?filter_family=A,B: only the sandbox families with those prefixes, no own families', async () => {
    const r = await get(`${daemon.url}/metrics?filter_family=kata_hypervisor_,kata_shim_go_gc`);
    const names = parseText(r.text).map((f) => f.name);
    assert.ok(names.length > 0);
    assert.ok(names.every((n) => n.startsWith('kata_hypervisor_') || n.startsWith('kata_shim_go_gc')), names.join());
    // A family matching two prefixes is written once.
    const twice = parseText((await get(`${daemon.url}/metrics?filter_family=kata_hypervisor_fds,kata_hypervisor_`)).text).map((f) => f.name);
    assert.equal(twice.filter((n) => n === 'kata_hypervisor_fds').length, 1);
  });

  test('/metrics?sandbox=ID: the shim body unchanged; an unknown id is 404 and reaches no shim', async () => {
    const r = await get(`${daemon.url}/metrics?sandbox=${ids[0]}`);
    assert.equal(r.status, 200);
    assert.match(r.text, /^# HELP go_gc_duration_seconds /m, 'not renamed');
    assert.ok(!r.text.includes('sandbox_id='), 'not relabelled');
    const unknown = await get(`${daemon.url}/metrics?sandbox=nope`);
    assert.equal(unknown.status, 404);
    assert.match(unknown.text, /sandbox "nope" not found/);
  });

  test('/metrics negotiates the protobuf delimited format and gzip', async () => {
    const proto = await get(`${daemon.url}/metrics`, {
      Accept: 'application/vnd.google.protobuf;proto=io.prometheus.client.MetricFamily;encoding=delimited;q=0.7,text/plain;version=0.0.4;q=0.3',
    });
    assert.match(String(proto.headers['content-type']), /^application\/vnd\.google\.protobuf; proto=io\.prometheus\.client\.MetricFamily; encoding=delimited/);
    const families = decodeProtobufDelimited(proto.body);
    assert.ok(families.some((f) => f.name === 'kata_shim_go_goroutines'));
    assert.ok(families.some((f) => f.name === 'kata_monitor_scrape_count'));

    const gz = await get(`${daemon.url}/metrics`, { 'Accept-Encoding': 'gzip' });
    assert.equal(gz.headers['content-encoding'], 'gzip');
    const plain = gunzipSync(gz.body).toString('utf8');
    assert.ok(parseText(plain).some((f) => f.name === 'kata_shim_go_goroutines'));

    // Prometheus 3.x prefers OpenMetrics; upstream answers text, and so do we by default.
    const prom3 = await get(`${daemon.url}/metrics`, {
      Accept: 'application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,application/openmetrics-text;version=0.0.1;q=0.4,text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,text/plain;version=0.0.4;q=0.2,*/*;q=0.1',
    });
    assert.match(String(prom3.headers['content-type']), /^text\/plain; version=0\.0\.4/);
    assert.ok(!prom3.text.includes('# EOF'));
  });

  test('/sandboxes: one id per line, or upstream\'s HTML list for browsers', async () => {
    const text = await get(`${daemon.url}/sandboxes`);
    assert.equal(text.text, ids.map((id) => id + '\n').join(''));
    const html = await get(`${daemon.url}/sandboxes`, { Accept: 'text/html,application/xhtml+xml' });
    assert.equal(html.headers['content-type'], 'text/html');
    assert.ok(html.text.startsWith('<h1>Sandbox list</h1>\n<ul>\n'));
    // Upstream's line per sandbox; ours may name the pod after the id.
    for (const id of ids) {
      assert.match(
        html.text,
        new RegExp(`<li>${id}(?: \\(pod [^)<>]*\\))?: <a href='/debug/pprof/\\?sandbox=${id}'>pprof</a>, <a href='/metrics\\?sandbox=${id}'>metrics</a>, <a href='/agent-url\\?sandbox=${id}'>agent-url</a></li>`),
      );
    }
  });

  test('/agent-url: the shim answer plus a newline; 400 without a sandbox', async () => {
    const r = await get(`${daemon.url}/agent-url?sandbox=${ids[0]}`);
    assert.equal(r.status, 200);
    assert.match(r.text, /^vsock:\/\/\d+:1024\n$/);
    const missing = await get(`${daemon.url}/agent-url`);
    assert.equal(missing.status, 400);
    assert.ok(missing.text.length > 0);
  });

  test('/debug/pprof/: proxied with links rewritten to carry the sandbox; symbol and trace get upstream\'s headers', async () => {
    const index = await get(`${daemon.url}/debug/pprof/?sandbox=${ids[0]}`);
    assert.equal(index.status, 200);
    assert.equal(index.headers['x-content-type-options'], 'nosniff');
    assert.match(index.text, new RegExp(`<a href='heap\\?sandbox=${ids[0]}&debug=1'>`));
    const symbol = await get(`${daemon.url}/debug/pprof/symbol?sandbox=${ids[0]}`);
    assert.equal(symbol.headers['content-type'], 'text/plain; charset=utf-8');
    const trace = await get(`${daemon.url}/debug/pprof/trace?sandbox=${ids[0]}&seconds=1`);
    assert.equal(trace.headers['content-type'], 'application/octet-stream');
    assert.equal(trace.headers['content-disposition'], 'attachment; filename="trace"');
    const vars = await get(`${daemon.url}/debug/vars?sandbox=${ids[0]}`);
    assert.equal(vars.status, 200);
    assert.ok(JSON.parse(vars.text));
    const stopped = await get(`${daemon.url}/debug/pprof/?sandbox=gone`);
    assert.equal(stopped.status, 400);
    assert.equal(stopped.text, 'sandbox may be stopped or deleted\n');
  });

  test('/: upstream\'s endpoint list as text; the status page for browsers', async () => {
    const text = await get(`${daemon.url}/`);
    assert.ok(text.text.startsWith('Available HTTP endpoints:\n/metrics               : Get metrics from sandboxes.\n'));
    assert.match(text.text, /^\/debug\/pprof\/profile   : Golang pprof `\/debug\/pprof\/profile` endpoint for kata runtime shim process\.$/m);
    const html = await get(`${daemon.url}/`, { Accept: 'text/html' });
    assert.match(String(html.headers['content-type']), /^text\/html/);
    for (const id of ids) assert.ok(html.text.includes(id));
    assert.ok(html.text.includes("<a href='/metrics'>/metrics</a>"));
  });

  test('an unknown path answers 404 with the list of endpoints (the index stays at /)', async () => {
    const index = (await get(`${daemon.url}/`)).text;
    for (const path of ['/no/such/page', '/metric', '/sandboxes/', '/index.html']) {
      const r = await get(`${daemon.url}${path}`);
      assert.equal(r.status, 404, path);
      assert.match(String(r.headers['content-type']), /^text\/plain/);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.equal(r.text, `404 page not found: ${path}\n\n${index}`);
    }
    // A browser gets the 404 too: the status page is only at /.
    const html = await get(`${daemon.url}/nothing`, { Accept: 'text/html' });
    assert.equal(html.status, 404);
  });

  test('HEAD /metrics answers the headers a GET gets; another method on a served path is 405, not 404', async () => {
    const head = await fetch(`${daemon.url}/metrics`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.match(String(head.headers.get('content-type')), /^text\/plain; version=0\.0\.4/);
    assert.equal(await head.text(), '');
    assert.equal((await get(`${daemon.url}/metrics?filter_family=kata_hypervisor_fds`)).status, 200, 'and the daemon answers on');
    for (const path of ['/metrics', '/', '/sandboxes', `/debug/pprof/heap?sandbox=${ids[0]}`]) {
      const r = await fetch(`${daemon.url}${path}`, { method: 'POST', body: 'x' });
      assert.equal(r.status, 405, path);
      assert.equal(r.headers.get('allow'), 'GET, HEAD');
      assert.equal(await r.text(), `405 method not allowed: POST ${path.replace(/\?.*/, '')} (use GET)\n`);
    }
    assert.equal((await fetch(`${daemon.url}/nothing`, { method: 'POST' })).status, 404);
  });

  test('/otel/metrics without a prometheus exporter answers 404 saying how to configure one', async () => {
    const r = await get(`${daemon.url}/otel/metrics`);
    assert.equal(r.status, 404);
    assert.match(r.text, /^\/otel\/metrics is served by a prometheus exporter, and none is configured\./);
    assert.match(r.text, /exporters:\n {2}prometheus: \{ path: \/otel\/metrics \}\n/);
    assert.match(r.text, /pipelines:\n {4}metrics: \{ receivers: \[kata_monitor\], exporters: \[prometheus\] \}/);
    assert.ok(!(await get(`${daemon.url}/`)).text.includes('/otel/metrics'), 'the index does not list what is not served');
  });

  test('/otel/metrics with a prometheus exporter: OpenTelemetry naming, the daemon\'s headers, GET and HEAD only', async () => {
    const yaml = 'exporters:\n  prometheus: {}\nservice:\n  pipelines:\n    metrics: { receivers: [kata_monitor], exporters: [prometheus] }\n';
    const withOtel = await startTestDaemon({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint, yaml, exporting: makeExporting({ env: {} }) });
    try {
      const r = await get(`${withOtel.url}/otel/metrics`);
      assert.equal(r.status, 200);
      assert.equal(r.headers['x-content-type-options'], 'nosniff');
      assert.match(String(r.headers['content-type']), /^text\/plain/);
      assert.match(r.text, /^# TYPE kata_monitor_scrape_count_total counter$/m, 'counters gain _total, as exporter-prometheus names them');
      assert.equal((await fetch(`${withOtel.url}/otel/metrics`, { method: 'POST' })).status, 405);
      assert.ok((await get(`${withOtel.url}/`)).text.includes('/otel/metrics'), 'the index lists it');
    } finally {
      await withOtel.stop();
    }
  });

  test('/healthz and /readyz answer for probes', async () => {
    assert.equal((await get(`${daemon.url}/healthz`)).status, 200);
    const ready = await get(`${daemon.url}/readyz`);
    assert.equal(ready.status, 200);
    assert.match(ready.text, /ready\n$/);
  });
});
