// SnapshotSource.read: readers of one fan-out share it, and its bodies are
// freed the moment the last reader is done (not at the next major GC). And
// what a scrape makes of each body: scanned with the scrape limits, a body
// over a limit (or malformed) is that sandbox's error, never the others'.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { SandboxRegistry } from '../../src/discovery/registry.ts';
import { createLogger } from '../../src/log/logger.ts';
import { Scraper } from '../../src/scrape/scraper.ts';
import type { SandboxScrape, Snapshot } from '../../src/scrape/snapshot.ts';
import { NO_LIMITS, type ScanLimits } from '../../src/exposition/scan.ts';
import { startFakeShim, type FakeShim } from '../support/fake-shim.ts';
import { makeTempDir, startRawServer } from '../shim/helpers.ts';

const BODY = '# HELP kata_hypervisor_fds Open FDs.\n# TYPE kata_hypervisor_fds gauge\nkata_hypervisor_fds 42\n';
const ID = 'a'.repeat(64);
const SHIM = { timeoutMs: 2000, maxBodyBytes: 1 << 20, concurrency: 4 };
const quiet = () => createLogger({ level: 'error', write: () => {} });

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
    scraper = new Scraper({ registry, roots: [tmp.dir], shim: SHIM, limits: NO_LIMITS, logger: quiet() });
  });
  after(async () => {
    await shim.close();
    tmp.cleanup();
  });

  const bodyOf = (s: Snapshot): Buffer => s.sandboxes[0]!.scan!.body;

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
    assert.equal(seen!.sandboxes[0]!.scan!.rec.length, 0, 'the index too');
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

  test('the reason a fan-out ran is the first reader’s; one joining it shares its snapshot', async () => {
    const first = scraper.read((s) => s, 'push');
    const joined = scraper.read((s) => s, 'metrics request');
    const [a, b] = await Promise.all([first, joined]);
    assert.equal(a, b, 'one fan-out');
    assert.equal(a.reason, 'push');
  });

  test('latest() is the outcome of the last fan-out without its data, so holding it never holds (or sees freed) bodies', async () => {
    const read = await scraper.read((s) => s.sandboxes[0]!.sampleCount);
    assert.equal(read, 1);
    const latest = scraper.latest()!;
    assert.equal(latest.sandboxes.length, 1);
    const sb = latest.sandboxes[0]!;
    assert.equal(sb.sandbox.id, ID);
    assert.equal(sb.sampleCount, 1);
    assert.equal(sb.error, undefined);
    assert.ok(!('scan' in sb), 'no data kept between fan-outs');
  });
});

describe('Scraper: each body is scanned with the scrape limits', { timeout: 20_000 }, () => {
  const tmp = makeTempDir('kscl-');
  const ids = { ok: '1'.repeat(64), many: '2'.repeat(64), wide: '3'.repeat(64), broken: '4'.repeat(64), rewritten: '5'.repeat(64) };
  const bodies: Record<keyof typeof ids, string> = {
    ok: '# TYPE g gauge\ng{a="1"} 1\ng{a="2"} 2\n',
    many: '# TYPE g gauge\n' + Array.from({ length: 4 }, (_, i) => `g{i="${i}"} ${i}\n`).join(''),
    wide: `# TYPE g gauge\ng{a="${'v'.repeat(40)}",long_label_name="x"} 1\n`,
    broken: '# TYPE g gauge\ng{a="1"} one\n',
    rewritten: '# TYPE g gauge\ng{a="1"}  1.0\n',
  };
  const shims: FakeShim[] = [];
  let registry: SandboxRegistry;
  const logged: string[] = [];

  before(async () => {
    registry = new SandboxRegistry([tmp.dir]);
    for (const [k, id] of Object.entries(ids) as [keyof typeof ids, string][]) {
      shims.push(await startFakeShim({ socketPath: join(tmp.dir, id, 'shim-monitor.sock'), metrics: () => bodies[k] }));
      registry.add(id, tmp.dir);
    }
  });
  after(async () => {
    await Promise.all(shims.map((s) => s.close()));
    tmp.cleanup();
  });

  const scrape = (limits: ScanLimits): Promise<Map<string, SandboxScrape>> => {
    const logger = createLogger({ level: 'warn', write: (line: string) => void logged.push(line) });
    const scraper = new Scraper({ registry, roots: [tmp.dir], shim: SHIM, limits, logger });
    return scraper.read((s) => new Map(s.sandboxes.map((sb) => [sb.sandbox.id, { ...sb, ...(sb.scan && { scan: { ...sb.scan, body: Buffer.from(sb.scan.body) } }) }])));
  };

  test('a body over sample_limit is refused as a whole: the sandbox has an error of that kind and no data; the others are served', async () => {
    const got = await scrape({ ...NO_LIMITS, sampleLimit: 3 });
    const many = got.get(ids.many)!;
    assert.equal(many.error?.kind, 'sample_limit');
    assert.equal(many.error?.message, 'over a scrape limit: line 5: more than 3 samples (sample_limit)');
    assert.equal(many.scan, undefined);
    assert.equal(many.sampleCount, 0);
    const ok = got.get(ids.ok)!;
    assert.equal(ok.error, undefined);
    assert.equal(ok.sampleCount, 2);
    assert.equal(ok.scan?.body.toString(), bodies.ok);
    assert.ok(logged.some((l) => l.includes('failed to get metrics for sandbox') && l.includes(ids.many) && l.includes('sample_limit')));
  });

  test('label_limit, label_name_length_limit and label_value_length_limit are reported by name, each at its bound', async () => {
    const wide = async (limits: Partial<ScanLimits>): Promise<SandboxScrape> => (await scrape({ ...NO_LIMITS, ...limits })).get(ids.wide)!;
    assert.equal((await wide({ labelLimit: 2 })).error, undefined);
    assert.equal((await wide({ labelLimit: 1 })).error?.message, 'over a scrape limit: line 2: more than 1 labels on one sample (label_limit)');
    assert.equal((await wide({ labelLimit: 1 })).error?.kind, 'label_limit');
    assert.equal((await wide({ labelNameLengthLimit: 15 })).error, undefined);
    assert.equal((await wide({ labelNameLengthLimit: 14 })).error?.kind, 'label_name_length_limit');
    assert.equal((await wide({ labelValueLengthLimit: 40 })).error, undefined);
    const tight = await scrape({ ...NO_LIMITS, labelValueLengthLimit: 39 });
    assert.equal(tight.get(ids.wide)!.error?.message, 'over a scrape limit: line 2: label value of 40 bytes, over the limit of 39 (label_value_length_limit)');
    assert.equal(tight.get(ids.ok)!.error, undefined, 'the other sandboxes are within it');
  });

  test('limits of 0 are no limits', async () => {
    const got = await scrape(NO_LIMITS);
    for (const k of ['ok', 'many', 'wide', 'rewritten'] as const) assert.equal(got.get(ids[k])!.error, undefined, k);
    assert.equal(got.get(ids.many)!.sampleCount, 4);
  });

  test('a malformed body is that sandbox’s error (kind malformed), with the line Go’s parser names', async () => {
    const broken = (await scrape(NO_LIMITS)).get(ids.broken)!;
    assert.equal(broken.error?.kind, 'malformed');
    assert.equal(broken.error?.message, 'malformed metrics body: line 2: expected float as value, got "one"');
    assert.equal(broken.scan, undefined);
  });

  test('a body Go would rewrite is kept in the form Go writes it', async () => {
    const rewritten = (await scrape(NO_LIMITS)).get(ids.rewritten)!;
    assert.equal(rewritten.scan?.normalized, true);
    assert.equal(rewritten.scan?.body.toString(), '# TYPE g gauge\ng{a="1"} 1\n');
  });
});
