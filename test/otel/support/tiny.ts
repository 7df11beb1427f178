// Small, recognisable OTLP requests for queue tests: gauge points whose
// value is the batch's sequence number, encoded by protobufjs (not our
// encoder) in every form an exporter may queue.

import { gzipSync } from 'node:zlib';
import { OtlpRequest } from '../../../src/otel/requests.ts';
import { RequestType, type DecodedRequest } from './receiver.ts';

/** A request whose `points` data points (default 1) all carry the value `seq`. */
export function tiny(seq: number, points = 1): OtlpRequest {
  const message = {
    resourceMetrics: [
      {
        resource: { attributes: [{ key: 'service.name', value: { stringValue: 'test' } }] },
        scopeMetrics: [
          {
            scope: { name: 'test' },
            metrics: [{ name: 'seq', gauge: { dataPoints: Array.from({ length: points }, (_, i) => ({ timeUnixNano: '1000000', asDouble: seq, attributes: [{ key: 'i', value: { intValue: String(i) } }] })) } }],
          },
        ],
      },
    ],
  };
  const proto = RequestType.encode(RequestType.fromObject(message)).finish();
  const json = Buffer.from(JSON.stringify(message));
  return new OtlpRequest(points, { proto, protoGzip: gzipSync(proto), json, jsonGzip: gzipSync(json) });
}

/** The sequence numbers a request carried. */
export function seqs(req: DecodedRequest): number[] {
  return req.resourceMetrics.flatMap((rm) => rm.scopeMetrics.flatMap((sm) => sm.metrics.flatMap((m) => (m.gauge?.dataPoints ?? []).map((p) => p.asDouble ?? 0))));
}

/** Polls `cond` (a state reached, not a duration: the timeout only bounds a failing test). */
export async function until(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
