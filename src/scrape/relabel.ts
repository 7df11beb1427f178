// What kata-monitor does to a shim's families on their way to /metrics:
// the four sandbox labels appended to every sample, in this order, and the
// shim's own runtime families (go_*, process_*) renamed kata_shim_*.

import type { CriMetadata } from '../discovery/registry.ts';
import { formatLabels } from '../exposition/encode-text.ts';
import type { Label } from '../exposition/model.ts';

export const SHIM_PREFIX = 'kata_shim_';

/** The prefix upstream gives a shim family: kata_shim_ for go_* and process_*, none for the others. */
export function shimPrefix(name: string): string {
  return name.startsWith('go_') || name.startsWith('process_') ? SHIM_PREFIX : '';
}

/** The four sandbox labels, in upstream's order. */
export function sandboxLabels(id: string, meta: CriMetadata): Label[] {
  return [
    { name: 'sandbox_id', value: id },
    { name: 'cri_uid', value: meta.uid },
    { name: 'cri_name', value: meta.name },
    { name: 'cri_namespace', value: meta.namespace },
  ];
}

/** `sandbox_id="…",cri_uid="…",cri_name="…",cri_namespace="…"`, escaped, as bytes. */
export function sandboxLabelText(id: string, meta: CriMetadata): Buffer {
  return Buffer.from(formatLabels(sandboxLabels(id, meta)));
}
