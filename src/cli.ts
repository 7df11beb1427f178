// kata-monitor's command line: flags as upstream (Go's flag package forms),
// an optional collector-style YAML file, then the daemon until
// SIGTERM/SIGINT, or a one-shot command (metrics, sandboxes, validate).
// Exit codes: 0 after a clean stop, 2 for a bad flag or configuration
// (nothing is started), 1 when the daemon cannot start (e.g. port in use)
// or a command fails at run time.

import { readFileSync } from 'node:fs';
import { formatVersion, parseFlags, type Command } from './cli/flags.ts';
import { reportedByCommand, runCommand, type CommandIo } from './cli/commands.ts';
import { loadConfig, type Config } from './components.ts';
import { createLogger, type Logger } from './log/logger.ts';
import { startDaemon } from './main.ts';
import type { DemoEnvironment } from './demo/environment.ts';
import { packageVersion } from './package-info.ts';
// The OTel side and the demo are loaded only when configured: a daemon
// without pipelines does not pay their memory (~6 MB RSS).

export interface CliIo extends CommandIo {
  readonly argv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
}

/** Runs the daemon or a command; resolves with the process exit code once done. */
export async function runCli(io: CliIo, signals: NodeJS.EventEmitter = process): Promise<number> {
  const parsed = parseFlags(io.argv);
  switch (parsed.kind) {
    case 'version':
      io.stdout(formatVersion({ version: packageVersion(), gitCommit: io.env.KATA_MONITOR_GIT_COMMIT }));
      return 0;
    case 'help':
      io.stderr(parsed.text);
      return 0;
    case 'error':
      io.stderr(`${parsed.message}\n${parsed.usage}`);
      return parsed.exitCode;
  }
  const { flags, command } = parsed;
  const loaded = loadConfig({ flags, explicitFlags: parsed.explicit, env: io.env, readFile: (p) => readFileSync(p, 'utf8') });
  if (!loaded.ok) {
    for (const e of loaded.errors) io.stderr(e + '\n');
    io.stderr(`kata-monitor: invalid configuration, ${command === 'validate' ? `${loaded.errors.length} error(s)` : 'nothing started'}\n`);
    return 2;
  }
  const config = loaded.config;
  // A command reports the CRI runtime and failed sandboxes itself; -log-level shows the daemon's lines about them too.
  const quiet = command !== undefined && !parsed.explicit.has('log-level');
  const logger = createLogger({
    level: quiet ? 'warn' : config.telemetry.logs.level,
    format: config.telemetry.logs.encoding,
    write: io.stderr,
    rateLimit: { intervalMs: 60_000 }, // one line per repeated message per minute
    drop: quiet ? reportedByCommand : undefined,
  }).child({ name: 'kata-monitor', pid: process.pid });
  // The daemon logs them; a command prints them as it prints errors, one a line.
  for (const w of loaded.warnings) {
    if (command) io.stderr(w + '\n');
    else logger.warn(w);
  }
  if (command === 'validate') {
    const exporters = new Set(config.pipelines.flatMap((p) => p.exporters.map((e) => e.name)));
    io.stdout(`${flags.config}: valid (${config.pipelines.length} pipeline(s), ${exporters.size} exporter(s), ${config.extensions.length} extension(s), ${loaded.warnings.length} warning(s))\n`);
    return 0;
  }
  return withDemo(config, logger, command, (cfg, demo) => (command ? runCommand(command, cfg, flags, io, logger) : runDaemon(cfg, logger, io, signals, demo)));
}

/** Runs `run` on the config, against the simulated host when -demo (started and stopped around it). */
async function withDemo(config: Config, logger: Logger, command: Command | undefined, run: (c: Config, demo: DemoEnvironment | undefined) => Promise<number>): Promise<number> {
  if (!config.receiver.demo) return run(config, undefined);
  const { startDemo, DEMO_CHURN_MS } = await import('./demo/environment.ts');
  const demo = await startDemo({ churnMs: command ? 0 : DEMO_CHURN_MS, logger });
  try {
    const rc = config.receiver;
    return await run({ ...config, receiver: { ...rc, discovery: { ...rc.discovery, sandboxRoots: demo.roots }, cri: { ...rc.cri, runtimeEndpoint: demo.runtimeEndpoint } } }, demo);
  } finally {
    await demo.stop();
  }
}

async function runDaemon(config: Config, logger: Logger, io: CliIo, signals: NodeJS.EventEmitter, demo: DemoEnvironment | undefined): Promise<number> {
  logger.info('announce', {
    app: 'kata-monitor',
    version: packageVersion(),
    'node-version': process.version,
    'listen-address': config.receiver.server.listenAddress,
    'runtime-endpoint': config.receiver.cri.runtimeEndpoint,
    'log-level': config.telemetry.logs.level,
  });
  if (demo) logger.info(`demo mode: ${demo.ids().length} simulated sandboxes; ${demo.churnNote}`, { dir: demo.dir });
  const exporting = config.pipelines.length > 0 ? (await import('./otel/exporting.ts')).makeExporting({ env: io.env }) : undefined;
  const daemon = await startDaemon(config, logger, exporting, demo ? { demoNote: demo.churnNote } : {}).catch((err: unknown) => {
    logger.error('cannot start', { error: err instanceof Error ? err.message : String(err) });
  });
  if (!daemon) return 1;
  // Always printed, whatever the level (scripts read the port from it), and
  // shaped like every other line, so a log collector parsing stderr line by
  // line never trips on it.
  createLogger({ format: config.telemetry.logs.encoding, write: io.stderr }).info(`kata-monitor serving on ${daemon.url}`, { url: daemon.url });

  const signal = await new Promise<string>((resolve) => {
    signals.once('SIGTERM', () => resolve('SIGTERM'));
    signals.once('SIGINT', () => resolve('SIGINT'));
  });
  logger.info('stopping', { signal, deadline_ms: config.shutdownTimeoutMs });
  await daemon.stop(config.shutdownTimeoutMs);
  logger.info('stopped');
  return 0;
}

/** Runs as a process: real stdio and environment, and an exit once stopped. */
export async function runProcess(argv: readonly string[]): Promise<void> {
  // A reader that stops early (`kata-monitor metrics | head`) closes the pipe: that ends the
  // command quietly, with 0 (what the reader wanted is out), rather than with a stack trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
  const code = await runCli({
    argv,
    env: process.env,
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
  });
  process.exitCode = code;
  // Whatever a library left open (a gRPC reconnect timer…) must not keep a stopped process alive.
  setTimeout(() => process.exit(code), 2000).unref();
}
