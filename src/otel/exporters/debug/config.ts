// The `debug` exporter, as the collector's: what would be pushed, in the
// log (README.md lists the keys).

import type { ComponentType } from '../../../config/types.ts';

export interface DebugConfig {
  readonly type: 'debug';
  readonly name: string;
  /** basic: one line per request (counts); normal: a line per data point; detailed: every field of every point. */
  readonly verbosity: 'basic' | 'normal' | 'detailed';
  /** Pushes logged each second before sampling starts… */
  readonly samplingInitial: number;
  /** …then one in this many. */
  readonly samplingThereafter: number;
}

export const debugExporter: ComponentType<DebugConfig> = {
  keys: { verbosity: {}, sampling_initial: {}, sampling_thereafter: {}, use_internal_logger: {} },
  read(r, { id, entries: m }) {
    if (r.bool(m.get('use_internal_logger')) === false) r.warn(m.get('use_internal_logger'), 'ignored: the debug exporter writes to the daemon\'s log');
    return {
      type: 'debug',
      name: id,
      verbosity: r.oneOf(m.get('verbosity'), ['basic', 'normal', 'detailed'] as const) ?? 'basic',
      samplingInitial: r.int(m.get('sampling_initial'), 1) ?? 2,
      samplingThereafter: r.int(m.get('sampling_thereafter'), 1) ?? 1,
    };
  },
};
