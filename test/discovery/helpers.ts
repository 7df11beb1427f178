// Shared by the discovery tests: temp dirs, polling for a condition, and
// counting this process's file descriptors and inotify watches.

import { mkdtemp, rm } from 'node:fs/promises';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export async function tempDir(prefix = 'kata-discovery-'): Promise<{ dir: string; [Symbol.asyncDispose](): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), prefix));
  return { dir, [Symbol.asyncDispose]: () => rm(dir, { recursive: true, force: true }) };
}

/** Polls `check` until it returns true; fails with `what` after `timeoutMs`. */
export async function waitFor(what: string, check: () => boolean, timeoutMs = 3_000, everyMs = 10): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface FdCounts {
  /** Open file descriptors of this process. */
  readonly fds: number;
  /** inotify watches across all of this process's inotify instances. */
  readonly inotifyWatches: number;
}

/** Linux only: reads /proc/self/fd and each inotify fd's fdinfo ("inotify wd:" lines). */
export function fdCounts(): FdCounts {
  const fds = readdirSync('/proc/self/fd');
  let inotifyWatches = 0;
  for (const fd of fds) {
    let target: string;
    try {
      target = readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the fd readdir itself used, already closed
    }
    if (!target.includes('inotify')) continue;
    inotifyWatches += readFileSync(`/proc/self/fdinfo/${fd}`, 'utf8')
      .split('\n')
      .filter((l) => l.startsWith('inotify wd:')).length;
  }
  return { fds: fds.length, inotifyWatches };
}
