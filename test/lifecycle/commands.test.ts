// The one-shot commands (`kata-monitor metrics`, `sandboxes`, `validate`),
// as an operator runs them on a node without a running daemon: `node
// src/bin.ts <command> …` as a child process against a simulated host
// (startDemo's sandbox roots and CRI server, shims on their real unix
// sockets). `metrics` prints what a running daemon's /metrics answers for
// the same shims; the shims here serve a fixed body each, so the two can be
// compared byte for byte.

import assert from 'node:assert/strict';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { FakeCriServer, type FakePod } from '../support/fake-cri.ts';
import { startDemo, type DemoEnvironment } from '../../src/demo/environment.ts';
import { startFakeShim, type FakeShim, type FakeShimBehaviourName } from '../support/fake-shim.ts';
import { createShimPayload } from '../../src/demo/payload.ts';
import type { MetricFamily } from '../../src/exposition/model.ts';
import { parseText } from '../support/fixtures.ts';
import { hostFlags, runCli, spawnDaemon, until, type Child } from './support.ts';

const OPENMETRICS = 'application/openmetrics-text; version=1.0.0';

interface Sandbox {
  readonly id: string;
  readonly root: string;
  readonly body: string;
  readonly pod: FakePod;
  readonly shim: FakeShim;
}

/** A shim serving one fixed body (a realistic one: the demo payload's first tick), its pod known to the demo's CRI. */
async function addSandbox(demo: DemoEnvironment, pods: FakePod[], n: number, root: string, behaviour: FakeShimBehaviourName = 'ok'): Promise<Sandbox> {
  const id = `${n.toString(16).padStart(2, '0')}${'c0ffee'.repeat(10)}00`;
  const body = createShimPayload(id)();
  const shim = await startFakeShim({ socketPath: path.join(root, id, 'shim-monitor.sock'), metrics: () => body, behaviour });
  const pod: FakePod = { id, name: `app-${n}`, uid: `00000000-0000-4000-a000-00000000000${n}`, namespace: `ns-${n}` };
  pods.push(pod);
  demo.cri.setPods([...pods, demo.runcPod]);
  return { id, root, body, pod, shim };
}

async function get(url: string, headers: Record<string, string> = {}): Promise<string> {
  const res = await fetch(url, { headers });
  assert.equal(res.status, 200, url);
  return res.text();
}

/** The text after the daemon's own kata_monitor_* families (they come first). */
function sandboxPart(text: string): string {
  const at = text.search(/^# HELP (?!kata_monitor_)/m);
  assert.ok(at > 0, 'own families first, then sandbox families');
  return text.slice(at);
}

/** The daemon's own families without their values: names, types, help, and each series' labels. */
function ownShape(text: string): unknown {
  return parseText(text)
    .filter((f) => f.name.startsWith('kata_monitor_'))
    .map((f) => ({ name: f.name, type: f.type, help: f.help, series: f.metrics.map((m) => m.labels.map((l) => `${l.name}=${l.value}`).join(',')).sort() }));
}

/** The JSON `metrics -format json` prints for families, non-finite numbers and big integers as strings. */
function asJson(families: readonly MetricFamily[]): unknown {
  return JSON.parse(JSON.stringify(families, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : typeof v === 'bigint' ? String(v) : v)));
}

describe('one-shot commands against a simulated host', () => {
  let demo: DemoEnvironment;
  let daemon: Child;
  let url: string;
  const pods: FakePod[] = [];
  const sandboxes: Sandbox[] = [];

  before(async () => {
    demo = await startDemo({ sandboxes: 0 });
    // Three sandboxes, one under runtime-rs' root.
    sandboxes.push(await addSandbox(demo, pods, 1, demo.roots[0]!));
    sandboxes.push(await addSandbox(demo, pods, 2, demo.roots[0]!));
    sandboxes.push(await addSandbox(demo, pods, 3, demo.roots[1]!));
    // The daemon, for comparison: no command is the daemon, as upstream.
    daemon = spawnDaemon([...hostFlags(demo), '-listen-address=127.0.0.1:0', '-openmetrics']);
    url = await daemon.serving;
    // Every sandbox named by CRI in its answers.
    await until(
      async () => {
        const t = await get(`${url}/metrics?filter_family=kata_hypervisor_fds`);
        return sandboxes.every((s) => t.includes(`sandbox_id="${s.id}",cri_uid="${s.pod.uid}"`));
      },
      15_000,
      'the daemon to know every pod',
    );
  });
  after(async () => {
    await daemon?.kill();
    for (const s of sandboxes) await s.shim.close();
    await demo?.stop();
  });

  /**
   * Runs `fn` with the comparison daemon stopped (SIGSTOP), so that what the shims and the CRI
   * count is the command's doing alone, not the daemon's idle scrape or CRI lookups.
   */
  const alone = async (fn: () => Promise<void>): Promise<void> => {
    process.kill(daemon.pid, 'SIGSTOP');
    try {
      await new Promise((r) => setTimeout(r, 100)); // what it had sent arrives first
      await fn();
    } finally {
      process.kill(daemon.pid, 'SIGCONT');
    }
  };

  it('without a command, kata-monitor is the daemon (drop-in)', () => {
    assert.match(daemon.stderr(), /kata-monitor serving on http:\/\/127\.0\.0\.1:\d+/);
  });

  it('metrics prints what /metrics answers: the same sandbox families byte for byte, the same own families', async () => {
    const r = await runCli(['metrics', ...hostFlags(demo)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '');
    const answer = await get(`${url}/metrics`);
    assert.ok(r.stdout.startsWith('# HELP kata_monitor_'), 'the own families first');
    assert.equal(sandboxPart(r.stdout), sandboxPart(answer));
    for (const s of sandboxes) assert.ok(r.stdout.includes(`sandbox_id="${s.id}",cri_uid="${s.pod.uid}",cri_name="${s.pod.name}",cri_namespace="${s.pod.namespace}"`));
    // The own families: the same ones with the same series; only their values are the process' own.
    assert.deepEqual(ownShape(r.stdout), ownShape(answer));
  });

  it('metrics -filter-family A,B prints what /metrics?filter_family=A,B answers (no own families)', async () => {
    const r = await runCli(['metrics', '-filter-family', 'kata_hypervisor_,kata_shim_go_goroutines', ...hostFlags(demo)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, await get(`${url}/metrics?filter_family=kata_hypervisor_,kata_shim_go_goroutines`));
    assert.doesNotMatch(r.stdout, /kata_monitor_/);
    assert.match(r.stdout, /^# TYPE kata_shim_go_goroutines gauge$/m);
  });

  it('metrics -format openmetrics prints the OpenMetrics answer, one # EOF at the end', async () => {
    const r = await runCli(['metrics', '-format', 'openmetrics', '-filter-family', 'kata_hypervisor_,kata_agent_', ...hostFlags(demo)]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, await get(`${url}/metrics?filter_family=kata_hypervisor_,kata_agent_`, { Accept: OPENMETRICS }));
    assert.equal(r.stdout.match(/^# EOF$/gm)?.length, 1);
    assert.ok(r.stdout.endsWith('\n# EOF\n'));
  });

  it('metrics -format json prints the families as the model reads them', async () => {
    const r = await runCli(['metrics', '-format', 'json', '-filter-family', 'kata_hypervisor_,kata_shim_go_gc_duration_seconds', ...hostFlags(demo)]);
    assert.equal(r.code, 0, r.stderr);
    const text = await get(`${url}/metrics?filter_family=kata_hypervisor_,kata_shim_go_gc_duration_seconds`);
    assert.deepEqual(JSON.parse(r.stdout), asJson(parseText(text)));
    const all = JSON.parse((await runCli(['metrics', '-format', 'json', ...hostFlags(demo)])).stdout) as { name: string }[];
    assert.equal(all[0]?.name.startsWith('kata_monitor_'), true, 'without a filter, the own families first');
  });

  it('metrics -sandbox ID prints the shim\'s body unchanged, as /metrics?sandbox=ID; a prefix of the id will do', async () => {
    const s = sandboxes[2]!;
    const full = await runCli(['metrics', '-sandbox', s.id, ...hostFlags(demo)]);
    assert.equal(full.code, 0, full.stderr);
    assert.equal(full.stdout, s.body);
    assert.equal(full.stdout, await get(`${url}/metrics?sandbox=${s.id}`));
    const prefix = await runCli(['metrics', '-sandbox', s.id.slice(0, 12), ...hostFlags(demo)]);
    assert.equal(prefix.stdout, s.body);
  });

  it('metrics read by a reader that stops early (`| head -1`) ends quietly, exit 0', async () => {
    const child = spawnDaemon(['metrics', ...hostFlags(demo)]);
    const first = await new Promise<string>((resolve) => {
      let got = '';
      child.proc.stdout!.on('data', (c: Buffer) => {
        got += c.toString('utf8');
        if (got.includes('\n')) {
          child.proc.stdout!.destroy();
          resolve(got.slice(0, got.indexOf('\n')));
        }
      });
    });
    assert.match(first, /^# HELP kata_monitor_/);
    const exit = await child.exited;
    assert.equal(exit.code, 0, child.stderr());
    assert.doesNotMatch(child.stderr(), /EPIPE|Error/);
  });

  it('metrics -sandbox with an unknown id exits 1 naming the sandboxes there are', async () => {
    const r = await runCli(['metrics', '-sandbox', 'deadbeef', ...hostFlags(demo)]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^kata-monitor metrics: no sandbox "deadbeef" under .*\(there are: (.*)\)\n$/);
    const listed = /\(there are: (.*)\)/.exec(r.stderr)![1]!.split(', ');
    assert.deepEqual(listed.sort(), sandboxes.map((s) => s.id.slice(0, 12)).sort());
    // A prefix of several ids names none of them.
    const ambiguous = await runCli(['metrics', '-sandbox', '0', ...hostFlags(demo)]);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.stderr, /"0" names 3 sandboxes/);
  });

  it('sandboxes -o json: root, pod name, namespace and uid, up, duration, series of each sandbox', async () => {
    const r = await runCli(['sandboxes', '-o', 'json', ...hostFlags(demo)]);
    assert.equal(r.code, 0, r.stderr);
    const rows = JSON.parse(r.stdout) as { id: string; root: string; pod: Record<string, string>; up: boolean; durationMs: number; series: number; error?: unknown }[];
    assert.deepEqual(rows.map((x) => x.id).sort(), sandboxes.map((s) => s.id).sort());
    for (const s of sandboxes) {
      const row = rows.find((x) => x.id === s.id)!;
      assert.equal(row.root, s.root);
      assert.deepEqual(row.pod, { name: s.pod.name, namespace: s.pod.namespace, uid: s.pod.uid });
      assert.equal(row.up, true);
      assert.ok(typeof row.durationMs === 'number' && row.durationMs >= 0);
      assert.equal(row.series, s.body.split('\n').filter((l) => l !== '' && !l.startsWith('#')).length, 'every sample line of the body');
      assert.equal('error' in row, false);
    }
  });

  it('sandboxes (-o table): a header and one line per sandbox', async () => {
    const r = await runCli(['sandboxes', ...hostFlags(demo)]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.deepEqual(lines[0]!.split(/\s{2,}/), ['SANDBOX', 'POD', 'NAMESPACE', 'POD UID', 'UP', 'MS', 'SERIES', 'ROOT', 'ERROR']);
    assert.equal(lines.length, 1 + sandboxes.length);
    for (const s of sandboxes) {
      const line = lines.find((l) => l.startsWith(s.id.slice(0, 12) + ' '));
      assert.ok(line, `a line for ${s.id}`);
      const cells = line.split(/\s{2,}/);
      assert.deepEqual([cells[1], cells[2], cells[3], cells[4], cells[7]], [s.pod.name, s.pod.namespace, s.pod.uid, 'yes', s.root]);
    }
  });

  it('--help lists the commands; a command\'s -h its own flags (exit 0)', async () => {
    const r = await runCli(['--help']);
    assert.equal(r.code, 0);
    for (const c of ['metrics', 'sandboxes', 'validate', 'version']) assert.match(r.stderr, new RegExp(`^ {2}${c}$`, 'm'));
    const m = await runCli(['metrics', '-h']);
    assert.equal(m.code, 0);
    assert.match(m.stderr, /^Usage of kata-monitor metrics: /);
    for (const f of ['-sandbox ID', '-filter-family A,B', '-format string']) assert.ok(m.stderr.includes(`  ${f}\n`), f);
  });

  it('a usage error exits 2 with the message and the usage, running nothing', async () => {
    await alone(async () => {
      const before = sandboxes.map((s) => s.shim.requests);
      for (const [args, message] of [
        [['metrics', '-o', 'json'], 'flag provided but not defined: -o'],
        [['sandboxes', '-format', 'json'], 'flag provided but not defined: -format'],
        [['metrics', '-format', 'yaml'], 'invalid value "yaml" for flag -format: unknown format "yaml" (use text, openmetrics or json)'],
        [['validate'], 'validate needs -config FILE'],
      ] as const) {
        const r = await runCli([...args, ...hostFlags(demo)]);
        assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
        assert.ok(r.stderr.startsWith(`${message}\nUsage of kata-monitor ${args[0]}: `), r.stderr);
        assert.equal(r.stdout, '');
      }
      assert.deepEqual(sandboxes.map((s) => s.shim.requests), before, 'no shim was asked');
    });
  });

  it('validate -config FILE: every error with its key and line, exit 2; exit 0 when valid; nothing is scraped', async () => {
    await alone(async () => {
      const before = sandboxes.map((s) => s.shim.requests);
      const calls = demo.cri.calls;
      const bad = path.join(demo.dir, 'bad.yaml');
      await writeFile(
        bad,
        [
          'receivers:',
          '  kata_monitor:',
          '    sample_limit: lots',
          '    shim: { timout: 3s }',
          'exporters:',
          '  otlp:',
          '    retry_on_failure: { multiplier: 0 }',
          'service:',
          '  pipelines:',
          '    metrics: { receivers: [kata_monitor], exporters: [otlp, otlphttp] }',
          '',
        ].join('\n'),
      );
      const r = await runCli(['validate', '-config', bad]);
      assert.equal(r.code, 2);
      assert.equal(r.stdout, '');
      assert.deepEqual(r.stderr.trimEnd().split('\n'), [
        'config error: receivers.kata_monitor.sample_limit (line 3): invalid integer "lots"',
        'config error: receivers.kata_monitor.shim.timout (line 4): unknown key "timout" (did you mean "timeout"?); allowed: timeout, max_body_bytes, concurrency',
        'config error: exporters.otlp.retry_on_failure.multiplier (line 7): must be at least 1, got 0',
        'config error: service.pipelines.metrics.exporters[1] (line 10): references exporter "otlphttp", which is not defined (did you mean "otlp"?)',
        'kata-monitor: invalid configuration, 4 error(s)',
      ]);

      const good = path.join(demo.dir, 'good.yaml');
      await writeFile(good, 'exporters:\n  debug: {}\n  prometheus: {}\nservice:\n  pipelines:\n    metrics: { receivers: [kata_monitor], exporters: [debug] }\n');
      const ok = await runCli(['validate', '-config', good]);
      assert.equal(ok.code, 0, ok.stderr);
      assert.equal(ok.stdout, `${good}: valid (1 pipeline(s), 1 exporter(s), 0 extension(s), 1 warning(s))\n`);
      assert.equal(ok.stderr, 'config warning: exporters.prometheus (line 3): "prometheus" is defined but not used in any pipeline\n');

      const example = await runCli(['validate', '-config', fileURLToPath(new URL('../../otel-config.example.yaml', import.meta.url))]);
      assert.equal(example.code, 0, example.stderr);

      assert.deepEqual(sandboxes.map((s) => s.shim.requests), before, 'no shim was asked');
      assert.equal(demo.cri.calls, calls, 'CRI was never asked');
    });
  });
});

describe('one-shot commands when something is broken', () => {
  let demo: DemoEnvironment;
  const pods: FakePod[] = [];
  const sandboxes: Sandbox[] = [];

  before(async () => {
    demo = await startDemo({ sandboxes: 0 });
    sandboxes.push(await addSandbox(demo, pods, 1, demo.roots[0]!));
    sandboxes.push(await addSandbox(demo, pods, 2, demo.roots[0]!, 'garbage'));
  });
  after(async () => {
    for (const s of sandboxes) await s.shim.close();
    await demo?.stop();
  });

  it('sandboxes shows a broken shim\'s error and exits 1; the healthy one is still listed', async () => {
    const [healthy, broken] = sandboxes as [Sandbox, Sandbox];
    const json = await runCli(['sandboxes', '-o', 'json', ...hostFlags(demo)]);
    assert.equal(json.code, 1);
    const rows = JSON.parse(json.stdout) as { id: string; up: boolean; series: number; error?: { reason: string; message: string } }[];
    assert.equal(rows.find((x) => x.id === healthy.id)?.up, true);
    const row = rows.find((x) => x.id === broken.id)!;
    assert.equal(row.up, false);
    assert.equal(row.series, 0);
    assert.equal(row.error?.reason, 'malformed');
    assert.match(row.error?.message ?? '', /malformed metrics body/);
    assert.match(json.stderr, new RegExp(`^sandbox ${broken.id}: malformed: malformed metrics body`, 'm'));

    const table = await runCli(['sandboxes', ...hostFlags(demo)]);
    assert.equal(table.code, 1);
    const line = table.stdout.split('\n').find((l) => l.startsWith(broken.id.slice(0, 12)))!;
    assert.match(line, /\s{2}no\s{2}.*\s{2}malformed: malformed metrics body/);
  });

  it('metrics still prints the healthy sandboxes, names the broken one on stderr, and exits 1', async () => {
    const [healthy, broken] = sandboxes as [Sandbox, Sandbox];
    const r = await runCli(['metrics', '-filter-family', 'kata_hypervisor_fds', ...hostFlags(demo)]);
    assert.equal(r.code, 1);
    assert.match(r.stdout, new RegExp(`^kata_hypervisor_fds\\{sandbox_id="${healthy.id}",cri_uid="${healthy.pod.uid}"`, 'm'));
    assert.ok(!r.stdout.includes(broken.id));
    assert.match(r.stderr, new RegExp(`^sandbox ${broken.id}: malformed: `, 'm'));
    // Said once, by the command: the daemon's own log line about it is left out.
    assert.doesNotMatch(r.stderr, /failed to get metrics for sandbox/);
  });

  it('with the CRI runtime gone, the commands still print, with empty cri_* labels, and say why', async () => {
    const gone = `unix://${path.join(demo.dir, 'no-such-cri.sock')}`;
    const r = await runCli(['metrics', '-filter-family', 'kata_hypervisor_fds', ...hostFlags(demo, gone)]);
    assert.match(r.stdout, new RegExp(`^kata_hypervisor_fds\\{sandbox_id="${sandboxes[0]!.id}",cri_uid="",cri_name="",cri_namespace=""\\} `, 'm'));
    assert.match(r.stderr, /^kata-monitor metrics: the CRI runtime at unix:\/\/.*no-such-cri\.sock did not answer \(cannot reach .*\): pod labels are empty$/m);
    assert.doesNotMatch(r.stderr, /retrying every/, 'a one-shot command retries nothing');
    const s = await runCli(['sandboxes', '-o', 'json', ...hostFlags(demo, gone)]);
    const rows = JSON.parse(s.stdout) as { id: string; pod: Record<string, string> }[];
    assert.deepEqual(rows.find((x) => x.id === sandboxes[0]!.id)?.pod, { name: '', namespace: '', uid: '' });
  });

  it('with a CRI runtime that never answers, the commands end after the CRI timeout and print', async () => {
    const dir = path.join(demo.dir, 'hung');
    await mkdir(dir, { recursive: true });
    const hung = await FakeCriServer.start({ socketPath: path.join(dir, 'cri.sock'), pods, delayMs: 3_600_000 });
    try {
      const config = path.join(dir, 'cri-timeout.yaml');
      await writeFile(config, 'receivers:\n  kata_monitor:\n    cri: { timeout: 300ms }\n');
      const r = await runCli(['sandboxes', '-config', config, ...hostFlags(demo, `unix://${hung.socketPath}`)]);
      assert.match(r.stderr, /did not answer \(ListPodSandbox on CRI runtime endpoint .* did not answer within 300 ms\): pod labels are empty/);
      assert.match(r.stdout, new RegExp(`^${sandboxes[0]!.id.slice(0, 12)}\\s+-\\s+-\\s+-\\s+yes\\s`, 'm'));
      assert.ok(hung.calls >= 1, 'the runtime was asked');
    } finally {
      await hung.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
