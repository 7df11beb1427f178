// An optional second pull endpoint in OpenTelemetry's Prometheus naming
// (@opentelemetry/exporter-prometheus), fed by the same producer as the OTLP
// push. It is not kata-monitor's /metrics: see README.md for what differs.

import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { Resource } from '@opentelemetry/resources';
import type { MetricProducer } from '@opentelemetry/sdk-metrics';

export interface PrometheusEndpointOptions {
  readonly producer: MetricProducer;
  /** The MeterProvider's resource is the one the reader reports (target_info). */
  readonly resource: Resource;
  readonly prefix?: string;
  readonly withoutTargetInfo?: boolean;
  readonly withoutScopeInfo?: boolean;
}

export interface PrometheusEndpoint {
  /** A web-standard handler for GET/HEAD; mount it on any path. */
  readonly handle: (request: Request) => Promise<Response>;
  shutdown(): Promise<void>;
}

const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export function createPrometheusEndpoint(options: PrometheusEndpointOptions): PrometheusEndpoint {
  const exporter = new PrometheusExporter({
    preventServerStart: true,
    metricProducers: [options.producer],
    ...(options.prefix !== undefined && { prefix: options.prefix }),
    ...(options.withoutTargetInfo !== undefined && { withoutTargetInfo: options.withoutTargetInfo }),
    ...(options.withoutScopeInfo !== undefined && { withoutScopeInfo: options.withoutScopeInfo }),
  });
  // A MetricReader only collects once bound to a MeterProvider; it has no instruments of its own.
  const provider = new MeterProvider({ resource: options.resource, readers: [exporter] });
  // Same settings as the exporter's private serializer (its request handler wants node's req/res).
  const serializer = new PrometheusSerializer(options.prefix, false, undefined, options.withoutTargetInfo ?? false, options.withoutScopeInfo ?? false);

  return {
    handle: async (request) => {
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
    shutdown: () => provider.shutdown(),
  };
}
