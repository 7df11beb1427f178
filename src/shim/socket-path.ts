// Where a sandbox's shim listens: <root>/<id>/shim-monitor.sock, tried root by
// root. The Go runtime's root (/run/vc/sbs) comes first, runtime-rs' (/run/kata)
// second, as upstream's ClientSocketAddress does.

import { join } from 'node:path';

const SHIM_SOCKET_NAME = 'shim-monitor.sock';

/** Go runtime first, then runtime-rs. */
export const DEFAULT_SANDBOX_ROOTS: readonly string[] = Object.freeze(['/run/vc/sbs', '/run/kata']);

/** Linux NAME_MAX: a directory entry cannot be longer. */
const MAX_ID_LENGTH = 255;

export class InvalidSandboxIdError extends Error {
  override readonly name = 'InvalidSandboxIdError';
  constructor(id: string, reason: string) {
    super(`invalid sandbox id ${JSON.stringify(id.length > 80 ? id.slice(0, 80) + '…' : id)}: ${reason}`);
  }
}

/** Why `id` cannot be a sandbox directory name, or undefined when it can. */
function sandboxIdProblem(id: string): string | undefined {
  if (id.length === 0) return 'it is empty';
  if (id.length > MAX_ID_LENGTH) return `it is longer than ${MAX_ID_LENGTH} characters`;
  if (id === '.' || id === '..') return 'it names the current or parent directory';
  if (id.includes('/')) return "it contains '/'";
  if (id.includes('\0')) return 'it contains a NUL byte';
  return undefined;
}

/**
 * The socket paths to try for `id`, in order. Throws InvalidSandboxIdError
 * unless `id` is a plain directory name: callers also require the registry to
 * know the id; this is defence in depth against a query string becoming a
 * path outside the sandbox roots.
 */
export function shimSocketCandidates(id: string, roots: readonly string[] = DEFAULT_SANDBOX_ROOTS): string[] {
  const problem = sandboxIdProblem(id);
  if (problem !== undefined) throw new InvalidSandboxIdError(id, problem);
  return roots.map((root) => join(root, id, SHIM_SOCKET_NAME));
}

/** The socket paths to try for a sandbox found under `entry.root`: that root first, then the others in configured order. */
export function shimSocketsFor(entry: { readonly id: string; readonly root: string }, roots: readonly string[]): string[] {
  return shimSocketCandidates(entry.id, roots[0] === entry.root ? roots : [entry.root, ...roots.filter((r) => r !== entry.root)]);
}
