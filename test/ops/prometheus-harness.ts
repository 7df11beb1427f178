// A real Prometheus (Debian's `prometheus`, 2.x) for the operations tests:
// started on a free loopback port with a configuration the test writes,
// stopped (SIGTERM, then SIGKILL) and its data removed after the test, and
// a small client for the HTTP API.

import type { TestContext } from 'node:test';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { eventually } from '../support/daemon.ts';
import { freePort } from '../lifecycle/support.ts';
import { stopChild } from './support.ts';

export const PROMETHEUS = '/usr/bin/prometheus';
export const PROMTOOL = '/usr/bin/promtool';

export interface Series {
  readonly metric: Record<string, string>;
  readonly value: [number, string];
}

export interface ApiAlert {
  readonly labels: Record<string, string>;
  readonly annotations: Record<string, string>;
  readonly state: 'pending' | 'firing';
  readonly value: string;
}

export interface ApiRule {
  readonly name: string;
  readonly query: string;
  readonly health: string;
  readonly lastError?: string;
  readonly type: 'alerting' | 'recording';
  readonly lastEvaluation: string;
  readonly state?: string;
}

export interface Prometheus {
  readonly url: string;
  /** Instant query; rejects with Prometheus' error (a parse error, …). */
  query(promql: string): Promise<Series[]>;
  /** /api/v1/label/<name>/values, optionally restricted by series selectors. */
  labelValues(label: string, match?: readonly string[]): Promise<string[]>;
  /** Label names of the series a selector matches (/api/v1/series). */
  seriesLabelNames(selector: string): Promise<Set<string>>;
  alerts(): Promise<ApiAlert[]>;
  rules(): Promise<ApiRule[]>;
  /** Prometheus' stderr so far (the last 8 kB), for failure messages. */
  stderr(): string;
}

async function get<T>(url: string): Promise<T> {
  const res = await fetch(url);
  const body = (await res.json()) as { status: string; error?: string; errorType?: string; data: T };
  if (body.status !== 'success') throw new Error(`${body.errorType ?? 'error'}: ${body.error ?? res.status}`);
  return body.data;
}

/**
 * Starts Prometheus with `config` (prometheus.yml text; `{{DIR}}` is replaced
 * by its working directory) and waits until it is ready.
 */
export async function startPrometheus(t: TestContext, config: string, files: Record<string, string> = {}): Promise<Prometheus> {
  const dir = await mkdtemp(path.join(tmpdir(), 'km-prom-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, name), text);
  await writeFile(path.join(dir, 'prometheus.yml'), config.replaceAll('{{DIR}}', dir));
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child = spawn(
    PROMETHEUS,
    [
      `--config.file=${path.join(dir, 'prometheus.yml')}`,
      `--storage.tsdb.path=${path.join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--log.level=warn',
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-8000)));
  // Registered after the directory's removal, so it runs before it (t.after is LIFO).
  t.after(async () => {
    const { killed } = await stopChild(child, 5000);
    if (killed) t.diagnostic('prometheus ignored SIGTERM for 5 s and was killed');
  });
  await eventually(async () => (await fetch(`${url}/-/ready`)).ok, 20_000, 'prometheus ready').catch((err: Error) => {
    throw new Error(`${err.message}\nprometheus stderr:\n${stderr}`);
  });

  const api = `${url}/api/v1`;
  return {
    url,
    async query(promql) {
      const data = await get<{ resultType: string; result: Series[] | [number, string] }>(`${api}/query?query=${encodeURIComponent(promql)}`);
      if (data.resultType === 'scalar') return [{ metric: {}, value: data.result as [number, string] }];
      if (data.resultType !== 'vector') throw new Error(`${promql}: result type ${data.resultType}`);
      return data.result as Series[];
    },
    async labelValues(label, match = []) {
      const q = match.map((m) => `match[]=${encodeURIComponent(m)}`).join('&');
      return get<string[]>(`${api}/label/${encodeURIComponent(label)}/values${q ? '?' + q : ''}`);
    },
    async seriesLabelNames(selector) {
      const series = await get<Record<string, string>[]>(`${api}/series?match[]=${encodeURIComponent(selector)}`);
      const names = new Set<string>();
      for (const s of series) for (const k of Object.keys(s)) names.add(k);
      return names;
    },
    async alerts() {
      return (await get<{ alerts: ApiAlert[] }>(`${api}/alerts`)).alerts;
    },
    async rules() {
      const data = await get<{ groups: { rules: ApiRule[] }[] }>(`${api}/rules`);
      return data.groups.flatMap((g) => g.rules);
    },
    stderr: () => stderr,
  };
}
