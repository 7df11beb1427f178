// SnapshotSource.read: readers of one fan-out share it, and its bodies are
// freed the moment the last reader is done (not at the next major GC).

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxRegistry } from '../../src/discovery/registry.ts';
import { createLogger } from '../../src/log/logger.ts';
import { Scraper } from '../../src/scrape/scraper.ts';
import type { Snapshot } from '../../src/scrape/snapshot.ts';
import { makeTempDir, startRawServer } from '../shim/helpers.ts';

const BODY = '# HELP kata_hypervisor_fds Open FDs.\n# TYPE kata_hypervisor_fds gauge\nkata_hypervisor_fds 42\n';
const ID = 'a'.repeat(64);

describe('Scraper.read', { timeout: 20_000 }, () => {
  const tmp = makeTempDir('kscr-');
  let shim: Awaited<ReturnType<typeof startRawServer>>;
  let requests = 0;
  let scraper: Scraper;

  before(async () => {
    mkdirSync(join(tmp.dir, ID));
    shim = await startRawServer(join(tmp.dir, ID, 'shim-monitor.sock'), (s) => {
      s.once('data', () => {
        requests++;
        s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`);
      });
    });
    const registry = new SandboxRegistry([tmp.dir]);
    registry.add(ID, tmp.dir);
    scraper = new Scraper({ registry, roots: [tmp.dir], shim: { timeoutMs: 2000, maxBodyBytes: 1 << 20, concurrency: 4 }, logger: createLogger({ level: 'error', write: () => {} }) });
  });
  after(async () => {
    await shim.close();
    tmp.cleanup();
  });

  const bodyOf = (s: Snapshot): Buffer => s.sandboxes[0]!.body!;

  test('readers joining one fan-out cost the shim one request, and the data stays whole until the last is done', async () => {
    const before = requests;
    let releaseA!: () => void;
    const aMayFinish = new Promise<void>((r) => (releaseA = r));
    let seen: Snapshot | undefined;
    const a = scraper.read(async (s) => {
      seen = s;
      await aMayFinish;
      // B has returned by now: A's view is still whole.
      return bodyOf(s).toString();
    });
    const b = scraper.read((s) => bodyOf(s).toString());
    assert.equal(await b, BODY);
    releaseA();
    assert.equal(await a, BODY);
    assert.equal(requests - before, 1);
    assert.equal(bodyOf(seen!).length, 0, 'freed once the last reader returned');
  });

  test('a reader that throws still frees the snapshot, and its error reaches the caller', async () => {
    let seen: Snapshot | undefined;
    await assert.rejects(
      scraper.read((s) => {
        seen = s;
        throw new Error('reader failed');
      }),
      /reader failed/,
    );
    assert.equal(bodyOf(seen!).length, 0);
  });

  test('a snapshot also handed out by scrape() is never freed under its holder', async () => {
    const read = scraper.read((s) => s);
    const held = await scraper.scrape();
    const viaRead = await read;
    assert.equal(viaRead, held, 'one fan-out');
    assert.equal(bodyOf(held).toString(), BODY);
  });
});
