import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { SandboxRegistry } from '../../src/discovery/registry.ts';
import { SandboxWatcher } from '../../src/discovery/watcher.ts';
import { CriClient } from '../../src/cri/client.ts';
import { MetadataSync } from '../../src/cri/metadata-sync.ts';
import { FakeCriServer, type FakePod } from '../support/fake-cri.ts';
import { tempDir, waitFor } from '../discovery/helpers.ts';

const FIRST_DELAY_MS = 150;
const RESYNC_MS = 100;

const kataPod = (id: string): FakePod => ({ id, name: `pod-${id}`, uid: `uid-${id}`, namespace: 'ns' });

/** A registry, a fake CRI on a unix socket (started or not), a client and the sync loop. */
async function fixture(options: { pods?: FakePod[]; criUp?: boolean; sandboxes?: string[]; firstLookupDelayMs?: number } = {}) {
  const tmp = await tempDir('kata-sync-');
  const socketPath = path.join(tmp.dir, 'cri.sock');
  let fake: FakeCriServer | undefined;
  if (options.criUp ?? true) fake = await FakeCriServer.start({ socketPath, pods: options.pods ?? [] });
  const registry = new SandboxRegistry();
  for (const id of options.sandboxes ?? []) registry.add(id, '/run/vc/sbs');
  const client = new CriClient({ endpoint: `unix://${socketPath}`, timeoutMs: 500 });
  const sync = new MetadataSync({ registry, cri: client, firstLookupDelayMs: options.firstLookupDelayMs ?? FIRST_DELAY_MS, resyncIntervalMs: RESYNC_MS });
  return {
    tmp,
    socketPath,
    registry,
    sync,
    get fake(): FakeCriServer {
      assert.ok(fake, 'fake CRI not started');
      return fake;
    },
    async startCri(pods: FakePod[]): Promise<FakeCriServer> {
      fake = await FakeCriServer.start({ socketPath, pods });
      return fake;
    },
    async [Symbol.asyncDispose]() {
      await sync.stop();
      client.close();
      await fake?.stop();
      await tmp[Symbol.asyncDispose]();
    },
  };
}

describe('MetadataSync', () => {
  test('sandboxes present at start get their metadata from the first call, without waiting', async () => {
    // A first-lookup delay far longer than the wait: metadata can only come from the start-up call.
    await using f = await fixture({ pods: [kataPod('sb-1')], sandboxes: ['sb-1'], firstLookupDelayMs: 60_000 });
    f.sync.start();
    await waitFor('metadata of sb-1', () => f.registry.get('sb-1')?.metadataKnown === true, 3_000);
    assert.equal(f.fake.calls, 1);
    assert.deepEqual(f.registry.get('sb-1')?.metadata, { uid: 'uid-sb-1', name: 'pod-sb-1', namespace: 'ns' });
    const s = f.sync.status();
    assert.equal(s.connected, true);
    assert.equal(s.pending, 0);
    assert.equal(s.lastError, undefined);
    assert.ok(s.lastSuccessAt !== undefined && Date.now() - s.lastSuccessAt < 1_000);
  });

  test('a new sandbox is first looked up firstLookupDelayMs after it appears', async () => {
    await using f = await fixture({ pods: [kataPod('sb-new')] });
    f.sync.start();
    await waitFor('the start-up call', () => f.sync.status().connected);

    const appeared = Date.now();
    f.registry.add('sb-new', '/run/vc/sbs', appeared);
    assert.equal(f.sync.status().pending, 1);

    await waitFor('metadata of sb-new', () => f.registry.get('sb-new')?.metadataKnown === true, 3_000);
    assert.equal(f.fake.calls, 2);
    const lookedUpAfter = f.fake.requests[1]!.at - appeared;
    assert.ok(lookedUpAfter >= FIRST_DELAY_MS, `looked up ${lookedUpAfter} ms after it appeared`);
  });

  test('a sandbox the runtime does not list yet is retried every resyncIntervalMs until it does', async () => {
    await using f = await fixture({ pods: [], sandboxes: ['sb-1'] });
    f.sync.start();
    await waitFor('three calls', () => f.fake.calls >= 3, 2_000);
    assert.equal(f.registry.get('sb-1')?.metadataKnown, false);
    assert.equal(f.sync.status().pending, 1);

    f.fake.setPods([kataPod('sb-1')]);
    await waitFor('metadata of sb-1', () => f.registry.get('sb-1')?.metadataKnown === true, 3_000);
    const calls = f.fake.calls;
    await new Promise((r) => setTimeout(r, 3 * RESYNC_MS));
    assert.equal(f.fake.calls, calls, 'no more calls once nothing is pending');
  });

  test('a NOTREADY pod gives no metadata (only READY pods are asked for)', async () => {
    await using f = await fixture({ pods: [{ ...kataPod('sb-1'), state: 'SANDBOX_NOTREADY' }], sandboxes: ['sb-1'] });
    f.sync.start();
    await waitFor('two calls', () => f.fake.calls >= 2, 2_000);
    assert.equal(f.registry.get('sb-1')?.metadataKnown, false);
    assert.equal(f.fake.requests[0]?.stateFilter, 'SANDBOX_READY');
  });

  test('a runc pod (no sandbox directory) is never added', async () => {
    await using f = await fixture({ pods: [kataPod('kata-1'), { id: 'runc-1', name: 'db', uid: 'u', namespace: 'ns', runtimeHandler: 'runc' }], sandboxes: ['kata-1'] });
    f.sync.start();
    await waitFor('metadata of kata-1', () => f.registry.get('kata-1')?.metadataKnown === true);
    assert.deepEqual(f.registry.list().map((e) => e.id), ['kata-1']);
    assert.equal(f.registry.has('runc-1'), false);
  });

  test('a sandbox removed before its first lookup is not looked up', async () => {
    await using f = await fixture({ pods: [] });
    f.sync.start();
    await waitFor('the start-up call', () => f.fake.calls === 1);
    f.registry.add('short-lived', '/run/vc/sbs');
    f.registry.remove('short-lived');
    await new Promise((r) => setTimeout(r, FIRST_DELAY_MS + RESYNC_MS));
    assert.equal(f.fake.calls, 1);
    assert.equal(f.sync.status().pending, 0);
  });

  test('CRI down at start: the error is reported, and metadata appears once it is up', async () => {
    await using f = await fixture({ criUp: false, sandboxes: ['sb-1'] });
    f.sync.start();
    await waitFor('a failed call', () => f.sync.status().lastError !== undefined);
    const down = f.sync.status();
    assert.equal(down.connected, false);
    assert.match(down.lastError ?? '', /make sure the endpoint exists/);
    assert.equal(down.pending, 1);

    await f.startCri([kataPod('sb-1')]);
    await waitFor('metadata of sb-1', () => f.registry.get('sb-1')?.metadataKnown === true, 3_000);
    const up = f.sync.status();
    assert.equal(up.connected, true);
    assert.equal(up.lastError, undefined);
    assert.equal(up.pending, 0);
  });

  test('CRI restarting: calls fail while it is down, then the next interval succeeds', async () => {
    await using f = await fixture({ pods: [kataPod('sb-1')], sandboxes: ['sb-1'] });
    f.sync.start();
    await waitFor('metadata of sb-1', () => f.registry.get('sb-1')?.metadataKnown === true);

    await f.fake.stop();
    f.registry.add('sb-2', '/run/vc/sbs');
    await waitFor('the lookup of sb-2 failing', () => f.sync.status().connected === false, 2_000);
    f.fake.setPods([kataPod('sb-1'), kataPod('sb-2')]);
    await f.fake.restart();

    await waitFor('metadata of sb-2', () => f.registry.get('sb-2')?.metadataKnown === true, 3_000);
    assert.equal(f.sync.status().connected, true);
  });

  test('a slow CRI call never blocks readers of the registry or of status()', async () => {
    await using f = await fixture({ pods: [kataPod('sb-1')], sandboxes: ['sb-1'] });
    f.fake.delayMs = 300;
    f.sync.start();
    await waitFor('the call in flight', () => f.fake.calls === 1);
    const started = performance.now();
    assert.equal(f.registry.list().length, 1);
    assert.equal(f.sync.status().pending, 1);
    assert.ok(performance.now() - started < 50);
    await waitFor('metadata of sb-1', () => f.registry.get('sb-1')?.metadataKnown === true, 2_000);
  });

  test('with discovery: a sandbox directory created on disk gets its pod metadata', async () => {
    await using f = await fixture({ pods: [kataPod('sb-disk')] });
    const root = path.join(f.tmp.dir, 'sbs');
    await mkdir(root);
    const watcher = new SandboxWatcher({ registry: f.registry, roots: [root], rootRetryIntervalMs: RESYNC_MS });
    await watcher.start();
    try {
      f.sync.start();
      await waitFor('the start-up call', () => f.sync.status().connected);
      const created = Date.now();
      await mkdir(path.join(root, 'sb-disk'));
      await waitFor('metadata of sb-disk', () => f.registry.get('sb-disk')?.metadataKnown === true, 2_000);
      assert.ok(Date.now() - created >= FIRST_DELAY_MS);
      assert.equal(f.registry.get('sb-disk')?.metadata.name, 'pod-sb-disk');
    } finally {
      await watcher.stop();
    }
  });
});
