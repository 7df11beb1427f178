// What a backend's answer says beyond its status: an OTLP partial success
// (ExportMetricsServiceResponse.partial_success: rejected_data_points = 1,
// error_message = 2), and a gRPC error's RetryInfo (google.rpc.Status in the
// grpc-status-details-bin trailer: details = 3, Any{type_url = 1, value = 2};
// RetryInfo.retry_delay = 1, Duration{seconds = 1, nanos = 2}). Field numbers
// from proto/ (our subset of opentelemetry-proto and googleapis).

import { ProtobufReader } from '../../../wire/protobuf-reader.ts';

export interface PartialSuccess {
  readonly rejectedDataPoints: number;
  readonly errorMessage: string;
}

/** The partial success of an answer's body (protobuf or OTLP/JSON), undefined when there is none to report. */
export function partialSuccess(body: Uint8Array, encoding: 'proto' | 'json'): PartialSuccess | undefined {
  if (body.length === 0) return undefined;
  try {
    if (encoding === 'json') {
      const p = (JSON.parse(new TextDecoder().decode(body)) as { partialSuccess?: { rejectedDataPoints?: string | number; errorMessage?: string } }).partialSuccess;
      return nonEmpty(Number(p?.rejectedDataPoints ?? 0), p?.errorMessage ?? '');
    }
    let rejected = 0;
    let message = '';
    for (const ps of new ProtobufReader(body).messages(1)) {
      for (let g = ps.next(); g; g = ps.next()) {
        if (g.field === 1 && g.wire === 0) rejected = ps.varint();
        else if (g.field === 2 && g.wire === 2) message = ps.string();
        else ps.skip(g.wire);
      }
    }
    return nonEmpty(rejected, message);
  } catch {
    return undefined; // an answer we cannot read is not a failure of the export
  }
}

function nonEmpty(rejected: number, message: string): PartialSuccess | undefined {
  return rejected > 0 || message !== '' ? { rejectedDataPoints: rejected, errorMessage: message } : undefined;
}

const RETRY_INFO = 'type.googleapis.com/google.rpc.RetryInfo';

/** The retry delay of a google.rpc.Status's RetryInfo detail, in ms; undefined when it has none. */
export function retryInfoDelayMs(status: Uint8Array): number | undefined {
  try {
    for (const any of new ProtobufReader(status).messages(3)) {
      let type = '';
      let value: Uint8Array | undefined;
      for (let g = any.next(); g; g = any.next()) {
        if (g.field === 1 && g.wire === 2) type = any.string();
        else if (g.field === 2 && g.wire === 2) value = any.bytes();
        else any.skip(g.wire);
      }
      if (type !== RETRY_INFO || !value) continue;
      let ms = 0;
      for (const d of new ProtobufReader(value).messages(1)) {
        for (let k = d.next(); k; k = d.next()) {
          if (k.field === 1 && k.wire === 0) ms += d.varint() * 1000;
          else if (k.field === 2 && k.wire === 0) ms += d.varint() / 1e6;
          else d.skip(k.wire);
        }
      }
      return ms;
    }
  } catch {
    // unreadable details: no RetryInfo
  }
  return undefined;
}
