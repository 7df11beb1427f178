// Starts the real daemon in-process, on an ephemeral loopback port, against
// whatever roots and CRI endpoint a test set up (usually startDemo()).

import { defaultFlags, type FlagName, type Flags } from '../../src/cli/flags.ts';
import { parseConfig, type Config } from '../../src/components.ts';
import { silentLogger, type Logger } from '../../src/log/logger.ts';
import { startDaemon, type Daemon } from '../../src/main.ts';
import type { ExportingFactory } from '../../src/export-contract.ts';

export interface TestDaemonOptions {
  readonly roots: readonly string[];
  readonly runtimeEndpoint: string;
  /** Extra YAML under receivers.kata_monitor (indented by the helper). */
  readonly receiverYaml?: string;
  /** A whole YAML document instead (roots/endpoint still come from flags). */
  readonly yaml?: string;
  readonly flags?: Partial<Flags>;
  readonly logger?: Logger;
  readonly exporting?: ExportingFactory<Config>;
}

/** Fast timings for tests: CRI lookups and root retries in a few hundred ms. */
const FAST = `cri:
  first_lookup_delay: 100ms
  resync_interval: 200ms
  timeout: 1s
root_retry_interval: 200ms
shim:
  timeout: 1s`;

export function testConfig(o: TestDaemonOptions): Config {
  const flags: Flags = {
    ...defaultFlags(),
    listenAddress: '127.0.0.1:0',
    sandboxRoots: o.roots,
    runtimeEndpoint: o.runtimeEndpoint,
    ...o.flags,
  };
  const explicit = new Set<FlagName>(['listen-address', 'sandbox-root', 'runtime-endpoint', ...(Object.keys(o.flags ?? {}) as FlagName[])]);
  const receiver = [FAST, o.receiverYaml ?? ''].join('\n');
  const yaml = o.yaml ?? `receivers:\n  kata_monitor:\n${receiver.split('\n').map((l) => '    ' + l).join('\n')}\n`;
  const r = parseConfig(yaml, { flags, explicitFlags: explicit, env: {} });
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

export async function startTestDaemon(o: TestDaemonOptions): Promise<Daemon> {
  return startDaemon(testConfig(o), o.logger ?? silentLogger, o.exporting);
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes. */
export async function eventually<T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 5000, what = 'condition'): Promise<T> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
