// How an otlphttp exporter's settings are resolved at config load
// (exporters/helper/otlp-settings.ts, otlphttp/config.ts): the file's keys,
// then OTEL_EXPORTER_OTLP_METRICS_*, then OTEL_EXPORTER_OTLP_*, then the
// defaults; from the environment handed to the loader, never process.env.
// (gRPC under OTEL_EXPORTER_OTLP_PROTOCOL=grpc: test/otel/exporters/otlp-env.test.ts.)

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultFlags } from '../../src/cli/flags.ts';
import { parseConfig } from '../../src/components.ts';
import type { OtlpExporterConfig } from '../../src/otel/exporters/helper/otlp-settings.ts';

type Env = Readonly<Record<string, string>>;

function yaml(exporter: string): string {
  return ['exporters:', `  otlphttp: ${exporter}`, 'service:', '  pipelines:', '    metrics:', '      receivers: [kata_monitor]', '      exporters: [otlphttp]'].join('\n');
}

/** The otlphttp exporter of a one-pipeline file (`exporter`: its section, in flow style), resolved against `env`. */
function settings(env: Env, exporter = '{}'): OtlpExporterConfig {
  const r = parseConfig(yaml(exporter), { flags: defaultFlags(), explicitFlags: new Set(), env });
  assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
  const e = r.config.pipelines[0]!.exporters[0]!;
  assert.ok(e.type === 'otlphttp');
  return e;
}

function errors(env: Env, exporter = '{}'): string[] {
  const r = parseConfig(yaml(exporter), { flags: defaultFlags(), explicitFlags: new Set(), env });
  assert.ok(!r.ok, 'the configuration is refused');
  return r.errors;
}

const pick = ({ protocol, url, encoding, compression, headers, timeoutMs }: OtlpExporterConfig) => ({ protocol, url, encoding, compression, headers, timeoutMs });

describe('otlphttp settings: file key > OTEL_EXPORTER_OTLP_METRICS_* > OTEL_EXPORTER_OTLP_* > default', () => {
  it('uses the defaults (the spec’s endpoint and timeout, the collector’s gzip) with neither file nor environment', () => {
    assert.deepEqual(pick(settings({})), { protocol: 'http', url: 'http://localhost:4318/v1/metrics', encoding: 'proto', compression: 'gzip', headers: {}, timeoutMs: 10_000 });
  });

  it('appends v1/metrics to OTEL_EXPORTER_OTLP_ENDPOINT but takes the METRICS endpoint as written; the file wins over both', () => {
    assert.equal(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318' }).url, 'http://col:4318/v1/metrics');
    assert.equal(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318/base/' }).url, 'http://col:4318/base/v1/metrics');
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://col:4318', OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'https://m.example/ingest' };
    assert.equal(settings(env).url, 'https://m.example/ingest');
    // endpoint is a base URL (as in the collector), metrics_endpoint a full one.
    assert.equal(settings(env, '{ endpoint: "http://cfg:4318" }').url, 'http://cfg:4318/v1/metrics');
    assert.equal(settings(env, '{ metrics_endpoint: "http://cfg:4318/custom" }').url, 'http://cfg:4318/custom');
  });

  it('reads protocol, compression and timeout (ms), the METRICS variable winning, the file winning over both', () => {
    const env = {
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
      OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip',
      OTEL_EXPORTER_OTLP_METRICS_COMPRESSION: 'none',
      OTEL_EXPORTER_OTLP_TIMEOUT: '3000',
      OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '1500',
    };
    const s = settings(env);
    assert.deepEqual([s.encoding, s.compression, s.timeoutMs], ['json', 'none', 1500]);
    const c = settings(env, '{ encoding: proto, compression: gzip, timeout: 700ms }');
    assert.deepEqual([c.encoding, c.compression, c.timeoutMs], ['proto', 'gzip', 700]);
    // Blank variables are as good as unset.
    assert.equal(settings({ OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: ' ', OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }).timeoutMs, 2500);
  });

  it('an endpoint in the file fixes the protocol to HTTP, whatever OTEL_EXPORTER_OTLP_PROTOCOL says', () => {
    const s = settings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }, '{ endpoint: "http://cfg:4318" }');
    assert.deepEqual([s.protocol, s.encoding, s.url], ['http', 'proto', 'http://cfg:4318/v1/metrics']);
    assert.equal(settings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' }).protocol, 'grpc');
  });

  it('merges headers: generic variable, then METRICS variable, then the file, per name; values percent-decoded', () => {
    const env = { OTEL_EXPORTER_OTLP_HEADERS: 'a=1,b=2', OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'b=3, api-key = x%20y ' };
    assert.deepEqual(settings(env, '{ headers: { a: cfg } }').headers, { a: 'cfg', b: '3', 'api-key': 'x y' });
  });

  it('reads the environment it is given, not process.env, and leaves process.env as it was', () => {
    const before = process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
    process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = 'http://from-process:4318';
    try {
      assert.equal(settings({}).url, 'http://localhost:4318/v1/metrics');
      assert.equal(settings({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://given:4318' }).url, 'http://given:4318/v1/metrics');
      assert.equal(process.env['OTEL_EXPORTER_OTLP_ENDPOINT'], 'http://from-process:4318');
    } finally {
      if (before === undefined) delete process.env['OTEL_EXPORTER_OTLP_ENDPOINT'];
      else process.env['OTEL_EXPORTER_OTLP_ENDPOINT'] = before;
    }
  });

  it('refuses what it cannot honour, naming the variable or the key, every problem at once', () => {
    const all = errors({
      OTEL_EXPORTER_OTLP_PROTOCOL: 'http/thrift',
      OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd',
      OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: 'soon',
      OTEL_EXPORTER_OTLP_HEADERS: 'novalue',
      OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: 'not a url',
    });
    const expected = [
      /OTEL_EXPORTER_OTLP_PROTOCOL: "http\/thrift" is not supported/,
      /OTEL_EXPORTER_OTLP_COMPRESSION: "zstd" is not supported/,
      /OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: "soon" is not a positive number/,
      /OTEL_EXPORTER_OTLP_HEADERS: "novalue" is not key=value/,
      /OTEL_EXPORTER_OTLP_METRICS_ENDPOINT\) "not a url"/,
    ];
    assert.equal(all.length, expected.length, all.join('\n'));
    for (const re of expected) assert.ok(all.some((e) => re.test(e) && /exporters\.otlphttp/.test(e)), `${re}: ${all.join('\n')}`);
    assert.match(errors({}, '{ endpoint: "collector:4318" }').join('\n'), /exporters\.otlphttp\.endpoint .*"collector:4318": the scheme must be http or https/);
    assert.match(errors({}, '{ endpoint: "not a url" }').join('\n'), /invalid endpoint "not a url"/);
    assert.match(errors({}, '{ headers: { "bad header": x } }').join('\n'), /invalid HTTP header name "bad header"/);
  });

  it('checks only the variable that applies: a shadowed generic one may be meant for other signals, and the file’s keys win', () => {
    assert.equal(settings({ OTEL_EXPORTER_OTLP_PROTOCOL: 'http/thrift', OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json' }).encoding, 'json');
    const s = settings({ OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd', OTEL_EXPORTER_OTLP_TIMEOUT: 'soon', OTEL_EXPORTER_OTLP_ENDPOINT: 'nope' }, '{ compression: none, timeout: 5ms, endpoint: "http://cfg:4318" }');
    assert.deepEqual([s.compression, s.timeoutMs, s.url], ['none', 5, 'http://cfg:4318/v1/metrics']);
  });
});
