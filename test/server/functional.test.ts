// Upstream's functional test (tests/functional/kata-monitor), replayed against
// simulated shims and a simulated CRI server on real sockets.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDemo } from '../../src/demo/environment.ts';
import { eventually, startTestDaemon } from '../support/daemon.ts';

test('a sandbox appears, is listed, is scraped with its CRI labels; a runc pod never shows; removal is noticed', async (t) => {
  const demo = await startDemo({ sandboxes: 0 });
  const daemon = await startTestDaemon({ roots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint });
  t.after(async () => {
    await daemon.stop();
    await demo.stop();
  });

  const id = await demo.addSandbox();
  const listed = await eventually(async () => {
    const body = await (await fetch(`${daemon.url}/sandboxes`)).text();
    return body.split('\n').includes(id) ? body : undefined;
  }, 5000, 'the sandbox in /sandboxes');
  assert.equal(listed, `${id}\n`);

  const pod = demo.pods().find((p) => p.id === id)!;
  const lines = await eventually(async () => {
    const text = await (await fetch(`${daemon.url}/metrics`)).text();
    const mine = text.split('\n').filter((l) => l.includes(`sandbox_id="${id}"`) && l.includes(`cri_name="${pod.name}"`));
    return mine.length >= 200 ? mine : undefined;
  }, 5000, '200 labelled lines');
  for (const l of lines) {
    assert.ok(l.includes(`cri_uid="${pod.uid}"`) && l.includes(`cri_namespace="${pod.namespace}"`), l);
  }

  // The runc pod is known to CRI but has no sandbox directory.
  const runc = demo.runcPod;
  const all = await (await fetch(`${daemon.url}/metrics`)).text();
  assert.ok(!all.includes(runc.id));
  assert.ok(!(await (await fetch(`${daemon.url}/sandboxes`)).text()).includes(runc.id));

  await demo.removeSandbox(id);
  await eventually(async () => (await (await fetch(`${daemon.url}/sandboxes`)).text()) === '', 5000, 'the removal');
  const after = await (await fetch(`${daemon.url}/metrics`)).text();
  assert.ok(!after.includes(id));
  assert.match(after, /^kata_monitor_running_shim_count 0$/m);
});
