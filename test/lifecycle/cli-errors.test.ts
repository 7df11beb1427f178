// The CLI refusing to start, as an operator meets it: `node src/bin.ts …` as
// a child process against a simulated host. A bad configuration or flag
// (18) and a listen port already taken (19) end the process with a non-zero
// code and a message naming the cause, and nothing was started: the port is
// still free, no shim was scraped, CRI was never asked.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { closeServer, freePort, occupy, runCli, startHost, writeConfig, type Host } from './support.ts';

let host: Host;
before(async () => {
  host = await startHost({ sandboxes: 2 });
});
after(async () => {
  await host?.stop();
});

/** Asserts that the child left no trace: port free, shims and CRI untouched. */
async function nothingStarted(port: number, stderr: string): Promise<void> {
  assert.doesNotMatch(stderr, /serving on/);
  const s = await occupy(port); // rejects with EADDRINUSE if something still listens
  await closeServer(s);
  assert.deepEqual(
    host.shims.map((x) => x.requests),
    host.shims.map(() => 0),
    'no shim was scraped',
  );
  assert.equal(host.cri.calls, 0, 'CRI was never asked');
}

const PIPELINE = `
exporters:
  otlphttp:
    endpoint: http://127.0.0.1:9
service:
  pipelines:
    metrics: { receivers: [kata_monitor], exporters: [otlphttp] }
`;

describe('18. a bad configuration or flag: exit 2, the cause named, nothing started', { concurrency: true }, () => {
  const cases: { name: string; yaml?: string; args?: string[]; env?: Record<string, string>; message: RegExp }[] = [
    {
      name: 'invalid YAML',
      yaml: 'receivers:\n  kata_monitor:\n    listen_address: [unclosed\n',
      message: /^config error: invalid YAML \(line \d+, column \d+\)/m,
    },
    {
      name: 'an unknown key',
      yaml: 'receivers:\n  kata_monitor:\n    colection_interval: 5s\n',
      message: /^config error: receivers\.kata_monitor\.colection_interval \(line 3\): unknown key.*collection_interval/m,
    },
    {
      name: 'a reference to an unset environment variable',
      yaml: 'service:\n  telemetry:\n    logs:\n      level: ${env:KM_TEST_UNSET_LEVEL}\n',
      message: /^config error: service\.telemetry\.logs\.level \(line 4\): environment variable "KM_TEST_UNSET_LEVEL" is not set/m,
    },
    {
      name: 'an unknown flag',
      args: ['-no-such-flag'],
      message: /^flag provided but not defined: -no-such-flag$/m,
    },
    {
      name: 'a flag with a bad value',
      args: ['-runtime-endpoint', 'npipe:////./pipe/containerd'],
      message: /^config error: flag -runtime-endpoint: invalid runtime endpoint "npipe:\/\/\/\/\.\/pipe\/containerd": protocol "npipe" not supported/m,
    },
    {
      name: 'a config file that does not exist',
      args: ['-config', '/nonexistent/kata-monitor.yaml'],
      message: /^config error: cannot read \/nonexistent\/kata-monitor\.yaml: ENOENT/m,
    },
    {
      name: 'an OTEL_EXPORTER_OTLP_* variable the exporter cannot honour',
      yaml: PIPELINE.replace('    endpoint: http://127.0.0.1:9\n', '    timeout: 1s\n'),
      env: { OTEL_EXPORTER_OTLP_PROTOCOL: 'http/thrift' },
      message: /^config error: exporters\.otlphttp \(line \d+\): OTEL_EXPORTER_OTLP_PROTOCOL: "http\/thrift" is not supported \(use http\/protobuf, http\/json or grpc\)$/m,
    },
    {
      name: 'an OTEL_EXPORTER_OTLP_* variable that is not what it must be',
      yaml: PIPELINE.replace('    endpoint: http://127.0.0.1:9\n', ''),
      env: { OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: '10s' },
      message: /^config error: exporters\.otlphttp \(line \d+\): OTEL_EXPORTER_OTLP_METRICS_TIMEOUT: "10s" is not a positive number of milliseconds$/m,
    },
  ];

  for (const c of cases) {
    it(c.name, async () => {
      const port = await freePort();
      const args = [...host.flags, `-listen-address=127.0.0.1:${port}`];
      if (c.yaml !== undefined) args.push('-config', await writeConfig(host, `${c.name.replace(/\W+/g, '-')}.yaml`, c.yaml));
      args.push(...(c.args ?? []));
      const r = await runCli(args, c.env);
      assert.equal(r.code, 2, `exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, c.message);
      await nothingStarted(port, r.stderr);
    });
  }
});

describe('19. the listen port already in use', () => {
  it('exits 1 with an error naming the address; nothing is left running', async () => {
    const port = await freePort();
    const holder = await occupy(port);
    try {
      const r = await runCli([...host.flags, `-listen-address=127.0.0.1:${port}`]);
      assert.equal(r.code, 1, `exit code (stderr: ${r.stderr})`);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
      assert.doesNotMatch(r.stderr, /serving on/);
    } finally {
      await closeServer(holder);
    }
    // The child is gone and held nothing: the port can be taken again.
    await closeServer(await occupy(port));
  });

  it('names the address from the configuration file too', async () => {
    const port = await freePort();
    const holder = await occupy(port);
    try {
      const file = await writeConfig(host, 'port-in-use.yaml', `receivers:\n  kata_monitor:\n    listen_address: 127.0.0.1:${port}\n`);
      const r = await runCli([...host.flags, '-config', file]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}`));
    } finally {
      await closeServer(holder);
    }
  });
});
