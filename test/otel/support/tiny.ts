// Small, recognisable OTel requests for queue tests: one gauge point whose
// value is the batch's sequence number.

import { ValueType } from '@opentelemetry/api';
import { AggregationTemporality, DataPointType } from '@opentelemetry/sdk-metrics';
import type { OtelResourceMetrics } from '../../../src/otel/model.ts';
import { buildResource } from '../../../src/otel/resource.ts';
import type { DecodedRequest } from './receiver.ts';

const resource = buildResource({ instanceId: 't', hostName: 't', env: {} });

/** A request whose `points` data points (default 1) all carry the value `seq`. */
export function tiny(seq: number, points = 1): OtelResourceMetrics {
  return {
    resource,
    scopeMetrics: [
      {
        scope: { name: 'test' },
        metrics: [
          {
            descriptor: { name: 'seq', description: '', unit: '', valueType: ValueType.DOUBLE },
            aggregationTemporality: AggregationTemporality.CUMULATIVE,
            dataPointType: DataPointType.GAUGE,
            dataPoints: Array.from({ length: points }, () => ({ startTime: [1, 0] as [number, number], endTime: [1, 0] as [number, number], attributes: {}, value: seq })),
          },
        ],
      },
    ],
  };
}

/** The sequence numbers a request carried. */
export function seqs(req: DecodedRequest): number[] {
  return req.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.flatMap((m) => (m.gauge?.dataPoints ?? []).map((p) => p.asDouble ?? 0))));
}

export async function until(cond: () => boolean, timeoutMs = 3000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
