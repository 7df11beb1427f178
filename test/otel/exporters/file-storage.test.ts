// The persistent sending queue: `extensions: { file_storage: … }` listed in
// service.extensions and `sending_queue: { storage: file_storage }`, as in
// the collector. Each batch is a file written before its first attempt and
// removed once delivered or dropped; a daemon killed with SIGKILL during a
// backend outage delivers, after its restart, everything it had queued, in
// order. The queue's bound holds on disk; damaged batch files are set aside,
// logged and counted; a directory that cannot be used stops the start.
//
// The daemon runs as the CLI (a child process, so that it can be killed)
// against the demo environment; the backend is a real OTLP/HTTP receiver
// answering 503 until it "recovers".

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { gunzipSync } from 'node:zlib';
import { CLI, hostFlags, sampleValue, spawnDaemon, type Child } from '../../lifecycle/support.ts';
import { decodeProto, flatten, startReceiver, type DecodedRequest, type Receiver } from '../support/receiver.ts';
import { logged, parseConfigFor, pipelineYaml, startDemo, startPushing, until, type DemoEnvironment, type LogLine } from './harness.ts';

let demo: DemoEnvironment;
let dir: string;
before(async () => {
  demo = await startDemo({ sandboxes: 2 });
  dir = mkdtempSync(path.join(tmpdir(), 'file-storage-'));
  chmodSync(dir, 0o755);
});
after(async () => {
  await demo.stop();
  rmSync(dir, { recursive: true, force: true });
});

let serial = 0;
function freshDir(name: string): string {
  const d = path.join(dir, `${name}-${++serial}`);
  return d;
}

/** An otlphttp exporter with a persistent queue in `storageDir`, pushing every `interval`. */
function persistentYaml(receiver: Receiver, storageDir: string, o: { readonly queue?: string; readonly interval?: string; readonly storage?: string } = {}): string {
  return pipelineYaml(
    {
      otlphttp: `metrics_endpoint: ${receiver.url}
retry_on_failure: { initial_interval: 50ms, max_interval: 200ms }
sending_queue: { storage: file_storage${o.queue ? `, ${o.queue}` : ''} }`,
    },
    {
      interval: o.interval ?? '200ms',
      extensions: `file_storage:\n  directory: ${storageDir}\n  create_directory: true${o.storage ? `\n  ${o.storage}` : ''}`,
      serviceExtensions: ['file_storage'],
    },
  );
}

function runCliDaemon(yaml: string): Child {
  const config = path.join(dir, `config-${++serial}.yaml`);
  writeFileSync(config, yaml);
  return spawnDaemon(['-config', config, '-log-format', 'json', ...hostFlags(demo), '-listen-address=127.0.0.1:0']);
}

function logLines(stderr: string): LogLine[] {
  return stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as LogLine);
}

/** The exporter's queue directory: one per exporter and pipeline, named as the collector names a storage client. */
const queueDir = (storageDir: string): string => path.join(storageDir, 'exporter_otlphttp_metrics');

function batchFiles(storageDir: string): string[] {
  const q = queueDir(storageDir);
  return existsSync(q) ? readdirSync(q).filter((n) => n.endsWith('.batch')).sort() : [];
}

/**
 * A batch file read as its format says (storage.ts): "KMQ1", flags (1 JSON,
 * 2 gzip), points, payload length, CRC-32 (uint32 big-endian each), payload.
 */
function readBatchFile(file: string): { points: number; request: DecodedRequest } {
  const data = readFileSync(file);
  assert.equal(data.subarray(0, 4).toString('latin1'), 'KMQ1');
  const flags = data[4]!;
  const length = data.readUInt32BE(9);
  assert.equal(data.length, 17 + length, `${file}: whole`);
  let payload = data.subarray(17);
  if (flags & 2) payload = gunzipSync(payload);
  assert.equal(flags & 1, 0, 'protobuf');
  return { points: data.readUInt32BE(5), request: decodeProto(payload) };
}

/** When a request's points were taken (ns): the latest point time in it. */
function pushTime(r: DecodedRequest): bigint {
  return flatten(r).reduce((t, p) => (BigInt(p.point.timeUnixNano ?? '0') > t ? BigInt(p.point.timeUnixNano ?? '0') : t), 0n);
}

const failing = (): { status: number } => ({ status: 503 });

describe('file_storage: a persistent sending queue', () => {
  it('kill -9 during an outage, then a restart: everything queued is delivered, in order, then the new pushes (fsync on)', async () => {
    const receiver = await startReceiver(failing);
    const storageDir = freshDir('kill9');
    const yaml = persistentYaml(receiver, storageDir, { storage: 'fsync: true' });
    const first = runCliDaemon(yaml);
    let second: Child | undefined;
    try {
      await first.serving;
      // Batches pile up on disk while the backend answers 503 (each tried, none accepted).
      await until(() => batchFiles(storageDir).length >= 6 && receiver.attempts.length >= 3, 'six batches queued on disk');
      first.proc.kill('SIGKILL');
      assert.equal((await first.exited).signal, 'SIGKILL');
      assert.equal(receiver.received.length, 0, 'nothing was accepted before the kill');

      const queued = batchFiles(storageDir).map((n) => readBatchFile(path.join(queueDir(storageDir), n)));
      assert.ok(queued.length >= 6);
      for (let k = 1; k < queued.length; k++) assert.ok(pushTime(queued[k]!.request) > pushTime(queued[k - 1]!.request), 'queued in push order');

      receiver.behave(() => ({}));
      second = runCliDaemon(yaml);
      await second.serving;
      await until(() => receiver.received.length >= queued.length + 2, 'the queue and two new pushes delivered');
      const got = receiver.received.map((r) => r.request);
      for (let k = 0; k < queued.length; k++) assert.deepEqual(got[k], queued[k]!.request, `request ${k}: batch ${k} of the queue, as it was on disk`);
      const times = got.map(pushTime);
      for (let k = 1; k < times.length; k++) assert.ok(times[k]! > times[k - 1]!, `request ${k} is newer than request ${k - 1}: in order, nothing twice`);
      assert.equal(logged(logLines(second.stderr()), 'OTLP queue restored from storage', { batches: queued.length }).length, 1, 'the restore is logged');
      // Delivered batches are removed: between pushes the directory empties.
      await until(() => batchFiles(storageDir).length === 0, 'the queue directory empty once delivered');
      const metrics = await (await fetch(`${await second.serving}/metrics`)).text();
      assert.equal(sampleValue(metrics, 'kata_monitor_otlp_queue_persistent', { exporter: 'otlphttp' }), 1);
    } finally {
      await first.kill();
      await second?.kill();
      await receiver.close();
    }
  });

  for (const [sizer, size, unitOf] of [
    ['requests', 3, () => 1],
    ['items', 2500, (b: { points: number }) => b.points],
    ['bytes', 100_000, (b: { bytes: number }) => b.bytes],
  ] as const) {
    it(`the bound holds on disk (sizer ${sizer}, queue_size ${size}): the oldest batch files go, counted as overflow`, async () => {
      const receiver = await startReceiver(failing);
      const storageDir = freshDir(`bound-${sizer}`);
      const p = await startPushing(demo, persistentYaml(receiver, storageDir, { queue: `sizer: ${sizer}, queue_size: ${size}`, interval: '100ms' }));
      try {
        let most = 0;
        let seen = 0;
        await until(async () => {
          const files = batchFiles(storageDir);
          const batches = files.map((n) => {
            try {
              const data = readFileSync(path.join(queueDir(storageDir), n));
              return { points: data.readUInt32BE(5), bytes: data.readUInt32BE(9) };
            } catch {
              return { points: 0, bytes: 0 }; // delivered or dropped meanwhile
            }
          });
          most = Math.max(most, batches.reduce((n, b) => n + unitOf(b as never), 0));
          seen = Math.max(seen, files.length);
          const dropped = sampleValue(await p.metrics(), 'kata_monitor_otlp_dropped_batches_total', { exporter: 'otlphttp', reason: 'overflow' }) ?? 0;
          return dropped >= 4;
        }, 'four batches dropped as overflow');
        assert.ok(seen >= 1, 'batches were kept on disk');
        assert.ok(most <= size, `on disk at most ${size} ${sizer} (seen ${most})`);
        const m = await p.metrics();
        assert.ok((sampleValue(m, 'kata_monitor_otlp_dropped_points_total', { exporter: 'otlphttp', reason: 'overflow' }) ?? 0) > 0);
      } finally {
        await p.stop();
        await receiver.close();
      }
    });
  }

  it('a full disk, simulated by a bound smaller than one batch: nothing written, every batch dropped and counted, the daemon serves on', async () => {
    const receiver = await startReceiver(failing);
    const storageDir = freshDir('full');
    const p = await startPushing(demo, persistentYaml(receiver, storageDir, { queue: 'sizer: bytes, queue_size: 64', interval: '100ms' }));
    try {
      await until(async () => (sampleValue(await p.metrics(), 'kata_monitor_otlp_dropped_batches_total', { exporter: 'otlphttp', reason: 'overflow' }) ?? 0) >= 3, 'three batches dropped');
      assert.deepEqual(batchFiles(storageDir), [], 'no batch file ever kept');
      assert.equal(receiver.attempts.length, 0, 'nothing sent');
      assert.ok(logged(p.lines, 'OTLP batch dropped', { reason: 'overflow' }).length >= 1, 'logged');
      const res = await fetch(`${p.daemon.url}/sandboxes`);
      assert.equal(res.status, 200);
    } finally {
      await p.stop();
      await receiver.close();
    }
  });

  it('damaged batch files (bad checksum, truncated, not a batch) are set aside, logged and counted; the rest is delivered in order', async () => {
    const receiver = await startReceiver(failing);
    const storageDir = freshDir('corrupt');
    const yaml = persistentYaml(receiver, storageDir, { interval: '1h' });
    const children: Child[] = [];
    try {
      // Three runs during the outage, each leaving two batches on disk: its push at start and its final push at SIGTERM.
      for (let run = 0; run < 3; run++) {
        const d = runCliDaemon(yaml);
        children.push(d);
        await d.serving;
        await until(() => batchFiles(storageDir).length >= 2 * run + 1, `run ${run}: its first push on disk`);
        d.proc.kill('SIGTERM');
        assert.equal((await d.exited).code, 0, d.stderr());
      }
      const names = batchFiles(storageDir);
      assert.equal(names.length, 6, `six batches kept across the restarts: ${names.join(' ')}`);
      const q = queueDir(storageDir);
      const intact = [names[0]!, names[2]!, names[4]!].map((n) => readBatchFile(path.join(q, n)).request);
      // A flipped payload byte (the checksum no longer matches), a file cut short, a stranger with the batch suffix.
      const flipped = path.join(q, names[1]!);
      const data = readFileSync(flipped);
      data.writeUInt8(data.readUInt8(data.length - 1) ^ 0xff, data.length - 1);
      writeFileSync(flipped, data);
      truncateSync(path.join(q, names[3]!), 40);
      writeFileSync(path.join(q, names[5]!), 'not a batch at all\n');

      receiver.behave(() => ({}));
      const d = runCliDaemon(yaml);
      children.push(d);
      const url = await d.serving;
      await until(() => receiver.received.length >= 4, 'the intact batches and the new push');
      assert.deepEqual(
        receiver.received.slice(0, 3).map((r) => r.request),
        intact,
        'the intact batches, in order',
      );
      await until(async () => sampleValue(await (await fetch(`${url}/metrics`)).text(), 'kata_monitor_otlp_queue_corrupt_batches_total', { exporter: 'otlphttp' }) === 3, 'three corrupt batches counted');
      const lines = logLines(d.stderr());
      const setAside = logged(lines, 'OTLP batch file unreadable: set aside, not sent');
      assert.deepEqual(setAside.map((l) => path.basename(String(l['file']))).sort(), [names[1], names[3], names[5]].sort(), 'one log line per damaged file, naming it');
      assert.match(String(setAside.find((l) => String(l['file']).endsWith(names[1]!))?.['error']), /checksum/);
      assert.match(String(setAside.find((l) => String(l['file']).endsWith(names[3]!))?.['error']), /truncated/);
      assert.match(String(setAside.find((l) => String(l['file']).endsWith(names[5]!))?.['error']), /not a batch file/);
      assert.deepEqual(readdirSync(q).filter((n) => n.endsWith('.corrupt')).sort(), [names[1], names[3], names[5]].map((n) => `${n}.corrupt`).sort(), 'kept aside for a look, never sent');
      assert.equal(d.proc.exitCode, null, 'still running');
    } finally {
      for (const c of children) await c.kill();
      await receiver.close();
    }
  });
});

describe('file_storage: what stops the start', () => {
  it('a directory that does not exist (without create_directory): exit 1, naming the extension and the directory', async () => {
    const receiver = await startReceiver();
    const missing = path.join(dir, 'nowhere', 'queue');
    const yaml = persistentYaml(receiver, missing).replace('  create_directory: true', '  create_directory: false');
    const d = runCliDaemon(yaml);
    try {
      const exit = await d.exited;
      assert.equal(exit.code, 1, d.stderr());
      const line = logged(logLines(d.stderr()), 'cannot start')[0];
      assert.match(String(line?.['error']), new RegExp(`extension file_storage: directory ${missing} does not exist`));
      assert.match(String(line?.['error']), /create_directory/);
      assert.equal(existsSync(missing), false);
    } finally {
      await d.kill();
      await receiver.close();
    }
  });

  it('a directory this process cannot write: exit 1, naming the extension and the directory', async () => {
    const receiver = await startReceiver();
    const locked = freshDir('locked');
    mkdirSync(locked, { mode: 0o555 });
    chmodSync(locked, 0o555);
    const yaml = persistentYaml(receiver, locked);
    const config = path.join(dir, `config-locked-${serial}.yaml`);
    writeFileSync(config, yaml, { mode: 0o644 });
    // Root may write anywhere: then the daemon runs as nobody.
    const asNobody = process.getuid?.() === 0 ? { uid: 65534, gid: 65534 } : {};
    const proc = spawn(process.execPath, [CLI, '-config', config, '-log-format', 'json', '-sandbox-root', dir, '-listen-address=127.0.0.1:0'], {
      env: { PATH: process.env.PATH ?? '', HOME: '/tmp' },
      stdio: ['ignore', 'ignore', 'pipe'],
      ...asNobody,
    });
    let stderr = '';
    proc.stderr!.setEncoding('utf8').on('data', (c: string) => (stderr += c));
    try {
      const code = await new Promise<number | null>((resolve) => proc.once('exit', (c) => resolve(c)));
      assert.equal(code, 1, stderr);
      const line = logged(logLines(stderr), 'cannot start')[0];
      assert.match(String(line?.['error']), new RegExp(`extension file_storage: directory ${locked} is not writable`), stderr);
    } finally {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await receiver.close();
    }
  });

  it('the loader refuses a storage that is not defined, or not listed in service.extensions (key and line in the message)', () => {
    const undefinedStorage = parseConfigFor(
      undefined,
      pipelineYaml({ otlphttp: 'endpoint: http://127.0.0.1:4318\nsending_queue: { storage: file_storage/missing }' }, { extensions: 'file_storage:\n  directory: /tmp/q', serviceExtensions: ['file_storage'] }),
    );
    assert.ok(!undefinedStorage.ok);
    assert.ok(
      undefinedStorage.errors.some((e) => /exporters\.otlphttp\.sending_queue\.storage \(line \d+\)/.test(e) && /"file_storage\/missing"/.test(e)),
      undefinedStorage.errors.join('\n'),
    );

    const notListed = parseConfigFor(undefined, pipelineYaml({ otlphttp: 'endpoint: http://127.0.0.1:4318\nsending_queue: { storage: file_storage }' }, { extensions: 'file_storage:\n  directory: /tmp/q' }));
    assert.ok(!notListed.ok);
    assert.ok(
      notListed.errors.some((e) => /exporters\.otlphttp\.sending_queue\.storage \(line \d+\)/.test(e) && /service\.extensions/.test(e)),
      notListed.errors.join('\n'),
    );

    const named = parseConfigFor(
      undefined,
      pipelineYaml({ otlp: 'endpoint: 127.0.0.1:4317\nsending_queue: { storage: file_storage/otlp }' }, { extensions: 'file_storage/otlp:\n  directory: /tmp/q', serviceExtensions: ['file_storage/otlp'] }),
    );
    assert.ok(named.ok, named.ok ? '' : named.errors.join('\n'));
    const e = named.config.pipelines[0]!.exporters[0]!;
    assert.equal(e.type === 'otlp' && e.queue.storage, 'file_storage/otlp', 'a named instance, on the otlp exporter too');
  });
});
