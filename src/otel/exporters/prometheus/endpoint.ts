// An optional second pull endpoint in OpenTelemetry's Prometheus naming
// (@opentelemetry/exporter-prometheus), fed by the one walk. It is not
// kata-monitor's /metrics: README.md says what differs.

import { MeterProvider, type CollectionResult, type MetricProducer } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import type { SnapshotSource } from '../../../scrape/snapshot.ts';
import { encodeSnapshot } from '../../translate/encode.ts';
import { withoutSummaries } from '../../translate/points-sink.ts';
import type { Plan, Translator } from '../../translate/walk.ts';
import { formsOf } from '../../requests.ts';

/**
 * The SDK's way in for pre-aggregated data: collect() walks a snapshot into
 * the SDK's objects, summaries left out. A producer that throws fails the
 * reader's whole collection, so failures are reported in `errors`.
 */
export function snapshotProducer(source: SnapshotSource, translator: Translator, plan: Plan): MetricProducer {
  return {
    async collect(): Promise<CollectionResult> {
      try {
        const pushed = await source.read((snapshot) => encodeSnapshot(translator, snapshot, { ...plan, maxPoints: 0 }, formsOf({ encoding: 'points' })));
        const rm = pushed.requests[0]?.objects();
        return {
          resourceMetrics: rm ? withoutSummaries(rm) : { resource: plan.resource, scopeMetrics: [] },
          errors: pushed.errors.map((e) => new Error(e)),
        };
      } catch (e) {
        return { resourceMetrics: { resource: plan.resource, scopeMetrics: [] }, errors: [e] };
      }
    },
  };
}

export type PrometheusEndpoint = ReturnType<typeof createPrometheusEndpoint>;

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** `resource`: the pipeline's (after its resource processors), what target_info reports. */
export function createPrometheusEndpoint(options: { readonly producer: MetricProducer; readonly resource: Resource }) {
  const exporter = new PrometheusExporter({ preventServerStart: true, metricProducers: [options.producer] });
  // A MetricReader only collects once bound to a MeterProvider; it has no instruments of its own.
  const provider = new MeterProvider({ resource: options.resource, readers: [exporter] });
  // The defaults, as the exporter's private serializer has them (its request handler wants node's req/res).
  const serializer = new PrometheusSerializer();

  return {
    /** A web-standard handler for GET/HEAD; mount it on any path. */
    handle: async (request: Request): Promise<Response> => {
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return new Response('method not allowed\n', { status: 405, headers: { allow: 'GET, HEAD', 'content-type': 'text/plain' } });
      }
      try {
        const { resourceMetrics } = await exporter.collect();
        const body = serializer.serialize(resourceMetrics);
        return new Response(request.method === 'HEAD' ? null : body, { status: 200, headers: { 'content-type': CONTENT_TYPE } });
      } catch (e) {
        return new Response(`# failed to export metrics: ${e instanceof Error ? e.message : String(e)}\n`, {
          status: 500,
          headers: { 'content-type': 'text/plain; charset=utf-8' },
        });
      }
    },
    shutdown: (): Promise<void> => provider.shutdown(),
  };
}
