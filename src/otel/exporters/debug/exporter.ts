// The debug exporter, as the collector's (README.md): what a push would
// send, in the log, in the collector's text layouts (text.ts), sampled as the
// collector samples.

import type { Logger } from '../../../log/logger.ts';
import { formsOf } from '../../requests.ts';
import type { Exporter } from '../exporter.ts';
import type { DebugConfig } from './config.ts';
import { detailedText, normalText } from './text.ts';

/** `write`: where the normal and detailed layouts go (a block of lines; stderr in the daemon). */
export function debugExporter(config: DebugConfig, pipeline: string, logger: Logger, write: (text: string) => void, now: () => number = Date.now): Exporter {
  let second = 0;
  let inSecond = 0;
  let requests = 0;
  let points = 0;
  const sampled = (): boolean => {
    const s = Math.floor(now() / 1000);
    if (s !== second) {
      second = s;
      inSecond = 0;
    }
    const n = ++inSecond;
    const { samplingInitial, samplingThereafter } = config;
    return n <= samplingInitial || (n - samplingInitial) % samplingThereafter === 0;
  };
  return {
    id: config.name,
    pipeline,
    forms: formsOf({ encoding: 'points' }),
    export(request) {
      requests++;
      points += request.points;
      if (!sampled()) return true;
      const rm = request.objects();
      const metrics = rm.scopeMetrics.reduce((n, sm) => n + sm.metrics.length, 0);
      // `request` (the running count) keeps each line distinct: the log writes an identical line once a minute at most, and every push must show.
      logger.info('MetricsExporter', { resource_metrics: 1, metrics, data_points: request.points, request: requests });
      if (config.verbosity === 'normal') write(normalText(rm));
      else if (config.verbosity === 'detailed') write(detailedText(rm));
      return true;
    },
    start: async () => {},
    status: () => ({ id: config.name, pipeline, endpoint: 'log', written: { points, failures: 0 } }),
    shutdown: async () => true,
  };
}
