// What kata-monitor does to a shim's families on their way to /metrics:
// the four sandbox labels appended to every sample, in this order, and the
// shim's own runtime families (go_*, process_*) renamed kata_shim_*.

import type { CriMetadata } from '../discovery/registry.ts';
import { escapeLabelValue } from '../exposition/encode-text.ts';

export const SHIM_PREFIX = 'kata_shim_';

/** The prefix upstream gives a shim family: kata_shim_ for go_* and process_*, none for the others. */
export function shimPrefix(name: string): string {
  return name.startsWith('go_') || name.startsWith('process_') ? SHIM_PREFIX : '';
}

/** `sandbox_id="…",cri_uid="…",cri_name="…",cri_namespace="…"`, escaped, as bytes. */
export function sandboxLabelText(id: string, meta: CriMetadata): Buffer {
  return Buffer.from(
    `sandbox_id="${escapeLabelValue(id)}",cri_uid="${escapeLabelValue(meta.uid)}",` +
      `cri_name="${escapeLabelValue(meta.name)}",cri_namespace="${escapeLabelValue(meta.namespace)}"`,
  );
}
