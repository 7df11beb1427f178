import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { OtlpConfigError, resolveOtlpHttpSettings, type OtlpHttpOptions } from '../../src/otel/otlp-http.ts';

/** The settings without exporter-base's configuration object (functions inside). */
function resolved(options: OtlpHttpOptions, env: Record<string, string>) {
  const { transport: _, ...settings } = resolveOtlpHttpSettings(options, env);
  return settings;
}

describe('OTLP/HTTP settings: config, then OTEL_EXPORTER_OTLP_METRICS_*, then OTEL_EXPORTER_OTLP_*, then defaults', () => {
  it('uses the defaults (the spec\'s endpoint and timeout, the collector\'s gzip) with neither config nor environment', () => {
    assert.deepEqual(resolved({}, {}), {
      url: 'http://localhost:4318/v1/metrics',
      encoding: 'proto',
      compression: 'gzip',
      timeoutMs: 10_000,
    });
  });

  it('appends v1/metrics to OTEL_EXPORTER_OTLP_ENDPOINT but takes the METRICS endpoint as given', () => {
    assert.equal(resolveOtlpHttpSettings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318' }).url, 'http://col:4318/v1/metrics');
    assert.equal(resolveOtlpHttpSettings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318/base/' }).url, 'http://col:4318/base/v1/metrics');
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://m.example/ingest' };
    assert.equal(resolveOtlpHttpSettings({}, env).url, 'https://m.example/ingest');
    assert.equal(resolveOtlpHttpSettings({ endpoint: 'http://cfg:4318/v1/metrics' }, env).url, 'http://cfg:4318/v1/metrics');
  });

  it('reads protocol, compression and timeout, the METRICS variant winning, config winning over both', () => {
    const env = {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '1500',
    };
    const s = resolveOtlpHttpSettings({}, env);
    assert.equal(s.encoding, 'json');
    assert.equal(s.compression, 'gzip');
    assert.equal(s.timeoutMs, 1500);
    const c = resolveOtlpHttpSettings({ encoding: 'proto', compression: 'none', timeoutMs: 700 }, env);
    assert.deepEqual([c.encoding, c.compression, c.timeoutMs], ['proto', 'none', 700]);
  });

  it('merges headers: generic env, then METRICS env, then config; values percent-decoded; the Content-Type is the encoding\'s', async () => {
    const env = { OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2', OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'b=3,api-key=x%20y' };
    // exporter-base keeps headers as an async function (read at each request).
    assert.deepEqual(await resolveOtlpHttpSettings({ headers: { a: 'cfg' } }, env).transport.headers(), { a: 'cfg', b: '3', 'api-key': 'x y', 'Content-Type': 'application/x-protobuf' });
    assert.equal((await resolveOtlpHttpSettings({ encoding: 'json', headers: { 'Content-Type': 'text/plain' } }, {}).transport.headers())['Content-Type'], 'application/json');
  });

  it('reads the environment it is given, not process.env, and leaves process.env as it was', () => {
    const before = process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://from-process:4318';
    try {
      assert.equal(resolveOtlpHttpSettings({}, {}).url, 'http://localhost:4318/v1/metrics');
      assert.equal(resolveOtlpHttpSettings({}, { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://given:4318' }).url, 'http://given:4318/v1/metrics');
      assert.equal(resolveOtlpHttpSettings({}).url, 'http://from-process:4318/v1/metrics');
      assert.equal(process.env['OTEL_EXPORTER_OTLP_ENDPOINT'], 'http://from-process:4318');
    } finally {
      if (before === undefined) delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
      else process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = before;
    }
  });

  it('rejects what it cannot honour, naming the setting', () => {
    assert.throws(() => resolveOtlpHttpSettings({}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }), (e: unknown) => e instanceof OtlpConfigError && /grpc is not implemented/.test(e.message));
    assert.throws(() => resolveOtlpHttpSettings({}, { OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' }), /OTEL_EXPORTER_OTLP_COMPRESSION: "zstd"/);
    assert.throws(() => resolveOtlpHttpSettings({}, { OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: 'soon' }), /not a positive number/);
    assert.throws(() => resolveOtlpHttpSettings({ endpoint: 'collector:4318' }, {}), /endpoint: scheme collector: is not supported/);
    assert.throws(() => resolveOtlpHttpSettings({ endpoint: 'not a url' }, {}), /endpoint: not a URL/);
    assert.throws(() => resolveOtlpHttpSettings({}, { OTEL_EXPORTER_OTLP_HEADERS: 'novalue' }), /OTEL_EXPORTER_OTLP_HEADERS: "novalue" is not key=value/);
    // exporter-base would warn and fall back to http://localhost:4318 here.
    assert.throws(() => resolveOtlpHttpSettings({}, { OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'not a url' }), /OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: not a URL/);
    // Only the variable that applies is checked: a shadowed generic one may be meant for other signals, and the file's keys win.
    assert.equal(resolveOtlpHttpSettings({}, { OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json' }).encoding, 'json');
    assert.equal(resolveOtlpHttpSettings({ compression: 'none', timeoutMs: 5 }, { OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd', OTEL_EXPORTER_OTLP_TIMEOUT: 'soon' }).timeoutMs, 5);
  });
});
