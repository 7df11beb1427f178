import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isMap, isPair, isScalar, isSeq, parseDocument, visit } from 'yaml';
import { DEFAULTS } from '../../src/config/defaults.ts';
import { schemaPaths } from '../../src/config/schema.ts';
import { formatDuration } from '../../src/config/units.ts';
import { loadErrors, loadOk } from './helpers.ts';

const root = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');

const EXAMPLE = read('otel-config.example.yaml');
const DAEMONSET = read('config/kata-monitor.yaml');

/** Dotted key paths present in a file, component ids reduced to their type. */
function keyPaths(text: string): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, path: string[]): void => {
    if (isMap(node)) {
      for (const pair of node.items) {
        const key = String(isScalar(pair.key) ? pair.key.value : pair.key);
        // receivers/processors/exporters/pipelines are keyed by type[/name]
        const parent = path[path.length - 1];
        const named = ['receivers', 'processors', 'exporters', 'pipelines'].includes(parent ?? '');
        const next = [...path, named ? (key.split('/')[0] ?? key) : key];
        out.add(next.join('.'));
        walk(pair.value, next);
      }
    } else if (isSeq(node)) {
      for (const item of node.items) walk(item, path);
    }
  };
  walk(parseDocument(text, { schema: 'failsafe' }).contents, []);
  return out;
}

describe('the shipped configuration files', () => {
  it('otel-config.example.yaml loads without error', () => {
    const { config, warnings } = loadOk(EXAMPLE, { env: { METRICS_PASSWORD: 'secret' } });
    assert.deepEqual(warnings, []);
    assert.deepEqual(
      config.pipelines.map((p) => [p.name, p.processors.map((x) => x.name), p.exporters.map((x) => x.name)]),
      [
        ['metrics', ['filter/kata', 'resource', 'batch'], ['otlphttp/primary', 'prometheus']],
        ['metrics/vendor', ['resource', 'batch'], ['otlphttp/vendor']],
      ],
    );
    const primary = config.pipelines[0]?.exporters[0];
    assert.ok(primary?.type === 'otlphttp');
    assert.equal(primary.endpoint, 'http://otel-collector.observability:4318/v1/metrics');
  });

  it('otel-config.example.yaml refuses to start without its password, naming the variable', () => {
    const errors = loadErrors(EXAMPLE);
    assert.equal(errors.length, 1);
    assert.match(errors[0] ?? '', /^config error: receivers\.kata_monitor\.auth\.basic\.password \(line \d+\): environment variable "METRICS_PASSWORD" is not set/);
  });

  it('otel-config.example.yaml shows every key of the schema', () => {
    const present = keyPaths(EXAMPLE);
    // basic and bearer exclude each other: bearer is shown commented out.
    const commented = new Set(['receivers.kata_monitor.auth.bearer.token']);
    const missing = schemaPaths().filter((p) => !present.has(p) && !commented.has(p));
    assert.deepEqual(missing, []);
    assert.match(EXAMPLE, /^\s*# bearer:\n\s*# {3}token: /m);
  });

  it('otel-config.example.yaml documents the defaults the code uses', () => {
    const expected: Record<string, string> = {
      'receivers.kata_monitor.listen_address': DEFAULTS.listenAddress,
      'receivers.kata_monitor.runtime_endpoint': DEFAULTS.runtimeEndpoint,
      'receivers.kata_monitor.root_retry_interval': formatDuration(DEFAULTS.rootRetryIntervalMs),
      'receivers.kata_monitor.collection_interval': formatDuration(DEFAULTS.collectionIntervalMs),
      'receivers.kata_monitor.openmetrics': String(DEFAULTS.openMetrics),
      'receivers.kata_monitor.gzip_level': String(DEFAULTS.gzipLevel),
      'receivers.kata_monitor.demo': String(DEFAULTS.demo),
      'receivers.kata_monitor.cri.timeout': formatDuration(DEFAULTS.criTimeoutMs),
      'receivers.kata_monitor.cri.resync_interval': formatDuration(DEFAULTS.criResyncIntervalMs),
      'receivers.kata_monitor.cri.first_lookup_delay': formatDuration(DEFAULTS.criFirstLookupDelayMs),
      'receivers.kata_monitor.shim.timeout': formatDuration(DEFAULTS.shimTimeoutMs),
      'receivers.kata_monitor.shim.max_body_bytes': `${DEFAULTS.shimMaxBodyBytes / 1024 / 1024}MiB`,
      'receivers.kata_monitor.shim.concurrency': String(DEFAULTS.shimConcurrency),
      'processors.batch.send_batch_max_size': String(DEFAULTS.batchSendMaxSize),
      'exporters.otlphttp.encoding': DEFAULTS.otlpEncoding,
      'exporters.otlphttp.compression': DEFAULTS.otlpCompression,
      'exporters.otlphttp.timeout': formatDuration(DEFAULTS.otlpTimeoutMs),
      'exporters.otlphttp.retry_on_failure.enabled': String(DEFAULTS.retryEnabled),
      'exporters.otlphttp.retry_on_failure.initial_interval': formatDuration(DEFAULTS.retryInitialIntervalMs),
      'exporters.otlphttp.retry_on_failure.max_interval': formatDuration(DEFAULTS.retryMaxIntervalMs),
      'exporters.otlphttp.retry_on_failure.max_elapsed_time': String(DEFAULTS.retryMaxElapsedMs),
      'exporters.otlphttp.sending_queue.enabled': String(DEFAULTS.queueEnabled),
      'exporters.otlphttp.sending_queue.sizer': DEFAULTS.queueSizer,
      'exporters.otlphttp.sending_queue.queue_size': String(DEFAULTS.queueSize),
      'exporters.otlphttp.sending_queue.drop_policy': DEFAULTS.queueDropPolicy,
      'exporters.prometheus.path': DEFAULTS.prometheusPath,
      'service.shutdown_timeout': formatDuration(DEFAULTS.shutdownTimeoutMs),
      'service.telemetry.logs.level': DEFAULTS.logLevel,
      'service.telemetry.logs.encoding': DEFAULTS.logEncoding,
    };
    const documented = new Map<string, string>();
    visit(parseDocument(EXAMPLE, { schema: 'failsafe' }), {
      Pair(_key, pair, path) {
        if (!isPair(pair) || !isScalar(pair.value) || !pair.value.comment) return;
        const m = /^\s*default (\S+?)[:,;]?(\s|$)/.exec(pair.value.comment);
        if (!m?.[1]) return;
        const keys = path.filter(isPair).map((p) => String(isScalar(p.key) ? p.key.value : ''));
        const full = [...keys, String(isScalar(pair.key) ? pair.key.value : '')];
        const normalized = full.map((k, i) => (['receivers', 'processors', 'exporters'].includes(full[i - 1] ?? '') ? (k.split('/')[0] ?? k) : k));
        documented.set(normalized.join('.'), m[1]);
      },
    });
    for (const [path, value] of Object.entries(expected)) {
      assert.equal(documented.get(path), value, `the comment on ${path} should say "default ${value}"`);
    }
  });

  it('config/kata-monitor.yaml (the DaemonSet\'s) loads and pushes OTLP to the cluster collector', () => {
    const { config, warnings } = loadOk(DAEMONSET, { env: { K8S_NODE_NAME: 'node-1' } });
    assert.deepEqual(warnings, []);
    assert.equal(config.receiver.server.listenAddress, '0.0.0.0:8090');
    assert.equal(config.telemetry.logs.encoding, 'json');
    const otlp = config.pipelines[0]?.exporters[0];
    assert.ok(otlp?.type === 'otlphttp');
    assert.equal(otlp.endpoint, 'http://otel-collector.observability:4318/v1/metrics');
    const env = loadOk(DAEMONSET, { env: { K8S_NODE_NAME: 'n', OTEL_COLLECTOR_ENDPOINT: 'https://otel.example:4318' } });
    const e = env.config.pipelines[0]?.exporters[0];
    assert.equal(e?.type === 'otlphttp' && e.endpoint, 'https://otel.example:4318/v1/metrics');
  });

  it('config/kata-monitor.yaml keeps the DaemonSet\'s -listen-address flag in charge', () => {
    const { config } = loadOk(DAEMONSET, { env: { K8S_NODE_NAME: 'n' }, argv: ['-listen-address=127.0.0.1:8090'] });
    assert.equal(config.receiver.server.listenAddress, '127.0.0.1:8090');
  });
});
