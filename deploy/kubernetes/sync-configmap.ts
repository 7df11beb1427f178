// Writes configmap.yaml from config/kata-monitor.yaml, so the DaemonSet's
// configuration has one source. Run after editing that file:
//   node deploy/kubernetes/sync-configmap.ts
// test/ops/manifests.test.ts fails while the two differ.

import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Document, Scalar } from 'yaml';

export const SOURCE = path.join(import.meta.dirname, '..', '..', 'config', 'kata-monitor.yaml');
export const TARGET = path.join(import.meta.dirname, 'configmap.yaml');

export function renderConfigMap(config: string): string {
  const body = new Scalar(config);
  body.type = Scalar.BLOCK_LITERAL;
  const doc = new Document({
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name: 'kata-monitor-config',
      namespace: 'kata-system',
      labels: { 'app.kubernetes.io/name': 'kata-monitor', 'app.kubernetes.io/part-of': 'kata-containers' },
    },
    data: { 'kata-monitor.yaml': body },
  });
  doc.commentBefore = ' Generated from config/kata-monitor.yaml by deploy/kubernetes/sync-configmap.ts: edit that file, then run the script.';
  return doc.toString({ lineWidth: 0 });
}

if (import.meta.main) {
  writeFileSync(TARGET, renderConfigMap(readFileSync(SOURCE, 'utf8')));
  process.stdout.write(`wrote ${path.relative(process.cwd(), TARGET)}\n`);
}
