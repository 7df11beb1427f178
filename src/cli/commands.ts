// The one-shot commands (cli/flags.ts: COMMANDS), for a node without a
// running daemon: the receiver is started (the roots read, the CRI asked once,
// within its timeout), every sandbox scraped once, and the receiver stopped.
// Exit 0 when every sandbox was scraped, 1 when something failed at run time
// (the output is still printed, the failures said on stderr).

import type { Config } from '../components.ts';
import type { LogFields, Logger, LogLevel } from '../log/logger.ts';
import { Receiver } from '../receiver/receiver.ts';
import { metricsBody } from '../server/metrics-route.ts';
import { shimGet } from '../shim/client.ts';
import { shimSocketsFor } from '../shim/socket-path.ts';
import type { SandboxScrape, Snapshot } from '../scrape/snapshot.ts';
import type { Command, Flags } from './flags.ts';

export interface CommandIo {
  readonly stdout: (s: string | Uint8Array) => void;
  readonly stderr: (s: string) => void;
}

export async function runCommand(command: Exclude<Command, 'validate'>, config: Config, flags: Flags, io: CommandIo, logger: Logger): Promise<number> {
  const receiver = new Receiver(config.receiver, logger);
  try {
    await receiver.start();
    // One lookup of the pods' metadata, bounded by the CRI timeout; without an answer the cri_* labels stay empty.
    await receiver.sync.syncNow();
    const cri = receiver.sync.status();
    if (!cri.connected) io.stderr(`kata-monitor ${command}: the CRI runtime at ${config.receiver.cri.runtimeEndpoint} did not answer (${cri.lastError ?? 'no answer'}): pod labels are empty\n`);
    if (command === 'metrics' && flags.sandbox !== undefined) return await sandboxBody(receiver, flags.sandbox, io);
    return await receiver.scraper.read((snapshot) => (command === 'metrics' ? printMetrics(receiver, snapshot, flags, io) : printSandboxes(snapshot, flags, io)), 'command');
  } catch (e) {
    io.stderr(`kata-monitor ${command}: ${e instanceof Error ? e.message : String(e)}\n`);
    return 1;
  } finally {
    await receiver.stop();
  }
}

function printMetrics(receiver: Receiver, snapshot: Snapshot, flags: Flags, io: CommandIo): number {
  const prefixes = flags.filterFamily;
  receiver.selfMetrics.scrapeCount++;
  // (An OpenMetrics body ends with its own "# EOF".)
  for (const chunk of metricsBody(snapshot, prefixes ? [] : receiver.selfMetrics.families(), prefixes, flags.format)) io.stdout(chunk);
  return reportFailures(snapshot.sandboxes, io);
}

/** One sandbox's body as its shim serves it (upstream's /metrics?sandbox=ID). */
async function sandboxBody(receiver: Receiver, id: string, io: CommandIo): Promise<number> {
  // The full id, or a prefix of one (the 12 characters `sandboxes` shows); a prefix of several is no answer.
  const exact = receiver.registry.get(id);
  const matches = exact ? [exact] : receiver.registry.list().filter((e) => id !== '' && e.id.startsWith(id));
  const entry = matches.length === 1 ? matches[0] : undefined;
  if (!entry) {
    const known = (matches.length > 1 ? matches : receiver.registry.list()).map((e) => e.id.slice(0, 12));
    const what = matches.length > 1 ? `${JSON.stringify(id)} names ${matches.length} sandboxes` : `no sandbox ${JSON.stringify(id)} under ${receiver.config.discovery.sandboxRoots.join(', ')}`;
    io.stderr(`kata-monitor metrics: ${what}${known.length ? ` (there are: ${known.join(', ')})` : ' (there are none)'}\n`);
    return 1;
  }
  const { shim, discovery } = receiver.config;
  const res = await shimGet(shimSocketsFor(entry, discovery.sandboxRoots), '/metrics', { timeoutMs: shim.timeoutMs, maxBytes: shim.maxBodyBytes });
  io.stdout(res.body);
  return 0;
}

function printSandboxes(snapshot: Snapshot, flags: Flags, io: CommandIo): number {
  const rows = snapshot.sandboxes.map((s) => ({
    id: s.sandbox.id,
    root: s.sandbox.root,
    pod: { name: s.sandbox.metadata.name, namespace: s.sandbox.metadata.namespace, uid: s.sandbox.metadata.uid },
    up: !s.error,
    durationMs: Math.round(s.durationMs * 10) / 10,
    series: s.sampleCount,
    ...(s.error && { error: { reason: s.error.kind, message: s.error.message } }),
  }));
  if (flags.output === 'json') {
    io.stdout(JSON.stringify(rows, null, 2) + '\n');
  } else {
    const table = [
      ['SANDBOX', 'POD', 'NAMESPACE', 'POD UID', 'UP', 'MS', 'SERIES', 'ROOT', 'ERROR'],
      ...rows.map((r) => [r.id.slice(0, 12), r.pod.name || '-', r.pod.namespace || '-', r.pod.uid || '-', r.up ? 'yes' : 'no', r.durationMs.toFixed(1), String(r.series), r.root, r.error ? `${r.error.reason}: ${r.error.message}` : '']),
    ];
    const widths = table[0]!.map((_, c) => Math.max(...table.map((row) => row[c]!.length)));
    for (const row of table) io.stdout(row.map((cell, c) => (c === row.length - 1 ? cell : cell.padEnd(widths[c]!))).join('  ').trimEnd() + '\n');
    if (rows.length === 0) io.stdout('(no sandboxes)\n');
  }
  return reportFailures(snapshot.sandboxes, io);
}

function reportFailures(sandboxes: readonly SandboxScrape[], io: CommandIo): number {
  const failed = sandboxes.filter((s) => s.error);
  for (const s of failed) io.stderr(`sandbox ${s.sandbox.id}: ${s.error!.kind}: ${s.error!.message}\n`);
  return failed.length > 0 ? 1 : 0;
}

/**
 * The daemon's lines a one-shot command leaves out (its logger's `drop`): the
 * command says itself when the CRI runtime does not answer and which
 * sandboxes failed, in its own words, so the daemon's lines about them
 * (worded for a daemon: "retrying every 5 s") would repeat it.
 */
export const reportedByCommand = (level: LogLevel, fields: LogFields): boolean =>
  (level === 'warn' || level === 'error') && (fields['source'] === 'cri' || fields['source'] === 'scrape');
