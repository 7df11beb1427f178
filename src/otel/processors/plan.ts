// A pipeline's processors as the one walk applies them: every filter, the
// resource edits in their order, and the smallest batch size. Filters act
// before batching whatever their place in the list, so batches come out full.

import type { Resource } from '@opentelemetry/resources';
import type { Plan } from '../translate/walk.ts';
import type { BatchConfig } from './batch/config.ts';
import { keepsName, type FilterConfig } from './filter/config.ts';
import { editResource, type ResourceConfig } from './resource/config.ts';

export type ProcessorConfig = FilterConfig | ResourceConfig | BatchConfig;

export function planOf(resource: Resource, processors: readonly ProcessorConfig[]): Plan {
  const filters: FilterConfig[] = [];
  let res = resource;
  let max = 0;
  for (const p of processors) {
    if (p.type === 'filter') filters.push(p);
    else if (p.type === 'resource') res = editResource(res, p);
    else if (p.sendBatchMaxSize > 0) max = max > 0 ? Math.min(max, p.sendBatchMaxSize) : p.sendBatchMaxSize;
  }
  return { resource: res, keep: (name) => filters.every((f) => keepsName(f, name)), maxPoints: max };
}
