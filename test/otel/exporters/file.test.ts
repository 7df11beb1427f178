// The `file` exporter, with contrib's keys: what was pushed, in a file, one
// OTLP/JSON ExportMetricsServiceRequest per line (or protobuf, each request
// after its length), the same data the OTLP exporters send; rotated by size
// with a bounded number of backups; complete once the daemon has exited on
// SIGTERM. The daemon runs as the CLI (a child process) against the demo
// environment, next to an otlphttp exporter whose receiver records what the
// push sent.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hostFlags, spawnDaemon } from '../../lifecycle/support.ts';
import { diffPoints, points, type AnyRequest } from '../../interop/support/points.ts';
import { decodeJson, decodeProto, startReceiver, type DecodedRequest } from '../support/receiver.ts';
import { pipelineYaml, startDemo, until, type DemoEnvironment } from './harness.ts';

let demo: DemoEnvironment;
let dir: string;
before(async () => {
  demo = await startDemo({ sandboxes: 2 });
  dir = mkdtempSync(path.join(tmpdir(), 'file-exporter-'));
});
after(async () => {
  await demo.stop();
  rmSync(dir, { recursive: true, force: true });
});

let serial = 0;
function daemonWith(exporters: Record<string, string>, interval = '200ms') {
  const config = path.join(dir, `config-${++serial}.yaml`);
  writeFileSync(config, pipelineYaml(exporters, { interval }));
  return spawnDaemon(['-config', config, ...hostFlags(demo), '-listen-address=127.0.0.1:0']);
}

/** The JSON lines of a file exporter's output: every line whole and valid OTLP/JSON. */
function jsonLines(file: string): AnyRequest[] {
  const text = readFileSync(file, 'utf8');
  assert.ok(text.endsWith('\n'), 'the file ends with a whole line');
  return text
    .slice(0, -1)
    .split('\n')
    .map((line) => {
      decodeJson(line); // protobufjs' JSON mapping accepts it: field names, types, shapes
      return JSON.parse(line) as AnyRequest;
    });
}

/** The requests of a `format: proto` file: each a uint32 big-endian length, then that many bytes. */
function protoFrames(file: string): DecodedRequest[] {
  const data = readFileSync(file);
  const out: DecodedRequest[] = [];
  let at = 0;
  while (at < data.length) {
    assert.ok(at + 4 <= data.length, `a whole length at ${at}`);
    const n = data.readUInt32BE(at);
    assert.ok(at + 4 + n <= data.length, `a whole request at ${at} (${n} bytes)`);
    out.push(decodeProto(data.subarray(at + 4, at + 4 + n)));
    at += 4 + n;
  }
  return out;
}

function assertSameData(written: readonly AnyRequest[], sent: readonly AnyRequest[], what: string): void {
  assert.equal(written.length, sent.length, `${what}: as many requests as the otlphttp exporter sent`);
  for (let k = 0; k < sent.length; k++) {
    const diff = diffPoints(points([sent[k]!]), points([written[k]!]));
    assert.deepEqual(diff.missing.slice(0, 3), [], `${what}, request ${k}: the same points`);
    assert.deepEqual(diff.changed.slice(0, 1), [], `${what}, request ${k}: the same values`);
  }
}

describe('file exporter', () => {
  it('format json and proto: the same requests as otlphttp sent, all of them in the files once the daemon exits on SIGTERM', async () => {
    const receiver = await startReceiver();
    const json = path.join(dir, 'out', 'metrics.json');
    const proto = path.join(dir, 'out', 'metrics.binpb');
    const d = daemonWith({
      'file/json': `path: ${json}\ncreate_directory: true`,
      'file/proto': `path: ${proto}\nformat: proto\ncreate_directory: true`,
      otlphttp: `metrics_endpoint: ${receiver.url}`,
    });
    try {
      await d.serving;
      await until(() => receiver.received.length >= 3, 'three pushes received');
      d.proc.kill('SIGTERM');
      const exit = await d.exited;
      assert.equal(exit.code, 0, d.stderr());
      // The final push at SIGTERM went to every exporter; the receiver has it now.
      const sent = receiver.received.map((r) => r.request);
      assertSameData(jsonLines(json), sent, 'json');
      assertSameData(protoFrames(proto), sent, 'proto');
    } finally {
      await d.kill();
      await receiver.close();
    }
  });

  it('rotation: a new file once max_megabytes would be passed, at most max_backups backups kept, every file whole', async () => {
    const receiver = await startReceiver();
    const sub = path.join(dir, 'rotated');
    const file = path.join(sub, 'metrics.binpb');
    const d = daemonWith(
      {
        file: `path: ${file}\nformat: proto\ncreate_directory: true\nrotation: { max_megabytes: 1, max_backups: 2 }`,
        otlphttp: `metrics_endpoint: ${receiver.url}`,
      },
      '100ms',
    );
    try {
      await d.serving;
      // Enough bytes for at least four files: the oldest backups had to go.
      const MiB = 1024 * 1024;
      await until(() => receiver.received.reduce((n, r) => n + r.rawBytes + 4, 0) > 5 * MiB, '5 MiB pushed');
      d.proc.kill('SIGTERM');
      assert.equal((await d.exited).code, 0, d.stderr());
      const names = readdirSync(sub).sort();
      const backups = names.filter((n) => n !== 'metrics.binpb');
      assert.ok(names.includes('metrics.binpb'), 'the current file');
      assert.equal(backups.length, 2, `two backups kept: ${names.join(', ')}`);
      for (const b of backups) assert.match(b, /^metrics-\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}\.binpb$/, 'named as lumberjack names backups');
      const ordered = [...backups, 'metrics.binpb'].map((n) => path.join(sub, n));
      for (const f of ordered) assert.ok(statSync(f).size <= MiB, `${path.basename(f)}: ${statSync(f).size} bytes, within max_megabytes`);
      // What the files hold is the tail of what was pushed, in order, nothing lost between them.
      const kept = ordered.flatMap(protoFrames);
      const sent = receiver.received.map((r) => r.request);
      assert.ok(kept.length >= 3 && kept.length < sent.length, `${kept.length} of ${sent.length} requests kept`);
      assertSameData(kept, sent.slice(sent.length - kept.length), 'rotated files');
    } finally {
      await d.kill();
      await receiver.close();
    }
  });

  it('a missing directory is a start-up error naming the exporter and the path (exit 1), unless create_directory', async () => {
    const file = path.join(dir, 'does', 'not', 'exist', 'metrics.json');
    const d = daemonWith({ 'file/out': `path: ${file}` });
    const exit = await d.exited;
    assert.equal(exit.code, 1);
    assert.match(d.stderr(), /cannot start/);
    assert.match(d.stderr(), /file\/out/);
    assert.ok(d.stderr().includes(path.dirname(file)), d.stderr());
    assert.match(d.stderr(), /create_directory/);
    assert.equal(existsSync(path.dirname(file)), false);
  });
});
