// Test peers written in Go (the expfmt oracle, a minimal OpenTelemetry
// Collector) are built from their own modules under test/interop/, with Go's
// module and build caches doing the caching: a second build is a link. On a
// machine without Go the tests that need a peer are skipped with a notice,
// except under CI (CI=true), where .ci/run has built them already and a
// missing Go is a failure.

import { execFile } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { TestContext } from 'node:test';

const run = promisify(execFile);

/** Where built peers go (ignored by git). */
export const BIN_DIR = fileURLToPath(new URL('../../../test-output/interop-bin/', import.meta.url));
/** test/interop/ */
export const INTEROP_DIR = fileURLToPath(new URL('../', import.meta.url));

let goFound: Promise<string | undefined> | undefined;

/** The go command, or undefined when this machine has none. */
export function findGo(): Promise<string | undefined> {
  goFound ??= (async () => {
    for (const candidate of ['go', '/usr/local/go/bin/go', '/usr/lib/go/bin/go']) {
      try {
        await run(candidate, ['version'], { env: goEnv() });
        return candidate;
      } catch {
        // next
      }
    }
    return undefined;
  })();
  return goFound;
}

/** The local toolchain only: a go.mod asking for a newer one must not start a download. */
function goEnv(): NodeJS.ProcessEnv {
  return { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=readonly -buildvcs=false' };
}

const builds = new Map<string, Promise<string>>();

/**
 * Builds the Go module in test/interop/<moduleDir> to test-output/interop-bin/<name>
 * (once per process) and returns the binary's path; undefined (the test
 * skipped) when there is no Go here and this is not CI.
 */
export async function goPeer(t: TestContext, moduleDir: string, name: string): Promise<string | undefined> {
  const go = await findGo();
  if (!go) {
    const message = 'Go not found: the interop peers are built with Go (https://go.dev/dl, or apt-get install golang)';
    if (process.env.CI === 'true') throw new Error(`${message} (CI=true: .ci/run should have provided it)`);
    t.skip(message);
    return undefined;
  }
  let build = builds.get(name);
  if (!build) {
    build = (async () => {
      mkdirSync(BIN_DIR, { recursive: true });
      const out = path.join(BIN_DIR, name);
      const dir = path.join(INTEROP_DIR, moduleDir);
      if (!existsSync(path.join(dir, 'go.mod'))) throw new Error(`no go.mod in ${dir}`);
      try {
        await run(go, ['build', '-o', out, '.'], { cwd: dir, env: goEnv(), maxBuffer: 16 * 1024 * 1024 });
      } catch (e) {
        const err = e as { stderr?: string; message: string };
        throw new Error(`go build in ${dir} failed: ${err.stderr || err.message}`);
      }
      return out;
    })();
    builds.set(name, build);
  }
  return build;
}
