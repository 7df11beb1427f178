// Writes prometheusrule.yaml (a Prometheus Operator PrometheusRule) from
// deploy/prometheus/kata-monitor-rules.yaml (a plain rules file, the one that
// promtool checks and unit-tests), so the alerts have one source. Run after
// editing the rules file:
//   node deploy/kubernetes/sync-prometheusrule.ts
// test/ops/rules.test.ts fails while the two differ.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SOURCE = path.join(import.meta.dirname, '..', 'prometheus', 'kata-monitor-rules.yaml');
export const TARGET = path.join(import.meta.dirname, 'prometheusrule.yaml');

/**
 * The PrometheusRule whose spec is the rules file: its text from `groups:` on,
 * indented under `spec:`, comments and block scalars kept byte for byte.
 */
export function renderPrometheusRule(rules: string): string {
  const lines = rules.split('\n');
  const start = lines.findIndex((l) => l.startsWith('groups:'));
  if (start < 0) throw new Error('the rules file has no top-level "groups:"');
  const body = lines
    .slice(start)
    .map((l) => (l === '' ? '' : '  ' + l))
    .join('\n')
    .replace(/\n*$/, '\n');
  return [
    '# Generated from deploy/prometheus/kata-monitor-rules.yaml by deploy/kubernetes/sync-prometheusrule.ts: edit that file, then run the script.',
    '# What each alert means and what to do: deploy/grafana/README.md.',
    'apiVersion: monitoring.coreos.com/v1',
    'kind: PrometheusRule',
    'metadata:',
    '  name: kata-monitor',
    '  namespace: kata-system',
    '  labels:',
    '    app.kubernetes.io/name: kata-monitor',
    '    app.kubernetes.io/part-of: kata-containers',
    'spec:',
    body,
  ].join('\n');
}

if (import.meta.main) {
  writeFileSync(TARGET, renderPrometheusRule(readFileSync(SOURCE, 'utf8')));
  process.stdout.write(`wrote ${path.relative(process.cwd(), TARGET)}\n`);
}
