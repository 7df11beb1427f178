// Shared by the shim and demo tests: temp dirs short enough for unix socket
// paths (108 bytes), fd counting, and a stale socket left by a dead process.

import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { createServer, type Server, type Socket } from 'node:net';

export function makeTempDir(prefix: string): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export function openFdCount(): number {
  return readdirSync('/proc/self/fd').length;
}

/** Polls until `check()` is true or `ms` pass; returns the last result. */
export async function eventually(check: () => boolean, ms = 1000): Promise<boolean> {
  const until = Date.now() + ms;
  while (!check()) {
    if (Date.now() > until) return false;
    await new Promise((r) => setTimeout(r, 10));
  }
  return true;
}

/** A socket file nobody listens on: what a shim killed with SIGKILL leaves behind. */
export function makeStaleSocket(path: string): void {
  const code = `require('node:net').createServer().listen(${JSON.stringify(path)}, () => process.kill(process.pid, 'SIGKILL'))`;
  spawnSync(process.execPath, ['-e', code], { stdio: 'ignore', timeout: 5000 });
}

export async function rejectsWith<T>(p: Promise<T>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

/**
 * A raw net server for hand-written answers, whose close() is bounded: it
 * destroys the connections it accepted instead of waiting for the peer's FIN.
 * (Under CPU load we saw an accepted socket whose peer had gone never report
 * EOF: server.close() then waited forever and the test hung for minutes.)
 */
export async function startRawServer(path: string, onConnection: (s: Socket) => void): Promise<{ server: Server; close(): Promise<void> }> {
  const conns = new Set<Socket>();
  const server = createServer((s) => {
    conns.add(s);
    s.on('close', () => conns.delete(s));
    s.on('error', () => {});
    onConnection(s);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    server,
    close: () =>
      new Promise<void>((resolve) => {
        const t = setTimeout(resolve, 2000); // never wait on the kernel forever
        server.close(() => {
          clearTimeout(t);
          resolve();
        });
        for (const c of conns) c.destroy();
      }),
  };
}
