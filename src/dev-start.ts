// `npm start`: the daemon on this machine's sandbox roots, or — where this is
// no Kata host (none of the default sandbox roots exists) and no --demo or
// --config was given — the built-in demo, so a newcomer sees real output.

import { requireNode } from './node-check.ts';

requireNode();
const { existsSync } = await import('node:fs');
const { runProcess } = await import('./cli.ts');
const { DEFAULT_SANDBOX_ROOTS } = await import('./receiver/config.ts');

const args = process.argv.slice(2);
const kataHost = DEFAULT_SANDBOX_ROOTS.some((root) => existsSync(root));
const chosen = args.some((a) => /^--?(demo|config|sandbox-root)(=|$)/.test(a));
const argv = !kataHost && !chosen ? ['--demo', ...args] : args;
if (argv !== args) process.stderr.write('No Kata sandbox roots on this machine: starting the demo with simulated sandboxes.\n');

await runProcess(argv);
