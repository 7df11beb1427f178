import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createPrometheusEndpoint, type PrometheusEndpoint } from '../../src/otel/prometheus-endpoint.ts';
import { SnapshotMetricProducer } from '../../src/otel/producer.ts';
import { buildResource } from '../../src/otel/resource.ts';
import { Translator } from '../../src/otel/translate.ts';
import { BODY_A, snapshot } from './support/fixtures.ts';

describe('OTel-named Prometheus endpoint (@opentelemetry/exporter-prometheus)', () => {
  let endpoint: PrometheusEndpoint;
  let text: string;
  let res: Response;
  let scrapes = 0;

  before(async () => {
    const resource = buildResource({ instanceId: 'inst', hostName: 'host', env: { NODE_NAME: 'node-1' } });
    const snap = snapshot(Date.now(), [{ id: 'sb', body: BODY_A, metadata: { uid: 'u', name: 'p', namespace: 'ns' } }]);
    const source = {
      scrape: async () => {
        scrapes++;
        return snap;
      },
      read: async <T>(reader: (s: typeof snap) => Promise<T> | T): Promise<T> => {
        scrapes++;
        return reader(snap);
      },
      latest: () => snap,
    };
    endpoint = createPrometheusEndpoint({ producer: new SnapshotMetricProducer({ source, translator: new Translator({ resource }) }), resource });
    res = await endpoint.handle(new Request('http://localhost/otel/metrics'));
    text = await res.text();
  });
  after(() => endpoint.shutdown());

  it('answers text 0.0.4 from a fresh snapshot', () => {
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/plain; version=0.0.4; charset=utf-8');
    assert.equal(scrapes, 1);
  });

  it('uses OTel naming: _total on counters, attribute names sanitised, scope label, target_info', () => {
    assert.match(text, /^# TYPE kata_agent_scrape_count_total counter$/m);
    assert.match(text, /^kata_agent_scrape_count_total\{.*k8s_pod_uid="u".*otel_scope_name="kata-otel-monitor"\} 1361$/m);
    assert.match(text, /^target_info\{service_name="kata-monitor",service_instance_id="inst",host_name="host",k8s_node_name="node-1"\} 1$/m);
  });

  it('serves histograms but not summaries (the SDK has no summary type)', () => {
    assert.match(text, /^kata_shim_rpc_durations_histogram_milliseconds_bucket\{action="close_io",.*le="\+Inf"\} 4$/m);
    assert.doesNotMatch(text, /go_gc_duration_seconds/);
  });

  it('refuses methods other than GET and HEAD', async () => {
    const r = await endpoint.handle(new Request('http://localhost/otel/metrics', { method: 'POST' }));
    assert.equal(r.status, 405);
    assert.equal(r.headers.get('allow'), 'GET, HEAD');
  });
});
