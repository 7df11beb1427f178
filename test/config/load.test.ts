import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFlags } from '../../src/cli/flags.ts';
import { loadConfig } from '../../src/config/load.ts';
import type { Config, ExporterConfig, ProcessorConfig } from '../../src/config/types.ts';
import { load, loadErrors, loadOk, yaml } from './helpers.ts';

const UPSTREAM_DEFAULTS: Config = {
  receiver: {
    server: { listenAddress: '127.0.0.1:8090', openMetrics: false, gzipLevel: 1 },
    discovery: { sandboxRoots: ['/run/vc/sbs', '/run/kata'], rootRetryIntervalMs: 5000 },
    cri: { runtimeEndpoint: '/run/containerd/containerd.sock', timeoutMs: 2000, resyncIntervalMs: 5000, firstLookupDelayMs: 5000 },
    shim: { timeoutMs: 3000, maxBodyBytes: 64 * 1024 * 1024, concurrency: 32 },
    collectionIntervalMs: 15_000,
  },
  pipelines: [],
  telemetry: { logs: { level: 'info', encoding: 'text' }, resource: {} },
  demo: false,
  shutdownTimeoutMs: 10_000,
};

function exporter(config: Config, pipeline = 0, index = 0): ExporterConfig {
  const e = config.pipelines[pipeline]?.exporters[index];
  assert.ok(e, `pipeline ${pipeline} has no exporter ${index}`);
  return e;
}

function processor(config: Config, index: number): ProcessorConfig {
  const p = config.pipelines[0]?.processors[index];
  assert.ok(p, `no processor ${index}`);
  return p;
}

const PIPELINE = yaml`
  service:
    pipelines:
      metrics:
        receivers: [kata_monitor]
        exporters: [otlphttp]
`;

describe('loadConfig', () => {
  describe('without --config', () => {
    it('is upstream kata-monitor: defaults, no pipelines, no exporters', () => {
      assert.deepEqual(loadOk(undefined), { config: UPSTREAM_DEFAULTS, warnings: [] });
    });

    it('takes the flags', () => {
      const { config } = loadOk(undefined, {
        argv: ['-listen-address=0.0.0.0:8090', '-runtime-endpoint', 'unix:///run/crio/crio.sock', '-log-level=debug', '-log-format=json', '-sandbox-root=/x', '-openmetrics', '-demo'],
      });
      assert.equal(config.receiver.server.listenAddress, '0.0.0.0:8090');
      assert.equal(config.receiver.cri.runtimeEndpoint, 'unix:///run/crio/crio.sock');
      assert.deepEqual(config.telemetry.logs, { level: 'debug', encoding: 'json' });
      assert.deepEqual(config.receiver.discovery.sandboxRoots, ['/x']);
      assert.equal(config.receiver.server.openMetrics, true);
      assert.equal(config.demo, true);
      assert.deepEqual(config.pipelines, []);
    });

    it('rejects a flag value the daemon cannot use, naming the flag', () => {
      assert.deepEqual(loadErrors(undefined as unknown as string, { argv: ['-listen-address=8090'] }), [
        'config error: flag -listen-address: invalid listen address "8090" (expected host:port, e.g. 127.0.0.1:8090 or :8090)',
      ]);
      assert.deepEqual(loadErrors(undefined as unknown as string, { argv: ['-runtime-endpoint=http://x'] }), [
        'config error: flag -runtime-endpoint: invalid runtime endpoint "http://x": protocol "http" not supported (use unix:// or tcp://)',
      ]);
    });
  });

  describe('a file', () => {
    it('that is empty gives the defaults', () => {
      assert.deepEqual(loadOk('').config, UPSTREAM_DEFAULTS);
      assert.deepEqual(loadOk('# only a comment\n').config, UPSTREAM_DEFAULTS);
    });

    it('sets every receiver key', () => {
      const { config } = loadOk(yaml`
        receivers:
          kata_monitor:
            listen_address: 0.0.0.0:9000
            runtime_endpoint: tcp://127.0.0.1:1234
            sandbox_roots: [/a, /b]
            root_retry_interval: 1m
            collection_interval: 30s
            openmetrics: true
            gzip_level: 6
            demo: true
            tls: { cert_file: /tls/crt, key_file: /tls/key }
            auth:
              bearer: { token: s3cret }
            cri: { timeout: 500ms, resync_interval: 10s, first_lookup_delay: 0 }
            shim: { timeout: 1.5s, max_body_bytes: 1MiB, concurrency: 4 }
      `);
      assert.deepEqual(config.receiver, {
        server: {
          listenAddress: '0.0.0.0:9000',
          tls: { certFile: '/tls/crt', keyFile: '/tls/key' },
          auth: { type: 'bearer', token: 's3cret' },
          openMetrics: true,
          gzipLevel: 6,
        },
        discovery: { sandboxRoots: ['/a', '/b'], rootRetryIntervalMs: 60_000 },
        cri: { runtimeEndpoint: 'tcp://127.0.0.1:1234', timeoutMs: 500, resyncIntervalMs: 10_000, firstLookupDelayMs: 0 },
        shim: { timeoutMs: 1500, maxBodyBytes: 1024 * 1024, concurrency: 4 },
        collectionIntervalMs: 30_000,
      });
      assert.equal(config.demo, true);
    });

    it('reads basic auth', () => {
      const { config } = loadOk(yaml`
        receivers:
          kata_monitor:
            auth: { basic: { username: prom, password: "0123" } }
      `);
      assert.deepEqual(config.receiver.server.auth, { type: 'basic', username: 'prom', password: '0123' });
    });

    it('keeps a number-looking password as written (every scalar is read as text first)', () => {
      const { config } = loadOk('receivers:\n  kata_monitor:\n    auth: { basic: { username: u, password: 0123 } }\n');
      assert.deepEqual(config.receiver.server.auth, { type: 'basic', username: 'u', password: '0123' });
    });

    it('builds pipelines from the components they reference, in order', () => {
      const { config, warnings } = loadOk(yaml`
        processors:
          filter/kata:
            include: { prefixes: [kata_], regexps: ['^go_', '(?i)^PROCESS_'] }
            exclude: { prefixes: [kata_shim_go_gc_] }
          resource:
            attributes:
              - { key: node, value: n1, action: upsert }
              - { key: count, value: 3, action: insert }
              - { key: quoted, value: "3", action: insert }
              - { key: flag, value: true, action: update }
              - { key: gone, action: delete }
          batch:
            send_batch_max_size: 1000
        exporters:
          otlphttp:
            endpoint: http://collector:4318
          prometheus:
        service:
          pipelines:
            metrics:
              receivers: [kata_monitor]
              processors: [resource, filter/kata, batch]
              exporters: [otlphttp, prometheus]
      `);
      assert.deepEqual(warnings, []);
      assert.equal(config.pipelines.length, 1);
      assert.equal(config.pipelines[0]?.name, 'metrics');
      assert.deepEqual(config.pipelines[0]?.receivers, ['kata_monitor']);
      assert.deepEqual(processor(config, 0), {
        type: 'resource',
        name: 'resource',
        attributes: [
          { key: 'node', action: 'upsert', value: 'n1' },
          { key: 'count', action: 'insert', value: 3 },
          { key: 'quoted', action: 'insert', value: '3' },
          { key: 'flag', action: 'update', value: true },
          { key: 'gone', action: 'delete' },
        ],
      });
      const filter = processor(config, 1);
      assert.ok(filter.type === 'filter');
      assert.equal(filter.name, 'filter/kata');
      assert.deepEqual(filter.include?.prefixes, ['kata_']);
      assert.ok(filter.include?.regexps[0]?.test('go_goroutines'));
      assert.ok(filter.include?.regexps[1]?.test('process_cpu_seconds_total'), '(?i) becomes the i flag');
      assert.deepEqual(filter.exclude, { prefixes: ['kata_shim_go_gc_'], regexps: [] });
      assert.deepEqual(processor(config, 2), { type: 'batch', name: 'batch', sendBatchMaxSize: 1000 });
      assert.deepEqual(exporter(config, 0, 1), { type: 'prometheus', name: 'prometheus', path: '/otel/metrics' });
    });

    it('gives an otlphttp exporter its retry and queue defaults, and leaves out what the environment may supply', () => {
      const { config } = loadOk(yaml`
        exporters:
          otlphttp:
            endpoint: http://collector:4318
      ` + PIPELINE);
      // encoding, compression and timeout stay absent: OTEL_EXPORTER_OTLP_* may
      // supply them when the exporter is built (test/otel/env-config.test.ts).
      assert.deepEqual(exporter(config), {
        type: 'otlphttp',
        name: 'otlphttp',
        endpoint: 'http://collector:4318/v1/metrics',
        headers: {},
        retry: { enabled: true, initialIntervalMs: 5000, maxIntervalMs: 30_000, maxElapsedMs: 0 },
        queue: { enabled: true, sizer: 'requests', size: 100, dropPolicy: 'oldest' },
      });
    });

    it('accepts an otlphttp exporter without endpoint (the environment or the default supplies it)', () => {
      const { config, warnings } = loadOk('exporters:\n  otlphttp: {}\n' + PIPELINE);
      assert.deepEqual(warnings, []);
      const e = exporter(config);
      assert.ok(e.type === 'otlphttp');
      assert.equal('endpoint' in e, false);
    });

    it('reads service.shutdown_timeout', () => {
      assert.equal(loadOk('service:\n  shutdown_timeout: 2500ms\n').config.shutdownTimeoutMs, 2500);
      assert.deepEqual(loadErrors('service:\n  shutdown_timeout: soon\n').length, 1);
    });

    it('reads every otlphttp key', () => {
      const { config } = loadOk(yaml`
        exporters:
          otlphttp/backend:
            endpoint: https://otlp.example.com/base/
            encoding: json
            compression: none
            headers: { Authorization: Bearer abc, X-Tenant: t1 }
            timeout: 5s
            retry_on_failure: { enabled: false, initial_interval: 2s, max_interval: 1m, max_elapsed_time: 10m }
            sending_queue: { enabled: false, sizer: items, queue_size: 7, drop_policy: newest }
        service:
          pipelines:
            metrics/backend:
              receivers: [kata_monitor]
              exporters: [otlphttp/backend]
      `);
      assert.deepEqual(config.pipelines[0]?.name, 'metrics/backend');
      assert.deepEqual(exporter(config), {
        type: 'otlphttp',
        name: 'otlphttp/backend',
        endpoint: 'https://otlp.example.com/base/v1/metrics',
        encoding: 'json',
        compression: 'none',
        headers: { Authorization: 'Bearer abc', 'X-Tenant': 't1' },
        timeoutMs: 5000,
        retry: { enabled: false, initialIntervalMs: 2000, maxIntervalMs: 60_000, maxElapsedMs: 600_000 },
        queue: { enabled: false, sizer: 'items', size: 7, dropPolicy: 'newest' },
      });
    });

    it('refuses a queue sizer the collector does not have, naming the key and the choices', () => {
      const errors = loadErrors('exporters:\n  otlphttp:\n    sending_queue: { sizer: bytes }\n');
      assert.equal(errors.length, 1);
      assert.match(errors[0]!, /^config error: exporters\.otlphttp\.sending_queue\.sizer \(line 3\): .*"bytes".*requests.*items/);
    });

    describe('otlphttp endpoints, as the collector builds them', () => {
      const endpointOf = (lines: string): { endpoint: string; warnings: string[] } => {
        const { config, warnings } = loadOk(`exporters:\n  otlphttp:\n${lines}\n${PIPELINE}`);
        const e = exporter(config);
        assert.ok(e.type === 'otlphttp');
        assert.ok(e.endpoint !== undefined);
        return { endpoint: e.endpoint, warnings };
      };
      it('appends /v1/metrics to endpoint, path or not', () => {
        assert.equal(endpointOf('    endpoint: http://c:4318').endpoint, 'http://c:4318/v1/metrics');
        assert.equal(endpointOf('    endpoint: http://c:4318/').endpoint, 'http://c:4318/v1/metrics');
        assert.equal(endpointOf('    endpoint: https://c/otlp').endpoint, 'https://c/otlp/v1/metrics');
      });
      it('keeps an endpoint that already ends in /v1/metrics, with a warning', () => {
        const r = endpointOf('    endpoint: http://c:4318/v1/metrics');
        assert.equal(r.endpoint, 'http://c:4318/v1/metrics');
        assert.match(r.warnings[0] ?? '', /^config warning: exporters\.otlphttp\.endpoint \(line 3\): already ends with \/v1\/metrics/);
      });
      it('uses metrics_endpoint as written', () => {
        assert.equal(endpointOf('    metrics_endpoint: https://c/custom').endpoint, 'https://c/custom');
      });
    });

    it('reads service.telemetry', () => {
      const { config } = loadOk(yaml`
        service:
          telemetry:
            logs: { level: warning, encoding: json }
            resource: { service.namespace: kata, replicas: 3 }
      `);
      assert.deepEqual(config.telemetry, { logs: { level: 'warn', encoding: 'json' }, resource: { 'service.namespace': 'kata', replicas: '3' } });
    });

    it('accepts the collector\'s "console" log encoding as text', () => {
      assert.equal(loadOk('service: { telemetry: { logs: { encoding: console } } }').config.telemetry.logs.encoding, 'text');
    });

    it('follows YAML anchors and aliases', () => {
      const { config } = loadOk(yaml`
        exporters:
          otlphttp/a: &common
            endpoint: http://a:4318
            timeout: 3s
          otlphttp/b: *common
        service:
          pipelines:
            metrics:
              receivers: [kata_monitor]
              exporters: [otlphttp/a, otlphttp/b]
      `);
      assert.equal(exporter(config, 0, 1).name, 'otlphttp/b');
    });

    it('accepts an empty extensions section, and warns that extensions are ignored', () => {
      assert.deepEqual(loadOk('extensions: {}\nservice: { extensions: [] }\n').warnings, []);
      assert.deepEqual(loadOk('extensions:\n  health_check:\nservice: { extensions: [health_check] }\n').warnings, [
        'config warning: extensions.health_check (line 2): extensions are not supported; ignored',
      ]);
    });

    it('warns about components no pipeline uses', () => {
      const { warnings } = loadOk('processors:\n  batch:\nexporters:\n  prometheus:\n');
      assert.deepEqual(warnings, [
        'config warning: processors.batch (line 2): "batch" is defined but not used in any pipeline',
        'config warning: exporters.prometheus (line 4): "prometheus" is defined but not used in any pipeline',
      ]);
    });
  });

  describe('${env:...} substitution', () => {
    const text = yaml`
      receivers:
        kata_monitor:
          listen_address: \${env:ADDR:-127.0.0.1:9999}
          shim:
            timeout: \${env:SHIM_TIMEOUT}
            concurrency: \${env:CONCURRENCY:-8}
      # \${env:NOT_EXPANDED_IN_COMMENTS}
    `;

    it('fills values from the environment, then reads their type', () => {
      const { config } = loadOk(text, { env: { SHIM_TIMEOUT: '750ms' } });
      assert.equal(config.receiver.server.listenAddress, '127.0.0.1:9999');
      assert.equal(config.receiver.shim.timeoutMs, 750);
      assert.equal(config.receiver.shim.concurrency, 8);
    });

    it('prefers the variable over the default', () => {
      const { config } = loadOk(text, { env: { SHIM_TIMEOUT: '1s', ADDR: ':8090', CONCURRENCY: '2' } });
      assert.equal(config.receiver.server.listenAddress, ':8090');
      assert.equal(config.receiver.shim.concurrency, 2);
    });

    it('names an unset variable and its line', () => {
      assert.deepEqual(loadErrors(text), [
        'config error: receivers.kata_monitor.shim.timeout (line 5): environment variable "SHIM_TIMEOUT" is not set (write ${env:SHIM_TIMEOUT:-default} to give a default)',
      ]);
    });

    it('checks the substituted value', () => {
      assert.deepEqual(loadErrors(text, { env: { SHIM_TIMEOUT: 'soon' } }), [
        'config error: receivers.kata_monitor.shim.timeout (line 5): invalid duration "soon"',
      ]);
    });

    it('cannot inject YAML through a value', () => {
      const { config } = loadOk('receivers:\n  kata_monitor:\n    auth: { bearer: { token: "${env:T}" } }\n', { env: { T: 'a"\n  b: c # d' } });
      assert.deepEqual(config.receiver.server.auth, { type: 'bearer', token: 'a"\n  b: c # d' });
    });

    it('reports a bad reference', () => {
      assert.deepEqual(loadErrors('receivers:\n  kata_monitor:\n    listen_address: ${file:/etc/addr}\n'), [
        'config error: receivers.kata_monitor.listen_address (line 3): unsupported config provider "file" in "${file:/etc/addr}" (only env is supported)',
      ]);
    });

    it('turns $$ into a literal $', () => {
      const { config } = loadOk('receivers:\n  kata_monitor:\n    auth: { bearer: { token: "p$$w${env:X:-0}rd" } }\n');
      assert.deepEqual(config.receiver.server.auth, { type: 'bearer', token: 'p$w0rd' });
    });
  });

  describe('flags given on the command line override the file', () => {
    const file = yaml`
      receivers:
        kata_monitor:
          listen_address: 0.0.0.0:8090
          runtime_endpoint: unix:///run/containerd/containerd.sock
          sandbox_roots: [/file/root]
          openmetrics: true
          demo: true
      service:
        telemetry:
          logs: { level: debug, encoding: json }
    `;

    it('and the file overrides the flags\' defaults', () => {
      const { config } = loadOk(file);
      assert.equal(config.receiver.server.listenAddress, '0.0.0.0:8090');
      assert.equal(config.receiver.cri.runtimeEndpoint, 'unix:///run/containerd/containerd.sock');
      assert.deepEqual(config.receiver.discovery.sandboxRoots, ['/file/root']);
      assert.equal(config.receiver.server.openMetrics, true);
      assert.equal(config.demo, true);
      assert.deepEqual(config.telemetry.logs, { level: 'debug', encoding: 'json' });
    });

    it('for every overridable flag', () => {
      const { config } = loadOk(file, {
        argv: [
          '-listen-address=127.0.0.1:1',
          '-runtime-endpoint=unix:///run/crio/crio.sock',
          '-sandbox-root=/flag/root',
          '-openmetrics=false',
          '-demo=false',
          '-log-level=error',
          '-log-format=text',
        ],
      });
      assert.equal(config.receiver.server.listenAddress, '127.0.0.1:1');
      assert.equal(config.receiver.cri.runtimeEndpoint, 'unix:///run/crio/crio.sock');
      assert.deepEqual(config.receiver.discovery.sandboxRoots, ['/flag/root']);
      assert.equal(config.receiver.server.openMetrics, false);
      assert.equal(config.demo, false);
      assert.deepEqual(config.telemetry.logs, { level: 'error', encoding: 'text' });
    });

    it('even when the flag repeats the default value', () => {
      const { config } = loadOk(file, { argv: ['-listen-address=127.0.0.1:8090'] });
      assert.equal(config.receiver.server.listenAddress, '127.0.0.1:8090');
    });
  });

  describe('errors name the key path and the line', () => {
    it('for invalid YAML syntax', () => {
      assert.deepEqual(loadErrors('receivers:\n  kata_monitor:\n    shim: [1, 2\n'), [
        'config error: invalid YAML (line 4, column 1): Flow sequence in block collection must be sufficiently indented and end with a ]',
      ]);
      const dup = loadErrors('receivers: {}\nreceivers: {}\n');
      assert.match(dup[0] ?? '', /^config error: invalid YAML \(line 2, column 1\): Map keys must be unique/);
    });

    it('for an unknown key, with a hint', () => {
      assert.deepEqual(loadErrors('receivers:\n  kata_monitor:\n    shim:\n      timout: 3s\n'), [
        'config error: receivers.kata_monitor.shim.timout (line 4): unknown key "timout" (did you mean "timeout"?); allowed: timeout, max_body_bytes, concurrency',
      ]);
    });

    it('for an unknown top-level key', () => {
      assert.deepEqual(loadErrors('connectors: {}\n'), [
        'config error: connectors (line 1): unknown key "connectors"; allowed: receivers, processors, exporters, extensions, service',
      ]);
    });

    it('for an unknown component type, with a hint', () => {
      assert.deepEqual(loadErrors('exporters:\n  otlp_http:\n    endpoint: http://x\n'), [
        'config error: exporters.otlp_http (line 3): unknown exporter type "otlp_http" (did you mean "otlphttp"?); supported: otlphttp, prometheus',
      ]);
      assert.deepEqual(loadErrors('receivers:\n  prometheus: {}\n'), [
        'config error: receivers.prometheus (line 2): unknown receiver type "prometheus"; supported: kata_monitor',
      ]);
    });

    it('for a value of the wrong type', () => {
      assert.deepEqual(
        loadErrors(yaml`
          receivers:
            kata_monitor:
              listen_address: { host: x }
              sandbox_roots: { a: b }
              gzip_level: fast
              openmetrics: yes
              shim: 3s
        `),
        [
          'config error: receivers.kata_monitor.listen_address (line 3): expected a single value, got a mapping',
          'config error: receivers.kata_monitor.sandbox_roots (line 4): expected a list, got a mapping',
          'config error: receivers.kata_monitor.gzip_level (line 5): invalid integer "fast"',
          'config error: receivers.kata_monitor.openmetrics (line 6): invalid boolean "yes" (expected true or false)',
          'config error: receivers.kata_monitor.shim (line 7): expected a mapping (key: value), got "3s"',
        ],
      );
    });

    it('for a value out of range', () => {
      assert.deepEqual(loadErrors('receivers:\n  kata_monitor:\n    gzip_level: 10\n    shim: { concurrency: 0, timeout: 0 }\n'), [
        'config error: receivers.kata_monitor.gzip_level (line 3): must be at most 9, got 10',
        'config error: receivers.kata_monitor.shim.timeout (line 4): must be at least 1ms, got 0ms',
        'config error: receivers.kata_monitor.shim.concurrency (line 4): must be at least 1, got 0',
      ]);
    });

    it('for a bad duration and a bad size', () => {
      assert.deepEqual(loadErrors('receivers:\n  kata_monitor:\n    shim:\n      timeout: 3x\n      max_body_bytes: 64 MeB\n'), [
        'config error: receivers.kata_monitor.shim.timeout (line 4): invalid duration "3x": unknown unit "x" (use ns, us, ms, s, m or h)',
        'config error: receivers.kata_monitor.shim.max_body_bytes (line 5): invalid size "64 MeB": unknown unit "MeB" (use B, KB, MB, GB, KiB, MiB or GiB)',
      ]);
    });

    it('for a bad enum value, with a hint', () => {
      assert.deepEqual(loadErrors(`exporters:\n  otlphttp:\n    endpoint: http://c\n    encoding: protobuf\n${PIPELINE}`), [
        'config error: exporters.otlphttp.encoding (line 4): invalid value "protobuf" (did you mean "proto"?); expected one of: proto, json',
      ]);
    });

    it('for a bad regular expression', () => {
      assert.deepEqual(loadErrors('processors:\n  filter:\n    include:\n      regexps: [ok, "a(b"]\n'), [
        'config error: processors.filter.include.regexps[1] (line 4): invalid regular expression "a(b": Unterminated group',
      ]);
    });

    it('for a reference to something not defined', () => {
      assert.deepEqual(
        loadErrors(yaml`
          exporters:
            otlphttp: { endpoint: http://c }
          service:
            pipelines:
              metrics:
                receivers: [kata_monitr]
                processors: [batch]
                exporters: [otlphttp/other]
        `),
        [
          'config error: service.pipelines.metrics.receivers[0] (line 6): references receiver "kata_monitr", which is not defined (did you mean "kata_monitor"?)',
          'config error: service.pipelines.metrics.processors[0] (line 7): references processor "batch", which is not defined',
          'config error: service.pipelines.metrics.exporters[0] (line 8): references exporter "otlphttp/other", which is not defined (did you mean "otlphttp"?)',
        ],
      );
    });

    it('for a pipeline without receivers or exporters, or of another signal', () => {
      assert.deepEqual(loadErrors('service:\n  pipelines:\n    metrics: {}\n    traces: {}\n'), [
        'config error: service.pipelines.metrics.receivers (line 3): a pipeline needs at least one receiver',
        'config error: service.pipelines.metrics.exporters (line 3): a pipeline needs at least one exporter',
        'config error: service.pipelines.traces (line 4): only metrics pipelines are supported, not "traces"',
      ]);
    });

    it('for missing or conflicting settings', () => {
      assert.deepEqual(
        loadErrors(yaml`
          receivers:
            kata_monitor:
              tls: { cert_file: /c }
              auth:
                basic: { username: u }
                bearer: { token: t }
          exporters:
            otlphttp: { timeout: 1s }
            otlphttp/retry:
              endpoint: ftp://x
              retry_on_failure: { initial_interval: 10s, max_interval: 1s }
        `),
        [
          'config error: receivers.kata_monitor.tls.key_file (line 3): required when tls is set',
          'config error: receivers.kata_monitor.auth (line 5): set either basic or bearer, not both',
          'config error: exporters.otlphttp/retry.endpoint (line 10): invalid URL "ftp://x": the scheme must be http or https',
          'config error: exporters.otlphttp/retry.retry_on_failure.max_interval (line 11): must not be less than initial_interval (10000ms)',
        ],
      );
    });

    it('for addresses and endpoints the daemon cannot use', () => {
      assert.deepEqual(loadErrors('receivers:\n  kata_monitor:\n    listen_address: localhost\n    runtime_endpoint: npipe:////./pipe/x\n'), [
        'config error: receivers.kata_monitor.listen_address (line 3): invalid listen address "localhost" (expected host:port, e.g. 127.0.0.1:8090 or :8090)',
        'config error: receivers.kata_monitor.runtime_endpoint (line 4): invalid runtime endpoint "npipe:////./pipe/x": protocol "npipe" not supported (use unix:// or tcp://)',
      ]);
    });

    it('for a prometheus exporter path that kata-monitor already serves', () => {
      assert.deepEqual(loadErrors('exporters:\n  prometheus:\n    path: /metrics\n  prometheus/2:\n    path: otel\n'), [
        'config error: exporters.prometheus.path (line 3): "/metrics" is one of kata-monitor\'s own endpoints',
        'config error: exporters.prometheus/2.path (line 5): must start with "/", got "otel"',
      ]);
    });

    it('for a top level that is not a mapping', () => {
      assert.deepEqual(loadErrors('- a\n- b\n'), ['config error: (top level) (line 1): expected a mapping (key: value), got a list']);
    });

    it('all at once, in file order', () => {
      const errors = loadErrors(yaml`
        receivers:
          kata_monitor:
            shim: { timeout: 3x }
        processors:
          filter: { include: { regexps: ["("] } }
        exporters:
          otlphttp: { endpoint: "\${env:MISSING}" }
        service:
          pipelines:
            metrics: { receivers: [kata_monitor], exporters: [nope] }
      `);
      assert.deepEqual(
        errors.map((e) => /\(line (\d+)\)/.exec(e)?.[1]),
        ['3', '5', '7', '10'],
      );
    });

    it('when the file cannot be read', () => {
      const parsed = parseFlags(['-config', '/nope.yaml']);
      assert.ok(parsed.kind === 'run');
      const result = loadConfig({
        flags: parsed.flags,
        explicitFlags: parsed.explicit,
        env: {},
        readFile: () => {
          throw new Error("ENOENT: no such file or directory, open '/nope.yaml'");
        },
      });
      assert.deepEqual(result, {
        ok: false,
        errors: ["config error: cannot read /nope.yaml: ENOENT: no such file or directory, open '/nope.yaml'"],
      });
    });
  });

  it('reads a file through the readFile it is given', () => {
    assert.equal(load('receivers: { kata_monitor: { gzip_level: 5 } }').ok, true);
  });
});
