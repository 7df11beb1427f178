#!/usr/bin/env -S node --max-semi-space-size=2 --expose-gc
// The kata-monitor command: the Node.js version is checked before anything
// else is loaded, then the command line runs (cli.ts).
// (--max-semi-space-size=2: a 2 MiB young generation keeps RSS near the live
// data; --expose-gc: a snapshot's owner asks for a major GC once it is read,
// scrape/lifetime.ts. Both measured: docs/performance.md.)

import { requireNode } from './node-check.ts';

requireNode();
const { runProcess } = await import('./cli.ts');
await runProcess(process.argv.slice(2));
