// Helpers for the operations tests: external binaries (Chromium, Prometheus)
// that CI installs (.ci/run) and a developer machine may lack, and child
// processes that must not outlive a test.

import { existsSync } from 'node:fs';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import net from 'node:net';

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

/** A TCP port that was free a moment ago on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as net.AddressInfo).port;
  server.close();
  await once(server, 'close');
  return port;
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
