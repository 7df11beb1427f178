// The OTel-named pull endpoint (exporters/prometheus/endpoint.ts):
// @opentelemetry/exporter-prometheus fed by the walk's objects through a
// MetricProducer (snapshotProducer), with the pipeline's processors.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPrometheusEndpoint, snapshotProducer, type PrometheusEndpoint } from '../../src/otel/exporters/prometheus/endpoint.ts';
import { planOf } from '../../src/otel/processors/plan.ts';
import { buildResource } from '../../src/otel/resource.ts';
import { Translator } from '../../src/otel/translate/walk.ts';
import { BODY_A, fakeSource, snapshot } from './support/fixtures.ts';

describe('OTel-named Prometheus endpoint (@opentelemetry/exporter-prometheus)', () => {
  let endpoint: PrometheusEndpoint;
  let text: string;
  let res: Response;
  const source = fakeSource(() => snapshot(Date.now(), [{ id: 'sb', body: BODY_A, metadata: { uid: 'u', name: 'p', namespace: 'ns' } }]));

  before(async () => {
    const plan = planOf(buildResource({ instanceId: 'inst', hostName: 'host', env: {} }), [
      { type: 'resource', name: 'resource', attributes: [{ key: 'k8s.node.name', action: 'insert', value: 'node-1' }, { key: 'host.name', action: 'update', value: 'host-1' }] },
      { type: 'filter', name: 'filter', exclude: { prefixes: ['kata_guest_'], regexps: [] } },
      // The pull endpoint answers with everything at once, whatever the pipeline's batch size.
      { type: 'batch', name: 'batch', sendBatchMaxSize: 5 },
    ]);
    endpoint = createPrometheusEndpoint({ producer: snapshotProducer(source, new Translator(), plan), resource: plan.resource });
    res = await endpoint.handle(new Request('http://localhost/otel/metrics'));
    text = await res.text();
  });
  after(() => endpoint.shutdown());

  it('answers text 0.0.4 from a fresh snapshot', () => {
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(source.reads.length, 1);
  });

  it('uses OTel naming: _total on counters, attribute names sanitised, scope label', () => {
    assert.match(text, /^# TYPE kata_agent_scrape_count_total counter$/m);
    assert.match(text, /^kata_agent_scrape_count_total\{.*k8s_pod_uid="u".*otel_scope_name="kata-otel-monitor"\} 1361$/m);
  });

  it('carries the pipeline’s resource, after its resource processors, in target_info', () => {
    assert.match(text, /^target_info\{service_name="kata-monitor",service_instance_id="inst",host_name="host-1",k8s_node_name="node-1"\} 1$/m);
  });

  it('applies the pipeline’s filters, and answers with every point however its batch processor cuts pushes', () => {
    assert.doesNotMatch(text, /kata_guest_/);
    assert.ok(text.split('\n').filter((l) => l.startsWith('kata_hypervisor_netdev{')).length > 5);
  });

  it('serves histograms but not summaries (the SDK has no summary type)', () => {
    assert.match(text, /^kata_shim_rpc_durations_histogram_milliseconds_bucket\{action="close_io",.*le="\+Inf"\} 4$/m);
    assert.doesNotMatch(text, /go_gc_duration_seconds/);
  });

  it('refuses methods other than GET and HEAD; HEAD gets no body', async () => {
    const r = await endpoint.handle(new Request('http://localhost/otel/metrics', { method: 'POST' }));
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
    const head = await endpoint.handle(new Request('http://localhost/otel/metrics', { method: 'HEAD' }));
    assert.equal(head.status, 200);
    assert.equal(await head.text(), '');
  });

  it('keeps start times from one scrape of it to the next', async () => {
    const counter = (n: number) => `# TYPE c counter\nc ${n}\n`;
    let n = 5;
    let at = 1_000_000;
    const plan = planOf(buildResource({ instanceId: 'i', hostName: 'h', env: {} }), []);
    const producer = snapshotProducer(
      fakeSource(() => snapshot(at, [{ id: 'a', body: counter(n) }])),
      new Translator(),
      plan,
    );
    const startOf = async (): Promise<number> => {
      const { resourceMetrics, errors } = await producer.collect();
      assert.deepEqual(errors, []);
      const p = resourceMetrics.scopeMetrics[0]!.metrics[0]!.dataPoints[0]!;
      return p.startTime[0] * 1000 + p.startTime[1] / 1e6;
    };
    assert.equal(await startOf(), 1_000_000);
    n = 9;
    at = 2_000_000;
    assert.equal(await startOf(), 1_000_000);
  });

  it('reports a failing snapshot source in errors, with an empty collection, rather than throwing', async () => {
    const plan = planOf(buildResource({ instanceId: 'i', hostName: 'h', env: {} }), []);
    const producer = snapshotProducer({ read: () => Promise.reject(new Error('registry gone')), latest: () => undefined }, new Translator(), plan);
    const { resourceMetrics, errors } = await producer.collect();
    assert.deepEqual(resourceMetrics.scopeMetrics, []);
    assert.match(String(errors[0]), /registry gone/);
  });
});
