// The `otlp` exporter (OTLP over gRPC), with the collector's keys, against a
// real grpc-js server (test/otel/support/grpc-receiver.ts): the daemon runs
// in process, scraping the demo environment's simulated shims, and pushes as
// the CLI would. What goes on the wire is what the `otlphttp` exporter sends;
// endpoints, TLS, headers, compression and timeouts work as in the
// collector; failures are retried or dropped as the OTLP specification says.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { status as Status } from '@grpc/grpc-js';
import { makeCa, type ServerCert, type TestCa } from '../support/certs.ts';
import { startGrpcReceiver, type GrpcAnswer, type GrpcReceiver } from '../support/grpc-receiver.ts';
import { flatten, startReceiver } from '../support/receiver.ts';
import { freePort, sampleValue } from '../../lifecycle/support.ts';
import { logged, parseConfigFor, pipelineYaml, startDemo, startPushing, until, type DemoEnvironment, type Pushing } from './harness.ts';

/** Retries come quickly: the tests watch the policy, not the clock. */
const FAST_RETRY = 'retry_on_failure: { initial_interval: 50ms, max_interval: 100ms }';

let demo: DemoEnvironment;
before(async () => {
  demo = await startDemo({ sandboxes: 2 });
});
after(() => demo.stop());

/** One gRPC receiver, one daemon whose `otlp` exporter has these settings (the endpoint first), pushing once at start. */
async function pushOnce(receiver: GrpcReceiver, settings: string, endpoint = `${receiver.address}\ntls: { insecure: true }`): Promise<Pushing> {
  return startPushing(demo, pipelineYaml({ otlp: `endpoint: ${endpoint}\n${settings}` }));
}

async function using<T>(resources: { close?: () => Promise<void>; stop?: () => Promise<void> }[], body: () => Promise<T>): Promise<T> {
  try {
    return await body();
  } finally {
    for (const r of resources.reverse()) await (r.stop ?? r.close)!.call(r);
  }
}

const counter = async (p: Pushing, name: string, labels: Record<string, string> = {}): Promise<number> => sampleValue(await p.metrics(), name, { exporter: 'otlp', ...labels }) ?? NaN;

describe('otlp exporter: what goes on the wire', () => {
  it('sends the same ExportMetricsServiceRequest as the otlphttp exporter, summaries and histograms included', async () => {
    const grpc = await startGrpcReceiver();
    const http = await startReceiver();
    const p = await startPushing(
      demo,
      pipelineYaml(
        {
          otlp: `endpoint: ${grpc.address}\ntls: { insecure: true }`,
          otlphttp: `metrics_endpoint: ${http.url}\nencoding: proto`,
        },
        { interval: '300ms' },
      ),
    );
    await using([grpc, http, p], async () => {
      await until(() => grpc.received.length >= 3 && http.received.length >= 3, 'three requests at each receiver');
      for (let k = 0; k < 3; k++) {
        const g = grpc.received[k]!;
        const h = http.received[k]!;
        assert.equal(g.bytes.length, h.rawBytes, `request ${k}: as many protobuf bytes over gRPC as over HTTP`);
        assert.deepEqual(g.request, h.request, `request ${k}: the same request, decoded`);
      }
      const types = new Set(flatten(grpc.received[0]!.request!).map((p) => p.type));
      assert.deepEqual([...types].sort(), ['gauge', 'histogram', 'sum', 'summary'], 'every kind of metric, summaries included');
      assert.ok(grpc.calls.every((c) => c.answer === 'ok'));
    });
  });

  it('compression gzip (the default) sends grpc-encoding gzip; none sends the message uncompressed', async () => {
    for (const [setting, expected] of [
      ['', 'gzip'],
      ['compression: gzip', 'gzip'],
      ['compression: none', undefined],
    ] as const) {
      const grpc = await startGrpcReceiver();
      const p = await pushOnce(grpc, setting);
      await using([grpc, p], async () => {
        await grpc.waitFor(1);
        const encoding = grpc.calls[0]!.encoding;
        if (expected) assert.equal(encoding, expected, `${setting || 'default'}: grpc-encoding`);
        else assert.ok(encoding === undefined || encoding === 'identity', `${setting}: no compression (grpc-encoding ${encoding})`);
        assert.ok(grpc.received[0]!.request!.resourceMetrics.length > 0, 'the server decoded it');
      });
    }
  });

  it('sends `headers` as call metadata', async () => {
    const grpc = await startGrpcReceiver();
    const p = await pushOnce(grpc, 'headers:\n  Authorization: Bearer s3cr3t\n  x-scope-orgid: tenant-1');
    await using([grpc, p], async () => {
      await grpc.waitFor(1);
      const md = grpc.calls[0]!.metadata;
      assert.equal(md['authorization'], 'Bearer s3cr3t');
      assert.equal(md['x-scope-orgid'], 'tenant-1');
      assert.match(md['user-agent'] ?? '', /^kata-otel-monitor\/\S+ grpc-node-js\//);
    });
  });
});

describe('otlp exporter: endpoints and TLS, as the collector reads them', () => {
  let ca: TestCa;
  let localhost: ServerCert;
  let backend: ServerCert;
  let stranger: ServerCert;
  before(() => {
    ca = makeCa();
    localhost = ca.issue('localhost', { dns: ['localhost'], ip: ['127.0.0.1'] });
    backend = ca.issue('backend.test', { dns: ['backend.test'] });
    // Signed by a CA nobody is told about.
    const other = makeCa();
    stranger = other.issue('localhost', { ip: ['127.0.0.1'] });
    other.remove();
  });
  after(() => ca.remove());

  const delivers = async (receiver: GrpcReceiver, endpoint: string, settings = ''): Promise<void> => {
    const p = await pushOnce(receiver, `${settings}\n${FAST_RETRY}`, endpoint);
    await using([p], () => receiver.waitFor(1));
  };

  it('host:port with tls.insecure: plaintext', async () => {
    const grpc = await startGrpcReceiver();
    await using([grpc], () => delivers(grpc, `${grpc.address}\ntls: { insecure: true }`));
  });

  it('http://host:port: plaintext, with or without tls.insecure (a collector config for plaintext sets both)', async () => {
    const [a, b] = [await startGrpcReceiver(), await startGrpcReceiver()];
    await using([a, b], async () => {
      await delivers(a, `http://${a.address}`);
      await delivers(b, `http://${b.address}\ntls: { insecure: true }`);
    });
    const r = parseConfigFor(undefined, pipelineYaml({ otlp: 'endpoint: http://127.0.0.1:4317' }));
    assert.ok(r.ok, r.ok ? '' : r.errors.join('\n'));
    assert.deepEqual(r.warnings, []);
  });

  it('https:// with a self-signed CA in tls.ca_file', async () => {
    const grpc = await startGrpcReceiver({ tls: localhost });
    await using([grpc], () => delivers(grpc, `https://${grpc.address}\ntls: { ca_file: ${ca.caFile} }`));
  });

  it('host:port without tls.insecure is TLS (the collector\'s default), verified against tls.ca_file', async () => {
    const grpc = await startGrpcReceiver({ tls: localhost });
    await using([grpc], () => delivers(grpc, `${grpc.address}\ntls: { ca_file: ${ca.caFile} }`));
  });

  it('tls.insecure with a tls.ca_file is still TLS (as in the collector: a CA turns TLS on)', async () => {
    const grpc = await startGrpcReceiver({ tls: localhost });
    await using([grpc], () => delivers(grpc, `${grpc.address}\ntls: { insecure: true, ca_file: ${ca.caFile} }`));
  });

  it('a certificate from an unknown CA: refused (logged, retried, nothing sent), accepted with insecure_skip_verify', async () => {
    const grpc = await startGrpcReceiver({ tls: stranger });
    await using([grpc], async () => {
      const refused = await pushOnce(grpc, FAST_RETRY, `https://${grpc.address}`);
      await using([refused], async () => {
        const line = await until(() => logged(refused.lines, 'OTLP export failed; will retry')[0], 'a failed attempt logged');
        assert.match(String(line['error']), /^gRPC UNAVAILABLE: .*certificate/i);
        assert.equal(grpc.calls.length, 0, 'no call reached the server');
      });
      await delivers(grpc, `https://${grpc.address}\ntls: { insecure_skip_verify: true }`);
    });
  });

  it('server_name_override: the certificate is checked against that name (and sent as :authority)', async () => {
    const grpc = await startGrpcReceiver({ tls: backend });
    await using([grpc], async () => {
      const mismatch = await pushOnce(grpc, `${FAST_RETRY}`, `${grpc.address}\ntls: { ca_file: ${ca.caFile} }`);
      await using([mismatch], async () => {
        const line = await until(() => logged(mismatch.lines, 'OTLP export failed; will retry')[0], 'a failed attempt logged');
        assert.match(String(line['error']), /^gRPC UNAVAILABLE: .*(altnames|does not match)/i);
      });
      await delivers(grpc, `${grpc.address}\ntls: { ca_file: ${ca.caFile}, server_name_override: backend.test }`);
      assert.equal(grpc.received[0]!.authority, 'backend.test');
    });
  });
});

describe('otlp exporter: answers, as the OTLP specification says', () => {
  const RETRYABLE = [Status.UNAVAILABLE, Status.ABORTED, Status.CANCELLED, Status.DEADLINE_EXCEEDED, Status.OUT_OF_RANGE, Status.DATA_LOSS];
  for (const code of RETRYABLE) {
    it(`${Status[code]}: retried, the same batch delivered on the next attempt`, async () => {
      const grpc = await startGrpcReceiver({ behaviour: (n) => (n === 0 ? { kind: 'fail', code } : {}) });
      const p = await pushOnce(grpc, FAST_RETRY);
      await using([grpc, p], async () => {
        await grpc.waitFor(1);
        assert.deepEqual(
          grpc.calls.map((c) => c.answer),
          [Status[code], 'ok'],
        );
        assert.ok(grpc.calls[1]!.bytes.equals(grpc.calls[0]!.bytes), 'the same request again');
        assert.equal(logged(p.lines, 'OTLP export failed; will retry', { error: new RegExp(`^gRPC ${Status[code]}: scripted`) }).length, 1);
        await until(async () => (await counter(p, 'kata_monitor_otlp_sent_batches_total')) === 1, 'the batch counted as sent');
        assert.equal(await counter(p, 'kata_monitor_otlp_failed_sends_total'), 1);
        assert.equal(await counter(p, 'kata_monitor_otlp_dropped_batches_total', { reason: 'rejected' }), 0);
      });
    });
  }

  it('RESOURCE_EXHAUSTED without RetryInfo: dropped, counted and logged', async () => {
    const grpc = await startGrpcReceiver({ behaviour: () => ({ kind: 'fail', code: Status.RESOURCE_EXHAUSTED, message: 'quota' }) });
    const p = await pushOnce(grpc, FAST_RETRY);
    await using([grpc, p], async () => {
      await until(async () => (await counter(p, 'kata_monitor_otlp_dropped_batches_total', { reason: 'rejected' })) === 1, 'the batch dropped as rejected');
      assert.equal(grpc.calls.length, 1, 'not retried');
      assert.equal(await counter(p, 'kata_monitor_otlp_queue_batches'), 0, 'nothing left to retry');
      assert.equal(logged(p.lines, 'OTLP export rejected', { error: 'gRPC RESOURCE_EXHAUSTED: quota' }).length, 1);
    });
  });

  for (const code of [Status.RESOURCE_EXHAUSTED, Status.UNAVAILABLE]) {
    it(`${Status[code]} with RetryInfo: retried no sooner than the server asked (beyond max_interval)`, async () => {
      const DELAY = 1500;
      const grpc = await startGrpcReceiver({ behaviour: (n) => (n === 0 ? { kind: 'fail', code, retryDelayMs: DELAY } : {}) });
      const p = await pushOnce(grpc, FAST_RETRY);
      await using([grpc, p], async () => {
        await grpc.waitFor(1);
        assert.equal(grpc.calls.length, 2);
        const waited = grpc.calls[1]!.at - grpc.calls[0]!.at;
        assert.ok(waited >= DELAY - 20, `the retry came ${waited} ms after the failure`);
        const line = logged(p.lines, 'OTLP export failed; will retry')[0];
        assert.equal(line?.['retryInMs'], DELAY, 'the delay the server asked for, though max_interval is 100ms');
      });
    });
  }

  const PERMANENT = [Status.INVALID_ARGUMENT, Status.PERMISSION_DENIED, Status.UNAUTHENTICATED, Status.NOT_FOUND, Status.FAILED_PRECONDITION, Status.UNIMPLEMENTED, Status.INTERNAL, Status.UNKNOWN];
  for (const code of PERMANENT) {
    it(`${Status[code]}: the batch is dropped, counted as rejected and logged with the status`, async () => {
      const grpc = await startGrpcReceiver({ behaviour: () => ({ kind: 'fail', code, message: 'no thanks' }) });
      const p = await pushOnce(grpc, FAST_RETRY);
      await using([grpc, p], async () => {
        await until(async () => (await counter(p, 'kata_monitor_otlp_dropped_batches_total', { reason: 'rejected' })) === 1, 'the batch dropped as rejected');
        assert.equal(grpc.calls.length, 1, 'not retried');
        assert.equal(await counter(p, 'kata_monitor_otlp_queue_batches'), 0);
        assert.ok((await counter(p, 'kata_monitor_otlp_dropped_points_total', { reason: 'rejected' })) > 0, 'its points counted');
        assert.equal(logged(p.lines, 'OTLP export rejected', { error: `gRPC ${Status[code]}: no thanks` }).length, 1);
        assert.equal(logged(p.lines, 'OTLP batch dropped', { reason: 'rejected' }).length, 1);
      });
    });
  }

  it('partial_success: logged and its rejected points counted; the batch is not sent again', async () => {
    const answer: GrpcAnswer = { partial: { rejected: 7, message: 'seven points too old' } };
    const grpc = await startGrpcReceiver({ behaviour: () => answer });
    const p = await pushOnce(grpc, FAST_RETRY);
    await using([grpc, p], async () => {
      await until(async () => (await counter(p, 'kata_monitor_otlp_rejected_points_total')) === 7, 'the rejected points counted');
      assert.equal(grpc.calls.length, 1);
      assert.equal(await counter(p, 'kata_monitor_otlp_sent_batches_total'), 1, 'the batch counts as sent');
      assert.equal(logged(p.lines, 'OTLP export partly rejected by the backend', { rejected_data_points: 7, error: 'seven points too old' }).length, 1);
    });
  });

  it('a backend that is down (nothing listening), then up on its port: the queued batches go out once it is back, in order', async () => {
    const port = await freePort();
    const p = await startPushing(demo, pipelineYaml({ otlp: `endpoint: 127.0.0.1:${port}\ntls: { insecure: true }\n${FAST_RETRY}` }, { interval: '200ms' }));
    let grpc: GrpcReceiver | undefined;
    try {
      await until(() => logged(p.lines, 'OTLP export failed; will retry', { error: /^gRPC UNAVAILABLE/ }).length >= 10, 'ten failed attempts');
      const queued = await counter(p, 'kata_monitor_otlp_queue_batches');
      assert.ok(queued >= 2, `${queued} batches waiting`);
      grpc = await startGrpcReceiver({ port });
      await grpc.waitFor(queued + 1, 20_000);
      const times = grpc.received.map((c) => Math.max(...flatten(c.request!).map((x) => Number(BigInt(x.point.timeUnixNano ?? '0') / 1_000_000n))));
      for (let k = 1; k < times.length; k++) assert.ok(times[k]! > times[k - 1]!, 'in push order');
    } finally {
      await p.stop();
      await grpc?.close();
    }
  });

  it('timeout: a server that does not answer is cut at the deadline (DEADLINE_EXCEEDED) and the batch retried', async () => {
    const grpc = await startGrpcReceiver({ behaviour: (n) => (n === 0 ? { kind: 'hang' } : {}) });
    const p = await pushOnce(grpc, `timeout: 300ms\n${FAST_RETRY}`);
    await using([grpc, p], async () => {
      await grpc.waitFor(1);
      assert.deepEqual(
        grpc.calls.map((c) => c.answer),
        ['hung', 'ok'],
      );
      assert.equal(logged(p.lines, 'OTLP export failed; will retry', { error: /^gRPC DEADLINE_EXCEEDED/ }).length, 1);
      assert.ok(grpc.calls[1]!.bytes.equals(grpc.calls[0]!.bytes), 'the same request again');
    });
  });
});
