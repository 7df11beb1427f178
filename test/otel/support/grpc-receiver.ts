// A real OTLP/gRPC metrics receiver on 127.0.0.1 for the tests: a grpc-js
// server implementing opentelemetry.proto.collector.metrics.v1.MetricsService/
// Export, decoding each request with protobufjs from our proto/ subset (an
// encoder independent of ours), and answering as each test scripts it, call
// by call: OK (with a partial_success if asked), a failure with a status code
// and optionally a google.rpc.Status carrying RetryInfo in the
// grpc-status-details-bin trailer, or no answer at all (hang).
//
// What grpc-js hides from a service handler (the grpc-encoding header: it
// decompresses before the handler runs) is read from Node's http2
// diagnostics channel, which sees every stream's request headers.

import dc from 'node:diagnostics_channel';
import type { ServerHttp2Stream } from 'node:http2';
import { Metadata, Server, ServerCredentials, status as Status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js';
import { decodeProto, loadProtos, METRICS_SERVICE_PROTO, type DecodedRequest } from './receiver.ts';

const ROOT = loadProtos(METRICS_SERVICE_PROTO, 'google/rpc/status.proto', 'google/rpc/error_details.proto');
const ResponseType = ROOT.lookupType('opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceResponse');
const StatusType = ROOT.lookupType('google.rpc.Status');
const RetryInfoType = ROOT.lookupType('google.rpc.RetryInfo');
const AnyType = ROOT.lookupType('google.protobuf.Any');
const DurationType = ROOT.lookupType('google.protobuf.Duration');
/** protobufjs takes google/protobuf/*.proto from its own copies, whose field names are not camel-cased: type_url. */
const ANY_TYPE_URL = AnyType.fieldsById[1]!.name;

export const EXPORT_PATH = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';

/** What to answer to one call. */
export type GrpcAnswer =
  | { readonly kind?: 'ok'; readonly partial?: { readonly rejected: number; readonly message?: string } }
  | {
      readonly kind: 'fail';
      readonly code: Status;
      readonly message?: string;
      /** Adds a google.rpc.Status with a RetryInfo of this delay to the trailers. */
      readonly retryDelayMs?: number;
    }
  | { readonly kind: 'hang' };

/** What to answer to the n-th call (0-based); default OK. */
export type GrpcBehaviour = (n: number, metadata: Readonly<Record<string, string>>) => GrpcAnswer;

export interface GrpcCall {
  readonly n: number;
  readonly at: number;
  /** The call's metadata (custom headers, user-agent), first value of each key. */
  readonly metadata: Readonly<Record<string, string>>;
  /** The grpc-encoding request header as the server saw it on the wire ("gzip", "identity", or undefined). */
  readonly encoding: string | undefined;
  /** The :authority the client sent. */
  readonly authority: string | undefined;
  /** The request message, decompressed, as it came off the wire. */
  readonly bytes: Buffer;
  /** Decoded, when it decodes. */
  readonly request: DecodedRequest | undefined;
  /** ok, hung, or the status code's name. */
  readonly answer: string;
}

export interface GrpcReceiver {
  /** host:port */
  readonly address: string;
  readonly port: number;
  /** Calls answered OK, in order. */
  readonly received: GrpcCall[];
  /** Every call, whatever its answer. */
  readonly calls: GrpcCall[];
  behave(b: GrpcBehaviour): void;
  /** Resolves once `count` calls were answered OK. */
  waitFor(count: number, timeoutMs?: number): Promise<void>;
  /** Resolves once `count` calls arrived, whatever their answer. */
  waitForCalls(count: number, timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export interface GrpcReceiverOptions {
  readonly behaviour?: GrpcBehaviour;
  /** Serve TLS with this certificate chain and key (PEM). */
  readonly tls?: { readonly cert: Buffer; readonly key: Buffer };
  /** Listen on this port (default: any free one). */
  readonly port?: number;
}

/** The google.rpc.Status bytes of a failure, with a RetryInfo detail when a delay is given. */
export function statusDetails(code: number, message: string, retryDelayMs?: number): Buffer {
  const retryDelay = DurationType.create({ seconds: Math.floor((retryDelayMs ?? 0) / 1000), nanos: Math.round(((retryDelayMs ?? 0) % 1000) * 1e6) });
  const details =
    retryDelayMs === undefined
      ? []
      : [AnyType.create({ [ANY_TYPE_URL]: 'type.googleapis.com/google.rpc.RetryInfo', value: RetryInfoType.encode(RetryInfoType.create({ retryDelay })).finish() })];
  // create(), not fromObject(): protobufjs' JSON mapping of Any wants "@type" and would leave type_url out.
  return Buffer.from(StatusType.encode(StatusType.create({ code, message, details })).finish());
}

export async function startGrpcReceiver(options: GrpcReceiverOptions = {}): Promise<GrpcReceiver> {
  let behave: GrpcBehaviour = options.behaviour ?? (() => ({}));
  const received: GrpcCall[] = [];
  const calls: GrpcCall[] = [];
  /** Request headers of the Export streams, in arrival order (one call at a time: the n-th is call n's). */
  const wire: { encoding: string | undefined; authority: string | undefined }[] = [];
  const hung: sendUnaryData<Buffer>[] = [];
  let waiters: (() => void)[] = [];
  let port = 0;

  const onStream = (message: unknown): void => {
    const { stream, headers } = message as { stream: ServerHttp2Stream; headers: Record<string, string | string[] | undefined> };
    if (stream.session?.socket?.localPort !== port || headers[':path'] !== EXPORT_PATH) return;
    const first = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
    wire.push({ encoding: first(headers['grpc-encoding']), authority: first(headers[':authority']) });
  };
  dc.subscribe('http2.server.stream.start', onStream);

  const wake = (): void => {
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };

  const server = new Server();
  server.addService(
    {
      Export: {
        path: EXPORT_PATH,
        requestStream: false,
        responseStream: false,
        requestSerialize: (b: Buffer) => b,
        requestDeserialize: (b: Buffer) => b,
        responseSerialize: (b: Buffer) => b,
        responseDeserialize: (b: Buffer) => b,
      },
    },
    {
      Export: (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
        const n = calls.length;
        const metadata: Record<string, string> = {};
        for (const [k, v] of Object.entries(call.metadata.getMap())) metadata[k] = Buffer.isBuffer(v) ? v.toString('base64') : String(v);
        let request: DecodedRequest | undefined;
        try {
          request = decodeProto(call.request);
        } catch {
          request = undefined;
        }
        const answer = behave(n, metadata);
        const record = (outcome: string): GrpcCall => {
          const c: GrpcCall = { n, at: Date.now(), metadata, encoding: wire[n]?.encoding, authority: wire[n]?.authority, bytes: call.request, request, answer: outcome };
          calls.push(c);
          return c;
        };
        if (answer.kind === 'hang') {
          record('hung');
          hung.push(callback);
          wake();
          return;
        }
        if (answer.kind === 'fail') {
          record(Status[answer.code] ?? String(answer.code));
          const trailers = new Metadata();
          const message = answer.message ?? `scripted ${Status[answer.code]}`;
          if (answer.retryDelayMs !== undefined) trailers.set('grpc-status-details-bin', statusDetails(answer.code, message, answer.retryDelayMs));
          callback({ code: answer.code, details: message, metadata: trailers });
          wake();
          return;
        }
        if (!request) {
          record('INVALID_ARGUMENT');
          callback({ code: Status.INVALID_ARGUMENT, details: 'the request does not decode as an ExportMetricsServiceRequest' });
          wake();
          return;
        }
        received.push(record('ok'));
        const response = answer.partial
          ? ResponseType.fromObject({ partialSuccess: { rejectedDataPoints: answer.partial.rejected, errorMessage: answer.partial.message ?? '' } })
          : ResponseType.create({});
        callback(null, Buffer.from(ResponseType.encode(response).finish()));
        wake();
      },
    },
  );
  const creds = options.tls ? ServerCredentials.createSsl(null, [{ cert_chain: options.tls.cert, private_key: options.tls.key }], false) : ServerCredentials.createInsecure();
  port = await new Promise<number>((resolve, reject) => server.bindAsync(`127.0.0.1:${options.port ?? 0}`, creds, (err, p) => (err ? reject(err) : resolve(p))));

  const waitUntil = (test: () => boolean, what: () => string, timeoutMs: number): Promise<void> =>
    new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gRPC receiver: ${what()} after ${timeoutMs} ms`)), timeoutMs);
      const check = (): void => {
        if (test()) {
          clearTimeout(timer);
          resolve();
        } else waiters.push(check);
      };
      check();
    });

  return {
    address: `127.0.0.1:${port}`,
    port,
    received,
    calls,
    behave: (b) => {
      behave = b;
    },
    waitFor: (count, timeoutMs = 10_000) => waitUntil(() => received.length >= count, () => `${received.length}/${count} calls answered OK`, timeoutMs),
    waitForCalls: (count, timeoutMs = 10_000) => waitUntil(() => calls.length >= count, () => `${calls.length}/${count} calls`, timeoutMs),
    close: async () => {
      dc.unsubscribe('http2.server.stream.start', onStream);
      for (const cb of hung.splice(0)) cb({ code: Status.UNAVAILABLE, details: 'receiver closing' });
      server.forceShutdown();
    },
  };
}
