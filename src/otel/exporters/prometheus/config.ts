// The `prometheus` exporter: a pull endpoint on the daemon's server in
// OpenTelemetry's Prometheus naming (README.md).

import type { ComponentType } from '../../../config/types.ts';

export interface PrometheusConfig {
  readonly type: 'prometheus';
  readonly name: string;
  readonly path: string;
}

export const DEFAULT_PROMETHEUS_PATH = '/otel/metrics';

/** kata-monitor's own routes: a prometheus exporter may not take them. */
const RESERVED_PATHS = ['/', '/metrics', '/sandboxes', '/agent-url', '/debug/vars', '/debug/pprof/', '/healthz', '/readyz'];

export const prometheusExporter: ComponentType<PrometheusConfig> = {
  keys: { path: {} },
  read(r, { id, entries: m }) {
    const path = r.string(m.get('path'), { nonEmpty: true }) ?? DEFAULT_PROMETHEUS_PATH;
    if (!path.startsWith('/')) r.error(m.get('path'), `must start with "/", got "${path}"`);
    else if (RESERVED_PATHS.includes(path) || path.startsWith('/debug/')) r.error(m.get('path'), `"${path}" is one of kata-monitor's own endpoints`);
    return { type: 'prometheus', name: id, path };
  },
};
