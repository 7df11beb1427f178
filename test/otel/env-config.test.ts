// OTEL_EXPORTER_OTLP_* through the real path: the loader resolves an
// otlphttp exporter's settings against the environment it is given (file >
// METRICS variable > generic variable > default), the exporter is built from
// that as the daemon builds it (a queue in front of the HTTP transport), and
// a real receiver shows where the data went and how it was sent.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defaultFlags } from '../../src/cli/flags.ts';
import { parseConfig } from '../../src/components.ts';
import type { QueuedExporter } from '../../src/otel/exporters/exporter.ts';
import { httpExporter } from './support/exporters.ts';
import { startReceiver, type Receiver } from './support/receiver.ts';
import { seqs, tiny, until } from './support/tiny.ts';

type Env = Record<string, string>;

/** One otlphttp exporter from YAML `lines` (under exporters.otlphttp), resolved with `env`. */
function exporterFrom(lines: string, env: Env): QueuedExporter {
  const text = [
    'exporters:',
    '  otlphttp:',
    ...(lines.trim() === '' ? [] : [lines]),
    '    retry_on_failure: { initial_interval: 20ms, max_interval: 40ms }',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      receivers: [kata_monitor]',
    '      exporters: [otlphttp]',
  ].join('\n');
  const r = parseConfig(text, { flags: defaultFlags(), explicitFlags: new Set(), env });
  if (!r.ok) assert.fail(r.errors.join('\n'));
  const config = r.config.pipelines[0]?.exporters[0];
  assert.ok(config && config.type === 'otlphttp' && config.protocol === 'http');
  return httpExporter(config);
}

/** Base URL of a receiver (what OTEL_EXPORTER_OTLP_ENDPOINT holds). */
const base = (r: Receiver): string => r.url.replace(/\/v1\/metrics$/, '');

async function withReceivers(n: number, fn: (rs: Receiver[]) => Promise<void>): Promise<void> {
  const rs = await Promise.all(Array.from({ length: n }, () => startReceiver()));
  try {
    await fn(rs);
  } finally {
    await Promise.all(rs.map((r) => r.close()));
  }
}

async function deliver(e: QueuedExporter, seq: number): Promise<void> {
  e.export(tiny(seq));
  assert.equal(await e.forceFlush(5000), true, 'delivered');
}

describe('otlphttp from the environment, on the wire', () => {
  it('endpoint: without one in the file, OTEL_EXPORTER_OTLP_ENDPOINT (+ /v1/metrics) is where data arrives; protobuf and gzip by default', async () => {
    await withReceivers(1, async ([a]) => {
      const e = exporterFrom('', { OTEL_EXPORTER_OTLP_ENDPOINT: base(a!) });
      try {
        await deliver(e, 7);
        assert.equal(a!.received.length, 1);
        assert.equal(a!.received[0]?.path, '/v1/metrics');
        assert.deepEqual(seqs(a!.received[0]!.request), [7]);
        assert.equal(a!.received[0]?.encoding, 'proto');
        assert.equal(a!.received[0]?.gzip, true);
        assert.equal(e.status().endpoint, `${base(a!)}/v1/metrics`);
      } finally {
        await e.shutdown(0);
      }
    });
  });

  it('endpoint: the METRICS variable (as written) wins over the generic one; the file wins over both', async () => {
    await withReceivers(3, async ([generic, metrics, file]) => {
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: base(generic!), OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: `${base(metrics!)}/custom/path` };
      const fromEnv = exporterFrom('', env);
      const fromFile = exporterFrom(`    endpoint: ${base(file!)}`, env);
      try {
        await deliver(fromEnv, 1);
        await deliver(fromFile, 2);
        assert.equal(generic!.received.length, 0);
        assert.deepEqual(
          metrics!.received.map((r) => [r.path, seqs(r.request)]),
          [['/custom/path', [1]]],
        );
        assert.deepEqual(
          file!.received.map((r) => [r.path, seqs(r.request)]),
          [['/v1/metrics', [2]]],
        );
      } finally {
        await Promise.all([fromEnv.shutdown(0), fromFile.shutdown(0)]);
      }
    });
  });

  it('protocol and compression: the variables apply when the file is silent, the file wins when it speaks', async () => {
    await withReceivers(1, async ([a]) => {
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: base(a!),
        OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf',
        OTEL_EXPORTER_OTLP_METRICS_PROTOCOL: 'http/json',
        OTEL_EXPORTER_OTLP_COMPRESSION: 'none',
      };
      const silent = exporterFrom('', env);
      const explicit = exporterFrom(`    encoding: proto\n    compression: gzip`, env);
      try {
        await deliver(silent, 1);
        await deliver(explicit, 2);
        assert.deepEqual(
          a!.received.map((r) => [seqs(r.request)[0], r.encoding, r.gzip, r.headers['content-type']]),
          [
            [1, 'json', false, 'application/json'],
            [2, 'proto', true, 'application/x-protobuf'],
          ],
        );
      } finally {
        await Promise.all([silent.shutdown(0), explicit.shutdown(0)]);
      }
    });
  });

  it('headers: generic variable, then METRICS variable, then the file, per name', async () => {
    await withReceivers(1, async ([a]) => {
      const env = {
        OTEL_EXPORTER_OTLP_ENDPOINT: base(a!),
        OTEL_EXPORTER_OTLP_HEADERS: 'x-a=generic,x-b=generic',
        OTEL_EXPORTER_OTLP_METRICS_HEADERS: 'x-b=metrics,x-c=metrics%20value,x-d=metrics%20value',
      };
      const e = exporterFrom('    headers: { x-c: file }', env);
      try {
        await deliver(e, 1);
        const h = a!.received[0]?.headers;
        assert.deepEqual([h?.['x-a'], h?.['x-b'], h?.['x-c'], h?.['x-d']], ['generic', 'metrics', 'file', 'metrics value']);
      } finally {
        await e.shutdown(0);
      }
    });
  });

  it('timeout: the METRICS variable over the generic one, the file over both (a hanging receiver shows which)', async () => {
    await withReceivers(1, async ([a]) => {
      a!.behave(() => ({ hang: true }));
      const env = { OTEL_EXPORTER_OTLP_ENDPOINT: base(a!), OTEL_EXPORTER_OTLP_TIMEOUT: '5000', OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '150' };
      const fromEnv = exporterFrom('', env);
      const fromFile = exporterFrom(`    timeout: 120ms`, env);
      try {
        fromEnv.export(tiny(1));
        fromFile.export(tiny(2));
        await until(() => fromEnv.status().queue?.lastError !== undefined && fromFile.status().queue?.lastError !== undefined, 5000, 'both to time out');
        assert.equal(fromEnv.status().queue?.lastError, 'no answer within 150 ms');
        assert.equal(fromFile.status().queue?.lastError, 'no answer within 120 ms');
      } finally {
        await Promise.all([fromEnv.shutdown(0), fromFile.shutdown(0)]);
      }
    });
  });

  it('with neither file nor environment: http://localhost:4318/v1/metrics', () => {
    const e = exporterFrom('', {});
    assert.equal(e.status().endpoint, 'http://localhost:4318/v1/metrics');
    void e.shutdown(0);
  });
});
