// OTLP over gRPC with @grpc/grpc-js: one unary Export call per attempt,
// carrying the request bytes the walk encoded (grpc-js frames and compresses
// them). Statuses as the OTLP specification says (../helper/README.md).

import { grpcDetail } from '../../../wire/grpc-detail.ts';
import { gunzipSync } from 'node:zlib';
import { Client, credentials, Metadata, status as Status, type ChannelCredentials, type ChannelOptions, type ServiceError } from '@grpc/grpc-js';
import { partialSuccess, retryInfoDelayMs } from '../helper/answers.ts';
import { tlsFiles, USER_AGENT, type OtlpExporterConfig } from '../helper/otlp-settings.ts';
import type { Payload, SendResult, Transport } from '../helper/queue.ts';

const METHOD = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

const RETRYABLE = new Set<number>([Status.UNAVAILABLE, Status.ABORTED, Status.CANCELLED, Status.DEADLINE_EXCEEDED, Status.OUT_OF_RANGE, Status.DATA_LOSS]);

/** grpc-js's gzip: its compression algorithm number. */
const GZIP = 2;

/** Throws when a certificate file named in the configuration cannot be read. */
export function grpcTransport(config: OtlpExporterConfig): Transport {
  const url = new URL(config.url);
  const t = config.tls;
  const files = url.protocol === 'http:' ? undefined : tlsFiles(t);
  const creds: ChannelCredentials = files
    ? credentials.createSsl(files.ca ?? null, files.key ?? null, files.cert ?? null, t.insecureSkipVerify ? { rejectUnauthorized: false, checkServerIdentity: () => undefined } : {})
    : credentials.createInsecure();
  const options: ChannelOptions = {
    'grpc.primary_user_agent': USER_AGENT,
    ...(config.compression === 'gzip' && { 'grpc.default_compression_algorithm': GZIP }),
    // grpc-js backs off reconnecting up to 120 s (as grpc-go in the collector): after a long outage
    // the backend would be back for minutes before the channel tries it again. No longer than the
    // queue's own retry interval: the first retry after the backend's return finds it.
    'grpc.max_reconnect_backoff_ms': Math.max(100, config.retry.maxIntervalMs),
    ...(t.serverNameOverride !== undefined && { 'grpc.ssl_target_name_override': t.serverNameOverride, 'grpc.default_authority': t.serverNameOverride }),
  };
  /** `headers`, as call metadata (keys lower-cased; a key ending in -bin carries the value's bytes, as grpc-go sends it). */
  const metadata = new Metadata();
  for (const [k, v] of Object.entries(config.headers)) {
    const key = k.toLowerCase();
    try {
      metadata.set(key, key.endsWith('-bin') ? Buffer.from(v) : v);
    } catch (e) {
      throw new Error(`headers: "${k}" cannot be sent as gRPC metadata: ${(e as Error).message}`);
    }
  }
  const client = new Client(url.host, creds, options);
  let closed = false;
  return {
    send(payload: Payload): Promise<SendResult> {
      if (closed) return Promise.resolve({ kind: 'retryable', error: 'exporter shut down' });
      if (payload.encoding !== 'proto') return Promise.resolve({ kind: 'permanent', error: 'OTLP/gRPC carries protobuf only; a JSON batch cannot be sent' });
      return new Promise<SendResult>((resolve) => {
        const deadline = Date.now() + config.timeoutMs;
        // Batches are queued gzipped (~18 B a point, as for otlphttp): grpc-js takes the protobuf and compresses it itself.
        const bytes = payload.gzip ? gunzipSync(payload.bytes) : payload.bytes;
        client.makeUnaryRequest<Uint8Array, Buffer>(
          METHOD,
          (b) => Buffer.from(b.buffer, b.byteOffset, b.byteLength),
          (b) => b,
          bytes,
          metadata.clone(),
          { deadline },
          (err, answer) => resolve(err ? classify(err) : { kind: 'ok', partial: answer && partialSuccess(answer, 'proto') }),
        );
      });
    },
    close(): void {
      closed = true;
      client.close();
    },
  };
}

function classify(err: ServiceError): SendResult {
  const code = err.code;
  const name = Status[code] ?? String(code);
  const detail = err.details ? grpcDetail(err) : '';
  const error = `gRPC ${name}${detail ? `: ${detail}` : ''}`;
  const details = err.metadata?.get('grpc-status-details-bin')[0];
  const retryAfterMs = details instanceof Buffer ? retryInfoDelayMs(details) : undefined;
  const retryable = RETRYABLE.has(code) || (code === Status.RESOURCE_EXHAUSTED && retryAfterMs !== undefined);
  return retryable ? { kind: 'retryable', error, retryAfterMs } : { kind: 'permanent', error };
}
