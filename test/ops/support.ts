// Helpers for the operations tests: the repository's files, external
// binaries (Chromium, Prometheus) that CI installs (.ci/run) and a developer
// machine may lack, and child processes that must not outlive a test.

import { existsSync } from 'node:fs';
import { once } from 'node:events';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { TestContext } from 'node:test';

/** The repository's root directory. */
export const ROOT = path.resolve(import.meta.dirname, '..', '..');

/** A parsed YAML or JSON document, walked without a schema. */
export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * True when `file` exists. Otherwise the test is skipped with a message saying
 * how to get it, except under CI (CI=true), where a missing binary is a
 * failure: .ci/run is supposed to have installed it.
 */
export function requireBinary(t: TestContext, file: string, debianPackage: string): boolean {
  if (existsSync(file)) return true;
  const message = `${file} not found: install it with \`apt-get install -y --no-install-recommends ${debianPackage}\``;
  if (process.env.CI === 'true') throw new Error(`${message} (CI=true: .ci/run should have installed it)`);
  t.skip(message);
  return false;
}

/**
 * Runs `cmd` to its end (SIGKILL after `timeoutMs`), `input` on its stdin:
 * its exit code and its stdout and stderr, interleaved as they came.
 */
export async function run(cmd: string, args: readonly string[], o: { readonly cwd?: string; readonly input?: string; readonly timeoutMs: number }): Promise<{ code: number | null; out: string }> {
  const child = spawn(cmd, args, { cwd: o.cwd, stdio: [o.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (out += s));
  const killer = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
    if (o.input !== undefined) child.stdin!.end(o.input);
  });
  clearTimeout(killer);
  return { code, out };
}

/**
 * Sends SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code
 * (null when killed by a signal) once the process is gone.
 */
export async function stopChild(child: ChildProcess, graceMs = 5000): Promise<{ code: number | null; signal: NodeJS.Signals | null; killed: boolean }> {
  if (child.exitCode !== null || child.signalCode !== null) return { code: child.exitCode, signal: child.signalCode, killed: false };
  const exited = once(child, 'exit') as Promise<[number | null, NodeJS.Signals | null]>;
  child.kill('SIGTERM');
  let killed = false;
  const timer = setTimeout(() => {
    killed = true;
    child.kill('SIGKILL');
  }, graceMs);
  const [code, signal] = await exited;
  clearTimeout(timer);
  return { code, signal, killed };
}
