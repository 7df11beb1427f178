import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseFlags } from '../../src/cli/flags.ts';
import { loadConfig, type Config } from '../../src/components.ts';
import type { ExporterConfig, ProcessorConfig } from '../../src/otel/config.ts';
import type { OtlpExporterConfig } from '../../src/otel/exporters/helper/otlp-settings.ts';
import { RECEIVER_DEFAULTS } from '../../src/receiver/config.ts';
import { load, loadErrors, loadOk, yaml } from './helpers.ts';

const UPSTREAM_DEFAULTS: Config = {
  receiver: {
    server: { listenAddress: '127.0.0.1:8090', openMetrics: false, gzipLevel: 1 },
    discovery: { sandboxRoots: ['/run/vc/sbs', '/run/kata'], rootRetryIntervalMs: 5000 },
    cri: { runtimeEndpoint: '/run/containerd/containerd.sock', timeoutMs: 2000, resyncIntervalMs: 5000, firstLookupDelayMs: 5000 },
    shim: { timeoutMs: 3000, maxBodyBytes: 64 * 1024 * 1024, concurrency: 32 },
    // Prometheus' scrape limits, on by default: the guest writes part of every shim's body.
    limits: { sampleLimit: 20_000, labelLimit: 30, labelNameLengthLimit: 128, labelValueLengthLimit: 128 },
    collectionIntervalMs: 15_000,
    demo: false,
  },
  pipelines: [],
  extensions: [],
  telemetry: { logs: { level: 'info', encoding: 'text' }, resource: {} },
  shutdownTimeoutMs: 10_000,
};

/** What an OTLP exporter gets when the file and the environment say nothing. */
const OTLP_HELPER_DEFAULTS = {
  compression: 'gzip',
  headers: {},
  timeoutMs: 10_000,
  tls: { insecure: false, insecureSkipVerify: false },
  retry: { enabled: true, initialIntervalMs: 5000, maxIntervalMs: 30_000, maxElapsedMs: 0, multiplier: 1.5, randomizationFactor: 0.5 },
  queue: { enabled: true, sizer: 'requests', size: 1000, dropPolicy: 'oldest' },
} as const;

function exporter(config: Config, pipeline = 0, index = 0): ExporterConfig {
  const e = config.pipelines[pipeline]?.exporters[index];
  assert.ok(e, `pipeline ${pipeline} has no exporter ${index}`);
  return e;
}

function otlpExporter(config: Config, pipeline = 0, index = 0): OtlpExporterConfig {
  const e = exporter(config, pipeline, index);
  assert.ok(e.type === 'otlp' || e.type === 'otlphttp', `exporter ${index} is ${e.type}`);
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

    it('takes every receiver default from RECEIVER_DEFAULTS', () => {
      assert.deepEqual(loadOk(undefined).config.receiver, RECEIVER_DEFAULTS);
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
      assert.equal(config.receiver.demo, true);
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

    it('judges the runtime endpoint as the CRI client will: what it refuses is refused at load, what it takes is taken', () => {
      for (const bad of ['foo:bar', 'unix:/x', 'unix:///a%zz']) {
        const errors = loadErrors(undefined as unknown as string, { argv: [`-runtime-endpoint=${bad}`] });
        assert.equal(errors.length, 1, bad);
        assert.match(errors[0]!, new RegExp(`^config error: flag -runtime-endpoint: invalid runtime endpoint "${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}": `));
      }
      for (const good of ['UNIX:///x', 'Tcp://h:1', 'tcp://h:1/x']) {
        assert.equal(loadOk(undefined as unknown as string, { argv: [`-runtime-endpoint=${good}`] }).config.receiver.cri.runtimeEndpoint, good);
      }
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
            sample_limit: 5000
            label_limit: 10
            label_name_length_limit: 64
            label_value_length_limit: 256
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
        limits: { sampleLimit: 5000, labelLimit: 10, labelNameLengthLimit: 64, labelValueLengthLimit: 256 },
        collectionIntervalMs: 30_000,
        demo: true,
      });
    });

    it('turns a scrape limit off with 0, and refuses a negative or fractional one, naming the key and line', () => {
      const { config } = loadOk('receivers:\n  kata_monitor:\n    sample_limit: 0\n    label_value_length_limit: 0\n');
      assert.deepEqual(config.receiver.limits, { sampleLimit: 0, labelLimit: 30, labelNameLengthLimit: 128, labelValueLengthLimit: 0 });
      assert.deepEqual(loadErrors('receivers:\n  kata_monitor:\n    sample_limit: -1\n    label_limit: many\n    label_name_length_limit: 1.5\n'), [
        'config error: receivers.kata_monitor.sample_limit (line 3): must be at least 0, got -1',
        'config error: receivers.kata_monitor.label_limit (line 4): invalid integer "many"',
        'config error: receivers.kata_monitor.label_name_length_limit (line 5): invalid integer "1.5"',
      ]);
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

    it('resolves an otlphttp exporter at load: every setting decided, the helper\'s defaults for what nobody set', () => {
      const { config } = loadOk(yaml`
        exporters:
          otlphttp:
            endpoint: http://collector:4318
      ` + PIPELINE);
      assert.deepEqual(exporter(config), {
        type: 'otlphttp',
        name: 'otlphttp',
        protocol: 'http',
        url: 'http://collector:4318/v1/metrics',
        encoding: 'proto',
        ...OTLP_HELPER_DEFAULTS,
      });
    });

    it('gives an otlphttp exporter without endpoint the OTLP specification\'s', () => {
      const { config, warnings } = loadOk('exporters:\n  otlphttp: {}\n' + PIPELINE);
      assert.deepEqual(warnings, []);
      assert.equal(otlpExporter(config).url, 'http://localhost:4318/v1/metrics');
    });

    it('resolves an otlp (gRPC) exporter: host:port is TLS unless tls.insecure; no endpoint is the SDKs\' default', () => {
      const { config } = loadOk(yaml`
        exporters:
          otlp:
            endpoint: collector:4317
          otlp/plain:
            endpoint: collector:4317
            tls: { insecure: true }
          otlp/default: {}
        service:
          pipelines:
            metrics:
              receivers: [kata_monitor]
              exporters: [otlp, otlp/plain, otlp/default]
      `);
      assert.deepEqual(otlpExporter(config, 0, 0), {
        type: 'otlp',
        name: 'otlp',
        protocol: 'grpc',
        url: 'https://collector:4317',
        encoding: 'proto',
        ...OTLP_HELPER_DEFAULTS,
      });
      assert.equal(otlpExporter(config, 0, 1).url, 'http://collector:4317');
      assert.equal(otlpExporter(config, 0, 2).url, 'http://localhost:4317');
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
            tls: { ca_file: /ca.pem, cert_file: /c.pem, key_file: /k.pem, insecure_skip_verify: true, server_name_override: otlp.internal }
            retry_on_failure: { enabled: false, initial_interval: 2s, max_interval: 1m, max_elapsed_time: 10m, multiplier: 2, randomization_factor: 0 }
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
        protocol: 'http',
        url: 'https://otlp.example.com/base/v1/metrics',
        encoding: 'json',
        compression: 'none',
        headers: { Authorization: 'Bearer abc', 'X-Tenant': 't1' },
        timeoutMs: 5000,
        tls: { insecure: false, caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', insecureSkipVerify: true, serverNameOverride: 'otlp.internal' },
        retry: { enabled: false, initialIntervalMs: 2000, maxIntervalMs: 60_000, maxElapsedMs: 600_000, multiplier: 2, randomizationFactor: 0 },
        queue: { enabled: false, sizer: 'items', size: 7, dropPolicy: 'newest' },
      });
    });

    it('sizes a queue in bytes and keeps it on disk through a file_storage extension', () => {
      const { config, warnings } = loadOk(yaml`
        exporters:
          otlphttp:
            sending_queue: { sizer: bytes, queue_size: 50000000, storage: file_storage/queue }
        extensions:
          file_storage/queue:
            directory: /var/lib/kata-monitor/queue
            create_directory: true
            directory_permissions: "0700"
            fsync: true
            recreate: true
        service:
          extensions: [file_storage/queue]
          pipelines:
            metrics: { receivers: [kata_monitor], exporters: [otlphttp] }
      `);
      assert.deepEqual(warnings, []);
      assert.deepEqual(otlpExporter(config).queue, { enabled: true, sizer: 'bytes', size: 50_000_000, dropPolicy: 'oldest', storage: 'file_storage/queue' });
      assert.deepEqual(config.extensions, [
        { type: 'file_storage', name: 'file_storage/queue', directory: '/var/lib/kata-monitor/queue', createDirectory: true, directoryPermissions: 0o700, fsync: true, recreate: true },
      ]);
    });

    it('gives a file_storage extension the defaults, and enables only what service.extensions lists', () => {
      const { config, warnings } = loadOk('extensions:\n  file_storage:\n  file_storage/spare:\nservice:\n  extensions: [file_storage]\n');
      assert.deepEqual(config.extensions, [
        { type: 'file_storage', name: 'file_storage', directory: '/var/lib/kata-monitor/file_storage', createDirectory: false, directoryPermissions: 0o750, fsync: false, recreate: false },
      ]);
      assert.deepEqual(warnings, ['config warning: extensions.file_storage/spare (line 3): "file_storage/spare" is defined but not listed in service.extensions']);
    });

    it('refuses a queue whose storage is not an enabled extension', () => {
      assert.deepEqual(loadErrors(`exporters:\n  otlphttp:\n    sending_queue: { storage: file_storage }\n${PIPELINE}`), [
        'config error: exporters.otlphttp.sending_queue.storage (line 3): refers to extension "file_storage", which is not defined and listed in service.extensions',
      ]);
      assert.deepEqual(loadErrors(`exporters:\n  otlphttp:\n    sending_queue: { storage: file_storage/q }\nextensions:\n  file_storage/q:\n  file_storage:\nservice:\n  extensions: [file_storage]\n  pipelines:\n    metrics: { receivers: [kata_monitor], exporters: [otlphttp] }\n`), [
        'config error: exporters.otlphttp.sending_queue.storage (line 3): refers to extension "file_storage/q", which is not listed in service.extensions (did you mean "file_storage"?)',
      ]);
    });

    it('reads the debug and file exporters; a file rotates only when its exporter sets rotation, as contrib\'s', () => {
      const { config, warnings } = loadOk(yaml`
        exporters:
          debug:
          debug/detailed: { verbosity: detailed, sampling_initial: 5, sampling_thereafter: 10 }
          file:
            path: /var/log/kata-metrics.jsonl
          file/rotated:
            path: /var/log/kata-rotated.jsonl
            rotation: {}
          file/proto:
            path: /tmp/m.pb
            format: proto
            append: true
            rotation: { max_megabytes: 10, max_backups: 3, max_days: 7, localtime: true }
            flush_interval: 5s
            create_directory: true
        service:
          pipelines:
            metrics: { receivers: [kata_monitor], exporters: [debug, debug/detailed, file, file/rotated, file/proto] }
      `);
      assert.deepEqual(warnings, []);
      assert.deepEqual(config.pipelines[0]?.exporters, [
        { type: 'debug', name: 'debug', verbosity: 'basic', samplingInitial: 2, samplingThereafter: 1 },
        { type: 'debug', name: 'debug/detailed', verbosity: 'detailed', samplingInitial: 5, samplingThereafter: 10 },
        {
          type: 'file',
          name: 'file',
          path: '/var/log/kata-metrics.jsonl',
          format: 'json',
          append: false,
          createDirectory: false,
        },
        {
          type: 'file',
          name: 'file/rotated',
          path: '/var/log/kata-rotated.jsonl',
          format: 'json',
          append: false,
          rotation: { maxMegabytes: 100, maxBackups: 100, maxDays: 0, localTime: false },
          createDirectory: false,
        },
        {
          type: 'file',
          name: 'file/proto',
          path: '/tmp/m.pb',
          format: 'proto',
          append: true,
          rotation: { maxMegabytes: 10, maxBackups: 3, maxDays: 7, localTime: true },
          createDirectory: true,
        },
      ]);
    });

    it('refuses a file exporter without path, and two writing one file', () => {
      assert.deepEqual(loadErrors('exporters:\n  file: {}\n  file/a: { path: /x }\n  file/b: { path: /x }\n'), [
        'config error: exporters.file.path (line 2): required',
        'config error: exporters.file/b (line 4): file "/x" is already written by exporter "file/a"',
      ]);
    });

    it('refuses a prometheus or file exporter listed in two pipelines: each pipeline would run its own on one path', () => {
      const errors = loadErrors(yaml`
        exporters:
          prometheus:
          file: { path: /tmp/m.jsonl }
        service:
          pipelines:
            metrics: { receivers: [kata_monitor], exporters: [prometheus, file] }
            metrics/b: { receivers: [kata_monitor], exporters: [prometheus, file] }
      `);
      assert.deepEqual(errors, [
        'config error: exporters.prometheus (line 2): listed in 2 pipelines: a prometheus exporter serves one pipeline; define one per pipeline (e.g. prometheus/other with its own path)',
        'config error: exporters.file (line 3): listed in 2 pipelines: a file exporter serves one pipeline; define one per pipeline (e.g. file/other with its own path)',
      ]);
    });

    describe('otlphttp endpoints, as the collector builds them', () => {
      const endpointOf = (lines: string): { endpoint: string; warnings: string[] } => {
        const { config, warnings } = loadOk(`exporters:\n  otlphttp:\n${lines}\n${PIPELINE}`);
        return { endpoint: otlpExporter(config).url, warnings };
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

    it('accepts an empty extensions section, and refuses an extension type it does not have, once', () => {
      assert.deepEqual(loadOk('extensions: {}\nservice: { extensions: [] }\n').warnings, []);
      assert.deepEqual(loadErrors('extensions:\n  health_check:\nservice: { extensions: [health_check] }\n'), [
        'config error: extensions.health_check (line 2): unknown extension type "health_check"; supported: file_storage',
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

  describe('OTEL_EXPORTER_OTLP_* variables, read from the env given to the loader', () => {
    const bare = 'exporters:\n  otlphttp: {}\n' + PIPELINE;

    it('fill in what the file leaves open', () => {
      const { config } = loadOk(bare, {
        env: {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'https://c:4318',
          OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
          OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
          OTEL_EXPORTER_OTLP_HEADERS: 'a=b%20c',
          OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
        },
      });
      const e = otlpExporter(config);
      assert.deepEqual([e.url, e.timeoutMs, e.compression, e.headers, e.encoding], ['https://c:4318/v1/metrics', 2500, 'none', { a: 'b c' }, 'json']);
    });

    it('take the METRICS_ one over the generic one; METRICS_ENDPOINT is used as written', () => {
      const { config } = loadOk(bare, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://generic:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://metrics:4318/custom' } });
      assert.equal(otlpExporter(config).url, 'http://metrics:4318/custom');
    });

    it('never win over the file', () => {
      const { config } = loadOk(`exporters:\n  otlphttp:\n    endpoint: http://file:4318\n    timeout: 1s\n${PIPELINE}`, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://env:4318', OTEL_EXPORTER_OTLP_TIMEOUT: '9000' } });
      assert.deepEqual([otlpExporter(config).url, otlpExporter(config).timeoutMs], ['http://file:4318/v1/metrics', 1000]);
    });

    it('make an otlphttp exporter whose file leaves the protocol open speak gRPC when they say grpc', () => {
      const { config } = loadOk(bare, { env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4317' } });
      const e = otlpExporter(config);
      assert.deepEqual([e.type, e.protocol, e.url], ['otlphttp', 'grpc', 'http://c:4317']);
    });

    it('that cannot be used are errors naming the variable, at the exporter\'s line', () => {
      assert.deepEqual(loadErrors(bare, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x', OTEL_EXPORTER_OTLP_TIMEOUT: 'soon', OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' } }), [
        'config error: exporters.otlphttp (line 2): OTEL_EXPORTER_OTLP_COMPRESSION: "zstd" is not supported (use gzip or none)',
        'config error: exporters.otlphttp (line 2): OTEL_EXPORTER_OTLP_TIMEOUT: "soon" is not a positive number of milliseconds',
        'config error: exporters.otlphttp (line 2): invalid endpoint (OTEL_EXPORTER_OTLP_ENDPOINT) "ftp://x": the scheme must be http or https',
      ]);
    });

    it('are not read without an exporter, and never from process.env', () => {
      process.env.OTEL_EXPORTER_OTLP_ENDPOINT = 'ftp://from-the-process';
      try {
        assert.equal(otlpExporter(loadOk(bare).config).url, 'http://localhost:4318/v1/metrics');
      } finally {
        delete process.env.OTEL_EXPORTER_OTLP_ENDPOINT;
      }
      assert.deepEqual(loadOk('', { env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://x' } }).config, UPSTREAM_DEFAULTS);
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
      assert.equal(config.receiver.demo, true);
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
      assert.equal(config.receiver.demo, false);
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
        'config error: exporters.otlp_http (line 3): unknown exporter type "otlp_http" (did you mean "otlphttp"?); supported: otlp, otlphttp, debug, file, prometheus',
      ]);
      // Referenced by a pipeline: the definition's error is the only one.
      assert.deepEqual(loadErrors(`exporters:\n  otlp_http:\n    endpoint: http://x\nservice:\n  pipelines:\n    metrics: { receivers: [kata_monitor], exporters: [otlp_http] }\n`), [
        'config error: exporters.otlp_http (line 3): unknown exporter type "otlp_http" (did you mean "otlphttp"?); supported: otlp, otlphttp, debug, file, prometheus',
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

    it('for retry and queue settings out of range', () => {
      assert.deepEqual(loadErrors('exporters:\n  otlp:\n    retry_on_failure:\n      multiplier: 0.5\n      randomization_factor: 2\n    sending_queue:\n      sizer: batches\n      queue_size: 0\n'), [
        'config error: exporters.otlp.retry_on_failure.multiplier (line 4): must be at least 1, got 0.5',
        'config error: exporters.otlp.retry_on_failure.randomization_factor (line 5): must be at most 1, got 2',
        'config error: exporters.otlp.sending_queue.sizer (line 7): invalid value "batches"; expected one of: requests, items, bytes',
        'config error: exporters.otlp.sending_queue.queue_size (line 8): must be at least 1, got 0',
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
          'config error: exporters.otlphttp/retry.endpoint (line 10): invalid endpoint "ftp://x": the scheme must be http or https',
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
