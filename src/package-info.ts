// Files shipped beside the code (proto/, test/fixtures/, package.json) are
// found from this module's location, which works from src/ (tests, Node's type
// stripping) and from dist/src/ (the installed, compiled package).

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

/** The directory holding our package.json. */
let root: string | undefined;

export function packagePath(...parts: string[]): string {
  for (let dir = import.meta.dirname; root === undefined; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'proto'))) root = dir;
    else if (path.dirname(dir) === dir) throw new Error(`cannot find the package root (package.json next to proto/) above ${import.meta.dirname}`);
  }
  return path.join(root, ...parts);
}

let pkg: { readonly version?: unknown } | undefined;

export function packageVersion(): string {
  pkg ??= JSON.parse(readFileSync(packagePath('package.json'), 'utf8')) as { version?: unknown };
  return typeof pkg.version === 'string' ? pkg.version : 'unknown';
}
