import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client, credentials, Metadata, status } from '@grpc/grpc-js';
import { CriClient, CriError } from '../../src/cri/client.ts';
import { criService, type ListPodSandboxRequestWire, type PodSandboxWire } from '../../src/cri/proto.ts';
import { FakeCriServer } from '../support/fake-cri.ts';
import { tempDir } from '../discovery/helpers.ts';

async function fixture(options: { delayMs?: number; tcpPort?: number } = {}) {
  const tmp = await tempDir('kata-cri-');
  const fake = await FakeCriServer.start({ socketPath: path.join(tmp.dir, 'cri.sock'), ...options });
  const clients: CriClient[] = [];
  return {
    fake,
    client(timeoutMs = 2_000, endpoint = fake.endpoint): CriClient {
      const c = new CriClient({ endpoint, timeoutMs });
      clients.push(c);
      return c;
    },
    async [Symbol.asyncDispose]() {
      for (const c of clients) c.close();
      await fake.stop();
      await tmp[Symbol.asyncDispose]();
    },
  };
}

/** One ListPodSandbox call sent by hand, bypassing CriClient: what the server answers to `request`. */
function rawList(endpoint: string, request: ListPodSandboxRequestWire): Promise<PodSandboxWire[]> {
  const { listPodSandbox: method } = criService();
  const client = new Client(endpoint, credentials.createInsecure());
  return new Promise<PodSandboxWire[]>((resolve, reject) => {
    client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, new Metadata(), { deadline: Date.now() + 2_000 }, (err, response) =>
      err ? reject(err) : resolve(response?.items ?? []),
    );
  }).finally(() => client.close());
}

async function rejectsWith(p: Promise<unknown>, code: CriError['code'], message: RegExp): Promise<CriError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CriError, `expected a CriError, got ${String(err)}`);
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return err;
  }
  assert.fail('expected the call to fail');
}

describe('CriClient.listReadyPodSandboxes against a CRI server on a unix socket', () => {
  test('sends state = SANDBOX_READY, so NOTREADY pods are not returned; id and metadata are decoded', async () => {
    await using f = await fixture();
    f.fake.setPods([
      { id: 'kata-1', name: 'web', uid: 'u-1', namespace: 'default', attempt: 2, labels: { app: 'web' }, createdAtNs: 1_700_000_000_123_456_789n },
      { id: 'gone', name: 'old', uid: 'u-2', namespace: 'default', state: 'SANDBOX_NOTREADY' },
      { id: 'runc-1', name: 'db', uid: 'u-3', namespace: 'prod', runtimeHandler: 'runc' },
    ]);

    const pods = await f.client().listReadyPodSandboxes();

    assert.deepEqual(
      f.fake.requests.map(({ at: _, ...r }) => r),
      [{ stateFilter: 'SANDBOX_READY', idFilter: '', labelSelector: {} }],
    );
    assert.deepEqual(pods.map((p) => p.id), ['kata-1', 'runc-1']);
    // Exactly id and metadata: the other CRI fields are not carried along.
    assert.deepEqual(pods, [
      { id: 'kata-1', metadata: { name: 'web', uid: 'u-1', namespace: 'default', attempt: 2 } },
      { id: 'runc-1', metadata: { name: 'db', uid: 'u-3', namespace: 'prod', attempt: 0 } },
    ]);
  });

  test('the READY filter is what leaves NOTREADY pods out: the same server asked without it returns every pod', async () => {
    await using f = await fixture();
    f.fake.setPods([{ id: 'a' }, { id: 'b', state: 'SANDBOX_NOTREADY' }]);
    assert.deepEqual((await f.client().listReadyPodSandboxes()).map((p) => p.id), ['a']);
    const unfiltered = await rawList(f.fake.endpoint, { filter: { id: '', labelSelector: {} } });
    assert.deepEqual(unfiltered.map((p) => `${p.id}:${p.state}`), ['a:SANDBOX_READY', 'b:SANDBOX_NOTREADY']);
    assert.deepEqual(f.fake.requests.map((r) => r.stateFilter), ['SANDBOX_READY', undefined]);
  });

  test('works over tcp://127.0.0.1:port too', async () => {
    await using f = await fixture({ tcpPort: 0 });
    f.fake.setPods([{ id: 'a' }]);
    const pods = await f.client(2_000, f.fake.tcpEndpoint).listReadyPodSandboxes();
    assert.deepEqual(pods.map((p) => p.id), ['a']);
  });

  test('a slow runtime fails the call at the deadline with code "timeout"', async () => {
    await using f = await fixture({ delayMs: 1_000 });
    const started = performance.now();
    await rejectsWith(f.client(100).listReadyPodSandboxes(), 'timeout', /did not answer within 100 ms/);
    const took = performance.now() - started;
    assert.ok(took >= 90 && took < 800, `took ${took} ms`);
  });

  test('a missing socket fails fast with code "unavailable" and says what to check', async () => {
    await using tmp = await tempDir('kata-cri-');
    const client = new CriClient({ endpoint: `unix://${tmp.dir}/nothing.sock`, timeoutMs: 2_000 });
    const started = performance.now();
    const err = await rejectsWith(client.listReadyPodSandboxes(), 'unavailable', /make sure the endpoint exists .* you run as root/);
    assert.equal(err.grpcCode, status.UNAVAILABLE);
    assert.ok(performance.now() - started < 1_000, 'does not wait for a connection');
    client.close();
  });

  test('other gRPC failures are code "other" with the status name', async () => {
    await using f = await fixture();
    f.fake.failWith({ code: status.PERMISSION_DENIED, message: 'nope' });
    await rejectsWith(f.client().listReadyPodSandboxes(), 'other', /PERMISSION_DENIED: nope/);
    f.fake.failWith({ code: status.UNIMPLEMENTED, message: 'unknown service' });
    await rejectsWith(f.client().listReadyPodSandboxes(), 'other', /does not serve CRI runtime\.v1/);
  });

  test('after the runtime restarts (even after a long outage), the next call succeeds', async () => {
    await using f = await fixture();
    f.fake.setPods([{ id: 'a' }]);
    const client = f.client(500);
    assert.equal((await client.listReadyPodSandboxes()).length, 1);

    await f.fake.stop();
    // Several failures in a row: grpc-js alone would now be in reconnect backoff.
    for (let i = 0; i < 5; i++) {
      await rejectsWith(client.listReadyPodSandboxes(), 'unavailable', /cannot reach/);
      await new Promise((r) => setTimeout(r, 20));
    }
    await f.fake.restart();

    assert.deepEqual((await client.listReadyPodSandboxes()).map((p) => p.id), ['a']);
    assert.equal(f.fake.calls, 2);
  });

  test('many calls reuse the channel and a closed client refuses calls', async () => {
    await using f = await fixture();
    f.fake.setPods([{ id: 'a' }]);
    const client = f.client();
    const results = await Promise.all(Array.from({ length: 20 }, () => client.listReadyPodSandboxes()));
    assert.equal(results.flat().length, 20);
    client.close();
    await rejectsWith(client.listReadyPodSandboxes(), 'other', /closed/);
  });
});
