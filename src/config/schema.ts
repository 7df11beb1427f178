// Every key the YAML file may hold, by component type. The loader reads only
// declared keys (anything else is a typo error) and a test checks that
// otel-config.example.yaml documents each one.

import type { KeyTree } from './reader.ts';

const leaf = {} as const satisfies KeyTree;

const filterMatch = { prefixes: leaf, regexps: leaf } satisfies KeyTree;

export const RECEIVER_KEYS = {
  listen_address: leaf,
  runtime_endpoint: leaf,
  sandbox_roots: leaf,
  root_retry_interval: leaf,
  collection_interval: leaf,
  openmetrics: leaf,
  gzip_level: leaf,
  demo: leaf,
  tls: { cert_file: leaf, key_file: leaf },
  auth: { basic: { username: leaf, password: leaf }, bearer: { token: leaf } },
  cri: { timeout: leaf, resync_interval: leaf, first_lookup_delay: leaf },
  shim: { timeout: leaf, max_body_bytes: leaf, concurrency: leaf },
} satisfies KeyTree;

export const PROCESSOR_KEYS = {
  filter: { include: filterMatch, exclude: filterMatch },
  resource: { attributes: { key: leaf, value: leaf, action: leaf } },
  batch: { send_batch_max_size: leaf },
} satisfies KeyTree;

export const EXPORTER_KEYS = {
  otlphttp: {
    endpoint: leaf,
    metrics_endpoint: leaf,
    encoding: leaf,
    compression: leaf,
    headers: leaf,
    timeout: leaf,
    retry_on_failure: { enabled: leaf, initial_interval: leaf, max_interval: leaf, max_elapsed_time: leaf },
    sending_queue: { enabled: leaf, sizer: leaf, queue_size: leaf, drop_policy: leaf },
  },
  prometheus: { path: leaf },
} satisfies KeyTree;

export const PIPELINE_KEYS = { receivers: leaf, processors: leaf, exporters: leaf } satisfies KeyTree;

export const TOP_KEYS = {
  receivers: leaf,
  processors: leaf,
  exporters: leaf,
  extensions: leaf,
  service: leaf,
} satisfies KeyTree;

export const SERVICE_KEYS = {
  extensions: leaf,
  pipelines: leaf,
  shutdown_timeout: leaf,
  telemetry: { logs: { level: leaf, encoding: leaf }, resource: leaf },
} satisfies KeyTree;

/** The whole file's shape, component types standing for their ids (`otlphttp/x`). */
export const SCHEMA: KeyTree = {
  receivers: { kata_monitor: RECEIVER_KEYS },
  processors: PROCESSOR_KEYS,
  exporters: EXPORTER_KEYS,
  extensions: leaf,
  service: { ...SERVICE_KEYS, pipelines: { metrics: PIPELINE_KEYS } },
};

/** Dotted paths of every leaf of SCHEMA, e.g. "exporters.otlphttp.sending_queue.queue_size". */
export function schemaPaths(tree: KeyTree = SCHEMA, prefix = ''): string[] {
  const out: string[] = [];
  for (const [key, sub] of Object.entries(tree)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (Object.keys(sub).length === 0) out.push(path);
    else out.push(...schemaPaths(sub, path));
  }
  return out;
}
