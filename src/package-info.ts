// Files shipped beside the code (proto/, test/fixtures/, package.json) are
// found from this module's location, which works from src/ (tests, Node's type
// stripping) and from dist/src/ (the installed, compiled package).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let root: string | undefined;

/** The directory holding our package.json. */
export function packageRoot(): string {
  if (root !== undefined) return root;
  const from = path.dirname(fileURLToPath(import.meta.url));
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'proto'))) return (root = dir);
    if (path.dirname(dir) === dir) throw new Error(`cannot find the package root (package.json next to proto/) above ${from}`);
  }
}

export function packagePath(...parts: string[]): string {
  return path.join(packageRoot(), ...parts);
}

let version: string | undefined;

export function packageVersion(): string {
  if (version === undefined) {
    const pkg = JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version?: unknown };
    version = typeof pkg.version === 'string' ? pkg.version : 'unknown';
  }
  return version;
}
