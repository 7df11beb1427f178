// The batch processor: requests of at most send_batch_max_size data points
// (README.md). A metric larger than a batch is cut across requests, as OTLP allows.

import type { ComponentType } from '../../../config/types.ts';

export interface BatchConfig {
  readonly type: 'batch';
  readonly name: string;
  /** 0: no limit. */
  readonly sendBatchMaxSize: number;
}

export const batchProcessor: ComponentType<BatchConfig> = {
  keys: { send_batch_max_size: {} },
  read(r, { id, entries: m }) {
    return { type: 'batch', name: id, sendBatchMaxSize: r.int(m.get('send_batch_max_size'), 0) ?? 0 };
  },
};
