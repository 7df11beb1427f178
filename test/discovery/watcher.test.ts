import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, rm, rmdir, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { SandboxRegistry } from '../../src/discovery/registry.ts';
import { SandboxWatcher } from '../../src/discovery/watcher.ts';
import { recordingLogger, type LogRecord } from '../support/logger.ts';
import { fdCounts, tempDir, waitFor } from './helpers.ts';

const RETRY_MS = 100;

function ids(registry: SandboxRegistry): string[] {
  return registry.list().map((e) => e.id);
}

/** The records that name `root`, reduced to what a test asserts on. */
function aboutRoot(records: readonly LogRecord[], root: string): { level: string; msg: string; reason?: unknown }[] {
  return records.filter((r) => r.root === root).map(({ level, msg, reason }) => (reason === undefined ? { level, msg } : { level, msg, reason }));
}

function setup(roots: string[], registry = new SandboxRegistry(roots)) {
  const { logger, records } = recordingLogger();
  const watcher = new SandboxWatcher({ registry, roots, rootRetryIntervalMs: RETRY_MS, logger });
  return { registry, watcher, records, [Symbol.asyncDispose]: () => watcher.stop() };
}

describe('SandboxWatcher', () => {
  test('start() resolves after the sandboxes already present are in the registry', async () => {
    await using tmp = await tempDir();
    const go = path.join(tmp.dir, 'vc', 'sbs');
    const rs = path.join(tmp.dir, 'kata');
    await mkdir(path.join(go, 'sb-a'), { recursive: true });
    await mkdir(path.join(go, 'sb-b'));
    await mkdir(path.join(rs, 'sb-c'), { recursive: true });
    await using w = setup([go, rs]);

    await w.watcher.start();

    assert.deepEqual(ids(w.registry), ['sb-a', 'sb-b', 'sb-c']);
    assert.equal(w.registry.get('sb-c')?.root, rs);
    assert.deepEqual(w.watcher.watchedRoots(), [go, rs]);
  });

  test('files and symlinks under a root are not sandboxes', async () => {
    await using tmp = await tempDir();
    const root = path.join(tmp.dir, 'sbs');
    const elsewhere = path.join(tmp.dir, 'elsewhere');
    await mkdir(root);
    await mkdir(elsewhere);
    await writeFile(path.join(root, 'a-file'), 'x');
    await symlink(elsewhere, path.join(root, 'link-to-dir'));
    await using w = setup([root]);
    await w.watcher.start();

    await writeFile(path.join(root, 'another-file'), 'x');
    await symlink(elsewhere, path.join(root, 'another-link'));
    await mkdir(path.join(root, 'real'));

    await waitFor('the real directory', () => w.registry.has('real'));
    await w.watcher.resync();
    assert.deepEqual(ids(w.registry), ['real']);
  });

  test('a root that is a symlink to a directory is watched through the link (e.g. /var/run → /run)', async () => {
    await using tmp = await tempDir();
    const real = path.join(tmp.dir, 'real');
    const link = path.join(tmp.dir, 'link');
    await mkdir(path.join(real, 'sb-pre'), { recursive: true });
    await symlink(real, link);
    await using w = setup([link]);
    await w.watcher.start();
    assert.deepEqual(ids(w.registry), ['sb-pre']);
    assert.equal(w.registry.get('sb-pre')?.root, link, 'sandboxes keep the configured root');

    await mkdir(path.join(real, 'sb-new'));
    await waitFor('sb-new through the link', () => w.registry.has('sb-new'));
  });

  test('a created directory is added and a removed one is removed', async () => {
    await using tmp = await tempDir();
    await using w = setup([tmp.dir]);
    await w.watcher.start();
    const added: string[] = [];
    const removed: string[] = [];
    w.registry.on('added', (e) => added.push(e.id));
    w.registry.on('removed', (e) => removed.push(e.id));

    await mkdir(path.join(tmp.dir, 'sb-1'));
    await waitFor('sb-1 added', () => w.registry.has('sb-1'));
    assert.equal(w.registry.get('sb-1')?.root, tmp.dir);
    assert.equal(w.registry.get('sb-1')?.metadataKnown, false);

    await rmdir(path.join(tmp.dir, 'sb-1'));
    await waitFor('sb-1 removed', () => !w.registry.has('sb-1'));
    assert.deepEqual(added, ['sb-1']);
    assert.deepEqual(removed, ['sb-1']);
  });

  test('directories inside a sandbox are not sandboxes', async () => {
    await using tmp = await tempDir();
    await using w = setup([tmp.dir]);
    await w.watcher.start();

    await mkdir(path.join(tmp.dir, 'sb', 'nested'), { recursive: true });
    await waitFor('sb added', () => w.registry.has('sb'));
    await mkdir(path.join(tmp.dir, 'sb', 'nested2'));
    await w.watcher.resync();
    assert.deepEqual(ids(w.registry), ['sb']);
  });

  test('a root missing at start is attached when it appears, with the sandboxes already in it', async () => {
    await using tmp = await tempDir();
    const present = path.join(tmp.dir, 'present');
    const late = path.join(tmp.dir, 'late', 'sbs');
    await mkdir(present);
    await using w = setup([present, late]);
    await w.watcher.start();
    assert.deepEqual(w.watcher.watchedRoots(), [present]);
    assert.deepEqual(ids(w.registry), [], 'no sandboxes from the missing root');
    // Why it is not watched is logged, and nothing else names it: it was neither read nor attached.
    assert.deepEqual(aboutRoot(w.records, late), [
      { level: 'warning', msg: `cannot watch sandbox root, looking again every ${RETRY_MS / 1000} s`, reason: 'ENOENT' },
    ]);

    await mkdir(path.join(late, 'sb-early'), { recursive: true });
    await waitFor('the late root attached', () => w.watcher.watchedRoots().includes(late), 3_000);
    assert.deepEqual(ids(w.registry), ['sb-early']);

    await mkdir(path.join(late, 'sb-after'));
    await waitFor('a sandbox created after attaching', () => w.registry.has('sb-after'));
  });

  test('a root that is removed drops its sandboxes and is re-attached when it comes back', async () => {
    await using tmp = await tempDir();
    const root = path.join(tmp.dir, 'sbs');
    await mkdir(path.join(root, 'sb-1'), { recursive: true });
    await mkdir(path.join(root, 'sb-2'));
    await using w = setup([root]);
    await w.watcher.start();

    await rm(root, { recursive: true });
    await waitFor('the root no longer watched', () => w.watcher.watchedRoots().length === 0);
    assert.deepEqual(ids(w.registry), [], 'its sandboxes are dropped with it');
    assert.ok(
      w.records.some((r) => r.level === 'warning' && r.msg.startsWith('sandbox root went away') && r.root === root && r.reason === 'ENOENT'),
      'the detach is logged with its reason',
    );

    await mkdir(path.join(root, 'sb-3'), { recursive: true });
    await waitFor('the root re-attached', () => w.watcher.watchedRoots().length === 1, 3_000);
    assert.deepEqual(ids(w.registry), ['sb-3']);
    await mkdir(path.join(root, 'sb-4'));
    await waitFor('events from the new root', () => w.registry.has('sb-4'));
  });

  test('a root replaced at once (rm -rf && mkdir) ends with the new contents', async () => {
    await using tmp = await tempDir();
    const root = path.join(tmp.dir, 'sbs');
    await mkdir(path.join(root, 'old'), { recursive: true });
    await using w = setup([root]);
    await w.watcher.start();

    await rm(root, { recursive: true });
    await mkdir(path.join(root, 'new'), { recursive: true });

    await waitFor('only the new sandbox', () => ids(w.registry).join() === 'new', 3_000);
    await mkdir(path.join(root, 'newer'));
    await waitFor('the replaced root is watched', () => w.registry.has('newer'));
  });

  test('a sandbox under both roots is kept once, under the first root while it is there', async () => {
    await using tmp = await tempDir();
    const go = path.join(tmp.dir, 'go');
    const rs = path.join(tmp.dir, 'rs');
    await mkdir(path.join(go, 'sb'), { recursive: true });
    await mkdir(path.join(rs, 'sb'), { recursive: true });
    await using w = setup([go, rs]);
    await w.watcher.start();
    assert.equal(w.registry.get('sb')?.root, go);

    await rmdir(path.join(go, 'sb'));
    await waitFor('sb now under the second root', () => w.registry.get('sb')?.root === rs);
    await rmdir(path.join(rs, 'sb'));
    await waitFor('sb gone', () => !w.registry.has('sb'));
  });

  test('stop() while a root is missing: nothing is attached afterwards', async () => {
    await using tmp = await tempDir();
    const root = path.join(tmp.dir, 'sbs');
    const w = setup([root]);
    await w.watcher.start();
    await w.watcher.stop();

    await mkdir(path.join(root, 'sb'), { recursive: true });
    await new Promise((r) => setTimeout(r, 3 * RETRY_MS));
    assert.deepEqual(w.watcher.watchedRoots(), []);
    assert.equal(w.registry.list().length, 0);
  });

  test('a burst of 1,000 sandboxes created then removed: registry follows the disk, one inotify watch per root, nothing leaks', async () => {
    await using tmp = await tempDir();
    const root = path.join(tmp.dir, 'sbs');
    await mkdir(root);
    // libuv opens its inotify fd on first use and keeps it: warm it up so the baseline includes it.
    {
      const warm = new SandboxWatcher({ registry: new SandboxRegistry(), roots: [root], rootRetryIntervalMs: RETRY_MS });
      await warm.start();
      await warm.stop();
    }
    const before = fdCounts();
    await using w = setup([root]);
    await w.watcher.start();
    const names = Array.from({ length: 1000 }, (_, i) => `sb-${String(i).padStart(4, '0')}`);

    await Promise.all(names.map((n) => mkdir(path.join(root, n))));
    await waitFor('1,000 sandboxes', () => w.registry.list().length === 1000, 5_000);
    const during = fdCounts();
    assert.equal(during.inotifyWatches, before.inotifyWatches + 1, 'one watch for the root, none per sandbox');

    // Remove half, re-create a quarter of them, remove everything else: a racy mix of events.
    await Promise.all(names.slice(0, 500).map((n) => rmdir(path.join(root, n))));
    await Promise.all(names.slice(0, 250).map((n) => mkdir(path.join(root, n))));
    await waitFor('750 sandboxes', () => w.registry.list().length === 750, 5_000);
    assert.deepEqual(ids(w.registry), [...names.slice(0, 250), ...names.slice(500)]);
    await Promise.all([...names.slice(0, 250), ...names.slice(500)].map((n) => rmdir(path.join(root, n))));
    await waitFor('no sandboxes', () => w.registry.list().length === 0, 5_000);
    await w.watcher.resync();
    assert.equal(w.registry.list().length, 0);

    await w.watcher.stop();
    const after = fdCounts();
    assert.equal(after.inotifyWatches, before.inotifyWatches, 'inotify watches released');
    assert.equal(after.fds, before.fds, 'file descriptors released');
  });
});
