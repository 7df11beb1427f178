// The OTEL_EXPORTER_OTLP_[METRICS_]* variables, read as the OpenTelemetry
// SDKs read them, from the environment handed to the loader (never
// process.env): what a file leaves open they decide, an otlphttp exporter
// whose file sets neither encoding nor endpoint speaks gRPC under
// PROTOCOL=grpc, and the daemon then delivers to a real gRPC server.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OtlpExporterConfig } from '../../../src/otel/exporters/helper/otlp-settings.ts';
import { makeCa, type TestCa } from '../support/certs.ts';
import { startGrpcReceiver } from '../support/grpc-receiver.ts';
import { logged, parseConfigFor, pipelineYaml, startDemo, startPushing, until, type DemoEnvironment } from './harness.ts';

type Env = Readonly<Record<string, string>>;

/** The one exporter of a one-pipeline file, resolved with this environment. */
function resolve(exporter: string, env: Env, body = '{}'): OtlpExporterConfig {
  const r = parseConfigFor(undefined, pipelineYaml({ [exporter]: body }), env);
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const e = r.config.pipelines[0]!.exporters[0]!;
  assert.ok(e.type === 'otlp' || e.type === 'otlphttp');
  return e;
}

function errorsOf(exporter: string, env: Env, body = '{}'): string[] {
  const r = parseConfigFor(undefined, pipelineYaml({ [exporter]: body }), env);
  assert.ok(!r.ok, 'the configuration is refused');
  return r.errors;
}

describe('OTEL_EXPORTER_OTLP_* when the file leaves a setting open', () => {
  it('PROTOCOL=grpc makes an otlphttp exporter without encoding or endpoint speak gRPC (METRICS_ first)', () => {
    assert.equal(resolve('otlphttp', {}).protocol, 'http');
    const grpc = resolve('otlphttp', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' });
    assert.deepEqual({ protocol: grpc.protocol, url: grpc.url, encoding: grpc.encoding }, { protocol: 'grpc', url: 'http://localhost:4317', encoding: 'proto' });
    assert.equal(resolve('otlphttp', { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc' }).protocol, 'grpc');
    assert.equal(resolve('otlphttp', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json' }).encoding, 'json');
    // The file has the last word: an encoding or an endpoint fixes the protocol to HTTP.
    assert.equal(resolve('otlphttp', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'encoding: proto').protocol, 'http');
    assert.equal(resolve('otlphttp', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, 'endpoint: http://127.0.0.1:4318').protocol, 'http');
    assert.match(errorsOf('otlphttp', { OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' }).join('\n'), /OTEL_EXPORTER_OTLP_PROTOCOL: "thrift" is not supported/);
  });

  it('ENDPOINT for gRPC: the scheme decides TLS, a bare host:port is TLS unless INSECURE=true; the path is not used', () => {
    const url = (env: Env): string => resolve('otlphttp', { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', ...env }).url;
    assert.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317/some/path' }), 'http://collector:4317');
    assert.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'https://collector:4317' }), 'https://collector:4317');
    assert.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' }), 'https://collector:4317');
    assert.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317', OTEL_EXPORTER_OTLP_INSECURE: 'true' }), 'http://collector:4317');
    assert.equal(url({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://a:1', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'http://b:2' }), 'http://b:2');
    // The `otlp` exporter reads the same variables for what its file leaves open.
    assert.equal(resolve('otlp', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' }).url, 'http://collector:4317');
    assert.equal(resolve('otlp', { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4317' }, 'endpoint: other:4317\ntls: { insecure: true }').url, 'http://other:4317');
    assert.match(errorsOf('otlp', { OTEL_EXPORTER_OTLP_INSECURE: 'yes' }).join('\n'), /OTEL_EXPORTER_OTLP_INSECURE: "yes" is not true or false/);
  });

  it('HEADERS (percent-decoded, METRICS_ merged over the generic ones, the file over both), TIMEOUT in ms, COMPRESSION, CERTIFICATE', () => {
    const e = resolve(
      'otlphttp',
      {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20abc,x-team=core',
        OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-team=metrics',
        OTEL_EXPORTER_OTLP_TIMEOUT: '2500',
        OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'none',
        OTEL_EXPORTER_OTLP_CERTIFICATE: '/etc/ssl/ca.pem',
      },
      'headers: { x-file: yes }',
    );
    assert.deepEqual(e.headers, { authorization: 'Bearer abc', 'x-team': 'metrics', 'x-file': 'yes' });
    assert.equal(e.timeoutMs, 2500);
    assert.equal(e.compression, 'none');
    assert.equal(e.tls.caFile, '/etc/ssl/ca.pem');
    const file = resolve('otlp', { OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_COMPRESSION: 'none' }, 'timeout: 7s\ncompression: gzip');
    assert.deepEqual({ timeoutMs: file.timeoutMs, compression: file.compression }, { timeoutMs: 7000, compression: 'gzip' }, 'the file wins');
    assert.match(errorsOf('otlp', { OTEL_EXPORTER_OTLP_TIMEOUT: '10s' }).join('\n'), /OTEL_EXPORTER_OTLP_TIMEOUT: "10s" is not a positive number of milliseconds/);
    assert.match(errorsOf('otlp', { OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }).join('\n'), /OTEL_EXPORTER_OTLP_COMPRESSION: "zstd" is not supported/);
    assert.match(errorsOf('otlp', { OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }).join('\n'), /OTEL_EXPORTER_OTLP_HEADERS: "novalue" is not key=value/);
  });
});

describe('an otlphttp exporter set up by the environment alone, delivering over gRPC', () => {
  let demo: DemoEnvironment;
  let ca: TestCa;
  before(async () => {
    demo = await startDemo({ sandboxes: 1 });
    ca = makeCa();
  });
  after(async () => {
    ca.remove();
    await demo.stop();
  });

  const yaml = pipelineYaml({ otlphttp: 'retry_on_failure: { initial_interval: 50ms, max_interval: 100ms }' });

  it('PROTOCOL, ENDPOINT (http://), HEADERS, COMPRESSION=none and TIMEOUT (a hung call cut and retried)', async () => {
    const grpc = await startGrpcReceiver({ behaviour: (n) => (n === 0 ? { kind: 'hang' } : {}) });
    const p = await startPushing(demo, yaml, {
      env: {
        OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
        OTEL_EXPORTER_OTLP_ENDPOINT: `http://${grpc.address}`,
        OTEL_EXPORTER_OTLP_HEADERS: 'authorization=Bearer%20from-env',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
        OTEL_EXPORTER_OTLP_TIMEOUT: '300',
      },
    });
    try {
      await grpc.waitFor(1);
      assert.deepEqual(
        grpc.calls.map((c) => c.answer),
        ['hung', 'ok'],
      );
      assert.equal(logged(p.lines, 'OTLP export failed; will retry', { error: /^gRPC DEADLINE_EXCEEDED/ }).length, 1);
      const call = grpc.received[0]!;
      assert.equal(call.metadata['authorization'], 'Bearer from-env');
      assert.ok(call.encoding === undefined || call.encoding === 'identity', `uncompressed (grpc-encoding ${call.encoding})`);
    } finally {
      await p.stop();
      await grpc.close();
    }
  });

  it('METRICS_ENDPOINT host:port with METRICS_INSECURE=true: plaintext', async () => {
    const grpc = await startGrpcReceiver();
    const p = await startPushing(demo, yaml, {
      env: { OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: grpc.address, OTEL_EXPORTER_OTLP_METRICS_INSECURE: 'true' },
    });
    try {
      await grpc.waitFor(1);
      assert.equal(grpc.received[0]!.encoding, 'gzip', 'compressed by default');
    } finally {
      await p.stop();
      await grpc.close();
    }
  });

  it('ENDPOINT https:// with CERTIFICATE: TLS verified against that CA', async () => {
    const grpc = await startGrpcReceiver({ tls: ca.issue('localhost', { ip: ['127.0.0.1'] }) });
    const p = await startPushing(demo, yaml, {
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_ENDPOINT: `https://${grpc.address}`, OTEL_EXPORTER_OTLP_CERTIFICATE: ca.caFile },
    });
    try {
      await until(() => grpc.received.length > 0, 'a call over TLS');
    } finally {
      await p.stop();
      await grpc.close();
    }
  });
});
