// The compiled command (what package.json's bin and the container run:
// dist/src/bin.js, built by `tsc -p tsconfig.build.json`) on a Node.js older
// than the dependencies need stops at once with one line: the Node it needs,
// the one it found, and how to get the right one; not with a stack trace
// from deep inside a dependency. The machine's own Node (found on PATH, not
// the project's node_modules/.bin/node) is used when it is older; without
// one, the check is skipped with a notice.

import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { before, describe, it } from 'node:test';
import { NEEDED_NODE } from '../../src/node-check.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = path.join(REPO, 'dist', 'src', 'bin.js');

/** The Node.js binaries on PATH and in the usual places, the project's own (node_modules/.bin) left out. */
function machineNodes(): { file: string; version: string }[] {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), '/usr/local/bin', '/usr/bin', '/bin'].filter((d) => d !== '' && !d.includes('node_modules'));
  const seen = new Set<string>();
  const out: { file: string; version: string }[] = [];
  for (const dir of dirs) {
    const file = path.join(dir, 'node');
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const r = spawnSync(file, ['--version'], { encoding: 'utf8' });
    if (r.status === 0) out.push({ file, version: r.stdout.trim().replace(/^v/, '') });
  }
  return out;
}

const older = (version: string): boolean => {
  const [major = 0, minor = 0] = version.split('.').map(Number);
  return major < NEEDED_NODE[0] || (major === NEEDED_NODE[0] && minor < NEEDED_NODE[1]);
};

describe('the compiled kata-monitor on an older Node.js', { timeout: 180_000 }, () => {
  const old = machineNodes().find((n) => older(n.version));

  before(() => {
    // The build the package ships; tsc writes what it can even when another file fails to type-check.
    const tsc = path.join(REPO, 'node_modules', 'typescript', 'bin', 'tsc');
    try {
      execFileSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: REPO, stdio: 'pipe' });
    } catch (e) {
      if (!existsSync(BIN)) throw e;
    }
  });

  it('runs on this Node (the one it needs)', () => {
    const r = spawnSync(process.execPath, [BIN, 'version'], { cwd: REPO, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /^kata-monitor\n Version:\t/);
  });

  it('exits 1 with one line naming the Node it needs, the one it found, and how to get it', (t) => {
    if (!old) {
      t.skip(`no Node.js older than ${NEEDED_NODE.join('.')} on this machine (found: ${machineNodes().map((n) => `${n.file} ${n.version}`).join(', ') || 'none'})`);
      return;
    }
    t.diagnostic(`${old.file} is Node.js ${old.version}`);
    const runs: string[][] = [['-demo'], ['metrics'], ['--version'], []];
    for (const args of runs) {
      const r: SpawnSyncReturns<string> = spawnSync(old.file, [BIN, ...args], { cwd: REPO, encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 1, `${args.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '');
      const lines = r.stderr.split('\n');
      assert.equal(lines.length, 2, `one line, then the end: ${JSON.stringify(r.stderr)}`);
      assert.equal(lines[1], '');
      const line = lines[0]!;
      assert.ok(line.startsWith(`kata-monitor: needs Node.js >= ${NEEDED_NODE.join('.')}, found ${old.version}; `), line);
      assert.match(line, /install Node\.js 24$/, 'how to get it');
      assert.match(line, /npx kata-monitor/, 'or how the project runs its own');
    }
  });
});
