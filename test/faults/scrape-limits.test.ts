// Guest-controlled data is bounded. Part of every shim's body (the
// kata_agent_* and kata_guest_* families) is written inside the guest VM,
// which a tenant controls. A hostile sandbox serving far more series, labels,
// or longer label names or values than a real shim ever does fails its scrape
// as a whole, as Prometheus' scrape limits do: the reason counted in
// kata_monitor_sandbox_scrape_errors_count (with the pod's labels),
// kata_monitor_sandbox_scrape_up 0, a log line; the healthy sandboxes beside
// it are served in full and /metrics stays the size they make it. The limits
// are the receiver's to set; 0 turns one off.
//
// The real daemon (startDaemon) against startDemo's simulated host, plus one
// hostile shim (the fake shim serves any body) on its real unix socket.

import assert from 'node:assert/strict';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startDemo, type DemoEnvironment } from '../../src/demo/environment.ts';
import type { FakePod } from '../../src/demo/fake-cri.ts';
import { startFakeShim, type FakeShim } from '../support/fake-shim.ts';
import type { Daemon } from '../../src/main.ts';
import { RECEIVER_DEFAULTS } from '../../src/receiver/config.ts';
import { eventually, startTestDaemon } from '../support/daemon.ts';
import { recordingLogger } from '../support/logger.ts';

const HOSTILE_ID = `${'bad'.repeat(21)}0`;
const HOSTILE_POD: FakePod = { id: HOSTILE_ID, name: 'tenant-app', uid: 'hostile-uid-0001', namespace: 'tenant' };
const HOSTILE_LABELS = `sandbox_id="${HOSTILE_ID}",cri_uid="${HOSTILE_POD.uid}",cri_name="${HOSTILE_POD.name}",cri_namespace="${HOSTILE_POD.namespace}"`;
const MiB = 1024 * 1024;

/** `n` series of one gauge, each line about 95 bytes: within every limit but the number of series. */
function flood(n: number): Buffer {
  const parts = ['# HELP kata_guest_flood Series a hostile guest made up.\n# TYPE kata_guest_flood gauge\n'];
  for (let i = 0; i < n; i++) parts.push(`kata_guest_flood{cpu="${String(i).padStart(7, '0')}",mode="user",pad="abcdefghijklmnopqrstuvwxyz0123456789ab"} ${i}\n`);
  return Buffer.from(parts.join(''));
}

/** One sample with `labels` label pairs. */
function manyLabels(labels: number): string {
  const pairs = Array.from({ length: labels }, (_, i) => `l${i}="v"`).join(',');
  return `# TYPE kata_guest_labels gauge\nkata_guest_labels{${pairs}} 1\n`;
}

const longName = (bytes: number): string => `# TYPE kata_guest_long gauge\nkata_guest_long{${'n'.repeat(bytes)}="v"} 1\n`;
// Counted unescaped, as Prometheus does: 129 bytes with 40 escaped quotes in the text.
const longValue = (bytes: number): string => `# TYPE kata_guest_long gauge\nkata_guest_long{v="${'\\"'.repeat(40)}${'x'.repeat(bytes - 40)}"} 1\n`;

/** The value of one series in Prometheus text whose labels are exactly `labels` (in order). */
function value(text: string, name: string, labels: string): number | undefined {
  const m = new RegExp(`^${name}\\{${labels.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\} (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

/** Sample lines of sandbox families carrying this sandbox id. */
function sandboxSamples(text: string, id: string): number {
  let n = 0;
  for (const line of text.split('\n')) if (!line.startsWith('#') && !line.startsWith('kata_monitor_') && line.includes(`sandbox_id="${id}"`)) n++;
  return n;
}

interface Host {
  demo: DemoEnvironment;
  hostile: FakeShim;
  body: Buffer | string;
}

async function startHost(): Promise<Host> {
  const demo = await startDemo({ sandboxes: 3 });
  const host = { demo, body: '' as Buffer | string } as Host;
  host.hostile = await startFakeShim({ socketPath: path.join(demo.roots[0]!, HOSTILE_ID, 'shim-monitor.sock'), metrics: () => host.body });
  demo.cri.setPods([...demo.pods(), HOSTILE_POD, demo.runcPod]);
  return host;
}

async function metrics(daemon: Daemon): Promise<string> {
  const res = await fetch(`${daemon.url}/metrics`);
  assert.equal(res.status, 200);
  return res.text();
}

describe('a hostile sandbox beyond the default scrape limits', () => {
  let host: Host;
  let daemon: Daemon;
  const { logger, records: lines } = recordingLogger('info');

  before(async () => {
    host = await startHost();
    daemon = await startTestDaemon({ roots: host.demo.roots, runtimeEndpoint: host.demo.runtimeEndpoint, logger });
    // Every sandbox known with its pod, the hostile one included.
    await eventually(() => daemon.registry.list().length === 4 && daemon.registry.list().every((e) => e.metadataKnown), 10_000, 'pod metadata for every sandbox');
  });
  after(async () => {
    await daemon?.stop();
    await host?.hostile.close();
    await host?.demo.stop();
  });

  /** The hostile body in place, one /metrics answer: the hostile scrape failed with `reason`, the healthy ones are whole. */
  async function failsWith(body: Buffer | string, reason: string): Promise<string> {
    host.body = body;
    const before = lines.length;
    const text = await metrics(daemon);
    assert.ok((value(text, 'kata_monitor_sandbox_scrape_errors_count', `${HOSTILE_LABELS},reason="${reason}"`) ?? 0) >= 1, `errors_count{reason="${reason}"} with the pod's labels`);
    assert.equal(value(text, 'kata_monitor_sandbox_scrape_up', HOSTILE_LABELS), 0);
    assert.equal(value(text, 'kata_monitor_sandbox_scrape_samples', HOSTILE_LABELS), 0);
    assert.equal(sandboxSamples(text, HOSTILE_ID), 0, 'nothing of the hostile body is served');
    // The healthy sandboxes: every series of theirs, as many as their scrapes found.
    for (const id of host.demo.ids()) {
      const pod = host.demo.pods().find((p) => p.id === id)!;
      const labels = `sandbox_id="${id}",cri_uid="${pod.uid}",cri_name="${pod.name}",cri_namespace="${pod.namespace}"`;
      assert.equal(value(text, 'kata_monitor_sandbox_scrape_up', labels), 1, `${id} up`);
      const samples = value(text, 'kata_monitor_sandbox_scrape_samples', labels) ?? 0;
      assert.ok(samples > 800, `${id}: a whole shim body (${samples} samples)`);
      assert.equal(sandboxSamples(text, id), samples, `every series of ${id}`);
    }
    const logged = lines.slice(before).find((l) => l['msg'] === 'failed to get metrics for sandbox' && l['sandbox_id'] === HOSTILE_ID);
    assert.ok(logged, 'a log line names the sandbox');
    assert.equal(logged['reason'], reason);
    assert.match(String(logged['error']), new RegExp(`\\(${reason}\\)`));
    return text;
  }

  it(`200,000 series (about 19 MB, under the ${RECEIVER_DEFAULTS.shim.maxBodyBytes / MiB} MiB size cap): sample_limit ${RECEIVER_DEFAULTS.limits.sampleLimit}`, async () => {
    const body = flood(200_000);
    assert.ok(body.length > 18 * MiB && body.length < RECEIVER_DEFAULTS.shim.maxBodyBytes, `${body.length} bytes`);
    const text = await failsWith(body, 'sample_limit');
    // /metrics is what the healthy sandboxes make it, not what the guest sent.
    assert.ok(Buffer.byteLength(text) < 2 * MiB, `/metrics is ${Buffer.byteLength(text)} bytes`);
    assert.equal(value(text, 'kata_monitor_sandbox_scrape_errors_count', `${HOSTILE_LABELS},reason="too_large"`), undefined, 'the sample limit, not the size cap');
  });

  it(`more than ${RECEIVER_DEFAULTS.limits.labelLimit} labels on one sample: label_limit`, async () => {
    await failsWith(manyLabels(RECEIVER_DEFAULTS.limits.labelLimit + 1), 'label_limit');
  });

  it(`a label name longer than ${RECEIVER_DEFAULTS.limits.labelNameLengthLimit} bytes: label_name_length_limit`, async () => {
    await failsWith(longName(RECEIVER_DEFAULTS.limits.labelNameLengthLimit + 1), 'label_name_length_limit');
  });

  it(`a label value longer than ${RECEIVER_DEFAULTS.limits.labelValueLengthLimit} bytes, unescaped: label_value_length_limit`, async () => {
    await failsWith(longValue(RECEIVER_DEFAULTS.limits.labelValueLengthLimit + 1), 'label_value_length_limit');
  });

  it('at the limits, nothing fails', async () => {
    const D = RECEIVER_DEFAULTS.limits;
    host.body = manyLabels(D.labelLimit) + longName(D.labelNameLengthLimit).replaceAll('kata_guest_long', 'kata_guest_long_name') + longValue(D.labelValueLengthLimit);
    const text = await metrics(daemon);
    assert.equal(value(text, 'kata_monitor_sandbox_scrape_up', HOSTILE_LABELS), 1);
    assert.equal(sandboxSamples(text, HOSTILE_ID), 3);
  });
});

describe('the scrape limits are the receiver\'s to set; 0 turns one off', () => {
  let host: Host;
  let daemon: Daemon;

  before(async () => {
    host = await startHost();
    daemon = await startTestDaemon({
      roots: host.demo.roots,
      runtimeEndpoint: host.demo.runtimeEndpoint,
      receiverYaml: 'sample_limit: 1000\nlabel_limit: 0\nlabel_name_length_limit: 0\nlabel_value_length_limit: 300',
    });
    await eventually(() => daemon.registry.list().length === 4 && daemon.registry.list().every((e) => e.metadataKnown), 10_000, 'pod metadata for every sandbox');
  });
  after(async () => {
    await daemon?.stop();
    await host?.hostile.close();
    await host?.demo.stop();
  });

  it('a lower sample_limit fails a sandbox the default would have served; the healthy ones fit', async () => {
    host.body = flood(1001);
    const text = await metrics(daemon);
    assert.equal(value(text, 'kata_monitor_sandbox_scrape_errors_count', `${HOSTILE_LABELS},reason="sample_limit"`), 1);
    for (const id of host.demo.ids()) assert.ok(sandboxSamples(text, id) > 800);
    host.body = flood(1000);
    assert.equal(sandboxSamples(await metrics(daemon), HOSTILE_ID), 1000);
  });

  it('label_limit, label_name_length_limit 0: off; label_value_length_limit raised', async () => {
    host.body = manyLabels(100) + longName(1000).replaceAll('kata_guest_long', 'kata_guest_long_name') + longValue(300);
    const text = await metrics(daemon);
    assert.equal(value(text, 'kata_monitor_sandbox_scrape_up', HOSTILE_LABELS), 1);
    assert.equal(sandboxSamples(text, HOSTILE_ID), 3);
    host.body = longValue(301);
    assert.equal(value(await metrics(daemon), 'kata_monitor_sandbox_scrape_errors_count', `${HOSTILE_LABELS},reason="label_value_length_limit"`), 1);
  });
});
