// What the exporter tests share: the daemon in process (the configuration
// read by src/components.ts as the CLI reads it, startDaemon with the CLI's
// exporting) scraping the demo environment (simulated shims and CRI on their
// real unix sockets), its log captured as JSON lines, and its /metrics read.

import assert from 'node:assert/strict';
import { defaultFlags, type FlagName } from '../../../src/cli/flags.ts';
import { parseConfig, type Config } from '../../../src/components.ts';
import { startDemo, type DemoEnvironment } from '../../../src/demo/environment.ts';
import { startDaemon, type Daemon } from '../../../src/main.ts';
import { makeExporting } from '../../../src/otel/exporting.ts';
import { FAST_RECEIVER, until as waitFor } from '../../lifecycle/support.ts';
import { recordingLogger, type LogRecord } from '../../support/logger.ts';

export type LogLine = LogRecord;

/** A whole configuration: the receiver (pushing every `interval`), these exporters (id → YAML body), one pipeline through all of them. */
export function pipelineYaml(exporters: Readonly<Record<string, string>>, o: { readonly interval?: string; readonly extensions?: string; readonly serviceExtensions?: readonly string[] } = {}): string {
  return `receivers:
  kata_monitor:
    collection_interval: ${o.interval ?? '1h'}
${FAST_RECEIVER}
exporters:
${Object.entries(exporters)
  .map(([id, body]) => `  ${id}:\n${body.replace(/^/gm, '    ')}`)
  .join('\n')}
${o.extensions ? `extensions:\n${o.extensions.replace(/^/gm, '  ')}\n` : ''}service:
${o.serviceExtensions ? `  extensions: [${o.serviceExtensions.join(', ')}]\n` : ''}  pipelines:
    metrics:
      receivers: [kata_monitor]
      exporters: [${Object.keys(exporters).join(', ')}]
`;
}

/** The configuration as the CLI reads it, pointed at the demo by flags. */
export function configOf(demo: Pick<DemoEnvironment, 'roots' | 'runtimeEndpoint'>, yaml: string, env: Readonly<Record<string, string>> = {}): Config {
  const r = parseConfigFor(demo, yaml, env);
  if (!r.ok) throw new Error(r.errors.join('\n'));
  return r.config;
}

export function parseConfigFor(demo: Pick<DemoEnvironment, 'roots' | 'runtimeEndpoint'> | undefined, yaml: string, env: Readonly<Record<string, string>> = {}) {
  const flags = {
    ...defaultFlags(),
    listenAddress: '127.0.0.1:0',
    ...(demo && { sandboxRoots: demo.roots, runtimeEndpoint: demo.runtimeEndpoint }),
  };
  const explicit = new Set<FlagName>(['listen-address', ...(demo ? (['sandbox-root', 'runtime-endpoint'] as const) : [])]);
  return parseConfig(yaml, { flags, explicitFlags: explicit, env });
}

export interface Pushing {
  readonly daemon: Daemon;
  readonly lines: LogLine[];
  /** What the debug exporter wrote (its normal/detailed blocks). */
  readonly written: string[];
  metrics(): Promise<string>;
  stop(deadlineMs?: number): Promise<void>;
}

/** The daemon in process with this configuration; jitter 0 (retry waits as configured). */
export async function startPushing(
  demo: DemoEnvironment,
  yaml: string,
  o: { readonly env?: Readonly<Record<string, string>>; readonly now?: () => number } = {},
): Promise<Pushing> {
  const { logger, records: lines } = recordingLogger('info');
  const written: string[] = [];
  const env = o.env ?? {};
  const daemon = await startDaemon(configOf(demo, yaml, env), logger, makeExporting({ env, jitter: 0, write: (t) => written.push(t), ...(o.now && { now: o.now }) }));
  let stopped = false;
  return {
    daemon,
    lines,
    written,
    metrics: async () => {
      const res = await fetch(`${daemon.url}/metrics`);
      assert.equal(res.status, 200);
      return res.text();
    },
    stop: async (deadlineMs = 2000) => {
      if (stopped) return;
      stopped = true;
      await daemon.stop(deadlineMs);
    },
  };
}

export { startDemo, type DemoEnvironment };

/** Polls `check` until it gives a truthy value; fails after a generous deadline (never a measure of speed). */
export function until<T>(check: () => T | undefined | false | Promise<T | undefined | false>, what: string, timeoutMs = 20_000): Promise<T> {
  return waitFor(check, timeoutMs, what);
}

/** Log lines with this message (and these fields among theirs). */
export function logged(lines: readonly LogLine[], msg: string | RegExp, fields: Readonly<Record<string, unknown>> = {}): LogLine[] {
  return lines.filter((l) => (typeof msg === 'string' ? l.msg === msg : msg.test(l.msg)) && Object.entries(fields).every(([k, v]) => (v instanceof RegExp ? v.test(String(l[k])) : l[k] === v)));
}
