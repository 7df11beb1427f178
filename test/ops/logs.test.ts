// The CLI as an operator runs it: a child process (`node src/bin.ts -demo`)
// whose stderr is its log. With -log-format=json every line is a JSON object
// (time, level, msg), as a log collector expects; by default every line is
// logrus' text format, as upstream's. SIGTERM stops it cleanly: exit 0.

import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { CLI } from '../lifecycle/support.ts';
import { ROOT, stopChild } from './support.ts';

// logrus' level names ("warning", not "warn").
const LEVELS = new Set(['trace', 'debug', 'info', 'warning', 'error', 'fatal', 'panic']);
const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/;

interface Run {
  readonly lines: string[];
  readonly stdout: string;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stopMs: number;
  readonly killed: boolean;
}

/** Starts the CLI, waits until it serves, checks it answers, SIGTERMs it, collects everything. */
async function runUntilServingThenTerm(t: TestContext, args: string[]): Promise<Run> {
  const child = spawn(process.execPath, [CLI, '-demo', '-listen-address=127.0.0.1:0', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => stopChild(child, 1000)); // a no-op once it has exited
  let stdout = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  const lines: string[] = [];
  const stderrDone = new Promise<void>((resolve) => child.stderr.on('close', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "serving on" line within 20 s:\n${lines.join('\n')}`)), 20_000);
    createInterface({ input: child.stderr }).on('line', (line) => {
      lines.push(line);
      const m = /kata-monitor serving on (http:\/\/127\.0\.0\.1:\d+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.on('exit', (code) => reject(new Error(`exited (${code}) before serving:\n${lines.join('\n')}`)));
  });

  // It really serves: the demo's four sandboxes.
  assert.equal(await (await fetch(`${url}/healthz`)).text(), 'ok\n');
  const sandboxes = await (await fetch(`${url}/sandboxes`)).text();
  assert.equal(sandboxes.split('\n').filter(Boolean).length, 4, sandboxes);

  const started = Date.now();
  const { code, signal, killed } = await stopChild(child, 8000);
  const stopMs = Date.now() - started;
  await stderrDone;
  return { lines, stdout, code, signal, stopMs, killed };
}

function assertCleanStop(run: Run): void {
  assert.equal(run.killed, false, `did not stop within 8 s of SIGTERM:\n${run.lines.join('\n')}`);
  assert.equal(run.signal, null);
  assert.equal(run.code, 0, run.lines.join('\n'));
  assert.ok(run.stopMs < 5000, `stopped in ${run.stopMs} ms`);
  assert.equal(run.stdout, '', 'logs go to stderr only');
}

test('-log-format=json: every stderr line is a JSON object with time, level and msg; SIGTERM exits 0', { timeout: 60_000 }, async (t) => {
  const run = await runUntilServingThenTerm(t, ['-log-format=json']);
  assertCleanStop(run);
  assert.ok(run.lines.length >= 4);
  const records = run.lines.map((line) => {
    let rec: unknown;
    assert.doesNotThrow(() => (rec = JSON.parse(line)), `not JSON: ${line}`);
    assert.ok(rec && typeof rec === 'object' && !Array.isArray(rec), line);
    return rec as Record<string, unknown>;
  });
  for (const r of records) {
    assert.match(String(r.time), RFC3339, `time of ${JSON.stringify(r)}`);
    assert.ok(!Number.isNaN(Date.parse(String(r.time))));
    assert.ok(LEVELS.has(String(r.level)), `level of ${JSON.stringify(r)}`);
    assert.equal(typeof r.msg, 'string');
    assert.notEqual(r.msg, '');
  }
  // Times never go backwards.
  const times = records.map((r) => Date.parse(String(r.time)));
  assert.deepEqual(times, [...times].sort((a, b) => a - b));
  const msgs = records.map((r) => r.msg);
  assert.equal(msgs[0], 'announce', 'the first line announces the daemon, as upstream');
  assert.equal(records[0]!.app, 'kata-monitor');
  assert.ok(msgs.some((m) => String(m).startsWith('kata-monitor serving on ')));
  const stopping = records.find((r) => r.msg === 'stopping');
  assert.equal(stopping?.signal, 'SIGTERM');
  assert.equal(msgs[msgs.length - 1], 'stopped', 'the last line says it stopped');
});

// logrus TextFormatter (no colours, full timestamp): time="…" level=… msg=… key=value…
const VALUE = String.raw`(?:"(?:[^"\\]|\\.)*"|[^\s"]*)`;
const LOGRUS = new RegExp(String.raw`^time="([^"]+)" level=([a-z]+) msg=${VALUE}(?: [A-Za-z0-9_.\-]+=${VALUE})*$`);

test('the default text format: every stderr line is a logrus line; SIGTERM exits 0', { timeout: 60_000 }, async (t) => {
  const run = await runUntilServingThenTerm(t, []);
  assertCleanStop(run);
  for (const line of run.lines) {
    const m = LOGRUS.exec(line);
    assert.ok(m, `not a logrus text line: ${line}`);
    assert.match(m[1]!, RFC3339);
    assert.ok(LEVELS.has(m[2]!), line);
  }
  assert.match(run.lines[0]!, /^time="[^"]+" level=info msg=announce app=kata-monitor /);
  assert.ok(run.lines.some((l) => / msg="kata-monitor serving on http:\/\/127\.0\.0\.1:\d+"/.test(l)));
  assert.ok(run.lines.some((l) => / msg=stopping .*signal=SIGTERM/.test(l)));
  assert.match(run.lines[run.lines.length - 1]!, / msg=stopped( |$)/);
});
